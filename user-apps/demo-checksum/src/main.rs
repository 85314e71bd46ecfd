//! `demo-checksum`: the checksum client and server of QNX's IPC course (the *QNX
//! Inter-Process Communication* module, exercise "basic Send/Receive/Reply", with the
//! server found by name as in "How a Client Finds a Server" and the scoid freed as in
//! "Server Cleanup").
//!
//! Run as `demo-checksum`, it is the client: it spawns itself as the server
//! (`demo-checksum server`), which `name_attach`es "demo-checksum"; the client
//! `name_open`s the name (retrying while the server starts), sends a few strings, and
//! prints each one with the checksum the server replied. Then it sends `Q` and closes its
//! connection. The server answers `Q`, and when the kernel's `_PULSE_CODE_DISCONNECT`
//! pulse says the client has gone it frees the scoid (`ConnectDetach`) and exits.
//!
//! Messages: `C` followed by the text → reply status = its checksum; `Q` → reply 0.
//! Anything else gets `ENOSYS`. The server has one client: it ends when that client
//! disconnects (status 1 if it had not sent `Q`: it died), so it never lingers holding
//! the name.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::ipc::{detach_client, pulse_code, Connection, MsgInfo, Received};
use userlib::process::{self, ExitStatus};
use userlib::{println, proc, time, Args, Errno};

userlib::entry!(main);

/// The name the server attaches and the client opens.
const NAME: &str = "demo-checksum";
/// What the client sends.
const TEXTS: [&str; 3] = ["Hello, QNX Neutrino", "message passing is synchronous", "Muon"];
/// How long the client waits for the server's name to appear.
const OPEN_ATTEMPTS: u32 = 200;
/// Pause between two attempts.
const OPEN_PAUSE_NS: u64 = 5_000_000;

fn main(args: Args) -> Result<(), String> {
    match args.get(1) {
        None => client(),
        Some("server") => server(),
        Some(other) => Err(format!("unknown role {other:?} (no argument, or `server`)")),
    }
}

/// The checksum both sides compute: a polynomial hash of the bytes.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

/// Turns an errno into a message saying what failed.
fn failed(what: &'static str) -> impl Fn(Errno) -> String {
    move |e| format!("{what}: {e}")
}

fn client() -> Result<(), String> {
    let server = process::spawn(NAME, &["server"], None).map_err(failed("spawn the server"))?;
    println!("client: started the server, pid {server}");
    let talked = talk();
    if talked.is_err() {
        // It may be waiting for a `Q` that will never come.
        let _ = proc::kill(server, 1);
    }
    let status = process::wait(server).map_err(failed("wait for the server"))?;
    talked?;
    match status {
        ExitStatus::Exited(0) => {
            println!("client: the server exited");
            Ok(())
        }
        other => Err(format!("the server {other}")),
    }
}

/// Finds the server, sends every text and `Q`, then closes the connection.
fn talk() -> Result<(), String> {
    let connection = open_server()?;
    for text in TEXTS {
        let mut message = Vec::from(&b"C"[..]);
        message.extend_from_slice(text.as_bytes());
        let sum = connection.send(&message, &mut []).map_err(failed("MsgSend"))?;
        println!("client: {text:?} -> checksum {sum:#018x}");
        if sum != checksum(text.as_bytes()) {
            return Err(format!("the server's checksum of {text:?} is wrong"));
        }
    }
    connection.send(b"Q", &mut []).map_err(failed("MsgSend Q"))?;
    // Dropping the connection is name_close: the server gets the disconnect pulse.
    Ok(())
}

/// `name_open`, retrying while the server has not attached the name yet.
fn open_server() -> Result<Connection, String> {
    for _ in 0..OPEN_ATTEMPTS {
        match proc::name_open(NAME, 0) {
            Ok(connection) => return Ok(connection),
            Err(Errno::ENOENT) => time::sleep_ns(OPEN_PAUSE_NS),
            Err(e) => return Err(format!("name_open {NAME:?}: {e}")),
        }
    }
    Err(format!("the server never attached {NAME:?}"))
}

fn server() -> Result<(), String> {
    let attach = proc::name_attach(NAME, 0).map_err(failed("name_attach"))?;
    println!("server: attached {NAME:?} to channel {}", attach.chid());
    let mut buffer = [0u8; 256];
    // Whether our one client said `Q`: we end when it disconnects, with an error if not.
    let mut quitting = false;
    loop {
        let mut info = MsgInfo::default();
        match attach.channel().receive_with_info(&mut buffer, &mut info).map_err(failed("MsgReceive"))? {
            Received::Pulse(pulse) if pulse.code == pulse_code::DISCONNECT => {
                detach_client(pulse.scoid).map_err(failed("ConnectDetach of the scoid"))?;
                println!("server: client scoid {:#x} disconnected; scoid freed", pulse.scoid);
                return if quitting { Ok(()) } else { Err(String::from("the client left without `Q`")) };
            }
            // We answer every message at once, so an unblock request needs nothing.
            Received::Pulse(_) => {}
            Received::Message(message) => {
                let len = (info.msglen as usize).min(buffer.len());
                let answered = match &buffer[..len] {
                    [b'C', text @ ..] => message.reply(checksum(text), &[]),
                    [b'Q'] => {
                        quitting = true;
                        message.reply(0, &[])
                    }
                    _ => message.error(Errno::ENOSYS),
                };
                answered.map_err(failed("MsgReply"))?;
            }
        }
    }
}
