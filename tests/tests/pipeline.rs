//! Explicit pipelines: per-statement results in both sync policies, errors
//! isolated or aborting the batch, transactions inside, commits that fail
//! at the end, big pipelines next to big results, drops at random points,
//! and the statement cache under them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use pgwire_conn::{Connection, Error, Pipeline, PipelineSync, SqlState};
use pgwire_integration_tests::drops::{race, Rng, YieldN};
use pgwire_integration_tests::{
    connect, prepared_count, runtime_only_tests, runtime_tests, unique_name, within, Runtime,
};

async fn count<S>(conn: &Connection<S>, table: &str) -> i64
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn
        .fetch_one(&format!("select count(*) from {table}"), ())
        .await
        .unwrap()
        .unwrap();
    row.try_get(0).unwrap()
}

async fn table<S>(conn: &Connection<S>, prefix: &str) -> String
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let t = unique_name(prefix);
    conn.execute(&format!("create temp table {t} (n int4 primary key)"), ())
        .await
        .unwrap();
    t
}

/// Each statement gets its own answer, in order, with its own parameters.
async fn every_statement_gets_its_own_answer<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut p = Pipeline::new();
    for i in 0..500i32 {
        p.push("select $1::int4 * 2, $2::text", (i, format!("n{i}")));
    }
    let results = conn.run_pipeline(&p).await.unwrap();
    assert_eq!(results.len(), 500);
    for (i, result) in results.into_iter().enumerate() {
        let result = result.unwrap();
        assert_eq!(result.rows.len(), 1);
        assert_eq!(result.rows[0].try_get::<i32>(0).unwrap(), 2 * i as i32);
        assert_eq!(result.rows[0].try_get::<&str>(1).unwrap(), format!("n{i}"));
        assert_eq!(result.row_count(), 1);
    }
    // The same in one Sync.
    let mut p = Pipeline::with_sync(PipelineSync::Once);
    for i in 0..500i32 {
        p.push("select $1::int4 + 1", (i,));
    }
    let results = conn.run_pipeline(&p).await.unwrap();
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(
            result.unwrap().rows[0].try_get::<i32>(0).unwrap(),
            i as i32 + 1
        );
    }
}

/// With a Sync per statement, a failing statement fails alone: the others
/// run and commit.
async fn per_statement_errors_stay_with_their_statement<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "pl_iso").await;
    let insert = format!("insert into {t} values ($1)");
    let mut p = Pipeline::new();
    p.push(insert.as_str(), (1i32,))
        .push("select nope", ())
        .push(insert.as_str(), (1i32,)) // duplicate key
        .push(insert.as_str(), (2i32,))
        .push("select 1/0", ())
        .push("select $1::int4", (7i32,));
    let results = conn.run_pipeline(&p).await.unwrap();
    assert_eq!(results[0].as_ref().unwrap().row_count(), 1);
    assert_eq!(
        results[1].as_ref().unwrap_err().code(),
        Some(SqlState::UNDEFINED_COLUMN)
    );
    assert!(results[2].as_ref().unwrap_err().is_unique_violation());
    assert_eq!(results[3].as_ref().unwrap().row_count(), 1);
    assert_eq!(
        results[4].as_ref().unwrap_err().code(),
        Some(SqlState::DIVISION_BY_ZERO)
    );
    assert_eq!(
        results[5].as_ref().unwrap().rows[0]
            .try_get::<i32>(0)
            .unwrap(),
        7
    );
    assert_eq!(count(&conn, &t).await, 2);
    // The connection goes on as usual.
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

/// With one Sync, an error ends the batch: the statements after it never
/// run, and those before it are rolled back with it.
async fn one_sync_fails_as_a_whole<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "pl_once").await;
    let insert = format!("insert into {t} values ($1)");
    let mut p = Pipeline::with_sync(PipelineSync::Once);
    p.push(insert.as_str(), (1i32,))
        .push("select 1/0", ())
        .push(insert.as_str(), (2i32,));
    match conn.run_pipeline(&p).await {
        Err(Error::Batch {
            statement: Some(1),
            source,
        }) => assert_eq!(source.code(), Some(SqlState::DIVISION_BY_ZERO)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&conn, &t).await,
        0,
        "the first insert was rolled back"
    );
    // Read one by one: the failed statement's own error, then NotRun.
    let mut results = conn.pipeline(&p).await.unwrap();
    assert!(results.next_result().await.unwrap().is_ok());
    let failed = results.next_result().await.unwrap().unwrap_err();
    assert_eq!(failed.code(), Some(SqlState::DIVISION_BY_ZERO));
    assert!(matches!(
        results.next_result().await.unwrap(),
        Err(Error::NotRun { failed: 1 })
    ));
    assert!(results.next_result().await.is_none());
    assert!(matches!(
        results.finish().await,
        Err(Error::Batch {
            statement: Some(1),
            ..
        })
    ));
    assert_eq!(count(&conn, &t).await, 0);
    // And when every statement succeeds, all of it stands.
    let mut p = Pipeline::with_sync(PipelineSync::Once);
    p.push(insert.as_str(), (1i32,))
        .push(insert.as_str(), (2i32,));
    conn.run_pipeline(&p).await.unwrap();
    assert_eq!(count(&conn, &t).await, 2);
}

/// A deferred constraint fails at the commit, after every statement
/// answered CommandComplete: never an `Ok`.
async fn a_commit_failing_at_the_end_is_an_error<R: Runtime>() {
    let conn = connect::<R>().await;
    let parent = unique_name("pl_parent");
    let child = unique_name("pl_child");
    conn.simple_query(&format!(
        "create temp table {parent} (id int4 primary key); \
         create temp table {child} (p int4 references {parent} deferrable initially deferred)"
    ))
    .await
    .unwrap();
    let orphan = format!("insert into {child} values (42)");
    let mut once = Pipeline::with_sync(PipelineSync::Once);
    once.push(orphan.as_str(), ()).push("select 1", ());
    match conn.run_pipeline(&once).await {
        Err(Error::Batch {
            statement: None,
            source,
        }) => assert!(source.is_foreign_key_violation()),
        other => panic!("{other:?}"),
    }
    let mut each = Pipeline::new();
    each.push(orphan.as_str(), ()).push("select 1", ());
    let results = conn.run_pipeline(&each).await.unwrap();
    assert!(results[0].as_ref().unwrap_err().is_foreign_key_violation());
    assert!(results[1].is_ok());
    assert_eq!(count(&conn, &child).await, 0);
}

/// BEGIN ... COMMIT as members: committed together, and a COMMIT that the
/// server turned into a ROLLBACK is an error, not an `Ok`.
async fn a_transaction_inside_a_pipeline<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "pl_tx").await;
    let insert = format!("insert into {t} values ($1)");
    for sync in [PipelineSync::PerStatement, PipelineSync::Once] {
        let base = if sync == PipelineSync::Once { 10 } else { 0 };
        let mut p = Pipeline::with_sync(sync);
        p.push("begin", ())
            .push(insert.as_str(), (base + 1,))
            .push(insert.as_str(), (base + 2,))
            .push("commit", ());
        let results = conn.run_pipeline(&p).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    assert_eq!(count(&conn, &t).await, 4);
    // A failure inside: the rest of the transaction is refused, the COMMIT
    // rolls back and says so.
    let mut p = Pipeline::new();
    p.push("begin", ())
        .push(insert.as_str(), (100i32,))
        .push("select 1/0", ())
        .push(insert.as_str(), (101i32,))
        .push("commit", ());
    let results = conn.run_pipeline(&p).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(
        results[2].as_ref().unwrap_err().code(),
        Some(SqlState::DIVISION_BY_ZERO)
    );
    assert_eq!(
        results[3].as_ref().unwrap_err().code(),
        Some(SqlState::IN_FAILED_SQL_TRANSACTION)
    );
    assert!(matches!(results[4], Err(Error::TransactionRolledBack)));
    assert_eq!(count(&conn, &t).await, 4);
    assert_eq!(
        conn.transaction_status(),
        pgwire_conn::TransactionStatus::Idle
    );
}

/// A pipeline inside a transaction (its reservation) runs in it.
async fn a_pipeline_inside_a_transaction<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "pl_in_tx").await;
    let insert = format!("insert into {t} values ($1)");
    let tx = conn.begin().await.unwrap();
    let mut p = Pipeline::new();
    for i in 0..20i32 {
        p.push(insert.as_str(), (i,));
    }
    let results = tx.run_pipeline(&p).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    tx.rollback().await.unwrap();
    assert_eq!(count(&conn, &t).await, 0);
}

/// Statements the cache lacks are prepared once, then bound by name; with
/// the cache off everything runs unnamed; client-side errors send nothing.
async fn the_cache_serves_pipelines<R: Runtime>() {
    let conn = connect::<R>().await;
    let sql = "select $1::int4 - 1";
    let mut p = Pipeline::new();
    for i in 0..50i32 {
        p.push(sql, (i,));
    }
    for _ in 0..3 {
        let results = conn.run_pipeline(&p).await.unwrap();
        assert_eq!(
            results[49].as_ref().unwrap().rows[0]
                .try_get::<i32>(0)
                .unwrap(),
            48
        );
    }
    assert_eq!(prepared_count(&conn, sql).await, 1);
    // Named parameters, and a statement given too few values: nothing of
    // the pipeline runs.
    let t = table(&conn, "pl_named").await;
    let insert = format!("insert into {t} values (:n)");
    let mut bad = Pipeline::new();
    bad.push(insert.as_str(), pgwire_conn::named! { n: 1i32 })
        .push("select $1::int4, $2::int4", (1i32,));
    match conn.run_pipeline(&bad).await {
        Err(Error::Batch {
            statement: Some(1),
            source,
        }) => assert!(matches!(*source, Error::Params(_)), "{source:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&conn, &t).await, 0, "nothing was sent");
    let mut good = Pipeline::new();
    good.push(insert.as_str(), pgwire_conn::named! { n: 1i32 });
    conn.run_pipeline(&good).await.unwrap();
    assert_eq!(count(&conn, &t).await, 1);
    // The cache off: unnamed statements, binary results all the same.
    conn.set_statement_cache_capacity(0);
    let results = conn.run_pipeline(&p).await.unwrap();
    assert_eq!(
        results[10].as_ref().unwrap().rows[0]
            .try_get::<i32>(0)
            .unwrap(),
        9
    );
}

/// 10 MB of statements next to 10 MB of results: both directions full at
/// once, and nothing waits forever.
async fn a_big_pipeline_next_to_big_results<R: Runtime>() {
    let conn = connect::<R>().await;
    let text = "x".repeat(10_000);
    let mut p = Pipeline::new();
    for _ in 0..1000 {
        p.push("select $1::text", (text.as_str(),));
    }
    let results = within::<R, _>(60, "a 10 MB pipeline", conn.run_pipeline(&p))
        .await
        .unwrap();
    assert_eq!(results.len(), 1000);
    for result in results {
        assert_eq!(
            result.unwrap().rows[0].try_get::<&str>(0).unwrap().len(),
            10_000
        );
    }
}

/// Runs `op`, dropping it at some point: in even rounds within its first
/// few polls (before any answer can have arrived, however loaded the
/// machine is), else at a random point. `None` if it was dropped.
async fn drop_somewhere<R: Runtime, F: std::future::Future>(
    op: F,
    rng: &mut Rng,
    round: i32,
) -> Option<F::Output> {
    use futures_util::future::{select, Either};
    if round % 2 == 0 {
        let early = YieldN(rng.below(4));
        futures_util::pin_mut!(op, early);
        return match select(op, early).await {
            Either::Left((out, _)) => Some(out),
            Either::Right(_) => None,
        };
    }
    race::<R, _>(op, rng).await
}

/// Dropped at random points, a pipeline leaves the connection answering
/// everyone correctly, and the rows of every completed run are all there.
async fn random_drops_during_pipelines<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "pl_drops").await;
    let insert = format!("insert into {t} values ($1)");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let (mut committed, mut maybe) = (BTreeSet::new(), BTreeSet::new());
    let mut dropped = 0;
    for round in 0..300i32 {
        let sync = if round % 2 == 0 {
            PipelineSync::PerStatement
        } else {
            PipelineSync::Once
        };
        let mut p = Pipeline::with_sync(sync);
        let keys: Vec<i32> = (0..5).map(|k| round * 10 + k).collect();
        for &k in &keys {
            p.push(insert.as_str(), (k,));
            p.push("select $1::int4", (k,));
        }
        // The last answer comes at least 10 ms after the pipeline went out,
        // so an early drop lands while it is in flight. (Without it, on a
        // busy machine the server could answer everything before the first
        // poll returned.)
        p.push("select pg_sleep(0.01)", ());
        match drop_somewhere::<R, _>(conn.run_pipeline(&p), &mut rng, round / 2).await {
            Some(results) => {
                let results = results.unwrap();
                for (i, &k) in keys.iter().enumerate() {
                    assert_eq!(results[2 * i].as_ref().unwrap().row_count(), 1);
                    let echo = &results[2 * i + 1].as_ref().unwrap().rows[0];
                    assert_eq!(echo.try_get::<i32>(0).unwrap(), k);
                    committed.insert(k);
                }
            }
            None => {
                dropped += 1;
                maybe.extend(keys);
            }
        }
        // Whatever was dropped, the next answer is this call's own.
        let echo = conn
            .fetch_one("select $1::int4", (round,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echo.try_get::<i32>(0).unwrap(), round);
    }
    assert!(dropped > 20, "only {dropped} of 300 runs were dropped");
    let rows = conn.fetch(&format!("select n from {t}"), ()).await.unwrap();
    let saved: BTreeSet<i32> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert!(
        committed.is_subset(&saved),
        "a completed pipeline's rows are missing"
    );
    assert!(saved.is_subset(&committed.union(&maybe).copied().collect()));
}

/// Tasks sharing the connection with a pipeline get their own answers.
async fn pipelines_and_other_tasks_share_a_connection<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..8i32 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            for round in 0..20i32 {
                if task % 2 == 0 {
                    let mut p = Pipeline::new();
                    for i in 0..30i32 {
                        p.push("select $1::int4, $2::int4", (task, round * 100 + i));
                    }
                    let results = conn.run_pipeline(&p).await.unwrap();
                    for (i, r) in results.into_iter().enumerate() {
                        let row = &r.unwrap().rows[0];
                        assert_eq!(row.try_get::<i32>(0).unwrap(), task);
                        assert_eq!(row.try_get::<i32>(1).unwrap(), round * 100 + i as i32);
                    }
                } else {
                    let row = conn
                        .fetch_one("select $1::int4 * 1000 + $2::int4", (task, round))
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(row.try_get::<i32>(0).unwrap(), task * 1000 + round);
                }
            }
        }));
    }
    for task in tasks {
        task.await;
    }
}

/// A table of seven mixed columns (MagicStack's query 6 shape).
async fn wide_table<S>(conn: &Connection<S>, prefix: &str) -> String
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let t = unique_name(prefix);
    conn.execute(
        &format!(
            "create temp table {t} (id int4 primary key, big int8, name text, \
             score float8, flag bool, data bytea, note text)"
        ),
        (),
    )
    .await
    .unwrap();
    t
}

type Wide = (i32, i64, String, f64, bool, Vec<u8>, Option<String>);

fn wide_rows(range: std::ops::Range<i32>) -> Vec<Wide> {
    range
        .map(|i| {
            let note = (i % 3 == 0).then(|| format!("note {i}"));
            (
                i,
                i64::from(i) << 20,
                format!("name {i}"),
                f64::from(i) / 4.0,
                i % 2 == 0,
                vec![i as u8; 16],
                note,
            )
        })
        .collect()
}

fn insert_wide(t: &str) -> String {
    format!("insert into {t} values ($1, $2, $3, $4, $5, $6, $7)")
}

/// Every row goes in, with its own values, in chunks far past one write.
async fn execute_many_inserts_every_row<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = wide_table(&conn, "many").await;
    let rows = wide_rows(0..5000);
    let n = conn
        .execute_many(insert_wide(&t).as_str(), &rows)
        .await
        .unwrap();
    assert_eq!(n, 5000);
    let check = conn
        .fetch_one(
            &format!(
                "select count(*), sum(big), count(note), sum(length(data)), \
                 bool_and(flag = (id % 2 = 0)), sum(score)::float8 from {t}"
            ),
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.try_get::<i64>(0).unwrap(), 5000);
    let big: i64 = (0..5000i64).map(|i| i << 20).sum();
    assert_eq!(
        check
            .try_get::<pgwire_conn::Numeric>(1)
            .unwrap()
            .to_string(),
        big.to_string()
    );
    assert_eq!(check.try_get::<i64>(2).unwrap(), 1667);
    assert_eq!(check.try_get::<i64>(3).unwrap(), 5000 * 16);
    assert!(check.try_get::<bool>(4).unwrap());
    assert_eq!(
        check.try_get::<f64>(5).unwrap(),
        (0..5000).map(|i| f64::from(i) / 4.0).sum::<f64>()
    );
    // No rows: nothing to do. And the connection goes on.
    let none: Vec<Wide> = Vec::new();
    assert_eq!(
        conn.execute_many(insert_wide(&t).as_str(), &none)
            .await
            .unwrap(),
        0
    );
    assert_eq!(count(&conn, &t).await, 5000);
}

/// An error in row k says k, and no row stands: on the server (a
/// duplicate key) early or late, or on the client (too few values) in the
/// first chunk (nothing sent) or a later one (the batch is aborted).
async fn execute_many_reports_the_failing_row<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "many_err").await;
    let insert = format!("insert into {t} values ($1)");
    for dup in [3usize, 4000] {
        let mut keys: Vec<(i32,)> = (0..5000).map(|i| (i,)).collect();
        keys[dup] = (0,);
        match conn.execute_many(insert.as_str(), &keys).await {
            Err(Error::Batch {
                statement: Some(k),
                source,
            }) => {
                assert_eq!(k, dup);
                assert!(source.is_unique_violation(), "{source:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            count(&conn, &t).await,
            0,
            "rows before the failing one stood"
        );
    }
    let one: i32 = 1;
    for short in [2usize, 3000] {
        let mut rows: Vec<Vec<&(dyn pgwire_conn::ToSql + Sync)>> =
            (0..5000).map(|_| vec![&one as _]).collect();
        rows[short] = Vec::new();
        // Distinct keys, so that only the short row can fail.
        let insert = format!("insert into {t} select coalesce(max(n), 0) + $1 from {t}");
        match conn.execute_many(insert.as_str(), &rows).await {
            Err(Error::Batch {
                statement: Some(k),
                source,
            }) => {
                assert_eq!(k, short);
                assert!(matches!(*source, Error::Params(_)), "{source:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(count(&conn, &t).await, 0);
        assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    }
    // A commit failing at the end names no row.
    let parent = unique_name("many_parent");
    let child = unique_name("many_child");
    conn.simple_query(&format!(
        "create temp table {parent} (id int4 primary key); \
         create temp table {child} (p int4 references {parent} deferrable initially deferred)"
    ))
    .await
    .unwrap();
    let rows: Vec<(i32,)> = (0..10).map(|i| (i,)).collect();
    match conn
        .execute_many(format!("insert into {child} values ($1)").as_str(), &rows)
        .await
    {
        Err(Error::Batch {
            statement: None,
            source,
        }) => assert!(source.is_foreign_key_violation()),
        other => panic!("{other:?}"),
    }
}

/// Inside a transaction, execute_many runs in it.
async fn execute_many_in_a_transaction<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = table(&conn, "many_tx").await;
    let rows: Vec<(i32,)> = (0..3000).map(|i| (i,)).collect();
    let tx = conn.begin().await.unwrap();
    let n = tx
        .execute_many(format!("insert into {t} values ($1)").as_str(), &rows)
        .await
        .unwrap();
    assert_eq!(n, 3000);
    tx.rollback().await.unwrap();
    assert_eq!(count(&conn, &t).await, 0);
}

/// Dropped anywhere, execute_many leaves all of its rows or none, and the
/// connection answers everyone right afterwards; tasks sharing the
/// connection wait for it and get their own answers.
async fn execute_many_dropped_at_random_points<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let t = table(&conn, "many_drops").await;
    let insert = format!("insert into {t} values ($1)");
    let other = {
        let conn = Arc::clone(&conn);
        R::spawn(async move {
            for i in 0..400i32 {
                let row = conn
                    .fetch_one("select $1::int4", (i,))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i32>(0).unwrap(), i);
            }
        })
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut dropped = 0;
    for round in 0..150i32 {
        let rows: Vec<(i32,)> = (0..2500).map(|k| (round * 10_000 + k,)).collect();
        let out =
            drop_somewhere::<R, _>(conn.execute_many(insert.as_str(), &rows), &mut rng, round)
                .await;
        match &out {
            Some(n) => assert_eq!(*n.as_ref().unwrap(), 2500),
            None => dropped += 1,
        }
        let lo = round * 10_000;
        let row = conn
            .fetch_one(
                &format!("select count(*) from {t} where n >= $1 and n < $2"),
                (lo, lo + 10_000),
            )
            .await
            .unwrap()
            .unwrap();
        let saved: i64 = row.try_get(0).unwrap();
        match out {
            Some(_) => assert_eq!(saved, 2500),
            None => assert!(
                saved == 0 || saved == 2500,
                "a dropped run left {saved} rows"
            ),
        }
    }
    assert!(dropped > 10, "only {dropped} of 150 runs were dropped");
    within::<R, _>(60, "the other task", other).await;
}

/// A stream per statement: rows read as polled, the error as the last item,
/// the row count at the end; a stream dropped half-read is skipped, and
/// the next statement gets its own answer.
async fn streams_inside_pipelines<R: Runtime>() {
    use futures_util::TryStreamExt;
    let conn = connect::<R>().await;
    for sync in [PipelineSync::PerStatement, PipelineSync::Once] {
        let mut p = Pipeline::with_sync(sync);
        p.push("select g from generate_series(1, 20000) g", ())
            .push("select g from generate_series(1, 50000) g", ())
            .push("select $1::int4", (7i32,))
            .push("select 1/0", ());
        let mut results = conn.pipeline(&p).await.unwrap();
        let mut first = results.next_rows().await.unwrap();
        assert_eq!(first.index(), 0);
        let mut sum = 0i64;
        while let Some(row) = first.try_next().await.unwrap() {
            sum += i64::from(row.try_get::<i32>(0).unwrap());
        }
        assert_eq!(sum, 20000 * 20001 / 2);
        assert_eq!(first.row_count(), Some(20000));
        // Read 10 rows of the second, then drop it.
        let mut second = results.next_rows().await.unwrap();
        for i in 1..=10 {
            let row = second.try_next().await.unwrap().unwrap();
            assert_eq!(row.try_get::<i32>(0).unwrap(), i);
        }
        let third = results.next_result().await.unwrap().unwrap();
        assert_eq!(third.rows[0].try_get::<i32>(0).unwrap(), 7);
        let mut fourth = results.next_rows().await.unwrap();
        let error = fourth.try_next().await.unwrap_err();
        assert_eq!(error.code(), Some(SqlState::DIVISION_BY_ZERO));
        assert!(fourth.try_next().await.unwrap().is_none());
        assert!(results.next_rows().await.is_none());
        let finished = results.finish().await;
        assert_eq!(
            finished.is_err(),
            sync == PipelineSync::Once,
            "{finished:?}"
        );
        assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    }
}

/// A pipeline's time limit: the statement running when it passes is
/// cancelled and fails with the timeout (with a Sync per statement, the
/// later ones still run and answer; with one, the batch fails at it),
/// nothing waits forever, and the connection answers the next query.
async fn a_pipeline_past_its_time_limit<R: Runtime>() {
    let conn = connect::<R>().await;
    for sync in [PipelineSync::PerStatement, PipelineSync::Once] {
        let mut p = Pipeline::with_sync(sync);
        p.push("select 1", ())
            .push("select pg_sleep(30)", ())
            .push("select 3", ())
            .timeout(std::time::Duration::from_millis(300));
        let run = conn.run_pipeline(&p);
        match within::<R, _>(20, "a pipeline past its time limit", run).await {
            Ok(results) => {
                assert_eq!(sync, PipelineSync::PerStatement);
                assert!(results[0].is_ok(), "{results:?}");
                assert!(
                    matches!(results[1], Err(Error::QueryTimeout { .. })),
                    "{results:?}"
                );
                // Cancelled on the server, the statement after it still ran,
                // or, on a machine slow enough that the time limit was past
                // again while it ran, was cancelled in its turn: the
                // pipeline's own time limit either way, never another's.
                match &results[2] {
                    Ok(third) => assert_eq!(third.rows[0].try_get::<i32>(0).unwrap(), 3),
                    Err(Error::QueryTimeout { .. }) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            Err(Error::Batch {
                statement: Some(1),
                source,
            }) => {
                assert_eq!(sync, PipelineSync::Once);
                assert!(matches!(*source, Error::QueryTimeout { .. }), "{source:?}");
            }
            Err(e) => panic!("{e:?}"),
        }
        let row = conn
            .fetch_one("select $1::int4", (11i32,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i32>(0).unwrap(), 11);
    }
}

runtime_tests!(
    a_pipeline_past_its_time_limit,
    streams_inside_pipelines,
    execute_many_inserts_every_row,
    execute_many_reports_the_failing_row,
    execute_many_in_a_transaction,
    every_statement_gets_its_own_answer,
    per_statement_errors_stay_with_their_statement,
    one_sync_fails_as_a_whole,
    a_commit_failing_at_the_end_is_an_error,
    a_transaction_inside_a_pipeline,
    a_pipeline_inside_a_transaction,
    the_cache_serves_pipelines,
);

mod once_per_runtime {
    use super::*;
    runtime_only_tests!(
        a_big_pipeline_next_to_big_results,
        random_drops_during_pipelines,
        pipelines_and_other_tasks_share_a_connection,
        execute_many_dropped_at_random_points,
    );
}
