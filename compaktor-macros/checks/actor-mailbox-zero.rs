use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor(mailbox = 0)]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

fn main() {}
