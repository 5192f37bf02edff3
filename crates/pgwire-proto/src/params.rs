//! Query parameters in SQL text: finding positional `$n` placeholders and
//! rewriting named `:name` placeholders to positional ones.
//!
//! PostgreSQL itself only knows `$1..$n`. Named placeholders are a client-side
//! convenience, so the client has to find them, and finding them with a regex
//! goes wrong as soon as a `:x` appears inside a string literal, a comment or
//! a dollar-quoted function body. This module therefore runs a small lexer
//! that follows PostgreSQL's lexical rules (`scan.l`) closely enough to know
//! what is code and what is not:
//!
//! * `'...'` strings with `''` escapes (also `B'...'`, `X'...'`, `N'...'`,
//!   `U&'...'`); backslash is an ordinary character in them, as with
//!   `standard_conforming_strings = on`, the default since PostgreSQL 9.1;
//! * `E'...'` escape strings, where `\` escapes the next character;
//! * `"..."` quoted identifiers with `""` escapes (also `U&"..."`);
//! * `$$...$$` and `$tag$...$tag$` dollar quotes;
//! * `--` line comments and nesting `/* ... */` block comments;
//! * `::` casts and `:=` assignments.
//!
//! A named placeholder is a `:` followed by an identifier as PostgreSQL
//! lexes one (letters, digits, `_` and `$`, any non-ASCII character counting
//! as a letter; not starting with a digit or `$`), and the `:` must not be
//! glued to a letter, digit, `_`, `$` or non-ASCII character before it.
//! Such a colon is SQL's own and left alone (`a[lo:hi]` is an array slice,
//! `limit:n` and `$:x` stay as written): the `$n` put in its place would
//! join the token before it (`a$1` is one identifier, `$$1` opens a dollar
//! quote) and change what the statement means. The same rule for the name's
//! end keeps `$n` from running into the text after it, so the rewritten text
//! reads as the same tokens as the original, each `:name` replaced by one
//! `$n`.
//!
//! Unterminated strings, identifiers, dollar quotes and block comments are
//! errors: guessing where they end could bind values to the wrong places.
//!
//! # Limitations
//!
//! * In named mode every `:` directly followed by an identifier and not
//!   glued to the token before it is a placeholder, including the upper
//!   bound of an array slice written `a[:hi]` or `a[lo :hi]`. Write
//!   `a[: hi]` or `a[lo:hi]` there.
//! * A session running with `standard_conforming_strings = off` treats `\'`
//!   in plain strings as an escape; this lexer does not.
//! * A placeholder name ends where PostgreSQL's identifier would, so
//!   `:a$b` names `a$b` and `:a→b` names `a→b` (non-ASCII characters count
//!   as letters, as they do in identifiers and in psql's `:variables`).
//!
//! The scan is a single pass over the bytes; only ASCII bytes have meaning to
//! it, so it is safe on any UTF-8 text and never splits a character.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

/// The highest parameter number PostgreSQL accepts: the Bind message counts
/// parameters in 16 bits.
const MAX_PARAM: u32 = u16::MAX as u32;

/// Something wrong with the placeholders of a statement or with the values
/// given for them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamError {
    /// A quoted or commented region runs to the end of the text.
    Unterminated {
        /// What was left open: `"string literal"`, `"quoted identifier"`,
        /// `"dollar-quoted string"` or `"block comment"`.
        what: &'static str,
        /// Byte offset where it starts.
        position: usize,
    },
    /// The statement uses both `$n` and `:name` placeholders.
    MixedStyles,
    /// A placeholder name has no value.
    MissingValue(String),
    /// A value was given for a name the statement does not use.
    UnusedValue(String),
    /// A value was given twice for the same name.
    DuplicateName(String),
    /// A positional placeholder numbered `$0` or above `$65535`.
    InvalidPositional {
        /// Byte offset of its `$`.
        position: usize,
    },
    /// More parameters than PostgreSQL takes (65,535: the protocol counts
    /// them in 16 bits): more values given, or more distinct `:name`s used.
    TooMany {
        /// The number of values or names.
        count: usize,
    },
    /// The number of values does not match the highest `$n` of the statement.
    PositionalCount {
        /// The highest `$n` used by the statement.
        expected: usize,
        /// The number of values given.
        given: usize,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unterminated { what, position } => {
                write!(f, "unterminated {what} starting at byte {position}")
            }
            ParamError::MixedStyles => f.write_str(
                "the statement mixes positional ($1) and named (:name) parameters",
            ),
            ParamError::MissingValue(name) => write!(f, "no value for parameter :{name}"),
            ParamError::UnusedValue(name) => write!(
                f,
                "a value was given for parameter :{name}, which the statement does not use"
            ),
            ParamError::DuplicateName(name) => {
                write!(f, "parameter :{name} was given more than once")
            }
            ParamError::InvalidPositional { position } => write!(
                f,
                "invalid positional parameter at byte {position}: parameters are numbered $1 to ${MAX_PARAM}"
            ),
            ParamError::TooMany { count } => write!(
                f,
                "{count} parameters, but PostgreSQL takes at most {MAX_PARAM}"
            ),
            ParamError::PositionalCount { expected, given } => write!(
                f,
                "the statement uses parameters up to ${expected}, but {given} values were given"
            ),
        }
    }
}

impl std::error::Error for ParamError {}

/// Returns the highest `$n` the statement uses, or 0 if it uses none.
///
/// `:name` placeholders are ignored: outside named mode a `:x` is SQL (an
/// array slice, say) and none of our business.
///
/// # Errors
///
/// [`ParamError::InvalidPositional`] for `$0` or a number above 65535,
/// [`ParamError::Unterminated`] for an unclosed quote or comment.
pub fn max_positional(sql: &str) -> Result<usize, ParamError> {
    let mut max = 0u16;
    scan(sql, |placeholder| {
        if let Placeholder::Positional(n) = placeholder {
            max = max.max(n);
        }
        Ok(())
    })?;
    Ok(usize::from(max))
}

/// Checks that `given` values fit the statement's positional placeholders:
/// its highest `$n` must equal `given`.
///
/// # Errors
///
/// [`ParamError::TooMany`] for more than 65,535 values,
/// [`ParamError::PositionalCount`] on a mismatch, and the errors of
/// [`max_positional`].
pub fn check_positional(sql: &str, given: usize) -> Result<(), ParamError> {
    check_count(given)?;
    check_positional_count(max_positional(sql)?, given)
}

/// The comparison of [`check_positional`], for a statement whose highest
/// `$n` is already known to be `expected` (the count itself is not checked
/// here: see [`check_count`]).
///
/// # Errors
///
/// [`ParamError::PositionalCount`] when `given` is not `expected`.
pub fn check_positional_count(expected: usize, given: usize) -> Result<(), ParamError> {
    if expected == given {
        Ok(())
    } else {
        Err(ParamError::PositionalCount { expected, given })
    }
}

/// [`ParamError::TooMany`] for more than 65,535 parameters.
///
/// ```
/// use pgwire_proto::params::{check_count, ParamError};
/// assert_eq!(check_count(65_535), Ok(()));
/// assert_eq!(check_count(65_536), Err(ParamError::TooMany { count: 65_536 }));
/// ```
///
/// # Errors
///
/// [`ParamError::TooMany`] when `count` is above 65,535.
pub fn check_count(count: usize) -> Result<(), ParamError> {
    if count > MAX_PARAM as usize {
        Err(ParamError::TooMany { count })
    } else {
        Ok(())
    }
}

/// A SQL text with `:name` placeholders rewritten to `$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSql {
    /// The rewritten SQL (same text except each placeholder replaced by `$n`).
    pub sql: String,
    /// Parameter names in `$n` order: `names[0]` is `$1`. A name used twice
    /// reuses its number.
    pub names: Vec<String>,
}

/// Rewrites `:name` placeholders to `$1`, `$2`, ... in order of first use.
///
/// A statement without named placeholders comes back unchanged, even if it
/// has positional ones: it is then the server that reports any values
/// missing for them.
///
/// # Errors
///
/// [`ParamError::MixedStyles`] if the statement also contains `$n`
/// placeholders, [`ParamError::Unterminated`] for an unclosed quote or
/// comment, [`ParamError::InvalidPositional`] for `$0` and the like,
/// [`ParamError::TooMany`] for more than 65,535 distinct names.
pub fn rewrite_named(sql: &str) -> Result<NamedSql, ParamError> {
    // Each `:name` becomes `$n`, which is at most a few bytes longer (only for
    // one-letter names past $9), so a little slack avoids regrowing.
    let mut out = String::with_capacity(sql.len() + 16);
    let mut names = NameIndex::default();
    let mut copied = 0;
    let mut positional = false;
    scan(sql, |placeholder| {
        match placeholder {
            Placeholder::Positional(_) => positional = true,
            Placeholder::Semicolon(_) | Placeholder::Word { .. } => {}
            Placeholder::Named { start, end } => {
                // The scanner only reports ranges on character boundaries
                // (they start at an ASCII `:` and end before an ASCII byte or
                // at the end), so these `get`s always succeed.
                out.push_str(sql.get(copied..start).unwrap_or_default());
                let name = sql.get(start + 1..end).unwrap_or_default();
                let number = names.number(name);
                // Writing to a String cannot fail.
                let _ = write!(out, "${number}");
                copied = end;
            }
        }
        if positional && !names.names.is_empty() {
            return Err(ParamError::MixedStyles);
        }
        Ok(())
    })?;
    check_count(names.names.len())?;
    // Without placeholders nothing was copied yet, so this is the whole text.
    out.push_str(sql.get(copied..).unwrap_or_default());
    let names = names.names.into_iter().map(str::to_owned).collect();
    Ok(NamedSql { sql: out, names })
}

/// Up to this many names, finding one is a linear search: statements have
/// few parameters, and that beats hashing every name. Past it a hash map
/// takes over, so that a statement with thousands of names stays linear.
const LINEAR_NAMES: usize = 16;

/// Distinct names in order of first use, each numbered by its position.
#[derive(Default)]
struct NameIndex<'a> {
    names: Vec<&'a str>,
    /// Empty until there are more than [`LINEAR_NAMES`] names.
    map: HashMap<&'a str, usize>,
}

impl<'a> NameIndex<'a> {
    fn from_names(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = NameIndex::default();
        for name in names {
            index.number(name);
        }
        index
    }

    fn position(&self, name: &str) -> Option<usize> {
        if self.map.is_empty() {
            self.names.iter().position(|&n| n == name)
        } else {
            self.map.get(name).copied()
        }
    }

    /// The `$n` of `name`, numbering it if it is new.
    fn number(&mut self, name: &'a str) -> usize {
        if let Some(index) = self.position(name) {
            return index + 1;
        }
        self.names.push(name);
        let count = self.names.len();
        if count > LINEAR_NAMES {
            if self.map.is_empty() {
                self.map = self
                    .names
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| (n, i))
                    .collect();
            } else {
                self.map.insert(name, count - 1);
            }
        }
        count
    }
}

impl NamedSql {
    /// Orders values given by name into positional order.
    ///
    /// `given` is the list of names the caller supplied, in the caller's
    /// order (without the leading `:`). Returns, for each `$n` in order, the
    /// index into `given` of its value.
    ///
    /// # Errors
    ///
    /// [`ParamError::UnusedValue`] for a supplied name the statement does not
    /// use, [`ParamError::DuplicateName`] for a name supplied twice,
    /// [`ParamError::MissingValue`] for a placeholder without a value.
    pub fn order<'a>(
        &self,
        given: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<usize>, ParamError> {
        // usize::MAX marks "no value yet"; no caller can supply that many.
        let mut slots = vec![usize::MAX; self.names.len()];
        let names = NameIndex::from_names(self.names.iter().map(String::as_str));
        for (index, name) in given.into_iter().enumerate() {
            let Some(slot) = names.position(name).and_then(|p| slots.get_mut(p)) else {
                return Err(ParamError::UnusedValue(name.to_owned()));
            };
            if *slot != usize::MAX {
                return Err(ParamError::DuplicateName(name.to_owned()));
            }
            *slot = index;
        }
        if let Some((name, _)) = self
            .names
            .iter()
            .zip(&slots)
            .find(|(_, &slot)| slot == usize::MAX)
        {
            return Err(ParamError::MissingValue(name.clone()));
        }
        Ok(slots)
    }
}

/// A placeholder found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    /// `$n`, with `n` known to be in `1..=65535`.
    Positional(u16),
    /// `:name` at `start..end` (`start` is the colon).
    Named { start: usize, end: usize },
    /// A `;` ending a statement, at this byte offset.
    Semicolon(usize),
    /// An identifier or keyword at `start..end`.
    Word { start: usize, end: usize },
}

/// True when `sql` holds more than one statement: a `;` outside strings,
/// quoted identifiers, dollar quotes and comments, followed by more than
/// whitespace. Such text can only go over the simple protocol (the
/// extended protocol's Parse takes one statement). Text the scanner cannot
/// read (an unclosed quote) counts as several, leaving the verdict to the
/// server.
///
/// ```
/// use pgwire_proto::params::has_several_statements;
/// assert!(!has_several_statements("select ';'; "));
/// assert!(has_several_statements("create table t (a int); insert into t values (1)"));
/// ```
pub fn has_several_statements(sql: &str) -> bool {
    let mut several = false;
    let scanned = scan(sql, |placeholder| {
        if let Placeholder::Semicolon(at) = placeholder {
            let rest = sql.get(at + 1..).unwrap_or_default();
            several |= !rest.trim_start().is_empty();
        }
        Ok(())
    });
    several || scanned.is_err()
}

/// True when a statement of `sql` is a `COPY ... FROM STDIN`: one that
/// would put the session in copy-in mode, where the server reads the
/// client's next messages as COPY data. Without a COPY API a client can
/// only refuse that mode, and requests pipelined behind it would be taken
/// as bad COPY data and lost, so such text is refused before sending.
///
/// ```
/// use pgwire_proto::params::copies_from_stdin;
/// assert!(copies_from_stdin("select 1; COPY t (a) FROM stdin WITH (FORMAT csv)"));
/// assert!(!copies_from_stdin("copy t to stdout; select 'copy x from stdin'"));
/// ```
pub fn copies_from_stdin(sql: &str) -> bool {
    let (mut first_word, mut in_copy, mut found) = (true, false, false);
    // An unreadable text (unclosed quote) is refused by the server anyway.
    let _ = scan(sql, |placeholder| {
        match placeholder {
            Placeholder::Semicolon(_) => (first_word, in_copy) = (true, false),
            Placeholder::Word { start, end } => {
                let word = sql.get(start..end).unwrap_or_default();
                if first_word {
                    in_copy = word.eq_ignore_ascii_case("copy");
                    first_word = false;
                } else if in_copy && word.eq_ignore_ascii_case("stdin") {
                    found = true;
                }
            }
            _ => {}
        }
        Ok(())
    });
    found
}

/// Statement keywords whose statements return no rows (unless they say
/// `RETURNING`).
const ROWLESS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "create",
    "alter",
    "drop",
    "truncate",
    "grant",
    "revoke",
    "comment",
    "set",
    "reset",
    "begin",
    "start",
    "commit",
    "end",
    "rollback",
    "abort",
    "savepoint",
    "release",
    "lock",
    "vacuum",
    "analyze",
    "analyse",
    "cluster",
    "reindex",
    "refresh",
    "discard",
    "listen",
    "unlisten",
    "notify",
    "deallocate",
    "do",
    "checkpoint",
    "security",
    "import",
    "load",
];

/// False only when `sql` surely returns no rows: its first keyword starts
/// a statement without a result set (`INSERT`, `CREATE`, `SET`, ...) and
/// no `RETURNING` follows. A statement that may return rows is described
/// before its first run, so that its results come in binary from the start.
///
/// ```
/// use pgwire_proto::params::may_return_rows;
/// assert!(!may_return_rows("create table t (a int)"));
/// assert!(may_return_rows("insert into t values (1) returning a"));
/// assert!(may_return_rows("select 1"));
/// ```
pub fn may_return_rows(sql: &str) -> bool {
    let mut first = None;
    let mut returning = false;
    let scanned = scan(sql, |placeholder| {
        if let Placeholder::Word { start, end } = placeholder {
            let word = sql.get(start..end).unwrap_or_default();
            if first.is_none() {
                first = Some(word);
            } else if word.eq_ignore_ascii_case("returning") {
                returning = true;
            }
        }
        Ok(())
    });
    let rowless = first.is_some_and(|w| ROWLESS.iter().any(|k| w.eq_ignore_ascii_case(k)));
    scanned.is_err() || returning || !rowless
}

/// Walks `sql` once and reports every placeholder outside strings, quoted
/// identifiers, dollar quotes and comments, in text order.
fn scan(
    sql: &str,
    mut visit: impl FnMut(Placeholder) -> Result<(), ParamError>,
) -> Result<(), ParamError> {
    let b = sql.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        i = match c {
            b'\'' => skip_quoted(b, i, i + 1, b'\'', false, "string literal")?,
            b'"' => skip_quoted(b, i, i + 1, b'"', false, "quoted identifier")?,
            // Only a token-initial E makes an escape string: `nameE'x'` is the
            // identifier `nameE` and a plain string, which the identifier arm
            // below takes care of by consuming whole identifiers.
            b'e' | b'E' if next == Some(b'\'') => {
                skip_quoted(b, i, i + 2, b'\'', true, "string literal")?
            }
            b'-' if next == Some(b'-') => skip_line_comment(b, i + 2),
            b'/' if next == Some(b'*') => skip_block_comment(b, i)?,
            b'$' => match next {
                Some(d) if d.is_ascii_digit() => {
                    let (number, end) = parse_param_number(b, i + 1);
                    let number = u16::try_from(number)
                        .ok()
                        .filter(|&n| n != 0)
                        .ok_or(ParamError::InvalidPositional { position: i })?;
                    visit(Placeholder::Positional(number))?;
                    end
                }
                _ => skip_dollar(b, i)?,
            },
            b':' => match next {
                // A cast (`x::int`) or an assignment (`x := 1`): skip both
                // bytes so the second colon cannot start a placeholder.
                Some(b':' | b'=') => i + 2,
                // Glued to an identifier character before it (`a[lo:hi]`,
                // `limit:n`, `$:x`): a `$n` here would join that token.
                _ if i
                    .checked_sub(1)
                    .and_then(|before| b.get(before))
                    .is_some_and(|&c| is_ident_cont(c)) =>
                {
                    i + 1
                }
                _ => match name_end(b, i + 1) {
                    Some(end) => {
                        visit(Placeholder::Named { start: i, end })?;
                        end
                    }
                    // A lone colon, as in the slice `a[1:2]`.
                    None => i + 1,
                },
            },
            b';' => {
                visit(Placeholder::Semicolon(i))?;
                i + 1
            }
            // Consume identifiers (and keywords) whole, including the `$` and
            // digits PostgreSQL allows after the first character, so that
            // `foo$bar$` or `x$1` is never mistaken for a dollar quote or a
            // parameter.
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while b.get(j).is_some_and(|&c| is_ident_cont(c)) {
                    j += 1;
                }
                visit(Placeholder::Word { start: i, end: j })?;
                j
            }
            _ => i + 1,
        };
    }
    Ok(())
}

/// PostgreSQL's `ident_start`: bytes of non-ASCII characters count as
/// letters, whatever the character.
fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// PostgreSQL's `ident_cont`.
fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// Skips a quoted region whose body starts at `body` and returns the index
/// just past its closing quote. A doubled quote is an escaped quote; with
/// `backslash`, `\` escapes the byte after it (a quote or anything else).
fn skip_quoted(
    b: &[u8],
    start: usize,
    body: usize,
    quote: u8,
    backslash: bool,
    what: &'static str,
) -> Result<usize, ParamError> {
    let mut j = body;
    loop {
        match b.get(j) {
            None => {
                return Err(ParamError::Unterminated {
                    what,
                    position: start,
                })
            }
            Some(&c) if c == quote => {
                if b.get(j + 1) == Some(&quote) {
                    j += 2;
                } else {
                    return Ok(j + 1);
                }
            }
            // Skipping one byte is enough even for a multi-byte character:
            // continuation bytes are never quotes or backslashes.
            Some(b'\\') if backslash => j += 2,
            Some(_) => j += 1,
        }
    }
}

/// Skips to just past the end of the line; PostgreSQL ends `--` comments at
/// either `\n` or `\r`. A comment may end the text.
fn skip_line_comment(b: &[u8], body: usize) -> usize {
    match b
        .get(body..)
        .and_then(|rest| rest.iter().position(|&c| c == b'\n' || c == b'\r'))
    {
        Some(offset) => body + offset + 1,
        None => b.len(),
    }
}

/// Skips a block comment starting at `start` (its `/*`), honouring nesting.
fn skip_block_comment(b: &[u8], start: usize) -> Result<usize, ParamError> {
    let mut depth = 1usize;
    let mut j = start + 2;
    loop {
        match (b.get(j), b.get(j + 1)) {
            (None, _) => {
                return Err(ParamError::Unterminated {
                    what: "block comment",
                    position: start,
                })
            }
            (Some(b'/'), Some(b'*')) => {
                depth += 1;
                j += 2;
            }
            (Some(b'*'), Some(b'/')) => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return Ok(j);
                }
            }
            _ => j += 1,
        }
    }
}

/// Parses the digits of a `$n` starting at `from`; returns the number
/// (saturated, so overflow stays detectable) and the index after it.
///
/// Underscores between digits are accepted, as PostgreSQL 16 does (`$1_0`).
fn parse_param_number(b: &[u8], from: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut j = from;
    loop {
        match b.get(j) {
            Some(&d) if d.is_ascii_digit() => {
                value = value.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                j += 1;
            }
            Some(b'_') if j > from && b.get(j + 1).is_some_and(u8::is_ascii_digit) => j += 1,
            _ => break,
        }
    }
    // Any saturated value is far above the limit; clamp so callers need only
    // compare against MAX_PARAM.
    (value.min(MAX_PARAM + 1), j)
}

/// At a `$` not followed by a digit: skips a dollar-quoted string if one
/// starts here, or else just the `$`.
fn skip_dollar(b: &[u8], start: usize) -> Result<usize, ParamError> {
    // The tag is an identifier without `$`, not starting with a digit.
    let mut j = start + 1;
    if b.get(j).is_some_and(|&c| is_ident_start(c)) {
        j += 1;
        while b
            .get(j)
            .is_some_and(|&c| is_ident_start(c) || c.is_ascii_digit())
        {
            j += 1;
        }
    }
    if b.get(j) != Some(&b'$') {
        // Not a dollar quote (`$` alone is not valid SQL; the server will say
        // so). Step over the `$` only, so a following identifier is lexed as
        // one.
        return Ok(start + 1);
    }
    let body = j + 1;
    let Some(delimiter) = b.get(start..body) else {
        return Ok(start + 1);
    };
    // The body ends at the first occurrence of the exact delimiter; anything
    // else that looks like a tag (`$$` inside `$fn$...$fn$`) is body text.
    let closing = b.get(body..).and_then(|rest| {
        rest.windows(delimiter.len())
            .position(|window| window == delimiter)
    });
    match closing {
        Some(offset) => Ok(body + offset + delimiter.len()),
        None => Err(ParamError::Unterminated {
            what: "dollar-quoted string",
            position: start,
        }),
    }
}

/// If a placeholder name starts at byte `from`, returns the index just past
/// it. A name is an identifier as PostgreSQL lexes one, so that it ends
/// where the server's token would: a shorter name would leave `$n` glued
/// to the rest (`$1→b` is trailing junk after a parameter to PostgreSQL 16).
/// The end is at an ASCII byte or the end of the text, so on a character
/// boundary.
fn name_end(b: &[u8], from: usize) -> Option<usize> {
    if !b.get(from).is_some_and(|&c| is_ident_start(c)) {
        return None;
    }
    let mut end = from + 1;
    while b.get(end).is_some_and(|&c| is_ident_cont(c)) {
        end += 1;
    }
    // `e'...'`, `b'...'`, `x'...'`, `n'...'`, `u&'...'` and `u&"..."` are
    // one string or identifier to PostgreSQL (the longer match), so the
    // colon before them stands alone.
    let prefix = matches!(
        (b.get(from..end), b.get(end), b.get(end + 1)),
        (
            Some([b'b' | b'B' | b'e' | b'E' | b'n' | b'N' | b'x' | b'X']),
            Some(b'\''),
            _
        ) | (Some([b'u' | b'U']), Some(b'&'), Some(b'\'' | b'"'))
    );
    (!prefix).then_some(end)
}

mod facts;
pub use facts::{text_facts, TextFacts};

#[cfg(test)]
mod lexing_tests;

#[cfg(test)]
mod tests;
