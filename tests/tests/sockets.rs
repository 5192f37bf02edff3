//! The TCP sockets the adapters open: libpq's keepalive and timeout options
//! are set on them (read back from the sockets themselves), and a cancel
//! request goes to the address the session reached, not to a new lookup of
//! its host name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pgwire_conn::{
    cancel_with, open_with, unix_unsupported, ConnectOptions, Error, Host, SqlState, SslMode,
    SslRootCert, TcpSettings,
};
use pgwire_integration_tests::runtime::TransportMarker;
use pgwire_integration_tests::{
    ca_cert, database, host, options, port, runtime_only_tests, runtime_tests, spawn_running_sleep,
    within, AsyncStd, Over, Role, Runtime, Smol, Tokio, Transport,
};
use socket2::SockRef;

/// What these tests need of an adapter beyond [`Runtime`]: its TCP
/// constructor, and a handle on a stream's socket to read options with.
trait Sockets: Runtime {
    fn connect_tcp(
        host: String,
        port: u16,
        settings: TcpSettings,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + 'static;

    fn sock(stream: &Self::Tcp) -> SockRef<'_>;
}

impl Sockets for Tokio {
    fn connect_tcp(
        host: String,
        port: u16,
        settings: TcpSettings,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + 'static {
        pgwire_tokio::connect_tcp(host, port, settings)
    }

    fn sock(stream: &Self::Tcp) -> SockRef<'_> {
        SockRef::from(stream.get_ref())
    }
}

impl Sockets for Smol {
    fn connect_tcp(
        host: String,
        port: u16,
        settings: TcpSettings,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + 'static {
        pgwire_smol::connect_tcp(host, port, settings)
    }

    fn sock(stream: &Self::Tcp) -> SockRef<'_> {
        SockRef::from(stream)
    }
}

impl Sockets for AsyncStd {
    fn connect_tcp(
        host: String,
        port: u16,
        settings: TcpSettings,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + 'static {
        pgwire_async_std::connect_tcp(host, port, settings)
    }

    fn sock(stream: &Self::Tcp) -> SockRef<'_> {
        SockRef::from(stream)
    }
}

impl<R: Sockets, T: TransportMarker> Sockets for Over<R, T> {
    fn connect_tcp(
        host: String,
        port: u16,
        settings: TcpSettings,
    ) -> impl Future<Output = io::Result<(Self::Tcp, SocketAddr)>> + 'static {
        R::connect_tcp(host, port, settings)
    }

    fn sock(stream: &Self::Tcp) -> SockRef<'_> {
        R::sock(stream)
    }
}

type Opened<R> = io::Result<(<R as Runtime>::Tcp, SocketAddr)>;

/// The adapter's TCP constructor, keeping a duplicate of each socket it
/// opens so that the options can be read after the stream is gone.
#[allow(clippy::type_complexity)]
fn recording<R: Sockets>(
    seen: &Arc<Mutex<Vec<socket2::Socket>>>,
) -> impl Fn(String, u16, TcpSettings) -> Pin<Box<dyn Future<Output = Opened<R>>>> {
    let seen = Arc::clone(seen);
    move |host, port, settings| {
        let seen = Arc::clone(&seen);
        Box::pin(async move {
            let (stream, peer) = R::connect_tcp(host, port, settings).await?;
            seen.lock().unwrap().push(R::sock(&stream).try_clone()?);
            Ok((stream, peer))
        })
    }
}

/// The options under test, as libpq would read them; `extra` is more
/// `key=value` pairs.
fn parsed(transport: Transport, extra: &str) -> ConnectOptions {
    let base = options(Role::Trust, transport);
    let host = match base.host() {
        Host::Tcp(name) => name.clone(),
        Host::Unix(dir) => dir.display().to_string(),
    };
    let tls = match transport {
        Transport::Tls => format!("sslmode=verify-full sslrootcert='{}'", ca_cert().display()),
        _ => "sslmode=disable".into(),
    };
    let conninfo = format!(
        "host='{host}' port={} user='{}' dbname='{}' application_name=pgwire-tests {tls} {extra}",
        port(),
        Role::Trust.user(),
        database(),
    );
    ConnectOptions::parse(&conninfo).unwrap()
}

/// Every option read back from one socket.
fn assert_set(socket: &socket2::Socket, settings: TcpSettings, what: &str) {
    assert!(socket.tcp_nodelay().unwrap(), "{what}: TCP_NODELAY");
    assert_eq!(
        socket.keepalive().unwrap(),
        settings.get_keepalives(),
        "{what}: SO_KEEPALIVE"
    );
    // What an untouched socket has: the system defaults.
    let fresh = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let or_default = |set: Option<Duration>, default: Duration| set.unwrap_or(default);
    assert_eq!(
        socket.tcp_keepalive_time().unwrap(),
        or_default(
            settings.get_keepalives_idle(),
            fresh.tcp_keepalive_time().unwrap()
        ),
        "{what}: TCP_KEEPIDLE"
    );
    assert_eq!(
        socket.tcp_keepalive_interval().unwrap(),
        or_default(
            settings.get_keepalives_interval(),
            fresh.tcp_keepalive_interval().unwrap()
        ),
        "{what}: TCP_KEEPINTVL"
    );
    assert_eq!(
        socket.tcp_keepalive_retries().unwrap(),
        settings
            .get_keepalives_count()
            .unwrap_or(fresh.tcp_keepalive_retries().unwrap()),
        "{what}: TCP_KEEPCNT"
    );
    assert_eq!(
        socket.tcp_user_timeout().unwrap(),
        settings.get_tcp_user_timeout(),
        "{what}: TCP_USER_TIMEOUT"
    );
}

/// Opens a session with `options` through the recording constructor,
/// cancels on it, and checks the options on both sockets.
async fn check_sockets<R: Sockets>(options: &ConnectOptions) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tcp = recording::<R>(&seen);
    let conn = open_with(options, &tcp, unix_unsupported::<R::Tcp>, R::hooks())
        .await
        .unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    let token = conn.cancel_token().unwrap();
    assert_eq!(token.tcp_settings(), options.tcp_settings());
    // Nothing runs: the server ignores the request; its socket is what counts.
    cancel_with(&token, &tcp, unix_unsupported::<R::Tcp>)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one session socket and one cancel socket");
    assert_set(&seen[0], options.tcp_settings(), "session");
    assert_set(&seen[1], options.tcp_settings(), "cancel request");
}

async fn explicit_keepalive_settings_are_on_the_sockets<R: Sockets>() {
    if R::transport() == Transport::Unix {
        // As in libpq, a Unix socket has no TCP options to set: accepted,
        // and the connection works.
        let options = parsed(R::transport(), "keepalives_idle=7 tcp_user_timeout=9000");
        let conn = R::open(&options).await.unwrap();
        assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
        return;
    }
    let from_builder = options(Role::Trust, R::transport())
        .keepalives_idle(Duration::from_secs(7))
        .keepalives_interval(Duration::from_secs(3))
        .keepalives_count(4)
        .tcp_user_timeout(Duration::from_millis(9000));
    check_sockets::<R>(&from_builder).await;
    let from_conninfo = parsed(
        R::transport(),
        "keepalives=1 keepalives_idle=11 keepalives_interval=2 keepalives_count=5 tcp_user_timeout=4321",
    );
    assert_eq!(
        from_conninfo.get_keepalives_idle(),
        Some(Duration::from_secs(11))
    );
    check_sockets::<R>(&from_conninfo).await;
}

async fn keepalives_are_on_by_default_and_can_be_turned_off<R: Sockets>() {
    if R::transport() == Transport::Unix {
        return;
    }
    let default = options(Role::Trust, R::transport());
    assert!(default.get_keepalives());
    check_sockets::<R>(&default).await;
    let off = parsed(R::transport(), "keepalives=0 tcp_user_timeout=2000");
    assert!(!off.get_keepalives());
    check_sockets::<R>(&off).await;
}

async fn a_value_the_system_refuses_fails_the_connection<R: Sockets>() {
    if R::transport() == Transport::Unix {
        return;
    }
    // Linux allows at most 127 probes: libpq fails there too.
    let options = parsed(R::transport(), "keepalives_count=1000");
    match R::open(&options).await {
        Err(Error::Connect { source, .. }) => {
            assert!(
                source.to_string().contains("keepalives_count=1000"),
                "{source}"
            );
        }
        other => panic!("expected a connect error, got {:?}", other.map(|_| ())),
    }
}

/// The keepalive timer of the session's socket, from `/proc/net/tcp`
/// (whose fourth column is `timer:remaining`, timer 2 being keepalive, in
/// hundredths of a second), found by the port the server sees: the
/// adapter's own `open_database_connection`, with no test hook in between.
#[cfg(target_os = "linux")]
async fn keepalive_timer<R: Runtime, S>(conn: &pgwire_conn::Connection<S>) -> Option<Duration>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn
        .fetch_one("select inet_client_port()", ())
        .await
        .unwrap()
        .unwrap();
    let client_port = u16::try_from(row.try_get::<i32>(0).unwrap()).unwrap();
    let local = format!(":{client_port:04X}");
    let remote = format!(":{:04X}", port());
    // Another timer (an ACK or a retransmission in flight) may show for a
    // moment instead.
    for _ in 0..50 {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        let line = table
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 5 && f[1].ends_with(&local) && f[2].ends_with(&remote))
            .expect("the session's socket in /proc/net/tcp");
        let (timer, when) = line[5].split_once(':').unwrap();
        match timer {
            "02" => {
                let ticks = u64::from_str_radix(when, 16).unwrap();
                return Some(Duration::from_millis(ticks * 10));
            }
            "00" => return None,
            _ => R::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("the session's socket kept another timer running");
}

#[cfg(target_os = "linux")]
async fn open_database_connection_applies_them<R: Runtime>() {
    if R::transport() == Transport::Unix {
        return;
    }
    let conn = R::open(&parsed(R::transport(), "keepalives_idle=7"))
        .await
        .unwrap();
    let timer = keepalive_timer::<R, _>(&conn).await;
    assert!(
        timer.is_some_and(|left| left <= Duration::from_secs(7)),
        "keepalives_idle=7: keepalive timer {timer:?}"
    );
    // libpq's default: keepalives on, with the system's idle time.
    let conn = R::open(&parsed(R::transport(), "")).await.unwrap();
    let timer = keepalive_timer::<R, _>(&conn).await;
    assert!(timer.is_some(), "default: keepalive timer {timer:?}");
    let conn = R::open(&parsed(R::transport(), "keepalives=0"))
        .await
        .unwrap();
    let timer = keepalive_timer::<R, _>(&conn).await;
    assert!(timer.is_none(), "keepalives=0: keepalive timer {timer:?}");
}

#[cfg(not(target_os = "linux"))]
async fn open_database_connection_applies_them<R: Runtime>() {}

runtime_tests!(
    explicit_keepalive_settings_are_on_the_sockets,
    keepalives_are_on_by_default_and_can_be_turned_off,
    a_value_the_system_refuses_fails_the_connection,
    open_database_connection_applies_them,
);

/// Takes connections the way another server behind the same name would
/// take a cancel request with a key it does not know: reads it, closes,
/// and cancels nothing.
struct Decoy {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Decoy {
    fn start() -> Decoy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            // Ends with the test process; each connection is read and closed.
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = [0u8; 16];
                let _ = io::Read::read_exact(&mut stream, &mut request);
            }
        });
        Decoy { addr, accepted }
    }
}

async fn cancel_goes_to_the_address_the_session_reached<R: Sockets>() {
    for transport in [Transport::Tcp, Transport::Tls] {
        let real: SocketAddr = format!("{}:{}", host(), port()).parse().unwrap();
        let decoy = Decoy::start();
        // Round-robin DNS: "db.test" gives the server at the first lookup
        // and the decoy at every later one. IP literals go through as they are.
        let lookups = Arc::new(AtomicUsize::new(0));
        let tcp = {
            let lookups = Arc::clone(&lookups);
            let decoy = decoy.addr;
            move |name: String, port: u16, settings: TcpSettings| {
                let target = match name.as_str() {
                    "db.test" if lookups.fetch_add(1, Ordering::SeqCst) == 0 => real,
                    "db.test" => decoy,
                    ip => SocketAddr::new(ip.parse().unwrap(), port),
                };
                R::connect_tcp(target.ip().to_string(), target.port(), settings)
            }
        };
        let mut options = ConnectOptions::new("db.test", Role::Trust.user())
            .port(port())
            .database(database());
        options = match transport {
            // The certificate does not name db.test: check the chain only,
            // which still makes the cancel request's TLS handshake real.
            Transport::Tls => options
                .ssl_mode(SslMode::Require)
                .ssl_root_cert(SslRootCert::File(ca_cert())),
            _ => options.ssl_mode(SslMode::Disable),
        };
        let conn = open_with(&options, &tcp, unix_unsupported::<R::Tcp>, R::hooks())
            .await
            .unwrap();
        let conn = Arc::new(conn);
        let token = conn.cancel_token().unwrap();
        assert_eq!(token.peer_addr(), Some(real), "{transport:?}");
        assert_eq!(token.host().describe(), format!("db.test:{}", port()));
        let slow = spawn_running_sleep::<R, _>(&conn).await;
        cancel_with(&token, &tcp, unix_unsupported::<R::Tcp>)
            .await
            .unwrap();
        let outcome = within::<R, _>(10, "the cancelled query", slow).await;
        assert_eq!(
            outcome,
            Err(Some(SqlState::QUERY_CANCELED)),
            "{transport:?}"
        );
        assert_eq!(decoy.accepted.load(Ordering::SeqCst), 0, "{transport:?}");
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "one lookup, at connect");
    }
}

mod address {
    use super::*;
    runtime_only_tests!(cancel_goes_to_the_address_the_session_reached);
}
