//! Reading the socket while nobody waits for an answer: what the server
//! sends an idle session on its own (notifications, notices, parameter
//! changes, a FATAL error before it closes the session, the end of the
//! stream). A pool checks a connection this way before handing it out,
//! and a notification stream reads this way while the session is idle.

use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::Event;

use crate::error::{Error, Result};
use crate::session::Session;

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
    pub(crate) fn check_idle(&self) -> bool {
        let Some(mut inner) = self.try_lock() else {
            return !self.shared.status.dead();
        };
        if inner.is_dead() || inner.is_closed() {
            return false;
        }
        if inner.machine.current_request().is_some() || inner.machine.has_output() {
            return true;
        }
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            match inner.poll_next_event(&mut cx) {
                Poll::Pending => return true,
                // Notices, notifications and parameter changes are taken
                // care of by the read; a FATAL error marks the session dead.
                Poll::Ready(Ok(
                    Event::Notice(_) | Event::Notification(_) | Event::ParameterStatus { .. },
                )) => {}
                Poll::Ready(Ok(_)) => {
                    inner.fail(Error::Protocol(pgwire_proto::ProtocolError::Unexpected {
                        message: "a response to no request",
                        state: "idle",
                    }));
                    return false;
                }
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
        if inner.machine.current_request().is_some() || inner.machine.has_output() {
            return Poll::Ready(Ok(false));
        }
        let polled = inner.poll_next_event(cx);
        // Owed work that arrived meanwhile leaves with our waker.
        inner.release(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(
                Event::Notification(_) | Event::Notice(_) | Event::ParameterStatus { .. },
            )) => Poll::Ready(Ok(true)),
            Poll::Ready(Ok(_)) => Poll::Ready(Err(Error::Protocol(
                pgwire_proto::ProtocolError::Unexpected {
                    message: "a response to no request",
                    state: "idle",
                },
            ))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}
