//! Where the server is: a host name, an IP address or a Unix socket, with
//! its port.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The default PostgreSQL port.
pub const DEFAULT_PORT: u16 = 5432;

/// The server's address: a host name or IP for TCP, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name or IP address, reached over TCP.
    Tcp(String),
    /// A Unix socket: the socket file itself, or the directory holding
    /// `.s.PGSQL.<port>`.
    Unix(PathBuf),
}

impl Host {
    /// Like pg-purepy's `address_or_path`: an absolute path means a Unix
    /// socket, anything else a TCP host.
    ///
    /// ```
    /// use pgwire_conn::Host;
    /// assert!(matches!(Host::parse("/run/postgresql"), Host::Unix(_)));
    /// assert_eq!(Host::parse("db.example.com"), Host::Tcp("db.example.com".into()));
    /// ```
    pub fn parse(address_or_path: &str) -> Host {
        if address_or_path.starts_with('/') {
            Host::Unix(PathBuf::from(address_or_path))
        } else {
            Host::Tcp(address_or_path.to_owned())
        }
    }
}

/// One host of a (possibly multi-host) target.
///
/// ```
/// use pgwire_conn::HostSpec;
/// assert_eq!(HostSpec::new("::1", 5432).describe(), "[::1]:5432");
/// assert_eq!(HostSpec::new("db", 5433).tcp_address(), Some(("db", 5433)));
/// assert_eq!(
///     HostSpec::new("/nonexistent/dir", 5432).describe(),
///     "/nonexistent/dir/.s.PGSQL.5432"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostSpec {
    /// The host name or socket. With [`hostaddr`](Self::hostaddr) set, the
    /// name is still what TLS verifies and what `.pgpass` is matched with.
    pub host: Host,
    /// The TCP port, or the number in the socket file name `.s.PGSQL.<port>`.
    pub port: u16,
    /// libpq's `hostaddr`: the IP address to connect to instead of resolving
    /// the host name.
    pub hostaddr: Option<IpAddr>,
}

impl HostSpec {
    /// A host without `hostaddr`; an absolute path is a Unix socket.
    pub fn new(address_or_path: &str, port: u16) -> Self {
        HostSpec {
            host: Host::parse(address_or_path),
            port,
            hostaddr: None,
        }
    }

    /// The host name and port for TCP, or `None` for a Unix socket.
    ///
    /// This is the *name*; when [`hostaddr`](Self::hostaddr) is set, connect
    /// to [`socket_addr`](Self::socket_addr) instead and keep the name for
    /// TLS.
    pub fn tcp_address(&self) -> Option<(&str, u16)> {
        match &self.host {
            Host::Tcp(h) => Some((h.as_str(), self.port)),
            Host::Unix(_) => None,
        }
    }

    /// `hostaddr:port` when `hostaddr` is set: where to connect without a
    /// name lookup.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.hostaddr.map(|ip| SocketAddr::new(ip, self.port))
    }

    /// The socket file to connect to, for a Unix socket: `dir/.s.PGSQL.<port>`
    /// for a directory, or the path itself when it names an existing
    /// non-directory (the socket file) or a file called `.s.PGSQL.*`.
    pub fn unix_socket_path(&self) -> Option<PathBuf> {
        match &self.host {
            Host::Unix(p) => Some(socket_file(p, self.port)),
            Host::Tcp(_) => None,
        }
    }

    /// A human-readable name, for error messages: `host:port`,
    /// `[::1]:5432`, or the socket file.
    pub fn describe(&self) -> String {
        match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", self.port),
            Host::Tcp(h) => format!("{h}:{}", self.port),
            Host::Unix(p) => socket_file(p, self.port).display().to_string(),
        }
    }
}

fn socket_file(path: &Path, port: u16) -> PathBuf {
    let named_like_socket = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".s.PGSQL."));
    // A path that exists and is not a directory is the socket itself (as
    // pg-purepy allows); anything else is a directory, as libpq assumes, so
    // that "no such file" errors name the socket file that was looked for.
    let is_socket_file = path.exists() && !path.is_dir();
    if named_like_socket || is_socket_file {
        path.to_path_buf()
    } else {
        path.join(format!(".s.PGSQL.{port}"))
    }
}
