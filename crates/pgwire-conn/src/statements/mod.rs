//! Statements the connection prepares for itself: the per-connection cache
//! and the preparation whose answer caches a statement once described.

mod cache;
mod preparing;

pub use cache::DEFAULT_STATEMENT_CACHE_CAPACITY;
pub(crate) use cache::{CachedStatement, StatementCache};
pub(crate) use preparing::{result_formats, Preparing};
