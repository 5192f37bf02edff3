//! COPY as machine states: copy-in (`COPY ... FROM STDIN`, the caller
//! supplies the data) and copy-out (`COPY ... TO STDOUT`, the server sends
//! it), on the simple and the extended protocol alike.
//!
//! A request may enter copy-in only if its caller said it will supply the
//! data ([`Machine::accept_copy_in`]); any other is refused with a
//! `CopyFail`, as the server would otherwise wait for data forever. While
//! a request that accepts copy-in awaits its `ReadyForQuery`, no other
//! request may be queued: the server would read it as COPY data.
//!
//! On the extended protocol the server ignores the request's own `Sync`
//! once in copy-in mode, so the machine sends another after `CopyDone` or
//! `CopyFail`, or when the server ends the COPY with an error first (it
//! then skips every message up to a `Sync`).

use super::{Machine, Phase, RequestKind};
use crate::error::{Error, ProtocolError};
use crate::message::backend::{BackendMessage, CopyResponse};
use crate::message::frontend;
use crate::Event;

/// The state [`Error::InvalidState`] names when a request is refused
/// because a COPY FROM STDIN is open (the server would read it as data).
pub const RUNNING_COPY_IN: &str = "running a COPY FROM STDIN";

/// What a queued request does with a COPY FROM STDIN it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PendingCopy {
    /// Nobody supplies data: refuse it with CopyFail.
    Refuse,
    /// Its caller supplies the data; nothing may be queued behind it.
    Accept,
    /// Its caller ended the COPY (CopyDone or CopyFail) before or while it
    /// ran: nothing more to send for it.
    Ended,
}

/// Where a COPY stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyState {
    /// Copy-in: the server waits for data. `ended`: CopyDone or CopyFail was
    /// queued; the server's CommandComplete or ErrorResponse follows.
    In { ended: bool, extended: bool },
    /// Copy-out: data comes until CopyDone.
    Out,
}

impl Machine {
    /// Marks request `id` (queued and not yet answered) as one whose caller
    /// supplies the data of a `COPY ... FROM STDIN` it runs: its
    /// [`Event::CopyInResponse`] is reported, and the caller then sends the
    /// data with [`copy_data`](Self::copy_data) and ends it with
    /// [`copy_done`](Self::copy_done) or [`copy_fail`](Self::copy_fail).
    /// Until its `ReadyForQuery`, queuing another request is refused.
    ///
    /// ```
    /// use pgwire_proto::{Event, Machine};
    /// # fn ready_machine() -> Machine {
    /// #     let mut m = Machine::new();
    /// #     m.start(&pgwire_proto::StartupConfig::new("u")).unwrap();
    /// #     m.receive(b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
    /// #     while m.next_event().unwrap().is_some() {}
    /// #     let n = m.output().len();
    /// #     m.consume_output(n);
    /// #     m
    /// # }
    /// let mut m = ready_machine();
    /// let id = m.simple_query("copy t from stdin").unwrap();
    /// m.accept_copy_in(id).unwrap();
    /// // CopyInResponse: text, one column
    /// m.receive(b"G\0\0\0\x09\0\0\x01\0\0");
    /// assert!(matches!(m.next_event().unwrap(), Some(Event::CopyInResponse(_))));
    /// m.copy_data(b"1\n2\n").unwrap();
    /// m.copy_done().unwrap();
    /// m.receive(b"C\0\0\0\x0bCOPY 2\0Z\0\0\0\x05I");
    /// assert!(matches!(m.next_event().unwrap(), Some(Event::CommandComplete(_))));
    /// assert!(matches!(m.next_event().unwrap(), Some(Event::ReadyForQuery(_))));
    /// assert!(m.is_ready());
    /// ```
    pub fn accept_copy_in(&mut self, id: crate::RequestId) -> Result<(), Error> {
        match self.pending.iter_mut().find(|p| p.id == id) {
            // A batch's COPY would swallow the members after it as data.
            Some(pending) if pending.members.is_some() => {
                Err(self.refuse_in_batch("accept_copy_in"))
            }
            Some(pending) => {
                pending.copy_in = PendingCopy::Accept;
                self.copy_accepts = true;
                Ok(())
            }
            None => Err(self.refuse("accept_copy_in")),
        }
    }

    /// Queues a simple `Query` whose `COPY ... FROM STDIN` the caller
    /// feeds: [`simple_query`](Self::simple_query) and
    /// [`accept_copy_in`](Self::accept_copy_in) in one.
    pub fn copy_query(&mut self, sql: &str) -> Result<crate::RequestId, Error> {
        let id = self.simple_query(sql)?;
        self.accept_copy_in(id)?;
        Ok(id)
    }

    /// True while the server waits for COPY data from us (after
    /// [`Event::CopyInResponse`], before `copy_done`/`copy_fail` or the
    /// server's error).
    pub fn is_copy_in(&self) -> bool {
        matches!(self.copy, Some(CopyState::In { ended: false, .. }))
    }

    /// True while a copy-out sends data (after [`Event::CopyOutResponse`],
    /// before [`Event::CopyDone`]).
    pub fn is_copy_out(&self) -> bool {
        matches!(self.copy, Some(CopyState::Out))
    }

    /// The next chunk of copy-out data, if a complete `CopyData` is first
    /// in the buffer: the hot path of a COPY TO STDOUT, without building
    /// the general [`Event`]. `None` for anything else (then
    /// [`next_event`](Self::next_event) handles it, CopyData included).
    #[inline]
    pub fn next_copy_data(&mut self) -> Option<bytes::Bytes> {
        if !self.is_copy_out() || !matches!(self.phase, Phase::Ready) {
            return None;
        }
        let data = self.rbuf.data();
        let &[b'd', l0, l1, l2, l3] = data.first_chunk::<5>()? else {
            return None;
        };
        // Short, incomplete or too long: for `next_event` to wait or report.
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if len < 4 || len > self.max_message_len || len >= data.len() {
            return None;
        }
        let chunk = self.rbuf.slice(5, len + 1);
        self.rbuf.consume(len + 1);
        Some(chunk)
    }

    /// True while a request that accepts copy-in awaits its
    /// `ReadyForQuery`: nothing else may be queued.
    pub(super) fn copy_in_pending(&self) -> bool {
        self.copy_accepts
            && self
                .pending
                .iter()
                .any(|p| p.copy_in == PendingCopy::Accept)
    }

    /// True while a request that accepts copy-in has not ended its COPY:
    /// [`copy_fail`](Self::copy_fail) (or `copy_done`) would end it now.
    pub fn copy_in_open(&self) -> bool {
        self.copy_in_pending()
    }

    /// A request queued now would reach the server as COPY data.
    pub(super) fn refuse_behind_copy(&self, command: &'static str) -> Error {
        Error::InvalidState {
            command,
            state: RUNNING_COPY_IN,
        }
    }

    fn refuse_copy(&self, command: &'static str) -> Error {
        Error::InvalidState {
            command,
            state: match self.copy {
                Some(CopyState::In { ended: true, .. }) => "ending a COPY FROM STDIN",
                Some(CopyState::Out) => "in COPY TO STDOUT",
                _ => "not in COPY FROM STDIN",
            },
        }
    }

    /// Queues `data` as COPY data (several messages if it is very long).
    /// Refused unless [`is_copy_in`](Self::is_copy_in); in particular once
    /// the server has ended the COPY with an error (read the events: the
    /// error is among them).
    pub fn copy_data(&mut self, data: &[u8]) -> Result<(), Error> {
        if !self.is_copy_in() || !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse_copy("copy_data"));
        }
        frontend::copy_data(&mut self.out, data);
        Ok(())
    }

    /// Ends the COPY data (`CopyDone`): the server commits the COPY and
    /// answers `CommandComplete` (or an error).
    pub fn copy_done(&mut self) -> Result<(), Error> {
        self.end_copy_in("copy_done", None)
    }

    /// Ends the COPY with an error (`CopyFail`): the server rolls it back and
    /// answers an error (57014) carrying `reason`.
    pub fn copy_fail(&mut self, reason: &str) -> Result<(), Error> {
        self.end_copy_in("copy_fail", Some(reason))
    }

    fn end_copy_in(&mut self, command: &'static str, fail: Option<&str>) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse_copy(command));
        }
        let extended = match self.copy {
            Some(CopyState::In {
                ended: false,
                extended,
            }) => extended,
            // Before its CopyInResponse, a simple-protocol COPY may be ended
            // at once: the server reads CopyDone/CopyFail as the COPY's end
            // when it starts, and ignores them when it failed to start. (On
            // the extended protocol the extra Sync would be answered twice.)
            Some(_) => return Err(self.refuse_copy(command)),
            None => match self
                .pending
                .iter()
                .find(|p| p.copy_in == PendingCopy::Accept)
            {
                Some(p) if p.kind == RequestKind::SimpleQuery => false,
                _ => return Err(self.refuse_copy(command)),
            },
        };
        self.write_copy_end(fail, extended)?;
        match self.copy {
            Some(CopyState::In { .. }) => {
                self.copy = Some(CopyState::In {
                    ended: true,
                    extended,
                });
                self.end_front_copy();
            }
            _ => {
                if let Some(p) = self
                    .pending
                    .iter_mut()
                    .find(|p| p.copy_in == PendingCopy::Accept)
                {
                    p.copy_in = PendingCopy::Ended;
                }
            }
        }
        Ok(())
    }

    fn write_copy_end(&mut self, fail: Option<&str>, extended: bool) -> Result<(), Error> {
        match fail {
            // A reason with a NUL is cut there rather than refused: the
            // COPY must end either way.
            Some(reason) => {
                let reason = reason.split('\0').next().unwrap_or_default();
                frontend::copy_fail(&mut self.out, reason)?;
            }
            None => frontend::copy_done(&mut self.out),
        }
        if extended {
            frontend::sync(&mut self.out);
        }
        Ok(())
    }

    /// The COPY of the request now answering has ended on our side.
    fn end_front_copy(&mut self) {
        if let Some(p) = self.pending.front_mut() {
            if p.copy_in == PendingCopy::Accept {
                p.copy_in = PendingCopy::Ended;
            }
        }
    }

    /// The server ended the request's COPY with an error: an unfinished
    /// extended-protocol copy-in owes the `Sync` the server now waits for.
    pub(super) fn copy_error(&mut self) {
        if let Some(CopyState::In {
            ended: false,
            extended: true,
        }) = self.copy
        {
            frontend::sync(&mut self.out);
        }
        if matches!(self.copy, Some(CopyState::In { .. })) {
            self.end_front_copy();
        }
        self.copy = None;
    }

    /// A message of the request's answer that starts, carries or ends a
    /// COPY, or any message during one (`Ok(None)`: no event).
    pub(super) fn copy_message(&mut self, message: BackendMessage) -> Result<Option<Event>, Error> {
        match (self.copy, message) {
            (None, BackendMessage::CopyInResponse(response)) => self.copy_in_response(response),
            (None, BackendMessage::CopyOutResponse(response)) => {
                self.description = None;
                self.copy = Some(CopyState::Out);
                Ok(Some(Event::CopyOutResponse(response)))
            }
            (Some(CopyState::Out), BackendMessage::CopyData(data)) => {
                Ok(Some(Event::CopyData(data)))
            }
            (Some(CopyState::Out), BackendMessage::CopyDone) => {
                self.copy = None;
                Ok(Some(Event::CopyDone))
            }
            (Some(CopyState::In { ended: true, .. }), BackendMessage::CommandComplete(c)) => {
                self.copy = None;
                Ok(Some(Event::CommandComplete(c)))
            }
            (_, other) => Err(Error::Protocol(ProtocolError::Unexpected {
                message: other.name(),
                state: match self.copy {
                    Some(CopyState::In { ended: false, .. }) => "in COPY FROM STDIN",
                    Some(CopyState::In { ended: true, .. }) => "ending a COPY FROM STDIN",
                    Some(CopyState::Out) => "in COPY TO STDOUT",
                    None => "ready",
                },
            })),
        }
    }

    fn copy_in_response(&mut self, response: CopyResponse) -> Result<Option<Event>, Error> {
        self.description = None;
        let Some(front) = self.pending.front() else {
            return Err(Error::Protocol(ProtocolError::Unexpected {
                message: "CopyInResponse",
                state: "ready",
            }));
        };
        let extended = front.kind == RequestKind::Extended;
        match front.copy_in {
            PendingCopy::Accept => {
                self.copy = Some(CopyState::In {
                    ended: false,
                    extended,
                });
                Ok(Some(Event::CopyInResponse(response)))
            }
            // Its end is already on its way.
            PendingCopy::Ended => {
                self.copy = Some(CopyState::In {
                    ended: true,
                    extended,
                });
                Ok(None)
            }
            PendingCopy::Refuse => {
                // Nobody is there to supply COPY data: refuse so the server
                // errors out and the request ends normally.
                // In a batch, later members or the batch's own `Sync`
                // still reach the server after this CopyFail, which then
                // needs no `Sync` of its own.
                let sync = extended && !self.batch_continues();
                self.write_copy_end(Some("COPY FROM STDIN needs the COPY API (copy_in)"), sync)?;
                self.copy = Some(CopyState::In {
                    ended: true,
                    extended,
                });
                Ok(None)
            }
        }
    }
}
