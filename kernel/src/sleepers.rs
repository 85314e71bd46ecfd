//! The kernel's timer list: threads sleeping, and blocking calls bounded by
//! `TimerTimeout`, each with the time it must be woken.
//!
//! A thread has one entry at most (a new one replaces what an earlier call left). The
//! entries are kept in time order, so the clock interrupt finds those due and the earliest
//! wake-up without looking at the others, and a bit per thread slot says whether a thread
//! has one, so that the message fast paths, which end any bounded wait of the threads they
//! wake, pay a bit test for the many threads without one rather than a walk of the list.
//!
//! The list also remembers whether it changed since the arch layer last asked for the
//! earliest wake-up ([`Sleepers::take_changed`]), so the return to user space, which
//! runs after every system call, does not look at it (nor at the user timers) when
//! nothing moved. Every mutation goes through this type, so no caller can forget to say
//! so; user timers, which live elsewhere, report their changes with [`Sleepers::touch`].

use crate::handle::MAX_SLOTS;
use crate::thread::ThreadId;
use alloc::collections::{BTreeMap, BTreeSet};

/// Why a thread is on the timer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// It sleeps until then.
    Sleep,
    /// Its blocking call fails with ETIMEDOUT then (`TimerTimeout`) if it is still in one
    /// of these states (`abi::syscall::timeout_states` bits): a bound on SEND does not
    /// end the REPLY wait that follows.
    Timeout(u32),
}

/// The timer list.
#[derive(Debug)]
pub(crate) struct Sleepers {
    /// (wake-up time, thread), earliest first.
    by_time: BTreeSet<(u64, ThreadId)>,
    /// Each listed thread's wake-up time and why.
    entries: BTreeMap<ThreadId, (u64, Wake)>,
    /// Bit `i` set when the thread in slot `i` has an entry.
    listed: [u64; MAX_SLOTS / 64],
    /// Set by every change that may move the earliest wake-up; cleared by `take_changed`.
    changed: bool,
}

impl Default for Sleepers {
    fn default() -> Self {
        Self::new()
    }
}

impl Sleepers {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self { by_time: BTreeSet::new(), entries: BTreeMap::new(), listed: [0; MAX_SLOTS / 64], changed: false }
    }

    /// Lists `thread`, to be woken at `at` for `why`, in place of any entry it had.
    pub(crate) fn push(&mut self, at: u64, thread: ThreadId, why: Wake) {
        self.remove_listed(thread);
        self.by_time.insert((at, thread));
        self.entries.insert(thread, (at, why));
        let i = thread.index();
        self.listed[i / 64] |= 1 << (i % 64);
        self.changed = true;
    }

    /// Takes `thread` off the list, if it is there.
    #[inline(always)]
    pub(crate) fn remove_thread(&mut self, thread: ThreadId) {
        let i = thread.index();
        // (An empty list, the common case, is told by one load: the bit costs more.)
        if !self.entries.is_empty() && self.listed[(i / 64) % (MAX_SLOTS / 64)] & (1 << (i % 64)) != 0 {
            self.remove_listed(thread);
        }
    }

    /// [`remove_thread`](Self::remove_thread) once the bit said it may be listed.
    #[inline(never)]
    fn remove_listed(&mut self, thread: ThreadId) {
        if let Some((at, _)) = self.entries.remove(&thread) {
            self.by_time.remove(&(at, thread));
            let i = thread.index();
            self.listed[i / 64] &= !(1 << (i % 64));
            self.changed = true;
        }
    }

    /// `thread`'s entry: when it is woken, and why.
    pub(crate) fn of(&self, thread: ThreadId) -> Option<(u64, Wake)> {
        self.entries.get(&thread).copied()
    }

    /// The entries due at `now` (woken at or before it), earliest first.
    pub(crate) fn due(&self, now: u64) -> impl Iterator<Item = (u64, ThreadId, Wake)> + '_ {
        self.by_time.range(..=(now, ThreadId(u32::MAX))).filter_map(|&(at, t)| Some((at, t, self.entries.get(&t)?.1)))
    }

    /// Every entry, earliest first.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, ThreadId, Wake)> + '_ {
        self.due(u64::MAX)
    }

    /// The earliest wake-up on the list.
    pub(crate) fn earliest(&self) -> Option<u64> {
        self.by_time.first().map(|&(at, _)| at)
    }

    /// Records that something else deciding the next wake-up (a user timer) changed.
    pub(crate) fn touch(&mut self) {
        self.changed = true;
    }

    /// True (once) if the next wake-up may have changed since the last call.
    pub(crate) fn take_changed(&mut self) -> bool {
        core::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn every_change_is_reported_once_and_no_op_removals_are_not() {
        let mut s = Sleepers::new();
        assert!(!s.take_changed());
        s.push(50, ThreadId(1), Wake::Sleep);
        s.push(20, ThreadId(2), Wake::Timeout(1));
        assert!(s.take_changed());
        assert!(!s.take_changed(), "reported once");
        assert_eq!(s.earliest(), Some(20));
        s.remove_thread(ThreadId(9));
        assert!(!s.take_changed(), "nothing removed: no change");
        s.remove_thread(ThreadId(2));
        assert!(s.take_changed());
        assert_eq!(s.earliest(), Some(50));
        s.remove_thread(ThreadId(1));
        assert!(s.take_changed());
        assert_eq!(s.earliest(), None);
        s.touch();
        assert!(s.take_changed());
    }

    #[test]
    fn entries_come_due_in_time_order_and_a_new_one_replaces_a_threads_old_one() {
        let mut s = Sleepers::new();
        s.push(30, ThreadId(3), Wake::Sleep);
        s.push(10, ThreadId(1), Wake::Timeout(4));
        s.push(20, ThreadId(2), Wake::Sleep);
        s.push(20, ThreadId(4), Wake::Sleep);
        let due: Vec<_> = s.due(20).map(|(at, t, _)| (at, t.0)).collect();
        assert_eq!(due, [(10, 1), (20, 2), (20, 4)]);
        assert_eq!(s.due(9).count(), 0);
        // Thread 1's next call replaces what its last one left.
        s.push(40, ThreadId(1), Wake::Sleep);
        assert_eq!(s.of(ThreadId(1)), Some((40, Wake::Sleep)));
        assert_eq!(s.iter().map(|(at, t, _)| (at, t.0)).collect::<Vec<_>>(), [(20, 2), (20, 4), (30, 3), (40, 1)]);
        assert_eq!(s.earliest(), Some(20));
        // Another generation of the same slot is another thread, and the slot's bit goes
        // with its entry.
        let slot_again = ThreadId(1 | (1 << crate::handle::INDEX_BITS));
        s.remove_thread(slot_again);
        assert_eq!(s.of(ThreadId(1)), Some((40, Wake::Sleep)));
        s.remove_thread(ThreadId(1));
        assert_eq!(s.of(ThreadId(1)), None);
        s.push(u64::MAX, slot_again, Wake::Sleep);
        assert_eq!(s.due(u64::MAX).last().map(|(at, t, _)| (at, t)), Some((u64::MAX, slot_again)));
    }
}
