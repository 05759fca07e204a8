//! Subscribing an actor to a [`Topic`]: the [`Context`] methods, the [`Subscription`] handle,
//! and the task that moves each subscriber's values from its inbox into its mailbox. The task
//! runs among the actor's timers and streams (`Context::attach_stream`), so it ends with the
//! actor's instance. Publishing lives in the parent module.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::sync::{Arc, Weak};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::{DEFAULT_LAG, Inbox, LatestSlot, Membership, Topic};
use crate::actor::cell::ActorCell;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::{Envelope, SourceState};
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::address::tell::Sending;
use crate::{Actor, ActorRef, Context, MessageSource, TaskHandle, Tell};

/// An actor's subscription to a [`Topic`], from [`Context::subscribe`] or
/// [`Context::subscribe_latest`].
///
/// It ends when the instance that made it ends: when its actor stops, or is restarted
/// (subscribe again in the start hook). It leaves the topic at that moment, before the stop
/// hook runs, so no value is offered to it afterwards; values still waiting in its inbox are
/// dead letters, and those already in the mailbox stay there (a restarted instance handles
/// them). It also ends on [`cancel`](Self::cancel). Dropping the handle leaves it running. A
/// subscription does not keep its actor alive.
#[derive(Clone)]
pub struct Subscription {
    topic: Weak<dyn Membership>,
    name: Arc<str>,
    id: u64,
    task: TaskHandle,
    state: Arc<SourceState>,
}

impl Subscription {
    /// Unsubscribes: the topic forgets this subscriber at once, and values already waiting
    /// for it, in its inbox or its mailbox, are skipped (not handled, not dead letters).
    pub fn cancel(&self) {
        self.state.cancel();
        self.task.cancel();
        self.leave();
    }

    /// Leaves the topic without cancelling: what is already on its way is still delivered
    /// or counted (its instance has ended; see `Context::cancel_tasks`).
    pub(crate) fn leave(&self) {
        if let Some(topic) = self.topic.upgrade() {
            topic.remove(self.id);
        }
    }

    /// Whether the topic still sends to this subscription: not cancelled, and its actor is
    /// running.
    pub fn is_active(&self) -> bool {
        !self.state.is_cancelled()
            && self
                .topic
                .upgrade()
                .is_some_and(|topic| topic.is_active(self.id))
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.name)
            .field("active", &self.is_active())
            .finish()
    }
}

impl<A: Actor> Context<A> {
    /// Subscribes this actor to `topic`: `make` turns each value published into a message,
    /// e.g. `ctx.subscribe(&topic, |me, obstacle| me.on_obstacle(obstacle))`. Every value
    /// arrives, in the order published, unless this actor falls more than 64 values behind
    /// (its mailbox full, and 64 more waiting): then the newest are dropped for it and counted
    /// as dead letters ([`DeadLetterReason::Lagged`](crate::DeadLetterReason::Lagged)). Use
    /// [`subscribe_with`](Self::subscribe_with) to choose the bound.
    ///
    /// For a handler that returns a value, tell it: `|me, v| me.on_value(v).tell()`. Each
    /// call is a subscription of its own. See [`Subscription`] for when it ends; values
    /// still waiting for this actor when it stops count as dead letters. A panic in `make`
    /// fails this actor, and the value it was given and those still waiting are dead letters:
    /// see [Message sources that panic](Context#message-sources-that-panic).
    ///
    /// ```
    /// use compaktor::prelude::*;
    ///
    /// struct Odometer { metres: f64 }
    ///
    /// #[actor]
    /// impl Odometer {
    ///     #[on_start]
    ///     fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
    ///         let ticks = ctx.system().topic::<f64>("wheel_ticks")?;
    ///         ctx.subscribe(&ticks, |me, metres| me.moved(metres));
    ///         Ok(())
    ///     }
    ///     #[handler]
    ///     fn moved(&mut self, metres: f64) { self.metres += metres; }
    ///     #[handler]
    ///     fn metres(&self) -> f64 { self.metres }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("rover");
    /// let odometer = system.start(Odometer { metres: 0.0 }).await?;
    /// let ticks = system.topic::<f64>("wheel_ticks")?;
    /// ticks.publish(0.25);
    /// ticks.publish(0.5);
    /// # while odometer.metres().await? < 0.75 { tokio::task::yield_now().await; }
    /// assert_eq!(odometer.metres().await?, 0.75);
    /// # Ok(()) }
    /// ```
    pub fn subscribe<T, F, R, E>(&mut self, topic: &Topic<T>, make: F) -> Subscription
    where
        T: Clone + Send + 'static,
        F: for<'r> FnMut(&'r ActorRef<A>, T) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        self.subscribe_with(topic, DEFAULT_LAG, make)
    }

    /// Like [`subscribe`](Self::subscribe), with room for `lag` values (at least 1) waiting
    /// for this actor beyond its mailbox before values are dropped for it.
    pub fn subscribe_with<T, F, R, E>(
        &mut self,
        topic: &Topic<T>,
        lag: usize,
        mut make: F,
    ) -> Subscription
    where
        T: Clone + Send + 'static,
        F: for<'r> FnMut(&'r ActorRef<A>, T) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (tx, rx) = mpsc::channel(lag.max(1));
        self.start_feed(
            topic,
            Inbox::Queue(tx),
            Waiting::Queue(rx),
            |mut feed| async move {
                while let Some(value) = feed.next_queued().await {
                    if !feed.deliver(|me| make(me, value)).await {
                        return;
                    }
                }
            },
        )
    }

    /// Subscribes this actor to the newest value of `topic` only (a sensor stream, a pose):
    /// at most one value is in this actor's mailbox at a time, and while it is busy, newer
    /// values replace older ones instead of queueing. It never lags; values replaced before
    /// it took them are not dead letters.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use std::time::Duration;
    ///
    /// struct Display { shown: Vec<u32> }
    ///
    /// #[actor]
    /// impl Display {
    ///     #[handler]
    ///     fn follow(&mut self, topic: Topic<u32>, ctx: &mut Context<Self>) {
    ///         ctx.subscribe_latest(&topic, |me, reading| me.show(reading));
    ///     }
    ///     #[handler]
    ///     async fn show(&mut self, reading: u32) {
    ///         tokio::time::sleep(Duration::from_millis(100)).await; // a slow screen
    ///         self.shown.push(reading);
    ///     }
    ///     #[handler]
    ///     fn shown(&self) -> Vec<u32> { self.shown.clone() }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("rover");
    /// let readings = system.topic::<u32>("range_mm")?;
    /// let display = system.spawn(Display { shown: vec![] });
    /// display.follow(readings.clone()).ask().await?;
    /// for mm in 0..50 {
    ///     readings.publish(mm);
    ///     tokio::time::sleep(Duration::from_millis(10)).await; // faster than the screen
    /// }
    /// tokio::time::sleep(Duration::from_millis(300)).await;
    /// let shown = display.shown().await?;
    /// assert_eq!(shown.last(), Some(&49)); // it ends on the newest reading
    /// assert!(shown.len() < 10); // and skipped most of the others
    /// # Ok(()) }
    /// ```
    pub fn subscribe_latest<T, F, R, E>(&mut self, topic: &Topic<T>, mut make: F) -> Subscription
    where
        T: Clone + Send + 'static,
        F: for<'r> FnMut(&'r ActorRef<A>, T) -> Tell<'r, A, R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let slot = Arc::new(LatestSlot::new());
        let waiting = Waiting::Latest(Arc::clone(&slot));
        self.start_feed(topic, Inbox::Latest(slot), waiting, |mut feed| {
            async move {
                while let Some(value) = feed.next_latest().await {
                    if !feed.deliver(|me| make(me, value)).await {
                        return;
                    }
                    // One value in flight: the next is the newest when this one is done.
                    feed.state.wait_handled().await;
                }
            }
        })
    }

    /// Registers the subscriber with the topic and runs `run(feed)` among this instance's
    /// tasks.
    fn start_feed<T, Fut>(
        &mut self,
        topic: &Topic<T>,
        inbox: Inbox<T>,
        waiting: Waiting<T>,
        run: impl FnOnce(Feed<A, T>) -> Fut,
    ) -> Subscription
    where
        T: Clone + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let control = self.control();
        let id = topic.shared.add(
            self.cell().label.clone(),
            Some(Arc::downgrade(&control)),
            inbox,
        );
        let shared = control
            .into_any()
            .downcast::<Shared<A>>()
            .expect("a context's control is its own actor");
        let membership: Arc<dyn Membership> = topic.shared.clone();
        let state = Arc::new(SourceState::default());
        let feed = Feed {
            shared,
            state: Arc::clone(&state),
            topic: Arc::downgrade(&membership),
            id,
            waiting,
        };
        // The feed yields nothing: it sends itself, so that it can wait for a value to be
        // handled (latest) and count what it loses. The stream only ties it to this instance.
        let work = futures::stream::once(run(feed)).filter_map(|()| async { None });
        let kind = MessageSource::Subscription(Arc::clone(&topic.shared.name));
        let task = self.attach_source(kind, work, never::<A>);
        let subscription = Subscription {
            topic: Arc::downgrade(&membership),
            name: Arc::clone(&topic.shared.name),
            id,
            task,
            state,
        };
        self.track_subscription(&subscription);
        subscription
    }
}

fn never<A: Actor>(_: &ActorRef<A>, never: Infallible) -> Tell<'_, A> {
    match never {}
}

/// The values waiting for one subscriber, as its feeding task sees them.
enum Waiting<T> {
    Queue(mpsc::Receiver<T>),
    Latest(Arc<LatestSlot<T>>),
}

/// One subscriber's feeding task: takes values from its inbox and sends them to the actor.
/// It holds the actor without counting as a reference (like a timer). When it ends, for
/// whatever reason, it leaves the topic and counts the values it will never deliver.
struct Feed<A: Actor, T: Send + 'static> {
    shared: Arc<Shared<A>>,
    state: Arc<SourceState>,
    topic: Weak<dyn Membership>,
    id: u64,
    waiting: Waiting<T>,
}

impl<A: Actor, T: Send + 'static> Feed<A, T> {
    async fn next_queued(&mut self) -> Option<T> {
        match &mut self.waiting {
            Waiting::Queue(rx) => rx.recv().await,
            Waiting::Latest(_) => None,
        }
    }

    async fn next_latest(&mut self) -> Option<T> {
        match &self.waiting {
            Waiting::Latest(slot) => Some(slot.next().await),
            Waiting::Queue(_) => None,
        }
    }

    /// Builds the message with `make` and enqueues it, waiting for room. False when the
    /// subscription was cancelled or the actor has stopped (then the value is a dead letter).
    async fn deliver<R, E>(
        &self,
        make: impl for<'r> FnOnce(&'r ActorRef<A>) -> Tell<'r, A, R, E>,
    ) -> bool
    where
        R: Send + 'static,
        E: Send + 'static,
    {
        if self.state.is_cancelled() {
            return false;
        }
        let me = ActorRef::from_core(RefCore::new(self.shared.clone()));
        // Made before `make` runs: if it panics, the value it was given is a dead letter.
        let mut in_flight = InFlight {
            cell: &self.shared.cell,
            state: &self.state,
            handler: Some(std::any::type_name::<T>()),
            sending: None,
        };
        let (_, handler, message) = make(&me).into_parts();
        in_flight.handler = Some(handler);
        drop(me);
        let env = Envelope::Sourced(Box::new((message, self.state.clone())));
        let sending = in_flight
            .sending
            .insert(Sending::new(&self.shared, handler, env));
        let sent = poll_fn(|cx| sending.poll_send(cx)).await.is_ok();
        in_flight.landed();
        sent
    }
}

impl<A: Actor, T: Send + 'static> Drop for Feed<A, T> {
    fn drop(&mut self) {
        // Leave the topic first: no publisher adds to the inbox after this.
        if let Some(topic) = self.topic.upgrade() {
            topic.remove(self.id);
        }
        let left: Vec<T> = match &mut self.waiting {
            Waiting::Queue(rx) => {
                rx.close();
                std::iter::from_fn(|| rx.try_recv().ok()).collect()
            }
            Waiting::Latest(slot) => slot.close().into_iter().collect(),
        };
        if !self.state.is_cancelled() {
            let cell = &self.shared.cell;
            let office = cell.system.dead_letter_office();
            for value in left {
                office.record_payload(
                    cell.label.clone(),
                    std::any::type_name::<T>(),
                    DeadLetterReason::Dropped,
                    value,
                );
            }
        }
    }
}

/// A value on its way into the mailbox: if the feed is dropped while it waits for room (the
/// actor stopped or restarted), the value is a dead letter (carrying its message, once made).
struct InFlight<'a, A: Actor> {
    cell: &'a ActorCell,
    state: &'a SourceState,
    handler: Option<&'static str>,
    sending: Option<Sending<'a, A>>,
}

impl<A: Actor> InFlight<'_, A> {
    fn landed(mut self) {
        self.handler = None;
    }
}

impl<A: Actor> Drop for InFlight<'_, A> {
    fn drop(&mut self) {
        if let Some(handler) = self.handler
            && !self.state.is_cancelled()
        {
            match self.sending.as_mut().and_then(Sending::take_envelope) {
                Some(env) => self
                    .cell
                    .dead_envelope(handler, DeadLetterReason::Dropped, env),
                None => self.cell.dead_letter(handler, DeadLetterReason::Dropped),
            }
        }
    }
}
