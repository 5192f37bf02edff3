//! The in-memory socket between the connection and the fake backend: what
//! the client wrote and the server has not read yet, and what the network
//! delivered and the client has not read yet, each with a capacity (a full
//! send buffer makes a write wait, as a socket's does).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

pub struct Wire {
    /// Written by the client, not yet read by the server.
    pub to_server: Vec<u8>,
    /// How much `to_server` holds before a write waits.
    pub write_cap: usize,
    /// Delivered to the client, not yet read by it.
    pub to_client: VecDeque<u8>,
    /// How much `to_client` holds before the network stops delivering.
    pub recv_cap: usize,
    /// The server closed its end: reads end once `to_client` is read.
    pub eof: bool,
    /// After the close, writes fail (else they vanish, as the first writes
    /// to a closed TCP peer do).
    pub writes_fail_after_eof: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

#[derive(Clone)]
pub struct Stream(pub Arc<Mutex<Wire>>);

impl Stream {
    pub fn new(write_cap: usize, recv_cap: usize, writes_fail_after_eof: bool) -> Self {
        Stream(Arc::new(Mutex::new(Wire {
            to_server: Vec::new(),
            write_cap,
            to_client: VecDeque::new(),
            recv_cap,
            eof: false,
            writes_fail_after_eof,
            reader: None,
            writer: None,
        })))
    }

    pub fn wire(&self) -> MutexGuard<'_, Wire> {
        self.0.lock().unwrap()
    }

    /// The server reads everything the client wrote; true if there was any.
    pub fn take_written(&self) -> Vec<u8> {
        let mut wire = self.wire();
        let bytes = std::mem::take(&mut wire.to_server);
        if let Some(w) = wire.writer.take() {
            w.wake();
        }
        bytes
    }

    /// Room left in the client's receive buffer.
    pub fn room(&self) -> usize {
        let wire = self.wire();
        wire.recv_cap.saturating_sub(wire.to_client.len())
    }

    /// The network delivers `bytes` to the client.
    pub fn deliver(&self, bytes: impl IntoIterator<Item = u8>) {
        let mut wire = self.wire();
        wire.to_client.extend(bytes);
        if let Some(w) = wire.reader.take() {
            w.wake();
        }
    }

    pub fn close(&self) {
        let mut wire = self.wire();
        wire.eof = true;
        if let Some(w) = wire.reader.take() {
            w.wake();
        }
        if let Some(w) = wire.writer.take() {
            w.wake();
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.wire();
        if wire.to_client.is_empty() {
            if wire.eof {
                return Poll::Ready(Ok(0));
            }
            wire.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(wire.to_client.len());
        for (slot, byte) in buf.iter_mut().zip(wire.to_client.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.wire();
        if wire.eof {
            if wire.writes_fail_after_eof {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the fake server closed",
                )));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let room = wire.write_cap.saturating_sub(wire.to_server.len());
        if room == 0 && !buf.is_empty() {
            wire.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(room);
        wire.to_server.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
