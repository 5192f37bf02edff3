//! The permits that bound how many connections a pool holds, handed out in
//! the order they were asked for.
//!
//! A semaphore that lets a new caller take a permit while others wait
//! (async-lock's does, and a woken waiter that finds the permit taken
//! queues again at the back) starves waiters: a task that gives its
//! connection back and at once checks out again takes it before the task
//! woken for it runs, every time. Here a permit given back goes straight
//! to the first waiter, and a new caller takes a free permit only when
//! nobody waits.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A fair counting semaphore of `max_size` permits.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// The waiters, first come first; each one in it still waits.
    queue: VecDeque<Arc<Slot>>,
    /// After [`Gate::open_all`]: every acquire succeeds at once.
    open: bool,
}

/// One waiter's place, written only under the gate's lock.
#[derive(Debug, Default)]
struct Slot {
    inner: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    granted: bool,
    waker: Option<Waker>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gate {
    pub(crate) fn new(permits: usize) -> Self {
        Gate {
            state: Mutex::new(State {
                free: permits,
                queue: VecDeque::new(),
                open: false,
            }),
        }
    }

    /// A permit now, if one is free and nobody waits for one.
    pub(crate) fn try_acquire(gate: &Arc<Gate>) -> Option<Permit> {
        let mut state = lock(&gate.state);
        if state.open {
            return Some(Permit(Arc::clone(gate)));
        }
        if state.free > 0 && state.queue.is_empty() {
            state.free -= 1;
            return Some(Permit(Arc::clone(gate)));
        }
        None
    }

    /// A permit, after every earlier waiter got one.
    pub(crate) fn acquire(gate: &Arc<Gate>) -> Acquire {
        Acquire {
            gate: Arc::clone(gate),
            slot: None,
            done: false,
        }
    }

    /// Lets every waiter through now and every later caller at once (for
    /// a pool being closed: its checkouts then see it closed).
    pub(crate) fn open_all(&self) {
        let wakers: Vec<Waker> = {
            let mut state = lock(&self.state);
            state.open = true;
            state.queue.drain(..).filter_map(grant).collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// A permit comes back: to the first waiter, or to the free ones.
    fn release(&self) {
        let waker = {
            let mut state = lock(&self.state);
            match state.queue.pop_front() {
                Some(slot) => grant(slot),
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

/// Marks `slot` as holding a permit; returns its waker to wake.
fn grant(slot: Arc<Slot>) -> Option<Waker> {
    let mut inner = lock(&slot.inner);
    inner.granted = true;
    inner.waker.take()
}

/// A permit of a [`Gate`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit(Arc<Gate>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// [`Gate::acquire`]'s future. Dropped while waiting it leaves the queue;
/// dropped after a permit was handed to it, it passes the permit on.
#[derive(Debug)]
pub(crate) struct Acquire {
    gate: Arc<Gate>,
    slot: Option<Arc<Slot>>,
    done: bool,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        let mut state = lock(&this.gate.state);
        let Some(slot) = &this.slot else {
            if state.open || (state.free > 0 && state.queue.is_empty()) {
                if !state.open {
                    state.free -= 1;
                }
                this.done = true;
                return Poll::Ready(Permit(Arc::clone(&this.gate)));
            }
            let slot = Arc::new(Slot::default());
            lock(&slot.inner).waker = Some(cx.waker().clone());
            state.queue.push_back(Arc::clone(&slot));
            this.slot = Some(slot);
            return Poll::Pending;
        };
        let mut inner = lock(&slot.inner);
        if inner.granted {
            drop(inner);
            this.done = true;
            return Poll::Ready(Permit(Arc::clone(&this.gate)));
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if self.done {
            return;
        }
        let granted = {
            let mut state = lock(&self.gate.state);
            let granted = lock(&slot.inner).granted;
            if !granted {
                state.queue.retain(|s| !Arc::ptr_eq(s, &slot));
            }
            granted
        };
        if granted {
            // Handed a permit it will not use: the next waiter gets it.
            self.gate.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll(acquire: &mut Acquire) -> Poll<Permit> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(acquire).poll(&mut cx)
    }

    #[test]
    fn a_permit_given_back_goes_to_the_first_waiter_not_a_newcomer() {
        let gate = Arc::new(Gate::new(1));
        let held = Gate::try_acquire(&gate).unwrap();
        let mut first = Gate::acquire(&gate);
        let mut second = Gate::acquire(&gate);
        assert!(poll(&mut first).is_pending());
        assert!(poll(&mut second).is_pending());
        drop(held);
        // The releasing task asks again at once: it waits its turn.
        assert!(Gate::try_acquire(&gate).is_none());
        let mut again = Gate::acquire(&gate);
        assert!(poll(&mut again).is_pending());
        assert!(poll(&mut second).is_pending());
        let Poll::Ready(permit) = poll(&mut first) else {
            panic!("the first waiter has the permit");
        };
        drop(permit);
        assert!(poll(&mut second).is_ready());
    }

    #[test]
    fn a_dropped_waiter_leaves_the_queue_and_passes_on_its_permit() {
        let gate = Arc::new(Gate::new(1));
        let held = Gate::try_acquire(&gate).unwrap();
        let mut gone = Gate::acquire(&gate);
        let mut granted_then_gone = Gate::acquire(&gate);
        let mut last = Gate::acquire(&gate);
        assert!(poll(&mut gone).is_pending());
        assert!(poll(&mut granted_then_gone).is_pending());
        assert!(poll(&mut last).is_pending());
        drop(gone);
        drop(held);
        // Handed the permit, dropped before it was polled again.
        drop(granted_then_gone);
        let Poll::Ready(permit) = poll(&mut last) else {
            panic!("the permit was passed on");
        };
        drop(permit);
        assert!(Gate::try_acquire(&gate).is_some());
    }

    #[test]
    fn open_all_lets_every_waiter_through() {
        let gate = Arc::new(Gate::new(1));
        let _held = Gate::try_acquire(&gate).unwrap();
        let mut waiter = Gate::acquire(&gate);
        assert!(poll(&mut waiter).is_pending());
        gate.open_all();
        assert!(poll(&mut waiter).is_ready());
        assert!(Gate::try_acquire(&gate).is_some());
    }
}
