//! TLS material for the test cluster, generated with rcgen (no `openssl` CLI).
//!
//! A fresh CA ("pgwire test CA") signs a server certificate valid for
//! `localhost`, `127.0.0.1` and `::1` (so clients can use `verify-full`), and
//! a client certificate whose CN is the certificate-authenticated role. The
//! server gets `ca.crt` as `ssl_ca_file` so it can verify that client.
//!
//! Ownership matters: PostgreSQL refuses a server key that others can read,
//! so `server.key` is 0600 and owned by the server user; libpq likewise
//! wants the client key 0600 and owned by whoever runs the tests (us).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::error::{Context, Result};
use crate::privilege::RunAs;
use crate::roles;

/// Names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// CN of the CA certificate.
const CA_NAME: &str = "pgwire test CA";

/// The files in `certs/`.
#[derive(Debug, Clone)]
pub struct CertPaths {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl CertPaths {
    /// The file names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        }
    }
}

/// Generate all certificates and keys into `dir` (which must exist).
pub fn generate(dir: &Path, server_user: &RunAs) -> Result<CertPaths> {
    let paths = CertPaths::in_dir(dir);

    let ca_key = KeyPair::generate()?;
    let mut ca = base_params(CA_NAME, Vec::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;

    let server_names: Vec<String> = SERVER_NAMES.iter().map(|s| s.to_string()).collect();
    let server = leaf(
        "localhost",
        server_names,
        ExtendedKeyUsagePurpose::ServerAuth,
        &ca_cert,
        &ca_key,
    )?;
    let client_cn = roles::cert_role().map_or("pgwire_cert", |r| r.name);
    let client = leaf(
        client_cn,
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
        &ca_cert,
        &ca_key,
    )?;

    write(&paths.ca_cert, &ca_cert.pem(), 0o644)?;
    write(&paths.server_cert, &server.0.pem(), 0o644)?;
    write(&paths.server_key, &server.1.serialize_pem(), 0o600)?;
    server_user.chown(&paths.server_key)?;
    write(&paths.client_cert, &client.0.pem(), 0o644)?;
    write(&paths.client_key, &client.1.serialize_pem(), 0o600)?;
    Ok(paths)
}

/// Parameters shared by all three certificates. Fixed, generous validity:
/// the certificates live only as long as one cluster.
fn base_params(common_name: &str, names: Vec<String>) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2099, 12, 31);
    Ok(params)
}

/// A certificate for `usage` signed by the CA, with its new key.
fn leaf(
    common_name: &str,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    ca_cert: &Certificate,
    ca_key: &KeyPair,
) -> Result<(Certificate, KeyPair)> {
    let key = KeyPair::generate()?;
    let mut params = base_params(common_name, names)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, ca_cert, ca_key)?;
    Ok((cert, key))
}

/// Create `path` with `mode` from the start (no window where a key is
/// world-readable) and write `contents`. The mode is set again explicitly
/// because `open` applies the umask, and under `umask 077` the server user
/// could not read the (root-owned) certificates.
fn write(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
