//! Protocol 3.2 (libpq 18's `min_protocol_version` / `max_protocol_version`)
//! against the real server, whichever version it is: PostgreSQL 18 speaks
//! 3.2 when asked (and sends a 32-byte cancel key, which a cancel must quote
//! whole), older servers negotiate 3.2 down to 3.0, which
//! `min_protocol_version=3.2` refuses; the default asks for 3.0 everywhere.
//! Through the transaction-mode PgBouncer (1.18 here) the default works,
//! and `max_protocol_version=latest` is refused by PgBouncer with an error
//! (it cannot negotiate), which is the typed
//! [`ProtocolVersionError::Refused`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pgwire_conn::{
    ConnectOptions, Connection, Error, PoolOptions, ProtocolVersion, ProtocolVersionError, Query,
    SqlState, TimeoutOutcome,
};
use pgwire_integration_tests::{
    connect, options, pgbouncer_options, runtime_only_tests, runtime_tests, spawn_running_sleep,
    within, PoolMode, Role, Runtime, Transport, Via,
};

/// PostgreSQL 18's `server_version_num` and up speak protocol 3.2.
const FIRST_3_2_SERVER: i32 = 180_000;

async fn server_version_num<S>(conn: &Connection<S>) -> i32
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one("select current_setting('server_version_num')::int4", ())
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// The version `max_protocol_version=latest` should end up with here.
async fn expected_latest<R: Runtime>() -> ProtocolVersion {
    let conn = connect::<R>().await;
    if server_version_num(&conn).await >= FIRST_3_2_SERVER {
        ProtocolVersion::V3_2
    } else {
        ProtocolVersion::V3_0
    }
}

fn key_len<S>(conn: &Connection<S>) -> usize {
    conn.backend_key()
        .expect("the server sent a key")
        .secret_key()
        .len()
}

async fn default_is_3_0<R: Runtime>() {
    let conn = R::open(&options(Role::Trust, R::transport()))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(key_len(&conn), 4);
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

/// Cancels `select pg_sleep(30)` on `conn` and checks that it fails with
/// 57014 within a few seconds, the connection going on afterwards.
async fn cancel_sleep<R: Runtime>(conn: Connection<R::Socket>) {
    let conn = Arc::new(conn);
    let token = conn.cancel_token().expect("opened through an adapter");
    let slow = spawn_running_sleep::<R, _>(&conn).await;
    let started = Instant::now();
    R::cancel(&token).await.unwrap();
    let outcome = within::<R, _>(10, "the cancelled sleep", slow).await;
    assert_eq!(outcome, Err(Some(SqlState::QUERY_CANCELED)));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn latest_is_negotiated_and_cancel_works<R: Runtime>() {
    let expected = expected_latest::<R>().await;
    let opts = options(Role::Trust, R::transport()).max_protocol_version(ProtocolVersion::LATEST);
    let conn = R::open(&opts).await.unwrap();
    assert_eq!(conn.protocol_version(), expected);
    // PostgreSQL 18 sends 32 bytes under 3.2; 3.0 allows only 4.
    let expected_len = if expected == ProtocolVersion::V3_2 {
        32
    } else {
        4
    };
    assert_eq!(key_len(&conn), expected_len);
    cancel_sleep::<R>(conn).await;
}

async fn min_3_2_needs_a_3_2_server<R: Runtime>() {
    let expected = expected_latest::<R>().await;
    // The maximum follows the minimum up to the latest, as in libpq 18.
    let opts = options(Role::Trust, R::transport()).min_protocol_version(ProtocolVersion::V3_2);
    match (R::open(&opts).await, expected) {
        (Ok(conn), ProtocolVersion::V3_2) => {
            assert_eq!(conn.protocol_version(), ProtocolVersion::V3_2);
            assert_eq!(key_len(&conn), 32);
        }
        (
            Err(Error::ProtocolVersion(ProtocolVersionError::BelowMinimum { server, min })),
            ProtocolVersion::V3_0,
        ) => {
            assert_eq!(server, ProtocolVersion::V3_0);
            assert_eq!(min, ProtocolVersion::V3_2);
        }
        (Ok(conn), _) => panic!("connected at {}", conn.protocol_version()),
        (Err(e), _) => panic!("{e:?}"),
    }
}

async fn options_strings_choose_the_version<R: Runtime>() {
    let expected = expected_latest::<R>().await;
    let base = options(Role::Trust, Transport::Tcp);
    let (host, port) = base.tcp_address().map(|(h, p)| (h.to_owned(), p)).unwrap();
    let url = format!(
        "postgresql://{}@{host}:{port}/{}?sslmode=disable&max_protocol_version=latest",
        base.user(),
        base.get_database().unwrap()
    );
    let conn = R::open(&ConnectOptions::parse(&url).unwrap())
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), expected);
    let conninfo = format!(
        "host={host} port={port} user={} dbname={} sslmode=disable max_protocol_version=3.0",
        base.user(),
        base.get_database().unwrap()
    );
    let conn = R::open(&ConnectOptions::parse(&conninfo).unwrap())
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3_0);
}

/// The runtime hooks' cancel (what a time limit, and the pool at check-in,
/// send) quotes the negotiated key whole too, on a pooled connection.
async fn pooled_time_limits_cancel_with_the_negotiated_key<R: Runtime>() {
    let expected = expected_latest::<R>().await;
    let opts = options(Role::Trust, R::transport()).max_protocol_version(ProtocolVersion::LATEST);
    let pool = R::open_pool(&opts, PoolOptions::new().max_size(1))
        .await
        .unwrap();
    let conn = pool.checkout().await.unwrap();
    assert_eq!(conn.protocol_version(), expected);
    let slow = Query::new("select pg_sleep(30)").timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = within::<R, _>(10, "the timed-out sleep", conn.execute(slow, ()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::QueryTimeout {
                outcome: TimeoutOutcome::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    drop(conn);
    pool.close().await;
}

runtime_tests!(
    default_is_3_0,
    pooled_time_limits_cancel_with_the_negotiated_key,
    latest_is_negotiated_and_cancel_works,
    min_3_2_needs_a_3_2_server,
);

async fn pgbouncer_default_is_3_0<R: Runtime>() {
    for via in [Via::Tcp, Via::Unix] {
        let conn = R::open(&pgbouncer_options(PoolMode::Transaction, via))
            .await
            .unwrap();
        assert_eq!(conn.protocol_version(), ProtocolVersion::V3_0);
        assert_eq!(key_len(&conn), 4);
        assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    }
}

/// PgBouncer 1.18 cannot negotiate: it answers a 3.2 StartupMessage with
/// `FATAL 08P01 bad packet header: '...00030002'` instead of
/// NegotiateProtocolVersion. That is the typed refusal, with PgBouncer's
/// error as its source; nothing is retried (as libpq 18), and 3.0 (the
/// default) works on the same listener.
async fn pgbouncer_latest_is_a_typed_refusal<R: Runtime>() {
    for via in [Via::Tcp, Via::Unix] {
        let opts = pgbouncer_options(PoolMode::Transaction, via)
            .max_protocol_version(ProtocolVersion::LATEST);
        let err = match R::open(&opts).await {
            Ok(conn) => panic!("connected at {} over {via:?}", conn.protocol_version()),
            Err(e) => e,
        };
        match &err {
            Error::ProtocolVersion(ProtocolVersionError::Refused { requested, error }) => {
                assert_eq!(*requested, ProtocolVersion::V3_2);
                assert!(
                    error.fields().message.starts_with("bad packet header"),
                    "{error:?}"
                );
            }
            other => panic!("over {via:?}: {other:?}"),
        }
        assert_eq!(err.code(), Some(SqlState::PROTOCOL_VIOLATION));
        assert!(
            err.to_string().contains("max_protocol_version=3.0"),
            "{err}"
        );
        let conn = R::open(&opts.max_protocol_version(ProtocolVersion::V3_0))
            .await
            .unwrap();
        assert_eq!(conn.protocol_version(), ProtocolVersion::V3_0);
    }
}

mod once {
    use super::*;
    runtime_only_tests!(
        options_strings_choose_the_version,
        pgbouncer_default_is_3_0,
        pgbouncer_latest_is_a_typed_refusal,
    );
}
