//! libpq's TCP options on [`ConnectOptions`]: `keepalives`,
//! `keepalives_idle`, `keepalives_interval`, `keepalives_count` and
//! `tcp_user_timeout`, kept as a [`TcpSettings`] that the adapters apply to
//! every TCP socket they open (see [`TcpSettings::apply`]).

use std::time::Duration;

use super::error::{OptionsError, Origin};
use super::ConnectOptions;
use crate::TcpSettings;

impl ConnectOptions {
    /// `keepalives`: TCP keepalives on (the default, as in libpq) or off.
    /// Unix sockets have none, as in libpq.
    pub fn keepalives(mut self, on: bool) -> Self {
        self.tcp = self.tcp.keepalives(on);
        self
    }

    /// `keepalives_idle`: idle time before the first keepalive probe; zero
    /// means the system default. Whole seconds (a fraction rounds up).
    pub fn keepalives_idle(mut self, idle: Duration) -> Self {
        self.tcp = self.tcp.keepalives_idle(idle);
        self
    }

    /// `keepalives_interval`: time between unanswered probes; zero means
    /// the system default. Whole seconds (a fraction rounds up).
    pub fn keepalives_interval(mut self, interval: Duration) -> Self {
        self.tcp = self.tcp.keepalives_interval(interval);
        self
    }

    /// `keepalives_count`: unanswered probes before the connection is
    /// considered dead; zero means the system default.
    pub fn keepalives_count(mut self, count: u32) -> Self {
        self.tcp = self.tcp.keepalives_count(count);
        self
    }

    /// `tcp_user_timeout`: how long sent data may go unacknowledged before
    /// the connection is closed (`TCP_USER_TIMEOUT`, where the system has
    /// it); zero means the system default.
    pub fn tcp_user_timeout(mut self, timeout: Duration) -> Self {
        self.tcp = self.tcp.tcp_user_timeout(timeout);
        self
    }

    /// `keepalives`.
    pub fn get_keepalives(&self) -> bool {
        self.tcp.get_keepalives()
    }

    /// `keepalives_idle`, or `None` for the system default.
    pub fn get_keepalives_idle(&self) -> Option<Duration> {
        self.tcp.get_keepalives_idle()
    }

    /// `keepalives_interval`, or `None` for the system default.
    pub fn get_keepalives_interval(&self) -> Option<Duration> {
        self.tcp.get_keepalives_interval()
    }

    /// `keepalives_count`, or `None` for the system default.
    pub fn get_keepalives_count(&self) -> Option<u32> {
        self.tcp.get_keepalives_count()
    }

    /// `tcp_user_timeout`, or `None` for the system default.
    pub fn get_tcp_user_timeout(&self) -> Option<Duration> {
        self.tcp.get_tcp_user_timeout()
    }

    /// All of the TCP options together, as the adapters' socket
    /// constructors receive them.
    pub fn tcp_settings(&self) -> TcpSettings {
        self.tcp
    }
}

/// The TCP options from parsed `key=value` pairs; `get` gives a key's value
/// (`None` when unset or empty, which means the default).
pub(super) fn from_values<'a>(
    get: impl Fn(&'static str) -> Option<(&'a str, Origin)>,
) -> Result<TcpSettings, OptionsError> {
    let int = |key: &'static str| {
        get(key)
            .map(|(v, origin)| parse_int(key, v, origin))
            .transpose()
    };
    let mut tcp = TcpSettings::default();
    if let Some(on) = int("keepalives")? {
        tcp = tcp.keepalives(on != 0);
    }
    // Zero or less means the system default, as in libpq.
    let positive = |n: i32| u32::try_from(n).unwrap_or(0);
    if let Some(secs) = int("keepalives_idle")? {
        tcp = tcp.keepalives_idle(Duration::from_secs(positive(secs).into()));
    }
    if let Some(secs) = int("keepalives_interval")? {
        tcp = tcp.keepalives_interval(Duration::from_secs(positive(secs).into()));
    }
    if let Some(count) = int("keepalives_count")? {
        tcp = tcp.keepalives_count(positive(count));
    }
    if let Some(millis) = int("tcp_user_timeout")? {
        tcp = tcp.tcp_user_timeout(Duration::from_millis(positive(millis).into()));
    }
    Ok(tcp)
}

/// libpq's integer parameters: a C `int`, surrounding whitespace allowed.
fn parse_int(key: &str, value: &str, origin: Origin) -> Result<i32, OptionsError> {
    value
        .trim()
        .parse::<i32>()
        .map_err(|_| OptionsError::invalid(key, value, origin, Some("a whole number")))
}

#[cfg(test)]
mod tests {
    use super::super::env::test_parse;
    use super::*;

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn defaults_are_libpqs() {
        for opts in [
            ConnectOptions::new("h", "u"),
            test_parse("host=h", &[]).unwrap(),
            test_parse("postgresql://h/db", &[]).unwrap(),
        ] {
            assert!(opts.get_keepalives());
            assert_eq!(opts.get_keepalives_idle(), None);
            assert_eq!(opts.get_keepalives_interval(), None);
            assert_eq!(opts.get_keepalives_count(), None);
            assert_eq!(opts.get_tcp_user_timeout(), None);
            assert_eq!(opts.tcp_settings(), TcpSettings::default());
        }
    }

    #[test]
    fn every_spelling_parses() {
        let conninfo = "host=h keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3 tcp_user_timeout=2500";
        let url = "postgresql://h/db?keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=2500";
        let quoted = "host=h keepalives=' 1 ' keepalives_idle = '30' keepalives_interval=+10 keepalives_count=' 3' tcp_user_timeout='2500 '";
        let encoded = "postgres://h?keepalives=%31&keepalives_idle=%2030&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=2500";
        let built = ConnectOptions::new("h", "u")
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_count(3)
            .tcp_user_timeout(Duration::from_millis(2500));
        for (what, opts) in [
            ("conninfo", test_parse(conninfo, &[]).unwrap()),
            ("url", test_parse(url, &[]).unwrap()),
            ("quoted", test_parse(quoted, &[]).unwrap()),
            ("encoded", test_parse(encoded, &[]).unwrap()),
            ("builder", built),
        ] {
            assert!(opts.get_keepalives(), "{what}");
            assert_eq!(opts.get_keepalives_idle(), secs(30), "{what}");
            assert_eq!(opts.get_keepalives_interval(), secs(10), "{what}");
            assert_eq!(opts.get_keepalives_count(), Some(3), "{what}");
            assert_eq!(
                opts.get_tcp_user_timeout(),
                Some(Duration::from_millis(2500)),
                "{what}"
            );
        }
    }

    #[test]
    fn keepalives_is_any_whole_number() {
        for (value, on) in [
            ("0", false),
            ("1", true),
            ("2", true),
            ("-1", true),
            (" 0 ", false),
            ("", true),
        ] {
            let opts = test_parse(&format!("keepalives='{value}'"), &[]).unwrap();
            assert_eq!(opts.get_keepalives(), on, "{value:?}");
            let opts = test_parse(&format!("postgresql://h?keepalives={value}"), &[]).unwrap();
            assert_eq!(opts.get_keepalives(), on, "url {value:?}");
        }
        assert!(!ConnectOptions::new("h", "u")
            .keepalives(false)
            .get_keepalives());
    }

    #[test]
    fn zero_negative_or_empty_means_the_system_default() {
        for value in ["0", "-5", "", " -1 "] {
            let opts = test_parse(
                &format!("keepalives_idle='{value}' keepalives_interval='{value}' keepalives_count='{value}' tcp_user_timeout='{value}'"),
                &[],
            )
            .unwrap();
            assert_eq!(opts.tcp_settings(), TcpSettings::default(), "{value:?}");
        }
        let zero = ConnectOptions::new("h", "u")
            .keepalives_idle(Duration::ZERO)
            .keepalives_interval(Duration::ZERO)
            .keepalives_count(0)
            .tcp_user_timeout(Duration::ZERO);
        assert_eq!(zero.tcp_settings(), TcpSettings::default());
        // A later zero takes an earlier setting back.
        let undone = ConnectOptions::new("h", "u")
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_idle(Duration::ZERO);
        assert_eq!(undone.get_keepalives_idle(), None);
    }

    #[test]
    fn fractions_round_up_to_what_the_socket_takes() {
        let opts = ConnectOptions::new("h", "u")
            .keepalives_idle(Duration::from_millis(1))
            .keepalives_interval(Duration::from_millis(2500))
            .tcp_user_timeout(Duration::from_micros(1500));
        assert_eq!(opts.get_keepalives_idle(), secs(1));
        assert_eq!(opts.get_keepalives_interval(), secs(3));
        assert_eq!(opts.get_tcp_user_timeout(), Some(Duration::from_millis(2)));
        let huge = ConnectOptions::new("h", "u").tcp_user_timeout(Duration::MAX);
        assert!(huge.get_tcp_user_timeout().is_some());
    }

    #[test]
    fn values_that_are_not_c_ints_are_refused() {
        for (input, message) in [
            (
                "keepalives=yes",
                "invalid keepalives \"yes\" (expected a whole number)",
            ),
            (
                "keepalives=1.0",
                "invalid keepalives \"1.0\" (expected a whole number)",
            ),
            (
                "keepalives_idle=30s",
                "invalid keepalives_idle \"30s\" (expected a whole number)",
            ),
            (
                "keepalives_interval=x",
                "invalid keepalives_interval \"x\" (expected a whole number)",
            ),
            (
                "keepalives_count=2147483648",
                "invalid keepalives_count \"2147483648\" (expected a whole number)",
            ),
            (
                "tcp_user_timeout=1e3",
                "invalid tcp_user_timeout \"1e3\" (expected a whole number)",
            ),
            (
                "postgresql://h?tcp_user_timeout=soon",
                "invalid tcp_user_timeout \"soon\" in URL (expected a whole number)",
            ),
        ] {
            let err = test_parse(input, &[]).unwrap_err().to_string();
            assert_eq!(err, message, "{input}");
        }
    }

    #[test]
    fn libpq_reads_no_environment_variable_for_them() {
        let vars = [
            ("PGKEEPALIVES", "0"),
            ("PGKEEPALIVESIDLE", "5"),
            ("PGTCPUSERTIMEOUT", "5"),
        ];
        let opts = test_parse("host=h", &vars).unwrap();
        assert_eq!(opts.tcp_settings(), TcpSettings::default());
    }

    #[test]
    fn debug_shows_them() {
        let opts = ConnectOptions::new("h", "u").keepalives_count(7);
        let debug = format!("{opts:?}");
        assert!(debug.contains("count: Some(7)"), "{debug}");
    }
}
