//! The pool against the real server, on every runtime and transport:
//! pg-purepy's pool tests ported, and what check-in must keep clean.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use pgwire_conn::{Connection, Error, Params, Pool, PoolOptions, SqlState};
use pgwire_integration_tests::{
    backend_pid, connect, options, runtime_tests, timeout, unique_name, within, Rng, Role, Runtime,
    Transport,
};

/// A pool as the trust role over the runtime's transport, under an
/// application name of its own so that its server sessions can be counted.
async fn pool<R: Runtime>(options_: PoolOptions) -> (Pool<R::Socket>, String) {
    let app = unique_name("pgwire_pool");
    let connect = options(Role::Trust, R::transport()).application_name(&app);
    let pool = R::open_pool(&connect, options_).await.expect("open_pool");
    (pool, app)
}

/// The `count(*)` that `sql` selects on `conn`.
async fn count_of<S>(conn: &Connection<S>, sql: &str, params: impl Params + Sync) -> i64
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn.fetch_one(sql, params).await.unwrap().unwrap();
    row.try_get(0).unwrap()
}

/// The server sessions of `app`, as another connection sees them.
async fn sessions<R: Runtime>(app: &str) -> i64 {
    let watcher = connect::<R>().await;
    let sql = "select count(*) from pg_stat_activity where application_name = $1";
    count_of(&watcher, sql, (app,)).await
}

/// Waits (up to 10 s) until `app` has `n` server sessions.
async fn wait_for_sessions<R: Runtime>(app: &str, n: i64) {
    for _ in 0..1000 {
        if sessions::<R>(app).await == n {
            return;
        }
        R::sleep(Duration::from_millis(10)).await;
    }
    panic!("{app} never had {n} sessions");
}

async fn three_sleeps_on_a_pool_of_three_run_at_once<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(3)).await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..3)
        .map(|n: i32| {
            let pool = pool.clone();
            R::spawn(async move {
                let row = pool
                    .fetch_one("select pg_sleep(1), $1::int4, pg_backend_pid()", (n,))
                    .await
                    .unwrap()
                    .unwrap();
                (
                    row.try_get::<i32>(1).unwrap(),
                    row.try_get::<i32>(2).unwrap(),
                )
            })
        })
        .collect();
    let mut pids = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let (got, pid) = task.await;
        assert_eq!(got, n as i32);
        pids.push(pid);
    }
    // One after the other they would take 3 s.
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 3, "three sessions");
    assert_eq!(pool.connections(), 3);
    assert_eq!(pool.idle_connections(), 3);
    pool.close().await;
}

async fn a_terminated_backend_is_replaced<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let first = backend_pid(&pool.checkout().await.unwrap()).await;
    let killed = pool
        .execute("select pg_terminate_backend(pg_backend_pid())", ())
        .await;
    match killed {
        Err(e) => assert_eq!(e.code(), Some(SqlState::ADMIN_SHUTDOWN), "{e}"),
        Ok(n) => panic!("terminating the backend returned {n}"),
    }
    let second = backend_pid(&pool.checkout().await.unwrap()).await;
    assert_ne!(first, second);
    let stats = pool.stats();
    assert_eq!(stats.opened, 2);
    assert_eq!(stats.replaced, 1);
    assert_eq!(pool.connections(), 1);
    pool.close().await;
}

/// A connection killed while idle in the pool is noticed at checkout (the
/// server's FATAL error is waiting on the socket): the checkout gets a
/// live one and nothing fails.
async fn a_connection_killed_while_idle_is_never_handed_out<R: Runtime>() {
    let (pool, app) = pool::<R>(PoolOptions::new().max_size(2)).await;
    let pid = backend_pid(&pool.checkout().await.unwrap()).await;
    let killer = connect::<R>().await;
    killer
        .execute("select pg_terminate_backend($1)", (pid,))
        .await
        .unwrap();
    wait_for_sessions::<R>(&app, 0).await;
    let row = pool.fetch_one("select 41 + 1", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
    assert_eq!(pool.stats().replaced, 1);
    pool.close().await;
}

async fn begin_through_the_pool_is_rolled_back_at_check_in<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let table = unique_name("pool_leak");
    pool.execute(&format!("create table {table} (x int)"), ())
        .await
        .unwrap();
    pool.simple_query(&format!("begin; insert into {table} values (1)"))
        .await
        .unwrap();
    let conn = pool.checkout().await.unwrap();
    assert!(!conn.in_transaction());
    let count = count_of(&conn, &format!("select count(*) from {table}"), ()).await;
    assert_eq!(count, 0, "the leaked transaction's insert was rolled back");
    drop(conn);
    assert_eq!(pool.stats().rolled_back, 1);
    pool.execute(&format!("drop table {table}"), ())
        .await
        .unwrap();
    pool.close().await;
}

async fn a_dropped_pooled_query_is_cancelled_before_reuse<R: Runtime>() {
    let (pool, app) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let slow = pool.execute("select pg_sleep_for('1 minute')", ());
    let done = timeout::<R, _>(Duration::from_secs(1), slow).await;
    assert!(done.is_none(), "the sleep ended: {done:?}");
    let start = Instant::now();
    let row = pool.fetch_one("select 7", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 7);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(pool.stats().drained, 1);
    let watcher = connect::<R>().await;
    let sleeping = count_of(
        &watcher,
        "select count(*) from pg_stat_activity where application_name = $1 and query like '%pg_sleep_for%' and state = 'active'",
        (app.as_str(),),
    )
    .await;
    assert_eq!(sleeping, 0);
    pool.close().await;
}

async fn a_dropped_pooled_transaction_leaves_no_transaction_open<R: Runtime>() {
    let (pool, app) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let table = unique_name("pool_tx_drop");
    pool.execute(&format!("create table {table} (x int)"), ())
        .await
        .unwrap();
    {
        let tx = pool.checkout_in_transaction().await.unwrap();
        tx.execute(&format!("insert into {table} values (1)"), ())
            .await
            .unwrap();
        let slow = tx.execute("select pg_sleep_for('1 minute')", ());
        let done = timeout::<R, _>(Duration::from_secs(1), slow).await;
        assert!(done.is_none(), "the sleep ended: {done:?}");
    }
    let start = Instant::now();
    let conn = pool.checkout().await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!conn.in_transaction());
    let count = count_of(&conn, &format!("select count(*) from {table}"), ()).await;
    assert_eq!(count, 0);
    drop(conn);
    let watcher = connect::<R>().await;
    let open = count_of(
        &watcher,
        "select count(*) from pg_stat_activity where application_name = $1 and (state like 'idle in transaction%' or query like '%pg_sleep_for%')",
        (app.as_str(),),
    )
    .await;
    assert_eq!(open, 0);
    // An expected rollback is no leak.
    assert_eq!(pool.stats().rolled_back, 0);
    pool.execute(&format!("drop table {table}"), ())
        .await
        .unwrap();
    pool.close().await;
}

/// A checkout dropped while it drains a returned connection (its caller's
/// time limit passed during the pool's grace before the cancel) gives the
/// connection back: it is not lost (closed behind the pool's back, still
/// counted in `connections()`), and the next checkout drains and reuses
/// it. Found by the soak (tests/pool_soak.rs).
async fn a_checkout_dropped_while_draining_keeps_the_connection<R: Runtime>() {
    let (pool, app) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let pid = backend_pid(&pool.checkout().await.unwrap()).await;
    let slow = pool.execute("select pg_sleep_for('5 seconds')", ());
    assert!(timeout::<R, _>(Duration::from_secs(1), slow)
        .await
        .is_none());
    // Dropped well within the 20 ms the pool waits before cancelling.
    let checkout = pool.checkout();
    assert!(timeout::<R, _>(Duration::from_millis(5), checkout)
        .await
        .is_none());
    // Nothing counted that is not there: the connection is idle, or, if a
    // stalled machine let the checkout reach the cancel before the drop,
    // closed (a connection whose cancel request was abandoned on its way
    // is not reused).
    let stats = pool.stats();
    assert_eq!(pool.connections(), pool.idle_connections());
    assert_eq!(stats.opened - stats.closed, pool.connections() as u64);
    let kept = pool.connections() == 1;
    let next = pool.fetch_one("select pg_backend_pid()", ());
    let again: i32 = within::<R, _>(10, "the next checkout", next)
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap();
    let stats = pool.stats();
    if kept {
        assert_eq!(again, pid, "the same connection, drained");
        assert_eq!((stats.opened, stats.closed), (1, 0));
    } else {
        assert_eq!((stats.opened, stats.closed, stats.replaced), (2, 1, 1));
    }
    assert_eq!(pool.connections(), 1);
    wait_for_sessions::<R>(&app, 1).await;
    pool.close().await;
}

async fn with_transaction_commits_or_rolls_back<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(2)).await;
    let table = unique_name("pool_with_tx");
    pool.execute(&format!("create table {table} (x int)"), ())
        .await
        .unwrap();
    let insert = format!("insert into {table} values ($1)");
    pool.with_transaction(async |tx| tx.execute(&insert, (1,)).await)
        .await
        .unwrap();
    let failed: Result<(), Error> = pool
        .with_transaction(async |tx| {
            tx.execute(&insert, (2,)).await?;
            Err(Error::InvalidInput("changed my mind".into()))
        })
        .await;
    assert!(failed.is_err());
    let tx = pool.checkout_in_transaction().await.unwrap();
    tx.execute(&insert, (3,)).await.unwrap();
    let savepoint = tx.begin().await.unwrap();
    savepoint.execute(&insert, (4,)).await.unwrap();
    savepoint.rollback().await.unwrap();
    tx.commit().await.unwrap();
    let tx = pool.checkout_in_transaction().await.unwrap();
    tx.execute(&insert, (5,)).await.unwrap();
    tx.rollback().await.unwrap();
    let rows = pool
        .fetch(&format!("select x from {table} order by x"), ())
        .await
        .unwrap();
    let xs: Vec<i32> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert_eq!(xs, [1, 3]);
    assert_eq!(pool.stats().rolled_back, 0);
    pool.execute(&format!("drop table {table}"), ())
        .await
        .unwrap();
    pool.close().await;
}

async fn a_checkout_waits_then_times_out<R: Runtime>() {
    let (pool, _) = pool::<R>(
        PoolOptions::new()
            .max_size(1)
            .checkout_timeout(Some(Duration::from_millis(300))),
    )
    .await;
    let held = pool.checkout().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        R::spawn(async move { pool.checkout().await.map(drop) })
    };
    for _ in 0..100 {
        if pool.waiting_tasks() == 1 {
            break;
        }
        R::sleep(Duration::from_millis(5)).await;
    }
    match waiter.await {
        Err(Error::PoolTimeout { after, last_error }) => {
            assert_eq!(after, Duration::from_millis(300));
            assert!(last_error.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pool.waiting_tasks(), 0);
    assert_eq!(pool.stats().timed_out_checkouts, 1);
    // A connection given back goes to the next one waiting.
    let next = {
        let pool = pool.clone();
        R::spawn(async move { pool.fetch_one("select 1", ()).await.map(|r| r.is_some()) })
    };
    R::sleep(Duration::from_millis(50)).await;
    drop(held);
    assert!(next.await.unwrap());
    pool.close().await;
}

/// Waiting checkouts share one timer, kept by one of them: here the first
/// waiter keeps it, is served, and holds its connection; the waiter
/// behind it must still time out at its own `checkout_timeout`, neither
/// later nor earlier, and the next waiters too.
async fn a_waiter_times_out_in_time_after_the_one_before_is_served<R: Runtime>() {
    let limit = Duration::from_millis(300);
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(1).checkout_timeout(Some(limit))).await;
    let held = pool.checkout().await.unwrap();
    let first = {
        let pool = pool.clone();
        R::spawn(async move {
            let conn = pool.checkout().await.unwrap();
            R::sleep(Duration::from_secs(2)).await;
            drop(conn);
        })
    };
    while pool.waiting_tasks() < 1 {
        R::sleep(Duration::from_millis(2)).await;
    }
    let behind: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            R::spawn(async move {
                let start = Instant::now();
                let got = pool.checkout().await.map(drop);
                (got, start.elapsed())
            })
        })
        .collect();
    while pool.waiting_tasks() < 4 {
        R::sleep(Duration::from_millis(2)).await;
    }
    // The first waiter, which keeps the timer, is served.
    drop(held);
    for waiter in behind {
        let (got, waited) = waiter.await;
        assert!(
            matches!(got, Err(Error::PoolTimeout { after, .. }) if after == limit),
            "{got:?}"
        );
        assert!(waited >= limit, "timed out early, after {waited:?}");
        assert!(
            waited < limit + Duration::from_millis(500),
            "waited {waited:?}"
        );
    }
    assert_eq!(pool.stats().timed_out_checkouts, 3);
    first.await;
    pool.close().await;
}

/// The pool's age limits, as checkout and check-in judge them: past
/// `max_lifetime` a connection is closed when it comes back, past
/// `idle_timeout` an idle one is closed by the next checkout, and one idle
/// for `health_check_after` gets an empty query before it is handed out.
async fn lifetime_idle_and_health_check_limits_hold<R: Runtime>() {
    let short = Duration::from_millis(50);
    let (old, _) = pool::<R>(PoolOptions::new().max_size(2).max_lifetime(Some(short))).await;
    let conn = old.checkout().await.unwrap();
    drop(conn);
    assert_eq!(old.stats().closed, 0, "young: kept");
    let conn = old.checkout().await.unwrap();
    R::sleep(short * 2).await;
    drop(conn);
    assert_eq!(
        (old.stats().closed, old.connections()),
        (1, 0),
        "old: closed"
    );
    assert!(old.fetch_one("select 1", ()).await.unwrap().is_some());
    assert_eq!(old.stats().opened, 2);
    old.close().await;

    let (idle, _) = pool::<R>(PoolOptions::new().max_size(2).idle_timeout(Some(short))).await;
    let (a, b) = (
        idle.checkout().await.unwrap(),
        idle.checkout().await.unwrap(),
    );
    drop((a, b));
    assert!(idle.fetch_one("select 1", ()).await.unwrap().is_some());
    assert_eq!(idle.stats().closed, 0, "idle briefly: kept");
    R::sleep(short * 2).await;
    assert!(idle.fetch_one("select 1", ()).await.unwrap().is_some());
    let stats = idle.stats();
    assert_eq!((stats.closed, stats.opened), (2, 3), "{stats:?}");
    idle.close().await;

    for (after, checks) in [
        (Duration::ZERO, 3),
        (short, 1),
        (Duration::from_secs(3600), 0),
    ] {
        let (checked, _) = pool::<R>(PoolOptions::new().health_check_after(Some(after))).await;
        for n in 0..3 {
            if n == 2 && after == short {
                R::sleep(short * 2).await;
            }
            assert!(checked.fetch_one("select 1", ()).await.unwrap().is_some());
        }
        assert_eq!(checked.stats().health_checks, checks, "after {after:?}");
        checked.close().await;
    }
}

/// Checkouts are served in the order they came: a task waiting for a
/// connection gets the next one given back, not a task that gives one back
/// and at once asks again. Here 16 tasks loop on 2 connections, each
/// checkout waiting behind at most 14 others' round trips; served out of
/// order, an unlucky waiter lost every connection given back for seconds
/// (one of the soak's, tests/pool_soak.rs, waited out its 30 s).
async fn checkouts_are_served_in_order<R: Runtime>() {
    let (pool, _) = pool::<R>(
        PoolOptions::new()
            .max_size(2)
            .checkout_timeout(Some(Duration::from_secs(10))),
    )
    .await;
    let end = Instant::now() + Duration::from_secs(4);
    let tasks: Vec<_> = (0..16)
        .map(|n: i32| {
            let pool = pool.clone();
            R::spawn(async move {
                let mut longest = Duration::ZERO;
                while Instant::now() < end {
                    let start = Instant::now();
                    let row = pool.fetch_one("select $1::int4", (n,)).await.unwrap();
                    assert_eq!(row.unwrap().try_get::<i32>(0).unwrap(), n);
                    longest = longest.max(start.elapsed());
                }
                longest
            })
        })
        .collect();
    let mut longest = Duration::ZERO;
    for task in tasks {
        longest = longest.max(task.await);
    }
    // Starved, a checkout waits until the others stop, at the end.
    assert!(
        longest < Duration::from_secs(2),
        "a checkout waited {longest:?}"
    );
    assert_eq!(pool.stats().timed_out_checkouts, 0);
    pool.close().await;
}

async fn open_pool_reports_a_wrong_password<R: Runtime>() {
    if R::transport() == Transport::Unix {
        return; // the socket's pg_hba lines trust every role
    }
    let connect = options(Role::Scram, R::transport()).password("wrong");
    match R::open_pool(&connect, PoolOptions::new()).await {
        Err(e) => assert_eq!(e.code(), Some(SqlState::INVALID_PASSWORD), "{e}"),
        Ok(_) => panic!("a pool opened with a wrong password"),
    }
}

async fn open_pool_reports_an_unreachable_host<R: Runtime>() {
    let connect = options(Role::Trust, Transport::Tcp).port(1);
    match R::open_pool(&connect, PoolOptions::new()).await {
        Err(Error::Connect { .. }) => {}
        other => panic!("{other:?}"),
    }
}

async fn close_terminates_idle_connections_and_refuses_checkouts<R: Runtime>() {
    let (pool, app) = pool::<R>(PoolOptions::new().max_size(2).min_idle(2)).await;
    assert_eq!(sessions::<R>(&app).await, 2);
    let held = pool.checkout().await.unwrap();
    let closing = {
        let pool = pool.clone();
        R::spawn(async move { pool.close().await })
    };
    // One idle session is terminated at once; the checked-out one when
    // it comes back.
    wait_for_sessions::<R>(&app, 1).await;
    assert!(matches!(pool.checkout().await, Err(Error::PoolClosed)));
    drop(held);
    assert_eq!(closing.await, 0);
    wait_for_sessions::<R>(&app, 0).await;
    assert!(matches!(
        pool.fetch_one("select 1", ()).await,
        Err(Error::PoolClosed)
    ));
}

async fn close_wakes_waiting_checkouts<R: Runtime>() {
    let (pool, _) = pool::<R>(
        PoolOptions::new()
            .max_size(1)
            .close_timeout(Duration::from_millis(100)),
    )
    .await;
    let held = pool.checkout().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        R::spawn(async move { pool.checkout().await.map(drop) })
    };
    while pool.waiting_tasks() == 0 {
        R::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(pool.close().await, 1, "one connection still checked out");
    assert!(matches!(waiter.await, Err(Error::PoolClosed)));
    drop(held);
}

async fn a_pooled_stream_keeps_its_connection_until_dropped<R: Runtime>() {
    let (pool, _) = pool::<R>(
        PoolOptions::new()
            .max_size(1)
            .checkout_timeout(Some(Duration::from_millis(200))),
    )
    .await;
    let mut rows = pool
        .query("select generate_series(1, 100000)::int4", ())
        .await
        .unwrap();
    for expected in 1..=10 {
        let row = rows.try_next().await.unwrap().unwrap();
        assert_eq!(row.try_get::<i32>(0).unwrap(), expected);
    }
    // The only connection is the stream's.
    assert!(matches!(
        pool.fetch_one("select 1", ()).await,
        Err(Error::PoolTimeout { .. })
    ));
    drop(rows);
    let row = pool.fetch_one("select 2", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 2);
    let all = pool
        .query("select generate_series(1, 1000)::int4 where $1", (true,))
        .await
        .unwrap();
    assert_eq!(all.row_count().await.unwrap(), 1000);
    // A bad query is the call's error.
    match pool.query("select * from no_such_table", ()).await {
        Err(e) => assert_eq!(e.code(), Some(SqlState::UNDEFINED_TABLE)),
        Ok(_) => panic!("a stream over a missing table"),
    }
    let row = pool.fetch_one("select 3", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 3);
    pool.close().await;
}

async fn registered_types_reach_connections_opened_later<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(2)).await;
    let mood = unique_name("pool_mood");
    pool.execute(&format!("create type {mood} as enum ('sad', 'happy')"), ())
        .await
        .unwrap();
    pool.register_types(&[mood.as_str()]).await.unwrap();
    let oid = pool.type_registry().find_oid_for_type(&mood);
    assert!(oid.is_some());
    // Two at once: the second is opened now, after the registration.
    let a = pool.checkout().await.unwrap();
    let b = pool.checkout().await.unwrap();
    assert_eq!(pool.stats().opened, 2);
    for conn in [&a, &b] {
        assert_eq!(conn.type_registry().find_oid_for_type(&mood), oid);
    }
    drop((a, b));
    pool.execute(&format!("drop type {mood}"), ())
        .await
        .unwrap();
    pool.close().await;
}

/// A checkout dropped while it opens a connection and registers the pool's
/// types on it leaves no phantom connection behind: `connections()` never
/// passes `max_size`, and what was opened is idle or counted closed.
async fn a_checkout_dropped_while_registering_types_leaves_no_phantom<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(1)).await;
    let mood = unique_name("pool_mood_drop");
    pool.execute(&format!("create type {mood} as enum ('sad', 'happy')"), ())
        .await
        .unwrap();
    pool.register_types(&[mood.as_str()]).await.unwrap();
    let mut rng = Rng(0x0dd_ba11);
    for round in 0..60 {
        pool.checkout()
            .await
            .unwrap()
            .detach_and_close()
            .await
            .unwrap();
        // Opening takes a few ms: the drop lands in the connect, in the
        // registration, or after the checkout.
        let limit = Duration::from_micros(rng.below(12_000));
        drop(timeout::<R, _>(limit, pool.checkout()).await);
        let stats = pool.stats();
        assert!(
            pool.connections() <= 1 && stats.opened - stats.closed == pool.connections() as u64,
            "round {round}: {} connections, {stats:?}",
            pool.connections()
        );
    }
    let conn = pool.checkout().await.unwrap();
    assert!(conn.type_registry().find_oid_for_type(&mood).is_some());
    drop(conn);
    pool.execute(&format!("drop type {mood}"), ())
        .await
        .unwrap();
    pool.close().await;
}

async fn a_prepared_statement_is_refused_by_the_pool<R: Runtime>() {
    let (pool, _) = pool::<R>(PoolOptions::new().max_size(2)).await;
    let conn = pool.checkout().await.unwrap();
    let info = conn
        .create_prepared_statement("pool_stmt", "select 1")
        .await
        .unwrap();
    drop(conn);
    assert!(matches!(
        pool.fetch(&info, ()).await,
        Err(Error::InvalidInput(_))
    ));
    pool.close().await;
}

/// While the server refuses connections, waiting checkouts share one
/// backoff (a few attempts, not one per task per moment) and time out with
/// the connect error as the cause; once it is back, the next checkout
/// opens a replacement. The connector stands in for the server going down.
async fn replacements_back_off_while_the_server_is_down<R: Runtime>() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let down = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let connector: pgwire_conn::Connector<R::Socket> = {
        let (down, attempts) = (Arc::clone(&down), Arc::clone(&attempts));
        Arc::new(move |options: Arc<pgwire_conn::ConnectOptions>| {
            let (down, attempts) = (Arc::clone(&down), Arc::clone(&attempts));
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                if down.load(Ordering::SeqCst) {
                    return Err(Error::Connect {
                        address: "the test's server".into(),
                        source: std::io::ErrorKind::ConnectionRefused.into(),
                    });
                }
                R::open(&options).await
            })
        })
    };
    let connect = options(Role::Trust, R::transport());
    let pool = Pool::open(
        connect,
        PoolOptions::new()
            .max_size(4)
            .checkout_timeout(Some(Duration::from_millis(600))),
        connector,
        R::hooks(),
    )
    .await
    .unwrap();
    // The server "goes down": the idle connection dies with it.
    down.store(true, Ordering::SeqCst);
    let conn = pool.checkout().await.unwrap();
    conn.execute("select pg_terminate_backend(pg_backend_pid())", ())
        .await
        .unwrap_err();
    drop(conn);
    attempts.store(0, Ordering::SeqCst);
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            R::spawn(async move { pool.checkout().await.map(drop) })
        })
        .collect();
    for waiter in waiters {
        match waiter.await {
            Err(Error::PoolTimeout {
                last_error: Some(cause),
                ..
            }) => assert!(matches!(*cause, Error::Connect { .. }), "{cause:?}"),
            other => panic!("{other:?}"),
        }
    }
    // A refused connect fails at once: without pauses, four tasks retrying
    // for 600 ms would make thousands of attempts; with them (50 ms
    // doubling, one attempt per pause), a handful.
    let made = attempts.load(Ordering::SeqCst);
    assert!((4..=10).contains(&made), "{made} attempts");
    assert_eq!(pool.stats().timed_out_checkouts, 4);
    down.store(false, Ordering::SeqCst);
    // Back within the longest pause (5 s), and the first success ends the
    // pauses.
    let back = Instant::now();
    let row = loop {
        match pool.fetch_one("select 5", ()).await {
            Ok(row) => break row.unwrap(),
            Err(Error::PoolTimeout { .. }) if back.elapsed() < Duration::from_secs(8) => {}
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(row.try_get::<i32>(0).unwrap(), 5);
    let row = pool.fetch_one("select 6", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 6);
    assert_eq!(pool.connections(), 1);
    pool.close().await;
}

runtime_tests!(
    three_sleeps_on_a_pool_of_three_run_at_once,
    a_terminated_backend_is_replaced,
    a_connection_killed_while_idle_is_never_handed_out,
    begin_through_the_pool_is_rolled_back_at_check_in,
    a_dropped_pooled_query_is_cancelled_before_reuse,
    a_dropped_pooled_transaction_leaves_no_transaction_open,
    a_checkout_dropped_while_draining_keeps_the_connection,
    with_transaction_commits_or_rolls_back,
    a_checkout_waits_then_times_out,
    a_waiter_times_out_in_time_after_the_one_before_is_served,
    lifetime_idle_and_health_check_limits_hold,
    checkouts_are_served_in_order,
    open_pool_reports_a_wrong_password,
    open_pool_reports_an_unreachable_host,
    close_terminates_idle_connections_and_refuses_checkouts,
    close_wakes_waiting_checkouts,
    a_pooled_stream_keeps_its_connection_until_dropped,
    registered_types_reach_connections_opened_later,
    a_checkout_dropped_while_registering_types_leaves_no_phantom,
    a_prepared_statement_is_refused_by_the_pool,
    replacements_back_off_while_the_server_is_down,
);
