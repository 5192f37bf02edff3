//! A lazy query on the pool: [`PooledRowStream`] owns its checkout and reads
//! rows as it is polled.
//!
//! A [`RowStream`](crate::RowStream) borrows its connection, and a value
//! cannot own both a checkout and a stream borrowing it. So one future
//! owns both and runs the stream, handing each row out through a slot and
//! pausing after it; polling the pooled stream polls that future. Rows are
//! still read only as they are asked for.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{Stream, TryStreamExt};

use crate::error::Result;
use crate::params::Params;
use crate::pool::pooled::PooledConnection;
use crate::statement::Query;
use pgwire_proto::Row;

type Slot = Arc<Mutex<Option<Result<Row>>>>;

/// The rows of [`Pool::query`](crate::Pool::query), read from the socket as
/// they are polled, on a connection the stream holds until it is dropped
/// (or ends). Dropping it early gives the connection back with its query
/// still running: the pool cancels and drains it before reuse.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(pool: &pgwire_conn::Pool<S>) -> pgwire_conn::Result<()> {
/// use futures_util::TryStreamExt;
/// let mut rows = pool.query("select generate_series(1, 1000000)", ()).await?;
/// while let Some(row) = rows.try_next().await? {
///     if row.try_get::<i32>(0)? == 10 {
///         break; // the connection goes back when `rows` is dropped
///     }
/// }
/// # Ok(()) }
/// ```
pub struct PooledRowStream {
    slot: Slot,
    count: Arc<Mutex<Option<u64>>>,
    /// Runs the query; `None` once it ended.
    driver: Option<Pin<Box<dyn Future<Output = Result<()>> + Send>>>,
}

impl std::fmt::Debug for PooledRowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledRowStream")
            .field("done", &self.driver.is_none())
            .finish_non_exhaustive()
    }
}

/// Pending once, so that the driver stops after handing out a row; the
/// stream returns that row, and its caller polls again for the next.
struct Pause(bool);

impl Future for Pause {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
}

impl PooledRowStream {
    /// Sends `sql` on `conn` and returns the stream of its rows: the query
    /// is sent (and its first answer awaited) here, so an error in it is
    /// this call's.
    pub(crate) async fn start<S, P>(
        conn: PooledConnection<S>,
        sql: String,
        timeout: Option<std::time::Duration>,
        params: P,
    ) -> Result<Self>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        P: Params + Send + Sync + 'static,
    {
        let slot: Slot = Arc::default();
        let count = Arc::default();
        let (out, counted) = (Arc::clone(&slot), Arc::clone(&count));
        let driver = async move {
            let mut query = Query::new(&sql);
            if let Some(limit) = timeout {
                query = query.timeout(limit);
            }
            let mut rows = conn.query(query, params).await?;
            while let Some(row) = rows.try_next().await? {
                put(&out, Ok(row));
                Pause(false).await;
            }
            put(&counted, rows.row_count().await?);
            Ok(())
        };
        let mut stream = PooledRowStream {
            slot,
            count,
            driver: Some(Box::pin(driver)),
        };
        // Run up to the first row (or the end), so that a bad query fails
        // here rather than at the first poll.
        if let Some(Err(e)) = std::future::poll_fn(|cx| stream.advance(cx)).await {
            return Err(e);
        }
        Ok(stream)
    }

    /// Polls the driver until it hands out a row, ends or fails, without
    /// taking the row (`Ready(None)` with a row in the slot, or at the end).
    fn advance(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<()>>> {
        if self
            .slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Poll::Ready(None);
        }
        let Some(driver) = self.driver.as_mut() else {
            return Poll::Ready(None);
        };
        match driver.as_mut().poll(cx) {
            Poll::Ready(result) => {
                self.driver = None;
                Poll::Ready(result.err().map(Err))
            }
            Poll::Pending
                if self
                    .slot
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some() =>
            {
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Reads and drops the remaining rows, and returns the statement's row
    /// count; the connection goes back to the pool.
    pub async fn row_count(mut self) -> Result<u64> {
        while self.try_next().await?.is_some() {}
        Ok(take(&self.count).unwrap_or(0))
    }
}

impl Stream for PooledRowStream {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = &mut *self;
        match this.advance(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(_) => Poll::Ready(take(&this.slot)),
        }
    }
}
