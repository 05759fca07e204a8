//! Topics: named, typed publish/subscribe inside one [`ActorSystem`]. Here live [`Topic`]
//! (publish, count), [`TopicError`], and the system's table of topics by name. How an actor
//! subscribes, and the task that feeds each subscriber, live in `topic/subscription`; a handle
//! to one actor for one payload type is a [`Recipient`](crate::Recipient) instead.

mod latest;
mod stream;
mod subscription;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::{Notify, mpsc};

use crate::actor::cell::Control;
use crate::actor::dead_letter::DeadLetterReason;
use crate::{ActorId, ActorLabel, ActorSystem};

pub use stream::TopicStream;
pub use subscription::Subscription;

/// How many values a subscriber may fall behind before new ones are dropped for it, unless it
/// chose with [`Context::subscribe_with`](crate::Context::subscribe_with).
const DEFAULT_LAG: usize = 64;

/// A named channel of `T` values inside an [`ActorSystem`], from
/// [`ActorSystem::topic`]: every value published goes to every current subscriber.
///
/// - [`publish`](Topic::publish) never waits, so a sensor loop or an interrupt callback can
///   call it. Each subscriber has its own bounded lag buffer (64 values unless it chose with
///   [`Context::subscribe_with`](crate::Context::subscribe_with)); a subscriber that falls
///   that far behind misses the newest values, and each one it misses is counted as a
///   [dead letter](crate::DeadLetterReason::Lagged). Others are not slowed down.
/// - Actors subscribe from their [`Context`](crate::Context):
///   [`subscribe`](crate::Context::subscribe) (every value, in order) or
///   [`subscribe_latest`](crate::Context::subscribe_latest) (only the newest, for sensor
///   streams). A subscriber that stops is removed by itself.
/// - A value published while no one subscribes is a
///   [dead letter](crate::DeadLetterReason::NoSubscriber).
///
/// Cloning is cheap; all clones, and every handle from `system.topic` with the same name, are
/// the same topic. A topic lives as long as its system.
///
/// ```
/// use compaktor::prelude::*;
///
/// #[derive(Debug, Clone, PartialEq)]
/// struct ObstacleSeen { metres: f32 }
///
/// struct Planner { seen: Vec<ObstacleSeen> }
///
/// #[actor]
/// impl Planner {
///     #[handler]
///     fn listen(&mut self, topic: Topic<ObstacleSeen>, ctx: &mut Context<Self>) {
///         ctx.subscribe(&topic, |me, obstacle| me.on_obstacle(obstacle));
///     }
///     #[handler]
///     fn on_obstacle(&mut self, obstacle: ObstacleSeen) { self.seen.push(obstacle); }
///     #[handler]
///     fn seen(&self) -> Vec<ObstacleSeen> { self.seen.clone() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("rover");
/// let obstacles = system.topic::<ObstacleSeen>("obstacles")?;
/// let planners = [system.spawn(Planner { seen: vec![] }), system.spawn(Planner { seen: vec![] })];
/// for planner in &planners {
///     planner.listen(obstacles.clone()).ask().await?;
/// }
/// assert_eq!(obstacles.subscriber_count(), 2);
///
/// assert_eq!(obstacles.publish(ObstacleSeen { metres: 0.4 }), 2); // reached both
/// # for planner in &planners { while planner.seen().await?.is_empty() { tokio::task::yield_now().await; } }
/// for planner in &planners {
///     assert_eq!(planner.seen().await?, [ObstacleSeen { metres: 0.4 }]);
/// }
/// # Ok(()) }
/// ```
pub struct Topic<T> {
    system: ActorSystem,
    shared: Arc<TopicShared<T>>,
}

impl<T: Clone + Send + 'static> Topic<T> {
    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Sends a copy of `value` to every subscriber, without waiting, and returns how many it
    /// reached (queued for them, or set as their latest value).
    ///
    /// A subscriber whose lag buffer is full misses this value: it is counted as a dead letter
    /// ([`DeadLetterReason::Lagged`](crate::DeadLetterReason::Lagged), naming that
    /// subscriber). With no subscriber at all (and the topic not shared with other systems
    /// by `compaktor_remote`'s `RemoteNode::share_topic`), the value is one dead letter
    /// ([`DeadLetterReason::NoSubscriber`](crate::DeadLetterReason::NoSubscriber), whose
    /// recipient has id 0 and the topic's name). The dead letter's `handler` is the payload's
    /// type name.
    ///
    /// On a shared topic the value is also sent to the other systems that share it (not
    /// counted in the number returned); values that arrive from them reach the local
    /// subscribers and are never sent back out.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("rover");
    /// let battery = system.topic::<f32>("battery_volts")?;
    /// assert_eq!(battery.publish(11.9), 0); // nobody listens yet
    /// assert_eq!(system.dead_letter_count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn publish(&self, value: T) -> usize {
        #[cfg(feature = "remote")]
        let to_network = self.shared.send_out(&value);
        #[cfg(not(feature = "remote"))]
        let to_network = false;
        self.distribute(value, to_network)
    }

    /// Offers `value` to every local subscriber; unless `elsewhere` (the value also went to
    /// the network, or came from it), reaching none is a `NoSubscriber` dead letter.
    fn distribute(&self, value: T, elsewhere: bool) -> usize {
        let mut reached = 0;
        let mut lagged = Vec::new();
        let kept = self.shared.latest.keep(&value);
        // The value no subscriber took, for the dead letter if none did.
        let mut unsent = None;
        {
            let mut subscribers = self.shared.lock();
            subscribers.retain(Subscriber::is_open);
            match subscribers.split_last() {
                Some((last, others)) => {
                    let mut offer =
                        |subscriber: &Subscriber<T>, value| match subscriber.offer(value) {
                            Offer::Taken => reached += 1,
                            Offer::Lagged(value) => lagged.push((subscriber.actor.clone(), value)),
                            Offer::Closed(value) => unsent = Some(value),
                        };
                    for subscriber in others {
                        offer(subscriber, value.clone());
                    }
                    offer(last, value);
                }
                None => unsent = Some(value),
            }
        }
        let office = self.system.dead_letter_office();
        let payload = std::any::type_name::<T>();
        if reached == 0 && lagged.is_empty() && !kept && !elsewhere {
            let topic = ActorLabel {
                id: ActorId(0),
                name: Some(Arc::clone(&self.shared.name)),
            };
            match unsent {
                Some(value) => {
                    office.record_payload(topic, payload, DeadLetterReason::NoSubscriber, value);
                }
                None => office.record(topic, payload, DeadLetterReason::NoSubscriber),
            }
        }
        for (subscriber, value) in lagged {
            office.record_payload(subscriber, payload, DeadLetterReason::Lagged, value);
        }
        reached
    }

    /// How many subscriptions are active now. A subscriber that has stopped, or whose
    /// subscription was cancelled, no longer counts.
    pub fn subscriber_count(&self) -> usize {
        let mut subscribers = self.shared.lock();
        subscribers.retain(Subscriber::is_open);
        subscribers.len()
    }
}

impl<T> Clone for Topic<T> {
    fn clone(&self) -> Self {
        Topic {
            system: self.system.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.shared.name)
            .field("payload", &std::any::type_name::<T>())
            .field("subscribers", &self.shared.lock().len())
            .finish()
    }
}

/// Why [`ActorSystem::topic`] gave no topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The system already has a topic of this name, for another payload type.
    #[error("the topic `{name}` carries `{actual}`, not `{expected}`; use another name")]
    WrongType {
        /// The topic's name.
        name: Arc<str>,
        /// The payload type asked for.
        expected: &'static str,
        /// The topic's payload type.
        actual: &'static str,
    },
}

impl ActorSystem {
    /// The topic `name` carrying `T` values: made on first use, the same topic every later
    /// time. See [`Topic`].
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if this system already has a topic `name` for another type.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let system = ActorSystem::new("rover");
    /// let volts = system.topic::<f32>("battery").unwrap();
    /// assert_eq!(volts.name(), "battery");
    /// assert!(matches!(
    ///     system.topic::<String>("battery"),
    ///     Err(TopicError::WrongType { expected: "alloc::string::String", actual: "f32", .. })
    /// ));
    /// # }
    /// ```
    pub fn topic<T: Clone + Send + 'static>(&self, name: &str) -> Result<Topic<T>, TopicError> {
        let shared = self.topics().get_or_make(name)?;
        Ok(Topic {
            system: self.clone(),
            shared,
        })
    }
}

/// A system's topics, by name. Topics are few and named by the program, so they are kept for
/// the system's life.
#[derive(Default)]
pub(crate) struct TopicRegistry {
    topics: Mutex<HashMap<Arc<str>, Named>>,
}

struct Named {
    /// An `Arc<TopicShared<T>>`.
    topic: Arc<dyn Any + Send + Sync>,
    payload: &'static str,
}

impl TopicRegistry {
    fn get_or_make<T: Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Arc<TopicShared<T>>, TopicError> {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let named = topics.entry(name.into()).or_insert_with_key(|name| Named {
            topic: Arc::new(TopicShared::<T>::new(Arc::clone(name))),
            payload: std::any::type_name::<T>(),
        });
        Arc::clone(&named.topic)
            .downcast()
            .map_err(|_| TopicError::WrongType {
                name: name.into(),
                expected: std::any::type_name::<T>(),
                actual: named.payload,
            })
    }
}

impl fmt::Debug for TopicRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_set().entries(topics.keys()).finish()
    }
}

/// One topic: its subscribers, each with its own inbox, and its newest value if it keeps one.
struct TopicShared<T> {
    name: Arc<str>,
    subscribers: Mutex<Vec<Subscriber<T>>>,
    next_id: AtomicU64,
    latest: latest::LatestValue<T>,
    /// Where locally published values go to the network, when the topic is shared.
    #[cfg(feature = "remote")]
    outbound: std::sync::RwLock<Option<Outbound<T>>>,
}

/// Takes a locally published value to the network (feature `remote`); whether it was taken.
#[cfg(feature = "remote")]
pub(crate) type Outbound<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

impl<T: Send + 'static> TopicShared<T> {
    fn new(name: Arc<str>) -> Self {
        TopicShared {
            name,
            subscribers: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            latest: latest::LatestValue::default(),
            #[cfg(feature = "remote")]
            outbound: std::sync::RwLock::new(None),
        }
    }

    /// Adds a subscriber: an actor (`control`), or a [`TopicStream`] (`None`).
    fn add(&self, actor: ActorLabel, control: Option<Weak<dyn Control>>, inbox: Inbox<T>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Subscriber {
            id,
            actor,
            control,
            inbox,
        });
        id
    }
}

#[cfg(feature = "remote")]
impl<T> TopicShared<T> {
    /// Hands `value` to the network if the topic is shared; whether it was taken.
    fn send_out(&self, value: &T) -> bool {
        let outbound = self.outbound.read().unwrap_or_else(PoisonError::into_inner);
        outbound.as_ref().is_some_and(|send| send(value))
    }
}

#[cfg(feature = "remote")]
impl<T: Clone + Send + 'static> Topic<T> {
    /// Sends locally published values to `outbound` too; false (and nothing changed) if the
    /// topic already has an outbound.
    pub(crate) fn set_outbound(&self, outbound: Outbound<T>) -> bool {
        let mut slot = self
            .shared
            .outbound
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return false;
        }
        *slot = Some(outbound);
        true
    }

    /// Stops sending locally published values to the network.
    pub(crate) fn clear_outbound(&self) {
        *self
            .shared
            .outbound
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Offers a value that came from the network to the local subscribers only (never back
    /// out); how many it reached.
    pub(crate) fn publish_from_network(&self, value: T) -> usize {
        self.distribute(value, true)
    }
}

impl<T> TopicShared<T> {
    fn lock(&self) -> MutexGuard<'_, Vec<Subscriber<T>>> {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a subscription needs of its topic, whatever the payload type.
trait Membership: Send + Sync {
    /// Removes subscription `id`; whether it was there.
    fn remove(&self, id: u64) -> bool;
    /// Whether subscription `id` is there and its actor still running.
    fn is_active(&self, id: u64) -> bool;
}

impl<T: Send + 'static> Membership for TopicShared<T> {
    fn remove(&self, id: u64) -> bool {
        let mut subscribers = self.lock();
        let before = subscribers.len();
        subscribers.retain(|s| s.id != id);
        subscribers.len() != before
    }

    fn is_active(&self, id: u64) -> bool {
        self.lock().iter().any(|s| s.id == id && s.is_open())
    }
}

/// One subscription, as the publisher sees it.
struct Subscriber<T> {
    id: u64,
    actor: ActorLabel,
    /// The subscribing actor, without keeping it alive: a stopped actor is dropped from the
    /// list at the next publish or count, even before its feeding task has ended. `None` for
    /// a [`TopicStream`], which is open while its inbox is.
    control: Option<Weak<dyn Control>>,
    inbox: Inbox<T>,
}

/// How offering a value to one subscriber went; a value it did not take comes back.
enum Offer<T> {
    Taken,
    Lagged(T),
    Closed(T),
}

impl<T> Subscriber<T> {
    fn is_open(&self) -> bool {
        let open = match &self.inbox {
            Inbox::Queue(tx) => !tx.is_closed(),
            Inbox::Latest(slot) => !slot.closed.load(Ordering::Acquire),
        };
        open && self.control.as_ref().is_none_or(|control| {
            control
                .upgrade()
                .is_some_and(|actor| actor.cell().is_running())
        })
    }

    fn offer(&self, value: T) -> Offer<T> {
        match &self.inbox {
            Inbox::Queue(tx) => match tx.try_send(value) {
                Ok(()) => Offer::Taken,
                Err(mpsc::error::TrySendError::Full(value)) => Offer::Lagged(value),
                Err(mpsc::error::TrySendError::Closed(value)) => Offer::Closed(value),
            },
            Inbox::Latest(slot) => slot.set(value),
        }
    }
}

/// Where published values wait for one subscriber's feeding task.
enum Inbox<T> {
    /// Every value, up to the lag bound.
    Queue(mpsc::Sender<T>),
    /// Only the newest value.
    Latest(Arc<LatestSlot<T>>),
}

/// The newest value not yet taken by a latest-value subscriber.
struct LatestSlot<T> {
    value: Mutex<Option<T>>,
    ready: Notify,
    closed: AtomicBool,
}

impl<T> LatestSlot<T> {
    fn new() -> Self {
        LatestSlot {
            value: Mutex::new(None),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn set(&self, value: T) -> Offer<T> {
        if self.closed.load(Ordering::Acquire) {
            return Offer::Closed(value);
        }
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        self.ready.notify_one();
        Offer::Taken
    }

    fn take(&self) -> Option<T> {
        self.value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The newest value, waiting for one. A value set before the wait began is not missed:
    /// `notify_one` keeps a permit.
    async fn next(&self) -> T {
        loop {
            if let Some(value) = self.take() {
                return value;
            }
            self.ready.notified().await;
        }
    }

    /// No more values; what is left is returned.
    fn close(&self) -> Option<T> {
        self.closed.store(true, Ordering::Release);
        self.take()
    }
}
