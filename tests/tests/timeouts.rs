//! Time limits per call: the server is asked to cancel a statement whose
//! limit passed when that cannot hit another task's query, the call fails
//! with a typed error that says what became of the statement, and the
//! connection answers the next query at once. A query whose future was
//! dropped while it ran is cancelled by the next request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use pgwire_conn::{Error, Query, TimeoutOutcome};
use pgwire_integration_tests::{connect, runtime_tests, timeout, unique_name, within, Runtime};

const SHORT: Duration = Duration::from_millis(150);

fn timed_out(result: &pgwire_conn::Result<impl std::fmt::Debug>) -> Option<TimeoutOutcome> {
    match result {
        Err(Error::QueryTimeout { outcome, after }) => {
            assert!(*after > Duration::ZERO);
            Some(*outcome)
        }
        _ => None,
    }
}

async fn one<S>(conn: &pgwire_conn::Connection<S>, value: i32) -> i32
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one("select $1::int4", (value,))
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A statement past its limit is cancelled on the server; the next query
/// does not wait for it.
async fn a_query_past_its_time_limit_is_cancelled<R: Runtime>() {
    let conn = connect::<R>().await;
    let started = Instant::now();
    let slow = Query::new("select pg_sleep(30)").timeout(SHORT);
    let result = within::<R, _>(20, "a timed-out query", conn.execute(slow, ())).await;
    assert_eq!(
        timed_out(&result),
        Some(TimeoutOutcome::Cancelled),
        "{result:?}"
    );
    assert_eq!(within::<R, _>(20, "the next query", one(&conn, 7)).await, 7);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(conn.ready());
    // A statement that finishes in time is not disturbed.
    let quick = Query::new("select pg_sleep(0.01)").timeout(Duration::from_secs(20));
    assert_eq!(conn.execute(quick, ()).await.unwrap(), 1);
}

/// The connection's default applies to every query that sets none; a
/// query's own limit replaces it.
async fn the_default_time_limit_applies_to_every_query<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.set_default_timeout(Some(SHORT));
    let result = conn.fetch("select pg_sleep(30)", ()).await;
    assert_eq!(
        timed_out(&result),
        Some(TimeoutOutcome::Cancelled),
        "{result:?}"
    );
    let result = conn.simple_query("select 1; select pg_sleep(30)").await;
    assert_eq!(
        timed_out(&result),
        Some(TimeoutOutcome::Cancelled),
        "{result:?}"
    );
    let longer = Query::new("select pg_sleep(0.3)").timeout(Duration::from_secs(20));
    assert_eq!(conn.execute(longer, ()).await.unwrap(), 1);
    assert_eq!(one(&conn, 3).await, 3);
    conn.set_default_timeout(None);
    let unlimited = conn.execute("select pg_sleep(0.3)", ()).await;
    assert_eq!(unlimited.unwrap(), 1);
}

/// A lazy stream's limit is enforced while it is polled.
async fn a_stream_past_its_time_limit_is_cancelled<R: Runtime>() {
    let conn = connect::<R>().await;
    let slow = Query::new("select g, pg_sleep(30) from generate_series(1, 2) g").timeout(SHORT);
    let mut rows = conn.query(slow, ()).await.unwrap();
    let first = within::<R, _>(20, "a timed-out stream", rows.try_next()).await;
    assert_eq!(
        timed_out(&first),
        Some(TimeoutOutcome::Cancelled),
        "{first:?}"
    );
    drop(rows);
    assert_eq!(one(&conn, 5).await, 5);
}

/// With another task's query already sent behind it, a cancel request
/// could hit that query: the timed-out call gives up without one, and the
/// other task gets its own answer.
async fn a_time_limit_never_cancels_another_tasks_query<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let slow = R::spawn({
        let conn = Arc::clone(&conn);
        async move {
            let slow = Query::new("select pg_sleep(1)").timeout(Duration::from_millis(300));
            let started = Instant::now();
            let result = conn.execute(slow, ()).await;
            (timed_out(&result), started.elapsed())
        }
    });
    // Behind it on the wire before its limit passes.
    R::sleep(Duration::from_millis(50)).await;
    let behind = R::spawn({
        let conn = Arc::clone(&conn);
        async move { one(&conn, 42).await }
    });
    let (outcome, took) = within::<R, _>(30, "the timed-out task", slow).await;
    assert_eq!(outcome, Some(TimeoutOutcome::Abandoned));
    assert!(
        took < Duration::from_millis(900),
        "gave up only after {took:?}"
    );
    assert_eq!(within::<R, _>(30, "the task behind", behind).await, 42);
    assert!(conn.ready() || one(&conn, 1).await == 1);
}

/// A statement cancelled inside a transaction fails the transaction, which
/// then rolls back; the connection goes on.
async fn a_time_limit_inside_a_transaction<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("timed_tx");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    let result = conn
        .with_transaction(async |tx| {
            tx.execute(&format!("insert into {t} values (1)"), ())
                .await?;
            tx.execute(Query::new("select pg_sleep(30)").timeout(SHORT), ())
                .await
        })
        .await;
    assert_eq!(
        timed_out(&result),
        Some(TimeoutOutcome::Cancelled),
        "{result:?}"
    );
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        0
    );
    assert!(!conn.in_transaction());
}

/// A call that waits for another task's transaction past its limit was
/// never sent.
async fn a_time_limit_while_waiting_for_a_transaction<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let t = unique_name("waited");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    let tx = conn.begin().await.unwrap();
    let waiting = R::spawn({
        let (conn, t) = (Arc::clone(&conn), t.clone());
        async move {
            let insert = format!("insert into {t} values (1)");
            let result = conn.execute(Query::new(&insert).timeout(SHORT), ()).await;
            timed_out(&result)
        }
    });
    let outcome = within::<R, _>(30, "the waiting task", waiting).await;
    assert_eq!(outcome, Some(TimeoutOutcome::NotSent));
    tx.commit().await.unwrap();
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        0
    );
}

/// A query whose future was dropped while it ran is cancelled by the next
/// request, which is then answered at once.
async fn a_dropped_running_query_is_cancelled_by_the_next_request<R: Runtime>() {
    let conn = connect::<R>().await;
    let dropped = timeout::<R, _>(SHORT, conn.execute("select pg_sleep(30)", ())).await;
    assert!(dropped.is_none());
    assert_eq!(within::<R, _>(20, "the next query", one(&conn, 9)).await, 9);
    assert!(conn.ready());
}

runtime_tests!(
    a_query_past_its_time_limit_is_cancelled,
    the_default_time_limit_applies_to_every_query,
    a_stream_past_its_time_limit_is_cancelled,
    a_time_limit_never_cancels_another_tasks_query,
    a_time_limit_inside_a_transaction,
    a_time_limit_while_waiting_for_a_transaction,
    a_dropped_running_query_is_cancelled_by_the_next_request,
);
