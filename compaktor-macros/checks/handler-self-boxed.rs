use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn total(self: Box<Self>) -> u64 {
        self.total
    }
}

fn main() {}
