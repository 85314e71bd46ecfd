//! `systest-child`: what the system tests run in separate processes, chosen by argv[1].
//! Each mode reports through its exit status, which the driver (`systest`) decodes.
//!
//! * `busy BASE MS` — spin for MS ms without making a system call (reading the counter
//!   register directly, so only an interrupt can take the CPU away); status: start ms |
//!   end ms << 10 | gaps of over 1 ms seen << 20 (times relative to the driver's
//!   ClockTime reading BASE).
//! * `sleep BASE MS` — sleep MS ms; status: lateness in µs (≤ 32767) | woke early << 15 |
//!   wake-up ms << 16.
//! * `fault null|text|kernel|stack|undef|align` — take that fault (the process must be
//!   killed).
//! * `peek ADDRESS SECRET` — read the word at ADDRESS: status 2 if it is SECRET (isolation
//!   broken), 0 otherwise (or killed, if nothing is mapped there).
//! * `unprivileged` — privileged calls, and priorities above 63 (threads, the process's
//!   own, children, pulses, events), must fail with EPERM; status: how many did not.
//! * `exit N` — exit with status N.
//! * `hog MIB` — map MIB MiB of anonymous memory and exit (status 0), leaving it to the
//!   kernel to take back; status 1 if the mapping failed.
//! * `fuzz SEED CALLS PEER` — every system call with arguments chosen to hurt, from four
//!   threads (`fuzz.rs`); status: the calls made.

#![no_std]
#![no_main]

use userlib::abi::sched::{Policy, SchedParam};
use userlib::{println, sys, time, Args};

mod fuzz;

userlib::entry!(main);

fn number(args: &Args, index: usize) -> u64 {
    let text = args.get(index).unwrap_or("0");
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap_or(0),
        None => text.parse().unwrap_or(0),
    }
}

fn main(args: Args) -> i32 {
    match args.get(1).unwrap_or("") {
        "busy" => busy(number(&args, 2), number(&args, 3)),
        "sleep" => sleep(number(&args, 2), number(&args, 3)),
        "fault" => fault(args.get(2).unwrap_or("")),
        "peek" => peek(number(&args, 2) as usize, number(&args, 3)),
        "unprivileged" => unprivileged(),
        "exit" => number(&args, 2) as i32,
        "family" => family(),
        "hog" => i32::from(sys::mem_map_anon((number(&args, 2) as usize) << 20).is_err()),
        "fuzz" => fuzz::run(number(&args, 2), number(&args, 3), number(&args, 4)),
        other => {
            println!("systest-child: unknown mode {other:?}");
            99
        }
    }
}

fn ms_since(base: u64, now: u64) -> u64 {
    (now.saturating_sub(base) / 1_000_000).min(1023)
}

/// Nanoseconds since boot from the virtual counter, which EL0 may read (no system call).
fn counter_ns() -> u64 {
    let (count, hz): (u64, u64);
    // SAFETY: reading CNTVCT_EL0 / CNTFRQ_EL0 has no side effects; the kernel lets EL0
    // read them (CNTKCTL_EL1).
    unsafe {
        core::arch::asm!("isb", "mrs {c}, cntvct_el0", "mrs {f}, cntfrq_el0", c = out(reg) count, f = out(reg) hz);
    }
    (count as u128 * 1_000_000_000 / hz.max(1) as u128) as u64
}

fn busy(base: u64, ms: u64) -> i32 {
    let start = counter_ns();
    let mut last = start;
    let mut gaps = 0u64;
    while last - start < ms * 1_000_000 {
        let now = counter_ns();
        if now - last > 1_000_000 {
            gaps += 1; // another thread ran in between
        }
        last = now;
    }
    (ms_since(base, start) | ms_since(base, last) << 10 | gaps.min(255) << 20) as i32
}

fn sleep(base: u64, ms: u64) -> i32 {
    let deadline = time::now_ns() + ms * 1_000_000;
    time::sleep_ns(ms * 1_000_000);
    let woke = time::now_ns();
    let late_us = (woke.saturating_sub(deadline) / 1000).min(32767);
    let early = (woke < deadline) as u64;
    (late_us | early << 15 | ms_since(base, woke) << 16) as i32
}

/// Starts a child of its own (in its process group, as POSIX children are), then sleeps
/// a minute: a job with a program it started, for the process-group tests.
fn family() -> i32 {
    match userlib::process::spawn("systest-child", &["sleep", "0", "60000"], None) {
        Ok(_) => sleep(0, 60_000),
        Err(e) => e.0 as i32,
    }
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0; // never: the stack runs out first
    }
    let frame = [depth; 512];
    core::hint::black_box(&frame);
    recurse(depth + 1) + frame[depth as usize % 512]
}

fn fault(kind: &str) -> i32 {
    // SAFETY (for every arm): deliberately not sound — each access must fault, and the
    // kernel must kill this process; the driver checks the exception class it reports.
    unsafe {
        match kind {
            "null" => core::ptr::write_volatile(core::ptr::null_mut::<u64>(), 1),
            "text" => core::ptr::write_volatile(main as *const () as *mut u64, 1),
            "kernel" => {
                core::ptr::read_volatile(0xffff_0000_4020_0000 as *const u64);
            }
            "stack" => {
                recurse(0);
            }
            "undef" => core::arch::asm!("udf #0"),
            "align" => {
                // Exclusive loads must be aligned, even on Normal memory.
                let word = [0u64; 2];
                let odd = (word.as_ptr() as usize) + 1;
                core::arch::asm!("ldxr {v}, [{a}]", a = in(reg) odd, v = out(reg) _);
            }
            _ => return 98,
        }
    }
    97 // the fault did not happen
}

fn peek(address: usize, secret: u64) -> i32 {
    // SAFETY: deliberately unchecked: if nothing is mapped at `address` in this process the
    // kernel kills it (which the driver accepts); if something is, it is this process's own.
    let value = unsafe { core::ptr::read_volatile(address as *const u64) };
    if value == secret {
        2
    } else {
        0
    }
}

fn unprivileged() -> i32 {
    let mut wrong = 0;
    let mut expect_eperm = |what: &str, result: Result<(), userlib::Errno>| {
        if result != Err(userlib::Errno::EPERM) {
            println!("systest-child: {what} gave {result:?}, want EPERM");
            wrong += 1;
        }
    };
    expect_eperm("ProcessCreate", sys::process_create("intruder", 0, 0, 0).map(|_| ()));
    let param = SchedParam { policy: Policy::Fifo, priority: 10 };
    expect_eperm("ProcessStart", sys::process_start(1, 0x40_0000, 0x7000_0000, [0; 3], param).map(|_| ()));
    expect_eperm("ProcessKill", sys::process_kill(1, 0));
    expect_eperm("ProcessKill of a group", sys::process_group_kill(1, 0));
    expect_eperm("MemObjectCreate", sys::mem_object_create(4096).map(|_| ()));
    expect_eperm("MemObjectResize", sys::mem_object_resize(1, 0));
    expect_eperm("Shutdown", sys::shutdown(3).map(|_| ()));
    expect_eperm("MemObjectDevice", sys::mem_object_device(0x0900_0000, 4096).map(|_| ()));
    let high = SchedParam { policy: Policy::Fifo, priority: 200 };
    expect_eperm("SchedSet of pid 1", sys::sched_set(1, 1, high));
    // Priorities above 63 are the system programs' (a boot program started this one).
    let above = SchedParam { policy: Policy::Fifo, priority: 64 };
    expect_eperm("SchedSet of itself at 64", sys::sched_set(0, 0, above));
    let thread = userlib::thread::Builder::new().sched(above).spawn(|| {});
    expect_eperm("a thread at 64", thread.map(|_| ()));
    let child = userlib::process::spawn("systest-child", &["exit", "0"], Some(64));
    expect_eperm("a child at 64", child.map(|_| ()));
    // proc: stopping the machine and the system's places of the pathname space are the
    // system programs' (a spawned program took /dev/mqueue/q's opens from mqueue).
    expect_eperm("proc's SHUTDOWN", Err(userlib::proc::shutdown(3)));
    let prefixes = userlib::ipc::Channel::create(0);
    // (The servers beneath whose directories it tries are up: they start at boot.)
    for _ in 0..1000 {
        if userlib::proc::resolve("/dev/mqueue").is_ok() && userlib::proc::resolve("/dev/pipe").is_ok() {
            break;
        }
        userlib::time::sleep_ns(1_000_000);
    }
    if let Ok(c) = &prefixes {
        for path in ["/", "/dev/mqueue/q", "/dev/pipe/7"] {
            expect_eperm(path, userlib::proc::path_attach(path, c.chid(), 0).map(drop));
        }
    }
    let channel = userlib::ipc::Channel::create(0);
    let connection = channel.as_ref().map_err(|e| *e).and_then(|c| userlib::ipc::Connection::attach(0, c.chid()));
    match connection {
        Ok(me) => {
            expect_eperm("a pulse at 64", me.send_pulse(Some(64), 1, 0));
            expect_eperm("a timer's pulse at 64", userlib::ipc::Timer::create(&me.pulse_event(64, 1, 0)).map(|_| ()));
            if me.send_pulse(Some(63), 1, 0).is_err() {
                println!("systest-child: a pulse at 63 was refused");
                wrong += 1;
            }
        }
        Err(e) => {
            println!("systest-child: no channel: {e}");
            wrong += 1;
        }
    }
    // A prefix of its own elsewhere, any program may serve.
    if let Ok(c) = &prefixes {
        if let Err(e) = userlib::proc::path_attach("/unprivileged-own", c.chid(), 0) {
            println!("systest-child: a prefix of its own: {e}");
            wrong += 1;
        }
    }
    wrong
}
