//! The one error type of the connection API.

use std::fmt;
use std::io;

use pgwire_proto::params::ParamError;
use pgwire_proto::types::TypeError;
use pgwire_proto::{AuthError, ColumnError, DatabaseError, ProtocolError, SqlState};

/// Everything a connection operation can fail with.
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
            | Error::TransactionRolledBack => true,
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
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { address, source } => {
                write!(f, "could not connect to {address}: {source}")
            }
            Error::Tls(e) => write!(f, "TLS error: {e}"),
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
            Error::Config(e) => write!(f, "invalid connection options: {e}"),
            Error::Database(e) => write!(f, "database error: {e}"),
            Error::Auth(e) => write!(f, "authentication failed: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::Params(e) => write!(f, "parameter error: {e}"),
            Error::Encode { index, source } => write!(f, "parameter ${}: {source}", index + 1),
            Error::TransactionRolledBack => f.write_str(
                "COMMIT failed: the transaction had failed and was rolled back, nothing was saved",
            ),
            Error::Column(e) => write!(f, "column error: {e}"),
            Error::QueryTimeout { after, outcome } => {
                write!(f, "the query took longer than {after:?}; {outcome}")
            }
            Error::WouldDeadlock(why) => write!(f, "the call would wait for itself: {why}"),
            Error::Dead(cause) => write!(f, "the connection is dead: {cause}"),
            Error::Closed => f.write_str("the connection was closed"),
            Error::BothAttempts {
                tls_first,
                first,
                second,
            } => {
                let (first_way, second_way) = if *tls_first {
                    ("with TLS", "without TLS")
                } else {
                    ("without TLS", "with TLS")
                };
                write!(f, "{first_way}: {first}; then {second_way}: {second}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } => Some(source),
            Error::Tls(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::Database(e) => Some(e),
            Error::Auth(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Column(e) => Some(e),
            Error::Params(e) => Some(e),
            Error::Encode { source, .. } => Some(source),
            Error::BothAttempts { second, .. } => Some(second.as_ref()),
            _ => None,
        }
    }
}

impl From<pgwire_proto::Error> for Error {
    fn from(e: pgwire_proto::Error) -> Self {
        match e {
            pgwire_proto::Error::Protocol(p) => Error::Protocol(p),
            pgwire_proto::Error::Auth(a) => Error::Auth(a),
            pgwire_proto::Error::SessionEnded(d) => Error::Database(d),
            pgwire_proto::Error::InvalidInput(why) => Error::InvalidInput(why),
            pgwire_proto::Error::Encode { index, source } => Error::Encode { index, source },
            pgwire_proto::Error::InvalidState { command, state } => {
                Error::Dead(format!("`{command}` refused: the session is {state}"))
            }
            other => Error::Dead(other.to_string()),
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
