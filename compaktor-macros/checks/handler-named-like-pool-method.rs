use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn broadcast(&mut self, n: u64) {
        self.total = n;
    }
}

fn main() {}
