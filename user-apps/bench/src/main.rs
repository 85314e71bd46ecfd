//! `bench`: Muon's IPC benchmarks, pid 1 of the `bench` boot image (`make bench`).
//!
//! Each benchmark repeats an operation and divides the PMU's retired-instruction count
//! (event counter 0, which the kernel sets up and lets EL0 read) by the repetitions, after
//! a warm-up. The count covers everything the CPU executes — both processes and the kernel
//! — so a round trip includes both sides and the context switches. Under QEMU with
//! `-icount shift=0,align=off,sleep=off` the result is exact and the same on every run.
//! Calls are made raw (`sys::syscall`), so library layers add only the register set-up.
//! Output: one `bench NAME INSTRUCTIONS` line per benchmark, then `bench done`; with
//! `--shutdown` (the bench image) it then stops the machine, else it just exits (the shell).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use core::sync::atomic::{AtomicU64, Ordering};
use userlib::abi::info::SystemInfo;
use userlib::abi::ipc::{single_buffer_parts, SigEvent};
use userlib::abi::sched::{Policy, SchedParam};
use userlib::abi::syscall::{decode_result, Call};
use userlib::{println, process, sys, thread, Args};

userlib::entry!(main);

const ITERATIONS: u64 = 1000;
const WARMUP: u64 = 100;
const PEER: &str = "bench-peer";

/// (Always inlined: each benchmark's call is then a few register moves, as a program's
/// own would be, not a match over every call.)
#[inline(always)]
fn call(c: Call) -> u64 {
    // SAFETY: every call below names only this program's own, live buffers and objects.
    let (x0, _) = unsafe { sys::syscall(c.to_registers()) };
    match decode_result(x0) {
        Ok(v) => v,
        Err(e) => panic!("{c:?}: {e}"),
    }
}

/// Instructions retired so far (all exception levels).
fn instructions() -> u64 {
    let count: u64;
    // SAFETY: reading PMEVCNTR0_EL0 has no side effects; the kernel enabled EL0 access.
    unsafe { core::arch::asm!("isb", "mrs {c}, pmevcntr0_el0", c = out(reg) count) };
    count
}

/// Instructions per repetition of `op`.
fn measure(mut op: impl FnMut()) -> u64 {
    for _ in 0..WARMUP {
        op();
    }
    let start = instructions();
    measured_loop_starts();
    for _ in 0..ITERATIONS {
        op();
    }
    measured_loop_ends();
    (instructions() - start) / ITERATIONS
}

/// Marks where a measured loop starts, for `muon-runner profile` (which counts only what
/// runs between this and [`measured_loop_ends`]); costs a call and a return.
#[no_mangle]
#[inline(never)]
extern "C" fn measured_loop_starts() {
    // SAFETY: an empty asm statement (it keeps the function from being merged away).
    unsafe { core::arch::asm!("", options(nomem, nostack)) };
}

/// Marks where a measured loop ends (see [`measured_loop_starts`]).
#[no_mangle]
#[inline(never)]
extern "C" fn measured_loop_ends() {
    // SAFETY: as above.
    unsafe { core::arch::asm!("nop", options(nomem, nostack)) };
}

fn report(name: &str, instructions: u64) {
    if instructions > 0 {
        COUNTED.store(true, Ordering::Relaxed);
    }
    println!("bench {name:<34} {instructions:>10}");
}

/// Whether any benchmark counted instructions.
static COUNTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Runs the benchmarks named in the arguments (all of them when there are none).
fn main(args: Args) -> i32 {
    // `--shutdown` (the bench image's) stops the machine at the end; other arguments
    // name the benchmarks to run (none: all).
    let shutdown = args.iter().any(|a| a == "--shutdown");
    let named = args.iter().skip(1).filter(|a| *a != "--shutdown").count();
    let wanted = |name: &str| named == 0 || args.iter().skip(1).any(|a| a == name);
    if wanted("null_syscall") {
        report(
            "null_syscall",
            measure(|| {
                call(Call::Nop);
            }),
        );
    }
    // The recommended server loop answers and waits in one call (MsgReplyReceivev); the
    // plain MsgReply-then-MsgReceive loop is reported as `null_msg_roundtrip_separate`.
    for (name, bytes) in [("null_msg_roundtrip", 0usize), ("msg_256b_roundtrip", 256), ("msg_4k_roundtrip", 4096)] {
        if wanted(name) {
            report(name, roundtrip(bytes, "server-fused"));
        }
    }
    if wanted("null_msg_roundtrip_separate") {
        report("null_msg_roundtrip_separate", roundtrip(0, "server"));
    }
    // The same round trip with priority inheritance turned off: the difference is what
    // inheritance costs on the uncontended path.
    if wanted("null_msg_roundtrip_fixed_priority") {
        let fixed = userlib::abi::ipc::channel_flags::FIXED_PRIORITY;
        report("null_msg_roundtrip_fixed_priority", roundtrip_on(0, "server-fused", fixed));
    }
    if wanted("pulse_to_blocked_receiver") {
        report("pulse_to_blocked_receiver", pulse_to_blocked_receiver());
    }
    if wanted("yield_pair") {
        report("yield_pair", yield_pair());
    }
    if wanted("irq_to_user_thread") {
        report("irq_to_user_thread", irq_to_user_thread(Wait::Receive));
    }
    if wanted("irq_to_user_thread_pulse") {
        report("irq_to_user_thread_pulse", irq_to_user_thread(Wait::ReceivePulse));
    }
    if wanted("pipe_roundtrip_1b") {
        report("pipe_roundtrip_1b", pipe_roundtrip());
    }
    if wanted("mq_roundtrip_1b") {
        report("mq_roundtrip_1b", mq_roundtrip());
    }
    if wanted("pipe_throughput_64k") {
        report("pipe_throughput_64k", pipe_throughput());
    }
    println!("bench done");
    let counted = COUNTED.load(Ordering::Relaxed);
    if !shutdown && !counted {
        println!("(this CPU's PMU counted no instructions: under QEMU they are counted only with -icount, as `make bench` runs)");
    }
    for pid in PEERS.lock().drain(..) {
        let _ = userlib::proc::kill(pid, 0);
        let _ = process::wait(pid);
    }
    if shutdown {
        process::shutdown(0);
        return 1;
    }
    0
}

/// Starts a peer at `priority`; a higher priority than ours runs it at once, so it is
/// waiting in MsgReceive on its channel 1 when this returns.
fn peer(args: &[&str], priority: u8) -> u32 {
    let pid = process::spawn(PEER, args, Some(priority)).expect("spawn bench-peer");
    PEERS.lock().push(pid);
    pid
}

/// Every peer started, to end them when the benchmarks are done.
static PEERS: userlib::sync::Mutex<alloc::vec::Vec<u32>> = userlib::sync::Mutex::new(alloc::vec::Vec::new());

fn roundtrip(bytes: usize, server_loop: &str) -> u64 {
    roundtrip_on(bytes, server_loop, 0)
}

/// A round trip to a server whose channel has `flags`.
fn roundtrip_on(bytes: usize, server_loop: &str, flags: u32) -> u64 {
    let size = alloc::format!("{bytes}");
    let flags = alloc::format!("{flags}");
    let server = peer(&[server_loop, &size, &flags], 30);
    let coid = call(Call::ConnectAttach { pid: server, chid: 1 }) as u32;
    let message = vec![0x5au8; bytes.max(1)];
    let mut reply = vec![0u8; bytes.max(1)];
    let parts = single_buffer_parts(bytes);
    let (send, receive) = (message.as_ptr() as usize, reply.as_mut_ptr() as usize);
    measure(|| {
        call(Call::MsgSendv { coid, send, send_parts: parts, reply: receive, reply_parts: parts });
    })
}

/// A pulse of priority 30 to a receiver blocked in MsgReceive: it runs at the pulse's
/// priority, above ours (20), so it takes the CPU at once, then blocks again.
fn pulse_to_blocked_receiver() -> u64 {
    let receiver = peer(&["pulses"], 30);
    let coid = call(Call::ConnectAttach { pid: receiver, chid: 1 }) as u32;
    measure(|| {
        call(Call::MsgSendPulse { coid, priority: 30, code: 1, value: 0 });
    })
}

/// One byte to a peer process through one pipe, and back through another: the pipe
/// server and both processes, all included.
fn pipe_roundtrip() -> u64 {
    let (there_read, there, a) = userlib::fs::pipe_numbered(0).expect("pipe");
    let (back, back_write, b) = userlib::fs::pipe_numbered(0).expect("pipe");
    let echo = peer(&["pipe-echo", &alloc::format!("{a}"), &alloc::format!("{b}")], 20);
    let mut byte = [7u8; 1];
    let result = measure(|| {
        there.write(&byte).expect("write");
        back.read(&mut byte).expect("read");
    });
    drop((there, there_read, back_write));
    let _ = process::wait(echo);
    result
}

/// One byte through a queue to a peer process and back through another.
fn mq_roundtrip() -> u64 {
    use userlib::mq::{mq_open, mq_unlink};
    use userlib::msg::open_flags::{O_CREAT, O_RDWR};
    let there = mq_open("/bench-there", O_RDWR | O_CREAT, 0o600, Some((4, 1024))).expect("mq_open");
    let back = mq_open("/bench-back", O_RDWR | O_CREAT, 0o600, Some((4, 1024))).expect("mq_open");
    let echo = peer(&["mq-echo", "/bench-there", "/bench-back"], 20);
    let mut buffer = vec![0u8; 1024];
    let result = measure(|| {
        there.send(&[7], 0).expect("mq_send");
        back.receive(&mut buffer).expect("mq_receive");
    });
    let _ = (mq_unlink("/bench-there"), mq_unlink("/bench-back"));
    let _ = echo;
    result
}

/// Instructions to move 64 KiB through a pipe to a peer process that drains it.
fn pipe_throughput() -> u64 {
    let (read_end, write_end, number) = userlib::fs::pipe_numbered(0).expect("pipe");
    let drain = peer(&["pipe-drain", &alloc::format!("{number}")], 20);
    drop(read_end);
    let block = vec![0x33u8; 64 * 1024];
    let mut per_block = 0;
    for round in 0..2 {
        let rounds = if round == 0 { 5 } else { 50 };
        let start = instructions();
        for _ in 0..rounds {
            write_end.write_all(&block).expect("write");
        }
        per_block = (instructions() - start) / rounds;
    }
    drop(write_end);
    let _ = process::wait(drain);
    per_block
}

fn yield_pair() -> u64 {
    let rounds = alloc::format!("{}", WARMUP + ITERATIONS + 10);
    let partner = peer(&["yield", &rounds], 20);
    let per_pair = measure(|| {
        call(Call::SchedYield);
    });
    let _ = process::wait(partner);
    per_pair
}

static IRQ_RAISED_AT: AtomicU64 = AtomicU64::new(0);
static IRQ_SEEN_AT: AtomicU64 = AtomicU64::new(0);

/// How the interrupt's handler thread waits for its pulse.
#[derive(Clone, Copy)]
enum Wait {
    /// `MsgReceivev`, as a resource manager's loop does.
    Receive,
    /// `MsgReceivePulsev`, as a QNX driver's interrupt thread usually does.
    ReceivePulse,
}

/// The EL1 virtual timer fires at once (TVAL 0); a higher-priority thread of this process
/// waits for its pulse (`wait`). Measured: from arming the timer to that thread running.
fn irq_to_user_thread(wait: Wait) -> u64 {
    let mut info = [0u8; SystemInfo::SIZE];
    call(Call::SystemInfo { info: info.as_mut_ptr() as usize });
    let irq = SystemInfo::from_bytes(&info).expect("SystemInfo").virtual_timer_irq;
    let chid = call(Call::ChannelCreate { flags: 0 }) as u32;
    let coid = call(Call::ConnectAttach { pid: 0, chid }) as u32;
    let event = SigEvent::pulse(coid, 40, 2, 0).to_bytes();
    // SAFETY: the call reads only `event`, a live local buffer.
    let (attached, _) =
        unsafe { sys::syscall(Call::InterruptAttachEvent { irq, event: event.as_ptr() as usize }.to_registers()) };
    let attachment = match decode_result(attached) {
        Ok(id) => id as u32,
        Err(e) => {
            // Taking a device's interrupt needs I/O privilege, which proc gives boot
            // programs: `bench` started from the shell has none (`make bench` boots it).
            println!("irq_to_user_thread: {e} (run as a boot program: make bench)");
            return 0;
        }
    };
    let handler = thread::Builder::new()
        .sched(SchedParam { policy: Policy::Fifo, priority: 40 })
        .spawn(move || {
            let mut buffer = [0u8; 64];
            let (buffer, parts) = (buffer.as_mut_ptr() as usize, -64);
            loop {
                let receive = match wait {
                    Wait::Receive => Call::MsgReceivev { chid, buffer, parts, info: 0 },
                    Wait::ReceivePulse => Call::MsgReceivePulsev { chid, buffer, parts, info: 0 },
                };
                // SAFETY: the call writes only `buffer`, this thread's live local.
                let (received, _) = unsafe { sys::syscall(receive.to_registers()) };
                if decode_result(received).is_err() {
                    return; // the channel went: this benchmark is over
                }
                IRQ_SEEN_AT.store(instructions(), Ordering::SeqCst);
                // Quiet the device (level-triggered), then let it interrupt again.
                // SAFETY: EL0 owns the virtual timer (CNTKCTL_EL1.EL0VTEN); disabling it
                // touches nothing else.
                unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "isb") };
                call(Call::InterruptUnmask { id: attachment });
            }
        })
        .expect("handler thread");
    let round = || {
        IRQ_RAISED_AT.store(instructions(), Ordering::SeqCst);
        // SAFETY: as above: arm the virtual timer to fire now. The handler, of higher
        // priority, runs before this thread continues.
        unsafe { core::arch::asm!("msr cntv_tval_el0, xzr", "msr cntv_ctl_el0, {one}", "isb", one = in(reg) 1u64) };
        IRQ_SEEN_AT.load(Ordering::SeqCst).saturating_sub(IRQ_RAISED_AT.load(Ordering::SeqCst))
    };
    for _ in 0..WARMUP {
        round();
    }
    // (`muon-runner profile` counts whole rounds: the interrupt, the handler's
    // InterruptUnmask and MsgReceive, and the return here.)
    measured_loop_starts();
    let total: u64 = (0..ITERATIONS).map(|_| round()).sum();
    measured_loop_ends();
    // The next such benchmark takes the interrupt afresh; this handler ends.
    call(Call::InterruptDetach { id: attachment });
    call(Call::ChannelDestroy { chid });
    call(Call::ConnectDetach { id: coid });
    let _ = handler.join();
    total / ITERATIONS
}
