//! The short messages that end almost every request (`ParseComplete`,
//! `BindComplete`, `CloseComplete`, `NoData`, `CommandComplete`,
//! `ReadyForQuery`), decoded straight from the receive buffer.
//!
//! [`split_frame`](super::split_frame) cuts every frame into a `Bytes`
//! body (and the first frame after a read builds the buffer's shared view,
//! an allocation) before [`BackendMessage::decode`] reads it: several
//! reference-count updates for a message of five or six bytes, three or
//! four times per round trip. This decodes the same message from the bytes
//! in place, for well-formed ones only: anything else (malformed,
//! incomplete, too long) is left to the general decoder, which decides and
//! reports as before. What the message means is the machine's to judge,
//! the same way whichever decoder read it.

use super::backend::{BackendMessage, CommandComplete, TransactionStatus};
use super::recv::RecvBuf;

/// The short message at the front of `buf`, taken from it, if it is one of
/// these and well formed; `None` leaves `buf` as it is.
#[inline]
pub(crate) fn take_short(buf: &mut RecvBuf, max_len: usize) -> Option<BackendMessage> {
    let data = buf.data();
    let &[tag, l0, l1, l2, l3] = data.first_chunk::<5>()?;
    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    let message = match (tag, len) {
        (b'1', 4) => BackendMessage::ParseComplete,
        (b'2', 4) => BackendMessage::BindComplete,
        (b'3', 4) => BackendMessage::CloseComplete,
        (b'n', 4) => BackendMessage::NoData,
        (b'Z', 5) => BackendMessage::ReadyForQuery(TransactionStatus::from_code(*data.get(5)?)?),
        (b'C', 5..) if len <= max_len => {
            // The tag, NUL-terminated, and nothing after it: what the
            // general decoder accepts.
            let body = data.get(5..len + 1)?;
            let (&0, text) = body.split_last()? else {
                return None;
            };
            // Tags are ASCII; the full check only for anything else.
            let valid = text.is_ascii() || std::str::from_utf8(text).is_ok();
            if !valid || text.contains(&0) {
                return None;
            }
            let complete = match CommandComplete::inline(text) {
                Some(inline) => inline,
                None => CommandComplete::shared(buf.slice(5, len)),
            };
            BackendMessage::CommandComplete(complete)
        }
        _ => return None,
    };
    buf.consume(len + 1);
    Some(message)
}
