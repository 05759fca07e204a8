use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Default for Counter {
    fn default() -> Self {
        Counter { total: 0 }
    }
}

fn main() {}
