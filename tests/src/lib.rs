//! Shared helpers for the integration tests: the coordinates of the
//! throwaway cluster that `cargo xtask test` starts (passed in `PGWIRE_TEST_*`
//! environment variables), and one [`Runtime`] abstraction so that every test
//! body is written once and runs on tokio, smol and async-std.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use pgwire_conn::{ConnectOptions, Connection, Result, SslMode, SslRootCert};

pub mod drops;
pub mod round_trip;
pub mod runtime;
pub mod streams;

pub use drops::{after_polls, race, timeout, within, Rng, YieldN};
pub use runtime::{AsyncStd, Over, Runtime, Smol, Tcp, Tls, Tokio, Unix};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the integration tests with `cargo xtask test`, which starts the test cluster")
    })
}

/// A role of the test cluster, one per authentication method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `trust`: no password.
    Trust,
    /// `password`: cleartext.
    Password,
    /// `md5`.
    Md5,
    /// `scram-sha-256`.
    Scram,
    /// `scram-sha-256`, `hostssl` only.
    Ssl,
    /// `cert`: a client certificate signed by the cluster's CA, `hostssl` only.
    Cert,
}

impl Role {
    /// Every role that may connect without TLS.
    pub const PLAIN: [Role; 4] = [Role::Trust, Role::Password, Role::Md5, Role::Scram];

    fn key(self) -> &'static str {
        match self {
            Role::Trust => "TRUST",
            Role::Password => "PASSWORD",
            Role::Md5 => "MD5",
            Role::Scram => "SCRAM",
            Role::Ssl => "SSL",
            Role::Cert => "CERT",
        }
    }

    /// The role name.
    pub fn user(self) -> String {
        env(&format!("PGWIRE_TEST_{}_USER", self.key()))
    }

    /// Its password (`None` for trust).
    pub fn password(self) -> Option<String> {
        Some(env(&format!("PGWIRE_TEST_{}_PASSWORD", self.key()))).filter(|p| !p.is_empty())
    }
}

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// 127.0.0.1 and the cluster's port, no TLS (`sslmode=disable`).
    Tcp,
    /// The cluster's socket directory.
    Unix,
    /// 127.0.0.1 with TLS, `sslmode=verify-full` against the cluster's CA.
    Tls,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Unix, Transport::Tls];
}

/// The cluster's CA certificate.
pub fn ca_cert() -> std::path::PathBuf {
    env("PGWIRE_TEST_CA_CERT").into()
}

/// The cluster's TCP port.
pub fn port() -> u16 {
    env("PGWIRE_TEST_PORT")
        .parse()
        .unwrap_or_else(|e| panic!("PGWIRE_TEST_PORT: {e}"))
}

/// The test database.
pub fn database() -> String {
    env("PGWIRE_TEST_DATABASE")
}

/// Options for `role` over `transport`, with the role's password.
pub fn options(role: Role, transport: Transport) -> ConnectOptions {
    let host = match transport {
        Transport::Tcp | Transport::Tls => env("PGWIRE_TEST_HOST"),
        Transport::Unix => env("PGWIRE_TEST_SOCKET_DIR"),
    };
    let mut opts = ConnectOptions::new(&host, role.user())
        .port(port())
        .database(database())
        .application_name("pgwire-tests");
    opts = match transport {
        Transport::Tls => opts
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(SslRootCert::File(ca_cert())),
        _ => opts.ssl_mode(SslMode::Disable),
    };
    if let Some(pw) = role.password() {
        opts = opts.password(pw);
    }
    opts
}

/// A PgBouncer listener of the test cluster (see `xtask/src/bouncer.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// `pool_mode = transaction`, 2 server connections in all: consecutive
    /// transactions (and statements outside one) of one client may run on
    /// different server sessions.
    Transaction,
    /// `pool_mode = session`: a server session per client, as without
    /// PgBouncer.
    Session,
}

/// How to reach PgBouncer (it has no TLS in the test cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// 127.0.0.1 and the listener's port, `sslmode=disable`.
    Tcp,
    /// The listener's socket directory.
    Unix,
}

impl Via {
    /// Both.
    pub const ALL: [Via; 2] = [Via::Tcp, Via::Unix];
}

impl PoolMode {
    /// Both.
    pub const ALL: [PoolMode; 2] = [PoolMode::Transaction, PoolMode::Session];

    fn env_name(self) -> &'static str {
        match self {
            PoolMode::Transaction => "PGWIRE_TEST_PGBOUNCER",
            PoolMode::Session => "PGWIRE_TEST_PGBOUNCER_SESSION",
        }
    }

    /// The listener's TCP port.
    pub fn port(self) -> u16 {
        bouncer_env(&format!("{}_PORT", self.env_name()))
            .parse()
            .unwrap_or_else(|e| panic!("{}_PORT: {e}", self.env_name()))
    }

    /// The listener's socket directory.
    pub fn socket_dir(self) -> String {
        bouncer_env(&format!("{}_SOCKET_DIR", self.env_name()))
    }
}

fn bouncer_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the test cluster runs without PgBouncer (install the Debian \
             package 'pgbouncer' and run `cargo xtask test`, or `cargo xtask pg start` without \
             --no-pgbouncer / PGWIRE_XTASK_NO_PGBOUNCER)"
        )
    })
}

/// Options for the SCRAM role (the only one PgBouncer knows) through the
/// PgBouncer listener `mode`, over `via`.
pub fn pgbouncer_options(mode: PoolMode, via: Via) -> ConnectOptions {
    let host = match via {
        Via::Tcp => host(),
        Via::Unix => mode.socket_dir(),
    };
    let role = Role::Scram;
    let mut opts = ConnectOptions::new(&host, role.user())
        .port(mode.port())
        .database(database())
        .application_name("pgwire-tests")
        .ssl_mode(SslMode::Disable);
    if let Some(pw) = role.password() {
        opts = opts.password(pw);
    }
    opts
}

/// A connection through PgBouncer (see [`pgbouncer_options`]), panicking
/// with the error if it fails. It has the default statement cache: in
/// transaction mode, a test of today's explicit mode turns it off with
/// `conn.set_statement_cache_capacity(0)`.
pub async fn connect_pgbouncer<R: Runtime>(mode: PoolMode, via: Via) -> Connection<R::Socket> {
    match R::open(&pgbouncer_options(mode, via)).await {
        Ok(c) => c,
        Err(e) => panic!("connect through PgBouncer ({mode:?} mode) over {via:?}: {e}"),
    }
}

/// The names of the statements the session of `conn` has prepared by name
/// (all of them, or those for the text `sql`), sorted; read over the simple
/// protocol, which prepares nothing.
pub async fn prepared_names<S>(conn: &Connection<S>, sql: Option<&str>) -> Vec<String>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let filter = sql.map_or_else(String::new, |sql| {
        format!(" where statement = '{}'", sql.replace('\'', "''"))
    });
    let results = conn
        .simple_query(&format!(
            "select name from pg_prepared_statements{filter} order by name"
        ))
        .await
        .expect("listing prepared statements");
    results[0]
        .rows
        .iter()
        .map(|r| r.try_get::<&str>(0).expect("a name").to_owned())
        .collect()
}

/// The `int4` that `sql` answers for its one parameter `n` (one row).
pub async fn int4_for<S>(conn: &Connection<S>, sql: &str, n: i32) -> i32
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn
        .fetch_one(sql, (n,))
        .await
        .expect("the query runs")
        .expect("a row");
    row.try_get::<i32>(0).expect("an int4")
}

/// Waits (up to 5 s) until backend `pid` is running `sql`, as `watcher`, a
/// connection of its own, sees in `pg_stat_activity`.
pub async fn wait_until_running<R: Runtime, S>(watcher: &Connection<S>, pid: i32, sql: &str)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    for _ in 0..500 {
        let active: i64 = watcher
            .fetch_one(
                "select count(*) from pg_stat_activity where pid = $1 and query = $2 and state = 'active'",
                (pid, sql),
            )
            .await
            .expect("reading pg_stat_activity")
            .expect("count(*) returns a row")
            .try_get(0)
            .expect("count(*) as int8");
        if active == 1 {
            return;
        }
        R::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The statement [`spawn_running_sleep`] runs.
pub const SLEEP_30: &str = "select pg_sleep(30)";

/// Spawns [`SLEEP_30`] on `conn` and returns, once the server is running
/// it, the spawned task: it yields the statement's row count, or the
/// SQLSTATE it failed with (`Some(57014)` once cancelled).
///
/// It waits ([`wait_until_running`], watching from a connection of its own)
/// because a cancel request that arrives before the backend has started the
/// statement cancels nothing, and the test would sit out the 30 s.
pub async fn spawn_running_sleep<R: Runtime, S>(
    conn: &std::sync::Arc<Connection<S>>,
) -> impl Future<Output = std::result::Result<u64, Option<pgwire_conn::SqlState>>> + Send
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let pid = conn
        .backend_key()
        .expect("the server sent a BackendKeyData")
        .process_id;
    let slow = R::spawn({
        let conn = std::sync::Arc::clone(conn);
        async move { conn.execute(SLEEP_30, ()).await.map_err(|e| e.code()) }
    });
    let watcher = connect::<R>().await;
    wait_until_running::<R, _>(&watcher, pid, SLEEP_30).await;
    slow
}

/// The server process that answers `conn` (`pg_backend_pid()`).
pub async fn backend_pid<S>(conn: &Connection<S>) -> i32
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn
        .fetch_one("select pg_backend_pid()", ())
        .await
        .expect("asking for the backend's pid")
        .expect("pg_backend_pid() returns a row");
    row.try_get(0).expect("pg_backend_pid() as int4")
}

/// How many statements the session of `conn` has prepared with the text
/// `sql` (from `pg_prepared_statements`).
pub async fn prepared_count<S>(conn: &Connection<S>, sql: &str) -> i32
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn
        .fetch_one(
            "select count(*)::int4 from pg_prepared_statements where statement = $1",
            (sql,),
        )
        .await
        .expect("counting prepared statements")
        .expect("count(*) returns a row");
    row.try_get(0).expect("count(*) as int4")
}

/// The cluster's host for TCP.
pub fn host() -> String {
    env("PGWIRE_TEST_HOST")
}

/// A connection as the trust role over a plain TCP stream of the runtime
/// wrapped by `wrap` (no TLS), with the runtime's hooks.
pub async fn connect_over<R, W, F>(wrap: F) -> Connection<pgwire_conn::MaybeTls<W>>
where
    R: Runtime,
    W: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    F: FnOnce(R::Tcp) -> W,
{
    let stream = R::tcp(&host(), port()).await.expect("TCP to the cluster");
    let options = options(Role::Trust, Transport::Tcp);
    let mut conn = Connection::connect(wrap(stream), &options)
        .await
        .expect("startup over a wrapped stream");
    conn.set_runtime_hooks(R::hooks());
    conn
}

/// Opens a connection as the trust role over the runtime's transport.
pub async fn connect<R: Runtime>() -> Connection<R::Socket> {
    connect_as::<R>(Role::Trust, R::transport()).await
}

/// Opens a connection, panicking with the error if it fails.
pub async fn connect_as<R: Runtime>(role: Role, transport: Transport) -> Connection<R::Socket> {
    match R::open(&options(role, transport)).await {
        Ok(c) => c,
        Err(e) => panic!("connect as {role:?} over {transport:?}: {e}"),
    }
}

/// Records every notice and warning `conn` receives, as `"SQLSTATE message"`.
pub fn record_notices<S>(conn: &Connection<S>) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    conn.set_notice_handler(move |notice| {
        let line = format!("{} {}", notice.sqlstate(), notice.message);
        sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    });
    seen
}

/// Asserts that none of `notices` is a transaction-state warning: BEGIN
/// inside a transaction (25001) or COMMIT/ROLLBACK outside one (25P01).
#[track_caller]
pub fn assert_no_transaction_warnings(notices: &std::sync::Mutex<Vec<String>>) {
    let notices = notices.lock().unwrap_or_else(|e| e.into_inner());
    let bad: Vec<_> = notices
        .iter()
        .filter(|n| n.starts_with("25001") || n.starts_with("25P01"))
        .collect();
    assert!(bad.is_empty(), "transaction-state warnings: {bad:?}");
}

/// A table name unique to this process and call site, so that tests running
/// in parallel never collide.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Asserts that `result` is a database error with SQLSTATE `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T>, code: pgwire_conn::SqlState) {
    match result {
        Err(e) if e.code() == Some(code) => {}
        other => panic!("expected SQLSTATE {code}, got {other:?}"),
    }
}

/// An error and every error of its `source()` chain, joined with ": ", as
/// anyhow's `{:#}` and eyre print it.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// Runs a future to completion on runtime `R` (for test entry points).
pub fn run<R: Runtime, F: Future<Output = ()>>(f: F) {
    R::block_on(f)
}

/// Expands each listed `async fn name<R: Runtime>()` into one `#[test]` per
/// runtime and transport: `tokio::tcp::name`, `tokio::unix::name`,
/// `tokio::tls::name`, and the same under `smol` and `async_std`.
#[macro_export]
macro_rules! runtime_tests {
    ($($name:ident),* $(,)?) => {
        $crate::runtime_tests!(@runtime tokio, $crate::Tokio; $($name),*);
        $crate::runtime_tests!(@runtime smol, $crate::Smol; $($name),*);
        $crate::runtime_tests!(@runtime async_std, $crate::AsyncStd; $($name),*);
    };
    (@runtime $module:ident, $rt:ty; $($name:ident),*) => {
        mod $module {
            $crate::runtime_tests!(@transport tcp, $crate::Over<$rt, $crate::Tcp>; $($name),*);
            $crate::runtime_tests!(@transport unix, $crate::Over<$rt, $crate::Unix>; $($name),*);
            $crate::runtime_tests!(@transport tls, $crate::Over<$rt, $crate::Tls>; $($name),*);
        }
    };
    (@transport $module:ident, $rt:ty; $($name:ident),*) => {
        mod $module {
            $(#[test] fn $name() { $crate::run::<$rt, _>(super::super::$name::<$rt>()) })*
        }
    };
}

/// Like [`runtime_tests!`], once per runtime only: for tests that choose
/// their transports themselves.
#[macro_export]
macro_rules! runtime_only_tests {
    ($($name:ident),* $(,)?) => {
        mod tokio {
            $(#[test] fn $name() { $crate::run::<$crate::Tokio, _>(super::$name::<$crate::Tokio>()) })*
        }
        mod smol {
            $(#[test] fn $name() { $crate::run::<$crate::Smol, _>(super::$name::<$crate::Smol>()) })*
        }
        mod async_std {
            $(#[test] fn $name() { $crate::run::<$crate::AsyncStd, _>(super::$name::<$crate::AsyncStd>()) })*
        }
    };
}

/// A CA certificate (PEM file) that has signed nothing of the cluster's:
/// a root certificate that must not vouch for the server. Made once per
/// process, in the cluster's directory (which goes with the cluster).
pub fn unrelated_ca() -> std::path::PathBuf {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "unrelated test CA");
        let cert = params.self_signed(&key).unwrap();
        let path = std::path::Path::new(&env("PGWIRE_TEST_CLUSTER_DIR"))
            .join(format!("unrelated-ca-{}.crt", std::process::id()));
        std::fs::write(&path, cert.pem()).unwrap();
        path
    })
    .clone()
}

/// The README's examples, compiled as doctests so that they stay true.
#[doc = include_str!("../../README.md")]
mod readme {}

/// The crates' own READMEs (what crates.io shows), compiled the same way.
#[doc = include_str!("../../crates/pgwire-tokio/README.md")]
mod readme_tokio {}
#[doc = include_str!("../../crates/pgwire-smol/README.md")]
mod readme_smol {}
#[doc = include_str!("../../crates/pgwire-async-std/README.md")]
mod readme_async_std {}
