//! SCRAM channel binding with server certificates the test cluster does not
//! have: RSA-PSS (the hash is in the signature's parameters) and Ed25519
//! (no hash at all), against an in-process server that speaks TLS and the
//! start of a SCRAM exchange, offering SCRAM-SHA-256-PLUS as PostgreSQL
//! does over TLS.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use base64::Engine;
use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use futures_rustls::rustls::{self, ServerConfig, ServerConnection, StreamOwned};
use pgwire_proto::AuthError;
use sha2::{Digest, Sha256, Sha384};

use crate::open::{connect_over, tls_plan};
use crate::options::{ChannelBindingMode, ConnectOptions, SslMode};
use crate::Error;

/// A self-signed certificate signed with RSASSA-PSS, SHA-384 named in its
/// parameters, and its (plain RSA) key. Made once with
/// `openssl req -x509 -new -key key.pem -subj /CN=localhost -sha384
/// -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48`
/// (rcgen cannot sign with RSA-PSS). Test data only.
const RSA_PSS_CERT: &str = include_str!("testdata/rsa-pss-sha384.crt");
const RSA_PSS_KEY: &str = include_str!("testdata/rsa-pss-sha384.key");

/// A server certificate (DER) and its key.
struct ServerCert {
    cert: Vec<u8>,
    key: PrivateKeyDer<'static>,
}

fn rsa_pss() -> ServerCert {
    ServerCert {
        cert: CertificateDer::from_pem_slice(RSA_PSS_CERT.as_bytes())
            .unwrap()
            .to_vec(),
        key: PrivateKeyDer::from_pem_slice(RSA_PSS_KEY.as_bytes()).unwrap(),
    }
}

fn rcgen_cert(alg: &'static rcgen::SignatureAlgorithm) -> ServerCert {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    ServerCert {
        cert: cert.der().to_vec(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn auth(code: u32, data: &[u8]) -> Vec<u8> {
    msg(b'R', &[&code.to_be_bytes()[..], data].concat())
}

/// Reads one tagged message; `None` at EOF or on a failed read.
fn read_message<S: Read>(stream: &mut S) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes(head[1..].try_into().ok()?) as usize;
    let mut body = vec![0u8; len.checked_sub(4)?];
    stream.read_exact(&mut body).ok()?;
    Some((head[0], body))
}

/// What the server saw of the client's SCRAM exchange.
#[derive(Debug, Default)]
struct Seen {
    /// The mechanism of the SASLInitialResponse (none: the client sent
    /// nothing after the offer).
    mechanism: Option<String>,
    /// Its client-first-message.
    client_first: String,
    /// The decoded `c=` of the client-final-message (-PLUS only).
    binding: Option<Vec<u8>>,
}

/// Serves one connection: SSLRequest, TLS with `cert`, the startup
/// message, an offer of SCRAM-SHA-256-PLUS and SCRAM-SHA-256, and for
/// -PLUS a server-first-message to get the client-final-message with its
/// binding data. Then a FATAL error.
fn serve_once(cert: ServerCert) -> (u16, std::thread::JoinHandle<Seen>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert)], cert.key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut ssl_request = [0u8; 8];
        tcp.read_exact(&mut ssl_request).unwrap();
        assert_eq!(ssl_request[4..], [4, 210, 22, 47]);
        tcp.write_all(b"S").unwrap();
        let conn = ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls: StreamOwned<ServerConnection, TcpStream> = StreamOwned::new(conn, tcp);
        let mut len = [0u8; 4];
        tls.read_exact(&mut len).unwrap();
        let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
        tls.read_exact(&mut startup).unwrap();
        tls.write_all(&auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
            .unwrap();
        tls.flush().unwrap();
        let mut seen = Seen::default();
        let Some((b'p', body)) = read_message(&mut tls) else {
            return seen;
        };
        let nul = body.iter().position(|&b| b == 0).unwrap();
        let mechanism = String::from_utf8(body[..nul].to_vec()).unwrap();
        seen.client_first = String::from_utf8(body[nul + 5..].to_vec()).unwrap();
        if mechanism == "SCRAM-SHA-256-PLUS" {
            let nonce = seen.client_first.split(",r=").nth(1).unwrap().to_owned();
            let salt = base64::engine::general_purpose::STANDARD.encode(b"salt");
            let first = format!("r={nonce}server,s={salt},i=4096");
            tls.write_all(&auth(11, first.as_bytes())).unwrap();
            tls.flush().unwrap();
            let (tag, body) = read_message(&mut tls).unwrap();
            assert_eq!(tag, b'p');
            let text = String::from_utf8(body).unwrap();
            let c = text.strip_prefix("c=").unwrap().split(',').next().unwrap();
            seen.binding = Some(base64::engine::general_purpose::STANDARD.decode(c).unwrap());
        }
        seen.mechanism = Some(mechanism);
        let _ = tls.write_all(&msg(
            b'E',
            b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0\0",
        ));
        let _ = tls.flush();
        seen
    });
    (port, server)
}

/// Connects to a [`serve_once`] server with `sslmode=require` and
/// `channel_binding`; the server always ends in an error.
fn connect(port: u16, binding: ChannelBindingMode) -> Error {
    let options = ConnectOptions::new("127.0.0.1", "bob")
        .port(port)
        .password("pw")
        .ssl_mode(SslMode::Require)
        .channel_binding(binding);
    let host = options.hosts()[0].clone();
    let plan = tls_plan(&options, &host, &mut None).unwrap();
    smol::block_on(async {
        let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        match connect_over(tcp, &options, &host, plan.as_ref()).await {
            Ok(_) => panic!("the scripted server lets nobody in"),
            Err(e) => e,
        }
    })
}

#[test]
fn rsa_pss_binds_with_the_hash_of_its_parameters() {
    let cert = rsa_pss();
    let expected = [
        b"p=tls-server-end-point,,".as_slice(),
        &Sha384::digest(&cert.cert),
    ]
    .concat();
    let (port, server) = serve_once(cert);
    let err = connect(port, ChannelBindingMode::Prefer);
    assert_eq!(err.code(), Some(pgwire_proto::SqlState::INVALID_PASSWORD));
    let seen = server.join().unwrap();
    assert_eq!(seen.mechanism.as_deref(), Some("SCRAM-SHA-256-PLUS"));
    assert!(
        seen.client_first.starts_with("p=tls-server-end-point,,"),
        "{seen:?}"
    );
    assert_eq!(seen.binding, Some(expected));
}

#[test]
fn ecdsa_p256_binds_with_sha256() {
    let cert = rcgen_cert(&rcgen::PKCS_ECDSA_P256_SHA256);
    let expected = [
        b"p=tls-server-end-point,,".as_slice(),
        &Sha256::digest(&cert.cert),
    ]
    .concat();
    let (port, server) = serve_once(cert);
    connect(port, ChannelBindingMode::Require);
    assert_eq!(server.join().unwrap().binding, Some(expected));
}

/// Ed25519 names no hash: no binding value exists, so `prefer` goes
/// without binding, saying `n` (never `y`, which the server would take for
/// a downgrade attack, since it offered -PLUS).
#[test]
fn ed25519_prefer_goes_without_binding() {
    let (port, server) = serve_once(rcgen_cert(&rcgen::PKCS_ED25519));
    let err = connect(port, ChannelBindingMode::Prefer);
    assert_eq!(err.code(), Some(pgwire_proto::SqlState::INVALID_PASSWORD));
    let seen = server.join().unwrap();
    assert_eq!(seen.mechanism.as_deref(), Some("SCRAM-SHA-256"));
    assert!(seen.client_first.starts_with("n,,"), "{seen:?}");
}

#[test]
fn ed25519_require_fails_before_scram() {
    let (port, server) = serve_once(rcgen_cert(&rcgen::PKCS_ED25519));
    match connect(port, ChannelBindingMode::Require) {
        Error::Auth(e @ AuthError::ChannelBindingRequired(_)) => {
            let text = e.to_string();
            assert!(text.contains("Ed25519"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let seen = server.join().unwrap();
    assert_eq!(seen.mechanism, None, "nothing of SCRAM was sent");
}
