//! Host tests of message passing: the QNX behaviours the IPC chapter and the course
//! slides describe, driven through the system-call interface.

// Many calls below are steps of a scenario whose effects are asserted afterwards.
#![allow(unused_must_use)]

use super::*;
use crate::events::{MAX_TIMERS_PER_PROCESS, MAX_TIMER_FIRINGS_PER_TICK, MIN_TIMER_INTERVAL_NS, TIMER_TICK_NS};
use crate::mem::PAGE_SIZE;
use crate::testing::{
    as_thread, made_again, new_thread, restarted, restarting, switch_to, system, FakeMachine, BLOCKED,
};
use crate::thread::ThreadState;
use abi::ipc::single_buffer_parts;
use abi::sched::{Policy, SchedParam};
use abi::syscall::{decode_result, wait_status};
use std::vec::Vec;

type Sys = System<FakeMachine>;

fn main_thread(s: &Sys, pid: ProcessId) -> ThreadId {
    s.thread_of(pid, 1).unwrap()
}

/// A fresh read-write buffer of `len` bytes in `pid` holding `bytes`.
fn buffer(s: &mut Sys, pid: ProcessId, bytes: &[u8], len: usize) -> usize {
    let t = main_thread(s, pid);
    let saved = s.current;
    // (Made again if an interrupt stops it, as the thread would.)
    let at = restarting(s, t, Call::MemMapAnon { size: len.max(1) }).0.unwrap() as usize;
    s.write_user(pid, at, bytes).unwrap();
    if let Some(c) = saved {
        if s.threads.get(c.0).is_some_and(|t| t.state == ThreadState::Ready || t.state == ThreadState::Running) {
            switch_to(s, c);
        }
    }
    at
}

fn read(s: &mut Sys, pid: ProcessId, at: usize, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    s.read_user(pid, at, &mut b).unwrap();
    b
}

fn x0(s: &mut Sys, t: ThreadId) -> Result<u64, Errno> {
    decode_result(s.context_mut(t).unwrap().x[0])
}

fn state(s: &Sys, t: ThreadId) -> ThreadState {
    s.threads.get(t.0).unwrap().state
}

fn runnable(s: &Sys, t: ThreadId) -> bool {
    matches!(state(s, t), ThreadState::Ready | ThreadState::Running)
}

fn priority(s: &Sys, t: ThreadId) -> u8 {
    s.threads.get(t.0).unwrap().priority
}

/// A server process with a channel and a client process connected to it.
struct Pair {
    server: ProcessId,
    client: ProcessId,
    chid: u32,
    coid: u32,
}

fn pair(s: &mut Sys, flags: u32) -> Pair {
    let server = s.spawn("init", b"", None, None, false).unwrap();
    let client = s.spawn("init", b"", None, None, false).unwrap();
    let st = main_thread(s, server);
    let chid = as_thread(s, st, Call::ChannelCreate { flags }).0.unwrap() as u32;
    let ct = main_thread(s, client);
    let coid = as_thread(s, ct, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32;
    Pair { server, client, chid, coid }
}

/// A server of an `_NTO_CHF_UNBLOCK` channel holding a client's request (a pipe read it
/// keeps): the system, the pair, the server's and client's main threads, the client's
/// second thread that sent "read" and is REPLY-blocked, the server's 64-byte receive
/// buffer, and the request's rcvid.
fn held_read() -> (Sys, Pair, ThreadId, ThreadId, ThreadId, usize, u64) {
    let mut s = system();
    let p = pair(&mut s, channel_flags::UNBLOCK);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let reader = new_thread(&mut s, ct, 10);
    let msg = buffer(&mut s, p.client, b"read", 4);
    let buf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, reader, p.coid, msg, 4, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    (s, p, st, ct, reader, buf, rcvid)
}

fn send(s: &mut Sys, t: ThreadId, coid: u32, smsg: usize, slen: usize, rmsg: usize, rlen: usize) -> Result<u64, Errno> {
    as_thread(
        s,
        t,
        Call::MsgSendv {
            coid,
            send: smsg,
            send_parts: single_buffer_parts(slen),
            reply: rmsg,
            reply_parts: single_buffer_parts(rlen),
        },
    )
    .0
}

fn receive(s: &mut Sys, t: ThreadId, chid: u32, buf: usize, len: usize, info: usize) -> Result<u64, Errno> {
    as_thread(s, t, Call::MsgReceivev { chid, buffer: buf, parts: single_buffer_parts(len), info }).0
}

/// The `_msg_info` record receiver `t` got in x2–x6 ([`INFO_IN_REGISTERS`]).
fn info_in_registers(s: &mut Sys, t: ThreadId) -> MsgInfo {
    let x = &s.context_mut(t).unwrap().x;
    MsgInfo::from_registers([x[2], x[3], x[4], x[5], x[6]])
}

#[test]
fn a_receive_may_take_its_msg_info_record_in_registers() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    let smsg = buffer(&mut s, p.client, b"in registers", 12);
    let rmsg = buffer(&mut s, p.client, &[], 8);
    let want = |msglen| (p.client.0, 1, p.chid, p.coid, msglen, 12, 8);
    let fields = |i: MsgInfo| (i.pid, i.tid, i.chid, i.coid, i.msglen, i.srcmsglen, i.dstmsglen);
    // Waiting when the message comes, and finding it queued (into a smaller buffer).
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 64, INFO_IN_REGISTERS), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, smsg, 12, rmsg, 8), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let record = info_in_registers(&mut s, st);
    assert_eq!(fields(record), want(12));
    assert!(record.scoid & SCOID_BIT != 0);
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 }).0, Ok(0));
    assert_eq!(send(&mut s, ct, p.coid, smsg, 12, rmsg, 8), BLOCKED);
    assert!(receive(&mut s, st, p.chid, rbuf, 5, INFO_IN_REGISTERS).unwrap() > 0);
    assert_eq!(fields(info_in_registers(&mut s, st)), want(5));
}

#[test]
fn send_to_a_waiting_receiver_copies_directly_and_reply_returns_status_and_data() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    let info = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 64, info), BLOCKED);
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
    let smsg = buffer(&mut s, p.client, b"checksum this", 13);
    let rmsg = buffer(&mut s, p.client, &[], 8);
    assert_eq!(send(&mut s, ct, p.coid, smsg, 13, rmsg, 8), BLOCKED);
    assert_eq!(state(&s, ct), ThreadState::Blocked(Blocked::Reply { server: p.server, channel: p.chid }));
    assert!(runnable(&s, st), "the receiver is no longer blocked");
    let rcvid = x0(&mut s, st).unwrap();
    assert!(rcvid > 0);
    assert_eq!(read(&mut s, p.server, rbuf, 13), b"checksum this");
    let i = MsgInfo::from_bytes(&read(&mut s, p.server, info, MsgInfo::SIZE)).unwrap();
    assert_eq!(
        (i.pid, i.tid, i.chid, i.coid, i.msglen, i.srcmsglen, i.dstmsglen),
        (p.client.0, 1, p.chid, p.coid, 13, 13, 8)
    );
    assert!(i.scoid & SCOID_BIT != 0);
    // Reply with more data than the client can take: the smaller buffer wins.
    let reply = buffer(&mut s, p.server, b"0123456789", 10);
    let r =
        as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 1234, buffer: reply, parts: single_buffer_parts(10) });
    assert_eq!(r.0, Ok(0));
    assert!(runnable(&s, ct));
    assert_eq!(x0(&mut s, ct), Ok(1234));
    assert_eq!(read(&mut s, p.client, rmsg, 8), b"01234567");
    // The rcvid is spent.
    let again = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
    assert_eq!(again.0, Err(Errno::ESRCH));
}

#[test]
fn the_most_recent_receiver_gets_the_next_message() {
    // QNX keeps RECEIVE-blocked threads in a LIFO queue: the last to block is served
    // first (its stack and cache are the warmest).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let second = new_thread(&mut s, st, 10);
    let (b1, b2) = (buffer(&mut s, p.server, &[], 16), buffer(&mut s, p.server, &[], 16));
    assert_eq!(receive(&mut s, st, p.chid, b1, 16, 0), BLOCKED);
    assert_eq!(receive(&mut s, second, p.chid, b2, 16, 0), BLOCKED);
    let msg = buffer(&mut s, p.client, b"first", 5);
    assert_eq!(send(&mut s, ct, p.coid, msg, 5, 0, 0), BLOCKED);
    assert!(runnable(&s, second), "the last receiver to block got the message");
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
    assert_eq!(read(&mut s, p.server, b2, 5), b"first");
}

#[test]
fn queued_messages_and_pulses_are_received_by_priority_then_arrival() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let st = main_thread(&s, p.server);
    let ct = main_thread(&s, p.client);
    // Three more client threads at different priorities.
    let mut senders = Vec::new();
    for prio in [10u8, 30, 10] {
        senders.push(new_thread(&mut s, ct, prio));
    }
    let msgs: Vec<usize> = (0..3).map(|i| buffer(&mut s, p.client, &[b'a' + i as u8], 1)).collect();
    for (t, m) in senders.iter().zip(&msgs) {
        assert_eq!(send(&mut s, *t, p.coid, *m, 1, 0, 0), BLOCKED);
        assert!(matches!(state(&s, *t), ThreadState::Blocked(Blocked::Send { .. })));
    }
    // A pulse at priority 20 lands between the 30 and the 10s.
    assert_eq!(as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 20, code: 5, value: 77 }).0, Ok(0));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    let mut order = Vec::new();
    for _ in 0..4 {
        let r = receive(&mut s, st, p.chid, rbuf, 64, 0).unwrap();
        if r == 0 {
            let pulse = Pulse::from_bytes(&read(&mut s, p.server, rbuf, Pulse::SIZE)).unwrap();
            assert_eq!((pulse.code, pulse.value), (5, 77));
            order.push(b'P');
        } else {
            order.push(read(&mut s, p.server, rbuf, 1)[0]);
            let st_r = as_thread(&mut s, st, Call::MsgError { rcvid: r, errno: Errno::EINVAL.0 });
            assert_eq!(st_r.0, Ok(0));
        }
    }
    assert_eq!(order, b"bPac", "30 first, then the pulse (20), then the two 10s in arrival order");
    assert_eq!(x0(&mut s, senders[1]), Err(Errno::EINVAL), "MsgError's errno reaches the sender");
}

fn receive_pulse(s: &mut Sys, t: ThreadId, chid: u32, buf: usize, len: usize) -> Result<u64, Errno> {
    as_thread(s, t, Call::MsgReceivePulsev { chid, buffer: buf, parts: single_buffer_parts(len), info: 0 }).0
}

#[test]
fn msg_receive_pulse_takes_pulses_only_and_leaves_messages_queued() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let sender = new_thread(&mut s, ct, 30);
    let msg = buffer(&mut s, p.client, b"m", 1);
    assert_eq!(send(&mut s, sender, p.coid, msg, 1, 0, 0), BLOCKED);
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 3, value: 33 });
    // The pulse, queued behind the higher message, is the one taken; the message stays.
    let rbuf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive_pulse(&mut s, st, p.chid, rbuf, 64), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, rbuf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (3, 33));
    // It serves the channel at the pulse's priority, boosted by the message queued there.
    assert_eq!(s.threads.get(st.0).unwrap().inherited_priority, 10);
    assert_eq!(priority(&s, st), 30);
    assert!(matches!(state(&s, sender), ThreadState::Blocked(Blocked::Send { .. })), "the message was taken");
    // (A plain receiver for later, made while its creator still runs.)
    let plain = new_thread(&mut s, st, 10);
    let plain_buf = buffer(&mut s, p.server, &[], 64);
    // Nothing but the message queued: a pulse receiver waits, and a new message queues
    // too rather than going to it.
    assert_eq!(receive_pulse(&mut s, st, p.chid, rbuf, 64), BLOCKED);
    let second = new_thread(&mut s, ct, 20);
    assert_eq!(send(&mut s, second, p.coid, msg, 1, 0, 0), BLOCKED);
    assert!(matches!(state(&s, second), ThreadState::Blocked(Blocked::Send { .. })));
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
    // A pulse wakes it, before an ordinary receiver that waits as well.
    // (The plain receiver takes the queued messages first, then waits.)
    for want in [30u8, 20] {
        let r = receive(&mut s, plain, p.chid, plain_buf, 64, 0).unwrap();
        assert!(r != 0 && priority(&s, plain) == want, "message at {want}");
        as_thread(&mut s, plain, Call::MsgReplyv { rcvid: r, status: 0, buffer: 0, parts: 0 });
    }
    assert_eq!(receive(&mut s, plain, p.chid, plain_buf, 64, 0), BLOCKED);
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 12, code: 4, value: 44 });
    assert!(runnable(&s, st), "the pulse went to the thread waiting for one");
    assert_eq!(x0(&mut s, st), Ok(0));
    assert_eq!(state(&s, plain), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
    // A message goes to the plain receiver, never to a pulse receiver.
    assert_eq!(receive_pulse(&mut s, st, p.chid, rbuf, 64), BLOCKED);
    assert_eq!(send(&mut s, second, p.coid, msg, 1, 0, 0), BLOCKED);
    assert!(runnable(&s, plain) && x0(&mut s, plain).unwrap() != 0, "the message went to the plain receiver");
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
}

#[test]
fn handles_forged_with_bit_31_reach_nothing() {
    // A review found that a coid naming a freed connection's slot with bit 31 set (the
    // free mark of 32-bit slot tags) sent on the freed connection.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let gone = as_thread(&mut s, ct, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    assert_eq!(as_thread(&mut s, ct, Call::ConnectDetach { id: gone }).0, Ok(0));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    let other = new_thread(&mut s, st, 10);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 64, 0), BLOCKED);
    let next = gone + (1 << crate::handle::INDEX_BITS);
    for forged in [1 << 31, 1 << 31 | next, 1 << 31 | gone, u32::MAX] {
        let sent = as_thread(&mut s, ct, Call::MsgSendPulse { coid: forged, priority: 10, code: 1, value: 9 });
        assert!(sent.0.is_err(), "coid {forged:#x} sent");
        let msg = send(&mut s, ct, forged, rbuf, 0, 0, 0);
        assert!(msg.is_err() && msg != BLOCKED, "coid {forged:#x} sent a message");
        let reply = as_thread(&mut s, other, Call::MsgReplyv { rcvid: forged as u64, status: 0, buffer: 0, parts: 0 });
        assert!(reply.0.is_err(), "rcvid {forged:#x} answered");
    }
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }), "something arrived");
}

#[test]
fn a_pulse_receiver_times_out_dies_or_loses_its_channel_cleanly() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    // A thread waiting for a pulse that dies leaves no trace on the channel.
    let doomed = new_thread(&mut s, st, 10);
    assert_eq!(receive_pulse(&mut s, doomed, p.chid, rbuf, 64), BLOCKED);
    let tid = s.threads.get(doomed.0).unwrap().tid;
    as_thread(&mut s, st, Call::ThreadDestroy { tid, status: 0 });
    let waiting = |s: &Sys| s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().pulse_receivers.len();
    assert_eq!(waiting(&s), 0, "a dead thread still waits for a pulse");
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 1 });
    assert_eq!(receive_pulse(&mut s, st, p.chid, rbuf, 64), Ok(0), "the pulse was queued for the next one");
    // Destroying the channel fails a thread waiting for a pulse on it with ESRCH.
    let waiter = new_thread(&mut s, st, 10);
    assert_eq!(receive_pulse(&mut s, waiter, p.chid, rbuf, 64), BLOCKED);
    assert_eq!(as_thread(&mut s, st, Call::ChannelDestroy { chid: p.chid }).0, Ok(0));
    assert_eq!(x0(&mut s, waiter), Err(Errno::ESRCH));
    // A bad channel is refused at once, and so is a buffer too small for a pulse, before
    // it takes one.
    assert_eq!(receive_pulse(&mut s, st, 999, rbuf, 64), Err(Errno::ESRCH));
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 2, value: 2 });
    let small = buffer(&mut s, p.server, &[], 8);
    assert_eq!(receive_pulse(&mut s, st, p.chid, small, Pulse::SIZE - 1), Err(Errno::EFAULT));
    let rbuf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive_pulse(&mut s, st, p.chid, rbuf, 64), Ok(0), "the pulse was kept");
}

#[test]
fn too_small_a_buffer_for_a_pulse_is_efault_and_the_pulse_is_lost() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 1 });
    let small = buffer(&mut s, p.server, &[], 8);
    assert_eq!(receive(&mut s, st, p.chid, small, 8, 0), Err(Errno::EFAULT));
    let big = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, big, 64, 0), BLOCKED, "the pulse is gone");
    // Same when the receiver was already waiting.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let small = buffer(&mut s, p.server, &[], 8);
    assert_eq!(receive(&mut s, st, p.chid, small, 8, 0), BLOCKED);
    as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 1 });
    assert_eq!(x0(&mut s, st), Err(Errno::EFAULT));
}

#[test]
fn header_then_msg_read_of_the_rest_and_msg_write_then_reply() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    // The client sends a 4-byte header and 10-byte payload as a two-part IOV.
    let header = buffer(&mut s, p.client, b"HDR:", 4);
    let payload = buffer(&mut s, p.client, b"0123456789", 10);
    let mut iov = Vec::new();
    for (a, l) in [(header, 4u64), (payload, 10)] {
        iov.extend_from_slice(&(a as u64).to_le_bytes());
        iov.extend_from_slice(&l.to_le_bytes());
    }
    let iov_at = buffer(&mut s, p.client, &iov, 32);
    let reply = buffer(&mut s, p.client, &[], 16);
    let r = as_thread(
        &mut s,
        ct,
        Call::MsgSendv { coid: p.coid, send: iov_at, send_parts: 2, reply, reply_parts: single_buffer_parts(16) },
    );
    assert_eq!(r.0, BLOCKED);
    // The server receives only the header...
    let hbuf = buffer(&mut s, p.server, &[], 4);
    let rcvid = receive(&mut s, st, p.chid, hbuf, 4, 0).unwrap();
    assert_eq!(read(&mut s, p.server, hbuf, 4), b"HDR:");
    // ...then reads the rest at offset 4.
    let rest = buffer(&mut s, p.server, &[], 32);
    let n = as_thread(&mut s, st, Call::MsgReadv { rcvid, buffer: rest, parts: single_buffer_parts(32), offset: 4 });
    assert_eq!(n.0, Ok(10));
    assert_eq!(read(&mut s, p.server, rest, 10), b"0123456789");
    // MsgWrite part of the reply at offset 8, then MsgReply the start.
    let tail = buffer(&mut s, p.server, b"TAIL", 4);
    let n = as_thread(&mut s, st, Call::MsgWritev { rcvid, buffer: tail, parts: single_buffer_parts(4), offset: 8 });
    assert_eq!(n.0, Ok(4));
    let head = buffer(&mut s, p.server, b"HEAD", 4);
    as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: head, parts: single_buffer_parts(4) });
    let got = read(&mut s, p.client, reply, 12);
    assert_eq!(&got[..4], b"HEAD");
    assert_eq!(&got[8..], b"TAIL");
}

#[test]
fn receiver_runs_at_the_senders_priority_up_and_down_unless_fixed() {
    for (flags, expect_low, expect_high) in [(0, 4, 40), (channel_flags::FIXED_PRIORITY, 10, 10)] {
        let mut s = system();
        let p = pair(&mut s, flags);
        let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
        let rbuf = buffer(&mut s, p.server, &[], 16);
        for (prio, expect) in [(4u8, expect_low), (40, expect_high)] {
            let sched = SchedParam { policy: Policy::RoundRobin, priority: prio }.encode();
            as_thread(&mut s, ct, Call::SchedSet { pid: 0, tid: 0, sched });
            let rcvid_or_blocked = receive(&mut s, st, p.chid, rbuf, 16, 0);
            assert_eq!(rcvid_or_blocked, BLOCKED);
            assert_eq!(send(&mut s, ct, p.coid, rbuf, 0, 0, 0), BLOCKED);
            assert_eq!(priority(&s, st), expect, "flags {flags:#x}, sender at {prio}");
            let rcvid = x0(&mut s, st).unwrap();
            as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
        }
    }
}

#[test]
fn a_higher_priority_send_boosts_the_busy_server_at_send_time_and_the_boost_is_undone() {
    // The T1/T2/T3 scenario: the server (10) works for T3 (10); T1 (30) sends; a hog (20)
    // must not delay T1: the server is boosted to 30 at once.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, t3) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let t1 = new_thread(&mut s, t3, 30);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, t3, p.coid, rbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 10);
    let rcvid3 = x0(&mut s, st).unwrap();
    assert_eq!(send(&mut s, t1, p.coid, rbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 30, "boosted when T1 sends, before it is received");
    // Replying to T3 keeps the boost while T1 waits; receiving T1's message keeps 30.
    as_thread(&mut s, st, Call::MsgReplyv { rcvid: rcvid3, status: 0, buffer: 0, parts: 0 });
    assert_eq!(priority(&s, st), 30);
    let rcvid1 = receive(&mut s, st, p.chid, rbuf, 16, 0).unwrap();
    assert_eq!(priority(&s, st), 30);
    as_thread(&mut s, st, Call::MsgReplyv { rcvid: rcvid1, status: 0, buffer: 0, parts: 0 });
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(priority(&s, st), 10, "back to its own priority when idle");
}

#[test]
fn boosts_propagate_along_a_chain_of_servers() {
    // A -> B -> C: B's worker b2, serving A's request, is queued on C. When D (60) sends
    // to busy B, b2 is boosted, moves up in C's queue, and C is boosted in turn.
    let mut s = system();
    let b = s.spawn("init", b"", None, None, false).unwrap();
    let c = s.spawn("low", b"", None, None, false).unwrap();
    let a = s.spawn("init", b"", None, None, false).unwrap();
    let d = s.spawn("init", b"", None, None, false).unwrap();
    let other = s.spawn("low", b"", None, None, false).unwrap();
    let (bt, ct, at, dt, ot) =
        (main_thread(&s, b), main_thread(&s, c), main_thread(&s, a), main_thread(&s, d), main_thread(&s, other));
    let c_chid = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let b_chid = as_thread(&mut s, bt, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let b2 = new_thread(&mut s, bt, 10);
    let b_to_c = as_thread(&mut s, bt, Call::ConnectAttach { pid: c.0, chid: c_chid }).0.unwrap() as u32;
    let a_to_b = as_thread(&mut s, at, Call::ConnectAttach { pid: b.0, chid: b_chid }).0.unwrap() as u32;
    let d_to_b = as_thread(&mut s, dt, Call::ConnectAttach { pid: b.0, chid: b_chid }).0.unwrap() as u32;
    let o_to_c = as_thread(&mut s, ot, Call::ConnectAttach { pid: c.0, chid: c_chid }).0.unwrap() as u32;
    let cbuf = buffer(&mut s, c, &[], 16);
    let bbuf = buffer(&mut s, b, &[], 16);
    // C serves `other` (5); B's main thread (10) queues on C: C rises to 10.
    receive(&mut s, ct, c_chid, cbuf, 16, 0);
    send(&mut s, ot, o_to_c, cbuf, 0, 0, 0);
    assert_eq!(priority(&s, ct), 5);
    assert_eq!(send(&mut s, bt, b_to_c, bbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, ct), 10);
    // b2 takes A's request (10) and queues on C behind B's main thread.
    assert_eq!(receive(&mut s, b2, b_chid, bbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, at, a_to_b, bbuf, 0, 0, 0), BLOCKED);
    assert_eq!(send(&mut s, b2, b_to_c, bbuf, 0, 0, 0), BLOCKED);
    let queue = |s: &Sys| s.processes.get(c.0).unwrap().channels.get(c_chid).unwrap().queue();
    assert_eq!(queue(&s), vec![PendingItem::Message(bt), PendingItem::Message(b2)]);
    // D (60) sends to B, whose only server thread b2 is busy: the boost runs down the chain.
    let up = SchedParam { policy: Policy::Fifo, priority: 60 }.encode();
    as_thread(&mut s, dt, Call::SchedSet { pid: 0, tid: 0, sched: up });
    assert_eq!(send(&mut s, dt, d_to_b, bbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, b2), 60);
    assert_eq!(queue(&s), vec![PendingItem::Message(b2), PendingItem::Message(bt)], "b2 moved ahead");
    assert_eq!(priority(&s, ct), 60, "C inherits D's priority through B");
    // D gives up (killed): the boost is undone all the way down.
    switch_to(&mut s, ct);
    s.terminate_process(d, wait_status::exited(0));
    assert_eq!(priority(&s, b2), 10);
    assert_eq!(priority(&s, ct), 10);
}

#[test]
fn sched_set_lasts_through_a_fixed_priority_receive() {
    // A review found SchedSet leaving the inherited priority, which the receive on a
    // FIXED_PRIORITY channel (and the fast paths) start from: the old priority came back.
    let mut s = system();
    let p = pair(&mut s, channel_flags::FIXED_PRIORITY);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    assert_eq!(priority(&s, st), 10);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    let sched = SchedParam { policy: Policy::Fifo, priority: 20 }.encode();
    assert_eq!(as_thread(&mut s, st, Call::SchedSet { pid: 0, tid: 0, sched }).0, Ok(0));
    assert_eq!(priority(&s, st), 20);
    assert_eq!(send(&mut s, ct, p.coid, rbuf, 0, 0, 0), BLOCKED); // queued
    assert!(receive(&mut s, st, p.chid, rbuf, 16, 0).is_ok());
    assert_eq!(priority(&s, st), 20, "a FIXED_PRIORITY receiver runs at its own (new) priority");
}

#[test]
fn sched_set_on_a_boosted_server_keeps_the_boost_while_the_high_client_waits() {
    // The T1/T2/T3 scenario again, but the server (10) changes its own priority to 12
    // while boosted to 30 by T1's queued message: T1 still waits, so the boost stays
    // (a review found the server falling to 12).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, t3) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let t1 = new_thread(&mut s, t3, 30);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, t3, p.coid, rbuf, 0, 0, 0), BLOCKED);
    let rcvid3 = x0(&mut s, st).unwrap();
    assert_eq!(send(&mut s, t1, p.coid, rbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 30, "boosted when T1 sends");
    let sched = SchedParam { policy: Policy::Fifo, priority: 12 }.encode();
    assert_eq!(as_thread(&mut s, st, Call::SchedSet { pid: 0, tid: 0, sched }).0, Ok(0));
    assert_eq!(priority(&s, st), 30, "T1 (30) still waits on the channel: the boost's reason is there");
    // Once T1's message is received and answered, the server is back to its new own priority.
    let reply = |s: &mut Sys, rcvid| as_thread(s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 }).0;
    assert_eq!(reply(&mut s, rcvid3), Ok(0));
    let rcvid1 = receive(&mut s, st, p.chid, rbuf, 16, 0).unwrap();
    assert_eq!(priority(&s, st), 30, "working on T1's message");
    assert_eq!(reply(&mut s, rcvid1), Ok(0));
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(s.threads.get(st.0).unwrap().base_priority, 12);
    assert_eq!(priority(&s, st), 12);
}

#[test]
fn sched_set_by_a_server_replaces_the_priority_of_the_message_it_works_on() {
    // QNX's way for a server to go back to its own priority after serving a client: its
    // own SchedSet sets its running priority too (nothing else waits to boost it).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let high = new_thread(&mut s, ct, 30);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, high, p.coid, rbuf, 0, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 30, "inherited from the message");
    let sched = SchedParam { policy: Policy::Fifo, priority: 11 }.encode();
    assert_eq!(as_thread(&mut s, st, Call::SchedSet { pid: 0, tid: 0, sched }).0, Ok(0));
    assert_eq!(priority(&s, st), 11);
}

#[test]
fn sched_set_on_a_send_blocked_client_requeues_it_and_boosts_its_server() {
    // A SEND-blocked thread raised by SchedSet takes its new place in the priority-ordered
    // send queue, and the server working for that channel is boosted to it (a review
    // found it keeping its old place, and the server unboosted).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let (a, b, helper) = (new_thread(&mut s, ct, 10), new_thread(&mut s, ct, 10), new_thread(&mut s, ct, 10));
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, rbuf, 0, 0, 0), BLOCKED); // received at once: the server is busy
    assert_eq!(send(&mut s, a, p.coid, rbuf, 0, 0, 0), BLOCKED); // queued first
    assert_eq!(send(&mut s, b, p.coid, rbuf, 0, 0, 0), BLOCKED); // queued second
    let b_tid = s.threads.get(b.0).unwrap().tid;
    let sched = SchedParam { policy: Policy::Fifo, priority: 40 }.encode();
    assert_eq!(as_thread(&mut s, helper, Call::SchedSet { pid: 0, tid: b_tid, sched }).0, Ok(0));
    assert_eq!(priority(&s, b), 40);
    let queue = |s: &Sys| s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().queue();
    assert_eq!(queue(&s), vec![PendingItem::Message(b), PendingItem::Message(a)], "the 40 message is received first");
    assert_eq!(priority(&s, st), 40, "the server works for a queue whose top is now 40");
    // Lowered again below the other: back behind it, and the boost is undone.
    let sched = SchedParam { policy: Policy::Fifo, priority: 5 }.encode();
    assert_eq!(as_thread(&mut s, helper, Call::SchedSet { pid: 0, tid: b_tid, sched }).0, Ok(0));
    assert_eq!(queue(&s), vec![PendingItem::Message(a), PendingItem::Message(b)]);
    assert_eq!(priority(&s, st), 10);
}

#[test]
fn server_death_fails_send_and_reply_blocked_clients_with_esrch() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let c2 = new_thread(&mut s, ct, 10);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    receive(&mut s, st, p.chid, rbuf, 16, 0);
    assert_eq!(send(&mut s, ct, p.coid, rbuf, 0, 0, 0), BLOCKED); // received: REPLY-blocked
    assert_eq!(send(&mut s, c2, p.coid, rbuf, 0, 0, 0), BLOCKED); // queued: SEND-blocked
    switch_to(&mut s, st);
    s.terminate_process(p.server, wait_status::exited(0));
    assert_eq!(x0(&mut s, ct), Err(Errno::ESRCH));
    assert_eq!(x0(&mut s, c2), Err(Errno::ESRCH));
    assert!(runnable(&s, ct));
    assert_eq!(send(&mut s, ct, p.coid, rbuf, 0, 0, 0), Err(Errno::ESRCH), "the coid leads nowhere now");
}

#[test]
fn client_death_gives_a_disconnect_pulse_and_the_server_frees_the_scoid() {
    let mut s = system();
    let p = pair(&mut s, channel_flags::DISCONNECT);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    // A second connection from the same process shares the scoid.
    let coid2 = as_thread(&mut s, ct, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    assert_ne!(coid2, p.coid);
    assert_eq!(s.processes.get(p.server.0).unwrap().server_connections.len(), 1);
    // The client sends and dies while REPLY-blocked.
    let rbuf = buffer(&mut s, p.server, &[], 64);
    receive(&mut s, st, p.chid, rbuf, 64, 0);
    send(&mut s, ct, p.coid, rbuf, 0, 0, 0);
    let rcvid = x0(&mut s, st).unwrap();
    switch_to(&mut s, st);
    s.terminate_process(p.client, wait_status::exited(0));
    let r = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
    assert_eq!(r.0, Err(Errno::ESRCH), "nobody to reply to");
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 64, 0), Ok(0), "a pulse");
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, rbuf, Pulse::SIZE)).unwrap();
    assert_eq!(pulse.code, pulse_code::DISCONNECT);
    let info = buffer(&mut s, p.server, &[], ClientInfo::SIZE);
    let r = as_thread(&mut s, st, Call::ConnectClientInfo { scoid: pulse.scoid, info });
    assert_eq!(r.0, Ok(0));
    assert_eq!(ClientInfo::from_bytes(&read(&mut s, p.server, info, ClientInfo::SIZE)).unwrap().pid, p.client.0);
    assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: pulse.scoid }).0, Ok(0));
    assert_eq!(s.processes.get(p.server.0).unwrap().server_connections.len(), 0);
    assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: pulse.scoid }).0, Err(Errno::EINVAL));
}

#[test]
fn bad_ids_buffers_and_states_are_errors() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let e = |r: (Result<u64, Errno>, u64)| r.0.unwrap_err();
    assert_eq!(e(as_thread(&mut s, st, Call::ChannelCreate { flags: 0x8000_0000 })), Errno::EINVAL);
    assert_eq!(e(as_thread(&mut s, ct, Call::ConnectAttach { pid: 999, chid: 1 })), Errno::ESRCH);
    assert_eq!(e(as_thread(&mut s, ct, Call::ConnectAttach { pid: p.server.0, chid: 77 })), Errno::ESRCH);
    let private = as_thread(&mut s, st, Call::ChannelCreate { flags: channel_flags::PRIVATE }).0.unwrap() as u32;
    assert_eq!(e(as_thread(&mut s, ct, Call::ConnectAttach { pid: p.server.0, chid: private })), Errno::EPERM);
    assert!(as_thread(&mut s, st, Call::ConnectAttach { pid: 0, chid: private }).0.is_ok(), "its own process may");
    let buf = buffer(&mut s, p.client, b"x", 64);
    assert_eq!(send(&mut s, ct, 55, buf, 1, 0, 0), Err(Errno::EBADF));
    assert_eq!(receive(&mut s, st, 55, buf, 1, 0), Err(Errno::ESRCH));
    let sbuf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0x1234), Err(Errno::EFAULT), "bad info pointer");
    let too_many = as_thread(&mut s, st, Call::MsgReceivev { chid: p.chid, buffer: sbuf, parts: 100_000, info: 0 });
    assert_eq!(e(too_many), Errno::EINVAL);
    let bad_iov = as_thread(&mut s, st, Call::MsgReceivev { chid: p.chid, buffer: 0x1234, parts: 2, info: 0 });
    assert_eq!(e(bad_iov), Errno::EFAULT);
    for rcvid in [0, 1, 1 << 60, u64::MAX] {
        let r = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
        assert_eq!(e(r), Errno::ESRCH, "rcvid {rcvid:#x}");
    }
    // A waiting receiver, and a sender whose buffer is unmapped: the sender gets EFAULT
    // and the receiver keeps waiting.
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, 0x7777_0000, 16, 0, 0), Err(Errno::EFAULT));
    assert!(matches!(state(&s, st), ThreadState::Blocked(Blocked::Receive { .. })));
    // Kernel addresses are never accepted.
    assert_eq!(send(&mut s, ct, p.coid, 0xffff_0000_4020_0000, 16, 0, 0), Err(Errno::EFAULT));
    // A message arrives; only its server may reply, with a current rcvid.
    assert_eq!(send(&mut s, ct, p.coid, buf, 1, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let stranger = s.spawn("init", b"", None, None, false).unwrap();
    let xt = main_thread(&s, stranger);
    assert_eq!(e(as_thread(&mut s, xt, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 })), Errno::ESRCH);
    assert_eq!(e(as_thread(&mut s, xt, Call::MsgReadv { rcvid, buffer: 0, parts: 0, offset: 0 })), Errno::ESRCH);
    assert_eq!(e(as_thread(&mut s, st, Call::MsgError { rcvid, errno: 0 })), Errno::EINVAL);
    assert_eq!(
        e(as_thread(&mut s, st, Call::MsgReplyv { rcvid: rcvid + (1 << 32), status: 0, buffer: 0, parts: 0 })),
        Errno::ESRCH
    );
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 5, buffer: 0, parts: 0 }).0, Ok(0));
    assert_eq!(
        e(as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: -1, value: 0 })),
        Errno::EINVAL
    );
    assert_eq!(
        e(as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 0, code: 1, value: 0 })),
        Errno::EINVAL
    );
    assert_eq!(
        e(as_thread(&mut s, ct, Call::MsgSendPulse { coid: 99, priority: 10, code: 1, value: 0 })),
        Errno::EBADF
    );
    assert_eq!(e(as_thread(&mut s, ct, Call::ConnectDetach { id: 77 })), Errno::EINVAL);
    assert_eq!(e(as_thread(&mut s, ct, Call::ConnectDetach { id: SCOID_BIT | 3 })), Errno::EINVAL);
    assert_eq!(e(as_thread(&mut s, st, Call::ChannelDestroy { chid: 77 })), Errno::EINVAL);
    assert_eq!(e(as_thread(&mut s, st, Call::ConnectClientInfo { scoid: 5, info: sbuf })), Errno::ESRCH);
}

#[test]
fn randomized_traffic_every_message_is_received_once_and_replies_reach_their_sender() {
    // Several clients with several threads send tagged messages to a two-thread server in a
    // pseudo-random interleaving; the server replies with the tag + 1. Every send must
    // complete exactly once with its own tag's reply.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut s = system();
    let server = s.spawn("init", b"", None, None, false).unwrap();
    let st = main_thread(&s, server);
    let chid = as_thread(&mut s, st, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let workers = [st, new_thread(&mut s, st, 10)];
    let wbufs: Vec<usize> = workers.iter().map(|_| buffer(&mut s, server, &[], 64)).collect();
    let mut clients = Vec::new(); // (thread, pid, coid, send buf, reply buf)
    for _ in 0..3 {
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = main_thread(&s, pid);
        let coid = as_thread(&mut s, main, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32;
        for k in 0..3 {
            let t = if k == 0 { main } else { new_thread(&mut s, main, 5 + rand(30) as u8) };
            let sb = buffer(&mut s, pid, &[], 8);
            let rb = buffer(&mut s, pid, &[], 8);
            clients.push((t, pid, coid, sb, rb));
        }
    }
    let mut outstanding: Vec<Option<u64>> = vec![None; clients.len()]; // tag in flight
    let mut held: Vec<Option<u64>> = vec![None; workers.len()]; // rcvid being served
    let mut waiting = vec![false; workers.len()]; // RECEIVE-blocked when last seen
    let mut next_tag = 1u64;
    let mut completed = 0;
    for _ in 0..3000 {
        // A worker that was RECEIVE-blocked and has been given a message holds its rcvid.
        for w in 0..workers.len() {
            if waiting[w] && runnable(&s, workers[w]) {
                waiting[w] = false;
                held[w] = Some(x0(&mut s, workers[w]).expect("delivery gives an rcvid"));
            }
        }
        match rand(3) {
            0 => {
                let i = rand(clients.len() as u64) as usize;
                if outstanding[i].is_some() {
                    continue;
                }
                let (t, pid, coid, sb, rb) = clients[i];
                s.write_user(pid, sb, &next_tag.to_le_bytes()).unwrap();
                assert_eq!(send(&mut s, t, coid, sb, 8, rb, 8), BLOCKED);
                outstanding[i] = Some(next_tag);
                next_tag += 1;
            }
            1 => {
                let w = rand(workers.len() as u64) as usize;
                if held[w].is_some() || waiting[w] {
                    continue;
                }
                match receive(&mut s, workers[w], chid, wbufs[w], 64, 0) {
                    BLOCKED => waiting[w] = true,
                    Ok(rcvid) => held[w] = Some(rcvid),
                    other => panic!("receive failed: {other:?}"),
                }
            }
            _ => {
                let w = rand(workers.len() as u64) as usize;
                let Some(rcvid) = held[w].take() else { continue };
                let tag = u64::from_le_bytes(read(&mut s, server, wbufs[w], 8).try_into().unwrap());
                s.write_user(server, wbufs[w] + 8, &(tag + 1).to_le_bytes()).unwrap();
                let r = as_thread(
                    &mut s,
                    workers[w],
                    Call::MsgReplyv { rcvid, status: tag, buffer: wbufs[w] + 8, parts: single_buffer_parts(8) },
                );
                assert_eq!(r.0, Ok(0));
                let i = outstanding.iter().position(|o| *o == Some(tag)).expect("a reply for a message nobody sent");
                let (t, pid, _, _, rb) = clients[i];
                assert_eq!(x0(&mut s, t), Ok(tag), "status reaches the right thread");
                assert_eq!(read(&mut s, pid, rb, 8), (tag + 1).to_le_bytes(), "reply data too");
                outstanding[i] = None;
                completed += 1;
            }
        }
    }
    assert!(completed > 300, "only {completed} round trips");
}

fn arm(s: &mut Sys, t: ThreadId, states: u32, ns: u64) {
    assert_eq!(as_thread(s, t, Call::TimerTimeout { states, nanoseconds: ns }).0, Ok(0));
}

fn advance(s: &mut Sys, ns: u64) {
    s.machine.now += ns;
    let now = s.machine.now;
    s.timer(now, 0);
}

#[test]
fn timeouts_bound_send_receive_and_reply_blocking() {
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let buf = buffer(&mut s, p.client, b"m", 16);
    // SEND: nobody receives; the sender gives up after 1 ms and leaves the queue.
    arm(&mut s, ct, ts::SEND, 1_000_000);
    assert_eq!(send(&mut s, ct, p.coid, buf, 1, 0, 0), BLOCKED);
    assert_eq!(s.next_wakeup(), Some(1_000_000));
    advance(&mut s, 999_999);
    assert!(!runnable(&s, ct));
    advance(&mut s, 1);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
    assert!(s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().queue().is_empty());
    // RECEIVE.
    let sbuf = buffer(&mut s, p.server, &[], 64);
    arm(&mut s, st, ts::RECEIVE, 500);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    advance(&mut s, 500);
    assert_eq!(x0(&mut s, st), Err(Errno::ETIMEDOUT));
    // A bound for another state does not apply, and is used up by the next call.
    arm(&mut s, st, ts::SEND, 10);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    advance(&mut s, 1000);
    assert!(!runnable(&s, st), "RECEIVE was not bounded");
    // REPLY without _NTO_CHF_UNBLOCK: the client leaves at once; the late reply finds nobody.
    arm(&mut s, ct, ts::REPLY, 100);
    assert_eq!(send(&mut s, ct, p.coid, buf, 1, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    advance(&mut s, 100);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
    let late = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
    assert_eq!(late.0, Err(Errno::ESRCH));
}

#[test]
fn with_nto_chf_unblock_the_server_gets_an_unblock_pulse_and_decides() {
    use abi::syscall::timeout_states as ts;
    for with_flag in [true, false] {
        let mut s = system();
        let p = pair(&mut s, if with_flag { channel_flags::UNBLOCK } else { 0 });
        let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
        let buf = buffer(&mut s, p.client, b"m", 16);
        let sbuf = buffer(&mut s, p.server, &[], 64);
        receive(&mut s, st, p.chid, sbuf, 64, 0);
        arm(&mut s, ct, ts::REPLY, 100);
        assert_eq!(send(&mut s, ct, p.coid, buf, 1, 0, 0), BLOCKED);
        let rcvid = x0(&mut s, st).unwrap();
        advance(&mut s, 100);
        if !with_flag {
            assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT), "unblocked at once");
            continue;
        }
        assert!(!runnable(&s, ct), "still REPLY-blocked: the server decides");
        assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), Ok(0));
        let pulse = Pulse::from_bytes(&read(&mut s, p.server, sbuf, Pulse::SIZE)).unwrap();
        assert_eq!((pulse.code, pulse.value), (pulse_code::UNBLOCK, rcvid));
        let r = as_thread(&mut s, st, Call::MsgError { rcvid: pulse.value, errno: Errno::EINTR.0 });
        assert_eq!(r.0, Ok(0));
        assert_eq!(x0(&mut s, ct), Err(Errno::EINTR));
    }
}

#[test]
fn msg_deliver_event_only_by_the_registered_server_and_only_the_registered_event() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    // The client has its own channel and a connection to it, for the pulse.
    let own_chid = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let self_coid = as_thread(&mut s, ct, Call::ConnectAttach { pid: 0, chid: own_chid }).0.unwrap() as u32;
    let event = SigEvent::pulse(self_coid, 15, 9, 0x5eed);
    let ev_at = buffer(&mut s, p.client, &event.to_bytes(), SigEvent::SIZE);
    let handle = as_thread(&mut s, ct, Call::MsgRegisterEvent { event: ev_at, coid: p.coid }).0.unwrap() as u32;
    let registered = SigEvent::from_bytes(&read(&mut s, p.client, ev_at, SigEvent::SIZE)).unwrap();
    assert_eq!(registered.handle, handle);
    // The client gives the event to the server in a message.
    let sbuf = buffer(&mut s, p.server, &[], 64);
    receive(&mut s, st, p.chid, sbuf, 64, 0);
    assert_eq!(send(&mut s, ct, p.coid, ev_at, SigEvent::SIZE, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
    // The server tampers with the code before delivering: the registered copy wins.
    let mut tampered = SigEvent::from_bytes(&read(&mut s, p.server, sbuf, SigEvent::SIZE)).unwrap();
    tampered.code = 100;
    s.write_user(p.server, sbuf, &tampered.to_bytes()).unwrap();
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid, event: sbuf }).0, Ok(0));
    let cbuf = buffer(&mut s, p.client, &[], 64);
    assert_eq!(receive(&mut s, ct, own_chid, cbuf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.client, cbuf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (9, 0x5eed));
    // Another process may not deliver it; a made-up handle is refused.
    let stranger = s.spawn("init", b"", None, None, false).unwrap();
    let xt = main_thread(&s, stranger);
    let copy = buffer(&mut s, stranger, &registered.to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, xt, Call::MsgDeliverEvent { rcvid: 0, event: copy }).0, Err(Errno::EPERM));
    let forged = buffer(&mut s, p.server, &SigEvent { handle: 4000, ..event }.to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid: 0, event: forged }).0, Err(Errno::EINVAL));
    // Unregistered: no longer deliverable.
    assert_eq!(as_thread(&mut s, ct, Call::MsgUnregisterEvent { event: ev_at }).0, Ok(0));
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid: 0, event: sbuf }).0, Err(Errno::EINVAL));
}

#[test]
fn msg_deliver_event_for_a_thread_gone_or_a_coid_detached_says_which() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let (_, self_coid) = self_channel(&mut s, p.client);
    let ev_at = buffer(&mut s, p.client, &SigEvent::pulse(self_coid, 15, 9, 1).to_bytes(), SigEvent::SIZE);
    as_thread(&mut s, ct, Call::MsgRegisterEvent { event: ev_at, coid: p.coid }).0.unwrap();
    let registered = read(&mut s, p.client, ev_at, SigEvent::SIZE);
    let event = buffer(&mut s, p.server, &registered, SigEvent::SIZE);
    // The rcvid of a message from a thread that has ended since: stale, ESRCH (it was
    // EPERM, the answer for another process's rcvid).
    let worker = new_thread(&mut s, ct, 10);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    receive(&mut s, st, p.chid, sbuf, 64, 0);
    assert_eq!(send(&mut s, worker, p.coid, sbuf, 0, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
    let worker_tid = s.threads.get(worker.0).unwrap().tid;
    assert_eq!(as_thread(&mut s, ct, Call::ThreadDetach { tid: worker_tid }).0, Ok(0));
    assert_eq!(as_thread(&mut s, ct, Call::ThreadDestroy { tid: worker_tid, status: 0 }).0, Ok(0));
    assert!(s.threads.get(worker.0).is_none(), "detached: freed as it ended");
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid, event }).0, Err(Errno::ESRCH));
    // Named by its connection's scoid instead, the client is found whatever thread asked
    // (a review found mq_notify's pulse lost once the thread that asked had ended).
    let scoid = s.processes.get(p.client.0).unwrap().connections.get(p.coid).unwrap().scoid;
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid: scoid as u64, event }).0, Ok(0));
    let (_, own_coid) = self_channel(&mut s, p.server);
    let servers_own = s.processes.get(p.server.0).unwrap().connections.get(own_coid).unwrap().scoid;
    let deliver = |s: &mut Sys, id: u32| as_thread(s, st, Call::MsgDeliverEvent { rcvid: id as u64, event }).0;
    assert_eq!(deliver(&mut s, servers_own), Err(Errno::EPERM), "another client's scoid");
    assert_eq!(deliver(&mut s, SCOID_BIT | 77), Err(Errno::ESRCH), "no such scoid");
    // The event's own connection detached by the client: EBADF.
    assert_eq!(as_thread(&mut s, ct, Call::ConnectDetach { id: self_coid }).0, Ok(0));
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid: 0, event }).0, Err(Errno::EBADF));
}

#[test]
fn an_unblock_event_fails_the_registered_threads_blocking_call() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let event = SigEvent { notify: notify::UNBLOCK, ..Default::default() };
    let ev_at = buffer(&mut s, p.client, &event.to_bytes(), SigEvent::SIZE);
    as_thread(&mut s, ct, Call::MsgRegisterEvent { event: ev_at, coid: p.coid }).0.unwrap();
    let own_chid = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let cbuf = buffer(&mut s, p.client, &[], 64);
    assert_eq!(receive(&mut s, ct, own_chid, cbuf, 64, 0), BLOCKED);
    let registered = read(&mut s, p.client, ev_at, SigEvent::SIZE);
    let copy = buffer(&mut s, p.server, &registered, SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid: 0, event: copy }).0, Ok(0));
    assert_eq!(x0(&mut s, ct), Err(Errno::EINTR));
}

/// A process with a channel and a connection to it, for events it sends itself.
fn self_channel(s: &mut Sys, pid: ProcessId) -> (u32, u32) {
    let t = main_thread(s, pid);
    let chid = as_thread(s, t, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let coid = as_thread(s, t, Call::ConnectAttach { pid: 0, chid }).0.unwrap() as u32;
    (chid, coid)
}

/// An ordinary process with a timer that delivers pulses (priority 20, code 3, `value`)
/// on a channel of its own: (pid, its thread, the channel, the timer). Its timers fire
/// on the clock tick (`events.rs`).
fn pulse_timer(s: &mut Sys, value: u64) -> (ProcessId, ThreadId, u32, u32) {
    pulse_timer_of(s, value, false)
}

/// The same for a system program (`system`: one that may ask for priorities above 63),
/// whose timers fire when due.
fn pulse_timer_of(s: &mut Sys, value: u64, system: bool) -> (ProcessId, ThreadId, u32, u32) {
    let pid = s.spawn("init", b"", None, None, system).unwrap();
    let t = main_thread(s, pid);
    let (chid, coid) = self_channel(s, pid);
    let ev = buffer(s, pid, &SigEvent::pulse(coid, 20, 3, value).to_bytes(), SigEvent::SIZE);
    let id = as_thread(s, t, Call::TimerCreate { event: ev }).0.unwrap() as u32;
    (pid, t, chid, id)
}

#[test]
fn a_periodic_timer_delivers_pulses_and_stops_when_disarmed() {
    let mut s = system();
    let (pid, t, chid, id) = pulse_timer_of(&mut s, 77, true);
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1000, interval: 20_000 }).0, Ok(0));
    assert_eq!(s.next_wakeup(), Some(1000));
    let buf = buffer(&mut s, pid, &[], 64);
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), BLOCKED);
    advance(&mut s, 1000);
    assert_eq!(x0(&mut s, t), Ok(0), "a pulse");
    let pulse = Pulse::from_bytes(&read(&mut s, pid, buf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (3, 77));
    assert_eq!(priority(&s, t), 20, "the receiver runs at the pulse's priority");
    assert_eq!(s.next_wakeup(), Some(21_000));
    advance(&mut s, 42_000); // two periods late: one pulse, next one stays in phase
    assert_eq!(s.next_wakeup(), Some(61_000));
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), Ok(0));
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 0, interval: 0 }).0, Ok(0));
    assert_eq!(s.next_wakeup(), None);
    assert_eq!(as_thread(&mut s, t, Call::TimerDestroy { id }).0, Ok(0));
    assert_eq!(as_thread(&mut s, t, Call::TimerDestroy { id }).0, Err(Errno::EINVAL));
    let bad = buffer(&mut s, pid, &SigEvent::pulse(99, 20, 3, 0).to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, t, Call::TimerCreate { event: bad }).0, Err(Errno::EBADF));
}

#[test]
fn an_attached_interrupt_becomes_a_pulse_and_stays_masked_until_unmasked() {
    let mut s = system();
    // Only a process with I/O privilege (a driver) may take a device's interrupts.
    let plain = s.spawn("init", b"", None, None, false).unwrap();
    let pt = main_thread(&s, plain);
    let (_, plain_coid) = self_channel(&mut s, plain);
    let plain_ev = buffer(&mut s, plain, &SigEvent::pulse(plain_coid, 40, 1, 27).to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, pt, Call::InterruptAttachEvent { irq: 27, event: plain_ev }).0, Err(Errno::EPERM));
    let pid = s.spawn("init", b"", None, None, true).unwrap();
    let t = main_thread(&s, pid);
    let (chid, coid) = self_channel(&mut s, pid);
    let ev = buffer(&mut s, pid, &SigEvent::pulse(coid, 40, 1, 27).to_bytes(), SigEvent::SIZE);
    let id = as_thread(&mut s, t, Call::InterruptAttachEvent { irq: 27, event: ev }).0.unwrap() as u32;
    assert_eq!(s.machine.interrupts.get(&27), Some(&false));
    assert_eq!(as_thread(&mut s, t, Call::InterruptAttachEvent { irq: 27, event: ev }).0, Err(Errno::EBUSY));
    assert_eq!(as_thread(&mut s, t, Call::InterruptAttachEvent { irq: 30, event: ev }).0, Err(Errno::EBUSY));
    assert_eq!(as_thread(&mut s, t, Call::InterruptAttachEvent { irq: 5000, event: ev }).0, Err(Errno::EINVAL));
    let buf = buffer(&mut s, pid, &[], 64);
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), BLOCKED);
    s.machine.interrupts.insert(27, true); // the arch layer masks on arrival
    s.interrupt_fired(27);
    assert_eq!(x0(&mut s, t), Ok(0));
    assert_eq!(Pulse::from_bytes(&read(&mut s, pid, buf, Pulse::SIZE)).unwrap().value, 27);
    assert_eq!(s.current(), Some(t), "the driver runs at once");
    assert_eq!(as_thread(&mut s, t, Call::InterruptUnmask { id }).0, Ok(0));
    assert_eq!(s.machine.interrupts.get(&27), Some(&false));
    assert_eq!(as_thread(&mut s, t, Call::InterruptMask { id }).0, Ok(1));
    assert_eq!(as_thread(&mut s, t, Call::InterruptMask { id }).0, Ok(2));
    assert_eq!(as_thread(&mut s, t, Call::InterruptUnmask { id }).0, Ok(1));
    assert_eq!(s.machine.interrupts.get(&27), Some(&true), "masks are counted");
    let other = s.spawn("init", b"", None, None, false).unwrap();
    let ot = main_thread(&s, other);
    assert_eq!(as_thread(&mut s, ot, Call::InterruptUnmask { id }).0, Err(Errno::EINVAL), "not its route");
    // The route dies with the process: the interrupt reaches nobody, and a new driver
    // can take it, and detach it.
    switch_to(&mut s, ot);
    s.terminate_process(pid, wait_status::exited(0));
    assert_eq!(s.machine.interrupts.get(&27), None);
    s.interrupt_fired(27);
    let again = s.spawn("init", b"", None, None, true).unwrap();
    let at = main_thread(&s, again);
    let (achid, acoid) = self_channel(&mut s, again);
    let aev = buffer(&mut s, again, &SigEvent::pulse(acoid, 40, 1, 99).to_bytes(), SigEvent::SIZE);
    let aid = as_thread(&mut s, at, Call::InterruptAttachEvent { irq: 27, event: aev }).0.unwrap() as u32;
    let abuf = buffer(&mut s, again, &[], 64);
    assert_eq!(receive(&mut s, at, achid, abuf, 64, 0), BLOCKED);
    s.interrupt_fired(27);
    assert_eq!(Pulse::from_bytes(&read(&mut s, again, abuf, Pulse::SIZE)).unwrap().value, 99, "the new route");
    assert_eq!(as_thread(&mut s, at, Call::InterruptDetach { id: aid }).0, Ok(0));
    assert_eq!(receive(&mut s, at, achid, abuf, 64, 0), BLOCKED);
    s.interrupt_fired(27);
    assert_eq!(state(&s, at), ThreadState::Blocked(Blocked::Receive { channel: achid }), "a detached route fired");
}

#[test]
fn thread_death_and_coid_death_pulses_as_qnx_sends_them() {
    let mut s = system();
    // THREAD_DEATH: a thread of the channel's own process ends.
    let pid = s.spawn("init", b"", None, None, false).unwrap();
    let t = main_thread(&s, pid);
    let chid = as_thread(&mut s, t, Call::ChannelCreate { flags: channel_flags::THREAD_DEATH }).0.unwrap() as u32;
    let t2 = new_thread(&mut s, t, 10);
    let tid = s.threads.get(t2.0).unwrap().tid as u64;
    as_thread(&mut s, t2, Call::ThreadDestroy { tid: 0, status: 0 });
    let buf = buffer(&mut s, pid, &[], 64);
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, pid, buf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (pulse_code::THREADDEATH, tid));
    // COID_DISCONNECT: a connection of the channel's process loses its server.
    let p = pair(&mut s, 0);
    let ct = main_thread(&s, p.client);
    let notify_chid =
        as_thread(&mut s, ct, Call::ChannelCreate { flags: channel_flags::COID_DISCONNECT }).0.unwrap() as u32;
    let st = main_thread(&s, p.server);
    switch_to(&mut s, st);
    s.terminate_process(p.server, wait_status::exited(0));
    let cbuf = buffer(&mut s, p.client, &[], 64);
    assert_eq!(receive(&mut s, ct, notify_chid, cbuf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.client, cbuf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (pulse_code::COIDDEATH, p.coid as u64));
}

#[test]
fn a_client_flooding_pulses_gets_eagain_instead_of_exhausting_the_kernel() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let ct = main_thread(&s, p.client);
    for i in 0..MAX_PULSES_PER_PROCESS {
        let r = as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: i as u64 });
        assert_eq!(r.0, Ok(0));
    }
    let r = as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 0 });
    assert_eq!(r.0, Err(Errno::EAGAIN));
    // Another client's pulse to the same channel gets through: the flood is the
    // flooder's to pay for (a channel's own room let one client refuse everybody's).
    let other = s.spawn("init", b"", None, None, false).unwrap();
    let ot = main_thread(&s, other);
    let other_coid = as_thread(&mut s, ot, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    let r = as_thread(&mut s, ot, Call::MsgSendPulse { coid: other_coid, priority: 10, code: 2, value: 0 });
    assert_eq!(r.0, Ok(0));
    // Receiving one of the flooder's makes room for one.
    let st = main_thread(&s, p.server);
    let buf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), Ok(0));
    let r = as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 0 });
    assert_eq!(r.0, Ok(0));
}

#[test]
fn a_process_holds_a_bounded_number_of_pulses_however_many_channels_it_uses() {
    // An audit found one process able to queue 65,536 pulses on its own 64 channels (each
    // kernel memory), and then one with 16 channels holding all 16,384 the system allows,
    // refusing everybody's pulses everywhere: a process's pulses are counted against it
    // as they are queued, received and destroyed with their channel.
    let mut s = system();
    let pid = s.spawn("init", b"", None, None, false).unwrap();
    let t = main_thread(&s, pid);
    let (a, acoid) = self_channel(&mut s, pid);
    let (b, bcoid) = self_channel(&mut s, pid);
    let (_, ccoid) = self_channel(&mut s, pid);
    for i in 0..MAX_PULSES_PER_PROCESS {
        let coid = if i % 2 == 0 { acoid } else { bcoid };
        assert_eq!(as_thread(&mut s, t, Call::MsgSendPulse { coid, priority: 10, code: 1, value: 0 }).0, Ok(0));
    }
    let refused = as_thread(&mut s, t, Call::MsgSendPulse { coid: ccoid, priority: 10, code: 1, value: 0 }).0;
    assert_eq!(refused, Err(Errno::EAGAIN), "on any channel");
    assert_eq!(s.queued_pulses, MAX_PULSES_PER_PROCESS);
    // Another process still may.
    let other = s.spawn("init", b"", None, None, false).unwrap();
    let ot = main_thread(&s, other);
    let other_coid = as_thread(&mut s, ot, Call::ConnectAttach { pid: pid.0, chid: a }).0.unwrap() as u32;
    assert_eq!(
        as_thread(&mut s, ot, Call::MsgSendPulse { coid: other_coid, priority: 10, code: 1, value: 0 }).0,
        Ok(0)
    );
    // Receiving one frees a place; destroying a channel frees its pulses.
    let buf = buffer(&mut s, pid, &[], 64);
    assert_eq!(receive(&mut s, t, b, buf, 64, 0), Ok(0));
    assert_eq!(s.queued_pulses, MAX_PULSES_PER_PROCESS);
    assert_eq!(as_thread(&mut s, t, Call::MsgSendPulse { coid: ccoid, priority: 10, code: 1, value: 0 }).0, Ok(0));
    assert_eq!(as_thread(&mut s, t, Call::ChannelDestroy { chid: a }).0, Ok(0));
    assert_eq!(s.queued_pulses, MAX_PULSES_PER_PROCESS / 2, "b's 511 and c's 1");
    assert_eq!(s.processes.get(pid.0).unwrap().queued_pulses, MAX_PULSES_PER_PROCESS / 2);
    assert_eq!(s.processes.get(other.0).unwrap().queued_pulses, 0, "its pulse went with the channel");
    s.terminate_process(pid, wait_status::exited(0));
    assert_eq!(s.queued_pulses, 0, "a process's end frees its channels' pulses");
}

#[test]
fn all_channels_together_hold_a_bounded_number_of_pulses() {
    let mut s = system();
    flood_pulses(&mut s);
    assert_eq!(s.queued_pulses, MAX_QUEUED_PULSES);
    let late = s.spawn("init", b"", None, None, false).unwrap();
    let lt = main_thread(&s, late);
    let (_, coid) = self_channel(&mut s, late);
    let refused = as_thread(&mut s, lt, Call::MsgSendPulse { coid, priority: 10, code: 1, value: 0 }).0;
    assert_eq!(refused, Err(Errno::EAGAIN), "the system's bound");
    assert_eq!(s.processes.get(late.0).unwrap().queued_pulses, 0);
}

/// Processes queue pulses on channels of their own until every channel together holds
/// [`MAX_QUEUED_PULSES`] (each process may make only [`MAX_PULSES_PER_PROCESS`]).
fn flood_pulses(s: &mut Sys) {
    while s.queued_pulses < MAX_QUEUED_PULSES {
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = main_thread(s, pid);
        let (_, coid) = self_channel(s, pid);
        for _ in 0..MAX_PULSES_PER_PROCESS.min(MAX_QUEUED_PULSES - s.queued_pulses) {
            assert_eq!(as_thread(s, t, Call::MsgSendPulse { coid, priority: 10, code: 1, value: 0 }).0, Ok(0));
        }
    }
}

#[test]
fn a_flood_of_pulses_loses_no_timer_or_interrupt_of_another_process() {
    // Full queues refuse a process's pulses, but the kernel's are bounded apart: nobody
    // else's flood may make an event's pulse be lost (an interrupt's would leave its
    // line masked for good).
    let mut s = system();
    let (pid, t, chid, id) = pulse_timer(&mut s, 77);
    let driver = s.spawn("init", b"", None, None, true).unwrap();
    let dt = main_thread(&s, driver);
    let (dchid, dcoid) = self_channel(&mut s, driver);
    let ev = buffer(&mut s, driver, &SigEvent::pulse(dcoid, 40, 1, 27).to_bytes(), SigEvent::SIZE);
    let route = as_thread(&mut s, dt, Call::InterruptAttachEvent { irq: 27, event: ev }).0.unwrap() as u32;
    flood_pulses(&mut s);
    let flooder = s.spawn("init", b"", None, None, false).unwrap();
    let ft = main_thread(&s, flooder);
    let (_, coid) = self_channel(&mut s, flooder);
    let refused = as_thread(&mut s, ft, Call::MsgSendPulse { coid, priority: 10, code: 1, value: 0 }).0;
    assert_eq!(refused, Err(Errno::EAGAIN), "a process's own pulse is refused");
    // (An ordinary program's timer fires on the clock tick: two ticks make sure of it.)
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1000, interval: TIMER_TICK_NS }).0, Ok(0));
    advance(&mut s, 2 * TIMER_TICK_NS);
    advance(&mut s, 2 * TIMER_TICK_NS);
    s.machine.interrupts.insert(27, true); // the arch layer masks on arrival
    s.interrupt_fired(27);
    // (A timer's and an interrupt's pulses are counted in no room.)
    assert_eq!((s.queued_pulses, s.queued_kernel_pulses), (MAX_QUEUED_PULSES, 0));
    let buf = buffer(&mut s, pid, &[], 64);
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), Ok(0));
    assert_eq!(Pulse::from_bytes(&read(&mut s, pid, buf, Pulse::SIZE)).unwrap().value, 77);
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), BLOCKED, "fired twice while its pulse waited: one pulse");
    advance(&mut s, 2 * TIMER_TICK_NS);
    assert_eq!(x0(&mut s, t), Ok(0), "and the next firing");
    let dbuf = buffer(&mut s, driver, &[], 64);
    assert_eq!(receive(&mut s, dt, dchid, dbuf, 64, 0), Ok(0));
    assert_eq!(Pulse::from_bytes(&read(&mut s, driver, dbuf, Pulse::SIZE)).unwrap().value, 27);
    assert_eq!(as_thread(&mut s, dt, Call::InterruptUnmask { id: route }).0, Ok(0));
    // A process's own timer, on a channel its own pulses filled, is not lost either.
    let (own_chid, own_coid) = self_channel(&mut s, pid);
    for _ in 0..MAX_PULSES_PER_PROCESS {
        as_thread(&mut s, t, Call::MsgSendPulse { coid: own_coid, priority: 10, code: 1, value: 0 });
    }
    let own_ev = buffer(&mut s, pid, &SigEvent::pulse(own_coid, 20, 3, 5).to_bytes(), SigEvent::SIZE);
    let own = as_thread(&mut s, t, Call::TimerCreate { event: own_ev }).0.unwrap() as u32;
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id: own, initial: 10, interval: 0 }).0, Ok(0));
    advance(&mut s, 2 * TIMER_TICK_NS);
    assert_eq!(receive(&mut s, t, own_chid, buf, 64, 0), Ok(0));
    assert_eq!(Pulse::from_bytes(&read(&mut s, pid, buf, Pulse::SIZE)).unwrap().value, 5, "above the others");
}

#[test]
fn timers_aimed_at_a_server_cannot_make_it_miss_its_interrupt() {
    // A client may aim its timers at a server's channel through its connection. They
    // filled the server's room for the kernel's pulses (256): its interrupt's pulse was
    // then refused, and the line stayed masked for good.
    let mut s = system();
    let driver = s.spawn("init", b"", None, None, true).unwrap();
    let dt = main_thread(&s, driver);
    let (dchid, dcoid) = self_channel(&mut s, driver);
    let ev = buffer(&mut s, driver, &SigEvent::pulse(dcoid, 40, 1, 27).to_bytes(), SigEvent::SIZE);
    as_thread(&mut s, dt, Call::InterruptAttachEvent { irq: 27, event: ev }).0.unwrap();
    let client = s.spawn("init", b"", None, None, false).unwrap();
    let ct = main_thread(&s, client);
    let coid = as_thread(&mut s, ct, Call::ConnectAttach { pid: driver.0, chid: dchid }).0.unwrap() as u32;
    let mut timers = Vec::new();
    for value in 0..MAX_TIMERS_PER_PROCESS as u64 {
        let at = buffer(&mut s, client, &SigEvent::pulse(coid, 10, 2, value).to_bytes(), SigEvent::SIZE);
        timers.push(as_thread(&mut s, ct, Call::TimerCreate { event: at }).0.unwrap() as u32);
    }
    for &id in &timers {
        assert_eq!(as_thread(&mut s, ct, Call::TimerSettime { id, initial: 10, interval: TIMER_TICK_NS }).0, Ok(0));
    }
    // Every timer fires (an ordinary program's, on the tick, so many a tick at most);
    // each keeps one pulse queued, no more.
    for _ in 0..MAX_TIMERS_PER_PROCESS / MAX_TIMER_FIRINGS_PER_TICK + 3 {
        advance(&mut s, TIMER_TICK_NS);
    }
    // The driver's own kernel pulses: room for all of them still.
    for code in 0..MAX_KERNEL_PULSES_PER_PROCESS as u64 {
        let ok = s.deliver_event(driver, dt, SigEvent::pulse(dcoid, 30, 3, code), PulseFrom::Kernel);
        assert_eq!(ok, Ok(()), "kernel pulse {code}");
    }
    s.machine.interrupts.insert(27, true);
    s.interrupt_fired(27);
    let dbuf = buffer(&mut s, driver, &[], 64);
    let mut seen = (0, 0, 0);
    while receive(&mut s, dt, dchid, dbuf, 64, 0) == Ok(0) {
        match Pulse::from_bytes(&read(&mut s, driver, dbuf, Pulse::SIZE)).unwrap().code {
            1 => seen.0 += 1,
            2 => seen.1 += 1,
            _ => seen.2 += 1,
        }
    }
    assert_eq!(seen, (1, MAX_TIMERS_PER_PROCESS, MAX_KERNEL_PULSES_PER_PROCESS), "(interrupt, timers, others)");
}

/// How many pulses channel `chid` of `pid` holds.
fn queued(s: &Sys, pid: ProcessId, chid: u32) -> usize {
    s.processes.get(pid.0).unwrap().channels.get(chid).unwrap().queue().len()
}

#[test]
fn destroyed_timers_and_routes_take_their_queued_pulses_with_them() {
    // A timer's or an interrupt's pulse is counted in no room: its source bounds it. A
    // review found TimerDestroy leaving it queued, so create / fire / destroy in a loop
    // queued one more every time, without bound.
    let mut s = system();
    let (pid, t, _, first) = pulse_timer(&mut s, 0);
    as_thread(&mut s, t, Call::TimerDestroy { id: first });
    let (chid, coid) = self_channel(&mut s, pid);
    let ev = buffer(&mut s, pid, &SigEvent::pulse(coid, 10, 3, 0).to_bytes(), SigEvent::SIZE);
    for _ in 0..4 * MAX_TIMERS_PER_PROCESS {
        let id = as_thread(&mut s, t, Call::TimerCreate { event: ev }).0.unwrap() as u32;
        assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: 0 }).0, Ok(0));
        advance(&mut s, 1_000_000);
        assert_eq!(queued(&s, pid, chid), 1, "fired: its pulse waits");
        assert_eq!(as_thread(&mut s, t, Call::TimerDestroy { id }).0, Ok(0));
        assert_eq!(queued(&s, pid, chid), 0, "and goes with the timer");
    }
    // The same for an interrupt's route: InterruptDetach takes its pulse back.
    let driver = s.spawn("init", b"", None, None, true).unwrap();
    let dt = main_thread(&s, driver);
    let (dchid, dcoid) = self_channel(&mut s, driver);
    let ev = buffer(&mut s, driver, &SigEvent::pulse(dcoid, 40, 1, 27).to_bytes(), SigEvent::SIZE);
    for _ in 0..3 {
        let route = as_thread(&mut s, dt, Call::InterruptAttachEvent { irq: 27, event: ev }).0.unwrap() as u32;
        s.machine.interrupts.insert(27, true);
        s.interrupt_fired(27);
        assert_eq!(queued(&s, driver, dchid), 1);
        assert_eq!(as_thread(&mut s, dt, Call::InterruptDetach { id: route }).0, Ok(0));
        assert_eq!(queued(&s, driver, dchid), 0);
    }
}

#[test]
fn timer_and_interrupt_pulses_go_from_a_servers_queue_with_their_owner() {
    // The same through process ends: a review found `events_forget_process` removing the
    // timers but not their queued pulses, which no orphan room bounds either.
    let mut s = system();
    let server = s.spawn("init", b"", None, None, false).unwrap();
    let (chid, _) = self_channel(&mut s, server);
    for round in 0..(MAX_TIMERS_PER_PROCESS + 100) {
        let pid = s.spawn("init", b"", None, None, round % 2 == 0).unwrap();
        let t = main_thread(&s, pid);
        let coid = as_thread(&mut s, t, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32;
        let ev = buffer(&mut s, pid, &SigEvent::pulse(coid, 10, 2, 0).to_bytes(), SigEvent::SIZE);
        let id = as_thread(&mut s, t, Call::TimerCreate { event: ev }).0.unwrap() as u32;
        as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: 0 });
        advance(&mut s, 1_000_000);
        if round % 2 == 0 {
            // A driver's route too.
            as_thread(&mut s, t, Call::InterruptAttachEvent { irq: 27, event: ev }).0.unwrap();
            s.machine.interrupts.insert(27, true);
            s.interrupt_fired(27);
        }
        assert_eq!(queued(&s, server, chid), 1 + (round % 2 == 0) as usize, "round {round}: fired");
        s.terminate_process(pid, wait_status::exited(0));
        assert_eq!(queued(&s, server, chid), 0, "round {round}: its pulses went with it");
    }
}

#[test]
fn a_parents_child_events_aimed_at_a_server_leave_its_room_for_notices() {
    // ProcessChildEvent's pulse was PulseFrom::Kernel, counted in the *receiving*
    // process's room for the kernel's notices (256). Any process may aim it at a server
    // through its connection: a review found 256 children ending while the server was
    // busy filling the room, breaking the server's _NTO_CHF_UNBLOCK contract for every
    // other client. Child events now coalesce: one notice at most waits.
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, channel_flags::UNBLOCK);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let sbuf = buffer(&mut s, p.server, &[], 64);
    let cbuf = buffer(&mut s, p.client, b"m", 16);
    // The server takes the client's request and works on it (not receiving).
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    arm(&mut s, ct, ts::REPLY, 100);
    assert_eq!(send(&mut s, ct, p.coid, cbuf, 1, 0, 0), BLOCKED);
    assert!(x0(&mut s, st).is_ok());
    // A third, ordinary process connected to the server aims its child events at it.
    let parent = s.spawn("init", b"", None, None, false).unwrap();
    let pt = main_thread(&s, parent);
    let coid = as_thread(&mut s, pt, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    let ev = buffer(&mut s, parent, &SigEvent::pulse(coid, 10, 5, 0).to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, pt, Call::ProcessChildEvent { event: ev }).0, Ok(0));
    for i in 0..MAX_KERNEL_PULSES_PER_PROCESS {
        let child = s.spawn("low", b"", None, Some(parent), false).unwrap();
        s.terminate_process(child, wait_status::exited(0));
        assert!(queued(&s, p.server, p.chid) <= 1, "child {i}: one notice at most waits");
        if i % 2 == 0 {
            assert!(as_thread(&mut s, pt, Call::ProcessWait { pid: 0 }).0.is_ok());
        }
    }
    // The client's REPLY bound runs out: with _NTO_CHF_UNBLOCK it stays blocked and the
    // server gets _PULSE_CODE_UNBLOCK (docs/syscalls.md, TimerTimeout).
    advance(&mut s, 100);
    assert!(!runnable(&s, ct), "the client was unblocked at once: the server's room for notices was full");
    assert_eq!(queued(&s, p.server, p.chid), 2, "the child notice and the unblock notice");
    // The parent's end takes its notice back.
    s.terminate_process(parent, wait_status::exited(0));
    assert_eq!(queued(&s, p.server, p.chid), 1);
}

#[test]
fn child_events_coalesce_and_name_each_ended_child_in_turn() {
    let mut s = system();
    let parent = s.spawn("init", b"", None, None, false).unwrap();
    let pt = main_thread(&s, parent);
    let (chid, coid) = self_channel(&mut s, parent);
    let ev = buffer(&mut s, parent, &SigEvent::pulse(coid, 10, 5, 0).to_bytes(), SigEvent::SIZE);
    assert_eq!(as_thread(&mut s, pt, Call::ProcessChildEvent { event: ev }).0, Ok(0));
    let live = s.spawn("low", b"", None, Some(parent), false).unwrap();
    let children: Vec<ProcessId> = (0..3).map(|_| s.spawn("low", b"", None, Some(parent), false).unwrap()).collect();
    for &child in &children {
        s.terminate_process(child, wait_status::exited(child.0));
    }
    assert_eq!(queued(&s, parent, chid), 1, "three ends, one notice (as SIGCHLD)");
    let buf = buffer(&mut s, parent, &[], 64);
    // Each notice names an ended child; collecting it brings a notice of the next.
    for &child in &children {
        assert_eq!(receive(&mut s, pt, chid, buf, 64, 0), Ok(0));
        let pulse = Pulse::from_bytes(&read(&mut s, parent, buf, Pulse::SIZE)).unwrap();
        assert_eq!((pulse.code, pulse.value), (5, child.0 as u64));
        assert_eq!(as_thread(&mut s, pt, Call::ProcessWait { pid: child.0 }).0, Ok(child.0 as u64));
    }
    assert_eq!(queued(&s, parent, chid), 0, "none left to tell of ('live' has not ended)");
    // A notice whose child is collected before it is received is taken back.
    let late = s.spawn("low", b"", None, Some(parent), false).unwrap();
    s.terminate_process(late, wait_status::exited(1));
    assert_eq!(queued(&s, parent, chid), 1);
    assert_eq!(as_thread(&mut s, pt, Call::ProcessWait { pid: late.0 }).0, Ok(1));
    assert_eq!(queued(&s, parent, chid), 0);
    // Removing the event takes a queued notice back too.
    s.terminate_process(live, wait_status::exited(2));
    assert_eq!(queued(&s, parent, chid), 1);
    assert_eq!(as_thread(&mut s, pt, Call::ProcessChildEvent { event: 0 }).0, Ok(0));
    assert_eq!(queued(&s, parent, chid), 0);
}

#[test]
fn one_process_takes_a_bounded_share_of_timers_and_registered_events() {
    let mut s = system();
    let (pid, t, _, first) = pulse_timer(&mut s, 1);
    let (_, coid) = self_channel(&mut s, pid);
    let ev = buffer(&mut s, pid, &SigEvent::pulse(coid, 20, 3, 0).to_bytes(), SigEvent::SIZE);
    for _ in 1..MAX_TIMERS_PER_PROCESS {
        as_thread(&mut s, t, Call::TimerCreate { event: ev }).0.unwrap();
    }
    assert_eq!(as_thread(&mut s, t, Call::TimerCreate { event: ev }).0, Err(Errno::EAGAIN));
    let (other, ot, _, _) = pulse_timer(&mut s, 2);
    assert_eq!(as_thread(&mut s, t, Call::TimerDestroy { id: first }).0, Ok(0));
    assert!(as_thread(&mut s, t, Call::TimerCreate { event: ev }).0.is_ok(), "a destroyed timer makes room");
    let mut registered = Vec::new();
    for _ in 0..MAX_EVENTS_PER_PROCESS {
        let at = buffer(&mut s, pid, &SigEvent::pulse(coid, 20, 3, 0).to_bytes(), SigEvent::SIZE);
        assert!(as_thread(&mut s, t, Call::MsgRegisterEvent { event: at, coid }).0.is_ok());
        registered.push(at);
    }
    assert_eq!(as_thread(&mut s, t, Call::MsgRegisterEvent { event: ev, coid }).0, Err(Errno::EAGAIN));
    let (_, other_coid) = self_channel(&mut s, other);
    let other_ev = buffer(&mut s, other, &SigEvent::pulse(other_coid, 20, 3, 0).to_bytes(), SigEvent::SIZE);
    assert!(as_thread(&mut s, ot, Call::MsgRegisterEvent { event: other_ev, coid: other_coid }).0.is_ok());
    assert_eq!(as_thread(&mut s, t, Call::MsgUnregisterEvent { event: registered[0] }).0, Ok(0));
    assert!(as_thread(&mut s, t, Call::MsgRegisterEvent { event: ev, coid }).0.is_ok(), "room again");
}

#[test]
fn fused_reply_and_receive_serves_a_loop_in_one_call_per_message() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let sbuf = buffer(&mut s, p.server, b"pong", 64);
    let fused_from = |reply: usize, rcvid: u64, reply_parts: i64| Call::MsgReplyReceivev {
        rcvid,
        status: 77,
        reply,
        reply_parts,
        chid: p.chid,
        buffer: sbuf + 8,
        parts: single_buffer_parts(32),
        info: 0,
    };
    let fused = |rcvid: u64, reply_parts: i64| fused_from(sbuf, rcvid, reply_parts);
    // First call: nothing to reply to (rcvid 0), just receive.
    assert_eq!(as_thread(&mut s, st, fused(0, 0)).0, BLOCKED);
    let cbuf = buffer(&mut s, p.client, b"ping", 16);
    assert_eq!(send(&mut s, ct, p.coid, cbuf, 4, cbuf + 8, 4), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    assert_eq!(read(&mut s, p.server, sbuf + 8, 4), b"ping");
    // Reply and wait again, in one call.
    assert_eq!(as_thread(&mut s, st, fused(rcvid, single_buffer_parts(4))).0, BLOCKED);
    assert_eq!(x0(&mut s, ct), Ok(77));
    assert_eq!(read(&mut s, p.client, cbuf + 8, 4), b"pong");
    assert!(matches!(state(&s, st), ThreadState::Blocked(Blocked::Receive { .. })));
    // A bad reply buffer of the server's own: EFAULT, the client keeps waiting.
    assert_eq!(send(&mut s, ct, p.coid, cbuf, 4, cbuf + 8, 4), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let bad = fused_from(0x7777_0000, rcvid, single_buffer_parts(4));
    assert_eq!(as_thread(&mut s, st, bad).0, Err(Errno::EFAULT));
    assert!(!runnable(&s, ct));
    // A client that has gone does not stop the loop.
    switch_to(&mut s, st);
    s.terminate_process(p.client, wait_status::exited(0));
    assert_eq!(as_thread(&mut s, st, fused(rcvid, single_buffer_parts(4))).0, BLOCKED);
}

#[test]
fn a_send_to_a_waiting_receiver_switches_to_it_directly_unless_an_equal_is_ready() {
    // Fast path: nothing else ready at the sender's priority, so the receiver runs at once.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let sbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, sbuf, 0, 0, 0), BLOCKED);
    assert_eq!(s.current(), Some(st), "switched straight to the receiver");
    assert!(!s.ready.contains(st.index()));
    // The reply hands the CPU straight back when the server blocks again (fused call).
    let rcvid = x0(&mut s, st).unwrap();
    let fused = Call::MsgReplyReceivev {
        rcvid,
        status: 5,
        reply: 0,
        reply_parts: 0,
        chid: p.chid,
        buffer: sbuf,
        parts: single_buffer_parts(16),
        info: 0,
    };
    assert_eq!(as_thread(&mut s, st, fused).0, BLOCKED);
    assert_eq!(s.current(), Some(ct));
    assert_eq!(x0(&mut s, ct), Ok(5));
    // An equal-priority thread already ready goes first: FIFO order is kept.
    let other = s.spawn("init", b"", None, None, false).unwrap();
    let ot = main_thread(&s, other);
    assert_eq!(send(&mut s, ct, p.coid, sbuf, 0, 0, 0), BLOCKED);
    assert_eq!(s.current(), Some(ot), "the thread that was ready first runs first");
    assert!(s.ready.contains(st.index()), "the receiver waits its turn");
}

#[test]
fn a_device_mapping_is_no_buffer_for_a_call() {
    // The kernel copies through its map of RAM, which has no device registers: a device
    // mapping as a call's buffer is EFAULT, on every copy path (found by an audit: the
    // kernel used to fault).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let io = s.spawn("init", b"", None, None, true).unwrap(); // I/O privilege
    let it = main_thread(&s, io);
    let device = |s: &mut Sys, pid: ProcessId| {
        let h = as_thread(s, it, Call::MemObjectDevice { phys: 0x0900_0000, size: 4096 }).0.unwrap() as u32;
        let map = Call::MemObjectMap { pid: pid.0, handle: h, offset: 0, size: 4096, addr: 0, prot: 3 };
        as_thread(s, it, map).0.unwrap() as usize
    };
    let at = device(&mut s, io);
    assert_eq!(as_thread(&mut s, it, Call::DebugWrite { ptr: at, len: 4 }).0, Err(Errno::EFAULT));
    assert_eq!(as_thread(&mut s, it, Call::SystemInfo { info: at }).0, Err(Errno::EFAULT));
    // A message from a device mapping (the caller's own memory: the MMU's path)...
    let coid = as_thread(&mut s, it, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, it, coid, at, 8, 0, 0), Err(Errno::EFAULT));
    // ... and into one (another process's memory: the software path).
    let msg = buffer(&mut s, p.client, b"12345678", 8);
    let reply = buffer(&mut s, p.client, &[], 8);
    assert_eq!(send(&mut s, ct, p.coid, msg, 8, reply, 8), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let r = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: rbuf, parts: -8 });
    assert_eq!(r.0, Ok(0), "the client's reply buffer is RAM");
    let dev_reply = device(&mut s, p.client);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 8, dev_reply, 8), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let r = as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: rbuf, parts: -8 });
    assert_eq!(r.0, Err(Errno::EFAULT), "a reply into the client's device mapping");
}

#[test]
fn timer_periods_are_rounded_up_and_never_overflow() {
    // An audit found a period of u64::MAX wrapping the next expiry into the past (a timer
    // due at every return from the kernel), and a 1 ns period doing the same.
    let mut s = system();
    // A system program's timer: to 10 µs.
    let (_, t, _, id) = pulse_timer_of(&mut s, 0, true);
    advance(&mut s, 1_000_000_000);
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: u64::MAX }).0, Ok(0));
    advance(&mut s, 10);
    assert_eq!(s.next_wakeup(), None, "a period past the end of time disarms the timer");
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: 1 }).0, Ok(0));
    advance(&mut s, 10);
    let now = s.machine.now;
    assert_eq!(s.next_wakeup(), Some(now - 9 + MIN_TIMER_INTERVAL_NS), "rounded up to 10 µs");
    assert_eq!(as_thread(&mut s, t, Call::TimerDestroy { id }).0, Ok(0));
    // An ordinary program's: to the clock tick, on which it fires.
    let (_, t, _, id) = pulse_timer(&mut s, 0);
    let to_tick = TIMER_TICK_NS - s.machine.now % TIMER_TICK_NS;
    advance(&mut s, to_tick); // (on a tick)
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: u64::MAX }).0, Ok(0));
    assert_eq!(s.next_wakeup(), Some(s.machine.now + TIMER_TICK_NS), "at the next tick");
    advance(&mut s, TIMER_TICK_NS);
    assert_eq!(s.next_wakeup(), None, "a period past the end of time disarms the timer");
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1, interval: 1 }).0, Ok(0));
    advance(&mut s, TIMER_TICK_NS);
    let now = s.machine.now;
    assert_eq!(s.next_wakeup(), Some(now + TIMER_TICK_NS), "rounded up to the tick");
}

#[test]
fn an_ordinary_programs_timer_fires_on_the_clock_tick_in_phase() {
    let mut s = system();
    let (pid, t, chid, id) = pulse_timer(&mut s, 77);
    let to_tick = TIMER_TICK_NS - s.machine.now % TIMER_TICK_NS;
    advance(&mut s, to_tick);
    let start = s.machine.now;
    // Expiries at 0.001, 1.501, 3.001, 4.501, 6.001 ms fire at the ticks after them.
    let period = 3 * TIMER_TICK_NS / 2;
    assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial: 1000, interval: period }).0, Ok(0));
    let buf = buffer(&mut s, pid, &[], 64);
    for tick in [1, 2, 4, 5, 7] {
        assert_eq!(s.next_wakeup(), Some(start + tick * TIMER_TICK_NS));
        assert_eq!(receive(&mut s, t, chid, buf, 64, 0), BLOCKED);
        let until = s.next_wakeup().unwrap() - s.machine.now;
        advance(&mut s, until - 1);
        assert!(!runnable(&s, t), "not before the tick");
        advance(&mut s, 1);
        assert_eq!(x0(&mut s, t), Ok(0), "at tick {tick}");
    }
    // Ten ticks late: one pulse, and the next expiry in phase (7.501 + 7 × 1.5 = 18.001 ms).
    advance(&mut s, 10 * TIMER_TICK_NS);
    assert_eq!(queued(&s, pid, chid), 1);
    assert_eq!(s.next_wakeup(), Some(start + 19 * TIMER_TICK_NS));
}

/// Drains channel `chid` of `pid`, whose thread `t` last waited there if `waiting`: how
/// many pulses it held (or gave `t` at once); `t` waits there again.
fn drain_pulses(s: &mut Sys, pid: ProcessId, t: ThreadId, chid: u32, buf: usize, waiting: &mut bool) -> Vec<Pulse> {
    let mut pulses = Vec::new();
    if *waiting {
        if !runnable(s, t) {
            return pulses;
        }
        assert_eq!(x0(s, t), Ok(0));
        pulses.push(Pulse::from_bytes(&read(s, pid, buf, Pulse::SIZE)).unwrap());
    }
    loop {
        match receive(s, t, chid, buf, 64, 0) {
            Ok(0) => pulses.push(Pulse::from_bytes(&read(s, pid, buf, Pulse::SIZE)).unwrap()),
            BLOCKED => break,
            other => panic!("receive: {other:?}"),
        }
    }
    *waiting = true;
    pulses
}

#[test]
fn ordinary_programs_timers_cost_a_bounded_number_of_interrupts_and_firings_a_tick() {
    // A review found one ordinary process's 256 timers (its limit) at the shortest
    // period, 10 µs, keeping the CPU in the timer interrupt: each interrupt fired all
    // of them and took longer than the period. (With 15 processes aiming their timers at
    // one server's channel, each firing also scanned the channel's whole queue: ~15 ms
    // an interrupt on the host.) Counted, not timed: the interrupts that fire anything,
    // and the firings in each.
    let mut s = system();
    let server = s.spawn("init", b"", None, None, false).unwrap();
    let st = main_thread(&s, server);
    let (chid, _) = self_channel(&mut s, server);
    let programs = 4;
    for program in 0..programs {
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = main_thread(&s, pid);
        let coid = as_thread(&mut s, t, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32;
        for i in 0..MAX_TIMERS_PER_PROCESS as u64 {
            let ev = SigEvent::pulse(coid, 10, 2, program << 16 | i);
            let at = buffer(&mut s, pid, &ev.to_bytes(), SigEvent::SIZE);
            let id = as_thread(&mut s, t, Call::TimerCreate { event: at }).0.unwrap() as u32;
            // Spread over the tick, at the shortest period asked for.
            let initial = 1 + i * TIMER_TICK_NS / MAX_TIMERS_PER_PROCESS as u64;
            assert_eq!(as_thread(&mut s, t, Call::TimerSettime { id, initial, interval: 1 }).0, Ok(0));
        }
    }
    let buf = buffer(&mut s, server, &[], 64);
    let mut waiting = false;
    let mut fired = std::collections::BTreeSet::new();
    let (mut firings, mut busy_interrupts) = (0, 0);
    let ticks = 40;
    let start = s.machine.now;
    while s.machine.now < start + ticks * TIMER_TICK_NS {
        let due = s.next_wakeup().expect("timers armed");
        assert_eq!(due % TIMER_TICK_NS, 0, "an ordinary program's timers interrupt on the tick only");
        advance(&mut s, MIN_TIMER_INTERVAL_NS); // as often as the review's timers asked
        let pulses = drain_pulses(&mut s, server, st, chid, buf, &mut waiting);
        assert!(pulses.len() <= MAX_TIMER_FIRINGS_PER_TICK, "{} firings in one interrupt", pulses.len());
        busy_interrupts += (!pulses.is_empty()) as u64;
        firings += pulses.len();
        fired.extend(pulses.iter().map(|p| p.value));
    }
    assert!(busy_interrupts <= ticks, "{busy_interrupts} interrupts fired timers in {ticks} ticks");
    assert!(firings <= ticks as usize * MAX_TIMER_FIRINGS_PER_TICK);
    assert_eq!(fired.len(), programs as usize * MAX_TIMERS_PER_PROCESS, "every timer fired, late as it may be");
}

#[test]
fn the_most_urgent_ordinary_timers_fire_first_and_a_system_programs_are_not_held() {
    let mut s = system();
    let server = s.spawn("init", b"", None, None, true).unwrap();
    let st = main_thread(&s, server);
    let (chid, _) = self_channel(&mut s, server);
    let arm = |s: &mut Sys, pid: ProcessId, priority: u8, code: i8, count: usize, interval: u64| {
        let t = main_thread(s, pid);
        let coid = as_thread(s, t, Call::ConnectAttach { pid: server.0, chid }).0.unwrap() as u32;
        let at = buffer(s, pid, &SigEvent::pulse(coid, priority, code, 0).to_bytes(), SigEvent::SIZE);
        for _ in 0..count {
            let id = as_thread(s, t, Call::TimerCreate { event: at }).0.unwrap() as u32;
            assert_eq!(as_thread(s, t, Call::TimerSettime { id, initial: 1, interval }).0, Ok(0));
        }
    };
    // A flood of twice what a tick fires at 10, one timer at 20, and a system program's
    // 10 µs timer (at 10: priority does not hold it back).
    let flood = s.spawn("init", b"", None, None, false).unwrap();
    arm(&mut s, flood, 10, 1, 2 * MAX_TIMER_FIRINGS_PER_TICK, TIMER_TICK_NS);
    let urgent = s.spawn("init", b"", None, None, false).unwrap();
    arm(&mut s, urgent, 20, 2, 1, TIMER_TICK_NS);
    let system_program = s.spawn("init", b"", None, None, true).unwrap();
    arm(&mut s, system_program, 10, 3, 1, MIN_TIMER_INTERVAL_NS);
    let buf = buffer(&mut s, server, &[], 64);
    let mut waiting = false;
    for step in 0..500 {
        advance(&mut s, MIN_TIMER_INTERVAL_NS);
        let pulses = drain_pulses(&mut s, server, st, chid, buf, &mut waiting);
        let count = |code| pulses.iter().filter(|p| p.code == code).count();
        assert_eq!(count(3), 1, "step {step}: the system program's timer fires every 10 µs");
        if count(1) + count(2) > 0 {
            assert_eq!(count(2), 1, "step {step}: the urgent timer fires at every tick");
            assert_eq!(count(1), MAX_TIMER_FIRINGS_PER_TICK - 1, "step {step}: the flood, what is left");
        }
    }
}

#[test]
fn a_thread_destroyed_while_joining_stays_dead() {
    // An audit found the joined thread's end waking its destroyed joiner: a dead thread,
    // its stack unmapped, queued to run again.
    let mut s = system();
    let pid = s.spawn("init", b"", None, None, false).unwrap();
    let main = main_thread(&s, pid);
    let (a, b) = (new_thread(&mut s, main, 5), new_thread(&mut s, main, 5));
    let (a_tid, b_tid) = (s.threads.get(a.0).unwrap().tid, s.threads.get(b.0).unwrap().tid);
    assert_eq!(as_thread(&mut s, a, Call::ThreadJoin { tid: b_tid }).0, BLOCKED);
    assert_eq!(as_thread(&mut s, main, Call::ThreadDestroy { tid: a_tid, status: 1 }).0, Ok(0));
    as_thread(&mut s, b, Call::ThreadDestroy { tid: 0, status: 7 });
    assert_eq!(state(&s, a), ThreadState::Dead);
    assert!(!s.ready.contains(a.index()), "the destroyed joiner is queued to run");
    // b's status is still there for a later join.
    assert_eq!(as_thread(&mut s, main, Call::ThreadJoin { tid: b_tid }), (Ok(0), 7));
}

#[test]
fn an_io_vector_adds_up_to_64_mib_at_most() {
    // An audit found 256 parts naming the same 1 MiB making one call copy 256 MiB with the
    // kernel unpreemptible: the parts' total is bounded (EOVERFLOW).
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let iov = |at: usize, parts: usize, len: usize| {
        let mut v = Vec::new();
        for _ in 0..parts {
            v.extend_from_slice(&(at as u64).to_le_bytes());
            v.extend_from_slice(&(len as u64).to_le_bytes());
        }
        v
    };
    let data = buffer(&mut s, p.client, &[], 4096);
    let over = buffer(&mut s, p.client, &iov(data, 65, 1 << 20), 65 * 16);
    let at_most = buffer(&mut s, p.client, &iov(data, 64, 1 << 20), 64 * 16);
    let rbuf = buffer(&mut s, p.server, &[], 16);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, 16, 0), BLOCKED);
    let send = |s: &mut Sys, send, parts| {
        as_thread(s, ct, Call::MsgSendv { coid: p.coid, send, send_parts: parts, reply: 0, reply_parts: 0 }).0
    };
    let wrapping = buffer(&mut s, p.client, &iov(data, 2, usize::MAX), 32);
    assert_eq!(send(&mut s, over, 65), Err(Errno::EOVERFLOW));
    assert_eq!(send(&mut s, wrapping, 2), Err(Errno::EOVERFLOW));
    // 64 MiB is allowed (the receiver takes 16 bytes of it).
    assert_eq!(send(&mut s, at_most, 64), BLOCKED);
}

#[test]
fn a_timeout_bounds_only_the_states_it_names() {
    // An audit found a SEND-only bound ending the REPLY wait that followed, and a
    // REPLY-only bound never starting when the message had to queue first.
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let msg = buffer(&mut s, p.client, b"m", 16);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    // SEND only: queued (SEND-blocked), then received (REPLY-blocked): no timeout.
    arm(&mut s, ct, ts::SEND, 1000);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    let rcvid = receive(&mut s, st, p.chid, sbuf, 64, 0).unwrap();
    advance(&mut s, 5000);
    assert!(matches!(state(&s, ct), ThreadState::Blocked(Blocked::Reply { .. })), "the REPLY wait is not bounded");
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 5, buffer: 0, parts: 0 }).0, Ok(0));
    assert_eq!(x0(&mut s, ct), Ok(5));
    // REPLY only: queued first; the bound starts when the message is received.
    arm(&mut s, ct, ts::REPLY, 1000);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    advance(&mut s, 5000); // SEND-blocked all along: not bounded
    assert!(matches!(state(&s, ct), ThreadState::Blocked(Blocked::Send { .. })));
    let rcvid = receive(&mut s, st, p.chid, sbuf, 64, 0).unwrap();
    advance(&mut s, 999);
    assert!(matches!(state(&s, ct), ThreadState::Blocked(Blocked::Reply { .. })));
    advance(&mut s, 1);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT), "1000 ns after the message was received");
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 }).0, Err(Errno::ESRCH));
}

#[test]
fn the_kernels_notices_get_through_full_pulse_queues() {
    // An audit found a flood of pulses making the kernel drop a DISCONNECT: the server
    // never learned that its client was gone.
    let mut s = system();
    let p = pair(&mut s, channel_flags::DISCONNECT);
    flood_pulses(&mut s);
    s.terminate_process(p.client, wait_status::exited(0));
    let st = main_thread(&s, p.server);
    let buf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
    assert_eq!(pulse.code, pulse_code::DISCONNECT);
}

#[test]
fn a_client_attaching_and_detaching_in_a_loop_hides_no_other_clients_end() {
    // Its disconnections filled the server's room for the kernel's notices (256): the
    // server then never heard of another client's end and kept its state for good.
    let mut s = system();
    let p = pair(&mut s, channel_flags::DISCONNECT);
    let attacker = s.spawn("init", b"", None, None, false).unwrap();
    let at = main_thread(&s, attacker);
    let mut cycles = 0;
    for _ in 0..1000 {
        match as_thread(&mut s, at, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0 {
            Ok(coid) => {
                assert_eq!(as_thread(&mut s, at, Call::ConnectDetach { id: coid as u32 }).0, Ok(0));
                cycles += 1;
            }
            Err(e) => assert_eq!(e, Errno::EAGAIN),
        }
    }
    // Until the server hears of them, its table holds a bounded number of them.
    assert_eq!(cycles, MAX_DISCONNECTED_PER_CLIENT);
    s.terminate_process(p.client, wait_status::exited(0));
    let st = main_thread(&s, p.server);
    let buf = buffer(&mut s, p.server, &[], 64);
    let queued = |s: &Sys| s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().queue().len();
    assert_eq!(queued(&s), MAX_DISCONNECTED_PER_CLIENT + 1, "the attacker's, and the client's end");
    assert_eq!(s.queued_kernel_pulses, 0, "counted in no room");
    let mut scoids = Vec::new();
    while queued(&s) > 0 {
        assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), Ok(0));
        let pulse = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
        assert_eq!(pulse.code, pulse_code::DISCONNECT);
        scoids.push(pulse.scoid);
    }
    // Freeing them makes room for the attacker again; a scoid freed before its pulse was
    // received takes the pulse with it.
    for scoid in scoids {
        assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: scoid }).0, Ok(0));
    }
    let coid = as_thread(&mut s, at, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    assert_eq!(as_thread(&mut s, at, Call::ConnectDetach { id: coid }).0, Ok(0));
    let scoid = s.processes.get(p.server.0).unwrap().server_connections.handles()[0] | SCOID_BIT;
    assert_eq!(queued(&s), 1);
    assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: scoid }).0, Ok(0));
    assert_eq!(queued(&s), 0, "its pulse went with it");
}

#[test]
fn a_thread_that_dies_waiting_for_a_reply_is_forgotten_and_its_server_told() {
    // An audit found a thread destroyed while REPLY-blocked keeping its message: its
    // server's later death woke the dead thread; and a server holding its request (a pipe
    // read) was never told, so the next data went to the dead reader.
    let (mut s, p, st, ct, reader, buf, rcvid) = held_read();
    let reader_tid = s.threads.get(reader.0).unwrap().tid;
    assert_eq!(as_thread(&mut s, ct, Call::ThreadDestroy { tid: reader_tid, status: 0 }).0, Ok(0));
    // The server hears of it: an unblock pulse naming the request.
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (pulse_code::UNBLOCK, rcvid));
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 }).0, Err(Errno::ESRCH));
    // The server's end does not wake the dead thread.
    s.terminate_process(p.server, wait_status::exited(0));
    assert_eq!(state(&s, reader), ThreadState::Dead);
    assert!(!s.ready.contains(reader.index()));
}

#[test]
fn thread_death_notices_are_bounded_like_other_pulses() {
    // A review found thread-death notices, exempted from the limits, queueing without end
    // (create, end and join threads on a THREAD_DEATH channel nobody receives from).
    let mut s = system();
    let pid = s.spawn("init", b"", None, None, false).unwrap();
    let t = main_thread(&s, pid);
    as_thread(&mut s, t, Call::ChannelCreate { flags: channel_flags::THREAD_DEATH }).0.unwrap();
    for _ in 0..MAX_KERNEL_PULSES_PER_PROCESS + 100 {
        let t2 = new_thread(&mut s, t, 10);
        let tid = s.threads.get(t2.0).unwrap().tid;
        as_thread(&mut s, t2, Call::ThreadDestroy { tid: 0, status: 0 });
        assert_eq!(as_thread(&mut s, t, Call::ThreadJoin { tid }).0, Ok(0));
    }
    assert_eq!(s.queued_kernel_pulses, MAX_KERNEL_PULSES_PER_PROCESS, "the process's room for the kernel's");
    // And receiving one lifts an ordinary program no higher than it may ask for.
    let buf = buffer(&mut s, pid, &[], 64);
    let chid = s.processes.get(pid.0).unwrap().channels.handles()[0];
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), Ok(0));
    assert_eq!(priority(&s, t), abi::sched::MAX_UNPRIVILEGED_PRIORITY);
}

#[test]
fn events_a_process_makes_and_drops_are_bounded_too() {
    // A review found registrations made, delivered and dropped with a new value each
    // time queueing the kernel's pulses without end past the callers' bounds. Then they
    // filled the receiving process's room for the kernel's notices (a client may aim its
    // event at any channel it is connected to): a delivery is the registering client's
    // pulse, counted against it.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let (_, own) = self_channel(&mut s, p.client);
    let registrar = new_thread(&mut s, ct, 10);
    let ev = buffer(&mut s, p.client, &[], SigEvent::SIZE);
    let server_ev = buffer(&mut s, p.server, &[], SigEvent::SIZE);
    let msg = buffer(&mut s, p.client, b"x", 1);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    for value in 0..MAX_PULSES_PER_PROCESS as u64 + 100 {
        s.write_user(p.client, ev, &SigEvent::pulse(own, 10, 1, value).to_bytes()).unwrap();
        assert!(as_thread(&mut s, registrar, Call::MsgRegisterEvent { event: ev, coid: p.coid }).0.is_ok());
        let registered = read(&mut s, p.client, ev, SigEvent::SIZE);
        s.write_user(p.server, server_ev, &registered).unwrap();
        let delivered = as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid, event: server_ev }).0;
        let room = (value as usize) < MAX_PULSES_PER_PROCESS;
        assert_eq!(delivered, if room { Ok(0) } else { Err(Errno::EAGAIN) }, "pulse {value}");
        assert_eq!(as_thread(&mut s, registrar, Call::MsgUnregisterEvent { event: ev }).0, Ok(0));
    }
    assert_eq!((s.queued_pulses, s.queued_kernel_pulses), (MAX_PULSES_PER_PROCESS, 0));
    assert_eq!(s.processes.get(p.client.0).unwrap().queued_pulses, MAX_PULSES_PER_PROCESS, "the client's");
}

#[test]
fn an_unblock_notice_is_queued_once_per_request() {
    // A review found every MsgDeliverEvent of an UNBLOCK event queueing another notice,
    // exempt from the limits: one per rcvid is queued while the server has not seen it.
    let mut s = system();
    let p = pair(&mut s, channel_flags::UNBLOCK);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let event = SigEvent { notify: notify::UNBLOCK, ..Default::default() }.to_bytes();
    let ev = buffer(&mut s, p.client, &event, SigEvent::SIZE);
    assert!(as_thread(&mut s, ct, Call::MsgRegisterEvent { event: ev, coid: p.coid }).0.is_ok());
    let msg = buffer(&mut s, p.client, b"x", 1);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    let registered = read(&mut s, p.client, ev, SigEvent::SIZE);
    let server_ev = buffer(&mut s, p.server, &registered, SigEvent::SIZE);
    for _ in 0..100 {
        assert_eq!(as_thread(&mut s, st, Call::MsgDeliverEvent { rcvid, event: server_ev }).0, Ok(0));
    }
    assert_eq!(s.queued_kernel_pulses, 1);
}

// ---- long copies stopped by interrupts --------------------------------------------

/// How many times a copy of `n` bytes is restarted with an interrupt pending at every
/// look: once per page until what is left is copied without looking.
fn stops(n: usize) -> usize {
    n.saturating_sub(crate::transfer::UNINTERRUPTED).div_ceil(PAGE_SIZE)
}

/// A client of `p`'s server besides `p.client`: a new process running `program`, its
/// main thread, and its connection to the channel.
fn another_client(s: &mut Sys, p: &Pair, program: &'static str) -> (ProcessId, ThreadId, u32) {
    let other = s.spawn(program, b"", None, None, false).unwrap();
    let ot = main_thread(s, other);
    let ocoid = as_thread(s, ot, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    (other, ot, ocoid)
}

/// `len` bytes of a pattern that differs from page to page.
fn pattern(len: usize, salt: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096 + salt) as u8).collect()
}

/// The index of the first byte where `got` differs from `want`, if any.
fn first_difference(got: &[u8], want: &[u8]) -> Option<usize> {
    got.iter().zip(want).position(|(a, b)| a != b).or((got.len() != want.len()).then_some(0))
}

/// Makes the call of `t` that an interrupt stopped again, as `t` does, until it is no
/// longer stopped; returns its result and how many times it was made.
fn finish(s: &mut Sys, t: ThreadId) -> (Result<u64, Errno>, usize) {
    assert!(s.threads.get(t.0).unwrap().restart.is_some(), "no call stopped");
    let pc = s.context_mut(t).unwrap().pc + 4;
    let first = made_again(s, t, pc).0;
    let (result, more) = restarted(s, t, pc, first);
    (result, more + 1)
}

#[test]
fn a_long_send_is_received_at_its_first_stop_and_the_receiver_finishes_the_copy() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let (other, ot, ocoid) = another_client(&mut s, &p, "high"); // priority 50
    let len = 0x10000 + 123;
    let message = pattern(len, 0);
    let msg = buffer(&mut s, p.client, &message, len);
    let answer = buffer(&mut s, p.client, &[], len);
    let short = buffer(&mut s, other, b"later", 5);
    let rbuf = buffer(&mut s, p.server, &[], len);
    let info = buffer(&mut s, p.server, &[], MsgInfo::SIZE);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, info), BLOCKED);
    // An interrupt pending at every look: each copy goes a page at a time.
    s.machine.interrupt_every = Some(1);
    // The send stops after a page, but the message is received: the sender waits for the
    // reply, the receiver is to finish the copy (its MsgReceivev made again).
    assert_eq!(send(&mut s, ct, p.coid, msg, len, answer, len), BLOCKED);
    assert_eq!(state(&s, ct), ThreadState::Blocked(Blocked::Reply { server: p.server, channel: p.chid }));
    assert!(runnable(&s, st) && s.threads.get(st.0).unwrap().restart.is_some());
    // Meanwhile nothing else goes into its buffer: a higher client's message and a pulse
    // wait on the channel.
    assert_eq!(as_thread(&mut s, ot, Call::MsgSendPulse { coid: ocoid, priority: 60, code: 1, value: 0 }).0, Ok(0));
    assert_eq!(send(&mut s, ot, ocoid, short, 5, 0, 0), BLOCKED);
    assert!(s.threads.get(st.0).unwrap().restart.is_some());
    // It finishes, a page per call (no fast path takes a call made again).
    crate::fastpath::FAST_HITS.with(|h| h.set([0; 64]));
    let (received, calls) = finish(&mut s, st);
    assert_eq!(received.map(|r| split_rcvid(r).map(|(t, _)| t)), Ok(Some(ct)));
    assert_eq!(calls, stops(len));
    assert!(crate::fastpath::FAST_HITS.with(|h| h.get()).iter().all(|n| *n == 0), "a fast path");
    assert_eq!(first_difference(&read(&mut s, p.server, rbuf, len), &message), None);
    let record = MsgInfo::from_bytes(&read(&mut s, p.server, info, MsgInfo::SIZE)).unwrap();
    assert_eq!((record.msglen, record.srcmsglen), (len as u32, len as u32));
    // The reply, as long, made again by the replier while it stops.
    let rcvid = received.unwrap();
    let reply = pattern(len, 99);
    let rdata = buffer(&mut s, p.server, &reply, len);
    let (replied, restarts) =
        restarting(&mut s, st, Call::MsgReplyv { rcvid, status: 77, buffer: rdata, parts: single_buffer_parts(len) });
    assert_eq!((replied, restarts), (Ok(0), stops(len)));
    assert_eq!(x0(&mut s, ct), Ok(77));
    assert_eq!(first_difference(&read(&mut s, p.client, answer, len), &reply), None);
    // Then what waited: the pulse (priority 60), the message.
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, 0), Ok(0));
    let next = receive(&mut s, st, p.chid, rbuf, len, 0);
    assert_eq!(next.map(|r| split_rcvid(r).map(|(t, _)| t)), Ok(Some(ot)));
}

#[test]
fn a_long_queued_message_is_received_at_the_first_stop_and_finished_by_the_call_made_again() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let (other, ot, ocoid) = another_client(&mut s, &p, "high"); // priority 50
    let len = 0x9000;
    let message = pattern(len, 5);
    let msg = buffer(&mut s, p.client, &message, len);
    let short = buffer(&mut s, other, b"second", 6);
    let rbuf = buffer(&mut s, p.server, &[], len);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    s.machine.interrupt_every = Some(1);
    let pc = s.context_mut(st).unwrap().pc;
    let recv = Call::MsgReceivev { chid: p.chid, buffer: rbuf, parts: single_buffer_parts(len), info: 0 };
    let _ = as_thread(&mut s, st, recv);
    // Received (its sender REPLY-blocked, off the queue) though not all copied.
    assert!(s.threads.get(st.0).unwrap().restart.is_some(), "stopped");
    assert_eq!(state(&s, ct), ThreadState::Blocked(Blocked::Reply { server: p.server, channel: p.chid }));
    assert!(s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().first_message().is_none());
    // A higher client's message arriving now waits its turn.
    assert_eq!(send(&mut s, ot, ocoid, short, 6, 0, 0), BLOCKED);
    let first = made_again(&mut s, st, pc).0;
    let (received, restarts) = restarted(&mut s, st, pc, first);
    assert_eq!(restarts, stops(len) - 1);
    assert_eq!(received.map(|r| split_rcvid(r).map(|(t, _)| t)), Ok(Some(ct)));
    assert_eq!(first_difference(&read(&mut s, p.server, rbuf, len), &message), None);
    let received = receive(&mut s, st, p.chid, rbuf, len, 0);
    assert_eq!(received.map(|r| split_rcvid(r).map(|(t, _)| t)), Ok(Some(ot)));
}

#[test]
fn msg_read_and_msg_write_of_long_ranges_resume_at_their_offsets() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let len = 0xa000;
    let message = pattern(len, 7);
    let msg = buffer(&mut s, p.client, &message, len);
    let answer = buffer(&mut s, p.client, &[], len);
    let head = buffer(&mut s, p.server, &[], 16);
    let rest = buffer(&mut s, p.server, &[], len);
    assert_eq!(receive(&mut s, st, p.chid, head, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, answer, len), BLOCKED);
    let rcvid = x0(&mut s, st).unwrap();
    s.machine.interrupt_every = Some(2);
    let (n, restarts) =
        restarting(&mut s, st, Call::MsgReadv { rcvid, buffer: rest, parts: single_buffer_parts(len), offset: 16 });
    assert_eq!(n, Ok(len as u64 - 16));
    assert!(restarts >= 2, "{restarts}");
    assert_eq!(read(&mut s, p.server, rest, len - 16), message[16..]);
    let data = pattern(len, 11);
    let source = buffer(&mut s, p.server, &data, len);
    let (n, restarts) =
        restarting(&mut s, st, Call::MsgWritev { rcvid, buffer: source, parts: single_buffer_parts(len), offset: 8 });
    assert_eq!(n, Ok(len as u64 - 8));
    assert!(restarts >= 2, "{restarts}");
    assert_eq!(read(&mut s, p.client, answer + 8, len - 8), data[..len - 8]);
}

#[test]
fn a_sender_that_leaves_before_its_message_is_copied_leaves_the_receiver_a_receive_like_any() {
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let len = 0x6000;
    let msg = buffer(&mut s, p.client, &pattern(len, 1), len);
    let rbuf = buffer(&mut s, p.server, &[], len);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, 0), BLOCKED);
    arm(&mut s, ct, ts::REPLY, 1000);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    assert!(s.threads.get(st.0).unwrap().restart.is_some());
    // The client's REPLY bound runs out before the server runs again.
    advance(&mut s, 1000);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
    // The receive made again finds nothing to finish (and leaves the client alone), and
    // waits.
    assert_eq!(finish(&mut s, st), (BLOCKED, 1));
    assert_eq!(state(&s, st), ThreadState::Blocked(Blocked::Receive { channel: p.chid }));
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
}

#[test]
fn a_receiver_that_ends_before_finishing_a_message_fails_its_sender_with_esrch() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let worker = new_thread(&mut s, st, 10);
    let tid = s.threads.get(worker.0).unwrap().tid;
    let len = 0x6000;
    let msg = buffer(&mut s, p.client, &pattern(len, 1), len);
    let rbuf = buffer(&mut s, p.server, &[], len);
    assert_eq!(receive(&mut s, worker, p.chid, rbuf, len, 0), BLOCKED);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    assert!(s.threads.get(worker.0).unwrap().restart.is_some());
    // Nobody else can answer a message the server never saw: it fails.
    assert_eq!(as_thread(&mut s, st, Call::ThreadDestroy { tid, status: 0 }).0, Ok(0));
    assert_eq!(x0(&mut s, ct), Err(Errno::ESRCH));
}

#[test]
fn a_receive_buffer_that_goes_bad_while_the_copy_is_finished_fails_both_sides() {
    let mut s = system();
    let p = pair(&mut s, 0);
    let st = main_thread(&s, p.server);
    let (client, ct, coid) = another_client(&mut s, &p, "high"); // priority 50
    let other = new_thread(&mut s, st, 10);
    let len = 0x8000;
    let msg = buffer(&mut s, client, &pattern(len, 1), len);
    let rbuf = buffer(&mut s, p.server, &[], len);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, 0), BLOCKED);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, coid, msg, len, 0, 0), BLOCKED);
    s.machine.interrupt_every = None;
    assert_eq!(priority(&s, st), 50, "serving the client's message");
    // Another thread of the server unmaps the buffer before the copy is finished.
    assert_eq!(as_thread(&mut s, other, Call::MemUnmap { addr: rbuf, size: len }).0, Ok(0));
    assert_eq!(finish(&mut s, st), (Err(Errno::EFAULT), 1));
    assert_eq!(x0(&mut s, ct), Err(Errno::EFAULT));
    assert_eq!(priority(&s, st), 10, "still at the failed client's priority");
}

#[test]
fn a_bounded_receive_stays_bounded_when_the_sender_leaves_before_the_copy_is_finished() {
    // (A third review: the receive's bound was dropped with the stopped copy.)
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let len = 0x8000;
    let msg = buffer(&mut s, p.client, &pattern(len, 1), len);
    let rbuf = buffer(&mut s, p.server, &[], len);
    arm(&mut s, st, ts::RECEIVE, 5000);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, 0), BLOCKED);
    arm(&mut s, ct, ts::REPLY, 100);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    advance(&mut s, 100);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
    // The receive made again waits like any, with what was left of its bound when the
    // copy stopped (all 5000 ns: no time had passed).
    assert_eq!(finish(&mut s, st), (BLOCKED, 1));
    advance(&mut s, 4999);
    assert!(!runnable(&s, st), "woken early");
    advance(&mut s, 1);
    assert_eq!(x0(&mut s, st), Err(Errno::ETIMEDOUT));
}

#[test]
fn a_message_being_finished_survives_its_receivers_info_record_going_bad() {
    // (The same review: an early error of the receive made again left its sender
    // REPLY-blocked on a message nobody had received.) The record is written if it can
    // be, as always: the message is received, and its sender answered.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let other = new_thread(&mut s, st, 10);
    let len = 0x8000;
    let msg = buffer(&mut s, p.client, &pattern(len, 1), len);
    let rbuf = buffer(&mut s, p.server, &[], len);
    let info = buffer(&mut s, p.server, &[], MsgInfo::SIZE);
    assert_eq!(receive(&mut s, st, p.chid, rbuf, len, info), BLOCKED);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    s.machine.interrupt_every = None;
    assert_eq!(as_thread(&mut s, other, Call::MemUnmap { addr: info, size: MsgInfo::SIZE }).0, Ok(0));
    let (received, _) = finish(&mut s, st);
    let rcvid = received.unwrap();
    assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 5, buffer: 0, parts: 0 }).0, Ok(0));
    assert_eq!(x0(&mut s, ct), Ok(5));
}

#[test]
fn one_clients_events_do_not_use_up_a_servers_deliveries_to_other_clients() {
    // A client aims its registered event at a channel of its own that nobody receives
    // from and gets the server to deliver it again and again (mq_notify, re-armed):
    // charged to the server, its deliveries to every other client were then refused.
    // They are the registering client's.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let register = |s: &mut Sys, client: ProcessId, t: ThreadId, coid: u32, code: i8| {
        let (_, own) = self_channel(s, client);
        let ev = buffer(s, client, &SigEvent::pulse(own, 10, code, 0).to_bytes(), SigEvent::SIZE);
        assert!(as_thread(s, t, Call::MsgRegisterEvent { event: ev, coid }).0.is_ok());
        read(s, client, ev, SigEvent::SIZE)
    };
    let registered = register(&mut s, p.client, ct, p.coid, 1);
    let server_ev = buffer(&mut s, p.server, &registered, SigEvent::SIZE);
    let deliver = |s: &mut Sys| as_thread(s, st, Call::MsgDeliverEvent { rcvid: 0, event: server_ev }).0;
    for i in 0..MAX_PULSES_PER_PROCESS {
        assert_eq!(deliver(&mut s), Ok(0), "{i}");
    }
    assert_eq!(deliver(&mut s), Err(Errno::EAGAIN), "the client's room is used up");
    assert_eq!(s.processes.get(p.client.0).unwrap().queued_pulses, MAX_PULSES_PER_PROCESS);
    assert_eq!(s.processes.get(p.server.0).unwrap().queued_pulses, 0);
    let other = s.spawn("init", b"", None, None, false).unwrap();
    let ot = main_thread(&s, other);
    let ocoid = as_thread(&mut s, ot, Call::ConnectAttach { pid: p.server.0, chid: p.chid }).0.unwrap() as u32;
    let oregistered = register(&mut s, other, ot, ocoid, 2);
    s.write_user(p.server, server_ev, &oregistered).unwrap();
    assert_eq!(deliver(&mut s), Ok(0), "another client's notification");
    let mt = main_thread(&s, p.server);
    let (_, scoid) = self_channel(&mut s, p.server);
    assert_eq!(as_thread(&mut s, mt, Call::MsgSendPulse { coid: scoid, priority: 10, code: 3, value: 0 }).0, Ok(0));
}

#[test]
fn pulses_outlive_their_maker_as_their_receivers_orphans() {
    // A maker's pulses waiting on another's channel were counted against nobody once it
    // ended: children sending and ending in turn filled the system's room (refusing
    // everybody's pulses), and a reused pid was charged for them (its count underflowed).
    let mut s = system();
    let sink = s.spawn("init", b"", None, None, false).unwrap();
    let kt = main_thread(&s, sink);
    let chid = as_thread(&mut s, kt, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    for round in 0..MAX_QUEUED_PULSES / MAX_PULSES_PER_PROCESS {
        let child = s.spawn("init", b"", None, Some(sink), false).unwrap();
        let ct = main_thread(&s, child);
        let coid = as_thread(&mut s, ct, Call::ConnectAttach { pid: sink.0, chid }).0.unwrap() as u32;
        for value in 0..MAX_PULSES_PER_PROCESS as u64 {
            let sent = as_thread(&mut s, ct, Call::MsgSendPulse { coid, priority: 10, code: 1, value }).0;
            assert_eq!(sent, Ok(0), "round {round}");
        }
        s.terminate_process(child, wait_status::exited(0));
    }
    // The sink took the first child's as orphans, and no more: the rest were dropped.
    assert_eq!(s.queued_pulses, MAX_ORPHANED_PULSES_PER_PROCESS);
    let p = pair(&mut s, 0);
    let ct = main_thread(&s, p.client);
    let innocent = as_thread(&mut s, ct, Call::MsgSendPulse { coid: p.coid, priority: 10, code: 1, value: 0 }).0;
    assert_eq!(innocent, Ok(0), "an innocent client's pulse to an unrelated server");
    // The orphans are still received, oldest first, and counted as they go.
    let buf = buffer(&mut s, sink, &[], 64);
    assert_eq!(receive(&mut s, kt, chid, buf, 64, 0), Ok(0));
    assert_eq!(Pulse::from_bytes(&read(&mut s, sink, buf, Pulse::SIZE)).unwrap().value, 0);
    assert_eq!(s.queued_pulses, MAX_ORPHANED_PULSES_PER_PROCESS);
    s.terminate_process(sink, wait_status::exited(0));
    assert_eq!(s.queued_pulses, 1, "the innocent client's");
}

#[test]
fn a_client_above_63_detaching_from_an_ordinary_server_does_not_get_ahead_of_its_notices() {
    // Notices to an ordinary server go at 63; a privileged client's messages above that
    // were received first, its disconnections piled up, and its 17th ConnectAttach was
    // refused. A detach's notice goes at the detaching thread's priority if higher.
    let mut s = system();
    let server = s.spawn("init", b"", None, None, false).unwrap();
    let client = s.spawn("init", b"", Some(100), None, true).unwrap();
    let st = main_thread(&s, server);
    let chid = as_thread(&mut s, st, Call::ChannelCreate { flags: channel_flags::DISCONNECT }).0.unwrap() as u32;
    let ct = main_thread(&s, client);
    let msg = buffer(&mut s, client, b"x", 1);
    let sbuf = buffer(&mut s, server, &[], 64);
    for i in 0..=MAX_DISCONNECTED_PER_CLIENT {
        let coid = as_thread(&mut s, ct, Call::ConnectAttach { pid: server.0, chid }).0;
        let Ok(coid) = coid else { panic!("open/close number {i} refused: {coid:?}") };
        assert_eq!(send(&mut s, ct, coid as u32, msg, 1, 0, 0), BLOCKED);
        // The server takes what comes first: the last disconnection, then the request.
        let mut rcvid = receive(&mut s, st, chid, sbuf, 64, 0).unwrap();
        if rcvid == 0 {
            let pulse = Pulse::from_bytes(&read(&mut s, server, sbuf, Pulse::SIZE)).unwrap();
            assert_eq!(pulse.code, pulse_code::DISCONNECT);
            assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: pulse.scoid }).0, Ok(0));
            rcvid = receive(&mut s, st, chid, sbuf, 64, 0).unwrap();
        }
        assert_ne!(rcvid, 0, "the request");
        assert_eq!(as_thread(&mut s, st, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 }).0, Ok(0));
        assert_eq!(as_thread(&mut s, ct, Call::ConnectDetach { id: coid as u32 }).0, Ok(0));
    }
}

#[test]
fn a_stale_rcvid_never_reaches_a_later_message() {
    // docs/syscalls.md: "rcvids name one message (sender thread + message sequence): a
    // stale rcvid gets ESRCH"; ipc.rs: "so a stale rcvid can never reach another
    // message". The server keeps the rcvid of a request whose client timed out (no
    // _NTO_CHF_UNBLOCK); the client goes on using the server.
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let msg = buffer(&mut s, p.client, b"m", 16);
    let reply = buffer(&mut s, p.client, &[], 16);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    let answer = buffer(&mut s, p.server, b"STALE", 16);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    arm(&mut s, ct, ts::REPLY, 100);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    let stale = x0(&mut s, st).unwrap();
    advance(&mut s, 100);
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT));
    let mut last = 0;
    for _ in 0..1 << 16 {
        assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
        assert_eq!(send(&mut s, ct, p.coid, msg, 1, reply, 16), BLOCKED);
        last = x0(&mut s, st).unwrap();
        if last == stale {
            break;
        }
        as_thread(&mut s, st, Call::MsgReplyv { rcvid: last, status: 0, buffer: 0, parts: 0 });
    }
    // The client waits for the answer to its latest request; the old rcvid must not reach it.
    let r = as_thread(
        &mut s,
        st,
        Call::MsgReplyv { rcvid: stale, status: 7, buffer: answer, parts: single_buffer_parts(5) },
    );
    assert_eq!(
        r.0,
        Err(Errno::ESRCH),
        "rcvid {stale:#x} of a request abandoned 65,536 messages ago (latest {last:#x})"
    );
}

#[test]
fn a_client_process_dying_reply_blocked_gives_its_unblock_server_a_pulse() {
    // ThreadDestroy of a REPLY-blocked thread gives an _NTO_CHF_UNBLOCK server
    // _PULSE_CODE_UNBLOCK (docs/syscalls.md ThreadDestroy; test
    // a_thread_that_dies_waiting_for_a_reply_is_forgotten_and_its_server_told). The
    // same thread ending because its process exits (or is killed) tells the server
    // nothing: a server holding the request (a pipe read) answers it with data later.
    let (mut s, p, st, ct, _, buf, rcvid) = held_read();
    as_thread(&mut s, ct, Call::ProcessExit { status: 0 });
    let r = receive(&mut s, st, p.chid, buf, 64, 0);
    assert_eq!(r, Ok(0), "an unblock pulse for the held request");
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (pulse_code::UNBLOCK, rcvid));
}

#[test]
fn a_queued_sender_whose_buffer_fails_leaves_no_boost_behind() {
    // Architecture §3: "Boosts are undone when the reason disappears." A sender (30)
    // with an unmapped buffer queues on a busy two-thread server, boosting both threads;
    // when one of them takes the message the copy fails and the sender is failed, but
    // the other thread keeps the boost.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (s1, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let s2 = new_thread(&mut s, s1, 10);
    let c2 = new_thread(&mut s, ct, 10);
    let h = new_thread(&mut s, ct, 30);
    let (b1, b2) = (buffer(&mut s, p.server, &[], 16), buffer(&mut s, p.server, &[], 16));
    let msg = buffer(&mut s, p.client, b"x", 16);
    assert_eq!(receive(&mut s, s1, p.chid, b1, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    assert_eq!(receive(&mut s, s2, p.chid, b2, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, c2, p.coid, msg, 1, 0, 0), BLOCKED);
    let rcvid2 = x0(&mut s, s2).unwrap();
    assert_eq!(send(&mut s, h, p.coid, 0x2000_0000, 16, 0, 0), BLOCKED); // unmapped
    assert_eq!((priority(&s, s1), priority(&s, s2)), (30, 30), "both boosted at send time");
    as_thread(&mut s, s2, Call::MsgReplyv { rcvid: rcvid2, status: 0, buffer: 0, parts: 0 });
    assert_eq!(receive(&mut s, s2, p.chid, b2, 16, 0), BLOCKED); // takes H's message: it fails
    assert_eq!(x0(&mut s, h), Err(Errno::EFAULT));
    assert!(s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap().queue().is_empty());
    assert_eq!(priority(&s, s1), 10, "nothing waits at 30 any more");
}

#[test]
fn detach_fails_the_threads_send_blocked_on_that_connection() {
    // QNX ConnectDetach: "If a client thread is SEND-blocked on the connection (e.g., it's
    // called MsgSend(), but the server hasn't received the message), the send fails and
    // returns with an error."
    let mut s = system();
    let p = pair(&mut s, channel_flags::DISCONNECT);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let sender = new_thread(&mut s, ct, 10);
    let msg = buffer(&mut s, p.client, b"req", 3);
    assert_eq!(send(&mut s, sender, p.coid, msg, 3, 0, 0), BLOCKED); // nobody receiving: queued
    assert_eq!(as_thread(&mut s, ct, Call::ConnectDetach { id: p.coid }).0, Ok(0));
    // What the server sees: the client's disconnection first, it frees the scoid ...
    let sbuf = buffer(&mut s, p.server, &[], 64);
    let info = buffer(&mut s, p.server, &[], MsgInfo::SIZE);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, sbuf, Pulse::SIZE)).unwrap();
    assert_eq!(pulse.code, pulse_code::DISCONNECT);
    assert_eq!(as_thread(&mut s, st, Call::ConnectDetach { id: pulse.scoid }).0, Ok(0));
    // ... and then must not be handed a message from the client it has just forgotten.
    let next = receive(&mut s, st, p.chid, sbuf, 64, info);
    let i = MsgInfo::from_bytes(&read(&mut s, p.server, info, MsgInfo::SIZE)).unwrap();
    assert!(
        next == BLOCKED,
        "received {next:?}: a message through scoid {:#x}, which the server freed after its disconnect pulse",
        i.scoid
    );
    assert!(runnable(&s, sender) && x0(&mut s, sender).is_err(), "the SEND-blocked thread's send fails");
}

#[test]
fn channel_destroy_gives_coid_death_pulses() {
    // QNX _NTO_CHF_COID_DISCONNECT: "The kernel delivers a pulse whenever any connection
    // owned by this process is terminated due to the channel on the other end going away."
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let notify_chid =
        as_thread(&mut s, ct, Call::ChannelCreate { flags: channel_flags::COID_DISCONNECT }).0.unwrap() as u32;
    assert_eq!(as_thread(&mut s, st, Call::ChannelDestroy { chid: p.chid }).0, Ok(0));
    let cbuf = buffer(&mut s, p.client, &[], 64);
    assert_eq!(receive(&mut s, ct, notify_chid, cbuf, 64, 0), Ok(0), "a COIDDEATH pulse for the coid");
    let pulse = Pulse::from_bytes(&read(&mut s, p.client, cbuf, Pulse::SIZE)).unwrap();
    assert_eq!((pulse.code, pulse.value), (pulse_code::COIDDEATH, p.coid as u64));
}

#[test]
fn channel_destroy_invalidates_its_server_connections() {
    // QNX ChannelDestroy: "When the channel is destroyed, all server connection IDs
    // become invalid." A disconnected scoid whose pulse went with the channel is never
    // learnt by the server, yet stays in its table (512 at most) until it exits.
    let mut s = system();
    let p = pair(&mut s, channel_flags::DISCONNECT);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    assert_eq!(as_thread(&mut s, ct, Call::ConnectDetach { id: p.coid }).0, Ok(0));
    assert_eq!(as_thread(&mut s, st, Call::ChannelDestroy { chid: p.chid }).0, Ok(0));
    assert_eq!(s.processes.get(p.server.0).unwrap().server_connections.len(), 0, "no scoid outlives its channel");
}

#[test]
fn msg_error_minus_one_gives_the_client_the_right_error() {
    // Seed 003 (_NTO_CHF_UNBLOCK): "the server MUST MsgReply*() or MsgError() to the
    // client, otherwise the client will remain blocked forever - usual choice is
    // MsgError(rcvid, -1) - -1 is a special value that tells the kernel 'use the right
    // error'".
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let p = pair(&mut s, channel_flags::UNBLOCK);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let buf = buffer(&mut s, p.client, b"m", 16);
    let sbuf = buffer(&mut s, p.server, &[], 64);
    receive(&mut s, st, p.chid, sbuf, 64, 0);
    arm(&mut s, ct, ts::REPLY, 100);
    assert_eq!(send(&mut s, ct, p.coid, buf, 1, 0, 0), BLOCKED);
    advance(&mut s, 100);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), Ok(0));
    let pulse = Pulse::from_bytes(&read(&mut s, p.server, sbuf, Pulse::SIZE)).unwrap();
    let regs = abi::syscall::Registers {
        number: abi::syscall::Sysno::MsgError as u64,
        args: [pulse.value, -1i64 as u64, 0, 0, 0, 0, 0, 0],
    };
    switch_to(&mut s, st);
    assert_eq!(crate::testing::call_registers(&mut s, &regs).0, Ok(0));
    assert!(runnable(&s, ct), "the client is released");
    assert_eq!(x0(&mut s, ct), Err(Errno::ETIMEDOUT), "with the error its unblock was for");
}

#[test]
fn a_receive_made_again_does_not_take_the_senders_bytes_as_its_io_vector() {
    // docs/syscalls.md (long copies): the copy goes on from where it stopped; "A program
    // sees none of this". The server's receive I/O vector lies inside its own receive
    // buffer (allowed: parts are one byte sequence). Copied whole, the message lands in
    // the buffer only; stopped by an interrupt, the call made again re-reads the vector
    // from the buffer, now holding the sender's bytes: the sender picks where the rest
    // of its message goes in the server.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let len = 0x20000;
    let region = buffer(&mut s, p.server, &[], len);
    let victim = buffer(&mut s, p.server, b"server's own data", PAGE_SIZE);
    let iov = |parts: [(usize, usize); 2]| -> Vec<u8> {
        parts.iter().flat_map(|&(a, l)| [(a as u64).to_le_bytes(), (l as u64).to_le_bytes()]).flatten().collect()
    };
    s.write_user(p.server, region, &iov([(region, len / 2), (region + len / 2, len / 2)])).unwrap();
    let mut message = vec![b'X'; len];
    message[..32].copy_from_slice(&iov([(region, PAGE_SIZE), (victim, PAGE_SIZE)]));
    let msg = buffer(&mut s, p.client, &message, len);
    let recv = Call::MsgReceivev { chid: p.chid, buffer: region, parts: 2, info: 0 };
    assert_eq!(as_thread(&mut s, st, recv).0, BLOCKED);
    s.machine.interrupt_every = Some(1);
    assert_eq!(send(&mut s, ct, p.coid, msg, len, 0, 0), BLOCKED);
    let (received, _) = finish(&mut s, st);
    assert!(received.is_ok());
    s.machine.interrupt_every = None;
    assert_eq!(read(&mut s, p.server, victim, 17), b"server's own data", "written outside the receive buffer");
}

/// Four processes for chains of inheritance: B serves a channel and is connected to C's;
/// A and D are B's clients (each process's main thread, channel and connection named).
struct Chain {
    s: Sys,
    b: ProcessId,
    c: ProcessId,
    a: ProcessId,
    d: ProcessId,
    bt: ThreadId,
    ct: ThreadId,
    at: ThreadId,
    dt: ThreadId,
    c_chid: u32,
    b_chid: u32,
    b_to_c: u32,
    a_to_b: u32,
    d_to_b: u32,
}

fn chain_of_servers() -> Chain {
    let mut s = system();
    let b = s.spawn("init", b"", None, None, false).unwrap();
    let c = s.spawn("init", b"", None, None, false).unwrap();
    let a = s.spawn("init", b"", None, None, false).unwrap();
    let d = s.spawn("init", b"", None, None, false).unwrap();
    let (bt, ct, at, dt) = (main_thread(&s, b), main_thread(&s, c), main_thread(&s, a), main_thread(&s, d));
    let c_chid = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let b_chid = as_thread(&mut s, bt, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let b_to_c = as_thread(&mut s, bt, Call::ConnectAttach { pid: c.0, chid: c_chid }).0.unwrap() as u32;
    let a_to_b = as_thread(&mut s, at, Call::ConnectAttach { pid: b.0, chid: b_chid }).0.unwrap() as u32;
    let d_to_b = as_thread(&mut s, dt, Call::ConnectAttach { pid: b.0, chid: b_chid }).0.unwrap() as u32;
    Chain { s, b, c, a, d, bt, ct, at, dt, c_chid, b_chid, b_to_c, a_to_b, d_to_b }
}

#[test]
fn a_boost_reaches_the_server_a_reply_blocked_worker_waits_on() {
    // docs/syscalls.md MsgSendv: "the channel's serving threads are boosted to our
    // priority at once (and servers they wait on, in turn)". B's only worker has sent
    // to C and C has received it (the worker is REPLY-blocked): D (60) sends to B.
    let Chain { mut s, b, c, a, d, bt, ct, at, dt, c_chid, b_chid, b_to_c, a_to_b, d_to_b } = chain_of_servers();
    let (bbuf, cbuf) = (buffer(&mut s, b, &[], 16), buffer(&mut s, c, &[], 16));
    let abuf = buffer(&mut s, a, b"x", 16);
    let dbuf = buffer(&mut s, d, b"x", 16);
    assert_eq!(receive(&mut s, bt, b_chid, bbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, at, a_to_b, abuf, 1, 0, 0), BLOCKED); // B works for A (10)...
    assert_eq!(receive(&mut s, ct, c_chid, cbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, bt, b_to_c, bbuf, 1, 0, 0), BLOCKED); // ...and waits on C (10)
    assert!(matches!(state(&s, bt), ThreadState::Blocked(Blocked::Reply { .. })));
    let up = SchedParam { policy: Policy::Fifo, priority: 60 }.encode();
    as_thread(&mut s, dt, Call::SchedSet { pid: 0, tid: 0, sched: up });
    assert_eq!(send(&mut s, dt, d_to_b, dbuf, 1, 0, 0), BLOCKED);
    assert_eq!(priority(&s, bt), 60, "B's worker is boosted");
    assert_eq!(priority(&s, ct), 60, "C, which B's worker waits on, is boosted in turn");
}

#[test]
fn a_server_does_not_keep_a_dead_clients_priority() {
    // Architecture §3: "Boosts are undone when the reason disappears". The server took a
    // message from a client at 30; the client is killed while REPLY-blocked.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let up = SchedParam { policy: Policy::Fifo, priority: 30 }.encode();
    as_thread(&mut s, ct, Call::SchedSet { pid: 0, tid: 0, sched: up });
    let sbuf = buffer(&mut s, p.server, &[], 64);
    let msg = buffer(&mut s, p.client, b"m", 16);
    assert_eq!(receive(&mut s, st, p.chid, sbuf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 30);
    switch_to(&mut s, st);
    s.terminate_process(p.client, wait_status::exited(0));
    assert_eq!(priority(&s, st), 10, "nobody is served at 30 any more");
}

#[test]
fn one_programs_unreceived_urgent_timers_do_not_starve_anothers() {
    // events.rs: at most 32 ordinary timers fire a tick, "the most urgent pulse first".
    // A firing whose pulse is still queued queues nothing, yet uses up a place in the
    // batch: one ordinary program's 32 timers at priority 63, aimed at a channel it never
    // reads (no CPU needed), take every tick's batch for ever, and another program's
    // timer at priority 10 never fires — not late, never.
    let mut s = system();
    let hog = s.spawn("init", b"", None, None, false).unwrap();
    let ht = main_thread(&s, hog);
    let (_, hog_coid) = self_channel(&mut s, hog);
    let ev = buffer(&mut s, hog, &SigEvent::pulse(hog_coid, 63, 1, 0).to_bytes(), SigEvent::SIZE);
    for _ in 0..MAX_TIMER_FIRINGS_PER_TICK {
        let id = as_thread(&mut s, ht, Call::TimerCreate { event: ev }).0.unwrap() as u32;
        as_thread(&mut s, ht, Call::TimerSettime { id, initial: 1, interval: TIMER_TICK_NS }).0.unwrap();
    }
    let got = victim_timer_firings(&mut s);
    assert!(got > 0, "the victim's 1 ms timer fired {got} times in 200 ms");
}

#[test]
fn a_dying_client_process_gives_one_unblock_pulse_per_request() {
    // terminate_process sends _PULSE_CODE_UNBLOCK for each REPLY-blocked thread, then
    // ipc_forget_process detaches every coid, and `detach` now interrupts the threads
    // "blocked on the connection" — the same, still REPLY-blocked (never cleared) threads
    // of the dying process: a second unblock request for the same rcvid.
    let (mut s, p, st, ct, _, buf, rcvid) = held_read();
    // The server holds the request and waits for more (a pipe read it keeps).
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), BLOCKED);
    as_thread(&mut s, ct, Call::ProcessExit { status: 0 });
    assert_eq!(x0(&mut s, st), Ok(0), "the unblock pulse, given to the waiting server");
    let first = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
    assert_eq!((first.code, first.value), (pulse_code::UNBLOCK, rcvid));
    let again = receive(&mut s, st, p.chid, buf, 64, 0);
    let second = Pulse::from_bytes(&read(&mut s, p.server, buf, Pulse::SIZE)).unwrap();
    assert_eq!(again, BLOCKED, "a second pulse: code {} value {:#x}", second.code, second.value);
}

/// How often, in 200 ms, another program's 1 ms timer at priority 20 fires and its
/// pulse is received (the victim of the timer-starvation tests).
fn victim_timer_firings(s: &mut Sys) -> usize {
    let (pid, t, chid, id) = pulse_timer(s, 5); // priority 20
    as_thread(s, t, Call::TimerSettime { id, initial: 1, interval: TIMER_TICK_NS }).0.unwrap();
    let buf = buffer(s, pid, &[], 64);
    let mut waiting = false;
    let mut got = 0;
    for _ in 0..200 {
        advance(s, TIMER_TICK_NS);
        got += drain_pulses(s, pid, t, chid, buf, &mut waiting).len();
    }
    got
}

#[test]
fn timers_whose_firings_deliver_nothing_do_not_starve_anothers() {
    // events.rs: a firing whose pulse is still queued takes no place in a tick's batch
    // (see one_programs_unreceived_urgent_timers_do_not_starve_anothers). The other
    // ways a firing does nothing took one: an event of no kind (`notify::NONE`), an
    // unblock event for a thread in no call it ends (asleep) or whose server was asked
    // already, a pulse through a connection detached. Each took its place at its
    // thread's or its pulse's priority, 63, so one ordinary program's 32 such timers,
    // costing it nothing, kept another's timer at priority 20 from ever firing.
    for hog_kind in 0..4 {
        let mut s = system();
        let hog = s.spawn("init", b"", None, None, false).unwrap();
        let ht = main_thread(&s, hog);
        let top = SchedParam { policy: Policy::Fifo, priority: 63 }.encode();
        as_thread(&mut s, ht, Call::SchedSet { pid: 0, tid: 0, sched: top }).0.unwrap();
        let (hog_chid, hog_coid) = self_channel(&mut s, hog);
        let unblock = SigEvent { notify: notify::UNBLOCK, ..Default::default() };
        let event = match hog_kind {
            0 => SigEvent::default(),
            1 | 2 => unblock,
            _ => SigEvent::pulse(hog_coid, 63, 1, 0),
        };
        let ev = buffer(&mut s, hog, &event.to_bytes(), SigEvent::SIZE);
        for _ in 0..MAX_TIMER_FIRINGS_PER_TICK {
            let id = as_thread(&mut s, ht, Call::TimerCreate { event: ev }).0.unwrap() as u32;
            as_thread(&mut s, ht, Call::TimerSettime { id, initial: 1, interval: TIMER_TICK_NS }).0.unwrap();
        }
        match hog_kind {
            1 => assert_eq!(as_thread(&mut s, ht, Call::Sleep { nanoseconds: u64::MAX }).0, BLOCKED),
            2 => {
                // Its own server, of an `_NTO_CHF_UNBLOCK` channel, holds its request
                // and never looks at the channel again.
                let server = new_thread(&mut s, ht, 10);
                let chid = as_thread(&mut s, server, Call::ChannelCreate { flags: channel_flags::UNBLOCK }).0.unwrap();
                let coid = as_thread(&mut s, ht, Call::ConnectAttach { pid: 0, chid: chid as u32 }).0.unwrap();
                let sbuf = buffer(&mut s, hog, &[], 64);
                assert_eq!(receive(&mut s, server, chid as u32, sbuf, 64, 0), BLOCKED);
                assert_eq!(send(&mut s, ht, coid as u32, sbuf, 4, 0, 0), BLOCKED);
                assert!(x0(&mut s, server).is_ok(), "the request received");
            }
            3 => {
                as_thread(&mut s, ht, Call::ConnectDetach { id: hog_coid }).0.unwrap();
                as_thread(&mut s, ht, Call::ChannelDestroy { chid: hog_chid }).0.unwrap();
            }
            _ => {}
        }
        let got = victim_timer_firings(&mut s);
        assert!(got > 0, "hog {hog_kind}: the victim's 1 ms timer fired {got} times in 200 ms");
    }
}

#[test]
fn an_unblock_event_never_reaches_another_process_thread() {
    // A timer's or a registered event's unblock names the thread by a handle kept while
    // the thread may end; after 2^18 reuses of its slot the handle names a thread that
    // starts next, perhaps in another process. Delivered for process `a`, the event
    // must leave process `b`'s blocked thread alone.
    let mut s = system();
    let a = s.spawn("init", b"", None, None, false).unwrap();
    let b = s.spawn("init", b"", None, None, false).unwrap();
    let bt = main_thread(&s, b);
    let (chid, _) = self_channel(&mut s, b);
    let buf = buffer(&mut s, b, &[], 64);
    assert_eq!(receive(&mut s, bt, chid, buf, 64, 0), BLOCKED);
    let unblock = SigEvent { notify: notify::UNBLOCK, ..Default::default() };
    assert_eq!(s.deliver_event(a, bt, unblock, PulseFrom::Process(a)), Ok(()));
    assert_eq!(state(&s, bt), ThreadState::Blocked(Blocked::Receive { channel: chid }), "b's receive ended");
    assert_eq!(s.deliver_event(b, bt, unblock, PulseFrom::Process(b)), Ok(()));
    assert_eq!(x0(&mut s, bt), Err(Errno::EINTR), "its own process's event ends its receive");
}

#[test]
fn a_timer_timeout_refused_uses_up_the_bound_as_any_call_does() {
    // docs/syscalls.md: "any call uses the bound up". A TimerTimeout that failed with
    // EINVAL left the one armed before it armed: the receive after it timed out.
    use abi::syscall::timeout_states as ts;
    let mut s = system();
    let pid = s.spawn("init", b"", None, None, false).unwrap();
    let t = main_thread(&s, pid);
    let (chid, _) = self_channel(&mut s, pid);
    let buf = buffer(&mut s, pid, &[], 64);
    arm(&mut s, t, ts::RECEIVE, 1000);
    assert_eq!(as_thread(&mut s, t, Call::TimerTimeout { states: 1 << 20, nanoseconds: 1 }).0, Err(Errno::EINVAL));
    assert_eq!(receive(&mut s, t, chid, buf, 64, 0), BLOCKED);
    advance(&mut s, 5000);
    assert_eq!(state(&s, t), ThreadState::Blocked(Blocked::Receive { channel: chid }), "an unbounded receive");
}

#[test]
fn a_worker_whose_own_send_times_out_still_inherits_from_its_clients() {
    // Architecture §3: boosts follow the reason and are undone when it disappears. B's
    // worker holds A's request (30) and sends to C, bounded; nobody at C receives, and
    // the send times out. The worker still works on A's request: A's end must take A's
    // priority away, and D's more urgent message queued behind must boost it.
    use abi::syscall::timeout_states as ts;
    let Chain { mut s, b, a, d, bt, at, dt, b_chid, b_to_c, a_to_b, d_to_b, .. } = chain_of_servers();
    let bbuf = buffer(&mut s, b, &[], 16);
    let abuf = buffer(&mut s, a, b"x", 16);
    let dbuf = buffer(&mut s, d, b"x", 16);
    let at_priority = |p| SchedParam { policy: Policy::Fifo, priority: p }.encode();
    as_thread(&mut s, at, Call::SchedSet { pid: 0, tid: 0, sched: at_priority(30) });
    assert_eq!(receive(&mut s, bt, b_chid, bbuf, 16, 0), BLOCKED);
    assert_eq!(send(&mut s, at, a_to_b, abuf, 1, 0, 0), BLOCKED);
    assert_eq!(priority(&s, bt), 30, "B's worker works on A's request");
    arm(&mut s, bt, ts::SEND, 100);
    assert_eq!(send(&mut s, bt, b_to_c, bbuf, 1, 0, 0), BLOCKED);
    advance(&mut s, 100);
    assert_eq!(x0(&mut s, bt), Err(Errno::ETIMEDOUT));
    s.terminate_process(a, wait_status::exited(0));
    assert_eq!(priority(&s, bt), 10, "nobody is served at 30 any more");
    as_thread(&mut s, dt, Call::SchedSet { pid: 0, tid: 0, sched: at_priority(60) });
    assert_eq!(send(&mut s, dt, d_to_b, dbuf, 1, 0, 0), BLOCKED);
    assert_eq!(priority(&s, bt), 60, "B's worker is boosted by D's message queued behind");
}

/// The IPC state's own consistency, whatever happened: every queued message is its
/// SEND-blocked sender's, every waiting receiver RECEIVE-blocked, nobody RECEIVE-blocked
/// serves a channel, each thread runs at the priority its reasons give it, and the pulse
/// counts add up.
fn check_ipc_invariants(s: &Sys, step: usize) {
    let mut kernel_pulses = 0;
    for (pid, p) in s.processes.iter() {
        for (chid, c) in p.channels.iter() {
            kernel_pulses += c.kernel_pulses;
            for item in c.queue() {
                if let PendingItem::Message(x) = item {
                    let st = s.threads.get(x.0).map(|t| t.state);
                    let want = ThreadState::Blocked(Blocked::Send { server: ProcessId(pid), channel: chid });
                    assert_eq!(st, Some(want), "step {step}: a queued message of {x:?}");
                }
            }
            for r in c.receivers.iter().chain(c.pulse_receivers.iter()) {
                let st = s.threads.get(r.0).map(|t| t.state);
                assert_eq!(st, Some(ThreadState::Blocked(Blocked::Receive { channel: chid })), "step {step}: receiver");
            }
            for w in &c.serving {
                let t = s.threads.get(w.0).expect("a serving thread exists");
                assert_eq!(t.process.0, pid, "step {step}: serves another process's channel");
                assert!(
                    !matches!(t.state, ThreadState::Blocked(Blocked::Receive { .. })),
                    "step {step}: serving and receiving"
                );
            }
        }
    }
    assert_eq!(kernel_pulses, s.queued_kernel_pulses, "step {step}: kernel pulse count");
    for (h, t) in s.threads.iter() {
        let id = ThreadId(h);
        if t.state == ThreadState::Dead {
            continue;
        }
        if let ThreadState::Blocked(Blocked::Send { server, channel }) = t.state {
            let c = s.processes.get(server.0).and_then(|p| p.channels.get(channel)).expect("its channel");
            let n = c.queue().iter().filter(|i| **i == PendingItem::Message(id)).count();
            assert_eq!(n, 1, "step {step}: SEND-blocked {id:?} queued {n} times");
        }
        if let ThreadState::Blocked(Blocked::Reply { server, channel }) = t.state {
            if let Some(w) = s.worker_of(id, server, channel) {
                let wp = s.threads.get(w.0).unwrap().inherited_priority;
                assert_eq!(wp, t.priority, "step {step}: {w:?} works for {id:?} at {wp}, not its {}", t.priority);
            }
        }
        let mut want = t.inherited_priority;
        for (_, c) in s.processes.get(t.process.0).unwrap().channels.iter() {
            if c.flags & channel_flags::FIXED_PRIORITY == 0 && c.serving.contains(&id) {
                want = want.max(c.top_priority().unwrap_or(0));
            }
        }
        assert_eq!(t.priority, want, "step {step}: {id:?} runs at {} for reasons of {want}", t.priority);
    }
}

#[test]
fn random_traffic_with_timeouts_deaths_detaches_and_destroys_leaves_nothing_behind() {
    // Clients send (some bounded, some long enough for their copies to stop for
    // interrupts), B's two workers receive, reply, fail and ask C in turn, while clients,
    // their threads, the second worker, C and B's channel end, connections are detached,
    // unblock events delivered and priorities changed. After every step the IPC state
    // is consistent and every thread runs at the priority its reasons give it; at the
    // end, with everyone else gone, B's workers wait at their own priority and hold
    // nothing (or, B gone first, nobody waits on it and nothing of anyone is left).
    let all = channel_flags::UNBLOCK | channel_flags::DISCONNECT | channel_flags::THREAD_DEATH;
    for (round, flags) in
        [0, channel_flags::UNBLOCK, all, channel_flags::FIXED_PRIORITY | all].into_iter().cycle().take(40).enumerate()
    {
        random_cleanup_round(0x9e37_79b9_7f4a_7c15 ^ (round as u64 * 0x1234_5678_9abc), flags, round % 5 == 4);
    }
}

/// What a worker's last call was, to know what its result means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Last {
    Other,
    Receive,
}

/// A message long enough for a copy to stop for interrupts.
const LONG: usize = 0x6000;

/// One round of [`random_traffic_with_timeouts_deaths_detaches_and_destroys_leaves_nothing_behind`]:
/// B's channel made with `flags`; B ends before its clients if `server_first`.
fn random_cleanup_round(seed: u64, flags: u32, server_first: bool) {
    use crate::testing::Rand;
    use abi::syscall::timeout_states as ts;
    let mut rand = Rand(seed);
    let mut s = system();
    let b = s.spawn("init", b"", None, None, false).unwrap();
    let mut c = s.spawn("init", b"", None, None, false).unwrap();
    let bt = main_thread(&s, b);
    let mut ct = main_thread(&s, c);
    let mut chid_b = as_thread(&mut s, bt, Call::ChannelCreate { flags }).0.unwrap() as u32;
    let mut chid_c = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
    let mut b_to_c = as_thread(&mut s, bt, Call::ConnectAttach { pid: c.0, chid: chid_c }).0.unwrap() as u32;
    let mut workers = vec![bt, new_thread(&mut s, bt, 10)];
    let mut bufs: std::collections::HashMap<ThreadId, usize> = Default::default();
    for &w in &workers {
        let at = buffer(&mut s, b, &[], LONG);
        bufs.insert(w, at);
    }
    let mut cbuf = buffer(&mut s, c, &[], 64);
    let event_area = buffer(&mut s, b, &[], 64 * SigEvent::SIZE);
    let mut last: std::collections::HashMap<ThreadId, Last> = Default::default();
    let mut held_b: Vec<u64> = Vec::new();
    let mut held_c: Vec<u64> = Vec::new();
    // Clients: (pid, threads, coid, send buffer, its second thread's unblock event as B has it).
    let mut clients: Vec<(ProcessId, Vec<ThreadId>, u32, usize, usize)> = Vec::new();
    let spawn_client = |s: &mut Sys, rand: &mut Rand, chid_b: u32| {
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = main_thread(s, pid);
        let coid = as_thread(s, main, Call::ConnectAttach { pid: b.0, chid: chid_b }).0.unwrap() as u32;
        let other = new_thread(s, main, 5 + rand.below(40) as u8);
        let buf = buffer(s, pid, &pattern(LONG, 1), LONG);
        let event = SigEvent { notify: notify::UNBLOCK, ..Default::default() };
        let ev_at = buffer(s, pid, &event.to_bytes(), SigEvent::SIZE);
        as_thread(s, other, Call::MsgRegisterEvent { event: ev_at, coid }).0.unwrap();
        let registered = read(s, pid, ev_at, SigEvent::SIZE);
        let copy = event_area + (pid.0 as usize % 64) * SigEvent::SIZE;
        s.write_user(b, copy, &registered).unwrap();
        (pid, vec![main, other], coid, buf, copy)
    };
    for _ in 0..3 {
        let cl = spawn_client(&mut s, &mut rand, chid_b);
        clients.push(cl);
    }
    for step in 0..500 {
        // Calls an interrupt stopped are made again, a page further each time.
        let stopped: Vec<ThreadId> = s
            .threads
            .iter()
            .filter(|(_, t)| t.restart.is_some() && matches!(t.state, ThreadState::Ready | ThreadState::Running))
            .map(|(h, _)| ThreadId(h))
            .collect();
        for t in stopped {
            if rand.below(4) != 0 {
                let pc = s.context_mut(t).unwrap().pc + 4;
                s.machine.interrupt_every = Some(1 + rand.below(3));
                made_again(&mut s, t, pc);
                s.machine.interrupt_every = None;
            }
        }
        // Receivers given something: an rcvid to hold, or a pulse to handle.
        let receivers: Vec<ThreadId> = last.iter().filter(|(_, l)| **l == Last::Receive).map(|(t, _)| *t).collect();
        for t in receivers {
            if !s
                .threads
                .get(t.0)
                .is_some_and(|th| matches!(th.state, ThreadState::Ready | ThreadState::Running) && th.restart.is_none())
            {
                if s.threads.get(t.0).is_none() {
                    last.remove(&t);
                }
                continue;
            }
            last.insert(t, Last::Other);
            let on_b = s.threads.get(t.0).unwrap().process == b;
            match x0(&mut s, t) {
                Ok(0) => {
                    let pulse = Pulse::from_bytes(&read(
                        &mut s,
                        if on_b { b } else { c },
                        if on_b { bufs[&t] } else { cbuf },
                        Pulse::SIZE,
                    ))
                    .unwrap();
                    if pulse.code == pulse_code::DISCONNECT {
                        let r = as_thread(&mut s, t, Call::ConnectDetach { id: pulse.scoid }).0;
                        assert!(r != Err(Errno::EBUSY), "step {step}: {r:?}");
                    } else if pulse.code == pulse_code::UNBLOCK {
                        held_b.push(pulse.value);
                    }
                }
                Ok(rcvid) => {
                    if on_b {
                        held_b.push(rcvid)
                    } else {
                        held_c.push(rcvid)
                    }
                }
                Err(_) => {}
            }
        }
        check_ipc_invariants(&s, step);
        let runnable_of = |s: &Sys, ts: &[ThreadId]| -> Vec<ThreadId> {
            ts.iter()
                .copied()
                .filter(|t| {
                    s.threads.get(t.0).is_some_and(|th| {
                        matches!(th.state, ThreadState::Ready | ThreadState::Running) && th.restart.is_none()
                    })
                })
                .collect()
        };
        let arm_maybe = |s: &mut Sys, rand: &mut Rand, t: ThreadId, states: &[u32]| {
            if rand.below(3) == 0 {
                let st = rand.pick(states);
                arm(s, t, st, 1 + rand.below(3_000_000));
            }
        };
        match rand.below(18) {
            14 => {
                // A client's pulse.
                let i = rand.below(clients.len() as u64) as usize;
                let (_, threads, coid, _, _) = clients[i].clone();
                let r = runnable_of(&s, &threads);
                if r.is_empty() {
                    continue;
                }
                let priority = 1 + rand.below(63) as u32;
                as_thread(&mut s, rand.pick(&r), Call::MsgSendPulse { coid, priority, code: 1, value: 7 });
            }
            15 => {
                // A worker waits for a pulse only.
                let r = runnable_of(&s, &workers);
                if r.is_empty() {
                    continue;
                }
                let t = rand.pick(&r);
                last.insert(t, Last::Receive);
                let at = bufs[&t];
                as_thread(
                    &mut s,
                    t,
                    Call::MsgReceivePulsev { chid: chid_b, buffer: at, parts: single_buffer_parts(64), info: 0 },
                );
            }
            16 => {
                // A worker unblocks a client's second thread through its registered event.
                let r = runnable_of(&s, &workers);
                if r.is_empty() {
                    continue;
                }
                let i = rand.below(clients.len() as u64) as usize;
                as_thread(&mut s, rand.pick(&r), Call::MsgDeliverEvent { rcvid: 0, event: clients[i].4 });
            }
            17 => {
                // C ends and another C comes; B connects to it again.
                if rand.below(4) != 0 || !runnable(&s, bt) {
                    continue;
                }
                s.terminate_process(c, wait_status::exited(0));
                c = s.spawn("init", b"", None, None, false).unwrap();
                ct = main_thread(&s, c);
                chid_c = as_thread(&mut s, ct, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
                cbuf = buffer(&mut s, c, &[], 64);
                held_c.clear();
                last.retain(|t, _| s.threads.get(t.0).is_some());
                as_thread(&mut s, bt, Call::ConnectDetach { id: b_to_c });
                b_to_c = as_thread(&mut s, bt, Call::ConnectAttach { pid: c.0, chid: chid_c }).0.unwrap() as u32;
            }
            0 | 1 => {
                // A client sends.
                let i = rand.below(clients.len() as u64) as usize;
                let (_, threads, coid, buf, _) = clients[i].clone();
                let r = runnable_of(&s, &threads);
                if r.is_empty() {
                    continue;
                }
                let t = rand.pick(&r);
                arm_maybe(&mut s, &mut rand, t, &[ts::SEND, ts::REPLY, ts::SEND | ts::REPLY]);
                let len = if rand.below(2) == 0 { 1 } else { LONG };
                s.machine.interrupt_every = Some(1 + rand.below(3));
                send(&mut s, t, coid, buf, len, buf, len);
                s.machine.interrupt_every = None;
            }
            2 | 3 => {
                let r = runnable_of(&s, &workers);
                if r.is_empty() {
                    continue;
                }
                let t = rand.pick(&r);
                arm_maybe(&mut s, &mut rand, t, &[ts::RECEIVE]);
                last.insert(t, Last::Receive);
                s.machine.interrupt_every = Some(1 + rand.below(3));
                receive(&mut s, t, chid_b, bufs[&t], LONG, 0);
                s.machine.interrupt_every = None;
            }
            4 | 5 => {
                let r = runnable_of(&s, &workers);
                if r.is_empty() || held_b.is_empty() {
                    continue;
                }
                let t = rand.pick(&r);
                let rcvid = held_b.swap_remove(rand.below(held_b.len() as u64) as usize);
                if rand.below(2) == 0 {
                    s.machine.interrupt_every = Some(1 + rand.below(3));
                    let data = bufs[&t];
                    let r = as_thread(
                        &mut s,
                        t,
                        Call::MsgReplyv { rcvid, status: 0, buffer: data, parts: single_buffer_parts(LONG) },
                    );
                    s.machine.interrupt_every = None;
                    if s.threads.get(t.0).unwrap().restart.is_some() {
                        held_b.push(rcvid); // (made again, or abandoned)
                    }
                    let _ = r;
                } else {
                    as_thread(&mut s, t, Call::MsgError { rcvid, errno: abi::syscall::MSG_ERROR_UNBLOCK });
                }
            }
            6 => {
                // A worker asks C, maybe bounded.
                let r = runnable_of(&s, &workers);
                if r.is_empty() {
                    continue;
                }
                let t = rand.pick(&r);
                arm_maybe(&mut s, &mut rand, t, &[ts::SEND, ts::REPLY, ts::SEND | ts::REPLY]);
                send(&mut s, t, b_to_c, bufs[&t], 1, 0, 0);
            }
            7 => {
                if !runnable(&s, ct) {
                    continue;
                }
                if let Some(rcvid) = held_c.pop().filter(|_| rand.below(2) == 0) {
                    as_thread(&mut s, ct, Call::MsgReplyv { rcvid, status: 0, buffer: 0, parts: 0 });
                } else {
                    last.insert(ct, Last::Receive);
                    receive(&mut s, ct, chid_c, cbuf, 64, 0);
                }
            }
            8 => advance(&mut s, rand.below(2_000_000)),
            9 => {
                // A client process ends; another comes.
                let i = rand.below(clients.len() as u64) as usize;
                s.terminate_process(clients[i].0, wait_status::exited(0));
                clients[i] = spawn_client(&mut s, &mut rand, chid_b);
            }
            10 => {
                // A client's second thread is destroyed by its first, or its priority changed.
                let i = rand.below(clients.len() as u64) as usize;
                let (pid, threads, _, _, _) = clients[i].clone();
                if !runnable(&s, threads[0]) {
                    continue;
                }
                let tid = s.threads.get(threads[1].0).map(|t| t.tid);
                let Some(tid) = tid else { continue };
                if rand.below(2) == 0 {
                    as_thread(&mut s, threads[0], Call::ThreadDestroy { tid, status: 0 });
                    let other = new_thread(&mut s, threads[0], 5 + rand.below(40) as u8);
                    clients[i].1[1] = other;
                } else {
                    let sched = SchedParam { policy: Policy::Fifo, priority: 5 + rand.below(40) as u8 }.encode();
                    as_thread(&mut s, threads[0], Call::SchedSet { pid: pid.0, tid, sched });
                }
            }
            11 => {
                // A client detaches and attaches again.
                let i = rand.below(clients.len() as u64) as usize;
                let (_, threads, coid, _, _) = clients[i].clone();
                if !runnable(&s, threads[0]) {
                    continue;
                }
                as_thread(&mut s, threads[0], Call::ConnectDetach { id: coid });
                if let Ok(coid) = as_thread(&mut s, threads[0], Call::ConnectAttach { pid: b.0, chid: chid_b }).0 {
                    clients[i].2 = coid as u32;
                }
            }
            12 => {
                // The second worker ends; another takes its place.
                let r = runnable_of(&s, &workers[..1]);
                if r.is_empty() || rand.below(3) != 0 {
                    continue;
                }
                let tid = s.threads.get(workers[1].0).unwrap().tid;
                as_thread(&mut s, bt, Call::ThreadDestroy { tid, status: 0 });
                last.remove(&workers[1]);
                workers[1] = new_thread(&mut s, bt, 10);
                let at = buffer(&mut s, b, &[], LONG);
                bufs.insert(workers[1], at);
            }
            _ => {
                // Rarely, the channel goes and comes back.
                if rand.below(8) != 0 || !runnable(&s, bt) {
                    continue;
                }
                as_thread(&mut s, bt, Call::ChannelDestroy { chid: chid_b });
                chid_b = as_thread(&mut s, bt, Call::ChannelCreate { flags }).0.unwrap() as u32;
                held_b.clear();
            }
        }
        check_ipc_invariants(&s, step);
    }
    if server_first {
        // The server goes first: nobody waits on it any more, and once everyone has
        // gone, nothing is left of anyone.
        s.terminate_process(b, wait_status::exited(0));
        check_ipc_invariants(&s, 30_000);
        for (h, t) in s.threads.iter() {
            let on_b = match t.state {
                ThreadState::Blocked(Blocked::Send { server, .. } | Blocked::Reply { server, .. }) => server == b,
                _ => false,
            };
            assert!(!on_b && t.sent.is_none_or(|m| m.server != b), "seed {seed:#x}: {h:#x} waits on a dead server");
        }
        for (pid, ..) in clients.clone() {
            s.terminate_process(pid, wait_status::exited(0));
        }
        s.terminate_process(c, wait_status::exited(0));
        assert_eq!(s.threads.len(), 0);
        assert_eq!((s.queued_pulses, s.queued_kernel_pulses, s.events.len()), (0, 0, 0), "seed {seed:#x}");
        return;
    }
    // The end: every client and C go; B answers what it holds and drains its channel.
    for (pid, ..) in clients.clone() {
        s.terminate_process(pid, wait_status::exited(0));
    }
    s.terminate_process(c, wait_status::exited(0));
    check_ipc_invariants(&s, 10_000);
    for round in 0..5000 {
        let mut all_waiting = true;
        for &w in &workers.clone() {
            if !runnable(&s, w) {
                continue;
            }
            all_waiting = false;
            if last.get(&w) == Some(&Last::Receive) {
                last.insert(w, Last::Other);
                if let Ok(0) = x0(&mut s, w) {
                    let pulse = Pulse::from_bytes(&read(&mut s, b, bufs[&w], Pulse::SIZE)).unwrap();
                    if pulse.code == pulse_code::DISCONNECT {
                        as_thread(&mut s, w, Call::ConnectDetach { id: pulse.scoid });
                    }
                }
            }
            for rcvid in std::mem::take(&mut held_b) {
                as_thread(&mut s, w, Call::MsgError { rcvid, errno: 1 });
            }
            last.insert(w, Last::Receive);
            receive(&mut s, w, chid_b, bufs[&w], 64, 0);
        }
        check_ipc_invariants(&s, 20_000 + round);
        if all_waiting {
            break;
        }
    }
    for &w in &workers {
        let t = s.threads.get(w.0).unwrap();
        assert!(
            matches!(t.state, ThreadState::Blocked(Blocked::Receive { .. })),
            "seed {seed:#x} {w:?} {:?} {:?} x0 {:?} last {:?}",
            t.state,
            t.receiving,
            decode_result(t.context.x[0]),
            last.get(&w)
        );
        assert_eq!(t.priority, t.base_priority, "seed {seed:#x}: a worker keeps a boost with nobody left");
    }
    let p = s.processes.get(b.0).unwrap();
    assert_eq!(p.server_connections.len(), 0, "seed {seed:#x}: scoids of clients all gone");
    assert_eq!(s.queued_kernel_pulses, 0);
    assert_eq!(s.queued_pulses, 0);
    assert!(p.channels.iter().all(|(_, c)| c.queue().is_empty()));
}

#[test]
fn pulses_dropped_with_their_ending_maker_take_their_boost_with_them() {
    // Architecture §3: a boost is undone when its reason disappears. The server works on
    // a message while its channel holds its room of orphans (priority 10); a client's
    // pulse at 60 boosts it, and the client ends: its pulse, beyond the room, is dropped,
    // and with it the only reason for 60.
    let mut s = system();
    let p = pair(&mut s, 0);
    let (st, ct) = (main_thread(&s, p.server), main_thread(&s, p.client));
    let buf = buffer(&mut s, p.server, &[], 64);
    let msg = buffer(&mut s, p.client, b"m", 16);
    assert_eq!(receive(&mut s, st, p.chid, buf, 64, 0), BLOCKED);
    assert_eq!(send(&mut s, ct, p.coid, msg, 1, 0, 0), BLOCKED);
    assert_eq!(priority(&s, st), 10, "it works on the client's request");
    let (filler, ft, fcoid) = another_client(&mut s, &p, "low");
    for value in 0..MAX_ORPHANED_PULSES_PER_PROCESS as u64 {
        let sent = as_thread(&mut s, ft, Call::MsgSendPulse { coid: fcoid, priority: 10, code: 1, value }).0;
        assert_eq!(sent, Ok(0));
    }
    s.terminate_process(filler, wait_status::exited(0));
    let (urgent, ut, ucoid) = another_client(&mut s, &p, "init");
    assert_eq!(as_thread(&mut s, ut, Call::MsgSendPulse { coid: ucoid, priority: 60, code: 1, value: 0 }).0, Ok(0));
    assert_eq!(priority(&s, st), 60, "boosted by the queued pulse");
    s.terminate_process(urgent, wait_status::exited(0));
    let channel = s.processes.get(p.server.0).unwrap().channels.get(p.chid).unwrap();
    assert_eq!(channel.top_priority(), Some(10), "the pulse at 60 was dropped, beyond the room for orphans");
    assert_eq!(priority(&s, st), 10, "the pulse at 60 was dropped: nothing waits above 10");
}
