//! Time limits per call, and what a runtime lends this runtime-free crate to
//! enforce them: a timer and a way to send a CancelRequest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::error::Result;

/// A boxed future, as [`RuntimeHooks`] return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a connection needs from the runtime it runs on besides its stream: a
/// timer (for time limits and `connect_timeout`) and a way to send a
/// CancelRequest over a new connection. The adapters (`pgwire-tokio`,
/// `pgwire-smol`, `pgwire-async-std`) install theirs on every connection
/// they open; embedders with their own transport set one with
/// [`Connection::set_runtime_hooks`](crate::Connection::set_runtime_hooks).
///
/// ```
/// use std::time::Duration;
/// use pgwire_conn::{BoxFuture, CancelToken, RuntimeHooks};
///
/// /// Hooks for a runtime with a timer but no way to open a second socket.
/// struct TimerOnly;
///
/// impl RuntimeHooks for TimerOnly {
///     fn sleep(&self, after: Duration) -> BoxFuture<()> {
///         Box::pin(async move { std::thread::sleep(after) }) // a real runtime's timer here
///     }
///     fn cancel(&self, _token: CancelToken) -> BoxFuture<pgwire_conn::Result<()>> {
///         Box::pin(async { Err(pgwire_conn::Error::InvalidInput("no cancel here".into())) })
///     }
/// }
/// ```
pub trait RuntimeHooks: Send + Sync + 'static {
    /// Completes after `after`.
    fn sleep(&self, after: Duration) -> BoxFuture<()>;

    /// Sends a CancelRequest for `token` and completes once the server has
    /// handled it (it closes the connection after signalling the session);
    /// see [`cancel_with`](crate::cancel_with).
    fn cancel(&self, token: CancelToken) -> BoxFuture<Result<()>>;
}

/// What became of a call whose time limit passed
/// ([`Error::QueryTimeout`](crate::Error::QueryTimeout)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutOutcome {
    /// The request was never sent: it waited for the connection (another
    /// task's transaction, a full pipeline) all along.
    NotSent,
    /// The server cancelled the statement (SQLSTATE 57014): it had no
    /// effect, outside a transaction; inside one, the transaction failed.
    /// The connection answers the next query at once.
    Cancelled,
    /// It could not be cancelled safely (other tasks' requests were already
    /// on their way behind it, and a cancel request could have hit one of
    /// them) or the cancel request failed: the statement may still run to
    /// completion, and its answer is discarded when it comes.
    Abandoned,
}

impl std::fmt::Display for TimeoutOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutOutcome::NotSent => "it was not sent",
            TimeoutOutcome::Cancelled => "the server cancelled it",
            TimeoutOutcome::Abandoned => "it may still run on the server",
        })
    }
}

/// The longest a cancel request may hold back the connection's writes: the
/// cancel is given up after this (and the query treated as not cancelled).
pub(crate) const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// A call's time limit, running.
pub(crate) struct Deadline {
    pub(crate) after: Duration,
    sleep: BoxFuture<()>,
    passed: bool,
    pub(crate) hooks: Arc<dyn RuntimeHooks>,
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline")
            .field("after", &self.after)
            .field("passed", &self.passed)
            .finish_non_exhaustive()
    }
}

impl Deadline {
    pub(crate) fn start(after: Duration, hooks: &Arc<dyn RuntimeHooks>) -> Self {
        Deadline {
            after,
            sleep: hooks.sleep(after),
            passed: false,
            hooks: Arc::clone(hooks),
        }
    }

    /// True once the time limit has passed (registers the waker until then).
    pub(crate) fn poll_passed(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.passed && self.sleep.as_mut().poll(cx).is_ready() {
            self.passed = true;
        }
        self.passed
    }
}

/// Races `op` against the deadline, if any: `None` if the time ran out.
pub(crate) async fn before_deadline<F: Future>(
    deadline: Option<&mut Deadline>,
    op: F,
) -> Option<F::Output> {
    let Some(deadline) = deadline else {
        return Some(op.await);
    };
    let mut op = std::pin::pin!(op);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = op.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if deadline.poll_passed(cx) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// `op`, unless `limit` passes first on the runtime's timer (then `op` is
/// dropped): `None`.
pub(crate) async fn within<F: Future>(
    hooks: &Arc<dyn RuntimeHooks>,
    limit: Duration,
    op: F,
) -> Option<F::Output> {
    let op = std::pin::pin!(op);
    match futures_util::future::select(op, hooks.sleep(limit)).await {
        futures_util::future::Either::Left((out, _)) => Some(out),
        futures_util::future::Either::Right(_) => None,
    }
}
