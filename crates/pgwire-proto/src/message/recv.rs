//! The receive buffer: bytes read from the socket, cut into frames that are
//! shared, zero-copy, slices of it.
//!
//! A `BytesMut` would do, but every time it reclaims or grows its allocation
//! the free room past the data is uninitialized again, and handing it to a
//! reader as `&mut [u8]` without `unsafe` means zero-filling it first: about
//! one instruction per received byte, as much as decoding a whole row costs.
//! Here the buffer is an `Arc<[u8]>` that is initialized once when allocated.
//! Frames are [`Bytes`] slices of it (through [`Bytes::from_owner`]); once
//! every frame handed out is dropped the `Arc` is unique again, and the next
//! read goes into the same memory, still initialized, with no copy and no
//! zeroing. That is the streaming case, where each row is dropped before the
//! next read.
//!
//! A frame still held (rows collected by the caller) pins its chunk, which
//! then cannot be written, even where it is free: the next read goes into a
//! new chunk. So that collected rows do not pin mostly empty chunks, a
//! chunk replacing a pinned one is sized after what the pinned one took
//! before a frame pinned it (with reads of a few bytes, that may be one
//! small row): a little more than that, or twice as much when the reads
//! filled it. The reader is offered the room of that smaller chunk. Chunks
//! grow back by doubling, up to [`CHUNK`], as reads fill them, whether or
//! not they are pinned; a message larger than the chunk grows it
//! geometrically towards the message's length.

use std::sync::Arc;

use bytes::Bytes;

/// Size of a chunk for streaming: room for one large read.
pub(crate) const CHUNK: usize = 128 * 1024;
/// The smallest chunk allocated: below it the allocation's own overhead
/// (reference counts, allocator header) is as large as the data.
const MIN_CHUNK: usize = 32;
/// The least room offered to a read when the data leaves less at the end
/// of the chunk (compacting or replacing it first), or half the chunk if
/// that is smaller, so that a small chunk is not moved after every read.
const MIN_READ_ROOM: usize = 8 * 1024;
/// A unique chunk bigger than this (grown for a large message) is replaced
/// by a fresh [`CHUNK`] once it holds no more than a chunk's worth, so that
/// one large value does not pin its memory for the rest of the session.
const MAX_KEPT: usize = 16 * CHUNK;

/// How many chunks replaced while pinned are kept for reuse, and the most
/// bytes they may hold: a result collected whole (`fetch`) pins a chunk per
/// read until it is copied out; kept, the chunks are unique again by the
/// next result, which reads into them instead of allocating and
/// zero-filling new ones.
const SPARES: usize = 8;
const SPARE_BYTES: usize = 2 * CHUNK;

/// The owner a [`Bytes`] view keeps alive: the machine holds the other
/// reference, and writes only while its own is the only one.
struct Chunk(Arc<[u8]>);

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Received bytes: `chunk[start..filled]` is data not yet decoded; the rest
/// of `chunk` is initialized room (stale bytes, never read as data).
pub(crate) struct RecvBuf {
    chunk: Arc<[u8]>,
    /// A view of the whole chunk that frames are sliced from, made on first
    /// use after a read, and dropped before the next one (so that the rows
    /// alone decide whether the chunk can be written again).
    view: Option<Bytes>,
    start: usize,
    filled: usize,
    /// How far the chunk was written since it was last seen unique (or
    /// allocated): what it took before frames still held pinned it.
    high: usize,
    /// Whether the last read filled all the room offered (so that a larger
    /// chunk would have taken more).
    saturated: bool,
    /// The room last offered.
    offered: usize,
    /// Chunks replaced while frames pinned them, oldest first, for reuse
    /// once those frames are gone (see [`SPARES`]).
    spares: Vec<Arc<[u8]>>,
}

impl std::fmt::Debug for RecvBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBuf")
            .field("capacity", &self.chunk.len())
            .field("start", &self.start)
            .field("filled", &self.filled)
            .finish_non_exhaustive()
    }
}

impl RecvBuf {
    pub(crate) fn new() -> Self {
        RecvBuf {
            chunk: Arc::from(&[][..]),
            view: None,
            start: 0,
            filled: 0,
            high: 0,
            saturated: false,
            offered: 0,
            spares: Vec::new(),
        }
    }

    /// The received bytes not yet decoded.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        self.chunk.get(self.start..self.filled).unwrap_or_default()
    }

    /// The number of received bytes not yet decoded.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.filled - self.start
    }

    /// The allocated size, for memory accounting: the chunk, and the spare
    /// chunks that only this buffer holds (those still pinned by frames are
    /// the frames' memory).
    pub(crate) fn capacity(&self) -> usize {
        let spare: usize = self
            .spares
            .iter()
            .filter(|c| Arc::strong_count(c) == 1)
            .map(|c| c.len())
            .sum();
        self.chunk.len() + spare
    }

    /// A spare chunk of `size` to `2 * size` bytes that nothing pins any
    /// more: initialized already, so it needs neither allocating nor
    /// zero-filling. Not larger, so that rows kept from it do not pin
    /// mostly empty memory.
    fn take_spare(&mut self, size: usize) -> Option<Arc<[u8]>> {
        let at = self.spares.iter_mut().position(|c| {
            (size..=size.saturating_mul(2)).contains(&c.len()) && Arc::get_mut(c).is_some()
        })?;
        Some(self.spares.remove(at))
    }

    /// Keeps `chunk`, replaced while pinned, for reuse (see [`SPARES`]).
    fn retire(&mut self, chunk: Arc<[u8]>) {
        if chunk.is_empty() || chunk.len() > CHUNK {
            return;
        }
        self.spares.push(chunk);
        let mut bytes: usize = self.spares.iter().map(|c| c.len()).sum();
        while self.spares.len() > SPARES || bytes > SPARE_BYTES {
            let oldest = self.spares.remove(0);
            bytes -= oldest.len();
        }
    }

    /// The size of the chunk being read into alone (without spares), for
    /// tests of how it is sized.
    #[cfg(test)]
    pub(crate) fn chunk_len(&self) -> usize {
        self.chunk.len()
    }

    /// The chunk being read into, to tell whether it was replaced.
    #[cfg(test)]
    pub(crate) fn chunk_ptr(&self) -> *const u8 {
        self.chunk.as_ptr()
    }

    /// Room after the data, to read into: never empty, and at least `rest`
    /// bytes, what the message at the front still lacks (0 if unknown). A
    /// message known to be `whole` bytes long (0 if unknown) lets a growing
    /// buffer double towards it instead of growing by `rest` per read.
    pub(crate) fn room(&mut self, rest: usize, whole: usize) -> &mut [u8] {
        // Our own view must not count as a reader of the chunk.
        self.view = None;
        let pending = self.len();
        let len = self.chunk.len();
        let unique = Arc::get_mut(&mut self.chunk).is_some();
        let (size, needed) = if unique {
            // Nothing holds the chunk: only the data in it is live.
            self.high = self.filled;
            let want = rest.max((len / 2).clamp(1, MIN_READ_ROOM));
            // Reads filled a chunk sized down for kept rows.
            let grow = self.saturated && len < CHUNK;
            let too_big = len > MAX_KEPT && pending + want <= CHUNK;
            if !grow && !too_big {
                if len - self.filled >= want {
                    // The common case: room left after the data.
                    return self.offer();
                }
                if pending + want <= len {
                    // `make_mut` cannot copy here: the chunk was just seen unique.
                    Arc::make_mut(&mut self.chunk).copy_within(self.start..self.filled, 0);
                    self.start = 0;
                    self.filled = pending;
                    self.high = pending;
                    return self.offer();
                }
            }
            let size = if len == 0 || too_big {
                CHUNK
            } else {
                len.saturating_mul(2)
            };
            (size, pending + want)
        } else {
            // Pinned by frames still held: the next chunk will be pinned in
            // turn after taking about as much, or more if reads filled it.
            let size = if self.saturated {
                self.high.saturating_mul(2)
            } else {
                self.high + self.high / 4
            };
            (size, pending + rest.max(1))
        };
        let mut size = size.clamp(MIN_CHUNK, CHUNK).max(needed);
        if needed > len && len > 0 {
            // Amortized growth for a message larger than the chunk:
            // double, but not past the message's known length.
            let limit = if whole == 0 { usize::MAX } else { whole };
            size = size.max(len.saturating_mul(2).min(limit));
        }
        let spare = if unique { None } else { self.take_spare(size) };
        // Else a zeroed allocation (which the allocator may get already
        // zeroed) copied once into the `Arc`: cheaper than building the
        // `Arc` byte by byte from an iterator.
        let mut chunk: Arc<[u8]> = spare.unwrap_or_else(|| Arc::from(vec![0; size]));
        // `size >= pending`, and the new `Arc` is unique: no copy, no panic.
        if let Some(head) = Arc::make_mut(&mut chunk).get_mut(..pending) {
            head.copy_from_slice(self.data());
        }
        let old = std::mem::replace(&mut self.chunk, chunk);
        if !unique {
            self.retire(old);
        }
        self.start = 0;
        self.filled = pending;
        self.high = pending;
        // Taken into account: it must not grow the new chunk again.
        self.saturated = false;
        self.offer()
    }

    /// The room after the data; the chunk must be unique (checked, or new),
    /// so that `make_mut` never copies.
    fn offer(&mut self) -> &mut [u8] {
        let filled = self.filled;
        self.offered = self.chunk.len() - filled;
        &mut Arc::make_mut(&mut self.chunk)[filled..]
    }

    /// Records `n` bytes read into [`room`](Self::room).
    pub(crate) fn commit(&mut self, n: usize) {
        let n = n.min(self.chunk.len() - self.filled);
        self.filled += n;
        self.high = self.high.max(self.filled);
        self.saturated = n >= self.offered;
    }

    /// The bytes `data()[from..to]`, shared without copying.
    #[inline]
    pub(crate) fn slice(&mut self, from: usize, to: usize) -> Bytes {
        let chunk = &self.chunk;
        let view = self
            .view
            .get_or_insert_with(|| Bytes::from_owner(Chunk(Arc::clone(chunk))));
        view.slice(self.start + from..self.start + to)
    }

    /// The chunk holding `data()` and the range of `data()[from..to]` in it:
    /// the same bytes as [`slice`](Self::slice), for a holder that keeps the
    /// chunk itself.
    #[inline]
    pub(crate) fn chunk_range(&self, from: usize, to: usize) -> (Arc<[u8]>, usize, usize) {
        (Arc::clone(&self.chunk), self.start + from, self.start + to)
    }

    /// Marks the first `n` bytes of `data()` as decoded.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.filled);
        if self.start == self.filled {
            // Nothing left to move when the chunk is reused.
            self.start = 0;
            self.filled = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(buf: &mut RecvBuf, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = buf.room(1, 0);
            let n = room.len().min(rest.len());
            room[..n].copy_from_slice(&rest[..n]);
            buf.commit(n);
            rest = &rest[n..];
        }
    }

    #[test]
    fn a_dropped_frame_frees_the_chunk_for_reuse() {
        let mut buf = RecvBuf::new();
        fill(&mut buf, b"hello world");
        let first = Arc::as_ptr(&buf.chunk);
        let frame = buf.slice(0, 5);
        buf.consume(6);
        assert_eq!(&frame[..], b"hello");
        drop(frame);
        fill(&mut buf, b"!");
        assert_eq!(Arc::as_ptr(&buf.chunk), first);
        assert_eq!(buf.data(), b"world!");
    }

    #[test]
    fn a_held_frame_keeps_its_bytes() {
        let mut buf = RecvBuf::new();
        fill(&mut buf, b"hello world");
        let frame = buf.slice(0, 5);
        buf.consume(11);
        // Everything was consumed, so the next read would start at the front
        // of the chunk: it must go elsewhere while `frame` lives.
        fill(&mut buf, b"HELLO");
        assert_eq!(&frame[..], b"hello");
        assert_eq!(buf.data(), b"HELLO");
    }

    #[test]
    fn compacts_and_grows() {
        let mut buf = RecvBuf::new();
        let big: Vec<u8> = (0..CHUNK * 3).map(|i| i as u8).collect();
        fill(&mut buf, &big[..CHUNK - 10]);
        buf.consume(CHUNK - 20);
        // 10 bytes pending at the end of the chunk: compacted to the front.
        let room = buf.room(100, 0).len();
        assert_eq!(room, CHUNK - 10);
        assert_eq!(buf.data(), &big[CHUNK - 20..CHUNK - 10]);
        // A message of three chunks grows the buffer.
        buf.consume(buf.len());
        fill(&mut buf, &big);
        assert_eq!(buf.data(), &big[..]);
        assert!(buf.capacity() >= big.len());
    }

    #[test]
    fn chunks_replacing_pinned_ones_follow_the_read_size() {
        let mut buf = RecvBuf::new();
        let mut held = Vec::new();
        for _ in 0..10 {
            let room = buf.room(1, 0);
            assert!(room.len() >= 5_000);
            room[..5_000].fill(1);
            buf.commit(5_000);
            held.push(buf.slice(0, 5_000));
            buf.consume(5_000);
        }
        // Each read went to its own chunk, none much larger than the read.
        assert!(buf.chunk_len() <= 5_000 + 5_000 / 4, "{}", buf.chunk_len());
        // Reads that fill their room double the next chunk, up to CHUNK.
        for _ in 0..10 {
            let before = buf.chunk_len();
            let room = buf.room(1, 0);
            let n = room.len();
            room.fill(2);
            buf.commit(n);
            held.push(buf.slice(0, n));
            buf.consume(n);
            assert!(buf.chunk_len() <= 2 * before);
        }
        assert_eq!(buf.chunk_len(), CHUNK);
        // Once nothing is held, a small chunk doubles back as reads fill it.
        let mut buf = RecvBuf::new();
        let frame = {
            let _ = buf.room(1, 0);
            buf.commit(100);
            buf.slice(0, 100)
        };
        buf.consume(100);
        let n = buf.room(1, 0).len();
        assert!(n <= 2 * 100, "{n}");
        drop(frame);
        let mut sizes = vec![buf.chunk_len()];
        for _ in 0..12 {
            let n = buf.room(1, 0).len();
            buf.commit(n);
            buf.consume(n);
            sizes.push(buf.chunk_len());
        }
        assert_eq!(sizes.last(), Some(&CHUNK), "{sizes:?}");
        assert!(sizes.windows(2).all(|w| w[1] <= 2 * w[0]), "{sizes:?}");
        assert!(held.iter().all(|f| f.iter().all(|&b| b == f[0])));
    }

    #[test]
    fn chunks_of_a_result_collected_and_dropped_are_reused() {
        // Each read's frame is kept (a result collected whole), so each
        // read needs a chunk of its own.
        fn collect(buf: &mut RecvBuf, reads: usize) -> (Vec<Bytes>, Vec<*const u8>) {
            let (mut held, mut chunks) = (Vec::new(), Vec::new());
            for _ in 0..reads {
                let room = buf.room(1, 0);
                let n = room.len().min(1000);
                room[..n].fill(7);
                buf.commit(n);
                held.push(buf.slice(0, n));
                buf.consume(n);
                chunks.push(buf.chunk_ptr());
            }
            (held, chunks)
        }
        let mut buf = RecvBuf::new();
        let (held, first) = collect(&mut buf, 6);
        drop(held);
        let (held, again) = collect(&mut buf, 6);
        // The chunks of the first result, but for its first (a large
        // initial one, not of the size now wanted), instead of new ones.
        let new = again.iter().filter(|c| !first.contains(c)).count();
        assert!(new <= 1, "{first:?} {again:?}");
        assert!(held
            .iter()
            .all(|f| f.len() == 1000 && f.iter().all(|&b| b == 7)));
        // Spares pinned by frames are the frames' memory; once free, the
        // buffer's, and bounded.
        drop(held);
        assert!(buf.capacity() <= buf.chunk_len() + SPARE_BYTES);
    }

    #[test]
    fn a_pinned_chunk_is_replaced_after_what_it_took_not_the_last_read() {
        let mut buf = RecvBuf::new();
        let mut held = Vec::new();
        for round in 0..100u8 {
            // A 16-byte frame arriving a byte per read, then held.
            for _ in 0..16 {
                let room = buf.room(0, 0);
                assert!(!room.is_empty());
                room[0] = round;
                buf.commit(1);
            }
            held.push(buf.slice(0, 16));
            buf.consume(16);
            if round > 0 {
                assert_eq!(buf.capacity(), MIN_CHUNK, "round {round}");
            }
        }
        // The next chunk is MIN_CHUNK too: 100 frames of 16 bytes keep one
        // CHUNK (the first) and 99 chunks of twice their size.
        let _ = buf.room(0, 0);
        assert_eq!(buf.capacity(), MIN_CHUNK);
        for (i, frame) in held.iter().enumerate() {
            assert!(frame.iter().all(|&b| usize::from(b) == i));
        }
    }

    #[test]
    fn shrinks_after_a_large_message() {
        let mut buf = RecvBuf::new();
        let big = vec![7u8; MAX_KEPT + 1];
        fill(&mut buf, &big);
        assert!(buf.capacity() > MAX_KEPT);
        buf.consume(big.len() - 3);
        let _ = buf.room(1, 0);
        assert_eq!(buf.capacity(), CHUNK);
        assert_eq!(buf.data(), &[7, 7, 7]);
    }
}
