//! The wire format: framing of backend messages, decoding them
//! ([`backend`]), and encoding frontend messages ([`frontend`]).
//!
//! Every backend message is a type byte, a big-endian `i32` length that counts
//! itself but not the type byte, and a body. Framing never trusts the length:
//! one below 4 or above the configured maximum is a [`ProtocolError`].

pub mod backend;
pub mod frontend;
pub(crate) mod recv;
pub(crate) mod send;
mod short;

use bytes::Bytes;

use self::recv::RecvBuf;
pub(crate) use self::short::take_short;
use crate::error::ProtocolError;

/// Default cap on one backend message: PostgreSQL's own field limit is 1 GiB,
/// and a DataRow can hold a few such fields plus framing.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 1 << 30;

/// True for every backend message type byte of protocol 3.0 (checked for
/// each message, so a `matches!` the compiler turns into a table).
fn is_known_tag(tag: u8) -> bool {
    matches!(
        tag,
        b'R' | b'K'
            | b'2'
            | b'3'
            | b'C'
            | b'G'
            | b'H'
            | b'W'
            | b'd'
            | b'c'
            | b'D'
            | b'I'
            | b'E'
            | b'v'
            | b'n'
            | b'N'
            | b'A'
            | b't'
            | b'S'
            | b'1'
            | b's'
            | b'Z'
            | b'T'
    )
}

/// What [`frame_header`] learned from the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// Fewer than five bytes are buffered.
    Incomplete,
    /// A message of `total` bytes (type byte and length included) starts here.
    Message { tag: u8, total: usize },
}

/// Reads the five-byte header at the start of `buf`, validating the length.
pub(crate) fn frame_header(buf: &[u8], max_len: usize) -> Result<Header, ProtocolError> {
    let Some(head) = buf.get(..5) else {
        return Ok(Header::Incomplete);
    };
    let tag = head[0];
    // Reject an unknown type at once: waiting for the body its (garbage)
    // length announces could mean buffering a gigabyte first.
    if !is_known_tag(tag) {
        return Err(ProtocolError::UnknownMessage(tag));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if len < 4 {
        return Err(ProtocolError::InvalidLength { tag, len });
    }
    if len as usize > max_len {
        return Err(ProtocolError::MessageTooLong {
            tag,
            len,
            max: max_len,
        });
    }
    Ok(Header::Message {
        tag,
        total: len as usize + 1,
    })
}

/// Cuts one complete message off the front of `buf` and returns its type
/// byte and body, without copying.
pub(crate) fn split_frame(
    buf: &mut RecvBuf,
    max_len: usize,
) -> Result<Option<(u8, Bytes)>, ProtocolError> {
    match frame_header(buf.data(), max_len)? {
        Header::Message { tag, total } if total <= buf.len() => {
            let body = buf.slice(5, total);
            buf.consume(total);
            Ok(Some((tag, body)))
        }
        _ => Ok(None),
    }
}

/// A bounds-checked reader over a message body: every short read is a
/// [`ProtocolError::Malformed`] naming the message, never a panic.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    message: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], message: &'static str) -> Self {
        Reader { buf, message }
    }

    pub(crate) fn malformed(&self, reason: &'static str) -> ProtocolError {
        ProtocolError::Malformed {
            message: self.message,
            reason,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() < n {
            return Err(self.malformed("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ProtocolError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn i16(&mut self) -> Result<i16, ProtocolError> {
        let b = self.bytes(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, ProtocolError> {
        let b = self.bytes(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(self.i32()? as u32)
    }

    /// A NUL-terminated UTF-8 string, for protocol words (mechanism and
    /// option names, command tags), which are ASCII in every encoding.
    pub(crate) fn cstr(&mut self) -> Result<&'a str, ProtocolError> {
        let bytes = self.cbytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.malformed("string is not valid UTF-8"))
    }

    /// A NUL-terminated string of server text (messages, names, parameter
    /// values), decoded as UTF-8 with U+FFFD for invalid bytes: a session
    /// whose `client_encoding` was changed away from UTF8 sends such text,
    /// and it must not end the session (the machine refuses the values
    /// that arrive in it; see [`encoding`](crate::encoding)).
    pub(crate) fn cstr_lossy(&mut self) -> Result<std::borrow::Cow<'a, str>, ProtocolError> {
        Ok(String::from_utf8_lossy(self.cbytes()?))
    }

    /// The bytes of a NUL-terminated string, without the NUL.
    fn cbytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.malformed("string without terminating NUL"))?;
        let (bytes, rest) = self.buf.split_at(end);
        self.buf = rest.get(1..).unwrap_or_default();
        Ok(bytes)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// Fails unless the whole body was consumed: trailing bytes mean the
    /// sender and we disagree about the format.
    pub(crate) fn finish(&self) -> Result<(), ProtocolError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rejects_unknown_types_before_the_body() {
        assert_eq!(
            frame_header(&[0x01, 0x02, 0x03, 0x04, 0x05], 1 << 30),
            Err(ProtocolError::UnknownMessage(0x01))
        );
    }

    #[test]
    fn header_rejects_short_and_long_lengths() {
        assert_eq!(
            frame_header(&[b'Z', 0, 0, 0, 3], 100),
            Err(ProtocolError::InvalidLength { tag: b'Z', len: 3 })
        );
        assert!(matches!(
            frame_header(&[b'D', 0x7f, 0xff, 0xff, 0xff], 1 << 20),
            Err(ProtocolError::MessageTooLong { .. })
        ));
        assert_eq!(frame_header(&[b'Z', 0, 0], 100), Ok(Header::Incomplete));
    }

    #[test]
    fn split_frame_waits_for_the_whole_message() {
        let mut buf = RecvBuf::new();
        buf.room(5, 0)[..5].copy_from_slice(b"Z\0\0\0\x05");
        buf.commit(5);
        assert_eq!(split_frame(&mut buf, 100), Ok(None));
        buf.room(1, 0)[0] = b'I';
        buf.commit(1);
        let (tag, body) = split_frame(&mut buf, 100).unwrap().unwrap();
        assert_eq!((tag, &body[..]), (b'Z', &b"I"[..]));
        assert_eq!(buf.len(), 0);
    }
}
