//! [`Wakers`]: who waits on a mailbox (the actor's task, for a message, a kill or a release),
//! kept under the mailbox's lock. What they wait for lives in `mailbox` and `actor::shared`.
//!
//! An actor is one tokio task for its whole life, so its waker never changes: the first waker
//! registered is kept and woken *by reference* by every send, under the lock the send pushed
//! under. That is one atomic operation on the task (tokio's own) per send, where a `futures`
//! `AtomicWaker` takes four to six (register, clone, take, wake by value, drop). Any other
//! waker (another task's, a combinator's, a test's) waits in a second slot, taken by the next
//! wake. Both are dropped when the actor's task ends, while its memory is still warm.

use std::task::Waker;

/// The wakers waiting on one mailbox. Only touched under the mailbox's lock.
#[derive(Default)]
pub(super) struct Wakers {
    /// The first waker registered (the actor's task's): woken by reference, never taken.
    task: Option<Waker>,
    /// Another waker, woken (and taken) by the next wake. Like an `AtomicWaker` it holds one:
    /// a second other waiter replaces the first (no caller has two).
    other: Option<Waker>,
}

impl Wakers {
    /// Registers `waker`; true if it is the kept one, which every later wake wakes.
    pub(super) fn register(&mut self, waker: &Waker) -> bool {
        match &self.task {
            None => {
                self.task = Some(waker.clone());
                true
            }
            Some(task) if task.will_wake(waker) => true,
            Some(_) => {
                match &mut self.other {
                    Some(other) if other.will_wake(waker) => {}
                    other => *other = Some(waker.clone()),
                }
                false
            }
        }
    }

    /// Wakes the kept waker, and the other one if any.
    #[inline]
    pub(super) fn wake(&mut self) {
        if let Some(task) = &self.task {
            task.wake_by_ref();
        }
        if let Some(other) = self.other.take() {
            other.wake();
        }
    }

    /// Forgets every waker (the actor's task has ended); the caller drops them unlocked.
    pub(super) fn take(&mut self) -> Wakers {
        std::mem::take(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::mailbox::tests::{counted, wakes};

    #[test]
    fn the_first_waker_stays_registered_and_is_woken_every_time() {
        let mut wakers = Wakers::default();
        let (count, task) = counted();
        wakers.wake(); // nobody registered yet: nothing to wake
        assert!(wakers.register(&task));
        assert!(wakers.register(&task.clone()));
        wakers.wake();
        wakers.wake();
        assert_eq!(wakes(&count), 2);
    }

    #[test]
    fn another_waker_is_woken_once_per_registration_beside_the_first() {
        let mut wakers = Wakers::default();
        let (task_count, task) = counted();
        let (other_count, other) = counted();
        wakers.register(&task);
        assert!(!wakers.register(&other));
        wakers.wake();
        wakers.wake(); // the other waker was taken by the first wake
        assert_eq!(wakes(&task_count), 2);
        assert_eq!(wakes(&other_count), 1);
    }

    #[test]
    fn taken_wakers_are_no_longer_woken() {
        let mut wakers = Wakers::default();
        let (count, task) = counted();
        wakers.register(&task);
        drop(wakers.take());
        wakers.wake();
        assert_eq!(wakes(&count), 0);
    }
}
