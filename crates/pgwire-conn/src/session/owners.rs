//! The ledger's owners by first request id, in a sorted deque rather than
//! a B-tree: owners arrive in id order (ids grow under the connection's
//! lock) and mostly leave from the front (the head of the line finishes),
//! so both ends are O(1), a lookup is a binary search over contiguous
//! memory, and a steady stream of requests allocates nothing.

use std::collections::VecDeque;

#[derive(Debug)]
pub(crate) struct Owners<V> {
    by_first: VecDeque<(u64, V)>,
}

impl<V> Default for Owners<V> {
    fn default() -> Self {
        Owners {
            by_first: VecDeque::new(),
        }
    }
}

impl<V> Owners<V> {
    /// Where `first` is or would go.
    fn search(&self, first: u64) -> Result<usize, usize> {
        // The head of the line is the usual target.
        match self.by_first.front() {
            Some(&(f, _)) if f == first => Ok(0),
            _ => self.by_first.binary_search_by_key(&first, |&(f, _)| f),
        }
    }

    pub(crate) fn insert(&mut self, first: u64, value: V) {
        match self.by_first.back() {
            Some(&(last, _)) if last >= first => match self.search(first) {
                Ok(at) => self.by_first[at].1 = value,
                Err(at) => self.by_first.insert(at, (first, value)),
            },
            _ => self.by_first.push_back((first, value)),
        }
    }

    pub(crate) fn get(&self, first: u64) -> Option<&V> {
        let at = self.search(first).ok()?;
        self.by_first.get(at).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, first: u64) -> Option<&mut V> {
        let at = self.search(first).ok()?;
        self.by_first.get_mut(at).map(|(_, v)| v)
    }

    pub(crate) fn remove(&mut self, first: u64) -> Option<V> {
        let at = self.search(first).ok()?;
        self.by_first.remove(at).map(|(_, v)| v)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.by_first.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.by_first.iter_mut().map(|(_, v)| v)
    }

    /// The owners whose first id is below `id`, in order. Lazy, not a
    /// search: callers look for the first live owner, usually the head.
    pub(crate) fn before(&self, id: u64) -> impl Iterator<Item = &V> {
        self.by_first
            .iter()
            .take_while(move |&&(f, _)| f < id)
            .map(|(_, v)| v)
    }

    /// [`before`](Self::before), mutable.
    pub(crate) fn before_mut(&mut self, id: u64) -> impl Iterator<Item = &mut V> {
        self.by_first
            .iter_mut()
            .take_while(move |(f, _)| *f < id)
            .map(|(_, v)| v)
    }

    /// The owners whose first id is above `id`, in order.
    pub(crate) fn after(&self, id: u64) -> impl Iterator<Item = &V> {
        let start = match self.search(id) {
            Ok(at) => at + 1,
            Err(at) => at,
        };
        self.by_first.range(start..).map(|(_, v)| v)
    }

    /// The last owner whose first id is at most `id`, with that id.
    pub(crate) fn at_or_before(&self, id: u64) -> Option<(u64, &V)> {
        let end = self.by_first.partition_point(|&(f, _)| f <= id);
        let at = end.checked_sub(1)?;
        self.by_first.get(at).map(|(f, v)| (*f, v))
    }
}

#[cfg(test)]
mod tests {
    use super::Owners;

    #[test]
    fn kept_in_id_order_whatever_the_order_of_arrival_and_departure() {
        let mut owners = Owners::default();
        for first in [3, 7, 5, 1, 9] {
            owners.insert(first, first * 10);
        }
        owners.insert(5, 55);
        assert_eq!(
            owners.values().copied().collect::<Vec<_>>(),
            [10, 30, 55, 70, 90]
        );
        assert_eq!(owners.before(5).copied().collect::<Vec<_>>(), [10, 30]);
        assert_eq!(owners.after(5).copied().collect::<Vec<_>>(), [70, 90]);
        assert_eq!(owners.at_or_before(6), Some((5, &55)));
        assert_eq!(owners.at_or_before(0), None);
        assert_eq!(owners.remove(1), Some(10));
        assert_eq!(owners.remove(7), Some(70));
        assert_eq!(owners.remove(7), None);
        assert_eq!(owners.get(3), Some(&30));
        if let Some(v) = owners.get_mut(9) {
            *v = 99;
        }
        for v in owners.before_mut(9) {
            *v += 1;
        }
        assert_eq!(owners.values().copied().collect::<Vec<_>>(), [31, 56, 99]);
        for v in owners.values_mut() {
            *v = 0;
        }
        assert_eq!(owners.values().sum::<u64>(), 0);
    }
}
