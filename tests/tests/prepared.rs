//! Prepared statements: create, use with the eager and lazy methods, close,
//! and the errors around them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::{Error, SqlState};
use pgwire_integration_tests::{
    after_polls, assert_code, connect, prepared_count, runtime_tests, unique_name, Runtime,
};

async fn prepared_insert_with_and_without_parameters<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("prep");
    conn.execute(&format!("create temp table {t} (id serial, v text)"), ())
        .await
        .unwrap();
    let with = conn
        .create_prepared_statement(
            &unique_name("ins"),
            &format!("insert into {t} (v) values ($1)"),
        )
        .await
        .unwrap();
    assert_eq!(with.parameter_types(), [25]);
    assert!(with.row_description().is_none());
    let without = conn
        .create_prepared_statement(
            &unique_name("ins0"),
            &format!("insert into {t} (v) values ('fixed')"),
        )
        .await
        .unwrap();
    assert!(without.parameter_types().is_empty());
    for v in ["a", "b"] {
        assert_eq!(conn.execute(&with, (v,)).await.unwrap(), 1);
    }
    assert_eq!(conn.execute(&without, ()).await.unwrap(), 1);
    let sel = conn
        .create_prepared_statement(
            &unique_name("sel"),
            &format!("select id, v from {t} where id >= $1 order by id"),
        )
        .await
        .unwrap();
    let columns = sel.row_description().unwrap();
    assert_eq!(columns.fields()[1].name, "v");
    let rows = conn.fetch(&sel, (2,)).await.unwrap();
    let values: Vec<&str> = rows
        .iter()
        .map(|r| r.try_get::<&str>("v").unwrap())
        .collect();
    assert_eq!(values, ["b", "fixed"]);
    // lazily, and one row only
    let streamed: Vec<_> = conn
        .query(&sel, (1,))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 3);
    let first = conn.fetch_one(&sel, (3,)).await.unwrap().unwrap();
    assert_eq!(first.try_get::<&str>(1).unwrap(), "fixed");
    // wrong parameter count, caught before sending
    assert!(matches!(conn.fetch(&sel, ()).await, Err(Error::Params(_))));
    conn.close_prepared_statement(&sel).await.unwrap();
    assert_code(
        conn.fetch(&sel, (1,)).await,
        SqlState::from_code("26000").unwrap(),
    );
    assert!(conn.ready());
}

async fn duplicate_name_is_recoverable_42p05<R: Runtime>() {
    let conn = connect::<R>().await;
    let name = unique_name("dup");
    conn.create_prepared_statement(&name, "select 1")
        .await
        .unwrap();
    let err = conn
        .create_prepared_statement(&name, "select 2")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::DUPLICATE_PREPARED_STATEMENT));
    assert!(err.is_recoverable());
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn bad_sql_fails_at_prepare<R: Runtime>() {
    let conn = connect::<R>().await;
    let err = conn
        .create_prepared_statement(&unique_name("bad"), "select from where")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::SYNTAX_ERROR));
    assert!(conn.ready());
}

async fn statement_cache_recovers_from_schema_changes_and_deallocate<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("cache");
    conn.execute(&format!("create temp table {t} (a int)"), ())
        .await
        .unwrap();
    conn.execute(&format!("insert into {t} values (1)"), ())
        .await
        .unwrap();
    let sql = format!("select * from {t} where a = $1");
    assert_eq!(conn.fetch(&sql, (1,)).await.unwrap()[0].len(), 1);
    // The cached statement's result type changes under it.
    conn.execute(
        &format!("alter table {t} add column b text default 'x'"),
        (),
    )
    .await
    .unwrap();
    // Outside a transaction the eager methods prepare afresh and run again.
    let rows = conn.fetch(&sql, (1,)).await.unwrap();
    assert_eq!(rows[0].try_get::<&str>("b").unwrap(), "x");
    let star = format!("select * from {t}");
    assert_eq!(conn.fetch_one(&star, ()).await.unwrap().unwrap().len(), 2);
    conn.execute(&format!("alter table {t} add column c int default 7"), ())
        .await
        .unwrap();
    assert_eq!(conn.execute(&star, ()).await.unwrap(), 1);
    let row = conn.fetch_one(&star, ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>("c").unwrap(), 7);
    // In a transaction the error stands: the transaction is aborted.
    let tx = conn.begin().await.unwrap();
    tx.execute(&format!("alter table {t} drop column c"), ())
        .await
        .unwrap();
    let err = tx.fetch(&star, ()).await.unwrap_err();
    assert_eq!(err.code(), Some(SqlState::FEATURE_NOT_SUPPORTED), "{err}");
    tx.rollback().await.unwrap();
    assert_eq!(conn.fetch_one(&star, ()).await.unwrap().unwrap().len(), 3);
    // The server forgets every statement: the cache follows.
    conn.execute("deallocate all", ()).await.unwrap();
    assert_eq!(conn.fetch(&sql, (1,)).await.unwrap().len(), 1);
    assert!(conn.ready());
}

/// A statement without rows is prepared in the same write as its first
/// run: it runs, lands in the cache, and runs from there next time; one
/// that fails to parse leaves nothing behind.
async fn rowless_statements_are_prepared_while_they_run<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("rowless");
    conn.execute(&format!("create temp table {t} (a int)"), ())
        .await
        .unwrap();
    let insert = format!("insert into {t} values ($1)");
    for i in 0..3 {
        assert_eq!(conn.execute(&insert, (i,)).await.unwrap(), 1);
    }
    assert_eq!(prepared_count(&conn, &insert).await, 1);
    let sum = conn
        .fetch_one(&format!("select sum(a)::int4 from {t}"), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum.try_get::<i32>(0).unwrap(), 3);
    let bad = format!("insert into {t} valuez (1)");
    for _ in 0..2 {
        assert_code(conn.execute(&bad, ()).await, SqlState::SYNTAX_ERROR);
    }
    assert_eq!(prepared_count(&conn, &bad).await, 0);
    assert!(conn.ready());
}

/// Cache misses whose futures are dropped during their Parse/Describe
/// leave no statement the cache does not know: the server ends with at
/// most the cache's capacity, and the statements are cached.
async fn dropped_preparations_leave_at_most_the_capacity<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.set_statement_cache_capacity(16);
    let tag = unique_name("dropped_prep");
    for i in 0..300 {
        let sql = format!("select {i}::int4 as {tag}");
        // One poll: the preparation is queued (and maybe sent), then dropped.
        let _ = after_polls(conn.fetch_one(sql.as_str(), ()), 0).await;
    }
    let named = "select count(*)::int4 from pg_prepared_statements where name like 'pgwire\\_s%'";
    let count = |row: Option<pgwire_conn::Row>| row.unwrap().try_get::<i32>(0).unwrap();
    let on_server = count(conn.fetch_one(named, ()).await.unwrap());
    assert!(on_server <= 16, "{on_server} statements on the server");
    // Once everything owed has gone out, the server holds what the cache holds.
    let again = count(conn.fetch_one(named, ()).await.unwrap());
    assert!(again <= 16, "{again} statements on the server");
    let stats = conn.statement_cache_stats();
    assert!(stats.prepared >= 1, "{stats:?}");
    assert_eq!(
        i64::from(again),
        (stats.prepared - stats.evicted - stats.twins) as i64,
        "every statement prepared is cached or closed: {stats:?}"
    );
}

/// A statement's name means something on its own connection only: run on
/// another, where the same name may be another statement, it is refused.
async fn a_statement_prepared_elsewhere_is_refused<R: Runtime>() {
    let a = connect::<R>().await;
    let b = connect::<R>().await;
    let on_a = a
        .create_prepared_statement("twin_name", "select 1::int4")
        .await
        .unwrap();
    let on_b = b
        .create_prepared_statement("twin_name", "select 2::int4")
        .await
        .unwrap();
    match b.fetch_one(&on_a, ()).await {
        Err(Error::InvalidInput(why)) => assert!(why.contains("another connection"), "{why}"),
        other => panic!("a statement of another connection ran: {other:?}"),
    }
    assert!(matches!(
        b.close_prepared_statement(&on_a).await,
        Err(Error::InvalidInput(_))
    ));
    let row = b.fetch_one(&on_b, ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 2);
    let row = a.fetch_one(&on_a, ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 1);
}

runtime_tests!(
    a_statement_prepared_elsewhere_is_refused,
    dropped_preparations_leave_at_most_the_capacity,
    rowless_statements_are_prepared_while_they_run,
    statement_cache_recovers_from_schema_changes_and_deallocate,
    prepared_insert_with_and_without_parameters,
    duplicate_name_is_recoverable_42p05,
    bad_sql_fails_at_prepare,
);
