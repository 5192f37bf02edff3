//! A connection that finds itself behind a transaction-mode pooler (its
//! cached statements missing from the server session, or its names taken
//! there) turns its statement cache off and answers on, unless told not
//! to. The pooler is simulated with SQL: `DEALLOCATE` of the connection's
//! own statements is what PgBouncer's `DISCARD ALL`, or landing on another
//! server session, looks like to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_integration_tests::{
    connect, int4_for, options, prepared_names, runtime_tests, unique_name, Role, Runtime,
};

/// Cached statements vanish from the session (26000 at the next Bind):
/// the connection switches to unnamed statements, answers that query and
/// every later one, and leaves nothing prepared on the server.
async fn lost_statements_switch_to_unnamed<R: Runtime>() {
    let conn = connect::<R>().await;
    let tag = unique_name("detect");
    let plus = format!("select $1::int4 + 1 as {tag}");
    let times = format!("select $1::int4 * 2 as {tag}");
    for n in 0..2 {
        assert_eq!(int4_for(&conn, &plus, n).await, n + 1);
        assert_eq!(int4_for(&conn, &times, n).await, n * 2);
    }
    let names = prepared_names(&conn, None).await;
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!conn.pooler_detected());
    let deallocate: Vec<String> = names.iter().map(|n| format!("deallocate {n}")).collect();
    conn.simple_query(&deallocate.join("; ")).await.unwrap();
    assert_eq!(int4_for(&conn, &plus, 41).await, 42);
    assert!(conn.pooler_detected());
    for n in 0..3 {
        assert_eq!(int4_for(&conn, &times, n).await, n * 2);
        assert_eq!(int4_for(&conn, &plus, n).await, n + 1);
    }
    let before = conn.statement_cache_stats();
    let t = format!("{tag}_t");
    conn.execute(&format!("create temp table {t} (a int)"), ())
        .await
        .unwrap();
    for i in 0..3 {
        let sql = format!("insert into {t} values ($1)");
        assert_eq!(conn.execute(&sql, (i,)).await.unwrap(), 1);
    }
    assert_eq!(prepared_names(&conn, None).await, Vec::<String>::new());
    let after = conn.statement_cache_stats();
    assert_eq!(after.prepared, before.prepared, "{after:?}");
}

/// One of the connection's names already taken on the session (42P05)
/// is a sign too; the query answers.
async fn a_taken_name_switches_to_unnamed<R: Runtime>() {
    let conn = connect::<R>().await;
    let tag = unique_name("taken_detect");
    let plus = format!("select $1::int4 + 1 as {tag}");
    assert_eq!(int4_for(&conn, &plus, 1).await, 2);
    let name = prepared_names(&conn, None).await.pop().unwrap();
    let (prefix, number) = name.rsplit_once('_').unwrap();
    let next: u64 = number.parse::<u64>().unwrap() + 1;
    conn.simple_query(&format!(
        "prepare {prefix}_{next} as select 'foreign'::text"
    ))
    .await
    .unwrap();
    let times = format!("select $1::int4 * 2 as {tag}");
    assert_eq!(int4_for(&conn, &times, 21).await, 42);
    assert!(conn.pooler_detected());
    assert_eq!(int4_for(&conn, &times, 4).await, 8);
    // Ours are closed; the foreign one stays.
    assert_eq!(
        prepared_names(&conn, None).await,
        [format!("{prefix}_{next}")]
    );
}

/// With `pgbouncer_detect=false` the cache stays on: the lost statement
/// alone is prepared again.
async fn detection_can_be_turned_off<R: Runtime>() {
    let opts = options(Role::Trust, R::transport()).pgbouncer_detect(false);
    let conn = R::open(&opts).await.unwrap();
    let plus = format!("select $1::int4 + 1 as {}", unique_name("nodetect"));
    for n in 0..2 {
        assert_eq!(int4_for(&conn, &plus, n).await, n + 1);
    }
    let name = prepared_names(&conn, None).await.pop().unwrap();
    conn.simple_query(&format!("deallocate {name}"))
        .await
        .unwrap();
    assert_eq!(int4_for(&conn, &plus, 41).await, 42);
    assert!(!conn.pooler_detected());
    assert_eq!(prepared_names(&conn, None).await.len(), 1);
}

runtime_tests!(
    lost_statements_switch_to_unnamed,
    a_taken_name_switches_to_unnamed,
    detection_can_be_turned_off,
);
