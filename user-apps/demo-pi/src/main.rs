//! `demo-pi`: message-driven priority inheritance made visible, as QNX's *Interprocess
//! Communication (IPC)* chapter describes it ("Priority inheritance and messages", the
//! T1/T2/T3 example) and the IPC course shows it ("Priority Inheritance - Decrease" and
//! "- Increase").
//!
//! A server thread of base priority 10 answers each request with the priority it is
//! running at while handling it (`sched::current_priority`; `sched::get` gives the base).
//!
//! * **Receive time**: clients at 5, 12, 30 and 50 each send `P`; the server runs at the
//!   client's priority, below or above its own 10.
//! * **Send time**: a client at 12 sends `S`, a slow request; while the server works on it
//!   at 12, a client at 50 sends. The server is raised to 50 at once, before it receives
//!   the new message, so nothing between 12 and 50 can delay that client (QNX's T3
//!   problem). The slow request notices the rise, stops, and replies the priorities it
//!   started and ended at.
//!
//! The main thread runs at 60 to conduct; `Q` stops the server. Exits 0 when every
//! priority is as expected.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use userlib::ipc::{Channel, Connection, Received};
use userlib::sched::{self, Policy, SchedParam};
use userlib::thread::{self, JoinHandle};
use userlib::{println, time, Args, Errno};

userlib::entry!(main);

const SERVER_PRIORITY: u8 = 10;
const CONDUCTOR_PRIORITY: u8 = 60;
/// The clients of the receive-time part.
const CLIENTS: [u8; 4] = [5, 12, 30, 50];
/// The send-time part: the client of the slow request, and the one that arrives during it.
const SLOW_CLIENT: u8 = 12;
const URGENT_CLIENT: u8 = 50;
/// Longest the slow request waits to be boosted.
const SLOW_LIMIT_NS: u64 = 1_000_000_000;
/// A client thread's status when its send failed.
const FAILED: u64 = 1 << 63;

fn fifo(priority: u8) -> SchedParam {
    SchedParam { policy: Policy::Fifo, priority }
}

/// Turns an errno into a message saying what failed.
fn failed(what: &'static str) -> impl Fn(Errno) -> String {
    move |e| format!("{what}: {e}")
}

fn main(_args: Args) -> Result<(), String> {
    sched::set(fifo(CONDUCTOR_PRIORITY)).map_err(failed("SchedSet"))?;
    let channel = Channel::create(0).map_err(failed("ChannelCreate"))?;
    let chid = channel.chid();
    let server = thread::Builder::new()
        .sched(fifo(SERVER_PRIORITY))
        .spawn(move || {
            if let Err(e) = serve(channel) {
                println!("server: {e}");
                thread::exit(1);
            }
        })
        .map_err(failed("start the server"))?;
    println!("server thread: base priority {SERVER_PRIORITY}");
    let mut wrong = 0;
    for priority in CLIENTS {
        let ran_at = finish(client(chid, priority, b'P')?)?;
        println!("client at priority {priority}: server ran at priority {ran_at}");
        wrong += (ran_at != priority as u64) as u32;
    }
    let slow = client(chid, SLOW_CLIENT, b'S')?;
    time::sleep_ns(20_000_000); // the server is now busy with the slow request
    let urgent = client(chid, URGENT_CLIENT, b'P')?;
    let urgent_ran_at = finish(urgent)?;
    let slow_answer = finish(slow)?;
    let (started, ended) = (slow_answer & 0xff, slow_answer >> 8);
    println!(
        "slow request from client at priority {SLOW_CLIENT}: server started at priority {started}, \
         rose to {ended} when a client at priority {URGENT_CLIENT} sent"
    );
    println!(
        "client at priority {URGENT_CLIENT} (sent during the slow request): server ran at priority {urgent_ran_at}"
    );
    wrong += (started != SLOW_CLIENT as u64) as u32;
    wrong += (ended != URGENT_CLIENT as u64) as u32 + (urgent_ran_at != URGENT_CLIENT as u64) as u32;
    let stop = Connection::attach(0, chid).map_err(failed("ConnectAttach"))?;
    stop.send(b"Q", &mut []).map_err(failed("MsgSend Q"))?;
    if server.join().map_err(failed("join the server"))? != 0 {
        return Err(String::from("the server failed"));
    }
    if wrong != 0 {
        return Err(format!("{wrong} priorities were not the ones expected"));
    }
    Ok(())
}

/// Starts a client thread at `priority` that sends `request` to channel `chid`; its exit
/// status is the server's reply status, or [`FAILED`].
fn client(chid: u32, priority: u8, request: u8) -> Result<JoinHandle, String> {
    thread::Builder::new()
        .sched(fifo(priority))
        .spawn(move || {
            let answer = Connection::attach(0, chid).and_then(|server| server.send(&[request], &mut []));
            thread::exit(answer.unwrap_or_else(|e| {
                println!("client at priority {priority}: {e}");
                FAILED
            }))
        })
        .map_err(failed("start a client"))
}

/// Waits for a client thread; returns the status the server replied to it.
fn finish(client: JoinHandle) -> Result<u64, String> {
    match client.join().map_err(failed("join a client"))? {
        FAILED => Err(String::from("a client's send failed")),
        status => Ok(status),
    }
}

/// The priority the calling thread runs at now (with what it inherited), from its
/// `ThreadList` record.
fn running_priority() -> Result<u64, String> {
    sched::current_priority().map(u64::from).map_err(failed("SchedGet"))
}

fn serve(channel: Channel) -> Result<(), String> {
    let mut buffer = [0u8; 32];
    loop {
        let message = match channel.receive(&mut buffer).map_err(failed("MsgReceive"))? {
            Received::Message(message) => message,
            Received::Pulse(_) => continue,
        };
        let answered = match buffer[0] {
            b'P' => message.reply(running_priority()?, &[]),
            b'S' => {
                // Work (without blocking) until a more urgent client raises us.
                let started = running_priority()?;
                let give_up = time::now_ns() + SLOW_LIMIT_NS;
                let mut now_at = started;
                while now_at == started && time::now_ns() < give_up {
                    now_at = running_priority()?;
                }
                message.reply(started | now_at << 8, &[])
            }
            b'Q' => return message.reply(0, &[]).map_err(failed("MsgReply")),
            _ => message.error(Errno::ENOSYS),
        };
        answered.map_err(failed("MsgReply"))?;
    }
}
