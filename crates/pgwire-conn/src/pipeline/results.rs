//! Reading a pipeline's answer statement by statement.
//!
//! With a `Sync` per statement, each statement is one request: its result
//! is everything up to its `ReadyForQuery` (an error after its
//! `CommandComplete` is its implicit commit failing, and fails it). With
//! one `Sync`, the statements are members of one batch: each ends at its
//! `CommandComplete`, `EmptyQuery` or `PortalSuspended`, an error ends the
//! batch, and an error after the last member is the commit at the `Sync`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::Stream;
use pgwire_proto::{DatabaseError, Event, Row};

use super::PipelineSync;
use crate::error::{Error, Result};
use crate::query::StatementResult;
use crate::session::{Answer, Session};
use crate::stream::EventStream;
use crate::timeout::Deadline;

/// The results of a running pipeline, in the order its statements were
/// pushed: from [`Connection::pipeline`](crate::Connection::pipeline).
///
/// Each [`next_result`](Self::next_result) reads one statement's answer
/// (later statements are still being written meanwhile, and the server
/// works on them). With [`PipelineSync::Once`], the results read are
/// provisional until [`finish`](Self::finish) says the batch committed.
///
/// Dropping it before the end is safe: the answers left are read and
/// discarded by the connection's next user, and statements still running
/// outside a transaction may be cancelled, as for any dropped query.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::Pipeline;
/// let mut pipeline = Pipeline::new();
/// pipeline.push("select 1", ()).push("select nope", ()).push("select 3", ());
/// let mut results = conn.pipeline(&pipeline).await?;
/// assert!(results.next_result().await.unwrap().is_ok());
/// assert!(results.next_result().await.unwrap().is_err()); // fails alone
/// assert!(results.next_result().await.unwrap().is_ok());
/// assert!(results.next_result().await.is_none());
/// results.finish().await?;
/// # Ok(()) }
/// ```
pub struct PipelineResults<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    events: EventStream<'c, S>,
    /// Events already received, taken with the one before them.
    ahead: VecDeque<Result<Event>>,
    sync: PipelineSync,
    total: usize,
    /// The index of the next statement to report.
    next: usize,
    /// With one Sync: the member whose error ended the batch.
    failed: Option<(usize, DatabaseError)>,
    /// With one Sync: the error at the Sync, after the last member.
    sync_error: Option<DatabaseError>,
    /// The answer has ended (after its last `ReadyForQuery`, or an `Err`).
    ended: bool,
    /// Why reading failed, if it did: the statements after it share it.
    broken: Option<Error>,
    /// The statements that are a `COMMIT` (or `END`), in order.
    commits: Vec<usize>,
    /// The statement being read (its rows may not all be read yet).
    current: Option<Current>,
}

/// What is known of the statement being read.
#[derive(Debug)]
struct Current {
    index: usize,
    columns: Option<std::sync::Arc<pgwire_proto::RowDescription>>,
    command: Option<pgwire_proto::CommandComplete>,
    /// Its first server error (with a Sync per statement, reported at its end).
    error: Option<DatabaseError>,
    /// Its result before any event: it never ran, or the connection failed.
    outcome: Option<Error>,
    done: bool,
}

impl Current {
    fn new(index: usize) -> Self {
        Current {
            index,
            columns: None,
            command: None,
            error: None,
            outcome: None,
            done: false,
        }
    }
}

/// One statement's rows from a pipeline ([`PipelineResults::next_rows`]),
/// read from the socket as polled. The statement's error, if any, is the
/// last item.
pub struct StatementRows<'p, 'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    results: &'p mut PipelineResults<'c, S>,
}

impl<S> StatementRows<'_, '_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The statement's index in the pipeline.
    pub fn index(&self) -> usize {
        self.results.current.as_ref().map_or(0, |c| c.index)
    }

    /// The columns, once their description arrived (not for a statement
    /// the cache described in advance: see each row's `description()`).
    pub fn columns(&self) -> Option<&std::sync::Arc<pgwire_proto::RowDescription>> {
        self.results.current.as_ref()?.columns.as_ref()
    }

    /// Rows affected or returned, per the command tag, once the statement
    /// ended (`None` before, and for statements without a count).
    pub fn row_count(&self) -> Option<u64> {
        self.results.current.as_ref()?.command.as_ref()?.rows()
    }

    async fn next(&mut self) -> Option<Result<Row>> {
        std::future::poll_fn(|cx| self.results.poll_step(cx)).await
    }
}

impl<S> std::fmt::Debug for StatementRows<'_, '_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementRows")
            .field("index", &self.index())
            .finish_non_exhaustive()
    }
}

impl<S> Stream for StatementRows<'_, '_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.results.poll_step(cx)
    }
}

impl<S> std::fmt::Debug for PipelineResults<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineResults")
            .field("statements", &self.total)
            .field("read", &self.next)
            .field("sync", &self.sync)
            .finish()
    }
}

/// The error the statements after a failed read report: the same for a
/// time limit, else the failure as the cause of a dead connection.
fn again(error: &Error) -> Error {
    match error {
        Error::QueryTimeout { after, outcome } => Error::QueryTimeout {
            after: *after,
            outcome: *outcome,
        },
        Error::Closed => Error::Closed,
        other => Error::Dead(format!("reading the pipeline's answers failed: {other}")),
    }
}

impl<'c, S> PipelineResults<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(
        events: EventStream<'c, S>,
        sync: PipelineSync,
        total: usize,
        commits: Vec<usize>,
    ) -> Self {
        PipelineResults {
            commits,
            current: None,
            events,
            ahead: VecDeque::new(),
            sync,
            total,
            next: 0,
            failed: None,
            sync_error: None,
            ended: false,
            broken: None,
        }
    }

    /// The results of a pipeline without statements.
    pub(crate) fn empty(
        session: &'c Session<S>,
        sync: PipelineSync,
        deadline: Option<Deadline>,
    ) -> Self {
        let mut results = Self::new(
            EventStream::new(Answer::empty(session, deadline)),
            sync,
            0,
            Vec::new(),
        );
        results.ended = true;
        results
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.total
    }

    /// True for a pipeline without statements.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The result of the next statement, in order; `None` after the last.
    /// A statement's server error is its `Err`: with
    /// [`PipelineSync::PerStatement`] the next one runs anyway; with
    /// [`PipelineSync::Once`] every later one is [`Error::NotRun`]. If the
    /// connection fails (or the pipeline's time limit passes), that is this
    /// statement's `Err` and every later one's.
    pub async fn next_result(&mut self) -> Option<Result<StatementResult>> {
        let mut rows = self.next_rows().await?;
        let mut result = StatementResult::default();
        while let Some(row) = rows.next().await {
            match row {
                Ok(row) => result.rows.push(row),
                Err(e) => return Some(Err(e)),
            }
        }
        let current = rows.results.current.as_mut()?;
        result.columns = current.columns.take();
        result.command = current.command.take();
        pgwire_proto::compact_rows(&mut result.rows);
        Some(Ok(result))
    }

    /// The next statement's rows as a stream, read from the socket as it
    /// is polled (a large result never sits in memory); `None` after the
    /// last statement. The statement's error, if it fails, is the stream's
    /// last item, as for [`RowStream`](crate::RowStream). Dropped before its
    /// end, the rest of its rows are skipped by the next call.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut pipeline = pgwire_conn::Pipeline::new();
    /// pipeline.push("select g from generate_series(1, 1000000) g", ());
    /// pipeline.push("select 'after'", ());
    /// let mut results = conn.pipeline(&pipeline).await?;
    /// let mut big = results.next_rows().await.unwrap();
    /// let mut n = 0;
    /// while let Some(_row) = big.try_next().await? {
    ///     n += 1;
    /// }
    /// assert_eq!((n, big.row_count()), (1_000_000, Some(1_000_000)));
    /// // (`big` ends here: the next call skips whatever it left unread.)
    /// assert!(results.next_result().await.unwrap().is_ok());
    /// # Ok(()) }
    /// ```
    pub async fn next_rows(&mut self) -> Option<StatementRows<'_, 'c, S>> {
        // The rest of a statement whose stream was dropped early.
        if self.current.as_ref().is_some_and(|c| !c.done) {
            while std::future::poll_fn(|cx| self.poll_step(cx))
                .await
                .is_some()
            {}
        }
        if self.next >= self.total {
            self.current = None;
            return None;
        }
        let index = self.next;
        self.next += 1;
        let mut current = Current::new(index);
        if let Some((failed, _)) = &self.failed {
            current.outcome = Some(Error::NotRun { failed: *failed });
        } else if let Some(broken) = &self.broken {
            current.outcome = Some(again(broken));
        }
        self.current = Some(current);
        Some(StatementRows { results: self })
    }

    /// The next step of the statement being read: a row, its error, or
    /// `None` at its end.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let once = self.sync == PipelineSync::Once;
        loop {
            let Some(current) = self.current.as_mut() else {
                return Poll::Ready(None);
            };
            if current.done {
                return Poll::Ready(None);
            }
            if let Some(error) = current.outcome.take() {
                current.done = true;
                return Poll::Ready(Some(Err(error)));
            }
            let event = match std::task::ready!(self.events.poll_next_ahead(cx, &mut self.ahead)) {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    self.ended = true;
                    self.broken = Some(again(&e));
                    current.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                // The end of the last request.
                None => {
                    self.ended = true;
                    current.done = true;
                    if once {
                        let e = Error::Dead(format!(
                            "the batch ended before its statement {} was answered",
                            current.index
                        ));
                        self.broken = Some(again(&e));
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Ready(self.statement_end());
                }
            };
            match event {
                Event::ReadyForQuery(_) => {
                    current.done = true;
                    return Poll::Ready(self.statement_end());
                }
                Event::Row(row) => return Poll::Ready(Some(Ok(row))),
                Event::RowDescription(columns) => current.columns = Some(columns),
                Event::CommandComplete(command) => {
                    current.command = Some(command);
                    if once {
                        current.done = true;
                        return Poll::Ready(self.statement_end());
                    }
                }
                Event::EmptyQuery | Event::PortalSuspended if once => {
                    current.done = true;
                    return Poll::Ready(None);
                }
                Event::Error(e) if once => {
                    current.done = true;
                    self.failed = Some((current.index, e.clone()));
                    return Poll::Ready(Some(Err(self.events.database_error(e))));
                }
                Event::Error(e) => {
                    current.error.get_or_insert(e);
                }
                _ => {}
            }
        }
    }

    /// The end of the statement being read: its error, if it failed.
    fn statement_end(&mut self) -> Option<Result<Row>> {
        let current = self.current.as_mut()?;
        if let Some(e) = current.error.take() {
            return Some(Err(self.events.database_error(e)));
        }
        // A COMMIT in a failed transaction rolls back, and says so only by
        // its tag: an `Ok` would pass for committed.
        let rolled_back = current
            .command
            .as_ref()
            .is_some_and(|c| c.tag_is("ROLLBACK"));
        if rolled_back && self.commits.binary_search(&current.index).is_ok() {
            return Some(Err(Error::TransactionRolledBack));
        }
        None
    }

    /// Reads what is left and says how the pipeline ended: with
    /// [`PipelineSync::Once`], `Err(`[`Error::Batch`]`)` if a statement or
    /// the commit at the end failed (then nothing the batch did outside its
    /// own `BEGIN`/`COMMIT` was saved); `Ok` means it committed. With
    /// [`PipelineSync::PerStatement`], each statement's result already said
    /// how it went: `Err` only if the connection failed.
    pub async fn finish(mut self) -> Result<()> {
        while self.next_result().await.is_some() {}
        while !self.ended {
            let next = std::future::poll_fn(|cx| self.events.poll_next_ahead(cx, &mut self.ahead));
            match next.await.transpose() {
                Ok(None) => self.ended = true,
                Ok(Some(Event::Error(e))) if self.failed.is_none() => {
                    self.sync_error.get_or_insert(e);
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    self.ended = true;
                    self.broken = Some(e);
                }
            }
        }
        if let Some(broken) = self.broken.take() {
            return Err(broken);
        }
        let statement = match (self.failed.take(), self.sync_error.take()) {
            (Some((index, e)), _) => (Some(index), e),
            (None, Some(e)) => (None, e),
            (None, None) => return Ok(()),
        };
        Err(Error::Batch {
            statement: statement.0,
            source: Box::new(self.events.database_error(statement.1)),
        })
    }

    /// Every statement's result, then [`finish`](Self::finish): with
    /// [`PipelineSync::Once`], `Err` unless the batch committed; with
    /// [`PipelineSync::PerStatement`], `Ok` with each statement's own
    /// result (those after a connection failure are errors too).
    pub async fn collect(mut self) -> Result<Vec<Result<StatementResult>>> {
        let mut all = Vec::with_capacity(self.total);
        while let Some(result) = self.next_result().await {
            all.push(result);
        }
        let once = self.sync == PipelineSync::Once;
        match self.finish().await {
            Err(e) if once => Err(e),
            // Each statement's result says what became of it.
            _ => Ok(all),
        }
    }
}
