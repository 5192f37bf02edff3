//! What a service does: a pool. Requests on free connections, a
//! transaction on a connection of its own, and connections left dirty (a
//! transaction nobody ended, a query abandoned mid-way) cleaned before
//! anyone else gets them.

use std::time::{Duration, Instant};

use pgwire_tokio::{open_pool, ConnectOptions, PoolOptions};

use crate::ms;
use crate::shared::doubles;

pub async fn run(options: &ConnectOptions) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== a pool of 4 connections");
    let pool = open_pool(options, PoolOptions::new().max_size(4)).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..32i32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(doubles(task, 50, move |n| {
            let pool = pool.clone();
            async move { pool.fetch_one("select $1::int4 * 2", (n,)).await }
        })));
    }
    for task in tasks {
        task.await?.map_err(|e| e as Box<dyn std::error::Error>)?;
    }
    println!(
        "32 tasks x 50 queries: 1600 answers, each to its own task, in {} ms on {} connections",
        ms(started),
        pool.connections()
    );

    pool.execute("create table if not exists demo_pool_ledger (n int)", ())
        .await?;
    pool.execute("truncate demo_pool_ledger", ()).await?;
    let committed = pool
        .with_transaction(async |tx| {
            tx.execute(
                "insert into demo_pool_ledger select generate_series(1, 3)",
                (),
            )
            .await
        })
        .await?;
    println!("with_transaction on a connection of its own: {committed} rows committed");

    pool.simple_query("begin; insert into demo_pool_ledger values (99)")
        .await?;
    let row = pool
        .fetch_one("select count(*) from demo_pool_ledger", ())
        .await?
        .ok_or("count(*) returned no row")?;
    println!(
        "a `begin` left open through the pool was rolled back at check-in: {} rows, not 4",
        row.try_get::<i64>(0)?
    );

    let slow = pool.execute("select pg_sleep(30)", ());
    if tokio::time::timeout(Duration::from_millis(200), slow)
        .await
        .is_ok()
    {
        return Err("the sleep finished early".into());
    }
    let started = Instant::now();
    let conn = pool.checkout().await?;
    conn.execute("select 1", ()).await?;
    drop(conn);
    println!(
        "a pooled pg_sleep(30) dropped after 200 ms: cancelled and drained, next checkout clean in {} ms",
        ms(started)
    );
    pool.execute("drop table demo_pool_ledger", ()).await?;
    let stats = pool.stats();
    println!(
        "pool stats: {} opened, {} checkouts, {} rolled back, {} drained",
        stats.opened, stats.checkouts, stats.rolled_back, stats.drained
    );
    pool.close().await;
    Ok(())
}
