//! What a query runs: SQL text or a prepared statement, plus options.

use std::sync::Arc;

use pgwire_proto::{Oid, RowDescription};

/// A statement prepared on the server with
/// [`Connection::create_prepared_statement`](crate::Connection::create_prepared_statement).
#[derive(Debug, Clone)]
pub struct PreparedStatementInfo {
    pub(crate) name: String,
    pub(crate) sql: String,
    pub(crate) parameter_types: Vec<Oid>,
    pub(crate) row_description: Option<Arc<RowDescription>>,
    /// The result formats binds ask for (binary where a codec exists), and
    /// the columns as they then arrive: computed once, used every execution.
    pub(crate) result_formats: Vec<pgwire_proto::Format>,
    pub(crate) bound_description: Option<Arc<RowDescription>>,
    /// The connection it was prepared on (its statement-name prefix, random
    /// per connection): on another, the name means nothing, or another
    /// statement.
    pub(crate) owner: Arc<str>,
}

impl PreparedStatementInfo {
    /// The statement's server-side name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL it was prepared from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The type OIDs of its parameters, as the server inferred them.
    pub fn parameter_types(&self) -> &[Oid] {
        &self.parameter_types
    }

    /// The columns it returns; `None` for statements without rows.
    pub fn row_description(&self) -> Option<&Arc<RowDescription>> {
        self.row_description.as_ref()
    }

    /// Refuses to run (or close) the statement on a connection other than
    /// the one that prepared it, where its name is unknown or, worse,
    /// names a different statement.
    pub(crate) fn check_owner(&self, connection: &str) -> crate::Result<()> {
        if *self.owner == *connection {
            return Ok(());
        }
        Err(crate::Error::InvalidInput(format!(
            "prepared statement \"{}\" belongs to another connection: prepare it on this one",
            self.name
        )))
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Sql(&'a str),
    Prepared(&'a PreparedStatementInfo),
}

/// A query to run: SQL text or a prepared statement, with options such as
/// [`max_rows`](Query::max_rows). `&str`, `&String` and
/// `&PreparedStatementInfo` convert into it, so most calls never name it.
///
/// ```
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::Query;
/// // At most 10 rows, through the portal's row limit.
/// let first = conn.fetch(Query::new("select * from generate_series(1, 1000)").max_rows(10), ()).await?;
/// assert_eq!(first.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub(crate) source: Source<'a>,
    pub(crate) max_rows: u32,
    pub(crate) timeout: Option<std::time::Duration>,
}

impl<'a> Query<'a> {
    /// The statement's text.
    pub(crate) fn text(&self) -> &'a str {
        match self.source {
            Source::Sql(sql) => sql,
            Source::Prepared(info) => &info.sql,
        }
    }

    /// A query of SQL text.
    pub fn new(sql: &'a str) -> Self {
        Query {
            source: Source::Sql(sql),
            max_rows: 0,
            timeout: None,
        }
    }

    /// Returns at most `n` rows (0: no limit). The portal is executed with
    /// this row limit, so the server stops producing rows there.
    pub fn max_rows(mut self, n: u32) -> Self {
        self.max_rows = n;
        self
    }

    /// A time limit for this call, from the moment it is made to its last
    /// answer (waiting for the connection included); it replaces the
    /// connection's default ([`Connection::set_default_timeout`](crate::Connection::set_default_timeout)).
    /// When it passes, the server is asked to cancel the statement if that
    /// cannot hit another task's query, and the call fails with
    /// [`Error::QueryTimeout`](crate::Error::QueryTimeout), which says what
    /// became of it. A statement that completes before the cancel lands
    /// returns its result as usual. For a lazy stream the limit is enforced
    /// while the stream is polled.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) {
    /// use std::time::Duration;
    /// use pgwire_conn::{Error, Query, TimeoutOutcome};
    /// let slow = Query::new("select pg_sleep(10)").timeout(Duration::from_millis(100));
    /// match conn.execute(slow, ()).await {
    ///     Err(Error::QueryTimeout { outcome: TimeoutOutcome::Cancelled, .. }) => {}
    ///     other => panic!("{other:?}"),
    /// }
    /// # }
    /// ```
    pub fn timeout(mut self, limit: std::time::Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
}

impl<'a> From<&'a str> for Query<'a> {
    fn from(sql: &'a str) -> Self {
        Query::new(sql)
    }
}

impl<'a> From<&'a String> for Query<'a> {
    fn from(sql: &'a String) -> Self {
        Query::new(sql)
    }
}

impl<'a> From<&'a PreparedStatementInfo> for Query<'a> {
    fn from(p: &'a PreparedStatementInfo) -> Self {
        Query {
            source: Source::Prepared(p),
            max_rows: 0,
            timeout: None,
        }
    }
}
