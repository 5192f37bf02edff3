//! The options every TCP socket to the server gets, sessions and cancel
//! requests alike: `TCP_NODELAY`, and libpq's `keepalives*` and
//! `tcp_user_timeout`. The adapters apply them with [`TcpSettings::apply`]
//! right after connecting, so that every runtime sets exactly the same
//! options through the same code.

#[cfg(any(unix, windows))]
use std::io;
use std::time::Duration;

/// TCP socket options from [`ConnectOptions`](crate::ConnectOptions)
/// ([`tcp_settings`](crate::ConnectOptions::tcp_settings)), with libpq's
/// meaning and defaults: keepalives on, every timer at the system's
/// default.
///
/// ```
/// use std::time::Duration;
/// use pgwire_conn::TcpSettings;
/// let settings = TcpSettings::default().keepalives_idle(Duration::from_millis(1500));
/// assert!(settings.get_keepalives());
/// // Keepalive timers count whole seconds: a fraction is rounded up.
/// assert_eq!(settings.get_keepalives_idle(), Some(Duration::from_secs(2)));
/// assert_eq!(settings.keepalives(false).get_keepalives(), false);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpSettings {
    keepalives: bool,
    idle: Option<Duration>,
    interval: Option<Duration>,
    count: Option<u32>,
    user_timeout: Option<Duration>,
}

impl Default for TcpSettings {
    /// libpq's: keepalives on, the system's timers, no `TCP_USER_TIMEOUT`.
    fn default() -> Self {
        TcpSettings {
            keepalives: true,
            idle: None,
            interval: None,
            count: None,
            user_timeout: None,
        }
    }
}

/// `None` for zero (the system default); a fraction of a second rounds up,
/// since the socket options count whole seconds and a zero there is
/// refused or means something else.
fn whole_seconds(d: Duration) -> Option<Duration> {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl TcpSettings {
    /// `keepalives`: whether TCP keepalives are on (the default).
    pub fn keepalives(mut self, on: bool) -> Self {
        self.keepalives = on;
        self
    }

    /// `keepalives_idle`: how long the connection is idle before the first
    /// keepalive probe. Zero means the system default; whole seconds (a
    /// fraction rounds up).
    pub fn keepalives_idle(mut self, idle: Duration) -> Self {
        self.idle = whole_seconds(idle);
        self
    }

    /// `keepalives_interval`: the time between unanswered probes. Zero
    /// means the system default; whole seconds (a fraction rounds up).
    pub fn keepalives_interval(mut self, interval: Duration) -> Self {
        self.interval = whole_seconds(interval);
        self
    }

    /// `keepalives_count`: how many unanswered probes end the connection.
    /// Zero means the system default.
    pub fn keepalives_count(mut self, count: u32) -> Self {
        self.count = (count > 0).then_some(count);
        self
    }

    /// `tcp_user_timeout`: how long sent data may stay unacknowledged
    /// before the connection is closed (Linux' `TCP_USER_TIMEOUT`; ignored
    /// on systems without it, as in libpq). Zero means the system default;
    /// whole milliseconds (a fraction rounds up).
    pub fn tcp_user_timeout(mut self, timeout: Duration) -> Self {
        let millis =
            timeout.as_millis() + u128::from(!timeout.subsec_nanos().is_multiple_of(1_000_000));
        self.user_timeout =
            (millis > 0).then(|| Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX)));
        self
    }

    /// `keepalives`.
    pub fn get_keepalives(&self) -> bool {
        self.keepalives
    }

    /// `keepalives_idle`, or `None` for the system default.
    pub fn get_keepalives_idle(&self) -> Option<Duration> {
        self.idle
    }

    /// `keepalives_interval`, or `None` for the system default.
    pub fn get_keepalives_interval(&self) -> Option<Duration> {
        self.interval
    }

    /// `keepalives_count`, or `None` for the system default.
    pub fn get_keepalives_count(&self) -> Option<u32> {
        self.count
    }

    /// `tcp_user_timeout`, or `None` for the system default.
    pub fn get_tcp_user_timeout(&self) -> Option<Duration> {
        self.user_timeout
    }

    /// Sets these options on a connected TCP socket (any runtime's stream
    /// that exposes its file descriptor): `TCP_NODELAY` (each request goes
    /// out as one write; Nagle would only add latency), `SO_KEEPALIVE` on
    /// or off, the keepalive timers that are set, and `TCP_USER_TIMEOUT`
    /// (whether keepalives are on or not; libpq skips it with
    /// `keepalives=0`). A timer the system lacks is left alone, as libpq
    /// does; one the system refuses (out of its range) is an error that
    /// names the option.
    #[cfg(unix)]
    pub fn apply(&self, socket: &impl std::os::fd::AsFd) -> io::Result<()> {
        self.apply_to(socket2::SockRef::from(socket))
    }

    /// Sets these options on a connected TCP socket; see the Unix version.
    /// Windows takes the keepalive timers together: an idle time or
    /// interval left at the system default is sent as libpq does (two
    /// hours, one second).
    #[cfg(windows)]
    pub fn apply(&self, socket: &impl std::os::windows::io::AsSocket) -> io::Result<()> {
        self.apply_to(socket2::SockRef::from(socket))
    }

    #[cfg(any(unix, windows))]
    fn apply_to(&self, socket: socket2::SockRef<'_>) -> io::Result<()> {
        let failed = |option: String| {
            move |e: io::Error| io::Error::new(e.kind(), format!("setting {option}: {e}"))
        };
        socket
            .set_tcp_nodelay(true)
            .map_err(failed("TCP_NODELAY".into()))?;
        if !self.keepalives {
            socket
                .set_keepalive(false)
                .map_err(failed("keepalives=0".into()))?;
        } else if self.idle.is_none() && self.interval.is_none() && self.count.is_none() {
            socket
                .set_keepalive(true)
                .map_err(failed("keepalives=1".into()))?;
        } else {
            self.set_timers(&socket)?;
        }
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
        if let Some(timeout) = self.user_timeout {
            socket
                .set_tcp_user_timeout(Some(timeout))
                .map_err(failed(format!("tcp_user_timeout={}", timeout.as_millis())))?;
        }
        Ok(())
    }

    /// Keepalives on, with the timers that are set, each alone so that an
    /// error names the value the system refused.
    #[cfg(any(unix, windows))]
    fn set_timers(&self, socket: &socket2::SockRef<'_>) -> io::Result<()> {
        use socket2::TcpKeepalive;
        let failed = |option: &'static str, value: u64| {
            move |e: io::Error| io::Error::new(e.kind(), format!("setting {option}={value}: {e}"))
        };
        socket
            .set_keepalive(true)
            .map_err(failed("keepalives", 1))?;
        // Windows sets both timers in one call, so libpq's defaults fill
        // the one not given; like libpq, it leaves the count alone.
        #[cfg(windows)]
        if self.idle.is_some() || self.interval.is_some() {
            let idle = self.idle.unwrap_or(Duration::from_secs(2 * 60 * 60));
            let interval = self.interval.unwrap_or(Duration::from_secs(1));
            let timers = TcpKeepalive::new().with_time(idle).with_interval(interval);
            socket
                .set_tcp_keepalive(&timers)
                .map_err(failed("keepalives_idle", idle.as_secs()))?;
        }
        #[cfg(unix)]
        if let Some(idle) = self.idle {
            socket
                .set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))
                .map_err(failed("keepalives_idle", idle.as_secs()))?;
        }
        #[cfg(any(
            target_os = "android",
            target_os = "dragonfly",
            target_os = "freebsd",
            target_os = "fuchsia",
            target_os = "illumos",
            target_os = "ios",
            target_os = "linux",
            target_os = "macos",
            target_os = "netbsd",
            target_os = "tvos",
            target_os = "watchos",
        ))]
        {
            if let Some(interval) = self.interval {
                socket
                    .set_tcp_keepalive(&TcpKeepalive::new().with_interval(interval))
                    .map_err(failed("keepalives_interval", interval.as_secs()))?;
            }
            if let Some(count) = self.count {
                socket
                    .set_tcp_keepalive(&TcpKeepalive::new().with_retries(count))
                    .map_err(failed("keepalives_count", u64::from(count)))?;
            }
        }
        Ok(())
    }
}

// The values read back are Linux's (other systems round or cap them).
#[cfg(test)]
#[cfg(any(target_os = "linux", target_os = "android"))]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use socket2::SockRef;

    use super::*;

    /// A connected socket over loopback, and the accepted end (kept open).
    fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn every_option_is_set_on_the_socket() {
        let (client, _server) = connected();
        let settings = TcpSettings::default()
            .keepalives_idle(Duration::from_secs(7))
            .keepalives_interval(Duration::from_secs(3))
            .keepalives_count(4)
            .tcp_user_timeout(Duration::from_millis(9000));
        settings.apply(&client).unwrap();
        let socket = SockRef::from(&client);
        assert!(socket.tcp_nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 4);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_millis(9000))
        );
    }

    #[test]
    fn defaults_turn_keepalives_on_and_leave_the_timers() {
        let (client, _server) = connected();
        let (fresh, _other) = connected();
        TcpSettings::default().apply(&client).unwrap();
        let (socket, untouched) = (SockRef::from(&client), SockRef::from(&fresh));
        assert!(socket.tcp_nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        assert!(!untouched.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            untouched.tcp_keepalive_time().unwrap()
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            untouched.tcp_keepalive_interval().unwrap()
        );
        assert_eq!(
            socket.tcp_keepalive_retries().unwrap(),
            untouched.tcp_keepalive_retries().unwrap()
        );
        assert_eq!(socket.tcp_user_timeout().unwrap(), None);
    }

    #[test]
    fn keepalives_off_turns_them_off_and_keeps_the_user_timeout() {
        let (client, _server) = connected();
        SockRef::from(&client).set_keepalive(true).unwrap();
        TcpSettings::default()
            .keepalives(false)
            .keepalives_idle(Duration::from_secs(7))
            .tcp_user_timeout(Duration::from_millis(1234))
            .apply(&client)
            .unwrap();
        let socket = SockRef::from(&client);
        assert!(!socket.keepalive().unwrap());
        assert!(socket.tcp_nodelay().unwrap());
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_millis(1234))
        );
    }

    #[test]
    fn a_value_the_system_refuses_is_an_error_naming_it() {
        let (client, _server) = connected();
        // Linux takes at most 127 probes and 32767 seconds.
        let err = TcpSettings::default()
            .keepalives_count(1000)
            .apply(&client)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .starts_with("setting keepalives_count=1000: "),
            "{err}"
        );
        let err = TcpSettings::default()
            .keepalives_idle(Duration::from_secs(40_000))
            .apply(&client)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("setting keepalives_idle=40000: "),
            "{err}"
        );
    }
}
