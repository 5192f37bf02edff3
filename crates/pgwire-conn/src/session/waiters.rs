//! Tasks that wait for the connection's lock without a place in its queue.
//!
//! A place in an async mutex's queue is handed over when the lock is let
//! go; if the task given it never polls again (a stream left unpolled after
//! a timeout gave up on its `next()`), the tasks behind it wait for
//! nothing. So the readers that may be left unpolled (answer streams, the
//! notification stream) never queue: they try the lock, leave their waker
//! here, try once more, and whoever lets the lock go wakes them all to try
//! again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::Waker;

#[derive(Debug, Default)]
pub(crate) struct LockWaiters {
    any: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl LockWaiters {
    /// Wakes `waker` at the next release of the lock.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        self.any.store(true, Ordering::Release);
    }

    /// After the lock was let go: every waiting task tries again.
    pub(crate) fn wake_all(&self) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let wakers = {
            let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
            self.any.store(false, Ordering::Release);
            std::mem::take(&mut *wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}
