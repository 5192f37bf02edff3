//! Batches: many executions under one `Sync`, answered as one request.
//!
//! Between [`Machine::begin_batch`] and [`Machine::end_batch`], every
//! [`query`](Machine::query), [`bind_execute`](Machine::bind_execute) and
//! [`execute_portal`](Machine::execute_portal) is written without its own
//! `Sync` and becomes a *member* of the batch's request. The server answers
//! each member with its usual messages, ending in `CommandComplete`,
//! `EmptyQuery` or `PortalSuspended`; one `ReadyForQuery` ends the batch.
//!
//! The members run in one implicit transaction (unless they hold their own
//! `BEGIN`/`COMMIT`). After an error the server skips every message up to
//! the `Sync`: the members after the failed one produce nothing at all,
//! and the transaction the batch ran in is rolled back. An error may also
//! come after the last member ended: the implicit transaction failed to
//! commit at the `Sync` (a deferred constraint), and then nothing the
//! batch did stands. [`Machine::current_member`] tells which member an
//! event belongs to.
//!
//! A batch may stay open while its first answers are read: members may be
//! added as earlier ones complete, so that a long batch is streamed in
//! bounded pieces. Nothing else may be queued while it is open.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Machine, Phase, RequestKind};
use crate::error::Error;
use crate::message::frontend;
use crate::row::RowDescription;
use crate::RequestId;

/// The state [`Error::InvalidState`] names for a command refused because a
/// batch is open.
pub const IN_BATCH: &str = "in an open batch (only executions may be added; end it first)";

/// The portal [`Machine::abort_batch`] executes: a name no client gives a
/// portal (spaces, and not a name pgwire uses).
pub const ABORT_PORTAL: &str = " pgwire: batch aborted ";

/// The members of one batch request.
#[derive(Debug, Default)]
pub(super) struct Members {
    /// The preset columns of members queued and not yet begun, in order.
    queued: VecDeque<Option<Arc<RowDescription>>>,
    /// A member's answer is under way (it is member `begun - 1`).
    active: bool,
    /// Members begun so far.
    begun: usize,
    /// The server reported an error: it skips the rest up to the `Sync`.
    failed: bool,
}

impl Members {
    /// The preset columns of the next member, if one was queued: it begins.
    fn begin_next(&mut self) -> Option<Option<Arc<RowDescription>>> {
        let next = self.queued.pop_front()?;
        self.active = true;
        self.begun += 1;
        Some(next)
    }
}

/// The batch being written.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenBatch {
    pub(super) id: RequestId,
    /// Members written so far.
    members: usize,
}

impl Machine {
    /// Opens a batch: the executions queued until [`end_batch`](Self::end_batch)
    /// share one `Sync` and are answered as one request, whose id this
    /// returns (see the [module docs](self::batch) for what the server does
    /// after an error).
    ///
    /// ```
    /// # use pgwire_proto::{Event, Machine, machine::Bind};
    /// # let mut m = Machine::new();
    /// # m.start(&pgwire_proto::StartupConfig::new("u")).unwrap();
    /// # m.receive(b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
    /// # while m.next_event().unwrap().is_some() {}
    /// # m.consume_output(m.output().len());
    /// let none = |_: usize, _: &mut bytes::BytesMut| Ok(None);
    /// let id = m.begin_batch().unwrap();
    /// for sql in ["SELECT 1", "SELECT 2"] {
    ///     let bind = Bind { param_count: 0, encode: none, result_formats: &[], max_rows: Some(0) };
    ///     m.query(sql, &[], "", bind).unwrap();
    /// }
    /// assert_eq!(m.end_batch().unwrap(), id);
    /// assert_eq!(m.pending_requests(), 1); // one Sync, one ReadyForQuery
    /// ```
    pub fn begin_batch(&mut self) -> Result<RequestId, Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse("begin_batch"));
        }
        if self.batch.is_some() {
            return Err(self.refuse_in_batch("begin_batch"));
        }
        if self.copy_in_pending() {
            return Err(self.refuse_behind_copy("begin_batch"));
        }
        let id = self.push_request(RequestKind::Extended, None);
        if let Some(front) = self.pending.back_mut() {
            front.members = Some(Box::default());
        }
        self.batch = Some(OpenBatch { id, members: 0 });
        Ok(id)
    }

    /// Ends the open batch with its `Sync`. A batch without members is
    /// answered by a `ReadyForQuery` alone.
    pub fn end_batch(&mut self) -> Result<RequestId, Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse("end_batch"));
        }
        let Some(open) = self.batch.take() else {
            return Err(Error::InvalidState {
                command: "end_batch",
                state: "not in a batch",
            });
        };
        frontend::sync(&mut self.out);
        Ok(open.id)
    }

    /// Asks the server to send the answers of the open batch's members so
    /// far (`Flush`): it otherwise keeps small answers in its buffer until
    /// the `Sync`, and a caller that waits for them before adding members
    /// would wait forever.
    pub fn flush_batch(&mut self) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Ready) || self.batch.is_none() {
            return Err(Error::InvalidState {
                command: "flush_batch",
                state: "not in a batch",
            });
        }
        frontend::flush(&mut self.out);
        Ok(())
    }

    /// Ends the open batch so that nothing of it stands: an `Execute` of a
    /// portal that cannot exist makes the server fail the batch (unless an
    /// error already did), which rolls its implicit transaction back, then
    /// the `Sync`. Answered by that error (`34000`) and the
    /// `ReadyForQuery`. For a caller that cannot finish what it began (a
    /// value that fails to encode half-way, a dropped writer).
    pub fn abort_batch(&mut self) -> Result<RequestId, Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse("abort_batch"));
        }
        if self.batch.is_none() {
            return Err(Error::InvalidState {
                command: "abort_batch",
                state: "not in a batch",
            });
        }
        frontend::execute(&mut self.out, ABORT_PORTAL, 0)?;
        self.add_member(None);
        self.end_batch()
    }

    /// True between [`begin_batch`](Self::begin_batch) and [`end_batch`](Self::end_batch).
    pub fn in_batch(&self) -> bool {
        self.batch.is_some()
    }

    /// How many members the open batch has (0 when none is open).
    pub fn batch_members(&self) -> usize {
        self.batch.map_or(0, |b| b.members)
    }

    /// The member of the batch now answering whose events arrive next, by
    /// its index in the batch: `None` when the request answering is not a
    /// batch, or between its members (before the first is sent, after the
    /// last one ended or after an error skipped the rest).
    pub fn current_member(&self) -> Option<usize> {
        let members = self.pending.front()?.members.as_deref()?;
        members.active.then(|| members.begun - 1)
    }

    /// The batch member the event [`next_event`](Self::next_event) (or
    /// [`next_row`](Self::next_row)) returned last belongs to: `None` for
    /// requests that are not batches, and for a batch's `ReadyForQuery`
    /// and an error at its `Sync` (after its last member ended: its
    /// implicit transaction failed to commit).
    pub fn event_member(&self) -> Option<usize> {
        self.event_member
    }

    /// True when the batch now answering met an error: the server skips
    /// its remaining members (added ones too) up to the `Sync`.
    pub fn batch_failed(&self) -> bool {
        self.pending
            .front()
            .and_then(|p| p.members.as_deref())
            .is_some_and(|m| m.failed)
    }

    pub(super) fn refuse_in_batch(&self, command: &'static str) -> Error {
        Error::InvalidState {
            command,
            state: IN_BATCH,
        }
    }

    /// Whether a command may be queued now as a member of the open batch
    /// (`Ok(true)`), as a request of its own (`Ok(false)`), or not at all.
    pub(super) fn batch_admits(
        &self,
        command: &'static str,
        executes: bool,
    ) -> Result<bool, Error> {
        match self.batch {
            None => Ok(false),
            Some(_) if executes => Ok(true),
            Some(_) => Err(self.refuse_in_batch(command)),
        }
    }

    /// Records a member just written to the open batch, with its preset
    /// columns (when known in advance, no `RowDescription` arrives).
    pub(super) fn add_member(&mut self, description: Option<Arc<RowDescription>>) -> RequestId {
        let Some(open) = self.batch.as_mut() else {
            return RequestId(self.next_request.saturating_sub(1));
        };
        open.members += 1;
        let id = open.id;
        let is_front = self.pending.front().is_some_and(|p| p.id == id);
        let Some(members) = self
            .pending
            .back_mut()
            .and_then(|p| p.members.as_deref_mut())
        else {
            return id;
        };
        // The server skips what follows an error: nothing will answer it.
        if members.failed {
            return id;
        }
        members.queued.push_back(description);
        if is_front && !members.active {
            if let Some(preset) = members.begin_next() {
                self.description = preset.map(|d| self.mark(d));
            }
        }
        id
    }

    /// Begins the first member of the batch that just became the front.
    pub(super) fn activate_members(&mut self) -> bool {
        let Some(members) = self
            .pending
            .front_mut()
            .and_then(|p| p.members.as_deref_mut())
        else {
            return false;
        };
        let preset = members.begin_next().flatten();
        self.description = preset.map(|d| self.mark(d));
        true
    }

    /// A member's answer ended (`CommandComplete`, `EmptyQuery`,
    /// `PortalSuspended`): the next one begins.
    pub(super) fn member_ended(&mut self) {
        let Some(members) = self
            .pending
            .front_mut()
            .and_then(|p| p.members.as_deref_mut())
        else {
            return;
        };
        members.active = false;
        if let Some(preset) = members.begin_next() {
            self.description = preset.map(|d| self.mark(d));
        }
    }

    /// The server reported an error in the batch now answering: it skips
    /// every member left up to the `Sync`.
    pub(super) fn batch_error(&mut self) {
        if let Some(members) = self
            .pending
            .front_mut()
            .and_then(|p| p.members.as_deref_mut())
        {
            members.active = false;
            members.failed = true;
            members.queued.clear();
        }
    }

    /// True when messages written after the member now answering (later
    /// members, or the `Sync` still to come) reach the server before its
    /// request's `Sync`: a refused COPY FROM STDIN in a batch then needs no
    /// `Sync` of its own (see [`copy`](super::copy)).
    pub(super) fn batch_continues(&self) -> bool {
        let Some(front) = self.pending.front() else {
            return false;
        };
        let Some(members) = front.members.as_deref() else {
            return false;
        };
        !members.queued.is_empty() || self.batch.is_some_and(|b| b.id == front.id)
    }
}
