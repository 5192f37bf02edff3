//! Measurements made in a child process of this binary: peak memory (so the
//! peak belongs to one streamed query, not to the other cases of the run)
//! and instruction counts under callgrind (which slows a process ~50x, so
//! only the case being counted may run under it).
//!
//! The child (`pgwire-bench child --client NAME --rows N`) streams and
//! decodes the bulk query once and prints its [`Bulk`](crate::work::Bulk) figures as JSON.
//! With `--case big_param|kept_rows` it makes one of the retained-memory
//! measurements of [`crate::memory`] instead.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::cases::Client;
use crate::config::Server;
use crate::memory::{self, Probe};
use crate::report::{count, Metric, Report};
use crate::rt::{AsyncStdRt, Rt, SmolRt, TokioRt};
use crate::work::{self, BulkMode};
use crate::{BResult, Options};

/// The clients whose hotspots are listed.
const CALLGRIND_CLIENTS: [Client; 2] = [Client::PgwireTokio, Client::TokioPostgres];

/// How many functions the hotspot list shows.
const HOTSPOTS: usize = 10;

/// `pgwire-bench child --client NAME [--case CASE] (--rows N | --bytes N)`.
///
/// CASE is `bulk` (the default: stream and decode `--rows` rows once),
/// `big_param` (one query with a `--bytes`-byte parameter) or `kept_rows`
/// (`--rows` rows fetched one by one and kept); see [`crate::memory`].
pub fn main(args: &[String]) -> BResult<()> {
    let (mut client, mut rows, mut bytes, mut probe) = (None, None, None, None);
    let number = |arg: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| format!("bad {arg} {value:?}"))
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--client" => {
                client =
                    Some(Client::parse(value).ok_or_else(|| format!("unknown client {value:?}"))?);
            }
            "--case" if value == "bulk" => probe = None,
            "--case" => {
                probe = Some(Probe::parse(value).ok_or_else(|| format!("unknown case {value:?}"))?);
            }
            "--rows" => rows = Some(number(arg, value)?),
            "--bytes" => bytes = Some(number(arg, value)?),
            other => return Err(format!("child: unknown argument {other:?}").into()),
        }
    }
    const USAGE: &str =
        "usage: pgwire-bench child --client NAME [--case CASE] (--rows N | --bytes N)";
    let Some(client) = client else {
        return Err(USAGE.into());
    };
    let size = match probe {
        Some(Probe::BigParam) => bytes,
        None | Some(Probe::KeptRows) => rows,
    };
    let Some(size) = size else {
        return Err(USAGE.into());
    };
    if let Some(probe) = probe {
        println!("{}", memory::child(client, probe, size)?);
        return Ok(());
    }
    let rows = size;
    let server = Arc::new(Server::from_env()?);
    let mode = BulkMode::Prepared;
    let bulk = match client {
        Client::PgwireTokio | Client::TokioPostgres => {
            let runtime = TokioRt::build()?;
            let rt = TokioRt(runtime.handle().clone());
            if client == Client::PgwireTokio {
                rt.block_on(work::pgwire_bulk::<TokioRt>(server, rows, mode))?
            } else {
                rt.block_on(work::tp_bulk(server, rows, mode))?
            }
        }
        Client::PgwireSmol => {
            SmolRt::start()?.block_on(work::pgwire_bulk::<SmolRt>(server, rows, mode))?
        }
        Client::PgwireAsyncStd => {
            AsyncStdRt.block_on(work::pgwire_bulk::<AsyncStdRt>(server, rows, mode))?
        }
        Client::Pgbench | Client::Deadpool | Client::Sqlx => {
            return Err(format!("{} has no child mode", client.name()).into())
        }
    };
    println!("{}", bulk.to_json());
    Ok(())
}

/// What a child reported.
pub(crate) struct ChildRun {
    /// The last line the child printed.
    pub(crate) json: serde_json::Value,
    /// callgrind's instruction count, when run under it.
    instructions: Option<u64>,
}

impl ChildRun {
    /// The `secs` figure (positive).
    pub(crate) fn seconds(&self) -> BResult<f64> {
        self.json
            .get("secs")
            .and_then(serde_json::Value::as_f64)
            .filter(|s| *s > 0.0)
            .ok_or_else(|| format!("child output has no secs: {}", self.json).into())
    }

    /// An integer figure, an error when missing.
    pub(crate) fn get(&self, key: &str) -> BResult<u64> {
        self.json
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format!("child output has no {key}: {}", self.json).into())
    }
}

/// The arguments of a bulk-decode child.
fn bulk_args(rows: u64) -> [String; 2] {
    ["--rows".to_string(), rows.to_string()]
}

/// Runs `pgwire-bench child --client CLIENT ARGS...` (under callgrind when
/// `callgrind_out` is given) and parses the JSON line it prints last.
pub(crate) fn run_child(
    client: Client,
    args: &[String],
    callgrind_out: Option<&Path>,
) -> BResult<ChildRun> {
    let exe = std::env::current_exe()?;
    let mut cmd = match callgrind_out {
        Some(out) => {
            let mut cmd = Command::new("valgrind");
            cmd.arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&exe);
            cmd
        }
        None => Command::new(&exe),
    };
    cmd.args(["child", "--client", client.name()]).args(args);
    let out = cmd
        .output()
        .map_err(|e| format!("running {:?}: {e}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "child {} failed ({}): {}",
            client.name(),
            out.status,
            stderr.trim()
        )
        .into());
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let json = serde_json::from_str(line)
        .map_err(|e| format!("child {} printed {line:?}: {e}", client.name()))?;
    let instructions = callgrind_out.and_then(|_| collected(&stderr));
    if callgrind_out.is_some() && instructions.is_none() {
        return Err(format!("no `Collected :` line in callgrind's output:\n{stderr}").into());
    }
    Ok(ChildRun { json, instructions })
}

/// callgrind's total, from its `==PID== Collected : N` summary line.
fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let (_, rest) = line.split_once("Collected :")?;
        rest.trim().replace(',', "").parse().ok()
    })
}

/// The bulk decode with each client alone in a process of its own: rows/s
/// and the process's CPU time per row (every thread's user+sys time from
/// the first byte sent to the last row decoded). In the main process the
/// same figures also count the idle threads of the other clients' runtimes.
/// Rounds alternate the order of the clients, as the other cases do.
pub fn own_process_bulk(report: &mut Report, options: &Options) -> BResult<()> {
    let rows = options.rows;
    let title = format!("bulk decode {} rows, own process", count(rows));
    let mut rate = Metric::new("bulk_own", &title, "rows/s", true, false);
    let mut cpu = Metric::new(
        "bulk_own_cpu",
        "  client CPU per row",
        "ns/row",
        false,
        false,
    );
    eprintln!("== {title} (one child process per client and round)");
    let clients: Vec<Client> = [
        Client::PgwireTokio,
        Client::TokioPostgres,
        Client::PgwireSmol,
        Client::PgwireAsyncStd,
    ]
    .into_iter()
    .filter(|c| options.runs(*c))
    .collect();
    for round in 0..options.rounds {
        let mut order = clients.clone();
        order.rotate_left(round % clients.len().max(1));
        for client in order {
            match run_child(client, &bulk_args(rows), None) {
                Ok(run) => {
                    let (secs, cpu_ns) = (run.seconds()?, run.get("cpu_ns")?);
                    let done = run.get("rows")?.max(1) as f64;
                    rate.samples.entry(client).or_default().push(done / secs);
                    cpu.samples
                        .entry(client)
                        .or_default()
                        .push(cpu_ns as f64 / done);
                }
                Err(e) => {
                    report
                        .notes
                        .push(format!("bulk_own / {}: {e}", client.name()));
                    rate.failed.insert(client, e.to_string());
                }
            }
        }
    }
    report.metrics.push(rate);
    report.metrics.push(cpu);
    Ok(())
}

/// Peak RSS of a process that streams `rows` rows lazily, per client.
pub fn peak_rss(report: &mut Report, options: &Options) -> BResult<()> {
    let rows = options.big_rows;
    let title = format!("peak RSS streaming {} rows", count(rows));
    let mut peak = Metric::new("peak_rss", &title, "MiB", false, false);
    let mut base = Metric::new(
        "peak_rss_before",
        "  of which before the query",
        "MiB",
        false,
        false,
    );
    eprintln!("== {title} (one child process per client)");
    for client in [
        Client::PgwireTokio,
        Client::TokioPostgres,
        Client::PgwireSmol,
        Client::PgwireAsyncStd,
    ] {
        if !options.runs(client) {
            continue;
        }
        match run_child(client, &bulk_args(rows), None) {
            Ok(run) => {
                let mib = |kib: u64| kib as f64 / 1024.0;
                let (before, after) = (run.get("hwm_before_kib")?, run.get("hwm_after_kib")?);
                eprintln!(
                    "   {}: VmHWM {:.1} MiB before the query, {:.1} MiB at the end",
                    client.name(),
                    mib(before),
                    mib(after)
                );
                peak.samples.insert(client, vec![mib(after)]);
                base.samples.insert(client, vec![mib(before)]);
            }
            Err(e) => {
                report
                    .notes
                    .push(format!("peak_rss / {}: {e}", client.name()));
                peak.failed.insert(client, e.to_string());
            }
        }
    }
    report.metrics.push(peak);
    report.metrics.push(base);
    Ok(())
}

fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Client-side instructions per row of the bulk decode, under callgrind:
/// the count of a `rows`-row run minus that of a 1-row run (startup,
/// connection, prepare), divided by the extra rows. Also lists the top
/// functions of the big run with `callgrind_annotate`.
pub fn callgrind(report: &mut Report, options: &Options, dir: &Path) -> BResult<()> {
    let rows = options.callgrind_rows;
    if !valgrind_available() {
        report
            .notes
            .push("callgrind instructions per row: skipped, valgrind is not installed".into());
        return Ok(());
    }
    let title = format!("callgrind Ir per row, bulk {}", count(rows));
    let mut metric = Metric::new("callgrind_ir", &title, "Ir/row", false, false);
    eprintln!("== {title} (under valgrind, a minute or two)");
    for client in CALLGRIND_CLIENTS {
        if !options.runs(client) {
            continue;
        }
        let out = dir.join(format!("callgrind.{}.out", client.name()));
        let base_out = dir.join(format!("callgrind.{}.base.out", client.name()));
        let result = (|| -> BResult<f64> {
            let base = run_child(client, &bulk_args(1), Some(&base_out))?;
            let full = run_child(client, &bulk_args(rows), Some(&out))?;
            let (b, f) = (
                base.instructions.unwrap_or(0),
                full.instructions.unwrap_or(0),
            );
            Ok(f.saturating_sub(b) as f64 / (rows.saturating_sub(1)).max(1) as f64)
        })();
        let _ = std::fs::remove_file(&base_out);
        match result {
            Ok(per_row) => {
                eprintln!("   {}: {per_row:.0} Ir/row", client.name());
                metric.samples.insert(client, vec![per_row]);
                match hotspots(&out, dir, client) {
                    Ok(lines) => report.hotspots.push((client, lines)),
                    Err(e) => report.notes.push(format!("callgrind_annotate: {e}")),
                }
            }
            Err(e) => {
                report
                    .notes
                    .push(format!("callgrind / {}: {e}", client.name()));
                metric.failed.insert(client, e.to_string());
            }
        }
    }
    report.metrics.push(metric);
    Ok(())
}

/// The top functions by self instructions; the whole annotation is kept
/// next to the callgrind file.
fn hotspots(out: &Path, dir: &Path, client: Client) -> BResult<Vec<String>> {
    let annotated = Command::new("callgrind_annotate")
        .arg(out)
        .output()
        .map_err(|e| format!("running callgrind_annotate: {e}"))?;
    if !annotated.status.success() {
        return Err(String::from_utf8_lossy(&annotated.stderr)
            .trim()
            .to_string()
            .into());
    }
    let text = String::from_utf8_lossy(&annotated.stdout);
    let keep = dir.join(format!("callgrind.{}.txt", client.name()));
    std::fs::write(&keep, text.as_bytes())
        .map_err(|e| format!("writing {}: {e}", keep.display()))?;
    Ok(parse_hotspots(&text))
}

/// Lines like `12,345,678 (23.45%)  ???:pgwire_proto::row::Row::try_get [/path/bin]`
/// after the `PROGRAM TOTALS` line, shortened.
fn parse_hotspots(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains("PROGRAM TOTALS"))
        .skip(1)
        .map(str::trim)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains("%)"))
        .take(HOTSPOTS)
        .map(|l| {
            // `COUNT (PCT%)  FILE:FUNCTION [OBJECT]`: keep the count and the
            // function (file paths never hold a colon here).
            let l = l.rsplit_once(" [").map_or(l, |(head, _)| head);
            let l = match l.split_once("%)") {
                Some((count, rest)) => {
                    let rest = rest.trim();
                    let function = rest.split_once(':').map_or(rest, |(_, f)| f);
                    format!("{count}%)  {function}")
                }
                None => l.to_string(),
            };
            if l.chars().count() > 150 {
                l.chars().take(147).collect::<String>() + "..."
            } else {
                l
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_callgrind_summary() {
        let stderr = "==123== Events    : Ir\n==123== Collected : 152234019\n==123==\n";
        assert_eq!(collected(stderr), Some(152_234_019));
        assert_eq!(collected("nothing"), None);
    }

    #[test]
    fn parses_annotate_output() {
        let text = "\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
152,234,019 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
24,345,111 (15.99%)  ???:pgwire_proto::row::Row::try_get [/x/pgwire-bench]
 9,000,000 ( 5.91%)  ./malloc/malloc.c:malloc [/usr/lib/libc.so.6]
";
        assert_eq!(
            parse_hotspots(text),
            vec![
                "24,345,111 (15.99%)  pgwire_proto::row::Row::try_get".to_string(),
                "9,000,000 ( 5.91%)  malloc".to_string(),
            ]
        );
    }
}
