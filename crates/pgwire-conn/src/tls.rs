//! TLS for every runtime at once: futures-rustls over any futures-io stream.
//!
//! What each `sslmode` checks (as libpq): `require` (and `prefer`, `allow`
//! when TLS happens) encrypts without checking the certificate, unless root
//! certificates are given (or `~/.postgresql/root.crt` exists): then it
//! checks the chain like `verify-ca`; `verify-ca` checks the chain against
//! the root certificates but not the host name; `verify-full` checks both.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use futures_rustls::rustls::client::WebPkiServerVerifier;
use futures_rustls::rustls::crypto::{self, CryptoProvider};
use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use futures_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};

/// A stream that is either plain or TLS-protected.
#[derive(Debug)]
pub enum MaybeTls<S> {
    /// No encryption (sslmode=disable, a refused `prefer`, Unix sockets).
    Plain(S),
    /// TLS.
    Tls(Box<TlsStream<S>>),
}

impl<S> MaybeTls<S> {
    /// True when the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }

    /// The server's certificate chain, leaf first (TLS only).
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Tls(tls) => tls.get_ref().1.peer_certificates(),
        }
    }

    /// The ALPN protocol the server selected (TLS only).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Tls(tls) => tls.get_ref().1.alpn_protocol(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_close(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

/// Why TLS could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// TLS is required (sslmode require, verify-ca, verify-full) but the
    /// server answered the SSLRequest with "no".
    Refused,
    /// The TLS handshake failed; certificate problems (unknown CA, wrong
    /// host name, expired) arrive here with rustls' reason.
    Handshake(io::Error),
    /// The TLS configuration could not be built: an unreadable or invalid
    /// certificate or key file, no root certificates for a verify mode.
    Config(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Refused => f.write_str("the server does not accept TLS connections"),
            // rustls' reason is the source, which a report prints next.
            TlsError::Handshake(_) => f.write_str("TLS handshake failed"),
            TlsError::Config(why) => write!(f, "TLS configuration: {why}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

/// How strictly the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt only.
    Nothing,
    /// The chain, not the host name.
    Chain,
    /// The chain and the host name.
    Full,
}

/// Where the root certificates come from.
#[derive(Debug, Clone)]
pub(crate) enum Roots<'a> {
    /// A PEM file.
    File(&'a Path),
    /// The platform's store.
    System,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(crypto::ring::default_provider())
}

fn config_error(what: impl std::fmt::Display) -> TlsError {
    TlsError::Config(what.to_string())
}

fn load_roots(roots: Roots<'_>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| config_error(format!("sslrootcert {}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| config_error(format!("sslrootcert {}: {e}", path.display())))?;
                store
                    .add(cert)
                    .map_err(|e| config_error(format!("sslrootcert {}: {e}", path.display())))?;
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // Skip the odd unparsable system certificate, as browsers do.
                let _ = store.add(cert);
            }
        }
    }
    if store.is_empty() {
        return Err(config_error("no root certificates found"));
    }
    Ok(store)
}

/// Builds the client configuration for `verify` with optional root
/// certificates and client certificate. `alpn` is set for direct TLS.
pub(crate) fn client_config(
    verify: Verify,
    roots: Option<Roots<'_>>,
    client_cert: Option<(&Path, &Path)>,
    alpn: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider))),
        Verify::Chain | Verify::Full => {
            let roots = roots.ok_or_else(|| {
                config_error(
                    "sslmode verify-ca and verify-full need sslrootcert (a file or \"system\")",
                )
            })?;
            let store = Arc::new(load_roots(roots)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(store, provider)
                .build()
                .map_err(config_error)?;
            if verify == Verify::Full {
                builder.with_webpki_verifier(webpki)
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
            }
        }
    };
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| config_error(format!("sslcert {}: {e}", cert.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| config_error(format!("sslcert {}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(config_error(format!(
                    "sslcert {}: no certificate",
                    cert.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| config_error(format!("sslkey {}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error(format!("sslcert/sslkey: {e}")))?
        }
    };
    if alpn {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(config))
}

/// Runs the TLS handshake over `stream`.
pub(crate) async fn handshake<S>(
    stream: S,
    config: Arc<ClientConfig>,
    host: &str,
) -> Result<TlsStream<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| config_error(format!("\"{host}\" is not a valid TLS server name")))?;
    futures_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(TlsError::Handshake)
}

/// The RFC 5929 `tls-server-end-point` channel binding data: the hash of the
/// server certificate, with the hash of its signature algorithm (SHA-256 in
/// place of MD5 and SHA-1); for RSA-PSS, the hash its parameters name.
/// `None` when the algorithm names no hash (Ed25519, Ed448) or one this
/// code does not know: then there is no binding value to send, and SCRAM
/// goes without binding (or fails, for `channel_binding=require`).
pub(crate) fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    let (oid, params) = signature_algorithm(cert)?;
    Some(match end_point_hash(oid, params)? {
        Hash::Sha224 => Sha224::digest(cert).to_vec(),
        Hash::Sha256 => Sha256::digest(cert).to_vec(),
        Hash::Sha384 => Sha384::digest(cert).to_vec(),
        Hash::Sha512 => Sha512::digest(cert).to_vec(),
        Hash::Sha512_224 => Sha512_224::digest(cert).to_vec(),
        Hash::Sha512_256 => Sha512_256::digest(cert).to_vec(),
    })
}

/// The hashes a certificate signature can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
}

/// 1.2.840.113549.1.1.x: PKCS #1 (RSA).
const PKCS1: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
/// 1.2.840.10045.4.3.x: ECDSA with a SHA-2 hash.
const ECDSA_SHA2: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
/// 1.2.840.10045.4.1: ECDSA with SHA-1.
const ECDSA_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
/// 2.16.840.1.101.3.4.2.x: the NIST hash algorithms.
const NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
/// 1.3.14.3.2.26: SHA-1.
const SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
/// 1.2.840.113549.1.1.10: RSASSA-PSS, whose hash is in its parameters.
const RSASSA_PSS: u8 = 0x0A;

/// The hash RFC 5929 takes for a signature algorithm (`oid`, with its DER
/// `params`): the algorithm's own, SHA-256 for MD5 and SHA-1.
fn end_point_hash(oid: &[u8], params: &[u8]) -> Option<Hash> {
    match oid {
        [rest @ .., last] if rest == PKCS1 => match last {
            // md5WithRSAEncryption, sha1WithRSAEncryption
            0x04 | 0x05 | 0x0B => Some(Hash::Sha256),
            0x0C => Some(Hash::Sha384),
            0x0D => Some(Hash::Sha512),
            0x0E => Some(Hash::Sha224),
            0x0F => Some(Hash::Sha512_224),
            0x10 => Some(Hash::Sha512_256),
            &RSASSA_PSS => pss_hash(params),
            _ => None,
        },
        [rest @ .., last] if rest == ECDSA_SHA2 => match last {
            0x01 => Some(Hash::Sha224),
            0x02 => Some(Hash::Sha256),
            0x03 => Some(Hash::Sha384),
            0x04 => Some(Hash::Sha512),
            _ => None,
        },
        o if o == ECDSA_SHA1 => Some(Hash::Sha256),
        _ => None,
    }
}

/// The hash of RSASSA-PSS parameters (RFC 4055):
/// `SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, .. }`.
/// Absent parameters or hash mean SHA-1, which RFC 5929 replaces by SHA-256.
fn pss_hash(params: &[u8]) -> Option<Hash> {
    let Some((tag, body, _)) = der_element(params) else {
        // No parameters at all: every default, SHA-1.
        return params.is_empty().then_some(Hash::Sha256);
    };
    if tag != 0x30 {
        return None;
    }
    let hash_oid = match der_element(body) {
        None if body.is_empty() => return Some(Hash::Sha256),
        None => return None,
        // [0] EXPLICIT AlgorithmIdentifier
        Some((0xA0, explicit, _)) => {
            let (tag, alg, _) = der_element(explicit)?;
            if tag != 0x30 {
                return None;
            }
            let (tag, oid, _) = der_element(alg)?;
            if tag != 0x06 {
                return None;
            }
            oid
        }
        // Another field first ([1] mask generation, ...): the hash is the
        // default.
        Some((0xA1..=0xA3, _, _)) => return Some(Hash::Sha256),
        Some(_) => return None,
    };
    match hash_oid {
        o if o == SHA1 => Some(Hash::Sha256),
        [rest @ .., last] if rest == NIST_HASH => match last {
            0x01 => Some(Hash::Sha256),
            0x02 => Some(Hash::Sha384),
            0x03 => Some(Hash::Sha512),
            0x04 => Some(Hash::Sha224),
            0x05 => Some(Hash::Sha512_224),
            0x06 => Some(Hash::Sha512_256),
            _ => None,
        },
        _ => None,
    }
}

/// The signature algorithm of an X.509 certificate, its OID and its
/// parameters (DER, empty when absent):
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, params }, .. }`.
fn signature_algorithm(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = der_element(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = der_element(body)?; // tbsCertificate
    let (tag, alg, _) = der_element(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, params) = der_element(alg)?;
    (tag == 0x06).then_some((oid, params))
}

/// One DER element: (tag, contents, what follows).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b)),
            rest,
        )
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// sslmode=require: encryption without authentication of the server (as
/// libpq). Handshake signatures are still verified.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// sslmode=verify-ca: the chain must lead to a trusted root; the name in
/// the certificate is not compared with the host.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_walker_is_total() {
        assert!(signature_algorithm(&[]).is_none());
        assert!(signature_algorithm(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(signature_algorithm(&[0x30, 0x03, 0x30, 0x01]).is_none());
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = server_end_point(&junk);
        }
    }

    #[test]
    fn ecdsa_sha256_certificate_hashes_with_sha256() {
        // SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { OID ecdsa-with-SHA256 }, BIT STRING }
        let cert = [
            0x30, 0x10, 0x30, 0x00, 0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04,
            0x03, 0x02, 0x03, 0x02, 0x00, 0x00,
        ];
        assert_eq!(server_end_point(&cert), Some(Sha256::digest(cert).to_vec()));
        let mut sha384 = cert;
        sha384[15] = 0x03;
        assert_eq!(server_end_point(&sha384).map(|h| h.len()), Some(48));
    }

    /// A certificate of `alg` (the contents of its AlgorithmIdentifier):
    /// SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { alg }, BIT STRING }.
    fn cert_with(alg: &[u8]) -> Vec<u8> {
        let mut cert = vec![0x30, 0x00, 0x30, 0x00, 0x30, alg.len() as u8];
        cert.extend_from_slice(alg);
        cert.extend_from_slice(&[0x03, 0x02, 0x00, 0x00]);
        cert[1] = (cert.len() - 2) as u8;
        cert
    }

    const PSS_OID: &[u8] = &[
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A,
    ];

    /// RSASSA-PSS parameters naming `hash` (the last byte of a NIST hash
    /// OID), then the mask generation function, as OpenSSL writes them.
    fn pss_params(hash: u8) -> Vec<u8> {
        let hash_alg = [
            0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, hash, 0x05,
            0x00,
        ];
        let mut body = vec![0xA0, hash_alg.len() as u8];
        body.extend_from_slice(&hash_alg);
        body.extend_from_slice(&[0xA2, 0x03, 0x02, 0x01, 0x20]); // saltLength 32
        let mut out = vec![0x30, body.len() as u8];
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn rsa_pss_hashes_with_the_hash_of_its_parameters() {
        for (hash, len) in [(0x01, 32), (0x02, 48), (0x03, 64), (0x04, 28)] {
            let cert = cert_with(&[PSS_OID, &pss_params(hash)].concat());
            assert_eq!(
                server_end_point(&cert).map(|h| h.len()),
                Some(len),
                "{hash}"
            );
        }
        let sha384 = cert_with(&[PSS_OID, &pss_params(0x02)].concat());
        assert_eq!(
            server_end_point(&sha384),
            Some(Sha384::digest(&sha384).to_vec())
        );
        // The default hash is SHA-1, which RFC 5929 replaces by SHA-256:
        // no parameters, empty parameters, or parameters without a hash.
        for params in [
            &[][..],
            &[0x30, 0x00],
            &[0x30, 0x05, 0xA2, 0x03, 0x02, 0x01, 0x14],
        ] {
            let cert = cert_with(&[PSS_OID, params].concat());
            assert_eq!(
                server_end_point(&cert),
                Some(Sha256::digest(&cert).to_vec()),
                "{params:?}"
            );
        }
        // A hash it does not know (SHA3-256): no value rather than a wrong one.
        let sha3 = cert_with(&[PSS_OID, &pss_params(0x08)].concat());
        assert_eq!(server_end_point(&sha3), None);
        // Ed25519 (1.3.101.112) names no hash.
        let ed25519 = cert_with(&[0x06, 0x03, 0x2B, 0x65, 0x70]);
        assert_eq!(server_end_point(&ed25519), None);
    }

    #[test]
    fn verify_modes_need_roots() {
        assert!(matches!(
            client_config(Verify::Full, None, None, false),
            Err(TlsError::Config(_))
        ));
        assert!(client_config(Verify::Nothing, None, None, true).is_ok());
        let missing = Path::new("/nonexistent/root.crt");
        match client_config(Verify::Chain, Some(Roots::File(missing)), None, false) {
            Err(TlsError::Config(why)) => assert!(why.contains("/nonexistent/root.crt"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
