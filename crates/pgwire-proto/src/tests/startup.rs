use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::server::*;
use crate::auth::scram::ScramError;
use crate::{AuthError, BackendKey, Error, Event, Machine, ProtocolError, StartupConfig};

#[test]
fn trust_startup_reports_parameters_and_key() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("alice").database("shop"))
        .unwrap();
    let startup = sent(&mut m);
    assert!(startup.windows(6).any(|w| w == b"alice\0"));
    assert!(startup.windows(5).any(|w| w == b"shop\0"));
    let events = feed(
        &mut m,
        &concat(&[
            auth_ok(),
            param("server_version", "15.4"),
            key_data(1234, 5678),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[0], Event::Authenticated);
    assert!(matches!(events[1], Event::ParameterStatus { .. }));
    assert_eq!(
        events[2],
        Event::BackendKeyData(BackendKey::new(1234, 5678i32.to_be_bytes()).unwrap())
    );
    assert!(matches!(events[3], Event::ReadyForQuery(_)));
    assert!(m.is_ready());
    assert_eq!(m.parameters()["server_version"], "15.4");
    assert_eq!(m.backend_key().map(|k| k.process_id), Some(1234));
}

#[test]
fn cleartext_password_is_sent_on_request() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob").password("hunter2"))
        .unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &auth(3, &[])).is_empty());
    assert_eq!(sent(&mut m), msg(b'p', b"hunter2\0"));
}

#[test]
fn md5_password_answer() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("postgres").password("password"))
        .unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &auth(5, &[1, 2, 3, 4])).is_empty());
    assert_eq!(
        sent(&mut m),
        msg(b'p', b"md598511ceaec347a656f032c7f2a16ef17\0")
    );
}

#[test]
fn missing_password_is_a_typed_error() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob")).unwrap();
    sent(&mut m);
    m.receive(&auth(5, &[1, 2, 3, 4]));
    assert_eq!(
        m.next_event(),
        Err(Error::Auth(AuthError::PasswordRequired { method: "md5" }))
    );
    assert!(m.failure().is_some());
    // The same error again, never a panic or a hang.
    assert!(m.next_event().is_err());
    assert!(m.simple_query("select 1").is_err());
}

#[test]
fn unsupported_method_is_named() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob")).unwrap();
    m.receive(&auth(7, &[]));
    let err = m.next_event().unwrap_err();
    assert!(err.to_string().contains("GSSAPI"), "{err}");
}

#[test]
fn startup_error_is_reported_and_fatal() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("nobody")).unwrap();
    let events = feed(
        &mut m,
        &error("FATAL", "28000", "role \"nobody\" does not exist"),
    );
    let Event::Error(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        e.sqlstate(),
        crate::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    );
    assert!(!e.is_recoverable());
    assert!(m.simple_query("select 1").is_err());
}

/// A test server's side of SCRAM-SHA-256 for `password`, built from the
/// RFC 5802 formulas directly.
struct ScramServer {
    client_first_bare: String,
    server_first: String,
    salted: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl ScramServer {
    fn new(client_first: &[u8], password: &str) -> Self {
        let text = std::str::from_utf8(client_first).unwrap();
        let bare = text.strip_prefix("n,,").expect("no channel binding");
        let nonce = bare.strip_prefix("n=,r=").unwrap();
        let salt = b"0123456789abcdef";
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, 4096, &mut salted);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        ScramServer {
            client_first_bare: bare.to_owned(),
            server_first: format!("r={nonce}SERVERNONCE,s={},i=4096", b64.encode(salt)),
            salted,
        }
    }

    fn server_final(&self, client_final: &[u8]) -> String {
        let text = std::str::from_utf8(client_final).unwrap();
        let without_proof = text.rsplit_once(",p=").unwrap().0;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let server_key = hmac(&self.salted, b"Server Key");
        let signature = hmac(&server_key, auth_message.as_bytes());
        // Check the client's proof as a real server would.
        let client_key = hmac(&self.salted, b"Client Key");
        let stored = Sha256::digest(client_key);
        let client_sig = hmac(&stored, auth_message.as_bytes());
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let proof = b64.decode(text.rsplit_once(",p=").unwrap().1).unwrap();
        let recovered: Vec<u8> = proof.iter().zip(client_sig).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha256::digest(&recovered)[..], stored[..], "client proof");
        format!("v={}", b64.encode(signature))
    }
}

fn sasl_body(payload: &[u8]) -> &[u8] {
    // 'p', length, mechanism\0, i32 length, data
    let body = &payload[5..];
    let nul = body.iter().position(|&b| b == 0).unwrap();
    &body[nul + 5..]
}

fn start_scram(password: &str) -> (Machine, ScramServer) {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("carol").password(password))
        .unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")).is_empty());
    let initial = sent(&mut m);
    assert!(initial.windows(14).any(|w| w == b"SCRAM-SHA-256\0"));
    let server = ScramServer::new(sasl_body(&initial), "pencil");
    assert!(feed(&mut m, &auth(11, server.server_first.as_bytes())).is_empty());
    (m, server)
}

#[test]
fn scram_exchange_verifies_the_server() {
    let (mut m, server) = start_scram("pencil");
    let response = sent(&mut m);
    let server_final = server.server_final(&response[5..]);
    let events = feed(
        &mut m,
        &concat(&[auth(12, server_final.as_bytes()), auth_ok(), ready(b'I')]),
    );
    assert_eq!(events[0], Event::Authenticated);
    assert!(m.is_ready());
}

#[test]
fn scram_wrong_server_signature_is_an_error() {
    let (mut m, _server) = start_scram("pencil");
    sent(&mut m);
    m.receive(&auth(12, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
    assert_eq!(
        m.next_event(),
        Err(Error::Auth(AuthError::Scram(ScramError::SignatureMismatch)))
    );
}

#[test]
fn scram_ok_without_server_proof_is_refused() {
    let (mut m, _server) = start_scram("pencil");
    sent(&mut m);
    m.receive(&auth_ok());
    assert!(matches!(m.next_event(), Err(Error::Auth(_))));
}

#[test]
fn sasl_without_a_known_mechanism() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("carol").password("x")).unwrap();
    m.receive(&auth(10, b"OAUTHBEARER\0\0"));
    assert!(matches!(
        m.next_event(),
        Err(Error::Auth(AuthError::UnsupportedSaslMechanisms(_)))
    ));
}

#[test]
fn ssl_request_accepted_then_start() {
    let mut m = Machine::new();
    m.request_ssl().unwrap();
    assert_eq!(sent(&mut m), [0, 0, 0, 8, 4, 210, 22, 47]);
    assert!(m.start(&StartupConfig::new("x")).is_err());
    assert_eq!(feed(&mut m, b"S"), vec![Event::SslResponse(true)]);
    m.start(&StartupConfig::new("x").tls(None)).unwrap();
    assert!(!sent(&mut m).is_empty());
}

#[test]
fn ssl_request_refused() {
    let mut m = Machine::new();
    m.request_ssl().unwrap();
    assert_eq!(feed(&mut m, b"N"), vec![Event::SslResponse(false)]);
    m.start(&StartupConfig::new("x")).unwrap();
}

#[test]
fn bytes_after_ssl_acceptance_are_an_injection() {
    let mut m = Machine::new();
    m.request_ssl().unwrap();
    m.receive(b"SR\0\0\0\x08\0\0\0\0");
    assert_eq!(
        m.next_event(),
        Err(Error::Protocol(
            ProtocolError::UnencryptedBytesAfterSslResponse
        ))
    );
}

#[test]
fn require_auth_refuses_before_sending_anything() {
    use crate::AuthMethods;
    let mut m = Machine::new();
    let config = StartupConfig::new("bob")
        .password("pw")
        .allowed_auth(AuthMethods::SCRAM_SHA_256);
    m.start(&config).unwrap();
    sent(&mut m);
    m.receive(&auth(3, &[]));
    assert_eq!(
        m.next_event(),
        Err(Error::Auth(AuthError::MethodNotAllowed("password")))
    );
    assert!(sent(&mut m).is_empty(), "the password must not be sent");

    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob").allowed_auth(AuthMethods::MD5))
        .unwrap();
    m.receive(&auth_ok());
    assert_eq!(
        m.next_event(),
        Err(Error::Auth(AuthError::MethodNotAllowed("none")))
    );
}

#[test]
fn required_channel_binding_without_tls_fails_before_the_password() {
    let mut m = Machine::new();
    m.start(
        &StartupConfig::new("bob")
            .password("pw")
            .require_channel_binding(true),
    )
    .unwrap();
    sent(&mut m);
    m.receive(&auth(10, b"SCRAM-SHA-256\0\0"));
    assert!(matches!(
        m.next_event(),
        Err(Error::Auth(AuthError::ChannelBindingRequired(_)))
    ));
    assert!(sent(&mut m).is_empty());
    // md5 and trust are refused too
    for request in [auth(5, &[1, 2, 3, 4]), auth_ok()] {
        let mut m = Machine::new();
        let config = StartupConfig::new("bob")
            .password("pw")
            .tls(Some(vec![1; 32]))
            .require_channel_binding(true);
        m.start(&config).unwrap();
        sent(&mut m);
        m.receive(&request);
        assert!(matches!(
            m.next_event(),
            Err(Error::Auth(AuthError::ChannelBindingRequired(_)))
        ));
        assert!(sent(&mut m).is_empty());
    }
}

#[test]
fn plus_is_chosen_with_a_certificate_hash() {
    let mut m = Machine::new();
    let config = StartupConfig::new("bob")
        .password("pw")
        .tls(Some(vec![7; 32]))
        .require_channel_binding(true);
    m.start(&config).unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")).is_empty());
    let initial = sent(&mut m);
    assert!(initial.windows(19).any(|w| w == b"SCRAM-SHA-256-PLUS\0"));
    assert!(initial
        .windows(24)
        .any(|w| w == b"p=tls-server-end-point,,"));
}

#[test]
fn tls_without_plus_offer_says_y() {
    let mut m = Machine::new();
    m.start(
        &StartupConfig::new("bob")
            .password("pw")
            .tls(Some(vec![7; 32])),
    )
    .unwrap();
    sent(&mut m);
    feed(&mut m, &auth(10, b"SCRAM-SHA-256\0\0"));
    let initial = sent(&mut m);
    assert!(initial.windows(4).any(|w| w == b"y,,n"));
}

/// The AuthenticationOk that follows a password is that method's outcome:
/// `require_auth` lists of the password methods (and `!none`) let it in.
#[test]
fn require_auth_accepts_ok_after_an_allowed_password() {
    use crate::AuthMethods;
    let allowed_sets = [
        AuthMethods::PASSWORD,
        AuthMethods::MD5,
        AuthMethods::PASSWORD.union(AuthMethods::MD5),
        // !none
        AuthMethods::PASSWORD
            .union(AuthMethods::MD5)
            .union(AuthMethods::SCRAM_SHA_256),
    ];
    let requests = [
        (AuthMethods::PASSWORD, auth(3, &[])),
        (AuthMethods::MD5, auth(5, &[1, 2, 3, 4])),
    ];
    for allowed in allowed_sets {
        for (method, request) in &requests {
            if !allowed.contains(*method) {
                continue;
            }
            let mut m = Machine::new();
            let config = StartupConfig::new("bob")
                .password("pw")
                .allowed_auth(allowed);
            m.start(&config).unwrap();
            sent(&mut m);
            assert!(feed(&mut m, request).is_empty());
            assert_eq!(sent(&mut m)[0], b'p', "{allowed:?}: the password goes out");
            let events = feed(&mut m, &concat(&[auth_ok(), ready(b'I')]));
            assert_eq!(events[0], Event::Authenticated, "{allowed:?}");
            assert!(m.is_ready(), "{allowed:?}");
        }
    }
}

#[test]
fn a_second_password_request_is_a_protocol_error() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob").password("pw")).unwrap();
    sent(&mut m);
    feed(&mut m, &auth(3, &[]));
    sent(&mut m);
    m.receive(&auth(3, &[]));
    assert!(matches!(m.next_event(), Err(Error::Protocol(_))));
    assert!(sent(&mut m).is_empty(), "the password is sent once");
}

/// Over TLS without the certificate's hash (Ed25519, ...), a server that
/// offers -PLUS gets `n,,`: `y,,` would tell it that the client thinks the
/// server cannot bind, which PostgreSQL refuses as a downgrade attack.
#[test]
fn tls_without_hash_to_a_plus_server_says_n() {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("bob").password("pw").tls(None))
        .unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")).is_empty());
    let initial = sent(&mut m);
    assert!(initial.windows(14).any(|w| w == b"SCRAM-SHA-256\0"));
    assert!(!initial.windows(19).any(|w| w == b"SCRAM-SHA-256-PLUS\0"));
    assert!(initial.windows(4).any(|w| w == b"n,,n"), "{initial:?}");
    assert!(!initial.windows(3).any(|w| w == b"y,,"), "{initial:?}");
}

#[test]
fn required_binding_without_hash_fails_clearly() {
    let mut m = Machine::new();
    let config = StartupConfig::new("bob")
        .password("pw")
        .tls(None)
        .require_channel_binding(true);
    m.start(&config).unwrap();
    sent(&mut m);
    m.receive(&auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"));
    match m.next_event() {
        Err(Error::Auth(e @ AuthError::ChannelBindingRequired(_))) => {
            let text = e.to_string();
            assert!(text.contains("signature algorithm"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sent(&mut m).is_empty(), "nothing of SCRAM goes out");
}
