//! The actor's task: start hook, the one-message-at-a-time loop, and the way out (dead letters
//! for what is left, the stop hook, the stop reason). What a single handler call does lives in
//! `dispatch`; how messages get in lives in `actor_ref`.

use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use futures::FutureExt;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::__private::{Message, Outcome};
use crate::actor_ref::{CURRENT_ACTOR, Shared};
use crate::dead_letter::DeadLetterReason;
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
    let mut ctx = Context::new(shared.clone());
    let start = match AssertUnwindSafe(actor.on_start(&mut ctx))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(payload) => Err(format!("panicked: {}", panic_message(&*payload))),
    };
    if let Some(started) = started {
        let _ = started.send(start.clone());
    }
    let reason = match start {
        Ok(()) => {
            tracing::debug!("started");
            message_loop(&mut actor, &mut ctx, &shared, &mut rx).await
        }
        Err(error) => {
            tracing::warn!(%error, "start hook failed");
            StopReason::StartFailed(error)
        }
    };

    // The way out: nothing new gets in, what is left becomes dead letters, then the stop hook.
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
    if !matches!(reason, StopReason::StartFailed(_)) {
        let hook = AssertUnwindSafe(actor.on_stop(&mut ctx, &reason)).catch_unwind();
        if let Err(payload) = hook.await {
            tracing::error!(panic = %panic_message(&*payload), "stop hook panicked");
        }
    }
    drop(actor);
    drop(ctx);
    tracing::debug!(%reason, "stopped");
    shared.cell.system.actor_finished();
    shared.cell.finish(reason);
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
        let mut control = pin!(cell.control.notified());
        let next = poll_fn(|cx| {
            if let Poll::Ready(env) = rx.poll_recv(cx) {
                // `None` cannot happen while `shared` holds a sender; treat it as released.
                return Poll::Ready(env.map_or(Next::Released, Next::Envelope));
            }
            if !cell.has_refs() {
                return Poll::Ready(Next::Released);
            }
            control.as_mut().poll(cx).map(|()| Next::Control)
        })
        .await;
        let (message, source) = match next {
            Next::Envelope(Envelope::Message(message)) => (message, None),
            Next::Envelope(Envelope::Sourced(message, source)) => {
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
        let outcome = {
            let call = actor
                .handle(message, ctx)
                .instrument(tracing::debug_span!("handle", handler));
            let mut call = pin!(call);
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut call => break outcome,
                    () = cell.control.notified() => {
                        if cell.is_killed() {
                            return StopReason::Killed;
                        }
                    }
                }
            }
        };

        if let Some(source) = source {
            source.mark_handled();
        }
        match outcome {
            Outcome::Done => {}
            Outcome::Failed(failure) => {
                tracing::warn!(%failure, "told handler failed");
                let decision = AssertUnwindSafe(actor.on_failure(ctx, &failure))
                    .catch_unwind()
                    .await;
                match decision {
                    Ok(FailureAction::Resume) => {}
                    Ok(_) => return failure.to_stop_reason(),
                    Err(payload) => {
                        return StopReason::Panicked {
                            handler: "on_failure",
                            message: panic_message(&*payload),
                        };
                    }
                }
            }
            Outcome::Panicked { handler, message } => {
                tracing::error!(handler, panic = %message, "handler panicked");
                return StopReason::Panicked { handler, message };
            }
        }
        if ctx.stop_requested() {
            return StopReason::Stopped;
        }
    }
}
