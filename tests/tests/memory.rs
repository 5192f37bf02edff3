//! Memory comes back, and memory kept alive is about the size of the data
//! kept, whatever the sizes of the socket's reads: measured as the heap
//! bytes the process holds (a counting allocator), so this file holds a
//! single test, one runtime after the other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::Row;
use pgwire_integration_tests::streams::SmallReads;
use pgwire_integration_tests::{connect, connect_over, AsyncStd, Runtime, Smol, Tokio};

mod counting {
    //! Heap bytes held by the process. The only unsafe code of the tests:
    //! `GlobalAlloc` is an `unsafe trait`, and these methods only forward
    //! their arguments to `System` (so they keep its contract) and touch an
    //! atomic.
    #![allow(unsafe_code)]

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicIsize, Ordering};

    pub struct Counting;

    static HELD: AtomicIsize = AtomicIsize::new(0);

    fn add(n: usize) {
        HELD.fetch_add(n as isize, Ordering::Relaxed);
    }

    fn sub(n: usize) {
        HELD.fetch_sub(n as isize, Ordering::Relaxed);
    }

    /// Heap bytes allocated and not yet freed, by every thread.
    pub fn held() -> isize {
        HELD.load(Ordering::Relaxed)
    }

    // SAFETY: every method forwards its arguments unchanged to `System`.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size());
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            add(layout.size());
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            sub(layout.size());
            // SAFETY: the caller's contract, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            sub(layout.size());
            add(new_size);
            // SAFETY: the caller's contract, passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const ROWS: i32 = 10_000;
/// What 10,000 kept one-column rows (~180 KB on the wire, ~60 B each as a
/// `Row` with its bytes) may hold: before the receive buffer and the eager
/// paths followed the data kept, they held 68 to 165 MB.
const KEPT_LIMIT: isize = 2 << 20;

/// Heap bytes held now.
fn held() -> isize {
    counting::held()
}

fn check_rows(rows: &[Row]) {
    assert_eq!(rows.len(), ROWS as usize);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.try_get::<&str>(0).unwrap(), format!("v{}", i + 1));
    }
}

/// Rows kept from a lazy stream whose bytes arrive `read` bytes at a time.
async fn kept_stream_rows<R: Runtime>(read: usize) {
    let conn = connect_over::<R, _, _>(|s| SmallReads::new(s, read)).await;
    let sql = "select 'v' || g from generate_series(1, 10000) g";
    // Warm up: the statement, the buffers, the runtime's own allocations.
    let _: Vec<Row> = conn
        .query(sql, ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let before = held();
    let rows: Vec<Row> = conn
        .query(sql, ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let grew = held() - before;
    check_rows(&rows);
    assert!(
        grew < KEPT_LIMIT,
        "{ROWS} rows read {read} bytes at a time keep {grew} bytes"
    );
}

/// Rows kept from separate `fetch_one`s.
async fn kept_fetch_one_rows<R: Runtime>() {
    let conn = connect::<R>().await;
    let sql = "select 'v' || $1::int4";
    let _ = conn.fetch_one(sql, (0,)).await.unwrap();
    let before = held();
    let mut rows = Vec::with_capacity(ROWS as usize);
    for i in 1..=ROWS {
        rows.push(conn.fetch_one(sql, (i,)).await.unwrap().unwrap());
    }
    let grew = held() - before;
    check_rows(&rows);
    assert!(grew < KEPT_LIMIT, "{ROWS} fetch_one rows keep {grew} bytes");
    // Each keeps about its own bytes.
    assert!(rows.iter().all(|r| r.retained_bytes() < 64));
}

/// The send buffer is given back after a large parameter.
async fn the_send_buffer_comes_back<R: Runtime>() {
    let conn = connect::<R>().await;
    let big = vec![7u8; 48 << 20];
    let row = conn
        .fetch_one("select octet_length($1::bytea)", (big.as_slice(),))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap() as usize, big.len());
    let usage = conn.memory_usage().await;
    assert!(usage.send_buffer <= 1 << 20, "{usage:?}");
    assert!(usage.receive_buffer <= 1 << 20, "{usage:?}");
}

async fn all<R: Runtime>() {
    the_send_buffer_comes_back::<R>().await;
    kept_fetch_one_rows::<R>().await;
    kept_stream_rows::<R>(64).await;
    kept_stream_rows::<R>(1).await;
}

#[test]
fn memory_follows_the_data_kept() {
    Tokio::block_on(all::<Tokio>());
    Smol::block_on(all::<Smol>());
    AsyncStd::block_on(all::<AsyncStd>());
}
