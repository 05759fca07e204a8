use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
fn add(counter: &mut Counter, n: u64) {
    counter.total += n;
}

fn main() {}
