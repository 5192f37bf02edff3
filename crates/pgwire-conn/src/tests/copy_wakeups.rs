//! A COPY writer never waits without a wake-up to come: when its write
//! finds the socket full and the look for an early server error that
//! follows sends the data after all (the socket drained in between), the
//! registration the first write left is gone, and the writer must not
//! wait on it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::{connected, copy_in_response};
use crate::copy::CHUNK;

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_write_that_drains_while_looking_for_errors_does_not_stall() {
    let (conn, stream) = connected();
    stream.send(&copy_in_response());
    let mut copy = super::block_on(conn.copy_in("copy t from stdin")).unwrap();
    // The first chunk goes to the connection, whose write and whose look
    // for an error both find the socket full: a chunk stays unsent.
    stream.wire().full_writes = 2;
    super::block_on(copy.send(&vec![b'1'; CHUNK])).unwrap();
    assert!(stream.wire().writer.is_some());
    // The next chunk finds that one unsent; its write finds the socket
    // full once more, and the look for an error that follows sends it all.
    stream.wire().full_writes = 1;
    let data = vec![b'2'; CHUNK];
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut sending = std::pin::pin!(copy.send(&data));
    for _ in 0..100 {
        flag.0.store(false, Ordering::SeqCst);
        match sending.as_mut().poll(&mut cx) {
            Poll::Ready(sent) => {
                sent.unwrap();
                return;
            }
            Poll::Pending => {
                let wake_coming = stream.wire().writer.is_some();
                assert!(
                    flag.0.load(Ordering::SeqCst) || wake_coming,
                    "the writer waits with nothing to wake it"
                );
            }
        }
    }
    panic!("the second chunk never went out");
}
