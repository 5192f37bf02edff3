//! Reading the answers to one task's requests on a shared connection.
//!
//! An [`Answer`] owns a contiguous range of request ids that its task
//! queued. It reads the socket only when the server answers its range
//! (every earlier request is done), and holds the connection's lock only
//! while there are bytes to decode: whenever it must wait (for its turn or
//! for the socket) it lets go, so other tasks can queue and send their
//! requests meanwhile. That is what pipelines a shared connection: the
//! server always has the next request in hand, with no background task.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_lock::futures::Lock;
use async_lock::MutexGuard;
use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::Event;

use crate::connection::{Connection, Inner};
use crate::error::{Error, Result};
use crate::query::Preparing;
use crate::status::Owed;
use std::sync::Arc;

pub(crate) struct Answer<'c, S> {
    conn: &'c Connection<S>,
    guard: Option<MutexGuard<'c, Inner<S>>>,
    /// Waiting for the lock; boxed because it is rarely needed (only
    /// under contention) and must be pinned.
    locking: Option<Pin<Box<Lock<'c, Inner<S>>>>>,
    /// This task's requests, `first..=last`.
    first: u64,
    last: u64,
    /// The request of ours being answered now, once our turn has come.
    current: Option<u64>,
    done: bool,
    /// The receive buffer's size when last seen, for memory accounting.
    capacity: usize,
    /// A statement prepared by our first requests, to cache once described;
    /// their events are ours to catch, not the caller's.
    preparing: Option<Box<Preparing>>,
}

impl<'c, S> Answer<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Takes over requests `first..last` (exclusive), queued under `guard`
    /// and registered with the connection's turns.
    pub(crate) fn new(
        conn: &'c Connection<S>,
        guard: MutexGuard<'c, Inner<S>>,
        first: u64,
        end: u64,
    ) -> Self {
        let capacity = guard.machine.receive_capacity();
        Answer {
            conn,
            guard: Some(guard),
            locking: None,
            first,
            last: end.saturating_sub(1),
            current: None,
            done: end <= first,
            capacity,
            preparing: None,
        }
    }

    /// Catches the answers to the requests up to `preparing.request` (the
    /// statement's Parse/Describe and the closes before it), and caches the
    /// statement when they succeed.
    pub(crate) fn cache_when_described(&mut self, preparing: Box<Preparing>) {
        self.preparing = Some(preparing);
    }

    /// Takes in one event of the preparing requests; true if it was one.
    fn catch(&mut self, current: u64, event: &Event) -> bool {
        let Some(preparing) = self.preparing.as_mut().filter(|p| current <= p.request) else {
            return false;
        };
        match event {
            Event::ParameterDescription(types) => preparing.param_types = types.clone(),
            Event::RowDescription(d) => preparing.description = Some(Arc::clone(d)),
            Event::Error(_) => preparing.failed |= current == preparing.request,
            Event::ReadyForQuery(_) if current == preparing.request => {
                if let (Some(preparing), Some(inner)) =
                    (self.preparing.take(), self.guard.as_deref_mut())
                {
                    inner.cache_prepared(*preparing);
                }
            }
            _ => {}
        }
        true
    }

    /// The connection, when this answer holds its lock and its turn has
    /// come: rows buffered there are ours to take directly.
    pub(crate) fn turn_inner(&mut self) -> Option<&mut Inner<S>> {
        if self.current.is_some() && !self.done {
            self.guard.as_deref_mut()
        } else {
            None
        }
    }

    /// True once every request of the range was answered (or the
    /// connection failed).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn buffer_capacity(&self) -> usize {
        if self.done {
            return 0;
        }
        self.guard
            .as_ref()
            .map_or(self.capacity, |g| g.machine.receive_capacity())
    }

    /// Ends the answer after a failure: the caller reports the error.
    pub(crate) fn end(&mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.conn.turns().finish(self.first);
        }
        self.guard = None;
        self.locking = None;
    }

    /// Lets go of the lock until woken (by the socket or by an earlier
    /// owner), leaving a waker so that writers can nudge us.
    fn wait(&mut self, cx: &mut Context<'_>) {
        if let Some(guard) = &self.guard {
            self.capacity = guard.machine.receive_capacity();
        }
        self.conn.turns().park(self.first, cx.waker());
        self.guard = None;
    }

    fn poll_lock(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.guard.is_some() {
            return Poll::Ready(());
        }
        if self.locking.is_none() {
            if let Some(guard) = self.conn.try_lock_inner() {
                self.guard = Some(guard);
                return Poll::Ready(());
            }
            self.locking = Some(Box::pin(self.conn.lock_inner()));
        }
        if let Some(locking) = &mut self.locking {
            let guard = std::task::ready!(locking.as_mut().poll(cx));
            self.locking = None;
            self.guard = Some(guard);
        }
        Poll::Ready(())
    }

    /// The next event of our answers; `None` after the `ReadyForQuery` of
    /// our last request (intermediate ones are not reported).
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Event>>> {
        loop {
            if self.done {
                return Poll::Ready(Ok(None));
            }
            std::task::ready!(self.poll_lock(cx));
            let Some(inner) = self.guard.as_deref_mut() else {
                continue;
            };
            if let Err(e) = inner.check_usable() {
                self.finish();
                return Poll::Ready(Err(e));
            }
            let current = match self.current {
                Some(current) => current,
                None => match inner.machine.current_request() {
                    Some(id) if id.0 < self.first => {
                        let turns = self.conn.turns();
                        if turns.park_behind(self.first, cx.waker()) {
                            self.capacity = inner.machine.receive_capacity();
                            self.guard = None;
                            return Poll::Pending;
                        }
                        // We are first in line and nobody will read this
                        // earlier answer: drain it.
                        match self.pull(cx) {
                            ControlFlow::Break(poll) => return poll,
                            ControlFlow::Continue(Event::ReadyForQuery(_)) => turns.drained(id.0),
                            ControlFlow::Continue(_) => {}
                        }
                        continue;
                    }
                    Some(id) if id.0 <= self.last => {
                        self.current = Some(id.0);
                        id.0
                    }
                    _ => {
                        // The machine no longer queues our requests: it
                        // failed and dropped its queue.
                        self.finish();
                        return Poll::Ready(Err(Error::Dead(
                            "the connection lost the requests it was waiting for".into(),
                        )));
                    }
                },
            };
            let event = match self.pull(cx) {
                ControlFlow::Break(poll) => return poll,
                ControlFlow::Continue(event) => event,
            };
            if self.catch(current, &event) {
                if matches!(event, Event::ReadyForQuery(_)) {
                    self.current = Some(current + 1);
                }
                continue;
            }
            match event {
                Event::ReadyForQuery(_) if current >= self.last => {
                    // Send what other tasks queued meanwhile before handing
                    // over: the next reader may find its answer buffered and
                    // not touch the socket for a while.
                    let flushed = match self.guard.as_deref_mut() {
                        Some(inner) if inner.machine.has_output() => inner.poll_flush(cx),
                        _ => Poll::Ready(Ok(())),
                    };
                    self.finish();
                    return match flushed {
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        _ => Poll::Ready(Ok(None)),
                    };
                }
                Event::ReadyForQuery(_) => self.current = Some(current + 1),
                event => return Poll::Ready(Ok(Some(event))),
            }
        }
    }

    /// The next event from the connection, or what `poll_event` returns
    /// when there is none: `Pending` after letting go of the lock, or the
    /// error that ended the answer.
    fn pull(&mut self, cx: &mut Context<'_>) -> ControlFlow<Poll<Result<Option<Event>>>, Event> {
        let polled = match self.guard.as_deref_mut() {
            Some(inner) => inner.poll_next_event(cx),
            None => Poll::Ready(Err(Error::Dead(
                "read without the connection's lock".into(),
            ))),
        };
        match polled {
            Poll::Pending => {
                self.wait(cx);
                ControlFlow::Break(Poll::Pending)
            }
            Poll::Ready(Err(e)) => {
                self.finish();
                ControlFlow::Break(Poll::Ready(Err(e)))
            }
            Poll::Ready(Ok(event)) => ControlFlow::Continue(event),
        }
    }
}

impl<S> Drop for Answer<'_, S> {
    fn drop(&mut self) {
        if let Some(preparing) = self.preparing.take() {
            // Maybe prepared, never cached: free the name on the server
            // (closing a statement that does not exist is no error).
            self.conn
                .status_of()
                .owe(Owed::CloseStatement(preparing.name));
        }
        if !self.done {
            // Someone else discards what the server still sends us.
            self.conn.turns().abandon(self.first);
        }
    }
}
