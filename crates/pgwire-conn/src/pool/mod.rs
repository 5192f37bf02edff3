//! The pool: pg-purepy's high-level API. Checkout gives a connection that
//! nobody else uses; check-in rolls back what is left open, cancels and
//! drains an abandoned request (within `drain_timeout`), closes dead and
//! old connections; the next checkout opens replacements on demand. There
//! is no background task: the work happens in checkouts and check-ins,
//! and time comes from the adapter's [`RuntimeHooks`].
//!
//! The layers, each on the ones below it: `gate` (the permits, first come
//! first served), `core` (the idle list, opening with backoff, check-in),
//! `tidy` (making a returned connection fit), `checkout`, then the
//! handles: [`PooledConnection`], [`PooledTransaction`], [`PooledRowStream`].

mod checkout;
mod core;
mod gate;
mod options;
mod pooled;
mod stats;
mod stream;
mod tidy;
mod transaction;

#[cfg(test)]
mod tests;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use crate::error::{Error, Result};
use crate::from_row::{FromRow, TypedRowStream};
use crate::options::ConnectOptions;
use crate::params::Params;
use crate::query::StatementResult;
use crate::statement::{Query, Source};
use crate::timeout::RuntimeHooks;
use crate::transaction::Transaction;
use crate::types::{FromSql, TypeRegistry};
use pgwire_proto::{Oid, Row};

use crate::open::Connector;
pub use options::PoolOptions;
pub use pooled::PooledConnection;
pub use stats::PoolStats;
pub use stream::PooledRowStream;
pub use transaction::PooledTransaction;

use self::core::Core;

/// A pool of connections to one server: the API to use from a service.
///
/// Open one with the adapter's `open_pool` (`pgwire_tokio::open_pool`,
/// `pgwire_smol::open_pool`, `pgwire_async_std::open_pool`), which opens
/// the first connection at once, so a wrong password or an unreachable
/// host is `open_pool`'s error. A `Pool` is a cheap handle: clone it into
/// every task.
///
/// - [`fetch`](Self::fetch), [`fetch_one`](Self::fetch_one),
///   [`execute`](Self::execute), [`simple_query`](Self::simple_query) run
///   one request on any free connection.
/// - [`query`](Self::query) streams rows, holding its connection until the
///   stream is dropped.
/// - [`checkout`](Self::checkout) lends a connection for as long as you
///   hold it (session state, several statements in a row).
/// - [`with_transaction`](Self::with_transaction) and
///   [`checkout_in_transaction`](Self::checkout_in_transaction) run a
///   transaction on a connection of its own.
///
/// A connection is never handed out dead, with a request of someone else's
/// still running, or inside a transaction: see [`PooledConnection`] for
/// what check-in does, and [`PoolOptions`] for the bounds.
///
/// Statements are cached per connection, as on a single connection; a
/// [`PreparedStatementInfo`](crate::PreparedStatementInfo) belongs to the
/// connection that prepared it, so the pool's own methods refuse one
/// (use SQL text, or prepare on a [`checkout`](Self::checkout)).
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {
/// let rows = pool.fetch("select $1::int4 * 2", (21,)).await?;
/// assert_eq!(rows[0].try_get::<i32>(0)?, 42);
/// pool.with_transaction(async |tx| {
///     tx.execute("insert into audit values (now())", ()).await?;
///     Ok::<_, pgwire_conn::Error>(())
/// })
/// .await?;
/// println!("{} idle of {}", pool.idle_connections(), pool.max_connections());
/// pool.close().await;
/// # Ok(()) }
/// ```
pub struct Pool<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    core: Arc<Core<S>>,
}

impl<S> Clone for Pool<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn clone(&self) -> Self {
        Pool {
            core: Arc::clone(&self.core),
        }
    }
}

impl<S> std::fmt::Debug for Pool<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core.fmt(f)
    }
}

impl<S> Pool<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Opens a pool with `connector` (which opens one connection from the
    /// options) and the runtime's `hooks` (its timer and cancel requests):
    /// what the adapters' `open_pool` calls. Opens `min_idle` connections
    /// (at least one) one after the other, and returns the first error.
    pub async fn open(
        connect: ConnectOptions,
        options: PoolOptions,
        connector: Connector<S>,
        hooks: Arc<dyn RuntimeHooks>,
    ) -> Result<Self> {
        let first = options.get_min_idle().max(1);
        let core = Arc::new(Core::new(connect, options, connector, hooks));
        for _ in 0..first {
            let member = core.open().await?;
            core.push_idle(member);
        }
        Ok(Pool { core })
    }

    /// A connection of the pool's, for as long as the returned guard lives;
    /// waits up to `checkout_timeout` for one to come free (or to open),
    /// then fails with [`Error::PoolTimeout`]. Waiting tasks are served in
    /// the order they asked. After [`close`](Self::close),
    /// [`Error::PoolClosed`].
    pub async fn checkout(&self) -> Result<PooledConnection<S>> {
        checkout::checkout(&self.core).await
    }

    /// A connection with a transaction begun on it: see [`PooledTransaction`].
    pub async fn checkout_in_transaction(&self) -> Result<PooledTransaction<S>> {
        PooledTransaction::begin_on(self.checkout().await?).await
    }

    /// Runs `f` inside a transaction on a connection of its own: `BEGIN`,
    /// then `COMMIT` if `f` returns `Ok`, `ROLLBACK` if it returns `Err` or
    /// if this future is dropped midway; the connection goes back after.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: &pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {
    /// let moved = pool
    ///     .with_transaction(async |tx| {
    ///         tx.execute("update account set balance = balance - 10 where id = 1", ()).await?;
    ///         tx.execute("update account set balance = balance + 10 where id = 2", ()).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&Transaction<'_, S>) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let mut conn = self.checkout().await?;
        conn.transaction_expected = true;
        let tx = conn.begin().await?;
        crate::transaction::run_in(tx, f).await
    }

    /// Runs `query` on a free connection and returns all its rows.
    pub async fn fetch<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Vec<Row>> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.fetch(query, params).await
    }

    /// Runs `query` on a free connection and returns its first row, if any.
    pub async fn fetch_one<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Option<Row>> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.fetch_one(query, params).await
    }

    /// Runs `query` on a free connection and returns exactly one row:
    /// [`Error::NoRows`] for none, [`Error::TooManyRows`] for more. See
    /// [`Connection::fetch_exactly_one`](crate::Connection::fetch_exactly_one)
    /// for how the names map to pg-purepy's, sqlx's and tokio-postgres's.
    pub async fn fetch_exactly_one<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Row> {
        let query = pooled_query(query.into())?;
        self.checkout()
            .await?
            .fetch_exactly_one(query, params)
            .await
    }

    /// Runs `query` on a free connection and returns its rows as `T`s
    /// ([`FromRow`]).
    pub async fn fetch_as<'q, T: FromRow>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Vec<T>> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.fetch_as(query, params).await
    }

    /// Runs `query` on a free connection and returns its first row, if
    /// any, as a `T` ([`FromRow`]).
    pub async fn fetch_one_as<'q, T: FromRow>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Option<T>> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.fetch_one_as(query, params).await
    }

    /// Runs `query` on a free connection and returns its one row as a `T`
    /// ([`FromRow`]); zero or several rows are errors.
    pub async fn fetch_exactly_one_as<'q, T: FromRow>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<T> {
        let query = pooled_query(query.into())?;
        self.checkout()
            .await?
            .fetch_exactly_one_as(query, params)
            .await
    }

    /// Runs `query`, which returns one row, on a free connection and
    /// returns its first column as a `T` (see
    /// [`Connection::fetch_scalar`](crate::Connection::fetch_scalar)).
    pub async fn fetch_scalar<'q, T: for<'a> FromSql<'a>>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<T> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.fetch_scalar(query, params).await
    }

    /// [`query`](Self::query), its rows read as `T`s ([`FromRow`]).
    pub async fn query_as<T: FromRow>(
        &self,
        sql: impl Into<String>,
        params: impl Params + Send + Sync + 'static,
    ) -> Result<TypedRowStream<PooledRowStream, T>> {
        self.query(sql, params).await.map(TypedRowStream::new)
    }

    /// Runs `query` on a free connection and returns the row count of its
    /// last statement.
    pub async fn execute<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<u64> {
        let query = pooled_query(query.into())?;
        self.checkout().await?.execute(query, params).await
    }

    /// Runs `sql` (one or more statements) over the simple protocol on a
    /// free connection. A `BEGIN` here does not outlive the call: the
    /// connection comes back inside the transaction, and the pool rolls it
    /// back with a warning (use [`with_transaction`](Self::with_transaction)).
    pub async fn simple_query(&self, sql: &str) -> Result<Vec<StatementResult>> {
        self.checkout().await?.simple_query(sql).await
    }

    /// Sends `sql` on a free connection and streams its rows, read as they
    /// are polled; the stream holds the connection until it is dropped or
    /// ends. The parameters are moved into the stream.
    pub async fn query(
        &self,
        sql: impl Into<String>,
        params: impl Params + Send + Sync + 'static,
    ) -> Result<PooledRowStream> {
        let conn = self.checkout().await?;
        PooledRowStream::start(conn, sql.into(), None, params).await
    }

    /// [`query`](Self::query) with a time limit (see [`Query::timeout`]),
    /// enforced while the stream is polled.
    pub async fn query_with_timeout(
        &self,
        sql: impl Into<String>,
        timeout: Duration,
        params: impl Params + Send + Sync + 'static,
    ) -> Result<PooledRowStream> {
        let conn = self.checkout().await?;
        PooledRowStream::start(conn, sql.into(), Some(timeout), params).await
    }

    /// Registers types by name (enums, domains, composites, extension
    /// types such as `hstore`) on every connection of the pool: now on
    /// one, and on each other before its next use, including connections
    /// opened later (pg-purepy's `add_converter`).
    pub async fn register_types(&self, names: &[&str]) -> Result<()> {
        self.core.add_type_names(names);
        // The checkout registers them on its connection.
        self.checkout().await.map(drop)
    }

    /// The OID of type `name`, registering it on every connection as
    /// [`register_types`](Self::register_types) does. `None` if the server
    /// has no such type.
    pub async fn find_oid_for_type(&self, name: &str) -> Result<Option<Oid>> {
        if let Some(oid) = self.type_registry().find_oid_for_type(name) {
            return Ok(Some(oid));
        }
        let conn = self.checkout().await?;
        let oid = conn.find_oid_for_type(name).await?;
        if oid.is_some() {
            drop(conn);
            self.register_types(&[name]).await?;
        }
        Ok(oid)
    }

    /// The types the pool's connections know, as the latest registration
    /// left them (for [`Row::get_value_with`](pgwire_proto::Row::get_value_with)).
    pub fn type_registry(&self) -> Arc<TypeRegistry> {
        self.core
            .types()
            .registry
            .clone()
            .unwrap_or_else(|| Arc::new(TypeRegistry::default()))
    }

    /// A [`Listener`](crate::Listener) on a connection of its own, opened
    /// the way the pool opens its connections (it does not count towards
    /// `max_size`, and never returns to the pool).
    pub async fn listener(&self) -> Result<crate::Listener<S>> {
        let connector = Arc::clone(&self.core.connector);
        crate::Listener::open(
            (*self.core.connect).clone(),
            connector,
            Arc::clone(&self.core.hooks),
        )
        .await
    }

    /// The most connections the pool holds (`max_size`).
    pub fn max_connections(&self) -> usize {
        self.core.options.get_max_size()
    }

    /// Connections open and idle now.
    pub fn idle_connections(&self) -> usize {
        self.core.idle_count()
    }

    /// Connections that exist now: idle, checked out, or being opened.
    pub fn connections(&self) -> usize {
        self.core.size.load(Ordering::Acquire)
    }

    /// Tasks waiting for a connection to come free.
    pub fn waiting_tasks(&self) -> usize {
        self.core.permits.waiting()
    }

    /// What the pool did so far (opened, closed, replaced, timed-out
    /// checkouts, ...).
    pub fn stats(&self) -> PoolStats {
        self.core.counters.snapshot()
    }

    /// The pool's options.
    pub fn options(&self) -> &PoolOptions {
        &self.core.options
    }

    /// Closes the pool: later checkouts (and tasks waiting for one) fail
    /// with [`Error::PoolClosed`]; idle connections are sent `Terminate`
    /// now, checked-out ones when they come back, for which this waits up
    /// to `close_timeout`. Returns how many were still checked out then.
    pub async fn close(&self) -> usize {
        let core = &self.core;
        if core.mark_closed() {
            // Wake every waiting checkout: each sees the pool closed.
            core.permits.open_all();
        }
        // Idle connections are clean: Terminate goes out without waiting.
        for member in core.take_idle() {
            core.retire(member.conn, false);
        }
        // Each check-in from now on wakes this task (no polling); the
        // timer is made only if a connection is still out.
        let mut timer = None;
        std::future::poll_fn(|cx| {
            let out = core.checked_out_for_close(cx.waker());
            if out == 0 {
                return Poll::Ready(0);
            }
            let timer =
                timer.get_or_insert_with(|| core.hooks.sleep(core.options.get_close_timeout()));
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(core.checked_out.load(Ordering::SeqCst)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

/// A prepared statement names a statement of one connection; on another
/// it would fail, or run a different statement of the same name.
fn pooled_query(query: Query<'_>) -> Result<Query<'_>> {
    match query.source {
        Source::Sql(_) => Ok(query),
        Source::Prepared(_) => Err(Error::InvalidInput(
            "a prepared statement belongs to the connection that prepared it: on a pool, run \
             its SQL text (each connection prepares and caches it), or prepare and run it on \
             one `checkout()`"
                .into(),
        )),
    }
}
