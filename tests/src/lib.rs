//! What the integration tests in `tests/` share: waiting for an actor to end without hanging the
//! test, and a log that actors write lines to and a test reads back.
//!
//! ```
//! use compaktor::prelude::*;
//! use compaktor_tests::{Log, ended, log, take};
//!
//! struct Motor {
//!     log: Log,
//! }
//!
//! #[actor]
//! impl Motor {
//!     #[on_stop]
//!     fn stopping(&mut self) {
//!         log(&self.log, "motor stopped");
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let system = ActorSystem::new("test");
//! let lines = Log::default();
//! let motor = system.spawn(Motor { log: lines.clone() });
//! motor.stop();
//! assert!(matches!(ended(&motor).await, StopReason::Stopped));
//! assert_eq!(take(&lines), ["motor stopped"]);
//! # }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::{Actor, ActorRef, StopReason};

/// Lines written by actors under test, in the order they were written.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Appends `line` to `log`.
pub fn log(log: &Log, line: impl Into<String>) {
    log.lock().unwrap().push(line.into());
}

/// Everything logged so far, emptying the log.
pub fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// How `actor` ended; fails the test rather than hanging if it does not end within 60 s (of the
/// paused clock too, where a test pauses it).
pub async fn ended<A: Actor>(actor: &ActorRef<A>) -> StopReason {
    tokio::time::timeout(Duration::from_secs(60), actor.stopped())
        .await
        .unwrap_or_else(|_| panic!("{actor:?} did not stop"))
}
