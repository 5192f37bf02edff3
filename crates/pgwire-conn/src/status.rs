//! A snapshot of session state readable without taking the query lock, so
//! that `ready()`, `in_transaction()`, `dead()` and `connection_parameters()`
//! are plain synchronous calls (as pg-purepy's properties are) even while
//! another task holds the connection.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use pgwire_proto::types::TypeRegistry;
use pgwire_proto::{Machine, Notice, Notification, TransactionStatus};

/// Notifications kept for `take_notifications` and notification streams
/// before the oldest are dropped (and the drop reported); bounds memory
/// when nobody reads them.
pub(crate) const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// The default read-ahead limit.
const DEFAULT_READ_AHEAD_LIMIT: usize = 16 * 1024 * 1024;

/// No cache capacity change is pending.
const NO_CAPACITY: usize = usize::MAX;

/// Receives every notice and warning the server sends.
pub type NoticeHandler = Arc<dyn Fn(&Notice) + Send + Sync>;

pub(crate) struct Status {
    dead: AtomicBool,
    closed: AtomicBool,
    ready: AtomicBool,
    /// 0 idle, 1 in transaction, 2 failed transaction.
    transaction: AtomicU8,
    parameters: RwLock<Arc<BTreeMap<String, String>>>,
    notice_handler: RwLock<Option<NoticeHandler>>,
    next_name: AtomicU64,
    registry: RwLock<Arc<TypeRegistry>>,
    notifications: Mutex<VecDeque<Notification>>,
    /// Notifications dropped from the full queue since the last report.
    dropped_notifications: AtomicU64,
    /// Notification streams waiting: woken when one arrives, or when the
    /// session falls idle (then they read the socket themselves).
    listeners: Mutex<Vec<std::task::Waker>>,
    listening: AtomicBool,
    /// A statement cache capacity set but not yet applied.
    cache_capacity: AtomicUsize,
    /// The default time limit in nanoseconds (0: none).
    default_timeout: AtomicU64,
    /// Statements slower than this many nanoseconds are logged (0: none).
    slow_statement: AtomicU64,
    read_ahead_limit: AtomicUsize,
    pub(crate) cache_counters: Arc<crate::statements::CacheCounters>,
    /// How this connection's cached statements are named (unique to it).
    statement_prefix: String,
    /// Whether signs of a transaction-mode pooler turn the cache off.
    pooler_detection: AtomicBool,
    /// They did.
    pooler_detected: AtomicBool,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            dead: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            transaction: AtomicU8::new(0),
            parameters: RwLock::default(),
            notice_handler: RwLock::default(),
            next_name: AtomicU64::new(0),
            registry: RwLock::default(),
            notifications: Mutex::default(),
            dropped_notifications: AtomicU64::new(0),
            listeners: Mutex::default(),
            listening: AtomicBool::new(false),
            cache_capacity: AtomicUsize::new(NO_CAPACITY),
            default_timeout: AtomicU64::new(0),
            slow_statement: AtomicU64::new(0),
            read_ahead_limit: AtomicUsize::new(DEFAULT_READ_AHEAD_LIMIT),
            cache_counters: Arc::default(),
            statement_prefix: crate::statements::statement_prefix(),
            pooler_detection: AtomicBool::new(true),
            pooler_detected: AtomicBool::new(false),
        }
    }
}

impl Status {
    /// Copies what the lock holder learned from the machine.
    pub(crate) fn sync_from(&self, machine: &Machine) {
        let ready = machine.is_ready();
        self.ready.store(ready, Ordering::Release);
        if ready {
            // Nobody reads the socket now: a notification stream must.
            self.wake_listeners();
        }
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

    pub(crate) fn set_registry(&self, registry: Arc<TypeRegistry>) {
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = registry;
    }

    pub(crate) fn push_notification(&self, notification: Notification) {
        {
            let mut queue = self.notifications.lock().unwrap_or_else(|e| e.into_inner());
            if queue.len() >= MAX_QUEUED_NOTIFICATIONS {
                queue.pop_front();
                self.dropped_notifications.fetch_add(1, Ordering::AcqRel);
            }
            queue.push_back(notification);
        }
        self.wake_listeners();
    }

    pub(crate) fn take_notifications(&self) -> Vec<Notification> {
        let mut queue = self.notifications.lock().unwrap_or_else(|e| e.into_inner());
        self.dropped_notifications.store(0, Ordering::Release);
        queue.drain(..).collect()
    }

    /// The oldest queued notification, after the report of any dropped
    /// since the last one.
    pub(crate) fn pop_notification(&self) -> Option<crate::Result<Notification>> {
        let dropped = self.dropped_notifications.swap(0, Ordering::AcqRel);
        if dropped > 0 {
            return Some(Err(crate::Error::NotificationsDropped { count: dropped }));
        }
        let mut queue = self.notifications.lock().unwrap_or_else(|e| e.into_inner());
        queue.pop_front().map(Ok)
    }

    /// Wakes `waker` when a notification arrives or the session falls idle.
    pub(crate) fn register_listener(&self, waker: &std::task::Waker) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        if !listeners.iter().any(|w| w.will_wake(waker)) {
            listeners.push(waker.clone());
        }
        self.listening.store(true, Ordering::Release);
    }

    fn wake_listeners(&self) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        let wakers = {
            let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            self.listening.store(false, Ordering::Release);
            std::mem::take(&mut *listeners)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    pub(crate) fn set_cache_capacity(&self, capacity: usize) {
        self.cache_capacity
            .store(capacity.min(NO_CAPACITY - 1), Ordering::Release);
    }

    /// A capacity set since the last call, if any.
    pub(crate) fn take_cache_capacity(&self) -> Option<usize> {
        if self.cache_capacity.load(Ordering::Acquire) == NO_CAPACITY {
            return None;
        }
        match self.cache_capacity.swap(NO_CAPACITY, Ordering::AcqRel) {
            NO_CAPACITY => None,
            capacity => Some(capacity),
        }
    }

    pub(crate) fn set_default_timeout(&self, timeout: Option<Duration>) {
        let nanos = timeout.map_or(0, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.default_timeout.store(nanos, Ordering::Release);
    }

    pub(crate) fn default_timeout(&self) -> Option<Duration> {
        match self.default_timeout.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    pub(crate) fn set_slow_statement_threshold(&self, threshold: Option<Duration>) {
        let nanos = threshold.map_or(0, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.slow_statement.store(nanos, Ordering::Release);
    }

    pub(crate) fn slow_statement_threshold(&self) -> Option<Duration> {
        match self.slow_statement.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    pub(crate) fn set_read_ahead_limit(&self, bytes: usize) {
        self.read_ahead_limit.store(bytes, Ordering::Release);
    }

    pub(crate) fn read_ahead_limit(&self) -> usize {
        self.read_ahead_limit.load(Ordering::Acquire)
    }

    /// The prefix of every statement name the cache gives out.
    pub(crate) fn statement_prefix(&self) -> &str {
        &self.statement_prefix
    }

    pub(crate) fn set_pooler_detection(&self, on: bool) {
        self.pooler_detection.store(on, Ordering::Release);
    }

    pub(crate) fn pooler_detection(&self) -> bool {
        self.pooler_detection.load(Ordering::Acquire)
    }

    /// Records that a pooler was detected; true the first time.
    pub(crate) fn set_pooler_detected(&self) -> bool {
        !self.pooler_detected.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn pooler_detected(&self) -> bool {
        self.pooler_detected.load(Ordering::Acquire)
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
