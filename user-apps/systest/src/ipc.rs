//! Message-passing system tests: the behaviours of QNX's IPC chapter and course, across
//! real processes (`ipc-peer`) and threads, through userlib's IPC layer.

use crate::{ensure, exited, wait, Outcome};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use userlib::abi::sched::{Policy, SchedParam};
use userlib::ipc::{
    channel_flags, pulse_code, timeout, timeout_states, Channel, Connection, Interrupt, MsgInfo, Received,
};
use userlib::process::ExitStatus;
use userlib::{info, process, sched, sys, thread, time, Errno};

const PEER: &str = "ipc-peer";

fn peer(args: &[&str], priority: u8) -> Result<u32, String> {
    process::spawn(PEER, args, Some(priority)).map_err(|e| format!("spawn {args:?}: {e}"))
}

/// Connects to channel 1 of `pid`, waiting for the peer to create it.
fn connect(pid: u32) -> Result<Connection, String> {
    for _ in 0..500 {
        match Connection::attach(pid, 1) {
            Ok(c) => return Ok(c),
            Err(Errno::ESRCH) => time::sleep_ns(1_000_000),
            Err(e) => return Err(format!("ConnectAttach {pid}: {e}")),
        }
    }
    Err(format!("peer {pid} never created its channel"))
}

fn echo_server(flags: u32) -> Result<(u32, Connection), String> {
    let pid = peer(&["echo", &format!("{flags}")], 31)?;
    Ok((pid, connect(pid)?))
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

fn send(c: &Connection, message: &[u8], reply: &mut [u8]) -> Result<u64, String> {
    c.send(message, reply).map_err(|e| format!("MsgSend: {e}"))
}

pub fn checksum_client_server() -> Outcome {
    let (_, c) = echo_server(0)?;
    let text = b"Hello, QNX Neutrino message passing";
    let mut message = Vec::from(&b"C"[..]);
    message.extend_from_slice(text);
    let status = send(&c, &message, &mut [])?;
    ensure!(status == checksum(text), "checksum {status:#x}, want {:#x}", checksum(text));
    Ok(())
}

pub fn reply_status_and_byte_counts_with_mismatched_buffers() -> Outcome {
    let (_, c) = echo_server(0)?;
    // 100 bytes sent, a 10-byte reply buffer: the server's 256-byte buffer takes all 100,
    // it replies 99 reversed bytes, of which 10 arrive.
    let mut message = [0u8; 100];
    message[0] = b'R';
    for (i, b) in message.iter_mut().enumerate().skip(1) {
        *b = i as u8;
    }
    let mut reply = [0u8; 10];
    let status = send(&c, &message, &mut reply)?;
    let (msglen, srcmsglen, dstmsglen) = (status & 0xffff, (status >> 16) & 0xffff, status >> 32);
    ensure!(
        (msglen, srcmsglen, dstmsglen) == (100, 100, 10),
        "msglen {msglen} srcmsglen {srcmsglen} dstmsglen {dstmsglen}"
    );
    let want: Vec<u8> = (90..100u8).rev().collect();
    ensure!(reply[..] == want[..], "reply {reply:?}, want {want:?}");
    // 300 bytes to a 256-byte receive buffer: the server gets the first 256.
    let mut big = [7u8; 300];
    big[0] = b'R';
    let status = send(&c, &big, &mut [])?;
    ensure!(status & 0xffff == 256 && (status >> 16) & 0xffff == 300, "status {status:#x}");
    Ok(())
}

pub fn msg_error_errno_reaches_the_client() -> Outcome {
    let (_, c) = echo_server(0)?;
    let got = c.send(&[b'E', Errno::ENOSPC.0 as u8], &mut []);
    ensure!(got == Err(Errno::ENOSPC), "got {got:?}");
    Ok(())
}

pub fn iov_header_then_msg_read_of_the_rest() -> Outcome {
    let (_, c) = echo_server(0)?;
    let payload: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    let header = [b'H', 0, 0, 0, 200, 0, 0, 0];
    let status = c.send_v(&[&header, &payload], &mut []).map_err(|e| format!("MsgSendv: {e}"))?;
    ensure!(status == checksum(&payload), "checksum {status:#x}");
    Ok(())
}

pub fn msg_write_then_msg_reply() -> Outcome {
    let (_, c) = echo_server(0)?;
    let mut reply = [b'.'; 12];
    send(&c, b"W", &mut reply)?;
    ensure!(&reply == b"HEAD....TAIL", "reply {:?}", core::str::from_utf8(&reply));
    Ok(())
}

pub fn server_death_fails_its_client_with_esrch() -> Outcome {
    let (pid, c) = echo_server(0)?;
    let got = c.send(b"D", &mut []);
    ensure!(got == Err(Errno::ESRCH), "REPLY-blocked client got {got:?}");
    exited(pid)?;
    let again = c.send(b"C", &mut []);
    ensure!(again == Err(Errno::ESRCH), "a later send got {again:?}");
    Ok(())
}

pub fn pulse_into_a_too_small_buffer_is_efault_and_lost() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, channel.chid()).map_err(|e| format!("{e}"))?;
    me.send_pulse(Some(10), 4, 44).map_err(|e| format!("{e}"))?;
    let mut small = [0u8; 8];
    let got = sys::msg_receive(channel.chid(), &mut small, None);
    ensure!(got == Err(Errno::EFAULT), "small buffer: {got:?}");
    timeout(timeout_states::RECEIVE, 5_000_000).map_err(|e| format!("{e}"))?;
    let mut big = [0u8; 64];
    let again = sys::msg_receive(channel.chid(), &mut big, None);
    ensure!(again == Err(Errno::ETIMEDOUT), "the pulse was not lost: {again:?}");
    Ok(())
}

pub fn messages_and_pulses_received_by_priority_then_order() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let coid = me.coid();
    // Senders at 12, 18, 12 block on our channel (we are at 30 and not receiving yet).
    let mut senders = Vec::new();
    for (tag, prio) in [(b'a', 12u8), (b'b', 18), (b'c', 12)] {
        let h = thread::Builder::new()
            .sched(SchedParam { policy: Policy::Fifo, priority: prio })
            .spawn(move || {
                let _ = sys::msg_send(coid, &[tag], &mut []);
            })
            .map_err(|e| format!("{e}"))?;
        senders.push(h);
    }
    time::sleep_ns(5_000_000); // let them queue
    me.send_pulse(Some(15), 1, b'P' as u64).map_err(|e| format!("{e}"))?;
    me.send_pulse(Some(25), 1, b'Q' as u64).map_err(|e| format!("{e}"))?;
    let mut order = Vec::new();
    let mut buffer = [0u8; 64];
    for _ in 0..5 {
        match channel.receive(&mut buffer).map_err(|e| format!("{e}"))? {
            Received::Pulse(p) => order.push(p.value as u8),
            Received::Message(m) => {
                order.push(buffer[0]);
                m.reply(0, &[]).map_err(|e| format!("{e}"))?;
            }
        }
    }
    for h in senders {
        h.join().map_err(|e| format!("{e}"))?;
    }
    ensure!(order == b"QbPac", "order {:?}, want QbPac", core::str::from_utf8(&order));
    Ok(())
}

/// MsgReceivePulse takes pulses only: a message sent meanwhile stays queued, its sender
/// SEND-blocked (it used to be failed with ENOMSG), for a later MsgReceive.
pub fn msg_receive_pulse_leaves_messages_queued() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let coid = me.coid();
    static PULSE_VALUE: AtomicU64 = AtomicU64::new(0);
    // A thread waits for a pulse (below us: it runs when we sleep).
    let waiter = thread::spawn(move || {
        if let Ok(pulse) = sys::msg_receive_pulse(chid) {
            PULSE_VALUE.store(pulse.value, Ordering::SeqCst);
        }
    })
    .map_err(|e| format!("{e}"))?;
    time::sleep_ns(2_000_000);
    // A client thread's message, while only the pulse waiter receives.
    let sender = thread::spawn(move || {
        let mut reply = [0u8; 2];
        let status = sys::msg_send(coid, b"hi", &mut reply);
        PULSE_VALUE.fetch_add(if status == Ok(7) && reply == *b"ok" { 1000 } else { 5000 }, Ordering::SeqCst);
    })
    .map_err(|e| format!("{e}"))?;
    time::sleep_ns(5_000_000);
    ensure!(PULSE_VALUE.load(Ordering::SeqCst) == 0, "the message woke the pulse receiver or failed");
    me.send_pulse(Some(10), 1, 42).map_err(|e| format!("{e}"))?;
    waiter.join().map_err(|e| format!("{e}"))?;
    ensure!(PULSE_VALUE.load(Ordering::SeqCst) == 42, "the pulse receiver got {}", PULSE_VALUE.load(Ordering::SeqCst));
    let mut buffer = [0u8; 64];
    match channel.receive(&mut buffer).map_err(|e| format!("{e}"))? {
        Received::Message(m) => {
            ensure!(&buffer[..2] == b"hi", "received {:?}", &buffer[..2]);
            m.reply(7, b"ok").map_err(|e| format!("{e}"))?;
        }
        Received::Pulse(p) => return Err(format!("a pulse ({}) instead of the queued message", p.value)),
    }
    sender.join().map_err(|e| format!("{e}"))?;
    ensure!(
        PULSE_VALUE.load(Ordering::SeqCst) == 1042,
        "the sender's send ended {}",
        PULSE_VALUE.load(Ordering::SeqCst)
    );
    Ok(())
}

/// Priority the echo server runs at while serving a client of priority `client`.
fn server_priority(c: &Connection, client: u8) -> Result<u64, String> {
    let old = sched::get().map_err(|e| format!("{e}"))?;
    sched::set(SchedParam { policy: Policy::Fifo, priority: client }).map_err(|e| format!("{e}"))?;
    let p = c.send(b"P", &mut []);
    sched::set(old).map_err(|e| format!("{e}"))?;
    p.map_err(|e| format!("MsgSend: {e}"))
}

pub fn receiver_inherits_the_senders_priority_unless_fixed() -> Outcome {
    let (_, c) = echo_server(0)?;
    for client in [5u8, 12, 40] {
        let p = server_priority(&c, client)?;
        ensure!(p == client as u64, "server ran at {p} for a client at {client}");
    }
    let (_, fixed) = echo_server(channel_flags::FIXED_PRIORITY)?;
    for client in [5u8, 40] {
        let p = server_priority(&fixed, client)?;
        ensure!(p == 31, "FIXED_PRIORITY server ran at {p} for a client at {client}, want its own 31");
    }
    Ok(())
}

static T1_DONE_MS: AtomicU64 = AtomicU64::new(0);

pub fn priority_inversion_t1_t2_t3() -> Outcome {
    // QNX's example: a server (10) is busy for T3 (10) when T1 (25) sends; a CPU hog T2
    // (20) is ready. Without send-time inheritance T2 would delay T1 by its whole run.
    let server = peer(&["slow", "30"], 10)?;
    let c = connect(server)?;
    let coid = c.coid();
    let sched_at = |p| SchedParam { policy: Policy::Fifo, priority: p };
    let t3 = thread::Builder::new()
        .sched(sched_at(10))
        .spawn(move || {
            let _ = sys::msg_send(coid, b"t3", &mut []);
        })
        .map_err(|e| format!("{e}"))?;
    time::sleep_ns(5_000_000); // the server is now busy with T3's request
    let hog = peer(&["hog", "150"], 20)?;
    let t1 = thread::Builder::new()
        .sched(sched_at(25))
        .spawn(move || {
            let _ = sys::msg_send(coid, b"t1", &mut []);
            T1_DONE_MS.store(time::now_ns() / 1_000_000, Ordering::SeqCst);
        })
        .map_err(|e| format!("{e}"))?;
    t1.join().map_err(|e| format!("{e}"))?;
    let hog_end = exited(hog)? as u64;
    t3.join().map_err(|e| format!("{e}"))?;
    let t1_done = T1_DONE_MS.load(Ordering::SeqCst);
    ensure!(t1_done < hog_end, "T1 finished at {t1_done} ms, after the medium-priority hog ({hog_end} ms)");
    Ok(())
}

pub fn unblock_pulse_with_nto_chf_unblock() -> Outcome {
    let (_, c) = echo_server(channel_flags::UNBLOCK)?;
    let start = time::now_ns();
    // (No system call may come between TimerTimeout and the call it bounds.)
    timeout(timeout_states::REPLY, 10_000_000).map_err(|e| format!("{e}"))?;
    let got = c.send(b"U", &mut []);
    ensure!(got == Err(Errno::ETIMEDOUT), "send got {got:?}");
    ensure!(time::now_ns() - start >= 10_000_000, "unblocked before the timeout");
    let answered = c.send(b"S", &mut []).map_err(|e| format!("{e}"))?;
    ensure!(answered == 1, "the server did not get the unblock pulse for that rcvid ({answered})");
    // Without the flag the client leaves at once; the server never hears of it.
    let (_, plain) = echo_server(0)?;
    timeout(timeout_states::REPLY, 10_000_000).map_err(|e| format!("{e}"))?;
    let got = plain.send(b"U", &mut []);
    ensure!(got == Err(Errno::ETIMEDOUT), "without _NTO_CHF_UNBLOCK: {got:?}");
    Ok(())
}

pub fn disconnect_pulse_when_a_client_exits() -> Outcome {
    let channel = Channel::create(channel_flags::DISCONNECT).map_err(|e| format!("{e}"))?;
    let me = process::id();
    let client = peer(&["client-exit", &format!("{me}"), &format!("{}", channel.chid())], 10)?;
    let mut buffer = [0u8; 64];
    let mut info = MsgInfo::default();
    let scoid = match channel.receive_with_info(&mut buffer, &mut info).map_err(|e| format!("{e}"))? {
        Received::Message(m) => {
            m.reply(0, &[]).map_err(|e| format!("{e}"))?;
            info.scoid
        }
        Received::Pulse(p) => return Err(format!("a pulse first: {p:?}")),
    };
    let pulse = channel.receive_pulse().map_err(|e| format!("{e}"))?;
    ensure!(pulse.code == pulse_code::DISCONNECT, "pulse code {}", pulse.code);
    ensure!(pulse.scoid == scoid, "disconnect for scoid {:#x}, the client's was {scoid:#x}", pulse.scoid);
    let who = userlib::ipc::client_info(scoid).map_err(|e| format!("ConnectClientInfo: {e}"))?;
    ensure!(who.pid == client, "scoid names pid {}", who.pid);
    userlib::ipc::detach_client(scoid).map_err(|e| format!("ConnectDetach(scoid): {e}"))?;
    ensure!(userlib::ipc::client_info(scoid).is_err(), "the scoid outlived its ConnectDetach");
    match wait(client)? {
        ExitStatus::Exited(0) => Ok(()),
        other => Err(format!("client {other}")),
    }
}

pub fn msg_deliver_event_from_server_to_client() -> Outcome {
    let (_, c) = echo_server(0)?;
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, channel.chid()).map_err(|e| format!("{e}"))?;
    let mut event = me.pulse_event(20, 7, 0xfeed);
    userlib::ipc::register_event(&mut event, &c).map_err(|e| format!("MsgRegisterEvent: {e}"))?;
    let mut message = Vec::from(&b"V"[..]);
    message.extend_from_slice(&event.to_bytes());
    send(&c, &message, &mut [])?;
    timeout(timeout_states::RECEIVE, 1_000_000_000).map_err(|e| format!("{e}"))?;
    let pulse = channel.receive_pulse().map_err(|e| format!("no event: {e}"))?;
    ensure!((pulse.code, pulse.value) == (7, 0xfeed), "pulse {pulse:?}");
    // A forged copy (same bytes, another "server": ourselves) is refused.
    let forged = userlib::ipc::deliver_event(0, &event);
    ensure!(forged == Err(Errno::EPERM), "delivery by a process that is not the server: {forged:?}");
    Ok(())
}

pub fn interrupt_as_pulse() -> Outcome {
    let irq = info::system_info().map_err(|e| format!("{e}"))?.virtual_timer_irq;
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, channel.chid()).map_err(|e| format!("{e}"))?;
    // (A line the controller lacks was attached, and waited for in vain.)
    let absent = Interrupt::attach(1000, &me.pulse_event(40, 9, 0)).err();
    ensure!(absent == Some(Errno::EINVAL), "a line no board has: {absent:?}");
    let interrupt =
        Interrupt::attach(irq, &me.pulse_event(40, 9, irq as u64)).map_err(|e| format!("attach {irq}: {e}"))?;
    for round in 0..3 {
        // SAFETY: EL0 may program the virtual timer; fire it in 1 ms.
        unsafe {
            core::arch::asm!("msr cntv_tval_el0, {t}", "msr cntv_ctl_el0, {one}", "isb", t = in(reg) 62_500u64, one = in(reg) 1u64)
        };
        timeout(timeout_states::RECEIVE, 1_000_000_000).map_err(|e| format!("{e}"))?;
        let pulse = channel.receive_pulse().map_err(|e| format!("round {round}: no interrupt pulse: {e}"))?;
        ensure!((pulse.code, pulse.value) == (9, irq as u64), "pulse {pulse:?}");
        // SAFETY: stop the (level-triggered) timer before unmasking.
        unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "isb") };
        interrupt.unmask().map_err(|e| format!("unmask: {e}"))?;
    }
    Ok(())
}

/// A message of megabytes is copied with interrupts kept waiting for at most a page's
/// copy: a pending interrupt stops the copy, its call is made again once the interrupt
/// is taken, and the copy goes on from where it stopped. So a higher-priority thread's
/// timer wake-up is not held up by copies: while messages of megabytes are copied all
/// the time, its median lateness is a small part of one message's copy time. (Copied
/// whole with interrupts masked, half its wake-ups would come more than half a copy
/// late.)
pub fn long_copies_keep_interrupt_latency_low() -> Outcome {
    const MAX_LEN: usize = 16 << 20;
    const SLEEP_NS: u64 = 1_000_000;
    static SLEEPER_DONE: AtomicU64 = AtomicU64::new(0);
    static MEDIAN_LATE_NS: AtomicU64 = AtomicU64::new(0);
    const PAGE: usize = 4096;
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    // The server, at our priority, checks and answers every message until an empty
    // one: each page of a message starts with the message's number and the page's
    // (a copy resumed in the wrong place, or mixed with another, fails it).
    let server = thread::spawn(move || {
        let mut buffer = alloc::vec![0u8; MAX_LEN];
        let mut info = MsgInfo::default();
        while let Ok(Received::Message(m)) = channel.receive_with_info(&mut buffer, &mut info) {
            let len = info.msglen as usize;
            let tag = |page: usize| u64::from_le_bytes(buffer[page * PAGE..][..8].try_into().unwrap_or_default());
            let number = if len >= 8 { tag(0) >> 32 } else { 0 };
            let whole = (0..len / PAGE).all(|page| tag(page) == number << 32 | page as u64);
            let _ = m.reply(u64::from(!whole), &[]);
            if len == 0 {
                break;
            }
        }
    })
    .map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let mut message = alloc::vec![0x5au8; MAX_LEN];
    let mut number = 0u64;
    let mut send = |len: usize| -> Result<u64, String> {
        number += 1;
        for page in 0..len / PAGE {
            message[page * PAGE..][..8].copy_from_slice(&(number << 32 | page as u64).to_le_bytes());
        }
        let start = time::now_ns();
        let status = me.send(&message[..len], &mut []).map_err(|e| format!("send of {len} bytes: {e}"))?;
        let took = time::now_ns() - start;
        if status != 0 {
            return Err(format!("message {number} of {len} bytes arrived damaged"));
        }
        Ok(took)
    };
    // One message's copy time (the shortest of three), the message long enough to take
    // 2 ms at least.
    let mut len = 1 << 20;
    let copy_ns = loop {
        let shortest = (0..3).map(|_| send(len)).collect::<Result<Vec<u64>, String>>()?.into_iter().min();
        let shortest = shortest.unwrap_or(0);
        if shortest >= 2 * SLEEP_NS || len == MAX_LEN {
            break shortest;
        }
        len *= 2;
    };
    // A thread of higher priority sleeps 1 ms at a time and notes how late it wakes,
    // while we send.
    SLEEPER_DONE.store(0, Ordering::SeqCst);
    let sleeper = thread::Builder::new()
        .sched(SchedParam { policy: Policy::Fifo, priority: 60 })
        .spawn(|| {
            let mut late: Vec<u64> = (0..41)
                .map(|_| {
                    let start = time::now_ns();
                    time::sleep_ns(SLEEP_NS);
                    (time::now_ns() - start).saturating_sub(SLEEP_NS)
                })
                .collect();
            late.sort_unstable();
            MEDIAN_LATE_NS.store(late[late.len() / 2], Ordering::SeqCst);
            SLEEPER_DONE.store(1, Ordering::SeqCst);
        })
        .map_err(|e| format!("{e}"))?;
    let mut sent = 0;
    while SLEEPER_DONE.load(Ordering::SeqCst) == 0 {
        send(len)?;
        sent += 1;
    }
    sleeper.join().map_err(|e| format!("{e}"))?;
    send(0)?;
    server.join().map_err(|e| format!("{e}"))?;
    let median = MEDIAN_LATE_NS.load(Ordering::SeqCst);
    ensure!(sent >= 8, "only {sent} messages of {len} bytes were copied while the sleeper slept");
    ensure!(
        median < copy_ns / 8,
        "the sleeper woke {median} ns late (median) while messages of {len} bytes, each copied in {copy_ns} ns, were sent"
    );
    Ok(())
}
