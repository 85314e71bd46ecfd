//! The raw system-call layer: [`syscall`], the one place that executes `svc #0`, and one
//! thin function per call (`docs/syscalls.md`), each returning `Result<_, Errno>`.
//!
//! Registers are built only by `abi::syscall::Call::to_registers` and results read only
//! by `abi::syscall::decode_result`, so this layer cannot disagree with the kernel about
//! the encoding. The QNX name of each call is a doc alias.
//!
//! **Message buffers.** The message-passing calls name a buffer as `(address, parts)`:
//! `parts < 0` is one buffer of `-parts` bytes at `address`
//! (`abi::ipc::single_buffer_parts`), `parts >= 0` an I/O vector of that many
//! `abi::ipc::IOV_SIZE`-byte `(address: u64, length: u64)` little-endian entries at
//! `address`. The functions taking such raw descriptions are `unsafe` (the kernel checks
//! that the memory is mapped, not that Rust code may let it be read or written); the
//! single-buffer forms built from slices are safe. `crate::ipc::IoVec` builds I/O
//! vectors from slices.

use crate::{Errno, Pid, Tid};
use abi::info::SystemInfo;
use abi::ipc::{single_buffer_parts, ClientInfo, MsgInfo, Pulse, SigEvent, INFO_IN_REGISTERS};
use abi::sched::SchedParam;
use abi::syscall::{decode_result, Call, Registers};
use core::arch::asm;
use core::convert::Infallible;

/// Makes the system call `registers` describes and returns `x0` and `x1` as the kernel
/// left them (`x1` carries a second result for `ProcessWait`, `SchedGet` and `ThreadJoin`).
///
/// # Safety
///
/// The call must not break what the program relies on: `ThreadCreate` must start a
/// function that may run on its own stack with its argument, `MemUnmap` must not unmap
/// memory still in use, and memory passed to calls that write (`ThreadList`, and the
/// receive, read and reply buffers and the records of the message-passing calls) must be
/// writable by the caller's Rust code. The thin functions below each state which calls
/// are safe with which arguments.
pub unsafe fn syscall(registers: Registers) -> (u64, u64) {
    // SAFETY: the caller's contract.
    let [x0, x1, ..] = unsafe { syscall_results(registers) };
    (x0, x1)
}

/// [`syscall`], returning `x0`–`x6` as the kernel left them (the receive calls return
/// a `_msg_info` record in `x2`–`x6` when asked to: [`INFO_IN_REGISTERS`]).
///
/// # Safety
///
/// As for [`syscall`].
#[inline(always)]
unsafe fn syscall_results(registers: Registers) -> [u64; 7] {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = registers.args;
    let (x0, x1, x2, x3, x4, x5, x6);
    // SAFETY: `svc #0` enters the kernel, which preserves x18-x30 and SP and returns
    // results in x0-x6; x2-x17 are declared clobbered (the kernel does not preserve
    // x9-x17, docs/syscalls.md). Memory is left as the call's contract says (the
    // caller's part); the user stack is not touched.
    unsafe {
        asm!(
            "svc #0",
            inlateout("x0") a0 => x0,
            inlateout("x1") a1 => x1,
            inlateout("x2") a2 => x2,
            inlateout("x3") a3 => x3,
            inlateout("x4") a4 => x4,
            inlateout("x5") a5 => x5,
            inlateout("x6") a6 => x6,
            inlateout("x7") a7 => _,
            inlateout("x8") registers.number => _,
            out("x9") _,
            out("x10") _,
            out("x11") _,
            out("x12") _,
            out("x13") _,
            out("x14") _,
            out("x15") _,
            out("x16") _,
            out("x17") _,
            options(nostack),
        );
    }
    [x0, x1, x2, x3, x4, x5, x6]
}

/// Makes receive call `call`, whose `info` is [`INFO_IN_REGISTERS`], and decodes its
/// `x0`; the `_msg_info` record it returns in x2–x6 (meaningful for a message only).
///
/// # Safety
///
/// As for [`syscall`].
#[inline(always)]
unsafe fn invoke_with_info(call: Call) -> (Result<u64, Errno>, MsgInfo) {
    // SAFETY: the caller's contract.
    let [x0, _, x2, x3, x4, x5, x6] = unsafe { syscall_results(call.to_registers()) };
    (decode_result(x0), MsgInfo::from_registers([x2, x3, x4, x5, x6]))
}

/// Makes `call` and decodes its `x0`.
///
/// # Safety
///
/// As for [`syscall`].
#[inline(always)] // (so that the call, known where it is made, folds to a few moves)
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

/// Writes `bytes` (at most [`MAX_DEBUG_WRITE`](abi::syscall::MAX_DEBUG_WRITE), else
/// `EINVAL`) to the kernel console; returns how many were written.
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
    // code of other threads cannot be borrowing. (Not undefined behaviour, but a hazard:
    // a thread ended while it holds a lock — the heap's, a `sync::Once` being made —
    // leaves it held, and the process's other threads wait on it for ever.)
    unsafe { invoke(Call::ThreadDestroy { tid, status }) }.map(|_| ())
}

/// Waits for thread `tid` of the calling process to end; returns its exit status (any
/// `u64`: the kernel gives it in x1).
#[doc(alias = "ThreadJoin")]
pub fn thread_join(tid: Tid) -> Result<u64, Errno> {
    // SAFETY: `ThreadJoin` only blocks the caller.
    let (x0, x1) = unsafe { syscall(Call::ThreadJoin { tid }.to_registers()) };
    decode_result(x0).map(|_| x1)
}

/// Lets thread `tid` of the calling process (0: the caller) be freed as it ends, its exit
/// status with it: nobody will join it (`EINVAL` if it is detached already or a thread
/// waits to join it).
#[doc(alias = "ThreadDetach")]
pub fn thread_detach(tid: Tid) -> Result<(), Errno> {
    // SAFETY: `ThreadDetach` changes only the kernel's record of the thread.
    unsafe { invoke(Call::ThreadDetach { tid }) }.map(|_| ())
}

/// Reads the policy and base priority of thread `tid` of process `pid` (0 and 0: the
/// caller).
#[doc(alias = "SchedGet")]
pub fn sched_get(pid: Pid, tid: Tid) -> Result<SchedParam, Errno> {
    sched_get_current(pid, tid).map(|(param, _)| param)
}

/// [`sched_get`], with the priority the thread runs at now (its base, or one it inherited
/// from a message: QNX's `sched_curpriority`).
#[doc(alias = "SchedGet")]
pub fn sched_get_current(pid: Pid, tid: Tid) -> Result<(SchedParam, u8), Errno> {
    // SAFETY: `SchedGet` only reads kernel state.
    let (x0, x1) = unsafe { syscall(Call::SchedGet { pid, tid }.to_registers()) };
    Ok((SchedParam::decode(decode_result(x0)?)?, x1 as u8))
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

/// Creates an empty process called `name`, a child of `parent` (0: of the caller), with
/// `abi::syscall::process_flags` `flags`, in process group `group` (0: the parent's;
/// `abi::syscall::NEW_PROCESS_GROUP`: its own): no memory, no threads until
/// [`process_start`]. Privileged (the process manager).
#[doc(alias = "ProcessCreate")]
pub fn process_create(name: &str, parent: Pid, flags: u32, group: u32) -> Result<Pid, Errno> {
    let call = Call::ProcessCreate { name_ptr: name.as_ptr() as usize, name_len: name.len(), parent, flags, group };
    // SAFETY: `ProcessCreate` only reads the valid name slice.
    unsafe { invoke(call) }.map(|pid| pid as Pid)
}

/// Starts thread 1 of process `pid` (made by [`process_create`]) at `entry` with stack
/// pointer `sp` and `x0`–`x2` = `args`. Privileged.
#[doc(alias = "ProcessStart")]
pub fn process_start(pid: Pid, entry: usize, sp: usize, args: [u64; 3], param: SchedParam) -> Result<Tid, Errno> {
    let call = Call::ProcessStart { pid, entry, sp, args, sched: param.encode() };
    // SAFETY: the new thread runs in the other process's address space, never in ours.
    unsafe { invoke(call) }.map(|tid| tid as Tid)
}

/// Ends process `pid` with wait status `status`. Privileged.
#[doc(alias = "ProcessKill")]
pub fn process_kill(pid: Pid, status: u64) -> Result<(), Errno> {
    // SAFETY: ends another process; nothing of ours is touched (if `pid` is ours, we end).
    unsafe { invoke(Call::ProcessKill { pid, status, flags: 0 }) }.map(|_| ())
}

/// Ends every process of process group `group` with wait status `status`. Privileged.
pub fn process_group_kill(group: u32, status: u64) -> Result<(), Errno> {
    let call = Call::ProcessKill { pid: group, status, flags: abi::syscall::kill_flags::GROUP };
    // SAFETY: ends other processes; nothing of ours is touched (if we are a member, we end).
    unsafe { invoke(call) }.map(|_| ())
}

/// Delivers `event` (`None`: nothing), with the child's pid as its value, whenever a
/// child of this process ends.
#[doc(alias = "ProcessChildEvent")]
pub fn process_child_event(event: Option<&SigEvent>) -> Result<(), Errno> {
    let bytes = event.map(SigEvent::to_bytes);
    let at = bytes.as_ref().map_or(0, |b| b.as_ptr() as usize);
    // SAFETY: the kernel only reads the event.
    unsafe { invoke(Call::ProcessChildEvent { event: at }) }.map(|_| ())
}

/// Creates a zero-filled memory object of `size` bytes (rounded up to pages); returns
/// its handle. Privileged.
#[doc(alias = "MemObjectCreate")]
pub fn mem_object_create(size: usize) -> Result<u32, Errno> {
    // SAFETY: creates a kernel object; no memory of ours changes.
    unsafe { invoke(Call::MemObjectCreate { size }) }.map(|h| h as u32)
}

/// A memory object for the `size` bytes of device registers at physical `phys` (page
/// aligned, inside the board's devices); needs I/O privilege (a driver proc started at
/// boot). Map it read-write with [`mem_object_map`].
#[doc(alias = "MemObjectDevice")]
#[doc(alias = "mmap_device_memory")]
pub fn mem_object_device(phys: usize, size: usize) -> Result<u32, Errno> {
    // SAFETY: creates a kernel object naming device pages; nothing is mapped yet.
    unsafe { invoke(Call::MemObjectDevice { phys, size }) }.map(|h| h as u32)
}

/// Resizes memory object `handle` (new pages zero-filled; `EBUSY` to shrink a mapped
/// one). Privileged.
#[doc(alias = "MemObjectResize")]
pub fn mem_object_resize(handle: u32, size: usize) -> Result<(), Errno> {
    // SAFETY: as above.
    unsafe { invoke(Call::MemObjectResize { handle, size }) }.map(|_| ())
}

/// Maps `size` bytes of memory object `handle` from page-aligned `offset` into process
/// `pid` (0: this one; another: privileged) at `address` (0: anywhere free) with
/// `prot`, and at most `max_prot` ever (`abi::syscall::mem_prot` bits). Returns the address.
///
/// # Safety
///
/// With `pid` 0 and a fixed `address`, nothing of this process may live there (the
/// kernel refuses to replace a mapping, so this holds unless memory is being reused).
#[doc(alias = "MemObjectMap")]
pub unsafe fn mem_object_map(
    pid: Pid,
    handle: u32,
    offset: usize,
    size: usize,
    address: usize,
    prot: u32,
    max_prot: u32,
) -> Result<usize, Errno> {
    let call = Call::MemObjectMap {
        pid,
        handle,
        offset,
        size,
        addr: address,
        prot: abi::syscall::mem_prot::with_max(prot, max_prot),
    };
    // SAFETY: the kernel maps only where nothing is mapped; the caller vouches for the rest.
    unsafe { invoke(call) }.map(|a| a as usize)
}

/// Drops memory-object handle `handle` (the object lives on while it is mapped).
#[doc(alias = "MemObjectClose")]
pub fn mem_object_close(handle: u32) -> Result<(), Errno> {
    // SAFETY: drops a handle; mappings stay.
    unsafe { invoke(Call::MemObjectClose { handle }) }.map(|_| ())
}

/// Gives the whole pages of `[address, address + size)` the access `prot`
/// (`abi::syscall::mem_prot` bits), within what each mapping allows (`EACCES`).
///
/// # Safety
///
/// Taking access away invalidates every reference into the range that would use it.
#[doc(alias = "MemProtect")]
#[doc(alias = "mprotect")]
pub unsafe fn mem_protect(address: usize, size: usize, prot: u32) -> Result<(), Errno> {
    // SAFETY: the caller vouches that nothing relies on the access being removed.
    unsafe { invoke(Call::MemProtect { addr: address, size, prot }) }.map(|_| ())
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

/// Unmaps a mapping [`mem_map_anon`] or [`mem_object_map`] made (the exact address and
/// size).
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

/// Creates a channel with `flags` (`abi::ipc::channel_flags`); returns its chid.
#[doc(alias = "ChannelCreate")]
pub fn channel_create(flags: u32) -> Result<u32, Errno> {
    // SAFETY: `ChannelCreate` touches no memory of the caller's.
    unsafe { invoke(Call::ChannelCreate { flags }) }.map(|chid| chid as u32)
}

/// Destroys channel `chid`: its SEND- and REPLY-blocked clients and its RECEIVE-blocked
/// threads fail with `ESRCH`.
#[doc(alias = "ChannelDestroy")]
pub fn channel_destroy(chid: u32) -> Result<(), Errno> {
    // SAFETY: `ChannelDestroy` touches no memory of the caller's.
    unsafe { invoke(Call::ChannelDestroy { chid }) }.map(|_| ())
}

/// Connects to channel `chid` of process `pid` (0: the caller's own); returns the coid.
#[doc(alias = "ConnectAttach")]
pub fn connect_attach(pid: Pid, chid: u32) -> Result<u32, Errno> {
    // SAFETY: `ConnectAttach` touches no memory of the caller's.
    unsafe { invoke(Call::ConnectAttach { pid, chid }) }.map(|coid| coid as u32)
}

/// Removes connection `id` (a coid), or frees a server connection (a scoid) after its
/// `_PULSE_CODE_DISCONNECT` pulse.
#[doc(alias = "ConnectDetach")]
pub fn connect_detach(id: u32) -> Result<(), Errno> {
    // SAFETY: `ConnectDetach` touches no memory of the caller's.
    unsafe { invoke(Call::ConnectDetach { id }) }.map(|_| ())
}

/// Describes the client behind server connection `scoid` (from a `MsgInfo` or a pulse).
#[doc(alias = "ConnectClientInfo")]
pub fn connect_client_info(scoid: u32) -> Result<ClientInfo, Errno> {
    let mut record = [0u8; ClientInfo::SIZE];
    // SAFETY: `ConnectClientInfo` writes `ClientInfo::SIZE` bytes into `record`, ours.
    unsafe { invoke(Call::ConnectClientInfo { scoid, info: record.as_mut_ptr() as usize }) }?;
    Ok(ClientInfo::from_bytes(&record).expect("a whole record"))
}

/// Sends the message `(send, send_parts)` on connection `coid` and waits for the reply,
/// which lands in `(reply, reply_parts)` (see the module's *Message buffers*); returns
/// the status the server replied with, or the error it answered with.
///
/// # Safety
///
/// For the whole call, which blocks until the reply: the send description (and every
/// range it names) must be readable and not written by anything else; the reply
/// description must be readable and every range it names writable memory that nothing
/// else reads or writes (the server may write into it at any time before replying).
#[doc(alias = "MsgSendv")]
#[doc(alias = "MsgSendvnc")]
pub unsafe fn msg_sendv(coid: u32, send: usize, send_parts: i64, reply: usize, reply_parts: i64) -> Result<u64, Errno> {
    // SAFETY: the caller vouches for both descriptions.
    unsafe { invoke(Call::MsgSendv { coid, send, send_parts, reply, reply_parts }) }
}

/// Sends `send` on connection `coid` and waits for the reply, which fills the start of
/// `reply` (as much as the server replied, at most its length); returns the server's
/// status. Muon has no thread cancellation, so this is also QNX's `MsgSendnc`.
#[doc(alias = "MsgSend")]
#[doc(alias = "MsgSendnc")]
pub fn msg_send(coid: u32, send: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
    let (send_parts, reply_parts) = (single_buffer_parts(send.len()), single_buffer_parts(reply.len()));
    // SAFETY: `send` is a readable slice and `reply` a writable one this call borrows
    // exclusively until the reply, so nothing else touches it meanwhile.
    unsafe { msg_sendv(coid, send.as_ptr() as usize, send_parts, reply.as_mut_ptr() as usize, reply_parts) }
}

/// [`msg_send`] with the reply going to the `reply_parts`-entry I/O vector at `reply_iov`.
///
/// # Safety
///
/// As for [`msg_sendv`]'s reply description.
#[doc(alias = "MsgSendsv")]
#[doc(alias = "MsgSendsvnc")]
pub unsafe fn msg_sendsv(coid: u32, send: &[u8], reply_iov: usize, reply_parts: usize) -> Result<u64, Errno> {
    let reply_parts = iov_parts(reply_parts)?;
    // SAFETY: `send` is a readable slice; the caller vouches for the reply vector.
    unsafe { msg_sendv(coid, send.as_ptr() as usize, single_buffer_parts(send.len()), reply_iov, reply_parts) }
}

/// [`msg_send`] of the `send_parts`-entry I/O vector at `send_iov`.
///
/// # Safety
///
/// As for [`msg_sendv`]'s send description.
#[doc(alias = "MsgSendvs")]
#[doc(alias = "MsgSendvsnc")]
pub unsafe fn msg_sendvs(coid: u32, send_iov: usize, send_parts: usize, reply: &mut [u8]) -> Result<u64, Errno> {
    let send_parts = iov_parts(send_parts)?;
    let reply_parts = single_buffer_parts(reply.len());
    // SAFETY: the caller vouches for the send vector; `reply` is a writable slice this
    // call borrows exclusively until the reply.
    unsafe { msg_sendv(coid, send_iov, send_parts, reply.as_mut_ptr() as usize, reply_parts) }
}

/// An I/O vector's entry count as the calls take it; `EINVAL` if it cannot be one.
fn iov_parts(parts: usize) -> Result<i64, Errno> {
    i64::try_from(parts).map_err(|_| Errno::EINVAL)
}

/// Waits for a message or a pulse on channel `chid` and receives it into
/// `(buffer, parts)` (see the module's *Message buffers*). Returns the rcvid of a
/// message, which must then be answered ([`msg_reply`], [`msg_error`]), or 0 for a
/// pulse (an `abi::ipc::Pulse` at the start of the buffer). With `info`, a message's
/// `MsgInfo` is stored there; a pulse leaves it untouched.
///
/// A pulse needs `Pulse::SIZE` bytes: with a smaller buffer the call fails with
/// `EFAULT` and the pulse is lost.
///
/// # Safety
///
/// The description must be readable and every range it names writable memory that
/// nothing else reads or writes until the call returns.
#[doc(alias = "MsgReceivev")]
pub unsafe fn msg_receivev(chid: u32, buffer: usize, parts: i64, info: Option<&mut MsgInfo>) -> Result<u64, Errno> {
    let Some(info) = info else {
        // SAFETY: the caller vouches for the buffer.
        return unsafe { invoke(Call::MsgReceivev { chid, buffer, parts, info: 0 }) };
    };
    // SAFETY: as above; the record comes back in registers.
    let (rcvid, record) =
        unsafe { invoke_with_info(Call::MsgReceivev { chid, buffer, parts, info: INFO_IN_REGISTERS }) };
    let rcvid = rcvid?;
    if rcvid != 0 {
        *info = record;
    }
    Ok(rcvid)
}

/// [`msg_receivev`] into `buffer`: a message fills its start (the rest can be read with
/// [`msg_read`]); a pulse needs `Pulse::SIZE` bytes.
#[doc(alias = "MsgReceive")]
pub fn msg_receive(chid: u32, buffer: &mut [u8], info: Option<&mut MsgInfo>) -> Result<u64, Errno> {
    let parts = single_buffer_parts(buffer.len());
    // SAFETY: `buffer` is a writable slice this call borrows exclusively.
    unsafe { msg_receivev(chid, buffer.as_mut_ptr() as usize, parts, info) }
}

/// Replies to `rcvid` (skipped when it is 0) with `status` and `reply`, then waits for
/// the next message or pulse on `chid` into `buffer`, in one kernel entry: a server loop's
/// two calls fused (as seL4's ReplyRecv). Returns what [`msg_receive`] returns. A client
/// that has gone, or whose reply buffer is bad (it is told), does not stop the loop; a
/// fault in `reply` itself fails the call before receiving, the client still waiting.
pub fn msg_reply_receive(
    rcvid: u64,
    status: u64,
    reply: &[u8],
    chid: u32,
    buffer: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> Result<u64, Errno> {
    let call = Call::MsgReplyReceivev {
        rcvid,
        status,
        reply: reply.as_ptr() as usize,
        reply_parts: single_buffer_parts(reply.len()),
        chid,
        buffer: buffer.as_mut_ptr() as usize,
        parts: single_buffer_parts(buffer.len()),
        info: if info.is_some() { INFO_IN_REGISTERS } else { 0 },
    };
    let Some(info) = info else {
        // SAFETY: the kernel only reads `reply` and writes into `buffer` (borrowed
        // exclusively).
        return unsafe { invoke(call) };
    };
    // SAFETY: as above; the record comes back in registers.
    let (received, record) = unsafe { invoke_with_info(call) };
    let received = received?;
    if received != 0 {
        *info = record;
    }
    Ok(received)
}

/// Waits for a pulse on channel `chid` and returns it (QNX's `MsgReceivePulse`).
/// Messages are left queued, their senders SEND-blocked, for a [`msg_receive`]; a pulse
/// goes to a thread waiting here before one waiting in [`msg_receive`].
#[doc(alias = "MsgReceivePulse")]
pub fn msg_receive_pulse(chid: u32) -> Result<Pulse, Errno> {
    let mut buffer = [0u8; Pulse::SIZE];
    let call = Call::MsgReceivePulsev {
        chid,
        buffer: buffer.as_mut_ptr() as usize,
        parts: single_buffer_parts(buffer.len()),
        info: 0,
    };
    // SAFETY: the kernel writes at most `Pulse::SIZE` bytes into `buffer`, ours.
    unsafe { invoke(call) }?;
    Ok(Pulse::from_bytes(&buffer).expect("a whole pulse"))
}

/// Replies to message `rcvid` with `status` (what the sender's send returns) and the
/// data `(buffer, parts)` (see the module's *Message buffers*), as much of it as the
/// sender's reply buffer takes. An error about the sender's reply buffer is returned
/// here too, but the sender is answered (with that error) all the same.
///
/// A `status` in the last 4095 values of `u64` reaches the sender as `-errno`, an
/// error: use [`msg_error`] for errors.
///
/// # Safety
///
/// The description must be readable and every range it names readable memory that
/// nothing else writes until the call returns.
#[doc(alias = "MsgReplyv")]
pub unsafe fn msg_replyv(rcvid: u64, status: u64, buffer: usize, parts: i64) -> Result<(), Errno> {
    // SAFETY: the caller vouches for the data; the kernel only reads it.
    unsafe { invoke(Call::MsgReplyv { rcvid, status, buffer, parts }) }.map(|_| ())
}

/// [`msg_replyv`] with the data in `data`.
#[doc(alias = "MsgReply")]
pub fn msg_reply(rcvid: u64, status: u64, data: &[u8]) -> Result<(), Errno> {
    // SAFETY: `data` is a readable slice.
    unsafe { msg_replyv(rcvid, status, data.as_ptr() as usize, single_buffer_parts(data.len())) }
}

/// Answers message `rcvid` with `errno` (what the sender's send fails with); `EINVAL`
/// for `EOK` or a number past 4095. ([`msg_error_unblocked`] answers with the error
/// the client's unblock was for.)
#[doc(alias = "MsgError")]
pub fn msg_error(rcvid: u64, errno: Errno) -> Result<(), Errno> {
    // SAFETY: `MsgError` touches no memory of the caller's.
    unsafe { invoke(Call::MsgError { rcvid, errno: errno.0 }) }.map(|_| ())
}

/// Answers message `rcvid`, whose client asked to be unblocked (`_PULSE_CODE_UNBLOCK`),
/// with the error its unblock was for: `ETIMEDOUT` after its timeout, else `EINTR`
/// (QNX's `MsgError(rcvid, -1)`).
#[doc(alias = "MsgError")]
pub fn msg_error_unblocked(rcvid: u64) -> Result<(), Errno> {
    // SAFETY: `MsgError` touches no memory of the caller's.
    unsafe { invoke(Call::MsgError { rcvid, errno: abi::syscall::MSG_ERROR_UNBLOCK }) }.map(|_| ())
}

/// Copies the received message `rcvid`, from byte `offset` of what its sender sent,
/// into `(buffer, parts)` (see the module's *Message buffers*); returns the bytes
/// copied.
///
/// # Safety
///
/// The description must be readable and every range it names writable memory that
/// nothing else reads or writes until the call returns.
#[doc(alias = "MsgReadv")]
pub unsafe fn msg_readv(rcvid: u64, buffer: usize, parts: i64, offset: usize) -> Result<usize, Errno> {
    // SAFETY: the caller vouches for the buffer.
    unsafe { invoke(Call::MsgReadv { rcvid, buffer, parts, offset }) }.map(|n| n as usize)
}

/// [`msg_readv`] into `buffer`.
#[doc(alias = "MsgRead")]
pub fn msg_read(rcvid: u64, buffer: &mut [u8], offset: usize) -> Result<usize, Errno> {
    let parts = single_buffer_parts(buffer.len());
    // SAFETY: `buffer` is a writable slice this call borrows exclusively.
    unsafe { msg_readv(rcvid, buffer.as_mut_ptr() as usize, parts, offset) }
}

/// Writes `(buffer, parts)` (see the module's *Message buffers*) into the reply buffer
/// of message `rcvid` from byte `offset`, before replying; returns the bytes copied.
///
/// # Safety
///
/// The description must be readable and every range it names readable memory that
/// nothing else writes until the call returns.
#[doc(alias = "MsgWritev")]
pub unsafe fn msg_writev(rcvid: u64, buffer: usize, parts: i64, offset: usize) -> Result<usize, Errno> {
    // SAFETY: the caller vouches for the data; the kernel only reads it.
    unsafe { invoke(Call::MsgWritev { rcvid, buffer, parts, offset }) }.map(|n| n as usize)
}

/// [`msg_writev`] of `data`.
#[doc(alias = "MsgWrite")]
pub fn msg_write(rcvid: u64, data: &[u8], offset: usize) -> Result<usize, Errno> {
    // SAFETY: `data` is a readable slice.
    unsafe { msg_writev(rcvid, data.as_ptr() as usize, single_buffer_parts(data.len()), offset) }
}

/// Describes received message `rcvid`: sender, channel, connection, priority. Only a
/// receive with `info` reports the lengths (`msglen`, `srcmsglen`, `dstmsglen`).
#[doc(alias = "MsgInfo")]
pub fn msg_info(rcvid: u64) -> Result<MsgInfo, Errno> {
    let mut record = [0u8; MsgInfo::SIZE];
    // SAFETY: `MsgInfo` writes `MsgInfo::SIZE` bytes into `record`, ours.
    unsafe { invoke(Call::MsgInfo { rcvid, info: record.as_mut_ptr() as usize }) }?;
    Ok(MsgInfo::from_bytes(&record).expect("a whole record"))
}

/// Sends a pulse with `code` (0–127) and `value` on connection `coid` at `priority`
/// (1–255, or `abi::syscall::SENDER_PRIORITY` for the caller's); never blocks.
#[doc(alias = "MsgSendPulse")]
pub fn msg_send_pulse(coid: u32, priority: u32, code: i8, value: u64) -> Result<(), Errno> {
    // SAFETY: `MsgSendPulse` touches no memory of the caller's.
    unsafe { invoke(Call::MsgSendPulse { coid, priority, code, value }) }.map(|_| ())
}

/// Registers `event` so that the server behind connection `coid` may deliver it later
/// ([`msg_deliver_event`]); fills in its `handle`. A pulse event's own connection must
/// be one of the caller's.
#[doc(alias = "MsgRegisterEvent")]
pub fn msg_register_event(event: &mut SigEvent, coid: u32) -> Result<(), Errno> {
    let mut record = event.to_bytes();
    // SAFETY: `MsgRegisterEvent` reads and rewrites `SigEvent::SIZE` bytes of `record`,
    // ours.
    let handle = unsafe { invoke(Call::MsgRegisterEvent { event: record.as_mut_ptr() as usize, coid }) }?;
    event.handle = handle as u32;
    Ok(())
}

/// Withdraws the registration of `event` (a registered copy: its `handle` counts).
#[doc(alias = "MsgUnregisterEvent")]
pub fn msg_unregister_event(event: &SigEvent) -> Result<(), Errno> {
    let record = event.to_bytes();
    // SAFETY: `MsgUnregisterEvent` only reads `record`.
    unsafe { invoke(Call::MsgUnregisterEvent { event: record.as_ptr() as usize }) }.map(|_| ())
}

/// Delivers a client's registered `event` (only its `handle` counts: the kernel uses
/// the registered copy). `rcvid` names a message of that client or its scoid, which must
/// be the one that registered it (`EPERM` otherwise), or is 0 to skip that check; only
/// the server the registration names may deliver it.
#[doc(alias = "MsgDeliverEvent")]
pub fn msg_deliver_event(rcvid: u64, event: &SigEvent) -> Result<(), Errno> {
    let record = event.to_bytes();
    // SAFETY: `MsgDeliverEvent` only reads `record`.
    unsafe { invoke(Call::MsgDeliverEvent { rcvid, event: record.as_ptr() as usize }) }.map(|_| ())
}

/// Bounds the calling thread's next system call: if it blocks in one of `states`
/// (`abi::syscall::timeout_states`; 0 disarms), it fails with `ETIMEDOUT` after
/// `nanoseconds`. Any next call uses the bound up, blocking or not.
#[doc(alias = "TimerTimeout")]
pub fn timer_timeout(states: u32, nanoseconds: u64) -> Result<(), Errno> {
    // SAFETY: `TimerTimeout` touches no memory of the caller's.
    unsafe { invoke(Call::TimerTimeout { states, nanoseconds }) }.map(|_| ())
}

/// Creates a timer that delivers `event` to the calling process (disarmed; see
/// [`timer_settime`]); returns its id.
#[doc(alias = "TimerCreate")]
pub fn timer_create(event: &SigEvent) -> Result<u32, Errno> {
    let record = event.to_bytes();
    // SAFETY: `TimerCreate` only reads `record`.
    unsafe { invoke(Call::TimerCreate { event: record.as_ptr() as usize }) }.map(|id| id as u32)
}

/// Arms timer `id` to fire `initial` nanoseconds from now, then every `interval`
/// nanoseconds (0: once); `initial` 0 disarms it.
#[doc(alias = "TimerSettime")]
pub fn timer_settime(id: u32, initial: u64, interval: u64) -> Result<(), Errno> {
    // SAFETY: `TimerSettime` touches no memory of the caller's.
    unsafe { invoke(Call::TimerSettime { id, initial, interval }) }.map(|_| ())
}

/// Destroys timer `id`.
#[doc(alias = "TimerDestroy")]
pub fn timer_destroy(id: u32) -> Result<(), Errno> {
    // SAFETY: `TimerDestroy` touches no memory of the caller's.
    unsafe { invoke(Call::TimerDestroy { id }) }.map(|_| ())
}

/// Routes interrupt `irq` (the board's numbering) to `event`; returns the route's id.
/// Each time it fires the interrupt is masked until [`interrupt_unmask`].
#[doc(alias = "InterruptAttachEvent")]
pub fn interrupt_attach_event(irq: u32, event: &SigEvent) -> Result<u32, Errno> {
    let record = event.to_bytes();
    // SAFETY: `InterruptAttachEvent` only reads `record`.
    unsafe { invoke(Call::InterruptAttachEvent { irq, event: record.as_ptr() as usize }) }.map(|id| id as u32)
}

/// Removes interrupt route `id`.
#[doc(alias = "InterruptDetach")]
pub fn interrupt_detach(id: u32) -> Result<(), Errno> {
    // SAFETY: `InterruptDetach` touches no memory of the caller's.
    unsafe { invoke(Call::InterruptDetach { id }) }.map(|_| ())
}

/// Masks the interrupt of route `id` once more; returns how many masks it now has.
#[doc(alias = "InterruptMask")]
pub fn interrupt_mask(id: u32) -> Result<u32, Errno> {
    // SAFETY: `InterruptMask` touches no memory of the caller's.
    unsafe { invoke(Call::InterruptMask { id }) }.map(|masks| masks as u32)
}

/// Removes one mask from the interrupt of route `id` (it is unmasked at 0); returns how
/// many masks are left.
#[doc(alias = "InterruptUnmask")]
pub fn interrupt_unmask(id: u32) -> Result<u32, Errno> {
    // SAFETY: `InterruptUnmask` touches no memory of the caller's.
    unsafe { invoke(Call::InterruptUnmask { id }) }.map(|masks| masks as u32)
}

/// Describes the machine: board, counter frequency, RAM, and the interrupt any program
/// may make fire (the EL1 virtual timer's).
#[doc(alias = "SystemInfo")]
pub fn system_info() -> Result<SystemInfo, Errno> {
    let mut record = [0u8; SystemInfo::SIZE];
    // SAFETY: `SystemInfo` writes `SystemInfo::SIZE` bytes into `record`, ours.
    unsafe { invoke(Call::SystemInfo { info: record.as_mut_ptr() as usize }) }?;
    Ok(SystemInfo::from_bytes(&record).expect("a whole record"))
}
