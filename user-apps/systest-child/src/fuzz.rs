//! `fuzz SEED CALLS PEER`: every system call, made from EL0 on the real machine with
//! arguments chosen to hurt, by several threads at once — the target-side twin of the
//! kernel's host ABI fuzz (`kernel/src/abi_fuzz_tests.rs`), which cannot reach the arch
//! layer: the exception entry and return, the MMU's translations of user addresses
//! (`AT S1E0*`), `copy.S`, the FP/SIMD hand-over, real timers and interrupts in the middle
//! of calls.
//!
//! Four worker threads each make CALLS calls: random numbers (valid, unused and huge),
//! with handles this process made (channels, connections, threads, timers, rcvids) or
//! forged ones, buffers of its own (some read-only, some unmapped later by the fuzz
//! itself), addresses of its code, of nothing, of the kernel's half, straddling the end
//! of user space, lengths zero to huge, I/O vectors and events crafted to point at all of
//! those (a gigabyte is not among the lengths: `MemMapAnon` would fill all of a Pi's
//! RAM before it failed, seconds of work under emulation). Nearly every call is bounded by a `TimerTimeout` first, so that a worker blocks
//! for a while at most; one that blocks for good (a REPLY wait on an `_NTO_CHF_UNBLOCK`
//! channel nobody answers, an unbounded receive) is ended with the process. PEER, another fuzz process's pid
//! (0: none), is where the connections to other processes go: messages, pulses, replies
//! and events cross address spaces both ways.
//!
//! Periodic timers repeat every millisecond at the shortest, what the kernel allows an
//! ordinary program (a system program may ask for 10 µs, and a few such timers keep an
//! emulated CPU busy with their interrupts: a load, as a thread spinning at a high
//! priority is, not a fault, which would only slow the test down).
//!
//! What the fuzz leaves alone, so that it tests the kernel rather than kill itself: its
//! own code, stack and heap are never unmapped or protected (the addresses it hands out
//! are its buffers', its code's — read-only — or nobody's), threads it starts run a
//! function that ends them, it never ends a thread of its own or writes to the console,
//! and connections go only to its own channels and PEER's, never to proc's or the
//! console's (forged connection ids are above 32 bits, which no handle is).
//!
//! The main thread waits for the workers (or, once they make no call for 200 ms, for the
//! ones not blocked for good), then exits with the number of calls made; the driver checks that number and that the system is whole
//! afterwards.

use core::sync::atomic::{AtomicU64, Ordering};
use userlib::abi::ipc::{channel_flags, notify, SigEvent};
use userlib::abi::sched::Policy;
use userlib::abi::syscall::{mem_prot, timeout_states, Registers, Sysno};
use userlib::{sys, thread, time};

/// Worker threads.
const WORKERS: u64 = 4;
/// Buffers mapped at the start (each `BUFFER_PAGES` pages).
const BUFFERS: usize = 6;
const BUFFER_PAGES: usize = 4;
const PAGE: u64 = 4096;

/// A pool of values the calls made or the setup chose, shared by the workers: 32 slots,
/// overwritten round robin (0 is an empty slot).
struct Pool {
    slots: [AtomicU64; 32],
    next: AtomicU64,
}

impl Pool {
    const fn new() -> Self {
        Self { slots: [const { AtomicU64::new(0) }; 32], next: AtomicU64::new(0) }
    }

    fn add(&self, value: u64) {
        let at = self.next.fetch_add(1, Ordering::Relaxed) as usize % self.slots.len();
        self.slots[at].store(value, Ordering::Relaxed);
    }

    /// Empties the slots of buffers (address << 16 | pages) that start at `at`.
    fn forget_within(&self, at: u64) {
        for slot in &self.slots {
            let v = slot.load(Ordering::Relaxed);
            if v >> 16 == at {
                let _ = slot.compare_exchange(v, 0, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
    }

    /// A value from the pool, or `fallback` if the slot picked is empty.
    fn pick(&self, rand: &mut Rand, fallback: u64) -> u64 {
        match self.slots[rand.below(32) as usize].load(Ordering::Relaxed) {
            0 => fallback,
            v => v,
        }
    }
}

static CHIDS: Pool = Pool::new();
static COIDS: Pool = Pool::new();
static TIDS: Pool = Pool::new();
static RCVIDS: Pool = Pool::new();
static TIMERS: Pool = Pool::new();
/// Buffers of this process: address << 16 | pages.
static BUFFER_POOL: Pool = Pool::new();
/// Any value a call returned.
static VALUES: Pool = Pool::new();
/// The page of crafted I/O vectors and the page of crafted events.
static IOV_PAGE: AtomicU64 = AtomicU64::new(0);
static EVENT_PAGE: AtomicU64 = AtomicU64::new(0);
/// A read-only page of this process's.
static READ_ONLY: AtomicU64 = AtomicU64::new(0);
static PEER: AtomicU64 = AtomicU64::new(0);
static OWN_PID: AtomicU64 = AtomicU64::new(0);
static CALLS_MADE: AtomicU64 = AtomicU64::new(0);
static WORKERS_DONE: AtomicU64 = AtomicU64::new(0);

/// xorshift64*: a small deterministic generator.
struct Rand(u64);

impl Rand {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick(&mut self, from: &[u64]) -> u64 {
        from[self.below(from.len() as u64) as usize]
    }
}

/// What one argument is meant to be.
#[derive(Clone, Copy)]
enum Kind {
    /// A connection: this process's, or forged (above 32 bits: never a handle).
    Coid,
    Chid,
    Tid,
    Rcvid,
    Timer,
    /// A pid for calls that reach another process: 0, this one, the peer, proc (1).
    Pid,
    /// A pid to connect to: 0, this one, the peer, none.
    PeerPid,
    /// A user address anything may be read from or written to.
    Address,
    /// With the next argument, a range for `MemUnmap` or `MemProtect`: within one of the
    /// fuzz's buffers (never reaching a neighbouring mapping, which may be a stack), or
    /// nobody's ([`mapping_range`]).
    Range,
    /// A message buffer's size (negative: one buffer) or I/O vector count.
    Parts,
    Length,
    /// An address naming an event.
    Event,
    Sched,
    Prot,
    States,
    Nanoseconds,
    /// A periodic timer's interval: none, a millisecond or more, or past the clock's range.
    Period,
    ChannelFlags,
    /// Anything: small numbers, values seen, huge ones.
    Any,
    /// Left 0.
    Zero,
}

use Kind::*;

/// The call numbers made, and their arguments' kinds. (Left out: DebugWrite, whose
/// output would pollute the test log; ThreadDestroy and ProcessExit, which would end the
/// fuzz's own threads.)
const CALLS: &[(Sysno, [Kind; 8])] = &[
    (Sysno::Nop, [Zero, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ThreadCreate, [Zero, Any, Length, Sched, Zero, Zero, Zero, Zero]),
    (Sysno::ThreadJoin, [Tid, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::SchedGet, [Pid, Tid, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::SchedSet, [Pid, Tid, Sched, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::SchedYield, [Zero, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ProcessCreate, [Address, Length, Any, Any, Zero, Zero, Zero, Zero]),
    (Sysno::ProcessWait, [Pid, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemMapAnon, [Length, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemUnmap, [Range, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ClockTime, [Zero, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::Sleep, [Nanoseconds, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ThreadList, [Address, Length, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::GetIds, [Zero, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::Shutdown, [Any, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ChannelCreate, [ChannelFlags, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ChannelDestroy, [Chid, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ConnectAttach, [PeerPid, Chid, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ConnectDetach, [Coid, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ConnectClientInfo, [Any, Address, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgSendv, [Coid, Address, Parts, Address, Parts, Zero, Zero, Zero]),
    (Sysno::MsgReceivev, [Chid, Address, Parts, Address, Zero, Zero, Zero, Zero]),
    (Sysno::MsgReplyv, [Rcvid, Any, Address, Parts, Zero, Zero, Zero, Zero]),
    (Sysno::MsgError, [Rcvid, Any, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgReadv, [Rcvid, Address, Parts, Length, Zero, Zero, Zero, Zero]),
    (Sysno::MsgWritev, [Rcvid, Address, Parts, Length, Zero, Zero, Zero, Zero]),
    (Sysno::MsgInfo, [Rcvid, Address, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgSendPulse, [Coid, Any, Any, Any, Zero, Zero, Zero, Zero]),
    (Sysno::TimerTimeout, [States, Nanoseconds, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgRegisterEvent, [Event, Coid, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgUnregisterEvent, [Event, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgDeliverEvent, [Rcvid, Event, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::TimerCreate, [Event, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::TimerSettime, [Timer, Nanoseconds, Period, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::TimerDestroy, [Timer, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::InterruptAttachEvent, [Any, Event, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::InterruptDetach, [Any, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::InterruptMask, [Any, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::InterruptUnmask, [Any, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::SystemInfo, [Address, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgReplyReceivev, [Rcvid, Any, Address, Parts, Chid, Address, Parts, Address]),
    (Sysno::ProcessStart, [Pid, Any, Any, Any, Any, Any, Sched, Zero]),
    (Sysno::ProcessKill, [Pid, Any, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::ProcessChildEvent, [Event, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemObjectCreate, [Length, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemObjectResize, [Any, Length, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemObjectMap, [Pid, Any, Length, Length, Zero, Prot, Zero, Zero]),
    (Sysno::MemObjectClose, [Any, Zero, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemProtect, [Range, Zero, Prot, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MemObjectDevice, [Any, Length, Zero, Zero, Zero, Zero, Zero, Zero]),
    (Sysno::MsgReceivePulsev, [Chid, Address, Parts, Address, Zero, Zero, Zero, Zero]),
];

/// Calls more worth making often: the message-passing ones.
const MESSAGE_CALLS: &[Sysno] = &[
    Sysno::MsgSendv,
    Sysno::MsgSendv,
    Sysno::MsgReceivev,
    Sysno::MsgReceivev,
    Sysno::MsgReplyv,
    Sysno::MsgReplyReceivev,
    Sysno::MsgReceivePulsev,
    Sysno::MsgSendPulse,
    Sysno::MsgReadv,
    Sysno::MsgWritev,
    Sysno::MsgDeliverEvent,
    Sysno::MsgError,
    Sysno::ConnectAttach,
];

fn buffer(rand: &mut Rand) -> Option<(u64, u64)> {
    match BUFFER_POOL.pick(rand, 0) {
        0 => None,
        v => Some((v >> 16, v & 0xffff)),
    }
}

fn argument(kind: Kind, rand: &mut Rand) -> u64 {
    let own_pid = OWN_PID.load(Ordering::Relaxed);
    let peer = PEER.load(Ordering::Relaxed);
    let forged = |rand: &mut Rand| (1 << 32) | rand.next();
    match kind {
        Zero => 0,
        Coid => match rand.below(6) {
            0 => forged(rand),
            _ => {
                let fallback = forged(rand);
                COIDS.pick(rand, fallback)
            }
        },
        Chid => match rand.below(8) {
            0 => rand.below(8),
            1 => rand.next(),
            _ => CHIDS.pick(rand, 1),
        },
        Tid => match rand.below(6) {
            0 => rand.below(8),
            1 => rand.next(),
            _ => TIDS.pick(rand, 1),
        },
        Rcvid => match rand.below(8) {
            0 => 0,
            1 => rand.next(),
            2 => VALUES.pick(rand, 0),
            _ => RCVIDS.pick(rand, 0),
        },
        Timer => match rand.below(6) {
            0 => rand.next(),
            _ => TIMERS.pick(rand, 1),
        },
        Pid => rand.pick(&[0, own_pid, own_pid, peer, peer, 1, 0xffff_ffff, 1 << 40]),
        PeerPid => rand.pick(&[0, own_pid, peer, peer, 0xffff_ffff, 1 << 40]),
        Address => match rand.below(16) {
            0..=6 => match buffer(rand) {
                Some((at, pages)) => at + rand.pick(&[0, 0, 8, 100, PAGE - 8, PAGE - 1, pages * PAGE - 16]),
                None => 0,
            },
            7 => IOV_PAGE.load(Ordering::Relaxed),
            8 => EVENT_PAGE.load(Ordering::Relaxed) + 64 * rand.below(8),
            9 => READ_ONLY.load(Ordering::Relaxed) + rand.below(PAGE),
            10 => main_text(),
            11 => rand.pick(&[0, 1, 0x1000, 0x0000_ffff_ffff_f000, 0x0000_ffff_ffff_fff8, 0x0001_0000_0000_0000]),
            12 => rand.pick(&[0xffff_0000_4000_0000, 0xffff_0000_4020_0000, 0xffff_ffff_ffff_f000, u64::MAX]),
            13 => VALUES.pick(rand, 0),
            _ => rand.next(),
        },
        Range => 0, // (see `mapping_range`)
        Parts => match rand.below(10) {
            0 => rand.below(5),
            1 => rand.pick(&[1024, 1 << 31, u64::MAX >> 1]),
            2 => (-(rand.pick(&[4096, 8192, 65536, 1 << 20, 1 << 40]) as i64)) as u64,
            _ => (-(rand.pick(&[0, 1, 8, 16, 24, 64, 256, 1000]) as i64)) as u64,
        },
        Length => {
            let random = rand.next();
            rand.pick(&[
                0,
                1,
                8,
                64,
                4095,
                4096,
                4097,
                65536,
                1 << 20,
                16 << 20,
                (64 << 20) + 1,
                1 << 40,
                u64::MAX,
                random,
            ])
        }
        Event => match rand.below(8) {
            0..=5 => EVENT_PAGE.load(Ordering::Relaxed) + 64 * rand.below(8),
            _ => argument(Address, rand),
        },
        Sched => {
            let policy = rand.pick(&[Policy::Fifo as u64, Policy::RoundRobin as u64, 7]);
            let priority = rand.pick(&[0, 1, 5, 10, 20, 29, 63, 255, 256]);
            match rand.below(8) {
                0 => 0,
                1 => rand.next(),
                _ => policy << 8 | priority,
            }
        }
        Prot => rand.below(8) | rand.pick(&[0, 0, 0, 7 << 8, 1 << 20]),
        States => match rand.below(4) {
            0 => rand.next(),
            _ => rand.below(u64::from(timeout_states::ALL) + 1),
        },
        Nanoseconds => rand.pick(&[0, 1, 1000, 10_000, 100_000, 1_000_000, 2_000_000]),
        Period => rand.pick(&[0, 1_000_000, 2_000_000, 10_000_000, u64::MAX]),
        ChannelFlags => match rand.below(8) {
            0 => rand.next(),
            _ => rand.next() & u64::from(channel_flags::ALL),
        },
        Any => match rand.below(6) {
            0 => rand.below(8),
            1 => VALUES.pick(rand, 0),
            2 => rand.pick(&[u32::MAX as u64, u64::MAX, 1 << 32, 1 << 63, 4096]),
            _ => rand.next(),
        },
    }
}

/// A range for `MemUnmap` or `MemProtect`: whole pages of one of the fuzz's buffers, the
/// start perhaps a byte in (the range still ends inside the buffer: the whole pages it
/// covers must not reach the next mapping, which may be a worker's stack), or nobody's
/// memory with any length.
fn mapping_range(rand: &mut Rand) -> (u64, u64) {
    match (rand.below(8), buffer(rand)) {
        (0..=5, Some((at, pages))) => {
            let first = rand.below(pages);
            let count = 1 + rand.below(pages - first);
            let nudge = rand.pick(&[0, 0, 0, 1]);
            (at + first * PAGE + nudge, count * PAGE - nudge)
        }
        _ => {
            let beyond_user_space = (rand.next() | 1 << 48) & !0xfff;
            let at = rand.pick(&[0, 0x1000, 0xffff_0000_4000_0000, !0xfff, beyond_user_space]);
            (at, argument(Length, rand))
        }
    }
}

/// An address in this program's code: readable, never writable.
fn main_text() -> u64 {
    argument as *const () as usize as u64
}

/// What a thread that `ThreadCreate` started does: ends, without touching its stack (a
/// worker may have made it read-only meanwhile, or unmapped a buffer whose stale address
/// another then protects).
#[unsafe(naked)]
extern "C" fn thread_start(_: usize) -> ! {
    core::arch::naked_asm!(
        "mov x0, #0", // ThreadDestroy(0: the caller, status 0)
        "mov x1, #0",
        "mov x8, #{destroy}",
        "svc #0",
        "udf #0",
        destroy = const Sysno::ThreadDestroy as u64,
    )
}

/// Remembers what a call that succeeded made.
fn record(number: Sysno, args: &[u64; 8], x0: u64, x1: u64) {
    VALUES.add(x0);
    match number {
        // (Only these return a second value: x1 otherwise holds an older value of the
        // thread's own — a stack address, say — which is no result.)
        Sysno::SchedGet | Sysno::ProcessWait => VALUES.add(x1),
        Sysno::ChannelCreate => CHIDS.add(x0),
        Sysno::ConnectAttach => COIDS.add(x0),
        Sysno::ThreadCreate => TIDS.add(x0),
        Sysno::TimerCreate => TIMERS.add(x0),
        Sysno::MsgReceivev | Sysno::MsgReplyReceivev if x0 != 0 => RCVIDS.add(x0),
        Sysno::MemUnmap => BUFFER_POOL.forget_within(args[0]),
        Sysno::MemMapAnon if args[0] <= 16 << 20 => {
            let pages = args[0].div_ceil(PAGE).min(0xffff);
            BUFFER_POOL.add(x0 << 16 | pages);
        }
        _ => {}
    }
}

fn worker(seed: u64, calls: u64) {
    let mut rand = Rand(seed | 1);
    for _ in 0..calls {
        // Nearly every call is bounded, so that a worker rarely blocks for good.
        if rand.below(256) != 0 {
            let ns = rand.pick(&[10_000, 100_000, 500_000, 2_000_000]);
            let _ = sys::timer_timeout(timeout_states::ALL, ns);
        }
        let number = match rand.below(3) {
            0 => MESSAGE_CALLS[rand.below(MESSAGE_CALLS.len() as u64) as usize],
            _ => CALLS[rand.below(CALLS.len() as u64) as usize].0,
        };
        let kinds = CALLS.iter().find(|(n, _)| *n == number).map_or([Any; 8], |(_, k)| *k);
        let mut args = [0u64; 8];
        for (arg, kind) in args.iter_mut().zip(kinds) {
            *arg = argument(kind, &mut rand);
        }
        if matches!(number, Sysno::MemUnmap | Sysno::MemProtect) {
            (args[0], args[1]) = mapping_range(&mut rand);
        }
        if number == Sysno::ThreadCreate {
            args[0] = thread_start as *const () as usize as u64;
        }
        // Now and then a number no call has.
        let raw = match rand.below(64) {
            0 => rand.pick(&[54, 63, 64, 1000, u64::MAX]),
            _ => number as u64,
        };
        // SAFETY: the arguments point only at memory the fuzz gives the kernel to use as
        // it likes (its buffers, its crafted pages), at its code (read-only: any write
        // there fails), or at nothing; `MemUnmap` and `MemProtect` only ever name its
        // buffers; `ThreadCreate` starts `thread_start`. See the module's comment.
        let (x0, x1) = unsafe { sys::syscall(Registers { number: raw, args }) };
        CALLS_MADE.fetch_add(1, Ordering::Relaxed);
        if userlib::abi::syscall::decode_result(x0).is_ok() {
            record(number, &args, x0, x1);
        }
    }
}

/// Maps the fuzz's buffers, fills them with noise, crafts its I/O vectors and events, and
/// makes its first channels and connections.
fn set_up(rand: &mut Rand) -> Result<(), userlib::Errno> {
    for _ in 0..BUFFERS {
        let at = sys::mem_map_anon(BUFFER_PAGES * PAGE as usize)?;
        // SAFETY: the fresh mapping is this process's, BUFFER_PAGES pages long.
        let words = unsafe { core::slice::from_raw_parts_mut(at as *mut u64, BUFFER_PAGES * 512) };
        for w in words.iter_mut() {
            *w = rand.next();
        }
        BUFFER_POOL.add((at as u64) << 16 | BUFFER_PAGES as u64);
    }
    for _ in 0..3 {
        let chid = sys::channel_create(rand.next() as u32 & channel_flags::ALL)?;
        CHIDS.add(chid as u64);
        COIDS.add(sys::connect_attach(0, chid)? as u64);
    }
    let peer = PEER.load(Ordering::Relaxed);
    if peer != 0 {
        for chid in 1..5 {
            if let Ok(coid) = sys::connect_attach(peer as u32, chid) {
                COIDS.add(coid as u64);
            }
        }
    }
    // I/O vectors: (address, length) pairs pointing at buffers, the code, nothing, the
    // kernel.
    let iov = sys::mem_map_anon(PAGE as usize)?;
    // SAFETY: a fresh page of this process's.
    let pairs = unsafe { core::slice::from_raw_parts_mut(iov as *mut u64, 512) };
    for pair in pairs.chunks_mut(2) {
        pair[0] = argument(Address, rand);
        pair[1] = rand.pick(&[0, 1, 16, 100, 4096, 8192, 1 << 20, u64::MAX]);
    }
    IOV_PAGE.store(iov as u64, Ordering::Relaxed);
    // Events: pulses through its connections (some forged), unblocks, none, nonsense.
    let events = sys::mem_map_anon(PAGE as usize)?;
    for i in 0..8 {
        let event = SigEvent {
            notify: rand.pick(&[
                notify::PULSE as u64,
                notify::PULSE as u64,
                notify::UNBLOCK as u64,
                notify::NONE as u64,
                77,
            ]) as u32,
            coid: argument(Coid, rand) as u32,
            priority: rand.pick(&[0, 1, 10, 40, 255]) as u8,
            code: rand.below(256) as i8,
            handle: 0,
            value: rand.next(),
        };
        // SAFETY: 64-byte slots of a fresh page of this process's; an event is smaller.
        unsafe { core::ptr::write_unaligned((events + 64 * i) as *mut [u8; SigEvent::SIZE], event.to_bytes()) };
    }
    EVENT_PAGE.store(events as u64, Ordering::Relaxed);
    let read_only = sys::mem_map_anon(PAGE as usize)?;
    // SAFETY: the page is this process's own and nothing of Rust's lives in it.
    unsafe { sys::mem_protect(read_only, PAGE as usize, mem_prot::READ)? };
    READ_ONLY.store(read_only as u64, Ordering::Relaxed);
    Ok(())
}

/// Runs the fuzz; returns the calls made (the exit status).
pub fn run(seed: u64, calls: u64, peer: u64) -> i32 {
    PEER.store(peer, Ordering::Relaxed);
    OWN_PID.store(userlib::process::id() as u64, Ordering::Relaxed);
    let mut rand = Rand(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    if let Err(e) = set_up(&mut rand) {
        userlib::println!("systest-child: fuzz set-up failed: {e}");
        return -1;
    }
    for w in 0..WORKERS {
        let seed = rand.next();
        let spawned = thread::Builder::new().spawn(move || {
            worker(seed ^ w, calls);
            WORKERS_DONE.fetch_add(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            return -2;
        }
    }
    // A worker may have made this thread's priority anything: it still runs whenever the
    // workers block or end. Workers that made no call for 200 ms are blocked for good.
    let (mut last, mut still) = (0, 0);
    while WORKERS_DONE.load(Ordering::SeqCst) < WORKERS && still < 10 {
        time::sleep_ns(20_000_000);
        let made = CALLS_MADE.load(Ordering::SeqCst);
        still = if made == last { still + 1 } else { 0 };
        last = made;
    }
    CALLS_MADE.load(Ordering::SeqCst).min(i32::MAX as u64) as i32
}
