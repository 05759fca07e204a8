//! One instance's message loop: waiting for the next envelope, running its handler (a plain
//! one at once, an `async` one polled under guard), and the failure hook after a told `Err`.
//! Starting and ending the instance live in `task`.
//!
//! The futures here are `fn`s returning `async move` blocks, not `async fn`s: an `async fn`
//! keeps its arguments and the copies it moves them into, and every byte here is in every idle
//! actor's task.
#![allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the task"
)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use super::guard::{Guard, Guarded, guarded};
use super::{dropped_work, interrupt_cause};
use crate::actor::cell::ActorCell;
use crate::actor::mailbox::{Envelope, MailboxReceiver, Queue};
use crate::actor::running::Running;
use crate::actor::shared::Shared;
use crate::actor::stop_reason::panic_message;
use crate::macro_support::{Message, Outcome};
use crate::macro_support::{Polling, answer_orphans};
use crate::tree::node::EndCause;
use crate::{Actor, Context, FailureAction, HandlerFailure, StopReason};

/// What woke the idle actor.
pub(crate) enum Next<M> {
    Envelope(Envelope<M>),
    /// No references left and nothing queued.
    Released,
    /// A kill, an interrupt, or a reference count change: look again.
    Control,
}

/// Waits for the next message, or for a reason to look at the actor's signals or to stop
/// (shared by actors and pools).
#[inline]
pub(crate) fn next_envelope<'a, M>(
    cell: &'a ActorCell,
    queue: &'a Queue<M>,
    rx: &'a mut MailboxReceiver<M>,
) -> NextEnvelope<'a, M> {
    NextEnvelope { cell, queue, rx }
}

/// The future of [`next_envelope`]: its own type rather than a `poll_fn`, so that its `poll`,
/// polled once or more per message, is inlined into the actor's loop in a plain release build
/// (a `poll_fn`'s is std's, and was left a call of its own there).
pub(crate) struct NextEnvelope<'a, M> {
    cell: &'a ActorCell,
    queue: &'a Queue<M>,
    rx: &'a mut MailboxReceiver<M>,
}

impl<M> Future for NextEnvelope<'_, M> {
    type Output = Next<M>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Next<M>> {
        let this = self.get_mut();
        // The task's waker is registered with the mailbox (kept from the task's first poll):
        // a message, a kill or a last drop wakes it, and each is looked at here.
        if let Poll::Ready(env) = this.rx.poll_recv(this.queue, cx) {
            // `None` cannot happen while the cell's owner holds a sender; treat it as released.
            return Poll::Ready(env.map_or(Next::Released, Next::Envelope));
        }
        if this.cell.is_signalled() {
            Poll::Ready(Next::Control)
        } else if !this.cell.has_refs() && this.rx.is_empty(this.queue) {
            Poll::Ready(Next::Released)
        } else {
            Poll::Pending
        }
    }
}

/// Handles messages one at a time until the instance must end: a stop, a kill, an interrupt,
/// no references left, a panic, or a told `Err` its failure hook ends it for.
pub(super) fn message_loop<'a, A: Actor>(
    actor: &'a mut A,
    ctx: &'a mut Context<A>,
    shared: &'a Shared<A>,
    rx: &'a mut MailboxReceiver<A::Message>,
) -> impl Future<Output = (StopReason, EndCause)> + 'a {
    async move {
        let cell = &shared.cell;
        loop {
            // Asked by the last handler, or by a start hook before any message.
            if ctx.stop_requested() {
                return (StopReason::Stopped, EndCause::SelfStop);
            }
            if cell.is_signalled() {
                if cell.is_killed() {
                    return (StopReason::Killed, EndCause::External);
                }
                if let Some(reason) = cell.take_interrupt() {
                    let cause = interrupt_cause(&reason);
                    return (reason, cause);
                }
            }
            // In blocks, so what is moved on is not also kept in the task (an `async` block
            // keeps a local until its scope ends).
            let failure = {
                let (handler, source, now) = {
                    let (message, source) = match next_envelope(cell, &shared.tx, rx).await {
                        Next::Envelope(Envelope::Message(message)) => (message, None),
                        Next::Envelope(Envelope::Sourced(sourced)) => {
                            let (message, source) = *sourced;
                            if source.is_cancelled() {
                                continue; // queued before its timer was cancelled: stale
                            }
                            (message, Some(source))
                        }
                        Next::Envelope(Envelope::Stop) => {
                            return (StopReason::Stopped, EndCause::External);
                        }
                        Next::Released => return (StopReason::Released, EndCause::External),
                        Next::Control => continue,
                    };
                    let handler = message.handler_name();
                    cell.step();
                    // An `async` handler's message goes straight to `handle`.
                    let now = if message.awaits() {
                        Err(message)
                    } else {
                        handle_now(actor, ctx, cell, message, handler)
                    };
                    (handler, source, now)
                };
                let outcome = match now {
                    Ok(handled) => handled,
                    Err(message) => handle_later(actor, ctx, cell, message, handler).await,
                };
                let failure = match outcome {
                    Guarded::Done(Outcome::Done) => None,
                    Guarded::Done(Outcome::Failed(failure)) => Some(failure),
                    Guarded::Panicked(message) => return panicked(handler, *message),
                    Guarded::Dropped => return dropped_work(cell),
                };
                cell.step();
                cell.tell_idle();
                if let Some(source) = source {
                    source.mark_handled();
                }
                failure
            };
            if let Some(failure) = failure
                && let Some(end) = told_failure(actor, ctx, cell, &failure).await
            {
                return end;
            }
        }
    }
}

/// Runs a handler that has no `.await` at once, in its span, catching its panic. `Err` gives
/// the message back when its handler is `async`.
#[inline]
fn handle_now<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    cell: &ActorCell,
    message: A::Message,
    handler: &'static str,
) -> Result<Guarded<Outcome>, A::Message> {
    let span = tracing::debug_span!("handle", handler);
    let _entered = span.enter();
    let _running = Running::enter(cell);
    let polling = Polling::enter();
    match std::panic::catch_unwind(AssertUnwindSafe(|| actor.handle_now(message, ctx))) {
        Ok(Ok(outcome)) => {
            if polling.leave() {
                answer_orphans(None); // a panic the handler caught itself
            }
            Ok(Guarded::Done(outcome))
        }
        Ok(Err(message)) => {
            polling.leave();
            Err(message)
        }
        // Replies the unwinding dropped wait as orphans for this message.
        Err(payload) => {
            drop(polling);
            let message = panic_message(&*payload);
            answer_orphans(Some(&message));
            Ok(Guarded::Panicked(Box::new(message)))
        }
    }
}

/// Runs an `async` handler until it finishes, panics or is dropped by a kill.
#[inline]
fn handle_later<'a, A: Actor>(
    actor: &'a mut A,
    ctx: &'a mut Context<A>,
    cell: &'a ActorCell,
    message: A::Message,
    handler: &'static str,
) -> Guard<'a, impl Future<Output = Outcome> + 'a> {
    let span = tracing::debug_span!("handle", handler);
    // Boxed only while a subscriber wants it: a disabled span costs the task nothing.
    let span = (!span.is_disabled()).then(|| Box::new(span));
    guarded(cell, span, actor.handle(message, ctx))
}

/// A told handler returned `Err`: the failure hook decides whether the instance ends.
fn told_failure<'a, A: Actor>(
    actor: &'a mut A,
    ctx: &'a mut Context<A>,
    cell: &'a ActorCell,
    failure: &'a HandlerFailure,
) -> impl Future<Output = Option<(StopReason, EndCause)>> + 'a {
    async move {
        tracing::warn!(%failure, "told handler failed");
        let decision = guarded(cell, None, actor.on_failure(ctx, failure)).await;
        let cause = match decision {
            Guarded::Done(FailureAction::Resume) => return None,
            Guarded::Done(FailureAction::Stop) => EndCause::FinalFailure,
            Guarded::Done(FailureAction::Escalate) => EndCause::Escalate,
            Guarded::Done(FailureAction::Fail) => EndCause::Failure,
            Guarded::Panicked(message) => return Some(panicked("on_failure", *message)),
            Guarded::Dropped => return Some(dropped_work(cell)),
        };
        Some((failure.to_stop_reason(), cause))
    }
}

/// A handler (or failure hook) panicked: the instance fails.
fn panicked(handler: &'static str, message: String) -> (StopReason, EndCause) {
    tracing::error!(handler, panic = %message, "handler panicked");
    (StopReason::Panicked { handler, message }, EndCause::Failure)
}
