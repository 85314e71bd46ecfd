//! `demo-shm`: shared memory synchronised by message passing, the "image update" pattern
//! of QNX's IPC course (the *QNX Inter-Process Communication* module, "Shared Memory -
//! Synchronization", IPC for synchronisation):
//!
//! 1. the client prepares the shared memory's contents (an animation frame);
//! 2. it tells the server a new frame is ready (`MsgSend`) and waits for the reply;
//! 3. the server processes the frame, reading it in place (no copy);
//! 4. it replies, so the client may draw the next one.
//!
//! `MsgSend` does not return before `MsgReply`, so the two never touch the frame at once.
//!
//! Run as `demo-shm`, it is the client: it creates the shared-memory object
//! `/dev/shmem/demo-shm`, sizes it (`ftruncate`), maps it read-write and spawns itself as
//! the server (`demo-shm server`), which maps the object read-only and `name_attach`es
//! "demo-shm". The client draws a ball moving across a small ASCII picture; for each frame
//! (`F` + its number) the server prints the picture and replies with its checksum, which
//! the client checks. `Q` ends the server; the client then unlinks the object.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use userlib::ipc::{detach_client, pulse_code, Connection, MsgInfo, Received};
use userlib::msg::open_flags::{O_CREAT, O_RDONLY, O_RDWR};
use userlib::process::{self, ExitStatus};
use userlib::{println, proc, shm, time, Args, Errno};

userlib::entry!(main);

/// The shared-memory object and the server's name.
const NAME: &str = "demo-shm";
/// The picture's size: rows of `COLUMNS` ASCII bytes.
const ROWS: usize = 4;
const COLUMNS: usize = 24;
/// Bytes the object holds.
const SIZE: usize = ROWS * COLUMNS;
/// Frames the client draws.
const FRAMES: u8 = 4;

fn main(args: Args) -> Result<(), String> {
    match args.get(1) {
        None => client(),
        Some("server") => server(),
        Some(other) => Err(format!("unknown role {other:?} (no argument, or `server`)")),
    }
}

/// Turns an errno into a message saying what failed.
fn failed(what: &'static str) -> impl Fn(Errno) -> String {
    move |e| format!("{what}: {e}")
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

/// Frame `frame`: a 2×2 ball `()` bouncing along the picture, a floor below it.
fn draw(frame: u8, image: &mut [u8]) {
    image.fill(b' ');
    let column = 2 + frame as usize * 5;
    let row = (frame % 2) as usize;
    for r in row..row + 2 {
        image[r * COLUMNS + column..r * COLUMNS + column + 2].copy_from_slice(b"()");
    }
    image[(ROWS - 1) * COLUMNS..].fill(b'=');
}

fn client() -> Result<(), String> {
    let file = shm::shm_open(NAME, O_RDWR | O_CREAT, 0o600).map_err(failed("shm_open"))?;
    file.truncate(SIZE as u64).map_err(failed("ftruncate"))?;
    let at =
        shm::mmap(SIZE, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0).map_err(failed("mmap"))?;
    drop(file); // the mapping keeps the object
    println!("client: /dev/shmem/{NAME} ({SIZE} bytes) mapped read-write at {at:#x}");
    let result = run_server(at);
    // SAFETY: no reference into the mapping remains.
    let unmapped = unsafe { shm::munmap(at, SIZE) }.map_err(failed("munmap"));
    let unlinked = shm::shm_unlink(NAME).map_err(failed("shm_unlink"));
    result.and(unmapped).and(unlinked)?;
    println!("client: unlinked /dev/shmem/{NAME}");
    Ok(())
}

/// Spawns the server, shows it every frame drawn at `at`, and waits for it to end.
fn run_server(at: usize) -> Result<(), String> {
    let server = process::spawn(NAME, &["server"], None).map_err(failed("spawn the server"))?;
    let shown = show_frames(at);
    if shown.is_err() {
        let _ = proc::kill(server, 1);
    }
    let status = process::wait(server).map_err(failed("wait for the server"))?;
    shown?;
    match status {
        ExitStatus::Exited(0) => Ok(()),
        other => Err(format!("the server {other}")),
    }
}

fn show_frames(at: usize) -> Result<(), String> {
    let server = open_server()?;
    for frame in 0..FRAMES {
        let expected = {
            // SAFETY: `SIZE` bytes at `at` stay mapped read-write until `client` unmaps
            // them; the server reads them only while we are blocked in the send below, and
            // this reference ends before it.
            let image = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, SIZE) };
            draw(frame, image);
            checksum(image)
        };
        let sum = server.send(&[b'F', frame], &mut []).map_err(failed("MsgSend"))?;
        println!("client: frame {frame}: server's checksum {sum:#018x}");
        if sum != expected {
            return Err(format!("frame {frame}: the server saw checksum {sum:#x}, not {expected:#x}"));
        }
    }
    server.send(b"Q", &mut []).map_err(failed("MsgSend Q"))?;
    Ok(())
}

/// `name_open`, retrying while the server has not attached the name yet (up to a second).
fn open_server() -> Result<Connection, String> {
    for _ in 0..200 {
        match proc::name_open(NAME, 0) {
            Ok(connection) => return Ok(connection),
            Err(Errno::ENOENT) => time::sleep_ns(5_000_000),
            Err(e) => return Err(format!("name_open {NAME:?}: {e}")),
        }
    }
    Err(format!("the server never attached {NAME:?}"))
}

fn server() -> Result<(), String> {
    let file = shm::shm_open(NAME, O_RDONLY, 0).map_err(failed("shm_open"))?;
    let at = shm::mmap(SIZE, shm::PROT_READ, shm::MAP_SHARED, Some(&file), 0).map_err(failed("mmap"))?;
    let attach = proc::name_attach(NAME, 0).map_err(failed("name_attach"))?;
    println!("server: /dev/shmem/{NAME} mapped read-only at {at:#x}");
    let mut buffer = [0u8; 32];
    loop {
        let mut info = MsgInfo::default();
        let message = match attach.channel().receive_with_info(&mut buffer, &mut info).map_err(failed("MsgReceive"))? {
            Received::Message(message) => message,
            // Our one client died without `Q` (unblock requests need nothing: we hold no
            // message).
            Received::Pulse(pulse) if pulse.code == pulse_code::DISCONNECT => {
                let _ = detach_client(pulse.scoid);
                return Err(String::from("the client left without `Q`"));
            }
            Received::Pulse(_) => continue,
        };
        match &buffer[..(info.msglen as usize).min(buffer.len())] {
            [b'F', frame] => {
                // SAFETY: `SIZE` bytes at `at` are mapped read-only for the life of the
                // process; the client leaves them alone until we reply.
                let image = unsafe { core::slice::from_raw_parts(at as *const u8, SIZE) };
                let balls = image.iter().filter(|b| **b == b'(').count();
                println!("server: frame {frame} ({balls} ball rows):");
                for row in image.chunks_exact(COLUMNS) {
                    println!("  |{}|", core::str::from_utf8(row).unwrap_or("<not ASCII>"));
                }
                message.reply(checksum(image), &[]).map_err(failed("MsgReply"))?;
            }
            [b'Q'] => {
                message.reply(0, &[]).map_err(failed("MsgReply"))?;
                return Ok(());
            }
            _ => message.error(Errno::ENOSYS).map_err(failed("MsgError"))?,
        }
    }
}
