//! The task that runs one actor: its instances one after another (start hooks, the one-message-at-a-time
//! loop, the stop hook and drop), the wait for its supervisor's word between them, and the way
//! out (dead letters for what is left, the stop reason). How a hook or handler is polled lives
//! in `task/guard`; what a single handler call does in `macro_support`; what a supervisor decides
//! in `tree::node`.

mod guard;
mod messages;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;

use self::guard::{Guarded, InSpan, guarded};
use self::messages::message_loop;
pub(crate) use self::messages::{Next, next_envelope};
use crate::actor::cell::ActorCell;
use crate::actor::cell::Phase;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::MailboxReceiver;
use crate::actor::shared::Shared;
use crate::actor::stop_reason::panic_message;
use crate::macro_support::Message;
use crate::tree::node::{Directive, EndCause, StartReport, SupervisorNode};
use crate::{Actor, Context, RestartInfo, StartError, StopReason};

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

/// Spawns the task that runs one actor from its start hook to its end, through any restarts,
/// in its tracing span (only wrapped in it while a subscriber wants it). Not boxed: the future
/// lives in tokio's task cell, one allocation per actor instead of two (with glibc's allocator
/// the second one, beside tokio's 128-byte-aligned cell, fragmented the heap and made asking
/// and stopping many actors a third to two thirds slower).
pub(crate) fn spawn<A: Actor>(
    launch: Launch<A>,
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
) {
    let label = &shared.cell.label;
    let span = tracing::info_span!(
        "actor",
        id = label.id.as_u64(),
        name = label.name.as_deref().unwrap_or(""),
        actor = std::any::type_name::<A>(),
    );
    let task = Task::new(launch, shared, rx);
    if span.is_disabled() {
        drop(tokio::spawn(task.run()));
    } else {
        drop(tokio::spawn(InSpan::new(span, task.run())));
    }
}

impl<A: Actor> Task<A> {
    fn new(launch: Launch<A>, shared: Arc<Shared<A>>, rx: MailboxReceiver<A::Message>) -> Self {
        let Launch {
            actor,
            factory,
            parent,
            started,
        } = launch;
        let supervised = match (factory, parent.clone()) {
            (Some(factory), Some(parent)) => Some(Box::new(Supervised {
                factory,
                parent,
                restart: None,
                unmade: None,
            })),
            _ => None,
        };
        Task {
            ctx: Context::new(shared.clone()),
            shared,
            rx,
            actor: Some(actor),
            supervised,
            parent,
            report: started.map(Box::new),
        }
    }
}

/// What only a supervised actor carries between its instances; boxed, so that other actors'
/// tasks do not.
struct Supervised<A: Actor> {
    factory: Factory<A>,
    parent: Arc<SupervisorNode>,
    /// Why and how often it was last restarted.
    restart: Option<RestartInfo>,
    /// Why the factory could not make the next instance.
    unmade: Option<StopReason>,
}

/// Everything an actor's task keeps between its instances.
struct Task<A: Actor> {
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
    ctx: Context<A>,
    /// The current (or next) instance's state; `None` between instances, or when the factory
    /// failed.
    actor: Option<A>,
    supervised: Option<Box<Supervised<A>>>,
    parent: Option<Arc<SupervisorNode>>,
    /// Told once the next instance's start hooks have run. Boxed: few spawns wait, and an
    /// `Option` of the sender alone would be two words in every actor's task.
    report: Option<Box<StartReport>>,
}

impl<A: Actor> Task<A> {
    /// The actor's whole life: each instance's start hooks, message loop and end, then its
    /// supervisor's word on a restart. Supervised or not, every instance runs inline, so a
    /// supervised actor handles messages as fast as any other.
    ///
    /// Not an `async fn`: the future keeps the task's fields once, in place.
    #[allow(
        clippy::manual_async_fn,
        reason = "an `async fn` would keep its arguments twice in the task"
    )]
    fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            // From now on every message, kill and release wakes this task, also while a hook
            // or handler runs (see `mailbox/wake`). (Below, `self.shared.cell` is written out
            // rather than kept in a local: a reference kept across `.await`s would be one more
            // word in every actor's task.)
            std::future::poll_fn(|cx| Poll::Ready(self.rx.register(&self.shared.tx, cx.waker())))
                .await;
            let reason = loop {
                let (reason, cause) = if let Some(actor) = &mut self.actor {
                    // The start's future and result are temporaries of the `if let` (edition
                    // 2024), gone before the `else` runs: the task does not keep them beside the
                    // loop's state.
                    let (ended, ran) = if let Err(ended) = start_instance(
                        actor,
                        &mut self.ctx,
                        &self.shared.cell,
                        self.supervised.as_deref(),
                        self.report.take(),
                    )
                    .await
                    {
                        tracing::warn!(reason = %ended.0, "did not start");
                        (ended, false)
                    } else {
                        tracing::debug!("started");
                        let looping =
                            message_loop(actor, &mut self.ctx, &self.shared, &mut self.rx);
                        (looping.await, true)
                    };
                    let last = self.supervised.is_none()
                        || matches!(
                            ended.1,
                            EndCause::External | EndCause::FinalFailure | EndCause::Escalate
                        );
                    let ending = Ending { ended, ran, last };
                    // Only an actor with children or a stop hook has anything to wait for.
                    if self.ctx.children().is_some() || (ran && A::HAS_STOP_HOOK) {
                        end_instance(
                            &mut self.actor,
                            &mut self.ctx,
                            &self.shared,
                            &mut self.rx,
                            ending,
                        )
                        .await
                    } else {
                        let ended = begin_end(&mut self.ctx, &self.shared, &mut self.rx, ending);
                        self.shared.cell.end_links(&ended.0);
                        drop_state(&mut self.actor);
                        ended
                    }
                } else {
                    let unmade = self.supervised.as_mut().and_then(|s| s.unmade.take());
                    (unmade.unwrap_or(StopReason::Killed), EndCause::Failure)
                };
                let Some(sup) = self.supervised.as_mut() else {
                    break reason;
                };
                let Some(directive) = sup
                    .parent
                    .child_ended(self.shared.cell.id(), &reason, cause)
                else {
                    break reason;
                };
                let report = match guarded(&self.shared.cell, None, directive).await {
                    Guarded::Done(Ok(Directive::Restart { started })) => started,
                    Guarded::Done(Ok(Directive::Stop) | Err(_)) | Guarded::Panicked(_) => {
                        break reason;
                    }
                    Guarded::Dropped => break StopReason::Killed,
                };
                let count = sup.restart.as_ref().map_or(0, |r| r.count) + 1;
                tracing::info!(%reason, count, "restarting");
                sup.restart = Some(RestartInfo { reason, count });
                self.shared.cell.take_interrupt();
                self.shared.cell.count_restart();
                self.shared.cell.set_ended_in_failure(false);
                self.shared.cell.set_phase(Phase::Starting);
                self.ctx.begin_instance(count);
                match make(&mut sup.factory) {
                    Ok(actor) => {
                        self.actor = Some(actor);
                        self.report = Some(Box::new(report));
                    }
                    Err(failed) => {
                        let error = match &failed {
                            StopReason::StartFailed(error) => error.clone(),
                            other => StartError::from(other.to_string()),
                        };
                        let _ = report.send(Err(error));
                        sup.unmade = Some(failed);
                    }
                }
            };
            // Closed already unless the last instance expected a restart; closing twice is harmless.
            shutdown(&self.shared, &mut self.rx);
            self.ctx.end_task();
            tracing::debug!(%reason, "stopped");
            self.finish(reason);
            // Nothing waits for this task now: its waker goes, and its memory with it.
            self.shared.tx.forget_wakers();
        }
    }

    /// Records the actor's end exactly once: it leaves its parent and the registry, then
    /// `stopped()` resolves.
    fn finish(&mut self, reason: StopReason) {
        let cell = &self.shared.cell;
        if let Some(parent) = &self.parent {
            parent.forget(cell.id());
        }
        cell.system.actor_finished(cell, &reason);
        cell.finish(reason);
    }
}

/// A task dropped before its end (its runtime was dropped without a shutdown) still ends the
/// actor: its mailbox closes, so senders waiting for room (plain threads in `blocking_send`
/// included) get `Stopped`, and the messages left are dropped, so their askers get `Stopped`
/// (also those awaiting on another runtime, or blocked in `Ask::blocking`); then the end is
/// recorded, so `stopped()` never waits forever. (A drop guard inside the task's future would
/// be two more words in it.)
impl<A: Actor> Drop for Task<A> {
    fn drop(&mut self) {
        if !self.shared.cell.is_finished() {
            shutdown(&self.shared, &mut self.rx);
            self.finish(StopReason::Killed);
            self.shared.tx.forget_wakers();
        }
    }
}

/// The next instance from the factory; a panic there is a failed start.
fn make<A: Actor>(factory: &mut Factory<A>) -> Result<A, StopReason> {
    std::panic::catch_unwind(AssertUnwindSafe(factory)).map_err(|payload| {
        let message = panic_message(&*payload);
        tracing::error!(panic = %message, "actor factory panicked");
        StopReason::StartFailed(StartError::panicked(format!(
            "the factory panicked: {message}"
        )))
    })
}

/// Runs the start hooks (the restart hook first on a restarted instance) and reports the
/// result to whoever waits; the end to record if they failed. Only an actor that has hooks
/// awaits this: for the others [`started`] alone runs, without a future.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the task"
)]
fn start_hooks<'a, A: Actor>(
    actor: &'a mut A,
    ctx: &'a mut Context<A>,
    cell: &'a ActorCell,
    restart: Option<&'a RestartInfo>,
    report: Option<StartReport>,
    reported: bool,
) -> impl Future<Output = Result<(), (StopReason, EndCause)>> + 'a {
    async move {
        let hooks = async {
            if let Some(info) = restart {
                actor.on_restart(ctx, info).await;
            }
            actor.on_start(ctx).await
        };
        let start = match guarded(cell, None, hooks).await {
            Guarded::Done(result) => result.map_err(StopReason::StartFailed),
            Guarded::Panicked(message) => Err(StopReason::StartFailed(StartError::panicked(
                format!("panicked: {message}"),
            ))),
            Guarded::Dropped => Err(StopReason::Killed), // or aborted: see `started`
        };
        started(cell, start, report, reported)
    }
}

/// An instance's start: its restart and start hooks if it has any, then [`started`]. Its own
/// future, awaited to the end before the message loop begins, so that none of what it keeps
/// stays in the task beside the loop (the task-size test below guards this).
fn start_instance<'a, A: Actor>(
    actor: &'a mut A,
    ctx: &'a mut Context<A>,
    cell: &'a ActorCell,
    supervised: Option<&'a Supervised<A>>,
    report: Option<Box<StartReport>>,
) -> impl Future<Output = Result<(), (StopReason, EndCause)>> + 'a {
    let restart = supervised.and_then(|s| s.restart.as_ref());
    // A failed first start that a spawner waits on is reported to it, not retried.
    let reported = report.is_some() && restart.is_none();
    let report = report.map(|report| *report);
    async move {
        if A::HAS_START_HOOKS {
            start_hooks(actor, ctx, cell, restart, report, reported).await
        } else {
            started(cell, Ok(()), report, reported)
        }
    }
}

/// The start hooks ended with `start` (`Ok` for an actor without any): the actor runs, and
/// whoever waits is told; the end to record if they failed.
fn started(
    cell: &ActorCell,
    start: Result<(), StopReason>,
    report: Option<StartReport>,
    reported: bool,
) -> Result<(), (StopReason, EndCause)> {
    if start.is_ok() {
        cell.set_phase(Phase::Running);
        cell.tell_idle();
    }
    if let Some(report) = report {
        let _ = report.send(start.clone().map_err(|reason| match reason {
            StopReason::StartFailed(error) => error,
            other => StartError::from(format!("{other} while starting")),
        }));
    }
    start.map_err(|reason| match reason {
        StopReason::Killed => dropped_work(cell),
        reason if reported => (reason, EndCause::FinalFailure),
        reason => (reason, EndCause::Failure),
    })
}

/// How an instance ended, for [`end_instance`].
struct Ending {
    ended: (StopReason, EndCause),
    /// Whether its start hooks ran to the end (then its stop hook runs).
    ran: bool,
    /// Whether no restart can follow (then the mailbox closes).
    last: bool,
}

/// Ends an instance: its children stop, links are told, the stop hook runs (if the start hooks
/// did), and the state is dropped (a motor's safe state). The mailbox is closed too if this is
/// the last instance. Returns how it ended, which a kill in the stop hook changes. An actor
/// without children or a stop hook ends without this future (see `Task::run`).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the task"
)]
fn end_instance<'a, A: Actor>(
    actor: &'a mut Option<A>,
    ctx: &'a mut Context<A>,
    shared: &'a Shared<A>,
    rx: &'a mut MailboxReceiver<A::Message>,
    ending: Ending,
) -> impl Future<Output = (StopReason, EndCause)> + 'a {
    async move {
        let cell = &shared.cell;
        let ran = ending.ran;
        let mut ended = begin_end(ctx, shared, rx, ending);
        if let Some(children) = ctx.children().cloned() {
            // Boxed: most actors have no children, and this future (with its timer) would
            // otherwise make every actor's task larger.
            Box::pin(children.stop_children(cell.is_killed())).await;
        }
        cell.end_links(&ended.0);
        if let (true, true, Some(actor)) = (ran, A::HAS_STOP_HOOK, actor.as_mut()) {
            let stopped = { guarded(cell, None, actor.on_stop(ctx, &ended.0)).await };
            match stopped {
                Guarded::Done(()) => {}
                Guarded::Panicked(message) => {
                    tracing::error!(panic = %message, "stop hook panicked");
                    let reason = StopReason::StopHookPanicked {
                        reason: Box::new(ended.0),
                        message: *message,
                    };
                    cell.record_failure(&reason);
                    ended.0 = reason;
                }
                Guarded::Dropped if cell.is_killed() => {
                    // Killed while stopping (a hook that hangs): the kill is how it ended.
                    tracing::warn!("killed in its stop hook");
                    shutdown(shared, rx);
                    ended = (StopReason::Killed, EndCause::External);
                }
                Guarded::Dropped => {
                    cell.take_interrupt(); // aborted for a sibling's restart: it is ending anyway
                }
            }
        }
        drop_state(actor);
        ended
    }
}

/// What every instance's end does first, before its children stop: the failure and phase are
/// recorded, its tasks cancelled, and the mailbox closed if no restart can follow.
fn begin_end<A: Actor>(
    ctx: &mut Context<A>,
    shared: &Shared<A>,
    rx: &mut MailboxReceiver<A::Message>,
    ending: Ending,
) -> (StopReason, EndCause) {
    let cell = &shared.cell;
    let Ending { ended, last, .. } = ending;
    let reason = &ended.0;
    if reason.is_failure() {
        cell.record_failure(reason);
    }
    cell.set_ended_in_failure(reason.is_failure());
    if cell.progress().1 {
        cell.step(); // a panic or kill ended the handler
    }
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
    ended
}

/// Drops the instance's state: the actor's `Drop` (a motor's safe state) runs before anyone
/// learns it has stopped, and a panic there is logged, not spread.
fn drop_state<A>(actor: &mut Option<A>) {
    let state = actor.take();
    if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(state))) {
        tracing::error!(panic = %panic_message(&*payload), "actor's drop panicked");
    }
}

/// Nothing new gets in, and what is left in the mailbox becomes dead letters (asks among them
/// get `Stopped`). Also how a pool's router ends.
pub(crate) fn shutdown<A: Actor>(shared: &Shared<A>, rx: &mut MailboxReceiver<A::Message>) {
    if rx.is_closed() {
        return;
    }
    shared.cell.mark_stopping();
    rx.close(&shared.tx);
    while let Some(env) = rx.try_recv(&shared.tx) {
        if let Some(message) = env.into_message() {
            let handler = message.handler_name();
            shared
                .cell
                .dead_letter_of(handler, DeadLetterReason::Dropped, message);
        }
    }
}

/// Why work was dropped: a kill (final), or an abort for a sibling's restart.
fn dropped_work(cell: &ActorCell) -> (StopReason, EndCause) {
    if !cell.is_killed()
        && let Some(reason) = cell.take_interrupt()
    {
        let cause = interrupt_cause(&reason);
        return (reason, cause);
    }
    (StopReason::Killed, EndCause::External)
}

/// The cause of an instance ended by an interrupt.
fn interrupt_cause(reason: &StopReason) -> EndCause {
    match reason {
        StopReason::SiblingFailed { .. } => EndCause::SiblingRestart,
        _ => EndCause::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActorSystem, Mailbox};

    struct Small {
        total: u64,
    }

    #[crate::actor]
    impl Small {
        #[handler]
        fn add(&mut self, n: u64) {
            self.total += n;
        }
    }

    /// tokio keeps the task's future inside its task cell: a 32-byte header, 24 bytes of core
    /// around the future, a 48-byte trailer, aligned to 128 bytes. A small actor's future of at
    /// most 408 bytes puts the cell in the 512-byte class (one more byte: 640), which is what
    /// keeps an idle actor under a kilobyte (see the README's Performance section).
    #[tokio::test]
    async fn a_small_actors_task_fits_a_512_byte_task_cell() {
        let system = ActorSystem::new("size");
        let (shared, rx) = system.new_actor::<Small>(None, None, Mailbox::DEFAULT);
        system.enroll(shared.clone()).expect("enrolled");
        let launch = Launch {
            actor: Small { total: 0 },
            factory: None,
            parent: None,
            started: None,
        };
        let task = Task::new(launch, shared, rx).run();
        let size = std::mem::size_of_val(&task);
        assert!(
            size <= 408,
            "a small actor's task future is {size} bytes, over 408"
        );
        drop(task);
    }

    /// The message loop moves each handler's outcome several times (out of the handler, out
    /// of its guard, into the loop's state): the rare failures are boxed, so it is two words,
    /// not the 64 bytes an unboxed `HandlerFailure` or panic message made it.
    #[test]
    fn a_handlers_outcome_is_two_words() {
        use crate::macro_support::Outcome;
        assert_eq!(std::mem::size_of::<Outcome>(), 8);
        assert!(std::mem::size_of::<Guarded<Outcome>>() <= 16);
    }
}
