//! [`ActorCell`]: what every reference to one actor shares whatever its type, with its state
//! encodings (running, stopping, stopped; the kill, interrupt and abort signals; its links and
//! the waits for its end), and [`Control`], one actor whatever its type. The allocation that
//! holds the cell beside the mailbox, and the send paths into it, live in `shared`; the typed
//! ref a user holds, in `address`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Poll, Waker};

use crate::LinkExit;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::Envelope;
use crate::{ActorId, ActorLabel, ActorSystem, SendError, StopReason};

/// Where an actor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum ActorState {
    /// Its start hooks are running.
    Starting,
    /// Handling messages.
    Running,
    /// Its instance ended and its supervisor is making a new one (the mailbox is kept).
    Restarting,
    /// Ending: its children, stop hook and drop are running.
    Stopping,
    /// Ended.
    Stopped,
}

pub(crate) type Phase = ActorState;

impl ActorState {
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => ActorState::Starting,
            1 => ActorState::Running,
            2 => ActorState::Restarting,
            3 => ActorState::Stopping,
            _ => ActorState::Stopped,
        }
    }
}

const RUNNING: u8 = 0;
const STOPPING: u8 = 1;
const STOPPED: u8 = 2;

/// `ActorCell::signal` bits: what the actor's task must look at besides its mailbox.
const KILL: u8 = 1;
/// The current instance must end between messages, with `Extras::interrupt` as its reason.
const INTERRUPT: u8 = 2;
/// With `INTERRUPT`: end it at once, dropping the handler in progress at its next `.await` (a
/// sibling that did not stop in time for a group restart).
const ABORT: u8 = 4;

/// What every reference to one actor shares, whatever the actor type.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ActorCell {
    pub(crate) label: ActorLabel,
    pub(crate) system: ActorSystem,
    /// The parent's path; `None` at the top level.
    parent_path: Option<Arc<str>>,
    /// Where it sits in its system's tree: `/robot/drive/left_motor`. Made on first use for
    /// an unnamed actor (`/$7`), which most never need.
    path: OnceLock<Arc<str>>,
    /// Tasks waiting in `stopped()`, then the stop reason. A slab: most actors have no
    /// waiter, and one is the common case, which a `Notify` would serve at several times the
    /// cost; each wait keeps its key, so a wait that is dropped leaves (see [`StopWait`]).
    end: Mutex<End>,
    /// Links and pending interrupts: rare, so boxed on first use.
    extras: Mutex<Option<Box<Extras>>>,
    restarts: AtomicU32,
    /// Its slot in the system's registry of running actors; `u32::MAX` before it has one.
    registry_slot: AtomicU32,
    // `repr(C)`: from here on, what every message touches, in the order a send touches it,
    // followed by the mailbox's queue (see `Shared`), so a send and a receive share few cache
    // lines.
    /// Set for a balancing pool's workers: told each time a message is done.
    pub(crate) on_idle: OnceLock<Arc<tokio::sync::Notify>>,
    /// Live `ActorRef`s. At zero the actor stops once its mailbox is empty.
    refs: AtomicUsize,
    /// Twice the messages handled, plus one while a handler runs. Only the actor's task writes
    /// it (a plain store, no read-modify-write on the hot path); health and pools read it.
    progress: AtomicU64,
    signal: AtomicU8,
    /// What health reports: starting, running, restarting, stopping, stopped.
    phase: AtomicU8,
    /// Whether `extras` was ever made, so an actor without any skips its lock when it ends.
    has_extras: AtomicBool,
    /// Whether the current instance has ended in a failure (for a link made while it ends).
    ended_in_failure: AtomicBool,
    /// Whether it was spawned by the system rather than by a parent actor.
    pub(crate) top_level: bool,
    state: AtomicU8,
}

/// Whether an actor has ended: who waits for it, then why it ended.
#[derive(Debug)]
enum End {
    Running(slab::Slab<Waker>),
    Stopped(StopReason),
}

/// What few actors use: links, exit trapping, an interrupt's reason.
#[derive(Default)]
struct Extras {
    interrupt: Option<StopReason>,
    last_failure: Option<StopReason>,
    links: Vec<(ActorId, Weak<dyn Control>)>,
    trap: Option<futures::channel::mpsc::UnboundedSender<LinkExit>>,
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("interrupt", &self.interrupt)
            .field("links", &self.links.len())
            .field("last_failure", &self.last_failure)
            .field("traps_exits", &self.trap.is_some())
            .finish()
    }
}

impl ActorCell {
    pub(crate) fn new(
        label: ActorLabel,
        parent_path: Option<Arc<str>>,
        top_level: bool,
        system: ActorSystem,
    ) -> Self {
        let cell = ActorCell {
            label,
            parent_path,
            path: OnceLock::new(),
            top_level,
            system,
            state: AtomicU8::new(RUNNING),
            signal: AtomicU8::new(0),
            phase: AtomicU8::new(Phase::Starting as u8),
            progress: AtomicU64::new(0),
            restarts: AtomicU32::new(0),
            registry_slot: AtomicU32::new(u32::MAX),
            on_idle: OnceLock::new(),
            refs: AtomicUsize::new(0),
            end: Mutex::new(End::Running(slab::Slab::new())),
            extras: Mutex::new(None),
            has_extras: AtomicBool::new(false),
            ended_in_failure: AtomicBool::new(false),
        };
        if cell.label.name.is_some() {
            cell.path();
        }
        cell
    }

    /// The actor's path: its parent's path, `/`, and its name (`$` and its id if unnamed).
    pub(crate) fn path(&self) -> &Arc<str> {
        self.path.get_or_init(|| {
            let parent = self.parent_path.as_deref().unwrap_or("");
            match &self.label.name {
                Some(name) => format!("{parent}/{name}").into(),
                None => format!("{parent}/${}", self.label.id.as_u64()).into(),
            }
        })
    }

    #[inline]
    pub(crate) fn id(&self) -> ActorId {
        self.label.id
    }

    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::Acquire) == RUNNING
    }

    /// Moves to stopping; false if it was not running.
    pub(crate) fn begin_stop(&self) -> bool {
        self.state
            .compare_exchange(RUNNING, STOPPING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn mark_stopping(&self) {
        let _ = self.begin_stop();
    }

    #[inline]
    pub(crate) fn is_killed(&self) -> bool {
        self.signal.load(Ordering::Acquire) & KILL != 0
    }

    /// Whether the work in progress must be dropped now: a kill, or an aborting interrupt.
    #[inline]
    pub(crate) fn must_drop_work(&self) -> bool {
        self.signal.load(Ordering::Acquire) & (KILL | ABORT) != 0
    }

    /// Like an interrupt, but the handler in progress is dropped at its next `.await` too.
    /// The caller wakes the actor (see [`Control::abort`]).
    fn set_abort(&self, reason: StopReason) {
        self.set_interrupt(reason);
        self.signal.fetch_or(ABORT, Ordering::AcqRel);
    }

    /// Whether a kill or an interrupt waits to be looked at.
    #[inline]
    pub(crate) fn is_signalled(&self) -> bool {
        self.signal.load(Ordering::Acquire) != 0
    }

    #[inline]
    pub(crate) fn has_refs(&self) -> bool {
        self.refs.load(Ordering::Acquire) > 0
    }

    pub(crate) fn is_finished(&self) -> bool {
        matches!(*self.lock_end(), End::Stopped(_))
    }

    /// The stop reason, once it has finished.
    pub(crate) fn stop_reason(&self) -> Option<StopReason> {
        match &*self.lock_end() {
            End::Stopped(reason) => Some(reason.clone()),
            End::Running(_) => None,
        }
    }

    /// One more counted reference.
    pub(crate) fn retain(&self) {
        self.refs.fetch_add(1, Ordering::AcqRel);
    }

    /// One counted reference fewer; true for the last one, which wakes the actor to look at
    /// its mailbox (see [`Control::release`]).
    fn drop_ref(&self) -> bool {
        self.refs.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Marks a kill; false if it has stopped already (see [`Control::kill`]).
    fn set_kill(&self) -> bool {
        if self.state.load(Ordering::Acquire) == STOPPED {
            return false;
        }
        self.mark_stopping();
        self.signal.fetch_or(KILL, Ordering::AcqRel);
        true
    }

    /// A handler begins (`true`) or ends.
    #[inline]
    pub(crate) fn step(&self) {
        let now = self.progress.load(Ordering::Relaxed);
        self.progress.store(now + 1, Ordering::Release);
    }

    /// (messages handled, whether a handler is running now).
    pub(crate) fn progress(&self) -> (u64, bool) {
        let now = self.progress.load(Ordering::Acquire);
        (now / 2, now % 2 == 1)
    }

    /// A balancing pool's worker is ready for more: tell the pool.
    #[inline]
    pub(crate) fn tell_idle(&self) {
        if let Some(idle) = self.on_idle.get() {
            idle.notify_one();
        }
    }

    /// Sequentially consistent with `has_extras`: a link made while the instance ends sees
    /// the new phase, or the instance's end sees the link (see `Context::link`).
    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// The current instance has ended (`Some(failed)`), or not yet (`None`).
    pub(crate) fn instance_ended(&self) -> Option<bool> {
        match Phase::from_u8(self.phase.load(Ordering::SeqCst)) {
            Phase::Stopping | Phase::Restarting | Phase::Stopped => {
                Some(self.ended_in_failure.load(Ordering::Acquire))
            }
            _ => None,
        }
    }

    pub(crate) fn set_ended_in_failure(&self, failed: bool) {
        self.ended_in_failure.store(failed, Ordering::Release);
    }

    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// An instance failed with `reason` (kept for health reports).
    pub(crate) fn record_failure(&self, reason: &StopReason) {
        self.with_extras(|extras| extras.last_failure = Some(reason.clone()));
    }

    pub(crate) fn last_failure(&self) -> Option<StopReason> {
        self.lock_extras().as_ref()?.last_failure.clone()
    }

    pub(crate) fn set_registry_slot(&self, slot: u32) {
        self.registry_slot.store(slot, Ordering::Release);
    }

    pub(crate) fn registry_slot(&self) -> Option<u32> {
        let slot = self.registry_slot.load(Ordering::Acquire);
        (slot != u32::MAX).then_some(slot)
    }

    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Acquire)
    }

    /// Ends the current instance once its handler returns, with `reason` (an escalation, a
    /// linked failure, a sibling's restart). The first interrupt wins until it is taken; false
    /// if this one did not (see [`Control::interrupt`]).
    fn set_interrupt(&self, reason: StopReason) -> bool {
        if self.is_finished() {
            return false;
        }
        let first = self.with_extras(|extras| {
            let first = extras.interrupt.is_none();
            if first {
                extras.interrupt = Some(reason);
            }
            first
        });
        if first {
            self.signal.fetch_or(INTERRUPT, Ordering::AcqRel);
        }
        first
    }

    /// The interrupt's reason, clearing it.
    pub(crate) fn take_interrupt(&self) -> Option<StopReason> {
        if self.signal.load(Ordering::Acquire) & INTERRUPT == 0 {
            return None;
        }
        self.signal
            .fetch_and(!(INTERRUPT | ABORT), Ordering::AcqRel);
        self.lock_extras().as_mut()?.interrupt.take()
    }

    /// Works on the extras, made on first use.
    fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        self.has_extras.store(true, Ordering::SeqCst);
        f(self.lock_extras().get_or_insert_with(Box::default))
    }

    fn lock_extras(&self) -> MutexGuard<'_, Option<Box<Extras>>> {
        self.extras
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a link to `peer` (one side of it).
    pub(crate) fn add_link(&self, peer: ActorId, control: Weak<dyn Control>) {
        self.with_extras(|extras| {
            if !extras.links.iter().any(|(id, _)| *id == peer) {
                extras.links.push((peer, control));
            }
        });
    }

    /// Forgets the link to `peer`; whether there was one.
    pub(crate) fn remove_link(&self, peer: ActorId) -> bool {
        let mut extras = self.lock_extras();
        let Some(extras) = extras.as_mut() else {
            return false;
        };
        let before = extras.links.len();
        extras.links.retain(|(id, _)| *id != peer);
        extras.links.len() != before
    }

    /// Exit notices go to `trap` from now on, instead of ending this actor.
    pub(crate) fn set_trap(&self, trap: futures::channel::mpsc::UnboundedSender<LinkExit>) {
        self.with_extras(|extras| extras.trap = Some(trap));
    }

    /// The instance ended with `reason`: tells every linked actor, and forgets the links and
    /// the trap (they belong to the instance; a restarted one makes its own).
    pub(crate) fn end_links(&self, reason: &StopReason) {
        if !self.has_extras.load(Ordering::SeqCst) {
            return;
        }
        let links = match self.lock_extras().as_mut() {
            Some(extras) => {
                extras.trap = None;
                std::mem::take(&mut extras.links)
            }
            None => return,
        };
        for (_, peer) in links {
            let Some(peer) = peer.upgrade() else { continue };
            if peer.cell().remove_link(self.id()) {
                peer.linked_exit(LinkExit {
                    actor: self.label.clone(),
                    reason: reason.clone(),
                });
            }
        }
    }

    /// Records the end: later sends fail at once, and `stopped()` resolves.
    pub(crate) fn finish(&self, reason: StopReason) {
        self.state.store(STOPPED, Ordering::Release);
        self.set_phase(Phase::Stopped);
        let ended = std::mem::replace(&mut *self.lock_end(), End::Stopped(reason));
        self.tell_idle(); // a pool looks again at which workers it has
        if let End::Running(waiters) = ended {
            waiters.into_iter().for_each(|(_, waker)| waker.wake());
        }
    }

    fn lock_end(&self) -> MutexGuard<'_, End> {
        self.end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves with the stop reason once the actor has finished.
    pub(crate) fn stopped(&self) -> Stopped<&ActorCell> {
        Stopped::new(self)
    }

    /// How many waits for its end are registered (dropped ones are not).
    #[cfg(test)]
    pub(crate) fn stop_waiters(&self) -> usize {
        match &*self.lock_end() {
            End::Running(waiters) => waiters.len(),
            End::Stopped(_) => 0,
        }
    }

    pub(crate) fn dead_letter(&self, handler: &'static str, reason: DeadLetterReason) {
        self.system
            .dead_letter_office()
            .record(self.label.clone(), handler, reason);
    }

    /// Records `message` as a dead letter that carries it (see [`DeadLetter`]).
    ///
    /// [`DeadLetter`]: crate::DeadLetter
    pub(crate) fn dead_letter_of<M: crate::macro_support::Message>(
        &self,
        handler: &'static str,
        reason: DeadLetterReason,
        message: M,
    ) {
        self.system.dead_letter_office().record_message(
            self.label.clone(),
            handler,
            reason,
            message,
        );
    }

    /// Records `env`'s message (if it is one) as a dead letter that carries it.
    pub(crate) fn dead_envelope<M: crate::macro_support::Message>(
        &self,
        handler: &'static str,
        reason: DeadLetterReason,
        env: Envelope<M>,
    ) {
        match env.into_inner() {
            Some(message) => self.dead_letter_of(handler, reason, message),
            None => self.dead_letter(handler, reason),
        }
    }

    pub(crate) fn stopped_error(&self, handler: &'static str) -> SendError {
        self.dead_letter(handler, DeadLetterReason::Stopped);
        self.stopped_send_error(handler)
    }

    /// [`SendError::Stopped`], with `env` recorded as a dead letter that carries its message.
    pub(crate) fn stopped_with<M: crate::macro_support::Message>(
        &self,
        handler: &'static str,
        env: Envelope<M>,
    ) -> SendError {
        self.dead_envelope(handler, DeadLetterReason::Stopped, env);
        self.stopped_send_error(handler)
    }

    fn stopped_send_error(&self, handler: &'static str) -> SendError {
        SendError::Stopped {
            actor: self.label.clone(),
            handler,
        }
    }
}

/// One wait for an actor's end: its key among the cell's waiters once it has been polled, so
/// that polling it again replaces its waker in place, and dropping it removes it (a wait that
/// is given up holds nothing, and slows no other wait).
#[derive(Debug, Default)]
pub(crate) struct StopWait {
    key: Option<usize>,
}

impl StopWait {
    /// The stop reason once `cell`'s actor has finished; registers `cx`'s waker until then.
    pub(crate) fn poll(
        &mut self,
        cell: &ActorCell,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<StopReason> {
        match &mut *cell.lock_end() {
            End::Stopped(reason) => {
                self.key = None;
                Poll::Ready(reason.clone())
            }
            End::Running(waiters) => {
                match self.key.and_then(|key| waiters.get_mut(key)) {
                    Some(waker) => waker.clone_from(cx.waker()),
                    None => self.key = Some(waiters.insert(cx.waker().clone())),
                }
                Poll::Pending
            }
        }
    }

    /// Gives up the wait: `cell` forgets its waker.
    pub(crate) fn cancel(&mut self, cell: &ActorCell) {
        let Some(key) = self.key.take() else { return };
        if let End::Running(waiters) = &mut *cell.lock_end() {
            waiters.try_remove(key);
        }
    }
}

/// Something that leads to an actor's cell, for [`Stopped`].
pub(crate) trait HasCell: Unpin {
    fn cell(&self) -> &ActorCell;
}

impl HasCell for &ActorCell {
    fn cell(&self) -> &ActorCell {
        self
    }
}

/// The future of a wait for an actor's end; dropping it deregisters it.
pub(crate) struct Stopped<C: HasCell> {
    cell: C,
    wait: StopWait,
}

impl<C: HasCell> Stopped<C> {
    /// A wait for the end of the actor `cell` leads to.
    pub(crate) fn new(cell: C) -> Self {
        Stopped {
            cell,
            wait: StopWait::default(),
        }
    }
}

impl<C: HasCell> Future for Stopped<C> {
    type Output = StopReason;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<StopReason> {
        let this = self.get_mut();
        this.wait.poll(this.cell.cell(), cx)
    }
}

impl<C: HasCell> Drop for Stopped<C> {
    fn drop(&mut self) {
        self.wait.cancel(self.cell.cell());
    }
}
/// One actor, whatever its type: what its parent, the registry and the system hold.
pub(crate) trait Control: Send + Sync + 'static {
    fn cell(&self) -> &ActorCell;
    /// The poison pill (see [`ActorRef::stop`](crate::ActorRef::stop)).
    fn stop(self: Arc<Self>);
    /// For a typed lookup: the `Arc<Shared<A>>` behind this.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The actor's type name.
    fn actor_type(&self) -> &'static str;
    /// Messages waiting in its mailbox.
    fn mailbox_len(&self) -> usize;
    /// Wakes the actor's task to look at its signals and references again.
    fn wake(&self);
    /// Registers `waker` to be woken with the actor's task (for a wait on its kill from
    /// somewhere the task's own waker is not the one polling).
    fn register_waker(&self, waker: &Waker);

    /// Stops the actor at once (see [`ActorRef::kill`](crate::ActorRef::kill)).
    fn kill(&self) {
        if self.cell().set_kill() {
            self.wake();
        }
    }

    /// Ends the current instance once its handler returns (see [`ActorCell::set_interrupt`]).
    fn interrupt(&self, reason: StopReason) {
        if self.cell().set_interrupt(reason) {
            self.wake();
        }
    }

    /// Like an interrupt, but the handler in progress is dropped at its next `.await` too.
    fn abort(&self, reason: StopReason) {
        self.cell().set_abort(reason);
        self.wake();
    }

    /// One counted reference fewer; the last one wakes the actor to look at its mailbox.
    fn release(&self) {
        if self.cell().drop_ref() {
            self.wake();
        }
    }

    /// A linked actor's instance ended: a trapping actor gets the notice, any other fails if
    /// the end was a failure.
    fn linked_exit(&self, exit: LinkExit) {
        let cell = self.cell();
        let trap = cell.lock_extras().as_ref().and_then(|e| e.trap.clone());
        match trap {
            Some(trap) if trap.unbounded_send(exit.clone()).is_ok() => {}
            _ if exit.reason.is_failure() => self.interrupt(StopReason::LinkFailed {
                peer: exit.actor,
                reason: Box::new(exit.reason),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::{Arc, mpsc};
    use std::task::Context as TaskContext;
    use std::time::{Duration, Instant};

    use crate::prelude::*;
    use crate::{Mailbox, Terminated};

    /// Holds its handler forever when told `hold`.
    struct Gate;

    #[crate::actor]
    impl Gate {
        #[handler]
        async fn hold(&self) {
            std::future::pending::<()>().await;
        }
        #[handler]
        fn ping(&self) -> u32 {
            1
        }
        #[handler]
        fn poke(&self) {}
    }

    /// Yields until `done` holds; false if it never does.
    async fn eventually(mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..1000 {
            if done() {
                return true;
            }
            tokio::task::yield_now().await;
        }
        done()
    }

    #[tokio::test]
    async fn a_stop_wait_that_is_dropped_deregisters_and_a_repolled_one_keeps_its_place() {
        let system = ActorSystem::new("test");
        let gate = system.spawn(Gate);
        let cell = &gate.shared().cell;
        let waker = futures::task::noop_waker();
        let mut cx = TaskContext::from_waker(&waker);
        let mut waits: Vec<_> = (0..1000).map(|_| Box::pin(gate.stopped())).collect();
        for _ in 0..2 {
            for wait in &mut waits {
                assert!(wait.as_mut().poll(&mut cx).is_pending());
            }
        }
        assert_eq!(cell.stop_waiters(), 1000);
        // Abandoned: nothing of them stays with the actor.
        waits.truncate(1);
        assert_eq!(cell.stop_waiters(), 1);
        // The one left is still woken and resolves.
        gate.kill();
        let last = waits.pop().expect("one wait left");
        assert_eq!(last.await, StopReason::Killed);
        assert_eq!(cell.stop_waiters(), 0);
    }

    struct Watcher {
        target: ActorRef<Gate>,
    }

    #[crate::actor]
    impl Watcher {
        #[on_start]
        async fn start(&mut self, ctx: &mut Context<Self>) {
            ctx.watch(&self.target, |me, t| me.gone(t));
        }
        #[handler]
        fn gone(&mut self, _notice: Terminated) {}
        #[handler]
        fn fail(&mut self) {
            panic!("restart me");
        }
        #[handler]
        fn ping(&self) -> u32 {
            1
        }
    }

    struct Parent {
        target: ActorRef<Gate>,
    }

    #[crate::actor]
    impl Parent {
        #[on_start]
        async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
            ctx.supervise(Supervision::one_for_one().max_restarts(100, Duration::from_secs(1)));
            let target = self.target.clone();
            ctx.child(move || Watcher {
                target: target.clone(),
            })
            .name("watcher")
            .start()
            .await?;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_watcher_restarted_many_times_leaves_one_wait_on_the_actor_it_watches() {
        let system = ActorSystem::new("test");
        let target = system.spawn(Gate);
        let _parent = system
            .builder(Parent {
                target: target.clone(),
            })
            .name("parent")
            .start()
            .await
            .expect("started");
        let watcher = system
            .lookup::<Watcher>("/parent/watcher")
            .expect("the watcher runs");
        let cell = &target.shared().cell;
        for restart in 1..=20 {
            watcher.fail().await.expect("queued");
            assert_eq!(watcher.ping().await, Ok(1), "restart {restart}");
            // The old instance's watch is cancelled; its wait goes with it.
            assert!(
                eventually(|| cell.stop_waiters() == 1).await,
                "{} waits after restart {restart}",
                cell.stop_waiters()
            );
        }
    }

    /// Waits (for real, on a plain thread) until `done` holds, failing the test after 10 s.
    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_runtime_dropped_without_shutdown_answers_every_waiter_with_stopped() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let system = ActorSystem::new("test");
        let gate = runtime.block_on(async {
            let gate = system
                .builder(Gate)
                .mailbox(Mailbox::bounded(1))
                .spawn()
                .expect("spawned");
            gate.hold().await.expect("queued");
            assert!(eventually(|| gate.shared().cell.progress().1).await);
            gate
        });
        let shared = Arc::clone(gate.shared());

        // A plain thread asking, one sending, and a task of another runtime asking: the actor
        // is stuck in `hold`, so each waits for its reply or for room.
        let (asked_tx, asked) = mpsc::channel();
        let asker = gate.clone();
        std::thread::spawn(move || {
            let _ = asked_tx.send(asker.ping().blocking());
        });
        // The ask takes the one place, so the tell and the other ask below both wait for room.
        wait_until("the ask is queued", || shared.tx.len() == 1);
        let (told_tx, told) = mpsc::channel();
        let teller = gate.clone();
        std::thread::spawn(move || {
            let _ = told_tx.send(teller.poke().blocking_send());
        });
        let (awaited_tx, awaited) = mpsc::channel();
        let other = gate.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let reply = other.ping().timeout(Duration::from_secs(20)).await;
                let stopped = other.stopped().await;
                let _ = awaited_tx.send((reply, stopped));
            });
        });
        wait_until("all three wait", || {
            shared.tx.len() + shared.tx.waiting_senders() == 3
        });

        drop(runtime);

        let limit = Duration::from_secs(10);
        let asked = asked
            .recv_timeout(limit)
            .expect("the blocking ask returned");
        assert!(matches!(asked, Err(AskError::Stopped { .. })), "{asked:?}");
        let told = told
            .recv_timeout(limit)
            .expect("the blocking send returned");
        assert!(matches!(told, Err(SendError::Stopped { .. })), "{told:?}");
        let (reply, stopped) = awaited
            .recv_timeout(limit)
            .expect("the awaited ask resolved");
        assert!(matches!(reply, Err(AskError::Stopped { .. })), "{reply:?}");
        assert_eq!(stopped, StopReason::Killed);
    }

    #[test]
    fn a_pool_whose_runtime_is_dropped_answers_the_asks_it_holds_with_stopped() {
        // Multi-thread, so the pool's router runs while the test waits.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let system = ActorSystem::new("test");
        let pool = runtime.block_on(async {
            let pool = system
                .pool(1, || Gate)
                .routing(Routing::Balancing)
                .spawn()
                .expect("spawned");
            pool.hold().await.expect("queued");
            let worker = pool.workers()[0].clone();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !worker.shared().cell.progress().1 {
                assert!(Instant::now() < deadline, "the worker never began `hold`");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            pool
        });
        let front = Arc::clone(pool.shared());

        // Two asks from another runtime: the pool's router holds the first, waiting for its
        // busy worker; the second waits in the pool's mailbox.
        let (awaited_tx, awaited) = mpsc::channel();
        let asking = pool.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let (first, second) = tokio::join!(asking.ping(), asking.ping());
                let stopped = asking.stopped().await;
                let _ = awaited_tx.send((first, second, stopped));
            });
        });
        wait_until("the second ask waits in the pool's mailbox", || {
            front.tx.len() == 1
        });

        drop(runtime);

        let (first, second, stopped) = awaited
            .recv_timeout(Duration::from_secs(10))
            .expect("the asks resolved");
        assert!(matches!(first, Err(AskError::Stopped { .. })), "{first:?}");
        assert!(
            matches!(second, Err(AskError::Stopped { .. })),
            "{second:?}"
        );
        assert_eq!(stopped, StopReason::Killed);
    }
}
