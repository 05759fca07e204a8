//! A topic that keeps its newest value: [`Topic::keep_latest`] and [`Topic::latest`], so code
//! that is not an actor (a main loop, a status page, a test) can read a sensor's last reading
//! without subscribing, and a value published while nobody listens is not lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use super::Topic;

/// The newest value of a topic that keeps it.
pub(super) struct LatestValue<T> {
    keeping: AtomicBool,
    value: Mutex<Option<T>>,
}

impl<T> Default for LatestValue<T> {
    fn default() -> Self {
        LatestValue {
            keeping: AtomicBool::new(false),
            value: Mutex::new(None),
        }
    }
}

impl<T: Clone> LatestValue<T> {
    /// Keeps a copy of `value` if this topic keeps its newest value; whether it did.
    pub(super) fn keep(&self, value: &T) -> bool {
        if !self.keeping.load(Ordering::Acquire) {
            return false;
        }
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(value.clone());
        true
    }
}

impl<T: Clone + Send + 'static> Topic<T> {
    /// Makes this topic keep its newest value, readable with [`latest`](Self::latest), and
    /// returns it. It stays so for the topic's life, for every handle to it. A value published
    /// to a topic that keeps its newest value is not a dead letter when nobody subscribes: it
    /// is kept.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), TopicError> {
    /// let system = ActorSystem::new("rover");
    /// let battery = system.topic::<f32>("battery_volts")?.keep_latest();
    /// assert_eq!(battery.latest(), None);
    /// battery.publish(12.1);
    /// battery.publish(11.9);
    /// assert_eq!(battery.latest(), Some(11.9));
    /// assert_eq!(system.topic::<f32>("battery_volts")?.latest(), Some(11.9)); // the same topic
    /// assert_eq!(system.dead_letter_count(), 0); // kept, not lost
    /// # Ok(()) }
    /// ```
    #[must_use = "the topic keeps its newest value either way; this is a handle to it"]
    pub fn keep_latest(self) -> Self {
        self.shared.latest.keeping.store(true, Ordering::Release);
        self
    }

    /// The newest value published since the topic began keeping it
    /// ([`keep_latest`](Self::keep_latest)); `None` before that, or if it does not keep it.
    pub fn latest(&self) -> Option<T> {
        self.shared
            .latest
            .value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
