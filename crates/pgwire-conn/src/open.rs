//! The part of opening a connection every runtime shares: choosing TCP or
//! Unix socket from the options, naming the target in errors, then startup.
//! Adapters supply only the runtime's two socket constructors.

use std::future::Future;
use std::io;
use std::path::PathBuf;

use futures_io::{AsyncRead, AsyncWrite};

use crate::{ConnectOptions, Connection, Error, Result, Socket};

/// Opens the socket `options` names with the runtime's `tcp` or `unix`
/// constructor and runs startup and authentication over it.
///
/// `tcp` receives the host and port and should enable `TCP_NODELAY`
/// (requests go out as one write each; Nagle would only add latency).
pub async fn open_with<T, U, FT, FU>(
    options: &ConnectOptions,
    tcp: impl FnOnce(String, u16) -> FT,
    unix: impl FnOnce(PathBuf) -> FU,
) -> Result<Connection<Socket<T, U>>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<T>>,
    FU: Future<Output = io::Result<U>>,
{
    let socket = open_socket_with(options, tcp, unix).await?;
    Connection::connect(socket, options).await
}

/// Like [`open_with`], without startup: just the socket.
pub async fn open_socket_with<T, U, FT, FU>(
    options: &ConnectOptions,
    tcp: impl FnOnce(String, u16) -> FT,
    unix: impl FnOnce(PathBuf) -> FU,
) -> Result<Socket<T, U>>
where
    FT: Future<Output = io::Result<T>>,
    FU: Future<Output = io::Result<U>>,
{
    let connect_error = |source| Error::Connect {
        address: options.describe_target(),
        source,
    };
    match (options.tcp_address(), options.unix_socket_path()) {
        (Some((host, port)), _) => tcp(host.to_owned(), port)
            .await
            .map(Socket::Tcp)
            .map_err(connect_error),
        (None, Some(path)) => unix(path).await.map(Socket::Unix).map_err(connect_error),
        (None, None) => Err(Error::InvalidInput("no host given".into())),
    }
}

/// For platforms without Unix sockets: the constructor adapters pass there.
pub async fn unix_unsupported<U>(_path: PathBuf) -> io::Result<U> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix sockets are not available on this platform",
    ))
}
