//! Opening a connection, shared by every runtime: the hosts in order (or
//! shuffled), a timeout per host, TLS per `sslmode`, startup and
//! authentication, and the `target_session_attrs` check. Adapters supply only
//! the runtime's socket constructors and its [`RuntimeHooks`] (a timer, and
//! cancel requests), which every connection it opens keeps.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::rustls::ClientConfig;
use pgwire_proto::AuthMethods;

use crate::negotiate::{negotiate, TlsPlan};
use crate::options::{
    AuthMethod, ChannelBindingMode, ConnectOptions, HostSpec, LoadBalanceHosts, SslMode,
    SslNegotiation, SslRootCert, TargetSessionAttrs,
};
use crate::session::Origin;
use crate::timeout::{within, RuntimeHooks};
use crate::tls::{client_config, server_end_point, MaybeTls, Roots, Verify};
use crate::{Connection, Error, Result, Socket, TcpSettings};

/// A connection opened by [`open_with`].
pub type Opened<T, U> = Connection<MaybeTls<Socket<T, U>>>;

/// Opens one connection from the options: what an adapter hands a
/// [`Pool`](crate::Pool) and a [`Listener`](crate::Listener), which open
/// connections again when they need to.
pub type Connector<S> = Arc<
    dyn Fn(Arc<ConnectOptions>) -> crate::timeout::BoxFuture<Result<Connection<S>>> + Send + Sync,
>;

/// Opens a connection with the runtime's `tcp` and `unix` socket
/// constructors and its `hooks`.
///
/// `tcp` receives a host (name or IP), a port and the options'
/// [`TcpSettings`]; it connects (to each address of a name in turn),
/// applies the settings with [`TcpSettings::apply`] and returns the stream
/// with the address it reached, where cancel requests will go (a name may
/// resolve elsewhere by then). The hooks' timer bounds each attempt by
/// `connect_timeout`, and the connection keeps the hooks for time limits
/// and cancel requests.
pub async fn open_with<T, U, FT, FU>(
    options: &ConnectOptions,
    tcp: impl Fn(String, u16, TcpSettings) -> FT,
    unix: impl Fn(PathBuf) -> FU,
    hooks: Arc<dyn RuntimeHooks>,
) -> Result<Opened<T, U>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let watch = crate::observe::ConnectWatch::start(options);
    let out = open_hosts(options, tcp, unix, hooks).await;
    watch.finish(&out);
    out
}

async fn open_hosts<T, U, FT, FU>(
    options: &ConnectOptions,
    tcp: impl Fn(String, u16, TcpSettings) -> FT,
    unix: impl Fn(PathBuf) -> FU,
    hooks: Arc<dyn RuntimeHooks>,
) -> Result<Opened<T, U>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let hosts = ordered_hosts(options);
    let wanted = options.get_target_session_attrs();
    // prefer-standby: a standby if any, else whatever answers.
    let passes: &[TargetSessionAttrs] = match wanted {
        TargetSessionAttrs::PreferStandby => {
            &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
        }
        _ => std::slice::from_ref(&wanted),
    };
    let mut last_error = None;
    let mut rejected = Vec::new();
    let mut tls_config = None;
    for &attrs in passes {
        for host in &hosts {
            let attempt = connect_host(options, host, &mut tls_config, &tcp, &unix);
            let outcome = match options.get_connect_timeout() {
                None => attempt.await,
                Some(after) => within(&hooks, after, attempt).await.unwrap_or_else(|| {
                    Err(Error::Timeout {
                        address: host.describe(),
                        after,
                    })
                }),
            };
            match outcome.map(|mut conn| {
                conn.set_runtime_hooks(Arc::clone(&hooks));
                conn
            }) {
                Ok(conn) => match session_matches(&conn, attrs).await {
                    Ok(true) => return Ok(conn),
                    Ok(false) => {
                        rejected.push(host.describe());
                        let _ = conn.close().await;
                    }
                    Err(e) => last_error = Some(e),
                },
                Err(e) => last_error = Some(e),
            }
        }
    }
    if !rejected.is_empty() || last_error.is_none() {
        return Err(Error::TargetSessionAttrs {
            wanted: wanted.as_str(),
            rejected,
        });
    }
    Err(last_error.unwrap_or(Error::InvalidInput("no host given".into())))
}

/// The hosts to try, shuffled for `load_balance_hosts=random`.
fn ordered_hosts(options: &ConnectOptions) -> Vec<HostSpec> {
    let mut hosts = options.hosts().to_vec();
    if options.get_load_balance_hosts() == LoadBalanceHosts::Random {
        // Not security-sensitive: std's randomly seeded hasher is enough
        // to spread connections.
        use std::hash::{BuildHasher, Hasher};
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        for i in (1..hosts.len()).rev() {
            seed.write_usize(i);
            let j = (seed.finish() % (i as u64 + 1)) as usize;
            hosts.swap(i, j);
        }
    }
    hosts
}

/// One attempt at one host, with the fallbacks `allow` and `prefer` make.
async fn connect_host<T, U, FT, FU>(
    options: &ConnectOptions,
    host: &HostSpec,
    tls_config: &mut Option<Arc<ClientConfig>>,
    tcp: &impl Fn(String, u16, TcpSettings) -> FT,
    unix: &impl Fn(PathBuf) -> FU,
) -> Result<Opened<T, U>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let plan = tls_plan(options, host, tls_config)?;
    // Each attempt opens a socket of its own; when both fail, the error
    // keeps both causes, as libpq's message does.
    let both = |tls_first, first, second| Error::BothAttempts {
        tls_first,
        first: Box::new(first),
        second: Box::new(second),
    };
    match (options.get_ssl_mode(), plan.as_ref()) {
        // allow: plain first; TLS only if the server turns that down.
        (SslMode::Allow, Some(tls)) => match attempt(options, host, None, tcp, unix).await {
            Err(first @ Error::Database(_)) => attempt(options, host, Some(tls), tcp, unix)
                .await
                .map_err(|second| both(false, first, second)),
            other => other,
        },
        // prefer: TLS first; plain if TLS fails (the handshake, or a
        // certificate the root certificates do not vouch for: libpq
        // retries on any failure of the TLS layer) or the server turns the
        // TLS session down.
        (SslMode::Prefer, Some(tls)) => match attempt(options, host, Some(tls), tcp, unix).await {
            Err(first @ (Error::Tls(_) | Error::Database(_))) => {
                attempt(options, host, None, tcp, unix)
                    .await
                    .map_err(|second| both(true, first, second))
            }
            other => other,
        },
        (_, plan) => attempt(options, host, plan, tcp, unix).await,
    }
}

async fn attempt<T, U, FT, FU>(
    options: &ConnectOptions,
    host: &HostSpec,
    plan: Option<&TlsPlan>,
    tcp: &impl Fn(String, u16, TcpSettings) -> FT,
    unix: &impl Fn(PathBuf) -> FU,
) -> Result<Opened<T, U>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let (socket, peer) = open_socket(host, options.tcp_settings(), tcp, unix).await?;
    let mut conn = connect_over(socket, options, host, plan).await?;
    conn.set_origin(Origin {
        host: host.clone(),
        tls: plan.cloned(),
        peer,
        tcp: options.tcp_settings(),
    });
    Ok(conn)
}

/// Startup over an open socket: TLS negotiation per `plan`, then
/// authentication with everything the options require.
pub(crate) async fn connect_over<S>(
    socket: S,
    options: &ConnectOptions,
    host: &HostSpec,
    plan: Option<&TlsPlan>,
) -> Result<Connection<MaybeTls<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (stream, machine) = negotiate(socket, plan).await?;
    let encrypted = stream.is_tls();
    let mut config = options.startup_config_for(host);
    let binding = options.get_channel_binding();
    if stream.is_tls() && binding != ChannelBindingMode::Disable {
        let end_point = stream
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| server_end_point(cert));
        config = config.tls(end_point);
    }
    if binding == ChannelBindingMode::Require {
        config = config.require_channel_binding(true);
    }
    if let Some(require) = options.get_require_auth() {
        let mut allowed = AuthMethods::default();
        for (method, flag) in [
            (AuthMethod::None, AuthMethods::NONE),
            (AuthMethod::Password, AuthMethods::PASSWORD),
            (AuthMethod::Md5, AuthMethods::MD5),
            (AuthMethod::ScramSha256, AuthMethods::SCRAM_SHA_256),
        ] {
            if require.allows(method) {
                allowed = allowed.union(flag);
            }
        }
        config = config.allowed_auth(allowed);
    }
    let mut conn = Connection::start(machine, stream, &config).await?;
    conn.set_encrypted(encrypted);
    // Before any statement, the connection's own checks included.
    conn.set_statement_cache_capacity(options.get_statement_cache_capacity());
    conn.set_pooler_detection(options.get_pgbouncer_detect());
    conn.set_slow_statement_threshold(options.get_slow_statement_threshold());
    if options.get_pgbouncer_detect() && !options.statement_cache_chosen() {
        crate::pooler::probe(&conn).await?;
    }
    Ok(conn)
}

/// Opens the socket for `host`: its `hostaddr` if set, else its name; with
/// the address a TCP socket reached.
pub(crate) async fn open_socket<T, U, FT, FU>(
    host: &HostSpec,
    settings: TcpSettings,
    tcp: &impl Fn(String, u16, TcpSettings) -> FT,
    unix: &impl Fn(PathBuf) -> FU,
) -> Result<(Socket<T, U>, Option<SocketAddr>)>
where
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let connect_error = |source| Error::Connect {
        address: host.describe(),
        source,
    };
    let opened = |(stream, peer)| (Socket::Tcp(stream), Some(peer));
    if let Some(addr) = host.socket_addr() {
        return tcp(addr.ip().to_string(), addr.port(), settings)
            .await
            .map(opened)
            .map_err(connect_error);
    }
    match (host.tcp_address(), host.unix_socket_path()) {
        (Some((name, port)), _) => tcp(name.to_owned(), port, settings)
            .await
            .map(opened)
            .map_err(connect_error),
        (None, Some(path)) => unix(path)
            .await
            .map(|stream| (Socket::Unix(stream), None))
            .map_err(connect_error),
        (None, None) => Err(Error::InvalidInput("no host given".into())),
    }
}

/// What TLS to attempt with `host`, per the options (`None`: plain text).
/// Unix sockets never use TLS, as in libpq.
///
/// `built` keeps the client configuration between the hosts of one
/// connect: it depends on the options only, and building it reads and
/// parses certificate files. It is built at the first TCP host, so a target
/// of Unix sockets alone never touches those files.
pub(crate) fn tls_plan(
    options: &ConnectOptions,
    host: &HostSpec,
    built: &mut Option<Arc<ClientConfig>>,
) -> Result<Option<TlsPlan>> {
    let Some((name, _)) = host.tcp_address() else {
        return Ok(None);
    };
    let mode = options.get_ssl_mode();
    let direct = options.get_ssl_negotiation() == SslNegotiation::Direct;
    if mode == SslMode::Disable {
        return Ok(None);
    }
    if direct
        && !matches!(
            mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    {
        return Err(Error::InvalidInput(
            "sslnegotiation=direct needs sslmode require, verify-ca or verify-full".into(),
        ));
    }
    let config = match (built.as_ref(), options.get_tls_config()) {
        (Some(config), _) => Arc::clone(config),
        (None, Some(custom)) if direct && custom.alpn_protocols.is_empty() => {
            let mut with_alpn = (**custom).clone();
            with_alpn.alpn_protocols = vec![b"postgresql".to_vec()];
            Arc::new(with_alpn)
        }
        (None, Some(custom)) => Arc::clone(custom),
        (None, None) => {
            let roots = options.get_ssl_root_cert().map(|r| match r {
                SslRootCert::File(path) => Roots::File(path),
                SslRootCert::System => Roots::System,
            });
            let verify = match mode {
                SslMode::VerifyFull => Verify::Full,
                SslMode::VerifyCa => Verify::Chain,
                // libpq: with a root certificate, every mode that uses TLS
                // checks the chain (require acts like verify-ca).
                _ if roots.is_some() => Verify::Chain,
                _ => Verify::Nothing,
            };
            let client = options.get_ssl_cert().zip(options.get_ssl_key());
            client_config(verify, roots, client, direct)?
        }
    };
    *built = Some(Arc::clone(&config));
    Ok(Some(TlsPlan {
        required: matches!(
            mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        ),
        direct,
        config,
        server_name: name.to_owned(),
    }))
}

/// Whether the session has the attributes asked for. Servers from 14 on
/// report `in_hot_standby` and `default_transaction_read_only`; older ones
/// are asked.
async fn session_matches<S>(conn: &Connection<S>, wanted: TargetSessionAttrs) -> Result<bool>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if wanted == TargetSessionAttrs::Any {
        return Ok(true);
    }
    let params = conn.connection_parameters();
    let on = |name: &str| params.get(name).map(|v| v == "on");
    let standby = match on("in_hot_standby") {
        Some(v) => v,
        None => query_bool(conn, "select pg_is_in_recovery()").await?,
    };
    let read_only = standby
        || match on("default_transaction_read_only") {
            Some(v) => v,
            None => {
                query_bool(
                    conn,
                    "select current_setting('transaction_read_only') = 'on'",
                )
                .await?
            }
        };
    Ok(match wanted {
        TargetSessionAttrs::ReadWrite => !read_only,
        TargetSessionAttrs::ReadOnly => read_only,
        TargetSessionAttrs::Primary => !standby,
        TargetSessionAttrs::Standby | TargetSessionAttrs::PreferStandby => standby,
        TargetSessionAttrs::Any => true,
    })
}

async fn query_bool<S>(conn: &Connection<S>, sql: &str) -> Result<bool>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let row = conn.fetch_one(sql, ()).await?;
    Ok(row.and_then(|r| r.try_get::<bool>(0).ok()).unwrap_or(false))
}

/// For platforms without Unix sockets: the constructor adapters pass there.
pub async fn unix_unsupported<U>(_path: PathBuf) -> io::Result<U> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix sockets are not available on this platform",
    ))
}
