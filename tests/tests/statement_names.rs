//! The statement cache when the server session does not hold what the
//! cache expects: what a transaction-mode pooler (PgBouncer) does, here
//! simulated with SQL on a direct connection. Every query gets its own
//! correct answer or a typed error, never another statement's rows.
//! Pooler detection (which would turn the cache off at these signs, see
//! `pooler_detection.rs`) is off here, to see the cache cope on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::{Connection, SqlState};
use pgwire_integration_tests::{
    assert_code, connect, int4_for, prepared_names, runtime_tests, unique_name, Runtime,
};

/// The one name `conn` prepared `sql` under.
async fn name_of<S>(conn: &Connection<S>, sql: &str) -> String
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let names = prepared_names(conn, Some(sql)).await;
    assert_eq!(names.len(), 1, "{sql}: {names:?}");
    names.into_iter().next().unwrap()
}

/// Two connections never name a statement alike, so a Bind that reaches
/// the other's session finds nothing (26000) rather than its statement.
async fn statement_names_are_unique_per_connection<R: Runtime>() {
    let (a, b) = (connect::<R>().await, connect::<R>().await);
    let sql = format!("select $1::int4 + 1 as {}", unique_name("names"));
    assert_eq!(int4_for(&a, &sql, 1).await, 2);
    assert_eq!(int4_for(&b, &sql, 1).await, 2);
    let (name_a, name_b) = (name_of(&a, &sql).await, name_of(&b, &sql).await);
    assert_ne!(name_a, name_b);
    for name in [&name_a, &name_b] {
        assert!(name.starts_with("pgwire_s") && name.len() < 40, "{name}");
    }
    // The other connection's name is unknown on this session.
    assert_code(
        a.simple_query(&format!("execute {name_b}(1)")).await,
        SqlState::INVALID_SQL_STATEMENT_NAME,
    );
}

/// A cached statement the session lost (a pooler's `DISCARD ALL`, or
/// `DEALLOCATE`) fails at its Bind with 26000, where nothing ran: the
/// cache forgets that statement alone (closing nothing), and outside a
/// transaction the query is prepared again and answers.
async fn a_lost_statement_is_prepared_again_and_the_others_stay<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.set_pooler_detection(false);
    let tag = unique_name("lost");
    let lost = format!("select $1::int4 + 1 as {tag}");
    let kept = format!("select $1::int4 * 2 as {tag}");
    assert_eq!(int4_for(&conn, &lost, 1).await, 2);
    assert_eq!(int4_for(&conn, &kept, 4).await, 8);
    let lost_name = name_of(&conn, &lost).await;
    let kept_name = name_of(&conn, &kept).await;
    conn.simple_query(&format!("deallocate {lost_name}"))
        .await
        .unwrap();
    let before = conn.statement_cache_stats();
    // Eager methods rerun it once, re-prepared.
    assert_eq!(int4_for(&conn, &lost, 41).await, 42);
    assert_eq!(prepared_names(&conn, Some(&lost)).await.len(), 1);
    assert!(!conn.pooler_detected());
    // The other statement was neither closed nor forgotten: it still runs
    // from the cache, under its name.
    assert_eq!(int4_for(&conn, &kept, 21).await, 42);
    assert_eq!(name_of(&conn, &kept).await, kept_name);
    let after = conn.statement_cache_stats();
    assert_eq!(after.prepared - before.prepared, 1, "{before:?} {after:?}");
    // `execute` too.
    let insert = format!("create temp table {tag} (a int)");
    conn.execute(&insert, ()).await.unwrap();
    let add = format!("insert into {tag} values ($1)");
    for i in 0..2 {
        assert_eq!(conn.execute(&add, (i,)).await.unwrap(), 1);
    }
    let add_name = name_of(&conn, &add).await;
    conn.simple_query(&format!("deallocate {add_name}"))
        .await
        .unwrap();
    assert_eq!(conn.execute(&add, (2,)).await.unwrap(), 1);
    let count = conn
        .fetch_one(&format!("select count(*)::int4 from {tag}"), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.try_get::<i32>(0).unwrap(), 3, "inserted exactly once");
    // A lazy stream reports the error; the next query prepares afresh.
    let name = name_of(&conn, &lost).await;
    conn.simple_query(&format!("deallocate {name}"))
        .await
        .unwrap();
    let lazy = conn.query(lost.as_str(), (1,)).await.unwrap();
    assert_code(
        lazy.try_collect::<Vec<_>>().await,
        SqlState::INVALID_SQL_STATEMENT_NAME,
    );
    assert_eq!(int4_for(&conn, &lost, 2).await, 3);
    // In a transaction the error stands (the transaction is aborted).
    let name = name_of(&conn, &lost).await;
    conn.simple_query(&format!("deallocate {name}"))
        .await
        .unwrap();
    let tx = conn.begin().await.unwrap();
    assert_code(
        tx.fetch(&lost, (1,)).await,
        SqlState::INVALID_SQL_STATEMENT_NAME,
    );
    tx.rollback().await.unwrap();
    assert_eq!(int4_for(&conn, &lost, 3).await, 4);
    assert!(conn.ready());
}

/// A name the connection is about to prepare already exists on the
/// session (someone else's, 42P05): the connection never runs nor closes
/// it, and answers its own query.
async fn a_taken_name_is_never_used_nor_closed<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.set_pooler_detection(false);
    let tag = unique_name("taken");
    let first = format!("select $1::int4 + 1 as {tag}");
    assert_eq!(int4_for(&conn, &first, 1).await, 2);
    let name = name_of(&conn, &first).await;
    let (prefix, number) = name.rsplit_once('_').unwrap();
    let number: u64 = number.parse().unwrap();
    // Take the next two names (a rowful and a rowless statement follow).
    let foreign = "select 'foreign'::text";
    for n in [number + 1, number + 2] {
        conn.simple_query(&format!("prepare {prefix}_{n} as {foreign}"))
            .await
            .unwrap();
    }
    let second = format!("select $1::int4 * 2 as {tag}");
    for n in [21, 5] {
        assert_eq!(int4_for(&conn, &second, n).await, n * 2);
    }
    conn.execute(&format!("create temp table {tag} (a int)"), ())
        .await
        .unwrap();
    let add = format!("insert into {tag} values ($1)");
    for i in 0..3 {
        assert_eq!(conn.execute(&add, (i,)).await.unwrap(), 1);
    }
    let count = conn
        .fetch_one(&format!("select count(*)::int4 from {tag}"), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.try_get::<i32>(0).unwrap(), 3);
    // The foreign statements are still there, untouched (an SQL PREPARE
    // records its whole text).
    for n in [number + 1, number + 2] {
        let text = format!("prepare {prefix}_{n} as {foreign}");
        assert_eq!(
            prepared_names(&conn, Some(&text)).await,
            [format!("{prefix}_{n}")]
        );
    }
    assert!(conn.ready());
}

/// A table under one cached statement changes shape: the server refuses
/// that statement (0A000), never rows in the old shape; it alone is
/// prepared again, and the other cached statements stay.
async fn a_changed_shape_replans_only_that_statement<R: Runtime>() {
    let conn = connect::<R>().await;
    let (t, u) = (unique_name("shape_t"), unique_name("shape_u"));
    for table in [&t, &u] {
        conn.execute(&format!("create temp table {table} (a int4)"), ())
            .await
            .unwrap();
        conn.execute(&format!("insert into {table} values (1)"), ())
            .await
            .unwrap();
    }
    let (star_t, star_u) = (format!("select * from {t}"), format!("select * from {u}"));
    for sql in [&star_t, &star_u] {
        assert_eq!(conn.fetch(sql.as_str(), ()).await.unwrap()[0].len(), 1);
    }
    let u_name = name_of(&conn, &star_u).await;
    conn.execute(&format!("alter table {t} alter a type text"), ())
        .await
        .unwrap();
    let before = conn.statement_cache_stats();
    let rows = conn.fetch(star_t.as_str(), ()).await.unwrap();
    assert_eq!(rows[0].try_get::<&str>("a").unwrap(), "1");
    assert_eq!(conn.fetch(star_u.as_str(), ()).await.unwrap()[0].len(), 1);
    assert_eq!(name_of(&conn, &star_u).await, u_name);
    let after = conn.statement_cache_stats();
    assert_eq!(after.prepared - before.prepared, 1, "{before:?} {after:?}");
}

runtime_tests!(
    statement_names_are_unique_per_connection,
    a_lost_statement_is_prepared_again_and_the_others_stay,
    a_taken_name_is_never_used_nor_closed,
    a_changed_shape_replans_only_that_statement,
);
