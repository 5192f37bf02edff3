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
use crate::session::Shared;

pub(crate) struct Locked<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// `None` only while `Drop` lets the lock go.
    guard: Option<MutexGuard<'c, Inner<S>>>,
    /// Owed work was queued while we held the lock, and may be unsent.
    queued_owed: bool,
    /// Who to wake once the lock is let go.
    shared: &'c Shared,
}

impl<'c, S> Locked<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The lock, taken to read: urgent owed work is queued.
    pub(crate) fn new(guard: MutexGuard<'c, Inner<S>>, shared: &'c Shared) -> Self {
        Self::settled(guard, shared, true)
    }

    /// The lock, taken to queue a request: all owed work goes first.
    pub(crate) fn for_request(guard: MutexGuard<'c, Inner<S>>, shared: &'c Shared) -> Self {
        Self::settled(guard, shared, false)
    }

    fn settled(guard: MutexGuard<'c, Inner<S>>, shared: &'c Shared, urgent_only: bool) -> Self {
        let mut locked = Locked {
            guard: Some(guard),
            queued_owed: false,
            shared,
        };
        locked.settle(urgent_only);
        locked
    }

    /// Applies a cache capacity set meanwhile and queues owed work (on
    /// letting go, only the urgent part), ahead of anything the holder
    /// queues. Returns true if it queued requests.
    fn settle(&mut self, urgent_only: bool) -> bool {
        let inner = &mut **self;
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
            let batching = inner.machine.in_batch();
            match work {
                // Waits for the COPY FROM STDIN under way to end.
                work if copying && !work.fits_copy_in() => deferred.push(work),
                // Waits for the batch being written to end.
                work if batching && !work.fits_batch() => deferred.push(work),
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
        if self.queued_owed && self.machine.has_output() {
            self.queued_owed = false;
            let _ = self.poll_flush(cx);
        }
    }
}

impl<S> Deref for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Target = Inner<S>;

    fn deref(&self) -> &Inner<S> {
        match &self.guard {
            Some(guard) => guard,
            None => unreachable!("the lock is used after it was let go"),
        }
    }
}

impl<S> DerefMut for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn deref_mut(&mut self) -> &mut Inner<S> {
        match &mut self.guard {
            Some(guard) => guard,
            None => unreachable!("the lock is used after it was let go"),
        }
    }
}

impl<S> Drop for Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        self.write_owed();
        // Let go of the lock, then wake who waits for it (after: a task
        // that tried while we held it must find it free).
        drop(self.guard.take());
        self.shared.lock_waiters.wake_all();
    }
}

impl<S> Locked<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Owed work queued on letting go leaves now if the socket takes it.
    fn write_owed(&mut self) {
        self.settle(true);
        if !self.queued_owed || !self.machine.has_output() {
            return;
        }
        // No task to wake here: try a write that does not wait. Only when
        // no task waits for the socket to take bytes (its wake-up would be
        // replaced by this no-op one); if the socket is full, the first
        // owner in line is asked to send it.
        if self.write_blocked() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        if self.poll_flush(&mut cx).is_pending() {
            self.shared.book.wake_head();
        }
    }
}
