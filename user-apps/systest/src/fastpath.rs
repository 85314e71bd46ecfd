//! System tests of the kernel's fast paths: a call answered by a fast path must do
//! exactly what the general path does, including the parts that are easy to forget.

use crate::{ensure, Outcome};
use alloc::format;
use alloc::vec;
use userlib::abi::syscall::Call;
use userlib::ipc::{timeout, timeout_states, Channel, Connection, MsgInfo, Received};
use userlib::{sys, thread, Errno};

/// A `Nop` (answered by the exception vector when it can) still uses up a `TimerTimeout`
/// armed before it: the bound applies to the next call only, whatever that call is.
pub fn a_nop_uses_up_an_armed_timeout() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, channel.chid()).map_err(|e| format!("{e}"))?;
    let timer = sys::timer_create(&me.pulse_event(10, 5, 0)).map_err(|e| format!("TimerCreate: {e}"))?;
    // The set-up works: a bounded receive with nothing to receive times out.
    timeout(timeout_states::RECEIVE, 1_000_000).map_err(|e| format!("{e}"))?;
    let got = channel.receive_pulse();
    ensure!(got.as_ref().err() == Some(&Errno::ETIMEDOUT), "bounded receive: {got:?}");
    // With a Nop in between, the receive is unbounded and gets the timer's pulse.
    sys::timer_settime(timer, 5_000_000, 0).map_err(|e| format!("TimerSettime: {e}"))?;
    timeout(timeout_states::RECEIVE, 1_000_000).map_err(|e| format!("{e}"))?;
    sys::nop().map_err(|e| format!("Nop: {e}"))?;
    let pulse = channel.receive_pulse().map_err(|e| format!("receive after the Nop: {e}"))?;
    ensure!(pulse.code == 5, "pulse {pulse:?}");
    sys::timer_destroy(timer).map_err(|e| format!("TimerDestroy: {e}"))?;
    Ok(())
}

/// Messages of every size class the copy routine distinguishes (bytes, 16-byte steps,
/// 128-byte FP/SIMD blocks, page crossings), at odd offsets, arrive intact both ways;
/// and a reply copied between overlapping ranges of one buffer moves like `memmove`.
pub fn messages_of_every_size_arrive_intact() -> Outcome {
    const ROOM: usize = 9000;
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    // A server thread of this process: replies with every received byte plus one.
    let server = thread::spawn(move || {
        let mut buffer = vec![0u8; ROOM];
        let mut info = MsgInfo::default();
        loop {
            match channel.receive_with_info(&mut buffer, &mut info) {
                Ok(Received::Message(m)) => {
                    let n = info.msglen as usize;
                    if n == 1 && buffer[0] == 0xff {
                        let _ = m.reply(0, &[]);
                        return;
                    }
                    for b in &mut buffer[..n] {
                        *b = b.wrapping_add(1);
                    }
                    let _ = m.reply(n as u64, &buffer[..n]);
                }
                _ => return,
            }
        }
    })
    .map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let mut message = vec![0u8; ROOM + 64];
    let mut reply = vec![0u8; ROOM + 64];
    for (round, len) in
        [0usize, 1, 7, 15, 16, 17, 100, 127, 128, 129, 255, 256, 1000, 4095, 4096, 4097, 8191].into_iter().enumerate()
    {
        let (from, to) = (round * 3 % 16, round * 5 % 16 + 1);
        for (i, b) in message[from..from + len].iter_mut().enumerate() {
            *b = (i * 7 + round) as u8;
        }
        reply.fill(0xee);
        let got = me.send(&message[from..from + len], &mut reply[to..to + len]).map_err(|e| format!("{len}: {e}"))?;
        ensure!(got == len as u64, "{len} bytes: the server got {got}");
        let good = (0..len).all(|i| reply[to + i] == ((i * 7 + round) as u8).wrapping_add(1));
        ensure!(good, "{len} bytes at offsets {from}/{to}: the reply differs");
        ensure!(reply[to - 1] == 0xee && reply[to + len] == 0xee, "{len} bytes: written outside the buffer");
    }
    me.send(&[0xff], &mut []).map_err(|e| format!("{e}"))?;
    server.join().map_err(|e| format!("{e}"))?;
    // Overlapping ranges of one buffer: a server thread replies with bytes [0, 300) of
    // a buffer to a client of its own process that asked for the reply in [5, 305).
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    let shared = vec![0u8; 400];
    let at = shared.as_ptr() as usize;
    let server = thread::spawn(move || {
        let mut buffer = [0u8; 64];
        if let Ok(Received::Message(m)) = channel.receive(&mut buffer) {
            // SAFETY: the client is REPLY-blocked while this runs, so nothing else uses
            // the buffer; the kernel copies between its two overlapping ranges.
            let data = unsafe { core::slice::from_raw_parts(at as *const u8, 300) };
            let _ = m.reply(0, data);
        }
    })
    .map_err(|e| format!("{e}"))?;
    let mut shared = shared;
    for (i, b) in shared.iter_mut().enumerate() {
        *b = i as u8;
    }
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let reply = shared[5..305].as_mut_ptr() as usize;
    // SAFETY: the reply range is ours and stays valid until the send returns.
    let status = unsafe { sys::msg_sendv(me.coid(), at, -16, reply, -300) };
    ensure!(status == Ok(0), "overlapping reply: {status:?}");
    server.join().map_err(|e| format!("{e}"))?;
    let good = (0..300).all(|i| shared[5 + i] == i as u8);
    ensure!(good, "an overlapping reply was not copied as by memmove");
    Ok(())
}

/// The kernel copies long messages through q0-q7: a sender's FP/SIMD registers, live in
/// the CPU during its own send and the server's reply, must come back unchanged.
pub fn fp_registers_survive_long_copies() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let chid = channel.chid();
    let server = thread::spawn(move || {
        let mut buffer = vec![0u8; 1024];
        if let Ok(Received::Message(m)) = channel.receive(&mut buffer) {
            let _ = m.reply(0, &buffer);
        }
    })
    .map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, chid).map_err(|e| format!("{e}"))?;
    let message = vec![0x3cu8; 1024];
    let mut reply = vec![0u8; 1024];
    let before: [u64; 16] = core::array::from_fn(|i| 0x0123_4567_89ab_cdef ^ (i as u64) << 56);
    let mut after = [0u64; 16];
    let registers = Call::MsgSendv {
        coid: me.coid(),
        send: message.as_ptr() as usize,
        send_parts: -1024,
        reply: reply.as_mut_ptr() as usize,
        reply_parts: -1024,
    }
    .to_registers();
    let [a0, a1, a2, a3, a4, ..] = registers.args;
    let x0: u64;
    // SAFETY: loads q0-q7 from `before`, makes the send (whose buffers are live vectors
    // of ours), and stores q0-q7 into `after`; the registers it changes are declared.
    unsafe {
        core::arch::asm!(
            "ldp q0, q1, [{b}]",
            "ldp q2, q3, [{b}, #32]",
            "ldp q4, q5, [{b}, #64]",
            "ldp q6, q7, [{b}, #96]",
            "svc #0",
            "stp q0, q1, [{a}]",
            "stp q2, q3, [{a}, #32]",
            "stp q4, q5, [{a}, #64]",
            "stp q6, q7, [{a}, #96]",
            b = in(reg) before.as_ptr(),
            a = in(reg) after.as_mut_ptr(),
            inlateout("x0") a0 => x0,
            inlateout("x1") a1 => _,
            inlateout("x2") a2 => _,
            inlateout("x3") a3 => _,
            inlateout("x4") a4 => _,
            out("x5") _, out("x6") _, out("x7") _,
            inlateout("x8") registers.number => _,
            // (Not preserved by a call: docs/syscalls.md.)
            out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            options(nostack),
        );
    }
    ensure!(x0 == 0, "send: {x0:#x}");
    server.join().map_err(|e| format!("{e}"))?;
    ensure!(reply.iter().all(|b| *b == 0x3c), "the reply differs");
    ensure!(after == before, "q0-q7 changed: {after:x?}");
    Ok(())
}
