//! Stream wrappers for tests over the runtime's own socket: one that reads
//! only a few bytes at a time, and one that holds answers back until a
//! number of requests has been written (proof of pipelining).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

/// Reads at most `max` bytes per `poll_read`, like a socket that delivers
/// the server's bytes in small pieces.
#[derive(Debug)]
pub struct SmallReads<S> {
    inner: S,
    max: usize,
}

impl<S> SmallReads<S> {
    /// Wraps `inner`, reading `max` bytes at a time.
    pub fn new(inner: S, max: usize) -> Self {
        SmallReads {
            inner,
            max: max.max(1),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SmallReads<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max);
        Pin::new(&mut self.inner).poll_read(cx, &mut buf[..n])
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SmallReads<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Counts the requests a client wrote (extended-protocol `Sync` and simple
/// `Query` messages) and, once armed, lets nothing be read until `want` of
/// them were written after arming. A client that waits for each answer
/// before the next request is sent would never see an answer.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    state: Arc<Mutex<GateState>>,
    written: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct GateState {
    /// Requests to see written before reads go through (0: open).
    want: usize,
    /// Bytes of the frontend stream not yet framed.
    pending: Vec<u8>,
    /// After startup: frames are tagged messages.
    framed: bool,
    reader: Option<Waker>,
}

impl Gate {
    /// Holds reads back until `want` more requests are written.
    pub fn arm(&self, want: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.want = self.written.load(Ordering::SeqCst) + want;
    }

    /// How many requests were written so far.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    fn record(&self, bytes: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.pending.extend_from_slice(bytes);
        loop {
            if !state.framed {
                // The startup message: a length with no tag.
                let Some(len) = state.pending.get(..4) else {
                    break;
                };
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                if state.pending.len() < len {
                    break;
                }
                state.pending.drain(..len);
                state.framed = true;
                continue;
            }
            let Some(head) = state.pending.get(..5) else {
                break;
            };
            let (tag, len) = (
                head[0],
                u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize,
            );
            if state.pending.len() < len + 1 {
                break;
            }
            state.pending.drain(..len + 1);
            if matches!(tag, b'S' | b'Q') {
                self.written.fetch_add(1, Ordering::SeqCst);
            }
        }
        let open = self.written.load(Ordering::SeqCst) >= state.want;
        if open {
            if let Some(waker) = state.reader.take() {
                waker.wake();
            }
        }
    }

    fn may_read(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.written.load(Ordering::SeqCst) >= state.want {
            return true;
        }
        state.reader = Some(cx.waker().clone());
        false
    }
}

/// A stream whose reads wait for its [`Gate`].
#[derive(Debug)]
pub struct Gated<S> {
    inner: S,
    gate: Gate,
}

impl<S> Gated<S> {
    /// Wraps `inner` behind `gate`.
    pub fn new(inner: S, gate: Gate) -> Self {
        Gated { inner, gate }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Gated<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.gate.may_read(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gated<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            let written = &buf[..n];
            self.gate.record(written);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// What a [`Recording`] stream's client wrote, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Recorded(Arc<Mutex<Vec<u8>>>);

impl Recorded {
    /// The bytes written since the last `take`, leaving none.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The type bytes of the messages written since the last `take` that
    /// follow the startup message (`skip_startup`) or start the bytes.
    pub fn take_types(&self, skip_startup: bool) -> String {
        let bytes = self.take();
        let mut at = 0;
        if skip_startup {
            at = bytes
                .first_chunk::<4>()
                .map_or(bytes.len(), |len| u32::from_be_bytes(*len) as usize);
        }
        let mut types = String::new();
        while let Some(&[t, a, b, c, d]) = bytes.get(at..at + 5).and_then(|s| s.first_chunk()) {
            types.push(char::from(t));
            at += 1 + u32::from_be_bytes([a, b, c, d]) as usize;
        }
        types
    }
}

/// Keeps a copy of every byte the client writes, in its [`Recorded`].
#[derive(Debug)]
pub struct Recording<S> {
    inner: S,
    written: Recorded,
}

impl<S> Recording<S> {
    /// Wraps `inner`; the second half shows what was written.
    pub fn new(inner: S) -> (Self, Recorded) {
        let written = Recorded::default();
        let stream = Recording {
            inner,
            written: written.clone(),
        };
        (stream, written)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            let mut written = self.written.0.lock().unwrap_or_else(|e| e.into_inner());
            written.extend_from_slice(&buf[..n]);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
