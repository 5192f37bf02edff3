//! Lazy results: streams that read from the socket only as they are polled,
//! so a result of any size streams in bounded memory.
//!
//! A stream reads its request's answers when their turn comes, holding the
//! connection's lock only while it has bytes to decode. Dropping it early is
//! safe: the request stays queued in the machine, and whoever reads next
//! discards its remaining answers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{Stream, StreamExt};
use pgwire_proto::{Event, Row, RowDescription};

use crate::answer::Answer;
use crate::error::{Error, Result};

/// The raw backend events of one request, up to (not including) its
/// `ReadyForQuery`: what [`Connection::lowlevel_query`](crate::Connection::lowlevel_query)
/// returns. Server errors arrive as [`Event::Error`] items, not as `Err`;
/// `Err` means the connection itself failed.
pub struct EventStream<'c, S> {
    answer: Answer<'c, S>,
}

impl<'c, S> EventStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(answer: Answer<'c, S>) -> Self {
        EventStream { answer }
    }

    /// The allocated size of the connection's receive buffer (0 once the
    /// stream has ended), for memory accounting.
    pub fn buffer_capacity(&self) -> usize {
        self.answer.buffer_capacity()
    }
}

impl<S> std::fmt::Debug for EventStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("finished", &self.answer.is_done())
            .finish()
    }
}

impl<S> Stream for EventStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // The lock is released as soon as the last answer is read.
        Poll::Ready(ready!(self.answer.poll_event(cx)).transpose())
    }
}

/// The rows of a query, read from the socket as the stream is polled
/// (real backpressure). A database error arrives as the last item, once the
/// server is ready again.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use futures_util::TryStreamExt;
/// let mut rows = conn.query("select g from generate_series(1, 10000000) g", ()).await?;
/// let mut sum = 0i64;
/// while let Some(row) = rows.try_next().await? {
///     sum += row.try_get::<i32>(0)? as i64;
/// }
/// # Ok(()) }
/// ```
pub struct RowStream<'c, S> {
    events: EventStream<'c, S>,
    description: Option<Arc<RowDescription>>,
    rows_affected: Option<u64>,
    error: Option<Error>,
    suspended: bool,
}

impl<S> std::fmt::Debug for RowStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("events", &self.events)
            .field("rows_affected", &self.rows_affected)
            .field("suspended", &self.suspended)
            .finish_non_exhaustive()
    }
}

impl<'c, S> RowStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(answer: Answer<'c, S>) -> Self {
        RowStream {
            events: EventStream::new(answer),
            description: None,
            rows_affected: None,
            error: None,
            suspended: false,
        }
    }

    /// The columns of the current result set, once known.
    pub fn description(&self) -> Option<&Arc<RowDescription>> {
        self.description.as_ref()
    }

    /// The allocated size of the connection's receive buffer, for memory
    /// accounting: it stays small however many rows stream through.
    pub fn buffer_capacity(&self) -> usize {
        self.events.buffer_capacity()
    }

    /// True if the portal stopped at its `max_rows` limit.
    pub fn suspended(&self) -> bool {
        self.suspended
    }

    /// Drains the rows not yet read and returns the row count of the last
    /// statement (rows returned, inserted, updated or deleted; 0 for commands
    /// without a count, and for a portal suspended at `max_rows`).
    pub async fn row_count(mut self) -> Result<u64> {
        while let Some(item) = self.next().await {
            item?;
        }
        Ok(self.rows_affected.unwrap_or(0))
    }
}

impl<S> Stream for RowStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            // Hot path: rows already buffered go straight from the machine.
            if let Some(inner) = self.events.answer.turn_inner() {
                match inner.machine.next_row() {
                    Ok(Some(row)) => return Poll::Ready(Some(Ok(row))),
                    Ok(None) => {}
                    Err(e) => {
                        let e = inner.fail(e.into());
                        self.events.answer.end();
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            match ready!(self.events.poll_next_unpin(cx)) {
                Some(Ok(Event::Row(row))) => return Poll::Ready(Some(Ok(row))),
                Some(Ok(Event::RowDescription(d))) => self.description = Some(d),
                Some(Ok(Event::CommandComplete(c))) => self.rows_affected = c.rows(),
                Some(Ok(Event::EmptyQuery)) => self.rows_affected = None,
                Some(Ok(Event::PortalSuspended)) => self.suspended = true,
                Some(Ok(Event::Error(e))) => {
                    // Keep the first; the request goes on to ReadyForQuery.
                    self.error.get_or_insert(Error::Database(e));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(self.error.take().map(Err)),
            }
        }
    }
}
