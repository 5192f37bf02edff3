//! Moving many rows: pipelines, execute_many, COPY in and out; and
//! LISTEN/NOTIFY between two connections.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use pgwire_tokio::{
    open_database_connection, types::oid, BinaryCopyInWriter, ConnectOptions, PgConnection,
    Pipeline,
};

use crate::{ms, table};

pub async fn run(
    conn: &PgConnection,
    options: &ConnectOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== many rows at once");
    conn.execute(
        "create temp table fruit (id int4 primary key, name text not null, price numeric(6,2))",
        (),
    )
    .await?;
    let started = Instant::now();
    let mut pipeline = Pipeline::new();
    for i in 0..10_000i32 {
        pipeline.push("select $1::int4 * 2", (i,));
    }
    let results = conn.run_pipeline(&pipeline).await?;
    for (i, result) in results.into_iter().enumerate() {
        if result?.rows[0].try_get::<i32>(0)? != 2 * i as i32 {
            return Err(format!("pipeline: statement {i} got another's answer").into());
        }
    }
    println!(
        "a pipeline of 10,000 statements, each its own answer, in {} ms",
        ms(started)
    );

    let started = Instant::now();
    let rows = (0..100_000i32).map(|i| (i, format!("fruit {i}"), f64::from(i % 500) / 100.0));
    let n = conn
        .execute_many("insert into fruit values ($1, $2, $3)", rows)
        .await?;
    println!(
        "execute_many: {n} rows under one Sync, all or nothing, in {} ms",
        ms(started)
    );

    let started = Instant::now();
    let copy = conn
        .copy_in("copy fruit from stdin (format binary)")
        .await?;
    let mut writer = BinaryCopyInWriter::new(copy, &[oid::INT4, oid::TEXT, oid::NUMERIC])?;
    for i in 100_000..200_000i32 {
        let price: pgwire_tokio::Numeric = "1.25".parse()?;
        writer.write(&[&i, &format!("fruit {i}"), &price]).await?;
    }
    let copied = writer.finish().await?;
    let mut out = conn
        .copy_out(
            "copy (select * from fruit where id % 50000 = 0 order by id) to stdout (format csv)",
        )
        .await?;
    let mut csv = String::new();
    while let Some(chunk) = out.try_next().await? {
        csv.push_str(&String::from_utf8_lossy(&chunk));
    }
    println!(
        "COPY in (binary rows): {copied} rows, and COPY out (csv) of every 50,000th, in {} ms:",
        ms(started)
    );
    for line in csv.lines() {
        println!("  {line}");
    }
    table::print(
        &conn
            .fetch(
                "select count(*) as fruit, sum(price) as total_price from fruit",
                (),
            )
            .await?,
    )?;

    println!("\n== LISTEN / NOTIFY");
    conn.listen("demo_orders").await?;
    let sender = open_database_connection(options).await?;
    let started = Instant::now();
    sender.notify("demo_orders", "order 42 shipped").await?;
    let mut notifications = conn.notifications();
    let got = tokio::time::timeout(Duration::from_secs(5), notifications.next())
        .await?
        .ok_or("the notification stream ended")??;
    println!(
        "another connection's NOTIFY arrived in {} ms on channel {:?}: {:?}",
        ms(started),
        got.channel,
        got.payload
    );
    conn.unlisten("demo_orders").await?;
    sender.close().await?;
    Ok(())
}
