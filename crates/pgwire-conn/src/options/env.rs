//! Turning `(key, value)` pairs into [`ConnectOptions`], filling the gaps
//! from the `PG*` environment variables and then libpq's defaults.
//!
//! The environment is injected ([`Env`]) so that tests never read or change
//! the real process environment.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pgwire_proto::ProtocolVersion;

use super::error::{OptionsError, Origin};
use super::{
    ChannelBindingMode, ConnectOptions, Host, HostSpec, LoadBalanceHosts, RequireAuth, SslMode,
    SslNegotiation, SslRootCert, TargetSessionAttrs, DEFAULT_PORT,
};

/// What the resolution may read from outside: variables, the operating
/// system's idea of the current user, and where default sockets live.
pub(crate) struct Env<'a> {
    /// An environment variable (`None` if unset or not Unicode).
    pub(crate) var: &'a dyn Fn(&str) -> Option<String>,
    /// The current user from the system's user database.
    pub(crate) os_user: &'a dyn Fn() -> Option<String>,
    /// Directories that become the default host if they hold the socket.
    pub(crate) socket_dirs: &'a [&'a str],
    /// Otherwise, the first of these that exists becomes the default host.
    pub(crate) fallback_socket_dirs: &'a [&'a str],
}

impl Env<'static> {
    /// The real process environment.
    pub(crate) fn process() -> Self {
        Env {
            var: &process_var,
            os_user: &os_user,
            socket_dirs: if cfg!(unix) {
                &["/run/postgresql", "/var/run/postgresql", "/tmp"]
            } else {
                &[]
            },
            fallback_socket_dirs: if cfg!(unix) {
                &["/run/postgresql", "/var/run/postgresql"]
            } else {
                &[]
            },
        }
    }
}

fn process_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The user name for the effective uid, from `/proc` and `/etc/passwd`:
/// what libpq gets from `getpwuid(geteuid())`, without `unsafe`. Users known
/// only to NSS (LDAP, ...) are not found.
fn os_user() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    // "Uid:\treal\teffective\tsaved\tfilesystem"
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        (fields.next()? == euid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// How a key is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Stored in [`ConnectOptions`].
    Used,
    /// Accepted, checked and ignored.
    Ignored,
}

/// Every key understood, with the environment variable that fills it in.
const KEYS: &[(&str, Option<&str>, Kind)] = &[
    ("host", Some("PGHOST"), Kind::Used),
    ("hostaddr", Some("PGHOSTADDR"), Kind::Used),
    ("port", Some("PGPORT"), Kind::Used),
    ("dbname", Some("PGDATABASE"), Kind::Used),
    ("user", Some("PGUSER"), Kind::Used),
    ("password", Some("PGPASSWORD"), Kind::Used),
    ("passfile", Some("PGPASSFILE"), Kind::Used),
    ("application_name", Some("PGAPPNAME"), Kind::Used),
    ("fallback_application_name", None, Kind::Used),
    ("options", Some("PGOPTIONS"), Kind::Used),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT"), Kind::Used),
    ("sslmode", Some("PGSSLMODE"), Kind::Used),
    ("sslnegotiation", Some("PGSSLNEGOTIATION"), Kind::Used),
    ("sslrootcert", Some("PGSSLROOTCERT"), Kind::Used),
    ("sslcert", Some("PGSSLCERT"), Kind::Used),
    ("sslkey", Some("PGSSLKEY"), Kind::Used),
    ("channel_binding", Some("PGCHANNELBINDING"), Kind::Used),
    ("require_auth", Some("PGREQUIREAUTH"), Kind::Used),
    (
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Kind::Used,
    ),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS"), Kind::Used),
    (
        "min_protocol_version",
        Some("PGMINPROTOCOLVERSION"),
        Kind::Used,
    ),
    (
        "max_protocol_version",
        Some("PGMAXPROTOCOLVERSION"),
        Kind::Used,
    ),
    // Checked only: the session is always UTF8 (the machine decodes
    // everything as UTF-8), so another encoding is refused, not ignored.
    ("client_encoding", None, Kind::Used),
    // libpq reads no environment variable for the TCP options.
    ("keepalives", None, Kind::Used),
    ("keepalives_idle", None, Kind::Used),
    ("keepalives_interval", None, Kind::Used),
    ("keepalives_count", None, Kind::Used),
    ("tcp_user_timeout", None, Kind::Used),
    ("statement_cache_capacity", None, Kind::Used),
    ("pgbouncer", None, Kind::Used),
    ("pgbouncer_detect", None, Kind::Used),
    ("sslcompression", None, Kind::Ignored),
    ("gssencmode", None, Kind::Ignored),
];

/// libpq keys that are not implemented: named as such rather than as
/// unknown, so that the message does not suggest a typo.
const UNSUPPORTED: &[&str] = &[
    "service",
    "requiressl",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "requirepeer",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
];

/// The value of each key after the environment has filled the gaps.
struct Values {
    map: HashMap<&'static str, (String, Origin)>,
}

impl Values {
    fn collect(
        pairs: Vec<(String, String)>,
        origin: Origin,
        env: &Env<'_>,
    ) -> Result<Self, OptionsError> {
        let mut map = HashMap::new();
        for (key, value) in pairs {
            let key = super::statements::canonical(key);
            let Some(&(name, _, _)) = KEYS.iter().find(|(name, _, _)| *name == key) else {
                let problem = if UNSUPPORTED.contains(&key.as_str()) {
                    format!("connection option \"{key}\" is not supported")
                } else {
                    format!("unknown connection option \"{key}\"")
                };
                return Err(OptionsError::new(format!("{problem}{origin}")));
            };
            // A later value replaces an earlier one, as in libpq.
            map.insert(name, (value, origin));
        }
        for &(name, var, _) in KEYS {
            if let Some(var) = var {
                if !map.contains_key(name) {
                    if let Some(value) = (env.var)(var) {
                        map.insert(name, (value, Origin::Env(var)));
                    }
                }
            }
        }
        Ok(Values { map })
    }

    /// The value of `key`, or `None` if unset or empty. An empty value that
    /// was given still kept the environment variable out, as in libpq.
    fn get(&self, key: &str) -> Option<(&str, Origin)> {
        self.map
            .get(key)
            .filter(|(value, _)| !value.is_empty())
            .map(|(value, origin)| (value.as_str(), *origin))
    }

    fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(|(value, _)| value.to_owned())
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(|(value, _)| PathBuf::from(value))
    }

    fn parsed<T>(
        &self,
        key: &str,
        parse: impl Fn(&str, Origin) -> Result<T, OptionsError>,
    ) -> Result<Option<T>, OptionsError> {
        self.get(key)
            .map(|(v, origin)| parse(v, origin))
            .transpose()
    }
}

/// Builds the options from `pairs` (from a URL or a `key=value` string),
/// the environment and the defaults.
pub(super) fn resolve(
    pairs: Vec<(String, String)>,
    origin: Origin,
    env: &Env<'_>,
) -> Result<ConnectOptions, OptionsError> {
    let values = Values::collect(pairs, origin, env)?;
    check_ignored(&values)?;
    if let Some((encoding, origin)) = values.get("client_encoding") {
        if !["utf8", "utf-8", "unicode"].contains(&encoding.to_ascii_lowercase().as_str()) {
            return Err(OptionsError::new(format!(
                "client_encoding \"{encoding}\"{origin} is not supported: the session is always UTF8"
            )));
        }
    }

    let user = match values.string("user") {
        Some(user) => user,
        None => default_user(env).ok_or_else(|| {
            OptionsError::new(
                "could not determine the user name: set user, PGUSER, USER or LOGNAME",
            )
        })?,
    };
    let hosts = resolve_hosts(&values, env)?;
    let mut options = ConnectOptions::with_hosts(hosts, user);
    options.database = Some(
        values
            .string("dbname")
            .unwrap_or_else(|| options.user.clone()),
    );
    options.password = values.string("password");
    options.passfile = values.path("passfile");
    options.application_name = values.string("application_name");
    options.fallback_application_name = values.string("fallback_application_name");
    options.options = values.string("options");
    options.connect_timeout = values.parsed("connect_timeout", parse_timeout)?.flatten();
    options.tcp = super::keepalive::from_values(|key| values.get(key))?;
    options.statement_cache_capacity = super::statements::from_values(|key| values.get(key))?;
    options.pgbouncer_detect = super::statements::detect_from_values(|key| values.get(key))?;

    let ssl_mode = values.parsed("sslmode", SslMode::parse_in)?;
    options.ssl_negotiation = values
        .parsed("sslnegotiation", SslNegotiation::parse_in)?
        .unwrap_or_default();
    options.ssl_root_cert = values.get("sslrootcert").map(|(v, _)| match v {
        "system" => SslRootCert::System,
        path => SslRootCert::File(PathBuf::from(path)),
    });
    options.ssl_mode = match (&options.ssl_root_cert, ssl_mode) {
        // libpq 16: the system store only makes sense with host name checks,
        // so it makes verify-full the default and refuses anything weaker.
        (Some(SslRootCert::System), None) => SslMode::VerifyFull,
        (Some(SslRootCert::System), Some(mode)) if mode != SslMode::VerifyFull => {
            return Err(OptionsError::new(format!(
                "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
            )))
        }
        (_, mode) => mode.unwrap_or_default(),
    };
    // libpq 17: direct TLS cannot fall back to plaintext, so the modes that
    // would are refused rather than silently hardened.
    if options.ssl_negotiation == SslNegotiation::Direct
        && matches!(
            options.ssl_mode,
            SslMode::Disable | SslMode::Allow | SslMode::Prefer
        )
    {
        return Err(OptionsError::new(format!(
            "weak sslmode \"{}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\" or \"verify-full\")",
            options.ssl_mode
        )));
    }
    options.ssl_cert = values.path("sslcert");
    options.ssl_key = values.path("sslkey");
    if let Some(dir) = cert_dir(env) {
        let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        // libpq loads the default root certificate whenever it may use TLS,
        // and checks the server's chain against it in every such mode: with
        // it, require (and prefer, allow) verify as verify-ca does.
        if options.ssl_root_cert.is_none() && options.ssl_mode != SslMode::Disable {
            options.ssl_root_cert = existing("root.crt").map(SslRootCert::File);
        }
        if options.ssl_cert.is_none() {
            options.ssl_cert = existing("postgresql.crt");
        }
        if options.ssl_key.is_none() {
            options.ssl_key = existing("postgresql.key");
        }
    }

    options.channel_binding = values
        .parsed("channel_binding", ChannelBindingMode::parse_in)?
        .unwrap_or_default();
    options.require_auth = values.parsed("require_auth", RequireAuth::parse_in)?;
    options.target_session_attrs = values
        .parsed("target_session_attrs", TargetSessionAttrs::parse_in)?
        .unwrap_or_default();
    options.load_balance_hosts = values
        .parsed("load_balance_hosts", LoadBalanceHosts::parse_in)?
        .unwrap_or_default();
    let min = values.parsed("min_protocol_version", |v, origin| {
        parse_protocol_version("min_protocol_version", v, origin)
    })?;
    let max = values.parsed("max_protocol_version", |v, origin| {
        parse_protocol_version("max_protocol_version", v, origin)
    })?;
    if let Some(min) = min {
        options = options.min_protocol_version(min);
    }
    if let Some(max) = max {
        options = options.max_protocol_version(max);
    }
    // As libpq 18: refused here, before any connection is tried.
    let (min, max) = (
        options.get_min_protocol_version(),
        options.get_max_protocol_version(),
    );
    if min > max {
        return Err(OptionsError::new(format!(
            "\"min_protocol_version\" ({min}) is greater than \"max_protocol_version\" ({max})"
        )));
    }
    Ok(options)
}

/// libpq 18's `min_protocol_version` / `max_protocol_version` value.
fn parse_protocol_version(
    key: &str,
    value: &str,
    origin: Origin,
) -> Result<ProtocolVersion, OptionsError> {
    ProtocolVersion::parse(value)
        .map_err(|_| OptionsError::invalid(key, value, origin, Some("3.0, 3.2 or latest")))
}

/// The keys accepted for compatibility still get their values checked, so
/// that a typo is not silently ignored.
fn check_ignored(values: &Values) -> Result<(), OptionsError> {
    for &(key, _, kind) in KEYS {
        if kind != Kind::Ignored {
            continue;
        }
        let Some((value, origin)) = values.get(key) else {
            continue;
        };
        let valid = match key {
            "sslcompression" => matches!(value, "0" | "1"),
            "gssencmode" => {
                if value == "require" {
                    return Err(OptionsError::new(format!(
                        "gssencmode \"require\"{origin} is not supported: GSSAPI encryption is not implemented"
                    )));
                }
                matches!(value, "disable" | "prefer")
            }
            _ => false,
        };
        if !valid {
            let expected = match key {
                "sslcompression" => "0 or 1",
                _ => "disable or prefer",
            };
            return Err(OptionsError::invalid(key, value, origin, Some(expected)));
        }
    }
    Ok(())
}

/// libpq's rule: a comma list of hosts and/or host addresses (the same
/// count when both are given) and one port for all or one port per host.
fn resolve_hosts(values: &Values, env: &Env<'_>) -> Result<Vec<HostSpec>, OptionsError> {
    let list = |key| -> Vec<(&str, Origin)> {
        match values.get(key) {
            Some((v, origin)) => v.split(',').map(|s| (s.trim(), origin)).collect(),
            None => Vec::new(),
        }
    };
    let names = list("host");
    let addrs = list("hostaddr");
    let ports = list("port");
    if !names.is_empty() && !addrs.is_empty() && names.len() != addrs.len() {
        return Err(OptionsError::new(format!(
            "could not match {} host names to {} hostaddr values",
            names.len(),
            addrs.len()
        )));
    }
    let count = names.len().max(addrs.len()).max(1);
    if ports.len() > 1 && ports.len() != count {
        return Err(OptionsError::new(format!(
            "could not match {} port numbers to {count} host{}",
            ports.len(),
            if count == 1 { "" } else { "s" }
        )));
    }
    let mut hosts = Vec::with_capacity(count);
    for i in 0..count {
        let port = match ports.get(i).or(ports.first()) {
            Some(&(port, origin)) if !port.is_empty() => parse_port(port, origin)?,
            _ => DEFAULT_PORT,
        };
        let hostaddr = match addrs.get(i) {
            Some(&(addr, origin)) if !addr.is_empty() => {
                Some(addr.parse::<IpAddr>().map_err(|_| {
                    OptionsError::invalid("hostaddr", addr, origin, Some("an IP address"))
                })?)
            }
            _ => None,
        };
        let host = match (names.get(i).map(|&(name, _)| name), hostaddr) {
            // A socket path with a hostaddr: libpq connects to the address,
            // so the path is dropped.
            (Some(name), Some(ip)) if name.starts_with('/') => Host::Tcp(ip.to_string()),
            (Some(name), _) if !name.is_empty() => Host::parse(name),
            (_, Some(ip)) => Host::Tcp(ip.to_string()),
            _ => default_host(env, port),
        };
        hosts.push(HostSpec {
            host,
            port,
            hostaddr,
        });
    }
    Ok(hosts)
}

fn parse_port(port: &str, origin: Origin) -> Result<u16, OptionsError> {
    match port.trim().parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(OptionsError::invalid(
            "port",
            port,
            origin,
            Some("a number from 1 to 65535"),
        )),
    }
}

/// Seconds; zero or negative means no timeout, as in libpq.
fn parse_timeout(value: &str, origin: Origin) -> Result<Option<Duration>, OptionsError> {
    let seconds = value.trim().parse::<i64>().map_err(|_| {
        OptionsError::invalid(
            "connect_timeout",
            value,
            origin,
            Some("a whole number of seconds"),
        )
    })?;
    Ok(u64::try_from(seconds)
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs))
}

/// A socket directory that holds the server's socket, else a standard
/// socket directory that exists, else `localhost` over TCP.
fn default_host(env: &Env<'_>, port: u16) -> Host {
    let socket = format!(".s.PGSQL.{port}");
    let with_socket = env
        .socket_dirs
        .iter()
        .find(|dir| Path::new(dir).join(&socket).exists());
    let existing = || {
        env.fallback_socket_dirs
            .iter()
            .find(|dir| Path::new(dir).is_dir())
    };
    match with_socket.or_else(existing) {
        Some(dir) => Host::Unix(PathBuf::from(dir)),
        None => Host::Tcp("localhost".into()),
    }
}

fn default_user(env: &Env<'_>) -> Option<String> {
    let var = |name| (env.var)(name).filter(|v| !v.is_empty());
    var("USER")
        .or_else(|| var("LOGNAME"))
        .or_else(|| if cfg!(windows) { var("USERNAME") } else { None })
        .or_else(|| (env.os_user)())
}

/// The user's configuration directory: `~/.postgresql` (or
/// `%APPDATA%\postgresql` on Windows, as libpq).
fn cert_dir(env: &Env<'_>) -> Option<PathBuf> {
    if cfg!(windows) {
        (env.var)("APPDATA")
            .filter(|v| !v.is_empty())
            .map(|d| Path::new(&d).join("postgresql"))
    } else {
        (env.var)("HOME")
            .filter(|v| !v.is_empty())
            .map(|d| Path::new(&d).join(".postgresql"))
    }
}

/// The password file when the options name none: `PGPASSFILE`, else
/// `~/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows).
pub(super) fn passfile(env: &Env<'_>) -> Option<PathBuf> {
    if let Some(path) = (env.var)("PGPASSFILE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if cfg!(windows) {
        cert_dir(env).map(|d| d.join("pgpass.conf"))
    } else {
        (env.var)("HOME")
            .filter(|v| !v.is_empty())
            .map(|d| Path::new(&d).join(".pgpass"))
    }
}

/// Parses `conninfo` with only `vars` in the environment (plus `USER=tester`
/// unless `vars` sets `USER`), no OS user and no default socket directories.
#[cfg(test)]
pub(super) fn test_parse(
    conninfo: &str,
    vars: &[(&str, &str)],
) -> Result<ConnectOptions, OptionsError> {
    let var = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| (name == "USER").then(|| "tester".to_owned()))
    };
    let env = Env {
        var: &var,
        os_user: &|| None,
        socket_dirs: &[],
        fallback_socket_dirs: &[],
    };
    ConnectOptions::parse_with(conninfo, &env)
}

/// A fresh empty directory under the system temp directory.
#[cfg(test)]
pub(super) fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pgwire-options-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests;
