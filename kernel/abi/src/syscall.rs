//! System-call numbers and the register encoding, in one place.
//!
//! Convention: `svc #0` with the call number in `x8` and up to eight arguments in
//! `x0`–`x7`. The kernel answers in `x0`: a value `>= 0` on success, or `-errno`
//! (values in `-4095..=-1`); a few calls return a second value in `x1`. A call
//! preserves `x18`–`x30`, `sp` and the FP/SIMD registers, not `x1`–`x17`.
//! [`Call::to_registers`] (userlib) and [`Call::from_registers`] (kernel) are the only
//! code that knows which argument goes in which register.

use crate::Errno;

/// System-call numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Sysno {
    /// Does nothing (measures the bare entry/exit cost).
    Nop = 0,
    /// Writes bytes to the kernel console.
    DebugWrite = 1,
    /// Creates a thread in the calling process.
    ThreadCreate = 2,
    /// Ends a thread (the caller's, or another of its process).
    ThreadDestroy = 3,
    /// Waits for a thread of the calling process to end.
    ThreadJoin = 4,
    /// Reads a thread's scheduling policy and priority (x1: the priority it runs at now).
    SchedGet = 5,
    /// Changes a thread's scheduling policy and priority.
    SchedSet = 6,
    /// Gives the CPU to the next ready thread of the same priority.
    SchedYield = 7,
    /// Ends the calling process.
    ProcessExit = 8,
    /// Creates an empty process: no memory, no threads (privileged: the process manager).
    ProcessCreate = 9,
    /// Waits for a child process to end.
    ProcessWait = 10,
    /// Maps zero-filled anonymous memory into the calling process.
    MemMapAnon = 11,
    /// Unmaps anonymous memory.
    MemUnmap = 12,
    /// Nanoseconds since boot.
    ClockTime = 13,
    /// Blocks the caller for a number of nanoseconds.
    Sleep = 14,
    /// Fills a buffer with one [`crate::info::ThreadInfo`] record per thread.
    ThreadList = 15,
    /// The caller's process and thread ids.
    GetIds = 16,
    /// Stops the machine (privileged: pid 1 only).
    Shutdown = 17,
    /// Creates a channel in the calling process.
    ChannelCreate = 18,
    /// Destroys a channel.
    ChannelDestroy = 19,
    /// Connects to a channel.
    ConnectAttach = 20,
    /// Removes a connection (or frees a server connection after a disconnect pulse).
    ConnectDetach = 21,
    /// Describes the client behind a server connection.
    ConnectClientInfo = 22,
    /// Sends a message and waits for the reply.
    MsgSendv = 23,
    /// Waits for a message or pulse on a channel.
    MsgReceivev = 24,
    /// Replies to a received message.
    MsgReplyv = 25,
    /// Replies to a received message with an error.
    MsgError = 26,
    /// Reads more of a received message.
    MsgReadv = 27,
    /// Writes part of the reply before replying.
    MsgWritev = 28,
    /// Describes a received message.
    MsgInfo = 29,
    /// Sends a pulse.
    MsgSendPulse = 30,
    /// Bounds the caller's next blocking call.
    TimerTimeout = 31,
    /// Registers an event so a server can later deliver it.
    MsgRegisterEvent = 32,
    /// Withdraws a registration.
    MsgUnregisterEvent = 33,
    /// A server delivers a client's registered event.
    MsgDeliverEvent = 34,
    /// Creates a timer that delivers an event.
    TimerCreate = 35,
    /// Arms or disarms a timer.
    TimerSettime = 36,
    /// Destroys a timer.
    TimerDestroy = 37,
    /// Routes a hardware interrupt to an event.
    InterruptAttachEvent = 38,
    /// Removes an interrupt route.
    InterruptDetach = 39,
    /// Masks an attached interrupt (counted).
    InterruptMask = 40,
    /// Unmasks an attached interrupt (counted).
    InterruptUnmask = 41,
    /// Describes the machine.
    SystemInfo = 42,
    /// Replies to one message and waits for the next, in one call.
    MsgReplyReceivev = 43,
    /// Starts the first thread of a process `ProcessCreate` made (privileged).
    ProcessStart = 44,
    /// Ends another process, as if it had exited (privileged).
    ProcessKill = 45,
    /// Names the event the caller receives whenever one of its children ends.
    ProcessChildEvent = 46,
    /// Creates a memory object: zero-filled frames that can be mapped (privileged).
    MemObjectCreate = 47,
    /// Grows or shrinks a memory object (privileged).
    MemObjectResize = 48,
    /// Maps (part of) a memory object into a process (another process: privileged).
    MemObjectMap = 49,
    /// Drops a memory-object handle (the object lives while mappings remain).
    MemObjectClose = 50,
    /// Changes the access permissions of the caller's mapped memory.
    MemProtect = 51,
    /// Makes a memory object of device registers (I/O privilege).
    MemObjectDevice = 52,
    /// Waits for a pulse on a channel, leaving messages queued.
    MsgReceivePulsev = 53,
    /// Lets a thread's end free it: nobody will join it.
    ThreadDetach = 54,
}

impl Sysno {
    /// Every call, in number order.
    pub const ALL: [Sysno; 55] = [
        Sysno::Nop,
        Sysno::DebugWrite,
        Sysno::ThreadCreate,
        Sysno::ThreadDestroy,
        Sysno::ThreadJoin,
        Sysno::SchedGet,
        Sysno::SchedSet,
        Sysno::SchedYield,
        Sysno::ProcessExit,
        Sysno::ProcessCreate,
        Sysno::ProcessWait,
        Sysno::MemMapAnon,
        Sysno::MemUnmap,
        Sysno::ClockTime,
        Sysno::Sleep,
        Sysno::ThreadList,
        Sysno::GetIds,
        Sysno::Shutdown,
        Sysno::ChannelCreate,
        Sysno::ChannelDestroy,
        Sysno::ConnectAttach,
        Sysno::ConnectDetach,
        Sysno::ConnectClientInfo,
        Sysno::MsgSendv,
        Sysno::MsgReceivev,
        Sysno::MsgReplyv,
        Sysno::MsgError,
        Sysno::MsgReadv,
        Sysno::MsgWritev,
        Sysno::MsgInfo,
        Sysno::MsgSendPulse,
        Sysno::TimerTimeout,
        Sysno::MsgRegisterEvent,
        Sysno::MsgUnregisterEvent,
        Sysno::MsgDeliverEvent,
        Sysno::TimerCreate,
        Sysno::TimerSettime,
        Sysno::TimerDestroy,
        Sysno::InterruptAttachEvent,
        Sysno::InterruptDetach,
        Sysno::InterruptMask,
        Sysno::InterruptUnmask,
        Sysno::SystemInfo,
        Sysno::MsgReplyReceivev,
        Sysno::ProcessStart,
        Sysno::ProcessKill,
        Sysno::ProcessChildEvent,
        Sysno::MemObjectCreate,
        Sysno::MemObjectResize,
        Sysno::MemObjectMap,
        Sysno::MemObjectClose,
        Sysno::MemProtect,
        Sysno::MemObjectDevice,
        Sysno::MsgReceivePulsev,
        Sysno::ThreadDetach,
    ];

    /// The call numbered `n`, if there is one.
    pub fn from_number(n: u64) -> Option<Sysno> {
        Self::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

/// The `x8` of a call that the kernel stopped (an interrupt became pending during a long
/// copy or mapping) and set up to be made again: no call has this number, so the call
/// made again takes no fast path, and the kernel finds it in the thread's record. A
/// program never passes it itself (it gets `ENOSYS`).
pub const RESTARTED_CALL: u64 = 63;
const _: () = assert!(Sysno::ALL.len() <= RESTARTED_CALL as usize, "a call numbered RESTARTED_CALL");

/// The registers of one system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    /// `x8`: the call number.
    pub number: u64,
    /// `x0`–`x7`: the arguments.
    pub args: [u64; 8],
}

/// One system call with its arguments. User addresses are plain numbers here: the
/// kernel validates every one before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// See [`Sysno::Nop`].
    Nop,
    /// See [`Sysno::DebugWrite`].
    DebugWrite { ptr: usize, len: usize },
    /// See [`Sysno::ThreadCreate`]. `sched` is [`crate::sched::SchedParam::encode`]d, or 0 to
    /// inherit the creator's; `stack_size` 0 means the default.
    ThreadCreate { entry: usize, arg: usize, stack_size: usize, sched: u64 },
    /// See [`Sysno::ThreadDestroy`]; `tid` 0 is the caller.
    ThreadDestroy { tid: u32, status: u64 },
    /// See [`Sysno::ThreadJoin`].
    ThreadJoin { tid: u32 },
    /// See [`Sysno::ThreadDetach`]; `tid` 0 is the caller.
    ThreadDetach { tid: u32 },
    /// See [`Sysno::SchedGet`]; 0 names the caller's process / thread.
    SchedGet { pid: u32, tid: u32 },
    /// See [`Sysno::SchedSet`]; `sched` as in `ThreadCreate`.
    SchedSet { pid: u32, tid: u32, sched: u64 },
    /// See [`Sysno::SchedYield`].
    SchedYield,
    /// See [`Sysno::ProcessExit`].
    ProcessExit { status: u64 },
    /// See [`Sysno::ProcessCreate`]: the new process is called `name`, is a child of
    /// process `parent` (0: of the caller), has the [`process_flags`] `flags`, and is a
    /// member of process group `group` (0: its parent's; [`NEW_PROCESS_GROUP`]: a group of
    /// its own, which its pid names).
    ProcessCreate { name_ptr: usize, name_len: usize, parent: u32, flags: u32, group: u32 },
    /// See [`Sysno::ProcessWait`]; `pid` 0 waits for any child.
    ProcessWait { pid: u32 },
    /// See [`Sysno::MemMapAnon`].
    MemMapAnon { size: usize },
    /// See [`Sysno::MemUnmap`].
    MemUnmap { addr: usize, size: usize },
    /// See [`Sysno::ClockTime`].
    ClockTime,
    /// See [`Sysno::Sleep`].
    Sleep { nanoseconds: u64 },
    /// See [`Sysno::ThreadList`].
    ThreadList { ptr: usize, len: usize },
    /// See [`Sysno::GetIds`].
    GetIds,
    /// See [`Sysno::Shutdown`].
    Shutdown { code: u32 },
    /// See [`Sysno::ChannelCreate`]; `flags` from [`crate::ipc::channel_flags`].
    ChannelCreate { flags: u32 },
    /// See [`Sysno::ChannelDestroy`].
    ChannelDestroy { chid: u32 },
    /// See [`Sysno::ConnectAttach`]: channel `chid` of process `pid` (0: the caller's).
    ConnectAttach { pid: u32, chid: u32 },
    /// See [`Sysno::ConnectDetach`]: a coid, or a scoid.
    ConnectDetach { id: u32 },
    /// See [`Sysno::ConnectClientInfo`]: fills a [`crate::ipc::ClientInfo`].
    ConnectClientInfo { scoid: u32, info: usize },
    /// See [`Sysno::MsgSendv`]. Buffers are (address, parts) per [`crate::ipc::single_buffer_parts`].
    MsgSendv { coid: u32, send: usize, send_parts: i64, reply: usize, reply_parts: i64 },
    /// See [`Sysno::MsgReceivev`]; `info` (0: none) receives a [`crate::ipc::MsgInfo`].
    MsgReceivev { chid: u32, buffer: usize, parts: i64, info: usize },
    /// See [`Sysno::MsgReceivePulsev`]: [`Call::MsgReceivev`] for pulses only.
    MsgReceivePulsev { chid: u32, buffer: usize, parts: i64, info: usize },
    /// See [`Sysno::MsgReplyv`].
    MsgReplyv { rcvid: u64, status: u64, buffer: usize, parts: i64 },
    /// See [`Sysno::MsgError`]; `errno` [`MSG_ERROR_UNBLOCK`] (-1 in `x1`, as 64 or 32
    /// bits): the error the client's unblock was for.
    MsgError { rcvid: u64, errno: u32 },
    /// See [`Sysno::MsgReadv`].
    MsgReadv { rcvid: u64, buffer: usize, parts: i64, offset: usize },
    /// See [`Sysno::MsgWritev`].
    MsgWritev { rcvid: u64, buffer: usize, parts: i64, offset: usize },
    /// See [`Sysno::MsgInfo`].
    MsgInfo { rcvid: u64, info: usize },
    /// See [`Sysno::MsgSendPulse`]; `priority` [`SENDER_PRIORITY`] means the sender's.
    MsgSendPulse { coid: u32, priority: u32, code: i8, value: u64 },
    /// See [`Sysno::TimerTimeout`]: if the next call blocks in one of `states`
    /// ([`timeout_states`]), it fails with `ETIMEDOUT` after `nanoseconds`.
    TimerTimeout { states: u32, nanoseconds: u64 },
    /// See [`Sysno::MsgRegisterEvent`]: the [`crate::ipc::SigEvent`] at `event` may be
    /// delivered only by the server behind `coid`; its `handle` field is filled in.
    MsgRegisterEvent { event: usize, coid: u32 },
    /// See [`Sysno::MsgUnregisterEvent`].
    MsgUnregisterEvent { event: usize },
    /// See [`Sysno::MsgDeliverEvent`]: `rcvid` names the client (a received message, or
    /// its scoid), `event` its registered event.
    MsgDeliverEvent { rcvid: u64, event: usize },
    /// See [`Sysno::TimerCreate`]: the timer delivers the [`crate::ipc::SigEvent`] at
    /// `event` to the calling process.
    TimerCreate { event: usize },
    /// See [`Sysno::TimerSettime`]: first expiry after `initial` ns (0 disarms), then every
    /// `interval` ns (0: once).
    TimerSettime { id: u32, initial: u64, interval: u64 },
    /// See [`Sysno::TimerDestroy`].
    TimerDestroy { id: u32 },
    /// See [`Sysno::InterruptAttachEvent`]: interrupt `irq` (the board's numbering)
    /// delivers the event at `event`, and stays masked until `InterruptUnmask`.
    InterruptAttachEvent { irq: u32, event: usize },
    /// See [`Sysno::InterruptDetach`].
    InterruptDetach { id: u32 },
    /// See [`Sysno::InterruptMask`].
    InterruptMask { id: u32 },
    /// See [`Sysno::InterruptUnmask`].
    InterruptUnmask { id: u32 },
    /// See [`Sysno::SystemInfo`]: fills a [`crate::info::SystemInfo`].
    SystemInfo { info: usize },
    /// See [`Sysno::MsgReplyReceivev`]: `MsgReplyv(rcvid, status, reply…)` (skipped when
    /// `rcvid` is 0), then `MsgReceivev(chid, buffer…, info)` — a server loop's two calls
    /// in one kernel entry (seL4's ReplyRecv is the precedent).
    MsgReplyReceivev {
        rcvid: u64,
        status: u64,
        reply: usize,
        reply_parts: i64,
        chid: u32,
        buffer: usize,
        parts: i64,
        info: usize,
    },
    /// See [`Sysno::ProcessStart`]: thread 1 of process `pid` starts at `entry` with stack
    /// pointer `sp`, `x0`–`x2` = `args`, and scheduling `sched` (as in `ThreadCreate`).
    ProcessStart { pid: u32, entry: usize, sp: usize, args: [u64; 3], sched: u64 },
    /// See [`Sysno::ProcessKill`]: process `pid` ends with wait status `status` — or,
    /// with [`kill_flags::GROUP`] in `flags`, every process of process group `pid`.
    ProcessKill { pid: u32, status: u64, flags: u32 },
    /// See [`Sysno::ProcessChildEvent`]: the [`crate::ipc::SigEvent`] at `event` (0: none)
    /// is delivered, with the child's pid as its value, whenever a child ends.
    ProcessChildEvent { event: usize },
    /// See [`Sysno::MemObjectCreate`]: `size` bytes (rounded up to pages, may be 0).
    MemObjectCreate { size: usize },
    /// See [`Sysno::MemObjectResize`]: new pages are zero-filled; shrinking a mapped
    /// object is refused (`EBUSY`).
    MemObjectResize { handle: u32, size: usize },
    /// See [`Sysno::MemObjectMap`]: maps `size` bytes of object `handle` from page-aligned
    /// `offset` into process `pid` (0: the caller) at `addr` (0: anywhere free), with
    /// `prot` = [`mem_prot`] bits, and the most the mapping may ever be given by
    /// `MemProtect` in bits 8–15 (none: `prot` itself). Returns the address.
    MemObjectMap { pid: u32, handle: u32, offset: usize, size: usize, addr: usize, prot: u32 },
    /// See [`Sysno::MemObjectClose`].
    MemObjectClose { handle: u32 },
    /// See [`Sysno::MemProtect`]: `prot` = [`mem_prot`] bits for the whole pages of
    /// `[addr, addr + size)`, each within what its mapping allows.
    MemProtect { addr: usize, size: usize, prot: u32 },
    /// See [`Sysno::MemObjectDevice`]: the `size` bytes of device registers at physical
    /// address `phys` (page aligned, inside the board's device regions), as an object
    /// mapped Device-nGnRE, never executable.
    MemObjectDevice { phys: usize, size: usize },
}

/// [`Call::ProcessCreate`] flags.
pub mod process_flags {
    /// The process may map device registers (`MemObjectDevice`): a driver.
    pub const IO: u32 = 1;
}

/// [`Call::ProcessCreate`]'s `group` for a process group of the new process's own (its
/// pid names it), as `setpgid(0, 0)` makes one.
pub const NEW_PROCESS_GROUP: u32 = u32::MAX;

/// [`Call::ProcessKill`] flags.
pub mod kill_flags {
    /// The pid names a process group: all its processes end (`kill(-pgid, …)`).
    pub const GROUP: u32 = 1;
}

/// Memory access permissions (`PROT_*`).
pub mod mem_prot {
    /// Readable.
    pub const READ: u32 = 1;
    /// Writable.
    pub const WRITE: u32 = 2;
    /// Executable (never together with WRITE).
    pub const EXEC: u32 = 4;
    /// Every permission bit.
    pub const ALL: u32 = READ | WRITE | EXEC;
    /// `MemObjectMap`'s `prot` argument: `prot` now, at most `max` ever.
    pub const fn with_max(prot: u32, max: u32) -> u32 {
        prot | max << 8
    }
}

/// The blocking states [`Call::TimerTimeout`] can bound (`_NTO_TIMEOUT_*`).
pub mod timeout_states {
    /// SEND-blocked (the message has not been received).
    pub const SEND: u32 = 1 << 0;
    /// REPLY-blocked (received, not replied; with `_NTO_CHF_UNBLOCK` the server decides).
    pub const REPLY: u32 = 1 << 1;
    /// RECEIVE-blocked.
    pub const RECEIVE: u32 = 1 << 2;
    /// Joining a thread.
    pub const JOIN: u32 = 1 << 3;
    /// Waiting for a child process.
    pub const WAITCHILD: u32 = 1 << 4;
    /// Every state above.
    pub const ALL: u32 = SEND | REPLY | RECEIVE | JOIN | WAITCHILD;
}

/// `MsgSendPulse` priority meaning "the sending thread's priority".
pub const SENDER_PRIORITY: u32 = u32::MAX;

/// `MsgError`'s errno -1 ([`Call::MsgError`]), as the QNX course advises a server that
/// answers an unblock pulse: "use the right error" — the one the client's unblock was for
/// (`ETIMEDOUT` after its timeout, `EINTR` otherwise).
pub const MSG_ERROR_UNBLOCK: u32 = u32::MAX;

/// Longest `DebugWrite` (`EINVAL` beyond).
pub const MAX_DEBUG_WRITE: usize = 4096;

/// Largest memory object (and largest single mapping of one): `MemObjectCreate` and
/// `MemObjectResize` refuse more (`EINVAL`), so no shared-memory file grows past it.
pub const MAX_MEM_OBJECT_SIZE: usize = 1 << 30;

impl Call {
    /// The registers that make this call. (Always inlined: with the call known where it
    /// is made, the match folds to a few moves. Left to itself, LLVM stopped inlining it
    /// as the calls grew, and userlib's every call went through the whole match, whose
    /// zeroed array used SIMD registers: an FP/SIMD trap and eager hand-overs for every
    /// program — `yield_pair` 417 → 628 instructions.)
    #[inline(always)]
    pub fn to_registers(&self) -> Registers {
        use Call::*;
        let (number, args): (Sysno, [u64; 8]) = match *self {
            Nop => (Sysno::Nop, [0; 8]),
            DebugWrite { ptr, len } => (Sysno::DebugWrite, [ptr as u64, len as u64, 0, 0, 0, 0, 0, 0]),
            ThreadCreate { entry, arg, stack_size, sched } => {
                (Sysno::ThreadCreate, [entry as u64, arg as u64, stack_size as u64, sched, 0, 0, 0, 0])
            }
            ThreadDestroy { tid, status } => (Sysno::ThreadDestroy, [tid as u64, status, 0, 0, 0, 0, 0, 0]),
            ThreadJoin { tid } => (Sysno::ThreadJoin, [tid as u64, 0, 0, 0, 0, 0, 0, 0]),
            ThreadDetach { tid } => (Sysno::ThreadDetach, [tid as u64, 0, 0, 0, 0, 0, 0, 0]),
            SchedGet { pid, tid } => (Sysno::SchedGet, [pid as u64, tid as u64, 0, 0, 0, 0, 0, 0]),
            SchedSet { pid, tid, sched } => (Sysno::SchedSet, [pid as u64, tid as u64, sched, 0, 0, 0, 0, 0]),
            SchedYield => (Sysno::SchedYield, [0; 8]),
            ProcessExit { status } => (Sysno::ProcessExit, [status, 0, 0, 0, 0, 0, 0, 0]),
            ProcessCreate { name_ptr, name_len, parent, flags, group } => (
                Sysno::ProcessCreate,
                [name_ptr as u64, name_len as u64, parent as u64, flags as u64, group as u64, 0, 0, 0],
            ),
            ProcessWait { pid } => (Sysno::ProcessWait, [pid as u64, 0, 0, 0, 0, 0, 0, 0]),
            MemMapAnon { size } => (Sysno::MemMapAnon, [size as u64, 0, 0, 0, 0, 0, 0, 0]),
            MemUnmap { addr, size } => (Sysno::MemUnmap, [addr as u64, size as u64, 0, 0, 0, 0, 0, 0]),
            ClockTime => (Sysno::ClockTime, [0; 8]),
            Sleep { nanoseconds } => (Sysno::Sleep, [nanoseconds, 0, 0, 0, 0, 0, 0, 0]),
            ThreadList { ptr, len } => (Sysno::ThreadList, [ptr as u64, len as u64, 0, 0, 0, 0, 0, 0]),
            GetIds => (Sysno::GetIds, [0; 8]),
            Shutdown { code } => (Sysno::Shutdown, [code as u64, 0, 0, 0, 0, 0, 0, 0]),
            ChannelCreate { flags } => (Sysno::ChannelCreate, [flags as u64, 0, 0, 0, 0, 0, 0, 0]),
            ChannelDestroy { chid } => (Sysno::ChannelDestroy, [chid as u64, 0, 0, 0, 0, 0, 0, 0]),
            ConnectAttach { pid, chid } => (Sysno::ConnectAttach, [pid as u64, chid as u64, 0, 0, 0, 0, 0, 0]),
            ConnectDetach { id } => (Sysno::ConnectDetach, [id as u64, 0, 0, 0, 0, 0, 0, 0]),
            ConnectClientInfo { scoid, info } => {
                (Sysno::ConnectClientInfo, [scoid as u64, info as u64, 0, 0, 0, 0, 0, 0])
            }
            MsgSendv { coid, send, send_parts, reply, reply_parts } => (
                Sysno::MsgSendv,
                [coid as u64, send as u64, send_parts as u64, reply as u64, reply_parts as u64, 0, 0, 0],
            ),
            MsgReceivev { chid, buffer, parts, info } => {
                (Sysno::MsgReceivev, [chid as u64, buffer as u64, parts as u64, info as u64, 0, 0, 0, 0])
            }
            MsgReceivePulsev { chid, buffer, parts, info } => {
                (Sysno::MsgReceivePulsev, [chid as u64, buffer as u64, parts as u64, info as u64, 0, 0, 0, 0])
            }
            MsgReplyv { rcvid, status, buffer, parts } => {
                (Sysno::MsgReplyv, [rcvid, status, buffer as u64, parts as u64, 0, 0, 0, 0])
            }
            MsgError { rcvid, errno } => (Sysno::MsgError, [rcvid, errno as u64, 0, 0, 0, 0, 0, 0]),
            MsgReadv { rcvid, buffer, parts, offset } => {
                (Sysno::MsgReadv, [rcvid, buffer as u64, parts as u64, offset as u64, 0, 0, 0, 0])
            }
            MsgWritev { rcvid, buffer, parts, offset } => {
                (Sysno::MsgWritev, [rcvid, buffer as u64, parts as u64, offset as u64, 0, 0, 0, 0])
            }
            MsgInfo { rcvid, info } => (Sysno::MsgInfo, [rcvid, info as u64, 0, 0, 0, 0, 0, 0]),
            MsgSendPulse { coid, priority, code, value } => {
                (Sysno::MsgSendPulse, [coid as u64, priority as u64, code as u8 as u64, value, 0, 0, 0, 0])
            }
            TimerTimeout { states, nanoseconds } => {
                (Sysno::TimerTimeout, [states as u64, nanoseconds, 0, 0, 0, 0, 0, 0])
            }
            MsgRegisterEvent { event, coid } => {
                (Sysno::MsgRegisterEvent, [event as u64, coid as u64, 0, 0, 0, 0, 0, 0])
            }
            MsgUnregisterEvent { event } => (Sysno::MsgUnregisterEvent, [event as u64, 0, 0, 0, 0, 0, 0, 0]),
            MsgDeliverEvent { rcvid, event } => (Sysno::MsgDeliverEvent, [rcvid, event as u64, 0, 0, 0, 0, 0, 0]),
            TimerCreate { event } => (Sysno::TimerCreate, [event as u64, 0, 0, 0, 0, 0, 0, 0]),
            TimerSettime { id, initial, interval } => {
                (Sysno::TimerSettime, [id as u64, initial, interval, 0, 0, 0, 0, 0])
            }
            TimerDestroy { id } => (Sysno::TimerDestroy, [id as u64, 0, 0, 0, 0, 0, 0, 0]),
            InterruptAttachEvent { irq, event } => {
                (Sysno::InterruptAttachEvent, [irq as u64, event as u64, 0, 0, 0, 0, 0, 0])
            }
            InterruptDetach { id } => (Sysno::InterruptDetach, [id as u64, 0, 0, 0, 0, 0, 0, 0]),
            InterruptMask { id } => (Sysno::InterruptMask, [id as u64, 0, 0, 0, 0, 0, 0, 0]),
            InterruptUnmask { id } => (Sysno::InterruptUnmask, [id as u64, 0, 0, 0, 0, 0, 0, 0]),
            SystemInfo { info } => (Sysno::SystemInfo, [info as u64, 0, 0, 0, 0, 0, 0, 0]),
            MsgReplyReceivev { rcvid, status, reply, reply_parts, chid, buffer, parts, info } => (
                Sysno::MsgReplyReceivev,
                [
                    rcvid,
                    status,
                    reply as u64,
                    reply_parts as u64,
                    chid as u64,
                    buffer as u64,
                    parts as u64,
                    info as u64,
                ],
            ),
            ProcessStart { pid, entry, sp, args, sched } => {
                (Sysno::ProcessStart, [pid as u64, entry as u64, sp as u64, args[0], args[1], args[2], sched, 0])
            }
            ProcessKill { pid, status, flags } => {
                (Sysno::ProcessKill, [pid as u64, status, flags as u64, 0, 0, 0, 0, 0])
            }
            ProcessChildEvent { event } => (Sysno::ProcessChildEvent, [event as u64, 0, 0, 0, 0, 0, 0, 0]),
            MemObjectCreate { size } => (Sysno::MemObjectCreate, [size as u64, 0, 0, 0, 0, 0, 0, 0]),
            MemObjectResize { handle, size } => {
                (Sysno::MemObjectResize, [handle as u64, size as u64, 0, 0, 0, 0, 0, 0])
            }
            MemObjectMap { pid, handle, offset, size, addr, prot } => (
                Sysno::MemObjectMap,
                [pid as u64, handle as u64, offset as u64, size as u64, addr as u64, prot as u64, 0, 0],
            ),
            MemObjectClose { handle } => (Sysno::MemObjectClose, [handle as u64, 0, 0, 0, 0, 0, 0, 0]),
            MemProtect { addr, size, prot } => {
                (Sysno::MemProtect, [addr as u64, size as u64, prot as u64, 0, 0, 0, 0, 0])
            }
            MemObjectDevice { phys, size } => (Sysno::MemObjectDevice, [phys as u64, size as u64, 0, 0, 0, 0, 0, 0]),
        };
        Registers { number: number as u64, args }
    }

    /// The call the registers make: `ENOSYS` for an unknown number, `EINVAL` for an
    /// argument that does not fit its field.
    pub fn from_registers(regs: &Registers) -> Result<Call, Errno> {
        use Call::*;
        let a = regs.args;
        let id = |v: u64| u32::try_from(v).map_err(|_| Errno::EINVAL);
        let size = |v: u64| usize::try_from(v).map_err(|_| Errno::EINVAL);
        Ok(match Sysno::from_number(regs.number).ok_or(Errno::ENOSYS)? {
            Sysno::Nop => Nop,
            Sysno::DebugWrite => DebugWrite { ptr: size(a[0])?, len: size(a[1])? },
            Sysno::ThreadCreate => {
                ThreadCreate { entry: size(a[0])?, arg: size(a[1])?, stack_size: size(a[2])?, sched: a[3] }
            }
            Sysno::ThreadDestroy => ThreadDestroy { tid: id(a[0])?, status: a[1] },
            Sysno::ThreadJoin => ThreadJoin { tid: id(a[0])? },
            Sysno::ThreadDetach => ThreadDetach { tid: id(a[0])? },
            Sysno::SchedGet => SchedGet { pid: id(a[0])?, tid: id(a[1])? },
            Sysno::SchedSet => SchedSet { pid: id(a[0])?, tid: id(a[1])?, sched: a[2] },
            Sysno::SchedYield => SchedYield,
            Sysno::ProcessExit => ProcessExit { status: a[0] },
            Sysno::ProcessCreate => ProcessCreate {
                name_ptr: size(a[0])?,
                name_len: size(a[1])?,
                parent: id(a[2])?,
                flags: id(a[3])?,
                group: id(a[4])?,
            },
            Sysno::ProcessWait => ProcessWait { pid: id(a[0])? },
            Sysno::MemMapAnon => MemMapAnon { size: size(a[0])? },
            Sysno::MemUnmap => MemUnmap { addr: size(a[0])?, size: size(a[1])? },
            Sysno::ClockTime => ClockTime,
            Sysno::Sleep => Sleep { nanoseconds: a[0] },
            Sysno::ThreadList => ThreadList { ptr: size(a[0])?, len: size(a[1])? },
            Sysno::GetIds => GetIds,
            Sysno::Shutdown => Shutdown { code: id(a[0])? },
            Sysno::ChannelCreate => ChannelCreate { flags: id(a[0])? },
            Sysno::ChannelDestroy => ChannelDestroy { chid: id(a[0])? },
            Sysno::ConnectAttach => ConnectAttach { pid: id(a[0])?, chid: id(a[1])? },
            Sysno::ConnectDetach => ConnectDetach { id: id(a[0])? },
            Sysno::ConnectClientInfo => ConnectClientInfo { scoid: id(a[0])?, info: size(a[1])? },
            Sysno::MsgSendv => MsgSendv {
                coid: id(a[0])?,
                send: size(a[1])?,
                send_parts: a[2] as i64,
                reply: size(a[3])?,
                reply_parts: a[4] as i64,
            },
            Sysno::MsgReceivev => {
                MsgReceivev { chid: id(a[0])?, buffer: size(a[1])?, parts: a[2] as i64, info: size(a[3])? }
            }
            Sysno::MsgReceivePulsev => {
                MsgReceivePulsev { chid: id(a[0])?, buffer: size(a[1])?, parts: a[2] as i64, info: size(a[3])? }
            }
            Sysno::MsgReplyv => MsgReplyv { rcvid: a[0], status: a[1], buffer: size(a[2])?, parts: a[3] as i64 },
            Sysno::MsgError => {
                let errno = if a[1] as i64 == -1 { MSG_ERROR_UNBLOCK } else { id(a[1])? };
                MsgError { rcvid: a[0], errno }
            }
            Sysno::MsgReadv => MsgReadv { rcvid: a[0], buffer: size(a[1])?, parts: a[2] as i64, offset: size(a[3])? },
            Sysno::MsgWritev => MsgWritev { rcvid: a[0], buffer: size(a[1])?, parts: a[2] as i64, offset: size(a[3])? },
            Sysno::MsgInfo => MsgInfo { rcvid: a[0], info: size(a[1])? },
            Sysno::MsgSendPulse => {
                if a[2] > 0xff {
                    return Err(Errno::EINVAL);
                }
                MsgSendPulse { coid: id(a[0])?, priority: id(a[1])?, code: a[2] as u8 as i8, value: a[3] }
            }
            Sysno::TimerTimeout => TimerTimeout { states: id(a[0])?, nanoseconds: a[1] },
            Sysno::MsgRegisterEvent => MsgRegisterEvent { event: size(a[0])?, coid: id(a[1])? },
            Sysno::MsgUnregisterEvent => MsgUnregisterEvent { event: size(a[0])? },
            Sysno::MsgDeliverEvent => MsgDeliverEvent { rcvid: a[0], event: size(a[1])? },
            Sysno::TimerCreate => TimerCreate { event: size(a[0])? },
            Sysno::TimerSettime => TimerSettime { id: id(a[0])?, initial: a[1], interval: a[2] },
            Sysno::TimerDestroy => TimerDestroy { id: id(a[0])? },
            Sysno::InterruptAttachEvent => InterruptAttachEvent { irq: id(a[0])?, event: size(a[1])? },
            Sysno::InterruptDetach => InterruptDetach { id: id(a[0])? },
            Sysno::InterruptMask => InterruptMask { id: id(a[0])? },
            Sysno::InterruptUnmask => InterruptUnmask { id: id(a[0])? },
            Sysno::SystemInfo => SystemInfo { info: size(a[0])? },
            Sysno::MsgReplyReceivev => MsgReplyReceivev {
                rcvid: a[0],
                status: a[1],
                reply: size(a[2])?,
                reply_parts: a[3] as i64,
                chid: id(a[4])?,
                buffer: size(a[5])?,
                parts: a[6] as i64,
                info: size(a[7])?,
            },
            Sysno::ProcessStart => ProcessStart {
                pid: id(a[0])?,
                entry: size(a[1])?,
                sp: size(a[2])?,
                args: [a[3], a[4], a[5]],
                sched: a[6],
            },
            Sysno::ProcessKill => ProcessKill { pid: id(a[0])?, status: a[1], flags: id(a[2])? },
            Sysno::ProcessChildEvent => ProcessChildEvent { event: size(a[0])? },
            Sysno::MemObjectCreate => MemObjectCreate { size: size(a[0])? },
            Sysno::MemObjectResize => MemObjectResize { handle: id(a[0])?, size: size(a[1])? },
            Sysno::MemObjectMap => MemObjectMap {
                pid: id(a[0])?,
                handle: id(a[1])?,
                offset: size(a[2])?,
                size: size(a[3])?,
                addr: size(a[4])?,
                prot: id(a[5])?,
            },
            Sysno::MemObjectClose => MemObjectClose { handle: id(a[0])? },
            Sysno::MemProtect => MemProtect { addr: size(a[0])?, size: size(a[1])?, prot: id(a[2])? },
            Sysno::MemObjectDevice => MemObjectDevice { phys: size(a[0])?, size: size(a[1])? },
        })
    }
}

/// The `x0` value that reports `result`.
pub const fn encode_result(result: Result<u64, Errno>) -> u64 {
    match result {
        Ok(value) => value,
        Err(e) => (-(e.0 as i64)) as u64,
    }
}

/// The result an `x0` value reports.
pub const fn decode_result(x0: u64) -> Result<u64, Errno> {
    let signed = x0 as i64;
    if signed < 0 && signed >= -4095 {
        Err(Errno((-signed) as u32))
    } else {
        Ok(x0)
    }
}

/// How [`Call::ProcessWait`] reports a child's end: bits 0–31 the exit status (or the
/// fault's exception class), bit 32 set if the process was killed by a fault.
pub mod wait_status {
    /// Bit set when the child died of a fault rather than exiting.
    pub const KILLED: u64 = 1 << 32;
    /// The status of a child that exited with `code`.
    pub const fn exited(code: u32) -> u64 {
        code as u64
    }
    /// The status of a child killed by a fault of exception class `class`.
    pub const fn killed(class: u32) -> u64 {
        KILLED | class as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_round_trips_through_registers() {
        let calls = [
            Call::Nop,
            Call::DebugWrite { ptr: 0x40_1000, len: 12 },
            Call::ThreadCreate { entry: 0x40_2000, arg: 7, stack_size: 8192, sched: 0x0210 },
            Call::ThreadDestroy { tid: 0, status: 3 },
            Call::ThreadJoin { tid: 2 },
            Call::ThreadDetach { tid: 2 },
            Call::SchedGet { pid: 0, tid: 1 },
            Call::SchedSet { pid: 1, tid: 2, sched: 0x0132 },
            Call::SchedYield,
            Call::ProcessExit { status: 9 },
            Call::ProcessCreate { name_ptr: 1, name_len: 2, parent: 3, flags: 1, group: 7 },
            Call::ProcessWait { pid: 5 },
            Call::MemMapAnon { size: 4096 },
            Call::MemUnmap { addr: 0x1000_0000_0000, size: 4096 },
            Call::ClockTime,
            Call::Sleep { nanoseconds: 1_000_000 },
            Call::ThreadList { ptr: 8, len: 9 },
            Call::GetIds,
            Call::Shutdown { code: 0 },
            Call::ChannelCreate { flags: 8 },
            Call::ChannelDestroy { chid: 1 },
            Call::ConnectAttach { pid: 2, chid: 1 },
            Call::ConnectDetach { id: 3 },
            Call::ConnectClientInfo { scoid: 4, info: 0x10 },
            Call::MsgSendv { coid: 1, send: 0x100, send_parts: -16, reply: 0x200, reply_parts: 2 },
            Call::MsgReceivev { chid: 1, buffer: 0x300, parts: -256, info: 0x400 },
            Call::MsgReplyv { rcvid: 0x1_0000_0005, status: 7, buffer: 0, parts: 0 },
            Call::MsgError { rcvid: 5, errno: 22 },
            Call::MsgReadv { rcvid: 5, buffer: 0x500, parts: -8, offset: 16 },
            Call::MsgWritev { rcvid: 5, buffer: 0x600, parts: 1, offset: 4 },
            Call::MsgInfo { rcvid: 5, info: 0x700 },
            Call::MsgSendPulse { coid: 1, priority: SENDER_PRIORITY, code: -33, value: 42 },
            Call::TimerTimeout { states: timeout_states::SEND, nanoseconds: 1000 },
            Call::MsgRegisterEvent { event: 0x800, coid: 2 },
            Call::MsgUnregisterEvent { event: 0x800 },
            Call::MsgDeliverEvent { rcvid: 0x1_0000_0003, event: 0x900 },
            Call::TimerCreate { event: 0xa00 },
            Call::TimerSettime { id: 1, initial: 1000, interval: 500 },
            Call::TimerDestroy { id: 1 },
            Call::InterruptAttachEvent { irq: 27, event: 0xb00 },
            Call::InterruptDetach { id: 1 },
            Call::InterruptMask { id: 1 },
            Call::InterruptUnmask { id: 1 },
            Call::SystemInfo { info: 0xc00 },
            Call::MsgReplyReceivev {
                rcvid: 0x2_0000_0004,
                status: 9,
                reply: 0xd00,
                reply_parts: -4,
                chid: 1,
                buffer: 0xe00,
                parts: -64,
                info: 0xf00,
            },
            Call::ProcessStart { pid: 2, entry: 0x40_0000, sp: 0x7000, args: [1, 2, 3], sched: 0x0110 },
            Call::ProcessKill { pid: 4, status: 9, flags: 1 },
            Call::ProcessChildEvent { event: 0x1000 },
            Call::MemObjectCreate { size: 8192 },
            Call::MemObjectResize { handle: 1, size: 0 },
            Call::MemObjectMap { pid: 3, handle: 1, offset: 4096, size: 4096, addr: 0, prot: 0x303 },
            Call::MemObjectClose { handle: 1 },
            Call::MemProtect { addr: 0x1000_0000_0000, size: 4096, prot: 1 },
            Call::MemObjectDevice { phys: 0x0900_0000, size: 4096 },
            Call::MsgReceivePulsev { chid: 2, buffer: 0x500, parts: -24, info: 0 },
        ];
        assert_eq!(calls.len(), Sysno::ALL.len());
        for call in calls {
            assert_eq!(Call::from_registers(&call.to_registers()), Ok(call));
        }
        for (n, sysno) in Sysno::ALL.iter().enumerate() {
            assert_eq!(*sysno as u64, n as u64);
        }
    }

    #[test]
    fn bad_numbers_and_oversized_ids_are_refused() {
        assert_eq!(Call::from_registers(&Registers { number: 999, args: [0; 8] }), Err(Errno::ENOSYS));
        assert_eq!(Call::from_registers(&Registers { number: u64::MAX, args: [0; 8] }), Err(Errno::ENOSYS));
        let join = Registers { number: Sysno::ThreadJoin as u64, args: [1 << 40, 0, 0, 0, 0, 0, 0, 0] };
        assert_eq!(Call::from_registers(&join), Err(Errno::EINVAL));
    }

    #[test]
    fn results_encode_errors_as_negative_numbers() {
        assert_eq!(decode_result(encode_result(Ok(42))), Ok(42));
        assert_eq!(decode_result(encode_result(Err(Errno::EFAULT))), Err(Errno::EFAULT));
        assert_eq!(encode_result(Err(Errno::ENOSYS)) as i64, -89);
        // Large successful values (addresses) are not mistaken for errors.
        assert_eq!(decode_result(0xffff_ffff_0000_0000), Ok(0xffff_ffff_0000_0000));
    }
}
