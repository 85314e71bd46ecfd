//! `bench-peer`: the other process of a benchmark, chosen by argv[1]. It makes raw system
//! calls (no library layers), so benchmarks measure the kernel.
//!
//! * `server BYTES` — create a channel (chid 1), then forever receive into a BYTES-byte
//!   buffer and reply with the same number of bytes.
//! * `server-fused BYTES [FLAGS]` — the same server, answering and waiting again in one
//!   call (`MsgReplyReceivev`), its channel created with FLAGS.
//! * `pulses` — create a channel and receive pulses forever.
//! * `yield N` — call SchedYield N times, then exit.
//! * `pipe-echo A B` — read one byte from anonymous pipe A, write it to pipe B, forever.
//! * `pipe-drain A` — read anonymous pipe A in 64 KiB reads until end of file.
//! * `mq-echo A B` — receive from queue A, send the message to queue B, forever.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use userlib::abi::ipc::single_buffer_parts;
use userlib::abi::syscall::{decode_result, Call};
use userlib::{sys, Args};

userlib::entry!(main);

/// (Always inlined, as the bench's own: a few register moves per call.)
#[inline(always)]
fn call(c: Call) -> u64 {
    // SAFETY: every call below names only this program's own, live buffers.
    let (x0, _) = unsafe { sys::syscall(c.to_registers()) };
    decode_result(x0).unwrap_or(0)
}

fn main(args: Args) -> i32 {
    let number = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    match args.get(1).unwrap_or("") {
        "server" => {
            let chid = call(Call::ChannelCreate { flags: 0 }) as u32;
            let mut buffer = vec![0u8; number(2).max(1)];
            let len = number(2);
            loop {
                let parts = single_buffer_parts(len);
                let rcvid = call(Call::MsgReceivev { chid, buffer: buffer.as_mut_ptr() as usize, parts, info: 0 });
                if rcvid != 0 {
                    call(Call::MsgReplyv { rcvid, status: 0, buffer: buffer.as_ptr() as usize, parts });
                }
            }
        }
        "server-fused" => {
            // argv[3]: channel flags (e.g. _NTO_CHF_FIXED_PRIORITY to measure inheritance's cost).
            let chid = call(Call::ChannelCreate { flags: number(3) as u32 }) as u32;
            let mut buffer = vec![0u8; number(2).max(1)];
            let parts = single_buffer_parts(number(2));
            let (reply, receive) = (buffer.as_ptr() as usize, buffer.as_mut_ptr() as usize);
            let mut rcvid = 0;
            loop {
                rcvid = call(Call::MsgReplyReceivev {
                    rcvid,
                    status: 0,
                    reply,
                    reply_parts: parts,
                    chid,
                    buffer: receive,
                    parts,
                    info: 0,
                });
            }
        }
        "pulses" => {
            let chid = call(Call::ChannelCreate { flags: 0 }) as u32;
            let mut buffer = [0u8; 64];
            loop {
                call(Call::MsgReceivev { chid, buffer: buffer.as_mut_ptr() as usize, parts: -64, info: 0 });
            }
        }
        "yield" => {
            for _ in 0..number(2) {
                call(Call::SchedYield);
            }
            0
        }
        "pipe-echo" => {
            let open = |n: &str, flags| userlib::fs::open(&alloc::format!("/dev/pipe/{n}"), flags, 0);
            let (Ok(from), Ok(to)) = (open(args.get(2).unwrap_or(""), 0), open(args.get(3).unwrap_or(""), 1)) else {
                return 3;
            };
            let mut byte = [0u8; 1];
            while from.read(&mut byte) == Ok(1) {
                let _ = to.write(&byte);
            }
            0
        }
        "pipe-drain" => {
            let Ok(from) = userlib::fs::open(&alloc::format!("/dev/pipe/{}", args.get(2).unwrap_or("")), 0, 0) else {
                return 3;
            };
            let mut buffer = vec![0u8; 64 * 1024];
            while from.read(&mut buffer).is_ok_and(|n| n > 0) {}
            0
        }
        "mq-echo" => {
            use userlib::mq::mq_open;
            let (Ok(from), Ok(to)) =
                (mq_open(args.get(2).unwrap_or(""), 0, 0, None), mq_open(args.get(3).unwrap_or(""), 1, 0, None))
            else {
                return 3;
            };
            let mut buffer = vec![0u8; 1024];
            while let Ok((n, priority)) = from.receive(&mut buffer) {
                let _ = to.send(&buffer[..n], priority);
            }
            0
        }
        _ => {
            userlib::eprintln!("bench-peer: the other process of `bench`'s benchmarks, started by it (see its source)");
            2
        }
    }
}
