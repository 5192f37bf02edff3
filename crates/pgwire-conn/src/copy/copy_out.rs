//! [`CopyOut`]: the data of a `COPY ... TO STDOUT`, as a stream.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::Stream;
use pgwire_proto::{CopyResponse, DatabaseError, Event, Format};

use crate::error::{Error, Result};
use crate::session::Answer;

/// Chunks taken from the receive buffer in one hold of the connection's
/// lock: the lock is then taken once per socket read, not once per row.
const BATCH: usize = 256;

/// The data of a `COPY ... TO STDOUT` ([`Connection::copy_out`](crate::Connection::copy_out)):
/// a [`Stream`] of chunks, each a slice of the connection's receive buffer
/// (no copy): one row per chunk in text and CSV, and in binary the header
/// and trailer are parts of the first and last chunks. The socket is read
/// only as the stream is polled (real backpressure). A server error ends
/// the stream as its last item; [`rows`](Self::rows) is the row count once
/// it has ended.
///
/// Dropped before its end, the rest of the data is read and discarded by
/// the next user of the connection (or the COPY is cancelled, as a dropped
/// query is), and the connection stays usable.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use futures_util::TryStreamExt;
/// let mut out = conn.copy_out("copy (select g, 'x' from generate_series(1, 3) g) to stdout").await?;
/// let mut text = Vec::new();
/// while let Some(chunk) = out.try_next().await? {
///     text.extend_from_slice(&chunk);
/// }
/// assert_eq!(text, b"1\tx\n2\tx\n3\tx\n");
/// assert_eq!(out.rows(), Some(3));
/// # Ok(()) }
/// ```
pub struct CopyOut<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    answer: Answer<'c, S>,
    response: CopyResponse,
    batch: VecDeque<Bytes>,
    rows: Option<u64>,
    error: Option<DatabaseError>,
    ended: bool,
}

impl<S> std::fmt::Debug for CopyOut<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOut")
            .field("format", &self.response.format)
            .field("rows", &self.rows)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<'c, S> CopyOut<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Reads up to the CopyOutResponse: a statement that is no COPY TO
    /// STDOUT, or one that fails to start, is an error here.
    pub(crate) async fn start(answer: Answer<'c, S>) -> Result<Self> {
        let mut out = CopyOut {
            answer,
            response: CopyResponse {
                format: Format::Text,
                column_formats: Vec::new(),
            },
            batch: VecDeque::new(),
            rows: None,
            error: None,
            ended: false,
        };
        let mut ran = false;
        loop {
            let event = std::future::poll_fn(|cx| {
                let polled = out.answer.poll_event(cx, None);
                out.answer.unlock(cx);
                polled
            })
            .await?;
            match event {
                Some(Event::CopyOutResponse(response)) => {
                    out.response = response;
                    return Ok(out);
                }
                Some(Event::Error(e)) => {
                    out.error.get_or_insert(e);
                }
                Some(Event::CommandComplete(_) | Event::Row(_) | Event::EmptyQuery) => ran = true,
                Some(_) => {}
                None => break,
            }
        }
        match out.error.take() {
            Some(e) => Err(Error::Database(e)),
            None => Err(Error::InvalidInput(format!(
                "copy_out: the statement is no COPY ... TO STDOUT{}",
                if ran { " (it ran)" } else { "" }
            ))),
        }
    }

    /// The COPY's overall format (text for text and CSV, or binary).
    pub fn format(&self) -> Format {
        self.response.format
    }

    /// The format of each column, as the server announced them.
    pub fn column_formats(&self) -> &[Format] {
        &self.response.column_formats
    }

    /// The number of rows copied, once the stream has ended without error.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// Takes one event of ours; `false` when the stream ended.
    fn take(&mut self, event: Option<Event>) -> bool {
        match event {
            Some(Event::CopyData(data)) => self.batch.push_back(data),
            Some(Event::CommandComplete(c)) => self.rows = c.rows(),
            Some(Event::Error(e)) => {
                self.error.get_or_insert(e);
            }
            Some(_) => {}
            None => {
                self.ended = true;
                return false;
            }
        }
        true
    }
}

impl<S> Stream for CopyOut<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(data) = this.batch.pop_front() {
                return Poll::Ready(Some(Ok(data)));
            }
            if this.ended {
                return Poll::Ready(this.error.take().map(|e| Err(Error::Database(e))));
            }
            let event = match this.answer.poll_event(cx, None) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.answer.unlock(cx);
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Ok(event)) => event,
            };
            // More of what is already received, in the same hold of the lock:
            // the data straight from the buffer, anything else as an event.
            let mut more = this.take(event);
            while more && this.answer.take_copy_data(&mut this.batch, BATCH) {
                match this.answer.buffered_event(cx) {
                    None => break,
                    Some(Ok(event)) => more = this.take(event),
                    Some(Err(e)) => {
                        this.answer.unlock(cx);
                        this.ended = true;
                        this.batch.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            this.answer.unlock(cx);
        }
    }
}
