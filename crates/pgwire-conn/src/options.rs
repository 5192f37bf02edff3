//! Where and as whom to connect.

use std::fmt;
use std::path::{Path, PathBuf};

use pgwire_proto::StartupConfig;

/// The default PostgreSQL port.
pub const DEFAULT_PORT: u16 = 5432;

/// The server's address: a host name or IP for TCP, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn parse(address_or_path: &str) -> Host {
        if address_or_path.starts_with('/') {
            Host::Unix(PathBuf::from(address_or_path))
        } else {
            Host::Tcp(address_or_path.to_owned())
        }
    }
}

/// Connection options, built like pg-purepy's
/// `open_database_connection(address_or_path, username, *, port, password, database)`.
///
/// ```
/// use pgwire_conn::ConnectOptions;
/// let opts = ConnectOptions::new("/run/postgresql", "alice")
///     .port(5433)
///     .password("s3cret")
///     .database("shop");
/// assert_eq!(
///     opts.unix_socket_path().unwrap().to_str(),
///     Some("/run/postgresql/.s.PGSQL.5433")
/// );
/// assert!(!format!("{opts:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct ConnectOptions {
    host: Host,
    port: u16,
    user: String,
    password: Option<String>,
    database: Option<String>,
    application_name: Option<String>,
    options: Option<String>,
}

impl ConnectOptions {
    /// Options for `username` at `address_or_path` (an absolute path is a
    /// Unix socket), port 5432, database named like the user.
    pub fn new(address_or_path: &str, username: impl Into<String>) -> Self {
        ConnectOptions {
            host: Host::parse(address_or_path),
            port: DEFAULT_PORT,
            user: username.into(),
            password: None,
            database: None,
            application_name: None,
            options: None,
        }
    }

    /// The TCP port (also names the socket file in a socket directory).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The password, sent only if the server asks for one.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The database (defaults to the user name on the server's side).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// `application_name`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Backend command-line options (`-c name=value ...`).
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port.
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `host:port` for TCP, or `None` for a Unix socket.
    pub fn tcp_address(&self) -> Option<(&str, u16)> {
        match &self.host {
            Host::Tcp(h) => Some((h.as_str(), self.port)),
            Host::Unix(_) => None,
        }
    }

    /// The socket file to connect to: `path` itself unless it is a directory,
    /// in which case `path/.s.PGSQL.<port>`.
    pub fn unix_socket_path(&self) -> Option<PathBuf> {
        match &self.host {
            Host::Unix(p) => Some(socket_file(p, self.port)),
            Host::Tcp(_) => None,
        }
    }

    /// A human-readable name of the target, for error messages.
    pub fn describe_target(&self) -> String {
        match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", self.port),
            Host::Tcp(h) => format!("{h}:{}", self.port),
            Host::Unix(_) => self
                .unix_socket_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }

    /// What the protocol machine sends at startup.
    pub fn startup_config(&self) -> StartupConfig {
        let mut config = StartupConfig::new(self.user.clone());
        if let Some(db) = &self.database {
            config = config.database(db.clone());
        }
        if let Some(pw) = &self.password {
            config = config.password(pw);
        }
        if let Some(app) = &self.application_name {
            config = config.application_name(app.clone());
        }
        if let Some(opts) = &self.options {
            config = config.options(opts.clone());
        }
        config
    }
}

fn socket_file(path: &Path, port: u16) -> PathBuf {
    if path.is_dir() {
        path.join(format!(".s.PGSQL.{port}"))
    } else {
        path.to_path_buf()
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .finish()
    }
}
