//! The actor's task: its instances one after another (start hooks, the one-message-at-a-time
//! loop, the stop hook and drop), the wait for its supervisor's word between them, and the way
//! out (dead letters for what is left, the stop reason). What a single handler call does lives
//! in `dispatch`; what a supervisor decides lives in `supervisor`.

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
use crate::health::Phase;
use crate::mailbox::{Envelope, MailboxReceiver};
use crate::stop::panic_message;
use crate::supervisor::{Directive, EndCause, SupervisorNode};
use crate::{Actor, Context, FailureAction, RestartInfo, StopReason};

/// Reports the start hook's result to whoever waits on the spawn (or on a restart).
pub(crate) type StartReport = oneshot::Sender<Result<(), String>>;

/// Makes a supervised actor's next instance.
pub(crate) type Factory<A> = Box<dyn FnMut() -> A + Send>;

/// What an actor's task starts from.
pub(crate) struct Launch<A: Actor> {
    pub(crate) actor: A,
    /// With a parent: the actor can be restarted.
    pub(crate) factory: Option<Factory<A>>,
    pub(crate) parent: Option<Arc<SupervisorNode>>,
    pub(crate) started: Option<StartReport>,
}

/// Runs one actor from its start hook to its end, through any restarts. Not an `async fn`: the
/// wrappers are built here, so the task does not also keep this function's arguments.
pub(crate) fn run<A: Actor>(
    launch: Launch<A>,
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
) -> impl Future<Output = ()> + Send {
    let label = &shared.cell.label;
    let span = tracing::info_span!(
        "actor",
        id = label.id.as_u64(),
        name = label.name.as_deref().unwrap_or(""),
        actor = std::any::type_name::<A>(),
    );
    let id = label.id;
    CURRENT_ACTOR
        .scope(id, lifecycle(launch, shared, rx))
        .instrument(span)
}

/// What only a supervised actor carries between its instances; boxed, so that other actors'
/// tasks do not.
struct Supervised<A: Actor> {
    factory: Factory<A>,
    parent: Arc<SupervisorNode>,
    /// Why and how often it was last restarted.
    restart: Option<RestartInfo>,
}

/// Not an `async fn`, so the task keeps each of these values once (an `async fn` would keep
/// its arguments and the locals moved out of them). Supervised or not, every instance runs
/// inline in the task, so a supervised actor handles messages as fast as any other.
fn lifecycle<A: Actor>(
    launch: Launch<A>,
    shared: Arc<Shared<A>>,
    mut rx: MailboxReceiver<A::Message>,
) -> impl Future<Output = ()> + Send {
    let Launch {
        actor,
        factory,
        parent,
        started,
    } = launch;
    let mut ctx = Context::new(shared.clone());
    let mut supervised = match (factory, parent.clone()) {
        (Some(factory), Some(parent)) => Some(Box::new(Supervised {
            factory,
            parent,
            restart: None,
        })),
        _ => None,
    };
    async move {
        let cell = &shared.cell;
        let finish = FinishGuard {
            cell,
            parent: parent.as_deref(),
        };
        let is_supervised = supervised.is_some();
        // A failed first start that a spawner waits on is reported to it, not retried.
        let reported = started.is_some();
        let (mut reason, mut cause) = Instance {
            shared: &shared,
            ctx: &mut ctx,
            rx: &mut rx,
            supervised: is_supervised,
        }
        .run(actor, None, started, reported)
        .await;
        let reason = loop {
            let Some(sup) = supervised.as_mut() else {
                break reason;
            };
            let Some(directive) = sup.parent.child_ended(cell.id(), &reason, cause) else {
                break reason;
            };
            let directive = {
                let directive = pin!(directive);
                until_killed(cell, "restart", &tracing::Span::none(), directive).await
            };
            let report = match directive {
                Some(Ok(Directive::Restart { started: report })) => report,
                Some(Ok(Directive::Stop) | Err(_)) => break reason,
                None => break StopReason::Killed,
            };
            let count = sup.restart.as_ref().map_or(0, |r| r.count) + 1;
            tracing::info!(%reason, count, "restarting");
            sup.restart = Some(RestartInfo { reason, count });
            cell.take_interrupt();
            cell.count_restart();
            cell.set_ended_in_failure(false);
            cell.set_phase(Phase::Starting);
            ctx.begin_instance(count);
            (reason, cause) = match make(&mut sup.factory) {
                Ok(actor) => {
                    Instance {
                        shared: &shared,
                        ctx: &mut ctx,
                        rx: &mut rx,
                        supervised: true,
                    }
                    .run(actor, sup.restart.as_ref(), Some(report), false)
                    .await
                }
                Err(failed) => {
                    let _ = report.send(Err(failed.to_string()));
                    (failed, EndCause::Failure)
                }
            };
        };
        // Closed already unless the last instance expected a restart; closing twice is harmless.
        shutdown(&shared, &mut rx);
        drop(ctx);
        tracing::debug!(%reason, "stopped");
        finish.done(reason);
    }
}

/// The next instance from the factory; a panic there is a failed start.
fn make<A: Actor>(factory: &mut Factory<A>) -> Result<A, StopReason> {
    std::panic::catch_unwind(AssertUnwindSafe(factory)).map_err(|payload| {
        let message = panic_message(&*payload);
        tracing::error!(panic = %message, "actor factory panicked");
        StopReason::StartFailed(format!("the factory panicked: {message}"))
    })
}

/// One instance of an actor: what it runs with.
struct Instance<'a, A: Actor> {
    shared: &'a Arc<Shared<A>>,
    ctx: &'a mut Context<A>,
    rx: &'a mut MailboxReceiver<A::Message>,
    supervised: bool,
}

impl<A: Actor> Instance<'_, A> {
    /// Runs the instance's hooks and messages, then ends it: its children stop, links are
    /// told, the stop hook runs, and the state is dropped (a motor's safe state). The mailbox
    /// is closed too, unless a supervisor may restart the actor.
    ///
    /// Not an `async fn`: the task keeps `self`'s parts once, not also `self`.
    fn run(
        self,
        mut actor: A,
        restart: Option<&RestartInfo>,
        started: Option<StartReport>,
        reported: bool,
    ) -> impl Future<Output = (StopReason, EndCause)> + Send {
        let Instance {
            shared,
            ctx,
            rx,
            supervised,
        } = self;
        async move {
            let cell = &shared.cell;
            // In an `if let` (edition 2024), the start's result is gone before the loop runs, so
            // the task does not keep it beside the loop's state.
            let (reason, cause, ran) = if let Err((reason, cause)) =
                start_hooks(&mut actor, ctx, cell, restart, started, reported).await
            {
                (reason, cause, false)
            } else {
                tracing::debug!("started");
                // Declared first, dropped last: while the loop's state is dropped after a panic,
                // the in-flight reply learns the panic message.
                let cleanup = PanicCleanup::default();
                let looping = pin!(
                    AssertUnwindSafe(message_loop(&mut actor, ctx, shared, rx)).catch_unwind()
                );
                let (reason, cause) = match looping.await {
                    Ok(end) => end,
                    Err(payload) => {
                        let (handler, message) = (current_handler(), panic_message(&*payload));
                        tracing::error!(handler, panic = %message, "handler panicked");
                        cleanup.set(message.clone());
                        (StopReason::Panicked { handler, message }, EndCause::Failure)
                    }
                };
                (reason, cause, true)
            };
            if !ran {
                tracing::warn!(%reason, "did not start");
            }
            if reason.is_failure() {
                cell.record_failure(&reason);
            }
            cell.set_ended_in_failure(reason.is_failure());
            if cell.progress().1 {
                cell.step(); // a panic or kill ended the handler
            }

            let last = !supervised
                || matches!(
                    cause,
                    EndCause::External | EndCause::FinalFailure | EndCause::Escalate
                );
            cell.set_phase(if last {
                Phase::Stopping
            } else {
                Phase::Restarting
            });
            ctx.cancel_tasks();
            ctx.end_instance();
            if last {
                shutdown(shared, rx);
            }
            if let Some(children) = ctx.children() {
                // Boxed: most actors have no children, and this future (with its timer) would
                // otherwise make every actor's task larger.
                Box::pin(children.stop_children(cell.is_killed())).await;
            }
            cell.end_links(&reason);
            let mut ended = (reason, cause);
            if ran {
                let stopped = {
                    let hook = pin!(AssertUnwindSafe(actor.on_stop(ctx, &ended.0)).catch_unwind());
                    until_killed(cell, "on_stop", &tracing::Span::none(), hook).await
                };
                match stopped {
                    Some(Ok(())) => {}
                    Some(Err(payload)) => {
                        tracing::error!(panic = %panic_message(&*payload), "stop hook panicked");
                    }
                    None if cell.is_killed() => {
                        // Killed while stopping (a hook that hangs): the kill is how it ended.
                        tracing::warn!("killed in its stop hook");
                        shutdown(shared, rx);
                        ended = (StopReason::Killed, EndCause::External);
                    }
                    None => {
                        cell.take_interrupt(); // aborted for a sibling's restart: it is ending anyway
                    }
                }
            }
            // The actor's `Drop` (a motor's safe state) runs before anyone learns it has stopped.
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(actor))) {
                tracing::error!(panic = %panic_message(&*payload), "actor's drop panicked");
            }
            ended
        }
    }
}

/// Runs the start hooks (the restart hook first on a restarted instance) and reports the
/// result to whoever waits; the end to record if they failed.
async fn start_hooks<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    cell: &ActorCell,
    restart: Option<&RestartInfo>,
    started: Option<StartReport>,
    reported: bool,
) -> Result<(), (StopReason, EndCause)> {
    let start = {
        let hooks = async {
            if let Some(info) = restart {
                actor.on_restart(ctx, info).await;
            }
            actor.on_start(ctx).await
        };
        let start = pin!(AssertUnwindSafe(hooks).catch_unwind());
        until_killed(cell, "on_start", &tracing::Span::none(), start).await
    };
    let start = match start {
        Some(Ok(result)) => result.map_err(StopReason::StartFailed),
        Some(Err(payload)) => Err(StopReason::StartFailed(format!(
            "panicked: {}",
            panic_message(&*payload)
        ))),
        None => Err(StopReason::Killed), // or aborted: see below
    };
    if start.is_ok() {
        cell.set_phase(Phase::Running);
        cell.tell_idle();
    }
    if let Some(started) = started {
        let _ = started.send(start.clone().map_err(|reason| match reason {
            StopReason::StartFailed(error) => error,
            other => format!("{other} while starting"),
        }));
    }
    start.map_err(|reason| match reason {
        StopReason::Killed => dropped_work(cell),
        reason if reported => (reason, EndCause::FinalFailure),
        reason => (reason, EndCause::Failure),
    })
}

/// Nothing new gets in, and what is left in the mailbox becomes dead letters (asks among them
/// get `Stopped`).
fn shutdown<A: Actor>(shared: &Shared<A>, rx: &mut MailboxReceiver<A::Message>) {
    if rx.is_closed() {
        return;
    }
    shared.cell.mark_stopping();
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
/// `stopped()` never waits forever: it leaves its parent, the registry, then `stopped()`
/// resolves.
struct FinishGuard<'a> {
    cell: &'a ActorCell,
    parent: Option<&'a SupervisorNode>,
}

impl FinishGuard<'_> {
    fn done(self, reason: StopReason) {
        self.leave(reason);
        std::mem::forget(self);
    }

    fn leave(&self, reason: StopReason) {
        if let Some(parent) = self.parent {
            parent.forget(self.cell.id());
        }
        self.cell.system.actor_finished(self.cell, &reason);
        self.cell.finish(reason);
    }
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        self.leave(StopReason::Killed);
    }
}

/// Runs `work` unless the actor is killed first (`None`); a kill drops `work` at its next
/// `.await`.
/// `span` is entered around each poll, as `tracing::Instrument` would (without wrapping, and so
/// moving, the work future).
fn until_killed<'a, F: Future>(
    cell: &'a ActorCell,
    handler: &'static str,
    span: &'a tracing::Span,
    mut work: Pin<&'a mut F>,
) -> impl Future<Output = Option<F::Output>> + 'a {
    // Not an `async fn`: the closure owns its captures, so the task holds them once.
    poll_fn(move |cx| {
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
        if cell.must_drop_work() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
}

/// Why work was dropped: a kill (final), or an abort for a sibling's restart.
fn dropped_work(cell: &ActorCell) -> (StopReason, EndCause) {
    if !cell.is_killed()
        && let Some(reason) = cell.take_interrupt()
    {
        let cause = match reason {
            StopReason::SiblingFailed { .. } => EndCause::SiblingRestart,
            _ => EndCause::Failure,
        };
        return (reason, cause);
    }
    (StopReason::Killed, EndCause::External)
}

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
pub(crate) fn next_envelope<'a, M>(
    cell: &'a ActorCell,
    rx: &'a mut MailboxReceiver<M>,
) -> impl Future<Output = Next<M>> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(env) = rx.poll_recv(cx) {
            // `None` cannot happen while the cell's owner holds a sender; treat it as released.
            return Poll::Ready(env.map_or(Next::Released, Next::Envelope));
        }
        // Register before looking, so a kill or a last drop in between still wakes us.
        cell.control.register(cx.waker());
        if cell.is_signalled() {
            Poll::Ready(Next::Control)
        } else if !cell.has_refs() && rx.is_empty() {
            Poll::Ready(Next::Released)
        } else {
            Poll::Pending
        }
    })
}

async fn message_loop<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    shared: &Shared<A>,
    rx: &mut MailboxReceiver<A::Message>,
) -> (StopReason, EndCause) {
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
                let cause = match reason {
                    StopReason::SiblingFailed { .. } => EndCause::SiblingRestart,
                    _ => EndCause::Failure,
                };
                return (reason, cause);
            }
        }
        let next = next_envelope(cell, rx).await;
        let (message, source) = match next {
            Next::Envelope(Envelope::Message(message)) => (message, None),
            Next::Envelope(Envelope::Sourced(sourced)) => {
                let (message, source) = *sourced;
                if source.is_cancelled() {
                    continue; // queued before its timer was cancelled: stale
                }
                (message, Some(source))
            }
            Next::Envelope(Envelope::Stop) => return (StopReason::Stopped, EndCause::External),
            Next::Released => return (StopReason::Released, EndCause::External),
            Next::Control => continue,
        };

        let handler = message.handler_name();
        let span = tracing::debug_span!("handle", handler);
        cell.step();
        let outcome = {
            let call = pin!(actor.handle(message, ctx));
            until_killed(cell, handler, &span, call).await
        };
        let Some(outcome) = outcome else {
            return dropped_work(cell);
        };
        cell.step();
        cell.tell_idle();

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
                let cause = match decision {
                    None => return dropped_work(cell),
                    Some(FailureAction::Resume) => None,
                    Some(FailureAction::Stop) => Some(EndCause::FinalFailure),
                    Some(FailureAction::Escalate) => Some(EndCause::Escalate),
                    Some(FailureAction::Restart) => Some(EndCause::Failure),
                };
                if let Some(cause) = cause {
                    return (failure.to_stop_reason(), cause);
                }
            }
        }
    }
}
