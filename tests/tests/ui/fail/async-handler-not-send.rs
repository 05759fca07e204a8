use std::rc::Rc;

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

async fn pause() {}

#[actor]
impl Counter {
    #[handler]
    async fn add(&mut self, n: u64) {
        let step = Rc::new(n);
        pause().await;
        self.total += *step;
    }
}

fn main() {}
