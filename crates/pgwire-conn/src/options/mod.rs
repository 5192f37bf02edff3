//! Where, as whom and how to connect.
//!
//! [`ConnectOptions`] comes from a builder that mirrors pg-purepy's
//! `open_database_connection(address_or_path, username, ...)`, or from what
//! libpq reads: a `postgresql://` URL or a `key=value` string
//! ([`ConnectOptions::parse`]), the `PG*` environment variables
//! ([`ConnectOptions::from_env`]) and the password file (`~/.pgpass`,
//! [`ConnectOptions::password_for`]).

mod conninfo;
mod env;
mod error;
mod keepalive;
mod pgpass;
mod statements;
mod url;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_rustls::rustls::ClientConfig;
use pgwire_proto::StartupConfig;

use self::env::Env;
pub use self::error::OptionsError;
use self::error::Origin;

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

/// Declares a libpq keyword enum: the variants, `as_str`, `FromStr` and
/// `Display`, all from one table so that the words cannot drift apart.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($option:literal, expected $expected:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The libpq keyword for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }

            pub(crate) fn parse_in(value: &str, origin: Origin) -> Result<Self, OptionsError> {
                match value {
                    $( $word => Ok($name::$variant), )+
                    _ => Err(OptionsError::invalid($option, value, origin, Some($expected))),
                }
            }
        }

        impl FromStr for $name {
            type Err = OptionsError;

            /// Parses the libpq keyword (case-sensitive, as libpq).
            fn from_str(s: &str) -> Result<Self, OptionsError> {
                Self::parse_in(s, Origin::Value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum! {
    /// libpq's `sslmode`: whether to use TLS and what to verify.
    ///
    /// ```
    /// use pgwire_conn::SslMode;
    /// assert_eq!("verify-full".parse::<SslMode>().unwrap(), SslMode::VerifyFull);
    /// assert_eq!(SslMode::default().to_string(), "prefer");
    /// ```
    #[derive(Default)]
    pub enum SslMode ("sslmode", expected "disable, allow, prefer, require, verify-ca or verify-full") {
        /// Never use TLS.
        Disable = "disable",
        /// Try without TLS first, then with TLS if the server insists.
        Allow = "allow",
        /// Use TLS if the server supports it, else go on without (the default).
        #[default]
        Prefer = "prefer",
        /// Use TLS, but do not verify the server's certificate.
        Require = "require",
        /// Use TLS and verify that the certificate chains to a trusted CA.
        VerifyCa = "verify-ca",
        /// Use TLS, verify the chain and that the certificate names the host.
        VerifyFull = "verify-full",
    }
}

keyword_enum! {
    /// libpq's `sslnegotiation`: how TLS starts.
    #[derive(Default)]
    pub enum SslNegotiation ("sslnegotiation", expected "postgres or direct") {
        /// Send an SSLRequest and start TLS if the server agrees (the default).
        #[default]
        Postgres = "postgres",
        /// PostgreSQL 17's direct TLS: the handshake starts at once, with the
        /// ALPN protocol `postgresql`. Needs an `sslmode` of `require` or
        /// stronger.
        Direct = "direct",
    }
}

keyword_enum! {
    /// libpq's `channel_binding`: whether SCRAM binds to the TLS channel.
    #[derive(Default)]
    pub enum ChannelBindingMode ("channel_binding", expected "disable, prefer or require") {
        /// Never use channel binding.
        Disable = "disable",
        /// Use it when TLS is on and the server offers it (the default).
        #[default]
        Prefer = "prefer",
        /// Fail unless authentication used channel binding.
        Require = "require",
    }
}

keyword_enum! {
    /// libpq's `target_session_attrs`: which of several hosts is acceptable.
    #[derive(Default)]
    pub enum TargetSessionAttrs (
        "target_session_attrs",
        expected "any, read-write, read-only, primary, standby or prefer-standby"
    ) {
        /// Any server (the default).
        #[default]
        Any = "any",
        /// A server that accepts writes (`transaction_read_only` is off).
        ReadWrite = "read-write",
        /// A server that refuses writes.
        ReadOnly = "read-only",
        /// A server that is not in recovery.
        Primary = "primary",
        /// A server in recovery (a standby).
        Standby = "standby",
        /// A standby if one answers, else any server.
        PreferStandby = "prefer-standby",
    }
}

keyword_enum! {
    /// libpq's `load_balance_hosts`: the order in which hosts are tried.
    #[derive(Default)]
    pub enum LoadBalanceHosts ("load_balance_hosts", expected "disable or random") {
        /// In the order given (the default).
        #[default]
        Disable = "disable",
        /// In a random order, to spread connections.
        Random = "random",
    }
}

keyword_enum! {
    /// An authentication method, as named by libpq's `require_auth`.
    pub enum AuthMethod (
        "require_auth method",
        expected "password, md5, scram-sha-256, gss, sspi or none, optionally each prefixed with \"!\""
    ) {
        /// No authentication: the server sent AuthenticationOk without
        /// asking for anything (trust).
        None = "none",
        /// A cleartext password.
        Password = "password",
        /// An MD5-hashed password.
        Md5 = "md5",
        /// SCRAM-SHA-256, with or without channel binding.
        ScramSha256 = "scram-sha-256",
        /// GSSAPI (Kerberos).
        Gss = "gss",
        /// SSPI (Windows).
        Sspi = "sspi",
    }
}

/// The server's root certificates to trust (libpq's `sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SslRootCert {
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// The operating system's trust store (`sslrootcert=system`).
    System,
}

/// libpq 16's `require_auth`: the authentication methods the client accepts
/// from the server.
///
/// A comma-separated list of `password`, `md5`, `scram-sha-256`, `gss`,
/// `sspi` and `none`: only those are allowed. With a `!` on every element
/// (`!password,!md5`), all but those are allowed. Mixing the two forms, a
/// method listed twice, or an unknown method is an error.
///
/// ```
/// use pgwire_conn::{AuthMethod, RequireAuth};
/// let only_scram = RequireAuth::parse("scram-sha-256").unwrap();
/// assert!(only_scram.allows(AuthMethod::ScramSha256));
/// assert!(!only_scram.allows(AuthMethod::Password));
/// assert!(!only_scram.allows(AuthMethod::None)); // trust is refused too
///
/// let no_cleartext = RequireAuth::parse("!password").unwrap();
/// assert!(no_cleartext.allows(AuthMethod::Md5));
/// assert!(!no_cleartext.allows(AuthMethod::Password));
///
/// assert!(RequireAuth::parse("md5,!password").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequireAuth {
    /// True for the `!method` form: `methods` are the forbidden ones.
    negated: bool,
    methods: Vec<AuthMethod>,
}

impl RequireAuth {
    /// Parses a `require_auth` value.
    pub fn parse(s: &str) -> Result<Self, OptionsError> {
        Self::parse_in(s, Origin::Value)
    }

    pub(crate) fn parse_in(s: &str, origin: Origin) -> Result<Self, OptionsError> {
        let mut negated = None;
        let mut methods = Vec::new();
        for element in s.split(',') {
            let element = element.trim();
            let (neg, name) = match element.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, element),
            };
            if *negated.get_or_insert(neg) != neg {
                return Err(OptionsError::new(format!(
                    "require_auth method \"{element}\"{origin} cannot be mixed with {} methods",
                    if neg { "non-negated" } else { "negated" }
                )));
            }
            let method = AuthMethod::parse_in(name, origin)?;
            if methods.contains(&method) {
                return Err(OptionsError::new(format!(
                    "require_auth method \"{name}\"{origin} is listed more than once"
                )));
            }
            methods.push(method);
        }
        Ok(RequireAuth {
            negated: negated.unwrap_or(false),
            methods,
        })
    }

    /// Whether authenticating with `method` is acceptable.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.methods.contains(&method) != self.negated
    }
}

impl FromStr for RequireAuth {
    type Err = OptionsError;

    fn from_str(s: &str) -> Result<Self, OptionsError> {
        Self::parse(s)
    }
}

impl fmt::Display for RequireAuth {
    /// The `require_auth` value, such as `!password,!md5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, method) in self.methods.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let bang = if self.negated { "!" } else { "" };
            write!(f, "{comma}{bang}{method}")?;
        }
        Ok(())
    }
}

/// Connection options, built like pg-purepy's
/// `open_database_connection(address_or_path, username, *, port, password, database)`,
/// or parsed like libpq does ([`parse`](Self::parse),
/// [`from_env`](Self::from_env)).
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
///
/// The single-host accessors ([`host`](Self::host),
/// [`get_port`](Self::get_port), [`tcp_address`](Self::tcp_address), ...)
/// refer to the first host; [`hosts`](Self::hosts) lists them all.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Never empty: every constructor puts one host in, nothing takes one out.
    hosts: Vec<HostSpec>,
    user: String,
    password: Option<String>,
    database: Option<String>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    options: Option<String>,
    passfile: Option<PathBuf>,
    connect_timeout: Option<Duration>,
    ssl_mode: SslMode,
    ssl_negotiation: SslNegotiation,
    ssl_root_cert: Option<SslRootCert>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    tls_config: Option<Arc<ClientConfig>>,
    channel_binding: ChannelBindingMode,
    require_auth: Option<RequireAuth>,
    target_session_attrs: TargetSessionAttrs,
    load_balance_hosts: LoadBalanceHosts,
    tcp: crate::TcpSettings,
    /// `None`: the default capacity.
    statement_cache_capacity: Option<usize>,
    pgbouncer_detect: bool,
}

/// Stands in for the first host if the never-empty invariant were broken,
/// so that no accessor can panic.
static NO_HOST: HostSpec = HostSpec {
    host: Host::Tcp(String::new()),
    port: DEFAULT_PORT,
    hostaddr: None,
};

impl ConnectOptions {
    /// Options for `username` at `address_or_path` (an absolute path is a
    /// Unix socket), port 5432, database named like the user.
    ///
    /// Reads nothing from the environment; use [`parse`](Self::parse) or
    /// [`from_env`](Self::from_env) for libpq's behaviour.
    pub fn new(address_or_path: &str, username: impl Into<String>) -> Self {
        Self::with_hosts(
            vec![HostSpec::new(address_or_path, DEFAULT_PORT)],
            username.into(),
        )
    }

    fn with_hosts(hosts: Vec<HostSpec>, user: String) -> Self {
        ConnectOptions {
            hosts,
            user,
            password: None,
            database: None,
            application_name: None,
            fallback_application_name: None,
            options: None,
            passfile: None,
            connect_timeout: None,
            ssl_mode: SslMode::default(),
            ssl_negotiation: SslNegotiation::default(),
            ssl_root_cert: None,
            ssl_cert: None,
            ssl_key: None,
            tls_config: None,
            channel_binding: ChannelBindingMode::default(),
            require_auth: None,
            target_session_attrs: TargetSessionAttrs::default(),
            load_balance_hosts: LoadBalanceHosts::default(),
            tcp: crate::TcpSettings::default(),
            statement_cache_capacity: None,
            pgbouncer_detect: true,
        }
    }

    /// Parses a `postgres://` / `postgresql://` URL or a libpq `key=value`
    /// string, filling what they leave out from the `PG*` environment and
    /// then from defaults, as libpq does: a value given in `conninfo` beats
    /// the environment variable, which beats the default.
    ///
    /// URLs: `postgresql://[user[:password]@][host][:port][,host2[:port2]...][/dbname][?key=value&...]`,
    /// percent-encoded; a host `%2Fdir` or a query `host=/dir` is a Unix
    /// socket directory, `[::1]` an IPv6 address.
    ///
    /// Keys (in both forms): `host`, `hostaddr`, `port` (each a comma list
    /// for several hosts; one port applies to every host), `dbname`, `user`,
    /// `password`, `passfile`, `application_name`,
    /// `fallback_application_name`, `options`, `connect_timeout` (seconds;
    /// 0 or negative means none), `sslmode`, `sslnegotiation`,
    /// `sslrootcert` (`system` for the OS trust store), `sslcert`, `sslkey`,
    /// `channel_binding`, `require_auth`, `target_session_attrs`,
    /// `load_balance_hosts`, `client_encoding` (only `UTF8`), `keepalives`
    /// (0 off, any other whole number on; on by default),
    /// `keepalives_idle` and `keepalives_interval` (seconds),
    /// `keepalives_count`, `tcp_user_timeout` (milliseconds): for these
    /// four, 0 or a negative number means the system default; libpq reads
    /// no environment variable for them. Not libpq's:
    /// `statement_cache_capacity` (also `statement-cache-capacity`, as sqlx
    /// spells it) and `pgbouncer` (`true` or `false`; `true` means capacity
    /// 0, for transaction-mode poolers): see
    /// [`statement_cache_capacity`](Self::statement_cache_capacity);
    /// `pgbouncer_detect` (`true`, the default, or `false`): see
    /// [`pgbouncer_detect`](Self::pgbouncer_detect).
    /// Accepted and ignored:
    /// `sslcompression` (0 or 1: no TLS
    /// library compresses any more) and `gssencmode` (`disable` or
    /// `prefer`: GSSAPI encryption is not implemented, so `prefer` goes on
    /// without it). An empty value means the default and stops the
    /// environment variable from applying, as in libpq.
    ///
    /// ```
    /// use pgwire_conn::{ConnectOptions, Host, SslMode};
    /// let opts = ConnectOptions::parse(
    ///     "postgresql://alice:p%40ss@db1:5433,db2/shop?sslmode=require",
    /// )?;
    /// assert_eq!(opts.user(), "alice");
    /// assert_eq!(opts.get_password(), Some("p@ss"));
    /// assert_eq!(opts.hosts().len(), 2);
    /// assert_eq!(opts.hosts()[1].describe(), "db2:5432");
    /// assert_eq!(opts.get_database(), Some("shop"));
    /// assert_eq!(opts.get_ssl_mode(), SslMode::Require);
    ///
    /// let opts: ConnectOptions = "host=/run/postgresql user=bob dbname=app".parse()?;
    /// assert_eq!(opts.host(), &Host::Unix("/run/postgresql".into()));
    /// # Ok::<(), pgwire_conn::OptionsError>(())
    /// ```
    pub fn parse(conninfo: &str) -> Result<Self, OptionsError> {
        Self::parse_with(conninfo, &Env::process())
    }

    /// Options from the `PG*` environment variables and defaults only, like
    /// libpq given an empty connection string.
    ///
    /// Read: `PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGAPPNAME`, `PGOPTIONS`, `PGSSLMODE`,
    /// `PGSSLNEGOTIATION`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`,
    /// `PGCHANNELBINDING`, `PGCONNECT_TIMEOUT`, `PGTARGETSESSIONATTRS`,
    /// `PGLOADBALANCEHOSTS`, `PGREQUIREAUTH`, `PGPASSFILE`; `USER` /
    /// `LOGNAME` for the default user and `HOME` for `~/.postgresql/` and
    /// `~/.pgpass`.
    ///
    /// Defaults: the host is the first of `/run/postgresql`,
    /// `/var/run/postgresql` and `/tmp` holding a socket for the port, else
    /// the first of the first two that exists, else `localhost` over TCP;
    /// the port is 5432; the user is the operating-system user; the
    /// database is named like the user; `sslrootcert` is
    /// `~/.postgresql/root.crt` for the `verify-*` modes if that file exists,
    /// and `sslcert` / `sslkey` are `~/.postgresql/postgresql.crt` / `.key`
    /// if they exist.
    pub fn from_env() -> Result<Self, OptionsError> {
        Self::parse_with("", &Env::process())
    }

    /// [`parse`](Self::parse) with an injected environment (for tests).
    pub(crate) fn parse_with(conninfo: &str, env: &Env<'_>) -> Result<Self, OptionsError> {
        match url::strip_scheme(conninfo) {
            Some(rest) => env::resolve(url::parse(rest)?, Origin::Url, env),
            None => env::resolve(conninfo::parse(conninfo)?, Origin::Conninfo, env),
        }
    }

    /// The TCP port of the first host (also names the socket file in a
    /// socket directory).
    pub fn port(mut self, port: u16) -> Self {
        if let Some(first) = self.hosts.first_mut() {
            first.port = port;
        }
        self
    }

    /// Adds a host to try after the ones already set (an absolute path is a
    /// Unix socket directory).
    ///
    /// ```
    /// use pgwire_conn::ConnectOptions;
    /// let opts = ConnectOptions::new("primary.db", "app").add_host("standby.db", 5433);
    /// let names: Vec<String> = opts.hosts().iter().map(|h| h.describe()).collect();
    /// assert_eq!(names, ["primary.db:5432", "standby.db:5433"]);
    /// ```
    pub fn add_host(self, address_or_path: &str, port: u16) -> Self {
        self.add_host_spec(HostSpec::new(address_or_path, port))
    }

    /// Adds a host, with `hostaddr` if wanted, to try after the ones
    /// already set.
    pub fn add_host_spec(mut self, host: HostSpec) -> Self {
        self.hosts.push(host);
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

    /// `fallback_application_name`: sent as `application_name` when no
    /// `application_name` is set.
    pub fn fallback_application_name(mut self, name: impl Into<String>) -> Self {
        self.fallback_application_name = Some(name.into());
        self
    }

    /// Backend command-line options (`-c name=value ...`).
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }

    /// `sslmode`.
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }

    /// `sslrootcert`: the CA certificates that verify the server.
    pub fn ssl_root_cert(mut self, root_cert: SslRootCert) -> Self {
        self.ssl_root_cert = Some(root_cert);
        self
    }

    /// `sslcert`: the client certificate (PEM).
    pub fn ssl_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_cert = Some(path.into());
        self
    }

    /// `sslkey`: the client certificate's private key (PEM).
    pub fn ssl_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_key = Some(path.into());
        self
    }

    /// `sslnegotiation`.
    pub fn ssl_negotiation(mut self, negotiation: SslNegotiation) -> Self {
        self.ssl_negotiation = negotiation;
        self
    }

    /// A ready rustls configuration (pg-purepy's `ssl_context`), used as it
    /// is instead of one built from the `ssl*` options.
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// `channel_binding`.
    pub fn channel_binding(mut self, mode: ChannelBindingMode) -> Self {
        self.channel_binding = mode;
        self
    }

    /// `require_auth`: the authentication methods to accept.
    pub fn require_auth(mut self, require: RequireAuth) -> Self {
        self.require_auth = Some(require);
        self
    }

    /// `connect_timeout`, per host; zero means none, as in libpq.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// `target_session_attrs`.
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = attrs;
        self
    }

    /// `load_balance_hosts`.
    pub fn load_balance_hosts(mut self, mode: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = mode;
        self
    }

    /// `passfile`: the password file to read instead of `PGPASSFILE` or
    /// `~/.pgpass`.
    pub fn passfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.passfile = Some(path.into());
        self
    }

    fn first(&self) -> &HostSpec {
        self.hosts.first().unwrap_or(&NO_HOST)
    }

    /// The first host.
    pub fn host(&self) -> &Host {
        &self.first().host
    }

    /// The port of the first host.
    pub fn get_port(&self) -> u16 {
        self.first().port
    }

    /// Every host, in the order given (never empty).
    pub fn hosts(&self) -> &[HostSpec] {
        &self.hosts
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password given explicitly (or by `PGPASSWORD`); see
    /// [`password_for`](Self::password_for) for the password file.
    pub fn get_password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database, if set (the server's default is the user name).
    pub fn get_database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The `application_name`, if set.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// The `fallback_application_name`, if set.
    pub fn get_fallback_application_name(&self) -> Option<&str> {
        self.fallback_application_name.as_deref()
    }

    /// The backend command-line options, if set.
    pub fn get_options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// `sslmode`.
    pub fn get_ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// `sslrootcert`, if set.
    pub fn get_ssl_root_cert(&self) -> Option<&SslRootCert> {
        self.ssl_root_cert.as_ref()
    }

    /// `sslcert`, if set.
    pub fn get_ssl_cert(&self) -> Option<&Path> {
        self.ssl_cert.as_deref()
    }

    /// `sslkey`, if set.
    pub fn get_ssl_key(&self) -> Option<&Path> {
        self.ssl_key.as_deref()
    }

    /// `sslnegotiation`.
    pub fn get_ssl_negotiation(&self) -> SslNegotiation {
        self.ssl_negotiation
    }

    /// The rustls configuration given with [`tls_config`](Self::tls_config).
    pub fn get_tls_config(&self) -> Option<&Arc<ClientConfig>> {
        self.tls_config.as_ref()
    }

    /// `channel_binding`.
    pub fn get_channel_binding(&self) -> ChannelBindingMode {
        self.channel_binding
    }

    /// `require_auth`, if set (`None` allows every method).
    pub fn get_require_auth(&self) -> Option<&RequireAuth> {
        self.require_auth.as_ref()
    }

    /// `connect_timeout`, if any.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// `target_session_attrs`.
    pub fn get_target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// `load_balance_hosts`.
    pub fn get_load_balance_hosts(&self) -> LoadBalanceHosts {
        self.load_balance_hosts
    }

    /// `passfile`, if set (else `PGPASSFILE` or `~/.pgpass` is read).
    pub fn get_passfile(&self) -> Option<&Path> {
        self.passfile.as_deref()
    }

    /// The first host's `host:port` for TCP, or `None` for a Unix socket.
    pub fn tcp_address(&self) -> Option<(&str, u16)> {
        self.first().tcp_address()
    }

    /// The first host's socket file (see [`HostSpec::unix_socket_path`]):
    /// `dir/.s.PGSQL.<port>`, or the path itself if it is the socket file.
    pub fn unix_socket_path(&self) -> Option<PathBuf> {
        self.first().unix_socket_path()
    }

    /// A human-readable name of the (first) target, for error messages.
    pub fn describe_target(&self) -> String {
        self.first().describe()
    }

    /// The password for `host`: the explicit one, else the first matching
    /// line of the password file (the `passfile` option, else `PGPASSFILE`,
    /// else `~/.pgpass`), as libpq does.
    ///
    /// The file has lines `hostname:port:database:username:password`; `*`
    /// matches anything, `\:` and `\\` escape, lines starting with `#` are
    /// comments. The database is [`get_database`](Self::get_database) or the
    /// user name. For a Unix socket the hostname field may be the socket
    /// directory or `localhost`. The file is ignored when it is not a plain
    /// file or when its group or others have any permission (libpq warns
    /// and ignores it; this does so silently).
    ///
    /// ```
    /// use pgwire_conn::ConnectOptions;
    /// let opts = ConnectOptions::new("db", "app").password("explicit");
    /// assert_eq!(opts.password_for(&opts.hosts()[0]).as_deref(), Some("explicit"));
    /// ```
    pub fn password_for(&self, host: &HostSpec) -> Option<String> {
        self.password_for_in(host, &Env::process())
    }

    fn password_for_in(&self, host: &HostSpec, env: &Env<'_>) -> Option<String> {
        if let Some(password) = &self.password {
            return Some(password.clone());
        }
        let passfile = match &self.passfile {
            Some(path) => path.clone(),
            None => env::passfile(env)?,
        };
        let database = self.database.as_deref().unwrap_or(&self.user);
        pgpass::lookup(&passfile, host, database, &self.user)
    }

    /// What the protocol machine sends at startup, with the explicit password
    /// only; see [`startup_config_for`](Self::startup_config_for).
    pub fn startup_config(&self) -> StartupConfig {
        self.startup_config_with(self.password.as_deref())
    }

    /// What the protocol machine sends at startup to `host`, with the
    /// password from [`password_for`](Self::password_for).
    pub fn startup_config_for(&self, host: &HostSpec) -> StartupConfig {
        self.startup_config_with(self.password_for(host).as_deref())
    }

    fn startup_config_with(&self, password: Option<&str>) -> StartupConfig {
        let mut config = StartupConfig::new(self.user.clone());
        if let Some(db) = &self.database {
            config = config.database(db.clone());
        }
        if let Some(pw) = password {
            config = config.password(pw);
        }
        if let Some(app) = self
            .application_name
            .as_ref()
            .or(self.fallback_application_name.as_ref())
        {
            config = config.application_name(app.clone());
        }
        if let Some(opts) = &self.options {
            config = config.options(opts.clone());
        }
        config
    }
}

impl FromStr for ConnectOptions {
    type Err = OptionsError;

    /// Same as [`ConnectOptions::parse`].
    fn from_str(s: &str) -> Result<Self, OptionsError> {
        Self::parse(s)
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out by hand so that the password can never slip in, and
        // so that the rustls config (large, and holding client keys) shows
        // only whether it is there.
        f.debug_struct("ConnectOptions")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("application_name", &self.application_name)
            .field("fallback_application_name", &self.fallback_application_name)
            .field("options", &self.options)
            .field("passfile", &self.passfile)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_negotiation", &self.ssl_negotiation)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("ssl_cert", &self.ssl_cert)
            .field("ssl_key", &self.ssl_key)
            .field(
                "tls_config",
                &self.tls_config.as_ref().map(|_| "<ClientConfig>"),
            )
            .field("channel_binding", &self.channel_binding)
            .field("require_auth", &self.require_auth)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .field("pgbouncer_detect", &self.pgbouncer_detect)
            .field("tcp", &self.tcp)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keeps_the_single_host_behaviour() {
        let opts = ConnectOptions::new("db.example.com", "alice")
            .port(6543)
            .database("shop")
            .application_name("app")
            .options("-c search_path=x");
        assert_eq!(opts.host(), &Host::Tcp("db.example.com".into()));
        assert_eq!(opts.get_port(), 6543);
        assert_eq!(opts.user(), "alice");
        assert_eq!(opts.tcp_address(), Some(("db.example.com", 6543)));
        assert_eq!(opts.unix_socket_path(), None);
        assert_eq!(opts.describe_target(), "db.example.com:6543");
        assert_eq!(opts.get_database(), Some("shop"));
        assert_eq!(opts.get_password(), None);
        assert_eq!(opts.hosts().len(), 1);
        assert_eq!(opts.get_ssl_mode(), SslMode::Prefer);
        assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Postgres);
        assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Prefer);
        assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Any);
        assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Disable);
        assert_eq!(opts.startup_config().user(), "alice");
    }

    #[test]
    fn port_and_add_host_refer_to_the_right_hosts() {
        let opts = ConnectOptions::new("a", "u")
            .add_host("/sock", 5433)
            .port(7000);
        assert_eq!(opts.get_port(), 7000);
        assert_eq!(opts.hosts()[1].port, 5433);
        assert_eq!(
            opts.hosts()[1].unix_socket_path(),
            Some(PathBuf::from("/sock/.s.PGSQL.5433"))
        );
        let spec = HostSpec {
            host: Host::Tcp("db".into()),
            port: 5432,
            hostaddr: Some("10.0.0.1".parse().unwrap()),
        };
        let opts = opts.add_host_spec(spec);
        assert_eq!(
            opts.hosts()[2].socket_addr(),
            Some("10.0.0.1:5432".parse().unwrap())
        );
        assert_eq!(opts.hosts()[2].tcp_address(), Some(("db", 5432)));
    }

    #[test]
    fn builders_and_getters() {
        let opts = ConnectOptions::new("h", "u")
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(SslRootCert::System)
            .ssl_cert("/c.crt")
            .ssl_key("/c.key")
            .ssl_negotiation(SslNegotiation::Direct)
            .channel_binding(ChannelBindingMode::Require)
            .require_auth(RequireAuth::parse("scram-sha-256").unwrap())
            .connect_timeout(Duration::from_secs(3))
            .target_session_attrs(TargetSessionAttrs::Primary)
            .load_balance_hosts(LoadBalanceHosts::Random)
            .passfile("/pgpass")
            .fallback_application_name("fallback");
        assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
        assert_eq!(opts.get_ssl_root_cert(), Some(&SslRootCert::System));
        assert_eq!(opts.get_ssl_cert(), Some(Path::new("/c.crt")));
        assert_eq!(opts.get_ssl_key(), Some(Path::new("/c.key")));
        assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Direct);
        assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Require);
        assert!(opts
            .get_require_auth()
            .unwrap()
            .allows(AuthMethod::ScramSha256));
        assert_eq!(opts.get_connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Primary);
        assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Random);
        assert_eq!(opts.get_passfile(), Some(Path::new("/pgpass")));
        assert!(opts.get_tls_config().is_none());
        assert_eq!(
            opts.clone()
                .connect_timeout(Duration::ZERO)
                .get_connect_timeout(),
            None
        );
        // fallback_application_name is what is sent without application_name.
        let debug = format!("{:?}", opts.startup_config());
        assert!(debug.contains("fallback"), "{debug}");
        let debug = format!("{:?}", opts.application_name("main").startup_config());
        assert!(
            debug.contains("main") && !debug.contains("fallback"),
            "{debug}"
        );
    }

    #[test]
    fn host_spec_describe() {
        assert_eq!(HostSpec::new("::1", 5432).describe(), "[::1]:5432");
        assert_eq!(
            HostSpec::new("127.0.0.1", 5433).describe(),
            "127.0.0.1:5433"
        );
        assert_eq!(
            HostSpec::new("/no/such/dir", 6000).describe(),
            "/no/such/dir/.s.PGSQL.6000"
        );
        assert_eq!(
            HostSpec::new("/no/such/dir/.s.PGSQL.7", 6000).describe(),
            "/no/such/dir/.s.PGSQL.7"
        );
        let dir = std::env::temp_dir();
        let spec = HostSpec::new(dir.to_str().unwrap(), 5432);
        assert_eq!(spec.unix_socket_path(), Some(dir.join(".s.PGSQL.5432")));
        assert_eq!(spec.tcp_address(), None);
        assert_eq!(spec.socket_addr(), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let opts = ConnectOptions::new("h", "u")
            .password("hunter2")
            .add_host("h2", 1)
            .require_auth(RequireAuth::parse("password").unwrap());
        let debug = format!("{opts:?} {:#?} {:?}", opts, opts.startup_config());
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"));
        let debug = format!("{:?}", opts.startup_config_for(&opts.hosts()[1]));
        assert!(!debug.contains("hunter2"), "{debug}");
        // The same holds for options parsed from a URL, a conninfo string and
        // the environment.
        for parsed in [
            env::test_parse("postgresql://u:hunter2@h/db", &[]),
            env::test_parse("password=hunter2", &[]),
            env::test_parse("", &[("PGPASSWORD", "hunter2")]),
        ] {
            let parsed = parsed.unwrap();
            assert_eq!(parsed.get_password(), Some("hunter2"));
            let debug = format!("{parsed:?} {parsed:#?}");
            assert!(!debug.contains("hunter2"), "{debug}");
        }
    }

    #[test]
    fn require_auth_parsing() {
        let positive = RequireAuth::parse("password,md5").unwrap();
        assert!(positive.allows(AuthMethod::Password));
        assert!(positive.allows(AuthMethod::Md5));
        assert!(!positive.allows(AuthMethod::ScramSha256));
        assert!(!positive.allows(AuthMethod::None));
        assert_eq!(positive.to_string(), "password,md5");

        let negative = RequireAuth::parse("!password,!md5").unwrap();
        assert!(!negative.allows(AuthMethod::Password));
        assert!(!negative.allows(AuthMethod::Md5));
        assert!(negative.allows(AuthMethod::ScramSha256));
        assert!(negative.allows(AuthMethod::None));
        assert!(negative.allows(AuthMethod::Gss));
        assert_eq!(negative.to_string(), "!password,!md5");

        let with_none = RequireAuth::parse("none,scram-sha-256").unwrap();
        assert!(with_none.allows(AuthMethod::None));
        let not_none = RequireAuth::parse("!none").unwrap();
        assert!(!not_none.allows(AuthMethod::None));
        assert!(not_none.allows(AuthMethod::Sspi));

        for (input, message) in [
            (
                "password,!md5",
                "require_auth method \"!md5\" cannot be mixed with non-negated methods",
            ),
            (
                "!password,md5",
                "require_auth method \"md5\" cannot be mixed with negated methods",
            ),
            (
                "md5,md5",
                "require_auth method \"md5\" is listed more than once",
            ),
            ("kerberos", "invalid require_auth method \"kerberos\""),
            ("", "invalid require_auth method \"\""),
            ("md5,", "invalid require_auth method \"\""),
            ("!", "invalid require_auth method \"\""),
        ] {
            let err = RequireAuth::parse(input).unwrap_err().to_string();
            assert!(err.starts_with(message), "{input}: {err}");
        }
        assert_eq!(
            "gss,sspi".parse::<RequireAuth>().unwrap(),
            RequireAuth::parse("gss, sspi").unwrap()
        );
    }

    #[test]
    fn keyword_enums_round_trip() {
        for mode in [
            SslMode::Disable,
            SslMode::Allow,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(mode.to_string().parse::<SslMode>(), Ok(mode));
        }
        assert_eq!("direct".parse(), Ok(SslNegotiation::Direct));
        assert_eq!(
            "prefer-standby".parse(),
            Ok(TargetSessionAttrs::PreferStandby)
        );
        assert_eq!(AuthMethod::ScramSha256.as_str(), "scram-sha-256");
        assert_eq!(
            "Require".parse::<SslMode>().unwrap_err().to_string(),
            "invalid sslmode \"Require\" (expected disable, allow, prefer, require, verify-ca or verify-full)"
        );
    }
}
