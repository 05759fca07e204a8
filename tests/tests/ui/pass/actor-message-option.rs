//! `#[actor(message = CounterMsg)]` names the message enum, so code can name it (a dead letter
//! downcast, say); it is the actor's `<Counter as Actor>::Message`.
#![deny(warnings)]
use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor(message = CounterMsg, mailbox = 8)]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

/// Compiles only if the two are one type.
fn same(message: CounterMsg) -> <Counter as Actor>::Message {
    message
}

fn main() {
    let _ = same;
    assert_eq!(std::any::type_name::<CounterMsg>(), std::any::type_name::<<Counter as Actor>::Message>());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let system = ActorSystem::new("named");
        let counter = system.spawn(Counter { total: 0 });
        counter.add(2).await.unwrap();
        assert_eq!(counter.total().await.unwrap(), 2);
    });
}
