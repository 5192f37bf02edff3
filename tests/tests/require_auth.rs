//! libpq 16's `require_auth`: every value libpq accepts (each non-empty set
//! of methods, plain or negated) against every role of the test cluster.
//! An allowed method connects; any other is refused before anything of a
//! password (or of a SCRAM exchange) leaves the client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{AuthError, AuthMethod, Connection, Error, RequireAuth};
use pgwire_integration_tests::streams::Recording;
use pgwire_integration_tests::{options, port, runtime_only_tests, Role, Runtime, Transport};

/// Every method libpq 16 names in `require_auth`.
const METHODS: [&str; 6] = ["password", "md5", "gss", "sspi", "scram-sha-256", "none"];

/// Every value libpq 16 accepts, up to order: each non-empty set of methods,
/// plain (`md5,password`) and negated (`!md5,!password`).
fn every_value() -> Vec<String> {
    let mut values = Vec::new();
    for set in 1u32..(1 << METHODS.len()) {
        let chosen: Vec<&str> = METHODS
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, m)| *m)
            .collect();
        values.push(chosen.join(","));
        let negated: Vec<String> = chosen.iter().map(|m| format!("!{m}")).collect();
        values.push(negated.join(","));
    }
    values
}

/// What the server asks `role` for, in `require_auth`'s terms (a client
/// certificate is no authentication exchange: it is "none", as in libpq).
fn method_of(role: Role) -> &'static str {
    match role {
        Role::Trust | Role::Cert => "none",
        Role::Password => "password",
        Role::Md5 => "md5",
        Role::Scram | Role::Ssl => "scram-sha-256",
    }
}

/// libpq's rule, written out independently of the library's: a plain list
/// allows what it names, a negated list allows what it does not name.
fn libpq_allows(value: &str, method: &str) -> bool {
    let named = value
        .split(',')
        .any(|m| m.trim_start_matches('!') == method);
    if value.starts_with('!') {
        !named
    } else {
        named
    }
}

async fn every_require_auth_value_against_every_role<R: Runtime>() {
    let values = every_value();
    assert_eq!(values.len(), 126);
    let (mut connected, mut refused) = (0, 0);
    for value in &values {
        let require = RequireAuth::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        for role in [Role::Trust, Role::Password, Role::Md5, Role::Scram] {
            let method = method_of(role);
            let allowed = libpq_allows(value, method);
            assert_eq!(
                require.allows(method.parse::<AuthMethod>().unwrap()),
                allowed,
                "{value}: {method}"
            );
            let (stream, written) = Recording::new(
                R::tcp(&pgwire_integration_tests::host(), port())
                    .await
                    .unwrap(),
            );
            let opts = options(role, Transport::Tcp).require_auth(require.clone());
            let outcome = Connection::connect(stream, &opts).await;
            let types = written.take_types(true);
            match (outcome, allowed) {
                (Ok(conn), true) => {
                    let row = conn
                        .fetch_one("select current_user", ())
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(row.text(0).unwrap(), Some(role.user().as_str()));
                    // The password roles did authenticate with their method.
                    assert_eq!(types.contains('p'), method != "none", "{value}: {role:?}");
                    conn.close().await.unwrap();
                    connected += 1;
                }
                (Err(Error::Auth(AuthError::MethodNotAllowed(m))), false) => {
                    assert_eq!(m, method, "{value}: {role:?}");
                    assert!(
                        !types.contains('p'),
                        "{value}: {role:?} sent {types:?} though refused"
                    );
                    refused += 1;
                }
                (Ok(_), false) => panic!("require_auth={value} let {role:?} ({method}) in"),
                (Err(e), _) => panic!("require_auth={value}, {role:?} ({method}): {e}"),
            }
        }
        // The client certificate role, over TLS: "none" as far as the
        // authentication exchange goes.
        let opts = options(Role::Cert, Transport::Tls)
            .ssl_cert(std::env::var("PGWIRE_TEST_CLIENT_CERT").unwrap())
            .ssl_key(std::env::var("PGWIRE_TEST_CLIENT_KEY").unwrap())
            .require_auth(require.clone());
        match (R::open(&opts).await, libpq_allows(value, "none")) {
            (Ok(conn), true) => {
                let row = conn
                    .fetch_one("select current_user", ())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.text(0).unwrap(), Some(Role::Cert.user().as_str()));
                conn.close().await.unwrap();
                connected += 1;
            }
            (Err(Error::Auth(AuthError::MethodNotAllowed("none"))), false) => refused += 1,
            (Ok(_), false) => panic!("require_auth={value} let the certificate role in"),
            (Err(e), _) => panic!("require_auth={value}, certificate role: {e}"),
        }
    }
    // Each method is allowed by half of the values.
    assert_eq!((connected, refused), (315, 315));
}

runtime_only_tests!(every_require_auth_value_against_every_role);
