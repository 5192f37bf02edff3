//! A snapshot of session state readable without taking the query lock, so
//! that `ready()`, `in_transaction()`, `dead()` and `connection_parameters()`
//! are plain synchronous calls (as pg-purepy's properties are) even while
//! another task holds the connection.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use pgwire_proto::types::TypeRegistry;
use pgwire_proto::{Machine, Notice, TransactionStatus};

/// Receives every notice and warning the server sends.
pub type NoticeHandler = Arc<dyn Fn(&Notice) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Status {
    dead: AtomicBool,
    closed: AtomicBool,
    ready: AtomicBool,
    /// 0 idle, 1 in transaction, 2 failed transaction.
    transaction: AtomicU8,
    parameters: RwLock<Arc<BTreeMap<String, String>>>,
    notice_handler: RwLock<Option<NoticeHandler>>,
    /// Commands owed by guards dropped without finishing (a transaction's
    /// ROLLBACK): the next query queues them ahead of itself. Drop cannot
    /// await.
    owed: Mutex<Vec<Owed>>,
    next_name: AtomicU64,
    registry: RwLock<Arc<TypeRegistry>>,
}

/// A command a dropped guard could not send itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owed {
    /// SQL to run over the simple protocol, result discarded.
    Sql(String),
    /// A protocol-level portal to close.
    ClosePortal(String),
    /// A prepared statement to close.
    CloseStatement(String),
}

impl Status {
    /// Copies what the lock holder learned from the machine.
    pub(crate) fn sync_from(&self, machine: &Machine) {
        self.ready.store(machine.is_ready(), Ordering::Release);
        let code = match machine.transaction_status() {
            TransactionStatus::Idle => 0,
            TransactionStatus::InTransaction => 1,
            TransactionStatus::Failed => 2,
        };
        self.transaction.store(code, Ordering::Release);
    }

    pub(crate) fn sync_parameters(&self, machine: &Machine) {
        let fresh = Arc::new(machine.parameters().clone());
        *self.parameters.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    pub(crate) fn parameters(&self) -> Arc<BTreeMap<String, String>> {
        Arc::clone(&self.parameters.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn set_dead(&self) {
        self.dead.store(true, Ordering::Release);
        self.ready.store(false, Ordering::Release);
    }

    pub(crate) fn set_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.store(false, Ordering::Release);
    }

    pub(crate) fn dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub(crate) fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn transaction(&self) -> TransactionStatus {
        match self.transaction.load(Ordering::Acquire) {
            1 => TransactionStatus::InTransaction,
            2 => TransactionStatus::Failed,
            _ => TransactionStatus::Idle,
        }
    }

    pub(crate) fn registry(&self) -> Arc<TypeRegistry> {
        Arc::clone(&self.registry.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn set_registry(&self, registry: TypeRegistry) {
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
    }

    pub(crate) fn owe(&self, command: Owed) {
        self.owed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(command);
    }

    pub(crate) fn take_owed(&self) -> Vec<Owed> {
        std::mem::take(&mut *self.owed.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A number unique on this connection, for savepoint and portal names.
    pub(crate) fn next_name(&self) -> u64 {
        self.next_name.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn set_notice_handler(&self, handler: Option<NoticeHandler>) {
        *self
            .notice_handler
            .write()
            .unwrap_or_else(|e| e.into_inner()) = handler;
    }

    pub(crate) fn notice(&self, notice: &Notice) {
        let handler = self
            .notice_handler
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match handler {
            Some(handler) => handler(notice),
            // Without a handler, notices go to the `log` facade (target
            // `pgwire::notice`) at a level matching their severity.
            None => {
                let level = match notice.severity() {
                    "WARNING" => log::Level::Warn,
                    "NOTICE" | "INFO" => log::Level::Info,
                    _ => log::Level::Debug,
                };
                log::log!(target: "pgwire::notice", level, "{notice}");
            }
        }
    }
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Status")
            .field("dead", &self.dead())
            .field("closed", &self.closed())
            .field("ready", &self.ready())
            .field("transaction", &self.transaction())
            .finish_non_exhaustive()
    }
}
