//! sqlx's `PgPool` in the pool cases (see [`crate::pool`]): its defaults
//! (statement cache, `test_before_acquire`), sized to [`POOL_SIZE`], on the
//! same tokio runtime as pgwire-tokio.

use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::Row as _;

use crate::config::Server;
use crate::pool::{Mode, PoolLoad, POOL_SIZE, SQL};
use crate::rt::{Rt, TokioRt};
use crate::sys::CpuClock;
use crate::work::{self, Timed, Window};
use crate::BResult;

fn connect_options(server: &Server) -> PgConnectOptions {
    PgConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(&server.user)
        .database(&server.database)
        .ssl_mode(PgSslMode::Disable)
}

fn checked(sent: i32, row: &sqlx::postgres::PgRow) -> BResult<u64> {
    let got: i32 = row.try_get(0)?;
    if got == sent {
        Ok(got as u64)
    } else {
        Err(format!("sqlx round trip: sent {sent}, got {got}").into())
    }
}

/// One checkout + statement + check-in; `query(...)` is persistent (cached
/// per connection) by default.
async fn once(pool: &PgPool, mode: Mode, i: i32) -> BResult<u64> {
    let row = match mode {
        Mode::Pool => sqlx::query(SQL).bind(i).fetch_one(pool).await?,
        Mode::Checkout => {
            let mut conn = pool.acquire().await?;
            sqlx::query(SQL).bind(i).fetch_one(&mut *conn).await?
        }
    };
    checked(i, &row)
}

/// A pool case through sqlx's `PgPool`.
pub async fn timed(
    rt: TokioRt,
    server: Arc<Server>,
    load: PoolLoad,
    window: Window,
) -> BResult<Timed> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE as u32)
        .connect_with(connect_options(&server))
        .await?;
    {
        let mut held = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            held.push(pool.acquire().await?);
        }
        for (n, conn) in held.iter_mut().enumerate() {
            let row = sqlx::query(SQL)
                .bind(n as i32)
                .fetch_one(&mut **conn)
                .await?;
            checked(n as i32, &row)?;
        }
    }
    if pool.size() as usize != POOL_SIZE {
        return Err(format!("sqlx: {} connections after filling", pool.size()).into());
    }
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let tasks: Vec<_> = (0..load.tasks)
        .map(|_| {
            let pool = pool.clone();
            rt.spawn(async move {
                crate::pool::task_loop(|i| once(&pool, load.mode, i), deadlines).await
            })
        })
        .collect();
    let done = work::join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    pool.close().await;
    Ok(timed)
}
