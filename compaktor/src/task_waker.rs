//! [`TaskWaker`]: where an actor's task waits for a message, a kill or a release, and what
//! wakes it. What the task then looks at (the mailbox, the signals) lives in `mailbox` and
//! `actor_ref`.
//!
//! An actor is one tokio task for its whole life, so its waker never changes. The slot keeps
//! the first waker registered and wakes it by reference: a send does one atomic operation on
//! the task (tokio's own), where a `futures` `AtomicWaker` does four to six (register, clone,
//! take, wake by value, drop). Any other waker (a combinator's inside a handler, another task,
//! a test's) is kept in a second, `AtomicWaker`, slot, made the first time one registers; from
//! then on every wake wakes both.
//!
//! The price is in the ordering: because the task's waker is never taken, a waiter cannot
//! learn from the slot whether a wake came after it registered. So:
//! - a waiter that registered its waker *afresh* ([`Registered::Fresh`]) looks at its
//!   condition again under the lock its wakers took to change it (the mailbox), or after a
//!   `SeqCst` fence ([`TaskWaker::register`] makes it) for a condition set by a fenced
//!   [`wake`](TaskWaker::wake);
//! - a waiter whose waker was already in the slot needs nothing more: every wake wakes it.

use std::sync::OnceLock;
use std::sync::atomic::{Ordering, fence};
use std::task::Waker;

use futures::task::AtomicWaker;

/// The waker slot of an actor's task. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct TaskWaker {
    /// The first waker registered: the actor's task's, woken by reference and never taken.
    task: OnceLock<Waker>,
    /// Any other waker, made the first time one registers (boxed: almost no actor needs it).
    other: OnceLock<Box<AtomicWaker>>,
}

/// Whether [`TaskWaker::register`] changed what is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registered {
    /// This waker was already in the slot: any later wake wakes it.
    Kept,
    /// Newly registered: a wake that looked at the slot before may have missed it, so the
    /// caller looks at its condition again (see the [module docs](self)).
    Fresh,
}

impl TaskWaker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers `waker` to be woken by the next [`wake`](Self::wake) (and, for the task's own
    /// waker, by every one after it). A fresh registration is followed by a `SeqCst` fence.
    #[inline]
    pub(crate) fn register(&self, waker: &Waker) -> Registered {
        if let Some(task) = self.task.get()
            && task.will_wake(waker)
        {
            return Registered::Kept;
        }
        self.register_slow(waker)
    }

    #[cold]
    fn register_slow(&self, waker: &Waker) -> Registered {
        let mut fresh = Some(waker);
        self.task
            .get_or_init(|| fresh.take().expect("once").clone());
        if fresh.is_some() {
            // The slot holds another task's waker.
            self.other
                .get_or_init(|| Box::new(AtomicWaker::new()))
                .register(waker);
        }
        fence(Ordering::SeqCst);
        Registered::Fresh
    }

    /// Wakes whoever is registered, for a condition set before this call (a signal, the last
    /// reference gone). The `SeqCst` fence pairs with the one after a fresh registration.
    pub(crate) fn wake(&self) {
        fence(Ordering::SeqCst);
        self.wake_queued();
    }

    /// [`wake`](Self::wake) without the fence, for a message pushed under the mailbox's lock: a
    /// waiter that registered afresh looks at the mailbox again under that lock.
    #[inline]
    pub(crate) fn wake_queued(&self) {
        if let Some(task) = self.task.get() {
            task.wake_by_ref();
        }
        if let Some(other) = self.other.get() {
            other.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use futures::task::{ArcWake, waker};

    use super::*;

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counted() -> (Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes::default());
        (wakes.clone(), waker(wakes))
    }

    #[test]
    fn the_first_waker_stays_registered_and_is_woken_every_time() {
        let slot = TaskWaker::new();
        let (wakes, task) = counted();
        slot.wake(); // nobody registered yet: nothing to wake, nothing lost
        assert_eq!(slot.register(&task), Registered::Fresh);
        assert_eq!(slot.register(&task.clone()), Registered::Kept);
        slot.wake_queued();
        slot.wake();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn another_waker_is_woken_once_per_registration_beside_the_first() {
        let slot = TaskWaker::new();
        let (task_wakes, task) = counted();
        let (other_wakes, other) = counted();
        slot.register(&task);
        assert_eq!(slot.register(&other), Registered::Fresh);
        slot.wake_queued();
        slot.wake_queued(); // the other waker was taken by the first wake
        assert_eq!(task_wakes.0.load(Ordering::SeqCst), 2);
        assert_eq!(other_wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(slot.register(&other), Registered::Fresh);
        slot.wake();
        assert_eq!(other_wakes.0.load(Ordering::SeqCst), 2);
    }
}
