//! The bookkeeping of one supervising actor: its children in start order, its restart history,
//! and the decisions taken when a child's instance ends (restart which children, after what
//! backoff; give up and escalate). The strategy types live in `tree::policy`; a child's own
//! restart loop lives in `task`.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::actor::cell::ActorCell;
use crate::actor::cell::Control;
use crate::{ActorId, RestartPolicy, SpawnError, StopReason, Strategy, Supervision};

/// Reports the start hook's result to whoever waits on the spawn (or on a restart).
pub(crate) type StartReport = oneshot::Sender<Result<(), crate::StartError>>;

/// How a child's instance ended, as its supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndCause {
    /// Stopped or killed from outside, or released: final.
    External,
    /// It stopped itself (`Context::stop`).
    SelfStop,
    /// A panic, a failed start, an `Err` its failure hook sent on, a linked failure.
    Failure,
    /// Its failure hook chose `Stop`: final.
    FinalFailure,
    /// Its failure hook chose `Escalate`: final, and the supervisor fails.
    Escalate,
    /// Its supervisor stopped it to restart it with a failed sibling.
    SiblingRestart,
}

/// What a child waiting after its instance ended is told.
#[derive(Debug)]
pub(crate) enum Directive {
    /// Make a new instance; report on `started` once its start hook has run.
    Restart { started: StartReport },
    /// End for good.
    Stop,
}

/// The options a child was spawned with that its supervisor acts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildTerms {
    pub(crate) restart: RestartPolicy,
    /// How long a graceful stop may take before the child is killed.
    pub(crate) shutdown: Duration,
}

struct Child {
    control: Arc<dyn Control>,
    terms: ChildTerms,
    /// Set while the child's instance is down and it waits for a directive.
    waiting: Option<oneshot::Sender<Directive>>,
}

impl Drop for Child {
    /// The supervisor's counted reference: a child lives until it is stopped, not until its
    /// last outside ref is dropped.
    fn drop(&mut self) {
        self.control.release();
    }
}

/// A child to stop: its handle, its shutdown time, and its directive slot if it is waiting.
type Stopping = (
    Arc<dyn Control>,
    Duration,
    Option<oneshot::Sender<Directive>>,
);

struct State {
    supervision: Supervision,
    children: BTreeMap<ActorId, Child>,
    restarts: VecDeque<Instant>,
    /// Failed children whose restart is pending, in order.
    incidents: VecDeque<ActorId>,
    coordinating: bool,
    /// The supervisor is stopping its children: nothing restarts.
    stopping: bool,
    /// The supervising instance has ended: no new children until the next instance begins.
    closed: bool,
}

/// One supervising actor's children. Shared by its `Context` and its children's tasks.
///
/// A top-level actor spawned from a factory has a node of its own, with no owner: the system
/// supervises it, and past its restart limit it stops with its last failure (there is no
/// one to escalate to).
pub(crate) struct SupervisorNode {
    /// The supervising actor, to fail it on escalation; `None` for a top-level actor's node.
    owner: Option<Arc<dyn Control>>,
    system: crate::ActorSystem,
    state: Mutex<State>,
    /// Notified whenever a child's instance goes down or a child leaves.
    changed: Notify,
}

impl SupervisorNode {
    pub(crate) fn new(owner: Arc<dyn Control>) -> Arc<Self> {
        let system = owner.cell().system.clone();
        Self::with(Some(owner), system, Supervision::default())
    }

    /// The node of one top-level actor spawned from a factory: the system supervises it.
    pub(crate) fn top_level(system: crate::ActorSystem, supervision: Supervision) -> Arc<Self> {
        Self::with(None, system, supervision)
    }

    fn with(
        owner: Option<Arc<dyn Control>>,
        system: crate::ActorSystem,
        supervision: Supervision,
    ) -> Arc<Self> {
        Arc::new(SupervisorNode {
            owner,
            system,
            state: Mutex::new(State {
                supervision,
                children: BTreeMap::new(),
                restarts: VecDeque::new(),
                incidents: VecDeque::new(),
                coordinating: false,
                stopping: false,
                closed: false,
            }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn system(&self) -> &crate::ActorSystem {
        &self.system
    }

    pub(crate) fn set_supervision(&self, supervision: Supervision) {
        self.lock().supervision = supervision;
    }

    /// Adds a child, holding a counted reference to it; refused once the supervising
    /// instance has ended.
    pub(crate) fn adopt(
        &self,
        control: Arc<dyn Control>,
        terms: ChildTerms,
    ) -> Result<(), SpawnError> {
        let mut state = self.lock();
        if state.closed {
            let parent = match &self.owner {
                Some(owner) => owner.cell().label.clone(),
                None => control.cell().label.clone(),
            };
            return Err(SpawnError::ParentStopping { parent });
        }
        control.cell().retain();
        let id = control.cell().id();
        state.children.insert(
            id,
            Child {
                control,
                terms,
                waiting: None,
            },
        );
        Ok(())
    }

    /// The supervising instance has ended (`true`) or a new one begins (`false`).
    pub(crate) fn set_closed(&self, closed: bool) {
        self.lock().closed = closed;
    }

    /// The child `id` has ended for good.
    pub(crate) fn forget(&self, id: ActorId) {
        let child = self.lock().children.remove(&id);
        drop(child);
        self.changed.notify_waiters();
    }

    /// The number of children.
    pub(crate) fn len(&self) -> usize {
        self.lock().children.len()
    }

    /// A child's instance ended. `Some` if it is to wait for a directive (a restart is
    /// planned); `None` if it ends for good.
    pub(crate) fn child_ended(
        self: &Arc<Self>,
        id: ActorId,
        reason: &StopReason,
        cause: EndCause,
    ) -> Option<oneshot::Receiver<Directive>> {
        let mut state = self.lock();
        let state = &mut *state;
        let stopping = self.is_stopping(state);
        let child = state.children.get_mut(&id)?;
        let policy = child.terms.restart;
        let (tx, rx) = oneshot::channel();
        if cause == EndCause::SiblingRestart {
            if policy == RestartPolicy::Temporary || stopping {
                return None;
            }
            child.waiting = Some(tx);
            self.changed.notify_waiters();
            return Some(rx);
        }
        let restart = !stopping
            && match cause {
                EndCause::Failure => policy != RestartPolicy::Temporary,
                EndCause::SelfStop => policy == RestartPolicy::Permanent,
                _ => false,
            };
        if cause == EndCause::Escalate {
            self.escalate(child, reason);
        }
        if !restart {
            return None;
        }
        let now = Instant::now();
        let (max, within) = state.supervision.limit();
        while state
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > within)
        {
            state.restarts.pop_front();
        }
        if state.restarts.len() >= max as usize {
            tracing::error!(child = %child.control.cell().label, %reason, "restart limit reached; escalating (a top-level actor stops)");
            self.escalate(child, reason);
            return None;
        }
        state.restarts.push_back(now);
        child.waiting = Some(tx);
        self.changed.notify_waiters();
        state.incidents.push_back(id);
        if !state.coordinating {
            state.coordinating = true;
            let node = Arc::clone(self);
            tokio::spawn(async move { node.coordinate().await });
        }
        Some(rx)
    }

    /// Fails the supervising actor; a top-level actor's node has none, and its actor just
    /// stops.
    fn escalate(&self, child: &Child, reason: &StopReason) {
        let Some(owner) = &self.owner else { return };
        owner.interrupt(StopReason::Escalated {
            child: child.control.cell().label.clone(),
            reason: Box::new(reason.clone()),
        });
    }

    /// Restarts what each pending failure calls for, one incident at a time.
    async fn coordinate(self: Arc<Self>) {
        loop {
            let next = {
                let mut state = self.lock();
                match state.incidents.pop_front() {
                    Some(id) => id,
                    None => {
                        state.coordinating = false;
                        return;
                    }
                }
            };
            self.restart_after(next).await;
        }
    }

    /// Restarts `failed` and, by the strategy, its siblings.
    async fn restart_after(&self, failed: ActorId) {
        let (group, delay, label) = {
            let state = self.lock();
            let Some(child) = state.children.get(&failed) else {
                return;
            };
            if child.waiting.is_none() {
                return; // already restarted with an earlier incident's group
            }
            let group: Vec<ActorId> = match state.supervision.strategy() {
                Strategy::OneForOne => vec![failed],
                Strategy::OneForAll => state.children.keys().copied().collect(),
                Strategy::RestForOne => state.children.range(failed..).map(|(id, _)| *id).collect(),
            };
            let recent = state.restarts.len().saturating_sub(1) as u32;
            let label = child.control.cell().label.clone();
            (group, state.supervision.delay(recent), label)
        };
        // The siblings stop in reverse start order.
        for &id in group.iter().rev().filter(|id| **id != failed) {
            self.take_down(id, &label).await;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Then all start again in start order, each after the one before has started.
        for id in group {
            let waiting = {
                let mut state = self.lock();
                let stopping = self.is_stopping(&state);
                state
                    .children
                    .get_mut(&id)
                    .and_then(|c| c.waiting.take())
                    .map(|w| (w, stopping))
            };
            let Some((waiting, stopping)) = waiting else {
                continue;
            };
            if stopping {
                let _ = waiting.send(Directive::Stop);
                continue;
            }
            let (started, rx) = oneshot::channel();
            if waiting.send(Directive::Restart { started }).is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// Stops sibling `id` so it can restart with `failed`, and waits until its instance is
    /// down (killing it after its shutdown time).
    async fn take_down(&self, id: ActorId, failed: &crate::ActorLabel) {
        let (control, shutdown) = {
            let state = self.lock();
            match state.children.get(&id) {
                Some(child) if child.waiting.is_none() => {
                    (Arc::clone(&child.control), child.terms.shutdown)
                }
                _ => return,
            }
        };
        control.interrupt(StopReason::SiblingFailed {
            sibling: failed.clone(),
        });
        let down = || {
            let state = self.lock();
            state.children.get(&id).is_none_or(|c| c.waiting.is_some())
        };
        if tokio::time::timeout(shutdown, self.until(down))
            .await
            .is_err()
        {
            // Its handler in progress is dropped, but it still restarts with the group.
            tracing::warn!(child = %control.cell().label, "did not stop for its sibling's restart; aborting it");
            control.abort(StopReason::SiblingFailed {
                sibling: failed.clone(),
            });
            self.until(down).await;
        }
    }

    /// Waits until `done` holds, looking again whenever a child changes.
    async fn until(&self, done: impl Fn() -> bool) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            if done() {
                return;
            }
            changed.await;
        }
    }

    /// Whether nothing restarts now: the supervisor is stopping its children, or (for a
    /// top-level actor, which the system supervises) the system is shutting down.
    fn is_stopping(&self, state: &State) -> bool {
        state.stopping || (self.owner.is_none() && self.system.is_shutting_down())
    }

    fn owner_killed(&self) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|owner| owner.cell().is_killed())
    }

    /// Waits up to `limit` for `child` to end; false if it did not, or if the supervising actor
    /// was killed meanwhile (then its children are killed, not waited for). Runs on the
    /// supervising actor's task, so its kill signal can wake this.
    async fn stopped_or_owner_killed(&self, child: &ActorCell, limit: Duration) -> bool {
        let mut timeout = std::pin::pin!(tokio::time::sleep(limit));
        let mut wait = child.stopped();
        std::future::poll_fn(|cx| {
            if std::pin::Pin::new(&mut wait).poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            if let Some(owner) = &self.owner {
                owner.register_waker(cx.waker());
            }
            if self.owner_killed() || timeout.as_mut().poll(cx).is_ready() {
                return Poll::Ready(false);
            }
            Poll::Pending
        })
        .await
    }

    /// Stops every child, children-first in reverse start order, each within its shutdown time
    /// (then killed); `kill` kills them at once. Waits until all have ended. The node can take
    /// new children afterwards (a restarted supervisor starts its children again).
    pub(crate) async fn stop_children(&self, kill: bool) {
        let children: Vec<Stopping> = {
            let mut state = self.lock();
            state.stopping = true;
            state.incidents.clear();
            state
                .children
                .values_mut()
                .rev()
                .map(|c| (Arc::clone(&c.control), c.terms.shutdown, c.waiting.take()))
                .collect()
        };
        let kill = kill || self.owner_killed();
        if kill {
            // Killed all at once, then awaited: a kill does not wait its turn.
            for (control, _, waiting) in &children {
                if waiting.is_none() {
                    control.kill();
                }
            }
        }
        for (control, shutdown, waiting) in children {
            if let Some(waiting) = waiting {
                let _ = waiting.send(Directive::Stop);
            } else if !kill {
                Arc::clone(&control).stop();
            }
            let cell = control.cell();
            if !self.stopped_or_owner_killed(cell, shutdown).await {
                if !cell.is_killed() {
                    tracing::warn!(child = %cell.label, ?shutdown, "did not stop in time; killing it");
                }
                control.kill();
                cell.stopped().await;
            }
        }
        let mut state = self.lock();
        state.stopping = false;
        state.restarts.clear();
    }
}
