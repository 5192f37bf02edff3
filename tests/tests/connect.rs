//! Connecting: every authentication method over TCP and Unix socket, and a
//! typed error naming the cause for each way connecting can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{AuthError, ConnectOptions, Error, SqlState};
use pgwire_integration_tests::{options, port, runtime_only_tests, Role, Runtime, Transport};

async fn every_auth_method_over_tcp_and_unix<R: Runtime>() {
    for transport in Transport::ALL {
        for role in Role::PLAIN {
            let conn = match R::open(&options(role, transport)).await {
                Ok(c) => c,
                Err(e) => panic!("{role:?} over {transport:?}: {e}"),
            };
            let row = conn
                .fetch_one("select current_user", ())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.text(0).unwrap(), Some(role.user().as_str()));
            assert!(conn.ready());
            assert!(!conn.dead());
            assert!(conn.backend_key().is_some());
            conn.close().await.unwrap();
            assert!(!conn.ready());
            assert!(matches!(
                conn.execute("select 1", ()).await,
                Err(Error::Closed)
            ));
        }
    }
}

async fn wrong_password_is_28p01<R: Runtime>() {
    for role in [Role::Password, Role::Md5, Role::Scram] {
        for transport in Transport::ALL {
            let opts = options(role, transport).password("not-the-password");
            let err = R::open(&opts).await.unwrap_err();
            assert_eq!(
                err.code(),
                Some(SqlState::INVALID_PASSWORD),
                "{role:?}: {err}"
            );
            assert!(!err.is_recoverable());
            assert!(
                err.to_string().contains("password authentication failed"),
                "{err}"
            );
        }
    }
}

async fn missing_password_is_named<R: Runtime>() {
    let expected = [
        (Role::Password, "cleartext"),
        (Role::Md5, "md5"),
        (Role::Scram, "SCRAM-SHA-256"),
    ];
    for (role, method) in expected {
        let opts = ConnectOptions::new("127.0.0.1", role.user())
            .port(port())
            .database(pgwire_integration_tests::database());
        match R::open(&opts).await {
            Err(Error::Auth(AuthError::PasswordRequired { method: m })) => assert_eq!(m, method),
            other => panic!("{role:?}: {other:?}"),
        }
    }
}

async fn unknown_role_is_28000<R: Runtime>() {
    let opts = ConnectOptions::new("127.0.0.1", "no_such_role_here")
        .port(port())
        .database(pgwire_integration_tests::database());
    let err = R::open(&opts).await.unwrap_err();
    // pg_hba has no line for an unknown role, or the role check fails: both
    // are invalid_authorization_specification.
    assert_eq!(
        err.code(),
        Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
        "{err}"
    );
}

async fn unknown_database_is_3d000<R: Runtime>() {
    let opts = options(Role::Trust, Transport::Tcp).database("no_such_database_here");
    let err = R::open(&opts).await.unwrap_err();
    assert_eq!(err.code(), Some(SqlState::INVALID_CATALOG_NAME), "{err}");
    assert!(err.to_string().contains("no_such_database_here"), "{err}");
}

async fn ssl_only_role_is_refused_without_tls<R: Runtime>() {
    let err = R::open(&options(Role::Ssl, Transport::Tcp))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
        "{err}"
    );
}

async fn nothing_listening_names_the_address<R: Runtime>() {
    // Bind and drop a listener to find a port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let opts = ConnectOptions::new("127.0.0.1", "x").port(free);
    match R::open(&opts).await {
        Err(Error::Connect { address, source }) => {
            assert_eq!(address, format!("127.0.0.1:{free}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    let opts = ConnectOptions::new("/nonexistent/socket/dir", "x");
    match R::open(&opts).await {
        Err(e @ Error::Connect { .. }) => {
            assert!(e.to_string().contains("/nonexistent/socket/dir"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

async fn unix_socket_file_path_works<R: Runtime>() {
    let dir = std::env::var("PGWIRE_TEST_SOCKET_DIR").unwrap();
    let file = format!("{dir}/.s.PGSQL.{}", port());
    let opts = ConnectOptions::new(&file, Role::Trust.user())
        .port(1) // ignored: the path names the socket file itself
        .database(pgwire_integration_tests::database());
    let conn = R::open(&opts).await.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn startup_parameters_are_reported<R: Runtime>() {
    let conn = pgwire_integration_tests::connect::<R>().await;
    let params = conn.connection_parameters();
    assert_eq!(
        params.get("client_encoding").map(String::as_str),
        Some("UTF8")
    );
    assert_eq!(
        params.get("application_name").map(String::as_str),
        Some("pgwire-tests")
    );
    assert!(params.contains_key("server_version"));
    assert!(conn.server_timezone().is_some());
}

/// The connection says how it authenticated and whether it is encrypted.
async fn the_method_and_the_encryption_are_reported<R: Runtime>() {
    use pgwire_conn::AuthMechanism;
    let cases = [
        (Role::Trust, Transport::Tcp, AuthMechanism::None, false),
        (
            Role::Password,
            Transport::Tcp,
            AuthMechanism::Password,
            false,
        ),
        (Role::Md5, Transport::Unix, AuthMechanism::Md5, false),
        (
            Role::Scram,
            Transport::Tcp,
            AuthMechanism::ScramSha256,
            false,
        ),
        // channel_binding=prefer (the default) binds over TLS.
        (
            Role::Ssl,
            Transport::Tls,
            AuthMechanism::ScramSha256Plus,
            true,
        ),
    ];
    for (role, transport, method, encrypted) in cases {
        let conn = R::open(&options(role, transport)).await.unwrap();
        assert_eq!(
            conn.authentication(),
            Some(method),
            "{role:?} over {transport:?}"
        );
        assert_eq!(
            conn.is_encrypted(),
            encrypted,
            "{role:?} over {transport:?}"
        );
        conn.close().await.unwrap();
    }
}

runtime_only_tests!(
    the_method_and_the_encryption_are_reported,
    every_auth_method_over_tcp_and_unix,
    wrong_password_is_28p01,
    missing_password_is_named,
    unknown_role_is_28000,
    unknown_database_is_3d000,
    ssl_only_role_is_refused_without_tls,
    nothing_listening_names_the_address,
    unix_socket_file_path_works,
    startup_parameters_are_reported,
);
