//! An ask that is never awaited asks nothing: the compiler says so.
#![deny(unused_must_use)]

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

async fn read(counter: ActorRef<Counter>) {
    counter.total();
}

fn main() {
    let _ = read;
}
