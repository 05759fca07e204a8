//! How the actor's task polls what it does not control: which actor runs on this thread (for
//! sends to oneself), and [`guarded`] work (a hook or an async handler) that may panic or be
//! dropped by a kill. What the task does with the result lives in `runner`.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::Poll;

use crate::ActorId;
use crate::actor_ref::ActorCell;
use crate::dispatch::{Polling, answer_orphans};
use crate::stop::panic_message;

thread_local! {
    /// The id of the actor whose task this thread is polling; 0 for none (ids start at 1).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The actor running on this thread, if any: so that sends to oneself can be recognised.
pub(crate) fn current_actor() -> Option<ActorId> {
    match CURRENT.with(Cell::get) {
        0 => None,
        id => Some(ActorId(id)),
    }
}

/// Marks this thread as running `id` until dropped (also on a panic), restoring what was
/// marked before.
pub(crate) struct Running(u64);

impl Running {
    #[inline]
    pub(crate) fn enter(id: ActorId) -> Running {
        Running(CURRENT.with(|current| current.replace(id.0)))
    }
}

impl Drop for Running {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

/// How guarded work ended.
pub(crate) enum Guarded<T> {
    Done(T),
    /// It panicked, with this message; its state is still to be dropped.
    Panicked(String),
    /// Dropped unfinished: the actor was killed, or aborted for a sibling's restart.
    Dropped,
}

/// Polls `work` (with `span`, if any, entered around each poll, as `tracing::Instrument` would,
/// without moving the work) until it finishes, panics, or the actor is killed (then it is dropped at
/// its next `.await`).
///
/// Not an `async fn`: the closure owns its captures, so the task holds them once.
pub(crate) fn guarded<'a, F: Future>(
    cell: &'a ActorCell,
    span: Option<&'a tracing::Span>,
    mut work: Pin<&'a mut F>,
) -> impl Future<Output = Guarded<F::Output>> + 'a {
    poll_fn(move |cx| {
        let _running = Running::enter(cell.id());
        let polling = Polling::enter();
        let entered = span.map(tracing::Span::enter);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx)));
        drop(entered);
        let polled = match polled {
            Ok(polled) => polled,
            // Replies the panic dropped wait as orphans for its message (see
            // `dispatch::PanicCleanup`); dropping `polling` marks the poll over.
            Err(payload) => return Poll::Ready(Guarded::Panicked(panic_message(&*payload))),
        };
        if polling.leave() {
            // A panic the handler caught itself dropped some replies: not this actor's to
            // answer.
            answer_orphans(None);
        }
        if let Poll::Ready(output) = polled {
            return Poll::Ready(Guarded::Done(output));
        }
        // Register before looking, so a kill in between still wakes us.
        cell.control.register(cx.waker());
        if cell.must_drop_work() {
            Poll::Ready(Guarded::Dropped)
        } else {
            Poll::Pending
        }
    })
}
