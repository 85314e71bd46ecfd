//! `proc-peer`: the other processes of the process-manager system tests, by argv[1].
//!
//! * `name-server NAME` — `name_attach(NAME)`, then serve: `C…` reply status = checksum
//!   of the rest; `Q` reply status = how many clients' disconnect pulses arrived and had
//!   their scoid freed. Exits with the errno if the name cannot be attached.
//! * `name-client NAME` — `name_open(NAME)`, send one `C` message, exit (0, or the errno).
//! * `shm-client OBJECT SERVER ROUNDS` — create shared-memory object OBJECT (one page),
//!   then for each round fill it with that round's pattern and `MsgSend` `R<round>` to
//!   the server named SERVER, which checks the memory and replies (the seeds' "image in
//!   shared memory" pattern). Exits 0, or with the errno.
//! * `shm-handle SERVER` — ask SERVER (message `H`) for a shared-memory handle, open it,
//!   map it, check the first word is `0x5EED`, write `0xD0E` after it. Exits 0, or errno.
//! * `shm-create OBJECT` — create shared-memory object OBJECT (`O_EXCL`) and leave it
//!   (named, it outlives this process). Exits 0, or with the errno.
//! * `pipe-writer PIPE WRITER RECORDS` — write RECORDS records of `PIPE_BUF` bytes to
//!   anonymous pipe PIPE: each is WRITER's number in every byte but the first eight,
//!   which hold the record's sequence number and a checksum of the rest.
//! * `pipe-block PIPE` — read from anonymous pipe PIPE forever (to be killed mid-read).
//! * `mq-block NAME` — receive from queue NAME forever (to be killed mid-receive).
//! * `mq-notify NAME` — ask to be notified by queue NAME; exit with the errno (0: granted).
//! * `shm-private OBJECT N` — map N private copies of shared-memory object OBJECT's first
//!   page, each of which must start with `original`, and start a program (`shm-private`
//!   with no copies to make) while they are mapped. Exits 0, or with the errno.

#![no_std]
#![no_main]

extern crate alloc;

use userlib::ipc::{pulse_code, Received};
use userlib::msg::open_flags;
use userlib::{fs, proc, shm, Args, Errno};

userlib::entry!(main);

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |sum, b| sum.wrapping_mul(31).wrapping_add(*b as u64))
}

fn main(args: Args) -> i32 {
    let arg = |i: usize| args.get(i).unwrap_or("");
    let result = match arg(1) {
        "name-server" => name_server(arg(2)),
        "name-client" => name_client(arg(2)),
        "shm-client" => shm_client(arg(2), arg(3), arg(4).parse().unwrap_or(1)),
        "shm-handle" => shm_handle(arg(2)),
        "shm-leave-handle" => shm_leave_handle(),
        "shm-create" => {
            shm::shm_open(arg(2), open_flags::O_RDWR | open_flags::O_CREAT | open_flags::O_EXCL, 0).map(drop)
        }
        "shm-private" => shm_private(arg(2), arg(3).parse().unwrap_or(0)),
        "pipe-writer" => pipe_writer(arg(2), arg(3).parse().unwrap_or(0), arg(4).parse().unwrap_or(0)),
        "pipe-block" => pipe_block(arg(2)),
        "mq-block" => mq_block(arg(2)),
        "mq-notify" => mq_notify(arg(2)),
        _ => Err(Errno::EINVAL),
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.0 as i32,
    }
}

fn name_server(name: &str) -> Result<(), Errno> {
    let attach = proc::name_attach(name, 0)?;
    let mut freed = 0u64;
    let mut buffer = [0u8; 256];
    loop {
        match attach.channel().receive(&mut buffer)? {
            Received::Pulse(p) if p.code == pulse_code::DISCONNECT => {
                if userlib::ipc::detach_client(p.scoid).is_ok() {
                    freed += 1;
                }
            }
            Received::Pulse(_) => {}
            Received::Message(m) => {
                let info = m.info()?;
                let len = (info.srcmsglen as usize).min(buffer.len());
                let _ = match buffer[0] {
                    b'C' => m.reply(checksum(&buffer[1..len]), &[]),
                    b'Q' => m.reply(freed, &[]),
                    _ => m.error(Errno::ENOSYS),
                };
            }
        }
    }
}

fn name_client(name: &str) -> Result<(), Errno> {
    let server = proc::name_open(name, 0)?;
    let status = server.send(b"Cabc", &mut [])?;
    if status != checksum(b"abc") {
        return Err(Errno::EIO);
    }
    core::mem::forget(server); // process exit closes it: the server sees the disconnect
    Ok(())
}

fn pattern(round: u64, index: usize) -> u8 {
    (round as usize * 7 + index) as u8
}

fn shm_client(object: &str, server: &str, rounds: u64) -> Result<(), Errno> {
    let file = shm::shm_open(object, open_flags::O_RDWR | open_flags::O_CREAT, 0o600)?;
    file.truncate(4096)?;
    let at = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0)?;
    drop(file); // the mapping keeps the object
    let server = proc::name_open(server, 0)?;
    for round in 0..rounds {
        // SAFETY: 4096 bytes at `at` are mapped read-write until the munmap below; the
        // server reads them only while this thread is blocked in the send.
        let image = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, 4096) };
        for (i, byte) in image.iter_mut().enumerate() {
            *byte = pattern(round, i);
        }
        let mut message = [b'R', 0, 0, 0, 0, 0, 0, 0, 0];
        message[1..].copy_from_slice(&round.to_le_bytes());
        server.send(&message, &mut [])?;
    }
    // SAFETY: no reference into the mapping remains.
    unsafe { shm::munmap(at, 4096) }
}

fn shm_handle(server: &str) -> Result<(), Errno> {
    let server = proc::name_open(server, 0)?;
    let mut answer = [0u8; 8];
    server.send(b"H", &mut answer)?;
    let file = shm::shm_open_handle(u64::from_le_bytes(answer), open_flags::O_RDWR)?;
    let at = shm::mmap(4096, shm::PROT_READ | shm::PROT_WRITE, shm::MAP_SHARED, Some(&file), 0)?;
    // SAFETY: one page is mapped read-write at `at`; u32 accesses are aligned.
    unsafe {
        let words = at as *mut u32;
        if words.read_volatile() != 0x5EED {
            return Err(Errno::EIO);
        }
        words.add(1).write_volatile(0xD0E);
    }
    Ok(())
}

/// Makes a 1 MiB anonymous object and a handle to it for proc (which never opens it),
/// then exits: the handle must not keep the object alive.
fn shm_leave_handle() -> Result<(), Errno> {
    let file = shm::shm_open_anon(open_flags::O_RDWR)?;
    file.truncate(1 << 20)?;
    shm::shm_create_handle(&file, 1, open_flags::O_RDONLY)?;
    Ok(())
}

fn shm_private(object: &str, copies: usize) -> Result<(), Errno> {
    if copies == 0 {
        return Ok(());
    }
    let file = shm::shm_open(object, open_flags::O_RDONLY, 0)?;
    let rw = shm::PROT_READ | shm::PROT_WRITE;
    for _ in 0..copies {
        let at = shm::mmap(4096, rw, shm::MAP_PRIVATE, Some(&file), 0)?;
        // SAFETY: the copy is one page, mapped read-write until this process ends.
        let copy = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, 8) };
        if copy != b"original" {
            return Err(Errno::EIO);
        }
        copy[0] = b'O'; // (its own: the next copy still starts with `original`)
    }
    let started = userlib::process::spawn("proc-peer", &["shm-private", object, "0"], None)?;
    match userlib::process::wait(started)? {
        userlib::process::ExitStatus::Exited(0) => Ok(()),
        _ => Err(Errno::EIO),
    }
}

fn pipe_writer(pipe: &str, writer: u8, records: u32) -> Result<(), Errno> {
    let end = fs::open(&alloc::format!("{}/{pipe}", userlib::msg::PIPE_DIR), open_flags::O_WRONLY, 0)?;
    let mut record = alloc::vec![writer; userlib::msg::PIPE_BUF];
    for sequence in 0..records {
        record[..4].copy_from_slice(&sequence.to_le_bytes());
        let sum = record[8..].iter().fold(0u32, |s, b| s.wrapping_mul(31).wrapping_add(*b as u32));
        record[4..8].copy_from_slice(&sum.to_le_bytes());
        if end.write(&record)? != record.len() {
            return Err(Errno::EIO);
        }
    }
    Ok(())
}

fn pipe_block(pipe: &str) -> Result<(), Errno> {
    let end = fs::open(&alloc::format!("{}/{pipe}", userlib::msg::PIPE_DIR), open_flags::O_RDONLY, 0)?;
    let mut buffer = [0u8; 16];
    loop {
        end.read(&mut buffer)?;
    }
}

fn mq_block(name: &str) -> Result<(), Errno> {
    let queue = userlib::mq::mq_open(name, open_flags::O_RDONLY, 0, None)?;
    let mut buffer = alloc::vec![0u8; 64 * 1024];
    loop {
        queue.receive(&mut buffer)?;
    }
}

fn mq_notify(name: &str) -> Result<(), Errno> {
    let queue = userlib::mq::mq_open(name, open_flags::O_RDONLY, 0, None)?;
    let channel = userlib::ipc::Channel::create(0)?;
    let me = userlib::ipc::Connection::attach(0, channel.chid())?;
    let mut event = me.pulse_event(10, 1, 0);
    queue.notify(Some(&mut event))
}
