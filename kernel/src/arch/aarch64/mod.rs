//! The AArch64 half of the kernel: boot entry, exception vectors and fault reports,
//! the MMU and TLB, the generic timer, semihosting, message copies, and small CPU helpers.
//!
//! Only `esr` (syndrome decoding) is plain logic and builds on the host; everything
//! else runs on the target only.

pub mod esr;

#[cfg(target_os = "none")]
pub mod copy;
#[cfg(target_os = "none")]
mod cpu;
#[cfg(target_os = "none")]
pub mod exception;
#[cfg(target_os = "none")]
pub mod mmu;
#[cfg(target_os = "none")]
pub mod pmu;
#[cfg(target_os = "none")]
pub mod semihosting;
#[cfg(target_os = "none")]
pub mod timer;

#[cfg(target_os = "none")]
pub use cpu::*;

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("boot.S"), include_str!("vectors.S"), include_str!("copy.S"));
