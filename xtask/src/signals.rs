//! Stopping the cluster no matter how a command ends.
//!
//! `cargo xtask test`/`demo` start a server that must not outlive them. A
//! [`CleanupGuard`] stops it on return, error and panic (unwinding runs
//! `Drop`). Signals are the hard case: Ctrl-C goes to the whole foreground
//! process group, so the child `cargo test` dies at the same moment and we
//! must *not* die with it before the server is stopped. The handler
//! (installed with the `ctrlc` crate, which with its "termination" feature
//! also covers SIGTERM and SIGHUP) therefore
//! 1. records the interruption (the main thread then exits with 130),
//! 2. passes SIGINT on to the running child and its descendants (a
//!    `kill -INT <xtask pid>` would otherwise leave `cargo test` and the
//!    test binary it runs going),
//! 3. lets the main thread notice (every child we wait for reports the
//!    interruption as an error), unwind and stop the cluster through the
//!    guard; only if that has not happened within a grace period does it
//!    run the cleanup itself (a mutex makes sure it runs once and that
//!    neither thread exits while it is running), and exits with 130.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::output::say_err;
use crate::process;

/// Exit code for "terminated by Ctrl-C" (128 + SIGINT), as shells use.
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// How long the handler lets the main thread finish up before acting.
const GRACE: Duration = Duration::from_secs(10);

type Cleanup = Box<dyn FnOnce() + Send>;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CHILD: AtomicU32 = AtomicU32::new(0);
static CLEANUP: Mutex<Option<Cleanup>> = Mutex::new(None);
static INSTALLED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Install the signal handler (once per process).
pub fn install() -> Result<()> {
    INSTALLED
        .get_or_init(|| ctrlc::set_handler(on_signal).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| Error::msg(format!("installing the Ctrl-C handler: {e}")))
}

/// Whether a termination signal has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn on_signal() {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        return;
    }
    say_err!("\nxtask: interrupted");
    let child = CHILD.load(Ordering::SeqCst);
    if child != 0 {
        // Best effort: after a Ctrl-C on the terminal they have it already.
        let _ = process::signal(&process::with_descendants(child), "INT");
    }
    // The main thread sees the child end, notices `interrupted()`, cleans up
    // and exits. Step in only if it does not manage within the grace period.
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(slot) = CLEANUP.try_lock() {
            if slot.is_none() {
                break; // Nothing (left) to clean up.
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    run_cleanup();
    std::process::exit(INTERRUPTED_EXIT_CODE);
}

fn cleanup_slot() -> MutexGuard<'static, Option<Cleanup>> {
    // A panic inside a cleanup must not stop another attempt.
    CLEANUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run the pending cleanup, if any. The lock is held while it runs, so a
/// concurrent caller (main thread vs. signal handler) waits for it to finish
/// instead of exiting underneath it.
fn run_cleanup() {
    let mut slot = cleanup_slot();
    if let Some(cleanup) = slot.take() {
        cleanup();
    }
}

/// Runs the registered cleanup when dropped, unless disarmed.
#[derive(Debug)]
#[must_use = "the cleanup runs when the guard is dropped"]
pub struct CleanupGuard {
    _private: (),
}

impl CleanupGuard {
    /// Register `cleanup` (replacing any earlier one).
    pub fn arm(cleanup: impl FnOnce() + Send + 'static) -> Self {
        *cleanup_slot() = Some(Box::new(cleanup));
        Self { _private: () }
    }

    /// Forget the cleanup: the cluster is meant to outlive us (`pg start`).
    pub fn disarm(self) {
        // Dropped outside the lock: dropping the closure may do work.
        let cleanup = cleanup_slot().take();
        drop(cleanup);
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        run_cleanup();
    }
}

/// Marks a child as the one to pass signals on to, while it lives.
#[derive(Debug)]
pub struct TrackedChild {
    pid: u32,
}

/// Record `pid` as the running child until the returned value is dropped.
pub fn track_child(pid: u32) -> TrackedChild {
    CHILD.store(pid, Ordering::SeqCst);
    TrackedChild { pid }
}

impl Drop for TrackedChild {
    fn drop(&mut self) {
        let _ = CHILD.compare_exchange(self.pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}
