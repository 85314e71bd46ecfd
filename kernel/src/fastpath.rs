//! Fast paths: the common system calls done with less work than the general path
//! ([`System::syscall`]), with the same effects.
//!
//! Each fast path has guard conditions; anything outside them goes to the general path
//! untouched, so the fast paths never have to reproduce its rarer behaviours (errors,
//! queued messages, I/O vectors, timeouts …). Everything here is plain Rust that the
//! host tests run; the arch layer adds only what cannot be Rust: the exception vector
//! answers a `Nop` itself when [`System::quick_nop_allowed`] says so.

use crate::machine::Machine;
use crate::system::System;
use crate::thread::{ThreadId, UserContext};

/// What the return to user space needs to know about the thread it loads, found with
/// one lookup of the thread and one of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnInfo {
    /// The TTBR0 value of its address space.
    pub ttbr0: u64,
    /// Its saved registers.
    pub context: *mut UserContext,
    /// Whether its FP/SIMD registers are the live ones (no trap needed).
    pub owns_fp: bool,
    /// [`System::quick_nop_allowed`] for it.
    pub quick_nop: bool,
}

impl<M: Machine> System<M> {
    /// What the return to user space needs to load `thread`.
    pub fn return_info(&mut self, thread: ThreadId) -> Option<ReturnInfo> {
        let owns_fp = self.fp_owner == Some(thread);
        let t = self.threads.get_mut(thread.0)?;
        let quick_nop = t.timeout.is_none();
        let context: *mut UserContext = &mut *t.context;
        let ttbr0 = self.processes.get(t.process.0)?.space.as_ref()?.ttbr0();
        Some(ReturnInfo { ttbr0, context, owns_fp, quick_nop })
    }

    /// True when `thread`'s next `Nop` may be answered without the full system-call
    /// path (the exception vector does it on the target): the full path would only write
    /// x0 = 0, unless a `TimerTimeout` is armed, which any call uses up.
    pub fn quick_nop_allowed(&self, thread: ThreadId) -> bool {
        self.threads.get(thread.0).is_some_and(|t| t.timeout.is_none())
    }
}

#[cfg(test)]
#[path = "fastpath_tests.rs"]
mod tests;
