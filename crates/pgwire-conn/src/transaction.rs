//! Transactions: the [`Transaction`] guard from [`Connection::begin`], and
//! [`Connection::with_transaction`] around an async closure. Nested use
//! becomes savepoints.

use std::ops::Deref;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::Event;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::query::{collect_statements, StatementResult};
use crate::status::Owed;
use crate::stream::EventStream;

/// An open transaction (or savepoint, when nested). Commit it with
/// [`commit`](Transaction::commit); [`rollback`](Transaction::rollback) or
/// dropping it rolls back. Queries run through it like through the
/// connection (it dereferences to [`Connection`]).
///
/// A guard dropped without `commit` or `rollback` cannot await, so it leaves
/// its ROLLBACK to the connection, which sends it before the next query.
///
/// A transaction belongs to the session, not to a task: on a connection
/// shared between tasks, whatever the other tasks send while it is open
/// runs inside it, and is rolled back with it. Give a transaction a
/// connection of its own.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// let tx = conn.begin().await?;
/// tx.execute("insert into audit values (now())", ()).await?;
/// let inner = tx.begin().await?; // SAVEPOINT
/// inner.rollback().await?;       // ROLLBACK TO SAVEPOINT
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub struct Transaction<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    conn: &'c Connection<S>,
    /// `None` for the outermost transaction.
    savepoint: Option<String>,
    /// BEGIN/SAVEPOINT was queued, so ending is owed.
    started: bool,
    finished: bool,
}

impl<S> std::fmt::Debug for Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("savepoint", &self.savepoint)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Starts a transaction (`BEGIN`), or a savepoint when one is already open.
    pub async fn begin(&self) -> Result<Transaction<'_, S>> {
        let savepoint = self
            .in_transaction()
            .then(|| format!("pgwire_savepoint_{}", self.status().next_name()));
        let mut tx = Transaction {
            conn: self,
            savepoint,
            started: false,
            finished: false,
        };
        let sql = match &tx.savepoint {
            Some(name) => format!("SAVEPOINT {name}"),
            None => "BEGIN".to_owned(),
        };
        let mut inner = self.lock().await?;
        let first = inner.machine.next_request_id();
        inner.machine.simple_query(&sql)?;
        // From here on, dropping `tx` owes the rollback.
        tx.started = true;
        expect_success(EventStream::new(self.answer(inner, first).await?)).await?;
        Ok(tx)
    }

    /// Runs `f` inside a transaction: `BEGIN`, then `COMMIT` if `f` returns
    /// `Ok`, `ROLLBACK` if it returns `Err` or if this future is dropped
    /// midway. Inside an open transaction it uses a savepoint instead.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// let id = conn
    ///     .with_transaction(async |tx| {
    ///         tx.execute("update account set balance = balance - 10 where id = 1", ()).await?;
    ///         tx.execute("update account set balance = balance + 10 where id = 2", ()).await?;
    ///         Ok::<_, pgwire_conn::Error>(2)
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&Transaction<'_, S>) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let tx = self.begin().await?;
        match f(&tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }
}

impl<'c, S> Transaction<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// True for a savepoint inside an outer transaction.
    pub fn is_savepoint(&self) -> bool {
        self.savepoint.is_some()
    }

    /// A nested transaction: a savepoint.
    pub async fn begin(&self) -> Result<Transaction<'c, S>> {
        self.conn.begin().await
    }

    /// Commits (or releases the savepoint). If the transaction had failed,
    /// the server rolls it back instead and this returns
    /// [`Error::TransactionRolledBack`].
    pub async fn commit(mut self) -> Result<()> {
        let sql = match &self.savepoint {
            Some(name) => format!("RELEASE SAVEPOINT {name}"),
            None => "COMMIT".to_owned(),
        };
        let results = self.finish(&sql).await?;
        let rolled_back = results
            .iter()
            .any(|r| r.command.as_ref().is_some_and(|c| c.tag() == "ROLLBACK"));
        if rolled_back {
            return Err(Error::TransactionRolledBack);
        }
        Ok(())
    }

    /// Rolls back (to the savepoint, for a nested transaction).
    pub async fn rollback(mut self) -> Result<()> {
        let sql = self.rollback_sql();
        self.finish(&sql).await.map(drop)
    }

    /// Sends the ending command. Only once it is queued is the guard done:
    /// dropped while waiting for the lock, it still owes its rollback.
    async fn finish(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        let mut inner = self.conn.lock().await?;
        let first = inner.machine.next_request_id();
        inner.machine.simple_query(sql)?;
        self.finished = true;
        collect_statements(EventStream::new(self.conn.answer(inner, first).await?)).await
    }

    fn rollback_sql(&self) -> String {
        match &self.savepoint {
            Some(name) => format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            None => "ROLLBACK".to_owned(),
        }
    }
}

impl<S> Deref for Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Target = Connection<S>;

    fn deref(&self) -> &Connection<S> {
        self.conn
    }
}

impl<S> Drop for Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        if self.started && !self.finished {
            self.conn.status().owe(Owed::Sql(self.rollback_sql()));
        }
    }
}

/// Reads a request's answer, failing with its first server error.
pub(crate) async fn expect_success<S>(mut events: EventStream<'_, S>) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut error = None;
    while let Some(event) = events.try_next().await? {
        if let Event::Error(e) = event {
            error.get_or_insert(Error::Database(e));
        }
    }
    error.map_or(Ok(()), Err)
}
