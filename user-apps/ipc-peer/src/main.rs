//! `ipc-peer`: the other processes of the message-passing system tests, by argv[1].
//!
//! * `echo FLAGS` — a server on its first channel (chid 1, created with FLAGS) that obeys
//!   the first byte of each message:
//!   `C` reply status = checksum of the rest; `R` reply the rest reversed, status =
//!   msglen | srcmsglen << 16 | dstmsglen << 32 (from `_msg_info`); `E n` MsgError(n);
//!   `H` receive only 8 bytes (`H`, 3 pad, a 4-byte length) and MsgRead the payload at
//!   offset 8, status = its checksum; `W` MsgWrite `TAIL` at offset 8, then reply `HEAD`;
//!   `P` reply status = the priority this thread is running at; `U` hold the message,
//!   wait for the unblock pulse, answer it with ETIMEDOUT, status of that answer in the
//!   next reply; `V` reply, then deliver the event in the message (a registered
//!   `SigEvent`); `D` exit without replying.
//! * `slow MS` — a server (chid 1) that spins MS ms (no system calls) per request.
//! * `hog MS` — spin MS ms without system calls; exit with the end time (ms since boot).
//! * `client-exit PID CHID` — connect, send one message, exit (the server sees a
//!   disconnect).

#![no_std]
#![no_main]

extern crate alloc;

use userlib::ipc::{Channel, Connection, Received, SigEvent};
use userlib::{info, process, sys, Args, Errno};

userlib::entry!(main);

/// Nanoseconds since boot from the virtual counter (no system call).
fn counter_ns() -> u64 {
    let (count, hz): (u64, u64);
    // SAFETY: reading the counter registers has no side effects; EL0 may read them.
    unsafe {
        core::arch::asm!("isb", "mrs {c}, cntvct_el0", "mrs {f}, cntfrq_el0", c = out(reg) count, f = out(reg) hz)
    };
    (count as u128 * 1_000_000_000 / hz.max(1) as u128) as u64
}

fn spin_ms(ms: u64) {
    let start = counter_ns();
    while counter_ns() - start < ms * 1_000_000 {}
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

fn main(args: Args) -> i32 {
    let number = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    match args.get(1).unwrap_or("") {
        "echo" => echo(number(2) as u32).map_or(1, |_| 0),
        "slow" => slow(number(2)).map_or(1, |_| 0),
        "hog" => {
            spin_ms(number(2));
            (counter_ns() / 1_000_000) as i32
        }
        "client-exit" => {
            let Ok(c) = Connection::attach(number(2) as u32, number(3) as u32) else { return 1 };
            let _ = c.send(b"bye", &mut []);
            core::mem::forget(c); // leave the connection for process exit to close
            0
        }
        _ => 2,
    }
}

fn my_priority() -> u64 {
    let me = (process::id(), userlib::thread::current_id());
    info::threads().ok().and_then(|l| l.into_iter().find(|t| (t.pid, t.tid) == me)).map_or(0, |t| t.priority as u64)
}

fn echo(flags: u32) -> Result<(), Errno> {
    let channel = Channel::create(flags)?;
    let mut buffer = [0u8; 256];
    let mut held_status = 0u64;
    loop {
        let mut info = userlib::ipc::MsgInfo::default();
        let message = match channel.receive_with_info(&mut buffer, &mut info)? {
            Received::Message(m) => m,
            Received::Pulse(_) => continue,
        };
        let len = (info.msglen as usize).min(buffer.len());
        match buffer[0] {
            b'C' => message.reply(checksum(&buffer[1..len]), &[])?,
            b'R' => {
                let mut reversed = [0u8; 256];
                for (i, b) in buffer[1..len].iter().rev().enumerate() {
                    reversed[i] = *b;
                }
                let status = info.msglen as u64 | (info.srcmsglen as u64) << 16 | (info.dstmsglen as u64) << 32;
                message.reply(status, &reversed[..len - 1])?;
            }
            b'E' => message.error(Errno(buffer[1] as u32))?,
            b'H' => {
                let payload_len = u32::from_le_bytes([buffer[4], buffer[5], buffer[6], buffer[7]]) as usize;
                let mut payload = [0u8; 256];
                let n = message.read(8, &mut payload[..payload_len.min(256)])?;
                message.reply(checksum(&payload[..n]), &[])?;
            }
            b'W' => {
                message.write(8, b"TAIL")?;
                message.reply(0, b"HEAD")?;
            }
            b'P' => message.reply(my_priority(), &[])?,
            b'U' => {
                // Hold it: the client's timeout turns into an unblock pulse (if the channel
                // asked for them); answer that with ETIMEDOUT.
                let rcvid = message.rcvid();
                core::mem::forget(message);
                let pulse = channel.receive_pulse()?;
                held_status = if pulse.code == userlib::ipc::pulse_code::UNBLOCK && pulse.value == rcvid {
                    sys::msg_error(rcvid, Errno::ETIMEDOUT).map_or(2, |_| 1)
                } else {
                    3
                };
            }
            b'S' => message.reply(held_status, &[])?,
            b'V' => {
                let event = SigEvent::from_bytes(&buffer[1..]).unwrap_or_default();
                let rcvid = message.rcvid();
                message.reply(0, &[])?;
                userlib::ipc::deliver_event(rcvid, &event)?;
            }
            b'D' => process::exit(0),
            _ => message.error(Errno::ENOSYS)?,
        }
    }
}

fn slow(ms: u64) -> Result<(), Errno> {
    let channel = Channel::create(0)?;
    let mut buffer = [0u8; 64];
    loop {
        if let Received::Message(m) = channel.receive(&mut buffer)? {
            spin_ms(ms);
            m.reply(counter_ns() / 1_000_000, &[])?;
        }
    }
}
