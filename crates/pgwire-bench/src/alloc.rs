//! A counting global allocator: it forwards everything to [`System`] and,
//! while counting is switched on, counts allocation calls (`alloc`,
//! `alloc_zeroed`, `realloc`) made by any thread of the process. The bulk
//! decode case switches it on around its streaming loop only, so the figure
//! is "heap allocations per row" for the whole client (including
//! tokio-postgres' background connection task, which runs on another thread).
//!
//! This is the only unsafe code in the workspace outside dependencies:
//! `GlobalAlloc` is an `unsafe trait` and there is no safe way to observe
//! every heap allocation of a process. The bodies do nothing but forward
//! to `System` with the caller's arguments, so they uphold exactly the
//! contract `System` does.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The allocator installed by `main.rs`.
#[derive(Debug)]
pub struct Counting;

static ENABLED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicU64 = AtomicU64::new(0);

#[inline]
fn note() {
    // Relaxed is enough: the counter is read after the measured loop has
    // ended, and a handful of allocations racing with the switch at the
    // edges of a million-row loop do not change the per-row figure.
    if ENABLED.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly; counting touches only atomics and
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts counting from zero.
pub fn start() {
    COUNT.store(0, Ordering::Relaxed);
    ENABLED.store(true, Ordering::SeqCst);
}

/// Stops counting and returns the allocations since [`start`].
pub fn stop() -> u64 {
    ENABLED.store(false, Ordering::SeqCst);
    COUNT.load(Ordering::Relaxed)
}
