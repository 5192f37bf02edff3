//! Statements the connection prepares for itself: the per-connection cache
//! and the preparation whose answer caches a statement once described, and
//! what the lexer said of recent long texts.

mod cache;
mod facts;
mod preparing;
mod text_hash;

pub(crate) use cache::{
    names_ours, statement_prefix, CacheCounters, CachedStatement, StatementCache,
};
pub use cache::{StatementCacheStats, DEFAULT_STATEMENT_CACHE_CAPACITY};
pub(crate) use facts::{Facts, SqlFacts};
pub(crate) use preparing::{result_formats, Preparing};
