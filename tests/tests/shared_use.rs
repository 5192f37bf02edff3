//! Cancel safety and shared use: futures dropped at random await points
//! thousands of times, and one connection shared by 64 tasks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{select, Either};
use futures_util::{pin_mut, StreamExt};
use pgwire_conn::Error;
use pgwire_integration_tests::{connect, runtime_tests, unique_name, Runtime};

/// Small deterministic PRNG (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Completes after being polled `n` times: racing it against an operation
/// drops the operation after a chosen number of polls.
struct YieldN(u64);

impl Future for YieldN {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `op`, dropping it after `polls` polls or `micros` microseconds.
async fn race<R: Runtime, F: Future>(op: F, rng: &mut Rng) -> Option<F::Output> {
    let limit = async {
        if rng.below(2) == 0 {
            YieldN(rng.below(40)).await
        } else {
            R::sleep(std::time::Duration::from_micros(rng.below(3000))).await
        }
    };
    pin_mut!(op, limit);
    match select(op, limit).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

async fn random_drops_never_corrupt_the_connection<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("cancel");
    conn.execute(&format!("create temp table {t} (n int)"), ())
        .await
        .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut completed = 0;
    for i in 0..2000i64 {
        match rng.below(6) {
            0 => {
                race::<R, _>(conn.fetch("select $1::int8", (i,)), &mut rng).await;
            }
            1 => {
                race::<R, _>(
                    conn.execute("select g from generate_series(1, 2000) g", ()),
                    &mut rng,
                )
                .await;
            }
            2 => {
                let op = async {
                    let mut rows = conn
                        .query("select g from generate_series(1, 5000) g", ())
                        .await?;
                    let mut n = 0;
                    while let Some(row) = rows.next().await {
                        row?;
                        n += 1;
                    }
                    Ok::<_, Error>(n)
                };
                race::<R, _>(op, &mut rng).await;
            }
            3 => {
                // a transaction abandoned anywhere must leave nothing behind
                let op = conn.with_transaction(async |tx| {
                    tx.execute(&format!("insert into {t} values ($1)"), (i as i32,))
                        .await?;
                    tx.execute("select pg_sleep(0.001)", ()).await?;
                    Err::<(), _>(Error::InvalidInput("always roll back".into()))
                });
                race::<R, _>(op, &mut rng).await;
            }
            4 => {
                let op = conn.fetch("select * from nonexistent_for_cancel", ());
                race::<R, _>(op, &mut rng).await;
            }
            _ => {
                let op = conn.simple_query("select 1; select 2; select 3");
                race::<R, _>(op, &mut rng).await;
            }
        }
        // Every following answer is right.
        let row = conn
            .fetch_one("select $1::int8", (i,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>(0).unwrap(), i, "iteration {i}");
        assert!(!conn.in_transaction(), "iteration {i}");
        assert!(conn.ready());
        completed += 1;
    }
    assert_eq!(completed, 2000);
    // every transaction rolled back
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        0
    );
}

async fn sixty_four_tasks_share_one_connection<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let mut tasks = Vec::new();
    for task in 0..64i64 {
        let conn = Arc::clone(&conn);
        tasks.push(R::spawn(async move {
            let mut correct = 0u32;
            for i in 0..1000i64 {
                let expected = task * 1_000_000 + i;
                let row = conn
                    .fetch_one("select $1::int8", (expected,))
                    .await
                    .unwrap()
                    .unwrap();
                if row.try_get::<i64>(0).unwrap() == expected {
                    correct += 1;
                }
            }
            correct
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await;
    }
    assert_eq!(total, 64_000);
}

runtime_tests!(
    random_drops_never_corrupt_the_connection,
    sixty_four_tasks_share_one_connection,
);
