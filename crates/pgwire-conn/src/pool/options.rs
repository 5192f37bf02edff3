//! How a pool sizes itself and when it retires, checks and waits for
//! connections: [`PoolOptions`].

use std::time::Duration;

use crate::options::OptionsError;

/// The settings of a [`Pool`](crate::Pool). Every setting has a default
/// fit for a web service; the builder methods change one each.
///
/// | setting | default | |
/// |---|---|---|
/// | [`max_size`](Self::max_size) | 2 × CPUs + 1 | connections at most, in use or idle |
/// | [`min_idle`](Self::min_idle) | 0 | opened with the pool, never retired for idleness |
/// | [`checkout_timeout`](Self::checkout_timeout) | 30 s | the longest a checkout waits: [`Error::PoolTimeout`](crate::Error::PoolTimeout) |
/// | [`max_lifetime`](Self::max_lifetime) | 30 min | connections older than this are closed when they come back |
/// | [`idle_timeout`](Self::idle_timeout) | 10 min | idle longer than this, closed (down to `min_idle`) |
/// | [`health_check_after`](Self::health_check_after) | 30 s | idle longer than this, checked with an empty query before use |
/// | [`drain_timeout`](Self::drain_timeout) | 5 s | the longest a returned connection may take to finish abandoned work |
/// | [`close_timeout`](Self::close_timeout) | 10 s | how long [`Pool::close`](crate::Pool::close) waits for checked-out connections |
///
/// Each connection's own `connect_timeout` bounds every attempt to open
/// one (from the [`ConnectOptions`](crate::ConnectOptions)).
///
/// ```
/// use std::time::Duration;
/// use pgwire_conn::PoolOptions;
/// let options = PoolOptions::new()
///     .max_size(20)
///     .min_idle(2)
///     .checkout_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(options.get_max_size(), 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    max_size: usize,
    min_idle: usize,
    checkout_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    health_check_after: Option<Duration>,
    drain_timeout: Duration,
    close_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        // pg-purepy's default: two per CPU, plus one.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        PoolOptions {
            max_size: 2 * cpus + 1,
            min_idle: 0,
            checkout_timeout: Some(Duration::from_secs(30)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            health_check_after: Some(Duration::from_secs(30)),
            drain_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(10),
        }
    }
}

impl PoolOptions {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults, with what the environment sets:
    /// `PGWIRE_POOL_MAX_SIZE`, `PGWIRE_POOL_MIN_IDLE` (counts) and
    /// `PGWIRE_POOL_CHECKOUT_TIMEOUT` (seconds, fractions allowed; 0 for
    /// none). A value that does not parse is an error naming the variable.
    pub fn from_env() -> Result<Self, OptionsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, OptionsError> {
        let mut options = Self::default();
        if let Some(value) = lookup("PGWIRE_POOL_MAX_SIZE") {
            options = options.max_size(count("PGWIRE_POOL_MAX_SIZE", &value, 1)?);
        }
        if let Some(value) = lookup("PGWIRE_POOL_MIN_IDLE") {
            options = options.min_idle(count("PGWIRE_POOL_MIN_IDLE", &value, 0)?);
        }
        if let Some(value) = lookup("PGWIRE_POOL_CHECKOUT_TIMEOUT") {
            let seconds = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| invalid("PGWIRE_POOL_CHECKOUT_TIMEOUT", &value, "seconds"))?;
            let timeout = Duration::from_secs_f64(seconds);
            options = options.checkout_timeout((!timeout.is_zero()).then_some(timeout));
        }
        Ok(options)
    }

    /// The most connections the pool holds, checked out or idle (at least
    /// 1). Checkouts beyond it wait for one to come back.
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n.max(1);
        self
    }

    /// Connections opened with the pool and kept even when idle for long
    /// (at most `max_size`). Without a background task, the pool opens
    /// them at [`open_pool`](crate::Pool::open) and replaces them on demand.
    pub fn min_idle(mut self, n: usize) -> Self {
        self.min_idle = n;
        self
    }

    /// The longest a checkout waits for a connection (to come back, or to
    /// open while the server is down), then fails with
    /// [`Error::PoolTimeout`](crate::Error::PoolTimeout). `None`: wait as
    /// long as it takes for one to come back, and fail at once when opening
    /// one fails.
    pub fn checkout_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.checkout_timeout = timeout;
        self
    }

    /// Connections older than this are closed instead of reused (`None`:
    /// kept forever).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Connections idle longer than this are closed, down to `min_idle`
    /// (`None`: kept).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// A connection idle longer than this is checked with an empty query
    /// (one round trip) before it is handed out; one that fails is closed
    /// and another taken. `None`: never; `Some(ZERO)`: before every use.
    pub fn health_check_after(mut self, after: Option<Duration>) -> Self {
        self.health_check_after = after;
        self
    }

    /// How long a connection that came back with a request still running
    /// (a task cancelled mid-query) may take to finish it, after a
    /// CancelRequest, before the pool closes it instead (pg-purepy: 5 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How long [`Pool::close`](crate::Pool::close) waits for checked-out
    /// connections to come back.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// `max_size`.
    pub fn get_max_size(&self) -> usize {
        self.max_size
    }

    /// `min_idle` (never more than `max_size`).
    pub fn get_min_idle(&self) -> usize {
        self.min_idle.min(self.max_size)
    }

    /// `checkout_timeout`.
    pub fn get_checkout_timeout(&self) -> Option<Duration> {
        self.checkout_timeout
    }

    /// `max_lifetime`.
    pub fn get_max_lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }

    /// `idle_timeout`.
    pub fn get_idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// `health_check_after`.
    pub fn get_health_check_after(&self) -> Option<Duration> {
        self.health_check_after
    }

    /// `drain_timeout`.
    pub fn get_drain_timeout(&self) -> Duration {
        self.drain_timeout
    }

    /// `close_timeout`.
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }
}

fn count(name: &str, value: &str, min: usize) -> Result<usize, OptionsError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| {
            let expected = if min == 0 {
                "a count"
            } else {
                "a count of at least 1"
            };
            invalid(name, value, expected)
        })
}

fn invalid(name: &str, value: &str, expected: &str) -> OptionsError {
    OptionsError::new(format!(
        "invalid {name} \"{value}\" in the environment (expected {expected})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_default_size_is_two_per_cpu_plus_one() {
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(PoolOptions::new().get_max_size(), 2 * cpus + 1);
    }

    #[test]
    fn the_environment_sets_size_and_timeout() {
        let options = PoolOptions::from_lookup(env(&[
            ("PGWIRE_POOL_MAX_SIZE", "7"),
            ("PGWIRE_POOL_MIN_IDLE", "2"),
            ("PGWIRE_POOL_CHECKOUT_TIMEOUT", "1.5"),
        ]))
        .unwrap();
        assert_eq!(options.get_max_size(), 7);
        assert_eq!(options.get_min_idle(), 2);
        assert_eq!(
            options.get_checkout_timeout(),
            Some(Duration::from_millis(1500))
        );
        let none = PoolOptions::from_lookup(env(&[("PGWIRE_POOL_CHECKOUT_TIMEOUT", "0")])).unwrap();
        assert_eq!(none.get_checkout_timeout(), None);
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let err = PoolOptions::from_lookup(env(&[("PGWIRE_POOL_MAX_SIZE", "0")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid PGWIRE_POOL_MAX_SIZE \"0\" in the environment (expected a count of at least 1)"
        );
        let err =
            PoolOptions::from_lookup(env(&[("PGWIRE_POOL_CHECKOUT_TIMEOUT", "soon")])).unwrap_err();
        assert!(err.to_string().contains("PGWIRE_POOL_CHECKOUT_TIMEOUT"));
    }

    #[test]
    fn min_idle_never_exceeds_max_size() {
        assert_eq!(PoolOptions::new().max_size(2).min_idle(5).get_min_idle(), 2);
        assert_eq!(PoolOptions::new().max_size(0).get_max_size(), 1);
    }
}
