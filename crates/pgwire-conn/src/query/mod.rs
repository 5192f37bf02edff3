//! The query API, written once for every way of sending: through the bare
//! connection (outside any transaction) or through a transaction's
//! reservation ([`Via`]). `Connection` and `Transaction` expose these as
//! their methods (see [`methods`](crate::methods)).

mod queue;
mod results;

use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::message::frontend::Target;
use pgwire_proto::{Event, Row, RowDescription, TransactionStatus};

pub(crate) use queue::refuse_copy_in;
use queue::Queued;
use results::read_described;
pub use results::StatementResult;
pub(crate) use results::{collect_statements, expect_success};

use crate::error::{Error, Result};
use crate::observe::Watch;
use crate::params::Params;
use crate::session::{current_waker, Answer, Reading, Session};
use crate::statement::{PreparedStatementInfo, Query, Source};
use crate::statements::{names_ours, result_formats};
use crate::stream::{EventStream, RowStream};
use crate::timeout::{Deadline, TimeoutOutcome};

/// How requests are sent: outside any transaction (`reservation: None`),
/// or through the transaction holding reservation `id`.
pub(crate) struct Via<'c, S> {
    pub(crate) session: &'c Session<S>,
    pub(crate) reservation: Option<u64>,
}

impl<S> Clone for Via<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Via<'_, S> {}

impl<S> std::fmt::Debug for Via<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Via")
            .field("reservation", &self.reservation)
            .finish()
    }
}

/// Whether a query that failed with `error` may simply run again: a
/// statement the cache prepared can fail with `cached plan must not change
/// result type` when a table under it changed shape. Outside a transaction
/// (as the request's own `ReadyForQuery` says) nothing ran, and the cache
/// has let the statement go, so a second run prepares it afresh. In a
/// transaction the error stands (the transaction is aborted), as it does
/// for a lazy `query`.
///
/// The same goes for a cached statement the server session does not have
/// (`26000` naming one of this connection's statements, whose names
/// nobody else uses: see [`statement_prefix`](crate::statements)): the
/// Bind failed, so nothing ran, and the cache has forgotten it. This is
/// what a transaction-mode pooler (or a `DEALLOCATE`) leads to.
fn replannable(
    query: Query<'_>,
    error: &Error,
    status: Option<TransactionStatus>,
    prefix: &str,
) -> bool {
    matches!(query.source, Source::Sql(_))
        && status == Some(TransactionStatus::Idle)
        && matches!(error, Error::Database(e)
            if (e.sqlstate() == pgwire_proto::SqlState::FEATURE_NOT_SUPPORTED
                && e.message.contains("cached plan must not change result type"))
                || (e.sqlstate() == pgwire_proto::SqlState::INVALID_SQL_STATEMENT_NAME
                    && names_ours(&e.message, prefix)))
}

impl<'c, S> Via<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The time limit of a call: the query's own, else the connection's
    /// default; an error if one is set and no timer is available.
    pub(crate) fn deadline(&self, timeout: Option<Duration>) -> Result<Option<Deadline>> {
        let Some(after) = timeout.or_else(|| self.session.shared.status.default_timeout()) else {
            return Ok(None);
        };
        match &self.session.hooks {
            Some(hooks) => Ok(Some(Deadline::start(after, hooks))),
            None => Err(Error::InvalidInput(
                "a time limit needs a timer: this connection has no runtime hooks \
                 (Connection::set_runtime_hooks)"
                    .into(),
            )),
        }
    }

    /// Queues and sends `query` (see [`queue`]), preparing it through the
    /// statement cache first when it has no statement for it. Returns the
    /// answer to read and the columns when known in advance.
    pub(crate) async fn send_query(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
        portal: &str,
        execute: Option<u32>,
        cached: bool,
        mut deadline: Option<Deadline>,
    ) -> Result<(Answer<'c, S>, Option<Arc<RowDescription>>)> {
        let session = self.session;
        let waker = current_waker().await;
        let cancel_on_drop = self.reservation.is_none();
        let mut misses = 0;
        loop {
            let (mut locked, fence) = session
                .lock_for(self.reservation, &waker, deadline.as_mut())
                .await?;
            let first = locked.machine.next_request_id().0;
            // Other tasks may evict a statement between its preparation and
            // its use; after a second miss the unnamed statement does.
            let mut cached = cached && misses < 2;
            let (preset, preparing, prepared_alone) = loop {
                match locked.queue_portal(query, params, portal, execute, cached)? {
                    Queued::Sent(preset) => break (preset, None, false),
                    Queued::Preparing(preparing) => break (None, Some(preparing), false),
                    Queued::Miss { sql, declared } => {
                        let Some(preparing) = locked.queue_prepare_alone(&sql, declared)? else {
                            // Preparations in flight fill the cache.
                            cached = false;
                            continue;
                        };
                        break (None, Some(preparing), true);
                    }
                }
            };
            let reading = Reading {
                preparing,
                deadline,
                fence,
                cancel_on_drop,
                every_ready: false,
            };
            let answer = session.answer(locked, first, &waker, reading).await?;
            if !prepared_alone {
                return Ok((answer, preset));
            }
            // The statement was prepared alone: its answer caches it (whoever
            // reads it), then the next round runs it from the cache.
            misses += 1;
            deadline = None;
            // Boxed: a miss is rare, and its future would make every
            // query's larger.
            Box::pin(self.read_preparation(answer, &mut deadline)).await?;
        }
    }

    /// Reads the answer to a statement prepared alone for the cache (which
    /// caches it, whoever reads it); puts the call's time limit back in
    /// `deadline`, to go on within it.
    async fn read_preparation(
        &self,
        answer: Answer<'c, S>,
        deadline: &mut Option<Deadline>,
    ) -> Result<()> {
        let mut events = EventStream::new(answer);
        let prepared = expect_success(&mut events).await;
        *deadline = events.take_deadline();
        match prepared {
            // The server session already has a statement of that name
            // (someone else's, on a session a pooler lent us): it is
            // neither used nor closed, and, outside a transaction (where
            // the failed Parse aborted nothing), the next round prepares
            // under a fresh name or runs on the unnamed statement.
            Err(Error::Database(e))
                if e.sqlstate() == pgwire_proto::SqlState::DUPLICATE_PREPARED_STATEMENT
                    && events.final_status() == Some(TransactionStatus::Idle)
                    && names_ours(&e.message, self.session.shared.status.statement_prefix()) =>
            {
                log::debug!(target: "pgwire::statements", "{e}; preparing afresh");
            }
            other => other?,
        }
        if let Some(d) = deadline.as_mut() {
            let passed = std::future::poll_fn(|cx| std::task::Poll::Ready(d.poll_passed(cx)));
            if passed.await {
                return Err(Error::QueryTimeout {
                    after: d.after,
                    outcome: TimeoutOutcome::NotSent,
                });
            }
        }
        Ok(())
    }

    /// Prepares `sql` for the statement cache in a round trip of its own
    /// (the preparation a query that misses the cache makes, without the
    /// query), within the call's time limit `deadline`, which stays there
    /// unless it passed. Nothing happens when preparations in flight fill
    /// the cache.
    pub(crate) async fn prepare_cached(
        &self,
        sql: &str,
        declared: Vec<pgwire_proto::Oid>,
        deadline: &mut Option<Deadline>,
    ) -> Result<()> {
        let session = self.session;
        let waker = current_waker().await;
        let (mut locked, fence) = session
            .lock_for(self.reservation, &waker, deadline.as_mut())
            .await?;
        let first = locked.machine.next_request_id().0;
        let Some(preparing) = locked.queue_prepare_alone(sql, declared)? else {
            return Ok(());
        };
        let reading = Reading {
            preparing: Some(preparing),
            deadline: deadline.take(),
            fence,
            cancel_on_drop: self.reservation.is_none(),
            every_ready: false,
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        self.read_preparation(answer, deadline).await
    }

    /// See [`Connection::lowlevel_query`](crate::Connection::lowlevel_query).
    pub(crate) async fn lowlevel_query(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<EventStream<'c, S>> {
        // Uncached: the caller sees every message of one full cycle.
        let deadline = self.deadline(query.timeout)?;
        let (answer, _) = self
            .send_query(query, params, "", Some(query.max_rows), false, deadline)
            .await?;
        Ok(EventStream::new(answer))
    }

    /// See [`Connection::query`](crate::Connection::query).
    pub(crate) async fn query(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<RowStream<'c, S>> {
        let deadline = self.deadline(query.timeout)?;
        self.query_within(query, params, deadline).await
    }

    async fn query_within(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
        deadline: Option<Deadline>,
    ) -> Result<RowStream<'c, S>> {
        let (answer, _) = self
            .send_query(query, params, "", Some(query.max_rows), true, deadline)
            .await?;
        Ok(RowStream::new(answer))
    }

    /// Runs `query` to its end, handing each row to `keep`; once more if
    /// the statement must be planned afresh (see [`replannable`]). Returns
    /// the row count of the last statement.
    async fn run(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
        keep: &mut (dyn FnMut(Row) + Send),
    ) -> Result<u64> {
        let mut deadline = self.deadline(query.timeout)?;
        let mut again = true;
        loop {
            let mut rows = self.query_within(query, params, deadline.take()).await?;
            let drained = async {
                while let Some(row) = rows.try_next().await? {
                    keep(row);
                }
                rows.drain().await
            }
            .await;
            match drained {
                Err(e)
                    if again
                        && replannable(
                            query,
                            &e,
                            rows.final_status(),
                            self.session.shared.status.statement_prefix(),
                        ) =>
                {
                    again = false;
                    deadline = rows.take_deadline();
                }
                done => return done,
            }
        }
    }

    /// See [`Connection::fetch`](crate::Connection::fetch).
    pub(crate) async fn fetch(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<Vec<Row>> {
        let watch = Watch::start(self.status(), "fetch", query.text());
        // A rerun happens only after a failure before the first row.
        let mut rows = Vec::new();
        let ran = self.run(query, params, &mut |row| rows.push(row)).await;
        watch.finish(query.text(), &ran, |_| rows.len() as u64);
        ran?;
        pgwire_proto::compact_rows(&mut rows);
        Ok(rows)
    }

    fn status(&self) -> &'c crate::status::Status {
        &self.session.shared.status
    }

    /// See [`Connection::fetch_one`](crate::Connection::fetch_one).
    pub(crate) async fn fetch_one(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<Option<Row>> {
        let watch = Watch::start(self.status(), "fetch_one", query.text());
        let mut first = None;
        let ran = self
            .run(query, params, &mut |row| {
                first.get_or_insert(row);
            })
            .await;
        watch.finish(query.text(), &ran, |_| u64::from(first.is_some()));
        ran?;
        Ok(first.map(|row| row.detach()))
    }

    /// See [`Connection::execute`](crate::Connection::execute).
    pub(crate) async fn execute(
        &self,
        query: Query<'_>,
        params: &(dyn Params + Sync),
    ) -> Result<u64> {
        let watch = Watch::start(self.status(), "execute", query.text());
        let ran = self.run(query, params, &mut drop).await;
        watch.finish(query.text(), &ran, |n| *n);
        ran
    }

    /// See [`Connection::simple_query`](crate::Connection::simple_query).
    pub(crate) async fn simple_query(&self, sql: &str) -> Result<Vec<StatementResult>> {
        let watch = Watch::start(self.status(), "simple_query", sql);
        let ran = match self.lowlevel_query(Query::new(sql), &()).await {
            Ok(events) => collect_statements(events).await,
            Err(e) => Err(e),
        };
        let rows = |r: &Vec<StatementResult>| r.iter().map(StatementResult::row_count).sum();
        watch.finish(sql, &ran, rows);
        let mut results = ran?;
        for result in &mut results {
            pgwire_proto::compact_rows(&mut result.rows);
        }
        Ok(results)
    }

    /// Queues one request with `queue` (under the lock, once the gate lets
    /// it; `queue` also gets the ledger and the task, to reserve the session)
    /// and returns the stream of its answer. No time limit, and never
    /// cancelled when dropped: for transaction control, portals and
    /// statements prepared by name.
    pub(crate) async fn request(
        &self,
        queue: impl FnOnce(
            &mut crate::session::Inner<S>,
            &crate::session::Book,
            &std::task::Waker,
        ) -> Result<()>,
    ) -> Result<EventStream<'c, S>> {
        let session = self.session;
        let waker = current_waker().await;
        let (mut locked, fence) = session.lock_for(self.reservation, &waker, None).await?;
        let first = locked.machine.next_request_id().0;
        queue(&mut locked, &session.shared.book, &waker)?;
        let reading = Reading {
            fence,
            ..Default::default()
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        Ok(EventStream::new(answer))
    }

    /// Runs transaction-control SQL (BEGIN, COMMIT, SAVEPOINT, ...) over the
    /// simple protocol; `queued` runs right after it is queued (under the
    /// lock).
    pub(crate) async fn control(
        &self,
        sql: &str,
        queued: impl FnOnce(&crate::session::Book, &std::task::Waker),
    ) -> Result<Vec<StatementResult>> {
        let events = self
            .request(|inner, book, waker| {
                inner.machine.simple_query(sql)?;
                queued(book, waker);
                Ok(())
            })
            .await?;
        collect_statements(events).await
    }

    /// See [`Connection::create_prepared_statement`](crate::Connection::create_prepared_statement).
    pub(crate) async fn create_prepared_statement(
        &self,
        name: &str,
        sql: &str,
    ) -> Result<PreparedStatementInfo> {
        refuse_copy_in(sql)?;
        let owner: Arc<str> = self.session.shared.status.statement_prefix().into();
        let events = self
            .request(|inner, _, _| Ok(inner.machine.prepare(name, sql, &[]).map(drop)?))
            .await?;
        let (parameter_types, row_description) = read_described(events).await?;
        let types = self.session.shared.status.registry();
        let types = (!types.is_empty()).then_some(&*types);
        let result_formats = result_formats(row_description.as_deref(), types);
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
            owner,
        })
    }

    /// See [`Connection::close_prepared_statement`](crate::Connection::close_prepared_statement).
    pub(crate) async fn close_prepared_statement(
        &self,
        statement: &PreparedStatementInfo,
    ) -> Result<()> {
        statement.check_owner(self.session.shared.status.statement_prefix())?;
        let mut events = self
            .request(|inner, _, _| {
                Ok(inner
                    .machine
                    .close(Target::Statement, &statement.name)
                    .map(drop)?)
            })
            .await?;
        while let Some(event) = events.try_next().await? {
            if let Event::Error(e) = event {
                return Err(Error::Database(e));
            }
        }
        Ok(())
    }
}
