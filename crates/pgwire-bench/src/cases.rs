//! The cases, the clients, and the loop that runs them alternately.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Server, Transport};
use crate::pgbench::{self, Script};
use crate::pool::{Mode, PoolLoad, POOL_SIZE};
use crate::report::{self, Metric, Report};
use crate::rt::{AsyncStdRt, Rt, SmolRt, TokioRt};
use crate::sys::ServerCpu;
use crate::work::{self, BulkMode, Load, Timed, Window, Workload};
use crate::{child, BResult, Options};

/// Who runs a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Client {
    PgwireTokio,
    TokioPostgres,
    Pgbench,
    PgwireSmol,
    PgwireAsyncStd,
    /// deadpool-postgres (over tokio-postgres): the pool cases only.
    Deadpool,
    /// sqlx's `PgPool`: the pool cases only.
    Sqlx,
}

impl Client {
    pub const ALL: [Client; 7] = [
        Client::PgwireTokio,
        Client::TokioPostgres,
        Client::Pgbench,
        Client::PgwireSmol,
        Client::PgwireAsyncStd,
        Client::Deadpool,
        Client::Sqlx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::PgwireTokio => "pgwire-tokio",
            Client::TokioPostgres => "tokio-postgres",
            Client::Pgbench => "pgbench",
            Client::PgwireSmol => "pgwire-smol",
            Client::PgwireAsyncStd => "pgwire-async-std",
            Client::Deadpool => "deadpool-postgres",
            Client::Sqlx => "sqlx",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Client::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The clients of most cases: pgwire on each runtime and the peer.
const RUST_CLIENTS: [Client; 4] = [
    Client::PgwireTokio,
    Client::TokioPostgres,
    Client::PgwireSmol,
    Client::PgwireAsyncStd,
];

/// The clients of the pool cases: pgwire's pool on each runtime and the
/// peer pools on tokio.
const POOL_CLIENTS: [Client; 5] = [
    Client::PgwireTokio,
    Client::Deadpool,
    Client::Sqlx,
    Client::PgwireSmol,
    Client::PgwireAsyncStd,
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Timed(Load),
    /// Through the transaction-mode PgBouncer, unnamed statements.
    Bouncer(Workload),
    Connect,
    Bulk(BulkMode),
    /// Checkout + statement + check-in on a pool of 10.
    Pool(PoolLoad),
    Copy(crate::copy::CopyCase),
    /// Pipelines and execute_many on one connection.
    Batch(crate::batch::BatchCase),
}

#[derive(Debug, Clone)]
struct Case {
    id: &'static str,
    title: String,
    kind: Kind,
    clients: Vec<Client>,
    pgbench: Option<(Script, Transport)>,
    magic: bool,
}

impl Case {
    fn new(id: &'static str, title: impl Into<String>, kind: Kind) -> Self {
        Case {
            id,
            title: title.into(),
            kind,
            clients: RUST_CLIENTS.to_vec(),
            pgbench: None,
            magic: false,
        }
    }

    fn metrics(&self) -> Vec<Metric> {
        match self.kind {
            Kind::Timed(_) | Kind::Bouncer(_) | Kind::Pool(_) => vec![
                Metric::new(self.id, &self.title, "q/s", true, self.magic),
                Metric::new(
                    &format!("{}_cpu", self.id),
                    "  client CPU per query",
                    "us/q",
                    false,
                    false,
                ),
                self.server_cpu("query", "us/q"),
                self.busiest(),
            ],
            Kind::Connect => vec![
                Metric::new(self.id, &self.title, "conn/s", true, false),
                Metric::new(
                    &format!("{}_cpu", self.id),
                    "  client CPU per connection",
                    "us/conn",
                    false,
                    false,
                ),
            ],
            Kind::Bulk(_) | Kind::Copy(_) | Kind::Batch(_) => vec![
                Metric::new(self.id, &self.title, "rows/s", true, false),
                Metric::new(
                    &format!("{}_cpu", self.id),
                    "  client CPU per row",
                    "ns/row",
                    false,
                    false,
                ),
                Metric::new(
                    &format!("{}_allocs", self.id),
                    "  heap allocations per row",
                    "allocs/row",
                    false,
                    false,
                ),
                self.server_cpu("row", "ns/row"),
                self.busiest(),
            ],
        }
    }

    /// The server side's CPU (all the cluster's processes, PgBouncer
    /// included) per operation: what a client costs the server.
    fn server_cpu(&self, per: &str, unit: &'static str) -> Metric {
        let title = format!("  server CPU per {per}");
        Metric::new(&format!("{}_server", self.id), &title, unit, false, false)
    }

    /// How busy the busiest server process was (1.00: a whole core): near
    /// 1.00, that one process (a backend, or the single-threaded PgBouncer)
    /// was the limit, for every client alike.
    fn busiest(&self) -> Metric {
        let title = "  busiest server process";
        Metric::new(&format!("{}_busiest", self.id), title, "cores", true, false)
    }
}

fn load(workload: Workload, transport: Transport, conns: usize, tasks_per_conn: usize) -> Kind {
    Kind::Timed(Load {
        workload,
        transport,
        conns,
        tasks_per_conn,
        via_cache: false,
    })
}

fn cases(options: &Options) -> Vec<Case> {
    use Transport::{Tcp, Unix};
    let rows = report::count(options.rows);
    let mut cases = vec![
        Case {
            pgbench: Some((pgbench::ROUND_TRIP, Tcp)),
            ..Case::new(
                "rt_tcp",
                "round trip SELECT $1::int4, TCP",
                load(Workload::RoundTrip, Tcp, 1, 1),
            )
        },
        Case {
            pgbench: Some((pgbench::ROUND_TRIP, Unix)),
            ..Case::new(
                "rt_unix",
                "round trip SELECT $1::int4, Unix",
                load(Workload::RoundTrip, Unix, 1, 1),
            )
        },
        Case {
            // The same, but pgwire is handed SQL text and finds the
            // statement in its cache; the peer still uses its Statement.
            clients: vec![Client::PgwireTokio, Client::TokioPostgres],
            ..Case::new(
                "rt_tcp_cache",
                "round trip, TCP, pgwire via stmt cache",
                Kind::Timed(Load {
                    workload: Workload::RoundTrip,
                    transport: Tcp,
                    conns: 1,
                    tasks_per_conn: 1,
                    via_cache: true,
                }),
            )
        },
        Case::new(
            "bulk",
            format!("bulk decode {rows} rows, prepared"),
            Kind::Bulk(BulkMode::Prepared),
        ),
        Case {
            clients: vec![Client::PgwireTokio, Client::TokioPostgres],
            ..Case::new(
                "bulk_sql",
                format!("bulk decode {rows} rows, SQL text"),
                Kind::Bulk(BulkMode::SqlText),
            )
        },
        Case::new(
            "connect_scram",
            "connect, SCRAM-SHA-256, TCP",
            Kind::Connect,
        ),
        Case::new(
            "shared_64",
            "64 tasks on 1 conn, round trip",
            load(Workload::RoundTrip, Tcp, 1, 64),
        ),
        Case::new(
            "conns_10x10",
            "10 conns x 10 tasks, round trip",
            load(Workload::RoundTrip, Tcp, 10, 10),
        ),
    ];
    let magic = [
        ("magic_pg_type", "pg_type rows", Workload::PgType),
        ("magic_series", "generate_series(1, 1000)", Workload::Series),
        ("magic_bytea", "100 x 1 KiB bytea", Workload::Bytea),
        ("magic_arrays", "100 x int4[100]", Workload::Arrays),
        (
            "magic_insert",
            "1000-row INSERT, 2000 params",
            Workload::Insert,
        ),
        ("magic_1plus1", "SELECT 1+1", Workload::OnePlusOne),
    ];
    for (id, what, workload) in magic {
        cases.push(Case {
            magic: true,
            pgbench: (workload == Workload::OnePlusOne).then_some((pgbench::ONE_PLUS_ONE, Tcp)),
            ..Case::new(
                id,
                format!("MagicStack {what}, 10 conns"),
                load(workload, Tcp, 10, 1),
            )
        });
    }
    // The same statements through PgBouncer in transaction mode: pgwire's
    // unnamed mode against tokio-postgres's query_typed.
    let pooled = [
        (
            "bouncer_rt",
            "round trip SELECT $1::int4",
            Workload::RoundTrip,
        ),
        (
            "bouncer_pg_type",
            "MagicStack pg_type rows",
            Workload::PgType,
        ),
        (
            "bouncer_series",
            "MagicStack generate_series(1, 1000)",
            Workload::Series,
        ),
        (
            "bouncer_bytea",
            "MagicStack 100 x 1 KiB bytea",
            Workload::Bytea,
        ),
        (
            "bouncer_arrays",
            "MagicStack 100 x int4[100]",
            Workload::Arrays,
        ),
        (
            "bouncer_insert",
            "MagicStack 1000-row INSERT, 2000 params",
            Workload::Insert,
        ),
        (
            "bouncer_1plus1",
            "MagicStack SELECT 1+1",
            Workload::OnePlusOne,
        ),
    ];
    for (id, what, workload) in pooled {
        cases.push(Case {
            clients: vec![Client::PgwireTokio, Client::TokioPostgres],
            ..Case::new(
                id,
                format!("PgBouncer txn: {what}, {} conns", crate::bouncer::CONNS),
                Kind::Bouncer(workload),
            )
        });
    }
    // The pool (issue 13): checkout + SELECT $1::int4 + check-in.
    let pools = [
        ("pool_fetch_10", 10, Mode::Pool),
        ("pool_fetch_100", 100, Mode::Pool),
        ("pool_checkout_10", 10, Mode::Checkout),
        ("pool_checkout_100", 100, Mode::Checkout),
    ];
    for (id, tasks, mode) in pools {
        let how = match mode {
            Mode::Pool => "pool.fetch_one",
            Mode::Checkout => "checkout + fetch_one",
        };
        cases.push(Case {
            clients: POOL_CLIENTS.to_vec(),
            ..Case::new(
                id,
                format!("pool of {POOL_SIZE}, {tasks} tasks, {how}"),
                Kind::Pool(PoolLoad { tasks, mode }),
            )
        });
    }
    cases.push(Case::new(
        "copy_in_magic",
        "MagicStack COPY 10,000 rows x 7 columns, binary writer",
        Kind::Copy(crate::copy::CopyCase::In),
    ));
    cases.push(Case::new(
        "copy_out_1m",
        "copy_out 1M rows (text)",
        Kind::Copy(crate::copy::CopyCase::Out),
    ));
    // Pipelines (issue 15).
    use crate::batch::BatchCase;
    cases.push(Case {
        pgbench: Some((crate::batch::pgbench_script(), Tcp)),
        ..Case::new(
            "pipeline_10k",
            format!(
                "{} x SELECT $1::int4 pipelined, 1 conn (rows = statements)",
                crate::batch::SELECTS
            ),
            Kind::Batch(BatchCase::Select),
        )
    });
    let many = [
        (
            "many_1k",
            "execute_many 1,000 rows x 7 columns",
            1_000,
            20,
            false,
        ),
        (
            "many_100k",
            "execute_many 100,000 rows x 7 columns",
            100_000,
            1,
            false,
        ),
        (
            "many_100k_multirow",
            "execute_many 100,000 rows vs multi-row INSERTs",
            100_000,
            1,
            true,
        ),
    ];
    for (id, title, rows, runs, multirow) in many {
        cases.push(Case {
            clients: if multirow {
                vec![Client::PgwireTokio, Client::TokioPostgres]
            } else {
                RUST_CLIENTS.to_vec()
            },
            ..Case::new(
                id,
                title,
                Kind::Batch(BatchCase::Many {
                    rows,
                    runs,
                    multirow,
                }),
            )
        });
    }
    cases.retain(|c| options.selected(c.id));
    for case in &mut cases {
        case.clients.retain(|&c| options.runs(c));
        if !options.runs(Client::Pgbench) {
            case.pgbench = None;
        }
    }
    cases
}

/// What a sample needs: the server, the runtimes, the sample sizes.
struct Ctx {
    server: Arc<Server>,
    tokio: TokioRt,
    /// Started only when smol runs: its idle threads are not free.
    smol: Option<SmolRt>,
    window: Window,
    rows: u64,
    pgbench: Option<PathBuf>,
    dir: PathBuf,
}

impl Ctx {
    fn sample(&self, case: &Case, client: Client) -> BResult<Vec<f64>> {
        match client {
            Client::PgwireTokio => self.pgwire(&self.tokio, case),
            Client::PgwireSmol => match &self.smol {
                Some(smol) => self.pgwire(smol, case),
                None => Err("smol runtime not started".into()),
            },
            Client::PgwireAsyncStd => self.pgwire(&AsyncStdRt, case),
            Client::TokioPostgres => self.tokio_postgres(case),
            Client::Deadpool | Client::Sqlx => self.peer_pool(case, client),
            Client::Pgbench => {
                let (Some(pgbench), Some((script, transport))) = (&self.pgbench, case.pgbench)
                else {
                    return Err("no pgbench".into());
                };
                let tps = pgbench::run(
                    pgbench,
                    &self.server,
                    transport,
                    script,
                    self.window.measure,
                    &self.dir,
                )?;
                Ok(vec![tps])
            }
        }
    }

    fn pgwire<R: Rt>(&self, rt: &R, case: &Case) -> BResult<Vec<f64>> {
        let server = Arc::clone(&self.server);
        Ok(match case.kind {
            Kind::Timed(load) => {
                timed(rt.block_on(work::pgwire_timed(rt.clone(), server, load, self.window))?)
            }
            Kind::Bouncer(workload) => timed(rt.block_on(crate::bouncer::pgwire_timed(
                rt.clone(),
                server,
                workload,
                self.window,
            ))?),
            Kind::Connect => timed(rt.block_on(work::pgwire_connect::<R>(server, self.window))?),
            Kind::Pool(load) => timed(rt.block_on(crate::pool::pgwire_timed(
                rt.clone(),
                server,
                load,
                self.window,
            ))?),
            Kind::Copy(copy) => bulk(rt.block_on(crate::copy::pgwire_copy::<R>(server, copy))?),
            Kind::Batch(b) => bulk(rt.block_on(crate::batch::pgwire_batch::<R>(server, b))?),
            Kind::Bulk(mode) => bulk(rt.block_on(work::pgwire_bulk::<R>(server, self.rows, mode))?),
        })
    }

    fn tokio_postgres(&self, case: &Case) -> BResult<Vec<f64>> {
        let server = Arc::clone(&self.server);
        let rt = &self.tokio;
        Ok(match case.kind {
            Kind::Timed(load) => {
                timed(rt.block_on(work::tp_timed(rt.clone(), server, load, self.window))?)
            }
            Kind::Bouncer(workload) => timed(rt.block_on(crate::bouncer::tp_timed(
                rt.clone(),
                server,
                workload,
                self.window,
            ))?),
            Kind::Connect => timed(rt.block_on(work::tp_connect_rate(server, self.window))?),
            Kind::Pool(_) => return Err("tokio-postgres has no pool of its own".into()),
            Kind::Copy(copy) => bulk(rt.block_on(crate::copy::tp_copy(server, copy))?),
            Kind::Batch(b) => bulk(rt.block_on(crate::batch::tp_batch(server, b))?),
            Kind::Bulk(mode) => bulk(rt.block_on(work::tp_bulk(server, self.rows, mode))?),
        })
    }
}

impl Ctx {
    /// A pool case through deadpool-postgres or sqlx, on the tokio runtime.
    fn peer_pool(&self, case: &Case, client: Client) -> BResult<Vec<f64>> {
        let Kind::Pool(load) = case.kind else {
            return Err(format!("{} runs the pool cases only", client.name()).into());
        };
        let (rt, server, window) = (self.tokio.clone(), Arc::clone(&self.server), self.window);
        Ok(timed(match client {
            Client::Sqlx => self
                .tokio
                .block_on(crate::sqlx_pool::timed(rt, server, load, window))?,
            _ => self
                .tokio
                .block_on(crate::pool::deadpool_timed(rt, server, load, window))?,
        }))
    }
}

/// A bulk sample's figures, in the order of [`Case::metrics`].
fn bulk(b: work::Bulk) -> Vec<f64> {
    let mut values = vec![b.rows_per_sec(), b.cpu_ns_per_row(), b.allocs_per_row()];
    values.extend(server_values(b.server, b.rows as f64, 1.0));
    values
}

/// A timed sample's figures, in the order of [`Case::metrics`] (CPU in us).
fn timed(t: Timed) -> Vec<f64> {
    let mut values = vec![t.rate, t.cpu_ns_per_op / 1000.0];
    // Per operation as the client's CPU is: over the whole run.
    values.extend(server_values(t.server, t.ops as f64, 1000.0));
    values
}

/// The server metrics, last in [`Case::metrics`]; none where the server is
/// not on this machine (those rows then show `-`).
fn server_values(server: Option<ServerCpu>, ops: f64, unit_ns: f64) -> Vec<f64> {
    match server {
        Some(s) if ops > 0.0 => vec![s.total_ns as f64 / ops / unit_ns, s.busiest_share],
        _ => Vec::new(),
    }
}

fn run_case(ctx: &Ctx, case: &Case, rounds: usize, notes: &mut Vec<String>) -> Vec<Metric> {
    let mut metrics = case.metrics();
    let mut clients = case.clients.clone();
    if case.pgbench.is_some() {
        if ctx.pgbench.is_some() {
            // Right after pgwire-tokio and tokio-postgres.
            clients.insert(2.min(clients.len()), Client::Pgbench);
        } else {
            notes.push(format!(
                "{}: pgbench not found, no libpq reference",
                case.id
            ));
        }
    }
    eprintln!("== {} ({})", case.title, case.id);
    for round in 0..rounds {
        // ABBA order: whoever goes first in one round goes last in the next.
        let order: Vec<Client> = if round % 2 == 0 {
            clients.clone()
        } else {
            clients.iter().rev().copied().collect()
        };
        let mut line = format!("   round {}/{rounds}:", round + 1);
        for client in order {
            if metrics.iter().any(|m| m.failed.contains_key(&client)) {
                continue;
            }
            match ctx.sample(case, client) {
                Ok(values) => {
                    line += &format!(" {} {}", client.name(), report::num(values[0]));
                    for (metric, value) in metrics.iter_mut().zip(values) {
                        metric.samples.entry(client).or_default().push(value);
                    }
                }
                Err(e) => {
                    let note = format!("{} / {}: failed, skipped: {e}", case.id, client.name());
                    eprintln!("   {note}");
                    notes.push(note);
                    for metric in &mut metrics {
                        metric.failed.insert(client, e.to_string());
                    }
                }
            }
        }
        eprintln!("{line}");
    }
    metrics
}

/// Runs the whole benchmark and writes the table and the JSON.
pub fn run(options: &Options) -> BResult<()> {
    let server = Arc::new(Server::from_env()?);
    let dir = options
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let runtime = TokioRt::build()?;
    let tokio = TokioRt(runtime.handle().clone());
    let server_version = tokio.block_on(server_version(Arc::clone(&server)))?;
    let pgbench = pgbench::find(&server);
    let ctx = Ctx {
        server: Arc::clone(&server),
        tokio,
        smol: if options.runs(Client::PgwireSmol) {
            Some(SmolRt::start()?)
        } else {
            None
        },
        window: Window {
            warmup: Duration::from_secs_f64(options.seconds * 0.1),
            measure: Duration::from_secs_f64(options.seconds),
        },
        rows: options.rows,
        pgbench: pgbench.clone(),
        dir: dir.clone(),
    };
    let mut report = Report::new(options, &server_version, pgbench.as_deref());
    eprintln!(
        "pgwire-bench: {} rounds, {} s per timed sample, {} rows per bulk decode; server {}",
        options.rounds, options.seconds, options.rows, server_version
    );
    for case in cases(options) {
        let metrics = run_case(&ctx, &case, options.rounds, &mut report.notes);
        report.metrics.extend(metrics);
    }
    if options.selected("bulk_own") {
        child::own_process_bulk(&mut report, options)?;
    }
    if options.selected("peak") {
        if options.big {
            child::peak_rss(&mut report, options)?;
        } else {
            report
                .notes
                .push("peak RSS streaming 10M rows: skipped (--quick or --no-big)".into());
        }
    }
    if options.selected("mem_param") {
        crate::memory::big_param(&mut report, options)?;
    }
    if options.selected("mem_rows") {
        crate::memory::kept_rows(&mut report, options)?;
    }
    if options.selected("callgrind") {
        if options.callgrind {
            child::callgrind(&mut report, options, &dir)?;
        } else {
            report
                .notes
                .push("callgrind instructions per row: skipped (--quick or --no-callgrind)".into());
        }
    }
    report.finish();
    print!("{}", report.render());
    report.write_json(&options.out)?;
    eprintln!("pgwire-bench: wrote {}", options.out.display());
    drop(runtime);
    Ok(())
}

async fn server_version(server: Arc<Server>) -> BResult<String> {
    let conn = pgwire_tokio::open_database_connection(&server.pgwire(Transport::Tcp))
        .await
        .map_err(|e| format!("cannot connect to the benchmark server: {e}"))?;
    let version = match conn.fetch_one("SHOW server_version", ()).await? {
        Some(row) => row.try_get::<&str>(0)?.to_string(),
        None => "unknown".into(),
    };
    conn.close().await?;
    Ok(format!("PostgreSQL {version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Options {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match Options::parse(&args) {
            Ok(Some(options)) => options,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn pgbouncer_cases_compare_unnamed_modes() {
        let cases = cases(&options(&["--only", "bouncer"]));
        let ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "bouncer_rt",
                "bouncer_pg_type",
                "bouncer_series",
                "bouncer_bytea",
                "bouncer_arrays",
                "bouncer_insert",
                "bouncer_1plus1"
            ]
        );
        for case in &cases {
            assert_eq!(case.clients, [Client::PgwireTokio, Client::TokioPostgres]);
            assert!(matches!(case.kind, Kind::Bouncer(_)), "{}", case.id);
            assert!(case.pgbench.is_none() && !case.magic, "{}", case.id);
            assert!(case.title.ends_with(", 10 conns"), "{}", case.title);
            let units: Vec<&str> = case.metrics().iter().map(|m| m.unit).collect();
            assert_eq!(units, ["q/s", "us/q", "us/q", "cores"]);
        }
    }

    #[test]
    fn pool_cases_compare_the_pools() {
        let cases = cases(&options(&["--only", "pool"]));
        let ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "pool_fetch_10",
                "pool_fetch_100",
                "pool_checkout_10",
                "pool_checkout_100"
            ]
        );
        for case in &cases {
            assert_eq!(case.clients, POOL_CLIENTS, "{}", case.id);
            let Kind::Pool(load) = case.kind else {
                panic!("{}: not a pool case", case.id);
            };
            assert!(
                case.title
                    .starts_with(&format!("pool of 10, {} tasks, ", load.tasks)),
                "{}",
                case.title
            );
            assert!(case.pgbench.is_none() && !case.magic, "{}", case.id);
            let units: Vec<&str> = case.metrics().iter().map(|m| m.unit).collect();
            assert_eq!(units, ["q/s", "us/q", "us/q", "cores"]);
        }
        let tasks: Vec<usize> = cases
            .iter()
            .filter_map(|c| match c.kind {
                Kind::Pool(load) => Some(load.tasks),
                _ => None,
            })
            .collect();
        assert_eq!(tasks, [10, 100, 10, 100]);

        // --clients narrows them as it does the other cases.
        let only = super::cases(&options(&[
            "--only",
            "pool",
            "--clients",
            "sqlx,pgwire-tokio",
        ]));
        assert!(only
            .iter()
            .all(|c| c.clients == [Client::PgwireTokio, Client::Sqlx]));
        // And no other case runs the peer pools.
        assert!(super::cases(&options(&[]))
            .iter()
            .filter(|c| !c.id.starts_with("pool_"))
            .all(|c| !c.clients.contains(&Client::Deadpool) && !c.clients.contains(&Client::Sqlx)));
    }
}
