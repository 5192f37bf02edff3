//! Failure paths against a scripted in-memory stream: what a real server
//! rarely does on demand (garbage, EOF mid-message, a write that fails).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use std::future::Future;
use std::task::Wake;
use std::thread::Thread;

use pgwire_proto::StartupConfig;

use crate::{Connection, Error};

mod coalescing;
mod copy_wakeups;
pub(crate) mod fake_stream;
mod protocol_version;

use fake_stream::FakeStream;

/// Writes here take 7 bytes at a time, to exercise partial writes.
const WRITE_LIMIT: usize = 7;

/// Runs a future on this thread, parking while it is pending.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A backend message: tag, length, body.
pub(crate) fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn connected() -> (Connection<FakeStream>, FakeStream) {
    let stream = FakeStream::with_write_limit(WRITE_LIMIT);
    stream.send(&msg(b'R', &[0, 0, 0, 0]));
    stream.send(&msg(b'Z', b"I"));
    let conn = block_on(Connection::connect_with(
        stream.clone(),
        &StartupConfig::new("u"),
    ))
    .unwrap();
    // No statement cache: nothing is prepared behind the scripts' back
    // (queries without parameters that want the simple protocol use
    // `simple_query`).
    conn.set_statement_cache_capacity(0);
    stream.written();
    (conn, stream)
}

fn select_answer(value: u8) -> Vec<u8> {
    let mut desc = vec![0, 1];
    desc.extend_from_slice(b"x\0");
    desc.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
    ]);
    [
        msg(b'T', &desc),
        msg(b'D', &[0, 1, 0, 0, 0, 1, value]),
        msg(b'C', b"SELECT 1\0"),
        msg(b'Z', b"I"),
    ]
    .concat()
}

#[test]
fn partial_writes_send_the_whole_request() {
    let (conn, stream) = connected();
    stream.send(&select_answer(b'1'));
    let results =
        block_on(conn.simple_query("select 1 as x, 'a fairly long text to need many writes'"))
            .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].rows.len(), 1);
    let written = stream.written();
    assert_eq!(written[0], b'Q');
    assert!(written.ends_with(b"writes'\0"));
}

#[test]
fn failed_write_makes_the_connection_dead() {
    let (conn, stream) = connected();
    stream.wire().fail_writes = true;
    let err = block_on(conn.execute("select 1", ())).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    assert!(conn.dead());
    assert!(!conn.ready());
    let again = block_on(conn.execute("select 1", ())).unwrap_err();
    assert!(
        matches!(&again, Error::Dead(cause) if cause.contains("peer went away")),
        "{again:?}"
    );
}

#[test]
fn garbage_from_the_server_is_a_protocol_error() {
    let (conn, stream) = connected();
    stream.send(b"\x01\x02\x03\x04\x05\x06");
    let err = block_on(conn.execute("select 1", ())).unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(conn.dead());
    assert!(matches!(
        block_on(conn.execute("select 1", ())),
        Err(Error::Dead(_))
    ));
}

#[test]
fn eof_mid_message_is_an_error_not_a_hang() {
    let (conn, stream) = connected();
    let answer = select_answer(b'1');
    stream.send(&answer[..answer.len() / 2]);
    stream.close();
    let err = block_on(conn.fetch("select 1", ())).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(pgwire_proto::ProtocolError::UnexpectedEof)
        ),
        "{err:?}"
    );
    assert!(conn.dead());
}

#[test]
fn abandoned_request_is_drained_by_the_next_call() {
    let (conn, stream) = connected();
    // Start a query and drop it before any answer arrives.
    {
        let fut = conn.fetch("select 1", ());
        futures_util::pin_mut!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert!(!conn.ready());
    // Answers to both the abandoned and the next query.
    stream.send(&select_answer(b'1'));
    stream.send(&select_answer(b'2'));
    let rows = block_on(conn.fetch("select 2", ())).unwrap();
    assert_eq!(rows[0].text(0).unwrap(), Some("2"));
    assert!(conn.ready());
}

#[test]
fn fatal_error_between_queries() {
    let (conn, stream) = connected();
    stream.send(&msg(
        b'E',
        b"SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0",
    ));
    stream.close();
    let err = block_on(conn.execute("select 1", ())).unwrap_err();
    assert_eq!(
        err.code().map(|c| c.code().to_owned()).as_deref(),
        Some("57P01")
    );
    assert!(!err.is_recoverable());
    assert!(conn.dead());
}

#[test]
fn a_time_limit_without_a_timer_is_refused_before_sending() {
    let (conn, stream) = connected();
    let limited = crate::Query::new("select 1").timeout(std::time::Duration::from_secs(1));
    let err = block_on(conn.execute(limited, ())).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(why) if why.contains("runtime hooks")),
        "{err:?}"
    );
    conn.set_default_timeout(Some(std::time::Duration::from_secs(1)));
    assert!(matches!(
        block_on(conn.fetch("select 1", ())),
        Err(Error::InvalidInput(_))
    ));
    assert!(stream.written().is_empty(), "nothing was sent");
    assert!(conn.ready());
}

#[test]
fn fatal_error_that_is_not_utf8_keeps_its_sqlstate() {
    let (conn, stream) = connected();
    // A hostile (or LATIN1) server's FATAL: its text is read lossily, and
    // its SQLSTATE and severity are kept, not lost to a protocol error.
    stream.send(&msg(
        b'E',
        b"SFATAL\0VFATAL\0C57P01\0Marr\xeat imm\xe9diat\0\0",
    ));
    stream.close();
    let err = block_on(conn.execute("select 1", ())).unwrap_err();
    let Error::Database(db) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(db.sqlstate().code(), "57P01");
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(db.message, "arr\u{fffd}t imm\u{fffd}diat");
    assert!(!err.is_recoverable());
    assert!(conn.dead());
}

/// A connection opened through options (so the pooler probe runs) over a
/// script whose cancel key names backend `key_pid`, and whose answer to the
/// probe is `probe`.
fn opened_with_probe(key_pid: i32, probe: &[u8]) -> Connection<crate::MaybeTls<FakeStream>> {
    let stream = FakeStream::with_write_limit(WRITE_LIMIT);
    stream.send(&msg(b'R', &[0, 0, 0, 0]));
    let mut key = key_pid.to_be_bytes().to_vec();
    key.extend_from_slice(&7i32.to_be_bytes());
    stream.send(&msg(b'K', &key));
    stream.send(&msg(b'Z', b"I"));
    stream.send(probe);
    let options = crate::ConnectOptions::new("127.0.0.1", "u").ssl_mode(crate::SslMode::Disable);
    block_on(Connection::connect(stream, &options)).unwrap()
}

/// The probe's answer: one row holding `pid` as text.
fn pid_answer(pid: &str) -> Vec<u8> {
    let mut desc = vec![0, 1];
    desc.extend_from_slice(b"pg_backend_pid\0");
    desc.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
    ]);
    let mut row = vec![0, 1];
    row.extend_from_slice(&(pid.len() as i32).to_be_bytes());
    row.extend_from_slice(pid.as_bytes());
    [
        msg(b'T', &desc),
        msg(b'D', &row),
        msg(b'C', b"SELECT 1\0"),
        msg(b'Z', b"I"),
    ]
    .concat()
}

#[test]
fn the_backend_behind_its_own_key_keeps_the_cache() {
    let conn = opened_with_probe(42, &pid_answer("42"));
    assert!(!conn.pooler_detected());
    assert!(conn.ready());
}

#[test]
fn a_key_that_is_not_the_backends_means_a_pooler() {
    let conn = opened_with_probe(1_234_567, &pid_answer("42"));
    assert!(conn.pooler_detected());
    assert!(conn.ready());
}

#[test]
fn a_server_without_pg_backend_pid_still_connects() {
    let error = [
        msg(
            b'E',
            b"SERROR\0VERROR\0C42883\0Mfunction pg_backend_pid() does not exist\0\0",
        ),
        msg(b'Z', b"I"),
    ]
    .concat();
    let conn = opened_with_probe(42, &error);
    assert!(!conn.pooler_detected());
    assert!(conn.ready());
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(std::sync::atomic::AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A reader left unpolled after it waited for the lock (a stream whose
/// `next()` a timeout gave up on) must not hold up the tasks queued behind
/// it: when the lock is let go, they are woken.
#[test]
fn a_reader_left_unpolled_does_not_hold_up_the_lock() {
    use futures_util::StreamExt;
    let (conn, _stream) = connected();
    let held = conn.session.try_lock().unwrap();
    // The notification stream waits for the lock, and is then left alone.
    let mut notifications = conn.notifications();
    let left = Arc::new(Count::default());
    let left_waker = Waker::from(Arc::clone(&left));
    let mut next = notifications.next();
    assert!(Pin::new(&mut next)
        .poll(&mut Context::from_waker(&left_waker))
        .is_pending());
    // Another task queues for the lock.
    let queued = Arc::new(Count::default());
    let queued_waker = Waker::from(Arc::clone(&queued));
    let mut usage = std::pin::pin!(conn.memory_usage());
    assert!(usage
        .as_mut()
        .poll(&mut Context::from_waker(&queued_waker))
        .is_pending());
    drop(held);
    assert_eq!(
        queued.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the queued task was not woken"
    );
    assert!(usage
        .as_mut()
        .poll(&mut Context::from_waker(&queued_waker))
        .is_ready());
    drop(next);
}

fn copy_in_response() -> Vec<u8> {
    msg(b'G', &[0, 0, 1, 0, 0])
}

#[test]
fn a_server_ending_copy_in_early_is_the_writers_error_and_the_connection_goes_on() {
    let (conn, stream) = connected();
    stream.send(&copy_in_response());
    let mut copy = block_on(conn.copy_in("copy t from stdin")).unwrap();
    // The server refuses the COPY before our data is done.
    stream.send(&msg(b'E', b"SERROR\0VERROR\0C22P02\0Mbad row\0\0"));
    stream.send(&msg(b'Z', b"I"));
    let data = vec![b'1'; 200_000];
    let err = block_on(async {
        loop {
            copy.send(&data).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), Error>(())
    })
    .unwrap_err();
    assert_eq!(
        err.code().map(|c| c.code().to_owned()).as_deref(),
        Some("22P02")
    );
    // The writer stays failed, and finish reports the same error.
    assert!(block_on(copy.send(b"x")).is_err());
    assert!(block_on(copy.finish()).is_err());
    assert!(conn.ready());
    let written = stream.written();
    assert!(
        !written.ends_with(&msg(b'c', &[])),
        "no CopyDone after the error"
    );
    stream.send(&select_answer(b'5'));
    let results = block_on(conn.simple_query("select 5")).unwrap();
    assert_eq!(results[0].rows.len(), 1);
}

#[test]
fn garbage_or_a_wrong_message_mid_copy_is_a_protocol_error() {
    let wrong: [&[u8]; 3] = [
        b"\x01\x02\x03\x04\x05\x06",
        &msg(b'C', b"COPY 0\0"),
        &msg(b'Z', b"I"),
    ];
    for bytes in wrong {
        let (conn, stream) = connected();
        stream.send(&copy_in_response());
        let mut copy = block_on(conn.copy_in("copy t from stdin")).unwrap();
        block_on(copy.send(b"1\n")).unwrap();
        stream.send(bytes);
        let err = block_on(copy.finish()).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err:?}");
        assert!(conn.dead());
    }
}

#[test]
fn a_dropped_writer_sends_copy_fail_before_the_next_request() {
    let (conn, stream) = connected();
    stream.send(&copy_in_response());
    let mut copy = block_on(conn.copy_in("copy t from stdin")).unwrap();
    block_on(copy.send(b"1\n")).unwrap();
    drop(copy);
    stream.send(&msg(
        b'E',
        b"SERROR\0VERROR\0C57014\0MCOPY from stdin failed\0\0",
    ));
    stream.send(&msg(b'Z', b"I"));
    stream.send(&select_answer(b'7'));
    let results = block_on(conn.simple_query("select 7")).unwrap();
    assert_eq!(results[0].rows.len(), 1);
    let written = stream.written();
    let find = |needle: &[u8]| written.windows(needle.len()).position(|w| w == needle);
    let fail = find(b"the COPY writer was dropped").expect("a CopyFail was sent");
    let query = find(b"select 7").unwrap();
    assert!(fail < query, "the CopyFail goes first");
}
