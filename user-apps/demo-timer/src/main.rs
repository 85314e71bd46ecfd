//! `demo-timer`: a server whose one receive loop gets both client messages and the pulses
//! of a periodic timer, and answers clients later: QNX's "Receiving Pulses" loop and
//! "Messaging - Delayed reply" (the *QNX Inter-Process Communication* course module;
//! timer pulses as in "Event Delivery").
//!
//! The server thread creates a `Timer` that delivers a pulse to its own channel every
//! 100 ms. A client asks "wake me after N ticks" (`W` and N as a little-endian u32); the
//! server keeps the message unanswered, so the client stays REPLY-blocked, and replies
//! once N ticks have passed (status: the ticks it waited). `Q` stops the server.
//!
//! `demo-timer` runs the server and three client threads asking for different counts,
//! prints when each is woken and how long it slept, and exits 0 if every client slept
//! about as long as it asked.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::ipc::{Channel, Connection, MsgInfo, Received, ReceivedMessage, Timer};
use userlib::{println, thread, time, Args, Errno};

userlib::entry!(main);

/// The timer's period.
const TICK_NS: u64 = 100_000_000;
/// The timer pulse's code.
const TICK_CODE: i8 = 1;
/// The timer pulse's priority.
const TICK_PRIORITY: u8 = 20;
/// What each client asks for, in ticks.
const REQUESTS: [u32; 3] = [3, 5, 8];
/// A client's thread status when something failed.
const CLIENT_FAILED: u64 = 1;

fn main(_args: Args) -> Result<(), String> {
    let channel = Channel::create(0).map_err(failed("ChannelCreate"))?;
    let chid = channel.chid();
    let server = thread::spawn(move || {
        if let Err(e) = serve(channel) {
            println!("server: {e}");
            thread::exit(1);
        }
    })
    .map_err(failed("start the server"))?;
    let mut clients = Vec::new();
    for (number, ticks) in REQUESTS.into_iter().enumerate() {
        let client =
            thread::spawn(move || thread::exit(client(number + 1, chid, ticks))).map_err(failed("start a client"))?;
        clients.push(client);
    }
    let mut all_woken = true;
    for client in clients {
        all_woken &= client.join().map_err(failed("join a client"))? == 0;
    }
    let server_connection = Connection::attach(0, chid).map_err(failed("ConnectAttach"))?;
    server_connection.send(b"Q", &mut []).map_err(failed("MsgSend Q"))?;
    if server.join().map_err(failed("join the server"))? != 0 {
        return Err(String::from("the server failed"));
    }
    if !all_woken {
        return Err(String::from("a client was not woken as it asked"));
    }
    println!("all clients woken; server stopped");
    Ok(())
}

/// Turns an errno into a message saying what failed.
fn failed(what: &'static str) -> impl Fn(Errno) -> String {
    move |e| format!("{what}: {e}")
}

/// Client `number`: asks the server on channel `chid` to wake it after `ticks` ticks;
/// returns its thread status (0: woken after that many ticks, and not too early).
fn client(number: usize, chid: u32, ticks: u32) -> u64 {
    let server = match Connection::attach(0, chid) {
        Ok(server) => server,
        Err(e) => {
            println!("client {number}: ConnectAttach: {e}");
            return CLIENT_FAILED;
        }
    };
    let mut request = [b'W', 0, 0, 0, 0];
    request[1..].copy_from_slice(&ticks.to_le_bytes());
    println!("client {number}: wake me after {ticks} ticks");
    let start = time::now_ns();
    let waited = server.send(&request, &mut []);
    let elapsed_ms = (time::now_ns() - start) / 1_000_000;
    match waited {
        Ok(waited) => {
            println!("client {number}: woken after {waited} ticks, {elapsed_ms} ms");
            // The first tick may come at once after the request: N ticks are over
            // (N - 1) periods.
            let early = elapsed_ms < (ticks as u64 - 1) * TICK_NS / 1_000_000;
            if waited != ticks as u64 || early {
                return CLIENT_FAILED;
            }
            0
        }
        Err(e) => {
            println!("client {number}: MsgSend: {e}");
            CLIENT_FAILED
        }
    }
}

/// A client the server holds: its message is answered at tick `wake_at`.
struct Sleeper {
    wake_at: u64,
    asked_at: u64,
    message: ReceivedMessage,
}

/// The server: counts its timer's ticks and answers each held client when its tick comes.
fn serve(channel: Channel) -> Result<(), String> {
    let me = Connection::attach(0, channel.chid()).map_err(failed("ConnectAttach to ourselves"))?;
    let timer = Timer::create(&me.pulse_event(TICK_PRIORITY, TICK_CODE, 0)).map_err(failed("TimerCreate"))?;
    timer.set(TICK_NS, TICK_NS).map_err(failed("TimerSettime"))?;
    let mut tick = 0u64;
    let mut sleepers: Vec<Sleeper> = Vec::new();
    let mut buffer = [0u8; 32];
    loop {
        let mut info = MsgInfo::default();
        match channel.receive_with_info(&mut buffer, &mut info).map_err(failed("MsgReceive"))? {
            Received::Pulse(pulse) if pulse.code == TICK_CODE => {
                tick += 1;
                while let Some(due) = sleepers.iter().position(|s| s.wake_at <= tick) {
                    let sleeper = sleepers.swap_remove(due);
                    println!("server: tick {tick}: waking the client that asked at tick {}", sleeper.asked_at);
                    sleeper.message.reply(tick - sleeper.asked_at, &[]).map_err(failed("MsgReply"))?;
                }
            }
            Received::Pulse(_) => {}
            Received::Message(message) => match &buffer[..(info.msglen as usize).min(buffer.len())] {
                [b'W', n @ ..] if n.len() == 4 => {
                    let ticks = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as u64;
                    sleepers.push(Sleeper { wake_at: tick + ticks.max(1), asked_at: tick, message });
                }
                [b'Q'] => {
                    // Held clients, if any, fail with EIO as their messages drop.
                    message.reply(0, &[]).map_err(failed("MsgReply"))?;
                    return Ok(());
                }
                _ => message.error(Errno::ENOSYS).map_err(failed("MsgError"))?,
            },
        }
    }
}
