//! The raw system-call layer: [`syscall`], the one place that executes `svc #0`, and one
//! thin function per call (`docs/syscalls.md`), each returning `Result<_, Errno>`.
//!
//! Registers are built only by `abi::syscall::Call::to_registers` and results read only
//! by `abi::syscall::decode_result`, so this layer cannot disagree with the kernel about
//! the encoding. The QNX name of each call is a doc alias.

use crate::{Errno, Pid, Tid};
use abi::sched::SchedParam;
use abi::syscall::{decode_result, Call, Registers};
use core::arch::asm;
use core::convert::Infallible;

/// Makes the system call `registers` describes and returns `x0` and `x1` as the kernel
/// left them (`x1` carries a second result for `ProcessWait` only).
///
/// # Safety
///
/// The call must not break what the program relies on: `ThreadCreate` must start a
/// function that may run on its own stack with its argument, `MemUnmap` must not unmap
/// memory still in use, and pointers passed to calls that write (`ThreadList`) must be
/// writable by the caller's Rust code. The thin functions below each state which calls
/// are safe with which arguments.
pub unsafe fn syscall(registers: Registers) -> (u64, u64) {
    let [a0, a1, a2, a3, a4, a5] = registers.args;
    let (x0, x1);
    // SAFETY: `svc #0` enters the kernel, which restores every register except the
    // results; x2-x5 and x8 are nevertheless declared clobbered, so nothing depends on the
    // kernel preserving them. Memory is left as the call's contract says (the caller's
    // part); the user stack is not touched.
    unsafe {
        asm!(
            "svc #0",
            inlateout("x0") a0 => x0,
            inlateout("x1") a1 => x1,
            inlateout("x2") a2 => _,
            inlateout("x3") a3 => _,
            inlateout("x4") a4 => _,
            inlateout("x5") a5 => _,
            inlateout("x8") registers.number => _,
            options(nostack),
        );
    }
    (x0, x1)
}

/// Makes `call` and decodes its `x0`.
///
/// # Safety
///
/// As for [`syscall`].
unsafe fn invoke(call: Call) -> Result<u64, Errno> {
    // SAFETY: the caller upholds `syscall`'s contract for `call`.
    decode_result(unsafe { syscall(call.to_registers()) }.0)
}

/// Stops the program after a call that cannot return came back (the kernel broke its
/// contract): an undefined instruction, which makes the kernel kill the process with a
/// fault report.
fn returned_from_a_call_that_never_returns() -> ! {
    // SAFETY: `udf` only raises an undefined-instruction exception; the kernel ends the
    // process, so execution never continues past it.
    unsafe { asm!("udf #0", options(noreturn, nomem, nostack)) }
}

/// Does nothing in the kernel (measures the bare entry and exit).
#[doc(alias = "Nop")]
pub fn nop() -> Result<(), Errno> {
    // SAFETY: `Nop` touches nothing.
    unsafe { invoke(Call::Nop) }.map(|_| ())
}

/// Writes `bytes` (at most 4096) to the kernel console; returns how many were written.
#[doc(alias = "DebugWrite")]
pub fn debug_write(bytes: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `DebugWrite` only reads `bytes`, a valid slice.
    unsafe { invoke(Call::DebugWrite { ptr: bytes.as_ptr() as usize, len: bytes.len() }) }
        .map(|written| written as usize)
}

/// Starts a thread of the calling process at `entry` with `x0` = `argument`, on a new
/// stack of `stack_size` bytes (0: the default) below an unmapped guard page, with
/// scheduling parameters `sched` (`None`: the caller's). Returns its tid.
///
/// # Safety
///
/// `entry` runs concurrently with the caller, so `argument` must be something it may use
/// from another thread (ownership handed over, or data that is `Sync` and outlives it).
#[doc(alias = "ThreadCreate")]
pub unsafe fn thread_create(
    entry: extern "C" fn(usize) -> !,
    argument: usize,
    stack_size: usize,
    sched: Option<SchedParam>,
) -> Result<Tid, Errno> {
    let call = Call::ThreadCreate {
        entry: entry as usize,
        arg: argument,
        stack_size,
        sched: sched.map_or(0, SchedParam::encode),
    };
    // SAFETY: the caller vouches for `entry` and `argument`; the kernel allocates the
    // stack, so no memory of the caller's is used.
    unsafe { invoke(call) }.map(|tid| tid as Tid)
}

/// Ends the calling thread with `status`, which a [`thread_join`] of it returns. Ending
/// the last thread ends the process with that status.
#[doc(alias = "ThreadDestroy")]
pub fn thread_exit(status: u64) -> ! {
    // SAFETY: the calling thread ends; its stack is no longer used by anyone (Rust code
    // cannot hold references into another thread's stack without `unsafe` of its own).
    let _ = unsafe { invoke(Call::ThreadDestroy { tid: 0, status }) };
    returned_from_a_call_that_never_returns()
}

/// Ends thread `tid` of the calling process with `status` (0 ends the caller, which then
/// never returns; see [`thread_exit`]).
#[doc(alias = "ThreadDestroy")]
pub fn thread_destroy(tid: Tid, status: u64) -> Result<(), Errno> {
    // SAFETY: ending a thread frees only its kernel-allocated stack, which safe Rust
    // code of other threads cannot be borrowing.
    unsafe { invoke(Call::ThreadDestroy { tid, status }) }.map(|_| ())
}

/// Waits for thread `tid` of the calling process to end; returns its exit status.
#[doc(alias = "ThreadJoin")]
pub fn thread_join(tid: Tid) -> Result<u64, Errno> {
    // SAFETY: `ThreadJoin` only blocks the caller.
    unsafe { invoke(Call::ThreadJoin { tid }) }
}

/// Reads the policy and base priority of thread `tid` of process `pid` (0 and 0: the
/// caller).
#[doc(alias = "SchedGet")]
pub fn sched_get(pid: Pid, tid: Tid) -> Result<SchedParam, Errno> {
    // SAFETY: `SchedGet` only reads kernel state.
    let value = unsafe { invoke(Call::SchedGet { pid, tid }) }?;
    SchedParam::decode(value)
}

/// Sets the policy and priority of thread `tid` of process `pid` (0 and 0: the caller).
#[doc(alias = "SchedSet")]
pub fn sched_set(pid: Pid, tid: Tid, param: SchedParam) -> Result<(), Errno> {
    // SAFETY: `SchedSet` only changes scheduling.
    unsafe { invoke(Call::SchedSet { pid, tid, sched: param.encode() }) }.map(|_| ())
}

/// Lets the other ready threads of the caller's priority run first.
#[doc(alias = "SchedYield")]
pub fn sched_yield() -> Result<(), Errno> {
    // SAFETY: `SchedYield` only reschedules.
    unsafe { invoke(Call::SchedYield) }.map(|_| ())
}

/// Ends the calling process with `status` (what its parent's [`process_wait`] sees).
#[doc(alias = "ProcessExit")]
#[doc(alias = "_exit")]
pub fn process_exit(status: u32) -> ! {
    // SAFETY: the whole process ends; nothing of it runs afterwards.
    let _ = unsafe { invoke(Call::ProcessExit { status: status as u64 }) };
    returned_from_a_call_that_never_returns()
}

/// Starts boot-image program `name` with `argument_block` (each argument followed by a
/// NUL byte; `argv[0]` is added by the kernel) at `priority` (0: the image's). Returns
/// the child's pid. Only pid 1 may call it (`EPERM` otherwise) until the process manager
/// owns spawning.
#[doc(alias = "ProcessSpawn")]
pub fn process_spawn(name: &str, argument_block: &[u8], priority: u8) -> Result<Pid, Errno> {
    let call = Call::ProcessSpawn {
        name_ptr: name.as_ptr() as usize,
        name_len: name.len(),
        args_ptr: argument_block.as_ptr() as usize,
        args_len: argument_block.len(),
        priority: priority as u32,
    };
    // SAFETY: `ProcessSpawn` only reads the two valid slices.
    unsafe { invoke(call) }.map(|pid| pid as Pid)
}

/// Waits for child `pid` (0: any child) to end; returns its pid and its wait status
/// (`abi::syscall::wait_status`).
#[doc(alias = "ProcessWait")]
#[doc(alias = "waitpid")]
pub fn process_wait(pid: Pid) -> Result<(Pid, u64), Errno> {
    // SAFETY: `ProcessWait` only blocks the caller.
    let (x0, x1) = unsafe { syscall(Call::ProcessWait { pid }.to_registers()) };
    decode_result(x0).map(|status| (x1 as Pid, status))
}

/// Maps `size` bytes (rounded up to 4 KiB) of zero-filled, read-write, non-executable
/// memory; returns its address.
#[doc(alias = "MemMapAnon")]
#[doc(alias = "mmap")]
pub fn mem_map_anon(size: usize) -> Result<usize, Errno> {
    // SAFETY: the kernel places the mapping where nothing is mapped yet.
    unsafe { invoke(Call::MemMapAnon { size }) }.map(|address| address as usize)
}

/// Unmaps a mapping [`mem_map_anon`] made (the exact address and size).
///
/// # Safety
///
/// Nothing may use the memory any more: every reference into it is dangling afterwards.
#[doc(alias = "MemUnmap")]
#[doc(alias = "munmap")]
pub unsafe fn mem_unmap(address: usize, size: usize) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the range is no longer used.
    unsafe { invoke(Call::MemUnmap { addr: address, size }) }.map(|_| ())
}

/// Nanoseconds since boot.
#[doc(alias = "ClockTime")]
pub fn clock_time() -> Result<u64, Errno> {
    // SAFETY: `ClockTime` only reads the clock.
    unsafe { invoke(Call::ClockTime) }
}

/// Blocks the calling thread for at least `nanoseconds`.
#[doc(alias = "Sleep")]
#[doc(alias = "nanosleep")]
pub fn sleep(nanoseconds: u64) -> Result<(), Errno> {
    // SAFETY: `Sleep` only blocks the caller.
    unsafe { invoke(Call::Sleep { nanoseconds }) }.map(|_| ())
}

/// Fills `buffer` with as many `abi::info::ThreadInfo` records as fit; returns the
/// number of threads in the system (which may be more).
#[doc(alias = "ThreadList")]
pub fn thread_list(buffer: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `ThreadList` writes only inside `buffer`, a valid mutable slice of bytes
    // (any bit pattern is a valid `u8`).
    unsafe { invoke(Call::ThreadList { ptr: buffer.as_mut_ptr() as usize, len: buffer.len() }) }
        .map(|count| count as usize)
}

/// The caller's pid and tid.
#[doc(alias = "GetIds")]
#[doc(alias = "getpid")]
#[doc(alias = "gettid")]
pub fn get_ids() -> Result<(Pid, Tid), Errno> {
    // SAFETY: `GetIds` only reads kernel state.
    let ids = unsafe { invoke(Call::GetIds) }?;
    Ok((ids as u32, (ids >> 32) as u32))
}

/// Stops the machine with exit `code` (QEMU's exit status). Only pid 1 may call it;
/// returns only with the reason it was refused.
#[doc(alias = "Shutdown")]
#[doc(alias = "sysmgr_reboot")]
pub fn shutdown(code: u32) -> Result<Infallible, Errno> {
    // SAFETY: stopping the machine ends every program; nothing runs afterwards.
    unsafe { invoke(Call::Shutdown { code }) }?;
    returned_from_a_call_that_never_returns()
}
