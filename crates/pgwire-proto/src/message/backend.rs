//! Decoding of backend (server to client) messages.
//!
//! [`BackendMessage::decode`] turns one framed message into a typed value.
//! Row data stays in the receive buffer: a `DataRow` is a [`Bytes`] slice of it,
//! validated once here so that column access later cannot fail.

use bytes::Bytes;

use super::Reader;
use crate::error::{ErrorFields, ProtocolError, SqlState};
use crate::row::{FieldDescription, Format, RowDescription};

/// The transaction status carried by `ReadyForQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block; queries are rejected until it ends.
    Failed,
}

impl TransactionStatus {
    /// The status a `ReadyForQuery` byte stands for (`I`, `T` or `E`).
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            b'I' => Some(TransactionStatus::Idle),
            b'T' => Some(TransactionStatus::InTransaction),
            b'E' => Some(TransactionStatus::Failed),
            _ => None,
        }
    }
}

/// An authentication request (`R` messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// `AuthenticationOk`.
    Ok,
    /// `AuthenticationCleartextPassword`.
    CleartextPassword,
    /// `AuthenticationMD5Password` with its salt.
    Md5Password([u8; 4]),
    /// `AuthenticationSASL` with the offered mechanisms.
    Sasl(Vec<String>),
    /// `AuthenticationSASLContinue` with the server-first-message.
    SaslContinue(Bytes),
    /// `AuthenticationSASLFinal` with the server-final-message.
    SaslFinal(Bytes),
    /// Any other method (Kerberos 2, SCM 6, GSS 7, GSSContinue 8, SSPI 9).
    Unsupported(i32),
}

/// `CommandComplete`: the command tag, such as `INSERT 0 3` or `SELECT 10`.
#[derive(Clone)]
pub struct CommandComplete {
    tag: Tag,
}

/// Tags up to this long (nearly all: `INSERT 0 1000000` is 16 bytes) are
/// copied out of the receive buffer rather than shared with it, which
/// would cost reference counts and the buffer's shared view on every
/// statement.
const INLINE_TAG: usize = 22;

/// The bytes of a tag, checked to be UTF-8 when decoded.
#[derive(Clone)]
enum Tag {
    Inline { len: u8, bytes: [u8; INLINE_TAG] },
    Shared(Bytes),
}

impl CommandComplete {
    /// A short tag's `CommandComplete`, copied; `None` if `text` is longer
    /// than the inline room. `text` must be valid UTF-8.
    pub(crate) fn inline(text: &[u8]) -> Option<Self> {
        let mut bytes = [0; INLINE_TAG];
        bytes.get_mut(..text.len())?.copy_from_slice(text);
        Some(CommandComplete {
            tag: Tag::Inline {
                len: u8::try_from(text.len()).ok()?,
                bytes,
            },
        })
    }

    /// A `CommandComplete` sharing `tag`, which must be valid UTF-8.
    pub(crate) fn shared(tag: Bytes) -> Self {
        CommandComplete {
            tag: Tag::Shared(tag),
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.tag {
            Tag::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Tag::Shared(b) => b,
        }
    }

    /// The tag text.
    pub fn tag(&self) -> &str {
        // Validated as UTF-8 when decoded.
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }

    /// The number of rows the command affected or returned, when its tag carries
    /// one (`INSERT oid n`, `UPDATE n`, `DELETE n`, `SELECT n`, `MERGE n`,
    /// `MOVE n`, `FETCH n`, `COPY n`).
    pub fn rows(&self) -> Option<u64> {
        // On the bytes: read once per statement, where going through
        // `tag()` would check the UTF-8 again.
        let tag = self.bytes();
        let space = tag.iter().position(|&b| b == b' ')?;
        let (verb, rest) = (tag.get(..space)?, tag.get(space + 1..)?);
        match verb {
            b"INSERT" | b"UPDATE" | b"DELETE" | b"SELECT" | b"MERGE" | b"MOVE" | b"FETCH"
            | b"COPY" => parse_count(rest.rsplit(|&b| b == b' ').next()?),
            _ => None,
        }
    }

    /// Whether the tag is exactly `tag` (compared as bytes, without
    /// checking the UTF-8 again as [`tag`](Self::tag) does).
    pub fn tag_is(&self, tag: &str) -> bool {
        self.bytes() == tag.as_bytes()
    }
}

impl PartialEq for CommandComplete {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for CommandComplete {}

impl std::fmt::Debug for CommandComplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandComplete")
            .field("tag", &self.tag())
            .finish()
    }
}

/// A row count as `str::parse::<u64>` reads it (an optional `+`, then
/// decimal digits, no overflow).
fn parse_count(digits: &[u8]) -> Option<u64> {
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let d = (d as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// `NotificationResponse`: a `NOTIFY` delivered to this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying backend's process ID.
    pub process_id: i32,
    /// The channel name.
    pub channel: String,
    /// The payload (may be empty).
    pub payload: String,
}

/// One decoded backend message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendMessage {
    /// `R`.
    Authentication(Authentication),
    /// `K`: what a cancel request must quote.
    BackendKeyData {
        /// The backend's process ID.
        process_id: i32,
        /// The secret key: the rest of the message, of any length (the
        /// machine checks it against the negotiated version).
        secret_key: Bytes,
    },
    /// `2`.
    BindComplete,
    /// `3`.
    CloseComplete,
    /// `C`.
    CommandComplete(CommandComplete),
    /// `G`: the server waits for COPY data.
    CopyInResponse(CopyResponse),
    /// `H`: COPY data follows.
    CopyOutResponse(CopyResponse),
    /// `W`: streaming replication.
    CopyBothResponse,
    /// `d`.
    CopyData(Bytes),
    /// `c`.
    CopyDone,
    /// `D`: the body, already validated against its own column count.
    DataRow(DataRowBody),
    /// `I`.
    EmptyQueryResponse,
    /// `E`. Boxed, like the notice: the fields are large and rare, and every
    /// message (every row) would otherwise be moved at their size.
    ErrorResponse(Box<ErrorFields>),
    /// `v`.
    NegotiateProtocolVersion {
        /// The newest protocol version the server supports for the major
        /// version asked for, coded as in the StartupMessage (major << 16 |
        /// minor), as PostgreSQL sends it and libpq reads it.
        newest_minor: i32,
        /// Protocol options the server did not recognize.
        unrecognized: Vec<String>,
    },
    /// `n`.
    NoData,
    /// `N`.
    NoticeResponse(Box<ErrorFields>),
    /// `A`.
    NotificationResponse(Notification),
    /// `t`: parameter type OIDs of a prepared statement.
    ParameterDescription(Vec<u32>),
    /// `S`.
    ParameterStatus {
        /// Parameter name.
        name: String,
        /// Its new value.
        value: String,
    },
    /// `1`.
    ParseComplete,
    /// `s`.
    PortalSuspended,
    /// `Z`.
    ReadyForQuery(TransactionStatus),
    /// `T`.
    RowDescription(RowDescription),
}

/// The validated body of a `DataRow`: column count and values, still in the
/// receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRowBody {
    pub(crate) columns: u16,
    /// Everything after the column count.
    pub(crate) values: Bytes,
}

impl BackendMessage {
    /// The message's protocol name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            BackendMessage::Authentication(_) => "Authentication",
            BackendMessage::BackendKeyData { .. } => "BackendKeyData",
            BackendMessage::BindComplete => "BindComplete",
            BackendMessage::CloseComplete => "CloseComplete",
            BackendMessage::CommandComplete(_) => "CommandComplete",
            BackendMessage::CopyInResponse(_) => "CopyInResponse",
            BackendMessage::CopyOutResponse(_) => "CopyOutResponse",
            BackendMessage::CopyBothResponse => "CopyBothResponse",
            BackendMessage::CopyData(_) => "CopyData",
            BackendMessage::CopyDone => "CopyDone",
            BackendMessage::DataRow(_) => "DataRow",
            BackendMessage::EmptyQueryResponse => "EmptyQueryResponse",
            BackendMessage::ErrorResponse(_) => "ErrorResponse",
            BackendMessage::NegotiateProtocolVersion { .. } => "NegotiateProtocolVersion",
            BackendMessage::NoData => "NoData",
            BackendMessage::NoticeResponse(_) => "NoticeResponse",
            BackendMessage::NotificationResponse(_) => "NotificationResponse",
            BackendMessage::ParameterDescription(_) => "ParameterDescription",
            BackendMessage::ParameterStatus { .. } => "ParameterStatus",
            BackendMessage::ParseComplete => "ParseComplete",
            BackendMessage::PortalSuspended => "PortalSuspended",
            BackendMessage::ReadyForQuery(_) => "ReadyForQuery",
            BackendMessage::RowDescription(_) => "RowDescription",
        }
    }

    /// Decodes one message from its type byte and body.
    pub fn decode(tag: u8, body: Bytes) -> Result<BackendMessage, ProtocolError> {
        let msg = match tag {
            b'R' => BackendMessage::Authentication(decode_auth(body)?),
            b'K' => {
                let mut r = Reader::new(&body, "BackendKeyData");
                let process_id = r.i32()?;
                // The rest is the key, whose allowed length depends on the
                // negotiated version: the machine checks it.
                BackendMessage::BackendKeyData {
                    process_id,
                    secret_key: body.slice(4..),
                }
            }
            b'2' => empty(&body, "BindComplete", BackendMessage::BindComplete)?,
            b'3' => empty(&body, "CloseComplete", BackendMessage::CloseComplete)?,
            b'C' => {
                let mut r = Reader::new(&body, "CommandComplete");
                let len = r.cstr()?.len();
                r.finish()?;
                let text = body.get(..len).unwrap_or_default();
                BackendMessage::CommandComplete(
                    CommandComplete::inline(text)
                        .unwrap_or_else(|| CommandComplete::shared(body.slice(..len))),
                )
            }
            b'G' => BackendMessage::CopyInResponse(decode_copy_response(&body, "CopyInResponse")?),
            b'H' => {
                BackendMessage::CopyOutResponse(decode_copy_response(&body, "CopyOutResponse")?)
            }
            b'W' => BackendMessage::CopyBothResponse,
            b'd' => BackendMessage::CopyData(body),
            b'c' => empty(&body, "CopyDone", BackendMessage::CopyDone)?,
            b'D' => BackendMessage::DataRow(decode_data_row(body)?),
            b'I' => empty(
                &body,
                "EmptyQueryResponse",
                BackendMessage::EmptyQueryResponse,
            )?,
            b'E' => BackendMessage::ErrorResponse(Box::new(decode_fields(&body, "ErrorResponse")?)),
            b'N' => {
                BackendMessage::NoticeResponse(Box::new(decode_fields(&body, "NoticeResponse")?))
            }
            b'v' => {
                let mut r = Reader::new(&body, "NegotiateProtocolVersion");
                let newest_minor = r.i32()?;
                let n = r.i32()?;
                let n = usize::try_from(n).map_err(|_| r.malformed("negative option count"))?;
                let mut unrecognized = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    unrecognized.push(r.cstr()?.to_owned());
                }
                r.finish()?;
                BackendMessage::NegotiateProtocolVersion {
                    newest_minor,
                    unrecognized,
                }
            }
            b'n' => empty(&body, "NoData", BackendMessage::NoData)?,
            b'A' => {
                let mut r = Reader::new(&body, "NotificationResponse");
                let process_id = r.i32()?;
                let channel = r.cstr_lossy()?.into_owned();
                let payload = r.cstr_lossy()?.into_owned();
                r.finish()?;
                BackendMessage::NotificationResponse(Notification {
                    process_id,
                    channel,
                    payload,
                })
            }
            b't' => {
                let mut r = Reader::new(&body, "ParameterDescription");
                // The count is unsigned: PostgreSQL takes up to 65,535
                // parameters, and a signed read would call 32,768 and more
                // negative.
                let n = usize::from(r.u16()?);
                if r.remaining() != n * 4 {
                    return Err(r.malformed("count does not match length"));
                }
                let mut oids = Vec::with_capacity(n);
                for _ in 0..n {
                    oids.push(r.u32()?);
                }
                BackendMessage::ParameterDescription(oids)
            }
            b'S' => {
                let mut r = Reader::new(&body, "ParameterStatus");
                let name = r.cstr_lossy()?.into_owned();
                let value = r.cstr_lossy()?.into_owned();
                r.finish()?;
                BackendMessage::ParameterStatus { name, value }
            }
            b'1' => empty(&body, "ParseComplete", BackendMessage::ParseComplete)?,
            b's' => empty(&body, "PortalSuspended", BackendMessage::PortalSuspended)?,
            b'Z' => {
                let mut r = Reader::new(&body, "ReadyForQuery");
                let Some(status) = TransactionStatus::from_code(r.u8()?) else {
                    return Err(r.malformed("unknown transaction status"));
                };
                r.finish()?;
                BackendMessage::ReadyForQuery(status)
            }
            b'T' => BackendMessage::RowDescription(decode_row_description(&body)?),
            other => return Err(ProtocolError::UnknownMessage(other)),
        };
        Ok(msg)
    }
}

/// The overall format of a COPY and the format of each column, as
/// `CopyInResponse` and `CopyOutResponse` announce them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResponse {
    /// Text (text and CSV COPY) or binary (`FORMAT binary`).
    pub format: Format,
    /// One per column; all text for a text COPY, all binary for a binary one.
    pub column_formats: Vec<Format>,
}

fn copy_format(code: i64, r: &Reader<'_>) -> Result<Format, ProtocolError> {
    match code {
        0 => Ok(Format::Text),
        1 => Ok(Format::Binary),
        _ => Err(r.malformed("unknown COPY format")),
    }
}

fn decode_copy_response(body: &[u8], name: &'static str) -> Result<CopyResponse, ProtocolError> {
    let mut r = Reader::new(body, name);
    let format = copy_format(i64::from(r.u8()?), &r)?;
    let n = usize::from(r.u16()?);
    if r.remaining() != n * 2 {
        return Err(r.malformed("column count does not match length"));
    }
    let mut column_formats = Vec::with_capacity(n);
    for _ in 0..n {
        column_formats.push(copy_format(i64::from(r.u16()?), &r)?);
    }
    Ok(CopyResponse {
        format,
        column_formats,
    })
}

fn empty(
    body: &[u8],
    name: &'static str,
    msg: BackendMessage,
) -> Result<BackendMessage, ProtocolError> {
    Reader::new(body, name).finish()?;
    Ok(msg)
}

fn decode_auth(body: Bytes) -> Result<Authentication, ProtocolError> {
    let mut r = Reader::new(&body, "Authentication");
    let auth = match r.i32()? {
        0 => Authentication::Ok,
        3 => Authentication::CleartextPassword,
        5 => {
            let s = r.bytes(4)?;
            Authentication::Md5Password([s[0], s[1], s[2], s[3]])
        }
        10 => {
            let mut mechanisms = Vec::new();
            loop {
                let m = r.cstr()?;
                if m.is_empty() {
                    break;
                }
                mechanisms.push(m.to_owned());
            }
            Authentication::Sasl(mechanisms)
        }
        11 => return Ok(Authentication::SaslContinue(body.slice(4..))),
        12 => return Ok(Authentication::SaslFinal(body.slice(4..))),
        other => {
            r.rest();
            Authentication::Unsupported(other)
        }
    };
    r.finish()?;
    Ok(auth)
}

/// The fields of an ErrorResponse or NoticeResponse. Their text is decoded
/// lossily: a message in another encoding than UTF-8 (a session whose
/// `client_encoding` was changed, a server that misbehaves) keeps its
/// severity and SQLSTATE, which are ASCII, and a notice never ends the
/// session.
fn decode_fields(body: &[u8], name: &'static str) -> Result<ErrorFields, ProtocolError> {
    let mut r = Reader::new(body, name);
    let mut f = ErrorFields::default();
    loop {
        let code = r.u8()?;
        if code == 0 {
            break;
        }
        let value = r.cstr_lossy()?;
        let value = value.as_ref();
        let owned = || Some(value.to_owned());
        match code {
            b'S' => f.severity = value.to_owned(),
            b'V' => f.severity_nonlocalized = owned(),
            b'C' => f.code = SqlState::from_code(value),
            b'M' => f.message = value.to_owned(),
            b'D' => f.detail = owned(),
            b'H' => f.hint = owned(),
            b'P' => f.position = value.parse().ok(),
            b'p' => f.internal_position = value.parse().ok(),
            b'q' => f.internal_query = owned(),
            b'W' => f.where_ = owned(),
            b's' => f.schema = owned(),
            b't' => f.table = owned(),
            b'c' => f.column = owned(),
            b'd' => f.data_type = owned(),
            b'n' => f.constraint = owned(),
            b'F' => f.file = owned(),
            b'L' => f.line = value.parse().ok(),
            b'R' => f.routine = owned(),
            // The protocol says unknown field types must be ignored.
            _ => {}
        }
    }
    r.finish()?;
    Ok(f)
}

fn decode_row_description(body: &[u8]) -> Result<RowDescription, ProtocolError> {
    let mut r = Reader::new(body, "RowDescription");
    let n = r.i16()?;
    let n = usize::try_from(n).map_err(|_| r.malformed("negative field count"))?;
    // Each field takes at least 19 bytes; checking first bounds the allocation.
    if r.remaining() < n * 19 {
        return Err(r.malformed("field count exceeds message length"));
    }
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        // Lossy, like all server text: a name in another encoding must not
        // end the session (the machine marks such a description).
        let name = r.cstr_lossy()?.into_owned();
        let table_oid = r.u32()?;
        let column_id = r.i16()?;
        let type_oid = r.u32()?;
        let type_size = r.i16()?;
        let type_modifier = r.i32()?;
        let format = match r.i16()? {
            0 => Format::Text,
            1 => Format::Binary,
            _ => return Err(r.malformed("unknown format code")),
        };
        fields.push(FieldDescription {
            name,
            table_oid,
            column_id,
            type_oid,
            type_size,
            type_modifier,
            format,
        });
    }
    r.finish()?;
    Ok(RowDescription::new(fields))
}

pub(crate) fn decode_data_row(body: Bytes) -> Result<DataRowBody, ProtocolError> {
    let malformed = |reason| ProtocolError::Malformed {
        message: "DataRow",
        reason,
    };
    let Some((&count, values)) = body.split_first_chunk::<2>() else {
        return Err(malformed("truncated"));
    };
    let columns =
        u16::try_from(i16::from_be_bytes(count)).map_err(|_| malformed("negative column count"))?;
    if let Err(reason) = check_values(values, columns) {
        return Err(malformed(reason));
    }
    Ok(DataRowBody {
        columns,
        values: body.slice(2..),
    })
}

/// Checks the values of a DataRow (everything after its column count):
/// exactly `columns` of them, each an `i32` length (-1 for NULL) and that
/// many bytes. Rows rely on this to find their columns without failing.
#[inline(always)]
pub(crate) fn check_values(values: &[u8], columns: u16) -> Result<(), &'static str> {
    let mut rest = values;
    for _ in 0..columns {
        let Some((&len, tail)) = rest.split_first_chunk::<4>() else {
            return Err("truncated");
        };
        let len = i32::from_be_bytes(len);
        rest = match usize::try_from(len) {
            Ok(len) => match tail.get(len..) {
                Some(tail) => tail,
                None => return Err("truncated"),
            },
            Err(_) if len == -1 => tail,
            Err(_) => return Err("negative value length"),
        };
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err("trailing bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(tag: u8, body: &[u8]) -> Result<BackendMessage, ProtocolError> {
        BackendMessage::decode(tag, Bytes::copy_from_slice(body))
    }

    #[test]
    fn messages_stay_small() {
        // Every row moves through this enum: keep it near the size of a row.
        assert!(std::mem::size_of::<BackendMessage>() <= 64);
    }

    #[test]
    fn command_tags_give_row_counts() {
        let rows = |tag: &str| {
            let mut body = tag.as_bytes().to_vec();
            body.push(0);
            match decode(b'C', &body) {
                Ok(BackendMessage::CommandComplete(c)) => c.rows(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(rows("INSERT 0 3"), Some(3));
        assert_eq!(rows("UPDATE 7"), Some(7));
        assert_eq!(rows("SELECT 0"), Some(0));
        assert_eq!(rows("CREATE TABLE"), None);
        assert_eq!(rows("CHECKPOINT"), None);
        // The count reads as `str::parse::<u64>` would.
        for count in [
            "18446744073709551615",
            "18446744073709551616",
            "+4",
            "-4",
            "",
            "4x",
            "٣",
        ] {
            assert_eq!(
                rows(&format!("DELETE {count}")),
                count.parse().ok(),
                "{count:?}"
            );
        }
        assert_eq!(rows("SELECT"), None);
        assert_eq!(rows("MOVE  2"), Some(2));
        match decode(b'C', b"DISCARD ALL\0") {
            Ok(BackendMessage::CommandComplete(c)) => {
                assert!(c.tag_is("DISCARD ALL") && !c.tag_is("DISCARD") && !c.tag_is(""));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_row_lengths_are_validated() {
        // two columns announced, one present
        assert!(decode(b'D', &[0, 2, 0, 0, 0, 1, b'x']).is_err());
        // a length running past the end
        assert!(decode(b'D', &[0, 1, 0, 0, 0, 9, b'x']).is_err());
        // length -2
        assert!(decode(b'D', &[0, 1, 0xff, 0xff, 0xff, 0xfe]).is_err());
        // a NULL and a value
        assert!(decode(b'D', &[0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'x']).is_ok());
    }

    #[test]
    fn error_fields_are_all_decoded() {
        let body = b"SERROR\0VERROR\0C23514\0Mbad\0Dthe detail\0Hhint\0P12\0sPublic\0tt\0cc\0dint4\0nck\0Ffile.c\0L42\0Rroutine\0Wctx\0Zfuture\0\0";
        let Ok(BackendMessage::ErrorResponse(f)) = decode(b'E', body) else {
            panic!("not decoded");
        };
        assert_eq!(f.sqlstate(), SqlState::CHECK_VIOLATION);
        assert_eq!(f.message, "bad");
        assert_eq!(f.detail.as_deref(), Some("the detail"));
        assert_eq!(f.position, Some(12));
        assert_eq!(f.constraint.as_deref(), Some("ck"));
        assert_eq!(f.line, Some(42));
        assert_eq!(f.where_.as_deref(), Some("ctx"));
    }

    #[test]
    fn unknown_and_malformed_messages_are_errors() {
        assert_eq!(decode(b'!', b""), Err(ProtocolError::UnknownMessage(b'!')));
        assert!(decode(b'Z', b"X").is_err());
        assert!(decode(b'Z', b"II").is_err());
        assert!(decode(b'S', b"name\0value").is_err());
        assert!(decode(b'T', &[0x7f, 0xff]).is_err());
        assert!(decode(b'E', b"Mmsg\0").is_err());
    }

    #[test]
    fn parameter_descriptions_count_up_to_65535() {
        for n in [0usize, 1, 32_767, 32_768, 40_000, 65_535] {
            let mut body = u16::try_from(n).unwrap().to_be_bytes().to_vec();
            for i in 0..n {
                body.extend_from_slice(&u32::try_from(i).unwrap().to_be_bytes());
            }
            match decode(b't', &body) {
                Ok(BackendMessage::ParameterDescription(oids)) => {
                    assert_eq!(oids.len(), n);
                    assert!(oids.iter().enumerate().all(|(i, &oid)| oid as usize == i));
                }
                other => panic!("{n}: {other:?}"),
            }
        }
        // A count the body does not hold is still malformed.
        assert!(decode(b't', &[0xff, 0xff, 0, 0, 0, 23]).is_err());
        assert!(decode(b't', &[0, 1, 0, 0, 0, 23, 0]).is_err());
    }
}
