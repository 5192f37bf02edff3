//! Errors of the protocol layer: the server broke the protocol, the caller used
//! the machine in the wrong state, authentication could not proceed, or the
//! server reported an error (`ErrorResponse`).

use std::fmt;
use std::ops::Deref;

use crate::auth::scram::ScramError;
pub use crate::sqlstate::SqlState;

/// Everything a [`Machine`](crate::Machine) operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server sent bytes that break the protocol. The connection cannot be
    /// trusted any more and must be closed.
    Protocol(ProtocolError),
    /// Authentication could not proceed (unsupported method, missing password,
    /// SCRAM failure). The connection is unusable.
    Auth(AuthError),
    /// A command was issued in a state that does not allow it (for example a
    /// query before startup finished, or anything after `terminate`).
    InvalidState {
        /// The command that was refused.
        command: &'static str,
        /// The state the machine was in.
        state: &'static str,
    },
    /// The server ended the session with this FATAL or PANIC error.
    SessionEnded(DatabaseError),
    /// The protocol version could not be agreed on (see
    /// [`ProtocolVersionError`](crate::ProtocolVersionError)). The
    /// connection is unusable.
    ProtocolVersion(crate::ProtocolVersionError),
    /// Parameter `index` (0-based: `$1` is 0) could not be encoded for its
    /// server type. Nothing was queued.
    Encode {
        /// The parameter's position.
        index: usize,
        /// Why it failed.
        source: crate::types::TypeError,
    },
    /// An argument cannot be encoded on the wire (a NUL byte inside SQL text,
    /// too many parameters, ...). Nothing was queued.
    InvalidInput(String),
    /// The server reported this `client_encoding`, not UTF8, and the
    /// request would have sent text or parameters that mean something else
    /// in it. Nothing was queued; the session is fine (see
    /// [`encoding`](crate::encoding)).
    ClientEncoding(String),
}

// Each variant says its own part once and `source()` leads to the rest, so
// a report of the whole chain repeats nothing; a variant that only wraps
// another error is transparent (its `Display` and `source()` are the inner
// error's, as std's `io::Error` does for a custom error).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Auth(e) => e.fmt(f),
            Error::InvalidState { command, state } => {
                write!(
                    f,
                    "`{command}` is not allowed while the connection is {state}"
                )
            }
            Error::SessionEnded(_) => f.write_str("the server ended the session"),
            Error::ProtocolVersion(e) => e.fmt(f),
            Error::Encode { index, .. } => write!(f, "cannot encode parameter ${}", index + 1),
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::ClientEncoding(encoding) => {
                f.write_str(&crate::encoding::refusal(encoding))?;
                f.write_str("; nothing was sent")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => e.source(),
            Error::Auth(e) => e.source(),
            Error::SessionEnded(e) => Some(e),
            Error::ProtocolVersion(e) => e.source(),
            Error::Encode { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

/// The server sent something that is not valid PostgreSQL protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A message announced a length below the 4 bytes of the length itself.
    InvalidLength {
        /// The message type byte.
        tag: u8,
        /// The announced length.
        len: u32,
    },
    /// A message announced a length above the configured maximum.
    MessageTooLong {
        /// The message type byte.
        tag: u8,
        /// The announced length.
        len: u32,
        /// The configured maximum.
        max: usize,
    },
    /// A message type byte that the protocol does not define.
    UnknownMessage(u8),
    /// A known message whose body does not parse.
    Malformed {
        /// The message's name.
        message: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A valid message that cannot arrive in the current state.
    Unexpected {
        /// The message's name.
        message: &'static str,
        /// The state the machine was in.
        state: &'static str,
    },
    /// The answer to SSLRequest was neither `S` nor `N`.
    InvalidSslResponse(u8),
    /// The server sent bytes right after accepting TLS, before the handshake:
    /// they were not protected by TLS and could be injected (CVE-2021-23222).
    UnencryptedBytesAfterSslResponse,
    /// The server closed the connection in the middle of a message or while a
    /// response was still owed.
    UnexpectedEof,
    /// A `NegotiateProtocolVersion` that libpq 18 refuses too: it names a
    /// version above the one asked for, below 3.0 or the never-released
    /// 3.1, asks for no change, or reports options the client never sent.
    InvalidNegotiation(&'static str),
    /// A `BackendKeyData` whose secret key has a length the negotiated
    /// protocol does not allow (3.0: exactly 4 bytes; 3.2: 4 to 256).
    InvalidCancelKeyLength {
        /// The key's length in bytes.
        len: usize,
        /// The protocol version of the session.
        version: crate::ProtocolVersion,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::InvalidLength { tag, len } => write!(
                f,
                "message {} announces an invalid length {len}",
                tag_name(*tag)
            ),
            ProtocolError::MessageTooLong { tag, len, max } => write!(
                f,
                "message {} announces {len} bytes, above the limit of {max}",
                tag_name(*tag)
            ),
            ProtocolError::UnknownMessage(tag) => {
                write!(f, "unknown message type {}", tag_name(*tag))
            }
            ProtocolError::Malformed { message, reason } => {
                write!(f, "malformed {message} message: {reason}")
            }
            ProtocolError::Unexpected { message, state } => {
                write!(f, "unexpected {message} message while {state}")
            }
            ProtocolError::InvalidSslResponse(b) => {
                write!(f, "invalid answer {} to SSLRequest", tag_name(*b))
            }
            ProtocolError::UnencryptedBytesAfterSslResponse => f.write_str(
                "the server sent unencrypted data after accepting TLS (possible injection)",
            ),
            ProtocolError::UnexpectedEof => {
                f.write_str("the server closed the connection unexpectedly")
            }
            ProtocolError::InvalidNegotiation(why) => {
                write!(f, "received invalid protocol negotiation message: {why}")
            }
            ProtocolError::InvalidCancelKeyLength { len, version } => write!(
                f,
                "received invalid BackendKeyData message: a cancel key of {len} bytes is not \
                 allowed in protocol version {version} ({})",
                if *version == crate::ProtocolVersion::V3_0 {
                    "must be 4 bytes"
                } else {
                    "must be 4 to 256 bytes"
                }
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}

fn tag_name(tag: u8) -> String {
    if tag.is_ascii_graphic() {
        format!("'{}'", tag as char)
    } else {
        format!("0x{tag:02x}")
    }
}

/// Authentication could not be completed on the client's side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The server asked for a password and none was configured.
    PasswordRequired {
        /// The method the server asked for (`cleartext`, `md5`, `SCRAM-SHA-256`).
        method: &'static str,
    },
    /// The server asked for a method this client does not implement
    /// (Kerberos, GSSAPI, SSPI, ...).
    UnsupportedMethod(String),
    /// None of the SASL mechanisms the server offered is supported.
    UnsupportedSaslMechanisms(Vec<String>),
    /// The SCRAM exchange failed (including a wrong server signature).
    Scram(ScramError),
    /// The server asked for (or, for `none`, skipped to) an authentication
    /// method the caller did not allow (`require_auth`). Nothing was sent.
    MethodNotAllowed(&'static str),
    /// Channel binding was required but cannot happen: no TLS, no
    /// SCRAM-SHA-256-PLUS offered, or a method without it. Nothing was sent.
    ChannelBindingRequired(&'static str),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::PasswordRequired { method } => write!(
                f,
                "the server requires {method} password authentication but no password was given"
            ),
            AuthError::UnsupportedMethod(m) => {
                write!(
                    f,
                    "the server requested unsupported authentication method {m}"
                )
            }
            AuthError::UnsupportedSaslMechanisms(m) => write!(
                f,
                "none of the server's SASL mechanisms is supported: {}",
                m.join(", ")
            ),
            // Transparent: every SCRAM message says SCRAM already.
            AuthError::Scram(e) => e.fmt(f),
            // AuthenticationOk without any request: libpq's "server did
            // not complete authentication".
            AuthError::MethodNotAllowed("none") => f.write_str(
                "the server let the client in without authentication (method \"none\"), which require_auth does not allow"
            ),
            AuthError::MethodNotAllowed(m) => write!(
                f,
                "the server asked for authentication method \"{m}\", which require_auth does not allow"
            ),
            AuthError::ChannelBindingRequired(why) => {
                write!(f, "channel binding is required, but {why}")
            }
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::Scram(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl From<ScramError> for AuthError {
    fn from(e: ScramError) -> Self {
        AuthError::Scram(e)
    }
}

/// Every field an `ErrorResponse` or `NoticeResponse` can carry.
///
/// See <https://www.postgresql.org/docs/current/protocol-error-fields.html>.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ErrorFields {
    /// `S`: ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO, LOG (maybe localized).
    pub severity: String,
    /// `V`: the severity, never localized (PostgreSQL 9.6+).
    pub severity_nonlocalized: Option<String>,
    /// `C`: the SQLSTATE code.
    pub code: Option<SqlState>,
    /// `M`: the primary message.
    pub message: String,
    /// `D`: detail.
    pub detail: Option<String>,
    /// `H`: hint.
    pub hint: Option<String>,
    /// `P`: 1-based character position in the query text.
    pub position: Option<u32>,
    /// `p`: position in an internally generated query.
    pub internal_position: Option<u32>,
    /// `q`: the internally generated query.
    pub internal_query: Option<String>,
    /// `W`: context (call stack).
    pub where_: Option<String>,
    /// `s`: schema name.
    pub schema: Option<String>,
    /// `t`: table name.
    pub table: Option<String>,
    /// `c`: column name.
    pub column: Option<String>,
    /// `d`: data type name.
    pub data_type: Option<String>,
    /// `n`: constraint name.
    pub constraint: Option<String>,
    /// `F`: server source file.
    pub file: Option<String>,
    /// `L`: server source line.
    pub line: Option<u32>,
    /// `R`: server source routine.
    pub routine: Option<String>,
}

impl ErrorFields {
    /// The non-localized severity when present, else the localized one.
    pub fn severity(&self) -> &str {
        self.severity_nonlocalized
            .as_deref()
            .unwrap_or(&self.severity)
    }

    /// The SQLSTATE, or `XX000` (internal_error) when the server sent none.
    pub fn sqlstate(&self) -> SqlState {
        self.code.unwrap_or(SqlState::INTERNAL_ERROR)
    }
}

impl fmt::Display for ErrorFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.severity(),
            self.sqlstate(),
            self.message
        )?;
        if let Some(d) = &self.detail {
            write!(f, " (detail: {d})")?;
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// An error reported by the server (`ErrorResponse`).
///
/// [`is_recoverable`](DatabaseError::is_recoverable) tells whether the
/// connection survives it: ordinary `ERROR`s end the current query only;
/// `FATAL` and `PANIC` end the session. It displays as
/// `SEVERITY SQLSTATE: message (detail: ...) (hint: ...)`, and predicates
/// such as [`is_unique_violation`](DatabaseError::is_unique_violation) test
/// its [`sqlstate`](ErrorFields::sqlstate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseError(Box<ErrorFields>);

impl DatabaseError {
    /// Wraps decoded fields.
    pub fn new(fields: impl Into<Box<ErrorFields>>) -> Self {
        DatabaseError(fields.into())
    }

    /// True when the connection stays usable after this error.
    pub fn is_recoverable(&self) -> bool {
        !matches!(self.0.severity(), "FATAL" | "PANIC")
    }

    /// All fields.
    pub fn fields(&self) -> &ErrorFields {
        &self.0
    }
}

impl Deref for DatabaseError {
    type Target = ErrorFields;
    fn deref(&self) -> &ErrorFields {
        &self.0
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseError {}

/// A notice or warning from the server (`NoticeResponse`): never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice(Box<ErrorFields>);

impl Notice {
    /// Wraps decoded fields.
    pub fn new(fields: impl Into<Box<ErrorFields>>) -> Self {
        Notice(fields.into())
    }
}

impl Deref for Notice {
    type Target = ErrorFields;
    fn deref(&self) -> &ErrorFields {
        &self.0
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
