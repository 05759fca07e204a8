use compaktor::prelude::*;

#[actor]
struct Counter {
    total: u64,
}

fn main() {}
