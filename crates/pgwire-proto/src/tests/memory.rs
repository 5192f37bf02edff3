//! Memory the machine keeps: the send buffer after large requests, the
//! receive buffer's chunks under rows kept or streamed.

use super::server::*;
use crate::machine::Bind;
use crate::message::recv::CHUNK;
use crate::message::send::{MAX_KEPT_SEND, SEND_CAPACITY};
use crate::row::retained_total;
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

/// The answer to a query returning 10,000 rows of one small text column
/// (149 KB on the wire), and its rows alone.
fn small_rows() -> (Vec<u8>, Vec<u8>) {
    let rows: Vec<u8> = (0..10_000)
        .flat_map(|i| data_row(&[Some(&i.to_string())]))
        .collect();
    let answer = concat(&[
        row_description(&["n"]),
        rows.clone(),
        command_complete("SELECT 10000"),
        ready(b'I'),
    ]);
    (answer, rows)
}

#[test]
fn kept_rows_keep_memory_in_proportion_to_their_data() {
    let (answer, _) = small_rows();
    let wire = answer.len();
    for read in [1, 7, 64, 1000, 8 * 1024, 100_000, CHUNK, usize::MAX] {
        let mut m = ready_machine();
        m.simple_query("q").unwrap();
        let rows = rows_of(feed_reads(&mut m, &answer, read));
        assert!(m.is_ready());
        assert_eq!(rows.len(), 10_000);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.text(0).unwrap(), Some(&*i.to_string()));
        }
        // The first chunk (128 KiB, mostly empty if the first row pins it
        // after a small read) is the constant; the rest follows the data.
        let retained = retained_total(&rows);
        assert!(
            retained <= 3 * wire + CHUNK,
            "reads of {read}: {retained} bytes kept for {wire} on the wire ({:.1}x)",
            retained as f64 / wire as f64
        );
    }
}

#[test]
fn rows_fetched_one_at_a_time_keep_about_their_answer() {
    let mut m = ready_machine();
    let answer = concat(&[
        row_description(&["id", "name"]),
        data_row(&[Some("12345"), Some("some name")]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let mut rows = Vec::new();
    for _ in 0..1000 {
        m.simple_query("q").unwrap();
        rows.extend(rows_of(feed_reads(&mut m, &answer, usize::MAX)));
    }
    assert_eq!(rows.len(), 1000);
    let wire = 1000 * answer.len();
    let retained = retained_total(&rows);
    assert!(retained <= 2 * wire + CHUNK, "{retained} for {wire}");
    // Copied out of their chunks, they keep only their values.
    crate::compact_rows(&mut rows);
    assert_eq!(retained_total(&rows), 1000 * (4 + 5 + 4 + 9));
    assert!(rows.iter().all(|r| r.text(1).unwrap() == Some("some name")));
}

/// Feeds `bytes`, `read` bytes at a time, dropping every event as it comes
/// (a streaming caller), and calls `each` after each read.
fn stream(m: &mut Machine, bytes: &[u8], read: usize, mut each: impl FnMut(&Machine)) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let room = m.receive_buffer();
        let n = room.len().min(read).min(rest.len());
        room[..n].copy_from_slice(&rest[..n]);
        m.commit_received(n);
        rest = &rest[n..];
        drop(drain_rows_first(m));
        each(m);
    }
}

#[test]
fn streaming_reuses_one_chunk_whatever_the_read_size() {
    let (_, rows) = small_rows();
    for read in [1, 64, 1000, 8 * 1024, CHUNK] {
        let mut m = ready_machine();
        m.simple_query("q").unwrap();
        stream(&mut m, &row_description(&["n"]), read, |_| {});
        // Warm-up, then not one chunk allocated (nor zero-filled) per read.
        stream(&mut m, &rows, read, |_| {});
        let chunk = (m.receive_chunk(), m.receive_capacity());
        let batches = if read < 1000 { 1 } else { 20 };
        for _ in 0..batches {
            stream(&mut m, &rows, read, |m| {
                assert_eq!(
                    (m.receive_chunk(), m.receive_capacity()),
                    chunk,
                    "reads of {read}"
                );
            });
        }
        stream(
            &mut m,
            &concat(&[command_complete("SELECT"), ready(b'I')]),
            read,
            |_| {},
        );
        assert!(m.is_ready());
    }
}

#[test]
fn after_kept_rows_are_dropped_streaming_grows_the_chunk_back() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let (answer, rows) = small_rows();
    let kept = feed_reads(&mut m, &answer, 1);
    let small = m.receive_capacity();
    assert!(small < 1024, "{small}");
    drop(kept);
    m.simple_query("q").unwrap();
    stream(&mut m, &row_description(&["n"]), CHUNK, |_| {});
    // Large reads double the chunk from its small size up to CHUNK.
    let mut sizes = vec![m.receive_chunk_len()];
    for _ in 0..4 {
        stream(&mut m, &rows, CHUNK, |m| {
            let size = m.receive_chunk_len();
            if Some(&size) != sizes.last() {
                sizes.push(size);
            }
        });
    }
    assert_eq!(sizes.last(), Some(&CHUNK), "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[1] <= 2 * w[0]), "{sizes:?}");
    // And then it is reused.
    let chunk = m.receive_chunk();
    stream(&mut m, &rows, CHUNK, |m| {
        assert_eq!(m.receive_chunk(), chunk)
    });
}
