//! Reading whole answers: per-statement results, success or the first
//! server error, a statement's description.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::{CommandComplete, Event, Oid, Row, RowDescription};

use crate::error::{Error, Result};
use crate::stream::EventStream;

/// The outcome of one statement of a (possibly multi-statement) query.
#[derive(Debug, Clone, Default)]
pub struct StatementResult {
    /// The columns, for statements that return rows.
    pub columns: Option<Arc<RowDescription>>,
    /// The rows returned.
    pub rows: Vec<Row>,
    /// The completion tag; `None` for an empty statement.
    pub command: Option<CommandComplete>,
}

impl StatementResult {
    /// Rows affected or returned, per the command tag (0 when it has none).
    pub fn row_count(&self) -> u64 {
        self.command.as_ref().and_then(|c| c.rows()).unwrap_or(0)
    }
}

/// Reads a simple-protocol answer statement by statement; the first server
/// error is returned after the request ends.
pub(crate) async fn collect_statements<S>(
    mut events: EventStream<'_, S>,
) -> Result<Vec<StatementResult>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut results = Vec::new();
    let mut current = StatementResult::default();
    let mut error = None;
    while let Some(event) = events.try_next().await? {
        match event {
            Event::RowDescription(d) => current.columns = Some(d),
            Event::Row(row) => current.rows.push(row),
            Event::CommandComplete(c) => {
                current.command = Some(c);
                results.push(std::mem::take(&mut current));
            }
            Event::EmptyQuery => results.push(std::mem::take(&mut current)),
            Event::Error(e) if error.is_none() => error = Some(events.database_error(e)),
            _ => {}
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// Reads a request's answer, failing with its first server error.
pub(crate) async fn expect_success<S>(events: &mut EventStream<'_, S>) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut error = None;
    while let Some(event) = events.try_next().await? {
        if let Event::Error(e) = event {
            if error.is_none() {
                error = Some(events.database_error(e));
            }
        }
    }
    error.map_or(Ok(()), Err)
}

/// A statement's parameter types and columns, from the answer to its
/// Parse/Describe; the first server error if it failed.
pub(crate) async fn read_described<S>(
    mut events: EventStream<'_, S>,
) -> Result<(Vec<Oid>, Option<Arc<RowDescription>>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut param_types = Vec::new();
    let mut description = None;
    let mut error = None;
    while let Some(event) = events.try_next().await? {
        match event {
            Event::ParameterDescription(types) => param_types = types,
            Event::RowDescription(d) => description = Some(d),
            Event::Error(e) => {
                error.get_or_insert(Error::Database(e));
            }
            _ => {}
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok((param_types, description)),
    }
}
