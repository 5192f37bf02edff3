//! What the machine hands its caller: the events of the server's answers,
//! the ids of requests, the session's cancel key, and the parameters of an
//! extended-protocol run.

use std::sync::Arc;

use crate::error::{DatabaseError, Notice};
use crate::message::backend::{CommandComplete, CopyResponse, Notification, TransactionStatus};
use crate::row::{Row, RowDescription};

/// Identifies a request (everything up to one `ReadyForQuery`) queued on the
/// machine. Ids increase by one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// The cancellation key of the session (`BackendKeyData`): the backend's
/// process ID and the secret a CancelRequest must quote, whole. Under
/// protocol 3.0 the secret is 4 bytes; under 3.2 it may be 4 to 256
/// (PostgreSQL 18 sends 32).
///
/// ```
/// use pgwire_proto::BackendKey;
/// let key = BackendKey::new(1234, [7u8; 32]).unwrap();
/// assert_eq!(key.process_id, 1234);
/// assert_eq!(key.secret_key().len(), 32);
/// assert!(BackendKey::new(1234, [0u8; 3]).is_none());
/// assert!(!format!("{key:?}").contains("7, 7"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BackendKey {
    /// The backend's process ID.
    pub process_id: i32,
    /// Never outside 4..=256 bytes: [`new`](BackendKey::new) checks it.
    secret_key: Arc<[u8]>,
}

impl BackendKey {
    /// The shortest secret key the protocol allows.
    pub const MIN_SECRET_LEN: usize = 4;
    /// The longest secret key protocol 3.2 allows.
    pub const MAX_SECRET_LEN: usize = 256;

    /// A key with this secret, or `None` if its length is outside
    /// 4..=256 bytes (which no CancelRequest may carry).
    pub fn new(process_id: i32, secret_key: impl AsRef<[u8]>) -> Option<BackendKey> {
        let secret_key = secret_key.as_ref();
        (Self::MIN_SECRET_LEN..=Self::MAX_SECRET_LEN)
            .contains(&secret_key.len())
            .then(|| BackendKey {
                process_id,
                secret_key: Arc::from(secret_key),
            })
    }

    /// The secret key, as the server sent it.
    pub fn secret_key(&self) -> &[u8] {
        &self.secret_key
    }
}

impl std::fmt::Debug for BackendKey {
    // The secret is what lets anyone cancel the session's queries: logs
    // get its length only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendKey")
            .field("process_id", &self.process_id)
            .field("secret_key_len", &self.secret_key.len())
            .finish()
    }
}

/// What the machine tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The answer to [`Machine::request_ssl`](super::Machine::request_ssl): `true` if the server will speak
    /// TLS (do the handshake, then call [`Machine::start`](super::Machine::start)); `false` to carry
    /// on in plain text or give up.
    SslResponse(bool),
    /// Authentication succeeded (`AuthenticationOk`).
    Authenticated,
    /// A run-time parameter changed (also recorded in [`Machine::parameters`](super::Machine::parameters)).
    ParameterStatus {
        /// Parameter name.
        name: String,
        /// New value.
        value: String,
    },
    /// The session's cancellation key arrived.
    BackendKeyData(BackendKey),
    /// The server finished a request (or startup) and is ready.
    ReadyForQuery(TransactionStatus),
    /// The columns of the rows that follow.
    RowDescription(Arc<RowDescription>),
    /// One row of the current result set.
    Row(Row),
    /// A statement finished.
    CommandComplete(CommandComplete),
    /// The query string was empty.
    EmptyQuery,
    /// The server reported an error. For a recoverable one, the request goes
    /// on until `ReadyForQuery`; for FATAL/PANIC, the session is over.
    Error(DatabaseError),
    /// A notice or warning; never an error.
    Notice(Notice),
    /// A `NOTIFY` for a channel this session listens on.
    Notification(Notification),
    /// The server waits for `COPY ... FROM STDIN` data: send it with
    /// [`Machine::copy_data`](super::Machine::copy_data), then
    /// [`copy_done`](super::Machine::copy_done) or
    /// [`copy_fail`](super::Machine::copy_fail). Reported only for a
    /// request marked with [`accept_copy_in`](super::Machine::accept_copy_in).
    CopyInResponse(CopyResponse),
    /// `COPY ... TO STDOUT` data follows, in this format.
    CopyOutResponse(CopyResponse),
    /// A chunk of `COPY TO STDOUT` data: a slice of the receive buffer (no
    /// copy). In text and CSV, one chunk per row; in binary, the header
    /// and trailer are parts of the first and last chunks.
    CopyData(bytes::Bytes),
    /// The end of the `COPY TO STDOUT` data; its `CommandComplete` follows.
    CopyDone,
    /// `Parse` succeeded.
    ParseComplete,
    /// `Bind` succeeded.
    BindComplete,
    /// The parameter types of a described statement.
    ParameterDescription(Vec<u32>),
    /// The described statement or portal returns no rows.
    NoData,
    /// `Execute` stopped at its row limit; the portal can be resumed.
    PortalSuspended,
    /// `Close` succeeded.
    CloseComplete,
}

/// Parameters of an extended-protocol execution.
///
/// `encode(i, buf)` appends the bytes of parameter `i` and returns its
/// format, or `None` for NULL; see [`frontend::bind`](crate::message::frontend::bind).
pub struct Bind<'a, F> {
    /// The number of parameters.
    pub param_count: usize,
    /// Encodes parameter `i` into the output buffer.
    pub encode: F,
    /// Result column formats: empty for all text, one for all columns, or one per column.
    pub result_formats: &'a [crate::row::Format],
    /// `Some(n)`: execute the portal, returning at most `n` rows (0: no
    /// limit; the portal is suspended at the limit). `None`: only bind and
    /// describe it, for [`execute_portal`](super::Machine::execute_portal) later.
    pub max_rows: Option<u32>,
}

impl<F> std::fmt::Debug for Bind<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind")
            .field("param_count", &self.param_count)
            .field("result_formats", &self.result_formats)
            .field("max_rows", &self.max_rows)
            .finish_non_exhaustive()
    }
}
