//! [`ActorRef`]: the typed address of one actor, and the shared cell behind it. How a message is
//! enqueued lives here; the builders users call (`Tell`, `Ask`) live in `tell` and `ask`.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};

use futures::task::AtomicWaker;

use crate::dead_letter::DeadLetterReason;
use crate::mailbox::{Envelope, MailboxSender, TrySend};
use crate::{Actor, ActorId, ActorLabel, ActorSystem, SendError, StopReason};

const RUNNING: u8 = 0;
const STOPPING: u8 = 1;
const STOPPED: u8 = 2;

tokio::task_local! {
    /// The actor whose task is running, so that sends to oneself can be recognised.
    pub(crate) static CURRENT_ACTOR: ActorId;
}

/// The actor running on this task, if any.
pub(crate) fn current_actor() -> Option<ActorId> {
    CURRENT_ACTOR.try_with(|id| *id).ok()
}

/// What every reference to one actor shares, whatever the actor type.
#[derive(Debug)]
pub(crate) struct ActorCell {
    pub(crate) label: ActorLabel,
    pub(crate) system: ActorSystem,
    state: AtomicU8,
    killed: AtomicBool,
    /// Live `ActorRef`s. At zero the actor stops once its mailbox is empty.
    refs: AtomicUsize,
    /// Wakes the actor's task for a kill, or to look at `refs` again. Only that task waits on
    /// it, so one waker slot is enough (and cheaper than a `Notify` on every message).
    pub(crate) control: AtomicWaker,
    stopped: OnceLock<StopReason>,
    /// Tasks waiting in `stopped()`. A plain list: most actors have none, and one waiter is
    /// the common case, which a `Notify` would serve at several times the cost.
    stop_waiters: Mutex<Vec<Waker>>,
    runtime: tokio::runtime::Handle,
}

impl ActorCell {
    pub(crate) fn new(label: ActorLabel, system: ActorSystem) -> Self {
        ActorCell {
            label,
            system,
            state: AtomicU8::new(RUNNING),
            killed: AtomicBool::new(false),
            refs: AtomicUsize::new(0),
            control: AtomicWaker::new(),
            stopped: OnceLock::new(),
            stop_waiters: Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::current(),
        }
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
    fn begin_stop(&self) -> bool {
        self.state
            .compare_exchange(RUNNING, STOPPING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn mark_stopping(&self) {
        let _ = self.begin_stop();
    }

    #[inline]
    pub(crate) fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn has_refs(&self) -> bool {
        self.refs.load(Ordering::Acquire) > 0
    }

    /// Records the end: later sends fail at once, and `stopped()` resolves.
    pub(crate) fn finish(&self, reason: StopReason) {
        self.state.store(STOPPED, Ordering::Release);
        let _ = self.stopped.set(reason);
        let waiters = std::mem::take(&mut *self.lock_stop_waiters());
        waiters.into_iter().for_each(Waker::wake);
    }

    fn lock_stop_waiters(&self) -> MutexGuard<'_, Vec<Waker>> {
        self.stop_waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ready with the stop reason once the actor has finished.
    fn poll_stopped(&self, cx: &mut std::task::Context<'_>) -> Poll<StopReason> {
        if let Some(reason) = self.stopped.get() {
            return Poll::Ready(reason.clone());
        }
        let mut waiters = self.lock_stop_waiters();
        // Checked again under the lock: `finish` sets the reason before it takes the list.
        if let Some(reason) = self.stopped.get() {
            return Poll::Ready(reason.clone());
        }
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn dead_letter(&self, handler: &'static str, reason: DeadLetterReason) {
        self.system
            .dead_letter_office()
            .record(self.label.clone(), handler, reason);
    }

    pub(crate) fn stopped_error(&self, handler: &'static str) -> SendError {
        self.dead_letter(handler, DeadLetterReason::Stopped);
        SendError::Stopped {
            actor: self.label.clone(),
            handler,
        }
    }
}

/// The allocation behind every reference to one actor.
pub(crate) struct Shared<A: Actor> {
    pub(crate) tx: MailboxSender<A::Message>,
    pub(crate) cell: ActorCell,
}

/// A send that did not go through at once.
pub(crate) enum Refused<M> {
    /// The mailbox is full; the caller may wait for room.
    Full(Envelope<M>),
    /// The send failed for good (already counted as a dead letter).
    Failed(SendError),
}

impl<A: Actor> Shared<A> {
    /// Enqueues without waiting.
    #[inline]
    pub(crate) fn try_enqueue(
        &self,
        env: Envelope<A::Message>,
        handler: &'static str,
    ) -> Result<(), Refused<A::Message>> {
        if !self.cell.is_running() {
            return Err(Refused::Failed(self.cell.stopped_error(handler)));
        }
        match self.tx.try_send(env) {
            Ok(()) => Ok(()),
            Err(TrySend::Full(env)) => Err(Refused::Full(env)),
            Err(TrySend::Closed(_)) => Err(Refused::Failed(self.cell.stopped_error(handler))),
        }
    }

    /// What to do with a full mailbox when the caller will not wait.
    pub(crate) fn full_error(&self, handler: &'static str) -> SendError {
        self.cell
            .dead_letter(handler, DeadLetterReason::MailboxFull);
        SendError::Full {
            actor: self.cell.label.clone(),
            handler,
            capacity: self.tx.capacity().unwrap_or(usize::MAX),
        }
    }

    /// The slow path of a send ([`Sending`](crate::tell::Sending) tries
    /// [`try_enqueue`](Self::try_enqueue) first): waits for room, unless the actor is sending
    /// to itself, which would wait forever.
    pub(crate) async fn enqueue_when_room(
        &self,
        env: Envelope<A::Message>,
        handler: &'static str,
    ) -> Result<(), SendError> {
        if current_actor() == Some(self.cell.id()) {
            self.cell
                .dead_letter(handler, DeadLetterReason::WouldDeadlock);
            return Err(SendError::WouldDeadlock {
                actor: self.cell.label.clone(),
                handler,
            });
        }
        self.tx
            .send(env)
            .await
            .map_err(|_| self.cell.stopped_error(handler))
    }

    /// Enqueues from a plain thread, blocking it until there is room.
    pub(crate) fn enqueue_blocking(
        &self,
        env: Envelope<A::Message>,
        handler: &'static str,
    ) -> Result<(), SendError> {
        if !self.cell.is_running() {
            return Err(self.cell.stopped_error(handler));
        }
        self.tx
            .blocking_send(env)
            .map_err(|_| self.cell.stopped_error(handler))
    }
}

/// A counted reference: while one exists the actor keeps running. This is what the generated
/// handler methods hold.
#[doc(hidden)]
pub struct RefCore<A: Actor> {
    pub(crate) shared: Arc<Shared<A>>,
}

impl<A: Actor> RefCore<A> {
    pub(crate) fn new(shared: Arc<Shared<A>>) -> Self {
        shared.cell.refs.fetch_add(1, Ordering::AcqRel);
        RefCore { shared }
    }
}

impl<A: Actor> Clone for RefCore<A> {
    fn clone(&self) -> Self {
        RefCore::new(self.shared.clone())
    }
}

impl<A: Actor> Drop for RefCore<A> {
    fn drop(&mut self) {
        if self.shared.cell.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.cell.control.wake();
        }
    }
}

impl<A: Actor> fmt::Debug for RefCore<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.shared.cell.label, f)
    }
}

/// The generated struct that holds an actor's handler methods.
#[doc(hidden)]
pub trait Handlers<A: Actor>: Send + Sync + 'static {
    fn __from_core(core: RefCore<A>) -> Self;
    fn __core(&self) -> &RefCore<A>;
}

/// The typed address of an actor of type `A`.
///
/// Its methods are the actor's `#[handler]` methods (through `Deref` to a struct `#[actor]`
/// generates, so nothing needs importing) plus the lifecycle methods below. Cloning is cheap;
/// the actor stops, after draining its mailbox, when the last `ActorRef` is dropped.
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Lamp { on: bool }
///
/// #[actor]
/// impl Lamp {
///     #[handler]
///     fn switch(&mut self, on: bool) { self.on = on; }
///     #[handler]
///     fn is_on(&self) -> bool { self.on }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("house");
/// let lamp: ActorRef<Lamp> = system.spawn(Lamp { on: false });
/// lamp.switch(true).await?;
/// assert!(lamp.is_on().await?);
/// lamp.kill();
/// assert_eq!(lamp.stopped().await, StopReason::Killed);
/// assert!(!lamp.is_alive());
/// # Ok(()) }
/// ```
pub struct ActorRef<A: Actor> {
    handlers: A::Handlers,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn from_core(core: RefCore<A>) -> Self {
        ActorRef {
            handlers: A::Handlers::__from_core(core),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<A>> {
        &self.handlers.__core().shared
    }

    fn cell(&self) -> &ActorCell {
        &self.shared().cell
    }

    /// The actor's unique id.
    pub fn id(&self) -> ActorId {
        self.cell().id()
    }

    /// The name given at spawn, if any.
    pub fn name(&self) -> Option<&str> {
        self.cell().label.name.as_deref()
    }

    /// The actor's id and name, as errors print them.
    pub fn label(&self) -> &ActorLabel {
        &self.cell().label
    }

    /// The system the actor belongs to.
    pub fn system(&self) -> &ActorSystem {
        &self.cell().system
    }

    /// Whether the actor still takes messages (it has not begun to stop).
    pub fn is_alive(&self) -> bool {
        self.cell().is_running()
    }

    /// Sends the poison pill: messages queued before it are handled, then the stop hook runs
    /// once, then the actor is gone. Sends made after this fail with
    /// [`SendError::Stopped`]. Calling it again, or on a stopped actor, does nothing.
    ///
    /// Never waits: if the mailbox is full, the pill is queued by a task behind the messages
    /// already waiting.
    pub fn stop(&self) {
        let shared = self.shared();
        if !shared.cell.begin_stop() {
            return;
        }
        if let Err(TrySend::Full(pill)) = shared.tx.try_send(Envelope::Stop) {
            let shared = Arc::clone(shared);
            shared.cell.runtime.clone().spawn(async move {
                let _ = shared.tx.send(pill).await;
            });
        }
    }

    /// Stops the actor at once: the handler in progress is dropped at its next `.await`, queued
    /// asks get [`AskError::Stopped`](crate::AskError::Stopped), every queued message is counted
    /// as a dead letter, then the stop hook runs with [`StopReason::Killed`].
    pub fn kill(&self) {
        let cell = self.cell();
        if cell.state.load(Ordering::Acquire) == STOPPED {
            return;
        }
        cell.mark_stopping();
        cell.killed.store(true, Ordering::Release);
        cell.control.wake();
    }

    /// Resolves with the stop reason once the actor has stopped, its stop hook has run and its
    /// state has been dropped. Does not keep the actor alive while waiting.
    pub fn stopped(&self) -> impl Future<Output = StopReason> + Send + 'static {
        let shared = Arc::clone(self.shared());
        std::future::poll_fn(move |cx| shared.cell.poll_stopped(cx))
    }
}

impl<A: Actor> Deref for ActorRef<A> {
    type Target = A::Handlers;

    fn deref(&self) -> &A::Handlers {
        &self.handlers
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef::from_core(self.handlers.__core().clone())
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("actor", &std::any::type_name::<A>())
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}
