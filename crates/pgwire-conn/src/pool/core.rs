//! The pool's shared state: the idle connections, the permits that bound
//! how many exist, the opener with its backoff, and check-in.
//!
//! Every connection is either idle here or held by a checkout that holds a
//! permit; a new one is opened only by a permit holder that found no idle
//! one. So at most `max_size` connections exist, with no background task:
//! whatever needs doing (retiring, draining, replacing) is done by the next
//! checkout or check-in.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::open::Connector;
use crate::options::ConnectOptions;
use crate::pool::gate::Gate;
use crate::pool::options::PoolOptions;
use crate::pool::stats::{bump, Counters};
use crate::reconnect::next_pause;
use crate::session::owed::Owed;
use crate::timeout::RuntimeHooks;
use crate::types::TypeRegistry;

/// A connection with what the pool knows of it. Boxed wherever it goes
/// (`Member<S>` is over a kilobyte, the connection's state inline): a
/// checkout and its check-in then move a pointer, not the connection.
/// How long after a checkout read a connection's socket the next checkout
/// trusts it without reading again. A busy pool hands each connection out
/// again within microseconds; reading its socket every time cost a system
/// call and a sixth of the pool's own instructions per checkout, to catch a
/// server that closed the session in a window no longer than the one
/// between any check and the query that follows it. A connection held
/// longer, or idle longer, is read as before.
pub(crate) const IDLE_READ_EVERY: std::time::Duration = std::time::Duration::from_millis(1);

pub(crate) struct Member<S> {
    pub(crate) conn: Connection<S>,
    /// When it passes `max_lifetime` (none: never, or past what an
    /// Instant holds): a comparison per checkout and check-in, where a
    /// duration since `opened_at` cost a subtraction of timespecs.
    pub(crate) expires_at: Option<Instant>,
    pub(crate) idle_since: Instant,
    /// When a checkout last read its socket for what the server sent on
    /// its own (see [`IDLE_READ_EVERY`]).
    pub(crate) idle_read_at: Instant,
    /// The type names registered on it, as a count of the pool's list.
    pub(crate) types_known: usize,
    /// It came back with a request unfinished.
    pub(crate) busy: bool,
}

/// A value on cache lines of its own (128 bytes: two lines, for CPUs
/// that fetch lines in pairs). Every checkout writes the gate, the idle
/// list, the checked-out count and the checkout counter, from whichever
/// core it runs on; sharing a line, they and the options every checkout
/// reads (and, ahead of the pool's fields, the `Arc`'s count, which each
/// checkout bumps) would move between the cores at every write.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) struct Core<S> {
    pub(crate) options: PoolOptions,
    pub(crate) connect: Arc<ConnectOptions>,
    pub(crate) connector: Connector<S>,
    pub(crate) hooks: Arc<dyn RuntimeHooks>,
    pub(crate) permits: Padded<Gate>,
    /// Most recently used last: checkouts take from the end, so the
    /// connections at the front are the ones left to idle out.
    idle: Padded<Mutex<Vec<Box<Member<S>>>>>,
    /// Connections that exist (idle, checked out, or being opened).
    pub(crate) size: AtomicUsize,
    pub(crate) checked_out: Padded<AtomicUsize>,
    pub(crate) closed: AtomicBool,
    /// The tasks in [`Pool::close`](super::Pool::close), woken by each
    /// check-in after it.
    closers: Mutex<Vec<Waker>>,
    pub(crate) counters: Padded<Counters>,
    backoff: Mutex<Backoff>,
    types: Mutex<Types>,
    /// How many names `types` holds, for the checkout's look without its
    /// lock (written under it).
    type_names: AtomicUsize,
}

#[derive(Debug, Default)]
struct Backoff {
    /// No attempt before this, after a failed one.
    not_before: Option<Instant>,
    delay: Duration,
    /// Why the latest attempt failed, for the checkouts that time out.
    last: Option<Arc<Error>>,
}

#[derive(Debug, Default)]
pub(crate) struct Types {
    /// Every name registered through the pool, in order.
    pub(crate) names: Vec<String>,
    /// The latest registry a connection reported.
    pub(crate) registry: Option<Arc<TypeRegistry>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S> Core<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(
        connect: ConnectOptions,
        options: PoolOptions,
        connector: Connector<S>,
        hooks: Arc<dyn RuntimeHooks>,
    ) -> Self {
        Core {
            permits: Padded(Gate::new(options.get_max_size())),
            options,
            connect: Arc::new(connect),
            connector,
            hooks,
            idle: Padded(Mutex::new(Vec::new())),
            size: AtomicUsize::new(0),
            checked_out: Padded(AtomicUsize::new(0)),
            closed: AtomicBool::new(false),
            closers: Mutex::new(Vec::new()),
            counters: Padded::default(),
            backoff: Mutex::new(Backoff::default()),
            types: Mutex::new(Types::default()),
            type_names: AtomicUsize::new(0),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the pool closed; whether it was open until now. SeqCst with
    /// [`checked_in`](Self::checked_in): either the closing task sees the
    /// count come down or the check-in sees the pool closed and wakes it.
    pub(crate) fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::SeqCst)
    }

    /// How many connections are checked out, after the closing task's
    /// waker is registered (so a check-in from now on wakes it).
    pub(crate) fn checked_out_for_close(&self, waker: &Waker) -> usize {
        {
            let mut closers = lock(&self.closers);
            if !closers.iter().any(|w| w.will_wake(waker)) {
                closers.push(waker.clone());
            }
        }
        self.checked_out.load(Ordering::SeqCst)
    }

    /// A checkout ended (its connection back, or closed): after `close`,
    /// the closing tasks look again.
    pub(crate) fn checked_in(&self) {
        self.checked_out.fetch_sub(1, Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            let closers = std::mem::take(&mut *lock(&self.closers));
            closers.into_iter().for_each(Waker::wake);
        }
    }

    pub(crate) fn idle_count(&self) -> usize {
        lock(&self.idle).len()
    }

    pub(crate) fn types(&self) -> MutexGuard<'_, Types> {
        lock(&self.types)
    }

    /// Takes the most recently used idle connection, first retiring those
    /// idle past `idle_timeout` (down to `min_idle`) as of `now`.
    pub(crate) fn pop_idle(&self, now: Instant) -> Option<Box<Member<S>>> {
        let mut retired = Vec::new();
        let member = {
            let mut idle = lock(&self.idle);
            // Idle past the limit: idle since before `now - limit` (none
            // is, if that is before what an Instant holds).
            let cutoff = self
                .options
                .get_idle_timeout()
                .and_then(|limit| now.checked_sub(limit));
            if let Some(cutoff) = cutoff {
                while idle.first().is_some_and(|m| m.idle_since < cutoff)
                    && self.size.load(Ordering::Acquire) - retired.len()
                        > self.options.get_min_idle()
                {
                    retired.push(idle.remove(0));
                }
            }
            idle.pop()
        };
        for member in retired {
            self.retire(member.conn, false);
        }
        member
    }

    /// Closes `conn` without waiting and forgets it; `broken` counts it
    /// as one to replace.
    pub(crate) fn retire(&self, conn: Connection<S>, broken: bool) {
        conn.session.close_now();
        drop(conn);
        self.size.fetch_sub(1, Ordering::AcqRel);
        bump(&self.counters.closed);
        if broken {
            bump(&self.counters.replaced);
        }
    }

    /// A connection comes back from a checkout. A transaction left open
    /// is rolled back at once (its locks go now, not at the next
    /// checkout); a request still running is cancelled and drained by the
    /// next checkout that takes it (see [`tidy`](super::tidy)).
    pub(crate) fn check_in(&self, mut member: Box<Member<S>>, transaction_expected: bool) {
        let conn = &member.conn;
        let now = Instant::now();
        let expired = member.expires_at.is_some_and(|at| now > at);
        if self.is_closed() || conn.dead() || expired {
            let broken = conn.dead();
            self.retire(member.conn, broken);
            return;
        }
        member.busy = !conn.ready();
        if conn.ready() && conn.in_transaction() {
            if !transaction_expected {
                log::warn!(
                    target: "pgwire::pool",
                    "a connection came back to the pool inside a transaction; rolling it back"
                );
                bump(&self.counters.rolled_back);
            }
            conn.session.shared.book.owe(Owed::Sql("ROLLBACK".into()));
            drop(conn.session.try_lock());
        }
        member.idle_since = now;
        lock(&self.idle).push(member);
    }

    /// Puts a freshly opened or tidied connection among the idle ones.
    pub(crate) fn push_idle(&self, member: Box<Member<S>>) {
        lock(&self.idle).push(member);
    }

    /// Takes every idle connection (for `close`).
    pub(crate) fn take_idle(&self) -> Vec<Box<Member<S>>> {
        std::mem::take(&mut *lock(&self.idle))
    }

    /// Whether this task may try to open a connection now: always while
    /// opening works; after a failure, one attempt per pause (which the
    /// attempt holds), so that tasks waiting for a server that is down
    /// try one at a time, not all at once. `Some(wait)`: ask again then.
    pub(crate) fn claim_attempt(&self) -> Option<Duration> {
        let mut backoff = lock(&self.backoff);
        let now = Instant::now();
        if let Some(not_before) = backoff.not_before.filter(|t| *t > now) {
            return Some(not_before - now);
        }
        if !backoff.delay.is_zero() {
            backoff.not_before = Some(now + backoff.delay);
        }
        None
    }

    /// Keeps why an attempt to open failed, for checkouts that give up.
    pub(crate) fn record_failure(&self, error: Arc<Error>) {
        lock(&self.backoff).last = Some(error);
    }

    /// Why the latest attempt to open failed, if none worked since.
    pub(crate) fn last_failure(&self) -> Option<Arc<Error>> {
        lock(&self.backoff).last.clone()
    }

    /// Opens one connection with the adapter's connector, registering
    /// the pool's types on it. Counts towards `size` while it opens.
    pub(crate) async fn open(&self) -> Result<Box<Member<S>>> {
        self.size.fetch_add(1, Ordering::AcqRel);
        let mut shrink = Shrink(&self.size, true);
        let opened = (self.connector)(Arc::clone(&self.connect)).await;
        let conn = match opened {
            Ok(conn) => conn,
            Err(e) => {
                bump(&self.counters.open_failures);
                let mut backoff = lock(&self.backoff);
                backoff.delay = next_pause(backoff.delay);
                backoff.not_before = Some(Instant::now() + backoff.delay);
                return Err(e);
            }
        };
        *lock(&self.backoff) = Backoff::default();
        bump(&self.counters.opened);
        let opened_at = Instant::now();
        let member = Box::new(Member {
            conn,
            expires_at: self
                .options
                .get_max_lifetime()
                .and_then(|limit| opened_at.checked_add(limit)),
            idle_since: opened_at,
            idle_read_at: opened_at,
            types_known: 0,
            busy: false,
        });
        shrink.1 = false;
        let mut in_hand = InHand::new(self, member);
        let registered = self.register_missing(in_hand.member()).await;
        let member = in_hand.into_inner();
        if let Err(e) = registered {
            self.retire(member.conn, false);
            return Err(e);
        }
        Ok(member)
    }

    /// Adds type names to register on every connection (those not known).
    pub(crate) fn add_type_names(&self, names: &[&str]) {
        let mut types = self.types();
        for name in names {
            if !types.names.iter().any(|known| known == name) {
                types.names.push((*name).to_owned());
            }
        }
        self.type_names.store(types.names.len(), Ordering::Release);
    }

    /// Whether `member` has every type name registered through the pool
    /// (as of the latest [`add_type_names`](Self::add_type_names) to end).
    pub(crate) fn knows_every_type(&self, member: &Member<S>) -> bool {
        self.type_names.load(Ordering::Acquire) <= member.types_known
    }

    /// Registers on `member` the type names the pool learnt since it last
    /// looked.
    pub(crate) async fn register_missing(&self, member: &mut Member<S>) -> Result<()> {
        let (names, total) = {
            let types = self.types();
            if types.names.len() <= member.types_known {
                return Ok(());
            }
            (
                types.names[member.types_known..].to_vec(),
                types.names.len(),
            )
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        member.conn.register_types(&names).await?;
        member.types_known = total;
        self.types().registry = Some(member.conn.type_registry());
        Ok(())
    }
}

/// A connection the pool works on outside the idle list: tidying it for a
/// checkout, or registering types on a new one. If the future doing that
/// is dropped midway (its caller's time limit passed), the connection goes
/// back among the idle ones, where the next checkout tidies it again and
/// registers what is missing; dropped with the future, it would be closed
/// behind the pool's back and still counted in `size`.
pub(crate) struct InHand<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    core: &'a Core<S>,
    /// Taken only by `into_inner`, which consumes the guard.
    member: Option<Box<Member<S>>>,
}

impl<'a, S> InHand<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(core: &'a Core<S>, member: Box<Member<S>>) -> Self {
        InHand {
            core,
            member: Some(member),
        }
    }

    pub(crate) fn member(&mut self) -> &mut Member<S> {
        match &mut self.member {
            Some(member) => member,
            None => unreachable!("a connection in hand is used after into_inner"),
        }
    }

    /// The connection, the work on it done.
    pub(crate) fn into_inner(mut self) -> Box<Member<S>> {
        match self.member.take() {
            Some(member) => member,
            None => unreachable!("a connection in hand is taken twice"),
        }
    }
}

impl<S> Drop for InHand<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn drop(&mut self) {
        let Some(mut member) = self.member.take() else {
            return;
        };
        member.busy |= !member.conn.ready();
        if self.core.is_closed() {
            self.core.retire(member.conn, false);
        } else if !member.conn.session.check_idle(true) {
            // Dead, or closed because a cancel request was dropped in
            // flight (see `tidy`).
            self.core.retire(member.conn, true);
        } else {
            self.core.push_idle(member);
        }
    }
}

/// Undoes a `size` increment unless disarmed: an open that failed or was
/// dropped midway leaves no phantom connection behind.
struct Shrink<'a>(&'a AtomicUsize, bool);

impl Drop for Shrink<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<S> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_size", &self.options.get_max_size())
            .field("size", &self.size.load(Ordering::Relaxed))
            .field("checked_out", &self.checked_out.load(Ordering::Relaxed))
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
