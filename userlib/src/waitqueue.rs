//! Requests a server holds until it can answer them (a read waiting for data, a send
//! waiting for room), served the way QNX serves blocked clients: highest priority
//! first, then in arrival order. Plain data: the pipe and mqueue servers' host-tested
//! rules use it.

use alloc::vec::Vec;

/// A held request that finished: its ticket (in a server, the held message) and the
/// answer to give it.
#[derive(Debug, PartialEq, Eq)]
pub struct Completion<T, A> {
    /// The request's ticket.
    pub ticket: T,
    /// Its answer.
    pub result: Result<A, crate::Errno>,
}

/// Waiting items, each with its client's priority.
#[derive(Debug)]
pub struct WaitQueue<T> {
    /// (priority, arrival, item).
    items: Vec<(u8, u64, T)>,
    arrivals: u64,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        Self { items: Vec::new(), arrivals: 0 }
    }
}

impl<T> WaitQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `item` for a client of `priority`. (Inlined, as the usual case of
    /// [`WaitQueue::pop_first`] is: a call moved the whole item through memory; `make
    /// bench` pipe_roundtrip_1b 5839 -> 5731.)
    #[inline(always)]
    pub fn push(&mut self, priority: u8, item: T) {
        self.arrivals += 1;
        self.items.push((priority, self.arrivals, item));
    }

    fn best_index(&self) -> Option<usize> {
        (0..self.items.len()).min_by_key(|&i| (core::cmp::Reverse(self.items[i].0), self.items[i].1))
    }

    /// The item to serve first.
    pub fn first_mut(&mut self) -> Option<&mut T> {
        let i = self.best_index()?;
        Some(&mut self.items[i].2)
    }

    /// Takes the item to serve first.
    #[inline(always)]
    pub fn pop_first(&mut self) -> Option<T> {
        if self.items.len() <= 1 {
            return self.items.pop().map(|(_, _, item)| item); // (usually: one waits)
        }
        self.pop_best()
    }

    /// [`WaitQueue::pop_first`] among several.
    fn pop_best(&mut self) -> Option<T> {
        let i = self.best_index()?;
        Some(self.items.remove(i).2)
    }

    /// Takes the first item (in arrival order) that `is` picks.
    pub fn take_where(&mut self, is: impl Fn(&T) -> bool) -> Option<T> {
        let i = self.items.iter().position(|(_, _, item)| is(item))?;
        Some(self.items.remove(i).2)
    }

    /// Takes every item `is` picks, in arrival order.
    pub fn take_all_where(&mut self, is: impl Fn(&T) -> bool) -> Vec<T> {
        let mut taken = Vec::new();
        let mut i = 0;
        while i < self.items.len() {
            if is(&self.items[i].2) {
                taken.push(self.items.remove(i).2);
            } else {
                i += 1;
            }
        }
        taken
    }

    /// Takes every item, in the order they would be served.
    pub fn take_all(&mut self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.items.len());
        while let Some(item) = self.pop_first() {
            all.push(item);
        }
        all
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_priority_first_then_arrival() {
        let mut q = WaitQueue::new();
        for (priority, name) in [(5, "a"), (9, "b"), (5, "c"), (9, "d"), (1, "e")] {
            q.push(priority, name);
        }
        assert_eq!(q.first_mut().map(|n| *n), Some("b"));
        assert_eq!(q.take_where(|n| *n == "c"), Some("c"));
        assert_eq!(q.take_all_where(|n| *n == "e" || *n == "zz"), ["e"]);
        assert_eq!(q.pop_first(), Some("b"));
        assert_eq!(q.take_all(), ["d", "a"]);
        assert!(q.is_empty() && q.pop_first().is_none());
    }
}
