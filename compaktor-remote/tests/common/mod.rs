//! Actors shared by the remote tests.
#![allow(dead_code)]

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
