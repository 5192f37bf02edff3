//! Cancelling a running query: a CancelRequest with the session's key, sent
//! on a new connection to the same server (over TLS if the session used it),
//! so that it works while the session itself is busy.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use pgwire_proto::message::frontend;
use pgwire_proto::BackendKey;

use crate::negotiate::{negotiate, TlsPlan};
use crate::open::open_socket;
use crate::options::HostSpec;
use crate::{Error, Result, Socket, TcpSettings};

/// What it takes to cancel the query a connection is running, usable from
/// any task. PostgreSQL cancels whatever the session runs when the request
/// arrives: with several tasks' queries pipelined on one connection, that
/// is the one the server has reached, and a request arriving between
/// queries cancels nothing.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) {
/// if let Some(token) = conn.cancel_token() {
///     // Hand the token to another task. There, the runtime adapter's
///     // `cancel_query(&token)` (pgwire_tokio, pgwire_smol, pgwire_async_std)
///     // makes the query this connection runs fail with SQLSTATE 57014.
///     println!("cancel key for backend {}", token.key().process_id);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CancelToken {
    pub(crate) key: BackendKey,
    pub(crate) host: HostSpec,
    pub(crate) tls: Option<TlsPlan>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) tcp: TcpSettings,
}

impl CancelToken {
    /// The session's cancellation key (its secret is 4 bytes under
    /// protocol 3.0, up to 256 under 3.2).
    pub fn key(&self) -> &BackendKey {
        &self.key
    }

    /// The server the session is connected to, as the options named it
    /// (TLS checks the cancel connection's certificate against this name).
    pub fn host(&self) -> &HostSpec {
        &self.host
    }

    /// The address the session's TCP socket is connected to, where the
    /// cancel request goes (`None` over a Unix socket). Not a new lookup of
    /// the host name: with several addresses behind one name (round-robin
    /// DNS), that could reach another server, which would cancel nothing.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The TCP options the cancel request's socket gets: the session's.
    pub fn tcp_settings(&self) -> TcpSettings {
        self.tcp
    }
}

/// Sends a CancelRequest for `token` with the runtime's socket
/// constructors, and waits for the server to close the new connection: it
/// does so after signalling the session, so when this returns the cancel
/// has landed (a session idle by then ignores it). Whether the query was
/// still running is not reported (as in libpq): the cancelled query fails
/// with SQLSTATE 57014 (query_canceled).
///
/// Over TCP the request goes to [`CancelToken::peer_addr`], with the
/// session's [`TcpSettings`]; `tcp` and `unix` are the constructors of
/// [`open_with`](crate::open_with).
pub async fn cancel_with<T, U, FT, FU>(
    token: &CancelToken,
    tcp: impl Fn(String, u16, TcpSettings) -> FT,
    unix: impl Fn(PathBuf) -> FU,
) -> Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<(T, SocketAddr)>>,
    FU: Future<Output = io::Result<U>>,
{
    let socket = match token.peer {
        Some(peer) => tcp(ip_literal(&peer), peer.port(), token.tcp)
            .await
            .map(|(stream, _)| Socket::Tcp(stream))
            .map_err(|source| Error::Connect {
                address: peer.to_string(),
                source,
            })?,
        None => open_socket(&token.host, token.tcp, &tcp, &unix).await?.0,
    };
    let (mut stream, _machine) = negotiate(socket, token.tls.as_ref()).await?;
    let mut request = bytes::BytesMut::with_capacity(12 + token.key.secret_key().len());
    frontend::cancel_request(&mut request, &token.key);
    stream.write_all(&request).await.map_err(Error::Io)?;
    stream.flush().await.map_err(Error::Io)?;
    // The server sends nothing and closes the connection once it has
    // signalled the backend; a reset means the same.
    let mut byte = [0u8; 1];
    while let Ok(n) = stream.read(&mut byte).await {
        if n == 0 {
            break;
        }
    }
    let _ = stream.close().await;
    Ok(())
}

/// The address as a host for the adapters' constructors: an IP literal,
/// which they connect to without a name lookup. An IPv6 address keeps its
/// zone (`fe80::1%2`), without which a link-local address is unreachable.
fn ip_literal(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => format!("{}%{}", v6.ip(), v6.scope_id()),
        _ => addr.ip().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn ip_literals_keep_the_ipv6_zone() {
        let v4: SocketAddr = "10.1.2.3:5432".parse().unwrap();
        assert_eq!(ip_literal(&v4), "10.1.2.3");
        let v6: SocketAddr = "[2001:db8::1]:5432".parse().unwrap();
        assert_eq!(ip_literal(&v6), "2001:db8::1");
        let zoned = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            5432,
            0,
            3,
        ));
        assert_eq!(ip_literal(&zoned), "fe80::1%3");
        assert!(ip_literal(&v6).parse::<IpAddr>().is_ok());
    }
}
