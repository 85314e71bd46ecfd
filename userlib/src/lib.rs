//! `userlib`: the library every Muon user program links. It owns the user side of the
//! kernel boundary: the one `svc #0`, the program runtime (`_start`, `main`'s arguments,
//! exit status, panics), the heap behind `alloc`, and the Rust-idiomatic layer over the
//! system calls.
//!
//! * [`sys`]: the raw layer, one thin function per system call (QNX names as doc aliases).
//! * [`thread`], [`sched`], [`process`], [`time`], [`info`], [`sync`]: the idiomatic layer.
//! * [`ipc`]: message passing: channels, connections, received messages that must be
//!   answered, pulses, events, timers, interrupts and timeouts.
//! * [`proc`]: the process manager's services: spawn, kill, `name_attach`/`name_open`,
//!   the pathname space, `pidin`; [`msg`] holds its protocol and the I/O protocol.
//! * [`fs`]: files (`open`/`read`/`write`/…: I/O messages to the owning server),
//!   [`resmgr`]: the framework servers use to answer them, [`shm`]: shared memory and
//!   `mmap`, [`mq`]: POSIX message queues; pipes are [`fs::pipe`] and [`fs::mkfifo`].
//! * [`debug`]: the kernel console, with [`print!`] and [`println!`].
//! * [`args`]: argument blocks and the environment, as a process gets them and spawn requests carry them.
//! * [`heap`]: the global allocator, growing with `MemMapAnon`.
//!
//! A program is a `#![no_std]`, `#![no_main]` binary that names its `main` with
//! [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! userlib::entry!(main);
//!
//! fn main(args: userlib::Args) -> Result<(), userlib::Errno> {
//!     userlib::println!("hello from {}", args.program());
//!     Ok(())
//! }
//! ```
//!
//! On the host (`cargo test`) only the parts that make no system call build: argument
//! blocks, wait statuses, console buffering, heap growth sizes, thread-list collection,
//! I/O-vector encoding and pulse decoding, each with its tests. Everything else needs the
//! Muon target (`target_os = "none"`).

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// The host build leaves out everything that makes a system call, so links to it only
// resolve in the documentation built for Muon (`--target aarch64-unknown-none`).
#![cfg_attr(not(target_os = "none"), allow(rustdoc::broken_intra_doc_links))]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod args;
pub mod debug;
#[cfg(target_os = "none")]
pub mod env;
#[cfg(target_os = "none")]
pub mod fs;
pub mod heap;
pub mod info;
#[cfg(target_os = "none")]
pub mod io;
pub mod ipc;
#[cfg(target_os = "none")]
pub mod mq;
pub mod msg;
mod ocbs;
#[cfg(target_os = "none")]
pub mod proc;
pub mod process;
#[cfg(target_os = "none")]
pub mod resmgr;
#[cfg(target_os = "none")]
mod runtime;
#[cfg(target_os = "none")]
pub mod sched;
#[cfg(target_os = "none")]
pub mod shm;
#[cfg(target_os = "none")]
pub mod sync;
#[cfg(target_os = "none")]
pub mod sys;
#[cfg(target_os = "none")]
pub mod thread;
#[cfg(target_os = "none")]
pub mod time;
pub mod waitqueue;

pub use abi;
pub use abi::Errno;
pub use args::Args;

/// A process id (the first process is 1).
pub type Pid = u32;
/// A thread id within its process (a process's first thread is 1).
pub type Tid = u32;

/// Names the program's `main`, which the runtime calls with the process's [`Args`] and
/// whose result becomes the exit status ([`process::Termination`]): `()` is 0, an `i32`
/// itself, `Ok` its content's status, `Err(e)` prints `<program>: <e>` and is 1.
///
/// Write it once, at the top level of the program's `main.rs`: `userlib::entry!(main);`
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The program's `main`, as userlib's runtime calls it after `_start`.
        #[no_mangle]
        extern "Rust" fn muon_program_main(args: $crate::Args) -> i32 {
            $crate::process::Termination::report($main(args))
        }
    };
}
