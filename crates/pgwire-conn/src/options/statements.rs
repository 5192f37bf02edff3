//! How the connection runs statements, on [`ConnectOptions`]: the statement
//! cache's capacity (`statement_cache_capacity`, sqlx's
//! `statement-cache-capacity`), `pgbouncer` (Prisma's name), which turns
//! the cache off for poolers in transaction mode, and `pgbouncer_detect`,
//! which lets the connection turn it off itself when it finds one.

use super::error::{OptionsError, Origin};
use super::ConnectOptions;
use crate::statements::DEFAULT_STATEMENT_CACHE_CAPACITY;

/// Other spellings of keys, as other drivers write them.
pub(super) const ALIASES: &[(&str, &str)] =
    &[("statement-cache-capacity", "statement_cache_capacity")];

/// The key `key` is spelled as, for the table of keys.
pub(super) fn canonical(key: String) -> String {
    match ALIASES.iter().find(|(alias, _)| *alias == key) {
        Some((_, name)) => (*name).to_owned(),
        None => key,
    }
}

impl ConnectOptions {
    /// `statement_cache_capacity`: how many statements the connection keeps
    /// prepared (default 256). 0 turns the cache off, for poolers in
    /// transaction mode (PgBouncer's `pool_mode = transaction`, which may
    /// run each request on another server session and so cannot keep named
    /// statements): then no request depends on what an earlier one left on
    /// the server. A single statement, with or without parameters, is one
    /// unnamed Parse/Bind/Describe/Execute/Sync, in one write, asking for every
    /// result column in binary (as tokio-postgres's `query_typed` does):
    /// columns of types with a binary codec here decode as usual, the rest
    /// arrive as their binary bytes ([`Value::Unknown`](crate::Value::Unknown)
    /// with `Format::Binary`; `try_get` into a typed value fails with a
    /// conversion error, never misreads). Text with several statements is
    /// one simple-protocol `Query` (self-contained too; results in text,
    /// which every type decodes from). Applies from the first statement on, including the
    /// connection's own checks (`target_session_attrs`).
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = Some(capacity);
        self
    }

    /// Logs every statement slower than `threshold` (see
    /// [`Connection::set_slow_statement_threshold`](crate::Connection::set_slow_statement_threshold)),
    /// as sqlx's `log_slow_statements` does; on every connection opened
    /// with these options, a pool's included.
    pub fn log_slow_statements(mut self, threshold: std::time::Duration) -> Self {
        self.slow_statement_threshold = Some(threshold);
        self
    }

    /// The threshold of [`log_slow_statements`](Self::log_slow_statements).
    pub fn get_slow_statement_threshold(&self) -> Option<std::time::Duration> {
        self.slow_statement_threshold
    }

    /// `pgbouncer`: `true` is `statement_cache_capacity(0)` (see
    /// [`statement_cache_capacity`](Self::statement_cache_capacity)), for
    /// PgBouncer or another pooler in transaction mode; `false` is the
    /// default capacity, said explicitly: for PgBouncer in session mode,
    /// or ≥ 1.21 with `max_prepared_statements`, where named statements
    /// survive and the probe at connect (see
    /// [`pgbouncer_detect`](Self::pgbouncer_detect)) would turn them off.
    pub fn pgbouncer(mut self, on: bool) -> Self {
        self.statement_cache_capacity = Some(if on {
            0
        } else {
            DEFAULT_STATEMENT_CACHE_CAPACITY
        });
        self
    }

    /// Whether `statement_cache_capacity` or `pgbouncer` was set (then the
    /// connection does not probe for a pooler when it opens).
    pub(crate) fn statement_cache_chosen(&self) -> bool {
        self.statement_cache_capacity.is_some()
    }

    /// `pgbouncer_detect`: whether the connection looks for a pooler and,
    /// when it finds one, turns its statement cache off as `pgbouncer=true`
    /// does (on by default).
    ///
    /// When it opens, unless `statement_cache_capacity` or `pgbouncer` is
    /// set, the connection asks the server for `pg_backend_pid()` (one
    /// simple query, one round trip) and compares it with the process ID
    /// of the cancel key it got at startup: a pooler (PgBouncer, Odyssey,
    /// pgcat, RDS Proxy) hands out keys of its own, so they differ, and the
    /// connection starts without named statements. In session mode named
    /// statements would survive: set `pgbouncer=false` there to keep them.
    ///
    /// Later, the signs of a transaction-mode pooler do the same: the
    /// server session lacks a statement this connection cached (`26000` at
    /// its Bind: PgBouncer put us on another server session, or ran its
    /// `DISCARD ALL` between our transactions) or already has one of this
    /// connection's names (`42P05`). An SQL `DEALLOCATE` of one of the
    /// connection's own statements looks the same; the switch is correct
    /// either way, only slower. The switch is logged once (`log` target
    /// `pgwire::statements`, level warn) and shows in
    /// [`Connection::pooler_detected`](crate::Connection::pooler_detected).
    /// Off, such a statement alone is forgotten and prepared again.
    pub fn pgbouncer_detect(mut self, on: bool) -> Self {
        self.pgbouncer_detect = on;
        self
    }

    /// `pgbouncer_detect`.
    pub fn get_pgbouncer_detect(&self) -> bool {
        self.pgbouncer_detect
    }

    /// `statement_cache_capacity` (0 with `pgbouncer`).
    pub fn get_statement_cache_capacity(&self) -> usize {
        self.statement_cache_capacity
            .unwrap_or(DEFAULT_STATEMENT_CACHE_CAPACITY)
    }
}

/// The booleans libpq accepts as whole words: `on`/`off`, `true`/`false`,
/// `yes`/`no`, `1`/`0`, in any case.
fn parse_bool(key: &str, value: &str, origin: Origin) -> Result<bool, OptionsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(OptionsError::invalid(
            key,
            value,
            origin,
            Some("true or false"),
        )),
    }
}

/// The capacity the keys ask for, if any.
pub(super) fn from_values<'a>(
    get: impl Fn(&'static str) -> Option<(&'a str, Origin)>,
) -> Result<Option<usize>, OptionsError> {
    let key = "statement_cache_capacity";
    let capacity = get(key)
        .map(|(v, origin)| {
            v.trim().parse::<usize>().map_err(|_| {
                OptionsError::invalid(key, v, origin, Some("a whole number, 0 or more"))
            })
        })
        .transpose()?;
    let pgbouncer = get("pgbouncer")
        .map(|(v, origin)| parse_bool("pgbouncer", v, origin))
        .transpose()?;
    match (pgbouncer, capacity) {
        (Some(true), Some(n)) if n > 0 => Err(OptionsError::new(format!(
            "pgbouncer=true turns the statement cache off, yet statement_cache_capacity={n}"
        ))),
        (Some(true), _) => Ok(Some(0)),
        // Said either way, the choice is the user's: no probe at connect.
        (Some(false), None) => Ok(Some(DEFAULT_STATEMENT_CACHE_CAPACITY)),
        (_, capacity) => Ok(capacity),
    }
}

/// `pgbouncer_detect`, true unless set.
pub(super) fn detect_from_values<'a>(
    get: impl Fn(&'static str) -> Option<(&'a str, Origin)>,
) -> Result<bool, OptionsError> {
    get("pgbouncer_detect")
        .map(|(v, origin)| parse_bool("pgbouncer_detect", v, origin))
        .transpose()
        .map(|on| on.unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::super::env::test_parse;

    #[test]
    fn capacity_and_pgbouncer_in_every_spelling() {
        let capacity = |s: &str| test_parse(s, &[]).map(|o| o.get_statement_cache_capacity());
        assert_eq!(capacity("host=h").unwrap(), 256);
        assert_eq!(capacity("statement_cache_capacity=0").unwrap(), 0);
        assert_eq!(capacity("statement_cache_capacity=17").unwrap(), 17);
        assert_eq!(capacity("pgbouncer=true").unwrap(), 0);
        assert_eq!(capacity("pgbouncer=false").unwrap(), 256);
        assert_eq!(
            capacity("pgbouncer=1 statement_cache_capacity=0").unwrap(),
            0
        );
        let url = "postgresql://h/db?statement-cache-capacity=0";
        assert_eq!(capacity(url).unwrap(), 0);
        let url = "postgresql://h/db?statement_cache_capacity=5&pgbouncer=off";
        assert_eq!(capacity(url).unwrap(), 5);
        assert_eq!(capacity("postgres://h?pgbouncer=true").unwrap(), 0);
        for (bad, says) in [
            (
                "statement_cache_capacity=-1",
                "invalid statement_cache_capacity \"-1\"",
            ),
            ("pgbouncer=maybe", "invalid pgbouncer \"maybe\""),
            (
                "pgbouncer=true statement_cache_capacity=8",
                "pgbouncer=true turns the statement cache off",
            ),
        ] {
            let e = capacity(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn detection_switch() {
        let detect = |s: &str| test_parse(s, &[]).map(|o| o.get_pgbouncer_detect());
        assert!(detect("host=h").unwrap());
        assert!(!detect("pgbouncer_detect=false").unwrap());
        assert!(!detect("postgresql://h/db?pgbouncer_detect=off").unwrap());
        assert!(detect("pgbouncer_detect=on").unwrap());
        let e = detect("pgbouncer_detect=sometimes")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid pgbouncer_detect"), "{e}");
        let o = super::ConnectOptions::new("h", "u");
        assert!(!o.pgbouncer_detect(false).get_pgbouncer_detect());
    }

    #[test]
    fn builder() {
        let o = super::ConnectOptions::new("h", "u");
        assert_eq!(o.clone().pgbouncer(true).get_statement_cache_capacity(), 0);
        assert_eq!(
            o.clone()
                .pgbouncer(true)
                .pgbouncer(false)
                .get_statement_cache_capacity(),
            256
        );
        assert_eq!(
            o.statement_cache_capacity(3).get_statement_cache_capacity(),
            3
        );
    }
}
