//! Transactions: the [`Transaction`] guard from [`Connection::begin`], and
//! [`Connection::with_transaction`] around an async closure. Nested use
//! becomes savepoints.
//!
//! A transaction reserves the session (see [`session`](crate::session)):
//! while it is open, requests from anything but the transaction wait, so
//! other tasks sharing the connection never run inside it. BEGIN versus
//! SAVEPOINT follows from the guards alone: a connection's `begin` always
//! opens a transaction, a transaction's `begin` a savepoint.

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::TransactionStatus;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::methods::query_methods;
use crate::query::{StatementResult, Via};
use crate::session::owed::Owed;

/// An open transaction (or savepoint, when nested). Commit it with
/// [`commit`](Transaction::commit); [`rollback`](Transaction::rollback) or
/// dropping it rolls back. Queries sent through it (it has the same query
/// methods as [`Connection`]) run inside it.
///
/// While it is open, the connection serves nobody else: queries other tasks
/// send on the connection wait until it ends, then run outside it. That
/// cost is the price of never running another task's work inside your
/// transaction; for transactions in parallel, give each its own connection
/// (a pool). The task holding it gets [`Error::WouldDeadlock`] if it sends
/// on the bare connection instead of through the transaction.
///
/// A guard dropped without `commit` or `rollback` cannot await: it queues
/// its ROLLBACK and, when the connection is free, writes it at once, so the
/// server ends the transaction (and lets go of its locks) without waiting
/// for the next query.
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
    state: TxState,
}

/// What a transaction guard knows of its transaction, whoever owns the
/// connection (a [`Transaction`] borrows it, a pooled transaction owns its
/// checkout): the reservation, the savepoint, and whether its end is owed.
#[derive(Debug)]
pub(crate) struct TxState {
    reservation: u64,
    /// The outermost transaction holds the reservation; savepoints share it.
    owns_reservation: bool,
    /// `None` for the outermost transaction.
    savepoint: Option<String>,
    /// BEGIN/SAVEPOINT was queued, so ending is owed.
    started: bool,
    finished: bool,
}

impl TxState {
    /// An outermost transaction, not yet begun.
    pub(crate) fn outer() -> Self {
        TxState {
            reservation: 0,
            owns_reservation: true,
            savepoint: None,
            started: false,
            finished: false,
        }
    }

    pub(crate) fn reservation(&self) -> u64 {
        self.reservation
    }

    /// Queues `BEGIN` on `conn` and takes the reservation. Dropped midway,
    /// the guard holding this state owes the rollback once BEGIN is queued.
    pub(crate) async fn begin<S>(&mut self, conn: &Connection<S>) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        conn.via()
            .control("BEGIN", |book, waker| {
                self.reservation = book.reserve(waker);
                self.started = true;
            })
            .await
            .map(drop)
    }

    /// COMMIT (or RELEASE SAVEPOINT). If the transaction had failed, the
    /// server rolls it back instead: [`Error::TransactionRolledBack`].
    pub(crate) async fn commit<S>(&mut self, conn: &Connection<S>) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let sql = match &self.savepoint {
            Some(name) => format!("RELEASE SAVEPOINT {name}"),
            None => "COMMIT".to_owned(),
        };
        let results = self.finish(conn, &sql).await?;
        let rolled_back = results
            .iter()
            .any(|r| r.command.as_ref().is_some_and(|c| c.tag_is("ROLLBACK")));
        if rolled_back {
            return Err(Error::TransactionRolledBack);
        }
        Ok(())
    }

    pub(crate) async fn rollback<S>(&mut self, conn: &Connection<S>) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let sql = self.rollback_sql();
        self.finish(conn, &sql).await.map(drop)
    }

    /// Sends the ending command. Only once it is queued is the guard done
    /// (dropped while waiting for the lock, it still owes its rollback), and
    /// then the connection is free for others at once: their requests queue
    /// behind the COMMIT.
    async fn finish<S>(&mut self, conn: &Connection<S>, sql: &str) -> Result<Vec<StatementResult>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let via = Via {
            session: &conn.session,
            reservation: Some(self.reservation),
        };
        let (reservation, owns) = (self.reservation, self.owns_reservation);
        let finished = &mut self.finished;
        via.control(sql, |book, _| {
            *finished = true;
            if owns {
                book.release(reservation);
            }
        })
        .await
    }

    fn rollback_sql(&self) -> String {
        match &self.savepoint {
            Some(name) => format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            None => "ROLLBACK".to_owned(),
        }
    }

    /// For a guard dropped without commit or rollback: owes the rollback,
    /// ends the reservation, and writes the rollback at once when the
    /// connection is free.
    pub(crate) fn abandon<S>(&mut self, conn: &Connection<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if !self.started || self.finished {
            return;
        }
        self.finished = true;
        let session = &conn.session;
        // Owed first, then the reservation ends: whoever goes ahead next
        // queues the rollback before anything of its own.
        session.shared.book.owe(Owed::Sql(self.rollback_sql()));
        if self.owns_reservation {
            session.shared.book.release(self.reservation);
        }
        // If the connection is free, the rollback leaves now.
        drop(session.try_lock());
    }
}

/// A savepoint inside the transaction of `reservation` on `conn`.
pub(crate) async fn savepoint<S>(
    conn: &Connection<S>,
    reservation: u64,
) -> Result<Transaction<'_, S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = format!(
        "pgwire_savepoint_{}",
        conn.session.shared.status.next_name()
    );
    let sql = format!("SAVEPOINT {name}");
    let mut savepoint = Transaction {
        conn,
        state: TxState {
            reservation,
            owns_reservation: false,
            savepoint: Some(name),
            started: false,
            finished: false,
        },
    };
    let via = savepoint.via();
    via.control(&sql, |_, _| savepoint.state.started = true)
        .await?;
    Ok(savepoint)
}

impl<S> std::fmt::Debug for Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("savepoint", &self.state.savepoint)
            .field("finished", &self.state.finished)
            .finish()
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Starts a transaction (`BEGIN`), reserving the connection for it. If
    /// another task's transaction holds the connection, waits for it to end.
    pub async fn begin(&self) -> Result<Transaction<'_, S>> {
        let mut tx = Transaction {
            conn: self,
            state: TxState::outer(),
        };
        // From the moment BEGIN is queued, dropping `tx` owes the rollback
        // and ends the reservation.
        tx.state.begin(self).await?;
        Ok(tx)
    }

    /// Runs `f` inside a transaction: `BEGIN`, then `COMMIT` if `f` returns
    /// `Ok`, `ROLLBACK` if it returns `Err` or if this future is dropped
    /// midway. Queries through the `Transaction` `f` receives run inside it.
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
        run_in(self.begin().await?, f).await
    }
}

/// Runs `f` in `tx`, then commits or rolls back.
pub(crate) async fn run_in<S, T, E, F>(tx: Transaction<'_, S>, f: F) -> std::result::Result<T, E>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: AsyncFnOnce(&Transaction<'_, S>) -> std::result::Result<T, E>,
    E: From<Error>,
{
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

impl<'c, S> Transaction<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Requests from a transaction travel through its reservation.
    pub(crate) fn via(&self) -> Via<'c, S> {
        Via {
            session: &self.conn.session,
            reservation: Some(self.state.reservation),
        }
    }

    query_methods!("# let tx = conn.begin().await?; let db = &tx;");

    /// The connection, for its status (`connection_parameters`,
    /// `cancel_token`, ...). Queries sent on it, rather than through the
    /// transaction, wait for the transaction to end (and fail with
    /// [`Error::WouldDeadlock`] from the task holding it).
    pub fn connection(&self) -> &'c Connection<S> {
        self.conn
    }

    /// The transaction status of the latest `ReadyForQuery`: `Failed` once
    /// a statement failed (only a rollback can end it then).
    pub fn transaction_status(&self) -> TransactionStatus {
        self.conn.transaction_status()
    }

    /// True for a savepoint inside an outer transaction.
    pub fn is_savepoint(&self) -> bool {
        self.state.savepoint.is_some()
    }

    /// A nested transaction: a savepoint, inside this one. It borrows this
    /// transaction, so it cannot outlive it (its rollback could otherwise
    /// run inside somebody else's later transaction):
    ///
    /// ```compile_fail
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// let tx = conn.begin().await?;
    /// let savepoint = tx.begin().await?;
    /// tx.commit().await?; // error: `tx` is borrowed by `savepoint`
    /// savepoint.rollback().await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin(&self) -> Result<Transaction<'_, S>> {
        savepoint(self.conn, self.state.reservation).await
    }

    /// Runs `f` inside a savepoint of this transaction: released if `f`
    /// returns `Ok`, rolled back to if it returns `Err` or this future is
    /// dropped midway.
    pub async fn with_transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&Transaction<'_, S>) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        run_in(self.begin().await?, f).await
    }

    /// Commits (or releases the savepoint). If the transaction had failed,
    /// the server rolls it back instead and this returns
    /// [`Error::TransactionRolledBack`].
    pub async fn commit(mut self) -> Result<()> {
        let conn = self.conn;
        self.state.commit(conn).await
    }

    /// Rolls back (to the savepoint, for a nested transaction).
    pub async fn rollback(mut self) -> Result<()> {
        let conn = self.conn;
        self.state.rollback(conn).await
    }
}

impl<S> Drop for Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        let conn = self.conn;
        self.state.abandon(conn);
    }
}
