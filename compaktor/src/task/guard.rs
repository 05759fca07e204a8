//! How the actor's task polls what it does not control: [`guarded`] work (a hook or an async
//! handler) that may panic or be dropped by a kill. What the task does with the result lives in `task`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::actor::cell::ActorCell;
use crate::actor::running::Running;
use crate::actor::stop_reason::panic_message;
use crate::macro_support::{PanicCleanup, Polling, answer_orphans};

/// How guarded work ended.
pub(crate) enum Guarded<T> {
    Done(T),
    /// It panicked, with this message; its state has been dropped. Boxed: rare, and the
    /// loop moves a `Guarded` for every message.
    #[allow(
        clippy::box_collection,
        reason = "one word instead of three in what every message's loop moves"
    )]
    Panicked(Box<String>),
    /// Dropped unfinished: the actor was killed, or aborted for a sibling's restart.
    Dropped,
}

pin_project_lite::pin_project! {
    /// Polls `work` (a hook or an `async` handler; with `span`, if any, entered around each
    /// poll, as `tracing::Instrument` would) until it finishes, panics, or the actor is killed
    /// (then it is dropped at its next `.await`). It owns the work, so the task keeps it once.
    pub(crate) struct Guard<'a, F> {
        cell: &'a ActorCell,
        span: Option<Box<tracing::Span>>,
        #[pin]
        work: Option<F>,
    }
}

/// Guards `work` for the actor of `cell`; `span` is entered around each poll.
#[inline]
pub(crate) fn guarded<F: Future>(
    cell: &ActorCell,
    span: Option<Box<tracing::Span>>,
    work: F,
) -> Guard<'_, F> {
    Guard {
        cell,
        span,
        work: Some(work),
    }
}

impl<F: Future> Future for Guard<'_, F> {
    type Output = Guarded<F::Output>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(work) = this.work.as_mut().as_pin_mut() else {
            panic!("guarded work polled after it ended");
        };
        let _running = Running::enter(this.cell);
        let polling = Polling::enter();
        let entered = this.span.as_deref().map(tracing::Span::enter);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| work.poll(cx)));
        drop(entered);
        let polled = match polled {
            Ok(polled) => polled,
            Err(payload) => {
                drop(polling);
                let message = panic_message(&*payload);
                // Replies the unwinding dropped, and those still in the work's state (dropped
                // here), tell their askers the panic message.
                let cleanup = PanicCleanup::default();
                cleanup.set(message.clone());
                this.work.set(None);
                drop(cleanup);
                return Poll::Ready(Guarded::Panicked(Box::new(message)));
            }
        };
        if polling.leave() {
            // A panic the work caught itself dropped some replies: not this actor's to answer.
            answer_orphans(None);
        }
        if let Poll::Ready(output) = polled {
            this.work.set(None);
            return Poll::Ready(Guarded::Done(output));
        }
        // The actor's task is registered with its mailbox from its first poll (see
        // `task`), so a kill wakes it and this looks again.
        if this.cell.must_drop_work() {
            this.work.set(None);
            Poll::Ready(Guarded::Dropped)
        } else {
            Poll::Pending
        }
    }
}

pin_project_lite::pin_project! {
    /// `tracing::Instrument` for the actor's whole task, with the span boxed only while a
    /// subscriber wants it: a disabled span costs an idle actor nothing.
    pub(crate) struct InSpan<F> {
        span: Option<Box<tracing::Span>>,
        #[pin]
        task: F,
    }
}

impl<F> InSpan<F> {
    pub(crate) fn new(span: tracing::Span, task: F) -> Self {
        InSpan {
            span: (!span.is_disabled()).then(|| Box::new(span)),
            task,
        }
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.as_deref().map(tracing::Span::enter);
        this.task.poll(cx)
    }
}
