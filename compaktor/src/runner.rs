//! The actor's task: start hook, the one-message-at-a-time loop, and the way out (dead letters
//! for what is left, the stop hook, the stop reason). What a single handler call does lives in
//! `dispatch`; how messages get in lives in `actor_ref`.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;

use futures::FutureExt;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::__private::{Message, Outcome};
use crate::actor_ref::{ActorCell, CURRENT_ACTOR, Shared};
use crate::dead_letter::DeadLetterReason;
use crate::dispatch::{PanicCleanup, Polling, answer_orphans, current_handler};
use crate::mailbox::{Envelope, MailboxReceiver};
use crate::stop::panic_message;
use crate::{Actor, Context, FailureAction, StopReason};

/// Reports the start hook's result to whoever waits on the spawn.
pub(crate) type StartReport = oneshot::Sender<Result<(), String>>;

/// Runs one actor from its start hook to its end.
pub(crate) async fn run<A: Actor>(
    actor: A,
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
    started: Option<StartReport>,
) {
    let label = &shared.cell.label;
    let span = tracing::info_span!(
        "actor",
        id = label.id.as_u64(),
        name = label.name.as_deref().unwrap_or(""),
        actor = std::any::type_name::<A>(),
    );
    let id = label.id;
    CURRENT_ACTOR
        .scope(id, lifecycle(actor, shared, rx, started))
        .instrument(span)
        .await;
}

async fn lifecycle<A: Actor>(
    mut actor: A,
    shared: Arc<Shared<A>>,
    mut rx: MailboxReceiver<A::Message>,
    started: Option<StartReport>,
) {
    let finish = FinishGuard(&shared.cell);
    let mut ctx = Context::new(shared.clone());
    let start = {
        let start = pin!(AssertUnwindSafe(actor.on_start(&mut ctx)).catch_unwind());
        until_killed(&shared.cell, "on_start", &tracing::Span::none(), start).await
    };
    let start = match start {
        Some(Ok(result)) => result.map_err(StopReason::StartFailed),
        Some(Err(payload)) => Err(StopReason::StartFailed(format!(
            "panicked: {}",
            panic_message(&*payload)
        ))),
        None => Err(StopReason::Killed),
    };
    if let Some(started) = started {
        let _ = started.send(start.clone().map_err(|reason| match reason {
            StopReason::StartFailed(error) => error,
            other => format!("{other} while starting"),
        }));
    }
    let reason = match start {
        Ok(()) => {
            tracing::debug!("started");
            let reason = {
                // Declared first, dropped last: while the loop's state is dropped after a
                // panic, the in-flight reply learns the panic message.
                let cleanup = PanicCleanup::default();
                let looping = pin!(
                    AssertUnwindSafe(message_loop(&mut actor, &mut ctx, &shared, &mut rx))
                        .catch_unwind()
                );
                match looping.await {
                    Ok(reason) => reason,
                    Err(payload) => {
                        let (handler, message) = (current_handler(), panic_message(&*payload));
                        tracing::error!(handler, panic = %message, "handler panicked");
                        cleanup.set(message.clone());
                        StopReason::Panicked { handler, message }
                    }
                }
            };
            shutdown(&shared, &mut ctx, &mut rx);
            let hook = AssertUnwindSafe(actor.on_stop(&mut ctx, &reason)).catch_unwind();
            if let Err(payload) = hook.await {
                tracing::error!(panic = %panic_message(&*payload), "stop hook panicked");
            }
            reason
        }
        Err(reason) => {
            tracing::warn!(%reason, "did not start");
            shutdown(&shared, &mut ctx, &mut rx);
            reason
        }
    };
    // The actor's `Drop` (a motor's safe state) runs before anyone learns it has stopped.
    if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(actor))) {
        tracing::error!(panic = %panic_message(&*payload), "actor's drop panicked");
    }
    drop(ctx);
    tracing::debug!(%reason, "stopped");
    finish.done(reason);
}

/// Nothing new gets in, timers end, and what is left in the mailbox becomes dead letters (asks
/// among them get `Stopped`).
fn shutdown<A: Actor>(
    shared: &Shared<A>,
    ctx: &mut Context<A>,
    rx: &mut MailboxReceiver<A::Message>,
) {
    shared.cell.mark_stopping();
    ctx.cancel_tasks();
    rx.close();
    while let Some(env) = rx.try_recv() {
        if let Some(message) = env.into_message() {
            shared
                .cell
                .dead_letter(message.handler_name(), DeadLetterReason::Dropped);
        }
    }
}

/// Records the actor's end exactly once, also if its task is dropped (runtime shutdown), so
/// `stopped()` never waits forever.
struct FinishGuard<'a>(&'a ActorCell);

impl FinishGuard<'_> {
    fn done(self, reason: StopReason) {
        self.0.system.actor_finished();
        self.0.finish(reason);
        std::mem::forget(self);
    }
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        self.0.system.actor_finished();
        self.0.finish(StopReason::Killed);
    }
}

/// Runs `work` unless the actor is killed first (`None`); a kill drops `work` at its next
/// `.await`.
/// `span` is entered around each poll, as `tracing::Instrument` would (without wrapping, and so
/// moving, the work future).
async fn until_killed<F: Future>(
    cell: &ActorCell,
    handler: &'static str,
    span: &tracing::Span,
    mut work: Pin<&mut F>,
) -> Option<F::Output> {
    poll_fn(|cx| {
        let polling = Polling::enter(handler);
        let entered = span.enter();
        let polled = work.as_mut().poll(cx);
        drop(entered);
        if polling.leave() {
            // A panic the handler caught itself dropped some replies: not this actor's to
            // answer.
            answer_orphans(None);
        }
        if let Poll::Ready(output) = polled {
            return Poll::Ready(Some(output));
        }
        // Register before looking, so a kill in between still wakes us.
        cell.control.register(cx.waker());
        if cell.is_killed() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// What woke the idle actor.
enum Next<M> {
    Envelope(Envelope<M>),
    /// No references left and nothing queued.
    Released,
    /// A kill, or a reference count change: look again.
    Control,
}

async fn message_loop<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    shared: &Shared<A>,
    rx: &mut MailboxReceiver<A::Message>,
) -> StopReason {
    let cell = &shared.cell;
    loop {
        if cell.is_killed() {
            return StopReason::Killed;
        }
        let next = poll_fn(|cx| {
            if let Poll::Ready(env) = rx.poll_recv(cx) {
                // `None` cannot happen while `shared` holds a sender; treat it as released.
                return Poll::Ready(env.map_or(Next::Released, Next::Envelope));
            }
            // Register before looking, so a kill or a last drop in between still wakes us.
            cell.control.register(cx.waker());
            if cell.is_killed() {
                Poll::Ready(Next::Control)
            } else if !cell.has_refs() && rx.is_empty() {
                Poll::Ready(Next::Released)
            } else {
                Poll::Pending
            }
        })
        .await;
        let (message, source) = match next {
            Next::Envelope(Envelope::Message(message)) => (message, None),
            Next::Envelope(Envelope::Sourced(sourced)) => {
                let (message, source) = *sourced;
                if source.is_cancelled() {
                    continue; // queued before its timer was cancelled: stale
                }
                (message, Some(source))
            }
            Next::Envelope(Envelope::Stop) => return StopReason::Stopped,
            Next::Released => return StopReason::Released,
            Next::Control => continue,
        };

        let handler = message.handler_name();
        let span = tracing::debug_span!("handle", handler);
        let outcome = {
            let call = pin!(actor.handle(message, ctx));
            until_killed(cell, handler, &span, call).await
        };
        let Some(outcome) = outcome else {
            return StopReason::Killed;
        };

        if let Some(source) = source {
            source.mark_handled();
        }
        match outcome {
            Outcome::Done => {}
            Outcome::Failed(failure) => {
                tracing::warn!(%failure, "told handler failed");
                // A panic here is caught around the loop, like a handler's.
                let decision = {
                    let hook = pin!(actor.on_failure(ctx, &failure));
                    until_killed(cell, "on_failure", &tracing::Span::none(), hook).await
                };
                match decision {
                    None => return StopReason::Killed,
                    Some(FailureAction::Resume) => {}
                    Some(_) => return failure.to_stop_reason(),
                }
            }
        }
        if ctx.stop_requested() {
            return StopReason::Stopped;
        }
    }
}
