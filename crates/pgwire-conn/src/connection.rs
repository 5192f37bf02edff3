//! `Connection<S>`: the public face of one session.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::{
    BackendKey, Machine, Notification, ProtocolVersion, StartupConfig, TransactionStatus,
};

use crate::error::{Error, Result};
use crate::methods::query_methods;
use crate::options::ConnectOptions;
use crate::query::Via;
use crate::session::{Origin, Session};
use crate::status::NoticeHandler;
use crate::timeout::RuntimeHooks;
use crate::tls::MaybeTls;

/// A PostgreSQL connection over any futures-io stream.
///
/// All methods take `&self`: share one connection between tasks with an
/// `Arc`. Each query's messages go out in one piece, and its answers are
/// read by its own task in the order the queries were sent, so queries
/// never interleave; while one task waits for its answer, the others send
/// theirs (pipelining), and the server never idles between them.
///
/// # Sharing rules
///
/// - A lazy stream ([`query`](Self::query)) holds the connection only while
///   it is being polled. Queries sent before it are answered whether or not
///   it is read; those sent after it are answered once it has been read (the
///   server answers in order). A task that waits for a later answer while a
///   stream of its own is unread gets that stream's rest read ahead into
///   memory, up to [`set_read_ahead_limit`](Self::set_read_ahead_limit), then
///   [`Error::WouldDeadlock`].
/// - A transaction ([`begin`](Self::begin), [`with_transaction`](Self::with_transaction))
///   reserves the session: queries sent through it go ahead, while
///   everything else sent on the connection waits until it ends, then runs
///   outside it. So other tasks never run inside it, and it never commits
///   their work; the cost is that they wait. For transactions in parallel,
///   give each its own connection (a pool). A task that sends on the bare
///   connection while holding a transaction open on it gets
///   [`Error::WouldDeadlock`] instead of waiting for itself.
/// - A `COPY ... FROM STDIN` ([`copy_in`](Self::copy_in)) takes the
///   connection for itself the same way until it ends (the server reads
///   everything that arrives meanwhile as COPY data); a dropped writer's
///   CopyFail goes out first, before anyone else's request.
/// - Any future or stream may be dropped at any await point: what it left
///   unsent is sent, what it left unread is discarded by the next reader, a
///   dropped transaction is rolled back at once (without waiting for a next
///   call when the connection is free), and a dropped query still running
///   on the server is cancelled by the next request when nothing else is
///   queued behind it.
///
/// # Cancel requests
///
/// PostgreSQL cancels whatever the session runs when a CancelRequest
/// arrives, so with pipelined requests a cancel meant for one query could
/// hit the next. pgwire sends one (for a time limit that passed, or for a
/// dropped query) only when every request already on its way from the one
/// running onwards is unwanted (the timed-out one, or abandoned ones), and
/// holds every other write back until the server has handled the cancel.
/// So a cancel is **not** sent, and the statement runs to its end while its
/// answer is discarded, when:
///
/// - another task's request is already on its way behind it (the time limit
///   then fails with [`TimeoutOutcome::Abandoned`](crate::TimeoutOutcome));
/// - the dropped query was sent through a transaction (a cancel would fail
///   the whole transaction), or it was a COMMIT, ROLLBACK or SAVEPOINT (a
///   queued COMMIT commits), or a dropped transaction's ROLLBACK is already
///   queued behind it;
/// - the connection has no [`RuntimeHooks`] or no server address (opened
///   over a caller's own stream without [`set_runtime_hooks`](Self::set_runtime_hooks));
/// - a dropped query's answer completes within 10 ms of the next request
///   (not worth the server a new connection).
pub struct Connection<S> {
    pub(crate) session: Session<S>,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("status", &self.session.shared.status)
            .finish_non_exhaustive()
    }
}

/// The memory a connection's buffers hold ([`Connection::memory_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryUsage {
    /// The send buffer's allocated size (given back after a large request).
    pub send_buffer: usize,
    /// The receive buffer's allocated size, with the chunks it keeps for
    /// the next result once the rows that held them are gone (at most
    /// 256 KiB).
    pub receive_buffer: usize,
    /// Answers read ahead for idle streams (approximate bytes).
    pub read_ahead: usize,
    /// Recent long SQL texts kept with what the lexer said of them, so
    /// that running one again does not scan it again (at most 1 MiB).
    pub sql_texts: usize,
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs TLS negotiation (per the options' `sslmode`, checked against
    /// their first host's name), startup and authentication over an
    /// already-open stream: for embedders with their own transport. Time
    /// limits and cancellation need [`set_runtime_hooks`](Self::set_runtime_hooks).
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
        Ok(Connection {
            session: Session::start(machine, stream, config).await?,
        })
    }

    /// Requests from the connection itself travel outside any transaction.
    pub(crate) fn via(&self) -> Via<'_, S> {
        Via {
            session: &self.session,
            reservation: None,
        }
    }

    query_methods!("# let db = conn;");

    /// Sends `Terminate` and closes the stream. Later calls fail with
    /// [`Error::Closed`], and tasks waiting for answers (or for a
    /// transaction to end) learn it at once. Closing twice is fine.
    pub async fn close(&self) -> Result<()> {
        self.session.close().await
    }

    /// The memory this connection's buffers hold. Waits only for a task
    /// that is decoding bytes, never for a stream that is not being polled.
    pub async fn memory_usage(&self) -> MemoryUsage {
        let inner = self.session.lock().await;
        let (send_buffer, receive_buffer, read_ahead, sql_texts) = inner.memory();
        MemoryUsage {
            send_buffer,
            receive_buffer,
            read_ahead,
            sql_texts,
        }
    }
}

impl<S> Connection<S> {
    /// True when the session is idle and usable: startup done, no query in
    /// flight or abandoned, not dead, not closed.
    pub fn ready(&self) -> bool {
        self.session.shared.status.ready()
    }

    /// True inside a transaction block (including a failed one), as of the
    /// latest `ReadyForQuery`.
    pub fn in_transaction(&self) -> bool {
        self.transaction_status() != TransactionStatus::Idle
    }

    /// The transaction status of the latest `ReadyForQuery`.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.session.shared.status.transaction()
    }

    /// True once the connection is unusable (socket error, protocol error,
    /// FATAL error). Every later call fails with [`Error::Dead`].
    pub fn dead(&self) -> bool {
        self.session.shared.status.dead()
    }

    /// The server's run-time parameters as reported by `ParameterStatus`
    /// (`server_version`, `TimeZone`, `application_name`, ...), kept up to
    /// date when `SET` changes them.
    pub fn connection_parameters(&self) -> Arc<BTreeMap<String, String>> {
        self.session.shared.status.parameters()
    }

    /// The server's `TimeZone` parameter: the zone the server prints
    /// `timestamptz` text in and reads zone-less input in.
    ///
    /// It does not change decoded values: a `timestamptz` always decodes to
    /// an `OffsetDateTime` in UTC, whether it arrived in binary (extended
    /// protocol) or as text in this zone (`simple_query`), alone, in arrays
    /// and ranges or as a [`Value`](crate::Value), so the same row gives the
    /// same value, offset included, on every path. Convert it with
    /// `to_offset` to show it in a zone; [`Row::text`](crate::Row::text)
    /// still gives the server's own text.
    pub fn server_timezone(&self) -> Option<String> {
        self.connection_parameters().get("TimeZone").cloned()
    }

    /// Calls `handler` for every notice and warning the server sends, instead
    /// of logging it to the `log` facade (target `pgwire::notice`).
    pub fn set_notice_handler(
        &self,
        handler: impl Fn(&pgwire_proto::Notice) + Send + Sync + 'static,
    ) {
        let handler: NoticeHandler = Arc::new(handler);
        self.session.shared.status.set_notice_handler(Some(handler));
    }

    /// Sets how many statements the connection keeps prepared (default
    /// 256; 0 disables the cache, for poolers in transaction mode that
    /// cannot keep named statements: then a single statement is one unnamed
    /// Parse/Bind/Describe/Execute/Sync asking for binary results, text with
    /// several statements one simple Query; see
    /// [`ConnectOptions::statement_cache_capacity`](crate::ConnectOptions::statement_cache_capacity),
    /// which sets it from the first statement on). Takes effect with the
    /// next request, which also closes on the server the statements a
    /// smaller capacity evicts.
    pub fn set_statement_cache_capacity(&self, capacity: usize) {
        self.session.shared.status.set_cache_capacity(capacity);
    }

    /// Turns the detection of a transaction-mode pooler on (the default)
    /// or off: with it, the first sign that the server session does not
    /// hold what this connection prepared (`26000` at the Bind of a cached
    /// statement, `42P05` for one of its names) turns the statement cache
    /// off for good, as `statement_cache_capacity=0` does, and logs once
    /// (`log` target `pgwire::statements`). Without it, only that statement
    /// is forgotten and prepared again. Set from `pgbouncer_detect`
    /// ([`ConnectOptions::pgbouncer_detect`](crate::ConnectOptions::pgbouncer_detect)).
    pub fn set_pooler_detection(&self, on: bool) {
        self.session.shared.status.set_pooler_detection(on);
    }

    /// A pooler was found when the connection opened (see
    /// [`crate::pooler`]): statements run unnamed from now on.
    pub(crate) fn pooler_found(&self) {
        self.session.shared.status.set_pooler_detected();
        self.set_statement_cache_capacity(0);
    }

    /// Whether the connection saw the signs of a transaction-mode pooler
    /// and turned its statement cache off (see
    /// [`set_pooler_detection`](Self::set_pooler_detection)).
    pub fn pooler_detected(&self) -> bool {
        self.session.shared.status.pooler_detected()
    }

    /// What the statement cache did so far: hits, misses, statements
    /// prepared, evicted, and twins (prepared by queries that missed at
    /// once, closed again).
    pub fn statement_cache_stats(&self) -> crate::StatementCacheStats {
        self.session.shared.status.cache_counters.snapshot()
    }

    /// A time limit for every query on this connection that sets none of its
    /// own ([`Query::timeout`](crate::Query::timeout)); `None` (the default)
    /// for no limit. Like asyncpg's `command_timeout`. See
    /// [`Error::QueryTimeout`] for what happens when it passes. Needs the
    /// runtime hooks the adapters install.
    pub fn set_default_timeout(&self, timeout: Option<Duration>) {
        self.session.shared.status.set_default_timeout(timeout);
    }

    /// Logs every statement that takes at least `threshold` (`None`: none),
    /// as a warning on the `log` facade (target `pgwire::slow`, and a
    /// `tracing` event with the `tracing` feature), with its kind, time,
    /// rows and text (never its parameter values). Also set by
    /// [`ConnectOptions::log_slow_statements`](crate::ConnectOptions::log_slow_statements).
    /// Measured for `fetch`, `fetch_one`, `execute`, `simple_query`,
    /// pipelines and `execute_many`.
    pub fn set_slow_statement_threshold(&self, threshold: Option<Duration>) {
        self.session
            .shared
            .status
            .set_slow_statement_threshold(threshold);
    }

    /// How many bytes of an unread stream's answers may be read ahead into
    /// memory when its own task waits for a later request on the connection
    /// (default 16 MiB); past it, the later request fails with
    /// [`Error::WouldDeadlock`] rather than waiting for itself.
    pub fn set_read_ahead_limit(&self, bytes: usize) {
        self.session.shared.status.set_read_ahead_limit(bytes);
    }

    /// Lends the connection a timer and a way to send cancel requests (the
    /// adapters do this for every connection they open).
    pub fn set_runtime_hooks(&mut self, hooks: Arc<dyn RuntimeHooks>) {
        self.session.hooks = Some(hooks);
    }

    /// The session's cancellation key.
    pub fn backend_key(&self) -> Option<BackendKey> {
        self.session.key.clone()
    }

    /// What the adapters' `cancel_query` (or [`cancel_with`](crate::cancel_with))
    /// needs to cancel the query this connection runs, from any task. `None` for connections opened
    /// over a caller's own stream (no server address is known) or when the
    /// server sent no key.
    pub fn cancel_token(&self) -> Option<crate::CancelToken> {
        self.session.cancel_token()
    }

    pub(crate) fn set_encrypted(&mut self, encrypted: bool) {
        self.session.encrypted = encrypted;
    }

    /// How the session authenticated: `None` (trust), a cleartext or MD5
    /// password, SCRAM-SHA-256, or SCRAM-SHA-256-PLUS (bound to the TLS
    /// channel). The server proved it knows the password for both SCRAM
    /// methods.
    pub fn authentication(&self) -> Option<pgwire_proto::AuthMechanism> {
        self.session.authentication
    }

    /// The protocol version of the session: 3.0 unless the options asked
    /// for more (`max_protocol_version`), else what the server agreed to
    /// (a server before PostgreSQL 18 negotiates 3.2 down to 3.0, which
    /// `min_protocol_version=3.2` refuses). Under 3.2 the cancel key is
    /// PostgreSQL 18's 32 bytes instead of 4.
    ///
    /// ```
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send>(conn: &pgwire_conn::Connection<S>) {
    /// use pgwire_conn::{ConnectOptions, ProtocolVersion};
    /// // Opened with these options, a PostgreSQL 18 session speaks 3.2:
    /// let options = ConnectOptions::parse("host=db user=alice max_protocol_version=latest").unwrap();
    /// assert_eq!(options.get_max_protocol_version(), ProtocolVersion::V3_2);
    /// if let (ProtocolVersion::V3_2, Some(key)) = (conn.protocol_version(), conn.backend_key()) {
    ///     println!("{} bytes of cancel key", key.secret_key().len());
    /// }
    /// # }
    /// ```
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.session.protocol_version
    }

    /// True when the connection runs over TLS (as opened by
    /// `open_database_connection`, or [`Connection::connect`] over a
    /// [`MaybeTls`](crate::MaybeTls) stream that negotiated it).
    pub fn is_encrypted(&self) -> bool {
        self.session.encrypted
    }

    pub(crate) fn set_origin(&mut self, origin: Origin) {
        self.session.origin = Some(origin);
    }

    /// Notifications (`NOTIFY`) received so far, oldest first. Never waits.
    pub fn take_notifications(&self) -> Vec<Notification> {
        self.session.shared.status.take_notifications()
    }
}
