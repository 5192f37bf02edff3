//! The per-connection statement cache.
//!
//! A query with parameters is prepared once per connection as a named
//! statement and described, so later executions are one Bind/Execute/Sync
//! round trip, with parameters encoded for the types the server inferred and
//! every result column whose type has a binary codec fetched in binary.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use pgwire_proto::{Format, Oid, RowDescription};

/// Default number of statements kept per connection.
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 256;

/// What the cache knows about one prepared statement.
#[derive(Debug)]
pub(crate) struct CachedStatement {
    pub(crate) name: String,
    pub(crate) param_types: Vec<Oid>,
    /// The columns, with the formats `result_formats` asks for.
    pub(crate) description: Option<Arc<RowDescription>>,
    pub(crate) result_formats: Vec<Format>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    sql: String,
    declared: Vec<Oid>,
}

#[derive(Debug)]
pub(crate) struct StatementCache {
    capacity: usize,
    map: HashMap<Key, Arc<CachedStatement>>,
    /// Insertion order, for eviction.
    order: VecDeque<Key>,
    next: u64,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) -> Vec<String> {
        self.capacity = capacity;
        self.evict_to(capacity)
    }

    pub(crate) fn get(&self, sql: &str, declared: &[Oid]) -> Option<Arc<CachedStatement>> {
        // Building the key allocates; a miss is followed by a round trip
        // anyway, and a hit saves one.
        self.map
            .get(&Key {
                sql: sql.to_owned(),
                declared: declared.to_vec(),
            })
            .cloned()
    }

    /// A fresh statement name.
    pub(crate) fn next_name(&mut self) -> String {
        self.next += 1;
        format!("pgwire_s{}", self.next)
    }

    /// Names of statements to close to make room for one more.
    pub(crate) fn make_room(&mut self) -> Vec<String> {
        self.evict_to(self.capacity.saturating_sub(1))
    }

    fn evict_to(&mut self, size: usize) -> Vec<String> {
        let mut evicted = Vec::new();
        while self.map.len() > size {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            if let Some(stmt) = self.map.remove(&key) {
                evicted.push(stmt.name.clone());
            }
        }
        evicted
    }

    pub(crate) fn insert(&mut self, sql: &str, declared: &[Oid], stmt: Arc<CachedStatement>) {
        let key = Key {
            sql: sql.to_owned(),
            declared: declared.to_vec(),
        };
        self.order.push_back(key.clone());
        self.map.insert(key, stmt);
    }

    /// Forgets everything (after `DISCARD ALL` / `DEALLOCATE ALL`).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(name: &str) -> Arc<CachedStatement> {
        Arc::new(CachedStatement {
            name: name.into(),
            param_types: vec![],
            description: None,
            result_formats: vec![],
        })
    }

    #[test]
    fn evicts_oldest_first() {
        let mut c = StatementCache::new(2);
        c.insert("a", &[], stmt("s1"));
        c.insert("b", &[23], stmt("s2"));
        assert!(c.make_room() == ["s1"]);
        c.insert("c", &[], stmt("s3"));
        assert!(c.get("a", &[]).is_none());
        assert_eq!(
            c.get("b", &[23]).map(|s| s.name.clone()).as_deref(),
            Some("s2")
        );
        assert!(
            c.get("b", &[20]).is_none(),
            "declared types are part of the key"
        );
        c.clear();
        assert!(c.get("b", &[23]).is_none());
        c.insert("c", &[], stmt("s3"));
        assert_eq!(c.set_capacity(0), ["s3"]);
        assert!(!c.enabled());
    }
}
