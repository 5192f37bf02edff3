//! Dropping futures at chosen await points, and bounding waits so that a
//! hang fails the test instead of stalling the suite.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::{select, Either};
use futures_util::pin_mut;

use crate::Runtime;

/// Small deterministic PRNG (xorshift64*), so a failure can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Completes after being polled `n` times: racing it against an operation
/// drops the operation after a chosen number of polls.
#[derive(Debug)]
pub struct YieldN(pub u64);

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

/// Runs `op`, dropping it after a random number of polls (up to 40) or
/// microseconds (up to 3000): `None` if it was dropped.
pub async fn race<R: Runtime, F: Future>(op: F, rng: &mut Rng) -> Option<F::Output> {
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

/// Runs `op`, dropping it after it was polled `polls + 1` times: `None` if
/// it was dropped.
pub async fn after_polls<F: Future>(op: F, polls: u64) -> Option<F::Output> {
    let limit = YieldN(polls);
    pin_mut!(op, limit);
    match select(op, limit).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// Runs `op`, dropping it after `d`: `None` if it was dropped. The future
/// really is dropped when this returns (not kept pinned somewhere).
pub async fn timeout<R: Runtime, F: Future>(d: std::time::Duration, op: F) -> Option<F::Output> {
    match select(Box::pin(op), Box::pin(R::sleep(d))).await {
        Either::Left((out, _)) => Some(out),
        Either::Right((_, op)) => {
            drop(op);
            None
        }
    }
}

/// Fails the test instead of hanging when `op` takes longer than `secs`.
pub async fn within<R: Runtime, F: Future>(secs: u64, what: &str, op: F) -> F::Output {
    let limit = R::sleep(std::time::Duration::from_secs(secs));
    pin_mut!(op, limit);
    match select(op, limit).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("{what} did not finish within {secs} s (it hangs)"),
    }
}
