//! The session core: one protocol machine and one stream behind an async
//! lock, and the ledger that lets many tasks share them. It knows nothing
//! of the query API; queries, transactions and portals sit on top of it.
//!
//! Every piece of protocol state lives in the machine, its buffers and the
//! ledger, never in a future's locals. A task queues its whole request under
//! the lock and sends it; it then reads its answers when their turn comes
//! ([`Answer`]), letting go of the lock whenever it returns, so the requests
//! of tasks sharing a connection are pipelined. A future dropped at any
//! await point leaves unsent bytes in the machine's output and unread
//! answers on the socket; whoever reads next flushes the former and
//! discards the latter. A transaction reserves the session: requests from
//! anyone else wait at the gate ([`Book::gate`]) until it ends.

mod answer;
mod book;
mod cancel;
mod idle;
mod inner;
mod locked;
mod orphan;
pub(crate) mod owed;
mod owners;
mod waiters;

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_lock::Mutex;
use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::{BackendKey, Event, Machine, ProtocolVersion, StartupConfig};

pub(crate) use answer::{is_cancellation, Answer};
pub(crate) use book::{Book, Gate, Turn};
pub(crate) use cancel::Fence;
pub(crate) use inner::Inner;
pub(crate) use locked::Locked;

use crate::error::{Error, Result};
use crate::statements::Preparing;
use crate::status::Status;
use crate::timeout::{before_deadline, Deadline, RuntimeHooks, TimeoutOutcome};

/// What the lock holder and lock-free callers (`Drop`, status getters)
/// share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) book: Book,
    pub(crate) status: Status,
    /// A cancel request on its way whose sender was dropped.
    pub(crate) orphan: orphan::Orphan,
    /// Readers waiting for the lock outside its queue.
    pub(crate) lock_waiters: waiters::LockWaiters,
}

/// How the answer to a request is read ([`Session::answer`]).
#[derive(Default)]
pub(crate) struct Reading {
    /// A statement the first requests prepare, cached once described.
    pub(crate) preparing: Option<Box<Preparing>>,
    /// The call's time limit.
    pub(crate) deadline: Option<Deadline>,
    /// Raised by [`Session::lock_for`]: abandoned queries run ahead.
    pub(crate) fence: Option<Fence>,
    /// If the answer is dropped while its query may run, the next request
    /// may cancel it: for queries sent outside any transaction only, never
    /// for transaction control (a queued COMMIT must commit) nor inside a
    /// transaction (a cancel would fail the whole transaction).
    pub(crate) cancel_on_drop: bool,
    /// Report each request's `ReadyForQuery` (see [`Answer`]).
    pub(crate) every_ready: bool,
}

/// The server a connection was opened to, and with which TLS settings.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) host: crate::options::HostSpec,
    pub(crate) tls: Option<crate::negotiate::TlsPlan>,
    /// The address the TCP socket reached, where cancel requests go.
    pub(crate) peer: Option<std::net::SocketAddr>,
    /// The socket options, for the cancel requests' sockets too.
    pub(crate) tcp: crate::TcpSettings,
}

pub(crate) struct Session<S> {
    inner: Mutex<Inner<S>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) hooks: Option<Arc<dyn RuntimeHooks>>,
    /// Where the session was opened and how, for cancel requests.
    pub(crate) origin: Option<Origin>,
    /// How the session authenticated.
    pub(crate) authentication: Option<pgwire_proto::AuthMechanism>,
    /// Whether its stream is TLS (said by whoever negotiated it).
    pub(crate) encrypted: bool,
    /// The session's cancellation key (fixed at startup).
    pub(crate) key: Option<BackendKey>,
    /// The protocol version startup settled on.
    pub(crate) protocol_version: ProtocolVersion,
}

/// The task polling the caller, for the ledger.
pub(crate) async fn current_waker() -> Waker {
    std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

impl<S> Session<S> {
    /// A cancel request for this session, when one can be sent.
    pub(crate) fn cancel_token(&self) -> Option<crate::CancelToken> {
        let origin = self.origin.as_ref()?;
        Some(crate::CancelToken {
            key: self.key.clone()?,
            host: origin.host.clone(),
            tls: origin.tls.clone(),
            peer: origin.peer,
            tcp: origin.tcp,
        })
    }

    fn can_cancel(&self) -> bool {
        self.hooks.is_some() && self.origin.is_some() && self.key.is_some()
    }
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs startup with a machine that may already have negotiated TLS.
    pub(crate) async fn start(machine: Machine, stream: S, config: &StartupConfig) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let mut inner = Inner::new(machine, stream, Arc::clone(&shared));
        inner.machine.start(config)?;
        loop {
            match inner.next_event().await? {
                Event::ReadyForQuery(_) => break,
                Event::Error(e) => return Err(inner.fail(Error::Database(e))),
                _ => {}
            }
        }
        shared.status.sync_from(&inner.machine);
        let key = inner.machine.backend_key();
        let authentication = inner.machine.authentication();
        let protocol_version = inner.machine.protocol_version();
        Ok(Session {
            inner: Mutex::new(inner),
            shared,
            hooks: None,
            origin: None,
            key,
            authentication,
            protocol_version,
            encrypted: false,
        })
    }

    /// Closes without waiting, for a pool retiring a connection from
    /// `Drop`: when nobody holds the lock, queues `Terminate` and writes
    /// what the socket takes at once (the socket closes when the connection
    /// is dropped). Later calls fail with [`Error::Closed`] either way.
    pub(crate) fn close_now(&self) {
        let Some(mut inner) = self.inner.try_lock() else {
            return;
        };
        if inner.is_closed() {
            return;
        }
        inner.set_closed();
        if !inner.is_dead() && inner.machine.terminate().is_ok() {
            let mut cx = Context::from_waker(Waker::noop());
            // Best effort: a socket that cannot take the bytes now is
            // closed without them, which the server handles as Terminate.
            let _ = inner.poll_flush(&mut cx);
        }
        drop(inner);
        self.shared.lock_waiters.wake_all();
    }

    /// The lock for a reader that may be left unpolled (see
    /// [`waiters`]): taken now, or `Pending` with `cx` woken when it is let
    /// go, never a place in the lock's queue.
    pub(crate) fn poll_lock(&self, cx: &mut Context<'_>) -> Poll<Locked<'_, S>> {
        if let Some(guard) = self.inner.try_lock() {
            return Poll::Ready(Locked::new(guard, &self.shared));
        }
        self.shared.lock_waiters.register(cx.waker());
        // Let go of between the two tries: we would miss its wake-up.
        match self.inner.try_lock() {
            Some(guard) => Poll::Ready(Locked::new(guard, &self.shared)),
            None => Poll::Pending,
        }
    }

    pub(crate) fn try_lock(&self) -> Option<Locked<'_, S>> {
        self.inner
            .try_lock()
            .map(|guard| Locked::new(guard, &self.shared))
    }

    /// The lock, whatever reserves the session (for `close`).
    pub(crate) async fn lock(&self) -> Locked<'_, S> {
        Locked::new(self.inner.lock().await, &self.shared)
    }

    /// Takes the lock to queue a request sent through reservation `via`
    /// (`None`: outside any transaction) by the task of `waker`, once the
    /// gate lets it: while another task's transaction holds the session,
    /// this waits for it to end. With the deadline passed first, nothing is
    /// queued.
    ///
    /// When abandoned queries run ahead and a cancel may safely end them,
    /// raises a fence (returned) so that our request waits unsent.
    pub(crate) async fn lock_for(
        &self,
        via: Option<u64>,
        waker: &Waker,
        mut deadline: Option<&mut Deadline>,
    ) -> Result<(Locked<'_, S>, Option<Fence>)> {
        loop {
            // A cancel request left on its way goes first: nothing may be
            // written until the server has handled it.
            let orphan = std::future::poll_fn(|cx| self.shared.orphan.poll(cx));
            if before_deadline(deadline.as_deref_mut(), orphan)
                .await
                .is_none()
            {
                return Err(not_sent(deadline.as_deref()));
            }
            let locking = self.inner.lock();
            let Some(guard) = before_deadline(deadline.as_deref_mut(), locking).await else {
                return Err(not_sent(deadline.as_deref()));
            };
            guard.check_usable()?;
            match self.shared.book.gate(via, waker) {
                Gate::Pass => {
                    let fence = self.fence_for_ahead(&guard);
                    return Ok((Locked::for_request(guard, &self.shared), fence));
                }
                Gate::OwnTransaction => {
                    drop(Locked::new(guard, &self.shared));
                    return Err(Error::WouldDeadlock(
                        "this task holds a transaction open on this connection, which serves nobody \
                         else until it ends: send the query through the Transaction (`tx.execute(..)`), \
                         or use another connection"
                            .into(),
                    ));
                }
                Gate::Wait => {
                    // Owed work still goes out (it comes before anything).
                    drop(Locked::new(guard, &self.shared));
                    let book = &self.shared.book;
                    let waited = std::future::poll_fn(|cx| match book.gate(via, cx.waker()) {
                        Gate::Wait => Poll::Pending,
                        _ => Poll::Ready(()),
                    });
                    if before_deadline(deadline.as_deref_mut(), waited)
                        .await
                        .is_none()
                    {
                        return Err(not_sent(deadline.as_deref()));
                    }
                }
            }
        }
    }

    /// A fence for our request when every request already sent is an
    /// abandoned query, one of which asked to be cancelled.
    fn fence_for_ahead(&self, inner: &Inner<S>) -> Option<Fence> {
        if !self.can_cancel() || inner.machine.has_output() {
            return None;
        }
        let head = inner.machine.current_request()?.0;
        let end = inner.machine.next_request_id().0;
        let book = &self.shared.book;
        if !book.only_unwanted(head, end, None, true) {
            return None;
        }
        Fence::raise(&self.shared, end)
    }

    /// Sends the requests queued under `locked` since `first` and returns
    /// the handle that reads their answers in turn, as `reading` says. A
    /// write the socket cannot take whole now is finished by whichever task
    /// reads next. With a fence, first drains or cancels the abandoned
    /// queries ahead.
    pub(crate) async fn answer<'c>(
        &'c self,
        mut locked: Locked<'c, S>,
        first: u64,
        waker: &Waker,
        reading: Reading,
    ) -> Result<Answer<'c, S>> {
        let Reading {
            preparing,
            deadline,
            fence,
            cancel_on_drop,
            every_ready,
        } = reading;
        let end = locked.machine.next_request_id().0;
        if end <= first {
            return Ok(Answer::empty(self, deadline));
        }
        let through = preparing.as_ref().map(|p| p.request);
        self.shared.book.register(first, end - 1, waker, preparing);
        self.shared.status.sync_from(&locked.machine);
        let mut answer = Answer::new(self, first, end - 1, through, deadline, fence);
        answer.set_cancel_on_drop(cancel_on_drop);
        answer.set_every_ready(every_ready);
        if answer.has_ahead_cancel() {
            drop(locked);
            std::future::poll_fn(|cx| answer.poll_clear_ahead(cx)).await?;
            return Ok(answer);
        }
        // With another task reading ahead of us, that task sends what we
        // queued (with what others queue meanwhile), as a connection task
        // would: one write and one server wake-up for many requests.
        if self.shared.book.delegate_flush(first) {
            return Ok(answer);
        }
        let flushed = std::future::poll_fn(|cx| Poll::Ready(locked.poll_flush(cx))).await;
        match flushed {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Err(e),
            // The task reading now (if not us) must flush the rest: the
            // socket may wake only the last task that polled it.
            Poll::Pending => self.shared.book.wake_head(),
        }
        Ok(answer)
    }

    /// Sends `Terminate` and closes the stream; later calls fail with
    /// [`Error::Closed`]. Closing twice is fine.
    pub(crate) async fn close(&self) -> Result<()> {
        let mut inner = self.lock().await;
        if inner.is_closed() {
            return Ok(());
        }
        // Tasks waiting for their answers must learn of it now.
        inner.set_closed();
        if inner.is_dead() {
            return Ok(());
        }
        if inner.machine.terminate().is_ok() {
            inner.flush().await?;
        }
        inner.close_stream().await
    }
}

fn not_sent(deadline: Option<&Deadline>) -> Error {
    Error::QueryTimeout {
        after: deadline.map_or_else(Default::default, |d| d.after),
        outcome: TimeoutOutcome::NotSent,
    }
}
