//! Checking a connection out: wait for a permit, take an idle connection
//! (tidied) or open one, with backoff while the server refuses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

use crate::error::{Error, Result};
use crate::pool::core::{Core, InHand, Member, IDLE_READ_EVERY};

use crate::pool::pooled::PooledConnection;
use crate::pool::stats::bump;
use crate::pool::tidy::{came_back_clean, tidy, Fit};
use crate::reconnect::is_transient;
use crate::timeout::{within, BoxFuture};

/// The checkout's `checkout_timeout`, counted from the checkout's start,
/// after the gate (which times its waiters out on a timer they share):
/// its timer is made the first time the checkout waits for an opening
/// connection or a backoff pause, which most checkouts never do.
struct Deadline {
    started: Instant,
    after: Duration,
    sleep: Option<BoxFuture<()>>,
}

impl Deadline {
    /// `op`, unless the deadline passes first.
    async fn race<S, F: std::future::Future>(
        &mut self,
        core: &Core<S>,
        op: F,
    ) -> Option<F::Output> {
        let op = std::pin::pin!(op);
        let (started, after) = (self.started, self.after);
        let sleep = self
            .sleep
            .get_or_insert_with(|| core.hooks.sleep(after.saturating_sub(started.elapsed())));
        match futures_util::future::select(op, sleep.as_mut()).await {
            futures_util::future::Either::Left((out, _)) => Some(out),
            futures_util::future::Either::Right(_) => None,
        }
    }
}

/// The error of a checkout that waited `checkout_timeout` in vain.
fn timed_out<S>(core: &Core<S>) -> Error
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    bump(&core.counters.timed_out_checkouts);
    Error::PoolTimeout {
        after: core.options.get_checkout_timeout().unwrap_or_default(),
        last_error: core.last_failure(),
    }
}

pub(crate) async fn checkout<S>(core: &Arc<Core<S>>) -> Result<PooledConnection<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if core.is_closed() {
        return Err(Error::PoolClosed);
    }
    // One clock read serves the deadline and, unless the checkout has to
    // wait, the idle connection's checks.
    let started = Instant::now();
    let deadline = core.options.get_checkout_timeout().map(|after| Deadline {
        started,
        after,
        sleep: None,
    });
    // The gate times its waiters out itself, on one timer for all of them
    // (see `gate`). A deadline past what an Instant holds is none.
    let until = deadline
        .as_ref()
        .and_then(|d| d.started.checked_add(d.after));
    let mut acquire = core.permits.acquire(until, &*core.hooks);
    // A permit at the first poll: no wait, and `started` is still now.
    let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut acquire).poll(cx))).await;
    let (acquired, mut now) = match first {
        Poll::Ready(acquired) => (acquired, started),
        Poll::Pending => ((&mut acquire).await, Instant::now()),
    };
    drop(acquire);
    let Ok(permit) = acquired else {
        return Err(timed_out(core));
    };
    // `close` lets every waiter through.
    if core.is_closed() {
        return Err(Error::PoolClosed);
    }
    while let Some(member) = core.pop_idle(now) {
        let mut in_hand = InHand::new(core, member);
        let fit = match quick_fit(core, in_hand.member(), now) {
            Ok(fit) => Ok(fit),
            // Boxed, as is the opening below: the futures of the rare
            // paths would make every checkout's future kilobytes larger,
            // moved and initialized on every call.
            Err(Tidy { stale }) => Box::pin(prepare(core, in_hand.member(), stale)).await,
        };
        let member = in_hand.into_inner();
        match fit {
            Ok(Fit::Yes) => {
                bump(&core.counters.checkouts);
                return Ok(PooledConnection::new(member, Arc::clone(core), permit));
            }
            // Tidying may have taken a while: the next one is judged anew.
            Ok(Fit::No) => {
                core.retire(member.conn, true);
                now = Instant::now();
            }
            Ok(Fit::Old) => {
                core.retire(member.conn, false);
                now = Instant::now();
            }
            Err(e) => {
                // A registration failed on a healthy connection: the
                // caller learns why, and the connection goes back.
                core.push_idle(member);
                return Err(e);
            }
        }
    }
    let member = Box::pin(open_member(core, deadline)).await?;
    bump(&core.counters.checkouts);
    Ok(PooledConnection::new(member, Arc::clone(core), permit))
}

/// Opens a connection for a checkout that found none idle, within its
/// `deadline`, pausing while other attempts just failed.
async fn open_member<S>(
    core: &Arc<Core<S>>,
    mut deadline: Option<Deadline>,
) -> Result<Box<Member<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    loop {
        if let Some(wait) = core.claim_attempt() {
            // Another attempt failed a moment ago, or is under way after
            // one: the server gets a pause (at most 5 s) rather than every
            // waiting task at once.
            let slept = match deadline.as_mut() {
                None => {
                    core.hooks.sleep(wait).await;
                    true
                }
                Some(deadline) => deadline.race(core, core.hooks.sleep(wait)).await.is_some(),
            };
            if !slept {
                return Err(timed_out(core));
            }
            continue;
        }
        let opened = match deadline.as_mut() {
            None => Some(core.open().await),
            Some(deadline) => deadline.race(core, core.open()).await,
        };
        match opened {
            None => return Err(timed_out(core)),
            Some(Ok(member)) => return Ok(member),
            Some(Err(e)) if is_transient(&e) && deadline.is_some() => {
                core.record_failure(Arc::new(e))
            }
            Some(Err(e)) => return Err(e),
        }
    }
}

/// A connection that must be tidied, checked or given types before it is
/// handed out ([`prepare`]).
struct Tidy {
    /// It sat idle at least `health_check_after`.
    stale: bool,
}

/// Judges an idle connection at `now`, the checkout's start, without
/// waiting: what most checkouts find is decided here (fit, or plainly
/// unfit), the rest is left to [`prepare`].
fn quick_fit<S>(
    core: &Core<S>,
    member: &mut Member<S>,
    now: Instant,
) -> std::result::Result<Fit, Tidy>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let expired = member.expires_at.is_some_and(|at| now > at);
    // The checkout before read the socket within `IDLE_READ_EVERY`: the
    // status flags suffice.
    let read_lately = now
        .checked_duration_since(member.idle_read_at)
        .is_some_and(|since| since < IDLE_READ_EVERY);
    if !member.conn.session.check_idle(!read_lately) {
        return Ok(Fit::No);
    }
    if !read_lately {
        member.idle_read_at = now;
    }
    if expired {
        return Ok(Fit::Old);
    }
    // Idle at least `health_check_after`: idle since `now - after` or
    // before (never, if that is before what an Instant holds; always, for
    // zero, even if it came back after `now` was read).
    let stale = core.options.get_health_check_after().is_some_and(|after| {
        after.is_zero()
            || now
                .checked_sub(after)
                .is_some_and(|cutoff| member.idle_since <= cutoff)
    });
    if member.busy || !came_back_clean(&member.conn, stale) || !core.knows_every_type(member) {
        return Err(Tidy { stale });
    }
    Ok(Fit::Yes)
}

/// Tidies an idle connection that [`quick_fit`] could not pass (`stale`
/// if it sat idle `health_check_after`) and brings its types up to date.
async fn prepare<S>(core: &Core<S>, member: &mut Member<S>, stale: bool) -> Result<Fit>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let busy = std::mem::take(&mut member.busy);
    if tidy(core, &member.conn, stale, busy).await == Fit::No {
        return Ok(Fit::No);
    }
    if core.knows_every_type(member) {
        // Nothing to register: no timer needed for it.
        return Ok(Fit::Yes);
    }
    let bound = core.options.get_drain_timeout();
    match within(&core.hooks, bound, core.register_missing(member)).await {
        None => Ok(Fit::No),
        Some(Err(_)) if member.conn.dead() => Ok(Fit::No),
        Some(Err(e)) => Err(e),
        Some(Ok(())) => Ok(Fit::Yes),
    }
}
