//! What the connection's lock guards: the protocol machine, the stream, the
//! statement cache, and answers read ahead for their owners; and the pump
//! that moves bytes between machine and stream.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::{Event, Machine, TransactionStatus};

use crate::error::{Error, Result};
use crate::session::owed::Owed;
use crate::session::Shared;
use crate::statements::{
    names_ours, CachedStatement, SqlFacts, StatementCache, DEFAULT_STATEMENT_CACHE_CAPACITY,
};

/// Answers read from the socket on an idle owner's behalf, in order.
#[derive(Debug, Default)]
struct Ahead {
    events: VecDeque<Event>,
    /// The owner's last `ReadyForQuery` was read, with this status.
    finished: Option<TransactionStatus>,
}

/// What [`Inner::take_ahead`] found for an owner.
#[derive(Debug)]
pub(crate) enum AheadItem {
    Event(Event),
    /// Every answer was read; the last `ReadyForQuery` carried this status.
    Finished(TransactionStatus),
}

pub(crate) struct Inner<S> {
    pub(crate) machine: Machine,
    stream: S,
    /// Why the connection died, once it has.
    dead: Option<String>,
    closed: bool,
    pub(crate) shared: Arc<Shared>,
    pub(crate) cache: StatementCache,
    /// What the lexer said of recent long SQL texts.
    pub(crate) sql_facts: SqlFacts,
    /// Requests that bind a cached statement, oldest first, so that an
    /// answer saying the server lacks (or can no longer use) it acts on
    /// that statement alone.
    hits: VecDeque<Hit>,
    ahead: BTreeMap<u64, Ahead>,
    /// The approximate size of the events in `ahead`.
    ahead_bytes: usize,
    /// A write or flush returned `Pending`: some task waits for the socket
    /// to take more, and a write from elsewhere would take its wake-up.
    write_blocked: bool,
}

/// A request binding a cached statement.
#[derive(Debug)]
struct Hit {
    request: u64,
    /// Its place in a batch, for a member of one.
    member: Option<usize>,
    stmt: Arc<CachedStatement>,
    /// Its `BindComplete` arrived: errors after it come from running it.
    bound: bool,
}

/// The size charged to the read-ahead budget for one event.
fn event_size(event: &Event) -> usize {
    const OVERHEAD: usize = 64;
    match event {
        Event::Row(row) => {
            OVERHEAD
                + row
                    .values()
                    .map(|v| 4 + v.map_or(0, <[u8]>::len))
                    .sum::<usize>()
        }
        Event::CopyData(data) => OVERHEAD + data.len(),
        _ => OVERHEAD,
    }
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(machine: Machine, stream: S, shared: Arc<Shared>) -> Self {
        let counters = Arc::clone(&shared.status.cache_counters);
        let prefix = shared.status.statement_prefix().to_owned();
        Inner {
            machine,
            stream,
            dead: None,
            closed: false,
            shared,
            cache: StatementCache::new(DEFAULT_STATEMENT_CACHE_CAPACITY, prefix, counters),
            sql_facts: SqlFacts::default(),
            hits: VecDeque::new(),
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            write_blocked: false,
        }
    }

    pub(crate) fn check_usable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        match &self.dead {
            Some(cause) => Err(Error::Dead(cause.clone())),
            None => Ok(()),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.is_some()
    }

    /// Marks the connection closed and wakes every waiting task.
    pub(crate) fn set_closed(&mut self) {
        self.closed = true;
        self.shared.status.set_closed();
        self.shared.book.wake_all();
    }

    /// Records an unrecoverable error as the cause of death, and wakes
    /// every task waiting for its answers so that each learns of it.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        if !error.is_recoverable() && self.dead.is_none() {
            self.dead = Some(error.to_string());
            self.shared.status.set_dead();
            self.shared.book.wake_all();
        }
        error
    }

    /// Whether a write may be tried from a context that cannot wait
    /// (`Drop`): nobody else waits for the socket to take bytes.
    pub(crate) fn write_blocked(&self) -> bool {
        self.write_blocked
    }

    /// Writes all queued output and flushes the stream. Bytes leave the
    /// machine's buffer only once the stream accepted them, so dropping the
    /// caller at `Pending` loses nothing. While a cancel request is on its
    /// way (the fence is up) nothing is written: the canceller sends it all
    /// afterwards.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.shared.book.fenced() {
            return Poll::Ready(Ok(()));
        }
        while self.machine.has_output() {
            match Pin::new(&mut self.stream).poll_write(cx, self.machine.output()) {
                Poll::Pending => {
                    self.write_blocked = true;
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    let e =
                        io::Error::new(io::ErrorKind::WriteZero, "the stream accepted no bytes");
                    return Poll::Ready(Err(self.fail(Error::Io(e))));
                }
                Poll::Ready(Ok(n)) => self.machine.consume_output(n),
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail(Error::Io(e)))),
            }
        }
        match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Pending => {
                self.write_blocked = true;
                Poll::Pending
            }
            Poll::Ready(Ok(())) => {
                self.write_blocked = false;
                self.shared.book.flushed();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail(Error::Io(e)))),
        }
    }

    /// Async form of [`poll_flush`](Self::poll_flush).
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.shared.status.sync_from(&self.machine);
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// The next protocol event, reading from the stream as needed. Side
    /// effects every caller wants (status snapshot, notices, notifications)
    /// happen here.
    pub(crate) fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event>> {
        loop {
            match self.machine.next_event() {
                Ok(Some(event)) => return Poll::Ready(self.observe(event)),
                Ok(None) => {
                    // Requests and answers (authentication, CopyFail) queued
                    // must reach the server before we wait for it. A write
                    // the socket cannot take now must not stop us reading:
                    // the server may be waiting for us to read before it
                    // reads on.
                    if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                        return Poll::Ready(Err(e));
                    }
                    if let Err(e) = ready!(self.poll_fill(cx)) {
                        return Poll::Ready(Err(e));
                    }
                }
                Err(e) => return Poll::Ready(Err(self.fail(e.into()))),
            }
        }
    }

    /// The next event decodable from what was already received, without
    /// touching the stream.
    pub(crate) fn next_buffered(&mut self) -> Option<Result<Event>> {
        match self.machine.next_event() {
            Ok(Some(event)) => Some(self.observe(event)),
            Ok(None) => None,
            Err(e) => Some(Err(self.fail(e.into()))),
        }
    }

    /// Async form of [`poll_next_event`](Self::poll_next_event).
    pub(crate) async fn next_event(&mut self) -> Result<Event> {
        std::future::poll_fn(|cx| self.poll_next_event(cx)).await
    }

    fn observe(&mut self, event: Event) -> Result<Event> {
        let status = &self.shared.status;
        match &event {
            Event::ReadyForQuery(_) => {
                status.sync_from(&self.machine);
                self.current_hit();
            }
            Event::ParameterStatus { .. } => status.sync_parameters(&self.machine),
            Event::Notice(n) => status.notice(n),
            Event::Notification(n) => status.push_notification(n.clone()),
            Event::Error(e) if !e.is_recoverable() => {
                return Err(self.fail(Error::Database(e.clone())));
            }
            Event::BindComplete => {
                if let Some(hit) = self.current_hit() {
                    hit.bound = true;
                }
            }
            // The server session we reached lacks a cached statement at
            // its Bind (`DEALLOCATE`, or a transaction-mode pooler put us
            // on another session): nothing ran. Forget that statement
            // alone, without a Close: there is nothing of ours to close
            // there, and the other names are still valid where they live.
            Event::Error(e)
                if e.sqlstate() == pgwire_proto::SqlState::INVALID_SQL_STATEMENT_NAME =>
            {
                if let Some(hit) = self.current_hit().filter(|h| !h.bound) {
                    let stmt = Arc::clone(&hit.stmt);
                    self.cache.forget(&stmt);
                    self.pooler_sign(&e.message);
                }
            }
            // Our Parse met a name of ours that the session already has:
            // not prepared by us there, so someone else's session.
            Event::Error(e)
                if e.sqlstate() == pgwire_proto::SqlState::DUPLICATE_PREPARED_STATEMENT
                    && names_ours(&e.message, status.statement_prefix()) =>
            {
                self.pooler_sign(&e.message);
            }
            // The server can no longer use a cached statement (a table
            // under it changed shape): prepare it afresh next time. It is
            // ours and on this session (the server just named it), so it
            // is closed.
            Event::Error(e)
                if e.sqlstate() == pgwire_proto::SqlState::FEATURE_NOT_SUPPORTED
                    && e.message.contains("cached plan") =>
            {
                if let Some(hit) = self.current_hit() {
                    let stmt = Arc::clone(&hit.stmt);
                    if self.cache.forget(&stmt) {
                        self.shared
                            .book
                            .owe(Owed::CloseStatement(stmt.name.clone()));
                    }
                }
            }
            // The server already dropped every statement.
            Event::CommandComplete(c) if c.tag_is("DISCARD ALL") || c.tag_is("DEALLOCATE ALL") => {
                self.cache.clear();
            }
            _ => {}
        }
        Ok(event)
    }

    /// The server session lacks a statement this connection prepared, or
    /// has one it did not prepare there: the signs of a transaction-mode
    /// pooler (PgBouncer) moving us between server sessions, or of SQL
    /// `DEALLOCATE`/`PREPARE` of our names. Unless detection is off, the
    /// cache is turned off for good (as `statement_cache_capacity=0`):
    /// correct either way, and behind such a pooler the only way that
    /// works. The names evicted are closed: they are ours alone, so a
    /// Close that reaches another session finds nothing there to drop.
    fn pooler_sign(&mut self, message: &str) {
        let status = &self.shared.status;
        if !status.pooler_detection() || !self.cache.enabled() {
            return;
        }
        for name in self.cache.set_capacity(0) {
            self.shared.book.owe(Owed::CloseStatement(name));
        }
        if status.set_pooler_detected() {
            log::warn!(
                target: "pgwire::statements",
                "the server session does not hold this connection's prepared statements ({message}): \
                 a pooler in transaction mode? Statements now run unnamed (statement_cache_capacity=0); \
                 set pgbouncer=true to start so, or pgbouncer_detect=false to keep the cache"
            );
        }
    }

    /// Records that request `request` (the member of it just queued, if
    /// it is a batch) binds the cached `stmt`.
    pub(crate) fn record_hit(&mut self, request: u64, stmt: Arc<CachedStatement>) {
        let member = self
            .machine
            .in_batch()
            .then(|| self.machine.batch_members().saturating_sub(1));
        self.hits.push_back(Hit {
            request,
            member,
            stmt,
            bound: false,
        });
    }

    /// Forgets the hits of requests from `request` on, which were taken
    /// back before they were sent.
    pub(crate) fn unrecord_hits_from(&mut self, request: u64) {
        while self.hits.back().is_some_and(|h| h.request >= request) {
            self.hits.pop_back();
        }
    }

    /// The cached statement the event just read belongs to (its request,
    /// and its member of a batch), if it binds one; forgets those of
    /// requests and members already answered.
    fn current_hit(&mut self) -> Option<&mut Hit> {
        let current = (
            self.machine.current_request().map_or(u64::MAX, |r| r.0),
            self.machine.event_member(),
        );
        while self
            .hits
            .front()
            .is_some_and(|h| (h.request, h.member) < current)
        {
            self.hits.pop_front();
        }
        self.hits
            .front_mut()
            .filter(|h| (h.request, h.member) == current)
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match Pin::new(&mut self.stream).poll_read(cx, self.machine.receive_buffer()) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                self.machine.receive_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(n)) => {
                self.machine.commit_received(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail(Error::Io(e)))),
        }
    }

    /// Closes the stream (after `Terminate` was flushed).
    pub(crate) async fn close_stream(&mut self) -> Result<()> {
        use futures_util::AsyncWriteExt;
        self.stream.close().await.or_else(|e| match e.kind() {
            // The server may hang up first after Terminate.
            io::ErrorKind::NotConnected | io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(Error::Io(e)),
        })
    }

    // ---- answers read ahead ----------------------------------------------

    /// True if answers were read ahead for anyone (cheap).
    pub(crate) fn has_ahead(&self) -> bool {
        !self.ahead.is_empty()
    }

    /// True if answers were read ahead for `owner`.
    pub(crate) fn has_ahead_for(&self, owner: u64) -> bool {
        self.ahead.contains_key(&owner)
    }

    /// Stores an answer of `owner`'s read on its behalf; returns the total
    /// size of what is stored for everyone.
    pub(crate) fn push_ahead(&mut self, owner: u64, event: Event) -> usize {
        self.ahead_bytes += event_size(&event);
        self.ahead.entry(owner).or_default().events.push_back(event);
        self.ahead_bytes
    }

    /// Records that `owner`'s last answer was read on its behalf.
    pub(crate) fn finish_ahead(&mut self, owner: u64, status: TransactionStatus) {
        self.ahead.entry(owner).or_default().finished = Some(status);
    }

    /// The next answer read ahead for `owner`, if any.
    pub(crate) fn take_ahead(&mut self, owner: u64) -> Option<AheadItem> {
        let ahead = self.ahead.get_mut(&owner)?;
        if let Some(event) = ahead.events.pop_front() {
            self.ahead_bytes = self.ahead_bytes.saturating_sub(event_size(&event));
            return Some(AheadItem::Event(event));
        }
        let finished = ahead.finished;
        if finished.is_some() || ahead.events.is_empty() {
            self.ahead.remove(&owner);
        }
        finished.map(AheadItem::Finished)
    }

    /// Frees what was read ahead for `owner` (gone).
    pub(crate) fn discard_ahead(&mut self, owner: u64) {
        if let Some(ahead) = self.ahead.remove(&owner) {
            let freed: usize = ahead.events.iter().map(event_size).sum();
            self.ahead_bytes = self.ahead_bytes.saturating_sub(freed);
        }
    }

    /// Memory held by this connection's buffers, for accounting.
    pub(crate) fn memory(&self) -> (usize, usize, usize, usize) {
        (
            self.machine.send_capacity(),
            self.machine.receive_capacity(),
            self.ahead_bytes,
            self.sql_facts.retained_bytes(),
        )
    }
}
