//! Memory the machine keeps: the send buffer after large requests.

use super::server::*;
use crate::machine::Bind;
use crate::message::send::{MAX_KEPT_SEND, SEND_CAPACITY};
use crate::{Error, Format, Machine};

/// Sends everything queued, `write` bytes at a time.
fn send_all(m: &mut Machine, write: usize) -> usize {
    let mut total = 0;
    while m.has_output() {
        let n = m.output().len().min(write);
        total += n;
        m.consume_output(n);
    }
    total
}

#[test]
fn the_send_buffer_shrinks_after_a_huge_request() {
    let mut m = ready_machine();
    m.simple_query(&"x".repeat(5 << 20)).unwrap();
    assert!(m.send_capacity() > 5 << 20);
    assert!(send_all(&mut m, usize::MAX) > 5 << 20);
    assert_eq!(m.send_capacity(), SEND_CAPACITY);

    // A large Bind parameter, written out in socket-sized pieces.
    let big = vec![7u8; 3 << 20];
    let bind = Bind {
        param_count: 1,
        encode: |_, buf: &mut bytes::BytesMut| -> Result<Option<Format>, Error> {
            buf.extend_from_slice(&big);
            Ok(Some(Format::Binary))
        },
        result_formats: &[],
        max_rows: Some(0),
    };
    m.bind_execute("s", "", bind, None).unwrap();
    assert!(m.send_capacity() > 3 << 20);
    send_all(&mut m, 64 * 1024);
    assert_eq!(m.send_capacity(), SEND_CAPACITY);
    assert!(!m.has_output());
}

#[test]
fn ordinary_requests_keep_the_send_buffer() {
    let mut m = ready_machine();
    m.simple_query("select 1").unwrap();
    send_all(&mut m, usize::MAX);
    let (capacity, ptr) = (m.send_capacity(), m.output().as_ptr());
    assert_eq!(capacity, SEND_CAPACITY);
    for i in 0..100 {
        m.simple_query(&format!("select {i}")).unwrap();
        send_all(&mut m, if i % 2 == 0 { usize::MAX } else { 5 });
        assert_eq!((m.send_capacity(), m.output().as_ptr()), (capacity, ptr));
    }
    // A request well below the limit (growing may double the buffer) grows
    // it, and it is then kept.
    m.simple_query(&"y".repeat(MAX_KEPT_SEND / 4)).unwrap();
    send_all(&mut m, 4096);
    let grown = m.send_capacity();
    assert!(
        grown > MAX_KEPT_SEND / 4 && grown <= MAX_KEPT_SEND,
        "{grown}"
    );
    let ptr = m.output().as_ptr();
    m.simple_query("select 1").unwrap();
    send_all(&mut m, usize::MAX);
    assert_eq!((m.send_capacity(), m.output().as_ptr()), (grown, ptr));
}
