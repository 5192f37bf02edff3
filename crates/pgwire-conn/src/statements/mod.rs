//! Statements the connection prepares for itself: the per-connection cache
//! and the preparation whose answer caches a statement once described.

mod cache;
mod preparing;

pub(crate) use cache::{
    names_ours, statement_prefix, CacheCounters, CachedStatement, StatementCache,
};
pub use cache::{StatementCacheStats, DEFAULT_STATEMENT_CACHE_CAPACITY};
pub(crate) use preparing::{result_formats, Preparing};
