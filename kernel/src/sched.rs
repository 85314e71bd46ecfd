//! The ready queues: one FIFO queue per priority (256) plus a bitmap, so picking the
//! highest-priority ready thread, queueing and dequeueing are all O(1).
//!
//! Threads are named by their thread-table slot index (below `handle::MAX_SLOTS`); the
//! links live here, in a side table with one entry per slot (32 KiB), so a thread can be
//! taken out of the middle of its queue (priority change, kill) in constant time and no
//! access needs a bounds check. Policy decisions (who goes to the head or the tail) are the
//! caller's: [`crate::system`] applies POSIX/QNX rules.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

const NONE: u16 = u16::MAX;
/// Number of priorities.
pub const PRIORITIES: usize = 256;

/// A thread slot's place in its queue: 8 bytes (slot indices fit 16 bits), so that
/// finding one is a shift.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(8))]
struct Link {
    prev: u16,
    next: u16,
    priority: u8,
    queued: bool,
}

const UNLINKED: Link = Link { prev: NONE, next: NONE, priority: 0, queued: false };

/// Thread slots: indices are below this (`handle::MAX_SLOTS`).
const SLOTS: usize = crate::handle::MAX_SLOTS;
const _: () = assert!(SLOTS <= NONE as usize, "slot indices must fit a link's 16 bits");
const _: () = assert!(core::mem::size_of::<Link>() == 8);

/// The ready queues.
pub struct ReadyQueues {
    heads: [u16; PRIORITIES],
    tails: [u16; PRIORITIES],
    bitmap: [u64; PRIORITIES / 64],
    /// Bit `w` set when `bitmap[w]` is not zero: the highest priority in two steps.
    words: u32,
    /// One link per thread slot, so that no access needs a bounds check or growth.
    links: Box<[Link; SLOTS]>,
}

impl Default for ReadyQueues {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadyQueues {
    /// Empty queues.
    pub fn new() -> Self {
        let links = vec![UNLINKED; SLOTS].into_boxed_slice().try_into().expect("SLOTS links");
        Self { heads: [NONE; PRIORITIES], tails: [NONE; PRIORITIES], bitmap: [0; 4], words: 0, links }
    }

    /// The link of thread slot `index` (below [`SLOTS`]; the mask keeps any other value
    /// in range rather than panicking).
    fn link(&mut self, index: usize) -> &mut Link {
        debug_assert!(index < SLOTS, "thread slot {index} out of range");
        &mut self.links[index & (SLOTS - 1)]
    }

    /// True when thread `index` is queued.
    pub fn contains(&self, index: usize) -> bool {
        index < SLOTS && self.links[index].queued
    }

    /// Queues thread `index` at the tail of `priority` (after its equals).
    #[inline(always)]
    pub fn push_back(&mut self, index: usize, priority: u8) {
        self.remove(index);
        self.push_back_unqueued(index, priority);
    }

    /// [`push_back`](Self::push_back) of a thread known not to be queued (one just woken
    /// from a blocked state, or the running one): nothing to take out first.
    #[inline(always)]
    pub fn push_back_unqueued(&mut self, index: usize, priority: u8) {
        debug_assert!(!self.contains(index), "thread slot {index} is queued already");
        let p = priority as usize;
        let tail = self.tails[p];
        *self.link(index) = Link { prev: tail, next: NONE, priority, queued: true };
        if tail == NONE {
            self.heads[p] = index as u16;
        } else {
            // A queued thread's link exists.
            self.link(tail as usize).next = index as u16;
        }
        self.tails[p] = index as u16;
        self.mark(p);
    }

    /// Queues thread `index` at the head of `priority` (before its equals): where a
    /// preempted thread goes.
    pub fn push_front(&mut self, index: usize, priority: u8) {
        self.remove(index);
        self.push_front_unqueued(index, priority);
    }

    /// [`push_front`](Self::push_front) of a thread known not to be queued (the running
    /// one, preempted): nothing to take out first.
    #[inline(always)]
    pub fn push_front_unqueued(&mut self, index: usize, priority: u8) {
        debug_assert!(!self.contains(index), "thread slot {index} is queued already");
        let p = priority as usize;
        let head = self.heads[p];
        *self.link(index) = Link { prev: NONE, next: head, priority, queued: true };
        if head == NONE {
            self.tails[p] = index as u16;
        } else {
            self.link(head as usize).prev = index as u16;
        }
        self.heads[p] = index as u16;
        self.mark(p);
    }

    /// Records that priority `p` has a queued thread.
    fn mark(&mut self, p: usize) {
        self.bitmap[p / 64] |= 1 << (p % 64);
        self.words |= 1 << (p / 64);
    }

    /// Takes thread `index` out of its queue (no effect if it is not queued).
    pub fn remove(&mut self, index: usize) {
        if !self.contains(index) {
            return;
        }
        let Link { prev, next, priority, .. } = *self.link(index);
        let p = priority as usize;
        if prev == NONE {
            self.heads[p] = next;
        } else {
            self.link(prev as usize).next = next;
        }
        if next == NONE {
            self.tails[p] = prev;
        } else {
            self.link(next as usize).prev = prev;
        }
        *self.link(index) = UNLINKED;
        if self.heads[p] == NONE {
            self.bitmap[p / 64] &= !(1 << (p % 64));
            if self.bitmap[p / 64] == 0 {
                self.words &= !(1 << (p / 64));
            }
        }
    }

    /// The highest priority with a ready thread.
    pub fn highest_priority(&self) -> Option<u8> {
        if self.words == 0 {
            return None;
        }
        let w = 31 - self.words.leading_zeros() as usize;
        let bits = self.bitmap[w & 3];
        Some((w * 64 + 63 - bits.leading_zeros() as usize) as u8)
    }

    /// The first thread of the highest priority, without dequeueing it.
    pub fn peek(&self) -> Option<(usize, u8)> {
        let p = self.highest_priority()?;
        Some((self.heads[p as usize] as usize, p))
    }

    /// Dequeues the first thread of `priority` (what `remove` does for it, knowing it
    /// is first), if one is queued there.
    #[inline(always)]
    pub fn take_first(&mut self, priority: u8) -> Option<usize> {
        let p = priority as usize;
        let head = self.heads[p];
        if head == NONE {
            return None;
        }
        let next = self.link(head as usize).next;
        *self.link(head as usize) = UNLINKED;
        self.heads[p] = next;
        if next == NONE {
            self.tails[p] = NONE;
            self.bitmap[p / 64] &= !(1 << (p % 64));
            if self.bitmap[p / 64] == 0 {
                self.words &= !(1 << (p / 64));
            }
        } else {
            self.link(next as usize).prev = NONE;
        }
        Some(head as usize)
    }

    /// Dequeues the first thread of the highest priority.
    pub fn pop(&mut self) -> Option<(usize, u8)> {
        let priority = self.highest_priority()?;
        self.take_first(priority).map(|index| (index, priority))
    }

    /// Queues thread `index` (not queued) at the tail of `priority` and dequeues the
    /// first thread of `priority`, returning it: `push_back` then taking the first, in one
    /// step that leaves the bitmap alone (the queue is never empty in between). `None`,
    /// and nothing changed, if no thread of `priority` is queued or `index` is.
    #[inline(always)]
    pub fn rotate(&mut self, index: usize, priority: u8) -> Option<usize> {
        let p = priority as usize;
        let head = self.heads[p];
        if head == NONE || self.contains(index) {
            return None;
        }
        let after = self.link(head as usize).next;
        *self.link(head as usize) = UNLINKED;
        let tail = if after == NONE { NONE } else { self.tails[p] };
        if after == NONE {
            self.heads[p] = index as u16;
        } else {
            self.link(after as usize).prev = NONE;
            self.heads[p] = after;
            self.link(tail as usize).next = index as u16;
        }
        *self.link(index) = Link { prev: tail, next: NONE, priority, queued: true };
        self.tails[p] = index as u16;
        Some(head as usize)
    }

    /// Threads queued at `priority`, first to last (for tests and introspection).
    pub fn queue(&self, priority: u8) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.heads[priority as usize];
        while at != NONE {
            out.push(at as usize);
            at = self.links[at as usize & (SLOTS - 1)].next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_priority_first_fifo_within() {
        let mut q = ReadyQueues::new();
        q.push_back(1, 10);
        q.push_back(2, 200);
        q.push_back(3, 10);
        q.push_back(4, 200);
        q.push_back(5, 0);
        assert_eq!(q.pop(), Some((2, 200)));
        assert_eq!(q.pop(), Some((4, 200)));
        assert_eq!(q.pop(), Some((1, 10)));
        assert_eq!(q.pop(), Some((3, 10)));
        assert_eq!(q.pop(), Some((5, 0)));
        assert_eq!(q.pop(), None);
        assert_eq!(q.highest_priority(), None);
    }

    #[test]
    fn preempted_thread_goes_first_yielding_thread_last() {
        let mut q = ReadyQueues::new();
        q.push_back(1, 50);
        q.push_back(2, 50);
        q.push_front(3, 50); // preempted: resumes before its equals
        assert_eq!(q.queue(50), vec![3, 1, 2]);
        q.push_back(3, 50); // re-queue moves it
        assert_eq!(q.queue(50), vec![1, 2, 3]);
    }

    #[test]
    fn removal_from_the_middle_and_requeue_at_new_priority() {
        let mut q = ReadyQueues::new();
        for i in 0..5 {
            q.push_back(i, 7);
        }
        q.remove(2);
        q.remove(0);
        q.remove(4);
        q.remove(4); // not queued: no effect
        assert_eq!(q.queue(7), vec![1, 3]);
        q.push_back(3, 255);
        assert_eq!(q.peek(), Some((3, 255)));
        assert!(q.contains(1) && !q.contains(2));
        q.remove(3);
        q.remove(1);
        assert_eq!(q.highest_priority(), None);
        assert!(q.queue(7).is_empty());
    }

    #[test]
    fn rotation_is_push_back_then_taking_the_first() {
        let mut q = ReadyQueues::new();
        assert_eq!(q.rotate(1, 9), None, "nothing queued at 9");
        q.push_back(2, 9);
        assert_eq!(q.rotate(2, 9), None, "the thread is queued already");
        assert_eq!(q.rotate(1, 9), Some(2), "one queued: the two swap");
        assert_eq!((q.queue(9), q.peek()), (vec![1], Some((1, 9))));
        assert!(!q.contains(2));
        q.push_back(3, 9);
        q.push_back(4, 9);
        q.push_back(5, 4);
        assert_eq!(q.rotate(2, 9), Some(1));
        assert_eq!(q.queue(9), vec![3, 4, 2]);
        q.remove(2);
        assert_eq!(q.queue(9), vec![3, 4], "the links stay consistent");
        for _ in 0..2 {
            q.pop();
        }
        assert_eq!(q.peek(), Some((5, 4)), "the bitmap followed");
    }

    #[test]
    fn taking_the_first_is_removing_it() {
        let mut q = ReadyQueues::new();
        assert_eq!(q.take_first(7), None);
        for i in 1..=3 {
            q.push_back(i, 7);
        }
        q.push_back(4, 3);
        assert_eq!(q.take_first(7), Some(1));
        assert_eq!(q.queue(7), vec![2, 3]);
        assert!(!q.contains(1));
        q.push_front(1, 7);
        assert_eq!(q.queue(7), vec![1, 2, 3], "the links stay consistent");
        for first in [1, 2, 3] {
            assert_eq!(q.take_first(7), Some(first));
        }
        assert_eq!(q.peek(), Some((4, 3)), "the bitmap followed");
        q.remove(4);
        assert_eq!(q.highest_priority(), None);
    }

    #[test]
    fn bitmap_covers_all_256_levels() {
        let mut q = ReadyQueues::new();
        for p in [0u8, 63, 64, 127, 128, 191, 192, 255] {
            q.push_back(p as usize, p);
        }
        let order: Vec<_> = core::iter::from_fn(|| q.pop().map(|(_, p)| p)).collect();
        assert_eq!(order, vec![255, 192, 191, 128, 127, 64, 63, 0]);
    }
}
