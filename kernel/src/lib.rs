//! # Muon: the kernel
//!
//! Muon is a QNX-Neutrino-style microkernel for the ARM Cortex-A53. This crate is the
//! kernel as a library; each board under `boards/` is a small binary that describes its
//! machine (a [`platform::Board`]) and calls [`boot::start`].
//!
//! ## How the code is organised
//!
//! The line that matters most: **plain logic** versus **hardware**.
//!
//! * Plain logic builds and is tested on the host with `cargo test`:
//!   [`mem::memmap`] (RAM and reservations), [`mem::devicetree`] (DTB → memory map),
//!   [`mem::frame`] (the buddy frame allocator), [`mem::paging`] (translation-table
//!   builder), [`irq`] (interrupt routing), [`time`] (clock conversions and the
//!   timer's deadlines), and [`arch::aarch64::esr`] (fault syndromes in words).
//! * Hardware is touched only in `arch::aarch64` (boot assembly, vectors, MMU, timer,
//!   semihosting) and in the board crates with their drivers (`muon-drivers`). The
//!   orchestration that ties them together — [`boot`], [`interrupts`], [`console`],
//!   [`percpu`], and the in-kernel tests in [`ktest`] — builds for the target only.
//!
//! ## Where to start reading
//!
//! 1. `arch/aarch64/boot.S`: the first instructions, down to EL1 and into the high half.
//! 2. [`boot::start`]: the rest of the boot, in order.
//! 3. [`mem::layout`]: where everything lives in the address space.
//! 4. [`interrupts`] and `arch/aarch64/exception.rs`: how an interrupt or fault is taken.
//!
//! `docs/architecture.md` tells the same story at more length.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod arch;
pub mod events;
pub mod fastpath;
pub mod fpswitch;
pub mod handle;
pub mod ipc;
pub mod irq;
pub mod machine;
pub mod mem;
pub mod memobject;
pub mod platform;
pub mod process;
pub mod procmgr;
pub mod reclaim;
pub mod sched;
pub(crate) mod sleepers;
pub mod system;
pub mod thread;
pub mod time;
pub mod transfer;

#[cfg(test)]
mod abi_fuzz_tests;
#[cfg(test)]
mod memory_fuzz_tests;
#[cfg(test)]
mod testing;

#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod interrupts;
#[cfg(feature = "ktest")]
#[cfg(target_os = "none")]
pub mod ktest;
#[cfg(target_os = "none")]
pub mod percpu;
#[cfg(target_os = "none")]
pub mod run;

#[cfg(target_os = "none")]
pub use boot::start;

/// Exit code the machine stops with after a kernel panic outside the tests.
#[cfg(target_os = "none")]
pub const PANIC_EXIT_CODE: u32 = 4;

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    arch::disable_irqs();
    #[cfg(feature = "ktest")]
    ktest::fail_after_panic(&info.message());
    console::emergency(format_args!("\n*** KERNEL PANIC on CPU {}: {}\n", arch::cpu_id(), info));
    arch::semihosting::exit(PANIC_EXIT_CODE)
}
