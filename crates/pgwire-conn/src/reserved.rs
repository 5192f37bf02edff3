//! What an operation that has the session to itself (a COPY FROM STDIN, an
//! `execute_many` batch) owes it however it ends: the reservation back,
//! and, when it ends unfinished, the work that ends what it began on the
//! server (a CopyFail, a batch's abort), queued at the first chance before
//! anything else so that nothing half-done commits.

use futures_io::{AsyncRead, AsyncWrite};

use crate::session::owed::Owed;
use crate::session::Session;

/// A reservation of the session, with the work owed if dropped unfinished.
pub(crate) struct Reserved<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    session: &'c Session<S>,
    /// Our own reservation (`None`: a transaction's, which is not ours to end).
    reservation: Option<u64>,
    /// Owed if dropped before [`ended`](Self::ended).
    on_drop: Option<Owed>,
    armed: bool,
}

impl<'c, S> Reserved<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(session: &'c Session<S>, reservation: Option<u64>, on_drop: Owed) -> Self {
        Reserved {
            session,
            reservation,
            on_drop: Some(on_drop),
            armed: true,
        }
    }

    /// The session reserved.
    pub(crate) fn session(&self) -> &'c Session<S> {
        self.session
    }

    /// What began on the server has ended there: nothing is owed on drop.
    pub(crate) fn settled(&mut self) {
        self.on_drop = None;
    }

    /// The operation ended (its answer was read, or the server failed it):
    /// give the session back; nothing is owed on drop any more.
    pub(crate) fn ended(&mut self) {
        self.on_drop = None;
        if std::mem::take(&mut self.armed) {
            if let Some(id) = self.reservation {
                self.session.shared.book.release(id);
            }
        }
    }
}

impl<S> Drop for Reserved<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Owed before the reservation ends: whoever goes ahead next queues
        // it before anything of its own.
        if let Some(work) = self.on_drop.take() {
            self.session.shared.book.owe(work);
        }
        self.ended();
        // If the connection is free, the owed work leaves now.
        drop(self.session.try_lock());
    }
}
