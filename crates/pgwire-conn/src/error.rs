//! The one error type of the connection API.

use std::fmt;
use std::io;

use pgwire_proto::params::ParamError;
use pgwire_proto::types::TypeError;
use pgwire_proto::{
    AuthError, ColumnError, DatabaseError, ProtocolError, ProtocolVersionError, SqlState,
};

/// Everything a connection operation can fail with.
///
/// `{}` says what went wrong at the outermost layer that knows something of
/// its own (the address of a failed connect, the column that did not
/// decode), and [`source()`](std::error::Error::source) leads to the cause;
/// an error that only wraps another (a database error, a protocol error)
/// shows that one. Printing the whole chain, as anyhow's `{:#}` does, thus
/// says each thing once: `could not connect to 127.0.0.1:5432: Connection
/// refused (os error 111)`.
///
/// The SQLSTATE of a database error is [`code`](Error::code), and the
/// predicates below test the ones programs handle most
/// ([`is_unique_violation`](Error::is_unique_violation),
/// [`is_serialization_failure`](Error::is_serialization_failure), ...).
///
/// ```
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send>(conn: &pgwire_conn::Connection<S>) {
/// use pgwire_conn::SqlState;
/// match conn.execute("select * from missing", ()).await {
///     Err(e) if e.code() == Some(SqlState::UNDEFINED_TABLE) => {
///         assert!(e.is_recoverable()); // the connection is still usable
///     }
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection could not be established: nothing listens at
    /// `address`, the name does not resolve, the socket file is missing, ...
    Connect {
        /// Where we tried to connect.
        address: String,
        /// Why it failed.
        source: io::Error,
    },
    /// TLS could not be set up: refused by the server while required, a
    /// failed handshake (unknown CA, wrong host name, ...), or bad
    /// certificate/key files.
    Tls(crate::tls::TlsError),
    /// Connecting to `address` took longer than `connect_timeout`.
    Timeout {
        /// The host that did not answer in time.
        address: String,
        /// The configured timeout.
        after: std::time::Duration,
    },
    /// No listed server has the session attributes asked for
    /// (`target_session_attrs`).
    TargetSessionAttrs {
        /// The attribute wanted (`read-write`, `standby`, ...).
        wanted: &'static str,
        /// The servers that were reachable but did not match.
        rejected: Vec<String>,
    },
    /// The connection options could not be understood (a malformed URL or
    /// `key=value` string, an unknown option, a bad value).
    Config(crate::OptionsError),
    /// The server reported an error. [`DatabaseError::is_recoverable`] tells
    /// whether the connection survives it.
    Database(DatabaseError),
    /// Authentication could not proceed on our side (no password given for a
    /// method that needs one, unsupported method, SCRAM failure).
    Auth(AuthError),
    /// The server broke the protocol; the connection is dead.
    Protocol(ProtocolError),
    /// The protocol version could not be agreed on: the server offers less
    /// than `min_protocol_version`, refused the version asked for with an
    /// error instead of negotiating (then [`code`](Error::code) is its
    /// SQLSTATE), or the options ask for a minimum above the maximum.
    ProtocolVersion(ProtocolVersionError),
    /// Reading or writing the socket failed; the connection is dead.
    Io(io::Error),
    /// An argument could not be sent (a NUL byte in SQL text, ...). Nothing
    /// was sent and the connection is fine.
    InvalidInput(String),
    /// The parameters do not fit the SQL: a `:name` with no value, a value
    /// with no placeholder, `$n` mixed with `:name`, a wrong count, or an
    /// unterminated literal. Nothing was sent.
    Params(ParamError),
    /// Parameter `index` (0-based: `$1` is 0) cannot be encoded as its server
    /// type. Nothing was sent.
    Encode {
        /// The parameter's position.
        index: usize,
        /// Why it failed (names the PostgreSQL and Rust types).
        source: TypeError,
    },
    /// `COMMIT` found the transaction failed, and the server rolled it back
    /// instead: nothing of it was saved.
    TransactionRolledBack,
    /// A column of a row could not be read as asked (out of range, not
    /// text, ...). The connection is fine.
    Column(ColumnError),
    /// The call's time limit passed ([`Query::timeout`](crate::Query::timeout),
    /// [`Connection::set_default_timeout`](crate::Connection::set_default_timeout));
    /// `outcome` says whether the statement was sent, cancelled, or may
    /// still run. The connection is fine.
    QueryTimeout {
        /// The time limit.
        after: std::time::Duration,
        /// What became of the statement.
        outcome: crate::TimeoutOutcome,
    },
    /// The call would wait for its own task forever (the message says why
    /// and what to do): it holds a transaction open on the connection while
    /// sending outside it, or waits for a later answer while an earlier
    /// stream of its own is unread beyond the read-ahead limit. Nothing of
    /// this call was sent, or its answer is discarded. The connection is
    /// fine.
    WouldDeadlock(String),
    /// The server reports `client_encoding` `encoding`, not UTF8, and
    /// pgwire reads and writes only UTF-8 (see [`pgwire_proto::encoding`]):
    /// the call was refused so that no value comes out (or goes in) wrong.
    /// With `sent: false` nothing was sent (the request had parameters or
    /// non-ASCII text); with `sent: true` the request ran on the server, but
    /// rows came back in that encoding, or before the server reported it.
    /// The connection is fine: `SET client_encoding TO 'UTF8'` puts it back.
    ClientEncoding {
        /// The session's client_encoding.
        encoding: String,
        /// Whether the request was sent (and ran).
        sent: bool,
    },
    /// The connection died earlier (the cause is given) and cannot be used.
    Dead(String),
    /// [`Connection::close`](crate::Connection::close) was called.
    Closed,
    /// `sslmode=prefer` or `allow` tried the host both with and without TLS
    /// (as libpq does: `prefer` without TLS when the TLS attempt fails in
    /// its handshake or the server turns the session down, `allow` with TLS
    /// when the server turns down the session without), and both attempts
    /// failed. [`code`](Error::code) is the second attempt's SQLSTATE if it
    /// has one, else the first's.
    BothAttempts {
        /// Whether the first attempt used TLS (`prefer`) or not (`allow`).
        tls_first: bool,
        /// Why the first attempt failed.
        first: Box<Error>,
        /// Why the second attempt, the other way, failed.
        second: Box<Error>,
    },
    /// No pooled connection came free within the pool's
    /// `checkout_timeout`: every connection was in use, or new ones could
    /// not be opened (`last_error`, the [`source`](std::error::Error::source),
    /// says why the last attempt failed).
    PoolTimeout {
        /// The pool's `checkout_timeout`.
        after: std::time::Duration,
        /// Why the last attempt to open a connection failed, if one failed
        /// since the last that worked (shared by every checkout waiting).
        last_error: Option<std::sync::Arc<Error>>,
    },
    /// The pool was closed ([`Pool::close`](crate::Pool::close)): it hands
    /// out no more connections.
    PoolClosed,
    /// `count` notifications were dropped, oldest first: more than 10,000
    /// were queued on the connection while nobody read them (a
    /// [`Notifications`](crate::Notifications) stream reads them as they
    /// come). The notifications after them are delivered as usual.
    NotificationsDropped {
        /// How many were dropped.
        count: u64,
    },
    /// A batch under one `Sync` failed ([`PipelineSync::Once`](crate::PipelineSync::Once),
    /// [`execute_many`](crate::Connection::execute_many)): statement (or
    /// parameter row) `statement`, 0-based, failed with `source`, or, with
    /// `None`, the implicit transaction failed to commit at the end (a
    /// deferred constraint). The members ran in one implicit transaction,
    /// which the server rolled back: nothing the batch did outside its own
    /// `BEGIN`/`COMMIT` members was saved. The connection is fine.
    Batch {
        /// The member that failed, or `None` for the commit at the end.
        statement: Option<usize>,
        /// Why it failed.
        source: Box<Error>,
    },
    /// This member of a batch under one `Sync` never ran: member `failed`
    /// (0-based) failed before it, and the server skipped the rest of the
    /// batch (see [`PipelineSync::Once`](crate::PipelineSync::Once)).
    NotRun {
        /// The member whose error ended the batch.
        failed: usize,
    },
    /// A row could not fill field `field` of `target`, a
    /// [`FromRow`](crate::FromRow) type: the row has no column `column`, or
    /// its value does not convert to the field's type (the
    /// [`source`](std::error::Error::source) says which, and why). The
    /// connection is fine.
    FromRow {
        /// The Rust type being read.
        target: &'static str,
        /// Its field.
        field: &'static str,
        /// The column the field is read from.
        column: String,
        /// Why it could not be read (boxed: it is large, and rare).
        source: Box<ColumnError>,
    },
    /// The query returned no row where exactly one was asked for
    /// ([`fetch_exactly_one`](crate::Connection::fetch_exactly_one),
    /// [`fetch_scalar`](crate::Connection::fetch_scalar), ...). The
    /// connection is fine.
    NoRows,
    /// The query returned `rows` rows where exactly one was asked for. The
    /// whole statement ran; the rows were dropped. The connection is fine.
    TooManyRows {
        /// How many rows it returned.
        rows: usize,
    },
}

impl Error {
    /// True when the connection is still usable after this error.
    pub fn is_recoverable(&self) -> bool {
        match self {
            Error::Database(e) => e.is_recoverable(),
            Error::InvalidInput(_)
            | Error::Column(_)
            | Error::Params(_)
            | Error::Encode { .. }
            | Error::QueryTimeout { .. }
            | Error::WouldDeadlock(_)
            | Error::ClientEncoding { .. }
            | Error::NotificationsDropped { .. }
            | Error::NotRun { .. }
            | Error::FromRow { .. }
            | Error::NoRows
            | Error::TooManyRows { .. }
            | Error::TransactionRolledBack => true,
            Error::Batch { source, .. } => source.is_recoverable(),
            _ => false,
        }
    }

    /// The SQLSTATE of a database error.
    pub fn code(&self) -> Option<SqlState> {
        self.as_database().map(|e| e.sqlstate())
    }

    /// The database error, if this is one (of both attempts, the second's
    /// if it is one, else the first's).
    pub fn as_database(&self) -> Option<&DatabaseError> {
        match self {
            Error::Database(e) => Some(e),
            Error::BothAttempts { first, second, .. } => {
                second.as_database().or_else(|| first.as_database())
            }
            Error::PoolTimeout {
                last_error: Some(e),
                ..
            } => e.as_database(),
            Error::Batch { source, .. } => source.as_database(),
            Error::ProtocolVersion(ProtocolVersionError::Refused { error, .. }) => Some(error),
            _ => None,
        }
    }
}

/// The predicates of [`SqlState`], on the SQLSTATE of a database error.
macro_rules! sqlstate_predicates {
    ($($name:ident),* $(,)?) => {
        impl Error {
            $(
                #[doc = concat!(
                    "[`SqlState::", stringify!($name), "`] of a database error's ",
                    "SQLSTATE; false for every other error."
                )]
                pub fn $name(&self) -> bool {
                    self.code().is_some_and(SqlState::$name)
                }
            )*
        }
    };
}

sqlstate_predicates!(
    is_unique_violation,
    is_foreign_key_violation,
    is_not_null_violation,
    is_check_violation,
    is_exclusion_violation,
    is_integrity_constraint_violation,
    is_serialization_failure,
    is_deadlock_detected,
    is_transaction_rollback,
    is_query_canceled,
);

// Each variant says its own part once, and `source()` leads to the rest:
// printing the whole chain (anyhow's `{:#}`, eyre) then repeats nothing. A
// variant that only wraps another error adds nothing of its own, so it is
// transparent: its `Display` and `source()` are the inner error's, as std's
// `io::Error` does for a custom error. `Error::Dead` keeps a cause that was
// printed in full, since its source is gone by then.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { address, .. } => write!(f, "could not connect to {address}"),
            Error::Tls(e) => e.fmt(f),
            Error::Timeout { address, after } => {
                write!(f, "connecting to {address} timed out after {after:?}")
            }
            Error::TargetSessionAttrs { wanted, rejected } => write!(
                f,
                "no server is {wanted} (target_session_attrs); reachable but not matching: {}",
                if rejected.is_empty() {
                    "none".to_owned()
                } else {
                    rejected.join(", ")
                }
            ),
            Error::Config(e) => e.fmt(f),
            Error::Database(e) => e.fmt(f),
            Error::Auth(e) => e.fmt(f),
            Error::Protocol(e) => e.fmt(f),
            Error::ProtocolVersion(e) => e.fmt(f),
            Error::Io(e) => e.fmt(f),
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::Params(e) => e.fmt(f),
            Error::Encode { index, .. } => write!(f, "cannot encode parameter ${}", index + 1),
            Error::TransactionRolledBack => f.write_str(
                "COMMIT failed: the transaction had failed and was rolled back, nothing was saved",
            ),
            Error::Column(e) => e.fmt(f),
            Error::QueryTimeout { after, outcome } => {
                write!(f, "the query took longer than {after:?}; {outcome}")
            }
            Error::WouldDeadlock(why) => write!(f, "the call would wait for itself: {why}"),
            Error::ClientEncoding { encoding, sent } => {
                f.write_str(&pgwire_proto::encoding::refusal(encoding))?;
                f.write_str(if *sent {
                    "; the request ran, but its rows are refused"
                } else {
                    "; nothing was sent"
                })
            }
            Error::Dead(cause) => write!(f, "the connection is dead: {cause}"),
            Error::Closed => f.write_str("the connection was closed"),
            Error::BothAttempts {
                tls_first, first, ..
            } => {
                let (first_way, second_way) = if *tls_first {
                    ("with TLS", "without TLS")
                } else {
                    ("without TLS", "with TLS")
                };
                // The second attempt's error is the source, which a report
                // prints next; the first is in no chain, so it is said whole.
                write!(f, "{first_way}: {}; then {second_way}", full_text(&**first))
            }
            Error::PoolTimeout { after, last_error } => {
                write!(f, "no pooled connection came free within {after:?}")?;
                if last_error.is_some() {
                    f.write_str("; opening a new one failed")?;
                }
                Ok(())
            }
            Error::PoolClosed => f.write_str("the pool was closed"),
            Error::NotificationsDropped { count } => write!(
                f,
                "{count} notifications were dropped: more than {} were queued while nobody read them",
                crate::status::MAX_QUEUED_NOTIFICATIONS
            ),
            Error::Batch {
                statement: Some(i),
                ..
            } => write!(f, "the batch failed at statement {i}, and was rolled back"),
            Error::Batch {
                statement: None, ..
            } => f.write_str("the batch failed to commit at its end, and was rolled back"),
            Error::NotRun { failed } => write!(
                f,
                "not run: statement {failed} of the batch failed first, and the server skipped the rest"
            ),
            // What went wrong with the column is the source's to say.
            Error::FromRow {
                target,
                field,
                column,
                ..
            } => write!(f, "cannot read field {target}.{field} from column {column:?}"),
            Error::NoRows => f.write_str("the query returned no rows, where exactly one was expected"),
            Error::TooManyRows { rows } => write!(
                f,
                "the query returned {rows} rows, where exactly one was expected"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } => Some(source),
            Error::Encode { source, .. } => Some(source),
            // Transparent: the inner error has been displayed already.
            Error::Tls(e) => e.source(),
            Error::Config(e) => e.source(),
            Error::Database(e) => e.source(),
            Error::Auth(e) => e.source(),
            Error::Protocol(e) => e.source(),
            Error::ProtocolVersion(e) => e.source(),
            Error::Io(e) => e.source(),
            Error::Column(e) => e.source(),
            Error::Params(e) => e.source(),
            Error::BothAttempts { second, .. } => Some(second.as_ref()),
            Error::Batch { source, .. } => Some(source.as_ref()),
            Error::FromRow { source, .. } => Some(source.as_ref()),
            Error::PoolTimeout {
                last_error: Some(e),
                ..
            } => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// `error` and every error of its `source()` chain, joined with ": ", for a
/// cause kept as text.
fn full_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

impl From<pgwire_proto::Error> for Error {
    fn from(e: pgwire_proto::Error) -> Self {
        match e {
            pgwire_proto::Error::Protocol(p) => Error::Protocol(p),
            pgwire_proto::Error::Auth(a) => Error::Auth(a),
            pgwire_proto::Error::SessionEnded(d) => Error::Database(d),
            pgwire_proto::Error::ProtocolVersion(v) => Error::ProtocolVersion(v),
            pgwire_proto::Error::InvalidInput(why) => Error::InvalidInput(why),
            pgwire_proto::Error::Encode { index, source } => Error::Encode { index, source },
            pgwire_proto::Error::ClientEncoding(encoding) => Error::ClientEncoding {
                encoding,
                sent: false,
            },
            // Nothing was queued, and the connection is fine: the COPY of
            // the caller's own task must end first.
            pgwire_proto::Error::InvalidState { command, state }
                if state == pgwire_proto::machine::RUNNING_COPY_IN =>
            {
                Error::WouldDeadlock(format!(
                    "`{command}` while a COPY FROM STDIN of this task is open on this connection \
                     (the server would read the request as COPY data): finish or abort the COPY \
                     first; nothing was sent"
                ))
            }
            pgwire_proto::Error::InvalidState { command, state } => {
                Error::Dead(format!("`{command}` refused: the session is {state}"))
            }
            other => Error::Dead(full_text(&other)),
        }
    }
}

impl From<ColumnError> for Error {
    fn from(e: ColumnError) -> Self {
        Error::Column(e)
    }
}

impl From<crate::tls::TlsError> for Error {
    fn from(e: crate::tls::TlsError) -> Self {
        Error::Tls(e)
    }
}

impl From<crate::OptionsError> for Error {
    fn from(e: crate::OptionsError) -> Self {
        Error::Config(e)
    }
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Self {
        Error::Params(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
