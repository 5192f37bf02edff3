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
}

impl Owed {
    /// Work done whenever the lock is taken or let go, not only before a
    /// request: a transaction's rollback (the session holds its locks until
    /// it reaches the server) and freeing memory. Closing a portal or a
    /// statement waits for the next request, so that it never delays the
    /// answer a task is reading.
    pub(crate) fn is_urgent(&self) -> bool {
        matches!(self, Owed::Sql(_) | Owed::DiscardAhead(_))
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
        }
    }
}
