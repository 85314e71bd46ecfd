//! Who holds the CPU's FP/SIMD registers, and when they change hands: the policy of
//! FP/SIMD context switching, as plain Rust (the arch layer does the saving and loading).
//!
//! Switching is lazy: a thread that has not touched FP/SIMD since it was switched to
//! runs with FP/SIMD trapped, and its first use traps and takes the registers over
//! ([`System::fp_trap`]). That costs nothing for threads that never use them, but a
//! whole exception for those that do, and Rust code uses them constantly (any copy or
//! zeroing of 16 bytes or more uses SIMD registers). So a thread that trapped is handed
//! the registers eagerly, when it is switched to ([`System::fp_handover`]), for its
//! next [`EAGER_SWITCHES`] switches; each trap renews that. A thread that stops using
//! FP/SIMD costs at most that many needless hand-overs; one that keeps using them traps
//! once per `EAGER_SWITCHES + 1` switches.

use crate::machine::Machine;
use crate::system::System;
use crate::thread::{Thread, ThreadId, UserContext};

/// How many switches to a thread hand it the FP/SIMD registers eagerly after it trapped
/// for them.
pub const EAGER_SWITCHES: u8 = 32;

/// What the return to a thread does about the FP/SIMD registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FpOnReturn {
    /// They are its own already: FP/SIMD runs untrapped.
    Live,
    /// It has been using them: hand them over now ([`System::fp_handover`]).
    HandOver,
    /// Trap its first use ([`System::fp_trap`]).
    Trap,
}

impl FpOnReturn {
    /// For `thread` (`t`), when `owner` holds the registers.
    #[inline(always)]
    pub fn of(owner: Option<ThreadId>, thread: ThreadId, t: &Thread) -> Self {
        if owner == Some(thread) {
            Self::Live
        } else if t.fp_eager_switches != 0 {
            Self::HandOver
        } else {
            Self::Trap
        }
    }
}

/// A change of FP/SIMD owner for the arch layer to carry out: save the live registers
/// into `save` (the previous owner's context, if any), then load `load`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FpHandover {
    /// Where the live registers go (`None`: no thread owns them).
    pub save: Option<*mut UserContext>,
    /// Whose registers to load (the new owner, now `System::fp_owner`).
    pub load: *mut UserContext,
}

impl<M: Machine> System<M> {
    /// The current thread trapped on an FP/SIMD instruction: it becomes the owner (and
    /// gets the registers eagerly for a while). `None` if there is no current thread.
    pub fn fp_trap(&mut self) -> Option<FpHandover> {
        let cur = self.current?;
        let handover = self.hand_fp_to(cur)?;
        if let Some(t) = self.threads.get_mut(cur.0) {
            t.fp_eager_switches = EAGER_SWITCHES;
        }
        Some(handover)
    }

    /// `thread` is about to run without owning the FP/SIMD registers: if it used them
    /// recently, it becomes the owner now (one of its eager switches is used up).
    /// `None`: it runs with FP/SIMD trapped.
    pub fn fp_handover(&mut self, thread: ThreadId) -> Option<FpHandover> {
        let t = self.threads.get_mut(thread.0)?;
        if t.fp_eager_switches == 0 || self.fp_owner == Some(thread) {
            return None;
        }
        t.fp_eager_switches -= 1;
        self.hand_fp_to(thread)
    }

    fn hand_fp_to(&mut self, thread: ThreadId) -> Option<FpHandover> {
        let previous = self.fp_owner.filter(|o| *o != thread);
        let save = previous.and_then(|o| self.threads.get_mut(o.0)).map(|t| &mut *t.context as *mut UserContext);
        let load = &mut *self.threads.get_mut(thread.0)?.context as *mut UserContext;
        self.fp_owner = Some(thread);
        Some(FpHandover { save, load })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::system;

    #[test]
    fn a_thread_that_traps_gets_the_registers_eagerly_for_a_while() {
        let mut s = system();
        let a = s.spawn("init", b"", None, None, false).unwrap();
        let b = s.spawn("init", b"", None, None, false).unwrap();
        let (a, b) = (s.thread_of(a, 1).unwrap(), s.thread_of(b, 1).unwrap());
        // Never trapped: lazy.
        assert_eq!(s.fp_handover(a), None);
        s.current = Some(a);
        let first = s.fp_trap().unwrap();
        assert_eq!(first.save, None, "nobody owned the registers");
        assert_eq!(s.fp_owner, Some(a));
        // b traps: a's registers are saved into a's context.
        s.current = Some(b);
        let second = s.fp_trap().unwrap();
        assert_eq!(second.save, Some(first.load));
        assert_eq!(s.fp_owner, Some(b));
        // Switching back to a hands them over eagerly, EAGER_SWITCHES times.
        for _ in 0..EAGER_SWITCHES {
            let h = s.fp_handover(a).expect("eager");
            assert_eq!(h.load, first.load);
            assert_eq!(s.fp_owner, Some(a));
            assert_eq!(s.fp_handover(a), None, "the owner needs nothing");
            s.fp_owner = Some(b);
        }
        assert_eq!(s.fp_handover(a), None, "then lazy again until it traps");
        assert_eq!(s.fp_owner, Some(b));
    }
}
