//! The permits that bound how many connections a pool holds, handed out in
//! the order they were asked for, and the checkout timeout of those who
//! wait for one.
//!
//! A semaphore that lets a new caller take a permit while others wait
//! (async-lock's does, and a woken waiter that finds the permit taken
//! queues again at the back) starves waiters: a task that gives its
//! connection back and at once checks out again takes it before the task
//! woken for it runs, every time. Here a permit given back goes straight
//! to the first waiter, and a new caller takes a free permit only when
//! nobody waits.
//!
//! Under contention nearly every checkout waits, and a timer per waiter
//! (a boxed runtime sleep, armed and disarmed per checkout) cost more than
//! the rest of the gate. So the waiters share one timer: one of them, the
//! watcher, keeps a sleep until the earliest deadline of all, and when it
//! fires, times out every waiter whose deadline passed. A watcher that is
//! served hands the watch to the waiter served last, which arms the timer
//! anew: one timer per queue's length of checkouts, not one per checkout.
//!
//! The waiters live in a slab inside the gate's state (no allocation per
//! waiter once it has grown, and no lock but the gate's).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::timeout::{BoxFuture, RuntimeHooks};

/// A fair counting semaphore of `max_size` permits.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// The waiters (indices into `slots`), first come first; each one in
    /// it still waits.
    queue: VecDeque<usize>,
    slots: Vec<Slot>,
    /// Indices of `slots` that no waiter uses.
    vacant: Vec<usize>,
    /// The waiter that keeps the shared timer, if any waiter has a deadline.
    watcher: Option<usize>,
    /// When the watcher's timer fires; `None` until it is armed.
    watch_until: Option<Instant>,
    /// After [`Gate::open_all`]: every acquire succeeds at once.
    open: bool,
}

#[derive(Debug)]
struct Slot {
    phase: Phase,
    waker: Option<Waker>,
    deadline: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Vacant,
    Waiting,
    /// Handed a permit (removed from the queue).
    Granted,
    /// Its deadline passed while it waited (removed from the queue).
    TimedOut,
}

/// A waiter's deadline passed before a permit came free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn insert(&mut self, slot: Slot) -> usize {
        match self.vacant.pop() {
            Some(index) => {
                self.slots[index] = slot;
                index
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.phase = Phase::Vacant;
        slot.waker = None;
        self.vacant.push(index);
    }

    /// Hands the first waiter a permit; its waker, to wake after the lock.
    fn grant_first(&mut self) -> Option<Option<Waker>> {
        let index = self.queue.pop_front()?;
        let slot = &mut self.slots[index];
        slot.phase = Phase::Granted;
        Some(slot.waker.take())
    }

    /// `index` no longer watches (it was served, timed out or dropped):
    /// the waiter served last takes the watch, so that it changes hands
    /// as seldom as possible. Returns the waker of the new watcher, which
    /// arms the timer when polled.
    fn resign(&mut self, index: usize) -> Option<Waker> {
        if self.watcher != Some(index) {
            return None;
        }
        self.watcher = None;
        self.watch_until = None;
        let next = *self
            .queue
            .iter()
            .rev()
            .find(|&&i| self.slots[i].deadline.is_some())?;
        self.watcher = Some(next);
        self.slots[next].waker.clone()
    }

    /// The earliest deadline of the waiters.
    fn earliest_deadline(&self) -> Option<Instant> {
        self.queue
            .iter()
            .filter_map(|&i| self.slots[i].deadline)
            .min()
    }

    /// Times out every waiter whose deadline is past `now`; their wakers.
    fn expire(&mut self, now: Instant) -> Vec<Waker> {
        let mut wakers = Vec::new();
        let slots = &mut self.slots;
        self.queue.retain(|&i| {
            let slot = &mut slots[i];
            if slot.deadline.is_some_and(|d| d <= now) {
                slot.phase = Phase::TimedOut;
                wakers.extend(slot.waker.take());
                false
            } else {
                true
            }
        });
        wakers
    }
}

impl Gate {
    pub(crate) fn new(permits: usize) -> Self {
        Gate {
            state: Mutex::new(State {
                free: permits,
                queue: VecDeque::new(),
                slots: Vec::new(),
                vacant: Vec::new(),
                watcher: None,
                watch_until: None,
                open: false,
            }),
        }
    }

    /// A permit now, if one is free and nobody waits for one.
    #[cfg(test)]
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut state = lock(&self.state);
        if state.open {
            return Some(Permit(self));
        }
        if state.free > 0 && state.queue.is_empty() {
            state.free -= 1;
            return Some(Permit(self));
        }
        None
    }

    /// A permit, after every earlier waiter got one; [`TimedOut`] if
    /// `deadline` passes first (`hooks` gives the timer). Its first poll
    /// takes a free permit if nobody waits.
    pub(crate) fn acquire<'a>(
        &'a self,
        deadline: Option<Instant>,
        hooks: &'a dyn RuntimeHooks,
    ) -> Acquire<'a> {
        Acquire {
            gate: self,
            hooks,
            deadline,
            slot: None,
            timer: None,
        }
    }

    /// Lets every waiter through now and every later caller at once (for
    /// a pool being closed: its checkouts then see it closed).
    pub(crate) fn open_all(&self) {
        let wakers: Vec<Waker> = {
            let mut state = lock(&self.state);
            state.open = true;
            state.watcher = None;
            state.watch_until = None;
            let mut wakers = Vec::new();
            while let Some(waker) = state.grant_first() {
                wakers.extend(waker);
            }
            wakers
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// How many wait for a permit.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.state).queue.len()
    }

    /// A permit comes back: to the first waiter, or to the free ones. For
    /// the holder of a [`detach`](Permit::detach)ed permit.
    pub(crate) fn release(&self) {
        let waker = {
            let mut state = lock(&self.state);
            match state.grant_first() {
                Some(waker) => waker,
                None => {
                    state.free += 1;
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A permit of a [`Gate`], given back when dropped. It borrows the gate
/// (no reference count to bump per checkout, on a line that every core
/// shares).
#[derive(Debug)]
pub(crate) struct Permit<'a>(&'a Gate);

impl Permit<'_> {
    /// Keeps the permit without the guard: the caller owes the gate a
    /// [`release`](Gate::release) (a pooled connection, when dropped).
    pub(crate) fn detach(self) {
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// [`Gate::acquire`]'s future. Dropped while waiting it leaves the queue;
/// dropped after a permit was handed to it, it passes the permit on.
pub(crate) struct Acquire<'a> {
    gate: &'a Gate,
    hooks: &'a dyn RuntimeHooks,
    deadline: Option<Instant>,
    /// Its place in the gate's slab while it waits.
    slot: Option<usize>,
    /// The shared timer, while this waiter watches (or watched: a stale
    /// one is dropped at the next poll), and when it fires.
    timer: Option<(BoxFuture<()>, Instant)>,
}

impl std::fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acquire")
            .field("deadline", &self.deadline)
            .field("slot", &self.slot)
            .field("watching", &self.timer.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, TimedOut>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut wake = Vec::new();
        let out = this.poll_locked(cx, &mut wake);
        wake.into_iter().for_each(Waker::wake);
        out
    }
}

impl<'a> Acquire<'a> {
    /// The poll under the gate's lock; `wake` collects the wakers to wake
    /// once it is let go.
    fn poll_locked(
        &mut self,
        cx: &mut Context<'_>,
        wake: &mut Vec<Waker>,
    ) -> Poll<Result<Permit<'a>, TimedOut>> {
        let mut state = lock(&self.gate.state);
        let index = match self.slot {
            Some(index) => index,
            None => {
                if state.open || (state.free > 0 && state.queue.is_empty()) {
                    if !state.open {
                        state.free -= 1;
                    }
                    return Poll::Ready(Ok(Permit(self.gate)));
                }
                let index = state.insert(Slot {
                    phase: Phase::Waiting,
                    waker: Some(cx.waker().clone()),
                    deadline: self.deadline,
                });
                state.queue.push_back(index);
                self.slot = Some(index);
                if let Some(deadline) = self.deadline {
                    // The watch goes to a waiter whose deadline comes
                    // before the timer (or to the first with one).
                    let sooner = state.watch_until.is_none_or(|until| deadline < until);
                    if state.watcher.is_none() || sooner {
                        state.watcher = Some(index);
                        state.watch_until = None;
                    }
                }
                index
            }
        };
        match state.slots[index].phase {
            Phase::Granted => {
                self.slot = None;
                self.timer = None;
                state.remove(index);
                wake.extend(state.resign(index));
                return Poll::Ready(Ok(Permit(self.gate)));
            }
            Phase::TimedOut => {
                self.slot = None;
                self.timer = None;
                state.remove(index);
                wake.extend(state.resign(index));
                return Poll::Ready(Err(TimedOut));
            }
            Phase::Waiting | Phase::Vacant => {}
        }
        let slot = &mut state.slots[index];
        match &slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        if self.deadline.is_some() && state.watcher.is_none() {
            state.watcher = Some(index);
            state.watch_until = None;
        }
        if state.watcher != Some(index) {
            // Another waiter watches: a timer left from an earlier watch
            // goes.
            self.timer = None;
            return Poll::Pending;
        }
        // Twice at most: a timer that fired and timed out nobody (it fired
        // early, or the earliest waiter was served) is armed anew once;
        // one that fires early again is looked at on the next poll.
        for _ in 0..2 {
            let Some(earliest) = state.earliest_deadline() else {
                return Poll::Pending;
            };
            let timer = match self.timer.take() {
                // Fires no later than needed: keep it (it may fire early,
                // and is then armed anew).
                Some((timer, at)) if at <= earliest => (timer, at),
                _ => {
                    let left = earliest.saturating_duration_since(Instant::now());
                    (self.hooks.sleep(left), earliest)
                }
            };
            let (mut sleep, at) = timer;
            state.watch_until = Some(at);
            if sleep.as_mut().poll(cx).is_pending() {
                self.timer = Some((sleep, at));
                return Poll::Pending;
            }
            wake.extend(state.expire(Instant::now()));
            if state.slots[index].phase == Phase::TimedOut {
                self.slot = None;
                state.remove(index);
                wake.extend(state.resign(index));
                return Poll::Ready(Err(TimedOut));
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(index) = self.slot.take() else {
            return;
        };
        let (granted, watcher) = {
            let mut state = lock(&self.gate.state);
            let granted = state.slots[index].phase == Phase::Granted;
            if state.slots[index].phase == Phase::Waiting {
                state.queue.retain(|&i| i != index);
            }
            state.remove(index);
            (granted, state.resign(index))
        };
        if let Some(waker) = watcher {
            waker.wake();
        }
        if granted {
            // Handed a permit it will not use: the next waiter gets it.
            self.gate.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::CancelToken;

    /// Timers that fire when the test says so (or at once, for zero).
    #[derive(Default)]
    struct Manual {
        armed: Mutex<Vec<Arc<AtomicBool>>>,
    }

    impl Manual {
        fn armed(&self) -> usize {
            self.armed.lock().unwrap().len()
        }
        fn fire(&self, n: usize) {
            self.armed.lock().unwrap()[n].store(true, Ordering::SeqCst);
        }
    }

    impl RuntimeHooks for Manual {
        fn sleep(&self, after: Duration) -> BoxFuture<()> {
            let fired = Arc::new(AtomicBool::new(after.is_zero()));
            self.armed.lock().unwrap().push(Arc::clone(&fired));
            Box::pin(std::future::poll_fn(move |_| {
                if fired.load(Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }))
        }
        fn cancel(&self, _token: CancelToken) -> BoxFuture<crate::Result<()>> {
            Box::pin(async { Err(crate::Error::InvalidInput("no cancel here".into())) })
        }
    }

    fn poll<'a>(acquire: &mut Acquire<'a>) -> Poll<Result<Permit<'a>, TimedOut>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(acquire).poll(&mut cx)
    }

    fn in_ms(ms: u64) -> Option<Instant> {
        Some(Instant::now() + Duration::from_millis(ms))
    }

    #[test]
    fn a_permit_given_back_goes_to_the_first_waiter_not_a_newcomer() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let held = gate.try_acquire().unwrap();
        let mut first = gate.acquire(None, &hooks);
        let mut second = gate.acquire(None, &hooks);
        assert!(poll(&mut first).is_pending());
        assert!(poll(&mut second).is_pending());
        drop(held);
        // The releasing task asks again at once: it waits its turn.
        assert!(gate.try_acquire().is_none());
        let mut again = gate.acquire(None, &hooks);
        assert!(poll(&mut again).is_pending());
        assert!(poll(&mut second).is_pending());
        let Poll::Ready(Ok(permit)) = poll(&mut first) else {
            panic!("the first waiter has the permit");
        };
        drop(permit);
        assert!(matches!(poll(&mut second), Poll::Ready(Ok(_))));
        assert_eq!(hooks.armed(), 0, "no deadline, no timer");
    }

    #[test]
    fn a_dropped_waiter_leaves_the_queue_and_passes_on_its_permit() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let held = gate.try_acquire().unwrap();
        let mut gone = gate.acquire(None, &hooks);
        let mut granted_then_gone = gate.acquire(None, &hooks);
        let mut last = gate.acquire(None, &hooks);
        assert!(poll(&mut gone).is_pending());
        assert!(poll(&mut granted_then_gone).is_pending());
        assert!(poll(&mut last).is_pending());
        drop(gone);
        drop(held);
        // Handed the permit, dropped before it was polled again.
        drop(granted_then_gone);
        let Poll::Ready(Ok(permit)) = poll(&mut last) else {
            panic!("the permit was passed on");
        };
        drop(permit);
        assert!(gate.try_acquire().is_some());
    }

    #[test]
    fn open_all_lets_every_waiter_through() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let _held = gate.try_acquire().unwrap();
        let mut waiter = gate.acquire(in_ms(60_000), &hooks);
        assert!(poll(&mut waiter).is_pending());
        gate.open_all();
        assert!(matches!(poll(&mut waiter), Poll::Ready(Ok(_))));
        assert!(gate.try_acquire().is_some());
    }

    #[test]
    fn waiters_share_one_timer_and_time_out_together() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let _held = gate.try_acquire().unwrap();
        let mut waiters: Vec<_> = (0..3).map(|_| gate.acquire(in_ms(1), &hooks)).collect();
        for waiter in &mut waiters {
            assert!(poll(waiter).is_pending());
        }
        assert_eq!(hooks.armed(), 1, "one timer for all");
        std::thread::sleep(Duration::from_millis(5));
        hooks.fire(0);
        for waiter in &mut waiters {
            assert!(matches!(poll(waiter), Poll::Ready(Err(TimedOut))));
        }
        assert_eq!(hooks.armed(), 1);
    }

    #[test]
    fn a_waiter_times_out_only_at_its_own_deadline() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let _held = gate.try_acquire().unwrap();
        let mut soon = gate.acquire(in_ms(1), &hooks);
        let mut later = gate.acquire(in_ms(60_000), &hooks);
        assert!(poll(&mut soon).is_pending());
        assert!(poll(&mut later).is_pending());
        std::thread::sleep(Duration::from_millis(5));
        hooks.fire(0);
        assert!(matches!(poll(&mut soon), Poll::Ready(Err(TimedOut))));
        // The watch passed on, with a timer for the later deadline.
        assert!(poll(&mut later).is_pending());
        assert_eq!(hooks.armed(), 2);
    }

    #[test]
    fn a_served_or_dropped_watcher_hands_the_watch_on() {
        let hooks = Manual::default();
        let gate = Gate::new(1);
        let held = gate.try_acquire().unwrap();
        let mut watcher = gate.acquire(in_ms(60_000), &hooks);
        let mut dropped = gate.acquire(in_ms(60_000), &hooks);
        let mut last = gate.acquire(in_ms(20), &hooks);
        assert!(poll(&mut watcher).is_pending());
        assert!(poll(&mut dropped).is_pending());
        // A deadline sooner than the watcher's timer takes the watch.
        assert!(poll(&mut last).is_pending());
        assert_eq!(hooks.armed(), 2);
        drop(held);
        let Poll::Ready(Ok(_permit)) = poll(&mut watcher) else {
            panic!("the first waiter is served");
        };
        // The served waiter watched no more; `last` keeps its timer.
        assert!(poll(&mut dropped).is_pending());
        assert_eq!(hooks.armed(), 2);
        // `last`, the watcher, goes: the watch passes to `dropped`.
        drop(last);
        assert!(poll(&mut dropped).is_pending());
        assert_eq!(hooks.armed(), 3);
        hooks.fire(2);
        // Its own deadline is far: the timer is armed anew, not a timeout.
        assert!(poll(&mut dropped).is_pending());
        assert_eq!(hooks.armed(), 4);
    }
}
