//! The session's ledger: whose answers the server sends next, who may read
//! the socket for them, the transaction that reserves the session, the work
//! dropped guards left behind, and the fence that holds writes back while a
//! cancel request is on its way.
//!
//! It sits behind a plain mutex, not the connection's async lock: `Drop`
//! must be able to write here synchronously, and every update is a few map
//! operations. Lock order: the connection's async lock first, then this one
//! (never the other way round).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crate::session::owed::Owed;
use crate::session::owners::Owners;
use crate::statements::Preparing;

/// The ledger and the flags read on every request without locking it.
#[derive(Debug, Default)]
pub(crate) struct Book {
    ledger: Mutex<Ledger>,
    /// A transaction reserves the session. Set and cleared under the ledger;
    /// read under the connection's lock, where it cannot be set meanwhile
    /// (only a lock holder reserves).
    reserved: AtomicBool,
    /// The ledger holds owed work.
    owed: AtomicBool,
    /// A cancel request is on its way: bytes queued meanwhile stay unsent.
    fence: AtomicBool,
    /// Some abandoned owner asked for a cancel (cheap check).
    wanted: AtomicBool,
    /// The reader was asked to send queued requests and has not yet:
    /// later requests need not wake it again.
    flush_wanted: AtomicBool,
}

#[derive(Debug, Default)]
struct Ledger {
    /// By the first request id of each owner's range.
    owners: Owners<Owner>,
    /// Abandoned owners that asked for a cancel, not yet drained.
    cancel_wanted: usize,
    reservation: Option<Reservation>,
    next_reservation: u64,
    /// Requests waiting for the reservation to end.
    gate_waiters: Vec<Waker>,
    owed: Vec<Owed>,
    /// The answer whose cancel request the fence waits for.
    fence_owner: Option<u64>,
}

#[derive(Debug)]
struct Owner {
    /// The last request id of the range (inclusive).
    last: u64,
    /// Dropped before its last answer: whoever reads next discards them.
    abandoned: bool,
    /// Waiting inside its poll (for its turn or the socket). An owner that is
    /// not parked is idle: its task is busy elsewhere, or has not polled yet.
    parked: bool,
    /// Its task: to wake it, and to tell whether another request comes from
    /// the same task.
    waker: Option<Waker>,
    /// Every answer of its range was read on its behalf and awaits it.
    read_done: bool,
    /// A statement its first requests prepare, to cache once described
    /// (whoever reads those answers).
    preparing: Option<Box<Preparing>>,
    /// Dropped while its query may still run: the next request may cancel it.
    cancel_wanted: bool,
    /// A later owner of the same task waits because this one was parked:
    /// when this one is polled again (and may go idle), its task must look
    /// again (then the later owner reads ahead for it).
    wake_on_idle: bool,
}

#[derive(Debug)]
struct Reservation {
    id: u64,
    /// The task that last sent through the reservation.
    task: Option<Waker>,
}

/// What a reader whose turn has not come does with the answer at the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Nobody reads it: an owed command's, or an abandoned owner's (`Some`
    /// of its first and last ids). Read and discard it.
    Drain(Option<(u64, u64)>),
    /// The owner (first, last) is idle in the reader's own task, which now
    /// waits for a later answer: read its answers ahead into its buffer, or
    /// the task would wait for itself.
    ReadAhead(u64, u64),
    /// A live owner reads it: wait to be woken.
    Wait,
}

/// Whether a request may be queued now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Pass,
    /// Another task's transaction holds the session: wait to be woken.
    Wait,
    /// The asking task itself holds the transaction that blocks it.
    OwnTransaction,
}

fn same_task(a: Option<&Waker>, b: &Waker) -> bool {
    a.is_some_and(|a| a.will_wake(b))
}

fn remember(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        slot => *slot = Some(waker.clone()),
    }
}

impl Ledger {
    /// The owner whose range holds request `id`.
    fn owner_of(&self, id: u64) -> Option<(u64, &Owner)> {
        self.owners.at_or_before(id).filter(|(_, o)| o.last >= id)
    }

    /// Wakes the first live owner still to read, if it waits: whenever the
    /// head of the line moved.
    fn wake_head(&self) {
        let next = self.owners.values().find(|o| !o.abandoned && !o.read_done);
        if let Some(owner) = next.filter(|o| o.parked) {
            if let Some(waker) = &owner.waker {
                waker.wake_by_ref();
            }
        }
    }
}

impl Book {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic elsewhere while holding this lock leaves the ledger
        // consistent: every update is a single map operation.
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- owners ----------------------------------------------------------

    /// Records that requests `first..=last` are answered to one task.
    pub(crate) fn register(
        &self,
        first: u64,
        last: u64,
        waker: &Waker,
        preparing: Option<Box<Preparing>>,
    ) {
        self.ledger().owners.insert(
            first,
            Owner {
                last,
                abandoned: false,
                parked: false,
                waker: Some(waker.clone()),
                read_done: false,
                preparing,
                cancel_wanted: false,
                wake_on_idle: false,
            },
        );
    }

    /// What reader `first` (with task `waker`) does about the answer to
    /// request `head`, which comes before its own. On [`Turn::Wait`] the
    /// reader is parked in the same critical section, so that a wake-up
    /// cannot slip between the check and the park.
    ///
    /// It reads (drains, or reads ahead) only if every live owner before it
    /// is idle in its own task; otherwise a live owner reads for itself, and
    /// only one task at a time waits on the socket (runtimes keep one read
    /// waker per socket: a second reader would take the first's wake-up).
    pub(crate) fn turn(&self, first: u64, head: u64, waker: &Waker) -> Turn {
        let mut ledger = self.ledger();
        let blocker = ledger
            .owners
            .before_mut(first)
            .filter(|o| !o.abandoned && !o.read_done)
            .find(|o| o.parked || !same_task(o.waker.as_ref(), waker));
        if let Some(blocker) = blocker {
            // Parked in our own task: it may go idle (its poll returning to
            // a caller that then waits for us) without anything waking us.
            blocker.wake_on_idle |= same_task(blocker.waker.as_ref(), waker);
            if let Some(owner) = ledger.owners.get_mut(first) {
                owner.parked = true;
                remember(&mut owner.waker, waker);
            }
            return Turn::Wait;
        }
        match ledger.owner_of(head) {
            None => Turn::Drain(None),
            Some((f, o)) if o.abandoned => Turn::Drain(Some((f, o.last))),
            Some((f, o)) => Turn::ReadAhead(f, o.last),
        }
    }

    /// Owner `first` waits inside its poll (for its turn or the socket).
    pub(crate) fn park(&self, first: u64, waker: &Waker) {
        let mut ledger = self.ledger();
        if let Some(owner) = ledger.owners.get_mut(first) {
            owner.parked = true;
            remember(&mut owner.waker, waker);
        }
    }

    /// Owner `first` is being polled again.
    pub(crate) fn unpark(&self, first: u64) {
        if let Some(owner) = self.ledger().owners.get_mut(first) {
            owner.parked = false;
            if std::mem::take(&mut owner.wake_on_idle) {
                // Its task polls the later owner again, which then reads
                // ahead for this one if it went idle.
                if let Some(waker) = &owner.waker {
                    waker.wake_by_ref();
                }
            }
        }
    }

    /// Owner `first` read its last answer: the next owner may read.
    pub(crate) fn finish(&self, first: u64) {
        let mut ledger = self.ledger();
        ledger.owners.remove(first);
        ledger.wake_head();
    }

    /// Every answer of owner `first` was read ahead for it.
    pub(crate) fn read_done(&self, first: u64) {
        let mut ledger = self.ledger();
        if let Some(owner) = ledger.owners.get_mut(first) {
            owner.read_done = true;
        }
        ledger.wake_head();
    }

    /// Owner `first` was dropped before reading all its answers: whoever
    /// reads next discards them.
    pub(crate) fn abandon(&self, first: u64, cancel_wanted: bool) {
        let mut ledger = self.ledger();
        let read_done = ledger.owners.get(first).is_some_and(|o| o.read_done);
        if read_done {
            ledger.owners.remove(first);
        } else if let Some(owner) = ledger.owners.get_mut(first) {
            owner.abandoned = true;
            owner.parked = false;
            owner.waker = None;
            owner.cancel_wanted = cancel_wanted;
            if cancel_wanted {
                ledger.cancel_wanted += 1;
                self.wanted.store(true, Ordering::Release);
            }
        }
        if ledger.fence_owner == Some(first) {
            ledger.fence_owner = None;
        }
        ledger.wake_head();
    }

    /// The abandoned owner `first` was drained to its end.
    pub(crate) fn drained(&self, first: u64) {
        let mut ledger = self.ledger();
        if ledger.owners.remove(first).is_some_and(|o| o.cancel_wanted) {
            ledger.cancel_wanted -= 1;
            self.wanted
                .store(ledger.cancel_wanted > 0, Ordering::Release);
        }
        ledger.wake_head();
    }

    /// Takes the statement owner `first` prepares, if any.
    pub(crate) fn take_preparing(&self, first: u64) -> Option<Box<Preparing>> {
        self.ledger()
            .owners
            .get_mut(first)
            .and_then(|o| o.preparing.take())
    }

    /// Gives back a statement taken with [`take_preparing`](Self::take_preparing).
    pub(crate) fn put_preparing(&self, first: u64, preparing: Box<Preparing>) {
        if let Some(owner) = self.ledger().owners.get_mut(first) {
            owner.preparing = Some(preparing);
        }
    }

    /// True if every request in `from..to` is `ours` or an abandoned
    /// owner's: nobody waits for their answers, so a cancel request that
    /// lands on any of them harms no one. With `wanted`, at least one of the
    /// abandoned owners must have asked for a cancel.
    pub(crate) fn only_unwanted(
        &self,
        from: u64,
        to: u64,
        ours: Option<(u64, u64)>,
        wanted: bool,
    ) -> bool {
        if wanted && !self.wanted.load(Ordering::Acquire) {
            return false;
        }
        let ledger = self.ledger();
        let mut asked = !wanted;
        let mut id = from;
        while id < to {
            if let Some((_, last)) = ours.filter(|&(f, l)| f <= id && id <= l) {
                id = last + 1;
                continue;
            }
            match ledger.owner_of(id) {
                Some((_, owner)) if owner.abandoned => {
                    asked |= owner.cancel_wanted;
                    id = owner.last + 1;
                }
                _ => return false,
            }
        }
        asked && from < to
    }

    /// Wakes the first live owner still to read (it must send what others
    /// queued, or the head of the line moved).
    pub(crate) fn wake_head(&self) {
        self.ledger().wake_head();
    }

    /// True if the first live owner still to read after `first` waits
    /// inside its poll, so that `first` finishing wakes it to read at once.
    pub(crate) fn next_reader_waits(&self, first: u64) -> bool {
        let ledger = self.ledger();
        let next = ledger
            .owners
            .after(first)
            .find(|o| !o.abandoned && !o.read_done);
        next.is_some_and(|o| o.parked && o.waker.is_some())
    }

    /// If a live owner reads before `first`, asks it to send what was queued
    /// (once, however many requests pile up) and returns true: one write and
    /// one server wake-up for many requests. Its answers come first anyway;
    /// if it is idle, the first poll of anyone sends the bytes.
    pub(crate) fn delegate_flush(&self, first: u64) -> bool {
        let ledger = self.ledger();
        let Some(owner) = ledger
            .owners
            .before(first)
            .find(|o| !o.abandoned && !o.read_done)
        else {
            return false;
        };
        if !self.flush_wanted.swap(true, Ordering::AcqRel) {
            if let Some(waker) = &owner.waker {
                waker.wake_by_ref();
            }
        }
        true
    }

    /// Everything queued was sent. Called under the connection's lock, as
    /// requests are queued, so no request is queued unseen in between.
    pub(crate) fn flushed(&self) {
        self.flush_wanted.store(false, Ordering::Release);
    }

    /// Wakes everyone: the connection died or was closed.
    pub(crate) fn wake_all(&self) {
        let mut ledger = self.ledger();
        for owner in ledger.owners.values_mut() {
            if let Some(waker) = owner.waker.take() {
                waker.wake();
            }
        }
        for waker in ledger.gate_waiters.drain(..) {
            waker.wake();
        }
    }

    // ---- the reservation -------------------------------------------------

    /// Whether a request sent through reservation `via` (`None`: outside any
    /// transaction) from the task of `waker` may be queued now. A waiting
    /// request is woken when the reservation ends.
    pub(crate) fn gate(&self, via: Option<u64>, waker: &Waker) -> Gate {
        if !self.reserved.load(Ordering::Acquire) {
            return Gate::Pass;
        }
        let mut ledger = self.ledger();
        let Some(reservation) = &mut ledger.reservation else {
            return Gate::Pass;
        };
        if via == Some(reservation.id) {
            remember(&mut reservation.task, waker);
            return Gate::Pass;
        }
        if same_task(reservation.task.as_ref(), waker) {
            return Gate::OwnTransaction;
        }
        if !ledger.gate_waiters.iter().any(|w| w.will_wake(waker)) {
            ledger.gate_waiters.push(waker.clone());
        }
        Gate::Wait
    }

    /// Reserves the session for a transaction begun by the task of `waker`.
    /// Called under the connection's lock, after [`gate`](Self::gate) passed.
    pub(crate) fn reserve(&self, waker: &Waker) -> u64 {
        let mut ledger = self.ledger();
        ledger.next_reservation += 1;
        let id = ledger.next_reservation;
        ledger.reservation = Some(Reservation {
            id,
            task: Some(waker.clone()),
        });
        self.reserved.store(true, Ordering::Release);
        id
    }

    /// Ends reservation `id`; requests waiting for it go ahead.
    pub(crate) fn release(&self, id: u64) {
        let mut ledger = self.ledger();
        if ledger.reservation.as_ref().is_some_and(|r| r.id == id) {
            ledger.reservation = None;
            self.reserved.store(false, Ordering::Release);
            for waker in ledger.gate_waiters.drain(..) {
                waker.wake();
            }
        }
    }

    // ---- owed work -------------------------------------------------------

    /// Records work a dropped guard could not do itself.
    pub(crate) fn owe(&self, work: Owed) {
        let mut ledger = self.ledger();
        ledger.owed.push(work);
        self.owed.store(true, Ordering::Release);
    }

    /// True if work is owed (cheap: no lock).
    #[inline]
    pub(crate) fn has_owed(&self) -> bool {
        self.owed.load(Ordering::Acquire)
    }

    /// Takes the owed work: all of it, or only what is urgent
    /// ([`Owed::is_urgent`]).
    pub(crate) fn take_owed(&self, urgent_only: bool) -> Vec<Owed> {
        if !self.has_owed() {
            return Vec::new();
        }
        let mut ledger = self.ledger();
        let taken = if urgent_only {
            let (urgent, rest) = std::mem::take(&mut ledger.owed)
                .into_iter()
                .partition(Owed::is_urgent);
            ledger.owed = rest;
            urgent
        } else {
            std::mem::take(&mut ledger.owed)
        };
        self.owed.store(!ledger.owed.is_empty(), Ordering::Release);
        taken
    }

    // ---- the fence -------------------------------------------------------

    /// Holds back every write until [`fence_off`](Self::fence_off), for a
    /// cancel request sent on behalf of owner `owner`. False if a fence is
    /// already up.
    pub(crate) fn fence_on(&self, owner: u64) -> bool {
        let mut ledger = self.ledger();
        if self.fence.load(Ordering::Acquire) {
            return false;
        }
        ledger.fence_owner = Some(owner);
        self.fence.store(true, Ordering::Release);
        true
    }

    pub(crate) fn fence_off(&self) {
        let mut ledger = self.ledger();
        ledger.fence_owner = None;
        self.fence.store(false, Ordering::Release);
        ledger.wake_head();
    }

    /// True while writes are held back.
    pub(crate) fn fenced(&self) -> bool {
        self.fence.load(Ordering::Acquire)
    }

    /// The owner holding the fence up, if it is idle in the task of `waker`
    /// (which would then wait for itself).
    pub(crate) fn fence_held_by_idle(&self, waker: &Waker) -> bool {
        let ledger = self.ledger();
        ledger.fence_owner.is_some_and(|f| {
            ledger
                .owners
                .get(f)
                .is_some_and(|o| !o.parked && same_task(o.waker.as_ref(), waker))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&c), Waker::from(c))
    }
    fn woken(c: &Count) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    #[test]
    fn the_next_live_owner_is_woken_when_one_finishes() {
        let book = Book::default();
        let (_, aw) = counter();
        let (b, bw) = counter();
        let (c, cw) = counter();
        book.register(0, 0, &aw, None);
        book.register(1, 2, &bw, None);
        book.register(3, 3, &cw, None);
        book.park(0, &aw);
        assert_eq!(book.turn(1, 0, &bw), Turn::Wait);
        assert_eq!(book.turn(3, 0, &cw), Turn::Wait);
        book.finish(0);
        assert_eq!((woken(&b), woken(&c)), (1, 0));
        book.finish(1);
        assert_eq!(woken(&c), 1);
    }

    #[test]
    fn abandoned_and_unowned_answers_are_drained_by_the_first_live_owner() {
        let book = Book::default();
        let (_, aw) = counter();
        let (b, bw) = counter();
        let (_, cw) = counter();
        book.register(1, 2, &aw, None);
        book.register(3, 3, &bw, None);
        book.register(4, 4, &cw, None);
        // Request 0 is nobody's (an owed command); owner 1 drains it.
        assert_eq!(book.turn(3, 0, &bw), Turn::Wait);
        book.abandon(1, false);
        assert_eq!(woken(&b), 1, "the next live owner takes over");
        assert_eq!(book.turn(3, 0, &bw), Turn::Drain(None));
        assert_eq!(book.turn(3, 1, &bw), Turn::Drain(Some((1, 2))));
        // Only the first live owner drains.
        assert_eq!(book.turn(4, 1, &cw), Turn::Wait);
        book.drained(1);
        assert!(book.only_unwanted(4, 5, Some((4, 4)), false));
        assert!(!book.only_unwanted(3, 5, Some((4, 4)), false));
    }

    #[test]
    fn an_idle_owner_of_the_same_task_is_read_ahead_for() {
        let book = Book::default();
        let (_, task) = counter();
        let (_, other) = counter();
        book.register(0, 0, &task, None);
        book.register(1, 1, &task, None);
        // The first stream was never polled, and its task now waits for
        // the second: read the first one's answers ahead.
        assert_eq!(book.turn(1, 0, &task), Turn::ReadAhead(0, 0));
        // Another task's request waits instead.
        book.register(2, 2, &other, None);
        assert_eq!(book.turn(2, 0, &other), Turn::Wait);
        // A parked owner reads for itself.
        book.park(0, &task);
        assert_eq!(book.turn(1, 0, &task), Turn::Wait);
        book.read_done(0);
        assert_eq!(book.turn(2, 1, &other), Turn::Wait);
    }

    #[test]
    fn an_owner_going_idle_wakes_its_task_for_the_owner_waiting_behind() {
        let book = Book::default();
        let (t, task) = counter();
        book.register(0, 0, &task, None);
        book.register(1, 1, &task, None);
        // The first waits on the socket; the second, same task, waits too.
        book.park(0, &task);
        assert_eq!(book.turn(1, 0, &task), Turn::Wait);
        assert_eq!(woken(&t), 0);
        // The first is polled again (and may return to its caller idle):
        // the task is woken to look at the second again, which now reads
        // ahead.
        book.unpark(0);
        assert_eq!(woken(&t), 1);
        assert_eq!(book.turn(1, 0, &task), Turn::ReadAhead(0, 0));
    }

    #[test]
    fn the_reservation_gates_everyone_else() {
        let book = Book::default();
        let (t, tx_task) = counter();
        let (o, other) = counter();
        assert_eq!(book.gate(None, &other), Gate::Pass);
        let id = book.reserve(&tx_task);
        assert_eq!(book.gate(Some(id), &tx_task), Gate::Pass);
        assert_eq!(book.gate(None, &other), Gate::Wait);
        assert_eq!(book.gate(None, &tx_task), Gate::OwnTransaction);
        assert_eq!(book.gate(Some(id + 1), &other), Gate::Wait);
        book.release(id + 1);
        assert_eq!(woken(&o), 0, "another reservation's end opens nothing");
        book.release(id);
        assert_eq!((woken(&o), woken(&t)), (1, 0));
        assert_eq!(book.gate(None, &other), Gate::Pass);
    }

    #[test]
    fn owed_work_and_the_fence() {
        let book = Book::default();
        assert!(!book.has_owed());
        book.owe(Owed::CloseStatement("s".into()));
        assert!(book.has_owed());
        book.owe(Owed::Sql("ROLLBACK".into()));
        assert_eq!(book.take_owed(true), [Owed::Sql("ROLLBACK".into())]);
        assert!(book.has_owed());
        assert_eq!(book.take_owed(false).len(), 1);
        assert!(!book.has_owed());
        assert!(book.fence_on(3));
        assert!(!book.fence_on(4), "one fence at a time");
        assert!(book.fenced());
        book.fence_off();
        assert!(!book.fenced());
    }

    #[test]
    fn wake_all_reaches_every_waiter() {
        let book = Book::default();
        let (a, aw) = counter();
        let (b, bw) = counter();
        let (c, cw) = counter();
        book.register(0, 0, &aw, None);
        book.register(1, 1, &bw, None);
        let _ = book.reserve(&aw);
        assert_eq!(book.gate(None, &cw), Gate::Wait);
        book.wake_all();
        assert_eq!((woken(&a), woken(&b), woken(&c)), (1, 1, 1));
    }
}
