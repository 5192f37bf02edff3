//! Lazy results: streams that read from the socket only as they are polled,
//! so a result of any size streams in bounded memory.
//!
//! A stream reads its request's answers when their turn comes, holding the
//! connection's lock only inside a poll: a stream that is not being polled
//! holds up only the requests sent after it (whose answers come after its
//! own), never those before it, and creating another stream never waits.
//! Dropping a stream early is safe: its request stays queued in the machine,
//! and whoever reads next discards its remaining answers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::Stream;
use pgwire_proto::{DatabaseError, Event, Row, RowDescription, TransactionStatus};

use crate::error::{Error, Result};
use crate::session::{is_cancellation, Answer};
use crate::timeout::{Deadline, TimeoutOutcome};

/// The raw backend events of one request, up to (not including) its
/// `ReadyForQuery`: what [`Connection::lowlevel_query`](crate::Connection::lowlevel_query)
/// returns. Server errors arrive as [`Event::Error`] items, not as `Err`;
/// `Err` means the connection itself failed (or the call's time limit
/// passed without a cancel), or, as the last item, that rows came back
/// while the session's client_encoding was not UTF8
/// ([`Error::ClientEncoding`]).
pub struct EventStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    answer: Answer<'c, S>,
    encoding: EncodingWatch,
}

/// What an answer showed of the session's client encoding. The machine
/// marks the rows that arrive once the server has reported another
/// encoding than UTF8, but the server reports a change only at the end of
/// the request that made it, after that request's own rows: an answer with
/// rows and such a report, or with marked rows, ends in
/// [`Error::ClientEncoding`] instead of passing for right.
#[derive(Debug, Default)]
struct EncodingWatch {
    rows: bool,
    foreign: Option<String>,
}

impl EncodingWatch {
    #[inline]
    fn see(&mut self, event: &Event) {
        match event {
            Event::Row(row) => self.see_row(row),
            Event::ParameterStatus { name, value }
                if name == "client_encoding" && !pgwire_proto::encoding::is_utf8(value) =>
            {
                self.foreign.get_or_insert_with(|| value.clone());
            }
            _ => {}
        }
    }

    #[inline]
    fn see_row(&mut self, row: &Row) {
        self.rows = true;
        if let Some(encoding) = row.description().client_encoding() {
            self.foreign.get_or_insert_with(|| encoding.to_owned());
        }
    }

    /// At the end of the answer: the refusal, once, if it is owed.
    fn finish(&mut self) -> Option<Error> {
        let encoding = self.foreign.take().filter(|_| self.rows)?;
        Some(Error::ClientEncoding {
            encoding,
            sent: true,
        })
    }
}

impl<'c, S> EventStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(answer: Answer<'c, S>) -> Self {
        EventStream {
            answer,
            encoding: EncodingWatch::default(),
        }
    }

    /// The allocated size of the connection's receive buffer when this
    /// stream last read (0 once it has ended), for memory accounting.
    pub fn buffer_capacity(&self) -> usize {
        self.answer.buffer_capacity()
    }

    /// The error a server error stands for: a cancellation this call's time
    /// limit asked for is a timeout.
    pub(crate) fn database_error(&self, error: DatabaseError) -> Error {
        match self.answer.cancelled_after() {
            Some(after) if is_cancellation(&error) => Error::QueryTimeout {
                after,
                outcome: TimeoutOutcome::Cancelled,
            },
            _ => Error::Database(error),
        }
    }

    pub(crate) fn final_status(&self) -> Option<TransactionStatus> {
        self.answer.final_status()
    }

    pub(crate) fn take_deadline(&mut self) -> Option<Deadline> {
        self.answer.take_deadline()
    }

    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        batch: Option<&mut VecDeque<Row>>,
    ) -> Poll<Result<Option<Event>>> {
        Poll::Ready(match ready!(self.answer.poll_event(cx, batch)) {
            Ok(Some(event)) => {
                self.encoding.see(&event);
                Ok(Some(event))
            }
            Ok(None) => self.encoding.finish().map_or(Ok(None), Err),
            Err(e) => Err(e),
        })
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
        let polled = ready!(self.poll_event(cx, None));
        self.answer.unlock(cx);
        Poll::Ready(polled.transpose())
    }
}

/// Events taken ahead under one hold of the lock, at most.
const AHEAD: usize = 256;

impl<S> EventStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// [`poll_next`](Stream::poll_next), taking with each event what
    /// else of the answer is already received into `ahead` (served first by
    /// the next calls): one hold of the lock per socket read rather than per
    /// event. Order is kept, and a failure is taken as the last item; the
    /// answer's end is left for the poll that reaches it.
    pub(crate) fn poll_next_ahead(
        &mut self,
        cx: &mut Context<'_>,
        ahead: &mut VecDeque<Result<Event>>,
    ) -> Poll<Option<Result<Event>>> {
        if let Some(item) = ahead.pop_front() {
            return Poll::Ready(Some(item));
        }
        let polled = ready!(self.poll_event(cx, None));
        if matches!(polled, Ok(Some(_))) {
            while ahead.len() < AHEAD {
                match self.answer.buffered_event(cx) {
                    None | Some(Ok(None)) => break,
                    Some(Ok(Some(event))) => {
                        self.encoding.see(&event);
                        ahead.push_back(Ok(event));
                    }
                    Some(Err(e)) => {
                        ahead.push_back(Err(e));
                        break;
                    }
                }
            }
        }
        self.answer.unlock(cx);
        Poll::Ready(polled.transpose())
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
///
/// Rows are zero-copy views of the receive buffer: a row kept alive keeps
/// the buffer chunk it arrived in (see [`Row`]); the eager methods
/// (`fetch`, ...) compact what they return.
///
/// A stream that ends in [`Error::ClientEncoding`] ran a statement that
/// changed `client_encoding` away from UTF8, which the server reports only
/// after its rows: the rows it yielded before that error must be thrown
/// away (the eager methods do so themselves).
pub struct RowStream<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    events: EventStream<'c, S>,
    /// Rows already decoded from the receive buffer in one hold of the
    /// connection's lock, served without taking it again.
    batch: VecDeque<Row>,
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
        Self::from_events(EventStream::new(answer))
    }

    pub(crate) fn from_events(events: EventStream<'c, S>) -> Self {
        RowStream {
            events,
            batch: VecDeque::new(),
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
        self.drain().await
    }

    /// [`row_count`](Self::row_count) without giving the stream up.
    pub(crate) async fn drain(&mut self) -> Result<u64> {
        use futures_util::StreamExt;
        while let Some(item) = self.next().await {
            item?;
        }
        Ok(self.rows_affected.unwrap_or(0))
    }

    /// The transaction status after the request, once it has ended.
    pub(crate) fn final_status(&self) -> Option<TransactionStatus> {
        self.events.final_status()
    }

    pub(crate) fn take_deadline(&mut self) -> Option<Deadline> {
        self.events.take_deadline()
    }
}

impl<S> Stream for RowStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Row>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(row) = this.batch.pop_front() {
            return Poll::Ready(Some(Ok(row)));
        }
        let polled = this.poll_rows(cx);
        // The lock is held only within this poll.
        this.events.answer.unlock(cx);
        polled
    }
}

impl<S> RowStream<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_rows(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = self;
        loop {
            match ready!(this.events.poll_event(cx, Some(&mut this.batch))) {
                Ok(Some(Event::Row(row))) => {
                    // The rest of a short answer is often here already:
                    // take it under the same hold of the lock.
                    this.take_buffered(cx);
                    return Poll::Ready(Some(Ok(row)));
                }
                Ok(Some(event)) => this.take_in(event),
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(None) => return Poll::Ready(this.error.take().map(Err)),
            }
        }
    }

    /// Takes in what of the answer is already received, rows into the batch.
    fn take_buffered(&mut self, cx: &mut Context<'_>) {
        loop {
            // Rows in order, straight from the receive buffer, up to a batch.
            if !self.events.answer.take_rows(&mut self.batch) {
                break;
            }
            match self.events.answer.buffered_event(cx) {
                None => break,
                Some(Ok(Some(Event::Row(row)))) => {
                    self.events.encoding.see_row(&row);
                    self.batch.push_back(row);
                }
                Some(Ok(Some(event))) => {
                    self.events.encoding.see(&event);
                    self.take_in(event);
                }
                // Ended: the next poll reports it.
                Some(Ok(None)) => break,
                // Failed: the stream must not end as if complete.
                Some(Err(e)) => {
                    self.error.get_or_insert(e);
                    break;
                }
            }
        }
    }

    /// Records a non-row event of the answer.
    fn take_in(&mut self, event: Event) {
        match event {
            Event::RowDescription(d) => self.description = Some(d),
            Event::CommandComplete(c) => self.rows_affected = c.rows(),
            Event::EmptyQuery => self.rows_affected = None,
            Event::PortalSuspended => self.suspended = true,
            // Keep the first; the request goes on to ReadyForQuery.
            Event::Error(e) if self.error.is_none() => {
                self.error = Some(self.events.database_error(e));
            }
            _ => {}
        }
    }
}
