//! The allocation every reference to one actor shares ([`Shared`]: the actor's cell, then its
//! mailbox's queue), the send paths into it (enqueue now, or fail typed: full, stopped, a send
//! to oneself) and [`Control`], one actor whatever its type, as its parent, the registry and
//! the system hold it. The cell's own state lives in `cell`; the typed ref a user holds, in
//! `address`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::task::Waker;

use crate::actor::cell::{ActorCell, Control, HasCell};
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::{Envelope, Queue, TrySend};
use crate::{Actor, SendError};

impl<A: Actor> HasCell for Arc<Shared<A>> {
    fn cell(&self) -> &ActorCell {
        &self.cell
    }
}

/// The allocation behind every reference to one actor: the cell, whose hot fields come last,
/// then the mailbox's queue (`repr(C)`), so what a send touches lies together.
#[repr(C)]
pub(crate) struct Shared<A: Actor> {
    pub(crate) cell: ActorCell,
    /// The mailbox's queue, inline: one allocation per actor for both.
    pub(crate) tx: Queue<A::Message>,
}

/// A send that did not go through at once, with its envelope (not yet a dead letter).
pub(crate) enum Refused<M> {
    /// The mailbox is full; the caller may wait for room.
    Full(Envelope<M>),
    /// The actor has stopped, or is stopping.
    Stopped(Envelope<M>),
}

impl<A: Actor> Control for Shared<A> {
    fn cell(&self) -> &ActorCell {
        &self.cell
    }

    fn stop(self: Arc<Self>) {
        if !self.cell.begin_stop() {
            return;
        }
        if let Err(TrySend::Full(pill)) = self.tx.try_send(Envelope::Stop) {
            // Queued by a task behind the messages already waiting, so `stop` never waits.
            let system = self.cell.system.clone();
            system.spawn_anywhere(async move {
                let _ = self.tx.send(pill).await;
            });
        }
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn actor_type(&self) -> &'static str {
        std::any::type_name::<A>()
    }

    fn mailbox_len(&self) -> usize {
        self.tx.len()
    }

    fn wake(&self) {
        self.tx.wake();
    }

    fn register_waker(&self, waker: &Waker) {
        self.tx.register(waker);
    }
}

impl<A: Actor> Shared<A> {
    /// Enqueues without waiting.
    #[inline]
    pub(crate) fn try_enqueue(&self, env: Envelope<A::Message>) -> Result<(), Refused<A::Message>> {
        if !self.cell.is_running() {
            return Err(Refused::Stopped(env));
        }
        match self.tx.try_send(env) {
            Ok(()) => Ok(()),
            Err(TrySend::Full(env)) => Err(Refused::Full(env)),
            Err(TrySend::Closed(env)) => Err(Refused::Stopped(env)),
        }
    }

    /// What to do with a full mailbox when the caller will not wait: counted as a dead letter
    /// (without the message, which the caller keeps).
    pub(crate) fn full_error(&self, handler: &'static str) -> SendError {
        self.cell
            .dead_letter(handler, DeadLetterReason::MailboxFull);
        self.full(handler)
    }

    /// [`SendError::Full`], recording nothing.
    pub(crate) fn full(&self, handler: &'static str) -> SendError {
        SendError::Full {
            actor: self.cell.label.clone(),
            handler,
            capacity: self.tx.capacity().unwrap_or(usize::MAX),
        }
    }

    /// Before a send waits for room ([`Sending`](crate::address::tell::Sending) tried
    /// [`try_enqueue`](Self::try_enqueue) first): refused if the actor is sending to itself,
    /// which would wait forever (the message is a dead letter that carries it); else `env`
    /// back, to wait with.
    pub(crate) fn refuse_self_send(
        &self,
        env: Envelope<A::Message>,
        handler: &'static str,
    ) -> Result<Envelope<A::Message>, SendError> {
        if crate::actor::running::is_running_here(&self.cell) {
            self.cell
                .dead_envelope(handler, DeadLetterReason::WouldDeadlock, env);
            return Err(SendError::WouldDeadlock {
                actor: self.cell.label.clone(),
                handler,
            });
        }
        Ok(env)
    }

    /// Enqueues from a plain thread, blocking it until there is room. Refused on a thread
    /// inside a tokio runtime, where blocking could wait forever (see
    /// [`SendError::BlockingInRuntime`]).
    pub(crate) fn enqueue_blocking(
        &self,
        env: Envelope<A::Message>,
        handler: &'static str,
    ) -> Result<(), SendError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.cell
                .dead_envelope(handler, DeadLetterReason::WouldDeadlock, env);
            return Err(SendError::BlockingInRuntime {
                actor: self.cell.label.clone(),
                handler,
            });
        }
        if !self.cell.is_running() {
            return Err(self.cell.stopped_with(handler, env));
        }
        self.tx
            .blocking_send(env)
            .map_err(|env| self.cell.stopped_with(handler, env))
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
        shared.cell.retain();
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
        self.shared.release();
    }
}

impl<A: Actor> fmt::Debug for RefCore<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.shared.cell.label, f)
    }
}
