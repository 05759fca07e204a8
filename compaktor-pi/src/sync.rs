//! The crate's one locking rule: a poisoned mutex is taken anyway.
//!
//! A panic while a device, the E-stop's list or the simulated world is locked must not keep the
//! safe state from running afterwards, so every lock in this crate goes through [`lock`].

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking it even if a panic poisoned it.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
