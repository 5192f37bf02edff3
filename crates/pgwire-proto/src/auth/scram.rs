//! SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL uses it.
//!
//! PostgreSQL specifics (see the "SASL Authentication" chapter of its docs):
//! * the user name in the client-first-message is empty (`n=`): the server
//!   authenticates the user named in the startup message;
//! * the password is normalized with SASLprep, and if that fails (invalid
//!   UTF-8, prohibited characters) the raw bytes are used, exactly like libpq,
//!   so that passwords set through other clients keep working;
//! * the only channel binding type is `tls-server-end-point` (RFC 5929), used
//!   with the `SCRAM-SHA-256-PLUS` mechanism.
//!
//! This module is sans-IO: it only builds and checks message payloads. The
//! caller moves them in `SASLInitialResponse`/`SASLResponse` and out of
//! `AuthenticationSASLContinue`/`AuthenticationSASLFinal`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Mechanism name without channel binding.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// Mechanism name with channel binding (`tls-server-end-point`).
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// Upper bound on the server's iteration count. PBKDF2 cost is linear in it,
/// so a hostile or misconfigured server could otherwise pin the client's CPU
/// for hours with `i=4294967295`. PostgreSQL's default is 4096.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Random bytes in a generated nonce (RFC 5802 only asks for "enough" entropy;
/// 24 bytes, like libpq, encodes to 32 base64 characters without padding).
const NONCE_BYTES: usize = 24;

/// SHA-256 output size, the size of every SCRAM key and signature here.
const KEY_LEN: usize = 32;

/// How the client handles channel binding in the GS2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// Client does not support channel binding (no TLS): GS2 header `n,,`.
    Unsupported,
    /// Client supports it but the server did not offer `-PLUS` (TLS, no PLUS
    /// mechanism): `y,,`.
    NotUsedByServer,
    /// `tls-server-end-point`: the hash of the server certificate (RFC 5929),
    /// GS2 header `p=tls-server-end-point,,`.
    TlsServerEndPoint(Vec<u8>),
}

impl ChannelBinding {
    /// The GS2 header that starts the client-first-message and that is echoed
    /// (base64) in the `c=` attribute.
    fn gs2_header(&self) -> &'static str {
        match self {
            ChannelBinding::Unsupported => "n,,",
            ChannelBinding::NotUsedByServer => "y,,",
            ChannelBinding::TlsServerEndPoint(_) => "p=tls-server-end-point,,",
        }
    }
}

/// Errors of a SCRAM-SHA-256 exchange.
///
/// Every malformed or hostile server message maps to one of these; none of
/// them panics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramError {
    /// The server-first-message is malformed; the text says how.
    InvalidServerFirst(&'static str),
    /// The server nonce does not extend the client nonce.
    NonceMismatch,
    /// The iteration count is zero, not a decimal number, or above the limit.
    /// Holds (a prefix of) the value the server sent.
    InvalidIterationCount(String),
    /// The salt is empty or not valid base64.
    InvalidSalt,
    /// The server-final-message is malformed; the text says how.
    InvalidServerFinal(&'static str),
    /// The server reported an error (`e=` attribute), e.g. `invalid-proof`.
    ServerError(String),
    /// The server's signature does not match: the server does not know the
    /// password (or the exchange was tampered with).
    SignatureMismatch,
    /// A method was called out of order (the exchange runs client-first,
    /// `handle_server_first`, `verify_server_final`, each once).
    WrongState,
    /// The system random number generator failed while making the nonce.
    Random(String),
    /// A cryptographic primitive rejected its input; cannot happen with the
    /// fixed key sizes used here, reported rather than panicking.
    Internal(&'static str),
}

impl fmt::Display for ScramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScramError::InvalidServerFirst(why) => {
                write!(f, "invalid SCRAM server-first-message: {why}")
            }
            ScramError::NonceMismatch => {
                f.write_str("SCRAM server nonce does not extend the client nonce")
            }
            ScramError::InvalidIterationCount(i) => {
                write!(
                    f,
                    "invalid SCRAM iteration count {i:?} (must be 1..={MAX_ITERATIONS})"
                )
            }
            ScramError::InvalidSalt => f.write_str("invalid SCRAM salt (empty or not base64)"),
            ScramError::InvalidServerFinal(why) => {
                write!(f, "invalid SCRAM server-final-message: {why}")
            }
            ScramError::ServerError(e) => {
                write!(f, "SCRAM authentication failed on the server: {e}")
            }
            ScramError::SignatureMismatch => f.write_str(
                "SCRAM server signature mismatch: the server could not prove it knows the password",
            ),
            ScramError::WrongState => f.write_str("SCRAM exchange method called out of order"),
            ScramError::Random(e) => write!(f, "could not generate SCRAM nonce: {e}"),
            ScramError::Internal(why) => write!(f, "internal SCRAM error: {why}"),
        }
    }
}

impl std::error::Error for ScramError {}

/// Where the exchange is. Each server message is accepted exactly once, and a
/// failed step ends the exchange (moving to `Done`), since SCRAM cannot resume.
enum State {
    /// client-first-message built, waiting for server-first-message.
    Initial,
    /// client-final-message returned, waiting for server-final-message.
    /// Keeps what is needed to check the server signature.
    SentFinal {
        server_key: [u8; KEY_LEN],
        auth_message: Vec<u8>,
    },
    /// Exchange finished (successfully or not).
    Done,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Initial => "Initial",
            State::SentFinal { .. } => "SentFinal",
            State::Done => "Done",
        }
    }
}

/// One SCRAM-SHA-256 exchange.
///
/// `Debug` deliberately shows neither the password nor derived keys.
pub struct ScramSha256 {
    /// SASLprep-normalized password, or the raw bytes if normalization failed.
    password: Vec<u8>,
    client_nonce: String,
    channel_binding: ChannelBinding,
    /// gs2-header followed by client-first-message-bare.
    client_first: Vec<u8>,
    /// Length of the gs2 header in `client_first`; the rest is the bare part,
    /// which goes into the `AuthMessage`.
    gs2_len: usize,
    state: State,
}

impl fmt::Debug for ScramSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately hand-written: the password and the server key must
        // never end up in logs.
        f.debug_struct("ScramSha256")
            .field("mechanism", &self.mechanism())
            .field("client_nonce", &self.client_nonce)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl ScramSha256 {
    /// Starts a PostgreSQL exchange (empty user name) with a random 24-byte
    /// nonce from the OS, base64-encoded (printable, no `,`).
    ///
    /// # Errors
    ///
    /// [`ScramError::Random`] if the system random number generator fails.
    pub fn new(password: &[u8], channel_binding: ChannelBinding) -> Result<Self, ScramError> {
        let mut raw = [0u8; NONCE_BYTES];
        getrandom::fill(&mut raw).map_err(|e| ScramError::Random(e.to_string()))?;
        let nonce = STANDARD.encode(raw);
        Ok(Self::with_nonce("", password, &nonce, channel_binding))
    }

    /// Deterministic, for tests and for embedders who bring their own randomness.
    ///
    /// `username` is `""` for PostgreSQL (which is what [`ScramSha256::new`]
    /// uses); it is SASLprep-normalized when possible and `=`/`,` are escaped
    /// as RFC 5802 requires. `nonce` must be printable ASCII without `,`
    /// (RFC 5802 `printable`); the caller is trusted on this.
    pub fn with_nonce(
        username: &str,
        password: &[u8],
        nonce: &str,
        channel_binding: ChannelBinding,
    ) -> Self {
        let username = stringprep::saslprep(username)
            .map_or_else(|_| username.to_owned(), std::borrow::Cow::into_owned);
        let gs2 = channel_binding.gs2_header();
        let mut client_first = String::with_capacity(gs2.len() + username.len() + nonce.len() + 6);
        client_first.push_str(gs2);
        client_first.push_str("n=");
        for ch in username.chars() {
            match ch {
                '=' => client_first.push_str("=3D"),
                ',' => client_first.push_str("=2C"),
                _ => client_first.push(ch),
            }
        }
        client_first.push_str(",r=");
        client_first.push_str(nonce);

        ScramSha256 {
            password: normalize_password(password),
            client_nonce: nonce.to_owned(),
            channel_binding,
            client_first: client_first.into_bytes(),
            gs2_len: gs2.len(),
            state: State::Initial,
        }
    }

    /// [`SCRAM_SHA_256`] or [`SCRAM_SHA_256_PLUS`] (the latter iff
    /// [`ChannelBinding::TlsServerEndPoint`]).
    #[must_use]
    pub fn mechanism(&self) -> &'static str {
        match self.channel_binding {
            ChannelBinding::TlsServerEndPoint(_) => SCRAM_SHA_256_PLUS,
            ChannelBinding::Unsupported | ChannelBinding::NotUsedByServer => SCRAM_SHA_256,
        }
    }

    /// The client-first-message (GS2 header + client-first-message-bare), sent
    /// in `SASLInitialResponse`.
    #[must_use]
    pub fn client_first_message(&self) -> &[u8] {
        &self.client_first
    }

    /// Takes the server-first-message (`AuthenticationSASLContinue` data),
    /// returns the client-final-message (sent in `SASLResponse`).
    ///
    /// # Errors
    ///
    /// [`ScramError::WrongState`] unless this is the first call after
    /// construction; otherwise [`ScramError::InvalidServerFirst`],
    /// [`ScramError::NonceMismatch`], [`ScramError::InvalidSalt`] or
    /// [`ScramError::InvalidIterationCount`] for a malformed or hostile
    /// message. Any error ends the exchange.
    pub fn handle_server_first(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        // Take the state first so that every early return leaves `Done`.
        if !matches!(
            std::mem::replace(&mut self.state, State::Done),
            State::Initial
        ) {
            return Err(ScramError::WrongState);
        }
        let parsed = parse_server_first(server_first, &self.client_nonce)?;

        let mut salted = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(&self.password, &parsed.salt, parsed.iterations, &mut salted);
        let client_key = hmac_sha256(&salted, b"Client Key")?;
        let stored_key: [u8; KEY_LEN] = Sha256::digest(client_key).into();
        let server_key = hmac_sha256(&salted, b"Server Key")?;

        // c= carries the gs2 header and, for -PLUS, the binding data, so the
        // server can detect a downgrade or a man in the middle.
        let mut cbind_input = self.channel_binding.gs2_header().as_bytes().to_vec();
        if let ChannelBinding::TlsServerEndPoint(hash) = &self.channel_binding {
            cbind_input.extend_from_slice(hash);
        }
        let mut client_final = Vec::with_capacity(128);
        client_final.extend_from_slice(b"c=");
        client_final.extend_from_slice(STANDARD.encode(&cbind_input).as_bytes());
        client_final.extend_from_slice(b",r=");
        client_final.extend_from_slice(parsed.nonce.as_bytes());

        // AuthMessage = client-first-message-bare "," server-first-message ","
        //               client-final-message-without-proof
        let bare = self.client_first.get(self.gs2_len..).unwrap_or_default();
        let mut auth_message =
            Vec::with_capacity(bare.len() + server_first.len() + client_final.len() + 2);
        auth_message.extend_from_slice(bare);
        auth_message.push(b',');
        auth_message.extend_from_slice(server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(&client_final);

        let client_signature = hmac_sha256(&stored_key, &auth_message)?;
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature.iter()) {
            *p ^= s;
        }
        client_final.extend_from_slice(b",p=");
        client_final.extend_from_slice(STANDARD.encode(proof).as_bytes());

        self.state = State::SentFinal {
            server_key,
            auth_message,
        };
        Ok(client_final)
    }

    /// Takes the server-final-message (`AuthenticationSASLFinal` data) and
    /// checks its `v=` against the expected `ServerSignature` in constant time.
    ///
    /// # Errors
    ///
    /// [`ScramError::WrongState`] unless called once, after a successful
    /// [`ScramSha256::handle_server_first`]; [`ScramError::ServerError`] for an
    /// `e=` attribute; [`ScramError::SignatureMismatch`] for a wrong `v=`;
    /// [`ScramError::InvalidServerFinal`] for anything else. The exchange is
    /// over afterwards either way.
    pub fn verify_server_final(&mut self, server_final: &[u8]) -> Result<(), ScramError> {
        let (server_key, auth_message) = match std::mem::replace(&mut self.state, State::Done) {
            State::SentFinal {
                server_key,
                auth_message,
            } => (server_key, auth_message),
            State::Initial | State::Done => return Err(ScramError::WrongState),
        };
        let text = std::str::from_utf8(server_final)
            .map_err(|_| ScramError::InvalidServerFinal("not valid UTF-8"))?;
        // server-final-message = (server-error / verifier) ["," extensions];
        // extensions carry nothing we understand, so only the first attribute
        // matters.
        let first = text.split(',').next().unwrap_or_default();
        if let Some(err) = first.strip_prefix("e=") {
            return Err(ScramError::ServerError(err.to_owned()));
        }
        let Some(v) = first.strip_prefix("v=") else {
            return Err(ScramError::InvalidServerFinal(
                "expected v= or e= attribute",
            ));
        };
        let signature = STANDARD
            .decode(v)
            .map_err(|_| ScramError::InvalidServerFinal("v= is not valid base64"))?;
        // verify_slice compares in constant time (and rejects wrong lengths).
        new_hmac(&server_key)?
            .chain_update(&auth_message)
            .verify_slice(&signature)
            .map_err(|_| ScramError::SignatureMismatch)
    }
}

/// SASLprep the password if it is UTF-8 and normalizes cleanly; otherwise
/// use the bytes unchanged, which is what libpq (and the server's own
/// verifier generation) does, so such passwords still authenticate.
fn normalize_password(password: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(password) {
        Ok(s) => match stringprep::saslprep(s) {
            Ok(prepped) => prepped.into_owned().into_bytes(),
            Err(_) => password.to_vec(),
        },
        Err(_) => password.to_vec(),
    }
}

fn new_hmac(key: &[u8]) -> Result<HmacSha256, ScramError> {
    // HMAC accepts keys of any length, so this never fails in practice.
    HmacSha256::new_from_slice(key).map_err(|_| ScramError::Internal("HMAC key rejected"))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; KEY_LEN], ScramError> {
    Ok(new_hmac(key)?
        .chain_update(data)
        .finalize()
        .into_bytes()
        .into())
}

/// The fields of a server-first-message we use.
#[derive(Debug)]
struct ServerFirst<'a> {
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

/// Parses `[reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]`
/// strictly in RFC 5802 order.
fn parse_server_first<'a>(
    server_first: &'a [u8],
    client_nonce: &str,
) -> Result<ServerFirst<'a>, ScramError> {
    let text = std::str::from_utf8(server_first)
        .map_err(|_| ScramError::InvalidServerFirst("not valid UTF-8"))?;
    let mut attrs = text.split(',');

    let first = attrs.next().unwrap_or_default();
    if first.starts_with("m=") {
        // A mandatory extension we cannot know about: RFC 5802 requires
        // failing the exchange.
        return Err(ScramError::InvalidServerFirst(
            "mandatory extension unsupported",
        ));
    }
    let nonce = first
        .strip_prefix("r=")
        .ok_or(ScramError::InvalidServerFirst("expected r= attribute"))?;
    if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ScramError::InvalidServerFirst("nonce is not printable"));
    }
    // The server must append its own (non-empty) part to our nonce; anything
    // else could be a replay.
    if nonce.len() <= client_nonce.len() || !nonce.starts_with(client_nonce) {
        return Err(ScramError::NonceMismatch);
    }

    let salt_b64 = attrs
        .next()
        .and_then(|a| a.strip_prefix("s="))
        .ok_or(ScramError::InvalidServerFirst("expected s= attribute"))?;
    let salt = STANDARD
        .decode(salt_b64)
        .map_err(|_| ScramError::InvalidSalt)?;
    if salt.is_empty() {
        return Err(ScramError::InvalidSalt);
    }

    let iter_text = attrs
        .next()
        .and_then(|a| a.strip_prefix("i="))
        .ok_or(ScramError::InvalidServerFirst("expected i= attribute"))?;
    let iterations = parse_iterations(iter_text)?;

    // Optional extensions may follow; each must still look like an attribute.
    for ext in attrs {
        let mut bytes = ext.bytes();
        let well_formed = matches!(
            (bytes.next(), bytes.next()),
            (Some(name), Some(b'=')) if name.is_ascii_alphabetic()
        );
        if !well_formed {
            return Err(ScramError::InvalidServerFirst(
                "malformed extension attribute",
            ));
        }
    }

    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

fn parse_iterations(text: &str) -> Result<u32, ScramError> {
    // Keep the error value short: it comes from the server and may be huge.
    let invalid = || ScramError::InvalidIterationCount(text.chars().take(32).collect());
    // u32::from_str would also accept a leading '+', which RFC 5802 does not.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_ITERATIONS).contains(&n) => Ok(n),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 7677 section 3.
    const RFC_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC_CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC_SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc() -> ScramSha256 {
        ScramSha256::with_nonce("user", b"pencil", RFC_NONCE, ChannelBinding::Unsupported)
    }

    fn pg(cb: ChannelBinding) -> ScramSha256 {
        ScramSha256::with_nonce("", b"secret", "abc", cb)
    }

    /// Runs `handle_server_first` on `server_first` with client nonce "abc".
    fn first_err(server_first: &[u8]) -> ScramError {
        match pg(ChannelBinding::Unsupported).handle_server_first(server_first) {
            Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(server_first)),
            Err(e) => e,
        }
    }

    #[test]
    fn rfc7677_vector() {
        let mut s = rfc();
        assert_eq!(
            s.client_first_message(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        assert_eq!(
            s.handle_server_first(RFC_SERVER_FIRST),
            Ok(RFC_CLIENT_FINAL.to_vec())
        );
        assert_eq!(s.verify_server_final(RFC_SERVER_FINAL), Ok(()));
        // Done now.
        assert_eq!(
            s.verify_server_final(RFC_SERVER_FINAL),
            Err(ScramError::WrongState)
        );
    }

    #[test]
    fn rfc7677_flipped_signature() {
        let mut s = rfc();
        assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
        let mut sig = STANDARD.decode(&RFC_SERVER_FINAL[2..]).unwrap_or_default();
        if let Some(b) = sig.get_mut(5) {
            *b ^= 0x01;
        }
        let bad = format!("v={}", STANDARD.encode(sig));
        assert_eq!(
            s.verify_server_final(bad.as_bytes()),
            Err(ScramError::SignatureMismatch)
        );
    }

    #[test]
    fn rfc7677_short_signature() {
        let mut s = rfc();
        assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
        assert_eq!(
            s.verify_server_final(b"v="),
            Err(ScramError::SignatureMismatch)
        );
    }

    #[test]
    fn server_error_attribute() {
        let mut s = rfc();
        assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
        assert_eq!(
            s.verify_server_final(b"e=invalid-proof"),
            Err(ScramError::ServerError("invalid-proof".into()))
        );
    }

    #[test]
    fn server_final_malformed() {
        for bad in [&b""[..], b"x=1", b"v=***", b"v=\xff", b"\xff"] {
            let mut s = rfc();
            assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
            assert!(
                matches!(
                    s.verify_server_final(bad),
                    Err(ScramError::InvalidServerFinal(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn server_final_extensions_ignored() {
        let mut s = rfc();
        assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
        let msg = [RFC_SERVER_FINAL, b",x=whatever"].concat();
        assert_eq!(s.verify_server_final(&msg), Ok(()));
    }

    #[test]
    fn postgres_client_first_and_binding() {
        let s = pg(ChannelBinding::Unsupported);
        assert_eq!(s.client_first_message(), b"n,,n=,r=abc");
        assert_eq!(s.mechanism(), SCRAM_SHA_256);

        let mut s = pg(ChannelBinding::NotUsedByServer);
        assert_eq!(s.client_first_message(), b"y,,n=,r=abc");
        assert_eq!(s.mechanism(), SCRAM_SHA_256);
        let out = s
            .handle_server_first(b"r=abcdef,s=AAAA,i=1")
            .unwrap_or_default();
        assert!(out.starts_with(b"c=eSws,r=abcdef,p="), "{out:?}");

        let hash = vec![0u8, 1, 2, 0xfe, 0xff, b',', b'='];
        let mut s = pg(ChannelBinding::TlsServerEndPoint(hash.clone()));
        assert_eq!(
            s.client_first_message(),
            b"p=tls-server-end-point,,n=,r=abc"
        );
        assert_eq!(s.mechanism(), SCRAM_SHA_256_PLUS);
        let out = s
            .handle_server_first(b"r=abcdef,s=AAAA,i=1")
            .unwrap_or_default();
        let c = STANDARD.encode([&b"p=tls-server-end-point,,"[..], &hash].concat());
        assert!(
            out.starts_with(format!("c={c},r=abcdef,p=").as_bytes()),
            "{out:?}"
        );
    }

    #[test]
    fn username_escaped() {
        let s = ScramSha256::with_nonce("a=b,c", b"p", "n", ChannelBinding::Unsupported);
        assert_eq!(s.client_first_message(), b"n,,n=a=3Db=2Cc,r=n");
    }

    #[test]
    fn new_nonces_distinct_and_printable() {
        let a = ScramSha256::new(b"pw", ChannelBinding::Unsupported);
        let b = ScramSha256::new(b"pw", ChannelBinding::Unsupported);
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("getrandom failed")
        };
        assert_ne!(a.client_nonce, b.client_nonce);
        for s in [&a, &b] {
            assert_eq!(s.client_nonce.len(), 32);
            assert!(s
                .client_nonce
                .bytes()
                .all(|c| (0x21..=0x7e).contains(&c) && c != b','));
            assert!(s.client_first_message().starts_with(b"n,,n=,r="));
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let mut s = ScramSha256::with_nonce("", b"hunter2", "abc", ChannelBinding::Unsupported);
        assert!(s.handle_server_first(b"r=abcdef,s=AAAA,i=1").is_ok());
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(!dbg.contains("server_key"), "{dbg}");
        assert!(dbg.contains("SentFinal"), "{dbg}");
    }

    #[test]
    fn nonce_not_prefixed() {
        assert_eq!(first_err(b"r=xyzdef,s=AAAA,i=1"), ScramError::NonceMismatch);
        // Equal to the client nonce: the server added nothing.
        assert_eq!(first_err(b"r=abc,s=AAAA,i=1"), ScramError::NonceMismatch);
        assert_eq!(first_err(b"r=ab,s=AAAA,i=1"), ScramError::NonceMismatch);
    }

    #[test]
    fn missing_attributes() {
        assert!(matches!(first_err(b""), ScramError::InvalidServerFirst(_)));
        assert!(matches!(
            first_err(b"s=AAAA,i=1"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abcdef"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abcdef,i=1"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abcdef,s=AAAA"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abcdef,i=1,s=AAAA"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abcdef,s=AAAA,i=1,bogus"),
            ScramError::InvalidServerFirst(_)
        ));
    }

    #[test]
    fn extensions_after_iterations_accepted() {
        let mut s = pg(ChannelBinding::Unsupported);
        assert!(s.handle_server_first(b"r=abcdef,s=AAAA,i=1,x=y").is_ok());
    }

    #[test]
    fn bad_iteration_counts() {
        for i in [
            "0",
            "",
            "-1",
            "+5",
            "1.5",
            "0x10",
            " 1",
            "4294967296",
            "10000001",
        ] {
            let msg = format!("r=abcdef,s=AAAA,i={i}");
            assert_eq!(
                first_err(msg.as_bytes()),
                ScramError::InvalidIterationCount(i.into()),
                "{i}"
            );
        }
        let long = "9".repeat(1000);
        let e = first_err(format!("r=abcdef,s=AAAA,i={long}").as_bytes());
        assert_eq!(e, ScramError::InvalidIterationCount("9".repeat(32)));
    }

    #[test]
    fn max_iteration_count_parses() {
        assert_eq!(parse_iterations("10000000"), Ok(MAX_ITERATIONS));
        assert_eq!(parse_iterations("0004096"), Ok(4096));
    }

    #[test]
    fn bad_salt() {
        assert_eq!(first_err(b"r=abcdef,s=,i=1"), ScramError::InvalidSalt);
        assert_eq!(first_err(b"r=abcdef,s=!!!!,i=1"), ScramError::InvalidSalt);
        assert_eq!(first_err(b"r=abcdef,s=AAA,i=1"), ScramError::InvalidSalt);
    }

    #[test]
    fn mandatory_extension() {
        assert_eq!(
            first_err(b"m=foo,r=abcdef,s=AAAA,i=1"),
            ScramError::InvalidServerFirst("mandatory extension unsupported")
        );
    }

    #[test]
    fn non_utf8_and_unprintable() {
        assert!(matches!(
            first_err(b"r=abc\xff,s=AAAA,i=1"),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err("r=abc\u{e9},s=AAAA,i=1".as_bytes()),
            ScramError::InvalidServerFirst(_)
        ));
        assert!(matches!(
            first_err(b"r=abc d,s=AAAA,i=1"),
            ScramError::InvalidServerFirst(_)
        ));
    }

    #[test]
    fn wrong_state() {
        let mut s = rfc();
        assert_eq!(
            s.verify_server_final(RFC_SERVER_FINAL),
            Err(ScramError::WrongState)
        );
        // Any misuse ends the exchange, so the following handle is refused too.
        assert_eq!(
            s.handle_server_first(RFC_SERVER_FIRST),
            Err(ScramError::WrongState)
        );

        let mut s = rfc();
        assert!(s.handle_server_first(RFC_SERVER_FIRST).is_ok());
        assert_eq!(
            s.handle_server_first(RFC_SERVER_FIRST),
            Err(ScramError::WrongState)
        );

        // A failed handle ends the exchange as well.
        let mut s = rfc();
        assert!(s.handle_server_first(b"garbage").is_err());
        assert_eq!(
            s.handle_server_first(RFC_SERVER_FIRST),
            Err(ScramError::WrongState)
        );
    }

    #[test]
    fn saslprep_maps_nbsp_to_space() {
        let proof = |pw: &str| {
            ScramSha256::with_nonce("", pw.as_bytes(), "abc", ChannelBinding::Unsupported)
                .handle_server_first(b"r=abcdef,s=AAAA,i=2")
        };
        let nbsp = proof("pass\u{a0}word");
        let space = proof("pass word");
        assert!(nbsp.is_ok());
        assert_eq!(nbsp, space);
        assert_ne!(proof("password"), space);
    }

    #[test]
    fn saslprep_failure_uses_raw_bytes() {
        // U+0007 is prohibited by SASLprep; libpq then uses the bytes as-is.
        assert_eq!(normalize_password(b"a\x07b"), b"a\x07b");
        assert_eq!(normalize_password(b"\xff\xfe"), b"\xff\xfe");
        assert_eq!(normalize_password("a\u{a0}b".as_bytes()), b"a b");
        let mut s = ScramSha256::with_nonce("", b"\xff\x07", "abc", ChannelBinding::Unsupported);
        assert!(s.handle_server_first(b"r=abcdef,s=AAAA,i=1").is_ok());
    }

    #[test]
    fn display_messages() {
        assert_eq!(
            ScramError::ServerError("invalid-proof".into()).to_string(),
            "SCRAM authentication failed on the server: invalid-proof"
        );
        assert!(ScramError::InvalidIterationCount("0".into())
            .to_string()
            .contains("iteration count"));
    }

    proptest! {
        #[test]
        fn server_first_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut s = pg(ChannelBinding::Unsupported);
            let _ = s.handle_server_first(&data);
        }

        #[test]
        fn server_first_structured_never_panics(
            suffix in "[ -~]{0,20}",
            salt in "[ -~]{0,20}",
            iters in "[0-9+-]{0,4}",
            tail in "[ -~]{0,20}",
        ) {
            let msg = format!("r=abc{suffix},s={salt},i={iters}{tail}");
            let mut s = pg(ChannelBinding::NotUsedByServer);
            let _ = s.handle_server_first(msg.as_bytes());
        }

        #[test]
        fn server_final_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut s = pg(ChannelBinding::TlsServerEndPoint(vec![1, 2, 3]));
            prop_assert!(s.handle_server_first(b"r=abcdef,s=AAAA,i=1").is_ok());
            let _ = s.verify_server_final(&data);
        }

        #[test]
        fn server_final_prefixed_never_panics(v in "[ -~]{0,64}", e in "[ -~]{0,64}") {
            for msg in [format!("v={v}"), format!("e={e}")] {
                let mut s = pg(ChannelBinding::Unsupported);
                prop_assert!(s.handle_server_first(b"r=abcdef,s=AAAA,i=1").is_ok());
                let _ = s.verify_server_final(msg.as_bytes());
            }
        }
    }
}
