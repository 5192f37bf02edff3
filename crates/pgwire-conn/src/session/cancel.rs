//! Cancelling what the server runs without hitting anyone else.
//!
//! PostgreSQL cancels whatever the session executes when the CancelRequest
//! arrives. With requests pipelined, that could be the next task's query if
//! ours finished meanwhile. So a cancel is sent only when every request
//! already written from the one running onwards is unwanted (ours, or
//! abandoned by a dropped future), and a fence holds back every write until
//! the server has handled the cancel: the postmaster signals the backend
//! before it closes the cancel connection, and a backend that is idle when
//! the signal lands ignores it. So once our cancel future completes, a
//! request written afterwards cannot be hit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::cancel::CancelToken;
use crate::session::book::Book;
use crate::session::Shared;
use crate::timeout::{BoxFuture, RuntimeHooks, CANCEL_WAIT};

/// Holds the connection's writes back while it lives.
pub(crate) struct Fence {
    shared: Arc<Shared>,
}

impl Fence {
    /// Raises the fence for owner `owner`; `None` if one is already up.
    pub(crate) fn raise(shared: &Arc<Shared>, owner: u64) -> Option<Fence> {
        shared.book.fence_on(owner).then(|| Fence {
            shared: Arc::clone(shared),
        })
    }

    fn book(&self) -> &Book {
        &self.shared.book
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        // Whoever reads first sends what was held back.
        self.book().fence_off();
    }
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fence")
    }
}

/// A cancel request on its way, bounded by [`CANCEL_WAIT`]; lowers the fence
/// when done or dropped. Resolves to whether the server handled it.
pub(crate) struct Cancelling {
    send: BoxFuture<crate::Result<()>>,
    cap: BoxFuture<()>,
    fence: Option<Fence>,
}

impl std::fmt::Debug for Cancelling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancelling").finish_non_exhaustive()
    }
}

impl Cancelling {
    pub(crate) fn start(hooks: &Arc<dyn RuntimeHooks>, token: CancelToken, fence: Fence) -> Self {
        Cancelling {
            send: hooks.cancel(token),
            cap: hooks.sleep(CANCEL_WAIT),
            fence: Some(fence),
        }
    }
}

impl Future for Cancelling {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let sent = match self.send.as_mut().poll(cx) {
            Poll::Ready(result) => result.is_ok(),
            Poll::Pending if self.cap.as_mut().poll(cx).is_ready() => false,
            Poll::Pending => return Poll::Pending,
        };
        self.fence = None;
        Poll::Ready(sent)
    }
}
