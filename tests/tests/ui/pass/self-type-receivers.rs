//! `self: &Self` and `self: &mut Self` are `&self` and `&mut self`.
#![deny(warnings)]
#![allow(clippy::needless_arbitrary_self_type)]
use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(self: &mut Self, n: u64) {
        self.total += n;
    }

    #[handler]
    fn total(self: &Self) -> u64 {
        self.total
    }

    #[handler]
    fn double(self: &mut Counter) {
        self.total *= 2;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let system = ActorSystem::new("receivers");
        let counter = system.spawn(Counter { total: 0 });
        counter.add(2).await.unwrap();
        counter.double().await.unwrap();
        assert_eq!(counter.total().await.unwrap(), 4);
    });
}
