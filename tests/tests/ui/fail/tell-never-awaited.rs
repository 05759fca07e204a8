//! A tell that is never awaited sends nothing: the compiler says so.
#![deny(unused_must_use)]

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

async fn bump(counter: ActorRef<Counter>) {
    counter.add(2);
}

fn main() {
    let _ = bump;
}
