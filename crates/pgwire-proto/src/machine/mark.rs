//! Taking back requests queued but not yet sent: a caller that queues many
//! requests as one unit (a pipeline) and finds one it cannot encode queues
//! none of them.

use super::{Machine, Phase};
use crate::error::Error;

/// Where the queue stood: see [`Machine::queue_mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMark {
    out: usize,
    sends: u64,
    next_request: u64,
    pending: usize,
}

impl Machine {
    /// Marks the current end of the queue, for [`unqueue_to`](Self::unqueue_to).
    pub fn queue_mark(&self) -> QueueMark {
        QueueMark {
            out: self.out.len(),
            sends: self.sends,
            next_request: self.next_request,
            pending: self.pending.len(),
        }
    }

    /// Removes every request queued since `mark` (and closes a batch opened
    /// since), as if they had never been queued. Only while none of their
    /// bytes were taken from [`output`](Self::output) (nothing was taken
    /// at all since the mark): refused otherwise, and when a request
    /// queued before it was answered meanwhile.
    pub fn unqueue_to(&mut self, mark: QueueMark) -> Result<(), Error> {
        let refused = Error::InvalidState {
            command: "unqueue_to",
            state: "sending or answering what was queued since the mark",
        };
        if !matches!(self.phase, Phase::Ready)
            || self.sends != mark.sends
            || self.out.len() < mark.out
            || self.next_request < mark.next_request
            || self.pending.len() != mark.pending + (self.next_request - mark.next_request) as usize
        {
            return Err(refused);
        }
        self.out.truncate(mark.out);
        self.pending.truncate(mark.pending);
        self.next_request = mark.next_request;
        if self.batch.is_some_and(|b| b.id.0 >= mark.next_request) {
            self.batch = None;
        }
        if mark.pending == 0 {
            self.description = None;
        }
        Ok(())
    }
}
