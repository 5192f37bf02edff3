//! Many tasks sharing one connection, against an in-process fake server on
//! a single-threaded executor: their requests must leave in few writes,
//! not one write per request, and every task must still get its own
//! answers.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use pgwire_proto::StartupConfig;

use super::fake_stream::FakeStream;
use super::{block_on, msg};
use crate::Connection;

/// The server's turn on `stream`: answers every request written so far, a
/// `Parse`/`Bind`/`Describe`/`Execute` of `select N` up to its `Sync`
/// with one row holding N (as text). Returns how many.
fn answer_queries(stream: &FakeStream) -> usize {
    let written = stream.written();
    let (mut at, mut answered) = (0, 0);
    let mut out = Vec::new();
    let mut value = String::new();
    while at + 5 <= written.len() {
        let len = u32::from_be_bytes(written[at + 1..at + 5].try_into().unwrap()) as usize;
        let body = &written[at + 5..at + 1 + len];
        match written[at] {
            b'P' => {
                let mut parts = body.split(|&b| b == 0);
                let _name = parts.next();
                let sql = std::str::from_utf8(parts.next().unwrap()).unwrap();
                value = sql.strip_prefix("select ").unwrap().to_owned();
                out.extend(msg(b'1', b""));
            }
            b'B' => out.extend(msg(b'2', b"")),
            b'D' => {
                if body[0] == b'S' {
                    out.extend(msg(b't', &[0, 0]));
                }
                out.extend(text_description());
            }
            b'E' => out.extend(text_row(&value)),
            b'S' => {
                out.extend(msg(b'Z', b"I"));
                answered += 1;
            }
            other => panic!("unexpected message {:?}", other as char),
        }
        at += 1 + len;
    }
    assert_eq!(at, written.len(), "requests are written whole");
    stream.send(&out);
    answered
}

/// One `text` column.
fn text_description() -> Vec<u8> {
    let mut desc = vec![0, 1];
    desc.extend_from_slice(b"x\0");
    desc.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
    ]);
    msg(b'T', &desc)
}

/// A row of `value` and its command's end.
fn text_row(value: &str) -> Vec<u8> {
    let mut row = vec![0, 1];
    row.extend_from_slice(&(value.len() as u32).to_be_bytes());
    row.extend_from_slice(value.as_bytes());
    [msg(b'D', &row), msg(b'C', b"SELECT 1\0")].concat()
}

/// Wakes a task by queueing its index (once) on the executor's run queue.
struct TaskWaker {
    index: usize,
    queue: Arc<Mutex<VecDeque<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let mut queue = self.queue.lock().unwrap();
        if !queue.contains(&self.index) {
            queue.push_back(self.index);
        }
    }
}

type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs `tasks` to their ends on this thread, woken tasks in FIFO order,
/// letting the server answer whenever every task waits (the network is
/// slower than the client). Panics if they wait for nothing.
fn run(tasks: Vec<Task<'_>>, stream: &FakeStream) {
    let queue = Arc::new(Mutex::new((0..tasks.len()).collect::<VecDeque<_>>()));
    let wakers: Vec<Waker> = (0..tasks.len())
        .map(|index| {
            Waker::from(Arc::new(TaskWaker {
                index,
                queue: Arc::clone(&queue),
            }))
        })
        .collect();
    let mut tasks: Vec<Option<Task<'_>>> = tasks.into_iter().map(Some).collect();
    let mut left = tasks.len();
    while left > 0 {
        let next = queue.lock().unwrap().pop_front();
        let Some(index) = next else {
            assert!(
                answer_queries(stream) > 0,
                "{left} tasks wait, with nothing left to answer"
            );
            continue;
        };
        let Some(task) = tasks[index].as_mut() else {
            continue;
        };
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&wakers[index]))
            .is_ready()
        {
            tasks[index] = None;
            left -= 1;
        }
    }
}

fn connected() -> (Connection<FakeStream>, FakeStream) {
    // It takes every write whole: the count is of the client's write calls.
    let stream = FakeStream::default();
    stream.send(&msg(b'R', &[0, 0, 0, 0]));
    stream.send(&msg(b'Z', b"I"));
    let conn = block_on(Connection::connect_with(
        stream.clone(),
        &StartupConfig::new("u"),
    ))
    .unwrap();
    // Every query is then one unnamed Parse/Bind/Describe/Execute/Sync.
    conn.set_statement_cache_capacity(0);
    {
        let mut wire = stream.wire();
        wire.written.clear();
        wire.writes = 0;
        wire.reads = 0;
    }
    (conn, stream)
}

/// 16 tasks, each running 8 queries back to back on one connection: each
/// task queues its next request as soon as it has its answer, while the
/// answers of the others are still in the receive buffer. Those requests
/// must leave together when the buffered answers are read, not one write
/// per request at each hand-over from one reader to the next.
#[test]
fn requests_of_tasks_sharing_a_connection_leave_in_few_writes() {
    const TASKS: usize = 16;
    const QUERIES: usize = 8;
    let (conn, stream) = connected();
    let answered = Rc::new(RefCell::new(0));
    let tasks: Vec<Task<'_>> = (0..TASKS)
        .map(|t| {
            let conn = &conn;
            let answered = Rc::clone(&answered);
            Box::pin(async move {
                for q in 0..QUERIES {
                    let value = format!("{}", t * 1000 + q);
                    let rows = conn.fetch(&*format!("select {value}"), ()).await.unwrap();
                    assert_eq!(rows.len(), 1);
                    assert_eq!(rows[0].try_get::<&str>(0).unwrap(), value);
                    *answered.borrow_mut() += 1;
                }
            }) as Task<'_>
        })
        .collect();
    run(tasks, &stream);
    assert_eq!(*answered.borrow(), TASKS * QUERIES);
    let (writes, reads) = {
        let wire = stream.wire();
        (wire.writes, wire.reads)
    };
    let requests = TASKS * QUERIES;
    // All 16 answers of a round arrive together; the requests of the next
    // round leave together as the last of them is read, but for that last
    // reader's own, queued after it sent the others: two writes a round.
    // (One write per request at each hand-over was 114 writes.)
    assert!(
        writes <= 2 * QUERIES + 2,
        "{requests} requests took {writes} writes (and {reads} reads)"
    );
    assert!(conn.ready());
}
