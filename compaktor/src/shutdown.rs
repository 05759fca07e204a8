//! [`ActorSystem::shutdown`]: every actor stopped in order within a deadline, what is left
//! killed, and a [`ShutdownReport`]. How one parent stops its children lives in `supervisor`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::ActorSystem;
use crate::actor_ref::Control;

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
    /// Whether the deadline passed before every actor had stopped.
    pub deadline_passed: bool,
    /// How long it took.
    pub elapsed: Duration,
}

impl ActorSystem {
    /// Stops every actor, the newest top-level actor first, each after its children (which
    /// stop in reverse start order, each within its shutdown time). Stopping is the poison
    /// pill: what was queued is handled first. Whatever has not ended by `deadline` is killed.
    /// Afterwards the system starts no new actors ([`SpawnError::ShuttingDown`]).
    ///
    /// [`SpawnError::ShuttingDown`]: crate::SpawnError::ShuttingDown
    ///
    /// ```
    /// use compaktor::prelude::*;
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
        self.begin_shutdown();
        let (killed_before, stopped_before) = self.ends();
        let dead_before = self.dead_letter_count();

        let graceful = async {
            for actor in self.registry().top_level_newest_first() {
                Arc::clone(&actor).stop();
                ended(&actor).await;
            }
        };
        let deadline_passed = tokio::time::timeout(deadline, graceful).await.is_err();
        if deadline_passed {
            tracing::warn!(?deadline, "shutdown deadline passed; killing what is left");
            let left = self.registry().top_level_newest_first();
            for actor in &left {
                actor.kill();
            }
            let all_ended = async {
                for actor in &left {
                    ended(actor).await;
                }
            };
            // A handler that blocks its thread never sees the kill: do not wait for it forever.
            let _ = tokio::time::timeout(deadline, all_ended).await;
        }
        let (killed, stopped) = self.ends();
        ShutdownReport {
            stopped: stopped - stopped_before,
            killed: killed - killed_before,
            dead_letters: self.dead_letter_count() - dead_before,
            still_running: self.live_actors(),
            deadline_passed,
            elapsed: began.elapsed(),
        }
    }
}

async fn ended(actor: &Arc<dyn Control>) {
    actor.cell().stopped().await;
}
