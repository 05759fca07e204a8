//! [`Context`]: what a handler or hook can do besides changing its own state: reach its own
//! ref and system, stop, start timers and streams, run blocking work, and spawn and supervise
//! children. Watches and links are in `watch`; the message loop that owns the context lives in
//! `task`.

pub(crate) mod timer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::task::JoinSet;

use self::timer::{MissedTick, TaskHandle};
use crate::actor::cell::ActorCell;
use crate::actor::cell::Control;
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::tree::node::SupervisorNode;
use crate::{
    Actor, ActorId, ActorRef, ActorSystem, ChildBuilder, MessageSource, Subscription, Supervision,
    Tell,
};

/// Handed to handlers (take `ctx: &mut Context<Self>` as an argument) and hooks.
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
///
/// struct Blinker { blinks: u32 }
///
/// #[actor]
/// impl Blinker {
///     #[on_start]
///     fn start(&mut self, ctx: &mut Context<Self>) {
///         ctx.every(Duration::from_millis(500), |me| me.blink());
///     }
///
///     #[handler]
///     fn blink(&mut self, ctx: &mut Context<Self>) {
///         self.blinks += 1;
///         if self.blinks == 3 {
///             ctx.stop();
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let system = ActorSystem::new("lights");
/// let blinker = system.spawn(Blinker { blinks: 0 });
/// assert_eq!(blinker.stopped().await, StopReason::Stopped); // after 1.5 s of (paused) time
/// # }
/// ```
///
/// # Message sources that panic
/// Timers ([`send_after`](Self::send_after), [`every`](Self::every),
/// [`every_with`](Self::every_with)), [attached streams](Self::attach_stream),
/// [topic subscriptions](Self::subscribe), [watches](Self::watch) and
/// [exit traps](Self::trap_exits) each run a closure the actor gave them, in a task beside it.
/// If that closure panics (or an attached stream does), the source ends and its actor fails,
/// as if a handler had panicked: once the current handler returns, the instance that started
/// the source ends with [`StopReason::SourcePanicked`](crate::StopReason::SourcePanicked),
/// which names the source. A supervisor restarts it per its
/// [`RestartPolicy`](crate::RestartPolicy) (the new instance starts its sources again from its
/// start hook), health reports the reason as the last failure, and an actor without a
/// supervisor stops with it (`stopped()` gives it).
///
/// Nothing it carried vanishes uncounted: the item or topic value the closure was given, and
/// the topic values still waiting for the subscription, become dead letters
/// ([`DeadLetterReason::Dropped`](crate::DeadLetterReason::Dropped)); messages it had already
/// queued stay in the mailbox (a restarted instance handles them, else they are dead letters
/// too). The rest of a stream is not read (a stream may be endless): it is dropped with the
/// source, as when the actor stops. A timer's missed ticks carry nothing.
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
/// use compaktor::MessageSource;
///
/// struct Led;
///
/// #[actor]
/// impl Led {
///     #[on_start]
///     fn start(&mut self, ctx: &mut Context<Self>) {
///         ctx.send_after(Duration::from_millis(10), |me| {
///             let driver: Option<u8> = None;
///             driver.expect("driver gone"); // a bug in the closure
///             me.blink()
///         });
///     }
///     #[handler]
///     fn blink(&mut self) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let system = ActorSystem::new("lights");
/// let led = system.spawn(Led);
/// let reason = led.stopped().await;
/// assert!(matches!(
///     &reason,
///     StopReason::SourcePanicked { source: MessageSource::SendAfter, message } if message == "driver gone"
/// ));
/// assert_eq!(reason.to_string(), "timer `send_after` closure panicked: driver gone");
/// # }
/// ```
pub struct Context<A: Actor> {
    shared: Arc<Shared<A>>,
    /// Timers, streams and watches; made on first use (most actors have none).
    tasks: Option<Box<Tasks>>,
    /// This actor's children; made with the first one.
    children: Option<Arc<SupervisorNode>>,
    restarts: u32,
    stop_requested: bool,
    /// The instance has ended (its stop hook may run): it takes no new children.
    ended: bool,
}

/// What runs beside one instance and ends with it.
#[derive(Default)]
struct Tasks {
    set: JoinSet<()>,
    watches: Vec<(ActorId, TaskHandle)>,
    /// Timers, so that their ticks already queued are skipped once the instance ends (a
    /// restarted instance starts its own).
    timers: Vec<TaskHandle>,
    /// Topic subscriptions, so that they leave their topics the moment the instance ends,
    /// not when their aborted tasks are dropped: a value published meanwhile would go to a
    /// subscription nobody reads (and be counted lost, though the next instance gets it).
    subscriptions: Vec<Subscription>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(shared: Arc<Shared<A>>) -> Self {
        Context {
            shared,
            tasks: None,
            children: None,
            restarts: 0,
            stop_requested: false,
            ended: false,
        }
    }

    /// A new instance (number `restarts`) takes over after a restart.
    pub(crate) fn begin_instance(&mut self, restarts: u32) {
        if let Some(children) = &self.children {
            children.set_closed(false);
        }
        self.restarts = restarts;
        self.stop_requested = false;
        self.ended = false;
        self.tasks = None;
    }

    /// How many times a supervisor has restarted this actor (0 for the first instance).
    pub fn restart_count(&self) -> u32 {
        self.restarts
    }

    /// Where this actor sits in its system's tree (see [`ActorRef::path`]).
    pub fn path(&self) -> &str {
        self.shared.cell.path()
    }

    /// Sets how this actor supervises its children (see [`Supervision`]). Call it before or
    /// after spawning them; it applies to the next failure.
    pub fn supervise(&mut self, supervision: Supervision) {
        self.node().set_supervision(supervision);
    }

    /// Spawn options for a child of this actor, made (and remade after each restart) by
    /// `factory`. See [`ChildBuilder`].
    pub fn child<C, F>(&mut self, factory: F) -> ChildBuilder<C>
    where
        C: Actor,
        F: FnMut() -> C + Send + 'static,
    {
        let node = Arc::clone(self.node());
        ChildBuilder::new(node, Arc::clone(self.shared.cell.path()), Box::new(factory))
    }

    /// How many children this actor has now.
    pub fn child_count(&self) -> usize {
        self.children.as_ref().map_or(0, |c| c.len())
    }

    fn node(&mut self) -> &Arc<SupervisorNode> {
        let (shared, ended) = (&self.shared, self.ended);
        self.children.get_or_insert_with(|| {
            let node = SupervisorNode::new(shared.clone());
            node.set_closed(ended);
            node
        })
    }

    /// The instance has ended: its children are being stopped, and it takes no new ones.
    pub(crate) fn end_instance(&mut self) {
        self.ended = true;
        if let Some(children) = &self.children {
            children.set_closed(true);
        }
    }

    /// The actor's task ends: what runs beside it is dropped (aborted), and its children's
    /// node let go, before it reports its end.
    pub(crate) fn end_task(&mut self) {
        self.tasks = None;
        self.children = None;
    }

    pub(crate) fn children(&self) -> Option<&Arc<SupervisorNode>> {
        self.children.as_ref()
    }

    pub(crate) fn cell(&self) -> &ActorCell {
        &self.shared.cell
    }

    pub(crate) fn control(&self) -> Arc<dyn Control> {
        self.shared.clone()
    }

    pub(crate) fn watches(&mut self) -> &mut Vec<(ActorId, TaskHandle)> {
        &mut self.tasks.get_or_insert_with(Box::default).watches
    }

    /// The task set, and the actor's shared part for the tasks to send to.
    fn task_set(&mut self) -> (&mut JoinSet<()>, &Arc<Shared<A>>) {
        let set = &mut self.tasks.get_or_insert_with(Box::default).set;
        (set, &self.shared)
    }

    /// This actor's id.
    pub fn id(&self) -> ActorId {
        self.shared.cell.id()
    }

    /// This actor's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.shared.cell.label.name.as_deref()
    }

    /// A reference to this actor, to hand to others. Keeping it inside the actor's own state
    /// keeps the actor alive until it stops itself.
    pub fn actor_ref(&self) -> ActorRef<A> {
        ActorRef::from_core(RefCore::new(self.shared.clone()))
    }

    /// The system this actor runs in.
    pub fn system(&self) -> &ActorSystem {
        &self.shared.cell.system
    }

    /// Ends this instance once the current handler returns, without handling what is still
    /// queued (use `actor_ref().stop()` to handle that first). What happens next is its
    /// supervisor's [`RestartPolicy`](crate::RestartPolicy), as in Erlang/OTP:
    ///
    /// - an actor without a supervisor, or a [`Transient`](crate::RestartPolicy::Transient)
    ///   or [`Temporary`](crate::RestartPolicy::Temporary) child, stops for good: the messages
    ///   still queued become dead letters ([`DeadLetterReason::Dropped`]), and `stopped()`
    ///   gives [`StopReason::Stopped`](crate::StopReason::Stopped);
    /// - a [`Permanent`](crate::RestartPolicy::Permanent) child (the default for children)
    ///   is restarted like after a failure: it keeps its mailbox, so its next instance handles
    ///   the queued messages. To end a permanent child for good, stop it from outside
    ///   ([`ActorRef::stop`]) or give it another policy.
    ///
    /// [`DeadLetterReason::Dropped`]: crate::DeadLetterReason::Dropped
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_requested
    }

    /// Sends a message to this actor after `delay`: `make` builds it from the actor's own ref,
    /// e.g. `ctx.send_after(delay, |me| me.retry())`.
    ///
    /// A panic in `make` fails this actor: see
    /// [Message sources that panic](Context#message-sources-that-panic).
    pub fn send_after<F, R, E>(&mut self, delay: Duration, make: F) -> TaskHandle
    where
        F: for<'r> FnOnce(&'r ActorRef<A>) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (set, shared) = self.task_set();
        let kind = MessageSource::SendAfter;
        let handle = timer::start(set, shared, kind, move |source| {
            timer::once(source, delay, make)
        });
        self.track_timer(&handle);
        handle
    }

    /// Sends a message to this actor every `period`, the first one `period` from now. Missed
    /// ticks are skipped; see [`every_with`](Context::every_with) to choose.
    ///
    /// A panic in `make` fails this actor: see
    /// [Message sources that panic](Context#message-sources-that-panic).
    pub fn every<F, R, E>(&mut self, period: Duration, make: F) -> TaskHandle
    where
        F: for<'r> FnMut(&'r ActorRef<A>) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        self.every_with(period, MissedTick::default(), make)
    }

    /// Like [`every`](Context::every), with a policy for missed ticks.
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn every_with<F, R, E>(
        &mut self,
        period: Duration,
        missed: MissedTick,
        make: F,
    ) -> TaskHandle
    where
        F: for<'r> FnMut(&'r ActorRef<A>) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        assert!(
            !period.is_zero(),
            "a timer period must be greater than zero"
        );
        let (set, shared) = self.task_set();
        let handle = timer::start(set, shared, MessageSource::Every, move |source| {
            timer::every(source, period, missed, make)
        });
        self.track_timer(&handle);
        handle
    }

    /// Turns each item of `stream` (a sensor's readings) into a message to this actor, in
    /// order. A full mailbox slows the stream down (backpressure). Ends with the stream, on
    /// [`TaskHandle::cancel`], or when the actor stops.
    ///
    /// A panic in `make` or in the stream fails this actor: see
    /// [Message sources that panic](Context#message-sources-that-panic).
    pub fn attach_stream<S, F, R, E>(&mut self, stream: S, make: F) -> TaskHandle
    where
        S: Stream + Send + 'static,
        S::Item: Send,
        F: for<'r> FnMut(&'r ActorRef<A>, S::Item) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        self.attach_source(MessageSource::Stream, stream, make)
    }

    /// [`attach_stream`](Self::attach_stream) for a source of the given kind (a watch, an exit
    /// trap, a subscription), which a panic names.
    pub(crate) fn attach_source<S, F, R, E>(
        &mut self,
        kind: MessageSource,
        stream: S,
        make: F,
    ) -> TaskHandle
    where
        S: Stream + Send + 'static,
        S::Item: Send,
        F: for<'r> FnMut(&'r ActorRef<A>, S::Item) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (set, shared) = self.task_set();
        timer::start(set, shared, kind, move |source| {
            timer::stream(source, stream, make)
        })
    }

    /// Runs blocking work (a bus transfer, a file, heavy maths) on tokio's blocking pool, so
    /// other actors keep running, and returns its result. This actor waits for it: it handles
    /// one message at a time. Named after [`tokio::task::spawn_blocking`], which it uses; it
    /// sends nothing (the `blocking_*` sends, such as [`Tell::blocking_send`], are for plain
    /// threads).
    ///
    /// A panic in `work` is a panic of the handler that awaited it. If the actor is killed
    /// meanwhile, the work still runs to its end on the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use compaktor::prelude::*;
    ///
    /// struct Sensor;
    ///
    /// #[actor]
    /// impl Sensor {
    ///     #[handler]
    ///     async fn read(&mut self, ctx: &mut Context<Self>) -> u32 {
    ///         // A slow bus transfer that blocks its thread.
    ///         ctx.spawn_blocking(|| 40 + 2).await
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let system = ActorSystem::new("robot");
    /// let sensor = system.spawn(Sensor);
    /// assert_eq!(sensor.read().await.unwrap(), 42);
    /// # }
    /// ```
    pub async fn spawn_blocking<T, F>(&self, work: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match tokio::task::spawn_blocking(work).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("blocking work was cancelled: {e}"),
        }
    }

    /// Ends every timer, stream and subscription of this instance.
    pub(crate) fn cancel_tasks(&mut self) {
        if let Some(tasks) = &mut self.tasks {
            tasks.timers.drain(..).for_each(|timer| timer.cancel());
            tasks.subscriptions.drain(..).for_each(|s| s.leave());
            tasks.set.abort_all();
        }
    }

    /// Keeps `subscription` to leave its topic when this instance ends.
    pub(crate) fn track_subscription(&mut self, subscription: &Subscription) {
        let subscriptions = &mut self.tasks.get_or_insert_with(Box::default).subscriptions;
        if subscriptions.len() >= 16 {
            subscriptions.retain(Subscription::is_active);
        }
        subscriptions.push(subscription.clone());
    }

    fn track_timer(&mut self, handle: &TaskHandle) {
        let timers = &mut self.tasks.get_or_insert_with(Box::default).timers;
        if timers.len() >= 16 {
            timers.retain(|timer| !timer.is_finished());
        }
        timers.push(handle.clone());
    }
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("actor", &self.shared.cell.label)
            .field("tasks", &self.tasks.as_ref().map_or(0, |t| t.set.len()))
            .field("children", &self.child_count())
            .field("restarts", &self.restarts)
            .field("stop_requested", &self.stop_requested)
            .field("ended", &self.ended)
            .finish()
    }
}
