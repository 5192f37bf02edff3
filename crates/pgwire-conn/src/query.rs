//! The query API: eager (`fetch`, `fetch_one`, `execute`), lazy (`query`),
//! raw (`lowlevel_query`), multi-statement (`simple_query`) and prepared
//! statements.
//!
//! A single statement goes over the extended protocol, as one
//! `Bind`/`Execute`/`Sync` of a statement the connection prepared on first
//! use (with results in binary wherever a codec exists), in a single write.
//! A statement that returns no rows (`INSERT` without `RETURNING`, DDL,
//! `SET`, ...) is prepared in the same write as its first run, which uses
//! the unnamed statement: one round trip. One that may return rows is
//! described first (one more round trip, once), so that its rows come in
//! binary from the first run on. Text run once with many rows to return
//! may rather go through [`Connection::simple_query`].
//! Text holding several statements goes over the simple protocol (one
//! `Query` message, results in text), as does everything when the
//! statement cache is disabled and there are no parameters.

use std::borrow::Cow;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::message::frontend::Target;
use pgwire_proto::params::{
    check_positional, copies_from_stdin, has_several_statements, may_return_rows, rewrite_named,
};
use pgwire_proto::types::Encoded;
use pgwire_proto::{machine::Bind, CommandComplete, Event, Format, Oid, Row, RowDescription};

use crate::answer::Answer;
use crate::cache::CachedStatement;
use crate::connection::{Connection, Inner};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::statement::{PreparedStatementInfo, Query, Source};
use crate::status::Owed;
use crate::stream::{EventStream, RowStream};

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

/// Encodes the parameter `given` of `params` for server type `ty`.
fn encode(
    params: &(dyn Params + Sync),
    given: usize,
    ty: Oid,
    buf: &mut bytes::BytesMut,
) -> std::result::Result<Option<Format>, pgwire_proto::Error> {
    let value = params.value(given).ok_or_else(|| {
        pgwire_proto::Error::InvalidInput(format!("no value for parameter ${}", given + 1))
    })?;
    match value.to_sql(ty, buf) {
        Ok(Encoded::Null) => Ok(None),
        Ok(Encoded::Text) => Ok(Some(Format::Text)),
        Ok(Encoded::Binary) => Ok(Some(Format::Binary)),
        Err(source) => Err(pgwire_proto::Error::Encode {
            index: given,
            source,
        }),
    }
}

fn natural_type(params: &(dyn Params + Sync), given: usize) -> Oid {
    params.value(given).map_or(0, |v| v.natural_type())
}

/// Whether results of type `oid` are fetched in binary: every built-in type
/// with a binary decoder in `pgwire_proto::types`.
fn binary_result(oid: Oid) -> bool {
    pgwire_proto::types::has_binary_decoder(oid)
}

fn result_formats(description: Option<&RowDescription>) -> Vec<Format> {
    description.map_or_else(Vec::new, |d| {
        d.fields()
            .iter()
            .map(|f| {
                if binary_result(f.type_oid) {
                    Format::Binary
                } else {
                    Format::Text
                }
            })
            .collect()
    })
}

fn bind<F>(
    param_count: usize,
    encode: F,
    result_formats: &[Format],
    max_rows: Option<u32>,
) -> Bind<'_, F> {
    Bind {
        param_count,
        encode,
        result_formats,
        max_rows,
    }
}

/// What queuing a query came to.
pub(crate) enum Queued<'q> {
    /// The request is queued; with the columns when they were known in
    /// advance (then no `RowDescription` arrives).
    Sent(Option<Arc<RowDescription>>),
    /// The statement cache had no statement for this SQL: it is being
    /// prepared in the same write as the query, which runs on the unnamed
    /// statement with text results; the answer caches the prepared one.
    Preparing(Box<Preparing>),
    /// The statement cache has no statement for this SQL and these
    /// declared types yet: prepare it first (nothing was queued).
    Miss {
        sql: Cow<'q, str>,
        declared: Vec<Oid>,
    },
}

/// A statement prepared in the same write as its first run: what its
/// answer must catch to cache it.
#[derive(Debug)]
pub(crate) struct Preparing {
    /// The request (Parse/Describe/Sync) preparing it.
    pub(crate) request: u64,
    pub(crate) name: String,
    pub(crate) sql: String,
    pub(crate) declared: Vec<Oid>,
    pub(crate) param_types: Vec<Oid>,
    pub(crate) description: Option<Arc<RowDescription>>,
    pub(crate) failed: bool,
}

impl Preparing {
    /// The cache entry, unless preparing failed.
    pub(crate) fn into_cached(self) -> Option<(String, Arc<CachedStatement>)> {
        if self.failed {
            return None;
        }
        let result_formats = result_formats(self.description.as_deref());
        let stmt = CachedStatement {
            name: self.name,
            declared: self.declared,
            param_types: self.param_types,
            description: self
                .description
                .map(|d| Arc::new(d.with_formats(&result_formats))),
            result_formats,
        };
        Some((self.sql, Arc::new(stmt)))
    }
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Queues `query` bound to `portal`; with `execute` of `None` the portal
    /// is only bound and described. `cached`: through the statement cache
    /// (else the unnamed statement, as one Parse/Bind/Describe/Execute).
    /// Every check that can fail on the client happens before a byte of the
    /// request is queued.
    pub(crate) fn queue_portal<'q>(
        &mut self,
        query: Query<'q>,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Queued<'q>> {
        let unbounded = portal.is_empty() && execute == Some(0);
        if let Source::Sql(sql) = query.source {
            refuse_copy_in(sql)?;
        }
        match query.source {
            // Several statements in one text only go over the simple
            // protocol; so do parameterless statements when they are not to
            // be prepared (`lowlevel_query`, a disabled cache).
            Source::Sql(sql)
                if unbounded
                    && params.count() == 0
                    && !params.is_named()
                    && (!cached || !self.cache.enabled() || has_several_statements(sql)) =>
            {
                self.machine.simple_query(sql)?;
                Ok(Queued::Sent(None))
            }
            Source::Sql(sql) if params.is_named() => {
                let named = rewrite_named(sql)?;
                let count = params.count();
                let order = named.order((0..count).map(|i| params.name(i).unwrap_or("")))?;
                let given = |i: usize| order.get(i).copied().unwrap_or(usize::MAX);
                let queued = self.queue_sql(
                    &named.sql,
                    params,
                    order.len(),
                    &given,
                    portal,
                    execute,
                    cached,
                )?;
                Ok(match queued {
                    Queued::Sent(preset) => Queued::Sent(preset),
                    Queued::Preparing(p) => Queued::Preparing(p),
                    Queued::Miss { declared, .. } => Queued::Miss {
                        sql: Cow::Owned(named.sql),
                        declared,
                    },
                })
            }
            Source::Sql(sql) => {
                self.queue_sql(sql, params, params.count(), &|i| i, portal, execute, cached)
            }
            Source::Prepared(info) => {
                if params.is_named() {
                    return Err(Error::InvalidInput(
                        "prepared statements take positional parameters".into(),
                    ));
                }
                let count = params.count();
                let expected = info.parameter_types.len();
                if count != expected {
                    return Err(Error::Params(
                        pgwire_proto::params::ParamError::PositionalCount {
                            expected,
                            given: count,
                        },
                    ));
                }
                let formats = &info.result_formats;
                let description = info.bound_description.clone();
                let types = &info.parameter_types;
                let encode = |i: usize, buf: &mut bytes::BytesMut| {
                    encode(params, i, types.get(i).copied().unwrap_or(0), buf)
                };
                self.machine.bind_execute(
                    &info.name,
                    portal,
                    bind(count, encode, formats, execute),
                    description.clone(),
                )?;
                Ok(Queued::Sent(description))
            }
        }
    }

    /// The extended-protocol path for SQL text with `count` placeholders;
    /// placeholder `i` takes the caller's value `given(i)`.
    #[allow(clippy::too_many_arguments)]
    fn queue_sql<'q>(
        &mut self,
        sql: &'q str,
        params: &(dyn Params + Sync),
        count: usize,
        given: &(dyn Fn(usize) -> usize + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Queued<'q>> {
        let natural = |i: usize| natural_type(params, given(i));
        if !(cached && self.cache.enabled()) {
            check_positional(sql, count)?;
            let declared: Vec<Oid> = (0..count).map(natural).collect();
            let encode = |i: usize, buf: &mut bytes::BytesMut| {
                encode(params, given(i), declared.get(i).copied().unwrap_or(0), buf)
            };
            self.machine
                .query(sql, &declared, portal, bind(count, encode, &[], execute))?;
            return Ok(Queued::Sent(None));
        }
        let Some(stmt) = self.cache.get(sql, count, natural) else {
            // Only on a miss: on a hit the server has told us the count.
            check_positional(sql, count)?;
            let declared: Vec<Oid> = (0..count).map(natural).collect();
            if declared.contains(&0) || may_return_rows(sql) {
                // Prepare first, then run: the server must tell us a
                // parameter's type before we can encode it, and the columns
                // before we can ask for them in binary (so that a statement's
                // rows come in the same format every time).
                return Ok(Queued::Miss {
                    sql: Cow::Borrowed(sql),
                    declared,
                });
            }
            // No rows, every type known: prepare the statement for next
            // time and run this once on the unnamed statement, in one write.
            let name = self.queue_prepare(sql, &declared)?;
            let prepared = self.machine.next_request_id().0.saturating_sub(1);
            let encode = |i: usize, buf: &mut bytes::BytesMut| {
                encode(params, given(i), declared.get(i).copied().unwrap_or(0), buf)
            };
            let queued =
                self.machine
                    .query(sql, &declared, portal, bind(count, encode, &[], execute));
            if let Err(e) = queued {
                // The Parse went out alone: it still answers, and closing
                // the name frees it.
                self.status.owe(Owed::CloseStatement(name));
                return Err(e.into());
            }
            return Ok(Queued::Preparing(Box::new(Preparing {
                request: prepared,
                name,
                sql: sql.to_owned(),
                declared,
                param_types: Vec::new(),
                description: None,
                failed: false,
            })));
        };
        if stmt.param_types.len() != count {
            return Err(Error::Params(
                pgwire_proto::params::ParamError::PositionalCount {
                    expected: stmt.param_types.len(),
                    given: count,
                },
            ));
        }
        let types = &stmt.param_types;
        let encode = |i: usize, buf: &mut bytes::BytesMut| {
            encode(params, given(i), types.get(i).copied().unwrap_or(0), buf)
        };
        self.machine.bind_execute(
            &stmt.name,
            portal,
            bind(count, encode, &stmt.result_formats, execute),
            stmt.description.clone(),
        )?;
        Ok(Queued::Sent(stmt.description.clone()))
    }

    /// Caches a statement whose Parse/Describe has answered; when another
    /// task cached the same one meanwhile, closes this twin instead.
    pub(crate) fn cache_prepared(&mut self, preparing: Preparing) {
        if let Some((sql, stmt)) = preparing.into_cached() {
            if let Some(twin) = self.cache.insert(&sql, stmt) {
                self.status.owe(Owed::CloseStatement(twin));
            }
        }
    }

    /// Queues the Parse/Describe of `sql` as a new cached statement, with
    /// the closing of the statements evicted to make room; returns its name.
    fn queue_prepare(&mut self, sql: &str, declared: &[Oid]) -> Result<String> {
        for evicted in self.cache.make_room() {
            self.machine.close(Target::Statement, &evicted)?;
        }
        let name = self.cache.next_name();
        self.machine.prepare(&name, sql, declared)?;
        Ok(name)
    }
}

/// `COPY ... FROM STDIN` would make the server read the next messages on
/// the connection (other tasks' pipelined requests among them) as COPY
/// data; without a COPY API it is refused before anything is sent.
fn refuse_copy_in(sql: &str) -> Result<()> {
    if copies_from_stdin(sql) {
        return Err(Error::InvalidInput(
            "COPY ... FROM STDIN is not supported (no COPY API yet); nothing was sent".into(),
        ));
    }
    Ok(())
}

/// A statement's parameter types and columns, from the answer to its
/// Parse/Describe; the first server error if it failed.
async fn read_described<S>(
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

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Queues and sends `query` (see [`Inner::queue_portal`]), preparing it
    /// through the statement cache first when it has no statement for it.
    /// Returns the answer to read and the columns when known in advance.
    pub(crate) async fn send_query(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<(Answer<'_, S>, Option<Arc<RowDescription>>)> {
        let mut inner = self.lock().await?;
        let mut misses = 0;
        loop {
            let first = inner.machine.next_request_id();
            // Other tasks may evict a statement between its preparation and
            // its use; after a second miss the unnamed statement does.
            let cached = cached && misses < 2;
            match inner.queue_portal(query, params, portal, execute, cached)? {
                Queued::Sent(preset) => return Ok((self.answer(inner, first).await?, preset)),
                Queued::Preparing(preparing) => {
                    let mut answer = self.answer(inner, first).await?;
                    answer.cache_when_described(preparing);
                    return Ok((answer, None));
                }
                Queued::Miss { sql, declared } => {
                    misses += 1;
                    let name = inner.queue_prepare(&sql, &declared)?;
                    let request = inner.machine.next_request_id().0.saturating_sub(1);
                    let answer = self.answer(inner, first).await?;
                    let (param_types, description) =
                        read_described(EventStream::new(answer)).await?;
                    inner = self.lock().await?;
                    inner.cache_prepared(Preparing {
                        request,
                        name,
                        sql: sql.into_owned(),
                        declared,
                        param_types,
                        description,
                        failed: false,
                    });
                }
            }
        }
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends `query` and returns the raw events of its answer, up to its
    /// `ReadyForQuery`: `RowDescription`, `Row`, `CommandComplete`, and for
    /// the extended protocol `ParseComplete`, `BindComplete` and the rest.
    /// Server errors are items ([`Event::Error`]), not `Err`.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let events: Vec<_> = conn.lowlevel_query("select null", ()).await?.try_collect().await?;
    /// assert_eq!(events.len(), 3); // RowDescription, Row, CommandComplete
    /// # Ok(()) }
    /// ```
    pub async fn lowlevel_query<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<EventStream<'_, S>> {
        // Uncached: the caller sees every message of one full cycle.
        let query = query.into();
        let (answer, _) = self
            .send_query(query, &params, "", Some(query.max_rows), false)
            .await?;
        Ok(EventStream::new(answer))
    }

    /// Sends `query` and returns its rows as a stream read from the socket
    /// as it is polled. [`RowStream::row_count`] drains the rest.
    pub async fn query<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<RowStream<'_, S>> {
        let query = query.into();
        let (answer, _) = self
            .send_query(query, &params, "", Some(query.max_rows), true)
            .await?;
        Ok(RowStream::new(answer))
    }

    /// Runs `query` and returns all its rows (of every statement, for a
    /// multi-statement string).
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// let rows = conn.fetch("select $1::int4 * 2", (21,)).await?;
    /// assert_eq!(rows[0].try_get::<i32>(0)?, 42);
    /// # Ok(()) }
    /// ```
    pub async fn fetch<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Vec<Row>> {
        let query = query.into();
        match self.query(query, &params).await?.try_collect().await {
            Err(e) if self.replannable(query, &e) => {
                self.query(query, &params).await?.try_collect().await
            }
            done => done,
        }
    }

    /// Runs `query` and returns its first row, if any (the rest is read and
    /// dropped, so the whole statement runs).
    pub async fn fetch_one<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Option<Row>> {
        let query = query.into();
        match self.fetch_one_once(query, &params).await {
            Err(e) if self.replannable(query, &e) => self.fetch_one_once(query, &params).await,
            done => done,
        }
    }

    async fn fetch_one_once(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<Option<Row>> {
        let mut rows = self.query(query, params).await?;
        let first = rows.try_next().await?;
        rows.row_count().await?;
        Ok(first)
    }

    /// Whether `query`, which failed with `error`, may simply run again: a
    /// statement the cache prepared can fail with `cached plan must not
    /// change result type` when a table under it changed shape. Outside a
    /// transaction nothing ran, and the cache has let the statement go, so
    /// a second run prepares it afresh. In a transaction the error stands
    /// (the transaction is aborted), as it does for a lazy [`query`](Self::query).
    fn replannable(&self, query: Query<'_>, error: &Error) -> bool {
        matches!(query.source, Source::Sql(_))
            && self.transaction_status() == pgwire_proto::TransactionStatus::Idle
            && matches!(error, Error::Database(e)
                if e.sqlstate() == pgwire_proto::SqlState::FEATURE_NOT_SUPPORTED
                    && e.message.contains("cached plan must not change result type"))
    }

    /// Runs `query` and returns the row count of its last statement (rows
    /// inserted, updated, deleted or selected; 0 for commands without one).
    pub async fn execute<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<u64> {
        let query = query.into();
        match self.query(query, &params).await?.row_count().await {
            Err(e) if self.replannable(query, &e) => {
                self.query(query, &params).await?.row_count().await
            }
            done => done,
        }
    }

    /// Runs `sql` (one or more statements separated by `;`) over the simple
    /// protocol and returns each statement's result, in order. The first
    /// error ends the batch and is returned once the server is ready again.
    ///
    /// The simple protocol has no parameters: never build `sql` from
    /// untrusted input; use `fetch` with parameters instead.
    pub async fn simple_query(&self, sql: &str) -> Result<Vec<StatementResult>> {
        collect_statements(self.lowlevel_query(sql, ()).await?).await
    }

    /// Prepares `sql` on the server as statement `name`, learning its
    /// parameter types and columns. Use the returned info with `fetch`,
    /// `query`, `execute` and the rest, with positional parameters. A name
    /// already in use is a recoverable 42P05 error.
    pub async fn create_prepared_statement(
        &self,
        name: &str,
        sql: &str,
    ) -> Result<PreparedStatementInfo> {
        refuse_copy_in(sql)?;
        let mut inner = self.lock().await?;
        let first = inner.machine.next_request_id();
        inner.machine.prepare(name, sql, &[])?;
        let answer = self.answer(inner, first).await?;
        let (parameter_types, row_description) = read_described(EventStream::new(answer)).await?;
        let result_formats = result_formats(row_description.as_deref());
        let bound_description = row_description
            .as_ref()
            .map(|d| Arc::new(d.with_formats(&result_formats)));
        Ok(PreparedStatementInfo {
            name: name.to_owned(),
            sql: sql.to_owned(),
            parameter_types,
            row_description,
            result_formats,
            bound_description,
        })
    }

    /// Closes a prepared statement on the server. Closing one that does not
    /// exist is not an error (as in PostgreSQL).
    pub async fn close_prepared_statement(&self, statement: &PreparedStatementInfo) -> Result<()> {
        let mut inner = self.lock().await?;
        let first = inner.machine.next_request_id();
        inner.machine.close(Target::Statement, &statement.name)?;
        let mut events = EventStream::new(self.answer(inner, first).await?);
        while let Some(event) = events.try_next().await? {
            if let Event::Error(e) = event {
                return Err(Error::Database(e));
            }
        }
        Ok(())
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
            Event::Error(e) => {
                error.get_or_insert(Error::Database(e));
            }
            _ => {}
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}
