//! The default root certificate, `~/.postgresql/root.crt`: as in libpq, when
//! it exists every `sslmode` that uses TLS checks the server's chain against
//! it (`require` acts like `verify-ca`), and `PGSSLROOTCERT` takes its place.
//!
//! A test binary of its own with a single test: it points `HOME` at a
//! directory of the cluster's (never the real one) and changes `PGSSL*`
//! variables, which every test of a binary shares.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use pgwire_conn::{ConnectOptions, Error, SslMode, TlsError};
use pgwire_integration_tests::{
    ca_cert, database, host, port, run, unrelated_ca, AsyncStd, Role, Runtime, Smol, Tokio,
};

/// Options for `role` as libpq would build them from a connection string
/// (so with the defaults of the environment), with `sslmode`.
fn parsed(role: Role, mode: SslMode) -> ConnectOptions {
    let conninfo = format!(
        "host={} port={} dbname={} user={} sslmode={}",
        host(),
        port(),
        database(),
        role.user(),
        mode.as_str()
    );
    let options = ConnectOptions::parse(&conninfo).unwrap();
    match role.password() {
        Some(pw) => options.password(pw),
        None => options,
    }
}

async fn uses_tls<R: Runtime>(options: &ConnectOptions) -> bool {
    let conn = match R::open(options).await {
        Ok(conn) => conn,
        Err(e) => panic!("{options:?}: {e}"),
    };
    let row = conn
        .fetch_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    let tls = row.try_get::<bool>(0).unwrap();
    conn.close().await.unwrap();
    tls
}

#[track_caller]
fn assert_unknown_issuer(err: &Error) {
    match err {
        Error::Tls(TlsError::Handshake(e)) => {
            assert!(e.to_string().to_lowercase().contains("issuer"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

/// With an unrelated CA as the default root certificate.
async fn unrelated_default_root<R: Runtime>() {
    // require verifies: the cluster's certificate is not vouched for.
    match R::open(&parsed(Role::Ssl, SslMode::Require)).await {
        Err(err) => assert_unknown_issuer(&err),
        Ok(_) => panic!("require must check the chain against ~/.postgresql/root.crt"),
    }
    // prefer verifies too, then goes on without TLS; a hostssl-only role
    // has nowhere to go and keeps both errors.
    assert!(!uses_tls::<R>(&parsed(Role::Scram, SslMode::Prefer)).await);
    match R::open(&parsed(Role::Ssl, SslMode::Prefer)).await {
        Err(Error::BothAttempts { first, .. }) => assert_unknown_issuer(&first),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("prefer connected over TLS past an unvouched certificate"),
    }
    // disable never reads it.
    assert!(!uses_tls::<R>(&parsed(Role::Scram, SslMode::Disable)).await);
}

/// With the cluster's CA as the root certificate, by default or named.
async fn cluster_root<R: Runtime>() {
    assert!(uses_tls::<R>(&parsed(Role::Ssl, SslMode::Require)).await);
    assert!(uses_tls::<R>(&parsed(Role::Scram, SslMode::Prefer)).await);
}

fn set_root(home: &Path, from: &Path) {
    std::fs::copy(from, home.join(".postgresql").join("root.crt")).unwrap();
}

#[test]
fn default_root_certificate_is_checked_in_every_tls_mode() {
    let cluster_dir = PathBuf::from(std::env::var("PGWIRE_TEST_CLUSTER_DIR").unwrap());
    let home = cluster_dir.join(format!("home-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".postgresql")).unwrap();
    // Before any runtime starts a thread: the environment is this
    // process's alone (one test in this binary).
    std::env::set_var("HOME", &home);
    for name in [
        "PGSSLROOTCERT",
        "PGSSLMODE",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLNEGOTIATION",
        "PGCHANNELBINDING",
        "PGREQUIREAUTH",
        "PGPASSFILE",
    ] {
        std::env::remove_var(name);
    }

    set_root(&home, &unrelated_ca());
    run::<Tokio, _>(unrelated_default_root::<Tokio>());
    run::<Smol, _>(unrelated_default_root::<Smol>());
    run::<AsyncStd, _>(unrelated_default_root::<AsyncStd>());

    // PGSSLROOTCERT (like sslrootcert) replaces the default file.
    std::env::set_var("PGSSLROOTCERT", ca_cert());
    run::<Tokio, _>(cluster_root::<Tokio>());
    std::env::set_var("PGSSLROOTCERT", unrelated_ca());
    std::fs::remove_file(home.join(".postgresql").join("root.crt")).unwrap();
    run::<Smol, _>(async {
        match Smol::open(&parsed(Role::Ssl, SslMode::Require)).await {
            Err(err) => assert_unknown_issuer(&err),
            Ok(_) => panic!("require must check the chain against PGSSLROOTCERT"),
        }
    });
    std::env::remove_var("PGSSLROOTCERT");

    // The cluster's own CA at the default path: verified, and accepted.
    set_root(&home, &ca_cert());
    run::<Tokio, _>(cluster_root::<Tokio>());
    run::<Smol, _>(cluster_root::<Smol>());
    run::<AsyncStd, _>(cluster_root::<AsyncStd>());

    let _ = std::fs::remove_dir_all(&home);
}
