//! Transactions: with_transaction, the begin() guard, savepoints, a failed
//! COMMIT, and rollbacks owed by dropped guards and futures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pgwire_conn::{Connection, Error, SqlState};
use pgwire_integration_tests::{
    after_polls, assert_no_transaction_warnings, connect, record_notices, runtime_tests, timeout,
    unique_name, within, Runtime,
};

async fn exists<S>(conn: &Connection<S>, table: &str) -> bool
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one("select to_regclass($1) is not null", (table,))
        .await
        .unwrap()
        .unwrap()
        .try_get::<bool>(0)
        .unwrap()
}

async fn temp_table_survives_a_committed_transaction<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("tx_ok");
    let value = conn
        .with_transaction(async |tx| {
            assert!(tx.connection().in_transaction());
            tx.execute(&format!("create temp table {t} (x int)"), ())
                .await?;
            tx.execute(&format!("insert into {t} values (1)"), ())
                .await?;
            Ok::<_, Error>(7)
        })
        .await
        .unwrap();
    assert_eq!(value, 7);
    assert!(!conn.in_transaction());
    assert!(exists(&conn, &t).await);
}

async fn error_rolls_back<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("tx_err");
    let result = conn
        .with_transaction(async |tx| {
            tx.execute(&format!("create temp table {t} (x int)"), ())
                .await?;
            tx.execute("select * from definitely_missing", ()).await?;
            Ok::<_, Error>(())
        })
        .await;
    assert_eq!(result.unwrap_err().code(), Some(SqlState::UNDEFINED_TABLE));
    assert!(!conn.in_transaction());
    assert!(!exists(&conn, &t).await);
}

async fn guard_commit_rollback_and_drop<R: Runtime>() {
    let conn = connect::<R>().await;
    let (a, b, c) = (unique_name("g_a"), unique_name("g_b"), unique_name("g_c"));
    let tx = conn.begin().await.unwrap();
    assert!(conn.in_transaction());
    tx.execute(&format!("create temp table {a} (x int)"), ())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!conn.in_transaction());
    assert!(exists(&conn, &a).await);

    let tx = conn.begin().await.unwrap();
    tx.execute(&format!("create temp table {b} (x int)"), ())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(!exists(&conn, &b).await);

    {
        let tx = conn.begin().await.unwrap();
        tx.execute(&format!("create temp table {c} (x int)"), ())
            .await
            .unwrap();
        // dropped without commit
    }
    assert!(!exists(&conn, &c).await);
    assert!(!conn.in_transaction());
}

async fn nested_transactions_are_savepoints<R: Runtime>() {
    let conn = connect::<R>().await;
    let (outer, inner_ok, inner_bad) = (unique_name("n_o"), unique_name("n_i"), unique_name("n_b"));
    conn.with_transaction(async |tx| {
        tx.execute(&format!("create temp table {outer} (x int)"), ())
            .await?;
        let sp = tx.begin().await?;
        assert!(sp.is_savepoint());
        sp.execute(&format!("create temp table {inner_ok} (x int)"), ())
            .await?;
        sp.commit().await?;
        // a failing nested with_transaction rolls back to its savepoint only
        let failed = tx
            .with_transaction(async |sp| {
                sp.execute(&format!("create temp table {inner_bad} (x int)"), ())
                    .await?;
                sp.execute("select 1/0", ()).await?;
                Ok::<_, Error>(())
            })
            .await;
        assert!(failed.is_err());
        assert!(tx.connection().in_transaction());
        // the outer transaction is still healthy
        tx.execute("select 1", ()).await?;
        Ok::<_, Error>(())
    })
    .await
    .unwrap();
    assert!(exists(&conn, &outer).await);
    assert!(exists(&conn, &inner_ok).await);
    assert!(!exists(&conn, &inner_bad).await);
}

async fn commit_of_failed_transaction_is_an_error<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("failed");
    let tx = conn.begin().await.unwrap();
    tx.execute(&format!("create temp table {t} (x int)"), ())
        .await
        .unwrap();
    assert!(tx.execute("select broken syntax here", ()).await.is_err());
    assert!(matches!(
        tx.commit().await,
        Err(Error::TransactionRolledBack)
    ));
    assert!(!conn.in_transaction());
    assert!(!exists(&conn, &t).await);
}

async fn dropped_with_transaction_still_rolls_back<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("dropped");
    let work = conn.with_transaction(async |tx| {
        tx.execute(&format!("create temp table {t} (x int)"), ())
            .await?;
        // never finishes: the transaction is open when the future is dropped
        tx.execute(&format!("select pg_sleep(60) -- {t}"), ())
            .await?;
        Ok::<_, Error>(())
    });
    let timeout = R::sleep(std::time::Duration::from_millis(300));
    // Boxed, so that the losing future is really dropped here (a pinned
    // local would live on, holding the connection).
    match futures_util::future::select(Box::pin(work), Box::pin(timeout)).await {
        futures_util::future::Either::Right((_, work)) => drop(work),
        futures_util::future::Either::Left((r, _)) => panic!("finished early: {r:?}"),
    }
    // The abandoned pg_sleep is drained (the next call waits for it) unless
    // cancelled; cancel it from another connection to keep the test short.
    let other = connect::<R>().await;
    let cancelled = other
        .fetch_one(
            "select count(pg_cancel_backend(pid)) from pg_stat_activity where query = $1",
            (format!("select pg_sleep(60) -- {t}"),),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.try_get::<i64>(0).unwrap(), 1);
    assert!(!exists(&conn, &t).await);
    assert!(!conn.in_transaction());
    assert!(conn.ready());
}

async fn values_in<S>(conn: &Connection<S>, table: &str) -> Vec<i32>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch(&format!("select n from {table} order by n"), ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i32>(0).unwrap())
        .collect()
}

/// After a transaction dropped at an await (a timeout, an early `?`, a
/// dropped `commit()`), `begin()` opens a fresh transaction: BEGIN, never a
/// SAVEPOINT outside any transaction.
async fn begin_after_a_dropped_transaction_starts_afresh<R: Runtime>() {
    let conn = connect::<R>().await;
    let notices = record_notices(&conn);
    let t = unique_name("afresh");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    // Committing row 5 takes a while, so that its COMMIT can be dropped
    // before the answer comes.
    conn.simple_query(&format!(
        "create function pg_temp.slow_commit_{t}() returns trigger language plpgsql \
         as $$ begin perform pg_sleep(0.3); return null; end $$; \
         create constraint trigger slow after insert on {t} deferrable initially deferred \
         for each row when (new.n = 5) execute function pg_temp.slow_commit_{t}()"
    ))
    .await
    .unwrap();
    let insert = format!("insert into {t} values ($1)");
    // 1. The whole with_transaction future times out mid-statement.
    let slow = conn.with_transaction(async |tx| {
        tx.execute(&insert, (1,)).await?;
        tx.execute("select pg_sleep(0.5)", ()).await?;
        Ok::<_, Error>(())
    });
    assert!(timeout::<R, _>(Duration::from_millis(100), slow)
        .await
        .is_none());
    conn.with_transaction(async |tx| tx.execute(&insert, (2,)).await)
        .await
        .unwrap();
    // 2. An early `?` return drops the guard.
    let failed: Result<(), Error> = async {
        let tx = conn.begin().await?;
        tx.execute(&insert, (3,)).await?;
        tx.execute("select * from no_such_table_here", ()).await?;
        tx.commit().await
    }
    .await;
    assert_eq!(failed.unwrap_err().code(), Some(SqlState::UNDEFINED_TABLE));
    let tx = conn.begin().await.unwrap();
    assert!(!tx.is_savepoint());
    tx.execute(&insert, (4,)).await.unwrap();
    tx.commit().await.unwrap();
    // 3. A commit() future dropped once COMMIT was queued: it commits.
    let tx = conn.begin().await.unwrap();
    tx.execute(&insert, (5,)).await.unwrap();
    assert!(after_polls(tx.commit(), 0).await.is_none());
    let tx = conn.begin().await.unwrap();
    tx.execute(&insert, (6,)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(values_in(&conn, &t).await, [2, 4, 5, 6]);
    assert!(!conn.in_transaction());
    assert_no_transaction_warnings(&notices);
}

/// A dropped transaction ends on the server at once, not at the next call:
/// its locks are released while the connection stays otherwise idle.
async fn a_dropped_transaction_releases_its_locks_at_once<R: Runtime>() {
    let conn = connect::<R>().await;
    let other = connect::<R>().await;
    let t = unique_name("locked");
    other
        .execute(&format!("create table {t} (n int)"), ())
        .await
        .unwrap();
    {
        let tx = conn.begin().await.unwrap();
        tx.execute(&format!("lock table {t} in access exclusive mode"), ())
            .await
            .unwrap();
        // Dropped here; nothing more is sent on `conn` below.
    }
    // The rollback left with the drop: the lock is free at once (2 s is a
    // wide margin for a loaded machine; without the fix it is never freed).
    other.execute("set lock_timeout = '2s'", ()).await.unwrap();
    let locked = within::<R, _>(
        60,
        "locking the table from another session",
        other.with_transaction(async |tx| {
            tx.execute(&format!("lock table {t} in access exclusive mode"), ())
                .await
        }),
    )
    .await;
    assert!(
        locked.is_ok(),
        "the dropped transaction kept its lock: {locked:?}"
    );
    other.execute(&format!("drop table {t}"), ()).await.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    assert!(!conn.in_transaction());
}

/// A savepoint borrows its transaction: it cannot outlive it (so its
/// rollback can never run inside somebody else's later transaction).
async fn savepoints_inside_with_transaction_nest<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("nest");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    let insert = format!("insert into {t} values ($1)");
    conn.with_transaction(async |tx| {
        tx.execute(&insert, (1,)).await?;
        let kept = tx
            .with_transaction(async |sp| {
                assert!(sp.is_savepoint());
                sp.execute(&insert, (2,)).await?;
                // A savepoint dropped mid-way rolls back to itself only.
                {
                    let inner = sp.begin().await?;
                    inner.execute(&insert, (99,)).await?;
                }
                sp.execute(&insert, (3,)).await
            })
            .await?;
        assert_eq!(kept, 1);
        Ok::<_, Error>(())
    })
    .await
    .unwrap();
    assert_eq!(values_in(&conn, &t).await, [1, 2, 3]);
}

runtime_tests!(
    begin_after_a_dropped_transaction_starts_afresh,
    a_dropped_transaction_releases_its_locks_at_once,
    savepoints_inside_with_transaction_nest,
    temp_table_survives_a_committed_transaction,
    error_rolls_back,
    guard_commit_rollback_and_drop,
    nested_transactions_are_savepoints,
    commit_of_failed_transaction_is_an_error,
    dropped_with_transaction_still_rolls_back,
);
