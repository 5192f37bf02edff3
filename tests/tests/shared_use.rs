//! Cancel safety and shared use: futures dropped at random await points
//! thousands of times, one connection shared by 64 tasks, and pipelined
//! tasks whose queries fail, stream, are dropped, or outgrow the socket
//! buffers, or whose connection dies under them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{select, Either};
use futures_util::{pin_mut, StreamExt};
use pgwire_conn::Error;
use pgwire_integration_tests::{
    assert_code, connect, prepared_count, runtime_tests, unique_name, Runtime,
};

/// Small deterministic PRNG (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Completes after being polled `n` times: racing it against an operation
/// drops the operation after a chosen number of polls.
struct YieldN(u64);

impl Future for YieldN {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `op`, dropping it after `polls` polls or `micros` microseconds.
async fn race<R: Runtime, F: Future>(op: F, rng: &mut Rng) -> Option<F::Output> {
    let limit = async {
        if rng.below(2) == 0 {
            YieldN(rng.below(40)).await
        } else {
            R::sleep(std::time::Duration::from_micros(rng.below(3000))).await
        }
    };
    pin_mut!(op, limit);
    match select(op, limit).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

async fn random_drops_never_corrupt_the_connection<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("cancel");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut completed = 0;
    for i in 0..2000i64 {
        match rng.below(6) {
            0 => {
                race::<R, _>(conn.fetch("select $1::int8", (i,)), &mut rng).await;
            }
            1 => {
                race::<R, _>(
                    conn.execute("select g from generate_series(1, 2000) g", ()),
                    &mut rng,
                )
                .await;
            }
            2 => {
                let op = async {
                    let mut rows = conn
                        .query("select g from generate_series(1, 5000) g", ())
                        .await?;
                    let mut n = 0;
                    while let Some(row) = rows.next().await {
                        row?;
                        n += 1;
                    }
                    Ok::<_, Error>(n)
                };
                race::<R, _>(op, &mut rng).await;
            }
            3 => {
                // a transaction abandoned anywhere must leave nothing behind
                let op = conn.with_transaction(async |tx| {
                    tx.execute(&format!("insert into {t} values ($1)"), (i as i32,))
                        .await?;
                    tx.execute("select pg_sleep(0.001)", ()).await?;
                    Err::<(), _>(Error::InvalidInput("always roll back".into()))
                });
                race::<R, _>(op, &mut rng).await;
            }
            4 => {
                let op = conn.fetch("select * from nonexistent_for_cancel", ());
                race::<R, _>(op, &mut rng).await;
            }
            _ => {
                let op = conn.simple_query("select 1; select 2; select 3");
                race::<R, _>(op, &mut rng).await;
            }
        }
        // Every following answer is right.
        let row = conn
            .fetch_one("select $1::int8", (i,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>(0).unwrap(), i, "iteration {i}");
        assert!(!conn.in_transaction(), "iteration {i}");
        assert!(conn.ready());
        completed += 1;
    }
    assert_eq!(completed, 2000);
    // every transaction rolled back
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        0
    );
}

async fn sixty_four_tasks_share_one_connection<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..64i64 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            let mut correct = 0u32;
            for i in 0..1000i64 {
                let expected = task * 1_000_000 + i;
                let row = conn
                    .fetch_one("select $1::int8", (expected,))
                    .await
                    .unwrap()
                    .unwrap();
                if row.try_get::<i64>(0).unwrap() == expected {
                    correct += 1;
                }
            }
            correct
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await;
    }
    assert_eq!(total, 64_000);
}

/// Fails the test instead of hanging when `op` takes longer than `secs`.
async fn within<R: Runtime, F: Future>(secs: u64, what: &str, op: F) -> F::Output {
    let limit = R::sleep(std::time::Duration::from_secs(secs));
    pin_mut!(op, limit);
    match select(op, limit).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("{what} did not finish within {secs} s"),
    }
}

/// Pipelined tasks whose queries succeed, fail, stream rows or are dropped
/// midway, all at once on one connection: each answer reaches its own task.
async fn pipelined_tasks_each_get_their_own_answer<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            let mut rng = Rng(0x2545_F491 + task * 7919);
            let mut checked = 0u32;
            for i in 0..150i64 {
                let n = (task as i64) * 100_000 + i;
                match rng.below(5) {
                    0 => {
                        let err = conn.fetch("select 1 / ($1::int4 - $1::int4)", (n as i32,));
                        assert_code(err.await, pgwire_conn::SqlState::DIVISION_BY_ZERO);
                    }
                    1 => {
                        let mut rows = conn
                            .query("select g, $1::int8 from generate_series(1, 500) g", (n,))
                            .await
                            .unwrap();
                        let mut sum = 0i64;
                        while let Some(row) = rows.next().await {
                            let row = row.unwrap();
                            assert_eq!(row.try_get::<i64>(1).unwrap(), n);
                            sum += i64::from(row.try_get::<i32>(0).unwrap());
                        }
                        assert_eq!(sum, 500 * 501 / 2);
                    }
                    2 => {
                        let op = conn.fetch("select $1::int8, pg_sleep(0.0005)", (n,));
                        race::<R, _>(op, &mut rng).await;
                        continue;
                    }
                    3 => {
                        let rows = conn
                            .fetch("select :n::int8 * 2", pgwire_conn::named! { n: n })
                            .await
                            .unwrap();
                        assert_eq!(rows[0].try_get::<i64>(0).unwrap(), n * 2);
                    }
                    _ => {
                        let row = conn.fetch_one("select $1::int8", (n,)).await.unwrap();
                        assert_eq!(row.unwrap().try_get::<i64>(0).unwrap(), n);
                    }
                }
                checked += 1;
            }
            checked
        }));
    }
    let mut checked = 0;
    for task in tasks {
        checked += within::<R, _>(120, "a pipelined task", task).await;
    }
    assert!(checked > 16 * 100, "only {checked} answers checked");
    // Whatever the dropped queries left behind is drained by the next one.
    let row = conn
        .fetch_one("select 42::int4", ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
    assert!(conn.ready());
    assert!(!conn.in_transaction());
}

/// Requests too big for the socket buffers go out while another task's
/// large result comes in: neither side may wait for the other forever.
async fn large_requests_and_large_results_in_flight_together<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..6usize {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            for round in 0..3usize {
                if task % 2 == 0 {
                    let big = "x".repeat(3 * 1024 * 1024 + task * 1000 + round);
                    let row = conn
                        .fetch_one("select length($1::text)", (big.as_str(),))
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(row.try_get::<i32>(0).unwrap() as usize, big.len());
                } else {
                    let rows = conn
                        .fetch(
                            "select g, repeat('y', 200) from generate_series(1, 40000) g",
                            (),
                        )
                        .await
                        .unwrap();
                    assert_eq!(rows.len(), 40_000);
                }
            }
        }));
    }
    for task in tasks {
        within::<R, _>(120, "a large request or result", task).await;
    }
    assert!(conn.ready());
}

/// The server ends the session while tasks wait for their answers: every
/// one of them learns it with an error, none waits forever.
async fn a_dying_connection_fails_every_waiting_task<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let pid: i32 = conn
        .fetch_one("select pg_backend_pid()", ())
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..8i32 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            conn.fetch("select $1::int4, pg_sleep(0.3)", (task,)).await
        }));
    }
    R::sleep(std::time::Duration::from_millis(100)).await;
    let killer = connect::<R>().await;
    killer
        .execute("select pg_terminate_backend($1)", (pid,))
        .await
        .unwrap();
    let mut failed = 0;
    for task in tasks {
        if within::<R, _>(60, "a task on a dying connection", task)
            .await
            .is_err()
        {
            failed += 1;
        }
    }
    // The first query was running when the backend died; every one behind
    // it was waiting in the pipeline.
    assert!(
        failed >= 7,
        "only {failed} of 8 tasks saw the connection die"
    );
    assert!(conn.dead());
    assert!(matches!(
        conn.fetch("select 1", ()).await,
        Err(Error::Dead(_))
    ));
}

/// `close()` while other tasks wait in the pipeline: each ends, with its
/// answer or with `Error::Closed`, and none waits forever.
async fn closing_ends_every_waiting_task<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..8i32 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            conn.fetch("select $1::int4, pg_sleep(0.05)", (task,)).await
        }));
    }
    R::sleep(std::time::Duration::from_millis(20)).await;
    conn.close().await.unwrap();
    for (task, handle) in tasks.into_iter().enumerate() {
        match within::<R, _>(60, "a task on a closed connection", handle).await {
            Ok(rows) => assert_eq!(rows[0].try_get::<i32>(0).unwrap(), task as i32),
            Err(Error::Closed) => {}
            Err(e) => panic!("task {task}: {e:?}"),
        }
    }
    assert!(matches!(
        conn.fetch("select 1", ()).await,
        Err(Error::Closed)
    ));
}

/// Tasks that miss the statement cache for the same text at once each
/// prepare it; one statement stays cached and the twins are closed.
async fn concurrent_misses_leave_one_statement<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let sql = format!("select $1::int4 + 0 as {}", unique_name("twins"));
    let mut tasks = Vec::new();
    for task in 0..16i32 {
        let (conn, sql) = (Arc::clone(&conn), sql.clone());
        tasks.push(R::spawn(async move {
            let row = conn
                .fetch_one(sql.as_str(), (task,))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get::<i32>(0).unwrap(), task);
        }));
    }
    for task in tasks {
        within::<R, _>(60, "a task missing the cache", task).await;
    }
    // The closes owed for the twins go out ahead of this query.
    assert_eq!(prepared_count(&conn, &sql).await, 1);
}

runtime_tests!(
    concurrent_misses_leave_one_statement,
    closing_ends_every_waiting_task,
    random_drops_never_corrupt_the_connection,
    sixty_four_tasks_share_one_connection,
    pipelined_tasks_each_get_their_own_answer,
    large_requests_and_large_results_in_flight_together,
    a_dying_connection_fails_every_waiting_task,
);
