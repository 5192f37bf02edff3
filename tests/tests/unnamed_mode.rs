//! The mode for transaction-mode poolers (`pgbouncer=true`,
//! `statement_cache_capacity=0`): no statement is left on the server, every
//! request is self-contained within one Sync, and results still come in
//! binary where a statement has parameters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::types::Value;
use pgwire_conn::{ConnectOptions, Connection, Format, TargetSessionAttrs};
use pgwire_integration_tests::streams::Recording;
use pgwire_integration_tests::{
    host, options, port, prepared_names, runtime_only_tests, runtime_tests, unique_name, Role,
    Runtime, Transport,
};

/// Typical statements in the mode, with parameters of many types: right
/// values, binary results where a codec exists, raw binary bytes for a
/// type without one, and nothing prepared on the server.
async fn typical_queries_in_the_mode<R: Runtime>() {
    let opts = options(Role::Trust, R::transport())
        .pgbouncer(true)
        .target_session_attrs(TargetSessionAttrs::ReadWrite);
    let conn = R::open(&opts).await.unwrap();
    let t = unique_name("unnamed");
    conn.execute(
        &format!("create temp table {t} (id int4 primary key, name text, score float8, at timestamptz, tags text[], n numeric)"),
        (),
    )
    .await
    .unwrap();
    let insert = format!("insert into {t} values ($1, $2, $3, now(), $4, $5::numeric)");
    for id in 1..=3 {
        let tags = vec![format!("t{id}")];
        let added = conn
            .execute(
                &insert,
                (id, format!("n{id}"), f64::from(id) / 2.0, tags, "1.50"),
            )
            .await
            .unwrap();
        assert_eq!(added, 1);
    }
    let updated = conn
        .execute(
            &format!("update {t} set score = score * $1 where id >= $2"),
            (10.0, 2),
        )
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let rows = conn
        .fetch(
            &format!("select id, name, score, tags, n, at, id > $1 as big from {t} where id >= $1 order by id"),
            (2,),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (row, id) in rows.iter().zip([2, 3]) {
        assert_eq!(row.try_get::<i32>("id").unwrap(), id);
        assert_eq!(row.try_get::<String>("name").unwrap(), format!("n{id}"));
        assert_eq!(row.try_get::<f64>("score").unwrap(), f64::from(id) * 5.0);
        assert_eq!(
            row.try_get::<Vec<String>>("tags").unwrap(),
            [format!("t{id}")]
        );
        assert_eq!(row.try_get::<bool>("big").unwrap(), id > 2);
        assert!(matches!(
            row.try_get::<Value>("at").unwrap(),
            Value::TimestampTz(_)
        ));
        assert_eq!(row.try_get::<Value>("n").unwrap().to_string(), "1.50");
    }
    // Every column came in binary.
    let columns = rows[0].description();
    assert!(columns.fields().iter().all(|f| f.format == Format::Binary));
    // `point` comes in binary too, read typed, and through `Value` as the
    // server's text: never a misread.
    let row = conn
        .fetch_one("select point($1, 2) as p, $1 + 1 as q", (1.5f64,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.description().fields()[0].format, Format::Binary);
    assert_eq!(
        row.try_get::<pgwire_conn::types::Point>("p").unwrap(),
        pgwire_conn::types::Point { x: 1.5, y: 2.0 }
    );
    match row.try_get::<Value>("p").unwrap() {
        Value::Unknown { format, bytes, .. } => {
            assert_eq!(format, Format::Text);
            assert_eq!(bytes, b"(1.5,2)");
        }
        other => panic!("point as {other:?}"),
    }
    assert!(row.try_get::<&str>("p").is_err());
    assert_eq!(row.try_get::<f64>("q").unwrap(), 2.5);
    // Without parameters: unnamed and in binary as well.
    let row = conn
        .fetch_one(
            "select 41 + 1 as answer, point(1, 2) as p, '\\x0102'::bytea as b",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>("answer").unwrap(), 42);
    assert_eq!(row.try_get::<&[u8]>("b").unwrap(), [1, 2]);
    assert_eq!(row.description().fields()[1].format, Format::Binary);
    match row.try_get::<Value>("p").unwrap() {
        Value::Unknown { bytes, .. } => assert_eq!(bytes, b"(1,2)"),
        other => panic!("point as {other:?}"),
    }
    // Several statements: the simple protocol, in text.
    let rows = conn
        .fetch("select 1; select point(1, 2) as p", ())
        .await
        .unwrap();
    match rows[1].try_get::<Value>("p").unwrap() {
        Value::Unknown { format, bytes, .. } => {
            assert_eq!((format, bytes.as_slice()), (Format::Text, &b"(1,2)"[..]));
        }
        other => panic!("point as {other:?}"),
    }
    // Nothing was ever prepared by name, in transactions neither.
    conn.with_transaction(async |tx| {
        tx.fetch_one("select $1::int4", (7,)).await?;
        tx.execute(&format!("delete from {t} where id = $1"), (1,))
            .await
    })
    .await
    .unwrap();
    assert_eq!(prepared_names(&conn, None).await.len(), 0);
    let stats = conn.statement_cache_stats();
    assert_eq!((stats.prepared, stats.hits), (0, 0), "{stats:?}");
}

/// Every request is one write ending in its only Sync: a statement with
/// or without parameters is Parse/Bind/Describe/Execute/Sync (rows in
/// binary either way), text with several statements a simple Query; the
/// option applies from the first statement on (URL spelling).
async fn every_request_is_self_contained<R: Runtime>() {
    let (stream, written) = Recording::new(R::tcp(&host(), port()).await.unwrap());
    let base = options(Role::Trust, Transport::Tcp);
    let url = format!(
        "postgresql://{}@{}:{}/{}?statement-cache-capacity=0&sslmode=disable",
        base.user(),
        host(),
        port(),
        base.get_database().unwrap()
    );
    let opts = ConnectOptions::parse(&url).unwrap();
    assert_eq!(opts.get_statement_cache_capacity(), 0);
    let conn = Connection::connect(stream, &opts).await.unwrap();
    let take = || written.take_types(false);
    take();
    for round in 0..3 {
        let row = conn
            .fetch_one("select $1::int4 + 1", (round,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i32>(0).unwrap(), round + 1);
        assert_eq!(take(), "PBDES", "round {round}");
        let row = conn.fetch_one("select 2::int4", ()).await.unwrap().unwrap();
        assert_eq!(row.description().fields()[0].format, Format::Binary);
        assert_eq!(row.try_get::<i32>(0).unwrap(), 2);
        assert_eq!(take(), "PBDES", "round {round}");
        assert_eq!(conn.execute("select 1; select 2", ()).await.unwrap(), 1);
        assert_eq!(take(), "Q", "round {round}");
    }
}

/// `pgbouncer=true` in a key=value string means the same.
async fn conninfo_spelling<R: Runtime>() {
    let base = options(Role::Trust, Transport::Tcp);
    let conninfo = format!(
        "host={} port={} user={} dbname={} pgbouncer=true",
        host(),
        port(),
        base.user(),
        base.get_database().unwrap()
    );
    let opts = ConnectOptions::parse(&conninfo).unwrap();
    let conn = R::open(&opts).await.unwrap();
    for n in 0..3 {
        let row = conn.fetch_one("select $1::int8 * 2", (n,)).await.unwrap();
        assert_eq!(row.unwrap().try_get::<i64>(0).unwrap(), n * 2);
    }
    assert_eq!(prepared_names(&conn, None).await.len(), 0);
}

/// A long multi-row INSERT run again and again in the mode (each run
/// unnamed, checked before sending): right every time, a wrong count still
/// refused before anything is sent, and the text kept once, bounded.
async fn long_statements_run_again<R: Runtime>() {
    let conn = R::open(&options(Role::Trust, R::transport()).pgbouncer(true))
        .await
        .unwrap();
    let t = unique_name("long_insert");
    conn.execute(&format!("create temp table {t} (a int4, b int4)"), ())
        .await
        .unwrap();
    let rows = 300;
    let values: Vec<String> = (0..rows)
        .map(|r| format!("(${}, ${})", 2 * r + 1, 2 * r + 2))
        .collect();
    let insert = format!("insert into {t} (a, b) values {}", values.join(", "));
    assert!(insert.len() > 4096);
    let numbers: Vec<i32> = (0..2 * rows).collect();
    let params: Vec<&(dyn pgwire_conn::types::ToSql + Sync)> = numbers
        .iter()
        .map(|n| n as &(dyn pgwire_conn::types::ToSql + Sync))
        .collect();
    for round in 1..=3 {
        let added = conn.execute(&insert, params.as_slice()).await.unwrap();
        assert_eq!(added, u64::try_from(rows).unwrap(), "round {round}");
    }
    let fewer = &params[..params.len() - 1];
    match conn.execute(&insert, fewer).await {
        Err(pgwire_conn::Error::Params(pgwire_conn::ParamError::PositionalCount {
            expected,
            given,
        })) => assert_eq!((expected, given), (params.len(), params.len() - 1)),
        other => panic!("{other:?}"),
    }
    let row = conn
        .fetch_one(&format!("select count(*)::int4, sum(b)::int4 from {t}"), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 3 * rows);
    let sum_b: i32 = (0..rows).map(|r| 2 * r + 1).sum();
    assert_eq!(row.try_get::<i32>(1).unwrap(), 3 * sum_b);
    let kept = conn.memory_usage().await.sql_texts;
    assert!(kept >= insert.len() && kept <= 1024 * 1024, "{kept}");
}

runtime_tests!(typical_queries_in_the_mode, long_statements_run_again);

/// Tests that choose their own transport.
mod own_transport {
    use super::*;
    runtime_only_tests!(every_request_is_self_contained, conninfo_spelling);
}
