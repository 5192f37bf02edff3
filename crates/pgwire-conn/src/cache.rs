//! The per-connection statement cache.
//!
//! A single statement is prepared once per connection as a named
//! statement and described, so later executions are one Bind/Execute/Sync
//! round trip, with parameters encoded for the types the server inferred and
//! every result column whose type has a binary codec fetched in binary.
//!
//! When the server can no longer use a statement (a table under it changed
//! shape: `cached plan must not change result type`), the cache forgets
//! every statement, and the eager query methods run the failed one again
//! once when no transaction was open.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use pgwire_proto::{Format, Oid, RowDescription};

/// Default number of statements kept per connection.
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 256;

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

#[derive(Debug)]
pub(crate) struct StatementCache {
    capacity: usize,
    /// By SQL text; several entries when the same text was run with
    /// parameters of different declared types.
    map: HashMap<String, Vec<Arc<CachedStatement>>>,
    /// Insertion order, for eviction.
    order: VecDeque<(String, Arc<CachedStatement>)>,
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
            .find(|s| {
                s.declared.len() == count
                    && s.declared
                        .iter()
                        .enumerate()
                        .all(|(i, &o)| o == declared(i))
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
        evicted
    }

    /// Adds a freshly prepared statement. When another task prepared the
    /// same text with the same declared types meanwhile, the one already
    /// cached stays and the fresh one's name is returned, to be closed.
    pub(crate) fn insert(&mut self, sql: &str, stmt: Arc<CachedStatement>) -> Option<String> {
        let declared = &stmt.declared;
        if self
            .get(sql, declared.len(), |i| {
                declared.get(i).copied().unwrap_or(0)
            })
            .is_some()
        {
            return Some(stmt.name.clone());
        }
        self.order.push_back((sql.to_owned(), Arc::clone(&stmt)));
        self.map.entry(sql.to_owned()).or_default().push(stmt);
        None
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

    #[test]
    fn evicts_oldest_first_and_keys_on_declared_types() {
        let mut c = StatementCache::new(2);
        c.insert("a", stmt("s1", &[]));
        c.insert("b", stmt("s2", &[23]));
        assert_eq!(c.make_room(), ["s1"]);
        c.insert("c", stmt("s3", &[]));
        assert!(c.get("a", 0, |_| 0).is_none());
        let name = |s: Option<Arc<CachedStatement>>| s.map(|s| s.name.clone());
        assert_eq!(name(c.get("b", 1, |_| 23)).as_deref(), Some("s2"));
        assert!(
            c.get("b", 1, |_| 20).is_none(),
            "declared types are part of the key"
        );
        assert!(c.get("b", 2, |_| 23).is_none());
        assert_eq!(c.make_room(), ["s2"]);
        c.insert("b", stmt("s4", &[20]));
        assert_eq!(name(c.get("b", 1, |_| 20)).as_deref(), Some("s4"));
        assert_eq!(c.clear(), ["s3", "s4"]);
        assert!(c.get("b", 1, |_| 20).is_none());
        c.insert("c", stmt("s5", &[]));
        assert_eq!(c.set_capacity(0), ["s5"]);
        assert!(!c.enabled());
    }

    #[test]
    fn a_twin_prepared_meanwhile_is_returned_for_closing() {
        let mut c = StatementCache::new(4);
        assert_eq!(c.insert("q", stmt("s1", &[23])), None);
        assert_eq!(c.insert("q", stmt("s2", &[23])).as_deref(), Some("s2"));
        assert_eq!(c.insert("q", stmt("s3", &[20])), None);
        assert_eq!(c.clear(), ["s1", "s3"]);
    }
}
