//! What a pool did so far, for a service's metrics: [`PoolStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since the pool opened ([`Pool::stats`](crate::Pool::stats)).
/// Each is a running total; take differences between two snapshots for
/// rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections opened.
    pub opened: u64,
    /// Connections closed (retired, found dead, failed to drain, or at
    /// [`Pool::close`](crate::Pool::close)).
    pub closed: u64,
    /// Of the closed, those found dead or broken (server restart,
    /// `pg_terminate_backend`, a failed health check or drain), which the
    /// pool replaces on demand.
    pub replaced: u64,
    /// Attempts to open a connection that failed.
    pub open_failures: u64,
    /// Checkouts that succeeded.
    pub checkouts: u64,
    /// Checkouts that gave up after `checkout_timeout`.
    pub timed_out_checkouts: u64,
    /// Connections that came back inside a transaction nobody ended (rolled
    /// back, with a warning).
    pub rolled_back: u64,
    /// Connections that came back with a request unfinished (a task
    /// cancelled or timed out mid-query), drained before reuse: after a
    /// CancelRequest if the request still ran.
    pub drained: u64,
    /// Health checks run on connections idle for long.
    pub health_checks: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) opened: AtomicU64,
    pub(crate) closed: AtomicU64,
    pub(crate) replaced: AtomicU64,
    pub(crate) open_failures: AtomicU64,
    pub(crate) checkouts: AtomicU64,
    pub(crate) timed_out_checkouts: AtomicU64,
    pub(crate) rolled_back: AtomicU64,
    pub(crate) drained: AtomicU64,
    pub(crate) health_checks: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> PoolStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PoolStats {
            opened: get(&self.opened),
            closed: get(&self.closed),
            replaced: get(&self.replaced),
            open_failures: get(&self.open_failures),
            checkouts: get(&self.checkouts),
            timed_out_checkouts: get(&self.timed_out_checkouts),
            rolled_back: get(&self.rolled_back),
            drained: get(&self.drained),
            health_checks: get(&self.health_checks),
        }
    }
}
