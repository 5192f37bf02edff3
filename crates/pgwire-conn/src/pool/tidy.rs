//! Making a connection fit to hand out: what a checkout does to an idle
//! connection that came back dirty (a request still running, a
//! transaction open) or sat idle for long.
//!
//! A returned connection is used by nobody: every request still in flight
//! on it was abandoned. So the pool may cancel whatever runs there, which a
//! shared connection may not (a cancel could hit another task's query).
//! The one request a cancel could still hit is a ROLLBACK queued behind the
//! abandoned one; it then fails, the transaction stays open, and the loop
//! below rolls back again.

use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

use crate::connection::Connection;
use crate::pool::core::Core;
use crate::pool::stats::bump;
use crate::timeout::within;

/// How long a returned connection's abandoned request may take to end on
/// its own before the pool sends a CancelRequest.
const GRACE: Duration = Duration::from_millis(20);

/// Whether a connection may be handed out, after [`tidy`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    Yes,
    /// Dead, or it did not come clean within the bound: close it.
    No,
    /// Past `max_lifetime`: close it (it is not broken).
    Old,
}

/// Came back clean and was used lately: what most checkouts find, with
/// nothing to wait for (so no clock to start).
pub(crate) fn came_back_clean<S>(conn: &Connection<S>, stale: bool) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    !stale && !conn.dead() && conn.ready() && !conn.in_transaction()
}

/// Drains what a returned connection still runs (cancelling it after a
/// short grace), rolls back a transaction left open, and checks a
/// `stale` connection (idle for `health_check_after`), all within the
/// pool's `drain_timeout`.
pub(crate) async fn tidy<S>(core: &Core<S>, conn: &Connection<S>, stale: bool, busy: bool) -> Fit
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if busy {
        bump(&core.counters.drained);
    }
    if came_back_clean(conn, stale) {
        return Fit::Yes;
    }
    let bound = core.options.get_drain_timeout();
    let start = Instant::now();
    let left = || bound.saturating_sub(start.elapsed());
    let hooks = &core.hooks;
    let mut checked = false;
    let mut cancelled = false;
    loop {
        if conn.dead() {
            return Fit::No;
        }
        if !conn.ready() {
            // Something still runs: wait a little for it to end, then
            // cancel it and wait for the rest of the bound.
            if within(hooks, GRACE.min(left()), probe(conn)).await == Some(true) {
                checked = true;
                continue;
            }
            if !cancelled {
                cancelled = true;
                if let Some(token) = conn.cancel_token() {
                    let unsure = CancelInFlight(Some(conn));
                    if within(hooks, left(), hooks.cancel(token)).await.is_none() {
                        return Fit::No;
                    }
                    unsure.sent();
                }
            }
            match within(hooks, left(), probe(conn)).await {
                Some(true) => {
                    checked = true;
                    continue;
                }
                _ => return Fit::No,
            }
        }
        if conn.in_transaction() {
            // Rolled back at check-in, unless the rollback failed (a
            // cancel hit it) or the transaction began elsewhere.
            let rollback = conn.simple_query("ROLLBACK");
            if within(hooks, left(), rollback).await.is_none() || left().is_zero() {
                return Fit::No;
            }
            continue;
        }
        if stale && !checked {
            bump(&core.counters.health_checks);
            checked = true;
            if within(hooks, left(), probe(conn)).await != Some(true) {
                return Fit::No;
            }
            continue;
        }
        return Fit::Yes;
    }
}

/// Closes the connection if dropped before [`sent`](Self::sent): a cancel
/// request abandoned on its way (the checkout was dropped, or the bound
/// passed) may still reach the server later and cancel whatever the
/// session runs then, a later user's statement. Such a connection is not
/// handed out again.
struct CancelInFlight<'a, S: AsyncRead + AsyncWrite + Unpin>(Option<&'a Connection<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> CancelInFlight<'_, S> {
    /// The server handled the cancel request: the connection may be reused.
    fn sent(mut self) {
        self.0 = None;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Drop for CancelInFlight<'_, S> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.session.close_now();
        }
    }
}

/// An empty query: one round trip, after every answer still owed.
async fn probe<S>(conn: &Connection<S>) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    conn.simple_query("").await.is_ok()
}
