//! Transactions: with_transaction, the begin() guard, savepoints, a failed
//! COMMIT, and rollbacks owed by dropped guards and futures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{Connection, Error, SqlState};
use pgwire_integration_tests::{connect, runtime_tests, unique_name, Runtime};

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

runtime_tests!(
    temp_table_survives_a_committed_transaction,
    error_rolls_back,
    guard_commit_rollback_and_drop,
    nested_transactions_are_savepoints,
    commit_of_failed_transaction_is_an_error,
    dropped_with_transaction_still_rolls_back,
);
