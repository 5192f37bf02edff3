//! The send buffer's memory: frontend messages are queued in a [`BytesMut`]
//! that grows to the largest request queued (a 200 MiB bytea parameter
//! makes it 200 MiB), and is handed back here once it has been sent.

use bytes::{Buf, BytesMut};

/// The capacity a send buffer starts with, and gets back after a large
/// request: a few ordinary requests' worth.
pub(crate) const SEND_CAPACITY: usize = 1024;
/// A drained send buffer larger than this is replaced by a fresh one of
/// [`SEND_CAPACITY`]. Below it the allocation is kept: requests that size
/// it (up to about half of this, as growing may double it) are ordinary
/// traffic, batches of statements or moderate parameters, and reallocating
/// for each would be churn; above it, growing the buffer again costs little
/// next to sending that much.
pub(crate) const MAX_KEPT_SEND: usize = 1024 * 1024;

/// Marks the first `n` bytes of `out` as sent, releasing a large allocation
/// once nothing is left to send.
pub(crate) fn consume(out: &mut BytesMut, n: usize) {
    if n < out.len() {
        // A partial write: the allocation is reclaimed once all is sent, or
        // earlier by `BytesMut` itself when room runs short.
        out.advance(n);
        return;
    }
    out.clear();
    // After partial writes the view starts past the bytes sent, and
    // `capacity()` counts only the room after it. Asking for one byte more
    // than that moves the (empty) view back to the start of the allocation
    // without allocating, so that `capacity()` is the allocation again;
    // when the view already starts there it does nothing.
    let _ = out.try_reclaim(out.capacity().saturating_add(1));
    if out.capacity() > MAX_KEPT_SEND {
        *out = BytesMut::with_capacity(SEND_CAPACITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_buffer_is_released_once_sent_a_small_one_kept() {
        let mut out = BytesMut::with_capacity(SEND_CAPACITY);
        out.extend_from_slice(&[1; 100]);
        let ptr = out.as_ptr();
        consume(&mut out, 100);
        assert_eq!((out.capacity(), out.as_ptr()), (SEND_CAPACITY, ptr));

        out.extend_from_slice(&vec![2; 3 * MAX_KEPT_SEND]);
        // Sent in pieces: nothing is released while bytes remain.
        let mut left = out.len();
        while left > 1000 {
            consume(&mut out, 1000);
            left -= 1000;
            assert_eq!(out.len(), left);
        }
        assert!(out.iter().all(|&b| b == 2));
        consume(&mut out, left);
        assert!(out.is_empty());
        assert_eq!(out.capacity(), SEND_CAPACITY);
    }

    #[test]
    fn a_buffer_below_the_limit_is_kept_whole_after_partial_writes() {
        let mut out = BytesMut::with_capacity(SEND_CAPACITY);
        out.extend_from_slice(&vec![3; MAX_KEPT_SEND / 2]);
        let allocated = out.capacity();
        consume(&mut out, 10);
        consume(&mut out, 1000);
        assert!(out.capacity() < allocated);
        consume(&mut out, usize::MAX);
        // All of the allocation counted again, and kept.
        assert_eq!(out.capacity(), allocated);
    }
}
