//! What the lexer says of a SQL text before it is sent, remembered for the
//! connection's recent long texts.
//!
//! Every request is checked before a byte of it is queued: a `COPY ... FROM
//! STDIN` is refused, several statements go over the simple protocol, and
//! on a statement cache miss (always, with the cache off behind a
//! transaction-mode pooler) the highest `$n` must match the values given.
//! The three come from one scan of the whole text per request; for a 16 KiB
//! multi-row `INSERT` run again and again even that costs more than the
//! rest of the request, so texts past [`MIN_LEN`] are scanned once and then
//! found by comparing bytes.

use std::collections::VecDeque;

use pgwire_proto::params::{
    check_count, check_positional, check_positional_count, text_facts, ParamError,
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
pub(crate) struct Facts {
    pub(crate) copy_in: bool,
    pub(crate) several: bool,
    /// `None` when the text does not lex (an unclosed quote): the check
    /// then runs again to say why.
    pub(crate) max_positional: Option<usize>,
}

impl Facts {
    /// One scan for the three facts.
    fn of(sql: &str) -> Self {
        let facts = text_facts(sql);
        Facts {
            copy_in: facts.copies_from_stdin,
            several: facts.several_statements,
            max_positional: facts.max_positional,
        }
    }

    /// [`check_positional`] of the text with `given` values.
    pub(crate) fn check_positional(&self, sql: &str, given: usize) -> Result<(), ParamError> {
        match self.max_positional {
            Some(expected) => {
                check_count(given)?;
                check_positional_count(expected, given)
            }
            None => check_positional(sql, given),
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

    /// The facts of `sql`: remembered for a long text, else from one scan
    /// (for a request that needs more than one of them).
    pub(crate) fn of(&mut self, sql: &str) -> Facts {
        self.long(sql).unwrap_or_else(|| Facts::of(sql))
    }

    /// [`check_positional`].
    pub(crate) fn check_positional(&mut self, sql: &str, given: usize) -> Result<(), ParamError> {
        match self.long(sql) {
            Some(facts) => facts.check_positional(sql, given),
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
    use pgwire_proto::params::{copies_from_stdin, has_several_statements};

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
                for given in [0, 1, 400, 401] {
                    assert_eq!(
                        memo.check_positional(sql, given),
                        check_positional(sql, given),
                        "{sql:.40} with {given}"
                    );
                    assert_eq!(
                        memo.of(sql).check_positional(sql, given),
                        check_positional(sql, given),
                        "{sql:.40} with {given}"
                    );
                }
                let facts = memo.of(sql);
                assert_eq!(facts.copy_in, copies_from_stdin(sql), "{sql:.40}");
                assert_eq!(facts.several, has_several_statements(sql), "{sql:.40}");
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
            memo.of(&sql);
        }
        assert_eq!(memo.entries.len(), ENTRIES);
        let huge = format!("select 1 -- {}", "x".repeat(MAX_LEN));
        assert!(!memo.of(&huge).copy_in);
        assert!(memo.entries.iter().all(|(t, _)| t.len() <= MAX_LEN));
        let big = "x".repeat(MAX_LEN - 20);
        for i in 0..10 {
            memo.of(&format!("select {i} -- {big}"));
        }
        assert!(memo.retained_bytes() <= MAX_BYTES);
    }
}
