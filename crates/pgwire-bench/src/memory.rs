//! Memory a client keeps after the work is done, with each client alone in
//! a child process of its own (so that one client's heap, or another case's,
//! does not show in its figure):
//!
//! - `mem_param`: the resident set of an idle connection after one query
//!   with a 200 MiB `bytea` parameter (a client whose send buffer never
//!   shrinks keeps the request's size for the life of the connection);
//! - `mem_rows`: what 10,000 rows fetched one at a time and kept cost (a
//!   row that is a view of a large receive chunk pins the whole chunk).
//!
//! Both read VmRSS, the process's current resident set, not its peak: what
//! a long-lived server process would be charged for while the connection
//! sits in a pool.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::cases::Client;
use crate::child::run_child;
use crate::config::{Server, Transport};
use crate::report::{count, Metric, Report};
use crate::rt::{AsyncStdRt, Rt, SmolRt, TokioRt};
use crate::sys::status_kib;
use crate::work::{tp_close, tp_connect};
use crate::{BResult, Options};

/// The size of the big parameter: large enough that a buffer kept at its
/// size dwarfs everything else in the process.
pub const PARAM_BYTES: u64 = 200 * 1024 * 1024;

/// Rows fetched and kept by `mem_rows`.
pub const KEPT_ROWS: u64 = 10_000;

/// The big-parameter query: the server answers with one small row, so
/// only the request is big.
const PARAM_SQL: &str = "select octet_length($1::bytea)";

/// The query of each kept row: a small row of two columns.
const ROW_SQL: &str = "select $1::int4, 'some text'::text";
const ROW_TEXT: &str = "some text";

/// The parameter's bytes. Not zero: `vec![0; n]` comes from calloc's
/// untouched pages, which are not resident until written, and the figure
/// must be the same whether a client copies the value or not.
const FILL: u8 = 0xa5;

/// Which measurement a child makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// One query with a `size`-byte parameter, then RSS while idle.
    BigParam,
    /// `size` rows fetched one by one and all kept.
    KeptRows,
}

impl Probe {
    /// The child's `--case` value.
    pub fn name(self) -> &'static str {
        match self {
            Probe::BigParam => "big_param",
            Probe::KeptRows => "kept_rows",
        }
    }

    /// The probe named `name` (`--case`), if any.
    pub fn parse(name: &str) -> Option<Self> {
        [Probe::BigParam, Probe::KeptRows]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// The clients measured: every Rust client (pgbench has no child mode).
const CLIENTS: [Client; 4] = [
    Client::PgwireTokio,
    Client::TokioPostgres,
    Client::PgwireSmol,
    Client::PgwireAsyncStd,
];

// ------------------------------------------------------------ the child --

/// Runs `probe` for `client` in this (child) process and returns its
/// figures as JSON, on the same runtime shapes as the other child cases.
pub fn child(client: Client, probe: Probe, size: u64) -> BResult<Value> {
    let server = Arc::new(Server::from_env()?);
    match client {
        Client::PgwireTokio | Client::TokioPostgres => {
            let runtime = TokioRt::build()?;
            let rt = TokioRt(runtime.handle().clone());
            if client == Client::PgwireTokio {
                rt.block_on(pgwire::<TokioRt>(server, probe, size))
            } else {
                rt.block_on(tokio_postgres(server, probe, size))
            }
        }
        Client::PgwireSmol => SmolRt::start()?.block_on(pgwire::<SmolRt>(server, probe, size)),
        Client::PgwireAsyncStd => AsyncStdRt.block_on(pgwire::<AsyncStdRt>(server, probe, size)),
        Client::Pgbench | Client::Deadpool | Client::Sqlx => {
            Err(format!("{} has no child mode", client.name()).into())
        }
    }
}

/// The current resident set in KiB; an error rather than 0 when it cannot
/// be read, since that figure is the whole point of these cases.
fn rss_kib() -> BResult<u64> {
    status_kib("VmRSS").ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

fn check_length(got: i32, sent: usize) -> BResult<()> {
    if usize::try_from(got).ok() == Some(sent) {
        Ok(())
    } else {
        Err(format!("{PARAM_SQL}: sent {sent} bytes, the server counted {got}").into())
    }
}

fn check_row(i: i32, got: i32, text: &str) -> BResult<()> {
    if got == i && text == ROW_TEXT {
        Ok(())
    } else {
        Err(format!("{ROW_SQL}: sent {i}, got ({got}, {text:?})").into())
    }
}

/// The loop bound of `mem_rows` as the `int4` parameter it is sent as.
fn row_count(size: u64) -> BResult<i32> {
    i32::try_from(size).map_err(|_| format!("--rows {size} does not fit an int4").into())
}

fn param_size(size: u64) -> BResult<usize> {
    usize::try_from(size).map_err(|_| format!("--bytes {size} is too large").into())
}

async fn pgwire<R: Rt>(server: Arc<Server>, probe: Probe, size: u64) -> BResult<Value> {
    let conn = R::open(&server.pgwire(Transport::Tcp)).await?;
    let figures = match probe {
        Probe::BigParam => {
            let bytes = param_size(size)?;
            let connected = rss_kib()?;
            let param = vec![FILL; bytes];
            let start = Instant::now();
            let row = conn
                .fetch_one(PARAM_SQL, (param.as_slice(),))
                .await?
                .ok_or("no row")?;
            let length: i32 = row.try_get(0)?;
            let secs = start.elapsed().as_secs_f64();
            // Everything the caller held is gone: what stays is the
            // connection's.
            drop(row);
            drop(param);
            check_length(length, bytes)?;
            let idle = rss_kib()?;
            let usage = conn.memory_usage().await;
            json!({
                "rss_connected_kib": connected,
                "rss_idle_kib": idle,
                "hwm_kib": status_kib("VmHWM").unwrap_or(0),
                "secs": secs,
                "send_buffer": usage.send_buffer,
                "receive_buffer": usage.receive_buffer,
            })
        }
        Probe::KeptRows => {
            let n = row_count(size)?;
            // One query not kept: the statement is prepared and cached and
            // the buffers reach their working size before the baseline, as
            // tokio-postgres' statement is prepared before its baseline.
            let first = conn.fetch_one(ROW_SQL, (0i32,)).await?.ok_or("no row")?;
            drop(first);
            // Reserved up front (untouched pages cost nothing until
            // written): its slots count as they fill, but no reallocation
            // leaves freed copies behind in the heap.
            let mut kept = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
            let before = rss_kib()?;
            let start = Instant::now();
            for i in 1..=n {
                let row = conn.fetch_one(ROW_SQL, (i,)).await?.ok_or("no row")?;
                check_row(i, row.try_get(0)?, row.try_get(1)?)?;
                kept.push(row);
            }
            let secs = start.elapsed().as_secs_f64();
            let after = rss_kib()?;
            let retained: usize = kept.iter().map(pgwire_conn::Row::retained_bytes).sum();
            black_box(&kept);
            json!({
                "rows": kept.len(),
                "rss_before_kib": before,
                "rss_after_kib": after,
                "secs": secs,
                "row_size": std::mem::size_of::<pgwire_conn::Row>(),
                "retained_bytes": retained,
            })
        }
    };
    conn.close().await?;
    Ok(figures)
}

/// The same for tokio-postgres, with what a user of it would write: SQL
/// text for the one-off query, a prepared statement for the repeated one.
async fn tokio_postgres(server: Arc<Server>, probe: Probe, size: u64) -> BResult<Value> {
    let (client, task) = tp_connect(&server.tokio_postgres(Transport::Tcp)).await?;
    let figures = match probe {
        Probe::BigParam => {
            let bytes = param_size(size)?;
            let connected = rss_kib()?;
            let param = vec![FILL; bytes];
            let start = Instant::now();
            let row = client.query_one(PARAM_SQL, &[&param.as_slice()]).await?;
            let length: i32 = row.try_get(0)?;
            let secs = start.elapsed().as_secs_f64();
            drop(row);
            drop(param);
            check_length(length, bytes)?;
            let idle = rss_kib()?;
            json!({
                "rss_connected_kib": connected,
                "rss_idle_kib": idle,
                "hwm_kib": status_kib("VmHWM").unwrap_or(0),
                "secs": secs,
            })
        }
        Probe::KeptRows => {
            let n = row_count(size)?;
            let stmt = client.prepare(ROW_SQL).await?;
            drop(client.query_one(&stmt, &[&0i32]).await?);
            let mut kept = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
            let before = rss_kib()?;
            let start = Instant::now();
            for i in 1..=n {
                let row = client.query_one(&stmt, &[&i]).await?;
                check_row(i, row.try_get(0)?, row.try_get(1)?)?;
                kept.push(row);
            }
            let secs = start.elapsed().as_secs_f64();
            let after = rss_kib()?;
            black_box(&kept);
            json!({
                "rows": kept.len(),
                "rss_before_kib": before,
                "rss_after_kib": after,
                "secs": secs,
                "row_size": std::mem::size_of::<tokio_postgres::Row>(),
            })
        }
    };
    tp_close(client, task).await?;
    Ok(figures)
}

// ----------------------------------------------------------- the parent --

/// Child processes per client and case. RSS hardly varies between runs
/// (a few hundred KiB), so a few suffice; `--quick` takes one.
fn rounds(options: &Options) -> usize {
    if options.quick {
        1
    } else {
        options.rounds.min(3)
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs `probe` in one child per client and round (rotating the order each
/// round, as the other child cases do) and hands each run's JSON to `take`.
fn each_run(
    report: &mut Report,
    options: &Options,
    id: &str,
    probe: Probe,
    size_arg: [String; 2],
    mut take: impl FnMut(Client, &crate::child::ChildRun) -> BResult<()>,
) -> Vec<(Client, String)> {
    let clients: Vec<Client> = CLIENTS.into_iter().filter(|c| options.runs(*c)).collect();
    let mut failed: Vec<(Client, String)> = Vec::new();
    for round in 0..rounds(options) {
        let mut order = clients.clone();
        order.rotate_left(round % clients.len().max(1));
        for client in order {
            if failed.iter().any(|(c, _)| *c == client) {
                continue;
            }
            let args = [
                "--case".to_string(),
                probe.name().to_string(),
                size_arg[0].clone(),
                size_arg[1].clone(),
            ];
            let result = run_child(client, &args, None).and_then(|run| take(client, &run));
            if let Err(e) = result {
                report.notes.push(format!("{id} / {}: {e}", client.name()));
                failed.push((client, e.to_string()));
            }
        }
    }
    failed
}

/// `mem_param`: RSS of an idle connection after a 200 MiB parameter.
pub fn big_param(report: &mut Report, options: &Options) -> BResult<()> {
    let size = PARAM_BYTES / (1024 * 1024);
    let title = format!("RSS idle after a {size} MiB parameter");
    let mut idle = Metric::new("mem_param", &title, "MiB", false, false);
    let mut connected = Metric::new(
        "mem_param_before",
        "  RSS after connecting, before it",
        "MiB",
        false,
        false,
    );
    let mut increase = Metric::new(
        "mem_param_increase",
        "  increase: idle - connected",
        "MiB",
        false,
        false,
    )
    .near_zero();
    let mut peak = Metric::new(
        "mem_param_peak",
        "  peak RSS during the query",
        "MiB",
        false,
        false,
    );
    eprintln!("== {title} (one child process per client and round)");
    let failed = each_run(
        report,
        options,
        "mem_param",
        Probe::BigParam,
        ["--bytes".into(), PARAM_BYTES.to_string()],
        |client, run| {
            let (before, after) = (run.get("rss_connected_kib")?, run.get("rss_idle_kib")?);
            let hwm = run.get("hwm_kib")?;
            let buffer = run
                .json
                .get("send_buffer")
                .and_then(Value::as_u64)
                .map_or_else(String::new, |b| format!("; send buffer {b} B"));
            eprintln!(
                "   {}: VmRSS {:.1} MiB connected, {:.1} MiB idle after the query (+{:.1}); \
                 peak {:.1} MiB; query {:.2} s{buffer}",
                client.name(),
                mib(before),
                mib(after),
                mib(after) - mib(before),
                mib(hwm),
                run.seconds()?,
            );
            idle.samples.entry(client).or_default().push(mib(after));
            connected
                .samples
                .entry(client)
                .or_default()
                .push(mib(before));
            // Per run, not from the two medians: the baseline moves a
            // little from run to run, and the increase is what is kept.
            increase
                .samples
                .entry(client)
                .or_default()
                .push(mib(after) - mib(before));
            peak.samples.entry(client).or_default().push(mib(hwm));
            Ok(())
        },
    );
    for (client, e) in failed {
        idle.failed.insert(client, e);
    }
    report.notes.push(format!(
        "mem_param: each client alone in a child process connects (VmRSS: the 'before' row), \
         runs `{PARAM_SQL}` once with a {size} MiB parameter, drops the parameter and the row, \
         and reads VmRSS with the connection open and idle (the first row): what the \
         connection keeps of the request. {} run(s) per client.",
        rounds(options)
    ));
    report.metrics.extend([idle, connected, increase, peak]);
    Ok(())
}

/// `mem_rows`: what 10,000 kept `fetch_one` rows cost.
pub fn kept_rows(report: &mut Report, options: &Options) -> BResult<()> {
    let rows = KEPT_ROWS;
    let title = format!("RSS kept by {} fetch_one rows", count(rows));
    let mut total = Metric::new("mem_rows", &title, "MiB", false, false);
    let mut per_row = Metric::new("mem_rows_per_row", "  per kept row", "B/row", false, false);
    eprintln!("== {title} (one child process per client and round)");
    let failed = each_run(
        report,
        options,
        "mem_rows",
        Probe::KeptRows,
        ["--rows".into(), rows.to_string()],
        |client, run| {
            let (before, after) = (run.get("rss_before_kib")?, run.get("rss_after_kib")?);
            let kept = run.get("rows")?.max(1);
            let grown = after.saturating_sub(before);
            let retained = run
                .json
                .get("retained_bytes")
                .and_then(Value::as_u64)
                .map_or_else(String::new, |b| {
                    format!("; Row::retained_bytes {:.0} B/row", b as f64 / kept as f64)
                });
            eprintln!(
                "   {}: VmRSS {:.1} -> {:.1} MiB (+{:.2} MiB, {:.0} B/row; size_of Row {} B); \
                 {:.2} s{retained}",
                client.name(),
                mib(before),
                mib(after),
                mib(grown),
                grown as f64 * 1024.0 / kept as f64,
                run.get("row_size")?,
                run.seconds()?,
            );
            total.samples.entry(client).or_default().push(mib(grown));
            per_row
                .samples
                .entry(client)
                .or_default()
                .push(grown as f64 * 1024.0 / kept as f64);
            Ok(())
        },
    );
    for (client, e) in failed {
        total.failed.insert(client, e);
    }
    report.notes.push(format!(
        "mem_rows: each client alone in a child process runs `{ROW_SQL}` {} times \
         (pgwire: fetch_one with the SQL text, through its statement cache; tokio-postgres: \
         query_one with a prepared statement), keeping every row in a Vec reserved up front; \
         the figure is VmRSS after minus before (one unkept query first, so preparing is outside \
         it), bytes per row include the Vec's slot. {} run(s) per client.",
        count(rows),
        rounds(options)
    ));
    report.metrics.extend([total, per_row]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_names_round_trip() {
        for probe in [Probe::BigParam, Probe::KeptRows] {
            assert_eq!(Probe::parse(probe.name()), Some(probe));
        }
        assert_eq!(Probe::parse("bulk"), None);
    }

    #[test]
    fn checks_reject_wrong_answers() {
        assert!(check_length(10, 10).is_ok());
        assert!(check_length(-1, 10).is_err());
        assert!(check_row(3, 3, ROW_TEXT).is_ok());
        assert!(check_row(3, 4, ROW_TEXT).is_err());
        assert!(check_row(3, 3, "other").is_err());
        assert!(row_count(u64::MAX).is_err());
    }
}
