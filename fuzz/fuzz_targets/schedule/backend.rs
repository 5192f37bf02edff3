//! A small deterministic PostgreSQL backend: it completes startup, then
//! reads the frontend messages the library sends (simple Query, and
//! Parse/Bind/Describe/Execute/Close/Flush/Sync) and answers them as
//! PostgreSQL does, skipping to the next Sync after an error, with answers
//! whose content names the request. Its SQL is a tiny language:
//!
//! - `select A [+ B] [/ 0] [from series K]`: one int4 column `x`, K rows
//!   (1 without `from series`) holding A+B, A+B+1, ...; `/ 0` fails at
//!   execution with 22012, as `select 1/0` does.
//! - `insert A`: no columns, command tag `INSERT 0 A` (A rows "inserted").
//!
//! A and B are integer literals or `$n::int4` parameters. Every error's
//! message ends with `[v]`, v the value the statement would have returned,
//! so that a task can tell its own errors from anyone else's.
//!
//! Like PostgreSQL it writes its answers into an output buffer sent at
//! Sync, Flush, the end of a simple Query, or when the buffer fills; and it
//! stops reading while its send buffer (what the network has not
//! delivered yet) is full, as a backend blocked in `send()` does.

use std::collections::{HashMap, VecDeque};

/// Where PostgreSQL flushes its output buffer on its own.
const OUTPUT_BUFFER: usize = 8192;

const INT4: i32 = 23;

struct Statement {
    sql: String,
    /// Parameter type OIDs as Parse gave them (0: unspecified).
    types: Vec<i32>,
    params: usize,
}

struct Portal {
    sql: String,
    params: Vec<i64>,
    /// The result column's format (0 text, 1 binary).
    format: i16,
}

/// What a statement does once its parameters are known.
enum Outcome {
    Rows { first: i64, count: i64 },
    Insert(i64),
    DivisionByZero(i64),
}

/// A statement's shape, known at Parse.
struct Shape {
    params: usize,
    columns: bool,
}

pub struct Backend {
    started: bool,
    /// Read from the socket, not yet processed.
    inbox: Vec<u8>,
    /// Answers not yet flushed.
    outbuf: Vec<u8>,
    /// Flushed, not yet delivered by the network.
    pub outgoing: VecDeque<u8>,
    /// How much `outgoing` holds before the backend stops reading.
    pub out_cap: usize,
    statements: HashMap<String, Statement>,
    portals: HashMap<String, Portal>,
    /// An extended-protocol error: discard messages up to the next Sync.
    skipping: bool,
    /// How many of the next executions fail (an injected server error).
    pub fail_next: u32,
    /// Closed (by the schedule or by Terminate): reads nothing more.
    pub closed: bool,
}

fn msg(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
}

fn error(out: &mut Vec<u8>, code: &str, message: &str) {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', "ERROR"),
        (b'V', "ERROR"),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    msg(out, b'E', &body);
}

fn row_description(out: &mut Vec<u8>, format: i16) {
    let mut body = vec![0, 1];
    body.extend_from_slice(b"x\0");
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&INT4.to_be_bytes());
    body.extend_from_slice(&4i16.to_be_bytes());
    body.extend_from_slice(&(-1i32).to_be_bytes());
    body.extend_from_slice(&format.to_be_bytes());
    msg(out, b'T', &body);
}

fn data_row(out: &mut Vec<u8>, value: i64, format: i16) {
    let bytes = if format == 1 {
        (value as i32).to_be_bytes().to_vec()
    } else {
        value.to_string().into_bytes()
    };
    let mut body = vec![0, 1];
    body.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    body.extend_from_slice(&bytes);
    msg(out, b'D', &body);
}

fn tag(out: &mut Vec<u8>, text: &str) {
    let mut body = text.as_bytes().to_vec();
    body.push(0);
    msg(out, b'C', &body);
}

/// A term's parameter number (1-based), or its literal value.
enum Term {
    Param(usize),
    Literal(i64),
}

fn term(token: &str) -> Option<Term> {
    if let Some(n) = token
        .strip_prefix('$')
        .and_then(|t| t.strip_suffix("::int4"))
    {
        return n.parse().ok().filter(|&n| n > 0).map(Term::Param);
    }
    token.parse().ok().map(Term::Literal)
}

/// The parsed statement: its terms (summed), whether it divides by zero,
/// its row count, and whether it is an insert.
struct Parsed {
    terms: Vec<Term>,
    divide: bool,
    count: i64,
    insert: bool,
}

fn parse_sql(sql: &str) -> Option<Parsed> {
    let tokens: Vec<&str> = sql.split_whitespace().collect();
    match tokens.as_slice() {
        ["insert", a] => Some(Parsed {
            terms: vec![term(a)?],
            divide: false,
            count: 1,
            insert: true,
        }),
        ["select", rest @ ..] => {
            let mut rest = rest;
            let mut terms = vec![term(rest.first()?)?];
            rest = &rest[1..];
            if let ["+", b, tail @ ..] = rest {
                terms.push(term(b)?);
                rest = tail;
            }
            let mut divide = false;
            if let ["/", "0", tail @ ..] = rest {
                divide = true;
                rest = tail;
            }
            let mut count = 1;
            if let ["from", "series", k, tail @ ..] = rest {
                count = k.parse().ok()?;
                rest = tail;
            }
            rest.is_empty().then_some(Parsed {
                terms,
                divide,
                count,
                insert: false,
            })
        }
        _ => None,
    }
}

fn shape(sql: &str) -> Shape {
    let parsed =
        parse_sql(sql).unwrap_or_else(|| panic!("fake backend: SQL it does not know: {sql:?}"));
    let params = parsed
        .terms
        .iter()
        .map(|t| match t {
            Term::Param(n) => *n,
            Term::Literal(_) => 0,
        })
        .max()
        .unwrap_or(0);
    Shape {
        params,
        columns: !parsed.insert,
    }
}

fn outcome(sql: &str, params: &[i64]) -> Outcome {
    let parsed = parse_sql(sql).expect("checked at Parse");
    let value: i64 = parsed
        .terms
        .iter()
        .map(|t| match t {
            Term::Param(n) => params[n - 1],
            Term::Literal(v) => *v,
        })
        .sum();
    if parsed.insert {
        Outcome::Insert(value)
    } else if parsed.divide {
        Outcome::DivisionByZero(value)
    } else {
        Outcome::Rows {
            first: value,
            count: parsed.count,
        }
    }
}

/// The value an outcome names (the first row's, the insert's).
fn named(outcome: &Outcome) -> i64 {
    match outcome {
        Outcome::Rows { first, .. } => *first,
        Outcome::Insert(v) | Outcome::DivisionByZero(v) => *v,
    }
}

/// A reader over a message body; the library's messages are well formed,
/// so a short one is a finding (a panic here).
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        assert!(self.0.len() >= n, "fake backend: a short frontend message");
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.bytes(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.bytes(4).try_into().unwrap())
    }
    fn cstr(&mut self) -> String {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .expect("fake backend: an unterminated string");
        let s = String::from_utf8(self.0[..end].to_vec()).expect("fake backend: not UTF-8");
        self.0 = &self.0[end + 1..];
        s
    }
}

/// The format of column 0 (or parameter `i`) from a list of format codes.
fn format_at(formats: &[i16], i: usize) -> i16 {
    match formats.len() {
        0 => 0,
        1 => formats[0],
        _ => formats[i],
    }
}

impl Backend {
    pub fn new(out_cap: usize) -> Self {
        Backend {
            started: false,
            inbox: Vec::new(),
            outbuf: Vec::new(),
            outgoing: VecDeque::new(),
            out_cap,
            statements: HashMap::new(),
            portals: HashMap::new(),
            skipping: false,
            fail_next: 0,
            closed: false,
        }
    }

    /// Reads `bytes` and answers every whole message it can before its
    /// send buffer fills. True if it did anything.
    pub fn receive(&mut self, bytes: &[u8]) -> bool {
        self.inbox.extend_from_slice(bytes);
        let mut progressed = !bytes.is_empty();
        while !self.closed && self.outgoing.len() < self.out_cap {
            let Some(done) = self.one() else { break };
            progressed = true;
            self.inbox.drain(..done);
        }
        progressed
    }

    /// True while it holds messages it has not answered (it waits for its
    /// send buffer to drain).
    pub fn has_unread(&self) -> bool {
        !self.inbox.is_empty() && !self.closed
    }

    fn flush(&mut self) {
        self.outgoing.extend(self.outbuf.drain(..));
    }

    /// Handles the first whole message in the inbox; returns its length.
    fn one(&mut self) -> Option<usize> {
        if !self.started {
            if self.inbox.len() < 4 {
                return None;
            }
            let len = u32::from_be_bytes(self.inbox[..4].try_into().unwrap()) as usize;
            if self.inbox.len() < len {
                return None;
            }
            self.started = true;
            self.startup();
            return Some(len);
        }
        if self.inbox.len() < 5 {
            return None;
        }
        let len = u32::from_be_bytes(self.inbox[1..5].try_into().unwrap()) as usize;
        assert!(len >= 4, "fake backend: a message length below 4");
        if self.inbox.len() < 1 + len {
            return None;
        }
        let tag = self.inbox[0];
        let body = self.inbox[5..1 + len].to_vec();
        self.message(tag, &body);
        if self.outbuf.len() > OUTPUT_BUFFER {
            self.flush();
        }
        Some(1 + len)
    }

    fn startup(&mut self) {
        let out = &mut self.outbuf;
        msg(out, b'R', &0i32.to_be_bytes());
        for (name, value) in [
            ("server_version", "15.0"),
            ("client_encoding", "UTF8"),
            ("standard_conforming_strings", "on"),
        ] {
            let mut body = Vec::new();
            for s in [name, value] {
                body.extend_from_slice(s.as_bytes());
                body.push(0);
            }
            msg(out, b'S', &body);
        }
        let mut key = 4242i32.to_be_bytes().to_vec();
        key.extend_from_slice(&77i32.to_be_bytes());
        msg(out, b'K', &key);
        msg(out, b'Z', b"I");
        self.flush();
    }

    fn message(&mut self, tag: u8, body: &[u8]) {
        if self.skipping && tag != b'S' && tag != b'X' {
            return;
        }
        let mut body = Body(body);
        match tag {
            b'Q' => self.query(&body.cstr()),
            b'P' => self.parse(&mut body),
            b'B' => self.bind(&mut body),
            b'D' => self.describe(&mut body),
            b'E' => self.execute(&mut body),
            b'C' => {
                let kind = body.bytes(1)[0];
                let name = body.cstr();
                match kind {
                    b'S' => self.statements.remove(&name).map(|_| ()),
                    b'P' => self.portals.remove(&name).map(|_| ()),
                    other => panic!("fake backend: Close of kind {other}"),
                };
                msg(&mut self.outbuf, b'3', &[]);
            }
            b'H' => self.flush(),
            b'S' => {
                self.skipping = false;
                // The implicit transaction ends, and its portals with it.
                self.portals.clear();
                msg(&mut self.outbuf, b'Z', b"I");
                self.flush();
            }
            b'X' => {
                self.flush();
                self.closed = true;
            }
            other => panic!("fake backend: frontend message {:?}", other as char),
        }
    }

    /// An extended-protocol error: sent, then everything up to Sync skipped.
    fn fail(&mut self, code: &str, message: &str) {
        error(&mut self.outbuf, code, message);
        self.skipping = true;
    }

    fn query(&mut self, sql: &str) {
        // A simple Query drops the unnamed statement, as PostgreSQL's does.
        self.statements.remove("");
        let mut any = false;
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            any = true;
            let shape = shape(statement);
            assert_eq!(
                shape.params, 0,
                "fake backend: parameters in a simple Query"
            );
            let outcome = outcome(statement, &[]);
            if !self.run(&outcome, shape.columns, 0, true) {
                break;
            }
        }
        if !any {
            msg(&mut self.outbuf, b'I', &[]);
        }
        msg(&mut self.outbuf, b'Z', b"I");
        self.flush();
    }

    /// Runs a statement: its rows and tag, or its error. False on error.
    fn run(&mut self, outcome: &Outcome, columns: bool, format: i16, describe: bool) -> bool {
        let value = named(outcome);
        if self.fail_next > 0 {
            self.fail_next -= 1;
            error(
                &mut self.outbuf,
                "40001",
                &format!("injected failure [{value}]"),
            );
            return false;
        }
        if let Outcome::DivisionByZero(_) = outcome {
            error(
                &mut self.outbuf,
                "22012",
                &format!("division by zero [{value}]"),
            );
            return false;
        }
        if describe && columns {
            row_description(&mut self.outbuf, format);
        }
        match *outcome {
            Outcome::Rows { first, count } => {
                for i in 0..count {
                    data_row(&mut self.outbuf, first + i, format);
                }
                tag(&mut self.outbuf, &format!("SELECT {count}"));
            }
            Outcome::Insert(n) => tag(&mut self.outbuf, &format!("INSERT 0 {n}")),
            Outcome::DivisionByZero(_) => unreachable!(),
        }
        true
    }

    fn parse(&mut self, body: &mut Body<'_>) {
        let name = body.cstr();
        let sql = body.cstr();
        let n = body.i16();
        let types: Vec<i32> = (0..n).map(|_| body.i32()).collect();
        if !name.is_empty() && self.statements.contains_key(&name) {
            return self.fail(
                "42P05",
                &format!("prepared statement \"{name}\" already exists"),
            );
        }
        let shape = shape(&sql);
        let params = shape.params.max(types.len());
        self.statements
            .insert(name, Statement { sql, types, params });
        msg(&mut self.outbuf, b'1', &[]);
    }

    fn bind(&mut self, body: &mut Body<'_>) {
        let portal = body.cstr();
        let name = body.cstr();
        let n = body.i16() as usize;
        let param_formats: Vec<i16> = (0..n).map(|_| body.i16()).collect();
        let n = body.i16() as usize;
        let mut params = Vec::with_capacity(n);
        for i in 0..n {
            let len = body.i32();
            assert!(len >= 0, "fake backend: a NULL parameter");
            let bytes = body.bytes(len as usize);
            let value = if format_at(&param_formats, i) == 1 {
                match bytes.len() {
                    2 => i64::from(i16::from_be_bytes(bytes.try_into().unwrap())),
                    4 => i64::from(i32::from_be_bytes(bytes.try_into().unwrap())),
                    8 => i64::from_be_bytes(bytes.try_into().unwrap()),
                    other => panic!("fake backend: a binary integer of {other} bytes"),
                }
            } else {
                std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .expect("fake backend: a text parameter that is not an integer")
            };
            params.push(value);
        }
        let n = body.i16() as usize;
        let result_formats: Vec<i16> = (0..n).map(|_| body.i16()).collect();
        let Some(statement) = self.statements.get(&name) else {
            return self.fail(
                "26000",
                &format!("prepared statement \"{name}\" does not exist"),
            );
        };
        if statement.params != params.len() {
            return self.fail(
                "08P01",
                &format!(
                    "bind message supplies {} parameters, but prepared statement \"{name}\" requires {}",
                    params.len(),
                    statement.params
                ),
            );
        }
        let sql = statement.sql.clone();
        self.portals.insert(
            portal,
            Portal {
                sql,
                params,
                format: format_at(&result_formats, 0),
            },
        );
        msg(&mut self.outbuf, b'2', &[]);
    }

    fn describe(&mut self, body: &mut Body<'_>) {
        let kind = body.bytes(1)[0];
        let name = body.cstr();
        match kind {
            b'S' => {
                let Some(statement) = self.statements.get(&name) else {
                    return self.fail(
                        "26000",
                        &format!("prepared statement \"{name}\" does not exist"),
                    );
                };
                let mut desc = (statement.params as i16).to_be_bytes().to_vec();
                for i in 0..statement.params {
                    let oid = statement.types.get(i).copied().filter(|&t| t != 0);
                    desc.extend_from_slice(&oid.unwrap_or(INT4).to_be_bytes());
                }
                let columns = shape(&statement.sql).columns;
                msg(&mut self.outbuf, b't', &desc);
                if columns {
                    // Formats are not known before Bind: text.
                    row_description(&mut self.outbuf, 0);
                } else {
                    msg(&mut self.outbuf, b'n', &[]);
                }
            }
            b'P' => {
                let Some(portal) = self.portals.get(&name) else {
                    return self.fail("34000", &format!("portal \"{name}\" does not exist"));
                };
                let format = portal.format;
                if shape(&portal.sql).columns {
                    row_description(&mut self.outbuf, format);
                } else {
                    msg(&mut self.outbuf, b'n', &[]);
                }
            }
            other => panic!("fake backend: Describe of kind {other}"),
        }
    }

    fn execute(&mut self, body: &mut Body<'_>) {
        let name = body.cstr();
        let max_rows = body.i32();
        assert_eq!(max_rows, 0, "fake backend: Execute with a row limit");
        let Some(portal) = self.portals.get(&name) else {
            return self.fail("34000", &format!("portal \"{name}\" does not exist"));
        };
        let outcome = outcome(&portal.sql, &portal.params);
        let columns = shape(&portal.sql).columns;
        let format = portal.format;
        if !self.run(&outcome, columns, format, false) {
            self.skipping = true;
        }
    }
}
