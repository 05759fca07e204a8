//! [`Ask`]: a handler call whose result comes back, with an optional timeout. Enqueuing is shared
//! with `tell`; producing the reply lives in `macro_support`; refusing an ask that closes a cycle of
//! waiting actors in `ask/cycle`.

pub(crate) mod cycle;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Sleep;

use crate::actor::cell::Control;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::Envelope;
use crate::actor::running::running_here;
use crate::actor::shared::{RefCore, Refused, Shared};
use crate::address::tell::{Sending, reply_slot};
use crate::macro_support::{ReplyFailure, ReplyReceiver};
use crate::{Actor, ActorLabel, AskError, Tell};

/// A handler call whose result comes back: what the generated method of a handler that returns
/// a value gives you.
///
/// `.await` resolves with the handler's value, or an [`AskError`]: the handler's own `Err`, a
/// stopped or panicked actor, or a [timeout](Ask::timeout). An ask never hangs on a dead actor.
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
///
/// struct Thermometer;
///
/// #[actor]
/// impl Thermometer {
///     #[handler]
///     async fn celsius(&self) -> f32 { 21.5 }
///     #[handler]
///     async fn slow(&self) -> f32 {
///         tokio::time::sleep(Duration::from_secs(60)).await;
///         0.0
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("weather");
/// let t = system.spawn(Thermometer);
/// assert_eq!(t.celsius().await?, 21.5);
/// let late = t.slow().timeout(Duration::from_millis(10)).await;
/// assert!(matches!(late, Err(AskError::Timeout { .. })));
/// # Ok(()) }
/// ```
#[must_use = "an `Ask` does nothing until it is awaited or sent"]
pub struct Ask<'a, A: Actor, R, E> {
    core: &'a RefCore<A>,
    handler: &'static str,
    message: A::Message,
    reply: ReplyReceiver<R, E>,
    timeout: Option<Duration>,
}

impl<'a, A: Actor, R: Send + 'static, E: Send + 'static> Ask<'a, A, R, E> {
    #[doc(hidden)]
    #[inline]
    pub fn __new(
        core: &'a RefCore<A>,
        handler: &'static str,
        message: A::Message,
        reply: ReplyReceiver<R, E>,
    ) -> Self {
        Ask {
            core,
            handler,
            message,
            reply,
            timeout: None,
        }
    }

    /// The handler this message calls.
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// Gives up with [`AskError::Timeout`] if there is no reply within `after` (counted from the
    /// first poll, and covering the wait for mailbox room). The actor is not interrupted; its
    /// late reply goes nowhere.
    pub fn timeout(mut self, after: Duration) -> Self {
        self.timeout = Some(after);
        self
    }

    /// Sends without waiting for the result. An `Err` from the handler then goes to the actor's
    /// failure hook, as for any tell.
    pub fn tell(mut self) -> Tell<'a, A, R, E> {
        *reply_slot::<A, R, E>(&mut self.message) = None;
        Tell::__new(self.core, self.handler, self.message)
    }

    /// Enqueues without waiting for room, and gives back the [`PendingReply`] to await. Awaited
    /// inside a handler, it is checked like an awaited ask: a wait on the actor itself, or one
    /// that closes a cycle of waiting actors, fails at once ([`AskError::SelfAsk`],
    /// [`AskError::Cycle`]); the message stays queued, and its reply goes nowhere.
    ///
    /// # Errors
    /// [`AskError::Full`] or [`AskError::Stopped`]; the message becomes a dead letter that
    /// carries it ([`DeadLetter::take_message`](crate::DeadLetter::take_message)).
    pub fn try_send(self) -> Result<PendingReply<R, E>, AskError<E>> {
        let shared = &self.core.shared;
        match shared.try_enqueue(Envelope::Message(self.message)) {
            Ok(()) => Ok(PendingReply {
                actor: shared.cell.label.clone(),
                handler: self.handler,
                reply: self.reply,
                timeout: self.timeout,
                sleep: None,
                target: Arc::clone(shared) as Arc<dyn Control>,
                waiting: None,
            }),
            Err(Refused::Stopped(env)) => Err(shared.cell.stopped_with(self.handler, env).into()),
            Err(Refused::Full(env)) => {
                // An ask's message is not given back (its reply would go nowhere): it is a dead
                // letter that carries it.
                shared
                    .cell
                    .dead_envelope(self.handler, DeadLetterReason::MailboxFull, env);
                Err(shared.full(self.handler).into())
            }
        }
    }

    /// Asks from a thread that is not running async code, blocking it until the reply arrives.
    /// The timeout, if one was set, is not applied here.
    ///
    /// # Errors
    /// As for `.await`, except [`AskError::Timeout`]; [`AskError::Stopped`] also when the
    /// actor's runtime is dropped while this waits; [`AskError::BlockingInRuntime`] when called
    /// on a thread inside a tokio runtime (async code, or a `spawn_blocking` closure), where
    /// blocking could wait forever: `.await` the ask there.
    pub fn blocking(self) -> Result<R, AskError<E>> {
        let shared = &self.core.shared;
        shared.enqueue_blocking(Envelope::Message(self.message), self.handler)?;
        to_ask_result(&shared.cell.label, self.handler, self.reply.blocking_recv())
    }
}

fn to_ask_result<R, E>(
    actor: &ActorLabel,
    handler: &'static str,
    received: Result<Result<R, ReplyFailure<E>>, oneshot::error::RecvError>,
) -> Result<R, AskError<E>> {
    match received {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(ReplyFailure::Handler(e))) => Err(AskError::Handler(e)),
        Ok(Err(ReplyFailure::Panicked(message))) => Err(AskError::Panicked {
            actor: actor.clone(),
            handler,
            message,
        }),
        Ok(Err(ReplyFailure::NoWorker)) => Err(AskError::NoWorker {
            pool: actor.clone(),
            handler,
        }),
        Ok(Err(ReplyFailure::Full(capacity))) => Err(AskError::Full {
            actor: actor.clone(),
            handler,
            capacity,
        }),
        Ok(Err(ReplyFailure::Remote(failure))) => Err(AskError::Remote {
            actor: actor.clone(),
            handler,
            failure,
        }),
        Err(_) => Err(AskError::Stopped {
            actor: actor.clone(),
            handler,
        }),
    }
}

impl<A: Actor, R, E> fmt::Debug for Ask<'_, A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ask")
            .field("actor", &self.core)
            .field("handler", &self.handler)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<'a, A: Actor, R: Send + 'static, E: Send + 'static> IntoFuture for Ask<'a, A, R, E> {
    type Output = Result<R, AskError<E>>;
    type IntoFuture = AskFuture<'a, A, R, E>;

    #[inline]
    fn into_future(self) -> AskFuture<'a, A, R, E> {
        let shared = &*self.core.shared;
        AskFuture {
            send: Some(Sending::new(
                shared,
                self.handler,
                Envelope::Message(self.message),
            )),
            shared,
            handler: self.handler,
            reply: self.reply,
            timeout: self.timeout,
            sleep: None,
            waiting: None,
        }
    }
}

/// The future of an awaited [`Ask`].
///
/// Awaited inside a handler, it refuses an ask to the actor itself ([`AskError::SelfAsk`]) and
/// one that closes a cycle of actors waiting on each other's replies ([`AskError::Cycle`]);
/// until it resolves, its actor counts as waiting on the actor asked.
///
/// # Cancel safety
/// Dropping it gives up on the reply; the message may already be queued and will still be
/// handled.
#[must_use = "futures do nothing unless polled"]
pub struct AskFuture<'a, A: Actor, R, E> {
    send: Option<Sending<'a, A>>,
    shared: &'a Shared<A>,
    handler: &'static str,
    reply: ReplyReceiver<R, E>,
    timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// Asked inside a handler: that actor waits on this one until the reply.
    waiting: Option<cycle::Waiting>,
}

impl<A: Actor, R, E> fmt::Debug for AskFuture<'_, A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AskFuture")
            .field("handler", &self.handler)
            .finish_non_exhaustive()
    }
}

/// Starts the deadline on first poll, and reports whether it has passed.
fn poll_deadline(
    timeout: Option<Duration>,
    sleep: &mut Option<Pin<Box<Sleep>>>,
    cx: &mut Context<'_>,
) -> bool {
    let Some(after) = timeout else { return false };
    let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
    sleep.as_mut().poll(cx).is_ready()
}

impl<A: Actor, R: Send + 'static, E: Send + 'static> Future for AskFuture<'_, A, R, E> {
    type Output = Result<R, AskError<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = this.poll_reply(cx);
        if polled.is_ready() {
            this.waiting = None; // no longer waiting
        }
        polled
    }
}

impl<A: Actor, R: Send + 'static, E: Send + 'static> AskFuture<'_, A, R, E> {
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Result<R, AskError<E>>> {
        let this = self;
        if let Some(send) = &mut this.send {
            // Asked inside a handler: from the asking actor, unless it already waits.
            let asker = running_here();
            if asker != 0 && this.waiting.is_none() {
                let cell = &this.shared.cell;
                let refused = if asker == cycle::address(cell) {
                    Some(AskError::SelfAsk {
                        actor: cell.label.clone(),
                        handler: this.handler,
                    })
                } else {
                    match cycle::begin(asker, cell) {
                        Ok(waiting) => {
                            this.waiting = Some(waiting);
                            None
                        }
                        Err(cycle) => Some(AskError::Cycle {
                            actor: cell.label.clone(),
                            handler: this.handler,
                            cycle,
                        }),
                    }
                };
                if let Some(refused) = refused {
                    // Refused before it was sent: the letter carries the message.
                    match send.take_envelope() {
                        Some(env) => {
                            cell.dead_envelope(this.handler, DeadLetterReason::WouldDeadlock, env);
                        }
                        None => cell.dead_letter(this.handler, DeadLetterReason::WouldDeadlock),
                    }
                    this.send = None;
                    return Poll::Ready(Err(refused));
                }
            }
            match send.poll_send(cx) {
                Poll::Ready(Ok(())) => this.send = None,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {
                    if poll_deadline(this.timeout, &mut this.sleep, cx) {
                        return Poll::Ready(Err(timeout_error(
                            &this.shared.cell.label,
                            this.handler,
                            this.timeout,
                        )));
                    }
                    return Poll::Pending;
                }
            }
        }
        if let Poll::Ready(received) = Pin::new(&mut this.reply).poll(cx) {
            return Poll::Ready(to_ask_result(
                &this.shared.cell.label,
                this.handler,
                received,
            ));
        }
        if poll_deadline(this.timeout, &mut this.sleep, cx) {
            return Poll::Ready(Err(timeout_error(
                &this.shared.cell.label,
                this.handler,
                this.timeout,
            )));
        }
        Poll::Pending
    }
}

fn timeout_error<E>(
    actor: &ActorLabel,
    handler: &'static str,
    after: Option<Duration>,
) -> AskError<E> {
    AskError::Timeout {
        actor: actor.clone(),
        handler,
        after: after.unwrap_or_default(),
    }
}

/// The reply of an ask that [`Ask::try_send`] already queued. Await it for the result.
///
/// Awaited inside a handler, it refuses to wait on the actor itself ([`AskError::SelfAsk`]) or
/// to close a cycle of actors waiting on each other's replies ([`AskError::Cycle`]), as an
/// awaited [`Ask`] does; until it resolves, its actor counts as waiting on the actor asked.
#[must_use = "futures do nothing unless polled"]
pub struct PendingReply<R, E> {
    actor: ActorLabel,
    handler: &'static str,
    reply: ReplyReceiver<R, E>,
    timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The actor asked (not a counted reference): whom a handler awaiting this waits on.
    target: Arc<dyn Control>,
    /// Awaited inside a handler: that actor waits on the one asked until the reply.
    waiting: Option<cycle::Waiting>,
}

impl<R, E> fmt::Debug for PendingReply<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingReply")
            .field("actor", &self.actor)
            .field("handler", &self.handler)
            .finish_non_exhaustive()
    }
}

impl<R, E> Future for PendingReply<R, E> {
    type Output = Result<R, AskError<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = this.poll_reply(cx);
        if polled.is_ready() {
            this.waiting = None; // no longer waiting
        }
        polled
    }
}

impl<R, E> PendingReply<R, E> {
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Result<R, AskError<E>>> {
        if let Poll::Ready(received) = Pin::new(&mut self.reply).poll(cx) {
            return Poll::Ready(to_ask_result(&self.actor, self.handler, received));
        }
        // Awaited inside a handler: from the asking actor, unless it already waits.
        let asker = running_here();
        if asker != 0 && self.waiting.is_none() {
            let cell = self.target.cell();
            if asker == cycle::address(cell) {
                return Poll::Ready(Err(AskError::SelfAsk {
                    actor: cell.label.clone(),
                    handler: self.handler,
                }));
            }
            match cycle::begin(asker, cell) {
                Ok(waiting) => self.waiting = Some(waiting),
                Err(cycle) => {
                    return Poll::Ready(Err(AskError::Cycle {
                        actor: cell.label.clone(),
                        handler: self.handler,
                        cycle,
                    }));
                }
            }
        }
        if poll_deadline(self.timeout, &mut self.sleep, cx) {
            return Poll::Ready(Err(timeout_error(&self.actor, self.handler, self.timeout)));
        }
        Poll::Pending
    }
}
