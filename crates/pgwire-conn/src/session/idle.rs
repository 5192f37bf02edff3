//! Reading the socket while nobody waits for an answer: what the server
//! sends an idle session on its own (notifications, notices, parameter
//! changes, a FATAL error before it closes the session, the end of the
//! stream). A pool checks a connection this way before handing it out,
//! and a notification stream reads this way while the session is idle.

use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::Event;

use crate::error::{Error, Result};
use crate::session::{Inner, Session};

/// Whether nothing is in flight or waiting to be sent: every byte that
/// comes now is the server's own.
fn nothing_in_flight<S>(inner: &Inner<S>) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    inner.machine.current_request().is_none() && !inner.machine.has_output()
}

/// Reads one event of an idle session. Notices, notifications and
/// parameter changes are taken care of by the read (`Ok`); a FATAL error,
/// the end of the stream, or a response to no request is the session's end
/// (the last marks it dead too).
fn poll_idle_event<S>(inner: &mut Inner<S>, cx: &mut Context<'_>) -> Poll<Result<()>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match std::task::ready!(inner.poll_next_event(cx)) {
        Ok(Event::Notice(_) | Event::Notification(_) | Event::ParameterStatus { .. }) => {
            Poll::Ready(Ok(()))
        }
        Ok(_) => Poll::Ready(Err(inner.fail(Error::Protocol(
            pgwire_proto::ProtocolError::Unexpected {
                message: "a response to no request",
                state: "idle",
            },
        )))),
        Err(e) => Poll::Ready(Err(e)),
    }
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// For a pool about to hand out an idle connection: reads, without
    /// waiting, whatever the server sent while nobody asked (a FATAL error
    /// before it closed the session, the end of the stream, notices,
    /// notifications) and returns whether the connection is still alive.
    /// A server that closed an idle session is thus noticed with no round
    /// trip. Does nothing while a request is in flight or the lock is held.
    /// With `read_socket` false, only what is known already counts (dead,
    /// closed), and the socket is not touched.
    pub(crate) fn check_idle(&self, read_socket: bool) -> bool {
        if !read_socket {
            let status = &self.shared.status;
            return !status.dead() && !status.closed();
        }
        let Some(mut inner) = self.try_lock() else {
            return !self.shared.status.dead();
        };
        if inner.is_dead() || inner.is_closed() {
            return false;
        }
        if !nothing_in_flight(&inner) {
            return true;
        }
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            match poll_idle_event(&mut inner, &mut cx) {
                Poll::Pending => return true,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return false,
            }
        }
    }

    /// Reads one event from the socket if the session is idle (no request
    /// in flight, nothing to send):
    /// `Ready(Ok(true))` when an event was read (a notification is queued
    /// in the status), `Ready(Ok(false))` when the session is not idle
    /// (its readers will see what comes), `Pending` until the socket or
    /// the lock wakes `cx`. The lock is let go before returning, and never
    /// waited for in its queue (see [`waiters`](super::waiters)).
    pub(crate) fn poll_idle_read(&self, cx: &mut Context<'_>) -> Poll<Result<bool>> {
        let mut inner = std::task::ready!(self.poll_lock(cx));
        inner.check_usable()?;
        if !nothing_in_flight(&inner) {
            return Poll::Ready(Ok(false));
        }
        let polled = poll_idle_event(&mut inner, cx);
        // Owed work that arrived meanwhile leaves with our waker.
        inner.release(cx);
        polled.map_ok(|()| true)
    }
}
