//! The kernel's timer list: threads sleeping, and blocking calls bounded by
//! `TimerTimeout`, each with the time it must be woken.
//!
//! The list also remembers whether it changed since the arch layer last asked for the
//! earliest wake-up ([`Sleepers::take_changed`]), so the return to user space, which
//! runs after every system call, does not scan it (nor the user timers) when nothing
//! moved. Every mutation goes through this type, so no caller can forget to say so;
//! user timers, which live elsewhere, report their changes with [`Sleepers::touch`].

use crate::thread::ThreadId;
use alloc::vec::Vec;

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

/// The timer list: (wake-up time in ns, thread, why).
#[derive(Debug, Default)]
pub(crate) struct Sleepers {
    list: Vec<(u64, ThreadId, Wake)>,
    /// Set by every change that may move the earliest wake-up; cleared by `take_changed`.
    changed: bool,
}

impl Sleepers {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self { list: Vec::new(), changed: false }
    }

    /// Adds `thread`, to be woken at `at` for `why`.
    pub(crate) fn push(&mut self, at: u64, thread: ThreadId, why: Wake) {
        self.list.push((at, thread, why));
        self.changed = true;
    }

    /// Keeps only the entries `keep` accepts; a change only if one went.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&(u64, ThreadId, Wake)) -> bool) {
        let before = self.list.len();
        self.list.retain(|e| keep(e));
        if self.list.len() != before {
            self.changed = true;
        }
    }

    /// Takes `thread` off the list (any reason).
    #[inline(always)]
    pub(crate) fn remove_thread(&mut self, thread: ThreadId) {
        if !self.list.is_empty() {
            self.retain(|(_, t, _)| *t != thread);
        }
    }

    /// The entries, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(u64, ThreadId, Wake)> {
        self.list.iter()
    }

    /// The earliest wake-up on the list.
    pub(crate) fn earliest(&self) -> Option<u64> {
        self.list.iter().map(|(at, _, _)| *at).min()
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
        s.retain(|(_, _, w)| *w != Wake::Sleep);
        assert!(s.take_changed());
        assert_eq!(s.earliest(), None);
        s.touch();
        assert!(s.take_changed());
    }
}
