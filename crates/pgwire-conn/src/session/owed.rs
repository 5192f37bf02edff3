//! Work that dropped guards leave behind: `Drop` cannot await, so a
//! transaction's ROLLBACK, a portal's Close, a statement to free, are queued
//! at the first chance (see [`Locked`](super::Locked)).

use pgwire_proto::message::frontend::Target;
use pgwire_proto::Machine;

/// A command owed to the server by a guard that could not send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owed {
    /// SQL to run over the simple protocol, result discarded.
    Sql(String),
    /// A protocol-level portal to close.
    ClosePortal(String),
    /// A prepared statement to close.
    CloseStatement(String),
    /// Answers read ahead for an owner that is gone: free them.
    DiscardAhead(u64),
    /// A COPY FROM STDIN whose writer was dropped unfinished: end it with
    /// CopyFail, so that the server rolls it back (nothing half-written is
    /// committed). Nothing to do if it already ended.
    CopyFail(String),
    /// A batch under one Sync whose writer was dropped half-way
    /// ([`execute_many`](crate::Connection::execute_many)): end it so that
    /// nothing of it stands (`Machine::abort_batch`). Nothing to do if it
    /// already ended.
    AbortBatch,
}

impl Owed {
    /// Work done whenever the lock is taken or let go, not only before a
    /// request: a transaction's rollback (the session holds its locks until
    /// it reaches the server) and freeing memory. Closing a portal or a
    /// statement waits for the next request, so that it never delays the
    /// answer a task is reading.
    pub(crate) fn is_urgent(&self) -> bool {
        matches!(
            self,
            Owed::Sql(_) | Owed::DiscardAhead(_) | Owed::CopyFail(_) | Owed::AbortBatch
        )
    }

    /// Whether it may be queued while a COPY FROM STDIN is open: only what
    /// ends that COPY (anything else would reach the server as COPY data).
    pub(crate) fn fits_copy_in(&self) -> bool {
        // (A batch is never open during a COPY: neither lets the other start.)
        matches!(self, Owed::CopyFail(_) | Owed::DiscardAhead(_))
    }

    /// Queues the command on `machine` as a request nobody reads: its
    /// answer is drained by whoever reads next. `DiscardAhead` queues
    /// nothing (the caller frees the buffer).
    pub(crate) fn queue(&self, machine: &mut Machine) -> Result<(), pgwire_proto::Error> {
        match self {
            Owed::Sql(sql) => machine.simple_query(sql).map(drop),
            Owed::ClosePortal(name) => machine.close(Target::Portal, name).map(drop),
            Owed::CloseStatement(name) => machine.close(Target::Statement, name).map(drop),
            Owed::DiscardAhead(_) => Ok(()),
            Owed::CopyFail(reason) if machine.copy_in_open() || machine.is_copy_in() => {
                machine.copy_fail(reason)
            }
            Owed::CopyFail(_) => Ok(()),
            Owed::AbortBatch if machine.in_batch() => machine.abort_batch().map(drop),
            Owed::AbortBatch => Ok(()),
        }
    }

    /// Whether it may be queued while a batch is open: only what ends it
    /// (anything else would be refused, or join the batch).
    pub(crate) fn fits_batch(&self) -> bool {
        matches!(self, Owed::AbortBatch | Owed::DiscardAhead(_))
    }
}
