//! Errors as users read them: each layer's `Display` says its own part once
//! and `source()` chains to the rest, so both `{}` and an anyhow-style report
//! of the whole chain read cleanly; and the SQLSTATE constants and
//! predicates match what the server sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pgwire_conn::{Error, SqlState, SslRootCert, TlsError};
use pgwire_integration_tests::{
    connect_as, options, report, runtime_only_tests, unique_name, Role, Runtime, Transport,
};

async fn unique_violation_says_the_message_once<R: Runtime>() {
    let conn = connect_as::<R>(Role::Trust, Transport::Tcp).await;
    let table = unique_name("uv");
    conn.execute(
        &format!("create temp table {table} (id int primary key)"),
        (),
    )
    .await
    .unwrap();
    let insert = format!("insert into {table} values (1)");
    conn.execute(&insert, ()).await.unwrap();
    let err = conn.execute(&insert, ()).await.unwrap_err();
    let expected = format!(
        "ERROR 23505: duplicate key value violates unique constraint \"{table}_pkey\" \
         (detail: Key (id)=(1) already exists.)"
    );
    assert_eq!(err.to_string(), expected);
    assert_eq!(report(&err), expected);
    let db = err.as_database().unwrap();
    assert_eq!(db.to_string(), expected);
    assert_eq!(report(db), expected);
}

async fn column_decode_error_names_the_column_once<R: Runtime>() {
    let conn = connect_as::<R>(Role::Trust, Transport::Tcp).await;
    let row = conn
        .fetch_one("select 7::int4 as seven, null::int4 as nothing", ())
        .await
        .unwrap()
        .unwrap();
    let err: Error = row.try_get::<String>("seven").unwrap_err().into();
    assert_eq!(err.to_string(), "cannot decode column 0 (\"seven\")");
    assert_eq!(
        report(&err),
        "cannot decode column 0 (\"seven\"): cannot convert between PostgreSQL type int4 \
         and Rust type alloc::string::String"
    );
    let err = row.try_get::<i32>("nothing").unwrap_err();
    assert_eq!(err.to_string(), "cannot decode column 1 (\"nothing\")");
    assert_eq!(
        report(&err),
        "cannot decode column 1 (\"nothing\"): unexpected NULL (use an Option to accept NULL)"
    );
    // A parameter that does not fit its type: the same shape.
    let stmt = conn
        .create_prepared_statement(&unique_name("ps"), "select $1::int2")
        .await
        .unwrap();
    let err = conn.fetch(&stmt, (100_000i32,)).await.unwrap_err();
    assert!(matches!(err, Error::Encode { index: 0, .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot encode parameter $1");
    assert_eq!(
        report(&err),
        "cannot encode parameter $1: value out of range converting between PostgreSQL \
         type int2 and Rust type i32"
    );
}

async fn connect_error_names_the_address_once<R: Runtime>() {
    // Bind and drop a listener to find a port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let opts = pgwire_conn::ConnectOptions::new("127.0.0.1", "x").port(free);
    let err = R::open(&opts).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("could not connect to 127.0.0.1:{free}")
    );
    assert_eq!(
        report(&err),
        format!("could not connect to 127.0.0.1:{free}: Connection refused (os error 111)")
    );
}

async fn tls_error_says_the_handshake_failed_once<R: Runtime>() {
    // A bundle of public CAs, none of which signed the cluster's certificate.
    let other_ca = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    if !other_ca.exists() {
        return;
    }
    let opts = options(Role::Scram, Transport::Tls).ssl_root_cert(SslRootCert::File(other_ca));
    let err = R::open(&opts).await.unwrap_err();
    assert!(matches!(err, Error::Tls(TlsError::Handshake(_))), "{err:?}");
    assert_eq!(err.to_string(), "TLS handshake failed");
    assert_eq!(
        report(&err),
        "TLS handshake failed: invalid peer certificate: UnknownIssuer"
    );
}

/// Each predicate against the condition PL/pgSQL raises by that name, and
/// against every other condition of the list.
async fn predicates_match_the_conditions_the_server_raises<R: Runtime>() {
    type Predicate = fn(&Error) -> bool;
    let cases: [(&str, SqlState, Predicate); 8] = [
        (
            "unique_violation",
            SqlState::UNIQUE_VIOLATION,
            Error::is_unique_violation,
        ),
        (
            "foreign_key_violation",
            SqlState::FOREIGN_KEY_VIOLATION,
            Error::is_foreign_key_violation,
        ),
        (
            "not_null_violation",
            SqlState::NOT_NULL_VIOLATION,
            Error::is_not_null_violation,
        ),
        (
            "check_violation",
            SqlState::CHECK_VIOLATION,
            Error::is_check_violation,
        ),
        (
            "exclusion_violation",
            SqlState::EXCLUSION_VIOLATION,
            Error::is_exclusion_violation,
        ),
        (
            "serialization_failure",
            SqlState::SERIALIZATION_FAILURE,
            Error::is_serialization_failure,
        ),
        (
            "deadlock_detected",
            SqlState::DEADLOCK_DETECTED,
            Error::is_deadlock_detected,
        ),
        (
            "query_canceled",
            SqlState::QUERY_CANCELED,
            Error::is_query_canceled,
        ),
    ];
    let conn = connect_as::<R>(Role::Trust, Transport::Tcp).await;
    for (name, state, _) in cases {
        let sql = format!("do $$ begin raise exception 'raised' using errcode = '{name}'; end $$");
        let err = conn.execute(&sql, ()).await.unwrap_err();
        assert_eq!(err.code(), Some(state), "{name}: {err}");
        assert_eq!(state.condition_name(), Some(name));
        for (other, _, predicate) in cases {
            assert_eq!(predicate(&err), other == name, "{other}() of {name}");
        }
        let integrity = state.class() == SqlState::INTEGRITY_CONSTRAINT_VIOLATION;
        assert_eq!(err.is_integrity_constraint_violation(), integrity, "{name}");
        let rollback = state.class() == SqlState::TRANSACTION_ROLLBACK;
        assert_eq!(err.is_transaction_rollback(), rollback, "{name}");
        assert!(err.is_recoverable());
    }
    // A real one, from a constraint rather than RAISE.
    let table = unique_name("fk");
    conn.execute(
        &format!("create temp table {table} (id int primary key, up int references {table})"),
        (),
    )
    .await
    .unwrap();
    let err = conn
        .execute(&format!("insert into {table} values (1, 2)"), ())
        .await
        .unwrap_err();
    assert!(err.is_foreign_key_violation(), "{err}");
    assert!(err.as_database().unwrap().is_foreign_key_violation());
    assert!(err.is_integrity_constraint_violation());
    assert!(!err.is_unique_violation());
    // Not a database error: no predicate holds.
    let err = Error::Closed;
    assert!(cases.iter().all(|(_, _, predicate)| !predicate(&err)));
    assert!(!err.is_integrity_constraint_violation());
}

runtime_only_tests!(
    unique_violation_says_the_message_once,
    column_decode_error_names_the_column_once,
    connect_error_names_the_address_once,
    tls_error_says_the_handshake_failed_once,
    predicates_match_the_conditions_the_server_raises,
);
