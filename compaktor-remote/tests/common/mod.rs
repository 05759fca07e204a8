//! Actors shared by the remote tests.
#![allow(dead_code)]

pub mod process;

use std::time::Duration;

use compaktor::prelude::*;
use serde::{Deserialize, Serialize};

/// Records every call in the order it was handled.
#[derive(Default)]
pub struct Log {
    pub entries: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("odd number {0}")]
pub struct Odd(pub u32);

#[actor(remote)]
impl Log {
    /// A tell.
    #[handler]
    pub fn push(&mut self, n: u32) {
        self.entries.push(n);
    }

    /// An ask that records too.
    #[handler]
    pub fn push_and_count(&mut self, n: u32) -> usize {
        self.entries.push(n);
        self.entries.len()
    }

    #[handler]
    pub fn entries(&self) -> Vec<u32> {
        self.entries.clone()
    }

    /// A typed error for odd numbers.
    #[handler]
    pub fn half(&self, n: u32) -> Result<u32, Odd> {
        if n.is_multiple_of(2) {
            Ok(n / 2)
        } else {
            Err(Odd(n))
        }
    }

    #[handler]
    pub fn explode(&self) -> u32 {
        panic!("boom")
    }

    #[handler]
    pub fn quit(&mut self, ctx: &mut Context<Self>) -> u32 {
        ctx.stop();
        1
    }

    #[handler]
    pub async fn wait(&self, gate: String) -> String {
        // Held open by the test: only a long sleep here, never reached in a paused test
        // that does not advance time.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        gate
    }
}

/// Another actor type with a handler of the same name.
pub struct Other;

#[actor(remote)]
impl Other {
    #[handler]
    pub fn entries(&self) -> Vec<u32> {
        Vec::new()
    }
}

/// A local-only actor: never reachable from the network.
pub struct Secret;

#[actor]
impl Secret {
    #[handler]
    pub fn reveal(&self) -> u32 {
        7
    }
}

/// Watches or links actors and reports what it learns.
pub struct Watcher {
    pub seen: tokio::sync::mpsc::UnboundedSender<compaktor::Terminated>,
}

#[actor]
impl Watcher {
    #[handler]
    pub fn watch(&mut self, target: ActorRef<Log>, ctx: &mut Context<Self>) {
        ctx.watch(&target, |me, t| me.ended(t));
    }

    #[handler]
    pub fn watch_node(
        &mut self,
        node: ActorRef<compaktor_remote::Presence>,
        ctx: &mut Context<Self>,
    ) {
        ctx.watch(&node, |me, t| me.ended(t));
    }

    #[handler]
    pub fn watch_linked(&mut self, target: ActorRef<Watcher>, ctx: &mut Context<Self>) {
        ctx.watch(&target, |me, t| me.ended(t));
    }

    /// Fails together with `target` (links propagate failures only).
    #[handler]
    pub fn link(&mut self, target: ActorRef<Log>, ctx: &mut Context<Self>) {
        ctx.link(&target);
    }

    #[handler]
    pub fn ended(&mut self, t: compaktor::Terminated) {
        let _ = self.seen.send(t);
    }
}

/// A watcher and the notices it gets.
pub fn watcher(
    system: &ActorSystem,
) -> (
    ActorRef<Watcher>,
    tokio::sync::mpsc::UnboundedReceiver<compaktor::Terminated>,
) {
    let (seen, notices) = tokio::sync::mpsc::unbounded_channel();
    (system.spawn(Watcher { seen }), notices)
}
