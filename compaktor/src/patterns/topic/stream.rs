//! Following a topic from code that is not an actor: [`Topic::stream`] and the
//! [`TopicStream`] it returns (a main loop, a test, a bridge to another process). Actors
//! subscribe through their context instead (`topic/subscription`), so their values arrive as
//! messages.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::{DEFAULT_LAG, Inbox, Membership, Topic};
use crate::{ActorId, ActorLabel};

impl<T: Clone + Send + 'static> Topic<T> {
    /// Every value published from now on, in order, as a [`Stream`]. A stream that falls more
    /// than 64 values behind misses the newest, and each one it misses is a
    /// [dead letter](crate::DeadLetterReason::Lagged) whose recipient has id 0 and the name
    /// `<topic> stream`. The stream ends when its system is dropped; dropping the stream
    /// unsubscribes it.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), TopicError> {
    /// let system = ActorSystem::new("rover");
    /// let ranges = system.topic::<u32>("range_mm")?;
    /// let mut seen = ranges.stream();
    /// assert_eq!(ranges.subscriber_count(), 1);
    /// ranges.publish(420);
    /// ranges.publish(410);
    /// assert_eq!(seen.next().await, Some(420));
    /// assert_eq!(seen.next().await, Some(410));
    /// drop(seen);
    /// assert_eq!(ranges.subscriber_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn stream(&self) -> TopicStream<T> {
        let (tx, rx) = mpsc::channel(DEFAULT_LAG);
        let label = ActorLabel {
            id: ActorId(0),
            name: Some(format!("{} stream", self.shared.name).into()),
        };
        let id = self.shared.add(label, None, Inbox::Queue(tx));
        let membership: Arc<dyn Membership> = self.shared.clone();
        TopicStream {
            rx,
            topic: Arc::downgrade(&membership),
            name: Arc::clone(&self.shared.name),
            id,
        }
    }
}

/// The values of a [`Topic`] as a [`Stream`], from [`Topic::stream`]: for code that is not an
/// actor. Dropping it unsubscribes.
pub struct TopicStream<T> {
    rx: mpsc::Receiver<T>,
    topic: Weak<dyn Membership>,
    name: Arc<str>,
    id: u64,
}

impl<T> TopicStream<T> {
    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.name
    }
}

impl<T> Stream for TopicStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

impl<T> Drop for TopicStream<T> {
    fn drop(&mut self) {
        if let Some(topic) = self.topic.upgrade() {
            topic.remove(self.id);
        }
    }
}

impl<T> fmt::Debug for TopicStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicStream")
            .field("topic", &self.name)
            .field("waiting", &self.rx.len())
            .finish()
    }
}
