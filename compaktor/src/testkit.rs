//! Helpers for testing actors (feature `testkit`): a [`TestProbe`] that records what it is sent
//! and asserts on it with timeouts, and helpers for tokio's paused clock ([`settle`],
//! [`advance`]) so restart windows, backoff and timers are tested without sleeping.
//!
//! Enable it for tests only:
//! ```toml
//! [dev-dependencies]
//! compaktor = { version = "0.1", features = ["testkit"] }
//! ```
//!
//! ```
//! use std::time::Duration;
//!
//! use compaktor::prelude::*;
//! use compaktor::testkit::{TestProbe, advance};
//!
//! struct Heartbeat { to: ActorRef<compaktor::testkit::Probe<u32>>, beats: u32 }
//!
//! #[actor]
//! impl Heartbeat {
//!     #[on_start]
//!     fn start(&mut self, ctx: &mut Context<Self>) {
//!         ctx.every(Duration::from_secs(1), |me| me.beat());
//!     }
//!     #[handler]
//!     async fn beat(&mut self) {
//!         self.beats += 1;
//!         let _ = self.to.record(self.beats).await;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let system = ActorSystem::new("test");
//! let mut probe = TestProbe::new(&system);
//! let _beat = system.spawn(Heartbeat { to: probe.actor_ref().clone(), beats: 0 });
//! advance(Duration::from_millis(2500)).await;
//! assert_eq!(probe.drain(), vec![1, 2]);
//! probe.expect_eq(3, Duration::from_secs(1)).await; // the paused clock jumps ahead
//! probe.expect_no_message(Duration::from_millis(900)).await;
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Actor, ActorRef, ActorSystem, Context, Terminated, actor};

/// The actor behind a [`TestProbe`]: its `record` handler passes each value on to the probe.
pub struct Probe<T: Send + 'static> {
    tx: mpsc::UnboundedSender<T>,
}

type Setup<T> = Box<dyn FnOnce(&mut Context<Probe<T>>) + Send>;

#[actor]
impl<T: Send + 'static> Probe<T> {
    /// Records `value` for the probe.
    #[handler]
    pub fn record(&mut self, value: T) {
        let _ = self.tx.send(value);
    }

    #[doc(hidden)]
    #[handler]
    pub fn __setup(&mut self, setup: Setup<T>, ctx: &mut Context<Self>) {
        setup(ctx);
    }
}

/// A recorder for tests: hand out [`actor::shared`](Self::actor_ref) (its `record(value)` handler
/// takes a `T`), then assert on what arrived.
pub struct TestProbe<T: Send + 'static> {
    actor: ActorRef<Probe<T>>,
    rx: mpsc::UnboundedReceiver<T>,
}

/// Nothing arrived in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the probe received nothing within {0:?}")]
pub struct ProbeTimeout(pub Duration);

impl<T: Send + 'static> TestProbe<T> {
    /// Spawns the probe's actor in `system`.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(system: &ActorSystem) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        TestProbe {
            actor: system.spawn(Probe { tx }),
            rx,
        }
    }

    /// The probe's actor, to send `record(value)` to.
    pub fn actor_ref(&self) -> &ActorRef<Probe<T>> {
        &self.actor
    }

    /// The next value, or [`ProbeTimeout`] if none arrives within `within`.
    ///
    /// # Errors
    /// [`ProbeTimeout`].
    pub async fn try_expect(&mut self, within: Duration) -> Result<T, ProbeTimeout> {
        match tokio::time::timeout(within, self.rx.recv()).await {
            Ok(Some(value)) => Ok(value),
            _ => Err(ProbeTimeout(within)),
        }
    }

    /// The next value.
    ///
    /// # Panics
    /// If none arrives within `within`.
    #[track_caller]
    pub fn expect(&mut self, within: Duration) -> impl Future<Output = T> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            match self.try_expect(within).await {
                Ok(value) => value,
                Err(e) => panic!("{e} (expected at {caller})"),
            }
        }
    }

    /// Asserts that the next value, within `within`, equals `expected`.
    ///
    /// # Panics
    /// If it differs, or none arrives.
    #[track_caller]
    pub fn expect_eq(&mut self, expected: T, within: Duration) -> impl Future<Output = ()> + '_
    where
        T: PartialEq + fmt::Debug,
    {
        let caller = std::panic::Location::caller();
        async move {
            match self.try_expect(within).await {
                Ok(value) => assert_eq!(value, expected, "probe value at {caller}"),
                Err(e) => panic!("{e}; expected {expected:?} (at {caller})"),
            }
        }
    }

    /// Asserts that nothing arrives for `duration`.
    ///
    /// # Panics
    /// If something does.
    #[track_caller]
    pub fn expect_no_message(&mut self, duration: Duration) -> impl Future<Output = ()> + '_
    where
        T: fmt::Debug,
    {
        let caller = std::panic::Location::caller();
        async move {
            if let Ok(Some(value)) = tokio::time::timeout(duration, self.rx.recv()).await {
                panic!(
                    "the probe received {value:?} within {duration:?}, expected nothing (at {caller})"
                );
            }
        }
    }

    /// Everything received and not yet taken, without waiting.
    pub fn drain(&mut self) -> Vec<T> {
        std::iter::from_fn(|| self.rx.try_recv().ok()).collect()
    }
}

impl TestProbe<Terminated> {
    /// Has the probe's actor watch `other`: its [`Terminated`] notice arrives here.
    ///
    /// # Panics
    /// If the probe's actor has stopped.
    pub async fn watch<B: Actor>(&self, other: &ActorRef<B>) {
        let other = other.clone();
        let setup: Setup<Terminated> = Box::new(move |ctx| {
            ctx.watch(&other, |me, notice| me.record(notice));
        });
        self.actor
            .__setup(setup)
            .ask()
            .await
            .expect("the probe's actor is running");
    }
}

impl<T: Send + 'static> fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

impl<T: Send + 'static> fmt::Debug for TestProbe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestProbe")
            .field("actor", &self.actor)
            .field("waiting", &self.rx.len())
            .finish()
    }
}

/// Lets every task that can run, run (spawned actors start, queued messages are handled), by
/// yielding to the scheduler many times. Does not move the clock.
pub async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Lets `by` of time pass, then [`settle`]s. With tokio's paused clock
/// (`#[tokio::test(start_paused = true)]`) this takes no real time: the clock jumps from one
/// timer to the next, so timers, backoffs and restart windows fire in order, as they would in
/// real time, deterministically.
pub async fn advance(by: Duration) {
    settle().await;
    tokio::time::sleep(by).await;
    settle().await;
}
