//! `Connection<S>`: one protocol machine and one stream behind an async mutex.
//!
//! Every piece of protocol state lives in the machine and its buffers, never
//! in a future's locals. A task queues its whole request under the lock and
//! sends it; it then reads its answers when their turn comes (see
//! [`answer`](crate::answer)), letting go of the lock whenever it waits, so
//! the requests of tasks sharing a connection are pipelined. A query future
//! dropped at any await point leaves unsent bytes in the machine's output
//! and unread answers on the socket; whoever reads next flushes the former
//! and discards the latter.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_lock::{Mutex, MutexGuard};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::AsyncWriteExt;
use pgwire_proto::{BackendKey, Event, Machine, Notification, StartupConfig, TransactionStatus};

use crate::answer::Answer;
use crate::cache::{StatementCache, DEFAULT_STATEMENT_CACHE_CAPACITY};
use crate::error::{Error, Result};
use crate::options::ConnectOptions;
use crate::status::{NoticeHandler, Owed, Status};
use crate::tls::MaybeTls;
use crate::turns::Turns;
use pgwire_proto::message::frontend::Target;

/// Notifications kept for [`Connection::take_notifications`] before the
/// oldest are dropped; bounds memory when nobody reads them.
const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// A PostgreSQL connection over any futures-io stream.
///
/// All methods take `&self`: share one connection between tasks with an
/// `Arc`. Each query's messages go out in one piece, and its answers are
/// read by its own task in the order the queries were sent, so queries
/// never interleave; while one task waits for its answer, the others send
/// theirs (pipelining), and the server never idles between them.
pub struct Connection<S> {
    inner: Mutex<Inner<S>>,
    turns: Arc<Turns>,
    status: Arc<Status>,
    /// Where the session was opened and how, for cancel requests.
    origin: Option<Origin>,
    /// The session's cancellation key (fixed at startup).
    key: Option<BackendKey>,
}

/// The server a connection was opened to, and with which TLS settings.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) host: crate::options::HostSpec,
    pub(crate) tls: Option<crate::negotiate::TlsPlan>,
}

pub(crate) struct Inner<S> {
    pub(crate) machine: Machine,
    stream: S,
    /// Why the connection died, once it has.
    dead: Option<String>,
    closed: bool,
    pub(crate) status: Arc<Status>,
    turns: Arc<Turns>,
    notifications: VecDeque<Notification>,
    pub(crate) cache: StatementCache,
}

impl<S> Connection<S> {
    pub(crate) fn turns(&self) -> &Turns {
        &self.turns
    }

    /// The status, for code without the stream bounds (`Drop`).
    pub(crate) fn status_of(&self) -> &Status {
        &self.status
    }
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs TLS negotiation (per the options' `sslmode`, checked against
    /// their first host's name), startup and authentication over an
    /// already-open stream: for embedders with their own transport.
    pub async fn connect(stream: S, options: &ConnectOptions) -> Result<Connection<MaybeTls<S>>> {
        let host = options
            .hosts()
            .first()
            .ok_or_else(|| Error::InvalidInput("no host given".into()))?;
        let plan = crate::open::tls_plan(options, host, &mut None)?;
        crate::open::connect_over(stream, options, host, plan.as_ref()).await
    }

    /// Runs startup over `stream` with a protocol-level configuration and
    /// no TLS negotiation (for transports that are already secure, or tests).
    pub async fn connect_with(stream: S, config: &StartupConfig) -> Result<Self> {
        Self::start(Machine::new(), stream, config).await
    }

    /// Runs startup with a machine that may already have negotiated TLS.
    pub(crate) async fn start(machine: Machine, stream: S, config: &StartupConfig) -> Result<Self> {
        let status = Arc::new(Status::default());
        let turns = Arc::new(Turns::default());
        let mut inner = Inner {
            machine,
            stream,
            dead: None,
            closed: false,
            status: Arc::clone(&status),
            turns: Arc::clone(&turns),
            notifications: VecDeque::new(),
            cache: StatementCache::new(DEFAULT_STATEMENT_CACHE_CAPACITY),
        };
        inner.machine.start(config)?;
        loop {
            match inner.next_event().await? {
                Event::ReadyForQuery(_) => break,
                Event::Error(e) => return Err(inner.fail(Error::Database(e))),
                _ => {}
            }
        }
        status.sync_from(&inner.machine);
        let key = inner.machine.backend_key();
        Ok(Connection {
            inner: Mutex::new(inner),
            turns,
            status,
            origin: None,
            key,
        })
    }

    /// Takes the lock to queue a request, after the commands that dropped
    /// guards owe. Their answers, and those of abandoned queries, are
    /// discarded by whoever reads next.
    pub(crate) async fn lock(&self) -> Result<MutexGuard<'_, Inner<S>>> {
        let mut inner = self.inner.lock().await;
        inner.check_usable()?;
        for owed in self.status.take_owed() {
            // Answers are drained below like any abandoned request's.
            let queued = match &owed {
                Owed::Sql(sql) => inner.machine.simple_query(sql).map(drop),
                Owed::ClosePortal(name) => inner.machine.close(Target::Portal, name).map(drop),
                Owed::CloseStatement(name) => {
                    inner.machine.close(Target::Statement, name).map(drop)
                }
            };
            if let Err(e) = queued {
                return Err(inner.fail(e.into()));
            }
        }
        Ok(inner)
    }

    /// Sends the requests queued under `inner` since `first` and returns
    /// the handle that reads their answers in turn. A write the socket
    /// cannot take whole now is finished by whichever task reads next.
    pub(crate) async fn answer<'c>(
        &'c self,
        mut inner: MutexGuard<'c, Inner<S>>,
        first: pgwire_proto::RequestId,
    ) -> Result<Answer<'c, S>> {
        let end = inner.machine.next_request_id().0;
        if end > first.0 {
            self.turns.register(first.0, end - 1);
        }
        inner.status.sync_from(&inner.machine);
        // With another task reading ahead of us, that task sends what we
        // queued (with what others queue meanwhile), as a connection task
        // would: one write and one server wake-up for many requests.
        if end > first.0 && self.turns.wake_reader_before(first.0) {
            return Ok(Answer::new(self, inner, first.0, end));
        }
        let flushed = poll_fn(|cx| Poll::Ready(inner.poll_flush(cx))).await;
        let answer = Answer::new(self, inner, first.0, end);
        match flushed {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Err(e),
            // The task reading now (if not us) must flush the rest: the
            // socket may wake only the last task that polled it.
            Poll::Pending => self.turns.wake_head(),
        }
        Ok(answer)
    }

    pub(crate) fn status(&self) -> &Status {
        &self.status
    }

    pub(crate) fn try_lock_inner(&self) -> Option<MutexGuard<'_, Inner<S>>> {
        self.inner.try_lock()
    }

    pub(crate) fn lock_inner(&self) -> async_lock::futures::Lock<'_, Inner<S>> {
        self.inner.lock()
    }

    /// True when the session is idle and usable: startup done, no query in
    /// flight or abandoned, not dead, not closed.
    pub fn ready(&self) -> bool {
        self.status.ready()
    }

    /// True inside a transaction block (including a failed one), as of the
    /// latest `ReadyForQuery`.
    pub fn in_transaction(&self) -> bool {
        self.status.transaction() != TransactionStatus::Idle
    }

    /// The transaction status of the latest `ReadyForQuery`.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.status.transaction()
    }

    /// True once the connection is unusable (socket error, protocol error,
    /// FATAL error). Every later call fails with [`Error::Dead`].
    pub fn dead(&self) -> bool {
        self.status.dead()
    }

    /// The server's run-time parameters as reported by `ParameterStatus`
    /// (`server_version`, `TimeZone`, `application_name`, ...), kept up to
    /// date when `SET` changes them.
    pub fn connection_parameters(&self) -> Arc<BTreeMap<String, String>> {
        self.status.parameters()
    }

    /// The server's `TimeZone` parameter.
    pub fn server_timezone(&self) -> Option<String> {
        self.status.parameters().get("TimeZone").cloned()
    }

    /// Calls `handler` for every notice and warning the server sends, instead
    /// of logging it to the `log` facade (target `pgwire::notice`).
    pub fn set_notice_handler(
        &self,
        handler: impl Fn(&pgwire_proto::Notice) + Send + Sync + 'static,
    ) {
        let handler: NoticeHandler = Arc::new(handler);
        self.status.set_notice_handler(Some(handler));
    }

    /// Sets how many statements the connection keeps prepared (default
    /// 256; 0 disables the cache, for poolers in transaction mode that
    /// cannot keep named statements: then statements without parameters go
    /// over the simple protocol, those with parameters as one unnamed
    /// Parse/Bind/Execute). Statements evicted by a smaller capacity are
    /// closed on the server by the next query.
    pub async fn set_statement_cache_capacity(&self, capacity: usize) {
        let mut inner = self.inner.lock().await;
        for name in inner.cache.set_capacity(capacity) {
            self.status.owe(Owed::CloseStatement(name));
        }
    }

    /// The session's cancellation key.
    pub async fn backend_key(&self) -> Option<BackendKey> {
        self.key
    }

    /// What the adapters' `cancel_query` (or [`cancel_with`](crate::cancel_with))
    /// needs to cancel the query this connection runs, from any task. `None` for connections opened
    /// over a caller's own stream (no server address is known) or when the
    /// server sent no key.
    pub fn cancel_token(&self) -> Option<crate::CancelToken> {
        let origin = self.origin.as_ref()?;
        Some(crate::CancelToken {
            key: self.key?,
            host: origin.host.clone(),
            tls: origin.tls.clone(),
        })
    }

    pub(crate) fn set_origin(&mut self, origin: Origin) {
        self.origin = Some(origin);
    }

    /// Notifications (`NOTIFY`) received so far, oldest first.
    pub async fn take_notifications(&self) -> Vec<Notification> {
        self.inner.lock().await.notifications.drain(..).collect()
    }

    /// Sends `Terminate` and closes the stream. Later calls fail with
    /// [`Error::Closed`]. Closing twice is fine.
    pub async fn close(&self) -> Result<()> {
        let mut inner = self.inner.lock().await;
        if inner.closed {
            return Ok(());
        }
        inner.closed = true;
        self.status.set_closed();
        // Tasks waiting for their answers must learn of it now.
        self.turns.wake_all();
        if inner.dead.is_some() {
            return Ok(());
        }
        if inner.machine.terminate().is_ok() {
            inner.flush().await?;
        }
        inner.stream.close().await.or_else(|e| match e.kind() {
            // The server may hang up first after Terminate.
            io::ErrorKind::NotConnected | io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(Error::Io(e)),
        })
    }
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn check_usable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        match &self.dead {
            Some(cause) => Err(Error::Dead(cause.clone())),
            None => Ok(()),
        }
    }

    /// Records an unrecoverable error as the cause of death, and wakes
    /// every task waiting for its answers so that each learns of it.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        if !error.is_recoverable() && self.dead.is_none() {
            self.dead = Some(error.to_string());
            self.status.set_dead();
            self.turns.wake_all();
        }
        error
    }

    /// Writes all queued output and flushes the stream. Bytes leave the
    /// machine's buffer only once the stream accepted them, so dropping the
    /// caller at `Pending` loses nothing.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        while self.machine.has_output() {
            match Pin::new(&mut self.stream).poll_write(cx, self.machine.output()) {
                Poll::Pending => return Poll::Pending,
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
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => {
                self.turns.flushed();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail(Error::Io(e)))),
        }
    }

    /// Async form of [`poll_flush`](Self::poll_flush). Callers flush right
    /// after queueing a request, so this is also where `ready()` turns false.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.status.sync_from(&self.machine);
        poll_fn(|cx| self.poll_flush(cx)).await
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

    /// Async form of [`poll_next_event`](Self::poll_next_event).
    pub(crate) async fn next_event(&mut self) -> Result<Event> {
        poll_fn(|cx| self.poll_next_event(cx)).await
    }

    fn observe(&mut self, event: Event) -> Result<Event> {
        match &event {
            Event::ReadyForQuery(_) => self.status.sync_from(&self.machine),
            Event::ParameterStatus { .. } => self.status.sync_parameters(&self.machine),
            Event::Notice(n) => self.status.notice(n),
            Event::Notification(n) => {
                if self.notifications.len() >= MAX_QUEUED_NOTIFICATIONS {
                    self.notifications.pop_front();
                }
                self.notifications.push_back(n.clone());
            }
            Event::Error(e) if !e.is_recoverable() => {
                return Err(self.fail(Error::Database(e.clone())));
            }
            // The server lost (or can no longer use) a cached statement:
            // prepare afresh next time rather than fail forever. Closing
            // the old names frees any the server still has (closing one it
            // does not have is not an error).
            Event::Error(e)
                if e.sqlstate().code() == "26000"
                    || (e.sqlstate() == pgwire_proto::SqlState::FEATURE_NOT_SUPPORTED
                        && e.message.contains("cached plan")) =>
            {
                for name in self.cache.clear() {
                    self.status.owe(Owed::CloseStatement(name));
                }
            }
            // The server already dropped every statement.
            Event::CommandComplete(c) if matches!(c.tag(), "DISCARD ALL" | "DEALLOCATE ALL") => {
                self.cache.clear();
            }
            _ => {}
        }
        Ok(event)
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
}
