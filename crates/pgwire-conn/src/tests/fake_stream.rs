//! The in-memory socket the unit tests script: the "server" side pushes
//! bytes with [`FakeStream::send`], the client's writes pile up in
//! [`Wire::written`], and reads and writes can be made to end, fail or
//! find the socket full, with the wakers a real socket would keep.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

/// Both ends' state, shared by the clones of one [`FakeStream`].
#[derive(Default)]
pub(crate) struct Wire {
    /// Bytes the "server" sends, not read yet.
    pub(crate) incoming: VecDeque<u8>,
    /// Bytes the client wrote, not taken yet.
    pub(crate) written: Vec<u8>,
    /// Once `incoming` runs dry, reads see the end of the stream.
    pub(crate) eof: bool,
    /// Every write fails with `BrokenPipe`.
    pub(crate) fail_writes: bool,
    /// The task waiting to read, woken by `send` and `close`.
    pub(crate) reader: Option<Waker>,
    /// The next this many writes find the socket full: `Pending`, with the
    /// waker kept as a socket's readiness registration keeps it.
    pub(crate) full_writes: usize,
    /// That registration; a write that goes through drops it, as
    /// async-net drops its writability future (nothing wakes it after).
    pub(crate) writer: Option<Waker>,
    /// Writes that went through.
    pub(crate) writes: usize,
    /// Reads that returned bytes.
    pub(crate) reads: usize,
    /// The most one write takes (`None`: all it is given).
    write_limit: Option<usize>,
}

/// A scripted socket; clones share one [`Wire`].
#[derive(Clone, Default)]
pub(crate) struct FakeStream(Arc<Mutex<Wire>>);

impl FakeStream {
    /// A stream whose writes take at most `limit` bytes each, to exercise
    /// the client's handling of partial writes.
    pub(crate) fn with_write_limit(limit: usize) -> Self {
        let stream = Self::default();
        stream.wire().write_limit = Some(limit);
        stream
    }

    /// The shared state, to script or inspect it directly.
    pub(crate) fn wire(&self) -> MutexGuard<'_, Wire> {
        self.0.lock().unwrap()
    }

    /// The "server" sends `bytes`, waking a waiting reader.
    pub(crate) fn send(&self, bytes: &[u8]) {
        let mut wire = self.wire();
        wire.incoming.extend(bytes);
        if let Some(w) = wire.reader.take() {
            w.wake();
        }
    }

    /// The "server" closes its end: reads see EOF once `incoming` is read.
    pub(crate) fn close(&self) {
        let mut wire = self.wire();
        wire.eof = true;
        if let Some(w) = wire.reader.take() {
            w.wake();
        }
    }

    /// Takes what the client wrote since the last call.
    pub(crate) fn written(&self) -> Vec<u8> {
        std::mem::take(&mut self.wire().written)
    }
}

impl AsyncRead for FakeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.wire();
        if wire.incoming.is_empty() {
            if wire.eof {
                return Poll::Ready(Ok(0));
            }
            wire.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(wire.incoming.len());
        for (slot, byte) in buf.iter_mut().zip(wire.incoming.drain(..n)) {
            *slot = byte;
        }
        wire.reads += 1;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for FakeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.wire();
        if wire.fail_writes {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "peer went away",
            )));
        }
        if wire.full_writes > 0 {
            wire.full_writes -= 1;
            wire.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        wire.writer = None;
        let n = wire
            .write_limit
            .map_or(buf.len(), |limit| buf.len().min(limit));
        wire.written.extend_from_slice(&buf[..n]);
        wire.writes += 1;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
