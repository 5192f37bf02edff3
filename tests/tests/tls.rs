//! TLS: sslmode semantics, certificate checks, client certificates,
//! SCRAM-SHA-256-PLUS channel binding, require_auth, and each way TLS can fail
//! with a typed error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::PathBuf;

use pgwire_conn::{
    AuthError, ChannelBindingMode, ConnectOptions, Error, RequireAuth, SslMode, SslRootCert,
    TlsError,
};
use pgwire_integration_tests::{
    ca_cert, options, port, runtime_only_tests, Role, Runtime, Transport,
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: run with cargo xtask test"))
}

async fn ssl_role_over_verified_tls_with_channel_binding<R: Runtime>() {
    let opts = options(Role::Ssl, Transport::Tls).channel_binding(ChannelBindingMode::Require);
    let conn = R::open(&opts).await.unwrap();
    let row = conn
        .fetch_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<bool>(0).unwrap());
    // prefer (the default) uses binding too, and plain SCRAM roles work over TLS
    let conn = R::open(&options(Role::Scram, Transport::Tls))
        .await
        .unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn client_certificate_authentication<R: Runtime>() {
    let opts = options(Role::Cert, Transport::Tls)
        .ssl_cert(PathBuf::from(env("PGWIRE_TEST_CLIENT_CERT")))
        .ssl_key(PathBuf::from(env("PGWIRE_TEST_CLIENT_KEY")));
    let conn = R::open(&opts).await.unwrap();
    let row = conn
        .fetch_one("select current_user", ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<&str>(0).unwrap(), "pgwire_cert");
    // without the certificate the server refuses
    let err = R::open(&options(Role::Cert, Transport::Tls))
        .await
        .unwrap_err();
    assert!(err.code().is_some(), "{err}");
}

async fn sslmode_require_accepts_any_certificate<R: Runtime>() {
    let opts = options(Role::Scram, Transport::Tcp).ssl_mode(SslMode::Require);
    let conn = R::open(&opts).await.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    // prefer over TCP ends up encrypted (the server accepts TLS)
    let opts = options(Role::Ssl, Transport::Tcp).ssl_mode(SslMode::Prefer);
    assert!(R::open(&opts).await.is_ok());
}

async fn allow_falls_back_to_tls_for_an_ssl_only_role<R: Runtime>() {
    let opts = options(Role::Ssl, Transport::Tcp).ssl_mode(SslMode::Allow);
    let conn = R::open(&opts).await.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn unknown_ca_fails_the_handshake<R: Runtime>() {
    let other_ca = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    if !other_ca.exists() {
        return; // no system bundle to stand in for a foreign CA
    }
    let opts = options(Role::Scram, Transport::Tls).ssl_root_cert(SslRootCert::File(other_ca));
    match R::open(&opts).await {
        Err(Error::Tls(TlsError::Handshake(e))) => {
            assert!(e.to_string().to_lowercase().contains("issuer"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

async fn wrong_host_name_fails_verify_full_only<R: Runtime>() {
    let build = |mode| {
        let text = format!(
            "host=wrong-name.example hostaddr=127.0.0.1 port={} user={} password={} dbname={} sslmode={mode} sslrootcert={}",
            port(),
            Role::Scram.user(),
            Role::Scram.password().unwrap(),
            pgwire_integration_tests::database(),
            ca_cert().display()
        );
        ConnectOptions::parse(&text).unwrap()
    };
    match R::open(&build("verify-full")).await {
        Err(Error::Tls(TlsError::Handshake(e))) => {
            assert!(e.to_string().contains("not valid for name"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let conn = R::open(&build("verify-ca")).await.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn garbage_client_key_is_a_config_error<R: Runtime>() {
    let dir = std::env::temp_dir().join(format!("pgwire-garbage-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join(format!("{}.key", std::any::type_name::<R>().len()));
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let opts = options(Role::Cert, Transport::Tls)
        .ssl_cert(PathBuf::from(env("PGWIRE_TEST_CLIENT_CERT")))
        .ssl_key(key.clone());
    match R::open(&opts).await {
        Err(Error::Tls(TlsError::Config(why))) => assert!(why.contains("sslkey"), "{why}"),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_file(key);
}

async fn channel_binding_required_without_tls<R: Runtime>() {
    let opts = options(Role::Scram, Transport::Tcp).channel_binding(ChannelBindingMode::Require);
    match R::open(&opts).await {
        Err(Error::Auth(AuthError::ChannelBindingRequired(_))) => {}
        other => panic!("{other:?}"),
    }
    // trust over TLS cannot satisfy it either
    let opts = options(Role::Trust, Transport::Tls).channel_binding(ChannelBindingMode::Require);
    assert!(matches!(
        R::open(&opts).await,
        Err(Error::Auth(AuthError::ChannelBindingRequired(_)))
    ));
}

async fn require_auth_refuses_other_methods<R: Runtime>() {
    let only_scram = RequireAuth::parse("scram-sha-256").unwrap();
    let opts = options(Role::Md5, Transport::Tcp).require_auth(only_scram.clone());
    assert!(matches!(
        R::open(&opts).await,
        Err(Error::Auth(AuthError::MethodNotAllowed("md5")))
    ));
    let opts = options(Role::Scram, Transport::Tcp).require_auth(only_scram);
    assert!(R::open(&opts).await.is_ok());
    let no_cleartext = RequireAuth::parse("!password").unwrap();
    let opts = options(Role::Password, Transport::Tcp).require_auth(no_cleartext);
    assert!(matches!(
        R::open(&opts).await,
        Err(Error::Auth(AuthError::MethodNotAllowed("password")))
    ));
}

/// A server that answers every SSLRequest with "N".
fn refusing_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
        }
    });
    port
}

async fn tls_required_but_refused<R: Runtime>() {
    let port = refusing_server();
    let opts = ConnectOptions::new("127.0.0.1", "x")
        .port(port)
        .ssl_mode(SslMode::Require);
    match R::open(&opts).await {
        Err(Error::Tls(TlsError::Refused)) => {}
        other => panic!("{other:?}"),
    }
}

runtime_only_tests!(
    ssl_role_over_verified_tls_with_channel_binding,
    client_certificate_authentication,
    sslmode_require_accepts_any_certificate,
    allow_falls_back_to_tls_for_an_ssl_only_role,
    unknown_ca_fails_the_handshake,
    wrong_host_name_fails_verify_full_only,
    garbage_client_key_is_a_config_error,
    channel_binding_required_without_tls,
    require_auth_refuses_other_methods,
    tls_required_but_refused,
    callers_rustls_config_is_used,
    prefer_goes_on_without_tls_when_the_handshake_fails,
    prefer_keeps_the_error_of_each_attempt,
    allow_keeps_the_error_of_each_attempt,
    prefer_goes_on_without_tls_past_an_unvouched_certificate,
);

/// pg-purepy's `ssl_context`: the caller's own rustls configuration.
async fn callers_rustls_config_is_used<R: Runtime>() {
    use pgwire_conn::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_cert()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let opts = options(Role::Ssl, Transport::Tcp)
        .ssl_mode(SslMode::VerifyFull)
        .tls_config(std::sync::Arc::new(config));
    let conn = R::open(&opts).await.unwrap();
    let row = conn
        .fetch_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<bool>(0).unwrap());
}

/// What a scripted server does with one connection.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Answers the SSLRequest with "S", then sends bytes that are no TLS.
    BrokenTls,
    /// Refuses the StartupMessage with a FATAL 28000.
    Fatal,
    /// Lets the client in.
    Accept,
}

/// A server that takes one connection per step, in order, and reports what
/// each connection opened with: `"ssl"` (an SSLRequest) or `"startup"`.
fn scripted_server(steps: Vec<Step>) -> (u16, std::thread::JoinHandle<Vec<&'static str>>) {
    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }
    /// Reads what the client still sends (so that closing sends no reset
    /// over unread bytes), until it closes or `Terminate` comes; bounded in
    /// time, since `Connection::close` takes `&self`: the socket itself
    /// stays open until the connection is dropped (async-std's close does
    /// not shut down the write side).
    fn drain(stream: &mut std::net::TcpStream) {
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            if buf[..n].contains(&b'X') {
                break;
            }
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for step in steps {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = [0u8; 8];
            stream.read_exact(&mut head).unwrap();
            let ssl_request = head[4..] == [4, 210, 22, 47];
            seen.push(if ssl_request { "ssl" } else { "startup" });
            match step {
                Step::BrokenTls => {
                    assert!(ssl_request, "{seen:?}");
                    stream.write_all(b"S").unwrap();
                    let mut hello = [0u8; 5];
                    let _ = stream.read_exact(&mut hello);
                    let _ = stream.write_all(b"HTTP/1.1 400 this is no TLS\r\n\r\n");
                    drain(&mut stream);
                }
                Step::Fatal | Step::Accept => {
                    assert!(!ssl_request, "{seen:?}");
                    let len = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
                    let mut rest = vec![0u8; len - 8];
                    stream.read_exact(&mut rest).unwrap();
                    let answer = match step {
                        Step::Fatal => message(
                            b'E',
                            b"SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry, no encryption\0\0",
                        ),
                        _ => [message(b'R', &[0, 0, 0, 0]), message(b'Z', b"I")].concat(),
                    };
                    stream.write_all(&answer).unwrap();
                    drain(&mut stream);
                }
            }
        }
        seen
    });
    (port, server)
}

fn scripted_options(port: u16, mode: SslMode) -> ConnectOptions {
    ConnectOptions::new("127.0.0.1", "x")
        .port(port)
        .ssl_mode(mode)
}

async fn prefer_goes_on_without_tls_when_the_handshake_fails<R: Runtime>() {
    let (port, server) = scripted_server(vec![Step::BrokenTls, Step::Accept]);
    let conn = R::open(&scripted_options(port, SslMode::Prefer))
        .await
        .unwrap();
    assert!(conn.ready());
    conn.close().await.unwrap();
    assert_eq!(server.join().unwrap(), ["ssl", "startup"]);
}

/// `prefer` tries TLS first and `allow` plain first; when both attempts
/// fail (a handshake that breaks, a server that refuses the other way),
/// the error keeps each.
async fn both_attempts_are_kept<R: Runtime>(mode: SslMode) {
    let tls_first = mode == SslMode::Prefer;
    let steps = if tls_first {
        vec![Step::BrokenTls, Step::Fatal]
    } else {
        vec![Step::Fatal, Step::BrokenTls]
    };
    let (port, server) = scripted_server(steps);
    let err = R::open(&scripted_options(port, mode)).await.unwrap_err();
    let Error::BothAttempts {
        tls_first: first_was_tls,
        first,
        second,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*first_was_tls, tls_first);
    let (with_tls, without) = if tls_first {
        (first, second)
    } else {
        (second, first)
    };
    assert!(
        matches!(**with_tls, Error::Tls(TlsError::Handshake(_))),
        "{with_tls:?}"
    );
    assert!(matches!(**without, Error::Database(_)), "{without:?}");
    // The server's answer, whichever attempt got it.
    assert_eq!(
        err.code(),
        Some(pgwire_conn::SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
    );
    // Display says the first attempt whole; the second is the source.
    let tls = (
        "with TLS",
        "TLS handshake failed: received corrupt message of type InvalidContentType",
    );
    let hba = (
        "without TLS",
        "FATAL 28000: no pg_hba.conf entry, no encryption",
    );
    let ((first_way, first_text), (second_way, second_text)) =
        if tls_first { (tls, hba) } else { (hba, tls) };
    assert_eq!(
        err.to_string(),
        format!("{first_way}: {first_text}; then {second_way}")
    );
    assert_eq!(
        pgwire_integration_tests::report(&err),
        format!("{first_way}: {first_text}; then {second_way}: {second_text}")
    );
    let order = if tls_first {
        ["ssl", "startup"]
    } else {
        ["startup", "ssl"]
    };
    assert_eq!(server.join().unwrap(), order);
}

async fn prefer_keeps_the_error_of_each_attempt<R: Runtime>() {
    both_attempts_are_kept::<R>(SslMode::Prefer).await;
}

async fn allow_keeps_the_error_of_each_attempt<R: Runtime>() {
    both_attempts_are_kept::<R>(SslMode::Allow).await;
}

/// Against the cluster: a root certificate that does not vouch for the
/// server fails the TLS attempt of `prefer` (libpq checks the chain in
/// every mode when it has root certificates), which then goes on without
/// TLS where the server allows it, and keeps both errors where it does not.
async fn prefer_goes_on_without_tls_past_an_unvouched_certificate<R: Runtime>() {
    let unrelated = SslRootCert::File(pgwire_integration_tests::unrelated_ca());
    let opts = options(Role::Scram, Transport::Tcp)
        .ssl_mode(SslMode::Prefer)
        .ssl_root_cert(unrelated.clone());
    let conn = R::open(&opts).await.unwrap();
    let row = conn
        .fetch_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!row.try_get::<bool>(0).unwrap(), "not over TLS");
    conn.close().await.unwrap();

    let opts = options(Role::Ssl, Transport::Tcp)
        .ssl_mode(SslMode::Prefer)
        .ssl_root_cert(unrelated.clone());
    match R::open(&opts).await {
        Err(Error::BothAttempts {
            tls_first: true,
            first,
            second,
        }) => {
            match *first {
                Error::Tls(TlsError::Handshake(e)) => {
                    assert!(e.to_string().to_lowercase().contains("issuer"), "{e}")
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                second.code(),
                Some(pgwire_conn::SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
            );
        }
        other => panic!("{other:?}"),
    }
    // require has nothing to fall back to.
    let opts = options(Role::Ssl, Transport::Tcp)
        .ssl_mode(SslMode::Require)
        .ssl_root_cert(unrelated);
    assert!(matches!(
        R::open(&opts).await,
        Err(Error::Tls(TlsError::Handshake(_)))
    ));
}
