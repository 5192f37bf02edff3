//! The pool against in-memory servers that answer the startup and then
//! stay silent: what a checkout costs when it finds an idle connection,
//! and that the checks it keeps still catch a connection gone bad.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pgwire_proto::StartupConfig;

use crate::tests::fake_stream::FakeStream;
use crate::tests::{block_on, msg};
use crate::timeout::{BoxFuture, RuntimeHooks};
use crate::{CancelToken, ConnectOptions, Connection, Pool, PoolOptions};

/// Counts the timers the pool asks for; none of them ever fires.
#[derive(Default)]
struct CountingHooks {
    sleeps: AtomicUsize,
}

impl RuntimeHooks for CountingHooks {
    fn sleep(&self, _after: Duration) -> BoxFuture<()> {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
    fn cancel(&self, _token: CancelToken) -> BoxFuture<crate::Result<()>> {
        Box::pin(async { Err(crate::Error::InvalidInput("no cancel here".into())) })
    }
}

/// A pool of 2 over streams whose server answers the startup and then
/// says nothing unless a test sends it, with the streams it opened.
fn pool() -> (
    Pool<FakeStream>,
    Arc<CountingHooks>,
    Arc<Mutex<Vec<FakeStream>>>,
) {
    pool_with(PoolOptions::new().max_size(2))
}

/// A pool with `options` over such streams.
fn pool_with(
    options: PoolOptions,
) -> (
    Pool<FakeStream>,
    Arc<CountingHooks>,
    Arc<Mutex<Vec<FakeStream>>>,
) {
    let streams = Arc::new(Mutex::new(Vec::new()));
    let opened = Arc::clone(&streams);
    let connector: crate::Connector<FakeStream> = Arc::new(move |_options| {
        let stream = FakeStream::default();
        stream.send(&msg(b'R', &[0, 0, 0, 0]));
        stream.send(&msg(b'Z', b"I"));
        opened.lock().unwrap().push(stream.clone());
        Box::pin(async move { Connection::connect_with(stream, &StartupConfig::new("u")).await })
    });
    let hooks = Arc::new(CountingHooks::default());
    assert!(
        options.get_checkout_timeout().is_some(),
        "the default has one"
    );
    let dyn_hooks: Arc<dyn RuntimeHooks> = Arc::clone(&hooks) as Arc<dyn RuntimeHooks>;
    let pool = block_on(Pool::open(
        ConnectOptions::new("localhost", "u"),
        options,
        connector,
        dyn_hooks,
    ))
    .unwrap();
    (pool, hooks, streams)
}

#[test]
fn a_checkout_that_finds_an_idle_connection_makes_no_timer() {
    let (pool, hooks, streams) = pool();
    for _ in 0..100 {
        let conn = block_on(pool.checkout()).unwrap();
        assert!(conn.ready() && !conn.in_transaction());
    }
    assert_eq!(hooks.sleeps.load(Ordering::SeqCst), 0);
    let stats = pool.stats();
    assert_eq!((stats.checkouts, stats.opened), (100, 1));
    assert_eq!(streams.lock().unwrap().len(), 1);
}

#[test]
fn a_checkout_still_refuses_an_idle_connection_the_server_spoke_on() {
    let (pool, _hooks, streams) = pool();
    drop(block_on(pool.checkout()).unwrap());
    // An answer to no request arrives on the idle connection, and the
    // next checkout comes after the window in which a checkout trusts the
    // read of the one before.
    streams.lock().unwrap()[0].send(&msg(b'Z', b"I"));
    std::thread::sleep(crate::pool::core::IDLE_READ_EVERY * 2);
    let conn = block_on(pool.checkout()).unwrap();
    assert!(!conn.dead());
    drop(conn);
    let stats = pool.stats();
    assert_eq!((stats.opened, stats.replaced), (2, 1), "{stats:?}");
    assert_eq!(streams.lock().unwrap().len(), 2);
}

/// A checkout right after another trusts that one's read of the socket,
/// but never what is known already: a connection found dead meanwhile is
/// replaced, however soon it is asked for again.
#[test]
fn a_checkout_soon_after_another_still_refuses_a_dead_connection() {
    let (pool, _hooks, streams) = pool();
    let conn = block_on(pool.checkout()).unwrap();
    // A frame whose length is shorter than the length field itself.
    streams.lock().unwrap()[0].send(&[b'D', 0, 0, 0, 1]);
    let failed = block_on(conn.execute("select 1", ()));
    assert!(failed.is_err() && conn.dead(), "{failed:?}");
    drop(conn);
    let conn = block_on(pool.checkout()).unwrap();
    assert!(!conn.dead());
    drop(conn);
    let stats = pool.stats();
    assert_eq!((stats.opened, stats.closed), (2, 1), "{stats:?}");
}

fn poll_once<F: std::future::Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Under contention nearly every checkout waits: the waiters share one
/// timer for their `checkout_timeout` (a runtime sleep per waiting
/// checkout was most of the cost of a checkout), and are still served in
/// order.
#[test]
fn waiting_checkouts_share_one_timer() {
    let (pool, hooks, _streams) = pool_with(PoolOptions::new().max_size(1));
    let held = block_on(pool.checkout()).unwrap();
    let mut waiters: Vec<_> = (0..50).map(|_| Box::pin(pool.checkout())).collect();
    for waiter in &mut waiters {
        assert!(poll_once(waiter.as_mut()).is_pending());
    }
    assert_eq!(pool.waiting_tasks(), 50);
    assert_eq!(
        hooks.sleeps.load(Ordering::SeqCst),
        1,
        "one timer for 50 waiters"
    );
    drop(held);
    for n in 0..waiters.len() {
        // The next in line has it; those behind it still wait.
        let Poll::Ready(conn) = poll_once(waiters[n].as_mut()) else {
            panic!("waiter {n} was not served in its turn");
        };
        for later in waiters[n + 1..].iter_mut().take(2) {
            assert!(poll_once(later.as_mut()).is_pending());
        }
        drop(conn.unwrap());
    }
    // The first waiter watched; served, it handed the watch on once.
    assert!(
        hooks.sleeps.load(Ordering::SeqCst) <= 2,
        "{:?}",
        hooks.sleeps
    );
    assert_eq!(pool.stats().checkouts, 51);
}

/// `close` returns as soon as the last connection checked out comes back,
/// woken by that check-in (it looked every 10 ms before, on a timer of
/// its own each time).
#[test]
fn close_returns_when_the_last_connection_comes_back() {
    let (pool, hooks, _streams) = pool();
    let held = block_on(pool.checkout()).unwrap();
    let mut closing = Box::pin(pool.close());
    assert!(poll_once(closing.as_mut()).is_pending());
    assert!(poll_once(closing.as_mut()).is_pending());
    drop(held);
    assert_eq!(poll_once(closing.as_mut()), Poll::Ready(0));
    // One timer: the close_timeout, which never fired here.
    assert_eq!(hooks.sleeps.load(Ordering::SeqCst), 1);
    // With nothing out, no timer at all.
    assert_eq!(block_on(pool.close()), 0);
    assert_eq!(hooks.sleeps.load(Ordering::SeqCst), 1);
}
