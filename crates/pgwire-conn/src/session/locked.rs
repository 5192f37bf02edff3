//! The connection's lock, held: whoever takes it first queues the work
//! dropped guards owe, and whoever lets it go sends that work at once if
//! nothing else will. So a dropped transaction's ROLLBACK leaves without
//! waiting for the next query.

use std::ops::{Deref, DerefMut};
use std::task::{Context, Waker};

use async_lock::MutexGuard;
use futures_io::{AsyncRead, AsyncWrite};

use crate::session::inner::Inner;
use crate::session::owed::Owed;

pub(crate) struct Locked<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    guard: MutexGuard<'c, Inner<S>>,
    /// Owed work was queued while we held the lock, and may be unsent.
    queued_owed: bool,
}

impl<'c, S> Locked<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The lock, taken to read: urgent owed work is queued.
    pub(crate) fn new(guard: MutexGuard<'c, Inner<S>>) -> Self {
        Self::settled(guard, true)
    }

    /// The lock, taken to queue a request: all owed work goes first.
    pub(crate) fn for_request(guard: MutexGuard<'c, Inner<S>>) -> Self {
        Self::settled(guard, false)
    }

    fn settled(guard: MutexGuard<'c, Inner<S>>, urgent_only: bool) -> Self {
        let mut locked = Locked {
            guard,
            queued_owed: false,
        };
        locked.settle(urgent_only);
        locked
    }

    /// Applies a cache capacity set meanwhile and queues owed work (on
    /// letting go, only the urgent part), ahead of anything the holder
    /// queues. Returns true if it queued requests.
    fn settle(&mut self, urgent_only: bool) -> bool {
        let inner = &mut *self.guard;
        if let Some(capacity) = inner.shared.status.take_cache_capacity() {
            for name in inner.cache.set_capacity(capacity) {
                inner.shared.book.owe(Owed::CloseStatement(name));
            }
        }
        let mut queued = false;
        if !inner.shared.book.has_owed() {
            return false;
        }
        let mut deferred = Vec::new();
        for work in inner.shared.book.take_owed(urgent_only) {
            let copying = inner.machine.is_copy_in() || inner.machine.copy_in_open();
            match work {
                // Waits for the COPY FROM STDIN under way to end.
                work if copying && !work.fits_copy_in() => deferred.push(work),
                Owed::DiscardAhead(owner) => inner.discard_ahead(owner),
                work => {
                    if let Err(e) = work.queue(&mut inner.machine) {
                        inner.fail(e.into());
                        break;
                    }
                    queued = true;
                }
            }
        }
        for work in deferred {
            inner.shared.book.owe(work);
        }
        self.queued_owed |= queued;
        queued
    }

    /// Lets go of the lock from a poll: owed work that arrived meanwhile is
    /// queued and sent with this task's waker.
    pub(crate) fn release(mut self, cx: &mut Context<'_>) {
        self.settle(true);
        if self.queued_owed && self.guard.machine.has_output() {
            self.queued_owed = false;
            let _ = self.guard.poll_flush(cx);
        }
    }
}

impl<S> Deref for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Target = Inner<S>;

    fn deref(&self) -> &Inner<S> {
        &self.guard
    }
}

impl<S> DerefMut for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn deref_mut(&mut self) -> &mut Inner<S> {
        &mut self.guard
    }
}

impl<S> Drop for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        self.settle(true);
        if !self.queued_owed || !self.guard.machine.has_output() {
            return;
        }
        // No task to wake here: try a write that does not wait. Only when
        // no task waits for the socket to take bytes (its wake-up would be
        // replaced by this no-op one); if the socket is full, the first
        // owner in line is asked to send it.
        if self.guard.write_blocked() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        if self.guard.poll_flush(&mut cx).is_pending() {
            self.guard.shared.book.wake_head();
        }
    }
}
