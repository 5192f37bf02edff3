//! What the lexer says of a SQL text before it is sent, remembered for the
//! connection's recent long texts.
//!
//! Every request is checked before a byte of it is queued: a `COPY ... FROM
//! STDIN` is refused, several statements go over the simple protocol, and
//! on a statement cache miss (always, with the cache off behind a
//! transaction-mode pooler) the highest `$n` must match the values given.
//! Each is a scan of the whole text; for a 16 KiB multi-row `INSERT` run
//! again and again they cost more than the rest of the request, so texts
//! past [`MIN_LEN`] are scanned once and then found by comparing bytes.

use std::collections::VecDeque;

use pgwire_proto::params::{
    check_count, check_positional, check_positional_count, copies_from_stdin,
    has_several_statements, max_positional, ParamError,
};

/// Shorter texts are scanned each time: that is as cheap as a look-up.
const MIN_LEN: usize = 1024;
/// Longer texts are not kept (they would pin their size in memory).
const MAX_LEN: usize = 256 * 1024;
/// How many texts are remembered.
const ENTRIES: usize = 16;
/// The bytes of text remembered, at most.
const MAX_BYTES: usize = 1024 * 1024;

/// The facts of one text.
#[derive(Debug, Clone, Copy)]
struct Facts {
    copy_in: bool,
    several: bool,
    /// `None` when the text does not lex (an unclosed quote): the check
    /// then runs again to say why.
    max_positional: Option<usize>,
}

impl Facts {
    fn of(sql: &str) -> Self {
        Facts {
            copy_in: copies_from_stdin(sql),
            several: has_several_statements(sql),
            max_positional: max_positional(sql).ok(),
        }
    }
}

/// The connection's recent long texts and their facts, most recent first.
#[derive(Debug, Default)]
pub(crate) struct SqlFacts {
    entries: VecDeque<(Box<str>, Facts)>,
    bytes: usize,
}

impl SqlFacts {
    /// The facts of a long `sql`, remembered; `None` for a short one.
    fn long(&mut self, sql: &str) -> Option<Facts> {
        if !(MIN_LEN..=MAX_LEN).contains(&sql.len()) {
            return None;
        }
        if let Some(i) = self
            .entries
            .iter()
            .position(|(text, _)| text.len() == sql.len() && **text == *sql)
        {
            return self.entries.get(i).map(|(_, facts)| *facts);
        }
        let facts = Facts::of(sql);
        self.bytes += sql.len();
        self.entries.push_front((sql.into(), facts));
        while self.entries.len() > ENTRIES || self.bytes > MAX_BYTES {
            match self.entries.pop_back() {
                Some((text, _)) => self.bytes -= text.len(),
                None => break,
            }
        }
        Some(facts)
    }

    /// [`copies_from_stdin`].
    pub(crate) fn copies_from_stdin(&mut self, sql: &str) -> bool {
        self.long(sql)
            .map_or_else(|| copies_from_stdin(sql), |f| f.copy_in)
    }

    /// [`has_several_statements`].
    pub(crate) fn has_several_statements(&mut self, sql: &str) -> bool {
        self.long(sql)
            .map_or_else(|| has_several_statements(sql), |f| f.several)
    }

    /// [`check_positional`].
    pub(crate) fn check_positional(&mut self, sql: &str, given: usize) -> Result<(), ParamError> {
        match self.long(sql).and_then(|f| f.max_positional) {
            Some(expected) => {
                check_count(given)?;
                check_positional_count(expected, given)
            }
            None => check_positional(sql, given),
        }
    }

    /// The bytes of text kept.
    pub(crate) fn retained_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_insert(rows: usize) -> String {
        let values: Vec<String> = (0..rows)
            .map(|r| format!("(${}, ${})", 2 * r + 1, 2 * r + 2))
            .collect();
        format!("insert into t (a, b) values {}", values.join(", "))
    }

    #[test]
    fn the_answers_are_the_lexers() {
        let mut memo = SqlFacts::default();
        let insert = long_insert(200);
        assert!(insert.len() >= MIN_LEN);
        let copy = format!("copy t from stdin -- {}", "x".repeat(MIN_LEN));
        let several = format!("select 1; select 2 -- {}", "x".repeat(MIN_LEN));
        let unclosed = format!("select '{}", "x".repeat(MIN_LEN));
        for _ in 0..2 {
            for sql in [
                insert.as_str(),
                &copy,
                &several,
                &unclosed,
                "select $1",
                "copy t from stdin",
            ] {
                assert_eq!(
                    memo.copies_from_stdin(sql),
                    copies_from_stdin(sql),
                    "{sql:.40}"
                );
                assert_eq!(
                    memo.has_several_statements(sql),
                    has_several_statements(sql),
                    "{sql:.40}"
                );
                for given in [0, 1, 400, 401] {
                    assert_eq!(
                        memo.check_positional(sql, given),
                        check_positional(sql, given),
                        "{sql:.40} with {given}"
                    );
                }
            }
        }
        // Only the long texts are kept, once each.
        assert_eq!(memo.entries.len(), 4);
        assert_eq!(
            memo.retained_bytes(),
            insert.len() + copy.len() + several.len() + unclosed.len()
        );
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let mut memo = SqlFacts::default();
        for i in 0..100 {
            let sql = format!("select {i} -- {}", "x".repeat(MIN_LEN));
            memo.copies_from_stdin(&sql);
        }
        assert_eq!(memo.entries.len(), ENTRIES);
        let huge = format!("select 1 -- {}", "x".repeat(MAX_LEN));
        assert!(!memo.copies_from_stdin(&huge));
        assert!(memo.entries.iter().all(|(t, _)| t.len() <= MAX_LEN));
        let big = "x".repeat(MAX_LEN - 20);
        for i in 0..10 {
            memo.copies_from_stdin(&format!("select {i} -- {big}"));
        }
        assert!(memo.retained_bytes() <= MAX_BYTES);
    }
}
