//! A transaction on a connection of its own: [`PooledTransaction`].

use futures_io::{AsyncRead, AsyncWrite};

use crate::connection::Connection;
use crate::error::Result;
use crate::methods::query_methods;
use crate::pool::pooled::PooledConnection;
use crate::query::Via;
use crate::transaction::{savepoint, Transaction, TxState};

/// A transaction on a connection checked out for it
/// ([`Pool::checkout_in_transaction`](crate::Pool::checkout_in_transaction)):
/// `BEGIN` was sent at checkout; [`commit`](Self::commit) commits,
/// [`rollback`](Self::rollback) or dropping it rolls back, and the
/// connection goes back to the pool either way. It has the query methods
/// of [`Connection`]; queries sent through it run inside the transaction,
/// and [`begin`](Self::begin) opens a savepoint.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: &pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {
/// let tx = pool.checkout_in_transaction().await?;
/// tx.execute("update account set balance = balance - 10 where id = $1", (1,)).await?;
/// tx.execute("update account set balance = balance + 10 where id = $1", (2,)).await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub struct PooledTransaction<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Dropped after `state` has owed its rollback (see `Drop`).
    conn: PooledConnection<S>,
    state: TxState,
}

impl<S> PooledTransaction<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Sends `BEGIN` on `conn`. Dropped midway, the guard still rolls back.
    pub(crate) async fn begin_on(mut conn: PooledConnection<S>) -> Result<Self> {
        conn.transaction_expected = true;
        let mut tx = PooledTransaction {
            conn,
            state: TxState::outer(),
        };
        let PooledTransaction { conn, state } = &mut tx;
        state.begin(conn).await?;
        Ok(tx)
    }

    /// Requests travel through the transaction's reservation.
    pub(crate) fn via(&self) -> Via<'_, S> {
        Via {
            session: &self.conn.session,
            reservation: Some(self.state.reservation()),
        }
    }

    query_methods!(
        "# async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: &pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {",
        "# let tx = pool.checkout_in_transaction().await?; let db = &tx;"
    );

    /// The connection, for its status (`connection_parameters`,
    /// `cancel_token`, ...). Queries sent on it rather than through the
    /// transaction fail with [`Error::WouldDeadlock`](crate::Error::WouldDeadlock).
    pub fn connection(&self) -> &Connection<S> {
        &self.conn
    }

    /// A savepoint inside this transaction (see [`Transaction::begin`]).
    pub async fn begin(&self) -> Result<Transaction<'_, S>> {
        savepoint(&self.conn, self.state.reservation()).await
    }

    /// Commits, and gives the connection back. If the transaction had
    /// failed, the server rolls it back instead and this returns
    /// [`Error::TransactionRolledBack`](crate::Error::TransactionRolledBack).
    pub async fn commit(mut self) -> Result<()> {
        let PooledTransaction { conn, state } = &mut self;
        state.commit(conn).await
    }

    /// Rolls back, and gives the connection back.
    pub async fn rollback(mut self) -> Result<()> {
        let PooledTransaction { conn, state } = &mut self;
        state.rollback(conn).await
    }
}

impl<S> Drop for PooledTransaction<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn drop(&mut self) {
        let PooledTransaction { conn, state } = self;
        state.abandon(conn);
    }
}

impl<S> std::fmt::Debug for PooledTransaction<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledTransaction")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
