//! The types `#[actor]` generates cannot collide with the user's: `CounterMessage` and
//! `CounterHandlers` are free for the user, and two actors named `Counter` (from two modules)
//! can be made actors in one module.
#![deny(warnings)]
use compaktor::prelude::*;

/// The user's own types, with the names the macro once generated.
#[derive(Debug, PartialEq)]
enum CounterMessage {
    Added(u64),
}
struct CounterHandlers;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) -> CounterMessage {
        self.total += n;
        CounterMessage::Added(self.total)
    }
}

mod left {
    pub struct Counter(pub u64);
}
mod right {
    pub struct Counter(pub u64);
}

#[actor]
impl left::Counter {
    #[handler]
    fn get(&self) -> u64 {
        self.0
    }
}

#[actor]
impl right::Counter {
    #[handler]
    fn get(&self) -> u64 {
        self.0 + 100
    }
}

fn main() {
    let _ = CounterHandlers;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let system = ActorSystem::new("names");
        let counter = system.spawn(Counter { total: 0 });
        assert_eq!(counter.add(2).await.unwrap(), CounterMessage::Added(2));
        let left = system.spawn(left::Counter(1));
        let right = system.spawn(right::Counter(1));
        assert_eq!(left.get().await.unwrap(), 1);
        assert_eq!(right.get().await.unwrap(), 101);
    });
}
