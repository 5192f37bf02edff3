//! Through a real PgBouncer (started by xtask in front of the primary): in
//! transaction mode with 2 server connections for everyone, where each
//! transaction (and each statement outside one) may land on another server
//! session, and in session mode. Many connections, several tasks each,
//! every answer checked value by value and every acknowledged write found
//! afterwards (and nothing else).
//!
//! Transaction mode runs in the explicit mode (`pgbouncer=true`) and with
//! the defaults, where the connection finds the pooler when it opens and
//! turns its statement cache off itself; with detection off and the cache
//! on, every request gets its right answer or a typed error, and a write
//! that failed did not happen. Session mode keeps named statements with
//! `pgbouncer=false`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::TryStreamExt;
use pgwire_conn::{Connection, Error, SqlState};
use pgwire_integration_tests::{
    assert_code, connect_as, pgbouncer_options, prepared_count, runtime_only_tests, unique_name,
    within, PoolMode, Rng, Role, Runtime, Transport, Via,
};

/// `id -> (conn, task, val)`: what a table must hold.
type Rows = BTreeMap<i32, (i32, i32, i32)>;

/// The shape of a run.
#[derive(Debug, Clone, Copy)]
struct Shape {
    mode: PoolMode,
    via: Via,
    setting: Setting,
    conns: i32,
    tasks: i32,
    ops: i32,
}

/// How a connection is told about PgBouncer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    /// `pgbouncer=true`: no named statements from the start.
    Explicit,
    /// The defaults: the connection finds the pooler when it opens.
    Detected,
    /// `pgbouncer=false`: named statements (for session mode).
    Named,
}

/// Opens a connection through PgBouncer with `setting`, and checks that it
/// knows what it is behind.
async fn open<R: Runtime>(mode: PoolMode, via: Via, setting: Setting) -> Connection<R::Socket> {
    let opts = pgbouncer_options(mode, via);
    let opts = match setting {
        Setting::Explicit => opts.pgbouncer(true),
        Setting::Detected => opts,
        Setting::Named => opts.pgbouncer(false),
    };
    let conn = match R::open(&opts).await {
        Ok(c) => c,
        Err(e) => panic!("connect through PgBouncer ({mode:?}, {setting:?}) over {via:?}: {e}"),
    };
    assert_eq!(conn.pooler_detected(), setting == Setting::Detected);
    conn
}

/// What one task did.
struct TaskRun {
    /// The rows it wrote (and were acknowledged).
    rows: Rows,
    /// How many checks passed.
    checks: u64,
    /// The server backends that answered its `pg_backend_pid()` samples.
    backends: BTreeSet<i32>,
}

/// One task's run of `ops` random operations on `conn`.
async fn task_ops<S>(conn: &Connection<S>, table: &str, c: i32, t: i32, ops: i32) -> TaskRun
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send,
{
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (u64::try_from(c * 64 + t).unwrap() << 20));
    let insert = format!("insert into {table} (id, conn, task, val) values ($1, $2, $3, $4)");
    let mut rows = Rows::new();
    let mut checks = 0u64;
    let mut backends = BTreeSet::new();
    let mut seq = 0;
    let mut next_id = || {
        seq += 1;
        (c * 16 + t) * 100_000 + seq
    };
    for i in 0..ops {
        if i % 10 == 0 {
            let row = conn.fetch_one("select pg_backend_pid()", ()).await.unwrap();
            backends.insert(row.unwrap().try_get::<i32>(0).unwrap());
        }
        // A value no other operation of the run asks for: an answer meant
        // for someone else cannot pass for this one.
        let tag = (c * 16 + t) * 100_000 + i;
        let small = |rng: &mut Rng| i32::try_from(rng.below(100_000)).unwrap() - 50_000;
        match rng.below(9) {
            0 => {
                let (a, b) = (small(&mut rng), tag);
                let row = conn
                    .fetch_one("select $1::int4 * 2 + $2::int4", (a, b))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i32>(0).unwrap(), a * 2 + b);
                checks += 1;
            }
            1 => {
                let (x, y) = (format!("c{c}·t{t}·{tag}"), format!("é{}", rng.below(1000)));
                let row = conn
                    .fetch_one(
                        "select $1::text || ':' || $2::text, length($1::text)",
                        (x.as_str(), y.as_str()),
                    )
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<&str>(0).unwrap(), format!("{x}:{y}"));
                assert_eq!(
                    row.try_get::<i32>(1).unwrap(),
                    i32::try_from(x.chars().count()).unwrap()
                );
                checks += 2;
            }
            2 => {
                let n = 1 + i32::try_from(rng.below(20)).unwrap();
                let k = small(&mut rng);
                let got = conn
                    .fetch(
                        "select g, g * $1::int4 + $2::int4 from generate_series(1, $3::int4) g",
                        (k, tag, n),
                    )
                    .await
                    .unwrap();
                assert_eq!(got.len(), usize::try_from(n).unwrap());
                for (g, row) in (1..).zip(&got) {
                    assert_eq!(row.try_get::<i32>(0).unwrap(), g);
                    assert_eq!(row.try_get::<i32>(1).unwrap(), g * k + tag);
                    checks += 2;
                }
                checks += 1;
            }
            3 => {
                let (id, val) = (next_id(), tag);
                let n = conn
                    .execute(insert.as_str(), (id, c, t, val))
                    .await
                    .unwrap();
                assert_eq!(n, 1);
                rows.insert(id, (c, t, val));
                checks += 1;
            }
            4 => {
                // Update one of our own rows (or insert one if none yet).
                let Some((&id, _)) = rows.iter().nth(usize::try_from(rng.below(8)).unwrap()) else {
                    let id = next_id();
                    let n = conn
                        .execute(insert.as_str(), (id, c, t, tag))
                        .await
                        .unwrap();
                    assert_eq!(n, 1);
                    rows.insert(id, (c, t, tag));
                    checks += 1;
                    continue;
                };
                let sql = format!("update {table} set val = $2 where id = $1");
                let n = conn.execute(sql.as_str(), (id, tag)).await.unwrap();
                assert_eq!(n, 1);
                rows.insert(id, (c, t, tag));
                checks += 1;
            }
            5 => {
                // Two rows committed together; inside the transaction they
                // are visible (one server session throughout).
                let (a, b) = (next_id(), next_id());
                let count = format!("select count(*)::int4 from {table} where id in ($1, $2)");
                let seen = conn
                    .with_transaction(async |tx| {
                        tx.execute(insert.as_str(), (a, c, t, tag)).await?;
                        tx.execute(insert.as_str(), (b, c, t, -tag)).await?;
                        let row = tx.fetch_one(count.as_str(), (a, b)).await?.unwrap();
                        Ok::<_, Error>(row.try_get::<i32>(0)?)
                    })
                    .await
                    .unwrap();
                assert_eq!(seen, 2);
                rows.insert(a, (c, t, tag));
                rows.insert(b, (c, t, -tag));
                checks += 1;
            }
            6 => {
                // A row inserted, then a failing statement: all rolled back.
                let id = next_id();
                let count = format!("select count(*)::int4 from {table} where id = $1");
                let result: Result<(), Error> = conn
                    .with_transaction(async |tx| {
                        tx.execute(insert.as_str(), (id, c, t, tag)).await?;
                        let row = tx.fetch_one(count.as_str(), (id,)).await?.unwrap();
                        assert_eq!(row.try_get::<i32>(0)?, 1);
                        tx.fetch_one("select $1::int4 / $2::int4", (tag, 0)).await?;
                        Ok(())
                    })
                    .await;
                assert_code(result, SqlState::DIVISION_BY_ZERO);
                checks += 2;
            }
            7 => {
                // An error outside a transaction; the connection goes on.
                let result = conn.fetch_one("select $1::int4 / $2::int4", (tag, 0)).await;
                assert_code(result, SqlState::DIVISION_BY_ZERO);
                let row = conn
                    .fetch_one("select $1::int4", (tag,))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i32>(0).unwrap(), tag);
                checks += 2;
            }
            _ => {
                // A lazy stream, read to the end.
                let n = 1 + i32::try_from(rng.below(200)).unwrap();
                let mut stream = conn
                    .query(
                        "select g, $2::int4 from generate_series(1, $1::int4) g",
                        (n, tag),
                    )
                    .await
                    .unwrap();
                let mut expect = 1;
                while let Some(row) = stream.try_next().await.unwrap() {
                    assert_eq!(row.try_get::<i32>(0).unwrap(), expect);
                    assert_eq!(row.try_get::<i32>(1).unwrap(), tag);
                    expect += 1;
                    checks += 2;
                }
                assert_eq!(expect, n + 1);
                checks += 1;
            }
        }
    }
    TaskRun {
        rows,
        checks,
        backends,
    }
}

/// The rows of a workload's table, as the workload's tasks record them.
async fn table_rows<S>(conn: &Connection<S>, table: &str) -> Rows
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send,
{
    conn.fetch(
        format!("select id, conn, task, val from {table} order by id").as_str(),
        (),
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let get = |i| r.try_get::<i32>(i).unwrap();
        (get(0), (get(1), get(2), get(3)))
    })
    .collect()
}

/// `shape.conns` connections through PgBouncer, `shape.tasks` tasks on
/// each, all writing to one fresh table; afterwards the table holds exactly
/// the acknowledged rows. Returns how many checks passed.
async fn workload<R: Runtime>(shape: Shape) -> u64 {
    let setup = open::<R>(shape.mode, shape.via, shape.setting).await;
    let table = unique_name("bouncer_load");
    setup
        .execute(
            format!("create table {table} (id int4 primary key, conn int4, task int4, val int4)")
                .as_str(),
            (),
        )
        .await
        .unwrap();
    let mut handles = Vec::new();
    // Every client stays connected until all are done, so in session mode
    // none hands its server session on to another.
    let mut clients = Vec::new();
    for c in 0..shape.conns {
        let conn = Arc::new(open::<R>(shape.mode, shape.via, shape.setting).await);
        clients.push(Arc::clone(&conn));
        for t in 0..shape.tasks {
            let (conn, table) = (Arc::clone(&conn), table.clone());
            handles.push((
                c,
                R::spawn(async move { task_ops(&conn, &table, c, t, shape.ops).await }),
            ));
        }
    }
    let mut expected = Rows::new();
    let mut checks = 0;
    // Per client connection: the server backends that answered it.
    let mut backends: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    for (c, handle) in handles {
        let run = within::<R, _>(60, "a task's operations", handle).await;
        expected.extend(run.rows);
        checks += run.checks;
        backends.entry(c).or_default().extend(run.backends);
    }
    // The pooler did what the test is about.
    let all: BTreeSet<i32> = backends.values().flatten().copied().collect();
    match shape.mode {
        PoolMode::Transaction => {
            // 2 server connections for everyone, and one client's
            // statements land on either.
            assert!(
                all.len() <= 2,
                "more server sessions than the pool: {all:?}"
            );
            assert!(
                backends.values().any(|b| b.len() == 2),
                "no client was moved between server sessions: {backends:?}"
            );
        }
        PoolMode::Session => {
            // A server session per client, for its whole life, none shared.
            assert!(backends.values().all(|b| b.len() == 1), "{backends:?}");
            assert_eq!(all.len(), backends.len(), "{backends:?}");
        }
    }
    drop(clients);
    // Every operation checks at least one thing.
    let ops = u64::try_from(shape.conns * shape.tasks * shape.ops).unwrap();
    assert!(checks >= ops, "{checks} checks for {ops} operations");
    let actual = table_rows(&setup, &table).await;
    assert!(!expected.is_empty());
    assert_eq!(actual.len(), expected.len());
    assert_eq!(actual, expected);
    setup
        .execute(format!("drop table {table}").as_str(), ())
        .await
        .unwrap();
    checks + 5
}

/// Transaction mode, TCP, `pgbouncer=true`: 8 connections × 3 tasks,
/// sharing 2 server connections with everyone else.
async fn transaction_mode_workload_tcp<R: Runtime>() {
    let shape = Shape {
        mode: PoolMode::Transaction,
        via: Via::Tcp,
        setting: Setting::Explicit,
        conns: 8,
        tasks: 3,
        ops: 100,
    };
    workload::<R>(shape).await;
}

/// Transaction mode, TCP, the defaults: the pooler is found when each
/// connection opens; not one error.
async fn transaction_mode_workload_detected<R: Runtime>() {
    let shape = Shape {
        mode: PoolMode::Transaction,
        via: Via::Tcp,
        setting: Setting::Detected,
        conns: 8,
        tasks: 3,
        ops: 100,
    };
    workload::<R>(shape).await;
}

/// Transaction mode, Unix socket, fewer clients.
async fn transaction_mode_workload_unix<R: Runtime>() {
    let shape = Shape {
        mode: PoolMode::Transaction,
        via: Via::Unix,
        setting: Setting::Explicit,
        conns: 4,
        tasks: 3,
        ops: 60,
    };
    workload::<R>(shape).await;
}

/// What one task saw with detection off.
#[derive(Default)]
struct Honest {
    /// Answers that came back, each checked.
    right: u64,
    /// Typed errors: the server session lacked (26000) or already had
    /// (42P05) a statement.
    typed: u64,
    /// Ids whose insert was acknowledged.
    inserted: BTreeSet<i32>,
}

/// One task's run with the statement cache on behind a transaction-mode
/// pooler and detection off: every answer right or a typed error.
async fn honest_ops<S>(conn: &Connection<S>, table: &str, c: i32, t: i32) -> Honest
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send,
{
    let insert = format!("insert into {table} (id, conn, task, val) values ($1, $2, $3, $4)");
    let mut out = Honest::default();
    let typed = |e: &Error| {
        matches!(
            e.code(),
            Some(SqlState::INVALID_SQL_STATEMENT_NAME | SqlState::DUPLICATE_PREPARED_STATEMENT)
        ) && e.is_recoverable()
    };
    for i in 0..120 {
        let tag = (c * 16 + t) * 100_000 + i;
        match i % 3 {
            0 => match conn
                .fetch_one("select $1::int4 * 2 + $2::int4", (i, tag))
                .await
            {
                Ok(row) => {
                    assert_eq!(row.unwrap().try_get::<i32>(0).unwrap(), i * 2 + tag);
                    out.right += 1;
                }
                Err(e) => {
                    assert!(typed(&e), "not a typed statement error: {e:?}");
                    out.typed += 1;
                }
            },
            1 => match conn.fetch_one("select $1::int4 + 1", (tag,)).await {
                Ok(row) => {
                    assert_eq!(row.unwrap().try_get::<i32>(0).unwrap(), tag + 1);
                    out.right += 1;
                }
                Err(e) => {
                    assert!(typed(&e), "not a typed statement error: {e:?}");
                    out.typed += 1;
                }
            },
            _ => match conn.execute(insert.as_str(), (tag, c, t, i)).await {
                Ok(n) => {
                    assert_eq!(n, 1);
                    out.inserted.insert(tag);
                    out.right += 1;
                }
                Err(e) => {
                    assert!(typed(&e), "not a typed statement error: {e:?}");
                    out.typed += 1;
                }
            },
        }
    }
    out
}

/// The cache on behind a transaction-mode pooler with detection off (the
/// case the detection exists for): unique statement names make a Bind on
/// a foreign server session fail rather than run another client's
/// statement, so each answer is this request's own or a typed error, and
/// the table holds exactly the acknowledged inserts.
async fn without_detection_errors_are_typed_and_writes_honest<R: Runtime>() {
    let mode = PoolMode::Transaction;
    let setup = open::<R>(mode, Via::Tcp, Setting::Explicit).await;
    let table = unique_name("bouncer_honest");
    setup
        .execute(
            format!("create table {table} (id int4 primary key, conn int4, task int4, val int4)")
                .as_str(),
            (),
        )
        .await
        .unwrap();
    let opts = pgbouncer_options(mode, Via::Tcp).pgbouncer_detect(false);
    let mut clients = Vec::new();
    let mut handles = Vec::new();
    for c in 0..6 {
        let conn = Arc::new(R::open(&opts).await.unwrap());
        assert!(!conn.pooler_detected());
        clients.push(Arc::clone(&conn));
        for t in 0..3 {
            let (conn, table) = (Arc::clone(&conn), table.clone());
            handles.push(R::spawn(
                async move { honest_ops(&conn, &table, c, t).await },
            ));
        }
    }
    let (mut right, mut typed, mut inserted) = (0, 0, BTreeSet::new());
    for handle in handles {
        let run = within::<R, _>(60, "a task's operations", handle).await;
        right += run.right;
        typed += run.typed;
        inserted.extend(run.inserted);
    }
    assert_eq!(right + typed, 6 * 3 * 120);
    for conn in &clients {
        // The cache stayed on: this is the mode being tested.
        assert!(!conn.pooler_detected());
        assert!(conn.statement_cache_stats().prepared > 0);
    }
    drop(clients);
    let actual: BTreeSet<i32> = setup
        .fetch(format!("select id from {table}").as_str(), ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i32>(0).unwrap())
        .collect();
    assert_eq!(actual, inserted, "{typed} typed errors");
    setup
        .execute(format!("drop table {table}").as_str(), ())
        .await
        .unwrap();
}

/// Straight to the server, the probe finds no pooler: the cache stays on.
async fn direct_connections_keep_named_statements<R: Runtime>() {
    for transport in [Transport::Tcp, Transport::Unix] {
        let conn = connect_as::<R>(Role::Scram, transport).await;
        assert!(!conn.pooler_detected());
        let sql = "select $1::int4 + 2000";
        for i in 0..5 {
            let row = conn.fetch_one(sql, (i,)).await.unwrap().unwrap();
            assert_eq!(row.try_get::<i32>(0).unwrap(), i + 2000);
        }
        assert_eq!(conn.statement_cache_stats().prepared, 1);
        assert_eq!(prepared_count(&conn, sql).await, 1);
    }
}

/// Session mode with named statements (`pgbouncer=false`): the same
/// workload.
async fn session_mode_workload<R: Runtime>() {
    let shape = Shape {
        mode: PoolMode::Session,
        via: Via::Tcp,
        setting: Setting::Named,
        conns: 4,
        tasks: 3,
        ops: 80,
    };
    workload::<R>(shape).await;
}

/// Session mode keeps the server session, so the cache's named statements
/// survive: prepared once, then hits.
async fn session_mode_statements_survive<R: Runtime>() {
    for via in Via::ALL {
        let conn = open::<R>(PoolMode::Session, via, Setting::Named).await;
        let sql = "select $1::int4 + 1000";
        for i in 0..20 {
            let row = conn.fetch_one(sql, (i,)).await.unwrap().unwrap();
            assert_eq!(row.try_get::<i32>(0).unwrap(), i + 1000);
        }
        let stats = conn.statement_cache_stats();
        assert!(stats.hits >= 19, "{stats:?}");
        assert_eq!(stats.prepared, 1, "{stats:?}");
        assert_eq!(prepared_count(&conn, sql).await, 1);
    }
}

/// DDL while other connections query: a table gains columns one by one
/// and side tables come and go; readers' answers stay right and they never
/// see a column disappear.
async fn transaction_mode_ddl_mid_run<R: Runtime>() {
    let mode = PoolMode::Transaction;
    let ddl = open::<R>(mode, Via::Tcp, Setting::Explicit).await;
    let table = unique_name("bouncer_ddl");
    ddl.execute(
        format!(
            "create table {table} as select g as id, g * 10 as val from generate_series(1, 20) g"
        )
        .as_str(),
        (),
    )
    .await
    .unwrap();
    const ALTERS: i32 = 8;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for c in 0..4 {
        let setting = [Setting::Explicit, Setting::Detected][usize::try_from(c % 2).unwrap()];
        let conn = Arc::new(open::<R>(mode, Via::Tcp, setting).await);
        for t in 0..2 {
            let (conn, table, done) = (Arc::clone(&conn), table.clone(), Arc::clone(&done));
            readers.push(R::spawn(async move {
                let by_id = format!("select val from {table} where id = $1");
                let whole = format!("select * from {table} where id = $1");
                let (mut checks, mut columns, mut rounds) = (0u64, 0, 0);
                while rounds < 20 || !done.load(Ordering::Acquire) {
                    let id = 1 + (c * 2 + t + rounds) % 20;
                    let row = conn
                        .fetch_one(by_id.as_str(), (id,))
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(row.try_get::<i32>(0).unwrap(), id * 10);
                    let row = conn
                        .fetch_one(whole.as_str(), (id,))
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(row.try_get::<i32>("id").unwrap(), id);
                    assert_eq!(row.try_get::<i32>("val").unwrap(), id * 10);
                    assert!(row.len() >= columns, "a column vanished");
                    assert!(row.len() <= 2 + usize::try_from(ALTERS).unwrap());
                    columns = row.len();
                    checks += 5;
                    rounds += 1;
                }
                checks
            }));
        }
    }
    for k in 0..ALTERS {
        ddl.execute(
            format!("alter table {table} add column c{k} int4 not null default {k}").as_str(),
            (),
        )
        .await
        .unwrap();
        let side = format!("{table}_side{k}");
        ddl.execute(format!("create table {side} (x int4)").as_str(), ())
            .await
            .unwrap();
        let n = ddl
            .execute(format!("insert into {side} values ($1)").as_str(), (k,))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let row = ddl
            .fetch_one(format!("select x from {side}").as_str(), ())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i32>(0).unwrap(), k);
        ddl.execute(format!("drop table {side}").as_str(), ())
            .await
            .unwrap();
    }
    done.store(true, Ordering::Release);
    let mut checks = 0;
    for reader in readers {
        checks += within::<R, _>(60, "a reader", reader).await;
    }
    assert!(checks >= 8 * 20 * 5, "{checks} checks");
    let row = ddl
        .fetch_one(format!("select * from {table} where id = 3").as_str(), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.len(), 2 + usize::try_from(ALTERS).unwrap());
    for k in 0..ALTERS {
        assert_eq!(row.try_get::<i32>(format!("c{k}").as_str()).unwrap(), k);
    }
    ddl.execute(format!("drop table {table}").as_str(), ())
        .await
        .unwrap();
}

/// SCRAM through PgBouncer on both listeners and both transports: the
/// right password logs in (and the session is the scram role's), a wrong
/// one is refused with a typed error.
async fn scram_through_pgbouncer<R: Runtime>() {
    for mode in PoolMode::ALL {
        for via in Via::ALL {
            let conn = open::<R>(mode, via, Setting::Detected).await;
            let row = conn
                .fetch_one("select current_user::text, $1::int4", (7,))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get::<&str>(0).unwrap(), "pgwire_scram");
            assert_eq!(row.try_get::<i32>(1).unwrap(), 7);
            conn.close().await.unwrap();

            let wrong = pgbouncer_options(mode, via).password("not-the-password");
            match R::open(&wrong).await {
                Err(Error::Database(e)) => {
                    assert_eq!(e.sqlstate(), SqlState::PROTOCOL_VIOLATION, "{e}");
                    assert!(!e.is_recoverable(), "{e}");
                    assert!(e.message.contains("authentication failed"), "{e}");
                }
                Err(e) => panic!("{mode:?} over {via:?}: expected a database error, got {e:?}"),
                Ok(_) => panic!("{mode:?} over {via:?}: a wrong password logged in"),
            }
        }
    }
}

/// A pgwire pool in front of PgBouncer in transaction mode, with the
/// defaults (each pooled connection finds the pooler when it opens): 12
/// tasks on a pool of 4, each checking connections out five times for 20
/// operations; every answer right, not one error, and the table holds
/// exactly the acknowledged rows.
async fn a_pool_behind_transaction_mode<R: Runtime>() {
    let connect = pgbouncer_options(PoolMode::Transaction, Via::Tcp);
    let pool = R::open_pool(&connect, pgwire_conn::PoolOptions::new().max_size(4))
        .await
        .unwrap();
    let table = unique_name("bouncer_pool");
    pool.execute(
        format!("create table {table} (id int4 primary key, conn int4, task int4, val int4)")
            .as_str(),
        (),
    )
    .await
    .unwrap();
    let handles: Vec<_> = (0..12)
        .map(|t| {
            let (pool, table) = (pool.clone(), table.clone());
            R::spawn(async move {
                let mut run = (Rows::new(), 0);
                for round in 0..5 {
                    let conn = pool.checkout().await.unwrap();
                    assert!(conn.pooler_detected());
                    let done = task_ops(&conn, &table, round, t, 20).await;
                    run.0.extend(done.rows);
                    run.1 += done.checks;
                }
                run
            })
        })
        .collect();
    let mut expected = Rows::new();
    let mut checks = 0;
    for handle in handles {
        let (rows, n) = within::<R, _>(60, "a pooled task's operations", handle).await;
        expected.extend(rows);
        checks += n;
    }
    assert!(checks >= 12 * 5 * 20, "{checks} checks");
    let actual = table_rows(&pool.checkout().await.unwrap(), &table).await;
    assert_eq!(actual, expected);
    assert!(pool.connections() <= 4);
    assert_eq!(pool.stats().open_failures, 0);
    pool.execute(format!("drop table {table}").as_str(), ())
        .await
        .unwrap();
    pool.close().await;
}

/// Pipelines through PgBouncer in transaction mode: with one Sync the
/// whole pipeline runs in one transaction on one server session (a
/// transaction-local setting is seen by the next statement, and the backend
/// is the same), with a Sync per statement each answer is still its own,
/// and `execute_many` writes every row once; 6 connections × 2 tasks at
/// once, explicit and detected.
async fn pipelines_behind_transaction_mode<R: Runtime>() {
    let table = unique_name("bouncer_pipeline");
    let setup = open::<R>(PoolMode::Transaction, Via::Tcp, Setting::Explicit).await;
    setup
        .execute(
            format!("create table {table} (id int4 primary key, who int4)").as_str(),
            (),
        )
        .await
        .unwrap();
    let mut conns = Vec::new();
    for c in 0..6 {
        let setting = if c % 2 == 0 {
            Setting::Explicit
        } else {
            Setting::Detected
        };
        conns.push(Arc::new(
            open::<R>(PoolMode::Transaction, Via::Tcp, setting).await,
        ));
    }
    let mut handles = Vec::new();
    for (c, conn) in conns.iter().enumerate() {
        for t in 0..2 {
            let (conn, table) = (Arc::clone(conn), table.clone());
            let who = (c * 2 + t) as i32;
            handles.push(R::spawn(async move {
                let insert = format!("insert into {table} values ($1, $2)");
                let mut written = BTreeSet::new();
                for round in 0..25i32 {
                    let tag = format!("w{who}r{round}");
                    let mut once =
                        pgwire_conn::Pipeline::with_sync(pgwire_conn::PipelineSync::Once);
                    once.push("select set_config('pgwire.tag', $1, true)", (tag.as_str(),))
                        .push("select pg_backend_pid()", ())
                        .push("select current_setting('pgwire.tag'), pg_backend_pid()", ());
                    let ids: Vec<i32> = (0..3).map(|k| who * 10_000 + round * 10 + k).collect();
                    for &id in &ids {
                        once.push(insert.as_str(), (id, who));
                    }
                    let results = conn.run_pipeline(&once).await.unwrap();
                    let pid: i32 = results[1].as_ref().unwrap().rows[0].try_get(0).unwrap();
                    let seen = &results[2].as_ref().unwrap().rows[0];
                    assert_eq!(
                        seen.try_get::<&str>(0).unwrap(),
                        tag,
                        "another session's setting"
                    );
                    assert_eq!(
                        seen.try_get::<i32>(1).unwrap(),
                        pid,
                        "the batch changed sessions"
                    );
                    written.extend(ids);
                    // One Sync for all rows: on one server session too.
                    let many: Vec<(i32, i32)> = (3..8)
                        .map(|k| (who * 10_000 + round * 10 + k, who))
                        .collect();
                    assert_eq!(conn.execute_many(insert.as_str(), &many).await.unwrap(), 5);
                    written.extend(many.iter().map(|(id, _)| *id));
                    let mut each = pgwire_conn::Pipeline::new();
                    for k in 0..5i32 {
                        each.push("select $1::int4, $2::text", (who * 100 + k, tag.as_str()));
                    }
                    for (k, result) in conn
                        .run_pipeline(&each)
                        .await
                        .unwrap()
                        .into_iter()
                        .enumerate()
                    {
                        let row = &result.unwrap().rows[0];
                        assert_eq!(row.try_get::<i32>(0).unwrap(), who * 100 + k as i32);
                        assert_eq!(row.try_get::<&str>(1).unwrap(), tag);
                    }
                }
                written
            }));
        }
    }
    let mut expected = BTreeSet::new();
    for handle in handles {
        expected.extend(within::<R, _>(60, "a task's pipelines", handle).await);
    }
    let rows = setup
        .fetch(format!("select id from {table}").as_str(), ())
        .await
        .unwrap();
    let actual: BTreeSet<i32> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert_eq!(actual, expected);
    setup
        .execute(format!("drop table {table}").as_str(), ())
        .await
        .unwrap();
}

runtime_only_tests!(
    pipelines_behind_transaction_mode,
    a_pool_behind_transaction_mode,
    transaction_mode_workload_tcp,
    transaction_mode_workload_detected,
    without_detection_errors_are_typed_and_writes_honest,
    direct_connections_keep_named_statements,
    transaction_mode_workload_unix,
    transaction_mode_ddl_mid_run,
    session_mode_workload,
    session_mode_statements_survive,
    scram_through_pgbouncer,
);
