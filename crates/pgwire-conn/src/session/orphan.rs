//! A cancel request whose sender was dropped on its way. The server may
//! still handle it, and if its target finished meanwhile it would land on
//! whatever runs next: so the fence stays up, and whoever uses the
//! connection next drives the request to its end before anything else is
//! written. No background task is needed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::session::cancel::Cancelling;

/// Wakes every task that polled the orphan: the request's socket keeps one
/// waker, and each of them waits for it.
#[derive(Debug, Default)]
struct FanOut(Mutex<Vec<Waker>>);

impl FanOut {
    fn add(&self, waker: &Waker) {
        let mut wakers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    fn wake_all(&self) {
        let wakers = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Wake for FanOut {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

#[derive(Debug, Default)]
pub(crate) struct Orphan {
    slot: Mutex<Option<Box<Cancelling>>>,
    /// A cancel request is in the slot (cheap check).
    present: AtomicBool,
    waiters: Arc<FanOut>,
}

impl Orphan {
    /// Takes over a cancel request its sender could not finish.
    pub(crate) fn adopt(&self, cancelling: Box<Cancelling>) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(cancelling);
        self.present.store(true, Ordering::Release);
        // Someone must drive it: wake whoever waits.
        self.waiters.wake_all();
    }

    /// Drives the orphaned cancel request, if any: ready once there is none.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.present.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(cancelling) = slot.as_mut() else {
            return Poll::Ready(());
        };
        self.waiters.add(cx.waker());
        let waker = Waker::from(Arc::clone(&self.waiters));
        let mut fanned = Context::from_waker(&waker);
        match Pin::new(cancelling.as_mut()).poll(&mut fanned) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                // Dropping it lowers the fence.
                *slot = None;
                self.present.store(false, Ordering::Release);
                drop(slot);
                self.waiters.wake_all();
                Poll::Ready(())
            }
        }
    }
}
