//! The engine's one rule for std mutexes: a panic elsewhere does not make their data unusable.

use std::sync::{Mutex, MutexGuard};

/// Locks a std mutex, recovering the data if a panic poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
