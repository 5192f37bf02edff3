//! Reading a pipeline's answer statement by statement.
//!
//! With a `Sync` per statement, each statement is one request: its result
//! is everything up to its `ReadyForQuery` (an error after its
//! `CommandComplete` is its implicit commit failing, and fails it). With
//! one `Sync`, the statements are members of one batch: each ends at its
//! `CommandComplete`, `EmptyQuery` or `PortalSuspended`, an error ends the
//! batch, and an error after the last member is the commit at the `Sync`.

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::{DatabaseError, Event};

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
            events,
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
        if self.next >= self.total {
            return None;
        }
        let index = self.next;
        self.next += 1;
        if let Some((failed, _)) = &self.failed {
            return Some(Err(Error::NotRun { failed: *failed }));
        }
        if let Some(broken) = &self.broken {
            return Some(Err(again(broken)));
        }
        let read = self.read_statement(index).await;
        Some(read.map(|mut result| {
            pgwire_proto::compact_rows(&mut result.rows);
            result
        }))
    }

    async fn read_statement(&mut self, index: usize) -> Result<StatementResult> {
        let once = self.sync == PipelineSync::Once;
        let mut result = StatementResult::default();
        let mut error = None;
        loop {
            let event = match self.events.try_next().await {
                Ok(event) => event,
                Err(e) => {
                    self.ended = true;
                    self.broken = Some(again(&e));
                    return Err(e);
                }
            };
            match event {
                // The end of the last request.
                None => {
                    self.ended = true;
                    if once {
                        let e = Error::Dead(format!(
                            "the batch ended before its statement {index} was answered"
                        ));
                        self.broken = Some(again(&e));
                        return Err(e);
                    }
                    break;
                }
                Some(Event::ReadyForQuery(_)) => break,
                Some(Event::RowDescription(columns)) => result.columns = Some(columns),
                Some(Event::Row(row)) => result.rows.push(row),
                Some(Event::CommandComplete(command)) => {
                    result.command = Some(command);
                    if once {
                        break;
                    }
                }
                Some(Event::EmptyQuery | Event::PortalSuspended) if once => break,
                Some(Event::Error(e)) if once => {
                    self.failed = Some((index, e.clone()));
                    return Err(self.events.database_error(e));
                }
                Some(Event::Error(e)) => {
                    error.get_or_insert(e);
                }
                Some(_) => {}
            }
        }
        if let Some(e) = error {
            return Err(self.events.database_error(e));
        }
        // A COMMIT in a failed transaction rolls back, and says so only by
        // its tag: an `Ok` would pass for committed.
        let rolled_back = result
            .command
            .as_ref()
            .is_some_and(|c| c.tag() == "ROLLBACK");
        if rolled_back && self.commits.binary_search(&index).is_ok() {
            return Err(Error::TransactionRolledBack);
        }
        Ok(result)
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
            match self.events.try_next().await {
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
