//! `sslnegotiation=direct` against the real server: PostgreSQL 17 and later
//! take a TLS handshake (with ALPN `postgresql`) as the connection's first
//! bytes; older servers read those bytes as a startup packet of absurd
//! length and hang up, which must come back as a typed error, promptly.
//! `cargo xtask test` runs this file on the system's server (15 here) and on
//! PostgreSQL 18, so both branches run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{
    AuthMechanism, ChannelBindingMode, ConnectOptions, Connection, Error, SslMode, SslNegotiation,
    SslRootCert, TlsError,
};
use pgwire_integration_tests::{
    connect_as, options, runtime_only_tests, unrelated_ca, within, Role, Runtime, Transport,
};

/// The first version that speaks direct TLS.
const DIRECT_TLS_SINCE: i32 = 170_000;

/// Generous: a connect takes milliseconds; this only catches a hang.
const CONNECT_SECS: u64 = 20;

/// Connects, failing the test instead of hanging. Boxed: a TLS handshake
/// polled inside `within` on async-std's `block_on` (the test thread's 2 MB
/// stack) overflows the stack in debug builds, negotiated TLS as much as
/// direct.
async fn open<R: Runtime>(opts: &ConnectOptions) -> pgwire_conn::Result<Connection<R::Socket>> {
    within::<R, _>(CONNECT_SECS, "direct TLS connect", Box::pin(R::open(opts))).await
}

async fn server_version_num<R: Runtime>() -> i32 {
    let conn = connect_as::<R>(Role::Trust, Transport::Unix).await;
    let row = conn
        .fetch_one("select current_setting('server_version_num')::int4", ())
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i32>(0).unwrap()
}

/// Encrypted by the client's account and by the server's (`pg_stat_ssl`),
/// and answering queries.
async fn assert_encrypted<S>(conn: &Connection<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    assert!(conn.is_encrypted());
    let row = conn
        .fetch_one(
            "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<bool>(0).unwrap(), "pg_stat_ssl.ssl");
    // Direct TLS is TLS 1.2 or later by protocol (ALPN); rustls does 1.2+.
    let version = row.try_get::<&str>(1).unwrap();
    assert!(matches!(version, "TLSv1.2" | "TLSv1.3"), "{version}");
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

/// What a server before 17 makes of a direct TLS handshake: it closes the
/// connection without a word, so the handshake ends at EOF, and the error
/// says what probably happened.
fn assert_not_spoken<T: std::fmt::Debug>(result: pgwire_conn::Result<T>) {
    match result {
        Err(Error::Tls(TlsError::Handshake(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
            let text = e.to_string();
            assert!(
                text.contains("before PostgreSQL 17 do not accept sslnegotiation=direct"),
                "{text}"
            );
        }
        other => panic!("expected a TLS handshake error at EOF, got {other:?}"),
    }
}

/// `verify-full` against the cluster's CA, for the hostssl-only role.
fn verify_full() -> ConnectOptions {
    options(Role::Ssl, Transport::Tls).ssl_negotiation(SslNegotiation::Direct)
}

/// `require` without a root certificate: encryption, no certificate check.
fn require() -> ConnectOptions {
    options(Role::Scram, Transport::Tcp)
        .ssl_mode(SslMode::Require)
        .ssl_negotiation(SslNegotiation::Direct)
}

async fn direct_tls_with_verify_full<R: Runtime>() {
    let result = open::<R>(&verify_full()).await;
    if server_version_num::<R>().await >= DIRECT_TLS_SINCE {
        assert_encrypted(&result.unwrap()).await;
    } else {
        assert_not_spoken(result);
    }
}

async fn direct_tls_with_require<R: Runtime>() {
    let result = open::<R>(&require()).await;
    if server_version_num::<R>().await >= DIRECT_TLS_SINCE {
        assert_encrypted(&result.unwrap()).await;
    } else {
        assert_not_spoken(result);
    }
}

/// SCRAM-SHA-256-PLUS binds to the direct TLS channel as to the negotiated one.
async fn direct_tls_with_channel_binding<R: Runtime>() {
    let opts = require().channel_binding(ChannelBindingMode::Require);
    let result = open::<R>(&opts).await;
    if server_version_num::<R>().await >= DIRECT_TLS_SINCE {
        let conn = result.unwrap();
        assert_eq!(conn.authentication(), Some(AuthMechanism::ScramSha256Plus));
        assert_encrypted(&conn).await;
    } else {
        assert_not_spoken(result);
    }
}

/// The certificate is checked on the direct path too: a CA that signed
/// nothing of the cluster's fails verify-full (on 17+; before, the server
/// hangs up before any certificate is seen).
async fn direct_tls_checks_the_certificate<R: Runtime>() {
    let opts = verify_full().ssl_root_cert(SslRootCert::File(unrelated_ca()));
    let result = open::<R>(&opts).await;
    if server_version_num::<R>().await >= DIRECT_TLS_SINCE {
        match result {
            Err(Error::Tls(TlsError::Handshake(e))) => {
                assert!(e.to_string().to_lowercase().contains("issuer"), "{e}")
            }
            other => panic!("expected a certificate error, got {other:?}"),
        }
    } else {
        assert_not_spoken(result);
    }
}

runtime_only_tests!(
    direct_tls_with_verify_full,
    direct_tls_with_require,
    direct_tls_with_channel_binding,
    direct_tls_checks_the_certificate,
);
