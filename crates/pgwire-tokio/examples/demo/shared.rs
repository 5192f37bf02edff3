//! One connection, many tasks: their queries are pipelined; a transaction
//! reserves the connection (the others wait and never run inside it); a
//! large result streams with backpressure; a query past its time limit is
//! cancelled on the server; an SQL error leaves the connection usable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use pgwire_tokio::{Error, PgConnection, Query, Row, SqlState};

use crate::{ms, table};

/// Task `task` asks for `count` numbers times two through `ask`, and
/// checks that each answer is its own.
pub async fn doubles<F, Fut>(
    task: i32,
    count: i32,
    ask: F,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    F: Fn(i32) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Row>, Error>>,
{
    for i in 0..count {
        let n = task * 1000 + i;
        let twice: i32 = ask(n).await?.map_or(Ok(0), |r| r.try_get(0))?;
        if twice != n * 2 {
            return Err(format!("task {task} asked for {n} * 2, got {twice}").into());
        }
    }
    Ok(())
}

pub async fn run(conn: &Arc<PgConnection>) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== one connection shared by many tasks");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..16i32 {
        let conn = Arc::clone(conn);
        tasks.push(tokio::spawn(doubles(task, 100, move |n| {
            let conn = Arc::clone(&conn);
            async move { conn.fetch_one("select $1::int4 * 2", (n,)).await }
        })));
    }
    for task in tasks {
        task.await?.map_err(|e| e as Box<dyn std::error::Error>)?;
    }
    println!(
        "16 tasks x 100 queries, pipelined: 1600 answers, each to its own task, in {} ms",
        ms(started)
    );

    conn.execute("create temp table ledger (who text)", ())
        .await?;
    let tx = conn.begin().await?;
    tx.execute("insert into ledger values ('the transaction')", ())
        .await?;
    let other = tokio::spawn({
        let conn = Arc::clone(conn);
        async move {
            conn.execute("insert into ledger values ('another task')", ())
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.rollback().await?;
    other.await??;
    println!(
        "a transaction reserves the connection; another task's insert waited, then ran outside it:"
    );
    table::print(&conn.fetch("select who from ledger", ()).await?)?;

    let started = Instant::now();
    let mut rows = conn
        .query(
            "select g, md5(g::text) from generate_series(1, 1000000) g",
            (),
        )
        .await?;
    let mut sum = 0i64;
    while let Some(row) = rows.try_next().await? {
        sum += i64::from(row.try_get::<i32>(0)?);
    }
    println!(
        "streamed 1,000,000 rows (read as they arrive, memory flat): sum {sum}, in {} ms",
        ms(started)
    );

    let started = Instant::now();
    let slow = Query::new("select pg_sleep(30)").timeout(Duration::from_millis(200));
    match conn.execute(slow, ()).await {
        Err(e @ Error::QueryTimeout { .. }) => println!(
            "pg_sleep(30) with a 200 ms limit: {e} (after {} ms)",
            ms(started)
        ),
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    match conn.fetch("select * from no_such_table", ()).await {
        Err(e) if e.code() == Some(SqlState::UNDEFINED_TABLE) => println!(
            "an SQL error, caught: {e} (recoverable: {}, connection ready: {})",
            e.is_recoverable(),
            conn.ready()
        ),
        other => return Err(format!("expected an undefined_table error, got {other:?}").into()),
    }
    Ok(())
}
