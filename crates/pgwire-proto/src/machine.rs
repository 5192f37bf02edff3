//! The client protocol state machine: bytes in, events out, bytes to send.
//!
//! The caller owns the socket. After feeding received bytes with
//! [`Machine::receive`] (or [`Machine::receive_buffer`] +
//! [`Machine::commit_received`]), it calls [`Machine::next_event`] until that
//! returns `Ok(None)`, and writes whatever [`Machine::output`] holds. Commands
//! (`start`, `simple_query`, `terminate`, ...) only queue bytes and record what
//! the server owes in answer; nothing here blocks or performs IO.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;

use crate::encoding::ClientEncoding;
use crate::error::{DatabaseError, Error, Notice, ProtocolError};
use crate::message::backend::check_values;
use crate::message::backend::{BackendMessage, TransactionStatus};
use crate::message::recv::RecvBuf;
use crate::message::send;
use crate::message::{frame_header, split_frame, take_short, Header, DEFAULT_MAX_MESSAGE_LEN};
use crate::row::{Row, RowDescription};
use crate::startup::{Auth, AuthStep, StartupConfig};
use crate::types::TypeRegistry;
use crate::version::ProtocolVersion;

pub mod batch;
mod commands;
mod copy;
mod described;
mod events;
mod mark;
mod negotiate;

use self::copy::CopyState;
pub use self::copy::RUNNING_COPY_IN;
pub use self::events::{BackendKey, Bind, Event, RequestId};
pub use self::mark::QueueMark;

/// The most room offered at once for the rest of a large message.
const MAX_READ_ROOM: usize = 1024 * 1024;

#[derive(Debug)]
enum Phase {
    /// Nothing sent yet.
    Initial,
    /// SSLRequest sent; waiting for its one-byte answer.
    SslRequested,
    /// The server agreed to TLS; the caller is doing the handshake.
    SslAccepted,
    /// StartupMessage sent; authentication under way.
    Authenticating(Auth),
    /// Authenticated; waiting for the first ReadyForQuery.
    Starting,
    /// Startup done: requests may be queued.
    Ready,
    /// Terminate queued; the session is over.
    Terminated,
    /// A fatal error, a protocol violation or EOF ended the session.
    Failed(Error),
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Initial => "not started",
            Phase::SslRequested => "waiting for the SSLRequest answer",
            Phase::SslAccepted => "negotiating TLS",
            Phase::Authenticating(_) => "authenticating",
            Phase::Starting => "starting up",
            Phase::Ready => "ready",
            Phase::Terminated => "terminated",
            Phase::Failed(_) => "failed",
        }
    }
}

/// The kind of request a queued [`RequestId`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestKind {
    /// A `Query` message.
    SimpleQuery,
    /// Extended-protocol messages ending in `Sync`.
    Extended,
}

#[derive(Debug)]
struct Pending {
    id: RequestId,
    kind: RequestKind,
    /// Columns of the rows this request returns, when the caller knew them
    /// in advance and did not ask the server to describe them again.
    description: Option<Arc<RowDescription>>,
    /// Whether its caller supplies the data of a COPY FROM STDIN it runs
    /// ([`Machine::accept_copy_in`]).
    copy_in: copy::PendingCopy,
    /// For a batch: its members (see [`batch`]).
    members: Option<Box<batch::Members>>,
}

/// What [`Machine::take_row`] found at the front of the buffer.
enum TakeRow {
    Row(Row),
    /// Not a complete `DataRow` of the current result set (or none at all).
    NotARow,
    /// A complete `DataRow` that does not match the row description or its
    /// own length.
    Malformed,
}

/// The sans-IO PostgreSQL client.
///
/// ```
/// use pgwire_proto::{Event, Machine, StartupConfig};
///
/// let mut m = Machine::new();
/// m.start(&StartupConfig::new("alice").database("shop")).unwrap();
/// assert!(!m.output().is_empty()); // the StartupMessage, to be written
/// let n = m.output().len();
/// m.consume_output(n);
///
/// // the server answers AuthenticationOk and ReadyForQuery (idle)
/// m.receive(b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
/// assert_eq!(m.next_event().unwrap(), Some(Event::Authenticated));
/// assert!(matches!(m.next_event().unwrap(), Some(Event::ReadyForQuery(_))));
/// assert_eq!(m.next_event().unwrap(), None);
/// assert!(m.is_ready());
/// ```
///
/// Requests may be queued back to back (pipelined); answers come in order.
///
/// COPY: a `COPY ... TO STDOUT` answers [`Event::CopyOutResponse`], then
/// [`Event::CopyData`] chunks (slices of the receive buffer, no copy) and
/// [`Event::CopyDone`]. A `COPY ... FROM STDIN` is fed by the caller when
/// its request was marked with [`accept_copy_in`](Machine::accept_copy_in)
/// (see there: [`copy_data`](Machine::copy_data),
/// [`copy_done`](Machine::copy_done), [`copy_fail`](Machine::copy_fail));
/// any other request's COPY FROM STDIN is refused with a `CopyFail`. Do not
/// queue requests behind an unmarked COPY FROM STDIN: the server would read
/// them as COPY data. [`params::copies_from_stdin`](crate::params::copies_from_stdin)
/// finds such statements in a text before it is sent.
///
/// While the server reports a `client_encoding` other than UTF8, requests
/// with non-ASCII text or with parameters are refused
/// ([`Error::ClientEncoding`]) and the rows that arrive refuse to decode:
/// see [`encoding`](crate::encoding).
#[derive(Debug)]
pub struct Machine {
    phase: Phase,
    config: Option<StartupConfig>,
    /// Received bytes not yet decoded.
    rbuf: RecvBuf,
    eof: bool,
    out: BytesMut,
    max_message_len: usize,
    parameters: BTreeMap<String, String>,
    backend_key: Option<BackendKey>,
    transaction_status: TransactionStatus,
    pending: VecDeque<Pending>,
    /// A pending request may accept copy-in: false spares every new request
    /// a scan of all those pending (many, when tasks share a connection).
    copy_accepts: bool,
    next_request: u64,
    /// Columns of the result set being received.
    description: Option<Arc<RowDescription>>,
    /// Newest minor protocol version, when the server negotiated one down.
    negotiated_minor: Option<i32>,
    /// The protocol version asked for, then the one negotiated.
    protocol: ProtocolVersion,
    /// The reported client_encoding, which decides what may be sent and
    /// which rows are marked (see [`encoding`](crate::encoding)).
    encoding: ClientEncoding,
    /// The last `RowDescription`, to share when the next one is the same.
    last_description: described::LastDescription,
    /// The COPY the request now answering runs, if any.
    copy: Option<CopyState>,
    /// The batch being written, if one is open.
    batch: Option<batch::OpenBatch>,
    /// The batch member the last event belonged to.
    event_member: Option<usize>,
    /// How many times bytes were taken from `out` (see [`QueueMark`]).
    sends: u64,
    /// How the session authenticated, once it has.
    authentication: Option<crate::startup::AuthMechanism>,
    /// The session's registered types, attached to descriptions that may
    /// need them (see [`RowDescription::types`]).
    types: Option<Arc<TypeRegistry>>,
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine {
    /// A machine that has sent nothing yet.
    pub fn new() -> Self {
        Machine {
            phase: Phase::Initial,
            config: None,
            rbuf: RecvBuf::new(),
            eof: false,
            out: BytesMut::with_capacity(send::SEND_CAPACITY),
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            parameters: BTreeMap::new(),
            backend_key: None,
            transaction_status: TransactionStatus::Idle,
            pending: VecDeque::new(),
            copy_accepts: false,
            next_request: 0,
            description: None,
            negotiated_minor: None,
            protocol: ProtocolVersion::V3_0,
            encoding: ClientEncoding::default(),
            last_description: described::LastDescription::default(),
            copy: None,
            batch: None,
            event_member: None,
            sends: 0,
            authentication: None,
            types: None,
        }
    }

    /// Sets the types the session has registered: rows described from now
    /// on whose columns may hold such types carry them (see
    /// [`RowDescription::types`]). An empty registry attaches nothing.
    pub fn set_type_registry(&mut self, types: Option<Arc<TypeRegistry>>) {
        self.types = types.filter(|t| !t.is_empty());
    }

    /// The registry [`set_type_registry`](Self::set_type_registry) set, if
    /// not empty.
    pub fn type_registry(&self) -> Option<&Arc<TypeRegistry>> {
        self.types.as_ref()
    }

    /// The description to give rows arriving now: marked with the
    /// session's encoding and the registered types (see
    /// [`ClientEncoding::mark`], [`RowDescription::with_types`]).
    #[inline]
    pub(crate) fn mark(&self, description: Arc<RowDescription>) -> Arc<RowDescription> {
        RowDescription::with_types(self.encoding.mark(description), self.types.as_ref())
    }

    /// Caps the length of one backend message (default 1 GiB): a longer one is
    /// a [`ProtocolError::MessageTooLong`] instead of an allocation.
    pub fn set_max_message_len(&mut self, max: usize) {
        self.max_message_len = max.max(5);
    }

    // ---- input -------------------------------------------------------------

    /// Free room at the end of the receive buffer to read into directly
    /// (never empty). Call [`commit_received`](Self::commit_received) with the
    /// number of bytes read. While rows the caller keeps pin the buffer, the
    /// room follows the size of recent reads (it may be a few dozen bytes
    /// after tiny reads), and grows again as reads fill it.
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        let buffered = self.rbuf.len();
        let (rest, whole) = match frame_header(self.rbuf.data(), self.max_message_len) {
            // Room for the whole message, so that a large row arrives in place.
            Ok(Header::Message { total, .. }) if total > buffered => {
                ((total - buffered).min(MAX_READ_ROOM), total)
            }
            _ => (0, 0),
        };
        self.rbuf.room(rest, whole)
    }

    /// Records that `n` bytes were read into [`receive_buffer`](Self::receive_buffer).
    pub fn commit_received(&mut self, n: usize) {
        self.rbuf.commit(n);
    }

    /// Feeds bytes received from the server (copies them).
    pub fn receive(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.receive_buffer();
            let n = room.len().min(data.len());
            room[..n].copy_from_slice(&data[..n]);
            self.commit_received(n);
            data = &data[n..];
        }
    }

    /// Records that the server closed the connection. Anything still owed
    /// becomes [`ProtocolError::UnexpectedEof`].
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes received but not yet decoded.
    pub fn buffered_len(&self) -> usize {
        self.rbuf.len()
    }

    /// The receive buffer's allocated size, for memory accounting: its
    /// chunk and the spare chunks it alone keeps for reuse.
    pub fn receive_capacity(&self) -> usize {
        self.rbuf.capacity()
    }

    /// The size of the receive buffer's current chunk alone, for tests of
    /// how it is sized ([`receive_capacity`](Self::receive_capacity) also
    /// counts spare chunks kept for reuse).
    #[cfg(test)]
    pub(crate) fn receive_chunk_len(&self) -> usize {
        self.rbuf.chunk_len()
    }

    /// The receive buffer's current chunk, to tell whether reads reuse it.
    #[cfg(test)]
    pub(crate) fn receive_chunk(&self) -> *const u8 {
        self.rbuf.chunk_ptr()
    }

    // ---- output ------------------------------------------------------------

    /// Bytes to send to the server, in order.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// True when there are bytes to send.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Marks the first `n` bytes of [`output`](Self::output) as sent. Once
    /// everything is sent, a buffer grown past 1 MiB for a large request is
    /// released for a small one.
    pub fn consume_output(&mut self, n: usize) {
        self.sends += 1;
        send::consume(&mut self.out, n);
    }

    /// Takes every byte waiting to be sent.
    pub fn take_output(&mut self) -> BytesMut {
        self.sends += 1;
        self.out.split()
    }

    /// The send buffer's allocated size, for memory accounting. While a
    /// write is only partly done, the bytes already written are not counted
    /// (they are reclaimed with the rest once everything is sent).
    pub fn send_capacity(&self) -> usize {
        self.out.capacity()
    }

    // ---- state -------------------------------------------------------------

    /// True after startup, with no request awaiting its answer.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready) && self.pending.is_empty()
    }

    /// True when startup finished and the session is neither terminated nor failed.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// The error that ended the session, if one did.
    pub fn failure(&self) -> Option<&Error> {
        match &self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// True after [`terminate`](Self::terminate).
    pub fn is_terminated(&self) -> bool {
        matches!(self.phase, Phase::Terminated)
    }

    /// A short name of the current state, for messages.
    pub fn state_name(&self) -> &'static str {
        self.phase.name()
    }

    /// The transaction status from the latest `ReadyForQuery`.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.transaction_status
    }

    /// Server parameters reported by `ParameterStatus` (`server_version`,
    /// `TimeZone`, `application_name`, ...), kept up to date.
    pub fn parameters(&self) -> &BTreeMap<String, String> {
        &self.parameters
    }

    /// How the session authenticated, once the server said `AuthenticationOk`.
    pub fn authentication(&self) -> Option<crate::startup::AuthMechanism> {
        self.authentication
    }

    /// The cancellation key, once startup sent it.
    pub fn backend_key(&self) -> Option<BackendKey> {
        self.backend_key.clone()
    }

    /// The minor protocol version the server negotiated down to, if it did.
    pub fn negotiated_minor_version(&self) -> Option<i32> {
        self.negotiated_minor
    }

    /// The protocol version of the session: the one the StartupMessage
    /// asked for ([`StartupConfig::max_protocol_version`]), or the one the
    /// server negotiated it down to. Final once authentication is under way
    /// past its first message; 3.0 before [`start`](Self::start).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol
    }

    /// How many requests still await their `ReadyForQuery`.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// The request whose answer arrives next.
    pub fn current_request(&self) -> Option<RequestId> {
        self.pending.front().map(|p| p.id)
    }

    /// The id the next queued request will get: queue requests after
    /// reading it, and they are the ids from it up to (excluding)
    /// `next_request_id()` read afterwards.
    pub fn next_request_id(&self) -> RequestId {
        RequestId(self.next_request)
    }

    // ---- events ------------------------------------------------------------

    fn fail(&mut self, error: Error) -> Error {
        self.pending.clear();
        self.description = None;
        self.copy = None;
        self.batch = None;
        self.phase = Phase::Failed(error.clone());
        error
    }

    /// The next event, `Ok(None)` when more bytes are needed (or nothing is
    /// owed). After an error the session is failed and every later call
    /// returns the same error.
    pub fn next_event(&mut self) -> Result<Option<Event>, Error> {
        loop {
            match &self.phase {
                Phase::Failed(e) => return Err(e.clone()),
                Phase::SslRequested => return self.ssl_answer(),
                _ => {}
            }
            self.event_member = self.current_member();
            // Rows first, so that they share the buffer as `next_row`'s do;
            // a malformed one is decoded below, which reports it.
            if let TakeRow::Row(row) = self.take_row() {
                return Ok(Some(Event::Row(row)));
            }
            if let Some(data) = self.next_copy_data() {
                return Ok(Some(Event::CopyData(data)));
            }
            // The short answers, decoded in place. None of them is one the
            // server may send at any time (the first part of `handle`), so
            // `handle` would pass each straight to `handle_response` in this
            // state; none is sanitized or remembered.
            if self.answering() {
                if let Some(message) = take_short(&mut self.rbuf, self.max_message_len) {
                    match self.handle_response(message) {
                        Ok(Some(event)) => return Ok(Some(event)),
                        Ok(None) => continue,
                        Err(e) => return Err(self.fail(e)),
                    }
                }
            }
            let frame = match split_frame(&mut self.rbuf, self.max_message_len) {
                Ok(frame) => frame,
                Err(e) => return Err(self.fail(e.into())),
            };
            let Some((tag, body)) = frame else {
                if self.eof && !matches!(self.phase, Phase::Terminated) {
                    return Err(self.fail(ProtocolError::UnexpectedEof.into()));
                }
                return Ok(None);
            };
            // The columns of the last result again (a statement run unnamed
            // once more): shared, not decoded again, where `handle` would
            // take them as they are (in UTF8 nothing is sanitized or marked).
            let same = tag == b'T' && self.encoding.is_utf8();
            if same && self.answering() {
                if let Some(description) = self.last_description.get(&body) {
                    let description = RowDescription::with_types(description, self.types.as_ref());
                    self.description = Some(Arc::clone(&description));
                    return Ok(Some(Event::RowDescription(description)));
                }
            }
            let kept = same.then(|| body.clone());
            let mut message = match BackendMessage::decode(tag, body) {
                Ok(m) => m,
                Err(e) => return Err(self.fail(e.into())),
            };
            self.encoding.sanitize(&mut message);
            match self.handle(message) {
                Ok(Some(event)) => {
                    if let (Some(body), Event::RowDescription(description)) = (kept, &event) {
                        self.last_description.remember(&body, description);
                    }
                    return Ok(Some(event));
                }
                Ok(None) => continue,
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Started up and waiting for answers to queued requests: where
    /// [`handle`](Self::handle) gives a response to
    /// [`handle_response`](Self::handle_response).
    #[inline]
    fn answering(&self) -> bool {
        matches!(self.phase, Phase::Ready | Phase::Terminated) && !self.pending.is_empty()
    }

    /// The next row of the current result set, if a complete `DataRow` is
    /// first in the buffer: the streaming hot path, without building the
    /// general [`Event`]. `Ok(None)` when the next message is anything else
    /// or incomplete; then call [`next_event`](Self::next_event), which
    /// handles everything (rows included).
    pub fn next_row(&mut self) -> Result<Option<Row>, Error> {
        self.event_member = self.current_member();
        match self.take_row() {
            TakeRow::Row(row) => Ok(Some(row)),
            TakeRow::NotARow => Ok(None),
            // Found the long way, so that it is the error `next_event` gives.
            TakeRow::Malformed => match self.next_event() {
                Err(e) => Err(e),
                // Not reached: the general decoder rejects what `take_row` does.
                Ok(_) => Err(self.fail(Error::Protocol(ProtocolError::Malformed {
                    message: "DataRow",
                    reason: "rejected by the row fast path only",
                }))),
            },
        }
    }

    /// The row at the front of the buffer, if it is a complete and valid
    /// `DataRow` of the current result set.
    #[inline]
    fn take_row(&mut self) -> TakeRow {
        if !matches!(self.phase, Phase::Ready | Phase::Terminated) {
            return TakeRow::NotARow;
        }
        let Some(description) = &self.description else {
            return TakeRow::NotARow;
        };
        let data = self.rbuf.data();
        let Some(&[b'D', l0, l1, l2, l3, c0, c1]) = data.first_chunk::<7>() else {
            return TakeRow::NotARow;
        };
        // Incomplete or too long: for `next_event` to wait or to report.
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if len > self.max_message_len || len >= data.len() {
            return TakeRow::NotARow;
        }
        let total = len + 1;
        let columns = u16::from_be_bytes([c0, c1]);
        let valid = usize::from(columns) == description.len()
            && data
                .get(7..total)
                .is_some_and(|values| check_values(values, columns).is_ok());
        if !valid {
            return TakeRow::Malformed;
        }
        let (chunk, start, end) = self.rbuf.chunk_range(7, total);
        let row = Row::from_validated(Arc::clone(description), chunk, start, end);
        self.rbuf.consume(total);
        TakeRow::Row(row)
    }

    fn ssl_answer(&mut self) -> Result<Option<Event>, Error> {
        let Some(&answer) = self.rbuf.data().first() else {
            if self.eof {
                return Err(self.fail(ProtocolError::UnexpectedEof.into()));
            }
            return Ok(None);
        };
        self.rbuf.consume(1);
        match answer {
            b'S' if self.rbuf.len() > 0 => {
                Err(self.fail(ProtocolError::UnencryptedBytesAfterSslResponse.into()))
            }
            b'S' => {
                self.phase = Phase::SslAccepted;
                Ok(Some(Event::SslResponse(true)))
            }
            b'N' => {
                self.phase = Phase::Initial;
                Ok(Some(Event::SslResponse(false)))
            }
            other => Err(self.fail(ProtocolError::InvalidSslResponse(other).into())),
        }
    }

    fn unexpected(&self, message: &BackendMessage) -> Error {
        Error::Protocol(ProtocolError::Unexpected {
            message: message.name(),
            state: self.phase.name(),
        })
    }

    /// Applies one message; `Ok(None)` when it produced no event.
    fn handle(&mut self, message: BackendMessage) -> Result<Option<Event>, Error> {
        // Messages the server may send at any time.
        match message {
            BackendMessage::NoticeResponse(fields) => {
                return Ok(Some(Event::Notice(Notice::new(fields))))
            }
            BackendMessage::NotificationResponse(n) => return Ok(Some(Event::Notification(n))),
            BackendMessage::ParameterStatus { name, value } => {
                if name == "client_encoding" && self.encoding.report(&value) {
                    // Rows from here on arrive in the new encoding.
                    self.description = self.description.take().map(|d| self.encoding.mark(d));
                }
                self.parameters.insert(name.clone(), value.clone());
                return Ok(Some(Event::ParameterStatus { name, value }));
            }
            BackendMessage::ErrorResponse(fields) => {
                let error = DatabaseError::new(fields);
                if let Some(refused) = self.refused_version(&error) {
                    return Err(refused);
                }
                let fatal = !error.is_recoverable()
                    || !matches!(self.phase, Phase::Ready | Phase::Terminated);
                if fatal {
                    // The server closes the session after a FATAL error (and
                    // every error before startup completes is fatal).
                    self.pending.clear();
                    self.description = None;
                    self.copy = None;
                    self.batch = None;
                    self.phase = Phase::Failed(Error::SessionEnded(error.clone()));
                } else if self.pending.is_empty() {
                    return Err(self.unexpected(&BackendMessage::ErrorResponse(Box::new(
                        error.fields().clone(),
                    ))));
                } else {
                    self.description = None;
                    self.copy_error();
                    self.batch_error();
                }
                return Ok(Some(Event::Error(error)));
            }
            _ => {}
        }
        match &mut self.phase {
            Phase::Authenticating(auth) => match message {
                BackendMessage::Authentication(request) => {
                    let Some(config) = &self.config else {
                        return Err(self.refuse("authenticate"));
                    };
                    match auth.handle(config, request, &mut self.out)? {
                        AuthStep::Continue => Ok(None),
                        AuthStep::Done(method) => {
                            self.authentication = Some(method);
                            self.phase = Phase::Starting;
                            Ok(Some(Event::Authenticated))
                        }
                    }
                }
                BackendMessage::NegotiateProtocolVersion {
                    newest_minor,
                    unrecognized,
                } => {
                    self.negotiate(newest_minor, &unrecognized)?;
                    Ok(None)
                }
                other => Err(self.unexpected(&other)),
            },
            Phase::Starting => match message {
                BackendMessage::BackendKeyData {
                    process_id,
                    secret_key,
                } => {
                    let key = self.backend_key_data(process_id, &secret_key)?;
                    self.backend_key = Some(key.clone());
                    Ok(Some(Event::BackendKeyData(key)))
                }
                BackendMessage::ReadyForQuery(status) => {
                    self.transaction_status = status;
                    self.phase = Phase::Ready;
                    Ok(Some(Event::ReadyForQuery(status)))
                }
                other => Err(self.unexpected(&other)),
            },
            Phase::Ready | Phase::Terminated if !self.pending.is_empty() => {
                // The same test as `answering`.
                self.handle_response(message)
            }
            _ => Err(self.unexpected(&message)),
        }
    }

    /// A message answering the request at the front of the queue.
    fn handle_response(&mut self, message: BackendMessage) -> Result<Option<Event>, Error> {
        let event = self.response_event(message)?;
        if let Some(Event::CommandComplete(_) | Event::EmptyQuery | Event::PortalSuspended) = event
        {
            self.member_ended();
        }
        Ok(event)
    }

    fn response_event(&mut self, message: BackendMessage) -> Result<Option<Event>, Error> {
        if self.copy.is_some() {
            return self.copy_message(message);
        }
        let extended = self
            .pending
            .front()
            .is_some_and(|p| p.kind == RequestKind::Extended);
        Ok(Some(match message {
            BackendMessage::ReadyForQuery(status) => {
                self.pending.pop_front();
                self.transaction_status = status;
                self.activate_front();
                Event::ReadyForQuery(status)
            }
            BackendMessage::ParseComplete if extended => Event::ParseComplete,
            BackendMessage::BindComplete if extended => Event::BindComplete,
            BackendMessage::ParameterDescription(types) if extended => {
                Event::ParameterDescription(types)
            }
            BackendMessage::NoData if extended => {
                self.description = None;
                Event::NoData
            }
            BackendMessage::PortalSuspended if extended => Event::PortalSuspended,
            BackendMessage::CloseComplete if extended => Event::CloseComplete,
            BackendMessage::RowDescription(description) => {
                let description = self.mark(Arc::new(description));
                self.description = Some(Arc::clone(&description));
                Event::RowDescription(description)
            }
            BackendMessage::DataRow(body) => {
                let Some(description) = &self.description else {
                    return Err(self.unexpected(&BackendMessage::DataRow(body)));
                };
                let row = Row::new(Arc::clone(description), body).ok_or(Error::Protocol(
                    ProtocolError::Malformed {
                        message: "DataRow",
                        reason: "column count differs from the RowDescription",
                    },
                ))?;
                Event::Row(row)
            }
            BackendMessage::CommandComplete(c) => {
                self.description = None;
                Event::CommandComplete(c)
            }
            BackendMessage::EmptyQueryResponse => {
                self.description = None;
                Event::EmptyQuery
            }
            message @ (BackendMessage::CopyInResponse(_)
            | BackendMessage::CopyOutResponse(_)
            | BackendMessage::CopyData(_)
            | BackendMessage::CopyDone) => return self.copy_message(message),
            other => return Err(self.unexpected(&other)),
        }))
    }
}
