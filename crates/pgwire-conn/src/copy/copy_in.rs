//! [`CopyIn`]: the writer of a `COPY ... FROM STDIN`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{Stream, TryStreamExt};
use pgwire_proto::{CopyResponse, DatabaseError, Event, Format};

use crate::error::{Error, Result};
use crate::session::{Locked, Session};
use crate::stream::EventStream;

/// Data is sent in CopyData messages of about this size: large enough that
/// the per-message cost vanishes, small enough to bound the memory held.
pub(crate) const CHUNK: usize = 64 * 1024;

/// What a COPY FROM STDIN owes the session however it ends.
pub(crate) type Ending<'c, S> = crate::reserved::Reserved<'c, S>;

/// The writer of a `COPY ... FROM STDIN` ([`Connection::copy_in`](crate::Connection::copy_in)):
/// feed it the data in the COPY's format (text, CSV or binary, as the
/// statement says) with [`send`](Self::send) or as a futures-io
/// [`AsyncWrite`], then call [`finish`](Self::finish) (commits, returns the
/// row count) or [`abort`](Self::abort) (the server rolls the COPY back).
///
/// Data is buffered and sent in messages of 64 KiB; a write waits while the
/// socket does not take the data (backpressure). An error the server
/// reports while data is still coming (a malformed row, a constraint
/// violation) is the result of the next write that reaches the socket, or
/// of `finish`. Dropped without `finish`, the writer leaves a CopyFail
/// that is sent at the first chance: nothing of the COPY is committed, and
/// the connection stays usable.
///
/// While it is open the connection serves nobody else: other tasks' requests
/// wait until it ends (as for a [`Transaction`](crate::Transaction)).
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use futures_util::AsyncWriteExt;
/// conn.execute("create temp table t (id int, name text)", ()).await?;
/// let mut copy = conn.copy_in("copy t from stdin (format csv)").await?;
/// copy.send(b"1,one\n").await?;
/// copy.write_all(b"2,two\n").await?; // or as an AsyncWrite
/// assert_eq!(copy.finish().await?, 2);
/// # Ok(()) }
/// ```
pub struct CopyIn<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Dropped first: the CopyFail is owed before the answer is abandoned.
    ending: Ending<'c, S>,
    events: EventStream<'c, S>,
    session: &'c Session<S>,
    buf: BytesMut,
    response: CopyResponse,
    /// The server ended the COPY with this error while data was coming.
    failed: Option<DatabaseError>,
    /// The COPY's request id: its answer's place in the ledger.
    first: u64,
    /// The answer was read to its `ReadyForQuery`.
    answered: bool,
}

impl<S> std::fmt::Debug for CopyIn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyIn")
            .field("format", &self.response.format)
            .field("buffered", &self.buf.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

fn io_error(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        e => io::Error::other(e),
    }
}

impl<'c, S> CopyIn<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(
        ending: Ending<'c, S>,
        events: EventStream<'c, S>,
        response: CopyResponse,
        first: u64,
    ) -> Self {
        let session = ending.session();
        CopyIn {
            ending,
            events,
            session,
            buf: BytesMut::with_capacity(CHUNK),
            response,
            failed: None,
            first,
            answered: false,
        }
    }

    /// The data buffered for the next message, to encode into directly.
    pub(crate) fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The COPY's overall format (text for text and CSV, or binary).
    pub fn format(&self) -> Format {
        self.response.format
    }

    /// The format of each column, as the server announced them.
    pub fn column_formats(&self) -> &[Format] {
        &self.response.column_formats
    }

    /// Queues `data` (any split of the COPY data: rows need not be whole),
    /// sending a message whenever 64 KiB are buffered.
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(Error::Database(e.clone()));
        }
        let mut rest = data;
        while !rest.is_empty() {
            if self.buf.len() >= CHUNK {
                std::future::poll_fn(|cx| self.poll_push(cx)).await?;
            }
            let n = rest.len().min(CHUNK.saturating_sub(self.buf.len()).max(1));
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        if self.buf.len() >= CHUNK {
            std::future::poll_fn(|cx| self.poll_push(cx)).await?;
        }
        Ok(())
    }

    /// [`send`](Self::send) for owned bytes.
    pub async fn send_bytes(&mut self, data: Bytes) -> Result<()> {
        self.send(&data).await
    }

    /// Sends what is buffered and ends the data (CopyDone): the server
    /// commits the COPY. Returns the number of rows copied; an error if the
    /// server refused the data (then nothing was committed).
    pub async fn finish(mut self) -> Result<u64> {
        let pushed = if self.failed.is_none() {
            std::future::poll_fn(|cx| self.poll_push(cx)).await
        } else {
            Ok(())
        };
        if let Err(e) = pushed {
            if self.failed.is_none() {
                return Err(e);
            }
        }
        if self.failed.is_none() {
            let mut locked = std::future::poll_fn(|cx| self.poll_lock(cx)).await;
            locked.check_usable()?;
            if locked.machine.is_copy_in() {
                locked.machine.copy_done()?;
                locked.flush().await?;
            }
        }
        let rows = self.read_to_end().await?;
        match self.failed.take() {
            Some(e) => Err(Error::Database(e)),
            None => rows.ok_or(Error::Protocol(pgwire_proto::ProtocolError::Malformed {
                message: "CommandComplete",
                reason: "a COPY FROM STDIN completed without a row count",
            })),
        }
    }

    /// Ends the COPY with an error (CopyFail with `reason`): the server rolls
    /// it back, and nothing of it is committed. Buffered data is dropped.
    /// `Ok` once the server has confirmed it (or had already refused the
    /// COPY); `Err` only if the connection failed.
    pub async fn abort(mut self, reason: &str) -> Result<()> {
        self.buf.clear();
        {
            let mut locked = std::future::poll_fn(|cx| self.poll_lock(cx)).await;
            locked.check_usable()?;
            if locked.machine.is_copy_in() {
                locked.machine.copy_fail(reason)?;
                locked.flush().await?;
            }
        }
        self.read_to_end().await?;
        Ok(())
    }

    /// Reads the COPY's answer to its `ReadyForQuery`: the row count of its
    /// CommandComplete; a server error goes to `failed`.
    async fn read_to_end(&mut self) -> Result<Option<u64>> {
        let mut rows = None;
        if !self.answered {
            while let Some(event) = self.events.try_next().await? {
                match event {
                    Event::CommandComplete(c) => rows = c.rows(),
                    Event::Error(e) => {
                        self.failed.get_or_insert(e);
                    }
                    _ => {}
                }
            }
            self.answered = true;
        }
        self.ending.ended();
        Ok(rows)
    }

    /// The lock without a place in its queue: a writer may be left
    /// unpolled (see `session::waiters`).
    fn poll_lock(&mut self, cx: &mut Context<'_>) -> Poll<Locked<'c, S>> {
        self.session.poll_lock(cx)
    }

    /// Moves the buffered data to the connection and sends it; waits while
    /// earlier data is still unsent (backpressure). Then looks, without
    /// waiting, for an error the server sent meanwhile.
    pub(crate) fn poll_push(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(e) = &self.failed {
            return Poll::Ready(Err(Error::Database(e.clone())));
        }
        let mut locked = ready!(self.poll_lock(cx));
        loop {
            locked.check_usable()?;
            if !locked.machine.is_copy_in() {
                // The server ended the COPY: its error is in the answer.
                drop(locked);
                return self.poll_server_end(cx);
            }
            if locked.machine.output().len() < CHUNK {
                break;
            }
            match locked.poll_flush(cx) {
                Poll::Ready(Ok(())) => break,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            drop(locked);
            // The server may have stopped reading to report an error: look
            // for it, or wait for the socket.
            self.poll_early_error(cx)?;
            // That look flushes too. If the socket took the data then, the
            // write that found it full left no wake-up behind (a write that
            // goes through drops the registration): look again rather than
            // wait for nothing.
            locked = ready!(self.poll_lock(cx));
            if locked.machine.output().len() >= CHUNK && locked.write_blocked() {
                return Poll::Pending;
            }
        }
        if !self.buf.is_empty() {
            locked.machine.copy_data(&self.buf)?;
            self.buf.clear();
        }
        let flushed = locked.poll_flush(cx);
        drop(locked);
        if let Poll::Ready(Err(e)) = flushed {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(self.poll_early_error(cx))
    }

    /// Reads what the server sent, without waiting for more: an error that
    /// ended the COPY is kept (and returned).
    fn poll_early_error(&mut self, cx: &mut Context<'_>) -> Result<()> {
        while !self.answered {
            match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Pending => {
                    // Only a look: the answer is not waiting in a poll (its
                    // task goes on writing), so the ledger must not count on
                    // it to read for others (a later request of this task
                    // reads ahead for it instead).
                    self.session.shared.book.unpark(self.first);
                    break;
                }
                Poll::Ready(Some(Ok(Event::Error(e)))) => {
                    self.server_failed(e);
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Err(e),
                Poll::Ready(None) => {
                    self.answered = true;
                    self.ending.ended();
                }
            }
        }
        match &self.failed {
            Some(e) => Err(Error::Database(e.clone())),
            None => Ok(()),
        }
    }

    /// The server ended the COPY with `error`: nothing of it commits, and
    /// the session may serve others again (requests queue behind the
    /// COPY's last answer, which whoever reads next takes in).
    fn server_failed(&mut self, error: DatabaseError) {
        self.failed.get_or_insert(error);
        self.ending.ended();
    }

    /// The server ended the COPY on its own: read its answer to the end
    /// and return its error.
    fn poll_server_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        while !self.answered {
            match ready!(Pin::new(&mut self.events).poll_next(cx)) {
                Some(Ok(Event::Error(e))) => {
                    self.server_failed(e);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => {
                    self.answered = true;
                    self.ending.ended();
                }
            }
        }
        Poll::Ready(Err(match &self.failed {
            Some(e) => Error::Database(e.clone()),
            None => Error::Protocol(pgwire_proto::ProtocolError::Unexpected {
                message: "the end of a COPY FROM STDIN without an error",
                state: "in COPY FROM STDIN",
            }),
        }))
    }

    /// Sends everything buffered and waits until the socket took it.
    fn poll_send_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if !self.buf.is_empty() {
            ready!(self.poll_push(cx))?;
        }
        let mut locked = ready!(self.poll_lock(cx));
        locked.check_usable()?;
        let flushed = locked.poll_flush(cx);
        drop(locked);
        ready!(flushed)?;
        Poll::Ready(self.poll_early_error(cx))
    }
}

/// Writes are COPY data. `poll_flush` sends what is buffered; `poll_close`
/// does the same and does **not** end the COPY: call
/// [`finish`](CopyIn::finish) for that (it returns the row count). An error
/// of the server or the connection comes as an `io::Error` whose inner
/// error is the crate's [`Error`].
impl<S> AsyncWrite for CopyIn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(e) = &this.failed {
            return Poll::Ready(Err(io_error(Error::Database(e.clone()))));
        }
        if this.buf.len() >= CHUNK {
            ready!(this.poll_push(cx)).map_err(io_error)?;
        }
        let n = data.len().min(CHUNK - this.buf.len().min(CHUNK));
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_all(cx).map_err(io_error)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_all(cx).map_err(io_error)
    }
}
