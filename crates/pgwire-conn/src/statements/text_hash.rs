//! The hash of the statement cache's SQL-text keys.
//!
//! Every query looks its text up, so the hash runs once per query.
//! SipHash (std's default) costs more than the rest of the lookup for a
//! short text; this multiply-rotate hash over 8-byte words (the scheme of
//! rustc's FxHash) costs a few instructions per word. It is seeded per
//! cache from `RandomState`, and a cache holds at most its capacity of
//! texts, so even texts chosen to collide cost no more than comparing
//! them with that many keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Builds [`TextHasher`]s with one cache's seed.
#[derive(Debug, Clone)]
pub(crate) struct TextHashState {
    seed: u64,
}

impl Default for TextHashState {
    fn default() -> Self {
        TextHashState {
            seed: RandomState::new().hash_one(0u8),
        }
    }
}

impl BuildHasher for TextHashState {
    type Hasher = TextHasher;

    fn build_hasher(&self) -> TextHasher {
        TextHasher(self.seed)
    }
}

/// The hasher itself (see the module's doc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextHasher(u64);

impl TextHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(K).rotate_left(26);
    }
}

impl Hasher for TextHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0; 8];
            if let Some(head) = w.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            // The length tells "ab" from "ab\0".
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(state: &TextHashState, text: &str) -> u64 {
        state.hash_one(text)
    }

    #[test]
    fn equal_texts_hash_alike_and_near_texts_apart() {
        let state = TextHashState::default();
        assert_eq!(hash(&state, "select 1"), hash(&state, "select 1"));
        let texts = [
            "",
            "a",
            "ab",
            "ab\0",
            "select 1",
            "select 2",
            "select 10",
            "SELECT $1::int4",
            "SELECT $1::int8",
            "select $1::int4 + 1 -- a longer text past two words",
        ];
        let hashes: std::collections::HashSet<u64> =
            texts.iter().map(|t| hash(&state, t)).collect();
        assert_eq!(hashes.len(), texts.len());
    }

    #[test]
    fn each_cache_has_its_own_seed() {
        let (a, b) = (TextHashState::default(), TextHashState::default());
        assert_ne!(hash(&a, "select 1"), hash(&b, "select 1"));
    }

    #[test]
    fn a_thousand_similar_texts_spread_over_the_low_bits() {
        let state = TextHashState::default();
        let buckets: std::collections::HashSet<u64> = (0..1000)
            .map(|i| hash(&state, &format!("select * from t where id = {i}")) & 1023)
            .collect();
        // A uniform hash fills about 63% of 1024 buckets with 1000 keys.
        assert!(buckets.len() > 550, "{} buckets", buckets.len());
    }
}
