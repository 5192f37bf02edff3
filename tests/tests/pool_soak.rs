//! The pool's soak (issue 13, point 5): on each runtime, 64 tasks do random
//! pooled work for 60 s (`PGWIRE_SOAK_SECS` to change it) while a killer
//! terminates one of the pool's backends every 2-3 s and a watcher counts
//! the pool's server sessions. It ends with no wrong answer, no connection
//! handed out dirty, at most `max_size` sessions seen, no error but the
//! kinds a kill (or the test itself) causes, and flat memory.
//!
//! The three runtimes soak at the same time, in one `#[test]`, each over a
//! transport of its own (tokio TCP, smol Unix socket, async-std TLS), so
//! that all three transports are soaked in 60 s rather than 180 s. The
//! resident set size is the process's, so it is measured once for the
//! three together, in the same steady state: after a warm-up (a quarter of
//! the run) and at nine tenths of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pgwire_conn::{Connection, Error, Pool, PoolOptions, ProtocolError, SqlState};
use pgwire_integration_tests::{
    options, race, timeout, unique_name, AsyncStd, Over, Rng, Role, Runtime, Smol, Tcp, Tls, Tokio,
    Unix,
};

#[path = "pool_soak/ops.rs"]
mod ops;

/// Tasks per runtime.
const TASKS: usize = 64;
/// The pool's `max_size`: 64 tasks queue for 8 connections.
const MAX_SIZE: usize = 8;
/// Generous: a checkout waits behind at most 63 others' short operations
/// (or a replacement's connect), which takes well under a second even on a
/// busy 2-core machine; so the main pool never times out a checkout, and
/// one that did would be a hang the test reports.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// The side pool, one connection with a short `checkout_timeout`: where
/// the test causes checkout timeouts on purpose.
const SIDE_TIMEOUT: Duration = Duration::from_millis(10);
/// An operation still running after this hangs (checkout 30 s, drain 5 s,
/// the statement itself milliseconds).
const HANG: Duration = Duration::from_secs(90);
/// The bound on the process's RSS growth from the warm-up to nine tenths
/// of the run; see [`soak_on_every_runtime`].
const RSS_GROWTH_LIMIT_KIB: u64 = 16 * 1024;

/// A value tasks set with `set_config(.., false)` inside transactions they
/// roll back, and every probe reads: a transaction that outlived its
/// checkout would show it.
const MARKER: &str = "coalesce(current_setting('pgwire.soak_marker', true), '')";

fn soak_secs() -> u64 {
    match std::env::var("PGWIRE_SOAK_SECS") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("PGWIRE_SOAK_SECS={s:?}: {e}")),
        Err(_) => 60,
    }
}

/// Operations done, across the runtimes: the RSS bound is per operation.
static OPERATIONS: AtomicU64 = AtomicU64::new(0);

/// Which rows the table must, must not, or may hold at the end.
#[derive(Debug, Default)]
struct Ids {
    /// Committed, and the commit acknowledged.
    must_exist: HashSet<i64>,
    /// Never committed: rolled back, dropped, or leaked and rolled back.
    must_not: HashSet<i64>,
    /// Inserted in a transaction meant to commit whose COMMIT was not
    /// acknowledged (dropped, killed): there or not.
    unknown: HashSet<i64>,
}

/// What every task records.
#[derive(Debug, Default)]
struct Tally {
    failures: Mutex<Vec<String>>,
    ops: Mutex<BTreeMap<&'static str, u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    ids: Mutex<Ids>,
    next_id: AtomicI64,
    leaks_tried: AtomicU64,
    leaks_acked: AtomicU64,
    side_timeouts: AtomicU64,
    kills: AtomicU64,
    max_sessions: AtomicI64,
    samples: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock().unwrap().entry(key).or_default() += 1;
}

impl Tally {
    fn fail(&self, what: String) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 100 {
            failures.push(what);
        }
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(format!("wrong answer: {}", what()));
        }
    }

    /// `n` consecutive ids no other operation uses.
    fn fresh_ids(&self, n: i64) -> i64 {
        self.next_id.fetch_add(n, Ordering::Relaxed) + 1
    }

    fn record(&self, first: i64, n: i64, pick: impl Fn(&mut Ids) -> &mut HashSet<i64>) {
        let mut ids = self.ids.lock().unwrap();
        pick(&mut ids).extend(first..first + n);
    }
}

/// One runtime's soak.
struct Ctx<S>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    pool: Pool<S>,
    side: Pool<S>,
    table: String,
    /// An enum registered on the pool: every replacement registers it.
    mood: String,
    end: Instant,
    tally: Tally,
}

/// The kinds of error an operation hit by a kill may end with: the
/// backend's FATAL 57P01, or the socket it closed (read as EOF or an I/O
/// error, or found by a later call). Any other error fails the test.
fn kill_kind(e: &Error) -> Option<&'static str> {
    match e {
        Error::Database(_) if e.code() == Some(SqlState::ADMIN_SHUTDOWN) => Some("57P01"),
        Error::Dead(_) => Some("dead"),
        Error::Io(_) => Some("io"),
        Error::Protocol(ProtocolError::UnexpectedEof) => Some("eof"),
        _ => None,
    }
}

/// Asserts what every checkout must give: a connection outside any
/// transaction, with nothing in flight, alive.
fn assert_clean<S>(tally: &Tally, conn: &Connection<S>, what: &str) {
    if conn.in_transaction() || !conn.ready() || conn.dead() {
        tally.fail(format!(
            "dirty handout ({what}): in_transaction {}, ready {}, dead {}",
            conn.in_transaction(),
            conn.ready(),
            conn.dead()
        ));
    }
}

fn marker_ok(tally: &Tally, marker: &str, what: &str) {
    if !marker.is_empty() {
        tally.fail(format!(
            "dirty handout ({what}): session marker {marker:?} leaked from another transaction"
        ));
    }
}

/// One task: random operations until the end; one in seven dropped at a
/// random point (a sleep-based timeout, or after a few polls).
async fn worker<R: Runtime>(ctx: Arc<Ctx<R::Socket>>, task: i32, seed: u64) {
    let mut rng = Rng(seed);
    while Instant::now() < ctx.end {
        let kind = ops::pick(&mut rng);
        let op_rng = Rng(rng.next_u64() | 1);
        let op = ops::one_op::<R>(&ctx, kind, op_rng, task);
        let outcome = match rng.below(14) {
            0 => timeout::<R, _>(Duration::from_micros(rng.below(20_000)), op).await,
            1 => race::<R, _>(op, &mut rng).await,
            _ => match timeout::<R, _>(HANG, op).await {
                Some(out) => Some(out),
                None => {
                    ctx.tally.fail(format!("{kind} hung for {HANG:?}"));
                    return;
                }
            },
        };
        OPERATIONS.fetch_add(1, Ordering::Relaxed);
        match outcome {
            None => bump(&ctx.tally.ops, "dropped"),
            Some(Ok(())) => bump(&ctx.tally.ops, kind),
            Some(Err(e)) => match kill_kind(&e) {
                Some(k) => bump(&ctx.tally.errors, format!("{k} in {kind}")),
                None => ctx.tally.fail(format!("unexpected error in {kind}: {e:?}")),
            },
        }
    }
}

/// Terminates one of the pool's backends every 2-3 s, from a connection of
/// its own.
async fn killer<R: Runtime>(ctx: Arc<Ctx<R::Socket>>, plain: Connection<R::Socket>, app: String) {
    let mut rng = Rng(0x5eed_0f41_1111);
    loop {
        R::sleep(Duration::from_millis(2000 + rng.below(1000))).await;
        if Instant::now() + Duration::from_millis(500) >= ctx.end {
            return;
        }
        let killed = plain
            .fetch_one(
                "select pg_terminate_backend(pid) from pg_stat_activity \
                 where application_name = $1 and pid <> pg_backend_pid() limit 1",
                (app.as_str(),),
            )
            .await;
        match killed {
            Ok(Some(row)) if row.try_get::<bool>(0).unwrap() => {
                ctx.tally.kills.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {} // no backend at that moment, or it had just gone
            Err(e) => ctx.tally.fail(format!("the killer failed: {e:?}")),
        }
    }
}

/// Samples the pool's server sessions every 200 ms.
async fn watcher<R: Runtime>(
    ctx: Arc<Ctx<R::Socket>>,
    plain: Connection<R::Socket>,
    app: String,
    side_app: String,
) {
    while Instant::now() < ctx.end {
        let row = plain
            .fetch_one(
                "select count(*) filter (where application_name = $1), \
                        count(*) filter (where application_name = $2) \
                 from pg_stat_activity",
                (app.as_str(), side_app.as_str()),
            )
            .await;
        match row {
            Ok(Some(row)) => {
                let (main, side): (i64, i64) = (row.try_get(0).unwrap(), row.try_get(1).unwrap());
                ctx.tally.max_sessions.fetch_max(main, Ordering::Relaxed);
                ctx.tally.samples.fetch_add(1, Ordering::Relaxed);
                if main > MAX_SIZE as i64 || side > 1 {
                    ctx.tally.fail(format!(
                        "{main} server sessions (max_size {MAX_SIZE}), {side} on the side pool (1)"
                    ));
                }
                let size = ctx.pool.connections();
                if size > MAX_SIZE {
                    ctx.tally
                        .fail(format!("pool.connections() {size} > {MAX_SIZE}"));
                }
            }
            other => ctx.tally.fail(format!("the watcher failed: {other:?}")),
        }
        R::sleep(Duration::from_millis(200)).await;
    }
}

/// What a runtime's soak reports to the test.
struct Report {
    line: String,
    failures: Vec<String>,
}

/// One runtime's soak of `secs` seconds; returns its summary line and
/// every failure.
async fn soak<R: Runtime>(label: &'static str, secs: u64) -> Report {
    let transport = R::transport();
    let app = unique_name("pgwire_soak");
    let side_app = unique_name("pgwire_soak_side");
    let connect = options(Role::Trust, transport).application_name(&app);
    let pool = R::open_pool(
        &connect,
        PoolOptions::new()
            .max_size(MAX_SIZE)
            .checkout_timeout(Some(CHECKOUT_TIMEOUT)),
    )
    .await
    .expect("open_pool");
    let side = R::open_pool(
        &options(Role::Trust, transport).application_name(&side_app),
        PoolOptions::new()
            .max_size(1)
            .checkout_timeout(Some(SIDE_TIMEOUT)),
    )
    .await
    .expect("open_pool (side)");
    let plain = || async {
        R::open(&options(Role::Trust, transport))
            .await
            .expect("connect")
    };
    let (admin, kill_conn, watch_conn) = (plain().await, plain().await, plain().await);
    let table = unique_name("pool_soak");
    admin
        .execute(
            &format!("create table {table} (id int8 primary key, task int4 not null)"),
            (),
        )
        .await
        .unwrap();
    let mood = unique_name("pool_soak_mood");
    admin
        .execute(&format!("create type {mood} as enum ('sad', 'happy')"), ())
        .await
        .unwrap();
    pool.register_types(&[mood.as_str()]).await.unwrap();
    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        pool,
        side,
        table: table.clone(),
        mood: mood.clone(),
        end: start + Duration::from_secs(secs),
        tally: Tally::default(),
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ ((label.len() as u64) << 48);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let seed = seed.wrapping_add(task as u64 * 0x1000_0000_01b3) | 1;
            R::spawn(worker::<R>(Arc::clone(&ctx), task as i32, seed))
        })
        .collect();
    let kill = R::spawn(killer::<R>(Arc::clone(&ctx), kill_conn, app.clone()));
    let watch = R::spawn(watcher::<R>(
        Arc::clone(&ctx),
        watch_conn,
        app.clone(),
        side_app.clone(),
    ));
    for task in tasks {
        task.await;
    }
    kill.await;
    watch.await;
    let elapsed = start.elapsed();
    verify(&ctx, &admin).await;
    let stats = ctx.pool.stats();
    let side_stats = ctx.side.stats();
    let tally = &ctx.tally;
    let (tried, acked) = (
        tally.leaks_tried.load(Ordering::Relaxed),
        tally.leaks_acked.load(Ordering::Relaxed),
    );
    // Each acknowledged leak came back ready inside its transaction; a
    // dropped one may have (or come back mid-request, rolled back by the
    // next checkout's tidy, uncounted).
    if stats.rolled_back < acked || stats.rolled_back > tried {
        tally.fail(format!(
            "rolled_back {} for {acked} acknowledged leaks of {tried}",
            stats.rolled_back
        ));
    }
    if stats.timed_out_checkouts != 0 {
        tally.fail(format!("{} checkouts timed out", stats.timed_out_checkouts));
    }
    let side_timeouts = tally.side_timeouts.load(Ordering::Relaxed);
    if side_stats.timed_out_checkouts < side_timeouts {
        tally.fail(format!(
            "side pool counted {} timeouts, the tasks saw {side_timeouts}",
            side_stats.timed_out_checkouts
        ));
    }
    let samples = tally.samples.load(Ordering::Relaxed);
    // Every 200 ms when the machine is idle; a busy one may slow it down
    // a lot, but it must have looked often.
    if samples < secs / 2 {
        tally.fail(format!(
            "the watcher sampled only {samples} times in {secs} s"
        ));
    }
    for pool in [&ctx.pool, &ctx.side] {
        let out = pool.close().await;
        if out != 0 {
            tally.fail(format!("{out} connections still checked out at close"));
        }
    }
    admin
        .execute(&format!("drop table {table}"), ())
        .await
        .unwrap();
    admin
        .execute(&format!("drop type {mood}"), ())
        .await
        .unwrap();
    let line = format!(
        "soak {label} over {transport:?}, {:.1} s, seed {seed:#x}: ops {:?}; errors {:?}; kills {}; \
         leaks {acked}/{tried}; side timeouts {side_timeouts}; max sessions {} of {MAX_SIZE} \
         ({samples} samples); pool {stats:?}; side {side_stats:?}",
        elapsed.as_secs_f64(),
        tally.ops.lock().unwrap(),
        tally.errors.lock().unwrap(),
        tally.kills.load(Ordering::Relaxed),
        tally.max_sessions.load(Ordering::Relaxed),
    );
    let failures = std::mem::take(&mut *tally.failures.lock().unwrap());
    Report { line, failures }
}

/// The table against what the tasks were told: acknowledged commits are
/// all there, nothing rolled back or never committed is, and nothing
/// unaccounted for.
async fn verify<S>(ctx: &Ctx<S>, admin: &Connection<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let rows = admin
        .fetch(&format!("select id from {}", ctx.table), ())
        .await
        .unwrap();
    let present: HashSet<i64> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    let ids = ctx.tally.ids.lock().unwrap();
    let missing: Vec<_> = ids.must_exist.difference(&present).take(20).collect();
    let resurrected: Vec<_> = ids.must_not.intersection(&present).take(20).collect();
    let stray: Vec<_> = present
        .iter()
        .filter(|id| !ids.must_exist.contains(id) && !ids.unknown.contains(id))
        .take(20)
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("acknowledged commits missing: {missing:?}"));
    }
    if !resurrected.is_empty() {
        problems.push(format!("rolled-back rows present: {resurrected:?}"));
    }
    if !stray.is_empty() {
        problems.push(format!("rows nobody committed: {stray:?}"));
    }
    drop(ids);
    for p in problems {
        ctx.tally.fail(format!("wrong answer: {p}"));
    }
}

/// The process's resident set size (KiB) and open sockets.
fn rss_and_sockets() -> (u64, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    let sockets = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count();
    (rss, sockets)
}

fn on<R: Runtime>(label: &'static str, secs: u64) -> std::thread::JoinHandle<Report> {
    std::thread::Builder::new()
        .name(format!("soak-{label}"))
        .spawn(move || R::block_on(soak::<R>(label, secs)))
        .unwrap()
}

/// The three runtimes at once, each over its own transport.
///
/// Memory: the RSS is sampled while all three run, after a warm-up of a
/// quarter of the run (every pool full, buffers grown to the largest
/// stream's rows, statement caches filled, the allocator's arenas made)
/// and again at nine tenths; it must grow by less than 16 MiB between
/// them. What the soak keeps alive at once is bounded (3 × 9 connections
/// with their buffers and statement caches, 192 tasks, the ids of the
/// rows), so between two samples taken in the same steady state only a
/// leak grows. At least ten thousand operations, with millions of rows,
/// run between them in 60 s even on a busy 2-core machine in a debug build
/// (the count is printed): 16 MiB is under 2 KiB per operation, 10 bytes
/// per streamed row, under 1 MiB per replaced connection (a statement, a
/// buffer, a waker or a connection's state kept would show), while the
/// growth measured without a leak is at most 2 MiB. Sampled at the end, after the
/// pools closed, the RSS would be lower for reasons that hide a leak.
/// The open sockets at the end, every pool closed, must be no more than
/// at the warm-up: a connection leaked whole keeps its socket.
#[test]
fn soak_on_every_runtime() {
    let secs = soak_secs();
    let start = Instant::now();
    let threads = [
        on::<Over<Tokio, Tcp>>("tokio", secs),
        on::<Over<Smol, Unix>>("smol", secs),
        on::<Over<AsyncStd, Tls>>("async-std", secs),
    ];
    let sample_at = |fraction: f64| {
        let at = Duration::from_secs_f64(secs as f64 * fraction + 0.5);
        std::thread::sleep(at.saturating_sub(start.elapsed()));
        let (rss, sockets) = rss_and_sockets();
        (rss, sockets, OPERATIONS.load(Ordering::Relaxed))
    };
    let (rss_warm, sockets_warm, ops_warm) = sample_at(0.25);
    let (rss_late, _, ops_late) = sample_at(0.9);
    let reports: Vec<Report> = threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        .collect();
    let (rss_end, sockets_end) = rss_and_sockets();
    let ops = ops_late - ops_warm;
    let growth = rss_late.saturating_sub(rss_warm);
    let memory = format!(
        "soak memory: RSS {rss_warm} KiB after warm-up, {rss_late} KiB at 90% \
         (+{growth} KiB over {ops} operations, {:.1} B each), {rss_end} KiB after close; \
         sockets {sockets_warm} during the run, {sockets_end} at the end",
        growth as f64 * 1024.0 / ops.max(1) as f64
    );
    // Written past the test harness's capture, so that `cargo xtask test`
    // shows the summaries.
    let mut err = std::io::stderr().lock();
    for report in &reports {
        writeln!(err, "{}", report.line).unwrap();
    }
    writeln!(err, "{memory}").unwrap();
    drop(err);
    let mut failures: Vec<String> = reports
        .iter()
        .zip(["tokio", "smol", "async-std"])
        .flat_map(|(r, label)| r.failures.iter().map(move |f| format!("{label}: {f}")))
        .collect();
    if growth > RSS_GROWTH_LIMIT_KIB {
        failures.push(format!(
            "RSS grew by {growth} KiB (limit {RSS_GROWTH_LIMIT_KIB}): {memory}"
        ));
    }
    if sockets_end > sockets_warm {
        failures.push(format!(
            "{sockets_end} sockets open at the end, {sockets_warm} during the run"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
