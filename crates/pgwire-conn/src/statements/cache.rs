//! The per-connection statement cache.
//!
//! A single statement is prepared once per connection as a named
//! statement and described, so later executions are one Bind/Execute/Sync
//! round trip, with parameters encoded for the types the server inferred and
//! every result column whose type has a binary codec fetched in binary.
//!
//! When the server can no longer use a statement (a table under it changed
//! shape: `cached plan must not change result type`) or does not have it
//! (`26000` at its Bind), the cache forgets that statement alone (closing
//! it only in the first case: in the second there is nothing of ours on
//! that session to close), and the eager query methods run the failed one
//! again once when no transaction was open.
//!
//! Statements being prepared count against the capacity too, so that the
//! server never holds more than the capacity, however many preparations
//! are in flight (or abandoned by dropped futures, whose answers are still
//! to come): when they fill it, a query runs on the unnamed statement.
//!
//! Names are unique per connection, not just per cache: each starts with a
//! random prefix of the connection's ([`statement_prefix`]). Behind a
//! transaction-mode pooler (PgBouncer) a request may reach another
//! client's server session; there a Bind of one of our names fails with
//! `26000` instead of running someone else's statement, and our Parse never
//! meets a name someone else prepared (`42P05`) unless they chose ours.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pgwire_proto::{Format, Oid, RowDescription};

use super::text_hash::TextHashState;

/// Default number of statements kept per connection.
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 256;

/// A fresh prefix for one connection's statement names: `pgwire_s`, then
/// 12 hex digits, then `_` (a valid identifier, short enough that a name
/// stays far below PostgreSQL's 63 bytes).
///
/// The digits hash a process-wide counter and the time with a
/// `RandomState` (seeded randomly per process), so that two connections,
/// in one process or in two, practically never share a prefix.
pub(crate) fn statement_prefix() -> String {
    static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CONNECTIONS.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    format!("pgwire_s{:012x}_", hasher.finish() & 0xffff_ffff_ffff)
}

/// Whether a server message quotes one of the statement names of the
/// connection whose prefix is `prefix` (the name is the same in every
/// server language).
pub(crate) fn names_ours(message: &str, prefix: &str) -> bool {
    message
        .split('"')
        .skip(1)
        .step_by(2)
        .any(|quoted| quoted.starts_with(prefix))
}

/// What a connection's statement cache did so far
/// ([`Connection::statement_cache_stats`](crate::Connection::statement_cache_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatementCacheStats {
    /// Queries that found their statement prepared.
    pub hits: u64,
    /// Queries that did not (and prepared it, or ran it unnamed).
    pub misses: u64,
    /// Statements prepared for the cache.
    pub prepared: u64,
    /// Statements closed to make room.
    pub evicted: u64,
    /// Statements prepared twice by queries that missed at once, the second
    /// closed.
    pub twins: u64,
}

/// The cache's counters, readable without the connection's lock.
#[derive(Debug, Default)]
pub(crate) struct CacheCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    prepared: AtomicU64,
    evicted: AtomicU64,
    twins: AtomicU64,
}

impl CacheCounters {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn hit(&self) {
        Self::add(&self.hits, 1);
    }

    pub(crate) fn miss(&self) {
        Self::add(&self.misses, 1);
    }

    pub(crate) fn snapshot(&self) -> StatementCacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatementCacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            prepared: get(&self.prepared),
            evicted: get(&self.evicted),
            twins: get(&self.twins),
        }
    }
}

/// What the cache knows about one prepared statement.
#[derive(Debug)]
pub(crate) struct CachedStatement {
    pub(crate) name: String,
    /// The parameter types the Parse declared (part of the cache key).
    pub(crate) declared: Vec<Oid>,
    pub(crate) param_types: Vec<Oid>,
    /// The columns, with the formats `result_formats` asks for.
    pub(crate) description: Option<Arc<RowDescription>>,
    pub(crate) result_formats: Vec<Format>,
}

impl CachedStatement {
    /// Whether this statement was prepared for `count` parameters of the
    /// types `declared` gives (the cache key besides the text).
    pub(crate) fn declares(&self, count: usize, declared: impl Fn(usize) -> Oid) -> bool {
        self.declared.len() == count
            && self
                .declared
                .iter()
                .enumerate()
                .all(|(i, &o)| o == declared(i))
    }
}

#[derive(Debug)]
pub(crate) struct StatementCache {
    capacity: usize,
    /// By SQL text; several entries when the same text was run with
    /// parameters of different declared types.
    map: HashMap<String, Vec<Arc<CachedStatement>>, TextHashState>,
    /// Insertion order, for eviction.
    order: VecDeque<(String, Arc<CachedStatement>)>,
    next: u64,
    /// The connection's name prefix ([`statement_prefix`]).
    prefix: String,
    /// Statements prepared but not yet described (or failed).
    in_flight: usize,
    pub(crate) counters: Arc<CacheCounters>,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize, prefix: String, counters: Arc<CacheCounters>) -> Self {
        StatementCache {
            capacity,
            map: HashMap::default(),
            order: VecDeque::new(),
            next: 0,
            prefix,
            in_flight: 0,
            counters,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) -> Vec<String> {
        self.capacity = capacity;
        self.evict_to(capacity.saturating_sub(self.in_flight))
    }

    /// The statement for `sql` with these declared parameter types: looked
    /// up without allocating, as this runs for every query.
    pub(crate) fn get(
        &self,
        sql: &str,
        count: usize,
        declared: impl Fn(usize) -> Oid,
    ) -> Option<Arc<CachedStatement>> {
        self.map
            .get(sql)?
            .iter()
            .find(|s| s.declares(count, &declared))
            .cloned()
    }

    /// Makes room for one more statement and names it: the name, and the
    /// statements to close first. `None` when statements being prepared
    /// already fill the capacity.
    pub(crate) fn start_prepare(&mut self) -> Option<(String, Vec<String>)> {
        if self.in_flight >= self.capacity {
            return None;
        }
        let evicted = self.evict_to(self.capacity - self.in_flight - 1);
        self.in_flight += 1;
        CacheCounters::add(&self.counters.prepared, 1);
        self.next += 1;
        Some((format!("{}{}", self.prefix, self.next), evicted))
    }

    /// A statement being prepared failed (or will never be described).
    pub(crate) fn prepare_failed(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn len(&self) -> usize {
        self.order.len()
    }

    fn evict_to(&mut self, size: usize) -> Vec<String> {
        let mut evicted = Vec::new();
        while self.len() > size {
            let Some((sql, stmt)) = self.order.pop_front() else {
                break;
            };
            if let Some(entries) = self.map.get_mut(&sql) {
                entries.retain(|s| !Arc::ptr_eq(s, &stmt));
                if entries.is_empty() {
                    self.map.remove(&sql);
                }
            }
            evicted.push(stmt.name.clone());
        }
        CacheCounters::add(&self.counters.evicted, evicted.len());
        evicted
    }

    /// Adds a freshly prepared statement; returns the names to close on the
    /// server. When another task prepared the same text with the same
    /// declared types meanwhile, the one already cached stays and the fresh
    /// one is to be closed; a capacity lowered meanwhile evicts the oldest.
    pub(crate) fn insert(&mut self, sql: &str, stmt: Arc<CachedStatement>) -> Vec<String> {
        self.prepare_failed();
        let declared = &stmt.declared;
        if self
            .get(sql, declared.len(), |i| {
                declared.get(i).copied().unwrap_or(0)
            })
            .is_some()
        {
            CacheCounters::add(&self.counters.twins, 1);
            return vec![stmt.name.clone()];
        }
        self.order.push_back((sql.to_owned(), Arc::clone(&stmt)));
        self.map.entry(sql.to_owned()).or_default().push(stmt);
        self.evict_to(self.capacity.saturating_sub(self.in_flight))
    }

    /// Replaces each statement `update` returns a new version of (with
    /// other result formats, once types are registered), keeping its name
    /// and its place in the eviction order.
    pub(crate) fn update(
        &mut self,
        mut update: impl FnMut(&CachedStatement) -> Option<CachedStatement>,
    ) {
        for (sql, stmt) in self.order.iter_mut() {
            let Some(new) = update(stmt) else {
                continue;
            };
            let new = Arc::new(new);
            if let Some(entries) = self.map.get_mut(sql.as_str()) {
                for entry in entries.iter_mut().filter(|e| Arc::ptr_eq(e, stmt)) {
                    *entry = Arc::clone(&new);
                }
            }
            *stmt = new;
        }
    }

    /// Forgets `stmt` without closing it: the server session we reached
    /// does not have it (`26000`), so there is nothing to close, and a
    /// Close could only reach a session where it is not ours to judge.
    /// True if it was cached.
    pub(crate) fn forget(&mut self, stmt: &Arc<CachedStatement>) -> bool {
        // By name too: an in-flight run may hold the version `update`
        // replaced (names are never reused).
        let same = |s: &Arc<CachedStatement>| Arc::ptr_eq(s, stmt) || s.name == stmt.name;
        let Some(at) = self.order.iter().position(|(_, s)| same(s)) else {
            return false;
        };
        if let Some((sql, _)) = self.order.remove(at) {
            if let Some(entries) = self.map.get_mut(&sql) {
                entries.retain(|s| !same(s));
                if entries.is_empty() {
                    self.map.remove(&sql);
                }
            }
        }
        true
    }

    /// Forgets everything (after `DISCARD ALL` / `DEALLOCATE ALL`, or when
    /// the server lost or can no longer use a statement) and returns the
    /// names, so that the caller can close any the server still has.
    pub(crate) fn clear(&mut self) -> Vec<String> {
        self.map.clear();
        self.order.drain(..).map(|(_, s)| s.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(name: &str, declared: &[Oid]) -> Arc<CachedStatement> {
        Arc::new(CachedStatement {
            name: name.into(),
            declared: declared.to_vec(),
            param_types: vec![],
            description: None,
            result_formats: vec![],
        })
    }

    /// Prepares and caches `sql`; returns what was evicted to make room.
    fn add(c: &mut StatementCache, sql: &str, declared: &[Oid]) -> Vec<String> {
        let (name, evicted) = c.start_prepare().expect("room");
        assert!(c.insert(sql, stmt(&name, declared)).is_empty());
        evicted
    }

    fn cache(capacity: usize) -> StatementCache {
        StatementCache::new(capacity, "pgwire_s".into(), Arc::default())
    }

    #[test]
    fn evicts_oldest_first_and_keys_on_declared_types() {
        let mut c = cache(2);
        add(&mut c, "a", &[]);
        add(&mut c, "b", &[23]);
        assert_eq!(add(&mut c, "c", &[]), ["pgwire_s1"]);
        assert!(c.get("a", 0, |_| 0).is_none());
        let name = |s: Option<Arc<CachedStatement>>| s.map(|s| s.name.clone());
        assert_eq!(name(c.get("b", 1, |_| 23)).as_deref(), Some("pgwire_s2"));
        assert!(
            c.get("b", 1, |_| 20).is_none(),
            "declared types are part of the key"
        );
        assert!(c.get("b", 2, |_| 23).is_none());
        assert_eq!(add(&mut c, "b", &[20]), ["pgwire_s2"]);
        assert_eq!(name(c.get("b", 1, |_| 20)).as_deref(), Some("pgwire_s4"));
        assert_eq!(c.clear(), ["pgwire_s3", "pgwire_s4"]);
        assert!(c.get("b", 1, |_| 20).is_none());
        add(&mut c, "c", &[]);
        assert_eq!(c.set_capacity(0), ["pgwire_s5"]);
        assert!(!c.enabled());
    }

    #[test]
    fn forgetting_one_statement_keeps_the_others() {
        let mut c = cache(4);
        add(&mut c, "a", &[]);
        add(&mut c, "b", &[]);
        let a = c.get("a", 0, |_| 0).unwrap();
        assert!(c.forget(&a));
        assert!(!c.forget(&a), "already gone");
        assert!(c.get("a", 0, |_| 0).is_none());
        assert_eq!(c.clear(), ["pgwire_s2"]);
    }

    #[test]
    fn prefixes_are_unique_identifiers() {
        let a = statement_prefix();
        let b = statement_prefix();
        assert_ne!(a, b);
        assert!(a.len() < 30, "{a}");
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
    }

    #[test]
    fn a_twin_prepared_meanwhile_is_returned_for_closing() {
        let mut c = cache(4);
        let (s1, _) = c.start_prepare().unwrap();
        let (s2, _) = c.start_prepare().unwrap();
        assert!(c.insert("q", stmt(&s1, &[23])).is_empty());
        assert_eq!(c.insert("q", stmt(&s2, &[23])), [s2]);
        add(&mut c, "q", &[20]);
        assert_eq!(c.clear(), ["pgwire_s1", "pgwire_s3"]);
        let stats = c.counters.snapshot();
        assert_eq!((stats.prepared, stats.twins, stats.evicted), (3, 1, 0));
    }

    #[test]
    fn preparations_in_flight_count_against_the_capacity() {
        let mut c = cache(2);
        add(&mut c, "a", &[]);
        let (s2, evicted) = c.start_prepare().unwrap();
        assert!(evicted.is_empty());
        // Two in flight would exceed the capacity with "a": it goes.
        let (s3, evicted) = c.start_prepare().unwrap();
        assert_eq!(evicted, ["pgwire_s1"]);
        assert!(c.start_prepare().is_none(), "the capacity is all in flight");
        c.prepare_failed();
        assert!(c.insert("c", stmt(&s3, &[])).is_empty());
        let (s4, _) = c.start_prepare().unwrap();
        drop((s2, s4));
        // Lowering the capacity while one is in flight evicts the cached one
        // now, and keeps the late one within the capacity when it arrives.
        assert_eq!(c.set_capacity(1), ["pgwire_s3"]);
        assert!(c.insert("d", stmt("pgwire_s4", &[])).is_empty());
        assert_eq!(c.len(), 1);
    }
}
