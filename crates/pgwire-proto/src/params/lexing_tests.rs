//! The invariant of the named-parameter rewrite: the rewritten text lexes
//! to the same tokens as the original, each `:name` (a `:` and an
//! identifier to PostgreSQL) replaced by one `$n`. A `$n` that joined the
//! token before or after it (`a$1`, `$$1`, `$1→b`) would change what the
//! statement means.
//!
//! The tokenizer here is written apart from the scanner under test, after
//! PostgreSQL's `scan.l` (the INITIAL state and the string, identifier,
//! comment and dollar-quote states), so that the two can disagree.

use proptest::prelude::*;

use super::{rewrite_named, NamedSql, ParamError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    /// `'...'`, `E'...'` and `$tag$...$tag$`.
    Str,
    /// `"..."`.
    Quoted,
    Param,
    /// A parameter followed by an identifier: an error to PostgreSQL
    /// ("trailing junk after parameter").
    Junk,
    Number,
    Comment,
    Op,
    Typecast,
    ColonEquals,
    /// Any other single byte: `:`, `$`, `,`, `(`, `[`, ...
    Char,
}

type Token<'a> = (Kind, &'a [u8]);

/// `scan.l`'s `ident_start`: any non-ASCII byte is a letter.
fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn ident_cont(c: u8) -> bool {
    ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// `scan.l`'s `op_chars`.
fn op_char(c: u8) -> bool {
    b"~!@#^&|`?+-*/%<>=".contains(&c)
}

/// The end of the run of bytes from `i` that satisfy `f`.
fn run(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while b.get(i).is_some_and(|&c| f(c)) {
        i += 1;
    }
    i
}

/// The end of a quoted body starting at `i`, just past the closing
/// `quote`; `None` when it never closes.
fn quoted(b: &[u8], mut i: usize, quote: u8, backslash: bool) -> Option<usize> {
    loop {
        match *b.get(i)? {
            c if c == quote && b.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return Some(i + 1),
            b'\\' if backslash => i += 2,
            _ => i += 1,
        }
    }
}

/// Lexes `sql`; `None` when a string, identifier, comment or dollar quote
/// is left open.
fn tokens(sql: &str) -> Option<Vec<Token<'_>>> {
    let mut out = Vec::new();
    lex(sql, &mut out).map(|()| out)
}

/// Appends the tokens of `sql` to `out`, up to a region left open (then
/// `None`).
fn lex<'a>(sql: &'a str, out: &mut Vec<Token<'a>>) -> Option<()> {
    let b = sql.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        let (kind, end) = match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if next == Some(b'-') => (Kind::Comment, run(b, i, |c| c != b'\n' && c != b'\r')),
            b'/' if next == Some(b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while depth > 0 {
                    match (b.get(j)?, b.get(j + 1)) {
                        (b'/', Some(b'*')) => (depth, j) = (depth + 1, j + 2),
                        (b'*', Some(b'/')) => (depth, j) = (depth - 1, j + 2),
                        _ => j += 1,
                    }
                }
                (Kind::Comment, j)
            }
            b'\'' => (Kind::Str, quoted(b, i + 1, b'\'', false)?),
            b'"' => (Kind::Quoted, quoted(b, i + 1, b'"', false)?),
            b'$' if next.is_some_and(|d| d.is_ascii_digit()) => {
                let digits = run(b, i + 1, |c| c.is_ascii_digit());
                if b.get(digits).is_some_and(|&c| ident_start(c)) {
                    (Kind::Junk, run(b, digits, ident_cont))
                } else {
                    (Kind::Param, digits)
                }
            }
            b'$' => {
                let tag_end = if next.is_some_and(ident_start) {
                    run(b, i + 1, |c| ident_start(c) || c.is_ascii_digit())
                } else {
                    i + 1
                };
                if b.get(tag_end) == Some(&b'$') {
                    let delimiter = &b[i..=tag_end];
                    let body = tag_end + 1;
                    let close = b[body..]
                        .windows(delimiter.len())
                        .position(|w| w == delimiter)?;
                    (Kind::Str, body + close + delimiter.len())
                } else {
                    // `dolqfailed`: only the `$` is taken, the rest lexed anew.
                    (Kind::Char, i + 1)
                }
            }
            // `xestart`, `xbstart`, `xhstart`, `xnstart` (the last three end
            // where a plain string would) and `xusstart`, `xuistart`: longer
            // matches than the one-letter identifier.
            b'e' | b'E' if next == Some(b'\'') => (Kind::Str, quoted(b, i + 2, b'\'', true)?),
            b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if next == Some(b'\'') => {
                (Kind::Str, quoted(b, i + 2, b'\'', false)?)
            }
            b'u' | b'U' if next == Some(b'&') && b.get(i + 2) == Some(&b'\'') => {
                (Kind::Str, quoted(b, i + 3, b'\'', false)?)
            }
            b'u' | b'U' if next == Some(b'&') && b.get(i + 2) == Some(&b'"') => {
                (Kind::Quoted, quoted(b, i + 3, b'"', false)?)
            }
            c if ident_start(c) => (Kind::Ident, run(b, i, ident_cont)),
            c if c.is_ascii_digit() || (c == b'.' && next.is_some_and(|d| d.is_ascii_digit())) => {
                let mut end = run(b, i, |c| c.is_ascii_digit());
                if b.get(end) == Some(&b'.') && b.get(end + 1) != Some(&b'.') {
                    end = run(b, end + 1, |c| c.is_ascii_digit());
                }
                // Without PostgreSQL 15's `integer_junk` and the like: a
                // number glued to an identifier is an error since, and
                // before it `1e'x'` was `1` and `e'x'`, as the scanner reads it.
                (Kind::Number, end)
            }
            b':' if next == Some(b':') => (Kind::Typecast, i + 2),
            b':' if next == Some(b'=') => (Kind::ColonEquals, i + 2),
            c if op_char(c) => (Kind::Op, operator_end(b, i)),
            _ => (Kind::Char, i + 1),
        };
        out.push((kind, &b[i..end]));
        i = end;
    }
    Some(())
}

/// `scan.l`'s `{operator}` rule: a run of `op_chars` that stops before a
/// comment start, and loses trailing `+`/`-` unless it holds one of
/// `~!@#^&|`?%`.
fn operator_end(b: &[u8], start: usize) -> usize {
    let mut end = start;
    while b.get(end).is_some_and(|&c| op_char(c)) {
        if end > start && matches!(&b[end..], [b'-', b'-', ..] | [b'/', b'*', ..]) {
            break;
        }
        end += 1;
    }
    let op = &b[start..end];
    if op.len() > 1 && !op.iter().any(|c| b"~!@#^&|`?%".contains(c)) {
        while end > start + 1 && matches!(b[end - 1], b'+' | b'-') {
            end -= 1;
        }
    }
    end
}

/// Pieces that glued to a neighbour make the cases a lexer gets wrong.
const SPECIAL: &[&str] = &[
    "select", "limit", "e", "E", "x", "u&", "U&", "é", "ünï", "a→b", "→", ":é", ":a$b", ":a→b",
    "$", "$yd", "$1", "$t$", ":", "::", ":=", "::int", "a[1:2]", "(", ")", "[", "]", ",", ";", "=",
    "+", "-", "*", "/", "<", ">", ".", "1.5", "\\",
];

/// SQL-ish pieces, among them the ones the lexer must not get wrong when
/// glued to a neighbour.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_$]{0,4}",
        4 => ":[a-z_][a-z0-9_]{0,3}",
        4 => proptest::sample::select(SPECIAL).prop_map(str::to_owned),
        2 => "'[a-z: $\\\\]{0,4}'",
        1 => "[eE]'[a-z: $]{0,4}'",
        1 => "\"[a-z: $]{0,4}\"",
        1 => "--[a-z: $]{0,4}\n",
        1 => "/\\*[a-z :*/$]{0,4}\\*/",
        1 => "\\$\\$[a-z :$]{0,4}\\$\\$",
        1 => "\\$t\\$[a-z :$]{0,4}\\$t\\$",
        1 => "[0-9]{1,3}",
    ]
}

/// Pieces joined with nothing (gluing them), a space or a newline.
fn sql_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (piece(), prop_oneof![Just(""), Just(" "), Just("\n")]),
        0..14,
    )
    .prop_map(|parts| parts.into_iter().map(|(p, sep)| p + sep).collect())
}

/// Checks the invariant for one text.
fn same_tokens(sql: &str) -> Result<(), TestCaseError> {
    let original = tokens(sql);
    let named = match rewrite_named(sql) {
        Ok(named) => named,
        Err(ParamError::Unterminated { .. }) => {
            prop_assert!(original.is_none(), "lexes, but called unterminated");
            return Ok(());
        }
        Err(ParamError::MixedStyles | ParamError::InvalidPositional { .. }) => {
            // The scan may have stopped before a region left open.
            let mut before = Vec::new();
            let _ = lex(sql, &mut before);
            let positional = before
                .iter()
                .any(|&(kind, text)| matches!(kind, Kind::Param | Kind::Junk) && text[0] == b'$');
            prop_assert!(positional, "no positional parameter");
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("unexpected {e:?}"))),
    };
    let Some(original) = original else {
        return Err(TestCaseError::fail("left open, but rewritten"));
    };
    if named.names.is_empty() {
        // Without placeholders (positional ones are the server's business)
        // the text is left as it is.
        prop_assert_eq!(&named.sql, sql);
        return Ok(());
    }
    let Some(rewritten) = tokens(&named.sql) else {
        return Err(TestCaseError::fail(format!(
            "rewritten text left open: {:?}",
            named.sql
        )));
    };
    // Back from the rewritten tokens to the original ones: `$n` is `:`
    // followed by the n-th name.
    let mut expected: Vec<Token<'_>> = Vec::new();
    for &(kind, text) in &rewritten {
        if kind != Kind::Param {
            expected.push((kind, text));
            continue;
        }
        let n: usize = std::str::from_utf8(&text[1..])
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let Some(name) = n.checked_sub(1).and_then(|i| named.names.get(i)) else {
            return Err(TestCaseError::fail(format!(
                "{} is no placeholder",
                String::from_utf8_lossy(text)
            )));
        };
        expected.push((Kind::Char, b":"));
        expected.push((Kind::Ident, name.as_bytes()));
    }
    prop_assert_eq!(
        expected,
        original,
        "rewritten as {:?} with names {:?}",
        named.sql,
        named.names
    );
    Ok(())
}

fn rewrite(sql: &str) -> (String, Vec<String>) {
    let named = rewrite_named(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"));
    (named.sql, named.names)
}

#[test]
fn colons_glued_to_the_token_before_are_left_alone() {
    // `$n` in place of these would join the token before it: `$$1`
    // opens a dollar quote, `$yd$1` a tagged one, `a$1` and `limit$1`
    // are identifiers (the last a column alias taking no parameter).
    for sql in [
        "select $:b",
        "select $yd:C",
        "select a:b",
        "select 1 limit:n",
        "select a[lo:hi], a[1:n], a[x$:y], é:n, a_:b, a1:b",
        // A closing `$` too: the rule looks at one character.
        "select $$ $$:f, $t$ $t$:g",
    ] {
        assert_eq!(
            rewrite_named(sql),
            Ok(NamedSql {
                sql: sql.into(),
                names: vec![]
            })
        );
    }
    // The same placeholders standing apart are rewritten.
    let (sql, names) = rewrite("select $ :b, a :b, 1 limit :n, a[lo: hi], a[:hi]");
    assert_eq!(sql, "select $ $1, a $1, 1 limit $2, a[lo: hi], a[$3]");
    assert_eq!(names, ["b", "n", "hi"]);
    // After a quote, a bracket, an operator or a cast, `$n` starts a new
    // token.
    let (sql, names) = rewrite(r#"select 'x':a, "c":b, (:c), 1=:d, x:::e"#);
    assert_eq!(sql, r#"select 'x'$1, "c"$2, ($3), 1=$4, x::$5"#);
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    // A value for a name left alone is one the statement does not use.
    let named = rewrite_named("select 1 limit:n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(named.order(["n"]), Err(ParamError::UnusedValue("n".into())));
}

#[test]
fn names_end_where_identifiers_end() {
    // `$` continues an identifier, so it continues the name.
    let (sql, names) = rewrite("select :a$b, :c$1, :d");
    assert_eq!(sql, "select $1, $2, $3");
    assert_eq!(names, ["a$b", "c$1", "d"]);
    // Not a dollar quote after `:a`, as PostgreSQL reads `a$$` as one
    // identifier: the `$$` after ` x ` opens a quote that never ends.
    assert_eq!(
        rewrite_named(":a$$ x $$"),
        Err(ParamError::Unterminated {
            what: "dollar-quoted string",
            position: 7
        })
    );
    // A one-letter prefix and a quote are a string (or identifier) to
    // PostgreSQL, not a name and a string: `e'\':y'` is the text `':y`.
    for sql in [
        r"select :e'\':y'",
        r#"select :E'x', :b'1', :X'1f', :n'x', :u&'x', :U&"x""#,
    ] {
        assert_eq!(
            rewrite_named(sql),
            Ok(NamedSql {
                sql: sql.into(),
                names: vec![]
            })
        );
    }
    assert_eq!(rewrite(":ex'x', :u&x").0, "$1'x', $2&x");
    // Names start like identifiers: not with a digit or `$`.
    assert_eq!(rewrite("select a[:1], :$x").0, "select a[:1], :$x");
}

#[test]
fn the_issue_cases_keep_their_tokens() {
    for sql in [
        "select $:b",
        "select $yd:C",
        "select a:b",
        "select 1 limit:n",
        "select :a→b",
        "select :a$b$ x $b$",
        "select a[lo:hi], :x",
    ] {
        same_tokens(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"));
    }
}

#[test]
fn the_tokenizer_follows_postgresql() {
    let kinds = |sql| {
        tokens(sql).map(|t| {
            t.iter()
                .map(|&(k, text)| (k, String::from_utf8_lossy(text).into_owned()))
                .collect::<Vec<_>>()
        })
    };
    let k = |kind, text: &str| (kind, text.to_owned());
    // `$$` opens a dollar quote that never closes.
    assert_eq!(kinds("select a$1 $$1"), None);
    assert_eq!(
        kinds("a$1 $1→b 1x :b x::int $yd:C"),
        Some(vec![
            k(Kind::Ident, "a$1"),
            k(Kind::Junk, "$1→b"),
            k(Kind::Number, "1"),
            k(Kind::Ident, "x"),
            k(Kind::Char, ":"),
            k(Kind::Ident, "b"),
            k(Kind::Ident, "x"),
            k(Kind::Typecast, "::"),
            k(Kind::Ident, "int"),
            k(Kind::Char, "$"),
            k(Kind::Ident, "yd"),
            k(Kind::Char, ":"),
            k(Kind::Ident, "C"),
        ])
    );
    assert_eq!(
        kinds("E'\\'' 'a\\' =-- c\n*/* /* */ */<=+-"),
        Some(vec![
            k(Kind::Str, "E'\\''"),
            k(Kind::Str, "'a\\'"),
            k(Kind::Op, "="),
            k(Kind::Comment, "-- c"),
            k(Kind::Op, "*"),
            k(Kind::Comment, "/* /* */ */"),
            k(Kind::Op, "<="),
            k(Kind::Op, "+"),
            k(Kind::Op, "-"),
        ])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn rewriting_keeps_the_tokens(sql in sql_text()) {
        same_tokens(&sql)?;
    }
}
