//! Turning a query and its parameters into queued protocol messages, under
//! the connection's lock. Every check that can fail on the client happens
//! before a byte of the request is queued.
//!
//! A single statement goes over the extended protocol, as one
//! `Bind`/`Execute`/`Sync` of a statement the connection prepared on first
//! use (with results in binary wherever a codec exists), in a single write.
//! A statement that returns no rows (`INSERT` without `RETURNING`, DDL,
//! `SET`, ...) is prepared in the same write as its first run, which uses
//! the unnamed statement: one round trip. One that may return rows is
//! described first (one more round trip, once), so that its rows come in
//! binary from the first run on. Text holding several statements goes over
//! the simple protocol (one `Query` message, results in text). With the
//! cache disabled (transaction pooling), a single statement, with or
//! without parameters, is one unnamed Parse/Bind/Describe/Execute/Sync asking
//! for binary results: every request is self-contained within one Sync.

use std::borrow::Cow;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::params::{check_count, copies_from_stdin, may_return_rows, rewrite_named};
use pgwire_proto::types::Encoded;
use pgwire_proto::{machine::Bind, Format, Oid, RowDescription};

use crate::error::{Error, Result};
use crate::params::Params;
use crate::session::owed::Owed;
use crate::session::Inner;
use crate::statement::{Query, Source};
use crate::statements::{CachedStatement, Facts, Preparing};

/// Parameters whose types a request declares from the stack.
const FEW_PARAMS: usize = 16;

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

/// The types `natural` declares for `count` placeholders: in `few`, on the
/// stack, for the usual few (with the cache off this runs on every request,
/// and the types are needed only while it is queued), else in `many`.
fn declared_types<'a>(
    few: &'a mut [Oid; FEW_PARAMS],
    many: &'a mut Vec<Oid>,
    count: usize,
    natural: impl Fn(usize) -> Oid,
) -> &'a [Oid] {
    match few.get_mut(..count) {
        Some(slots) => {
            for (i, slot) in slots.iter_mut().enumerate() {
                *slot = natural(i);
            }
            slots
        }
        None => {
            *many = (0..count).map(natural).collect();
            many
        }
    }
}

fn natural_type(params: &(dyn Params + Sync), given: usize) -> Oid {
    params.value(given).map_or(0, |v| v.natural_type())
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

/// `COPY ... FROM STDIN` would make the server read the next messages on
/// the connection (other tasks' pipelined requests among them) as COPY
/// data; without a COPY API it is refused before anything is sent.
pub(crate) fn refuse_copy_in(sql: &str) -> Result<()> {
    refuse_copy_in_if(copies_from_stdin(sql))
}

/// [`refuse_copy_in`] for a text already looked at.
fn refuse_copy_in_if(copy_in: bool) -> Result<()> {
    if copy_in {
        return Err(Error::InvalidInput(
            "COPY ... FROM STDIN runs through copy_in(), which takes the connection for itself while the server reads COPY data; nothing was sent".into(),
        ));
    }
    Ok(())
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Queues `query` bound to `portal`; with `execute` of `None` the portal
    /// is only bound and described. `cached`: through the statement cache
    /// (else the unnamed statement, as one Parse/Bind/Describe/Execute).
    pub(crate) fn queue_portal<'q>(
        &mut self,
        query: Query<'q>,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Queued<'q>> {
        let unbounded = portal.is_empty() && execute == Some(0);
        // Before any other check, so that 65,536 values are called too many
        // rather than the wrong number for the statement (which could not
        // take them either).
        check_count(params.count())?;
        // A text the cache holds was prepared as one statement, not a COPY
        // FROM STDIN: none of the checks below can refuse it, so a hit
        // skips the scan of its text (the common request).
        if let Source::Sql(sql) = query.source {
            if cached && !params.is_named() && self.cache.enabled() {
                let count = params.count();
                if let Some(queued) = self.queue_hit(sql, params, count, &|i| i, portal, execute)? {
                    return Ok(queued);
                }
            }
        }
        // One scan of the text for every check this request makes of it.
        let facts = match query.source {
            Source::Sql(sql) => Some(self.sql_facts.of(sql)),
            Source::Prepared(_) => None,
        };
        refuse_copy_in_if(facts.is_some_and(|f| f.copy_in))?;
        match query.source {
            // Several statements in one text only go over the simple
            // protocol; so does `lowlevel_query` without parameters. With
            // the cache off (transaction pooling) a single statement goes
            // unnamed over the extended protocol, so that its rows come in
            // binary as they do with parameters.
            Source::Sql(sql)
                if unbounded
                    && params.count() == 0
                    && !params.is_named()
                    && (!cached || facts.is_some_and(|f| f.several)) =>
            {
                self.machine.simple_query(sql)?;
                Ok(Queued::Sent(None))
            }
            Source::Sql(sql) if params.is_named() => {
                let named = rewrite_named(sql)?;
                let count = params.count();
                let order = named.order((0..count).map(|i| params.name(i).unwrap_or("")))?;
                let given = |i: usize| order.get(i).copied().unwrap_or(usize::MAX);
                // The rewritten text is scanned afresh on a miss.
                let queued = self.queue_sql(
                    &named.sql,
                    None,
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
            Source::Sql(sql) => self.queue_sql(
                sql,
                facts,
                params,
                params.count(),
                &|i| i,
                portal,
                execute,
                cached,
            ),
            Source::Prepared(info) => Ok(Queued::Sent(
                self.queue_prepared(info, params, portal, execute)?,
            )),
        }
    }

    /// Binds and executes a statement the caller prepared by name; returns
    /// its columns as bound.
    fn queue_prepared(
        &mut self,
        info: &crate::PreparedStatementInfo,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
    ) -> Result<Option<Arc<RowDescription>>> {
        info.check_owner(self.shared.status.statement_prefix())?;
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
        Ok(description)
    }

    /// Queues `query` as a member of a pipeline: one execution of all its
    /// rows, never over the simple protocol and never waiting on a
    /// preparation. A statement the cache holds is bound by name (with its
    /// columns known); any other runs on the unnamed statement, every
    /// column asked for in binary and described in the same request, as
    /// with the cache off. Returns the columns when known in advance.
    pub(crate) fn queue_member(
        &mut self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<Option<Arc<RowDescription>>> {
        check_count(params.count())?;
        let execute = Some(query.max_rows);
        let sql = match query.source {
            Source::Prepared(info) => return self.queue_prepared(info, params, "", execute),
            Source::Sql(sql) => sql,
        };
        let member = MemberText::of(sql, params)?;
        let (text, count) = (&*member.text, member.count);
        let given = |i: usize| member.given(i);
        if self.cache.enabled() {
            if let Some(Queued::Sent(preset)) =
                self.queue_hit(text, params, count, &given, "", execute)?
            {
                return Ok(preset);
            }
        }
        let facts = self.sql_facts.of(text);
        refuse_copy_in_if(facts.copy_in)?;
        facts.check_positional(text, count)?;
        let natural = |i: usize| natural_type(params, given(i));
        let (mut few, mut many) = ([0 as Oid; FEW_PARAMS], Vec::new());
        let declared = declared_types(&mut few, &mut many, count, natural);
        let encode = |i: usize, buf: &mut bytes::BytesMut| {
            encode(params, given(i), declared.get(i).copied().unwrap_or(0), buf)
        };
        let formats = [Format::Binary];
        self.machine
            .query(text, declared, "", bind(count, encode, &formats, execute))?;
        Ok(None)
    }

    /// The texts of `members` a pipeline should prepare for the cache
    /// before it is sent, each once, with the types its values declare:
    /// those the cache lacks that may be prepared (one statement, no COPY
    /// FROM STDIN, as many values as placeholders). The rest are left to
    /// [`queue_member`](Self::queue_member), which reports their errors.
    pub(crate) fn member_misses<'m>(
        &mut self,
        members: impl IntoIterator<Item = (Query<'m>, &'m (dyn Params + Sync))>,
    ) -> Vec<(String, Vec<Oid>)> {
        let mut misses: Vec<(String, Vec<Oid>)> = Vec::new();
        if !self.cache.enabled() {
            return misses;
        }
        // A pipeline often repeats one statement: the text compared with the
        // last hit's costs less than a lookup.
        let mut last_hit: Option<(Cow<'m, str>, Arc<CachedStatement>)> = None;
        for (query, params) in members {
            let Source::Sql(sql) = query.source else {
                continue;
            };
            let Ok(member) = MemberText::of(sql, params) else {
                continue;
            };
            let natural = |i: usize| natural_type(params, member.given(i));
            let repeated = |(text, hit): &(Cow<'m, str>, Arc<CachedStatement>)| {
                *text == member.text && hit.declares(member.count, natural)
            };
            if last_hit.as_ref().is_some_and(repeated) {
                continue;
            }
            if let Some(hit) = self.cache.get(&member.text, member.count, natural) {
                last_hit = Some((member.text, hit));
                continue;
            }
            let facts = self.sql_facts.of(&member.text);
            if facts.copy_in
                || facts.several
                || facts.check_positional(&member.text, member.count).is_err()
            {
                continue;
            }
            let declared: Vec<Oid> = (0..member.count).map(natural).collect();
            if !misses
                .iter()
                .any(|(t, d)| *t == *member.text && *d == declared)
            {
                misses.push((member.text.into_owned(), declared));
            }
        }
        misses
    }
}

/// A pipeline member's SQL as it is sent: with named parameters rewritten
/// to `$n`, and which of the caller's values each `$n` takes.
struct MemberText<'q> {
    text: Cow<'q, str>,
    count: usize,
    /// For named parameters: the value of each `$n`.
    order: Option<Vec<usize>>,
}

impl<'q> MemberText<'q> {
    fn of(sql: &'q str, params: &(dyn Params + Sync)) -> Result<Self> {
        if !params.is_named() {
            return Ok(MemberText {
                text: Cow::Borrowed(sql),
                count: params.count(),
                order: None,
            });
        }
        let named = rewrite_named(sql)?;
        let order = named.order((0..params.count()).map(|i| params.name(i).unwrap_or("")))?;
        Ok(MemberText {
            text: Cow::Owned(named.sql),
            count: order.len(),
            order: Some(order),
        })
    }

    /// The caller's value placeholder `$(i+1)` takes.
    fn given(&self, i: usize) -> usize {
        match &self.order {
            Some(order) => order.get(i).copied().unwrap_or(usize::MAX),
            None => i,
        }
    }
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Binds and executes the cached statement for `sql`, if the cache has
    /// one: `None` on a miss (counted either way).
    fn queue_hit<'q>(
        &mut self,
        sql: &str,
        params: &(dyn Params + Sync),
        count: usize,
        given: &(dyn Fn(usize) -> usize + Sync),
        portal: &str,
        execute: Option<u32>,
    ) -> Result<Option<Queued<'q>>> {
        let natural = |i: usize| natural_type(params, given(i));
        let found = self.cache.get(sql, count, natural);
        let counters = &self.cache.counters;
        let Some(stmt) = found else {
            counters.miss();
            return Ok(None);
        };
        counters.hit();
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
        let request = self.machine.bind_execute(
            &stmt.name,
            portal,
            bind(count, encode, &stmt.result_formats, execute),
            stmt.description.clone(),
        )?;
        let description = stmt.description.clone();
        self.record_hit(request.0, stmt);
        Ok(Some(Queued::Sent(description)))
    }

    /// The extended-protocol path for SQL text with `count` placeholders;
    /// placeholder `i` takes the caller's value `given(i)`. `facts`: the
    /// lexer's facts of `sql` when the caller has them already.
    #[allow(clippy::too_many_arguments)]
    fn queue_sql<'q>(
        &mut self,
        sql: &'q str,
        facts: Option<Facts>,
        params: &(dyn Params + Sync),
        count: usize,
        given: &(dyn Fn(usize) -> usize + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
    ) -> Result<Queued<'q>> {
        let natural = |i: usize| natural_type(params, given(i));
        // Positional text was looked up already (by `queue_portal`); the
        // rewritten text of named parameters is looked up here.
        if cached && self.cache.enabled() && params.is_named() {
            if let Some(queued) = self.queue_hit(sql, params, count, given, portal, execute)? {
                return Ok(queued);
            }
        }
        // Only on a miss: on a hit the server has told us the count.
        match facts {
            Some(facts) => facts.check_positional(sql, count)?,
            None => self.sql_facts.check_positional(sql, count)?,
        }
        // A statement being prepared keeps a copy of the types.
        let (mut few, mut many) = ([0 as Oid; FEW_PARAMS], Vec::new());
        let declared = declared_types(&mut few, &mut many, count, natural);
        // With the cache off (transaction pooling), every run is unnamed and
        // undescribed beforehand: every column is asked for in binary, and
        // the portal's Describe in the same request says what came (see
        // `ConnectOptions::statement_cache_capacity`).
        let formats: &[Format] = if cached && !self.cache.enabled() {
            &[Format::Binary]
        } else {
            &[]
        };
        let unnamed = |inner: &mut Self| -> Result<Queued<'q>> {
            let encode = |i: usize, buf: &mut bytes::BytesMut| {
                encode(params, given(i), declared.get(i).copied().unwrap_or(0), buf)
            };
            inner
                .machine
                .query(sql, declared, portal, bind(count, encode, formats, execute))?;
            Ok(Queued::Sent(None))
        };
        if !(cached && self.cache.enabled()) {
            return unnamed(self);
        }
        if declared.contains(&0) || may_return_rows(sql) {
            // Prepare first, then run: the server must tell us a parameter's
            // type before we can encode it, and the columns before we can
            // ask for them in binary (so that a statement's rows come in the
            // same format every time).
            return Ok(Queued::Miss {
                sql: Cow::Borrowed(sql),
                declared: declared.to_vec(),
            });
        }
        // No rows, every type known: prepare the statement for next time and
        // run this once on the unnamed statement, in one write.
        let Some(name) = self.queue_prepare(sql, declared)? else {
            return unnamed(self);
        };
        let request = self.machine.next_request_id().0.saturating_sub(1);
        if let Err(e) = unnamed(self) {
            // The Parse went out alone: it still answers, and closing the
            // name frees it.
            self.cache.prepare_failed();
            self.shared.book.owe(Owed::CloseStatement(name));
            return Err(e);
        }
        Ok(Queued::Preparing(Box::new(Preparing {
            request,
            name,
            sql: sql.to_owned(),
            declared: declared.to_vec(),
            param_types: Vec::new(),
            description: None,
            failed: false,
            report_errors: false,
        })))
    }
}
