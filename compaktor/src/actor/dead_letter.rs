//! Dead letters: every message that will never be handled is recorded here, counted, and
//! offered as a stream. Where they come from is decided in `tell`, `ask` and `task`.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;

use crate::{Actor, ActorLabel};

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// Sent to an actor that had stopped or was stopping.
    Stopped,
    /// Still queued when the actor was killed, panicked, failed or stopped itself (in its
    /// mailbox, or waiting in a subscription's inbox), or handed to a message source's closure
    /// that panicked.
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

/// A message that will never be handled, and, where it was not given back to its sender, the
/// message itself ([`with_message`](Self::with_message), [`take_message`](Self::take_message)),
/// so a subscriber can log it or send it again.
///
/// The message is there when a handler call to an actor went undelivered: sent or asked
/// (awaited, blocking) to an actor that had stopped, still queued when it stopped (or, from a
/// timer or stream, still waiting for room when its instance ended), sent to itself while its
/// mailbox was full, an ask to itself or one that closed a cycle of waiting actors, a blocking
/// send refused inside a runtime, an ask's `try_send` into a full mailbox, or one a pool's
/// router could not hand to a worker (none there, killed meanwhile). A topic's
/// value that reached no one (no subscriber, a subscriber lagging, still waiting for a
/// subscriber that stopped) is there as the value published
/// ([`with_payload`](Self::with_payload), [`take_payload`](Self::take_payload)). It is not
/// there when `try_send` or `try_tell` gave it back to its sender (in
/// [`TrySendError`](crate::TrySendError), [`TryTellError`](crate::TryTellError)), when it was
/// never made (a message source's closure that panicked), or once a subscriber has taken it.
/// An ask's message has its reply channel dropped first: its asker learns at once that no
/// reply comes.
///
/// ```
/// use compaktor::prelude::*;
/// use futures::StreamExt;
///
/// struct Motor;
/// #[actor]
/// impl Motor {
///     #[handler]
///     fn drive(&mut self, speed: i32) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let mut letters = system.dead_letters();
/// let motor = system.spawn(Motor);
/// motor.kill();
/// motor.stopped().await;
/// assert!(motor.drive(40).await.is_err());
///
/// let letter = letters.next().await.expect("one dead letter");
/// assert_eq!(letter.handler, "drive");
/// // The message enum `#[actor]` generates has a variant per handler, holding its arguments.
/// type MotorMsg = <Motor as Actor>::Message;
/// let speed = letter.with_message::<Motor, _>(|message| match message {
///     MotorMsg::Drive(speed, _) => *speed,
/// });
/// assert_eq!(speed, Some(40));
/// // Sent again, to a motor that runs.
/// let spare = system.spawn(Motor);
/// letter.resend_to(&spare).expect("the letter has it").await?;
/// # Ok(()) }
/// ```
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
    /// The message, shared by every subscriber's copy of the letter.
    message: Option<Undelivered>,
}

/// An undelivered message, type-erased. Behind a `Mutex` because a message need only be
/// `Send` while a letter goes to many subscribers: it can be taken out once.
#[derive(Clone)]
struct Undelivered(Arc<Mutex<Option<Box<dyn Any + Send>>>>);

impl fmt::Debug for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Undelivered(..)")
    }
}

impl DeadLetter {
    /// Whether it still carries its message (see the type's docs for when it does not).
    pub fn has_message(&self) -> bool {
        self.message.as_ref().is_some_and(|m| lock(&m.0).is_some())
    }

    /// Reads the message as `A`'s message (the enum `#[actor]` generates for `A`, one variant
    /// per handler, holding its arguments). `None` if the letter has no message (any more),
    /// or the message is not `A`'s.
    pub fn with_message<A: Actor, T>(&self, read: impl FnOnce(&A::Message) -> T) -> Option<T> {
        let message = self.message.as_ref()?;
        let guard = lock(&message.0);
        guard.as_ref()?.downcast_ref::<A::Message>().map(read)
    }

    /// Takes the message out as `A`'s message, to send it again: the first subscriber to take
    /// it gets it; after that, no copy of the letter has it. `None` if the letter has no
    /// message (any more), or the message is not `A`'s (then it stays).
    pub fn take_message<A: Actor>(&self) -> Option<A::Message> {
        let message = self.message.as_ref()?;
        let mut guard = lock(&message.0);
        if !guard.as_ref()?.is::<A::Message>() {
            return None;
        }
        guard.take()?.downcast().ok().map(|m| *m)
    }
}

impl DeadLetter {
    /// Reads a topic's value (see the type's docs) as a `T`. `None` if the letter has no
    /// value (any more), or it is not a `T`.
    pub fn with_payload<T: 'static, R>(&self, read: impl FnOnce(&T) -> R) -> Option<R> {
        let message = self.message.as_ref()?;
        let guard = lock(&message.0);
        guard.as_ref()?.downcast_ref::<T>().map(read)
    }

    /// Takes a topic's value out as a `T`, to publish it again: the first subscriber to take
    /// it gets it. `None` if the letter has no value (any more), or it is not a `T` (then it
    /// stays).
    pub fn take_payload<T: 'static>(&self) -> Option<T> {
        let message = self.message.as_ref()?;
        let mut guard = lock(&message.0);
        if !guard.as_ref()?.is::<T>() {
            return None;
        }
        guard.take()?.downcast().ok().map(|v| *v)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        self.record_with(recipient, handler, reason, || None);
    }

    /// Records an actor's message that will not be handled, and hands it to the subscribers
    /// (boxed only if there are any). An ask's reply channel is dropped first.
    pub(crate) fn record_message<M: crate::macro_support::Message>(
        &self,
        recipient: ActorLabel,
        handler: &'static str,
        reason: DeadLetterReason,
        mut message: M,
    ) {
        message.drop_reply();
        self.record_with(recipient, handler, reason, move || {
            Some(Undelivered(Arc::new(Mutex::new(Some(Box::new(message))))))
        });
    }

    /// Records a topic's value that reached no one, and hands it to the subscribers (boxed
    /// only if there are any).
    pub(crate) fn record_payload<T: Send + 'static>(
        &self,
        recipient: ActorLabel,
        handler: &'static str,
        reason: DeadLetterReason,
        value: T,
    ) {
        self.record_with(recipient, handler, reason, move || {
            Some(Undelivered(Arc::new(Mutex::new(Some(Box::new(value))))))
        });
    }

    fn record_with(
        &self,
        recipient: ActorLabel,
        handler: &'static str,
        reason: DeadLetterReason,
        message: impl FnOnce() -> Option<Undelivered>,
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
                message: message(),
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
