//! `sslnegotiation=direct` (PostgreSQL 17) against an in-process rustls
//! server, for what a real server does not do (no ALPN, a wrong name in a
//! certificate); tests/tests/direct_tls.rs meets PostgreSQL 15 and 18.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use futures_rustls::rustls::{self, ServerConfig, ServerConnection, StreamOwned};
use pgwire_proto::StartupConfig;

use crate::negotiate::{negotiate, TlsPlan};
use crate::tls::{client_config, Roots, Verify};
use crate::{Connection, Error, TlsError};

struct Fixture {
    ca_file: std::path::PathBuf,
    server: Arc<ServerConfig>,
}

fn fixture(alpn: &[&[u8]]) -> Fixture {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let ca_file = std::env::temp_dir().join(format!(
        "pgwire-direct-tls-{}-{}.pem",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&ca_file, cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Fixture {
        ca_file,
        server: Arc::new(server),
    }
}

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Accepts one TLS connection, checks that the first thing inside TLS is a
/// StartupMessage (no SSLRequest), and lets the client in.
fn serve_once(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = ServerConnection::new(config).unwrap();
        let mut tls = StreamOwned::new(conn, tcp);
        let mut len = [0u8; 4];
        if tls.read_exact(&mut len).is_err() {
            return Vec::new();
        }
        let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
        tls.read_exact(&mut startup).unwrap();
        tls.write_all(&msg(b'R', &[0, 0, 0, 0])).unwrap();
        tls.write_all(&msg(b'Z', b"I")).unwrap();
        tls.flush().unwrap();
        startup
    })
}

/// A one-connection server for `f`, and a direct-TLS plan verifying its
/// certificate as `verify` for `server_name`.
fn serve_and_plan(
    f: &Fixture,
    verify: Verify,
    server_name: &str,
) -> (u16, std::thread::JoinHandle<Vec<u8>>, TlsPlan) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_once(listener, Arc::clone(&f.server));
    let plan = TlsPlan {
        required: true,
        direct: true,
        config: client_config(verify, Some(Roots::File(&f.ca_file)), None, true).unwrap(),
        server_name: server_name.into(),
    };
    (port, server, plan)
}

#[test]
fn direct_tls_sends_startup_inside_tls_with_alpn() {
    let f = fixture(&[b"postgresql"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_once(listener, Arc::clone(&f.server));
    let plan = TlsPlan {
        required: true,
        direct: true,
        config: client_config(Verify::Full, Some(Roots::File(&f.ca_file)), None, true).unwrap(),
        server_name: "localhost".into(),
    };
    smol::block_on(async {
        let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (stream, machine) = negotiate(tcp, Some(&plan)).await.unwrap();
        assert!(stream.is_tls());
        assert_eq!(stream.alpn_protocol(), Some(b"postgresql".as_slice()));
        let conn = Connection::start(machine, stream, &StartupConfig::new("alice"))
            .await
            .unwrap();
        assert!(conn.ready());
    });
    let startup = server.join().unwrap();
    // protocol 3.0, then user=alice
    assert_eq!(&startup[..4], &[0, 3, 0, 0]);
    assert!(startup.windows(6).any(|w| w == b"alice\0"));
    let _ = std::fs::remove_file(&f.ca_file);
}

#[test]
fn direct_tls_without_alpn_is_refused() {
    let f = fixture(&[]);
    let (port, server, plan) = serve_and_plan(&f, Verify::Full, "localhost");
    smol::block_on(async {
        let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        match negotiate(tcp, Some(&plan)).await {
            Err(Error::Tls(TlsError::Config(why))) => assert!(why.contains("ALPN"), "{why}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted a server without ALPN"),
        }
    });
    drop(server);
    let _ = std::fs::remove_file(&f.ca_file);
}

#[test]
fn wrong_host_name_fails_verify_full_but_not_verify_ca() {
    let f = fixture(&[b"postgresql"]);
    for (verify, ok) in [(Verify::Full, false), (Verify::Chain, true)] {
        let (port, server, plan) = serve_and_plan(&f, verify, "not-the-cert-name.example");
        let result = smol::block_on(async {
            let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            negotiate(tcp, Some(&plan)).await.map(drop)
        });
        match (result, ok) {
            (Ok(()), true) => {}
            (Err(Error::Tls(TlsError::Handshake(e))), false) => {
                assert!(e.to_string().contains("not valid for name"), "{e}")
            }
            (other, _) => panic!("{verify:?}: {other:?}"),
        }
        let _ = server.join();
    }
    let _ = std::fs::remove_file(&f.ca_file);
}
