//! The pool cases (issue 13): many tasks share a pool of [`POOL_SIZE`]
//! connections, and each task checks a connection out, runs
//! `SELECT $1::int4` on it and checks it back in, back to back.
//!
//! The same statement, pool size, task count and window for every client,
//! each through its own statement cache: pgwire's per-connection cache
//! (SQL text), deadpool-postgres's `prepare_cached`, sqlx's default cache
//! of persistent statements. Every pool keeps its defaults otherwise (what
//! a service gets): pgwire's check-in hygiene and idle checks, deadpool's
//! `RecyclingMethod::Fast`, sqlx's `test_before_acquire`. Before the clock
//! starts, each pool is filled: all its connections are checked out at
//! once and each prepares the statement, so no case times connecting.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use pgwire_conn::{Pool, PoolOptions};

use crate::config::{Server, Transport};
use crate::rt::{Rt, TokioRt};
use crate::sys::CpuClock;
use crate::work::{self, Counts, Timed, Window};
use crate::BResult;

/// Connections in every pool.
pub const POOL_SIZE: usize = 10;

/// The statement of every pool case.
pub const SQL: &str = "SELECT $1::int4";

/// How a task uses the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The pool's own query method: pgwire `pool.fetch_one`, sqlx
    /// `query.fetch_one(&pool)`; deadpool has none and checks out.
    Pool,
    /// An explicit checkout, then the query on the connection: pgwire
    /// `pool.checkout()`, sqlx `pool.acquire()`, deadpool `pool.get()`.
    Checkout,
}

/// A pool case: `tasks` tasks on one pool of [`POOL_SIZE`].
#[derive(Debug, Clone, Copy)]
pub struct PoolLoad {
    pub tasks: usize,
    pub mode: Mode,
}

fn checked(sent: i32, got: i32) -> BResult<u64> {
    if got == sent {
        Ok(got as u64)
    } else {
        Err(format!("pool round trip: sent {sent}, got {got}").into())
    }
}

fn no_row() -> Box<dyn std::error::Error + Send + Sync> {
    "pool round trip: no row".into()
}

/// Runs `task(i)` until the window ends; counts the operations.
pub(crate) async fn task_loop<F, Fut>(
    mut once: F,
    (warm_until, deadline): (Instant, Instant),
) -> BResult<Counts>
where
    F: FnMut(i32) -> Fut,
    Fut: std::future::Future<Output = BResult<u64>>,
{
    let mut done = Counts::default();
    let mut i = 0i32;
    loop {
        i = i.wrapping_add(1);
        black_box(once(i).await?);
        if !work::tick(&mut done, warm_until, deadline) {
            return Ok(done);
        }
    }
}

// ---------------------------------------------------------------- pgwire --

/// The pool's options for every pgwire runtime: the defaults, sized.
pub fn pgwire_options() -> PoolOptions {
    PoolOptions::new().max_size(POOL_SIZE)
}

async fn pgwire_once<S>(pool: &Pool<S>, mode: Mode, i: i32) -> BResult<u64>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let row = match mode {
        Mode::Pool => pool.fetch_one(SQL, (i,)).await?,
        Mode::Checkout => {
            let conn = pool.checkout().await?;
            conn.fetch_one(SQL, (i,)).await?
        }
    };
    checked(i, row.ok_or_else(no_row)?.try_get(0)?)
}

/// A pool case through a pgwire pool on runtime `R`.
pub async fn pgwire_timed<R: Rt>(
    rt: R,
    server: Arc<Server>,
    load: PoolLoad,
    window: Window,
) -> BResult<Timed> {
    let pool = R::open_pool(&server.pgwire(Transport::Tcp), pgwire_options()).await?;
    {
        // Fill the pool: every connection open, the statement cached on each.
        let mut held = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            held.push(pool.checkout().await?);
        }
        for (n, conn) in held.iter().enumerate() {
            pgwire_once_on(conn, n as i32).await?;
        }
    }
    if pool.connections() != POOL_SIZE {
        return Err(format!(
            "pgwire pool: {} connections after filling",
            pool.connections()
        )
        .into());
    }
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let tasks: Vec<_> = (0..load.tasks)
        .map(|_| {
            let pool = pool.clone();
            rt.spawn(
                async move { task_loop(|i| pgwire_once(&pool, load.mode, i), deadlines).await },
            )
        })
        .collect();
    let done = work::join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    pool.close().await;
    Ok(timed)
}

async fn pgwire_once_on<S>(conn: &pgwire_conn::Connection<S>, i: i32) -> BResult<u64>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn.fetch_one(SQL, (i,)).await?;
    checked(i, row.ok_or_else(no_row)?.try_get(0)?)
}

// ----------------------------------------------------- deadpool-postgres --

/// A deadpool-postgres pool over the same tokio-postgres configuration as
/// the tokio-postgres cases.
fn deadpool(server: &Server) -> BResult<deadpool_postgres::Pool> {
    use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
    let manager = Manager::from_config(
        server.tokio_postgres(Transport::Tcp),
        tokio_postgres::NoTls,
        ManagerConfig {
            // The default, spelt out: the recycle checks that the
            // connection is not closed, with no round trip.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(deadpool_postgres::Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .build()?)
}

async fn deadpool_once(client: &deadpool_postgres::Client, i: i32) -> BResult<u64> {
    let stmt = client.prepare_cached(SQL).await?;
    let row = client.query_one(&stmt, &[&i]).await?;
    checked(i, row.try_get(0)?)
}

/// A pool case through deadpool-postgres (both modes check out: deadpool
/// has no query method of its own).
pub async fn deadpool_timed(
    rt: TokioRt,
    server: Arc<Server>,
    load: PoolLoad,
    window: Window,
) -> BResult<Timed> {
    let pool = deadpool(&server)?;
    {
        let mut held = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            held.push(pool.get().await?);
        }
        for (n, client) in held.iter().enumerate() {
            deadpool_once(client, n as i32).await?;
        }
    }
    if pool.status().size != POOL_SIZE {
        return Err(format!("deadpool: {} connections after filling", pool.status().size).into());
    }
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let tasks: Vec<_> = (0..load.tasks)
        .map(|_| {
            let pool = pool.clone();
            rt.spawn(async move {
                task_loop(
                    |i| {
                        let pool = &pool;
                        async move { deadpool_once(&pool.get().await?, i).await }
                    },
                    deadlines,
                )
                .await
            })
        })
        .collect();
    let done = work::join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    pool.close();
    Ok(timed)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rt::{AsyncStdRt, SmolRt};

    /// Every pool of the pool cases runs both modes at both task counts
    /// and gets the right answers (a short window each). Needs a server:
    /// `cargo xtask test` gives it one.
    #[test]
    fn every_pool_runs_the_pool_cases() {
        let Ok(server) = Server::from_env() else {
            eprintln!("skipped: no PGWIRE_TEST_* variables (cargo xtask test sets them)");
            return;
        };
        let server = Arc::new(server);
        let runtime = TokioRt::build().unwrap();
        let tokio = TokioRt(runtime.handle().clone());
        let smol = SmolRt::start().unwrap();
        let window = Window {
            warmup: Duration::from_millis(20),
            measure: Duration::from_millis(100),
        };
        for mode in [Mode::Pool, Mode::Checkout] {
            for tasks in [POOL_SIZE, 10 * POOL_SIZE] {
                let load = PoolLoad { tasks, mode };
                let s = || Arc::clone(&server);
                let runs = [
                    (
                        "pgwire-tokio",
                        tokio.block_on(pgwire_timed(tokio.clone(), s(), load, window)),
                    ),
                    (
                        "pgwire-smol",
                        smol.block_on(pgwire_timed(smol.clone(), s(), load, window)),
                    ),
                    (
                        "pgwire-async-std",
                        AsyncStdRt.block_on(pgwire_timed(AsyncStdRt, s(), load, window)),
                    ),
                    (
                        "deadpool-postgres",
                        tokio.block_on(deadpool_timed(tokio.clone(), s(), load, window)),
                    ),
                    (
                        "sqlx",
                        tokio.block_on(crate::sqlx_pool::timed(tokio.clone(), s(), load, window)),
                    ),
                ];
                for (client, run) in runs {
                    let timed = run.unwrap_or_else(|e| panic!("{client} {load:?}: {e}"));
                    assert!(timed.rate > 0.0, "{client} {load:?}: {timed:?}");
                    assert!(timed.cpu_ns_per_op > 0.0, "{client} {load:?}: {timed:?}");
                }
            }
        }
    }
}
