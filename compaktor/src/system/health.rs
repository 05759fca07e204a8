//! Health: [`ActorSystem::health`], a snapshot of every running actor, and
//! [`ActorSystem::stalls`], a stream of [`Stall`]s for actors stuck in one handler (a hung
//! driver). The counters they read are kept by `task` on each actor's cell.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::Instant;

use crate::{ActorId, ActorLabel, ActorState, ActorSystem, StopReason};

/// One actor's health, from [`ActorSystem::health`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorHealth {
    /// The actor.
    pub actor: ActorLabel,
    /// Its path in the system's tree.
    pub path: Arc<str>,
    /// Its type.
    pub actor_type: &'static str,
    /// Its state.
    pub state: ActorState,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Messages it has handled (over all its instances).
    pub handled: u64,
    /// How many times its supervisor restarted it.
    pub restarts: u32,
    /// Why its last failed instance ended, if one did.
    pub last_failure: Option<StopReason>,
    /// How long it has been in the handler it is running now, as seen by this system's health
    /// reports and stall detectors: counted from the first report that found it in that
    /// handler (so the first report says zero). `None` when it is between messages.
    pub in_handler_for: Option<Duration>,
}

/// An actor stuck in one handler past a threshold, from [`ActorSystem::stalls`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stall {
    /// The actor.
    pub actor: ActorLabel,
    /// Its path.
    pub path: Arc<str>,
    /// How long it has been in that handler, at least.
    pub stuck_for: Duration,
    /// Messages it had handled before this one.
    pub handled: u64,
}

/// When each busy actor was first seen in its current handler, for one system's health reports
/// and stall detectors.
///
/// A report is one [`Sweep`] over the running actors: each is looked up once by id, and the
/// actors the sweep did not see (ended ones) are dropped by the sweep's stamp, not by looking
/// each one up in the list of live actors (which made a report quadratic in the busy actors).
#[derive(Debug, Default)]
pub(crate) struct BusySince(Mutex<BusyMap>);

#[derive(Debug, Default)]
struct BusyMap {
    /// Per busy actor: (progress count when first seen, first seen, last sweep that saw it).
    seen: HashMap<ActorId, (u64, Instant, u64)>,
    /// The number of the sweep in progress.
    sweep: u64,
}

impl BusySince {
    /// Begins a sweep over every running actor, holding the map until it ends (so two reports
    /// do not interleave).
    fn sweep(&self) -> Sweep<'_> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.sweep += 1;
        Sweep { map }
    }

    /// How many busy actors are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).seen.len()
    }
}

/// One pass over the running actors: [`observe`](Sweep::observe) each once, then
/// [`finish`](Sweep::finish). Linear in the actors seen and remembered.
struct Sweep<'a> {
    map: std::sync::MutexGuard<'a, BusyMap>,
}

impl Sweep<'_> {
    /// How long `id` has been seen in the handler numbered `handled` (`None` when not busy).
    fn observe(&mut self, id: ActorId, handled: u64, busy: bool, now: Instant) -> Option<Duration> {
        #[cfg(test)]
        crate::actor::count_work();
        let sweep = self.map.sweep;
        if !busy {
            self.map.seen.remove(&id);
            return None;
        }
        let entry = self.map.seen.entry(id).or_insert((handled, now, sweep));
        if entry.0 != handled {
            *entry = (handled, now, sweep);
        }
        entry.2 = sweep;
        Some(now.duration_since(entry.1))
    }

    /// Forgets the actors this sweep did not see: they have ended.
    fn finish(mut self) {
        let sweep = self.map.sweep;
        self.map.seen.retain(|_, seen| {
            #[cfg(test)]
            crate::actor::count_work();
            seen.2 == sweep
        });
    }
}

impl ActorSystem {
    /// A snapshot of every running actor, oldest first: state, mailbox length, messages
    /// handled, restarts, last failure, time in the current handler.
    ///
    /// Its cost grows linearly with the running actors (sorting them by age aside), busy or
    /// not, so it can be taken often (every 100 ms with 10,000 actors).
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor::ActorState;
    ///
    /// struct Idle;
    /// #[actor] impl Idle { #[handler] fn ping(&self) {} }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("robot");
    /// let idle = system.builder(Idle).name("idle").start().await?;
    /// idle.ping().ask().await?;
    /// let health = system.health();
    /// assert_eq!(health.len(), 1);
    /// assert_eq!(&*health[0].path, "/idle");
    /// assert_eq!(health[0].state, ActorState::Running);
    /// assert_eq!(health[0].handled, 1);
    /// # Ok(()) }
    /// ```
    pub fn health(&self) -> Vec<ActorHealth> {
        let now = Instant::now();
        let actors = self.registry().all();
        let mut sweep = self.busy_since().sweep();
        let report = actors
            .iter()
            .map(|actor| {
                let cell = actor.cell();
                let (handled, busy) = cell.progress();
                ActorHealth {
                    actor: cell.label.clone(),
                    path: Arc::clone(cell.path()),
                    actor_type: actor.actor_type(),
                    state: cell.phase(),
                    mailbox_len: actor.mailbox_len(),
                    handled,
                    restarts: cell.restarts(),
                    last_failure: cell.last_failure(),
                    in_handler_for: sweep.observe(cell.id(), handled, busy, now),
                }
            })
            .collect();
        sweep.finish();
        report
    }

    /// A stream of [`Stall`]s: each time an actor has been in one handler for `threshold` or
    /// longer, once per handler call. It samples every quarter of `threshold`, so a stall is
    /// reported between `threshold` and 1.25 × `threshold` after the handler began. Ends when
    /// dropped. A supervisor can act on it from a handler
    /// (`ctx.attach_stream(system.stalls(d), |me, s| me.stalled(s))`).
    ///
    /// # Panics
    /// If `threshold` is zero; outside a tokio runtime.
    pub fn stalls(&self, threshold: Duration) -> BoxStream<'static, Stall> {
        assert!(
            !threshold.is_zero(),
            "a stall threshold must be greater than zero"
        );
        let system = self.clone();
        let (tx, rx) = futures::channel::mpsc::unbounded();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval((threshold / 4).max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut reported: HashMap<ActorId, u64> = HashMap::new();
            loop {
                ticks.tick().await;
                if tx.is_closed() {
                    return;
                }
                for actor in system.health() {
                    let Some(stuck_for) = actor.in_handler_for else {
                        reported.remove(&actor.actor.id);
                        continue;
                    };
                    if stuck_for < threshold
                        || reported.get(&actor.actor.id) == Some(&actor.handled)
                    {
                        continue;
                    }
                    reported.insert(actor.actor.id, actor.handled);
                    tracing::warn!(actor = %actor.actor, path = %actor.path, ?stuck_for, "stalled in a handler");
                    let stall = Stall {
                        actor: actor.actor,
                        path: actor.path,
                        stuck_for,
                        handled: actor.handled,
                    };
                    if tx.unbounded_send(stall).is_err() {
                        return;
                    }
                }
            }
        });
        rx.boxed()
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Notify;

    use super::*;
    use crate::prelude::*;

    struct Stuck;

    #[crate::actor]
    impl Stuck {
        #[handler]
        async fn wait(&self, gate: Arc<Notify>) {
            gate.notified().await;
        }
    }

    /// The steps of work one `health()` report over `n` actors, all busy, takes (its second
    /// report: every actor is remembered from the first).
    async fn work_of_a_report(n: usize) -> u64 {
        let system = ActorSystem::new("health");
        let gate = Arc::new(Notify::new());
        let mut actors = Vec::with_capacity(n);
        for _ in 0..n {
            let actor = system.spawn(Stuck);
            actor.wait(Arc::clone(&gate)).await.expect("queued");
            actors.push(actor);
        }
        while system.health().iter().any(|h| h.in_handler_for.is_none()) {
            tokio::task::yield_now().await;
        }
        // Health is synchronous: nothing else runs on this thread while it counts.
        crate::actor::WORK.with(|w| w.set(0));
        let report = system.health();
        let work = crate::actor::WORK.with(std::cell::Cell::get);
        assert_eq!(report.len(), n);
        assert!(report.iter().all(|h| h.in_handler_for.is_some()));
        gate.notify_waiters();
        work
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_report_over_busy_actors_does_work_linear_in_their_number() {
        let small = work_of_a_report(500).await;
        let large = work_of_a_report(5_000).await;
        // Ten times the actors: ten times the work for a linear walk (a little more for
        // sorting them by age), a hundred times for one that searches a list per actor.
        let ratio = large as f64 / small as f64;
        assert!(
            ratio < 16.0,
            "{small} steps for 500 actors, {large} for 5000: {ratio:.1}x"
        );
        assert!(large > 5_000, "every actor is visited: {large}");
    }

    fn id(n: u64) -> ActorId {
        ActorId(n)
    }

    #[test]
    fn a_sweep_times_each_busy_actor_and_forgets_those_it_did_not_see() {
        let busy = BusySince::default();
        let start = Instant::now();
        let later = start + Duration::from_millis(250);
        const ACTORS: u64 = 20_000;
        // Every actor busy in its first handler.
        let mut sweep = busy.sweep();
        for n in 0..ACTORS {
            assert_eq!(sweep.observe(id(n), 0, true, start), Some(Duration::ZERO));
        }
        sweep.finish();
        assert_eq!(busy.len(), ACTORS as usize);
        // Half of them have ended; of the rest, even ones are still in that handler, odd ones
        // in their next.
        let mut sweep = busy.sweep();
        for n in (0..ACTORS).filter(|n| n % 4 < 2) {
            let expected = if n % 2 == 0 {
                Duration::from_millis(250)
            } else {
                Duration::ZERO
            };
            assert_eq!(sweep.observe(id(n), n % 2, true, later), Some(expected));
        }
        sweep.finish();
        assert_eq!(busy.len(), ACTORS as usize / 2);
        // An actor between messages is forgotten at once, and one not seen with it.
        let mut sweep = busy.sweep();
        assert_eq!(sweep.observe(id(0), 1, false, later), None);
        sweep.finish();
        assert_eq!(busy.len(), 0);
    }
}
