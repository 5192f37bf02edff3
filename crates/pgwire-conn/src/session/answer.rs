//! Reading the answers to one task's requests on a shared connection.
//!
//! An [`Answer`] owns a contiguous range of request ids its task queued. It
//! reads the socket only when the server answers its range, or on behalf of
//! answers ahead of it that nobody else will read: those of dropped futures
//! and owed commands (discarded), and those of an idle stream of its own
//! task (kept for that stream, within a bound). It holds the connection's
//! lock only inside a poll, while there are bytes to decode: whenever it
//! returns, the lock is free, so other tasks queue and send their requests
//! meanwhile (pipelining), and a stream nobody polls blocks nobody before it.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::{Event, Row, SqlState, TransactionStatus};

use crate::error::{Error, Result};
use crate::session::cancel::{Cancelling, Fence};
use crate::session::inner::{AheadItem, Inner};
use crate::session::owed::Owed;
use crate::session::{Locked, Session, Turn};
use crate::timeout::{BoxFuture, Deadline, TimeoutOutcome};

/// Rows taken from the receive buffer in one hold of the lock, for a row
/// stream: the lock is then taken once per socket read, not once per row.
const ROW_BATCH: usize = 256;

type Step = ControlFlow<Poll<Result<Option<Event>>>>;

/// Where the time limit stands.
enum Timer {
    /// Not passed (or no limit).
    Running,
    /// Passed: a cancel request is on its way (`head` is what it targets).
    Cancelling(Box<Cancelling>, u64),
    /// A cancel request for `head` was handled by the server.
    Cancelled(u64),
}

/// Before our request is sent: a cancel request for abandoned queries ahead.
enum AheadCancel {
    /// Draining what already came.
    Fenced(Fence),
    /// Still running: give them [`CANCEL_GRACE`] to finish on their own
    /// (a cancel costs the server a new connection).
    Grace(Fence, BoxFuture<()>),
    Sending(Box<Cancelling>),
}

/// How long abandoned queries ahead may still run before the request
/// behind them cancels them.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_millis(10);

pub(crate) struct Answer<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    session: &'c Session<S>,
    guard: Option<Locked<'c, S>>,
    /// This task's requests, `first..=last`.
    first: u64,
    last: u64,
    done: bool,
    /// Gave up without reading its answers (they are discarded by others).
    gave_up: bool,
    /// Parked in the ledger since the last poll.
    parked: bool,
    /// The last request that prepares a statement to cache, if ours do.
    preparing_through: Option<u64>,
    /// The status of our last `ReadyForQuery`.
    status: Option<TransactionStatus>,
    deadline: Option<Deadline>,
    timer: Timer,
    ahead_cancel: Option<AheadCancel>,
    /// The receive buffer's size when last seen, for memory accounting.
    capacity: usize,
    /// Dropped before its end, its query may be cancelled by the next request.
    cancel_on_drop: bool,
    /// Reports the `ReadyForQuery` ending each request but the last too
    /// (a pipeline tells its statements apart by them).
    every_ready: bool,
}

impl<'c, S> Answer<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Takes over requests `first..=last`, registered with the ledger.
    pub(crate) fn new(
        session: &'c Session<S>,
        first: u64,
        last: u64,
        preparing_through: Option<u64>,
        deadline: Option<Deadline>,
        fence: Option<Fence>,
    ) -> Self {
        Answer {
            session,
            guard: None,
            first,
            last,
            done: false,
            gave_up: false,
            parked: false,
            preparing_through,
            status: None,
            deadline,
            timer: Timer::Running,
            ahead_cancel: fence.map(AheadCancel::Fenced),
            capacity: 0,
            cancel_on_drop: false,
            every_ready: false,
        }
    }

    /// An answer to nothing (no request was queued).
    pub(crate) fn empty(session: &'c Session<S>, deadline: Option<Deadline>) -> Self {
        let mut answer = Answer::new(session, 0, 0, None, deadline, None);
        answer.done = true;
        answer
    }

    /// True once every request of the range was answered (or the answer
    /// ended with an error).
    pub(crate) fn is_done(&self) -> bool {
        self.done || self.gave_up
    }

    /// The transaction status our last `ReadyForQuery` reported.
    pub(crate) fn final_status(&self) -> Option<TransactionStatus> {
        self.status
    }

    /// The time limit, if a cancel request was sent because it passed.
    pub(crate) fn cancelled_after(&self) -> Option<std::time::Duration> {
        match self.timer {
            Timer::Cancelled(_) => self.deadline.as_ref().map(|d| d.after),
            _ => None,
        }
    }

    pub(crate) fn set_every_ready(&mut self, every: bool) {
        self.every_ready = every;
    }

    pub(crate) fn set_cancel_on_drop(&mut self, cancel: bool) {
        self.cancel_on_drop = cancel;
    }

    /// True while a fence holds our request back for a cancel ahead.
    pub(crate) fn has_ahead_cancel(&self) -> bool {
        self.ahead_cancel.is_some()
    }

    /// Gives the time limit back (for the next request of the same call).
    pub(crate) fn take_deadline(&mut self) -> Option<Deadline> {
        self.deadline.take()
    }

    /// The receive buffer's allocated size when this answer last read (0
    /// once it has ended).
    pub(crate) fn buffer_capacity(&self) -> usize {
        if self.is_done() {
            0
        } else {
            self.capacity
        }
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.session.shared.book.finish(self.first);
        }
    }

    fn park(&mut self, cx: &Context<'_>) {
        self.session.shared.book.park(self.first, cx.waker());
        self.parked = true;
    }

    fn poll_lock(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.guard.is_none() {
            // Never a place in the lock's queue: an answer stream may be
            // left unpolled (see `session::waiters`).
            self.guard = Some(std::task::ready!(self.session.poll_lock(cx)));
        }
        Poll::Ready(())
    }

    /// Lets go of the lock: callers of [`poll_event`](Self::poll_event) do
    /// this before they return from their own poll (several events may be
    /// taken in one poll, under one hold of the lock).
    pub(crate) fn unlock(&mut self, cx: &mut Context<'_>) {
        self.let_go(cx, true);
    }

    /// Lets go of the lock, noting the buffer's size if `measure` (not for
    /// an answer that ends now: it reports 0).
    fn let_go(&mut self, cx: &mut Context<'_>, measure: bool) {
        if let Some(guard) = self.guard.take() {
            if measure {
                self.capacity = guard.machine.receive_capacity();
            }
            guard.release(cx);
        }
    }

    /// The next event of our answers; `None` after the `ReadyForQuery` of
    /// our last request (intermediate ones are not reported). With `batch`,
    /// rows that follow a row in the receive buffer are moved there too.
    /// Returns holding the lock when it has an event: call
    /// [`unlock`](Self::unlock) before returning from the caller's poll.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        batch: Option<&mut VecDeque<Row>>,
    ) -> Poll<Result<Option<Event>>> {
        if self.is_done() {
            return Poll::Ready(Ok(None));
        }
        if self.parked {
            self.parked = false;
            self.session.shared.book.unpark(self.first);
        }
        if self.session.shared.orphan.poll(cx).is_pending() {
            // A dropped cancel request holds writes back: drive it first.
            self.park(cx);
            return Poll::Pending;
        }
        let polled = self.step(cx, batch);
        if polled.is_pending() {
            self.unlock(cx);
        }
        polled
    }

    fn step(
        &mut self,
        cx: &mut Context<'_>,
        mut batch: Option<&mut VecDeque<Row>>,
    ) -> Poll<Result<Option<Event>>> {
        if let ControlFlow::Break(poll) = self.poll_deadline(cx) {
            return poll;
        }
        loop {
            std::task::ready!(self.poll_lock(cx));
            let Some(inner) = self.guard.as_deref_mut() else {
                continue;
            };
            if let Err(e) = inner.check_usable() {
                self.finish();
                return Poll::Ready(Err(e));
            }
            if inner.has_ahead() {
                match inner.take_ahead(self.first) {
                    Some(AheadItem::Event(event @ Event::ReadyForQuery(_))) => {
                        if self.every_ready {
                            return Poll::Ready(Ok(Some(event)));
                        }
                        continue;
                    }
                    Some(AheadItem::Event(event)) => return Poll::Ready(Ok(Some(event))),
                    Some(AheadItem::Finished(status)) => {
                        self.status = Some(status);
                        self.finish();
                        return Poll::Ready(Ok(None));
                    }
                    None => {}
                }
            }
            let head = match inner.machine.current_request() {
                Some(id) if id.0 <= self.last => id.0,
                _ => {
                    // The machine no longer queues our requests: it failed
                    // and dropped its queue.
                    self.finish();
                    return Poll::Ready(Err(Error::Dead(
                        "the connection lost the requests it was waiting for".into(),
                    )));
                }
            };
            if head < self.first {
                if let ControlFlow::Break(poll) = self.serve_ahead(cx, head) {
                    return poll;
                }
                continue;
            }
            let event = match self.pull(cx, true) {
                ControlFlow::Break(poll) => return poll,
                ControlFlow::Continue(event) => event,
            };
            if let ControlFlow::Break(poll) = self.own_event(cx, head, event, batch.as_deref_mut())
            {
                return poll;
            }
        }
    }

    /// Takes in event `event` of our own request `head`: `Break` with what
    /// to return, `Continue` to read on (the event was not for the caller).
    fn own_event(
        &mut self,
        cx: &mut Context<'_>,
        head: u64,
        event: Event,
        batch: Option<&mut VecDeque<Row>>,
    ) -> Step {
        if let Some(through) = self.preparing_through.filter(|&p| head <= p) {
            let swallowed = self.catch(self.first, head, &event);
            if head == through && matches!(event, Event::ReadyForQuery(_)) {
                self.preparing_through = None;
            }
            if swallowed {
                return ControlFlow::Continue(());
            }
        }
        match event {
            Event::ReadyForQuery(status) if head >= self.last => {
                self.status = Some(status);
                ControlFlow::Break(self.hand_over(cx))
            }
            Event::ReadyForQuery(_) if self.every_ready => {
                ControlFlow::Break(Poll::Ready(Ok(Some(event))))
            }
            Event::ReadyForQuery(_) => ControlFlow::Continue(()),
            Event::Row(row) => {
                if let Some(batch) = batch {
                    self.take_rows(batch);
                }
                ControlFlow::Break(Poll::Ready(Ok(Some(Event::Row(row)))))
            }
            event => ControlFlow::Break(Poll::Ready(Ok(Some(event)))),
        }
    }

    /// Moves the rows of ours complete in the receive buffer to `batch`, up
    /// to a batch, while this answer holds the lock in its turn. False if
    /// the batch is full.
    pub(crate) fn take_rows(&mut self, batch: &mut VecDeque<Row>) -> bool {
        self.take_fast(batch, ROW_BATCH, |inner| match inner.machine.next_row() {
            Ok(row) => row,
            Err(e) => {
                // Reported by the next poll, after the rows before it.
                inner.fail(e.into());
                None
            }
        })
    }

    /// [`take_rows`](Self::take_rows) for the chunks of a COPY TO STDOUT:
    /// each straight from the receive buffer, without the general event.
    pub(crate) fn take_copy_data(&mut self, batch: &mut VecDeque<Bytes>, limit: usize) -> bool {
        self.take_fast(batch, limit, |inner| inner.machine.next_copy_data())
    }

    /// Moves what `next` takes of ours from the receive buffer to `batch`,
    /// up to `limit`, while this answer holds the lock in its turn (the
    /// machine's fast paths, which take only what the general path would
    /// give in the same order). False if the batch is full.
    fn take_fast<T>(
        &mut self,
        batch: &mut VecDeque<T>,
        limit: usize,
        mut next: impl FnMut(&mut Inner<S>) -> Option<T>,
    ) -> bool {
        let ours = |inner: &Inner<S>| {
            inner
                .machine
                .current_request()
                .is_some_and(|r| self.first <= r.0 && r.0 <= self.last)
        };
        if let Some(inner) = self.guard.as_deref_mut().filter(|i| ours(i)) {
            while batch.len() < limit {
                match next(inner) {
                    Some(item) => batch.push_back(item),
                    None => break,
                }
            }
        }
        batch.len() < limit
    }

    /// The next event of ours that is already in the receive buffer, while
    /// this answer holds the lock in its turn: `None` when reading on would
    /// mean waiting for the socket. Lets a stream take the rest of a short
    /// answer in the same hold of the lock.
    pub(crate) fn buffered_event(&mut self, cx: &mut Context<'_>) -> Option<Result<Option<Event>>> {
        loop {
            if self.is_done() {
                return Some(Ok(None));
            }
            let inner = self.guard.as_deref_mut()?;
            let head = inner
                .machine
                .current_request()
                .map(|r| r.0)
                .filter(|&h| self.first <= h && h <= self.last)?;
            let event = match inner.next_buffered()? {
                Ok(event) => event,
                Err(e) => {
                    self.finish();
                    return Some(Err(e));
                }
            };
            match self.own_event(cx, head, event, None) {
                ControlFlow::Continue(()) => {}
                ControlFlow::Break(Poll::Ready(out)) => return Some(out),
                ControlFlow::Break(Poll::Pending) => return None,
            }
        }
    }

    /// Our last answer was read: let the next one read. What other tasks
    /// queued meanwhile goes out now, unless the next reader is waiting in
    /// its poll (it is woken now) and answers are still buffered: then it,
    /// or the last reader of the buffered answers, sends everything queued
    /// until then in one write as it turns to the socket (see
    /// [`Inner::poll_next_event`]). Sending at each hand-over would mean a
    /// write per request, as each task queues its next request right after
    /// its answer.
    fn hand_over(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Event>>> {
        let book = &self.session.shared.book;
        let flushed = match self.guard.as_deref_mut() {
            Some(inner)
                if inner.machine.has_output()
                    && !(inner.machine.buffered_len() > 0
                        && book.next_reader_waits(self.first)) =>
            {
                inner.poll_flush(cx)
            }
            _ => Poll::Ready(Ok(())),
        };
        // Let go of the lock before waking the next owner, so that it finds
        // the lock free (not woken twice: by us, then by the lock).
        self.let_go(cx, false);
        self.finish();
        match flushed {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(None)),
        }
    }

    /// The answer at the head belongs to a request before ours.
    fn serve_ahead(&mut self, cx: &mut Context<'_>, head: u64) -> Step {
        let book = &self.session.shared.book;
        match book.turn(self.first, head, cx.waker()) {
            Turn::Wait => {
                // `turn` parked us.
                self.parked = true;
                ControlFlow::Break(Poll::Pending)
            }
            Turn::Drain(owner) => {
                let event = self.pull(cx, false)?;
                if let Some((first, last)) = owner {
                    self.catch(first, head, &event);
                    if head == last && matches!(event, Event::ReadyForQuery(_)) {
                        self.session.shared.book.drained(first);
                        if let Some(inner) = self.guard.as_deref_mut() {
                            inner.discard_ahead(first);
                        }
                    }
                }
                ControlFlow::Continue(())
            }
            Turn::ReadAhead(first, last) => {
                let event = self.pull(cx, false)?;
                let swallowed = self.catch(first, head, &event);
                let limit = self.session.shared.status.read_ahead_limit();
                let Some(inner) = self.guard.as_deref_mut() else {
                    return ControlFlow::Continue(());
                };
                match event {
                    Event::ReadyForQuery(status) if head == last => {
                        inner.finish_ahead(first, status);
                        self.session.shared.book.read_done(first);
                    }
                    _ if swallowed => {}
                    event => {
                        if inner.push_ahead(first, event) > limit {
                            self.gave_up = true;
                            return ControlFlow::Break(Poll::Ready(Err(read_ahead_overflow(
                                limit,
                            ))));
                        }
                    }
                }
                ControlFlow::Continue(())
            }
        }
    }

    /// The next event from the connection (ours if `own`), or what to
    /// return when there is none: `Pending` after parking, or the error
    /// that ended the answer.
    fn pull(
        &mut self,
        cx: &mut Context<'_>,
        own: bool,
    ) -> ControlFlow<Poll<Result<Option<Event>>>, Event> {
        let polled = match self.guard.as_deref_mut() {
            Some(inner) => inner.poll_next_event(cx),
            None => Poll::Ready(Err(Error::Dead(
                "read without the connection's lock".into(),
            ))),
        };
        match polled {
            Poll::Pending => {
                if own && self.blocked_by_own_fence(cx) {
                    self.gave_up = true;
                    return ControlFlow::Break(Poll::Ready(Err(Error::WouldDeadlock(
                        "this task waits for its own request, which is held back while a cancel request \
                         for an earlier stream of this task is on its way, and that stream is not being \
                         polled: poll it or drop it first"
                            .into(),
                    ))));
                }
                self.park(cx);
                // A fence lowered since our flush found it up woke nobody
                // (we were not parked yet): flush now.
                let book = &self.session.shared.book;
                let unsent = self
                    .guard
                    .as_deref()
                    .is_some_and(|i| i.machine.has_output() && !i.write_blocked());
                if unsent && !book.fenced() {
                    cx.waker().wake_by_ref();
                }
                ControlFlow::Break(Poll::Pending)
            }
            Poll::Ready(Err(e)) => {
                self.finish();
                ControlFlow::Break(Poll::Ready(Err(e)))
            }
            Poll::Ready(Ok(event)) => ControlFlow::Continue(event),
        }
    }

    /// Our request is unsent behind a fence raised by an idle stream of our
    /// own task: waiting would wait for ourselves.
    fn blocked_by_own_fence(&self, cx: &Context<'_>) -> bool {
        let book = &self.session.shared.book;
        book.fenced()
            && self
                .guard
                .as_deref()
                .is_some_and(|i| i.machine.has_output())
            && book.fence_held_by_idle(cx.waker())
    }

    /// Takes in an event of owner `owner`'s statement preparation, caching
    /// the statement once described. True if the event was the
    /// preparation's own (not to be reported), except its errors and
    /// `ReadyForQuery`, which go on.
    fn catch(&mut self, owner: u64, head: u64, event: &Event) -> bool {
        let book = &self.session.shared.book;
        let Some(mut preparing) = book.take_preparing(owner) else {
            return false;
        };
        if head > preparing.request {
            book.put_preparing(owner, preparing);
            return false;
        }
        let swallowed = match event {
            Event::ParameterDescription(types) => {
                preparing.param_types = types.clone();
                true
            }
            Event::RowDescription(d) => {
                preparing.description = Some(std::sync::Arc::clone(d));
                true
            }
            Event::Error(_) => {
                preparing.failed |= head == preparing.request;
                !preparing.report_errors
            }
            Event::ReadyForQuery(_) => false,
            _ => true,
        };
        let described = head == preparing.request && matches!(event, Event::ReadyForQuery(_));
        match self.guard.as_deref_mut() {
            Some(inner) if described => inner.cache_prepared(*preparing),
            _ => book.put_preparing(owner, preparing),
        }
        swallowed
    }

    /// Enforces the time limit: `Break` with what to return, or `Continue`
    /// to read on.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Step {
        let Some(deadline) = self.deadline.as_mut() else {
            return ControlFlow::Continue(());
        };
        if let Timer::Cancelling(cancelling, head) = &mut self.timer {
            let head = *head;
            return match Pin::new(cancelling.as_mut()).poll(cx) {
                Poll::Pending => {
                    self.park(cx);
                    ControlFlow::Break(Poll::Pending)
                }
                Poll::Ready(true) => {
                    self.timer = Timer::Cancelled(head);
                    ControlFlow::Continue(())
                }
                Poll::Ready(false) => self.give_up(TimeoutOutcome::Abandoned),
            };
        }
        if !deadline.poll_passed(cx) {
            return ControlFlow::Continue(());
        }
        if self.poll_lock(cx).is_pending() {
            return ControlFlow::Break(Poll::Pending);
        }
        let Some(inner) = self.guard.as_deref() else {
            return ControlFlow::Continue(());
        };
        if inner.has_ahead_for(self.first) {
            // Answers of ours are here already: read them first.
            return ControlFlow::Continue(());
        }
        let Some(head) = inner.machine.current_request().map(|r| r.0) else {
            return ControlFlow::Continue(());
        };
        if matches!(self.timer, Timer::Cancelled(h) if h == head) {
            // Already cancelled what runs now: read its answer.
            return ControlFlow::Continue(());
        }
        let end = inner.machine.next_request_id().0;
        let book = &self.session.shared.book;
        let safe = head <= self.last
            && book.only_unwanted(head, end, Some((self.first, self.last)), false);
        let plan = self
            .session
            .cancel_token()
            .zip(
                self.deadline
                    .as_ref()
                    .map(|d| std::sync::Arc::clone(&d.hooks)),
            )
            .filter(|_| safe);
        let Some((token, hooks)) = plan else {
            return self.give_up(TimeoutOutcome::Abandoned);
        };
        let Some(fence) = Fence::raise(&self.session.shared, self.first) else {
            return self.give_up(TimeoutOutcome::Abandoned);
        };
        self.timer = Timer::Cancelling(Box::new(Cancelling::start(&hooks, token, fence)), head);
        // Poll it now (the lock is let go at the end of this poll).
        self.poll_deadline(cx)
    }

    fn give_up(&mut self, outcome: TimeoutOutcome) -> Step {
        self.gave_up = true;
        let after = self
            .deadline
            .as_ref()
            .map_or_else(Default::default, |d| d.after);
        ControlFlow::Break(Poll::Ready(Err(Error::QueryTimeout { after, outcome })))
    }

    /// Before our request goes out: if a fence holds it back because
    /// abandoned queries run ahead of it, drain what already came, and
    /// cancel the rest (see [`cancel`](super::cancel)). Ready once our
    /// request may be sent.
    pub(crate) fn poll_clear_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let polled = self.clear_ahead(cx);
        if let Poll::Ready(Ok(())) = polled {
            // The fence is down: send what it held (if the lock is busy, its
            // holder or our first read does).
            if self.poll_lock(cx).is_ready() {
                if let Some(inner) = self.guard.as_deref_mut() {
                    if let Poll::Ready(Err(e)) = inner.poll_flush(cx) {
                        self.unlock(cx);
                        return Poll::Ready(Err(e));
                    }
                }
            }
        }
        if polled.is_pending() {
            // Waiting, not idle: a task's other requests must not read
            // ahead for us meanwhile.
            self.park(cx);
        }
        self.unlock(cx);
        polled
    }

    fn clear_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        loop {
            let mut grace_over = false;
            match &mut self.ahead_cancel {
                None => return Poll::Ready(Ok(())),
                Some(AheadCancel::Sending(cancelling)) => {
                    std::task::ready!(Pin::new(cancelling.as_mut()).poll(cx));
                    self.ahead_cancel = None;
                    return Poll::Ready(Ok(()));
                }
                Some(AheadCancel::Grace(_, sleep)) => {
                    grace_over = sleep.as_mut().poll(cx).is_ready()
                }
                Some(AheadCancel::Fenced(_)) => {}
            }
            if grace_over {
                let fence = match self.ahead_cancel.take() {
                    Some(AheadCancel::Grace(fence, _)) => fence,
                    _ => continue,
                };
                match self.session.hooks.as_ref().zip(self.session.cancel_token()) {
                    Some((hooks, token)) => {
                        self.ahead_cancel = Some(AheadCancel::Sending(Box::new(
                            Cancelling::start(hooks, token, fence),
                        )));
                        // The lock is not needed while it goes.
                        self.unlock(cx);
                        continue;
                    }
                    None => return Poll::Ready(Ok(())),
                }
            }
            std::task::ready!(self.poll_lock(cx));
            let head = self
                .guard
                .as_deref()
                .and_then(|i| i.machine.current_request())
                .map(|r| r.0);
            let head = match head {
                Some(head) if head < self.first => head,
                _ => {
                    self.ahead_cancel = None;
                    return Poll::Ready(Ok(()));
                }
            };
            match self.session.shared.book.turn(self.first, head, cx.waker()) {
                Turn::Drain(owner) => {
                    let polled = match self.guard.as_deref_mut() {
                        Some(inner) => inner.poll_next_event(cx),
                        None => continue,
                    };
                    match polled {
                        Poll::Ready(Ok(event)) => {
                            if let Some((first, last)) = owner {
                                self.catch(first, head, &event);
                                if head == last && matches!(event, Event::ReadyForQuery(_)) {
                                    self.session.shared.book.drained(first);
                                }
                            }
                        }
                        Poll::Ready(Err(e)) => {
                            self.ahead_cancel = None;
                            return Poll::Ready(Err(e));
                        }
                        Poll::Pending => {
                            // Still running: after a grace period, cancel.
                            match self.ahead_cancel.take() {
                                Some(AheadCancel::Fenced(fence)) => {
                                    let Some(hooks) = self.session.hooks.as_ref() else {
                                        return Poll::Ready(Ok(()));
                                    };
                                    let sleep = hooks.sleep(CANCEL_GRACE);
                                    self.ahead_cancel = Some(AheadCancel::Grace(fence, sleep));
                                }
                                waiting => {
                                    // The grace period runs: wait for either.
                                    self.ahead_cancel = waiting;
                                    return Poll::Pending;
                                }
                            }
                        }
                    }
                }
                turn => {
                    // A live owner ahead after all: it reads; nothing to
                    // cancel. (`turn` parked us on `Wait`: unpark on the
                    // next poll.)
                    self.parked |= turn == Turn::Wait;
                    self.ahead_cancel = None;
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// Moves the rows complete in the receive buffer (of the current result
/// set, which is ours) to `batch`.
#[cold]
fn read_ahead_overflow(limit: usize) -> Error {
    Error::WouldDeadlock(format!(
        "this task waits for a later answer while an earlier result of its own on this \
         connection is unread, and more than {limit} bytes of it are now buffered: read that \
         stream to its end (or drop it) first, fetch it eagerly, or run the later query on \
         another connection"
    ))
}

/// Whether a database error is the cancellation a time limit asked for.
pub(crate) fn is_cancellation(error: &pgwire_proto::DatabaseError) -> bool {
    error.sqlstate() == SqlState::QUERY_CANCELED
}

impl<S> Drop for Answer<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        // Let go of the lock first (sending owed work).
        self.guard = None;
        // A cancel request already on its way may still land: the next
        // user of the connection drives it to its end (see `orphan`).
        if let Timer::Cancelling(cancelling, _) = std::mem::replace(&mut self.timer, Timer::Running)
        {
            self.session.shared.orphan.adopt(cancelling);
        }
        if let Some(AheadCancel::Sending(cancelling)) = self.ahead_cancel.take() {
            self.session.shared.orphan.adopt(cancelling);
        }
        if self.done {
            return;
        }
        let book = &self.session.shared.book;
        // Someone else discards what the server still sends us; our query
        // may still run, so the next request may cancel it (if it may be
        // cancelled). What was read ahead for us is freed by the next lock
        // holder.
        book.abandon(self.first, self.cancel_on_drop);
        book.owe(Owed::DiscardAhead(self.first));
        // Settle now if the lock is free (frees what was read ahead).
        drop(self.session.try_lock());
    }
}
