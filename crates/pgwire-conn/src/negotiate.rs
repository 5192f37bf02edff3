//! Before startup: SSLRequest (or direct TLS), the one-byte answer, and the
//! TLS handshake. Produces the stream startup runs over and a machine in the
//! matching state.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::rustls::ClientConfig;
use futures_util::{AsyncReadExt, AsyncWriteExt};
use pgwire_proto::{Event, Machine};

use crate::error::{Error, Result};
use crate::tls::{handshake, MaybeTls, TlsError};

/// Whether and how to use TLS on one connection attempt.
#[derive(Debug, Clone)]
pub(crate) struct TlsPlan {
    /// Fail if the server refuses TLS (sslmode require and stricter).
    pub(crate) required: bool,
    /// PostgreSQL 17 direct TLS: handshake first, ALPN `postgresql`.
    pub(crate) direct: bool,
    pub(crate) config: Arc<ClientConfig>,
    /// The name checked against the certificate (verify-full).
    pub(crate) server_name: String,
}

/// Negotiates TLS over `stream` per `plan` (`None`: plain text).
pub(crate) async fn negotiate<S>(
    mut stream: S,
    plan: Option<&TlsPlan>,
) -> Result<(MaybeTls<S>, Machine)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut machine = Machine::new();
    let Some(plan) = plan else {
        return Ok((MaybeTls::Plain(stream), machine));
    };
    if plan.direct {
        let tls = handshake(stream, Arc::clone(&plan.config), &plan.server_name)
            .await
            .map_err(direct_hang_up)?;
        if tls.get_ref().1.alpn_protocol() != Some(b"postgresql".as_slice()) {
            // A server that speaks direct TLS must confirm the protocol, or
            // we might be talking PostgreSQL to some other TLS service.
            return Err(Error::Tls(TlsError::Config(
                "the server did not accept ALPN protocol \"postgresql\" for direct TLS".into(),
            )));
        }
        return Ok((MaybeTls::Tls(Box::new(tls)), machine));
    }
    machine.request_ssl()?;
    stream.write_all(machine.output()).await?;
    stream.flush().await?;
    let n = machine.output().len();
    machine.consume_output(n);
    let accepted = loop {
        match machine.next_event()? {
            Some(Event::SslResponse(accepted)) => break accepted,
            Some(_) => continue,
            None => {
                // Exactly one byte: anything after it belongs to the TLS
                // handshake, never to the protocol in plain text.
                let mut byte = [0u8; 1];
                match stream.read(&mut byte).await? {
                    0 => machine.receive_eof(),
                    _ => machine.receive(&byte),
                }
            }
        }
    };
    if !accepted {
        if plan.required {
            return Err(Error::Tls(TlsError::Refused));
        }
        return Ok((MaybeTls::Plain(stream), machine));
    }
    let tls = handshake(stream, Arc::clone(&plan.config), &plan.server_name).await?;
    Ok((MaybeTls::Tls(Box::new(tls)), machine))
}

/// A server before PostgreSQL 17 reads a direct TLS handshake as a startup
/// packet of absurd length and hangs up without a word: rustls' bare "tls
/// handshake eof" would not tell the user why, so the error says so (same
/// variant and kind, a message naming the likely cause).
fn direct_hang_up(e: TlsError) -> TlsError {
    match e {
        TlsError::Handshake(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            TlsError::Handshake(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the server closed the connection during the direct TLS handshake ({io}); \
                     servers before PostgreSQL 17 do not accept sslnegotiation=direct"
                ),
            ))
        }
        other => other,
    }
}
