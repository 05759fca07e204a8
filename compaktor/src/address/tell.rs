//! [`Tell`]: a handler call that is only delivered, and the send state machine that `Tell` and
//! `Ask` share. Waiting for a reply lives in `ask`.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::actor::Handlers as _;
use crate::actor::mailbox::{Envelope, Waiter};
use crate::actor::shared::{RefCore, Refused, Shared};
use crate::macro_support::{Message, ReplyTo, reply_channel};
use crate::{Actor, ActorRef, Ask, DeadLetter, SendError, TrySendError};

/// A handler call that is delivered without waiting for the handler: what the generated method of
/// a handler returning `()` gives you.
///
/// - `.await` enqueues it, waiting for room if the mailbox is full (backpressure);
/// - [`try_send`](Tell::try_send) never waits, and on [`SendError::Full`] or
///   [`SendError::Stopped`] gives the message back in its [`TrySendError`];
/// - [`blocking_send`](Tell::blocking_send) serves plain threads (an interrupt callback);
/// - [`ask`](Tell::ask) turns it into an [`Ask`] that resolves when the handler has finished.
///
/// A message is only sent when one of these is called: a `Tell` that is dropped sends nothing.
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
///
/// struct Arm { angle: i32 }
///
/// #[actor]
/// impl Arm {
///     #[handler]
///     async fn move_to(&mut self, angle: i32) {
///         tokio::time::sleep(Duration::from_millis(5)).await; // the arm moves
///         self.angle = angle;
///     }
///     #[handler]
///     fn angle(&self) -> i32 { self.angle }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("arm");
/// let arm = system.spawn(Arm { angle: 0 });
/// arm.move_to(30).await?;          // queued
/// arm.move_to(90).ask().await?;    // queued and done
/// assert_eq!(arm.angle().await?, 90);
/// # Ok(()) }
/// ```
#[must_use = "a `Tell` does nothing until it is awaited or sent"]
pub struct Tell<'a, A: Actor, R = (), E = Infallible> {
    core: &'a RefCore<A>,
    handler: &'static str,
    message: A::Message,
    reply: PhantomData<fn() -> (R, E)>,
}

impl<'a, A: Actor, R: Send + 'static, E: Send + 'static> Tell<'a, A, R, E> {
    #[doc(hidden)]
    #[inline]
    pub fn __new(core: &'a RefCore<A>, handler: &'static str, message: A::Message) -> Self {
        Tell {
            core,
            handler,
            message,
            reply: PhantomData,
        }
    }

    /// The handler this message calls.
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// Waits for the handler to finish, not only for the message to be queued: an [`Ask`] for
    /// the handler's result (`()` for a handler that returns nothing).
    pub fn ask(mut self) -> Ask<'a, A, R, E> {
        let (tx, rx) = reply_channel::<R, E>();
        *reply_slot::<A, R, E>(&mut self.message) = Some(tx);
        Ask::__new(self.core, self.handler, self.message, rx)
    }

    /// Enqueues without waiting.
    ///
    /// # Errors
    /// A [`TrySendError`] whose [`error`](TrySendError::error) is [`SendError::Full`] if the
    /// bounded mailbox is full, [`SendError::Stopped`] if the actor has stopped. Either way it
    /// gives the message back ([`TrySendError::resend`], [`TrySendError::into_message`]), and
    /// the failure is counted as a dead letter.
    pub fn try_send(self) -> Result<(), TrySendError<A, R, E>> {
        let shared = &self.core.shared;
        let (error, env) = match shared.try_enqueue(Envelope::Message(self.message)) {
            Ok(()) => return Ok(()),
            Err(Refused::Full(env)) => (shared.full_error(self.handler), env),
            Err(Refused::Stopped(env)) => (shared.cell.stopped_error(self.handler), env),
        };
        Err(refused(error, env))
    }

    /// Enqueues from a thread that is not running async code (a GPIO interrupt callback, a
    /// driver thread), blocking it until there is room.
    ///
    /// # Errors
    /// [`SendError::Stopped`] if the actor has stopped, or stops while this waits (also when
    /// its runtime is dropped); [`SendError::BlockingInRuntime`] when called on a thread inside
    /// a tokio runtime (async code, or a `spawn_blocking` closure), where blocking could wait
    /// forever: `.await` the send there. Either way the message is counted as a dead letter.
    pub fn blocking_send(self) -> Result<(), SendError> {
        self.core
            .shared
            .enqueue_blocking(Envelope::Message(self.message), self.handler)
    }

    pub(crate) fn into_parts(self) -> (&'a RefCore<A>, &'static str, A::Message) {
        (self.core, self.handler, self.message)
    }
}

/// A refused `try_send`'s error, with its message (the slow path: out of line).
#[cold]
#[inline(never)]
fn refused<A: Actor, R: Send + 'static, E: Send + 'static>(
    error: SendError,
    env: Envelope<A::Message>,
) -> TrySendError<A, R, E> {
    match env {
        Envelope::Message(message) => TrySendError::new(error, message),
        _ => unreachable!("`try_send` sends a plain message"),
    }
}

/// The message's reply slot, as the type the generated code put there.
pub(crate) fn reply_slot<A: Actor, R: 'static, E: 'static>(
    message: &mut A::Message,
) -> &mut Option<ReplyTo<R, E>> {
    message
        .reply_slot()
        .downcast_mut()
        .expect("the generated reply slot has the handler's reply type")
}

impl<A: Actor, R, E> fmt::Debug for Tell<'_, A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tell")
            .field("actor", &self.core)
            .field("handler", &self.handler)
            .finish()
    }
}

impl<'a, A: Actor, R: Send + 'static, E: Send + 'static> IntoFuture for Tell<'a, A, R, E> {
    type Output = Result<(), SendError>;
    type IntoFuture = TellFuture<'a, A>;

    #[inline]
    fn into_future(self) -> TellFuture<'a, A> {
        TellFuture {
            send: Sending::new(
                &self.core.shared,
                self.handler,
                Envelope::Message(self.message),
            ),
        }
    }
}

/// The future of an awaited [`Tell`].
///
/// # Cancel safety
/// Dropping it before it completes may or may not have queued the message.
#[must_use = "futures do nothing unless polled"]
pub struct TellFuture<'a, A: Actor> {
    send: Sending<'a, A>,
}

impl<'a, A: Actor> TellFuture<'a, A> {
    /// Sends `message` (one of `A`'s generated messages, its reply channel dropped) to `core`.
    pub(crate) fn resend(core: &'a RefCore<A>, mut message: A::Message) -> Self {
        message.drop_reply();
        let handler = message.handler_name();
        TellFuture {
            send: Sending::new(&core.shared, handler, Envelope::Message(message)),
        }
    }
}

impl<A: Actor> fmt::Debug for TellFuture<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TellFuture")
            .field("handler", &self.send.handler)
            .finish_non_exhaustive()
    }
}

impl<A: Actor> Future for TellFuture<'_, A> {
    type Output = Result<(), SendError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().send.poll_send(cx)
    }
}

/// Enqueuing one envelope: at once if there is room, else by waiting for room (the slow path).
pub(crate) struct Sending<'a, A: Actor> {
    pub(crate) shared: &'a Shared<A>,
    pub(crate) handler: &'static str,
    state: SendState<'a, A>,
}

enum SendState<'a, A: Actor> {
    Ready(Envelope<A::Message>),
    /// Waiting for room; the envelope is in the waiter until it is sent.
    Waiting(Waiter<'a, A::Message>),
    Done,
}

// Nothing in `Sending` is pinned structurally: the envelope is only ever moved, also inside
// the waiter, which is polled by `&mut` and never pinned.
impl<A: Actor> Unpin for Sending<'_, A> {}

impl<'a, A: Actor> Sending<'a, A> {
    #[inline]
    pub(crate) fn new(
        shared: &'a Shared<A>,
        handler: &'static str,
        env: Envelope<A::Message>,
    ) -> Self {
        Sending {
            shared,
            handler,
            state: SendState::Ready(env),
        }
    }

    /// The envelope, if it has not gone into the mailbox (a send refused before it was
    /// tried, or given up while it waited for room): for a dead letter.
    pub(crate) fn take_envelope(&mut self) -> Option<Envelope<A::Message>> {
        match std::mem::replace(&mut self.state, SendState::Done) {
            SendState::Ready(env) => Some(env),
            SendState::Waiting(mut waiter) => waiter.take_back(),
            SendState::Done => None,
        }
    }

    #[inline]
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        loop {
            match std::mem::replace(&mut self.state, SendState::Done) {
                SendState::Ready(env) => match self.shared.try_enqueue(env) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(Refused::Stopped(env)) => {
                        return Poll::Ready(Err(self.shared.cell.stopped_with(self.handler, env)));
                    }
                    Err(Refused::Full(env)) => {
                        let env = match self.shared.refuse_self_send(env, self.handler) {
                            Ok(env) => env,
                            Err(error) => return Poll::Ready(Err(error)),
                        };
                        self.state = SendState::Waiting(self.shared.tx.waiter(env));
                    }
                },
                SendState::Waiting(mut waiter) => {
                    return match waiter.poll_send(cx) {
                        Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                        Poll::Ready(Err(env)) => {
                            Poll::Ready(Err(self.shared.cell.stopped_with(self.handler, env)))
                        }
                        Poll::Pending => {
                            self.state = SendState::Waiting(waiter);
                            Poll::Pending
                        }
                    };
                }
                SendState::Done => panic!("a send future was polled after it completed"),
            }
        }
    }
}

impl DeadLetter {
    /// Takes the message out as `A`'s message (see [`take_message`](DeadLetter::take_message)) and
    /// sends it to `to`, the actor it was for or another of its type, as a tell (an ask's
    /// asker has had its answer: `Stopped`). `None` if the letter has no message of `A`'s.
    ///
    /// # Errors
    /// The send's, when awaited: [`SendError::Stopped`](crate::SendError::Stopped) if `to` has
    /// stopped too.
    pub fn resend_to<'a, A: Actor>(&self, to: &'a ActorRef<A>) -> Option<TellFuture<'a, A>> {
        let message = self.take_message::<A>()?;
        Some(TellFuture::resend(to.__core(), message))
    }
}
