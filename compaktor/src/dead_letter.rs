//! Dead letters: every message that will never be handled is recorded here, counted, and
//! offered as a stream. Where they come from is decided in `tell`, `ask` and `runner`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;

use crate::ActorLabel;

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// Sent to an actor that had stopped or was stopping.
    Stopped,
    /// Still queued when the actor was killed, panicked, failed or stopped itself.
    Dropped,
    /// Rejected by `try_send` because the mailbox was full.
    MailboxFull,
    /// Refused because it would wait forever: an actor sending to itself (an ask to itself, or
    /// a send to its own full mailbox), an ask closing a cycle of waiting actors, or a blocking
    /// send on a thread inside a tokio runtime.
    WouldDeadlock,
    /// Sent through a pool that had no workers.
    NoWorker,
    /// Published to a topic that had no subscriber (`recipient` names the topic, with id 0).
    NoSubscriber,
    /// Dropped for a topic subscriber that fell too far behind.
    Lagged,
}

impl DeadLetterReason {
    /// Every reason, in declaration order.
    pub const ALL: [DeadLetterReason; 7] = [
        DeadLetterReason::Stopped,
        DeadLetterReason::Dropped,
        DeadLetterReason::MailboxFull,
        DeadLetterReason::WouldDeadlock,
        DeadLetterReason::NoWorker,
        DeadLetterReason::NoSubscriber,
        DeadLetterReason::Lagged,
    ];
}

/// A message that will never be handled.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The actor it was for.
    pub recipient: ActorLabel,
    /// The handler it was for.
    pub handler: &'static str,
    /// Why it will not be handled.
    pub reason: DeadLetterReason,
    /// When it was given up.
    pub at: SystemTime,
}

/// How many dead letters a slow stream subscriber may fall behind before it skips ahead.
const STREAM_BUFFER: usize = 1024;

/// The system's record of dead letters.
#[derive(Debug)]
pub(crate) struct DeadLetterOffice {
    count: AtomicU64,
    /// Per reason, indexed as [`DeadLetterReason::ALL`].
    by_reason: [AtomicU64; DeadLetterReason::ALL.len()],
    stream: broadcast::Sender<DeadLetter>,
}

impl DeadLetterOffice {
    pub(crate) fn new() -> Self {
        DeadLetterOffice {
            count: AtomicU64::new(0),
            by_reason: Default::default(),
            stream: broadcast::Sender::new(STREAM_BUFFER),
        }
    }

    pub(crate) fn record(
        &self,
        recipient: ActorLabel,
        handler: &'static str,
        reason: DeadLetterReason,
    ) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.by_reason[reason as usize].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%recipient, handler, ?reason, "dead letter");
        if self.stream.receiver_count() > 0 {
            let _ = self.stream.send(DeadLetter {
                recipient,
                handler,
                reason,
                at: SystemTime::now(),
            });
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn count_for(&self, reason: DeadLetterReason) -> u64 {
        self.by_reason[reason as usize].load(Ordering::Relaxed)
    }

    /// Dead letters from now on. A subscriber that falls more than [`STREAM_BUFFER`] behind
    /// skips the oldest (they are still counted).
    pub(crate) fn subscribe(&self) -> BoxStream<'static, DeadLetter> {
        let rx = self.stream.subscribe();
        stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(letter) => return Some((letter, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}
