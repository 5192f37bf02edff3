//! # pgwire-smol
//!
//! Opens [pgwire](pgwire_conn) PostgreSQL connections on the smol runtime,
//! over TCP or a Unix socket. All protocol logic lives in `pgwire-conn` and
//! `pgwire-proto`; this crate only opens sockets.
//!
//! ```no_run
//! use pgwire_smol::{open_database_connection, ConnectOptions};
//!
//! fn main() -> Result<(), pgwire_smol::Error> {
//!     smol::block_on(async {
//!         let options = ConnectOptions::new("/var/run/postgresql", "postgres");
//!         let conn = open_database_connection(&options).await?;
//!         println!("{}", conn.execute("create temp table t(x int)", ()).await?);
//!         conn.close().await
//!     })
//! }
//! ```
//!
//! ## A pool
//!
//! A service uses a [`Pool`] ([`open_pool`]): each request on a free
//! connection, transactions on connections of their own, dead connections
//! replaced on demand.
//!
//! ```no_run
//! use pgwire_smol::{open_pool, ConnectOptions, PoolOptions};
//!
//! fn main() -> Result<(), pgwire_smol::Error> {
//!     smol::block_on(async {
//!         let options = ConnectOptions::new("127.0.0.1", "postgres").password("secret");
//!         let pool = open_pool(&options, PoolOptions::new().max_size(10)).await?;
//!         let row = pool.fetch_one("select $1::int4 + 1", (41,)).await?.unwrap();
//!         assert_eq!(row.try_get::<i32>(0)?, 42);
//!         pool.close().await;
//!         Ok(())
//!     })
//! }
//! ```
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use pgwire_conn::*;

#[cfg(unix)]
type UnixStream = smol::net::unix::UnixStream;
#[cfg(not(unix))]
type UnixStream = smol::net::TcpStream;

/// The stream a smol connection runs over.
pub type SmolSocket = Socket<smol::net::TcpStream, UnixStream>;

/// The socket, after TLS negotiation: plain or encrypted.
pub type SmolStream = MaybeTls<SmolSocket>;

/// A connection opened by this crate.
pub type PgConnection = Connection<SmolStream>;

/// Connects to the server `options` name: each listed host in turn (each
/// attempt bounded by `connect_timeout`), TLS per `sslmode`, startup and
/// authentication, and the `target_session_attrs` check. An absolute path as
/// the host means a Unix socket (the socket file, or the directory holding
/// `.s.PGSQL.<port>`).
pub async fn open_database_connection(options: &ConnectOptions) -> Result<PgConnection> {
    open_with(options, connect_tcp, unix, hooks()).await
}

/// A pool opened by this crate.
pub type PgPool = Pool<SmolStream>;

/// Opens a [`Pool`] of connections to the server `options` name (each
/// opened as [`open_database_connection`] does), with this runtime's timer
/// and cancel requests. The first connection (or `min_idle` of them) is
/// opened before this returns, so a wrong password or an unreachable host
/// is this call's error.
pub async fn open_pool(options: &ConnectOptions, pool: PoolOptions) -> Result<PgPool> {
    Pool::open(options.clone(), pool, connector(), hooks()).await
}

/// A listener opened by this crate.
pub type PgListener = Listener<SmolStream>;

/// Opens a [`Listener`]: a connection of its own for LISTEN/NOTIFY that
/// reconnects (with backoff) when the connection is lost, listens again,
/// and says so. Its first connection is opened here, so a wrong password or
/// an unreachable host is this call's error.
pub async fn open_listener(options: &ConnectOptions) -> Result<PgListener> {
    Listener::open(options.clone(), connector(), hooks()).await
}

/// This crate's [`Connector`]: [`open_database_connection`], for the pool
/// and the listener.
pub fn connector() -> Connector<SmolStream> {
    Arc::new(|options: Arc<ConnectOptions>| {
        Box::pin(async move { open_database_connection(&options).await })
    })
}

/// Cancels the query the connection of `token` is running
/// ([`Connection::cancel_token`]), over a new connection to the same server.
/// The cancelled query fails with SQLSTATE 57014, and its connection stays usable.
pub async fn cancel_query(token: &CancelToken) -> Result<()> {
    cancel_with(token, connect_tcp, unix).await
}

/// This runtime's timer and cancel requests, which every connection this
/// crate opens has; hand them to a connection over your own stream with
/// [`Connection::set_runtime_hooks`] for time limits and cancellation there.
pub fn hooks() -> Arc<dyn RuntimeHooks> {
    Arc::new(SmolHooks)
}

#[derive(Debug)]
struct SmolHooks;

impl RuntimeHooks for SmolHooks {
    fn sleep(&self, after: Duration) -> BoxFuture<()> {
        Box::pin(async move {
            smol::Timer::after(after).await;
        })
    }

    fn cancel(&self, token: CancelToken) -> BoxFuture<Result<()>> {
        Box::pin(async move { cancel_with(&token, connect_tcp, unix).await })
    }
}

/// Opens a TCP connection to `host:port` (a name's addresses are tried in
/// turn) with `settings` applied (`TCP_NODELAY`, keepalives,
/// `TCP_USER_TIMEOUT`), and returns it with the address it reached: the
/// socket constructor this crate hands [`open_with`] and [`cancel_with`].
pub async fn connect_tcp(
    host: String,
    port: u16,
    settings: TcpSettings,
) -> io::Result<(smol::net::TcpStream, SocketAddr)> {
    let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
    settings.apply(&stream)?;
    let peer = stream.peer_addr()?;
    Ok((stream, peer))
}

#[cfg(unix)]
async fn unix(path: PathBuf) -> io::Result<UnixStream> {
    smol::net::unix::UnixStream::connect(path).await
}

#[cfg(not(unix))]
use pgwire_conn::unix_unsupported as unix;
