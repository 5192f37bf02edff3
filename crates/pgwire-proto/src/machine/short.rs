//! The short answers that end almost every request (`ParseComplete`,
//! `BindComplete`, `CloseComplete`, `NoData`, `CommandComplete`,
//! `ReadyForQuery`), taken straight from the receive buffer.
//!
//! The general path cuts a frame into a `Bytes` body, decodes it into a
//! [`BackendMessage`](crate::message::backend::BackendMessage) and
//! dispatches it: several reference-count updates and branches for a
//! message of five or six bytes, three or four times per round trip. This
//! path gives the same event with the same effects on the machine, and
//! only for a well-formed message in the state where the general path
//! would accept it: anything else (a malformed or incomplete message, an
//! unexpected one, a COPY under way) is left for the general path, which
//! decides and reports as before.

use super::{Event, Machine, Phase, RequestKind};
use crate::message::backend::{CommandComplete, TransactionStatus};

impl Machine {
    /// The event of the short answer at the front of the buffer, if there
    /// is one this path handles; `None` leaves it to the general path.
    #[inline]
    pub(super) fn take_short(&mut self) -> Option<Event> {
        if !matches!(self.phase, Phase::Ready | Phase::Terminated) || self.copy.is_some() {
            return None;
        }
        let front = self.pending.front()?;
        let extended = front.kind == RequestKind::Extended;
        let data = self.rbuf.data();
        let &[tag, l0, l1, l2, l3] = data.first_chunk::<5>()?;
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        match (tag, len) {
            (b'1' | b'2' | b'3' | b'n', 4) if extended => {
                self.rbuf.consume(5);
                Some(match tag {
                    b'1' => Event::ParseComplete,
                    b'2' => Event::BindComplete,
                    b'3' => Event::CloseComplete,
                    _ => {
                        self.description = None;
                        Event::NoData
                    }
                })
            }
            (b'Z', 5) => {
                let status = match data.get(5)? {
                    b'I' => TransactionStatus::Idle,
                    b'T' => TransactionStatus::InTransaction,
                    b'E' => TransactionStatus::Failed,
                    _ => return None,
                };
                self.rbuf.consume(6);
                self.pending.pop_front();
                self.transaction_status = status;
                self.activate_front();
                Some(Event::ReadyForQuery(status))
            }
            (b'C', 5..) if len <= self.max_message_len => {
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
                    None => CommandComplete::shared(self.rbuf.slice(5, len)),
                };
                self.rbuf.consume(len + 1);
                self.description = None;
                self.member_ended();
                Some(Event::CommandComplete(complete))
            }
            _ => None,
        }
    }
}
