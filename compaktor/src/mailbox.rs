//! Mailboxes: the queue in front of each actor, bounded by default. What is queued is an
//! [`Envelope`]; the typed send paths that fill it live in `tell` and `ask`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, mpsc};

/// How many messages an actor's mailbox holds, chosen per actor type with
/// `#[actor(mailbox = 64)]` / `#[actor(mailbox = unbounded)]`, or per actor at spawn with
/// [`ActorBuilder::mailbox`](crate::ActorBuilder::mailbox).
///
/// A bounded mailbox gives backpressure: an awaited send waits for room, a `try_send` fails
/// fast with [`SendError::Full`](crate::SendError::Full).
///
/// ```
/// use compaktor::Mailbox;
/// assert_eq!(Mailbox::bounded(64).capacity(), Some(64));
/// assert_eq!(Mailbox::unbounded().capacity(), None);
/// assert_eq!(Mailbox::DEFAULT, Mailbox::bounded(1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mailbox {
    capacity: Option<usize>,
}

impl Mailbox {
    /// The mailbox of an actor that chose none: bounded, 1024 messages.
    pub const DEFAULT: Mailbox = Mailbox::bounded(1024);

    /// A mailbox that holds at most `capacity` messages (at least 1).
    pub const fn bounded(capacity: usize) -> Self {
        Mailbox {
            capacity: Some(if capacity == 0 { 1 } else { capacity }),
        }
    }

    /// A mailbox without a limit. Senders never wait; a slow actor grows its queue without bound.
    pub const fn unbounded() -> Self {
        Mailbox { capacity: None }
    }

    /// The capacity, or `None` when unbounded.
    pub const fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    pub(crate) fn channel<M>(self) -> (MailboxSender<M>, MailboxReceiver<M>) {
        match self.capacity {
            Some(n) => {
                let (tx, rx) = mpsc::channel(n);
                (MailboxSender::Bounded(tx), MailboxReceiver::Bounded(rx))
            }
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                (MailboxSender::Unbounded(tx), MailboxReceiver::Unbounded(rx))
            }
        }
    }
}

/// What travels through a mailbox.
pub(crate) enum Envelope<M> {
    /// A handler call.
    Message(M),
    /// A handler call from a timer or stream: skipped if that source was cancelled after it was
    /// queued, and reported back to the source once handled.
    /// Boxed: rare, and it would otherwise make every mailbox slot a pointer wider.
    Sourced(Box<(M, Arc<SourceState>)>),
    /// The poison pill.
    Stop,
}

impl<M> Envelope<M> {
    /// The message, unless this is a pill or comes from a cancelled source.
    pub(crate) fn into_message(self) -> Option<M> {
        match self {
            Envelope::Message(m) => Some(m),
            Envelope::Sourced(sourced) => {
                let (m, source) = *sourced;
                (!source.is_cancelled()).then_some(m)
            }
            Envelope::Stop => None,
        }
    }
}

/// Shared by a timer or stream task and the messages it queued.
#[derive(Debug, Default)]
pub(crate) struct SourceState {
    cancelled: AtomicBool,
    /// Signalled each time one of its messages has been handled, so a periodic timer keeps at
    /// most one tick in flight and its missed-tick policy sees how late the actor is.
    handled: Notify,
}

impl SourceState {
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn mark_handled(&self) {
        self.handled.notify_one();
    }

    pub(crate) async fn wait_handled(&self) {
        self.handled.notified().await;
    }
}

pub(crate) enum TrySend<M> {
    Full(M),
    Closed(M),
}

pub(crate) enum MailboxSender<M> {
    Bounded(mpsc::Sender<Envelope<M>>),
    Unbounded(mpsc::UnboundedSender<Envelope<M>>),
}

impl<M> MailboxSender<M> {
    #[inline]
    pub(crate) fn try_send(&self, env: Envelope<M>) -> Result<(), TrySend<Envelope<M>>> {
        match self {
            MailboxSender::Bounded(tx) => tx.try_send(env).map_err(|e| match e {
                mpsc::error::TrySendError::Full(m) => TrySend::Full(m),
                mpsc::error::TrySendError::Closed(m) => TrySend::Closed(m),
            }),
            MailboxSender::Unbounded(tx) => tx.send(env).map_err(|e| TrySend::Closed(e.0)),
        }
    }

    /// Waits for room. `Err` gives the envelope back when the mailbox is closed.
    pub(crate) async fn send(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        match self {
            MailboxSender::Bounded(tx) => tx.send(env).await.map_err(|e| e.0),
            MailboxSender::Unbounded(tx) => tx.send(env).map_err(|e| e.0),
        }
    }

    /// Blocks the calling thread until there is room. Panics inside an async context (tokio's
    /// rule for `blocking_send`).
    pub(crate) fn blocking_send(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        match self {
            MailboxSender::Bounded(tx) => tx.blocking_send(env).map_err(|e| e.0),
            MailboxSender::Unbounded(tx) => tx.send(env).map_err(|e| e.0),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match self {
            MailboxSender::Bounded(tx) => Some(tx.max_capacity()),
            MailboxSender::Unbounded(_) => None,
        }
    }
}

pub(crate) enum MailboxReceiver<M> {
    Bounded(mpsc::Receiver<Envelope<M>>),
    Unbounded(mpsc::UnboundedReceiver<Envelope<M>>),
}

impl<M> MailboxReceiver<M> {
    #[inline]
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Envelope<M>>> {
        match self {
            MailboxReceiver::Bounded(rx) => rx.poll_recv(cx),
            MailboxReceiver::Unbounded(rx) => rx.poll_recv(cx),
        }
    }

    pub(crate) fn try_recv(&mut self) -> Option<Envelope<M>> {
        match self {
            MailboxReceiver::Bounded(rx) => rx.try_recv().ok(),
            MailboxReceiver::Unbounded(rx) => rx.try_recv().ok(),
        }
    }

    /// Refuses new messages; those already queued can still be received.
    pub(crate) fn close(&mut self) {
        match self {
            MailboxReceiver::Bounded(rx) => rx.close(),
            MailboxReceiver::Unbounded(rx) => rx.close(),
        }
    }
}
