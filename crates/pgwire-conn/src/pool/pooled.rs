//! A checked-out connection: [`PooledConnection`].

use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};

use crate::connection::Connection;
use crate::pool::core::{Core, Member};
use crate::pool::gate::Permit;

/// A connection taken from a [`Pool`](crate::Pool) with
/// [`checkout`](crate::Pool::checkout): nobody else uses it until it is
/// dropped, which gives it back. It derefs to [`Connection`], so every
/// query method, `begin`, `with_transaction`, `query` streams and the rest
/// work on it.
///
/// It goes back however it is left: a transaction still open is rolled
/// back at once (with a warning, unless a transaction guard was dropped),
/// a request still running is cancelled and drained by the next checkout
/// before it is handed out again, and a dead connection is closed and
/// replaced on demand.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: &pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {
/// let conn = pool.checkout().await?;
/// conn.execute("set statement_timeout = 0", ()).await?; // stays on this connection
/// let n: i64 = conn.fetch_one("select count(*) from pg_class", ()).await?.unwrap().try_get(0)?;
/// drop(conn); // back to the pool
/// # Ok(()) }
/// ```
pub struct PooledConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    member: Option<Box<Member<S>>>,
    core: Arc<Core<S>>,
    /// A pooled transaction's guard ends it itself: no warning at check-in.
    pub(crate) transaction_expected: bool,
}

impl<S> PooledConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Holds `permit` until dropped (released by `drop`, after the
    /// connection is back, so that the task woken finds it).
    pub(crate) fn new(member: Box<Member<S>>, core: Arc<Core<S>>, permit: Permit<'_>) -> Self {
        permit.detach();
        core.checked_out.fetch_add(1, Ordering::AcqRel);
        PooledConnection {
            member: Some(member),
            core,
            transaction_expected: false,
        }
    }

    /// Closes the connection instead of giving it back (for one whose
    /// session state you changed and do not want others to inherit); the
    /// pool opens a replacement on demand.
    pub async fn detach_and_close(mut self) -> crate::Result<()> {
        let Some(member) = self.member.take() else {
            return Ok(());
        };
        let closed = member.conn.close().await;
        self.core.forget(member.conn);
        closed
    }
}

impl<S> Core<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// A checked-out connection closed by its holder.
    fn forget(&self, conn: Connection<S>) {
        self.retire(conn, false);
    }
}

impl<S> Deref for PooledConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Target = Connection<S>;

    fn deref(&self) -> &Connection<S> {
        match &self.member {
            Some(member) => &member.conn,
            // `member` is taken only by `drop` and `detach_and_close`,
            // which consume the guard.
            None => unreachable!("a pooled connection is used after its check-in"),
        }
    }
}

impl<S> Drop for PooledConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn drop(&mut self) {
        if let Some(member) = self.member.take() {
            self.core.check_in(member, self.transaction_expected);
        }
        self.core.checked_in();
        self.core.permits.release();
    }
}

impl<S> std::fmt::Debug for PooledConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.member {
            Some(member) => member.conn.fmt(f),
            None => f.write_str("PooledConnection(returned)"),
        }
    }
}
