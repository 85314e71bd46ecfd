//! Host tests of the fast paths: each must leave the system exactly as the general path
//! would, and its guard conditions must send everything else there.

use crate::testing::{call, system};
use abi::syscall::{timeout_states, Call};

#[test]
fn a_quick_nop_is_allowed_only_without_an_armed_timeout() {
    let mut s = system();
    s.spawn("init", b"", None, None, false).unwrap();
    s.schedule();
    let cur = s.current().unwrap();
    assert!(s.quick_nop_allowed(cur));
    assert_eq!(call(&mut s, Call::TimerTimeout { states: timeout_states::RECEIVE, nanoseconds: 10 }).0, Ok(0));
    assert!(!s.quick_nop_allowed(cur), "the Nop must use the bound up on the full path");
    assert!(!s.return_info(cur).unwrap().quick_nop);
    assert_eq!(call(&mut s, Call::Nop).0, Ok(0));
    assert!(s.quick_nop_allowed(cur));
    let info = s.return_info(cur).unwrap();
    assert!(info.quick_nop && info.fp == crate::fpswitch::FpOnReturn::Trap);
    // SAFETY: the context of a live thread, read while nothing else touches it.
    assert_eq!(Some(unsafe { (*info.context).ttbr0 }), s.ttbr0_of(cur));
    assert_eq!(info.context, s.context_mut(cur).unwrap() as *mut _);
}

// ---- the fast paths against the general path ------------------------------------------

use super::FAST_PATHS_OFF;
use crate::process::ProcessId;
use crate::system::System;
use crate::testing::{new_thread, switch_to, FakeMachine, Rand};
use crate::thread::{ThreadId, ThreadState};
use abi::ipc::{channel_flags, single_buffer_parts, IOV_SIZE};
use abi::syscall::{decode_result, Sysno};
use abi::Errno;
use std::format;
use std::string::String;
use std::vec::Vec;

type Sys = System<FakeMachine>;

/// Runs `f` with the fast paths on or off.
fn with_fast_paths<R>(on: bool, f: impl FnOnce() -> R) -> R {
    FAST_PATHS_OFF.with(|off| off.set(!on));
    let r = f();
    FAST_PATHS_OFF.with(|off| off.set(false));
    r
}

/// Everything a system call can change, as text: threads, queues, channels, the
/// timer list, and the bytes of the buffers the traffic uses.
fn snapshot(s: &mut Sys, buffers: &[(ProcessId, usize, usize)]) -> String {
    let mut out = String::new();
    for (h, t) in s.threads.iter() {
        out += &format!(
            "thread {h:#x} p{} t{} {:?} prio {}/{}/{} on {:#x} slice {} sent {:?} recv {:?} seq {} timeout {:?} x0-x6 {:x?}\n",
            t.process.0,
            t.tid,
            t.state,
            t.priority,
            t.base_priority,
            t.inherited_priority,
            t.working_on,
            t.timeslice_left,
            t.sent,
            t.receiving,
            t.message_sequence,
            t.timeout,
            &t.context.x[..7],
        );
    }
    for p in 0..=255u8 {
        let q = s.ready.queue(p);
        if !q.is_empty() {
            out += &format!("ready {p}: {q:?}\n");
        }
    }
    out += &format!("current {:?} handoff {:?} fp {:?}\n", s.current, s.handoff, s.fp_owner);
    out += &format!("sleepers {:?} next {:?}\n", s.sleepers.iter().collect::<Vec<_>>(), s.next_wakeup());
    for (pid, p) in s.processes.iter() {
        for (chid, c) in p.channels.iter() {
            out += &format!("p{pid} channel {chid}: {c:?}\n");
        }
    }
    for (id, a) in s.attachments.iter() {
        out += &format!("interrupt route {id}: {a:?}\n");
    }
    out += &format!("interrupts masked {:?}\n", s.machine.interrupts);
    for &(pid, at, len) in buffers {
        let mut bytes = vec![0u8; len];
        let _ = s.read_user(pid, at, &mut bytes);
        out += &format!("p{} {at:#x}: {bytes:?}\n", pid.0);
    }
    out
}

/// The world the random traffic runs in.
struct World {
    threads: Vec<ThreadId>,
    chids: Vec<u32>,
    /// Per client process: its connections (coids).
    coids: Vec<u32>,
    /// (pid, address, length) of every buffer, for the snapshot.
    buffers: Vec<(ProcessId, usize, usize)>,
    /// Per thread: (send buffer, reply buffer, receive buffer, an I/O vector) addresses.
    own: Vec<(usize, usize, usize, usize)>,
    /// The server's channel that interrupt 27 pulses.
    interrupt_channel: u32,
}

fn world(s: &mut Sys, rand: &mut Rand) -> World {
    // (I/O privilege: the server is also a driver, with an interrupt routed to it.)
    let server = s.spawn("init", b"", None, None, true).unwrap();
    let clients = [s.spawn("init", b"", None, None, false).unwrap(), s.spawn("low", b"", None, None, false).unwrap()];
    let mut w = World {
        threads: Vec::new(),
        chids: Vec::new(),
        coids: Vec::new(),
        buffers: Vec::new(),
        own: Vec::new(),
        interrupt_channel: 0,
    };
    let main = s.thread_of(server, 1).unwrap();
    switch_to(s, main);
    for flags in
        [0, channel_flags::FIXED_PRIORITY, rand.pick(&[0, channel_flags::UNBLOCK, channel_flags::FIXED_PRIORITY])]
    {
        w.chids.push(call(s, Call::ChannelCreate { flags }).0.unwrap() as u32);
    }
    for pid in [server, clients[0], clients[1]] {
        let main = s.thread_of(pid, 1).unwrap();
        switch_to(s, main);
        let mut mine = vec![main];
        for _ in 0..2 {
            let priority = rand.pick(&[5u8, 10, 10, 20, 30]);
            mine.push(new_thread(s, main, priority));
        }
        switch_to(s, main);
        if pid != server {
            for &chid in &w.chids {
                w.coids.push(call(s, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32);
            }
        }
        for t in mine {
            switch_to(s, t);
            let at = call(s, Call::MemMapAnon { size: 4096 }).0.unwrap() as usize;
            // send at +0 (64 bytes), reply at +64, receive at +128, an I/O vector at +256
            // naming two parts of the send buffer.
            let pattern: Vec<u8> = (0..64).map(|i| (i as u8) ^ (t.0 as u8)).collect();
            s.write_user(pid, at, &pattern).unwrap();
            let mut iov = Vec::new();
            for (base, len) in [(at, 10usize), (at + 20, 30)] {
                iov.extend_from_slice(&(base as u64).to_le_bytes());
                iov.extend_from_slice(&(len as u64).to_le_bytes());
            }
            assert_eq!(iov.len(), 2 * IOV_SIZE);
            s.write_user(pid, at + 256, &iov).unwrap();
            w.buffers.push((pid, at, 512));
            w.own.push((at, at + 64, at + 128, at + 256));
            w.threads.push(t);
        }
    }
    // The server's drivers: interrupt 27 arrives as a pulse on one of its channels.
    let (main, at) = (w.threads[0], w.own[0].0);
    switch_to(s, main);
    w.interrupt_channel = rand.pick(&w.chids);
    let coid = call(s, Call::ConnectAttach { pid: server.0, chid: w.interrupt_channel }).0.unwrap() as u32;
    let event = abi::ipc::SigEvent::pulse(coid, rand.pick(&[10, 20, 30, 40, 60]), 2, 27);
    s.write_user(server, at + 400, &event.to_bytes()).unwrap();
    switch_to(s, main); // (the call may have let a higher thread run)
    assert!(call(s, Call::InterruptAttachEvent { irq: 27, event: at + 400 }).0.is_ok());
    w
}

/// Interrupt 27 arrives, masked as the arch layer masks it on arrival (no unmasking
/// here: that is a system call's business, and the route stays).
fn interrupt(s: &mut Sys) {
    s.machine.interrupts.insert(27, true);
    if let super::Fast::SwitchTo(info) = s.interrupt_fired(27) {
        // What the return to user space loads without looking: the new current thread.
        let current = s.current.expect("switched to a driver");
        assert_eq!(Some(info), s.return_info(current), "the switch describes the thread to run");
    }
}

/// One random call (or clock tick) by a random runnable thread.
fn step(s: &mut Sys, w: &World, rand: &mut Rand, rcvids: &mut Vec<u64>) {
    if rand.below(12) == 0 {
        s.machine.now += rand.below(3) * 500;
        let now = s.machine.now;
        s.timer(now, rand.below(2));
        return;
    }
    let server = w.threads[0];
    let driver_waits = s.threads.get(server.0).and_then(|t| s.processes.get(t.process.0)).is_some_and(|p| {
        p.channels.get(w.interrupt_channel).is_some_and(|c| !c.receivers.is_empty() || !c.pulse_receivers.is_empty())
    });
    if rand.below(if driver_waits { 2 } else { 60 }) == 0 {
        // The interrupt, more often when a driver waits for it.
        interrupt(s);
        return;
    }
    let runnable: Vec<usize> = (0..w.threads.len())
        .filter(|&i| {
            s.threads.get(w.threads[i].0).is_some_and(|t| matches!(t.state, ThreadState::Ready | ThreadState::Running))
        })
        .collect();
    if runnable.is_empty() || rand.below(40) == 0 {
        // Stuck (or now and then anyway): an unblock event ends some blocking call.
        let t = rand.pick(&w.threads);
        if s.threads.get(t.0).is_some_and(|t| matches!(t.state, ThreadState::Blocked(_))) {
            s.interrupt_blocking_call(t, Errno::EINTR);
            s.schedule();
        }
        return;
    }
    // Usually the scheduler's choice, sometimes any runnable thread.
    let i = match s.current.and_then(|c| w.threads.iter().position(|t| *t == c)) {
        Some(i) if rand.below(4) != 0 && runnable.contains(&i) => i,
        _ => rand.pick(&runnable),
    };
    switch_to(s, w.threads[i]);
    if driver_waits && rand.below(4) == 0 {
        // The interrupt while a thread runs out of turn: a ready one may be above it,
        // perhaps level with the driver.
        interrupt(s);
        return;
    }
    let (send, reply, receive, iov) = w.own[i];
    // A buffer argument: mostly good, sometimes empty, an I/O vector, or bad.
    let buffer = |rand: &mut Rand, at: usize| -> (usize, i64) {
        match rand.below(10) {
            0 => (at, 0),
            1 => (iov, 2),
            2 => (0x7000_0000, single_buffer_parts(16)), // unmapped
            3 => (0x40_0000, single_buffer_parts(16)),   // read-only text
            4 => (at, single_buffer_parts(8)),
            _ => (at, single_buffer_parts(64)),
        }
    };
    let mut chid = if rand.below(10) == 0 { 77 } else { rand.pick(&w.chids) };
    // A server thread often picks a channel with a message queued (where a receive, or a
    // reply and a receive, finds one).
    let own = s.threads.get(w.threads[i].0).and_then(|t| s.processes.get(t.process.0));
    let busy: Vec<u32> = own.map_or(Vec::new(), |p| {
        w.chids.iter().copied().filter(|c| p.channels.get(*c).is_some_and(|c| c.first_message().is_some())).collect()
    });
    if i < 3 && !busy.is_empty() && rand.below(4) != 0 {
        chid = rand.pick(&busy);
    }
    let coid = if w.coids.is_empty() || rand.below(10) == 0 { 99 } else { rand.pick(&w.coids) };
    // What a server thread holds: the rcvid its last receive returned, in x0.
    let held = s.threads.get(w.threads[i].0).map_or(0, |t| t.context.x[0]);
    let rcvid = match rand.below(8) {
        0 => rand.below(1 << 20),
        1 | 2 if !rcvids.is_empty() => rand.pick(rcvids),
        _ => held,
    };
    // A `_msg_info` record: often, mostly writable (it overlaps the reply buffer), or in
    // registers.
    let info = match rand.below(8) {
        0..=2 => 0,
        3 => abi::ipc::INFO_IN_REGISTERS,
        4 => 0x40_0000,   // read-only text
        5 => 0x7000_0000, // unmapped
        _ => reply + 32,
    };
    // The first three threads are the server's: they mostly receive and reply; the
    // clients mostly send.
    let server = i < 3;
    let kind = match (server, rand.below(20)) {
        (true, 0..=7) => 8,
        (true, 8..=9) => 4,
        (true, 10) => 5,
        (true, 11..=13) => 6,
        (false, 0..=10) => 0,
        (false, 11..=12) => 13,
        (_, n) => 11 + n % 5,
    };
    let c = match kind {
        0..=3 => {
            let (sa, sp) = buffer(rand, send);
            let (ra, rp) = buffer(rand, reply);
            Call::MsgSendv { coid, send: sa, send_parts: sp, reply: ra, reply_parts: rp }
        }
        4 => {
            let (ba, bp) = buffer(rand, receive);
            Call::MsgReceivev { chid, buffer: ba, parts: bp, info }
        }
        5 => {
            // (Pulses only: the pulse fast paths must give them to these threads first.)
            let (ba, bp) = buffer(rand, receive);
            Call::MsgReceivePulsev { chid, buffer: ba, parts: bp, info }
        }
        6..=7 => {
            let (ba, bp) = buffer(rand, reply);
            Call::MsgReplyv { rcvid, status: rand.below(100), buffer: ba, parts: bp }
        }
        8..=10 => {
            let (ra, rp) = buffer(rand, reply);
            let (ba, bp) = buffer(rand, receive);
            Call::MsgReplyReceivev {
                rcvid,
                status: rand.below(100),
                reply: ra,
                reply_parts: rp,
                chid,
                buffer: ba,
                parts: bp,
                info,
            }
        }
        11 => Call::SchedYield,
        12 => Call::TimerTimeout { states: rand.below(32) as u32, nanoseconds: rand.below(3000) },
        13 => {
            let priority = match rand.below(6) {
                0 => abi::syscall::SENDER_PRIORITY,
                1 => 300, // invalid
                _ => rand.below(50) as u32,
            };
            let code = if rand.below(8) == 0 { -5 } else { 3 }; // negative: the kernel's
            Call::MsgSendPulse { coid, priority, code, value: 7 }
        }
        // (The server's threads may unmask their route, id 1; the clients' calls fail.)
        14 if server || i % 2 == 0 => Call::InterruptUnmask { id: 1 },
        14 => Call::Nop,
        15 if server => Call::MsgError { rcvid, errno: 5 },
        _ => Call::Nop,
    };
    let (result, _) = call(s, c);
    if let Ok(v) = result {
        if v != 0 && v != u64::MAX && matches!(c, Call::MsgReceivev { .. } | Call::MsgReplyReceivev { .. }) {
            rcvids.push(v);
        }
    }
    // Threads that were RECEIVE-blocked and got a message hold an rcvid in x0.
    for t in &w.threads {
        if let Some(th) = s.threads.get(t.0) {
            if th.state == ThreadState::Ready {
                if let Ok(v) = decode_result(th.context.x[0]) {
                    if v > 0xffff && rcvids.len() < 64 && !rcvids.contains(&v) {
                        rcvids.push(v);
                    }
                }
            }
        }
    }
    if rcvids.len() > 32 {
        rcvids.remove(0);
    }
}

#[test]
fn the_fast_paths_change_exactly_what_the_general_path_changes() {
    for seed in 1..=40u64 {
        let (mut fast, mut general) = (system(), system());
        let (mut rf, mut rg) =
            (Rand(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)), Rand(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let wf = with_fast_paths(false, || world(&mut fast, &mut rf));
        let wg = with_fast_paths(false, || world(&mut general, &mut rg));
        let (mut cf, mut cg) = (Vec::new(), Vec::new());
        for n in 0..600 {
            with_fast_paths(true, || step(&mut fast, &wf, &mut rf, &mut cf));
            with_fast_paths(false, || step(&mut general, &wg, &mut rg, &mut cg));
            let (a, b) = (snapshot(&mut fast, &wf.buffers), snapshot(&mut general, &wg.buffers));
            if a != b {
                let diff: Vec<String> = a
                    .lines()
                    .zip(b.lines())
                    .filter(|(x, y)| x != y)
                    .map(|(x, y)| format!("fast:    {x}\ngeneral: {y}"))
                    .collect();
                panic!("seed {seed}, step {n}: the fast paths differ\n{}", diff.join("\n"));
            }
        }
    }
}

#[test]
fn the_random_traffic_takes_every_fast_path() {
    // The comparison above proves little if the traffic never meets the guards (nor
    // misses them): count how often each fast path answers.
    use super::FAST_HITS;
    FAST_HITS.with(|h| h.set([0; 64]));
    for seed in 1..=4 {
        let mut s = system();
        let mut rand = Rand(seed * 7919);
        let w = with_fast_paths(false, || world(&mut s, &mut rand));
        let mut rcvids = Vec::new();
        for _ in 0..6000 {
            step(&mut s, &w, &mut rand, &mut rcvids);
        }
    }
    let hits = FAST_HITS.with(|h| h.get());
    for sysno in [
        Sysno::MsgSendv,
        Sysno::MsgReceivev,
        Sysno::MsgReceivePulsev,
        Sysno::MsgReplyv,
        Sysno::MsgReplyReceivev,
        Sysno::MsgSendPulse,
        Sysno::SchedYield,
        Sysno::InterruptUnmask,
    ] {
        assert!(hits[sysno as usize] >= 30, "{sysno:?} answered by its fast path {} times", hits[sysno as usize]);
    }
    let fused = hits[super::REPLY_THEN_QUEUED_HITS];
    assert!(fused >= 30, "MsgReplyReceivev answered by a reply and a queued message {fused} times");
    let interrupts = hits[super::INTERRUPT_HITS];
    assert!(interrupts >= 30, "an interrupt's pulse delivered and scheduled fast {interrupts} times");
    let pulses_only = hits[super::PULSE_ONLY_HITS];
    assert!(pulses_only >= 30, "a pulse delivered fast to a MsgReceivePulsev waiter {pulses_only} times");
}

#[test]
fn an_interrupt_does_not_run_its_driver_ahead_of_an_equal_already_ready() {
    // A driver RECEIVE-blocked for interrupt 27's pulse (priority 20), a thread of
    // priority 20 ready, one of priority 5 running out of turn: the ready one goes first,
    // the driver queues behind it, on either path.
    let after_interrupt = |fast: bool| {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, true).unwrap(); // a driver: I/O privilege
        let driver = s.thread_of(pid, 1).unwrap();
        switch_to(&mut s, driver);
        let chid = call(&mut s, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
        let coid = call(&mut s, Call::ConnectAttach { pid: pid.0, chid }).0.unwrap() as u32;
        let at = call(&mut s, Call::MemMapAnon { size: 4096 }).0.unwrap() as usize;
        s.write_user(pid, at, &abi::ipc::SigEvent::pulse(coid, 20, 2, 27).to_bytes()).unwrap();
        assert!(call(&mut s, Call::InterruptAttachEvent { irq: 27, event: at }).0.is_ok());
        let (equal, low) = (new_thread(&mut s, driver, 20), new_thread(&mut s, driver, 5));
        switch_to(&mut s, driver);
        let receive = Call::MsgReceivev { chid, buffer: at + 64, parts: single_buffer_parts(64), info: 0 };
        assert_eq!(call(&mut s, receive).0, crate::testing::BLOCKED);
        switch_to(&mut s, low);
        assert!(s.ready.queue(20).contains(&equal.index()));
        s.machine.interrupts.insert(27, true);
        with_fast_paths(fast, || s.interrupt_fired(27));
        assert_eq!(s.current, Some(equal), "the thread that was ready first runs");
        snapshot(&mut s, &[(pid, at, 128)])
    };
    assert_eq!(after_interrupt(true), after_interrupt(false));
}
