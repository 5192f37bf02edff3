//! What a statement tells the outside: with the `tracing` feature, a span
//! per statement (`pgwire.query`: the statement text, never its parameter
//! values; the rows; the SQLSTATE on error; the duration) and per connect
//! (`pgwire.connect`); with a slow-statement threshold
//! ([`ConnectOptions::log_slow_statements`](crate::ConnectOptions::log_slow_statements),
//! [`Connection::set_slow_statement_threshold`](crate::Connection::set_slow_statement_threshold)),
//! a warning on the `log` facade (target `pgwire::slow`) for each statement
//! that took longer. Without either, nothing is measured.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::status::Status;

/// The longest statement text a log line or span carries.
const MAX_TEXT: usize = 1024;

/// `sql`, cut at a character boundary near [`MAX_TEXT`] bytes.
fn shortened(sql: &str) -> &str {
    if sql.len() <= MAX_TEXT {
        return sql;
    }
    let mut end = MAX_TEXT;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    &sql[..end]
}

/// A statement being watched, as the module docs say: started before it
/// runs, finished with its outcome. It holds no future (wrapping the
/// statement's would double its size in debug builds); the span is not
/// entered while the statement runs, but carries its duration.
pub(crate) struct Watch {
    /// Set only when something looks: the threshold or the `tracing` feature.
    start: Option<(Instant, Option<Duration>)>,
    kind: &'static str,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl Watch {
    /// Starts watching the statement `sql` of kind `kind` (`fetch`,
    /// `execute`, ...).
    #[inline]
    pub(crate) fn start(status: &Status, kind: &'static str, sql: &str) -> Watch {
        let slow = status.slow_statement_threshold();
        let watched = slow.is_some() || cfg!(feature = "tracing");
        let _ = sql;
        Watch {
            start: watched.then(|| (Instant::now(), slow)),
            kind,
            #[cfg(feature = "tracing")]
            span: tracing::debug_span!(
                "pgwire.query",
                db.system = "postgresql",
                db.operation = kind,
                db.statement = shortened(sql),
                rows = tracing::field::Empty,
                sqlstate = tracing::field::Empty,
                error = tracing::field::Empty,
                elapsed_us = tracing::field::Empty,
            ),
        }
    }

    /// The statement ended with `out`; `rows` reads its row count.
    #[inline]
    pub(crate) fn finish<T>(self, sql: &str, out: &Result<T>, rows: impl FnOnce(&T) -> u64) {
        let Some((start, slow)) = self.start else {
            return;
        };
        let elapsed = start.elapsed();
        let counted = out.as_ref().ok().map(rows);
        #[cfg(feature = "tracing")]
        {
            let span = &self.span;
            span.record("elapsed_us", elapsed.as_micros() as u64);
            match out {
                Ok(_) => {
                    span.record("rows", counted.unwrap_or(0));
                }
                Err(e) => {
                    span.record("error", tracing::field::display(e));
                    if let Some(code) = e.code() {
                        span.record("sqlstate", code.code());
                    }
                }
            }
        }
        if let Some(threshold) = slow.filter(|t| elapsed >= *t) {
            report_slow(self.kind, sql, elapsed, threshold, counted);
        }
    }
}

fn report_slow(
    kind: &'static str,
    sql: &str,
    elapsed: Duration,
    threshold: Duration,
    rows: Option<u64>,
) {
    let outcome = match rows {
        Some(n) => format!("{n} rows"),
        None => "failed".to_owned(),
    };
    log::warn!(
        target: "pgwire::slow",
        "slow statement ({kind}, {elapsed:?} >= {threshold:?}, {outcome}): {}",
        shortened(sql)
    );
}

/// A connect being watched: a `pgwire.connect` span (with the `tracing`
/// feature) carrying the target, the duration and the error.
pub(crate) struct ConnectWatch {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "tracing")]
    start: Instant,
}

impl ConnectWatch {
    pub(crate) fn start(options: &crate::ConnectOptions) -> ConnectWatch {
        let _ = options;
        ConnectWatch {
            #[cfg(feature = "tracing")]
            span: tracing::debug_span!(
                "pgwire.connect",
                db.system = "postgresql",
                target = options.describe_target(),
                error = tracing::field::Empty,
                elapsed_us = tracing::field::Empty,
            ),
            #[cfg(feature = "tracing")]
            start: Instant::now(),
        }
    }

    pub(crate) fn finish<T>(self, out: &Result<T>) {
        let _ = out;
        #[cfg(feature = "tracing")]
        {
            self.span
                .record("elapsed_us", self.start.elapsed().as_micros() as u64);
            if let Err(e) = out {
                self.span.record("error", tracing::field::display(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let sql = "é".repeat(MAX_TEXT);
        let cut = shortened(&sql);
        assert!(cut.len() <= MAX_TEXT && cut.len() >= MAX_TEXT - 1);
        assert_eq!(shortened("select 1"), "select 1");
    }
}
