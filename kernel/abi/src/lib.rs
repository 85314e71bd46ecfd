//! Muon's kernel ABI, shared by the kernel, `userlib` and the host tools so they cannot
//! drift apart.
//!
//! * [`Errno`]: error numbers (QNX/POSIX numbering).
//! * [`Sysno`] and [`syscall`]: system-call numbers and the one place that turns a call
//!   into registers and back.
//! * [`sched`], [`info`]: layouts passed through system calls.
//! * [`bootimage`]: the boot image (Muon's IFS) format and its parser.

#![no_std]
#![forbid(unsafe_code)]

pub mod bootimage;
pub mod errno;
pub mod info;
pub mod ipc;
pub mod sched;
pub mod syscall;

pub use errno::Errno;
pub use syscall::Sysno;

/// First address user programs are linked at (`linker/user.ld`).
pub const USER_IMAGE_BASE: usize = 0x40_0000;
/// Top of the user address space used for stacks (exclusive).
pub const USER_STACK_TOP: usize = 0x0000_7FFF_0000_0000;
/// Where the kernel maps the boot image, read-only, into the process manager (pid 1),
/// which starts every other program from it.
pub const BOOT_IMAGE_VADDR: usize = 0x0000_0F00_0000_0000;
/// Start of the area where anonymous memory (heap growth) is placed.
pub const USER_ANON_BASE: usize = 0x0000_1000_0000_0000;
/// End of the anonymous-memory area (exclusive).
pub const USER_ANON_END: usize = 0x0000_4000_0000_0000;
/// One past the highest user virtual address (48-bit TTBR0 space).
pub const USER_SPACE_END: usize = 1 << 48;
/// Default stack size of a process's first thread and of new threads.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;
/// Largest stack a thread may ask for.
pub const MAX_STACK_SIZE: usize = 64 * 1024 * 1024;
/// Longest process name (bytes).
pub const MAX_NAME_LEN: usize = 31;
