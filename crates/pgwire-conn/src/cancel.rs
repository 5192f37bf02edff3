//! Cancelling a running query: a CancelRequest with the session's key, sent
//! on a new connection to the same server (over TLS if the session used it),
//! so that it works while the session itself is busy.

use std::future::Future;
use std::io;
use std::path::PathBuf;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use pgwire_proto::message::frontend;
use pgwire_proto::BackendKey;

use crate::negotiate::{negotiate, TlsPlan};
use crate::open::open_socket;
use crate::options::HostSpec;
use crate::{Error, Result};

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
}

impl CancelToken {
    /// The session's cancellation key.
    pub fn key(&self) -> BackendKey {
        self.key
    }

    /// The server the session is connected to.
    pub fn host(&self) -> &HostSpec {
        &self.host
    }
}

/// Sends a CancelRequest for `token` with the runtime's socket
/// constructors, and waits for the server to close the new connection: it
/// does so after signalling the session, so when this returns the cancel
/// has landed (a session idle by then ignores it). Whether the query was
/// still running is not reported (as in libpq): the cancelled query fails
/// with SQLSTATE 57014 (query_canceled).
pub async fn cancel_with<T, U, FT, FU>(
    token: &CancelToken,
    tcp: impl Fn(String, u16) -> FT,
    unix: impl Fn(PathBuf) -> FU,
) -> Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
    FT: Future<Output = io::Result<T>>,
    FU: Future<Output = io::Result<U>>,
{
    let socket = open_socket(&token.host, &tcp, &unix).await?;
    let (mut stream, _machine) = negotiate(socket, token.tls.as_ref()).await?;
    let mut request = bytes::BytesMut::with_capacity(16);
    frontend::cancel_request(&mut request, token.key.process_id, token.key.secret_key);
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
