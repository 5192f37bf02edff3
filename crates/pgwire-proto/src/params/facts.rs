//! The three checks every request makes of its SQL text before sending it,
//! from one scan instead of three.

use super::{scan, Placeholder};

/// What [`copies_from_stdin`](super::copies_from_stdin),
/// [`has_several_statements`](super::has_several_statements) and
/// [`max_positional`](super::max_positional) say of one text.
///
/// ```
/// use pgwire_proto::params::text_facts;
/// let facts = text_facts("select $2; copy t from stdin");
/// assert!(facts.copies_from_stdin && facts.several_statements);
/// assert_eq!(facts.max_positional, Some(2));
/// assert_eq!(text_facts("select 'open").max_positional, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextFacts {
    /// [`copies_from_stdin`](super::copies_from_stdin).
    pub copies_from_stdin: bool,
    /// [`has_several_statements`](super::has_several_statements).
    pub several_statements: bool,
    /// [`max_positional`](super::max_positional), `None` where it is an
    /// error (the text does not lex): call it to learn which.
    pub max_positional: Option<usize>,
}

/// The facts of `sql`, from a single scan; each field is exactly what its
/// own function returns.
pub fn text_facts(sql: &str) -> TextFacts {
    let (mut first_word, mut in_copy, mut copy_in) = (true, false, false);
    let mut several = false;
    let mut max = 0u16;
    // The visitor never fails: the scan stops only where the text does not
    // lex, as each function's own scan does.
    let scanned = scan(sql, |placeholder| {
        match placeholder {
            Placeholder::Semicolon(at) => {
                (first_word, in_copy) = (true, false);
                let rest = sql.get(at + 1..).unwrap_or_default();
                several |= !rest.trim_start().is_empty();
            }
            Placeholder::Word { start, end } => {
                let word = sql.get(start..end).unwrap_or_default();
                if first_word {
                    in_copy = word.eq_ignore_ascii_case("copy");
                    first_word = false;
                } else if in_copy && word.eq_ignore_ascii_case("stdin") {
                    copy_in = true;
                }
            }
            Placeholder::Positional(n) => max = max.max(n),
            Placeholder::Named { .. } => {}
        }
        Ok(())
    });
    TextFacts {
        copies_from_stdin: copy_in,
        several_statements: several || scanned.is_err(),
        max_positional: scanned.ok().map(|()| usize::from(max)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{copies_from_stdin, has_several_statements, max_positional};
    use super::*;

    #[test]
    fn each_fact_is_its_functions_answer() {
        for sql in [
            "",
            "select $1::int4",
            "select 1+1",
            "select 1; ",
            "select 1; select $3",
            "COPY t FROM STDIN",
            "copy t to stdout; select 'copy x from stdin'",
            "select 1; copy t (a) from stdin with (format csv)",
            "copy t from stdin; select $2",
            "select $0",
            "select $70000",
            "select 'open; copy t from stdin",
            "copy t from stdin; select 'open",
            "select \"a;b\", $$x;y$$, :n, $2 -- ; copy\n",
            "/* ; */ select e'\\';', $4",
            "select $1 /* unclosed",
        ] {
            let facts = text_facts(sql);
            assert_eq!(facts.copies_from_stdin, copies_from_stdin(sql), "{sql:?}");
            assert_eq!(
                facts.several_statements,
                has_several_statements(sql),
                "{sql:?}"
            );
            assert_eq!(facts.max_positional, max_positional(sql).ok(), "{sql:?}");
        }
    }
}
