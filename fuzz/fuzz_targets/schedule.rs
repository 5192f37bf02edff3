//! The pipelining core of pgwire-conn under a fuzz-chosen schedule: 1 to 8
//! tasks share one `Connection` over an in-memory stream to a fake
//! backend, and a single-threaded executor polls them, drops them mid-flight,
//! lets the server read, answers arrive in chunks, statements fail and the
//! server closes, all in the order the input says. Asserted: every task
//! gets its own answer or a typed error of its own (see `tasks`); a request
//! sent after the server closed gets an error; no task hangs while the
//! server is willing; and after the schedule a last query gets its own
//! answer, unless the server closed and it gets a typed error.
//!
//! The input: byte 0 the task count and the statement cache's capacity,
//! byte 1 the buffer sizes, two bytes per task (its kind and how many
//! times it repeats, an argument: see `tasks::Kind::decode`), then the
//! schedule, one operation a byte: poll a task, drop one, let the server
//! read, deliver the next n bytes, fail the next statement, close.
#![no_main]

#[path = "schedule/backend.rs"]
mod backend;
#[path = "schedule/tasks.rs"]
mod tasks;
#[path = "schedule/wire.rs"]
mod wire;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use libfuzzer_sys::fuzz_target;
use pgwire_conn::{Connection, Error};
use pgwire_proto::StartupConfig;

use backend::Backend;
use tasks::{Ctx, Task};
use wire::Stream;

/// Steps the executor may take to finish after the schedule; more is a
/// livelock (tasks that keep waking without getting anywhere).
const MAX_STEPS: usize = 200_000;

/// A waker that marks its task ready.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// The server's side: the backend and the network between it and the
/// client's socket.
struct Server {
    backend: Backend,
    stream: Stream,
}

impl Server {
    /// The backend reads what the client wrote and answers what it can.
    fn read(&mut self) -> bool {
        if self.backend.closed {
            return false;
        }
        let bytes = self.stream.take_written();
        let progressed = self.backend.receive(&bytes);
        if self.backend.closed {
            // Terminate: what was flushed goes out, then the end.
            self.deliver(usize::MAX);
            self.stream.close();
        }
        progressed
    }

    /// The network delivers up to `n` bytes, as the client's receive
    /// buffer has room for them.
    fn deliver(&mut self, n: usize) -> bool {
        let n = n.min(self.backend.outgoing.len()).min(self.stream.room());
        if n == 0 {
            return false;
        }
        self.stream.deliver(self.backend.outgoing.drain(..n));
        true
    }

    /// The server closes after sending the first `keep` bytes of what it
    /// flushed (cutting a message, often).
    fn close(&mut self, keep: usize) {
        let keep = keep.min(self.backend.outgoing.len());
        self.backend.outgoing.truncate(keep);
        let rest: Vec<u8> = self.backend.outgoing.drain(..).collect();
        self.stream.deliver(rest);
        self.backend.closed = true;
        self.stream.close();
    }

    /// Everything the server is willing to do now; true if anything
    /// happened.
    fn turn(&mut self) -> bool {
        let mut any = false;
        loop {
            let read = self.read();
            let delivered = self.deliver(usize::MAX);
            if !(read || delivered) {
                return any;
            }
            any = true;
        }
    }
}

struct Slot<'a> {
    task: Option<Task<'a>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<'a> Slot<'a> {
    fn new(task: Task<'a>) -> Self {
        // Ready at first: a new task has not been polled yet.
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(Arc::clone(&flag));
        Slot {
            task: Some(task),
            flag,
            waker,
        }
    }

    /// Polls the task; true if it ended.
    fn poll(&mut self) -> bool {
        let Some(task) = self.task.as_mut() else {
            return false;
        };
        self.flag.0.store(false, Ordering::SeqCst);
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
            .is_ready()
        {
            self.task = None;
            return true;
        }
        false
    }

    fn ready(&self) -> bool {
        self.task.is_some() && self.flag.0.load(Ordering::SeqCst)
    }
}

/// Runs the slots to their ends: ready tasks first, else the server's
/// turn; a state where neither can move is a hang.
fn finish(slots: &mut [Slot<'_>], server: &mut Server, ctx: &Ctx) {
    for _ in 0..MAX_STEPS {
        if slots.iter().all(|s| s.task.is_none()) {
            return;
        }
        let mut polled = false;
        for slot in slots.iter_mut() {
            if slot.ready() {
                slot.poll();
                polled = true;
            }
        }
        if polled || server.turn() {
            continue;
        }
        let waiting = slots.iter().filter(|s| s.task.is_some()).count();
        panic!(
            "{waiting} task(s) wait while the server has nothing to send (closed: {}, server unread: {})",
            ctx.closed.get(),
            server.backend.has_unread(),
        );
    }
    panic!("no end after {MAX_STEPS} steps");
}

/// Runs one future to its end with the server answering.
fn drive<F: Future>(fut: F, server: &mut Server, ctx: &Ctx) -> F::Output {
    let out = std::cell::RefCell::new(None);
    {
        let task: Task<'_> = Box::pin(async {
            *out.borrow_mut() = Some(fut.await);
        });
        finish(&mut [Slot::new(task)], server, ctx);
    }
    out.into_inner().expect("finished")
}

fn connection_gone(err: &Error) -> bool {
    matches!(err, Error::Dead(_) | Error::Io(_) | Error::Protocol(_))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let setup = input.byte();
    let tasks = usize::from(setup % 8) + 1;
    let sizes = input.byte();
    let size = |bits: u8| [64usize, 512, 8192, 1 << 20][usize::from(bits % 4)];
    let stream = Stream::new(size(sizes), size(sizes >> 2), sizes & 0x80 != 0);
    let mut server = Server {
        backend: Backend::new(size(sizes >> 4)),
        stream: stream.clone(),
    };
    let ctx = Ctx::default();
    let conn = drive(
        Connection::connect_with(stream, &StartupConfig::new("fuzz")),
        &mut server,
        &ctx,
    )
    .expect("startup against the fake backend");
    match (setup >> 3) % 4 {
        0 => conn.set_statement_cache_capacity(0),
        1 => conn.set_statement_cache_capacity(1),
        2 => conn.set_statement_cache_capacity(2),
        _ => {}
    }
    let kinds: Vec<(u8, u8)> = (0..tasks).map(|_| (input.byte(), input.byte())).collect();
    let mut slots: Vec<Slot<'_>> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, (kind, arg))| Slot::new(tasks::task(&conn, &ctx, i, kind, arg)))
        .collect();

    while !input.0.is_empty() {
        let op = input.byte();
        match op {
            0..=127 => {
                // Poll a task, woken or not (a spurious poll is allowed).
                slots[usize::from(op) % tasks].poll();
            }
            128..=159 => {
                server.read();
            }
            160..=207 => {
                let n = usize::from(input.byte()) + 1;
                server.deliver(n);
            }
            208..=231 => {
                // Dropped wherever it stands.
                slots[usize::from(op) % tasks].task = None;
            }
            232..=247 => server.backend.fail_next += 1,
            248..=255 => {
                let keep = usize::from(input.byte()) * 3;
                ctx.closed.set(true);
                server.close(keep);
            }
        }
    }
    finish(&mut slots, &mut server, &ctx);
    drop(slots);

    let last = drive(
        conn.fetch("select $1::int4 + 1", (4242i32,)),
        &mut server,
        &ctx,
    );
    match last {
        Ok(rows) => {
            assert!(!ctx.closed.get(), "answered after the server closed");
            assert_eq!(rows.len(), 1);
            assert_eq!(
                rows[0].try_get::<i32>(0).unwrap(),
                4243,
                "not the last query's answer"
            );
        }
        Err(e) if ctx.closed.get() && connection_gone(&e) => {}
        Err(e) => {
            // An injected failure may still be pending for it.
            let own = matches!(&e, Error::Database(db) if db.message.ends_with("[4243]"));
            assert!(own, "the last query failed: {e:?}");
        }
    }
    if !ctx.closed.get() {
        assert!(
            !conn.dead(),
            "the connection died without the server closing"
        );
    }
});
