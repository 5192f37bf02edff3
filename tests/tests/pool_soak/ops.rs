//! The soak's operations: each checks its own answer, value by value, and
//! records the ids it inserts as must-exist, must-not-exist or unknown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::TryStreamExt;
use pgwire_conn::{Error, Query, SqlState};
use pgwire_integration_tests::{timeout, Rng, Runtime};

use super::{assert_clean, bump, marker_ok, Ctx, MARKER, SIDE_TIMEOUT};

fn random_i32(rng: &mut Rng, below: u64) -> i32 {
    (rng.below(2 * below) as i64 - below as i64) as i32
}

/// `select $1::int4 * 3` and friends on any free connection, sometimes
/// with a short server-side sleep (so that drops land mid-query).
async fn op_query<S>(ctx: &Ctx<S>, mut rng: Rng) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let v = random_i32(&mut rng, 700_000_000);
    let text = format!("t{}", rng.next_u64());
    let sleep = if rng.below(8) == 0 {
        rng.below(30) as f64 / 1000.0
    } else {
        0.0
    };
    let sql = format!("select $1::int4 * 3, $2::text, {MARKER} from pg_sleep($3::float8)");
    let row = ctx
        .pool
        .fetch_one(sql.as_str(), (v, text.as_str(), sleep))
        .await?;
    let Some(row) = row else {
        ctx.tally
            .fail("wrong answer: no row for select $1 * 3".into());
        return Ok(());
    };
    let (got, echo, marker) = (
        row.try_get::<i32>(0).unwrap(),
        row.try_get::<&str>(1).unwrap(),
        row.try_get::<&str>(2).unwrap(),
    );
    ctx.tally.check(got == v * 3 && echo == text, || {
        format!("{v} * 3, {text:?}: got {got}, {echo:?}")
    });
    marker_ok(&ctx.tally, marker, "pool.fetch_one");
    Ok(())
}

/// Up to 50 rows at once, each checked.
async fn op_fetch<S>(ctx: &Ctx<S>, mut rng: Rng) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let n = 1 + rng.below(50) as i32;
    let k = random_i32(&mut rng, 1000);
    let rows = ctx
        .pool
        .fetch(
            "select n, n * $2::int4 from generate_series(1, $1::int4) n",
            (n, k),
        )
        .await?;
    let got: Vec<(i32, i32)> = rows
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect();
    let want: Vec<(i32, i32)> = (1..=n).map(|i| (i, i * k)).collect();
    ctx.tally
        .check(got == want, || format!("{n} rows times {k}: got {got:?}"));
    Ok(())
}

/// A lazy pooled stream, checked row by row, dropped at a random row or
/// read to its end.
async fn op_stream<S>(ctx: &Ctx<S>, mut rng: Rng) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    // Now and then a long one, dropped early: the server is still sending
    // when the connection goes back.
    let (n, stop) = if rng.below(8) == 0 {
        let n = 50_000 + rng.below(50_000) as i32;
        (n, rng.below(3000) as i32)
    } else {
        let n = 1 + rng.below(3000) as i32;
        (n, rng.below(n as u64 + 1) as i32)
    };
    let tag = random_i32(&mut rng, 1 << 30);
    let sql = "select generate_series(1, $1::int4)::int4, $2::int4";
    let mut rows = if rng.below(4) == 0 {
        ctx.pool
            .query_with_timeout(sql, Duration::from_secs(30), (n, tag))
            .await?
    } else {
        ctx.pool.query(sql, (n, tag)).await?
    };
    for i in 1..=stop {
        let Some(row) = rows.try_next().await? else {
            ctx.tally
                .fail(format!("wrong answer: a stream of {n} rows ended at {i}"));
            return Ok(());
        };
        let got: (i32, i32) = (row.try_get(0).unwrap(), row.try_get(1).unwrap());
        ctx.tally.check(got == (i, tag), || {
            format!("row {i} of {n} (tag {tag}): got {got:?}")
        });
    }
    if stop == n {
        if rng.below(2) == 0 {
            let extra = rows.try_next().await?;
            ctx.tally.check(extra.is_none(), || {
                format!("a stream of {n} rows had a row more: {extra:?}")
            });
        } else {
            let count = rows.row_count().await?;
            ctx.tally.check(count == n as u64, || {
                format!("row_count {count} for {n} rows")
            });
        }
    }
    // Otherwise dropped early: the pool cancels and drains it.
    Ok(())
}

/// A pooled transaction that inserts a block of ids and commits: only an
/// acknowledged commit makes them must-exist.
async fn op_commit<S>(ctx: &Ctx<S>, mut rng: Rng, task: i32) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let n = 1 + rng.below(3) as i64;
    let first = ctx.tally.fresh_ids(n);
    ctx.tally.record(first, n, |ids| &mut ids.unknown);
    let insert = format!(
        "insert into {} (id, task) values ($1, $2) returning id",
        ctx.table
    );
    if rng.below(3) == 0 {
        let inserted = ctx
            .pool
            .with_transaction(async |tx| {
                let mut total = 0;
                for id in first..first + n {
                    total += tx.execute(insert.as_str(), (id, task)).await?;
                }
                Ok::<_, Error>(total)
            })
            .await?;
        ctx.tally.check(inserted == n as u64, || {
            format!("{n} inserts counted {inserted}")
        });
    } else {
        let tx = ctx.pool.checkout_in_transaction().await?;
        if !tx.connection().in_transaction() {
            ctx.tally
                .fail("checkout_in_transaction outside a transaction".into());
        }
        for id in first..first + n {
            let row = tx.fetch_one(insert.as_str(), (id, task)).await?;
            let got = row.map(|r| r.try_get::<i64>(0).unwrap());
            ctx.tally
                .check(got == Some(id), || format!("insert {id} returned {got:?}"));
        }
        let seen = count_ids(ctx, &tx, first, n).await?;
        ctx.tally.check(seen == n, || {
            format!("{n} rows inserted, {seen} seen inside")
        });
        tx.commit().await?;
    }
    ctx.tally.record(first, n, |ids| &mut ids.must_exist);
    if rng.below(3) == 0 {
        // Visible at once on any connection.
        let row = ctx
            .pool
            .fetch_one(
                format!(
                    "select count(*) from {} where id >= $1 and id < $2",
                    ctx.table
                )
                .as_str(),
                (first, first + n),
            )
            .await?;
        let seen: i64 = row.unwrap().try_get(0).unwrap();
        ctx.tally.check(seen == n, || {
            format!("{n} rows committed from {first}, {seen} seen after")
        });
    }
    Ok(())
}

async fn count_ids<S>(
    ctx: &Ctx<S>,
    tx: &pgwire_conn::PooledTransaction<S>,
    first: i64,
    n: i64,
) -> Result<i64, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let sql = format!(
        "select count(*) from {} where id >= $1 and id < $2",
        ctx.table
    );
    let row = tx.fetch_one(sql.as_str(), (first, first + n)).await?;
    Ok(row.unwrap().try_get(0).unwrap())
}

/// A pooled transaction that sets the session marker, inserts, and then
/// rolls back: explicitly, by being dropped, after a failed statement, or
/// by `with_transaction` returning an error.
async fn op_rollback<S>(ctx: &Ctx<S>, mut rng: Rng, task: i32) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let n = 1 + rng.below(3) as i64;
    let first = ctx.tally.fresh_ids(n);
    ctx.tally.record(first, n, |ids| &mut ids.must_not);
    let insert = format!("insert into {} (id, task) values ($1, $2)", ctx.table);
    let marker = format!("rb-{first}");
    let set = "select set_config('pgwire.soak_marker', $1, false)";
    let how = rng.below(5);
    if how == 4 {
        let out: Result<(), Error> = ctx
            .pool
            .with_transaction(async |tx| {
                tx.execute(set, (marker.as_str(),)).await?;
                for id in first..first + n {
                    tx.execute(insert.as_str(), (id, task)).await?;
                }
                Err(Error::InvalidInput("soak: roll back".into()))
            })
            .await;
        return match out {
            Err(Error::InvalidInput(m)) if m == "soak: roll back" => Ok(()),
            Err(e) => Err(e),
            Ok(()) => {
                ctx.tally
                    .fail("with_transaction returned Ok for a closure's Err".into());
                Ok(())
            }
        };
    }
    let tx = ctx.pool.checkout_in_transaction().await?;
    let before: String = tx
        .fetch_one(format!("select {MARKER}").as_str(), ())
        .await?
        .unwrap()
        .try_get(0)
        .unwrap();
    marker_ok(&ctx.tally, &before, "checkout_in_transaction");
    tx.execute(set, (marker.as_str(),)).await?;
    for id in first..first + n {
        tx.execute(insert.as_str(), (id, task)).await?;
    }
    let seen = count_ids(ctx, &tx, first, n).await?;
    ctx.tally.check(seen == n, || {
        format!("{n} rows inserted, {seen} seen inside")
    });
    match how {
        0 => tx.rollback().await?,
        1 => drop(tx),
        2 => {
            match tx.execute("select 1 / $1::int4", (0,)).await {
                Err(e) if e.code() == Some(SqlState::DIVISION_BY_ZERO) => {}
                Err(e) => return Err(e),
                Ok(n) => ctx.tally.fail(format!("1 / 0 gave {n}")),
            }
            // A failed transaction: COMMIT becomes ROLLBACK, typed.
            match tx.commit().await {
                Err(Error::TransactionRolledBack) => {}
                Err(e) => return Err(e),
                Ok(()) => ctx.tally.fail("a failed transaction committed".into()),
            }
        }
        _ => {
            // A savepoint rolled back, then the whole transaction.
            let savepoint = tx.begin().await?;
            savepoint.execute(set, ("sp",)).await?;
            savepoint.rollback().await?;
            let now: String = tx
                .fetch_one(format!("select {MARKER}").as_str(), ())
                .await?
                .unwrap()
                .try_get(0)
                .unwrap();
            ctx.tally
                .check(now == marker, || format!("marker after savepoint: {now:?}"));
            tx.rollback().await?;
        }
    }
    Ok(())
}

/// `pool.checkout()`, checked clean, used, and held a little.
async fn op_checkout<R: Runtime>(ctx: &Ctx<R::Socket>, mut rng: Rng) -> Result<(), Error> {
    let conn = ctx.pool.checkout().await?;
    assert_clean(&ctx.tally, &conn, "checkout");
    if conn.type_registry().find_oid_for_type(&ctx.mood).is_none() {
        ctx.tally
            .fail(format!("a checkout without the pool's type {}", ctx.mood));
    }
    let v = rng.next_u64() as i64 >> 2;
    let row = conn
        .fetch_one(format!("select {MARKER}, $1::int8 + 1").as_str(), (v,))
        .await?
        .unwrap();
    marker_ok(&ctx.tally, row.try_get::<&str>(0).unwrap(), "checkout");
    let got: i64 = row.try_get(1).unwrap();
    ctx.tally
        .check(got == v + 1, || format!("{v} + 1: got {got}"));
    match rng.below(4) {
        0 => R::sleep(Duration::from_millis(rng.below(20))).await,
        1 => {
            // Dropped mid-query on the checked-out connection (the queue
            // for a checkout is not where this drop lands): the connection
            // goes back with the statement running, for the next checkout
            // to cancel and drain.
            let v = random_i32(&mut rng, 1 << 30);
            let sleep = rng.below(20) as f64 / 1000.0;
            let limit = Duration::from_millis(rng.below(15));
            let slow = conn.fetch_one("select $1::int4 from pg_sleep($2::float8)", (v, sleep));
            if let Some(row) = timeout::<R, _>(limit, slow).await {
                let got = row?.map(|r| r.try_get::<i32>(0).unwrap());
                ctx.tally
                    .check(got == Some(v), || format!("select {v}: got {got:?}"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `Query::timeout` on a statement that sleeps about as long as the limit:
/// the right value, or a typed timeout.
async fn op_query_timeout<S>(ctx: &Ctx<S>, mut rng: Rng) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let v = random_i32(&mut rng, 1 << 30);
    let sleep = rng.below(40) as f64 / 1000.0;
    let limit = Duration::from_millis(1 + rng.below(40));
    let query = Query::new("select $1::int4 from pg_sleep($2::float8)").timeout(limit);
    match ctx.pool.fetch_one(query, (v, sleep)).await {
        Ok(row) => {
            let got = row.map(|r| r.try_get::<i32>(0).unwrap());
            ctx.tally
                .check(got == Some(v), || format!("select {v}: got {got:?}"));
        }
        Err(Error::QueryTimeout { outcome, .. }) => {
            bump(
                &ctx.tally.errors,
                format!("QueryTimeout {outcome:?} (deliberate)"),
            );
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Leaks a transaction on purpose, through the pool's own methods: the
/// pool rolls it back at check-in, and the next checkout is clean.
async fn op_leak<S>(ctx: &Ctx<S>, mut rng: Rng, task: i32) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    ctx.tally.leaks_tried.fetch_add(1, Ordering::Relaxed);
    if rng.below(2) == 0 {
        ctx.pool.execute("begin", ()).await?;
    } else {
        let id = ctx.tally.fresh_ids(1);
        ctx.tally.record(id, 1, |ids| &mut ids.must_not);
        ctx.pool
            .simple_query(&format!(
                "begin; insert into {} (id, task) values ({id}, {task}); \
                 select set_config('pgwire.soak_marker', 'leak-{id}', false)",
                ctx.table
            ))
            .await?;
    }
    ctx.tally.leaks_acked.fetch_add(1, Ordering::Relaxed);
    let conn = ctx.pool.checkout().await?;
    assert_clean(&ctx.tally, &conn, "checkout after a leak");
    let marker: String = conn
        .fetch_one(format!("select {MARKER}").as_str(), ())
        .await?
        .unwrap()
        .try_get(0)
        .unwrap();
    marker_ok(&ctx.tally, &marker, "checkout after a leak");
    Ok(())
}

/// The side pool of one connection with a 10 ms `checkout_timeout`, held
/// up to 30 ms: checkouts time out there on purpose, as `PoolTimeout`.
async fn op_side<R: Runtime>(ctx: &Ctx<R::Socket>, mut rng: Rng) -> Result<(), Error> {
    match ctx.side.checkout().await {
        Ok(conn) => {
            assert_clean(&ctx.tally, &conn, "side checkout");
            let v = random_i32(&mut rng, 1 << 30);
            let got: i32 = conn
                .fetch_one("select $1::int4", (v,))
                .await?
                .unwrap()
                .try_get(0)
                .unwrap();
            ctx.tally
                .check(got == v, || format!("side: {v} gave {got}"));
            R::sleep(Duration::from_millis(rng.below(30))).await;
        }
        Err(Error::PoolTimeout { after, last_error }) => {
            ctx.tally.side_timeouts.fetch_add(1, Ordering::Relaxed);
            if after != SIDE_TIMEOUT || last_error.is_some() {
                ctx.tally
                    .fail(format!("side PoolTimeout after {after:?}: {last_error:?}"));
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The operations, by weight (of 100).
const KINDS: [(&str, u64); 9] = [
    ("query", 22),
    ("fetch", 10),
    ("stream", 15),
    ("commit", 15),
    ("rollback", 14),
    ("checkout", 12),
    ("query_timeout", 6),
    ("leak", 3),
    ("side", 3),
];

pub(crate) fn pick(rng: &mut Rng) -> &'static str {
    let mut roll = rng.below(KINDS.iter().map(|k| k.1).sum());
    for (kind, weight) in KINDS {
        if roll < weight {
            return kind;
        }
        roll -= weight;
    }
    KINDS[0].0
}

pub(crate) async fn one_op<R: Runtime>(
    ctx: &Ctx<R::Socket>,
    kind: &str,
    rng: Rng,
    task: i32,
) -> Result<(), Error> {
    match kind {
        "query" => op_query(ctx, rng).await,
        "fetch" => op_fetch(ctx, rng).await,
        "stream" => op_stream(ctx, rng).await,
        "commit" => op_commit(ctx, rng, task).await,
        "rollback" => op_rollback(ctx, rng, task).await,
        "checkout" => op_checkout::<R>(ctx, rng).await,
        "query_timeout" => op_query_timeout(ctx, rng).await,
        "leak" => op_leak(ctx, rng, task).await,
        _ => op_side::<R>(ctx, rng).await,
    }
}
