use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn total(self) -> u64 {
        self.total
    }
}

fn main() {}
