//! The cases behind PgBouncer in transaction mode: there a server session
//! is lent per transaction, so no client may keep named statements, and
//! each client sends every statement unnamed. pgwire runs with
//! `pgbouncer=true` (every single statement, with or without parameters,
//! is one unnamed Parse/Bind/Describe/Execute/Sync with binary results);
//! tokio-postgres runs `query_typed` (the same unnamed
//! extended-protocol round trip, parameters or not). Both go through the
//! same PgBouncer, as the SCRAM role, with the same connections, tasks,
//! statements and decoding as the direct cases.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use pgwire_conn::Connection;

use crate::config::Server;
use crate::rt::{Rt, TokioRt};
use crate::sys::CpuClock;
use crate::work::{self, Counts, InsertData, Timed, TpParams, TpQuery, Window, Workload};
use crate::BResult;

/// Client connections of every PgBouncer case (xtask gives the
/// transaction pool as many server connections).
pub const CONNS: usize = 10;

/// The insert's table: a temporary table would live on one of PgBouncer's
/// server sessions, which a transaction-mode client cannot count on, so
/// this one is a real table, created afresh for each sample.
const INSERT_TABLE: &str = "bench_insert_pooled";

/// The statement of `workload`, as sent through PgBouncer.
pub fn sql(workload: Workload) -> String {
    match workload {
        Workload::Insert => work::insert_sql(INSERT_TABLE),
        other => other.sql(),
    }
}

/// SQL that gives the insert an empty table (one statement per string:
/// each is a transaction of its own through PgBouncer).
fn reset(workload: Workload) -> Vec<String> {
    match workload {
        Workload::Insert => vec![
            format!("DROP TABLE IF EXISTS {INSERT_TABLE}"),
            format!("CREATE UNLOGGED TABLE {INSERT_TABLE} (a int4, b text)"),
        ],
        _ => Vec::new(),
    }
}

/// What the last sample of the insert left behind, dropped at once so that
/// the next case's server does not carry it.
fn cleanup(workload: Workload) -> Option<String> {
    (workload == Workload::Insert).then(|| format!("DROP TABLE IF EXISTS {INSERT_TABLE}"))
}

// ---------------------------------------------------------------- pgwire --

/// The bytea rows, borrowed as `&[u8]` (binary, as every single statement
/// is in unnamed mode).
async fn pgwire_bytea<S>(conn: &Connection<S>, query: pgwire_conn::Query<'_>) -> BResult<u64>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let rows = conn.fetch(query, ()).await?;
    if rows.len() != 100 {
        return Err(format!("bytea: expected 100 rows, got {}", rows.len()).into());
    }
    let mut sum = 0u64;
    for row in &rows {
        let bytes: &[u8] = row.try_get(0)?;
        sum += bytes.len() as u64 + u64::from(bytes.last().copied().unwrap_or(0));
    }
    Ok(sum)
}

async fn pgwire_task<S>(
    conn: Arc<Connection<S>>,
    data: Arc<InsertData>,
    workload: Workload,
    (warm_until, deadline): (Instant, Instant),
) -> BResult<Counts>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let sql = sql(workload);
    let insert = match workload {
        Workload::Insert => data.pgwire_params(),
        _ => Vec::new(),
    };
    let mut done = Counts::default();
    let mut i = 0i32;
    loop {
        i = i.wrapping_add(1);
        // SQL text: with the cache off it is sent unnamed every time.
        let query = pgwire_conn::Query::new(&sql);
        if workload == Workload::Bytea {
            black_box(pgwire_bytea(&conn, query).await?);
        } else {
            black_box(work::pgwire_once(&conn, query, workload, i, &insert).await?);
        }
        if !work::tick(&mut done, warm_until, deadline) {
            return Ok(done);
        }
    }
}

/// `workload` on [`CONNS`] pgwire connections (one task each) through the
/// transaction-mode PgBouncer, in unnamed mode.
pub async fn pgwire_timed<R: Rt>(
    rt: R,
    server: Arc<Server>,
    workload: Workload,
    window: Window,
) -> BResult<Timed> {
    let options = server.pgwire_bouncer()?;
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        conns.push(Arc::new(R::open(&options).await?));
    }
    if conns.iter().any(|c| c.pooler_detected()) {
        // pgbouncer=true skips the probe; a detection here would mean the
        // case does not measure what it says.
        return Err("pgbouncer=true, yet the connection probed for a pooler".into());
    }
    if let Some(first) = conns.first() {
        for statement in reset(workload) {
            first.execute(statement.as_str(), ()).await?;
        }
    }
    let data = Arc::new(InsertData::new());
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let mut tasks = Vec::new();
    for conn in &conns {
        tasks.push(rt.spawn(pgwire_task(
            Arc::clone(conn),
            Arc::clone(&data),
            workload,
            deadlines,
        )));
    }
    let done = work::join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    if let (Some(first), Some(statement)) = (conns.first(), cleanup(workload)) {
        first.execute(statement.as_str(), ()).await?;
    }
    for conn in conns {
        conn.close().await?;
    }
    Ok(timed)
}

// -------------------------------------------------------- tokio-postgres --

async fn tp_task(
    client: Arc<tokio_postgres::Client>,
    data: Arc<InsertData>,
    workload: Workload,
    (warm_until, deadline): (Instant, Instant),
) -> BResult<Counts> {
    let sql = sql(workload);
    let insert: TpParams<'_> = match workload {
        Workload::Insert => data.tokio_postgres_params(),
        _ => Vec::new(),
    };
    let mut done = Counts::default();
    let mut i = 0i32;
    loop {
        i = i.wrapping_add(1);
        let query = TpQuery::Typed(&sql);
        black_box(work::tp_once(&client, query, workload, i, &insert).await?);
        if !work::tick(&mut done, warm_until, deadline) {
            return Ok(done);
        }
    }
}

/// `workload` on [`CONNS`] tokio-postgres connections (one task each)
/// through the transaction-mode PgBouncer, with `query_typed`.
pub async fn tp_timed(
    rt: TokioRt,
    server: Arc<Server>,
    workload: Workload,
    window: Window,
) -> BResult<Timed> {
    let config = server.tokio_postgres_bouncer()?;
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        let (client, task) = work::tp_connect(&config).await?;
        conns.push((Arc::new(client), task));
    }
    if let Some((first, _)) = conns.first() {
        for statement in reset(workload) {
            first.batch_execute(&statement).await?;
        }
    }
    let data = Arc::new(InsertData::new());
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let mut tasks = Vec::new();
    for (client, _) in &conns {
        tasks.push(rt.spawn(tp_task(
            Arc::clone(client),
            Arc::clone(&data),
            workload,
            deadlines,
        )));
    }
    let done = work::join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    if let (Some((first, _)), Some(statement)) = (conns.first(), cleanup(workload)) {
        first.batch_execute(&statement).await?;
    }
    for (client, task) in conns {
        let client = Arc::try_unwrap(client).map_err(|_| "a task still holds the client")?;
        work::tp_close(client, task).await?;
    }
    Ok(timed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_goes_to_a_real_table() {
        let sql = sql(Workload::Insert);
        assert!(sql.starts_with("INSERT INTO bench_insert_pooled (a, b) VALUES ($1, $2), "));
        assert!(sql.ends_with("($1999, $2000)"));
        assert_eq!(reset(Workload::Insert).len(), 2);
        assert!(reset(Workload::RoundTrip).is_empty());
        assert_eq!(super::sql(Workload::RoundTrip), "SELECT $1::int4");
    }
}
