//! The `cargo xtask demo` program: connect, create a table, insert, select,
//! print the rows as a table, catch an SQL error without losing the
//! connection, share the connection between tasks (pipelined queries, a
//! transaction that reserves it), cancel a query past its time limit, and
//! then the same work through a pool.
//!
//! It is configured the way libpq is: from the PG* environment variables
//! (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pgwire_tokio::{
    named, open_database_connection, open_pool, ConnectOptions, Error, PgConnection, PoolOptions,
    Query, Row, SqlState,
};

fn print_table(rows: &[Row]) -> Result<(), pgwire_tokio::Error> {
    let Some(first) = rows.first() else {
        println!("(no rows)");
        return Ok(());
    };
    let headers: Vec<&str> = first
        .description()
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    // Dynamic values print like psql, whatever the column type and format.
    let mut cells: Vec<Vec<String>> = Vec::new();
    for row in rows {
        cells.push(
            row.values_dynamic()?
                .iter()
                .map(ToString::to_string)
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!(" {v:<w$} "))
            .collect();
        println!("  |{}|", padded.join("|"));
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    line(headers);
    println!("  |{}|", rule.join("+"));
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    println!("  ({} rows)", rows.len());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ConnectOptions::from_env()?.application_name("pgwire-demo");
    println!(
        "connecting to {} as {} (sslmode {}) ...",
        options.describe_target(),
        options.user(),
        options.get_ssl_mode()
    );
    let conn = open_database_connection(&options).await?;
    let params = conn.connection_parameters();
    println!(
        "connected: PostgreSQL {}, time zone {}, backend pid {}",
        params.get("server_version").map_or("?", String::as_str),
        conn.server_timezone().unwrap_or_default(),
        conn.backend_key().map_or(0, |k| k.process_id),
    );

    let created = conn
        .execute("create temp table fruit (id serial primary key, name text not null, price numeric(6,2), note text)", ())
        .await?;
    println!("\ncreate temp table fruit -> {created} rows");
    // Values travel as bind parameters, never spliced into the SQL; the four
    // inserts commit together or not at all.
    let fruit: [(&str, f64, Option<&str>); 4] = [
        ("apple", 0.50, Some("crisp")),
        ("banana", 0.25, None),
        ("cherry", 4.20, Some("by the kilo")),
        ("durian", 12.00, Some("smelly")),
    ];
    let inserted = conn
        .with_transaction(async |tx| {
            let mut n = 0;
            for (name, price, note) in fruit {
                n += tx
                    .execute(
                        "insert into fruit (name, price, note) values ($1, $2, $3)",
                        (name, price, note),
                    )
                    .await?;
            }
            Ok::<_, pgwire_tokio::Error>(n)
        })
        .await?;
    println!("insert into fruit ($1, $2, $3) x4 in one transaction -> {inserted} rows");
    let updated = conn
        .execute(
            "update fruit set price = price * 1.1 where price < :limit",
            named! { limit: 1.0f64 },
        )
        .await?;
    println!("update fruit (10% on fruit under :limit = 1.0) -> {updated} rows");

    println!("\nselect * from fruit order by id:");
    let rows = conn.fetch("select * from fruit order by id", ()).await?;
    print_table(&rows)?;

    println!("\nselect * from fruits (a typo):");
    match conn.fetch("select * from fruits", ()).await {
        Err(e) if e.code() == Some(SqlState::UNDEFINED_TABLE) => {
            let db = e
                .as_database()
                .map(|d| d.fields().clone())
                .unwrap_or_default();
            println!(
                "  caught {} {}: {} (at character {})",
                db.severity(),
                db.sqlstate(),
                db.message,
                db.position.unwrap_or(0)
            );
            println!(
                "  recoverable: {}, connection ready: {}",
                e.is_recoverable(),
                conn.ready()
            );
        }
        other => return Err(format!("expected an undefined_table error, got {other:?}").into()),
    }

    let results = conn
        .simple_query("select count(*) as fruits, sum(price) as total from fruit; select now()::date as today")
        .await?;
    println!("\ntwo statements in one query:");
    for result in &results {
        print_table(&result.rows)?;
    }

    println!("\ntypes travel in binary, both ways:");
    let rows = conn
        .fetch(
            "select $1::date + 1 as tomorrow, $2::numeric * 3 as exact, $3::int4[] as arr, \
             $4::jsonb -> 'k' as json, tstzrange(now(), null) @> now() as in_range",
            (
                time::macros::date!(2024 - 02 - 28),
                "0.1".parse::<pgwire_tokio::Numeric>()?,
                vec![Some(1), None, Some(3)],
                pgwire_tokio::RawJson(r#"{"k": ["v", 2]}"#),
            ),
        )
        .await?;
    print_table(&rows)?;

    shared(Arc::new(conn)).await?;
    pooled(&options).await
}

/// Task `task` asks for `count` numbers times two through `ask`, and
/// checks that each answer is its own.
async fn doubles<F, Fut>(
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

/// One connection, many tasks: their queries are pipelined; a transaction
/// reserves the connection (the others wait and never run inside it); a
/// query past its time limit is cancelled on the server.
async fn shared(conn: Arc<PgConnection>) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n16 tasks share the connection, 100 queries each (pipelined):");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..16i32 {
        let conn = Arc::clone(&conn);
        tasks.push(tokio::spawn(doubles(task, 100, move |n| {
            let conn = Arc::clone(&conn);
            async move { conn.fetch_one("select $1::int4 * 2", (n,)).await }
        })));
    }
    for task in tasks {
        task.await?.map_err(|e| e as Box<dyn std::error::Error>)?;
    }
    println!(
        "  1600 answers, each to its own task, in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    println!("\na transaction reserves the connection; another task's insert waits for it:");
    conn.execute("create temp table ledger (who text)", ())
        .await?;
    let tx = conn.begin().await?;
    tx.execute("insert into ledger values ('the transaction')", ())
        .await?;
    let other = tokio::spawn({
        let conn = Arc::clone(&conn);
        async move {
            conn.execute("insert into ledger values ('another task')", ())
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.rollback().await?;
    other.await??;
    let rows = conn.fetch("select who from ledger", ()).await?;
    print_table(&rows)?;
    println!("  (the rollback took only the transaction's own row)");

    println!("\nselect pg_sleep(30) with a 200 ms time limit:");
    let started = Instant::now();
    let slow = Query::new("select pg_sleep(30)").timeout(Duration::from_millis(200));
    match conn.execute(slow, ()).await {
        Err(e @ Error::QueryTimeout { .. }) => println!(
            "  {e} (after {:.0} ms)",
            started.elapsed().as_secs_f64() * 1000.0
        ),
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    let row = conn
        .fetch_one("select 'answered at once' as next", ())
        .await?;
    print_table(&row.into_iter().collect::<Vec<_>>())?;

    conn.close().await?;
    println!("\nclosed the connection cleanly");
    Ok(())
}

/// What a service does: a pool. Requests on free connections, a
/// transaction on a connection of its own, and connections left dirty
/// (a transaction nobody ended, a query abandoned mid-way) cleaned before
/// anyone else gets them.
async fn pooled(options: &ConnectOptions) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "
a pool of 4 connections; 32 tasks, 50 queries each:"
    );
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
        "  1600 answers, each to its own task, in {:.0} ms, on {} connections",
        started.elapsed().as_secs_f64() * 1000.0,
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
    println!(
        "
with_transaction on a connection of its own -> {committed} rows committed"
    );

    println!("a task runs `begin` through the pool and never ends it:");
    pool.simple_query("begin; insert into demo_pool_ledger values (99)")
        .await?;
    let rows = pool
        .fetch(
            "select count(*) as rows_in_ledger from demo_pool_ledger",
            (),
        )
        .await?;
    print_table(&rows)?;
    println!("  (rolled back at check-in: the leaked insert is not there)");

    println!("a pooled pg_sleep(30) dropped after 200 ms:");
    let slow = pool.execute("select pg_sleep(30)", ());
    if tokio::time::timeout(Duration::from_millis(200), slow)
        .await
        .is_ok()
    {
        return Err("the sleep finished early".into());
    }
    let started = Instant::now();
    let conn = pool.checkout().await?;
    let row = conn
        .fetch_one("select 'clean' as next_checkout", ())
        .await?;
    drop(conn);
    print_table(&row.into_iter().collect::<Vec<_>>())?;
    println!(
        "  (cancelled and drained in {:.0} ms; every checkout gets a clean connection)",
        started.elapsed().as_secs_f64() * 1000.0
    );
    pool.execute("drop table demo_pool_ledger", ()).await?;

    let stats = pool.stats();
    println!(
        "\npool: {} opened, {} checkouts, {} rolled back, {} drained, {} idle of {}",
        stats.opened,
        stats.checkouts,
        stats.rolled_back,
        stats.drained,
        pool.idle_connections(),
        pool.max_connections()
    );
    let still_out = pool.close().await;
    println!("closed the pool ({still_out} connections were still checked out)");
    Ok(())
}
