//! The program runtime: `_start`, the call of the program's `main` with its arguments,
//! the process's exit with `main`'s status, and the panic handler.
//!
//! Process entry (what the kernel guarantees): `_start` runs at EL0 with `x0` = the
//! argument count, `x1` = the address of the argument block ([`crate::args`]), `x2` = its
//! length, `sp` 16-byte aligned below the block on the main stack, and `x30` = 0.
//! `_start` ends the frame-pointer chain and calls [`start_program`], which never returns.

use crate::args::Args;
use crate::process::{self, PANIC_EXIT_STATUS};
use crate::{debug, sys, Errno};
use alloc::boxed::Box;
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;

core::arch::global_asm!(
    ".section .text.start, \"ax\", %progbits",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "    mov x29, #0",
    "    bl {start_program}",
    "    udf #0",
    ".size _start, . - _start",
    start_program = sym start_program,
);

extern "Rust" {
    /// The program's `main`, defined by [`crate::entry!`].
    fn muon_program_main(args: Args) -> i32;
}

/// `argv[0]`, once the arguments are read.
static PROGRAM_NAME: Once<&'static str> = Once::new();

/// The name the program was started under, or `"?"` before its arguments are read.
pub(crate) fn program_name() -> &'static str {
    PROGRAM_NAME.get().copied().unwrap_or("?")
}

/// Reads the arguments, runs `main` and exits with its status. Called by `_start` with
/// the registers the kernel set.
extern "C" fn start_program(argument_count: usize, block_address: *const u8, block_length: usize) -> ! {
    let block: &[u8] = if block_length == 0 {
        &[]
    } else {
        // SAFETY: process entry: the kernel wrote `block_length` bytes of argument block
        // at `block_address`, on the main stack, and nothing else refers to them.
        unsafe { core::slice::from_raw_parts(block_address, block_length) }
    };
    // The block lives on the main thread's stack, which would go away if that thread
    // ended while others run on: keep a copy for the life of the process.
    let block: &'static [u8] = Box::leak(Box::from(block));
    let (arguments, environment) = crate::args::split_environment(argument_count, block)
        .unwrap_or_else(|| panic!("malformed argument block: fewer than {argument_count} strings"));
    let args = Args::parse(argument_count, arguments)
        .unwrap_or_else(|error| panic!("malformed argument block from the kernel: {error}"));
    crate::env::set(environment);
    PROGRAM_NAME.call_once(|| args.program());
    // SAFETY: every program defines `muon_program_main` with this signature through
    // `entry!`, and the runtime calls it exactly once.
    let mut status = unsafe { muon_program_main(args) };
    // Success with output lost is failure (`echo x > /tmp`), as POSIX utilities report
    // it; output to a pipe nobody reads any more ends quietly with SIGPIPE's status.
    match (status, crate::io::stdout_error()) {
        (0, Some(Errno::EPIPE)) => status = crate::msg::BROKEN_PIPE_STATUS as i32,
        (0, Some(error)) => {
            crate::eprintln!("{}: standard output: {error}", program_name());
            status = 1;
        }
        _ => {}
    }
    process::exit(status)
}

/// 1 + the tid of the thread reporting a panic, or 0 while none is.
static PANICKING_THREAD: AtomicU64 = AtomicU64::new(0);

/// Prints `panic in <program>: <message> (<file>:<line>)` to the kernel console and ends
/// the process with status 101. A second thread panicking meanwhile just ends itself (the
/// first ends the process); a panic inside the report ends the process at once.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let me = sys::get_ids().map_or(0, |(_, tid)| u64::from(tid)) + 1;
    match PANICKING_THREAD.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {}
        Err(reporter) if reporter == me => sys::process_exit(PANIC_EXIT_STATUS),
        Err(_) => sys::thread_exit(PANIC_EXIT_STATUS as u64),
    }
    let mut console = debug::console();
    let _ = write!(console, "panic in {}: {}", program_name(), info.message());
    if let Some(location) = info.location() {
        let _ = write!(console, " ({}:{})", location.file(), location.line());
    }
    let _ = console.write_str("\n");
    console.flush();
    sys::process_exit(PANIC_EXIT_STATUS)
}
