//! Whose answer the server sends next, when several tasks share a connection.
//!
//! Requests go out back to back (pipelined) and PostgreSQL answers them in
//! order, so each task reads the socket only once every earlier request has
//! been answered. A task registers the range of request ids it queued and
//! parks its waker here while an earlier owner reads; the owner that
//! finishes wakes the next one. This table sits behind a plain mutex (not
//! the connection's async lock) because `Drop` must be able to give up a
//! turn synchronously: a dropped task's answers are then drained by the
//! next owner in line, or by the next query when there is none.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::Waker;

#[derive(Debug, Default)]
pub(crate) struct Turns {
    owners: Mutex<BTreeMap<u64, Owner>>,
    /// A reader was asked to send queued requests and has not yet: later
    /// requests need not wake it again.
    flush_wanted: AtomicBool,
}

#[derive(Debug)]
struct Owner {
    /// The last request id of the owner's range (inclusive).
    last: u64,
    /// Where to wake the owner once it may read (or must flush).
    waker: Option<Waker>,
    /// The owner was dropped: whoever reads next discards its answers.
    abandoned: bool,
}

/// Who answers request `id`, as seen by the next reader.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A live task (other than the asker) that will read it itself.
    Live,
    /// Nobody: an abandoned task's request, or a command queued on a
    /// dropped guard's behalf. The next reader drains it.
    Nobody,
}

impl Turns {
    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Owner>> {
        // A panic elsewhere while holding this lock leaves the table
        // consistent (every update is a single map operation).
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that requests `first..=last` are answered to one task.
    pub(crate) fn register(&self, first: u64, last: u64) {
        self.table().insert(
            first,
            Owner {
                last,
                waker: None,
                abandoned: false,
            },
        );
    }

    /// Who reads the answer to request `id`.
    #[cfg(test)]
    pub(crate) fn holder(&self, id: u64) -> Holder {
        match self.table().range(..=id).next_back() {
            Some((_, owner)) if owner.last >= id && !owner.abandoned => Holder::Live,
            _ => Holder::Nobody,
        }
    }

    /// Parks the owner of `first` until [`finish`](Self::finish) or
    /// [`abandon`](Self::abandon) of an earlier owner wakes it, if a live
    /// owner comes before it; otherwise returns false: the caller is first
    /// in line and drains whatever earlier answers nobody will read.
    ///
    /// Only the first live owner ever drains, so only one task waits on
    /// the socket at a time: runtimes keep one waker per direction, and a
    /// second reader would silently take the first one's wake-up. One
    /// critical section, so a wake-up cannot slip between check and park.
    pub(crate) fn park_behind(&self, first: u64, waker: &Waker) -> bool {
        let mut table = self.table();
        let behind = table.range(..first).any(|(_, owner)| !owner.abandoned);
        if behind {
            set_waker(&mut table, first, waker);
        }
        behind
    }

    /// Leaves a waker for the owner of `first` while it waits on the socket,
    /// so that a task whose write could not finish can nudge it to flush.
    pub(crate) fn park(&self, first: u64, waker: &Waker) {
        set_waker(&mut self.table(), first, waker);
    }

    /// The owner of `first` read its last answer: it leaves the table and
    /// the next live owner may read.
    pub(crate) fn finish(&self, first: u64) {
        let mut table = self.table();
        table.remove(&first);
        wake_first_live(&table);
    }

    /// A drained request `id` was the last of an abandoned owner's range.
    pub(crate) fn drained(&self, id: u64) {
        let mut table = self.table();
        let done = match table.range(..=id).next_back() {
            Some((&first, owner)) if owner.last == id && owner.abandoned => Some(first),
            _ => None,
        };
        if let Some(first) = done {
            table.remove(&first);
        }
    }

    /// The owner of `first` was dropped before its last answer: the next
    /// live owner takes over reading (and discards these answers).
    pub(crate) fn abandon(&self, first: u64) {
        let mut table = self.table();
        if let Some(owner) = table.get_mut(&first) {
            owner.abandoned = true;
            owner.waker = None;
        }
        wake_first_live(&table);
    }

    /// Wakes the live owner whose answers come first: after a write that
    /// could not finish (it must flush the rest) or when an earlier owner
    /// left.
    pub(crate) fn wake_head(&self) {
        wake_first_live(&self.table());
    }

    /// If a live owner's answers come before `first`, wakes the first of
    /// them and returns true: that task flushes our request together with
    /// whatever else was queued by the time it runs, one write for many.
    pub(crate) fn wake_reader_before(&self, first: u64) -> bool {
        let table = self.table();
        match table.range(..first).find(|(_, o)| !o.abandoned) {
            Some((_, owner)) => {
                if !self.flush_wanted.swap(true, Ordering::AcqRel) {
                    if let Some(waker) = &owner.waker {
                        waker.wake_by_ref();
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Everything queued has been sent. Called under the connection's lock,
    /// as requests are queued, so no request is queued unseen in between.
    pub(crate) fn flushed(&self) {
        self.flush_wanted.store(false, Ordering::Release);
    }

    /// Wakes everyone: the connection died, and each waiter must see it.
    pub(crate) fn wake_all(&self) {
        for owner in self.table().values_mut() {
            if let Some(waker) = owner.waker.take() {
                waker.wake();
            }
        }
    }
}

fn set_waker(table: &mut BTreeMap<u64, Owner>, first: u64, waker: &Waker) {
    if let Some(owner) = table.get_mut(&first) {
        match &mut owner.waker {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }
}

fn wake_first_live(table: &BTreeMap<u64, Owner>) {
    if let Some(owner) = table.values().find(|o| !o.abandoned) {
        if let Some(waker) = &owner.waker {
            waker.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
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
        let turns = Turns::default();
        turns.register(0, 0);
        turns.register(1, 2);
        turns.register(3, 3);
        let (b, bw) = counter();
        let (c, cw) = counter();
        assert!(turns.park_behind(1, &bw));
        assert!(turns.park_behind(3, &cw));
        turns.finish(0);
        assert_eq!((woken(&b), woken(&c)), (1, 0));
        assert_eq!(turns.holder(2), Holder::Live);
        turns.finish(1);
        assert_eq!(woken(&c), 1);
    }

    #[test]
    fn abandoned_answers_have_no_holder_and_the_next_owner_takes_over() {
        let turns = Turns::default();
        turns.register(0, 1);
        turns.register(2, 2);
        let (b, bw) = counter();
        assert!(turns.park_behind(2, &bw));
        turns.abandon(0);
        assert_eq!(woken(&b), 1);
        assert_eq!(turns.holder(0), Holder::Nobody);
        assert_eq!(turns.holder(1), Holder::Nobody);
        assert!(!turns.park_behind(2, &bw));
        turns.drained(0);
        assert_eq!(turns.holder(1), Holder::Nobody);
        turns.drained(1);
        // The abandoned range is gone; request 2 is still owned.
        assert_eq!(turns.holder(2), Holder::Live);
        assert_eq!(turns.table().len(), 1);
    }

    #[test]
    fn requests_nobody_registered_have_no_holder() {
        let turns = Turns::default();
        turns.register(5, 5);
        assert_eq!(turns.holder(4), Holder::Nobody);
        assert_eq!(turns.holder(6), Holder::Nobody);
        let (a, aw) = counter();
        assert!(!turns.park_behind(5, &aw));
        turns.wake_all();
        assert_eq!(woken(&a), 0);
    }

    #[test]
    fn wake_all_reaches_every_parked_owner() {
        let turns = Turns::default();
        turns.register(0, 0);
        turns.register(1, 1);
        turns.register(2, 2);
        let (b, bw) = counter();
        let (c, cw) = counter();
        turns.park(1, &bw);
        turns.park(2, &cw);
        turns.wake_all();
        assert_eq!((woken(&b), woken(&c)), (1, 1));
    }
}
