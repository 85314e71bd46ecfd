//! Every system call, with arguments chosen to hurt: from several processes (one with I/O
//! privilege) and threads, random call numbers (valid and not) with handles current,
//! stale and forged, buffers good, read-only, unmapped, in the kernel's half, straddling
//! the end of user space or of a mapping, lengths and counts zero, huge and negative —
//! interleaved with clock ticks, interrupts and unblock events, and with interrupts
//! pending during long copies (calls stopped and made again, or abandoned). The kernel must answer
//! every one (an error is fine) without panicking, and keep its scheduler's books
//! straight: the brief's "the kernel never panics because of user space", tried on the
//! whole ABI rather than call by call.

use crate::process::ProcessId;
use crate::sleepers::Wake;
use crate::system::System;
use crate::testing::{check_wakeup_cache, switch_to, system, FakeMachine, Rand};
use crate::thread::{Blocked, ThreadId, ThreadState};
use abi::ipc::{notify, SigEvent};
use abi::syscall::{decode_result, Registers, Sysno};
use abi::Errno;
use std::vec::Vec;

type Sys = System<FakeMachine>;
std::thread_local! {
    /// Calls made (to check the test really makes many).
    static CALLS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
    /// Calls an interrupt stopped in a long copy that were made again.
    static COPY_RESTARTS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// What the callers have made so far, to feed back as arguments.
#[derive(Default)]
struct Seen {
    /// Every value a call returned (handles, rcvids, pids, addresses…).
    values: Vec<u64>,
    /// Mapped user buffers, by process: (pid, address).
    buffers: Vec<(ProcessId, u64)>,
    /// Those of them long enough for a copy an interrupt can stop (`LONG_BUFFER` bytes).
    long_buffers: Vec<(ProcessId, u64)>,
    /// Processes, channels (any process's: a chid is meant with its pid), connections
    /// and rcvids made so far.
    pids: Vec<u64>,
    chids: Vec<u64>,
    coids: Vec<u64>,
    rcvids: Vec<u64>,
    /// Timers and interrupt routes made so far.
    timers: Vec<u64>,
    routes: Vec<u64>,
    /// Every rcvid a receive has given a thread (seen in its x0 after a step).
    delivered: std::collections::HashSet<u64>,
}

/// Adds `v` to `pool`, which keeps its 64 latest.
fn remember(pool: &mut Vec<u64>, v: u64) {
    if !pool.contains(&v) {
        if pool.len() >= 64 {
            pool.remove(0);
        }
        pool.push(v);
    }
}

/// Arguments for the calls that need several right at once to get anywhere (a
/// connection, then a message on it, its receipt and reply), most of them right, some
/// not; `None` for the other calls.
fn typed_arguments(number: u64, rand: &mut Rand, seen: &Seen, pid: ProcessId) -> Option<[u64; 8]> {
    let one = |rand: &mut Rand, pool: &Vec<u64>, fallback: u64| {
        if pool.is_empty() || rand.below(8) == 0 {
            fallback
        } else {
            rand.pick(pool)
        }
    };
    let own: Vec<u64> = seen.buffers.iter().filter(|(p, _)| *p == pid).map(|(_, at)| *at).collect();
    let own_long: Vec<u64> = seen.long_buffers.iter().filter(|(p, _)| *p == pid).map(|(_, at)| *at).collect();
    // A buffer of the caller's (mostly), and its parts: one buffer of a length, or a few
    // I/O vector entries (read from wherever it points); now and then a whole long one,
    // for copies an interrupt can stop (which two random buffers rarely make).
    let buffer = |rand: &mut Rand| -> (u64, u64) {
        if !own_long.is_empty() && rand.below(3) == 0 {
            return (rand.pick(&own_long), (-(LONG_BUFFER as i64)) as u64);
        }
        let at = if own.is_empty() || rand.below(6) == 0 {
            argument(rand, seen, pid)
        } else {
            rand.pick(&own) + rand.pick(&[0, 0, 16, 100, 4090])
        };
        let parts = match rand.below(8) {
            0 => rand.below(3),
            1..=3 => (-(rand.pick(&[4096i64, 8192, 0x10000, 0x10000, 0x10000, 1 << 20]))) as u64,
            _ => (-(rand.pick(&[0i64, 8, 24, 48, 64, 256]))) as u64,
        };
        (at, parts)
    };
    let chid = |rand: &mut Rand| {
        let fallback = rand.below(4);
        one(rand, &seen.chids, fallback)
    };
    let rcvid = |rand: &mut Rand| {
        let fallback = argument(rand, seen, pid);
        one(rand, &seen.rcvids, fallback)
    };
    let (b1, p1) = buffer(rand);
    let (b2, p2) = buffer(rand);
    let info = if rand.below(2) == 0 { 0 } else { buffer(rand).0 };
    let n = |s: Sysno| s as u64 == number;
    Some(if n(Sysno::ChannelCreate) {
        [rand.below(0x40), 0, 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::ConnectAttach) {
        let pid = if rand.below(4) == 0 { 0 } else { one(rand, &seen.pids, 0) };
        [pid, chid(rand), 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::MsgSendv) {
        [one(rand, &seen.coids, 1), b1, p1, b2, p2, 0, 0, 0]
    } else if n(Sysno::MsgSendPulse) {
        let priority = rand.pick(&[1, 10, 40, 63, 255, 0, abi::syscall::SENDER_PRIORITY as u64]);
        [one(rand, &seen.coids, 1), priority, rand.below(130), rand.below(1 << 20), 0, 0, 0, 0]
    } else if n(Sysno::MsgReceivev) || n(Sysno::MsgReceivePulsev) {
        [chid(rand), b1, p1, info, 0, 0, 0, 0]
    } else if n(Sysno::MsgReplyReceivev) {
        let answered = if rand.below(4) == 0 { 0 } else { rcvid(rand) };
        [answered, rand.below(100), b1, p1, chid(rand), b2, p2, info]
    } else if n(Sysno::MsgReplyv) || n(Sysno::MsgReadv) || n(Sysno::MsgWritev) {
        [rcvid(rand), rand.below(4096), b1, p1, 0, 0, 0, 0]
    } else if n(Sysno::MsgError) {
        [rcvid(rand), rand.below(200), 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::MsgInfo) {
        [rcvid(rand), info, 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::TimerCreate) && !own.is_empty() {
        [rand.pick(&own) + rand.pick(&[7000, 7000, 7100, 7200]), 0, 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::TimerSettime) {
        let initial = rand.pick(&[0, 1, 999, 1_000_000, 2_500_000, u64::MAX]);
        let interval = rand.pick(&[0, 0, 1, 10_000, 1_000_000, 3_000_000, u64::MAX]);
        [one(rand, &seen.timers, 1), initial, interval, 0, 0, 0, 0, 0]
    } else if n(Sysno::TimerDestroy)
        || n(Sysno::InterruptMask)
        || n(Sysno::InterruptUnmask)
        || n(Sysno::InterruptDetach)
    {
        let pool = if n(Sysno::TimerDestroy) { &seen.timers } else { &seen.routes };
        [one(rand, pool, 1), 0, 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::InterruptAttachEvent) && !own.is_empty() {
        [rand.pick(&[27, 28]), rand.pick(&own) + rand.pick(&[7000, 7100]), 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::ThreadJoin) || n(Sysno::ThreadDetach) || n(Sysno::ThreadDestroy) {
        [rand.below(5), rand.below(3), 0, 0, 0, 0, 0, 0]
    } else if n(Sysno::TimerTimeout) {
        [rand.below(32), rand.below(3_000_000), 0, 0, 0, 0, 0, 0]
    } else {
        return None;
    })
}

/// One argument: mostly values that mean something to some call, sometimes noise.
fn argument(rand: &mut Rand, seen: &Seen, pid: ProcessId) -> u64 {
    let own: Vec<u64> = seen.buffers.iter().filter(|(p, _)| *p == pid).map(|(_, at)| *at).collect();
    match rand.below(16) {
        0 => rand.pick(&[0, 1, 2, 3, 4, 7, 8, 16, 24, 48, 64, 255, 256, 4096]),
        1 => rand.pick(&[u64::MAX, u32::MAX as u64, i64::MIN as u64, (-1i64) as u64, (-16i64) as u64]),
        2 => rand.pick(&[(-24i64) as u64, (-64i64) as u64, (-4096i64) as u64, (-(1i64 << 40)) as u64]),
        3 => rand.pick(&[1 << 30, 1 << 31, 1 << 40, (1 << 30) | 1, 0x1001, 0x2002, 0x4000_1001]),
        // User memory: the program's text (read-only), nothing, the top of user space,
        // the kernel's half.
        4 => rand.pick(&[0x40_0000, 0x40_0ff8, 0x7000_0000, abi::USER_SPACE_END as u64 - 8, 0xffff_0000_4000_0000]),
        5..=7 if !own.is_empty() => {
            // A buffer of the caller's own, at its start, inside, or running off its end.
            rand.pick(&own) + rand.pick(&[0, 0, 8, 64, 4000, 4096 * 2 - 8])
        }
        8..=11 if !seen.values.is_empty() => {
            let v = rand.pick(&seen.values);
            // As it came, or with another generation or a neighbour's slot.
            match rand.below(6) {
                0 => v ^ (1 << 12),
                1 => v.wrapping_add(1),
                _ => v,
            }
        }
        _ => {
            let bits: u32 = rand.pick(&[3, 8, 16, 33, 63]);
            rand.below(1 << bits)
        }
    }
}

/// The scheduler's books: `current` runs, every ready thread is queued and every queued
/// thread ready, and nobody else is queued.
/// Notes the rcvids threads now hold in x0 (a receive's result; anything that merely
/// looks like one only weakens [`check_replies`]).
fn note_rcvids(s: &Sys, seen: &mut Seen) {
    for (_, t) in s.threads.iter() {
        let x0 = t.context.x[0];
        if crate::ipc::split_rcvid(x0).is_some() {
            seen.delivered.insert(x0);
        }
    }
}

/// Nobody is left waiting for a reply nobody can give: every REPLY-blocked sender's
/// message was either given to a receiver (its rcvid returned) or is being finished by
/// one (named by its restart record).
fn check_replies(s: &Sys, seen: &Seen) {
    for (h, t) in s.threads.iter() {
        if !matches!(t.state, ThreadState::Blocked(crate::thread::Blocked::Reply { .. })) {
            continue;
        }
        let id = ThreadId(h);
        let finishing = s.threads.iter().any(|(_, r)| {
            matches!(r.restart.as_deref(), Some((_, crate::system::Progress::Receive(p)))
                if p.partner == id && p.token == t.message_sequence)
        });
        let given = seen.delivered.contains(&crate::ipc::rcvid(id, t.message_sequence));
        assert!(given || finishing, "thread {h:#x} waits for a reply to a message nobody received");
    }
}

fn check_books(s: &Sys) {
    if let Some(cur) = s.current {
        let t = s.threads.get(cur.0).expect("the current thread exists");
        assert_eq!(t.state, ThreadState::Running, "the current thread runs");
        assert!(!s.ready.contains(cur.index()), "the current thread is not queued");
    }
    for (h, t) in s.threads.iter() {
        let id = ThreadId(h);
        assert_eq!(
            t.state == ThreadState::Ready,
            s.ready.contains(id.index()),
            "thread {h:#x} is {:?}: queued exactly when ready",
            t.state
        );
        assert!(t.state != ThreadState::Running || s.current == Some(id), "one thread runs");
    }
}

/// The waits' books: the timer list names only blocked threads (a sleeper only a
/// sleeping one), a joining thread is its target's joiner and a joiner joins, and no
/// detached thread stays dead.
fn check_waits(s: &Sys) {
    for (_, id, why) in s.sleepers.iter() {
        let state = s.threads.get(id.0).map(|t| t.state);
        let listed = match why {
            Wake::Sleep => matches!(state, Some(ThreadState::Blocked(Blocked::Sleep { .. }))),
            Wake::Timeout(_) => matches!(state, Some(ThreadState::Blocked(_))),
        };
        assert!(listed, "thread {:#x} is {state:?}, listed to be woken ({why:?})", id.0);
    }
    for (h, t) in s.threads.iter() {
        if let ThreadState::Blocked(Blocked::Join { target, .. }) = t.state {
            assert_eq!(s.threads.get(target.0).and_then(|t| t.joiner), Some(ThreadId(h)), "a join without its joiner");
        }
        let joiner = t.joiner.and_then(|j| s.threads.get(j.0)).map(|j| j.state);
        assert!(
            t.joiner.is_none() || matches!(joiner, Some(ThreadState::Blocked(Blocked::Join { .. }))),
            "thread {h:#x}'s joiner is {joiner:?}"
        );
        assert!(!(t.detached && t.state == ThreadState::Dead), "a detached thread kept after its end");
    }
}

/// Makes the call in `regs` as the current thread, as the system-call entry does.
fn syscall(s: &mut Sys, regs: &Registers) {
    check_wakeup_cache(s);
    let Some(cur) = s.current else { return };
    let pid = s.threads.get(cur.0).expect("the running thread").process;
    s.machine.loaded = s.processes.get(pid.0).and_then(|p| p.space.as_ref()).map(|space| space.table);
    // (A thread with a stopped call has its PC on the `svc` and `x8` RESTARTED_CALL:
    // another call of its own, which only this test makes, could not take a fast path.)
    if s.threads.get(cur.0).is_some_and(|t| t.restart.is_some()) && regs.number != abi::syscall::RESTARTED_CALL {
        s.general_syscall(regs);
    } else {
        s.syscall(regs);
    }
    check_wakeup_cache(s);
}

/// One random event: a call by a random runnable thread, or the clock, an interrupt or
/// an unblock event.
fn step(s: &mut Sys, rand: &mut Rand, seen: &mut Seen) {
    let threads: Vec<ThreadId> = s.threads.iter().map(|(h, _)| ThreadId(h)).collect();
    let threads = &threads[..];
    match rand.below(40) {
        0 | 1 => {
            s.machine.now += rand.below(5) * 1_000_000;
            let now = s.machine.now;
            s.timer(now, rand.below(3));
            return;
        }
        2 => {
            if let Some(masked) = s.machine.interrupts.get_mut(&27) {
                *masked = true; // (the arch layer masks a routed interrupt on arrival)
            }
            s.interrupt_fired(rand.pick(&[27, 28, 1023]));
            return;
        }
        3 => {
            let t = rand.pick(threads);
            if s.threads.get(t.0).is_some_and(|t| matches!(t.state, ThreadState::Blocked(_))) {
                s.interrupt_blocking_call(t, Errno::EINTR);
                s.schedule();
            }
            return;
        }
        _ => {}
    }
    let runnable: Vec<ThreadId> = threads
        .iter()
        .copied()
        .filter(|t| s.threads.get(t.0).is_some_and(|t| matches!(t.state, ThreadState::Ready | ThreadState::Running)))
        .collect();
    if runnable.is_empty() {
        // Everybody waits: the idle CPU gives back some of what ended processes left,
        // time passes, and one of them is woken.
        for _ in 0..rand.below(4) {
            s.reclaim_step();
        }
        s.machine.now += 10_000_000;
        let now = s.machine.now;
        s.timer(now, 10);
        let t = rand.pick(threads);
        if s.threads.get(t.0).is_some_and(|t| matches!(t.state, ThreadState::Blocked(_))) {
            s.interrupt_blocking_call(t, Errno::EINTR);
        }
        s.schedule();
        return;
    }
    // Usually the scheduler's choice, sometimes any runnable thread.
    let thread = match s.current {
        Some(c) if runnable.contains(&c) && rand.below(3) != 0 => c,
        _ => rand.pick(&runnable),
    };
    switch_to(s, thread);
    // A thread whose call an interrupt stopped (its own, or a receive a sender's stopped
    // copy left it to finish) makes it again, as it does once it runs; now and then it
    // does not (another call comes first: the stopped one is abandoned).
    if s.threads.get(thread.0).is_some_and(|t| t.restart.is_some()) && rand.below(8) != 0 {
        make_again(s, thread, 1);
        return;
    }
    let pid = s.threads.get(thread.0).expect("runnable").process;
    let mut number = if rand.below(8) == 0 {
        rand.below(80) // numbers no call has too
    } else {
        rand.pick(&Sysno::ALL) as u64
    };
    // Calls that end threads or processes, now and then only (the test makes new ones,
    // but a population that dies at once tries little else).
    let lethal = [Sysno::ThreadDestroy, Sysno::ProcessExit, Sysno::ProcessKill, Sysno::Shutdown];
    if lethal.iter().any(|l| *l as u64 == number) && rand.below(10) != 0 {
        number = Sysno::Nop as u64;
    }
    let mut args = [0u64; 8];
    for a in &mut args {
        *a = argument(rand, seen, pid);
    }
    if rand.below(4) != 0 {
        if let Some(typed) = typed_arguments(number, rand, seen, pid) {
            args = typed;
        }
    }
    if number == Sysno::Sleep as u64 {
        args[0] %= 5_000_000; // (nothing else wakes a sleeper: long sleeps would only idle the test)
    }
    syscall(s, &Registers { number, args });
    CALLS.with(|c| c.set(c.get() + 1));
    // A call an interrupt stopped is made again, as the thread does once the interrupt is
    // taken (its PC is back on the `svc`); now and then not (another call comes first:
    // the stopped one is abandoned).
    let times = rand.below(64) as usize;
    make_again(s, thread, times);
    // What the caller got back, if it ran on (and its call is not still to be made
    // again: its registers then hold the call), joins the values later calls may use.
    if let Some(t) = s.threads.get(thread.0) {
        if (t.state == ThreadState::Running || t.state == ThreadState::Ready) && t.restart.is_none() {
            let (x0, x1) = (t.context.x[0], t.context.x[1]);
            if abi::syscall::decode_result(x0).is_ok() && x0 != 0 {
                remember(&mut seen.values, x0);
                let n = |s: Sysno| s as u64 == number;
                if n(Sysno::MemMapAnon) || n(Sysno::MemObjectMap) {
                    seen.buffers.push((pid, x0));
                } else if n(Sysno::ChannelCreate) {
                    remember(&mut seen.chids, x0);
                } else if n(Sysno::ConnectAttach) {
                    remember(&mut seen.coids, x0);
                } else if n(Sysno::TimerCreate) {
                    remember(&mut seen.timers, x0);
                } else if n(Sysno::InterruptAttachEvent) {
                    remember(&mut seen.routes, x0);
                } else if n(Sysno::ProcessCreate) || n(Sysno::ProcessStart) {
                    remember(&mut seen.pids, x0);
                }
            }
            if x1 != 0 && rand.below(4) == 0 {
                remember(&mut seen.values, x1);
            }
        }
    }
    // Receivers woken with a message hold its rcvid (pulses give 0).
    for (_, t) in s.threads.iter() {
        let x0 = t.context.x[0];
        if t.state == ThreadState::Ready && x0 > 0xffff && abi::syscall::decode_result(x0).is_ok() {
            remember(&mut seen.rcvids, x0);
        }
    }
}

/// Makes the call `thread` (running) had stopped by an interrupt again, as the thread
/// does, while it stops, at most `times` times.
fn make_again(s: &mut Sys, thread: ThreadId, times: usize) {
    for _ in 0..times {
        if s.current != Some(thread) {
            return;
        }
        let Some(t) = s.threads.get_mut(thread.0) else { return };
        let Some(copy) = t
            .restart
            .as_ref()
            .map(|r| matches!(r.1, crate::system::Progress::Receive(_) | crate::system::Progress::Copy(_)))
        else {
            return;
        };
        let regs = Registers { number: t.context.x[8], args: t.context.x[..8].try_into().expect("eight") };
        t.context.pc = t.context.pc.wrapping_add(4);
        syscall(s, &regs);
        if copy {
            COPY_RESTARTS.with(|c| c.set(c.get() + 1));
        }
    }
}

/// The length of a buffer for long copies: more than `transfer::UNINTERRUPTED` bytes.
const LONG_BUFFER: u64 = 0x11000;

/// A new process (`privileged`: with I/O privilege) with two more threads and two
/// mapped buffers, made through its own calls.
fn populate(s: &mut Sys, rand: &mut Rand, seen: &mut Seen, privileged: bool) {
    let name = rand.pick(&["init", "low", "rr"]);
    let mut spawned = s.spawn(name, b"", None, None, privileged);
    if spawned.is_err() {
        // (The kernel's own spawn, unlike ProcessCreate, takes nothing back first.)
        while s.reclaim_step() {}
        spawned = s.spawn(name, b"", None, None, privileged);
    }
    let Ok(pid) = spawned else { return };
    let Some(main) = s.thread_of(pid, 1) else { return };
    for priority in [10, rand.pick(&[5u8, 10, 20, 40])] {
        // (Out of memory, it has fewer: the frames are bounded.)
        let sched = abi::sched::SchedParam { policy: abi::sched::Policy::Fifo, priority }.encode();
        switch_to(s, main);
        syscall(s, &Registers { number: Sysno::ThreadCreate as u64, args: [0x40_0000, 0, 0, sched, 0, 0, 0, 0] });
    }
    for size in [8192, LONG_BUFFER] {
        switch_to(s, main);
        syscall(s, &Registers { number: Sysno::MemMapAnon as u64, args: [size, 0, 0, 0, 0, 0, 0, 0] });
        make_again(s, main, usize::MAX);
        let at = s.threads.get(main.0).expect("it ran").context.x[0];
        if abi::syscall::decode_result(at).is_ok() {
            seen.buffers.push((pid, at));
            if size == LONG_BUFFER {
                seen.long_buffers.push((pid, at));
            }
        }
    }
    remember(&mut seen.pids, pid.0 as u64);
    // A channel of its own with events for it written at 7000 (a pulse there: its
    // interrupt's and timers'), 7100 (an unblock) and 7200 (none) into its first buffer,
    // for the random TimerCreate and InterruptAttachEvent calls. A driver's interrupt 27
    // arrives as that pulse (which the random receives find among the channels), when
    // the route is free.
    let call = |s: &mut Sys, number: Sysno, args: [u64; 8]| {
        switch_to(s, main);
        syscall(s, &Registers { number: number as u64, args });
        s.threads.get(main.0).map_or(u64::MAX, |t| t.context.x[0])
    };
    let chid = call(s, Sysno::ChannelCreate, [0; 8]);
    let coid = call(s, Sysno::ConnectAttach, [0, chid, 0, 0, 0, 0, 0, 0]);
    if let (Ok(chid), Ok(coid), Some(&(_, at))) =
        (decode_result(chid), decode_result(coid), seen.buffers.iter().rev().find(|(p, _)| *p == pid))
    {
        remember(&mut seen.chids, chid);
        let pulse = SigEvent::pulse(coid as u32, rand.pick(&[10, 30, 50]), 2, 27);
        let unblock = SigEvent { notify: notify::UNBLOCK, ..Default::default() };
        for (offset, event) in [(7000, pulse), (7100, unblock), (7200, SigEvent::default())] {
            let _ = s.write_user(pid, at as usize + offset, &event.to_bytes());
        }
        if privileged {
            let route = call(s, Sysno::InterruptAttachEvent, [27, at + 7000, 0, 0, 0, 0, 0, 0]);
            if decode_result(route).is_ok() {
                remember(&mut seen.routes, route);
            }
        }
    }
    s.schedule();
}

#[test]
fn random_system_calls_never_panic_the_kernel_nor_upset_the_scheduler() {
    CALLS.with(|c| c.set(0));
    COPY_RESTARTS.with(|c| c.set(0));
    crate::fastpath::FAST_HITS.with(|h| h.set([0; 64]));
    for seed in 1..=96u64 {
        let mut s = system();
        // Bounded memory: running out of frames is part of the test (and keeps huge
        // mappings from eating the host).
        s.machine.frame_limit = Some(2048);
        // Interrupts pending during long copies: never, always, now and then.
        s.machine.interrupt_every = [None, Some(1), Some(3)][seed as usize % 3];
        let mut rand = Rand(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut seen = Seen::default();
        // A privileged process (a driver: interrupts, device memory, shutdown) and
        // others; whenever few threads are left, another process.
        populate(&mut s, &mut rand, &mut seen, true);
        for n in 0..4000 {
            if s.threads.iter().count() < 6 {
                let privileged = rand.below(4) == 0;
                populate(&mut s, &mut rand, &mut seen, privileged);
            }
            step(&mut s, &mut rand, &mut seen);
            note_rcvids(&s, &mut seen);
            check_books(&s);
            check_waits(&s);
            check_replies(&s, &seen);
            if n % 256 == 0 {
                crate::memory_fuzz_tests::check_memory(&mut s); // (slow: walks every page)
            }
        }
        crate::memory_fuzz_tests::end_all(&mut s);
        // Nothing of theirs outlives the processes: no thread, timer, route, event or
        // wake-up, no interrupt left routed.
        assert_eq!((s.threads.len(), s.timers.len(), s.attachments.len(), s.events.len()), (0, 0, 0, 0));
        assert_eq!((s.sleepers.earliest(), s.next_wakeup()), (None, None));
        assert!(s.route_of_irq.iter().all(|&route| route == 0) && s.machine.interrupts.is_empty());
        let states: Vec<std::string::String> = s.threads.iter().map(|(_, t)| std::format!("{:?}", t.state)).collect();
        std::println!("seed {seed}: {states:?}");
    }
    let calls = CALLS.with(|c| c.get());
    assert!(calls > 96 * 2000, "only {calls} calls made");
    let restarts = COPY_RESTARTS.with(|c| c.get());
    assert!(restarts > 0, "no call stopped by an interrupt in a copy was made again");
    // (The drivers' interrupts reach their waiting threads by the fast path too.)
    let interrupts = crate::fastpath::FAST_HITS.with(|h| h.get())[crate::fastpath::INTERRUPT_HITS];
    assert!(interrupts > 0, "no interrupt delivered fast");
}
