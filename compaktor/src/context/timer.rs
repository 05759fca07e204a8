//! Work an actor runs beside its mailbox: timers, attached streams, and their handles. Each is a
//! tokio task that turns its events into messages; `Context` starts them and aborts them when
//! the actor stops. A panic in one (in a closure the actor gave it, or in a stream) is caught
//! here, where the source runs, and fails the instance that started it
//! ([`StopReason::SourcePanicked`]): ordinary messages pay nothing for it.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};
use tokio::task::AbortHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::actor::cell::ActorCell;
use crate::actor::cell::Control;
use crate::actor::cell::Phase;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::{Envelope, SourceState};
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::actor::stop_reason::panic_message;
use crate::address::tell::Sending;
use crate::{Actor, ActorRef, MessageSource, StopReason, Tell};

/// What a periodic timer does when the actor fell behind and ticks were missed (the handler
/// took longer than the period, or the mailbox was full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissedTick {
    /// Drop the missed ticks and keep to the original schedule (a control loop that only wants
    /// the latest tick). The default.
    #[default]
    Skip,
    /// Send the missed ticks at once, to catch up on the count.
    Burst,
    /// Start the schedule again from the late tick, one period apart.
    Delay,
}

impl MissedTick {
    fn to_tokio(self) -> MissedTickBehavior {
        match self {
            MissedTick::Skip => MissedTickBehavior::Skip,
            MissedTick::Burst => MissedTickBehavior::Burst,
            MissedTick::Delay => MissedTickBehavior::Delay,
        }
    }
}

/// Controls a timer or an attached stream. Dropping the handle leaves it running; it ends when
/// the actor stops, or when [`cancel`](TaskHandle::cancel) is called.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    state: Arc<SourceState>,
    abort: AbortHandle,
}

impl TaskHandle {
    /// Stops the timer or stream. A tick already in the mailbox is skipped, not handled: no
    /// stale tick arrives after a cancel.
    pub fn cancel(&self) {
        self.state.cancel();
        self.abort.abort();
    }

    /// Whether it was cancelled, or has ended (a one-shot timer fired, a stream ran out).
    pub fn is_finished(&self) -> bool {
        self.state.is_cancelled() || self.abort.is_finished()
    }
}

/// A source of messages to one actor, for a spawned task. It holds the actor's cell without
/// counting as a reference, so it does not keep the actor alive.
pub(crate) struct Source<A: Actor> {
    shared: Arc<Shared<A>>,
    state: Arc<SourceState>,
}

impl<A: Actor> Source<A> {
    /// Builds the message with `make` and enqueues it, waiting for room. False when the actor
    /// is gone or the source was cancelled. `item` names what `make` was given, if anything:
    /// it is a dead letter if `make` panics.
    async fn deliver<R, E>(
        &self,
        item: Option<&'static str>,
        make: impl for<'r> FnOnce(&'r ActorRef<A>) -> Tell<'r, A, R, E>,
    ) -> bool
    where
        R: Send + 'static,
        E: Send + 'static,
    {
        if self.state.is_cancelled() || !self.shared.cell.is_running() {
            return false;
        }
        let me = ActorRef::from_core(RefCore::new(self.shared.clone()));
        let lost = LostIfPanics::new(&self.shared.cell, item);
        let (_, handler, message) = make(&me).into_parts();
        lost.disarm();
        drop(me);
        let env = Envelope::Sourced(Box::new((message, self.state.clone())));
        let mut landing = Landing {
            cell: &self.shared.cell,
            state: &self.state,
            handler,
            sending: Some(Sending::new(&self.shared, handler, env)),
        };
        let sending = landing.sending.as_mut().expect("just set");
        let sent = std::future::poll_fn(|cx| sending.poll_send(cx)).await;
        landing.sending = None; // sent, or refused and counted
        sent.is_ok()
    }
}

/// A message on its way into the mailbox: if the source is dropped while it waits for room
/// (its instance ended, as at a restart, where the mailbox stays), the message is a dead
/// letter that carries it, unless the source was cancelled.
struct Landing<'a, A: Actor> {
    cell: &'a ActorCell,
    state: &'a SourceState,
    handler: &'static str,
    sending: Option<Sending<'a, A>>,
}

impl<A: Actor> Drop for Landing<'_, A> {
    fn drop(&mut self) {
        if self.state.is_cancelled() {
            return;
        }
        if let Some(env) = self.sending.as_mut().and_then(Sending::take_envelope) {
            self.cell
                .dead_envelope(self.handler, DeadLetterReason::Dropped, env);
        }
    }
}

/// Spawns `task(source)` into `tasks` and hands back its handle. A panic in the task (a
/// closure the actor gave it, or its stream) fails the instance that started it: see
/// [`Starter::source_panicked`].
pub(crate) fn start<A, F, Fut>(
    tasks: &mut tokio::task::JoinSet<()>,
    shared: &Arc<Shared<A>>,
    kind: MessageSource,
    task: F,
) -> TaskHandle
where
    A: Actor,
    F: FnOnce(Source<A>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    while tasks.try_join_next().is_some() {}
    let state = Arc::new(SourceState::default());
    let source = Source {
        shared: shared.clone(),
        state: state.clone(),
    };
    let work = AssertUnwindSafe(task(source)).catch_unwind();
    let starter = Starter {
        shared: shared.clone(),
        state: state.clone(),
        instance: shared.cell.restarts(),
    };
    let abort = tasks.spawn(async move {
        if let Err(payload) = work.await {
            starter.source_panicked(kind, &*payload);
        }
    });
    TaskHandle { state, abort }
}

/// The instance that started a source, for when the source panics.
struct Starter<A: Actor> {
    shared: Arc<Shared<A>>,
    state: Arc<SourceState>,
    /// Its restart count: which instance it is.
    instance: u32,
}

impl<A: Actor> Starter<A> {
    /// The source panicked: its instance fails, between two messages (an interrupt, as for a
    /// linked actor's failure), with [`StopReason::SourcePanicked`]. A source that was
    /// cancelled, or whose instance has ended, fails nothing: the panic is only logged (its
    /// task was being aborted).
    fn source_panicked(&self, kind: MessageSource, payload: &(dyn Any + Send)) {
        let cell = &self.shared.cell;
        let reason = StopReason::SourcePanicked {
            source: kind,
            message: panic_message(payload),
        };
        let current = cell.restarts() == self.instance
            && matches!(cell.phase(), Phase::Starting | Phase::Running);
        let actor = &cell.label;
        if self.state.is_cancelled() || !current {
            tracing::error!(%actor, %reason, "a message source of an ended instance panicked");
            return;
        }
        tracing::error!(%actor, %reason, "a message source panicked: the actor fails");
        self.shared.interrupt(reason);
    }
}

/// Counts what a source's closure was given as a dead letter if the closure panics.
struct LostIfPanics<'a> {
    cell: &'a ActorCell,
    item: Option<&'static str>,
}

impl<'a> LostIfPanics<'a> {
    fn new(cell: &'a ActorCell, item: Option<&'static str>) -> Self {
        LostIfPanics { cell, item }
    }

    fn disarm(mut self) {
        self.item = None;
    }
}

impl Drop for LostIfPanics<'_> {
    fn drop(&mut self) {
        if let Some(item) = self.item {
            self.cell.dead_letter(item, DeadLetterReason::Dropped);
        }
    }
}

pub(crate) async fn once<A, F, R, E>(source: Source<A>, delay: Duration, make: F)
where
    A: Actor,
    F: for<'r> FnOnce(&'r ActorRef<A>) -> Tell<'r, A, R, E>,
    R: Send + 'static,
    E: Send + 'static,
{
    tokio::time::sleep(delay).await;
    source.deliver(None, make).await;
}

pub(crate) async fn every<A, F, R, E>(
    source: Source<A>,
    period: Duration,
    missed: MissedTick,
    mut make: F,
) where
    A: Actor,
    F: for<'r> FnMut(&'r ActorRef<A>) -> Tell<'r, A, R, E>,
    R: Send + 'static,
    E: Send + 'static,
{
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(missed.to_tokio());
    loop {
        interval.tick().await;
        if !source.deliver(None, &mut make).await {
            return;
        }
        // One tick in flight at a time: a slow actor misses ticks (and the policy applies)
        // instead of finding a backlog of them in its mailbox.
        source.state.wait_handled().await;
    }
}

pub(crate) async fn stream<A, S, F, R, E>(source: Source<A>, stream: S, mut make: F)
where
    A: Actor,
    S: Stream + Send + 'static,
    F: for<'r> FnMut(&'r ActorRef<A>, S::Item) -> Tell<'r, A, R, E>,
    R: Send + 'static,
    E: Send + 'static,
{
    let mut stream = std::pin::pin!(stream);
    let lost = Some(std::any::type_name::<S::Item>());
    while let Some(item) = stream.next().await {
        if !source.deliver(lost, |me| make(me, item)).await {
            return;
        }
    }
}
