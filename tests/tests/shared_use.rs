//! Cancel safety and shared use: futures dropped at random await points
//! thousands of times (queries, streams held across awaits, transactions,
//! savepoints, COMMITs, time limits), one connection shared by 64 tasks, and
//! pipelined tasks whose queries fail, stream, are dropped, or outgrow the
//! socket buffers, or whose connection dies under them. Every operation that
//! completes is checked against its own expected answer, and the drops are
//! counted, so the suites prove what they claim.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pgwire_conn::{Connection, Error, Query, SqlState};
use pgwire_integration_tests::streams::{Gate, Gated};
use pgwire_integration_tests::{
    assert_code, backend_pid, connect, connect_over, prepared_count, race, runtime_tests,
    unique_name, within, Rng, Runtime,
};

/// How often each kind of operation completed and was dropped.
#[derive(Debug, Default)]
struct Tally {
    completed: [u32; KINDS],
    dropped: [u32; KINDS],
}

const KINDS: usize = 10;
/// The kinds that take long enough to be dropped midway whatever the load.
const SLOW_KINDS: [usize; 5] = [2, 3, 4, 7, 8];
const KIND_NAMES: [&str; KINDS] = [
    "fetch",
    "execute",
    "stream held across an await",
    "rolled-back transaction",
    "committed transaction",
    "failing query",
    "simple query",
    "savepoints",
    "time limit",
    "COMMIT",
];

impl Tally {
    fn count<T>(&mut self, kind: usize, outcome: &Option<T>) {
        match outcome {
            Some(_) => self.completed[kind] += 1,
            None => self.dropped[kind] += 1,
        }
    }

    /// Every kind completed, the slow kinds (streams held, transactions,
    /// savepoints, time limits) were also dropped many times, and drops
    /// were many in all. (Quick kinds are dropped only when the race beats
    /// them, which a busy machine may make rare.)
    #[track_caller]
    fn assert_both_ways(&self, total_drops: u32) {
        for (kind, name) in KIND_NAMES.iter().enumerate() {
            let (done, dropped) = (self.completed[kind], self.dropped[kind]);
            assert!(
                done >= 2,
                "{name}: {done} completed, {dropped} dropped: {self:?}"
            );
            if SLOW_KINDS.contains(&kind) {
                assert!(dropped >= 10, "{name}: only {dropped} dropped: {self:?}");
            }
        }
        let dropped: u32 = self.dropped.iter().sum();
        assert!(dropped >= total_drops, "only {dropped} drops: {self:?}");
    }
}

/// Records what a commit that completed (or was dropped) says of row `i`.
fn saved<T: std::fmt::Debug>(
    out: &Option<pgwire_conn::Result<T>>,
    i: i64,
    committed: &mut BTreeSet<i64>,
    maybe: &mut BTreeSet<i64>,
) {
    match out {
        Some(result) => {
            result.as_ref().unwrap();
            committed.insert(i);
        }
        None => {
            maybe.insert(i);
        }
    }
}

async fn row_i64<S>(conn: &Connection<S>, sql: &str, n: i64) -> i64
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one(sql, (n,))
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn random_drops_never_corrupt_the_connection<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("cancel");
    conn.execute(&format!("create temp table {t} (n int8 primary key)"), ())
        .await
        .unwrap();
    let insert = format!("insert into {t} values ($1)");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tally = Tally::default();
    // Rows a completed commit saved; rows a dropped COMMIT may have saved.
    let (mut committed, mut maybe) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..2000i64 {
        let kind = rng.below(KINDS as u64) as usize;
        let pause = Duration::from_micros(rng.below(2000));
        match kind {
            0 => {
                let out = race::<R, _>(conn.fetch("select $1::int8", (i,)), &mut rng).await;
                if let Some(rows) = &out {
                    assert_eq!(rows.as_ref().unwrap()[0].try_get::<i64>(0).unwrap(), i);
                }
                tally.count(kind, &out);
            }
            1 => {
                let op = conn.execute("select g from generate_series(1, 2000) g", ());
                let out = race::<R, _>(op, &mut rng).await;
                if let Some(n) = &out {
                    assert_eq!(*n.as_ref().unwrap(), 2000);
                }
                tally.count(kind, &out);
            }
            2 => {
                let op = async {
                    let mut rows = conn
                        .query("select g, $1::int8 from generate_series(1, 5000) g", (i,))
                        .await?;
                    // Held unread across an await, then read.
                    R::sleep(pause).await;
                    let mut n = 0i64;
                    while let Some(row) = rows.next().await {
                        let row = row?;
                        assert_eq!(row.try_get::<i64>(1)?, i);
                        n += i64::from(row.try_get::<i32>(0)?);
                    }
                    Ok::<_, Error>(n)
                };
                let out = race::<R, _>(op, &mut rng).await;
                if let Some(n) = &out {
                    assert_eq!(*n.as_ref().unwrap(), 5000 * 5001 / 2);
                }
                tally.count(kind, &out);
            }
            3 => {
                // A transaction abandoned anywhere, or rolled back, leaves
                // nothing behind.
                let op = conn.with_transaction(async |tx| {
                    tx.execute(&insert, (-i,)).await?;
                    tx.execute("select pg_sleep(0.001)", ()).await?;
                    Err::<(), _>(Error::InvalidInput("always roll back".into()))
                });
                let out = race::<R, _>(op, &mut rng).await;
                if let Some(result) = &out {
                    assert!(matches!(result, Err(Error::InvalidInput(_))), "{result:?}");
                }
                tally.count(kind, &out);
            }
            4 => {
                let op = conn.with_transaction(async |tx| {
                    tx.execute(&insert, (i,)).await?;
                    tx.execute("select pg_sleep(0.001)", ()).await?;
                    Ok::<_, Error>(())
                });
                let out = race::<R, _>(op, &mut rng).await;
                saved(&out, i, &mut committed, &mut maybe);
                tally.count(kind, &out);
            }
            5 => {
                let op = conn.fetch("select * from nonexistent_for_cancel", ());
                let out = race::<R, _>(op, &mut rng).await;
                if let Some(result) = out.as_ref() {
                    assert_eq!(
                        result.as_ref().err().and_then(Error::code),
                        Some(SqlState::UNDEFINED_TABLE)
                    );
                }
                tally.count(kind, &out);
            }
            6 => {
                let op = conn.simple_query("select 1; select 2; select 3");
                let out = race::<R, _>(op, &mut rng).await;
                if let Some(results) = &out {
                    let values: Vec<_> = results
                        .as_ref()
                        .unwrap()
                        .iter()
                        .map(|r| r.rows[0].text(0).unwrap().unwrap().to_owned())
                        .collect();
                    assert_eq!(values, ["1", "2", "3"]);
                }
                tally.count(kind, &out);
            }
            7 => {
                // Savepoints dropped or rolled back mid-await; the outer
                // transaction commits only what it kept.
                let op = async {
                    let tx = conn.begin().await?;
                    tx.execute(&insert, (i,)).await?;
                    {
                        let sp = tx.begin().await?;
                        sp.execute(&insert, (-i,)).await?;
                        R::sleep(pause).await;
                        // Dropped here: rolled back to.
                    }
                    let sp = tx.begin().await?;
                    sp.execute(&insert, (-i - 1_000_000,)).await?;
                    sp.rollback().await?;
                    tx.commit().await
                };
                let out = race::<R, _>(op, &mut rng).await;
                saved(&out, i, &mut committed, &mut maybe);
                tally.count(kind, &out);
            }
            8 => {
                let limit = Duration::from_micros(500 + rng.below(4000));
                let query = Query::new("select $1::int8, pg_sleep(0.002)").timeout(limit);
                let out = race::<R, _>(conn.fetch(query, (i,)), &mut rng).await;
                match &out {
                    Some(Ok(rows)) => assert_eq!(rows[0].try_get::<i64>(0).unwrap(), i),
                    Some(Err(Error::QueryTimeout { .. })) | None => {}
                    Some(Err(e)) => panic!("iteration {i}: {e:?}"),
                }
                tally.count(kind, &out);
            }
            _ => {
                // A COMMIT dropped before its answer: committed or not,
                // never half, and the next begin() starts afresh.
                let tx = conn.begin().await.unwrap();
                tx.execute(&insert, (i,)).await.unwrap();
                let out = race::<R, _>(tx.commit(), &mut rng).await;
                saved(&out, i, &mut committed, &mut maybe);
                tally.count(kind, &out);
            }
        }
        // Every following answer is right, outside any transaction.
        assert_eq!(
            row_i64(&conn, "select $1::int8", i).await,
            i,
            "iteration {i}"
        );
        assert!(!conn.in_transaction(), "iteration {i}");
        assert!(conn.ready(), "iteration {i}");
    }
    tally.assert_both_ways(400);
    // Completed commits are saved; rolled-back work never is.
    let rows: BTreeSet<i64> = conn
        .fetch(&format!("select n from {t}"), ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert!(
        committed.is_subset(&rows),
        "lost commits: {:?}",
        committed.difference(&rows)
    );
    let unexpected: Vec<_> = rows
        .iter()
        .filter(|n| !committed.contains(n) && !maybe.contains(n))
        .collect();
    assert!(
        unexpected.is_empty(),
        "rolled-back rows saved: {unexpected:?}"
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

/// Pipelined tasks whose queries succeed, fail, stream rows (held across
/// awaits), hit time limits, run transactions, or are dropped midway, all at
/// once on one connection: each answer reaches its own task, and each
/// completed commit is saved.
async fn pipelined_tasks_each_get_their_own_answer<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let t = unique_name("pipelined");
    conn.execute(&format!("create temp table {t} (n int8 primary key)"), ())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let (conn, insert) = (Arc::clone(&conn), format!("insert into {t} values ($1)"));
        tasks.push(R::spawn(async move {
            let mut rng = Rng(0x2545_F491 + task * 7919);
            let (mut checked, mut dropped) = (0u32, 0u32);
            let (mut committed, mut maybe) = (BTreeSet::new(), BTreeSet::new());
            for i in 0..150i64 {
                let n = (task as i64) * 100_000 + i;
                match rng.below(8) {
                    0 => {
                        let err = conn.fetch("select 1 / ($1::int4 - $1::int4)", (n as i32,));
                        assert_code(err.await, pgwire_conn::SqlState::DIVISION_BY_ZERO);
                    }
                    1 => {
                        let mut rows = conn
                            .query("select g, $1::int8 from generate_series(1, 500) g", (n,))
                            .await
                            .unwrap();
                        // Held unread while other tasks go on.
                        R::sleep(Duration::from_micros(rng.below(1000))).await;
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
                        match race::<R, _>(op, &mut rng).await {
                            Some(rows) => {
                                let rows = rows.unwrap();
                                assert_eq!(rows[0].try_get::<i64>(0).unwrap(), n);
                            }
                            None => {
                                dropped += 1;
                                continue;
                            }
                        }
                    }
                    3 => {
                        let rows = conn
                            .fetch("select :n::int8 * 2", pgwire_conn::named! { n: n })
                            .await
                            .unwrap();
                        assert_eq!(rows[0].try_get::<i64>(0).unwrap(), n * 2);
                    }
                    4 => {
                        let op = conn.with_transaction(async |tx| {
                            tx.execute(&insert, (n,)).await?;
                            let row = tx.fetch_one("select $1::int8", (n,)).await?;
                            assert_eq!(row.unwrap().try_get::<i64>(0)?, n);
                            Ok::<_, Error>(())
                        });
                        // Half of them run to the end (other tasks wait for
                        // them), half may be dropped anywhere.
                        let out = if rng.below(2) == 0 {
                            Some(op.await)
                        } else {
                            race::<R, _>(op, &mut rng).await
                        };
                        match out {
                            Some(result) => {
                                result.unwrap();
                                committed.insert(n);
                            }
                            None => {
                                maybe.insert(n);
                                dropped += 1;
                                continue;
                            }
                        }
                    }
                    5 => {
                        let limit = Duration::from_micros(300 + rng.below(3000));
                        let query = Query::new("select $1::int8, pg_sleep(0.001)").timeout(limit);
                        match conn.fetch(query, (n,)).await {
                            Ok(rows) => assert_eq!(rows[0].try_get::<i64>(0).unwrap(), n),
                            Err(Error::QueryTimeout { .. }) => {}
                            Err(e) => panic!("task {task}: {e:?}"),
                        }
                    }
                    _ => {
                        let row = conn.fetch_one("select $1::int8", (n,)).await.unwrap();
                        assert_eq!(row.unwrap().try_get::<i64>(0).unwrap(), n);
                    }
                }
                checked += 1;
            }
            (checked, dropped, committed, maybe)
        }));
    }
    let (mut checked, mut dropped) = (0, 0);
    let (mut committed, mut maybe) = (BTreeSet::new(), BTreeSet::new());
    for task in tasks {
        let (c, d, mut yes, mut perhaps) = within::<R, _>(120, "a pipelined task", task).await;
        checked += c;
        dropped += d;
        committed.append(&mut yes);
        maybe.append(&mut perhaps);
    }
    assert!(checked > 16 * 100, "only {checked} answers checked");
    assert!(dropped > 50, "only {dropped} operations were dropped");
    assert!(committed.len() > 100, "only {} commits", committed.len());
    // Whatever the dropped queries left behind is drained by the next one.
    let row = conn
        .fetch_one("select 42::int4", ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
    assert!(conn.ready());
    assert!(!conn.in_transaction());
    let rows: BTreeSet<i64> = conn
        .fetch(&format!("select n from {t}"), ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert!(committed.is_subset(&rows), "lost commits");
    assert!(rows
        .iter()
        .all(|n| committed.contains(n) || maybe.contains(n)));
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
    let pid = backend_pid(&conn).await;
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
/// prepare it (the stream holds every answer back until all 16 requests
/// are written, so they all miss); one statement stays cached and the twins
/// are closed.
async fn concurrent_misses_leave_one_statement<R: Runtime>() {
    let gate = Gate::default();
    let conn = Arc::new(connect_over::<R, _, _>(|s| Gated::new(s, gate.clone())).await);
    let sql = format!("select $1::int4 + 0 as {}", unique_name("twins"));
    gate.arm(16);
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
    let stats = conn.statement_cache_stats();
    assert_eq!(stats.prepared, 16, "every task prepared a twin: {stats:?}");
    assert_eq!(stats.twins, 15, "{stats:?}");
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
