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
mod host;
mod keepalive;
mod modes;
mod pgpass;
mod statements;
mod url;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_rustls::rustls::ClientConfig;
use pgwire_proto::{ProtocolVersion, StartupConfig};

use self::env::Env;
pub use self::error::OptionsError;
use self::error::Origin;
pub use self::host::{Host, HostSpec, DEFAULT_PORT};
pub use self::modes::{
    AuthMethod, ChannelBindingMode, LoadBalanceHosts, RequireAuth, SslMode, SslNegotiation,
    SslRootCert, TargetSessionAttrs,
};

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
    slow_statement_threshold: Option<Duration>,
    pgbouncer_detect: bool,
    min_protocol_version: ProtocolVersion,
    /// `None`: libpq 18's default (3.0, or the latest when the minimum is
    /// above 3.0).
    max_protocol_version: Option<ProtocolVersion>,
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
            slow_statement_threshold: None,
            pgbouncer_detect: true,
            min_protocol_version: ProtocolVersion::V3_0,
            max_protocol_version: None,
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
    /// `load_balance_hosts`, `min_protocol_version` and
    /// `max_protocol_version` (libpq 18: `3.0`, `3.2` or `latest`; default
    /// 3.0 for both, the maximum defaulting to the latest when the minimum
    /// is above 3.0; a minimum above the maximum is an error here),
    /// `client_encoding` (only `UTF8`), `keepalives`
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
    /// `~/.postgresql/root.crt` if that file exists and `sslmode` is not
    /// `disable` (as in libpq, a root certificate makes `require`, `prefer`
    /// and `allow` check the server's chain as `verify-ca` does), and
    /// `sslcert` / `sslkey` are `~/.postgresql/postgresql.crt` / `.key` if
    /// they exist.
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

    /// `sslrootcert`: the CA certificates that verify the server: in every
    /// mode that uses TLS (the chain; `verify-full` also checks the name).
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

    /// `min_protocol_version` (libpq 18): the oldest protocol version to
    /// accept (default 3.0). A server that offers less fails the connect
    /// with [`Error::ProtocolVersion`](crate::Error::ProtocolVersion).
    /// Above 3.0, it also makes the default `max_protocol_version` the
    /// latest, as in libpq.
    pub fn min_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.min_protocol_version = version;
        self
    }

    /// `max_protocol_version` (libpq 18): the protocol version to ask for.
    /// The default is 3.0, as in libpq, because middleware that cannot
    /// negotiate (PgBouncer 1.18, for one) refuses anything newer; with
    /// [`ProtocolVersion::LATEST`] (`latest`) a PostgreSQL 18 server speaks
    /// 3.2 and older servers negotiate down to 3.0. A minimum above the
    /// maximum fails the connect (and [`parse`](Self::parse) at once).
    ///
    /// ```
    /// use pgwire_conn::{ConnectOptions, ProtocolVersion};
    /// let opts = ConnectOptions::new("db", "alice").max_protocol_version(ProtocolVersion::LATEST);
    /// assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::V3_2);
    /// assert_eq!(ConnectOptions::new("db", "alice").get_max_protocol_version(), ProtocolVersion::V3_0);
    /// ```
    pub fn max_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.max_protocol_version = Some(version);
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

    /// `min_protocol_version`.
    pub fn get_min_protocol_version(&self) -> ProtocolVersion {
        self.min_protocol_version
    }

    /// `max_protocol_version`: the one set, else libpq 18's default (3.0,
    /// or the latest when `min_protocol_version` is above 3.0).
    pub fn get_max_protocol_version(&self) -> ProtocolVersion {
        self.max_protocol_version
            .unwrap_or(if self.min_protocol_version > ProtocolVersion::V3_0 {
                ProtocolVersion::LATEST
            } else {
                ProtocolVersion::V3_0
            })
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
        let mut config = StartupConfig::new(self.user.clone())
            .min_protocol_version(self.min_protocol_version)
            .max_protocol_version(self.get_max_protocol_version());
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
            .field("slow_statement_threshold", &self.slow_statement_threshold)
            .field("pgbouncer_detect", &self.pgbouncer_detect)
            .field("min_protocol_version", &self.min_protocol_version)
            .field("max_protocol_version", &self.max_protocol_version)
            .field("tcp", &self.tcp)
            .finish()
    }
}

#[cfg(test)]
mod tests;
