use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler(x)]
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

fn main() {}
