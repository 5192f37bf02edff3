//! `execute_many`: one statement run for many parameter rows, as one batch
//! under one `Sync`, written in bounded chunks while the row counts are
//! read, so that memory stays flat however many rows there are.
//!
//! The session is reserved for the whole run (as a COPY reserves it): the
//! batch stays open between chunks, and a request of another task queued
//! meanwhile would join it. At most about two chunks are in flight: the
//! next one is written once half of the last one has answered. Each chunk
//! but the last ends in a `Flush`, without which the server would keep
//! the small answers in its buffer until the `Sync`.

use std::iter::Peekable;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::Event;

use crate::error::{Error, Result};
use crate::params::Params;
use crate::query::Via;
use crate::reserved::Reserved;
use crate::session::owed::Owed;
use crate::session::{current_waker, Inner, Reading};
use crate::statement::Query;
use crate::stream::EventStream;

/// A chunk ends after this many bytes of messages...
const CHUNK_BYTES: usize = 64 * 1024;
/// ... or this many rows, whichever comes first.
const CHUNK_ROWS: usize = 1024;

/// Queues rows from `rows` as members of the open batch, up to a chunk;
/// `sent` counts the rows queued so far. On failure, the row that failed.
fn queue_chunk<S, I>(
    inner: &mut Inner<S>,
    query: Query<'_>,
    rows: &mut Peekable<I>,
    sent: &mut usize,
) -> std::result::Result<usize, (usize, Error)>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: Iterator,
    I::Item: Params + Sync,
{
    let start = inner.machine.output().len();
    let mut queued = 0;
    for row in rows.by_ref() {
        inner.queue_member(query, &row).map_err(|e| (*sent, e))?;
        *sent += 1;
        queued += 1;
        let bytes = inner.machine.output().len().saturating_sub(start);
        if queued >= CHUNK_ROWS || bytes >= CHUNK_BYTES {
            break;
        }
    }
    if rows.peek().is_some() {
        // The next chunk waits for this one's answers: the server must send
        // them before the Sync.
        inner.machine.flush_batch().map_err(|e| (*sent, e.into()))?;
    }
    Ok(queued)
}

impl<'c, S> Via<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// See [`Connection::execute_many`](crate::Connection::execute_many).
    pub(crate) async fn execute_many<I>(&self, query: Query<'_>, rows: I) -> Result<u64>
    where
        I: IntoIterator,
        I::Item: Params + Sync,
    {
        let status = &self.session.shared.status;
        let watch = crate::observe::Watch::start(status, "execute_many", query.text());
        let ran = self.execute_rows(query, rows).await;
        watch.finish(query.text(), &ran, |n| *n);
        ran
    }

    async fn execute_rows<I>(&self, query: Query<'_>, rows: I) -> Result<u64>
    where
        I: IntoIterator,
        I::Item: Params + Sync,
    {
        let mut rows = rows.into_iter().peekable();
        let Some(first_row) = rows.peek() else {
            return Ok(0);
        };
        let mut deadline = self.deadline(query.timeout)?;
        let session = self.session;
        let waker = current_waker().await;
        let (mut locked, fence) = self
            .lock_prepared(
                |inner| inner.member_misses([(query, first_row as &(dyn Params + Sync))]),
                &waker,
                &mut deadline,
            )
            .await?;
        let reservation = self
            .reservation
            .is_none()
            .then(|| session.shared.book.reserve(&waker));
        // Dropped with the batch open, it is aborted: nothing of it stands.
        let mut ending = Reserved::new(session, reservation, Owed::AbortBatch);
        let first = locked.machine.next_request_id().0;
        let mark = locked.machine.queue_mark();
        locked.machine.begin_batch()?;
        let mut sent = 0;
        let mut last_chunk = match queue_chunk(&mut locked, query, &mut rows, &mut sent) {
            Ok(n) => n,
            Err((row, source)) => {
                // Nothing was sent: take it all back.
                locked.unrecord_hits_from(first);
                if let Err(stuck) = locked.machine.unqueue_to(mark) {
                    return Err(locked.fail(Error::Dead(format!(
                        "execute_many failed to queue ({source}) and could not take it back: {stuck}"
                    ))));
                }
                ending.ended();
                return Err(Error::Batch {
                    statement: Some(row),
                    source: Box::new(source),
                });
            }
        };
        let mut open = true;
        if rows.peek().is_none() {
            locked.machine.end_batch()?;
            open = false;
            ending.settled();
        }
        let reading = Reading {
            preparing: None,
            deadline,
            fence,
            cancel_on_drop: self.reservation.is_none(),
            every_ready: false,
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        let mut events = EventStream::new(answer);
        // Rows answered, rows affected, and what failed (row, or None for
        // the commit at the end).
        let (mut done, mut total) = (0usize, 0u64);
        let mut failure: Option<(Option<usize>, Error)> = None;
        loop {
            if open && sent - done <= last_chunk / 2 {
                std::future::poll_fn(|cx| session.shared.orphan.poll(cx)).await;
                let mut locked = session.lock().await;
                locked.check_usable()?;
                if failure.is_some() || locked.machine.batch_failed() {
                    // The server skips the rest up to the Sync.
                    locked.machine.end_batch()?;
                } else {
                    match queue_chunk(&mut locked, query, &mut rows, &mut sent) {
                        Ok(n) => last_chunk = n,
                        Err((row, source)) => {
                            locked.machine.abort_batch()?;
                            failure = Some((Some(row), source));
                        }
                    }
                    if failure.is_none() && rows.peek().is_none() {
                        locked.machine.end_batch()?;
                    }
                }
                open = locked.machine.in_batch();
                if !open {
                    ending.settled();
                }
                // Sent now if the socket takes it; else by the reading below.
                let _ =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(locked.poll_flush(cx))).await;
                continue;
            }
            match events.try_next().await? {
                None => break,
                Some(Event::CommandComplete(c)) => {
                    total += c.rows().unwrap_or(0);
                    done += 1;
                }
                Some(Event::EmptyQuery | Event::PortalSuspended) => done += 1,
                Some(Event::Error(e)) => {
                    if failure.is_none() {
                        let row = (done < sent).then_some(done);
                        failure = Some((row, events.database_error(e)));
                    }
                    // Nothing more answers before the Sync.
                    done = sent;
                    last_chunk = last_chunk.max(1);
                }
                Some(_) => {}
            }
        }
        ending.ended();
        match failure {
            Some((statement, source)) => Err(Error::Batch {
                statement,
                source: Box::new(source),
            }),
            None => Ok(total),
        }
    }
}
