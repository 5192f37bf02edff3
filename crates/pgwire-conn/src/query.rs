//! The query API: eager (`fetch`, `fetch_one`, `execute`), lazy (`query`),
//! raw (`lowlevel_query`), multi-statement (`simple_query`) and prepared
//! statements.
//!
//! Without parameters and without a row limit a query goes over the simple
//! protocol (one `Query` message); otherwise over the extended protocol, as
//! one `Parse`/`Bind`/`Describe`/`Execute`/`Sync` batch in a single write.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::message::frontend::Target;
use pgwire_proto::params::{check_positional, rewrite_named};
use pgwire_proto::types::Encoded;
use pgwire_proto::{machine::Bind, CommandComplete, Event, Format, Oid, Row, RowDescription};

use crate::cache::CachedStatement;
use crate::connection::{Connection, Inner};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::statement::{PreparedStatementInfo, Query, Source};
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

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends the request that runs `query` with `params` (bound to the
    /// unnamed portal and executed).
    pub(crate) async fn send(
        &mut self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<()> {
        self.send_portal(query, params, "", Some(query.max_rows), true)
            .await
            .map(drop)
    }

    /// Sends `query` bound to `portal`; with `execute` of `None` the portal
    /// is only bound and described. `cached`: through the statement cache
    /// (else the unnamed statement, as one Parse/Bind/Describe/Execute).
    /// Every check that can fail on the client happens before a byte of the
    /// request is queued. Returns the columns when they were known in
    /// advance (then no `RowDescription` arrives).
    pub(crate) async fn send_portal(
        &mut self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Option<Arc<RowDescription>>> {
        let mut preset = None;
        let simple = portal.is_empty() && execute == Some(0);
        match query.source {
            Source::Sql(sql) if simple && params.count() == 0 && !params.is_named() => {
                self.machine.simple_query(sql)?;
            }
            Source::Sql(sql) if params.is_named() => {
                let named = rewrite_named(sql)?;
                let count = params.count();
                let order = named.order((0..count).map(|i| params.name(i).unwrap_or("")))?;
                let given = |i: usize| order.get(i).copied().unwrap_or(usize::MAX);
                preset = self
                    .send_sql(
                        &named.sql,
                        params,
                        order.len(),
                        &given,
                        portal,
                        execute,
                        cached,
                    )
                    .await?;
            }
            Source::Sql(sql) => {
                preset = self
                    .send_sql(sql, params, params.count(), &|i| i, portal, execute, cached)
                    .await?;
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
                preset = description;
            }
        }
        self.flush().await?;
        Ok(preset)
    }

    /// The extended-protocol path for SQL text with `count` placeholders;
    /// placeholder `i` takes the caller's value `given(i)`.
    #[allow(clippy::too_many_arguments)]
    async fn send_sql(
        &mut self,
        sql: &str,
        params: &(dyn Params + Sync),
        count: usize,
        given: &(dyn Fn(usize) -> usize + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Option<Arc<RowDescription>>> {
        let natural = |i: usize| natural_type(params, given(i));
        if !(cached && self.cache.enabled()) {
            check_positional(sql, count)?;
            let declared: Vec<Oid> = (0..count).map(natural).collect();
            let encode = |i: usize, buf: &mut bytes::BytesMut| {
                encode(params, given(i), declared.get(i).copied().unwrap_or(0), buf)
            };
            self.machine
                .query(sql, &declared, portal, bind(count, encode, &[], execute))?;
            return Ok(None);
        }
        let stmt = match self.cache.get(sql, count, natural) {
            Some(stmt) => stmt,
            None => {
                // Only on a miss: on a hit the server has told us the count.
                check_positional(sql, count)?;
                let declared: Vec<Oid> = (0..count).map(natural).collect();
                self.prepare_cached(sql, declared).await?
            }
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
        Ok(stmt.description.clone())
    }

    /// Prepares and describes `sql` as a new cached statement, closing the
    /// statements evicted to make room in the same round trip.
    async fn prepare_cached(
        &mut self,
        sql: &str,
        declared: Vec<Oid>,
    ) -> Result<Arc<CachedStatement>> {
        for evicted in self.cache.make_room() {
            self.machine.close(Target::Statement, &evicted)?;
        }
        let name = self.cache.next_name();
        self.machine.prepare(&name, sql, &declared)?;
        self.flush().await?;
        let mut param_types = Vec::new();
        let mut description = None;
        let mut error = None;
        while self.machine.pending_requests() > 0 {
            match self.next_event().await? {
                Event::ParameterDescription(types) => param_types = types,
                Event::RowDescription(d) => description = Some(d),
                Event::Error(e) => {
                    error.get_or_insert(Error::Database(e));
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        let result_formats = result_formats(description.as_deref());
        let stmt = Arc::new(CachedStatement {
            name,
            declared,
            param_types,
            description: description.map(|d| Arc::new(d.with_formats(&result_formats))),
            result_formats,
        });
        self.cache.insert(sql, Arc::clone(&stmt));
        Ok(stmt)
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
        let mut inner = self.lock().await?;
        // Uncached: the caller sees every message of one full cycle.
        let query = query.into();
        inner
            .send_portal(query, &params, "", Some(query.max_rows), false)
            .await?;
        Ok(EventStream::new(inner))
    }

    /// Sends `query` and returns its rows as a stream read from the socket
    /// as it is polled. [`RowStream::row_count`] drains the rest.
    pub async fn query<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<RowStream<'_, S>> {
        let mut inner = self.lock().await?;
        inner.send(query.into(), &params).await?;
        Ok(RowStream::new(inner))
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
        self.query(query, params).await?.try_collect().await
    }

    /// Runs `query` and returns its first row, if any (the rest is read and
    /// dropped, so the whole statement runs).
    pub async fn fetch_one<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Option<Row>> {
        let mut rows = self.query(query, params).await?;
        let first = rows.try_next().await?;
        rows.row_count().await?;
        Ok(first)
    }

    /// Runs `query` and returns the row count of its last statement (rows
    /// inserted, updated, deleted or selected; 0 for commands without one).
    pub async fn execute<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<u64> {
        self.query(query, params).await?.row_count().await
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
        let mut inner = self.lock().await?;
        inner.machine.prepare(name, sql, &[])?;
        inner.flush().await?;
        let mut events = EventStream::new(inner);
        let mut info = PreparedStatementInfo {
            name: name.to_owned(),
            sql: sql.to_owned(),
            parameter_types: Vec::new(),
            row_description: None,
            result_formats: Vec::new(),
            bound_description: None,
        };
        let mut error = None;
        while let Some(event) = events.try_next().await? {
            match event {
                Event::ParameterDescription(types) => info.parameter_types = types,
                Event::RowDescription(d) => info.row_description = Some(d),
                Event::Error(e) => {
                    error.get_or_insert(Error::Database(e));
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        info.result_formats = result_formats(info.row_description.as_deref());
        info.bound_description = info
            .row_description
            .as_ref()
            .map(|d| Arc::new(d.with_formats(&info.result_formats)));
        Ok(info)
    }

    /// Closes a prepared statement on the server. Closing one that does not
    /// exist is not an error (as in PostgreSQL).
    pub async fn close_prepared_statement(&self, statement: &PreparedStatementInfo) -> Result<()> {
        let mut inner = self.lock().await?;
        inner.machine.close(Target::Statement, &statement.name)?;
        inner.flush().await?;
        let mut events = EventStream::new(inner);
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
