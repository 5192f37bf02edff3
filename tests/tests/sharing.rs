//! One connection shared by many tasks: a transaction reserves its session,
//! a stream that is not being polled blocks nobody before it, a task never
//! waits for itself, and requests from many tasks are pipelined.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use pgwire_conn::{Connection, Error};
use pgwire_integration_tests::streams::{Gate, Gated};
use pgwire_integration_tests::{
    assert_no_transaction_warnings, connect, connect_over, record_notices, runtime_only_tests,
    runtime_tests, unique_name, within, Runtime,
};

async fn rows_of<S>(conn: &Connection<S>, table: &str, who: &str) -> i64
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one(
        &format!("select count(*) from {table} where who = $1"),
        (who,),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get(0)
    .unwrap()
}

/// Three tasks run transactions on one connection at once, each in several
/// statements with pauses between: each commits (or rolls back) exactly its
/// own rows, and the server never sees BEGIN inside a transaction.
async fn concurrent_transactions_each_keep_their_own_rows<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let notices = record_notices(&conn);
    let t = unique_name("own_rows");
    conn.execute(&format!("create temp table {t} (who text, n int)"), ())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for who in ["commits_a", "rolls_back", "commits_c"] {
        let (conn, t) = (Arc::clone(&conn), t.clone());
        tasks.push(R::spawn(async move {
            conn.with_transaction(async |tx| {
                for n in 0..3 {
                    tx.execute(&format!("insert into {t} values ($1, $2)"), (who, n))
                        .await?;
                    tx.execute("select pg_sleep(0.02)", ()).await?;
                }
                if who == "rolls_back" {
                    return Err(Error::InvalidInput("roll back".into()));
                }
                Ok(())
            })
            .await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(within::<R, _>(60, "a transaction", task).await.is_ok());
    }
    assert_eq!(outcomes, [true, false, true]);
    assert_eq!(rows_of(&conn, &t, "commits_a").await, 3);
    assert_eq!(rows_of(&conn, &t, "rolls_back").await, 0);
    assert_eq!(rows_of(&conn, &t, "commits_c").await, 3);
    assert_no_transaction_warnings(&notices);
}

/// A query another task sends while a transaction is open waits for it and
/// runs outside it: the transaction's rollback does not take it along.
async fn a_query_from_another_task_runs_outside_the_transaction<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let t = unique_name("outside");
    conn.execute(&format!("create temp table {t} (who text)"), ())
        .await
        .unwrap();
    let tx = conn.begin().await.unwrap();
    tx.execute(&format!("insert into {t} values ('tx')"), ())
        .await
        .unwrap();
    let outside = R::spawn({
        let (conn, t) = (Arc::clone(&conn), t.clone());
        async move {
            let inserted = conn
                .execute(&format!("insert into {t} values ('outside')"), ())
                .await
                .unwrap();
            // It ran after the transaction ended, outside any.
            (inserted, conn.transaction_status())
        }
    });
    R::sleep(Duration::from_millis(100)).await;
    tx.execute(&format!("insert into {t} values ('tx')"), ())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let (inserted, status) = within::<R, _>(30, "the outside query", outside).await;
    assert_eq!(inserted, 1);
    assert_eq!(status, pgwire_conn::TransactionStatus::Idle);
    assert_eq!(rows_of(&conn, &t, "tx").await, 0);
    assert_eq!(rows_of(&conn, &t, "outside").await, 1);
}

/// Inside its own transaction, a task that sends on the bare connection
/// (which would wait for the transaction, i.e. for itself) gets a typed
/// error at once; the transaction goes on.
async fn the_bare_connection_inside_its_own_transaction_is_an_error<R: Runtime>() {
    let conn = connect::<R>().await;
    let result = within::<R, _>(
        30,
        "a transaction using its bare connection",
        conn.with_transaction(async |tx| {
            let bare = tx.connection();
            assert!(matches!(
                bare.execute("select 1", ()).await,
                Err(Error::WouldDeadlock(_))
            ));
            assert!(matches!(bare.begin().await, Err(Error::WouldDeadlock(_))));
            assert_eq!(tx.execute("select 1", ()).await?, 1);
            Ok::<_, Error>(())
        }),
    )
    .await;
    result.unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

/// Task B holds a stream it has not read while it waits for task A's
/// answer, sent before it: A is answered.
async fn an_unread_stream_does_not_hold_up_earlier_queries<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    // Both statements prepared already: each query is a single request, and
    // B's stream is handed out as soon as its request is sent.
    conn.fetch_one("select 1::int4, pg_sleep($1)", (0f64,))
        .await
        .unwrap();
    conn.fetch_one("select 2::int4", ()).await.unwrap();
    let a = R::spawn({
        let conn = Arc::clone(&conn);
        async move {
            conn.fetch_one("select 1::int4, pg_sleep($1)", (0.2f64,))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i32>(0)
                .unwrap()
        }
    });
    // A's query goes out first.
    R::sleep(Duration::from_millis(50)).await;
    let mut unread = conn.query("select 2::int4", ()).await.unwrap();
    assert_eq!(within::<R, _>(30, "task A", a).await, 1);
    let row = unread.try_next().await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 2);
    assert!(unread.try_next().await.unwrap().is_none());
}

/// One task opens two streams and reads the second first: opening the
/// second never waits, and the first one's rows are read ahead for it.
async fn a_task_reads_its_second_stream_first<R: Runtime>() {
    let conn = connect::<R>().await;
    within::<R, _>(30, "two streams of one task", async {
        let first = conn
            .query("select g from generate_series(1, 1000) g", ())
            .await
            .unwrap();
        let second = conn.query("select 2::int4", ()).await.unwrap();
        let seconds: Vec<_> = second.try_collect().await.unwrap();
        assert_eq!(seconds[0].try_get::<i32>(0).unwrap(), 2);
        let firsts: Vec<_> = first.try_collect().await.unwrap();
        let sum: i64 = firsts
            .iter()
            .map(|r| i64::from(r.try_get::<i32>(0).unwrap()))
            .sum();
        assert_eq!((firsts.len(), sum), (1000, 500_500));
    })
    .await;
    assert!(conn.ready());
}

/// A stream and a later query of the same task awaited together (`join`):
/// whatever order they are polled in, both finish.
async fn a_stream_and_a_later_query_joined_in_one_task<R: Runtime>() {
    let conn = connect::<R>().await;
    within::<R, _>(30, "a joined stream and query", async {
        let mut rows = conn
            .query("select g, pg_sleep(0.05) from generate_series(1, 3) g", ())
            .await
            .unwrap();
        let (first, later) =
            futures_util::future::join(rows.try_next(), conn.fetch_one("select 7::int4", ())).await;
        assert_eq!(first.unwrap().unwrap().try_get::<i32>(0).unwrap(), 1);
        assert_eq!(later.unwrap().unwrap().try_get::<i32>(0).unwrap(), 7);
        let (later, rest) = futures_util::future::join(
            conn.fetch_one("select 8::int4", ()),
            rows.try_collect::<Vec<_>>(),
        )
        .await;
        assert_eq!(later.unwrap().unwrap().try_get::<i32>(0).unwrap(), 8);
        assert_eq!(rest.unwrap().len(), 2);
    })
    .await;
    assert!(conn.ready());
}

/// The common pattern "for each row of a query, run another on the same
/// connection" works: the rest of the stream is read ahead.
async fn a_query_per_row_of_a_stream_on_the_same_connection<R: Runtime>() {
    let conn = connect::<R>().await;
    within::<R, _>(30, "a query per row", async {
        let mut rows = conn
            .query("select g from generate_series(1, 50) g", ())
            .await
            .unwrap();
        let mut seen = 0;
        while let Some(row) = rows.try_next().await.unwrap() {
            let g: i32 = row.try_get(0).unwrap();
            let twice = conn
                .fetch_one("select $1::int4 * 2", (g,))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(twice.try_get::<i32>(0).unwrap(), g * 2);
            seen += 1;
        }
        assert_eq!(seen, 50);
    })
    .await;
}

/// Past the read-ahead limit the later request fails with a typed error
/// instead of waiting for its own task; the earlier stream is intact.
async fn reading_ahead_past_the_limit_is_a_typed_error<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.set_read_ahead_limit(64 * 1024);
    let first = conn
        .query(
            "select g, repeat('x', 100) from generate_series(1, 20000) g",
            (),
        )
        .await
        .unwrap();
    let later = within::<R, _>(30, "a later query", conn.fetch_one("select 3", ())).await;
    assert!(matches!(later, Err(Error::WouldDeadlock(_))), "{later:?}");
    let rows: Vec<_> = first.try_collect().await.unwrap();
    assert_eq!(rows.len(), 20_000);
    let row = conn.fetch_one("select 4::int4", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 4);
    assert!(conn.ready());
}

/// `close`, `take_notifications` and `set_statement_cache_capacity` never
/// wait for a stream nobody polls; the stream then learns of the close.
async fn connection_calls_never_wait_for_an_idle_stream<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut idle = conn.query("select 1", ()).await.unwrap();
    assert!(conn.take_notifications().is_empty());
    conn.set_statement_cache_capacity(8);
    within::<R, _>(30, "memory_usage", conn.memory_usage()).await;
    within::<R, _>(30, "close", conn.close()).await.unwrap();
    assert!(matches!(idle.try_next().await, Err(Error::Closed)));
}

/// Requests from many tasks are pipelined: all of them are written before
/// the first answer is read (the stream lets nothing in until then), so
/// they take about one round trip, not one each.
async fn tasks_pipeline_their_queries_on_one_connection<R: Runtime>() {
    const TASKS: usize = 24;
    let gate = Gate::default();
    let conn = Arc::new(connect_over::<R, _, _>(|s| Gated::new(s, gate.clone())).await);
    // Prepared once, so every task's request is a single Bind/Execute/Sync.
    conn.fetch_one("select $1::int4", (0,)).await.unwrap();
    gate.arm(TASKS);
    let mut tasks = Vec::new();
    for i in 0..TASKS as i32 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            let row = conn.fetch_one("select $1::int4", (i,)).await.unwrap();
            row.unwrap().try_get::<i32>(0).unwrap()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let answer = within::<R, _>(30, "a pipelined task", task).await;
        assert_eq!(answer, i as i32);
    }
    assert!(gate.written() > TASKS);
}

runtime_tests!(
    concurrent_transactions_each_keep_their_own_rows,
    a_query_from_another_task_runs_outside_the_transaction,
    the_bare_connection_inside_its_own_transaction_is_an_error,
    an_unread_stream_does_not_hold_up_earlier_queries,
    a_task_reads_its_second_stream_first,
    a_query_per_row_of_a_stream_on_the_same_connection,
    a_stream_and_a_later_query_joined_in_one_task,
    reading_ahead_past_the_limit_is_a_typed_error,
    connection_calls_never_wait_for_an_idle_stream,
);

mod over_a_stream_of_its_own {
    use super::*;
    runtime_only_tests!(tasks_pipeline_their_queries_on_one_connection);
}
