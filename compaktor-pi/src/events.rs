//! Events from a peripheral actor to whoever subscribed: a bounded broadcast, so a slow
//! subscriber never blocks the sensor (it skips the oldest events and they are counted).
//! Subscribers usually attach the stream to an actor with `ctx.attach_stream`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;

/// How many events a subscriber may fall behind before it skips the oldest.
const LAG: usize = 64;

/// The sending side, owned by a peripheral actor.
#[derive(Debug, Clone)]
pub struct Events<T> {
    tx: broadcast::Sender<T>,
    skipped: Arc<AtomicU64>,
}

impl<T: Clone + Send + 'static> Default for Events<T> {
    fn default() -> Self {
        Events {
            tx: broadcast::Sender::new(LAG),
            skipped: Arc::default(),
        }
    }
}

impl<T: Clone + Send + 'static> Events<T> {
    /// Sends `event` to every subscriber; nobody listening is fine.
    pub fn publish(&self, event: T) {
        let _ = self.tx.send(event);
    }

    /// A stream of the events from now on.
    pub fn subscribe(&self) -> Subscription<T> {
        let skipped = self.skipped.clone();
        let inner = stream::unfold(self.tx.subscribe(), move |mut rx| {
            let skipped = skipped.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(event) => return Some((event, rx)),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            skipped.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
        .boxed();
        Subscription { inner }
    }

    /// Events that slow subscribers skipped.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

/// A subscriber's stream of events. Ends when the peripheral actor stops.
pub struct Subscription<T> {
    inner: BoxStream<'static, T>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl<T> Stream for Subscription<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.as_mut().poll_next(cx)
    }
}
