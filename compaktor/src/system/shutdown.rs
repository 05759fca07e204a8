//! [`ActorSystem::shutdown`]: every actor stopped in order within a deadline, what is left
//! killed, and a [`ShutdownReport`]. How one parent stops its children lives in `tree::node`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::actor::cell::Control;
use crate::{ActorLabel, ActorSystem, StopReason};

/// What [`ActorSystem::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Actors that ended some other way than being killed (stopped, released, failed) while it
    /// ran, children included.
    pub stopped: u64,
    /// Actors killed while it ran: left over at the deadline, or children that outlived their
    /// shutdown time.
    pub killed: u64,
    /// Messages that became dead letters while it ran.
    pub dead_letters: u64,
    /// Actors still not ended when it returned (a handler blocking its thread ignores a kill).
    pub still_running: usize,
    /// Whether the deadline passed before every actor had stopped: they were killed at the
    /// deadline, or ended late because a handler blocked the thread the deadline's timer runs
    /// on (see [`overrun`](Self::overrun)).
    pub deadline_passed: bool,
    /// How long after the deadline it returned; zero if it returned in time. Killed actors
    /// take a moment to end (at most another `deadline` is waited for them); anything longer
    /// is a handler that blocked its thread (a `std::thread::sleep`, a busy loop, a blocking
    /// read). Such a thread cannot be preempted: on a current-thread runtime the deadline's
    /// timer, and so the kill, waits until the handler returns.
    pub overrun: Duration,
    /// How long it took.
    pub elapsed: Duration,
    /// The top-level actors, in the order they ended, and why (children end before their
    /// parent and are not listed).
    pub ended: Vec<(ActorLabel, StopReason)>,
    /// The [shutdown steps](ActorSystem::on_shutdown) that panicked, by name.
    pub panicked_steps: Vec<String>,
}

impl ActorSystem {
    /// Runs the [shutdown steps](Self::on_shutdown) first (a robot's E-stop), then stops
    /// every actor, the newest top-level actor first, each after its children (which
    /// stop in reverse start order, each within its shutdown time). Stopping is the poison
    /// pill: what was queued is handled first. Whatever has not ended by `deadline` is killed.
    /// Afterwards the system starts no new actors ([`SpawnError::ShuttingDown`]).
    ///
    /// The deadline is kept by a tokio timer, which cannot preempt a handler that blocks its
    /// thread instead of awaiting: on a current-thread runtime such a handler holds up the
    /// whole shutdown until it returns. The report says so truthfully
    /// ([`deadline_passed`](ShutdownReport::deadline_passed) and
    /// [`overrun`](ShutdownReport::overrun)); run blocking work with
    /// [`Context::spawn_blocking`](crate::Context::spawn_blocking) to keep the deadline.
    ///
    /// [`SpawnError::ShuttingDown`]: crate::SpawnError::ShuttingDown
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use std::time::Duration;
    ///
    /// struct Bus;
    /// #[actor] impl Bus {}
    /// struct Motor;
    /// #[actor] impl Motor {}
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("robot");
    /// let bus = system.builder(Bus).name("bus").spawn()?;
    /// let motor = system.builder(Motor).name("motor").spawn()?;
    /// let report = system.shutdown(Duration::from_secs(2)).await;
    /// assert_eq!((report.stopped, report.killed), (2, 0));
    /// assert_eq!(system.live_actors(), 0);
    /// # drop((bus, motor));
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let began = Instant::now();
        let panicked_steps = self.shutdown_hooks().run();
        self.begin_shutdown();
        let (killed_before, stopped_before) = self.ends();
        let dead_before = self.dead_letter_count();

        let mut ended_in_order = Vec::new();
        let graceful = async {
            for actor in self.registry().top_level_newest_first() {
                Arc::clone(&actor).stop();
                ended_in_order.push(ended(&actor).await);
            }
        };
        let timed_out = tokio::time::timeout(deadline, graceful).await.is_err();
        if timed_out {
            tracing::warn!(?deadline, "shutdown deadline passed; killing what is left");
            let left = self.registry().top_level_newest_first();
            for actor in &left {
                actor.kill();
            }
            let all_ended = async {
                for actor in &left {
                    ended_in_order.push(ended(actor).await);
                }
            };
            // A handler that blocks its thread never sees the kill: do not wait for it forever.
            let _ = tokio::time::timeout(deadline, all_ended).await;
        }
        let (killed, stopped) = self.ends();
        let elapsed = began.elapsed();
        // A timer that fired late (a blocked thread) may find the actors ended meanwhile: the
        // time says the deadline passed all the same.
        let overrun = elapsed.saturating_sub(deadline);
        if !timed_out && !overrun.is_zero() {
            tracing::warn!(
                ?deadline,
                ?overrun,
                "shutdown ended after its deadline: a blocked thread holds up its timer"
            );
        }
        ShutdownReport {
            stopped: stopped - stopped_before,
            killed: killed - killed_before,
            dead_letters: self.dead_letter_count() - dead_before,
            still_running: self.live_actors(),
            deadline_passed: timed_out || !overrun.is_zero(),
            overrun,
            elapsed,
            ended: ended_in_order,
            panicked_steps,
        }
    }
}

async fn ended(actor: &Arc<dyn Control>) -> (ActorLabel, StopReason) {
    let reason = actor.cell().stopped().await;
    (actor.cell().label.clone(), reason)
}
