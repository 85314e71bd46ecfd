//! `proc-peer`: the other processes of the process-manager system tests, by argv[1].
//!
//! * `name-server NAME` — `name_attach(NAME)`, then serve: `C…` reply status = checksum
//!   of the rest; `Q` reply status = how many clients' disconnect pulses arrived and had
//!   their scoid freed. Exits with the errno if the name cannot be attached.
//! * `name-client NAME` — `name_open(NAME)`, send one `C` message, exit (0, or the errno).
//! * `resmgr PATH` — a resource manager of in-memory files under PATH (see [`Files`]).
//! * `shm-client OBJECT SERVER ROUNDS` — create shared-memory object OBJECT (one page),
//!   then for each round fill it with that round's pattern and `MsgSend` `R<round>` to
//!   the server named SERVER, which checks the memory and replies (the seeds' "image in
//!   shared memory" pattern). Exits 0, or with the errno.
//! * `shm-handle SERVER` — ask SERVER (message `H`) for a shared-memory handle, open it,
//!   map it, check the first word is `0x5EED`, write `0xD0E` after it. Exits 0, or errno.
//! * `pipe-writer PIPE WRITER RECORDS` — write RECORDS records of `PIPE_BUF` bytes to
//!   anonymous pipe PIPE: each is WRITER's number in every byte but the first eight,
//!   which hold the record's sequence number and a checksum of the rest.
//! * `pipe-block PIPE` — read from anonymous pipe PIPE forever (to be killed mid-read).
//! * `mq-block NAME` — receive from queue NAME forever (to be killed mid-receive).
//! * `mq-notify NAME` — ask to be notified by queue NAME; exit with the errno (0: granted).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::ipc::{pulse_code, Received};
use userlib::msg::{file_kind, open_flags, path_flags, whence, Stat};
use userlib::resmgr::{Dispatcher, Reply, Request, ResourceManager};
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
        "resmgr" => resmgr(arg(2)),
        "shm-client" => shm_client(arg(2), arg(3), arg(4).parse().unwrap_or(1)),
        "shm-handle" => shm_handle(arg(2)),
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

/// In-memory files: `open` with `O_CREAT` makes one; the prefix itself is a directory
/// whose read lists them.
struct Files {
    files: BTreeMap<String, Vec<u8>>,
}

enum Open {
    File { name: String, offset: usize, flags: u32 },
    Directory { done: bool },
}

impl ResourceManager for Files {
    type Ocb = Open;

    fn open(&mut self, _request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Open, Errno> {
        if path.is_empty() {
            return Ok(Open::Directory { done: false });
        }
        if path.contains('/') {
            return Err(Errno::ENOENT);
        }
        let exists = self.files.contains_key(path);
        if !exists && flags & open_flags::O_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        if exists && flags & open_flags::O_CREAT != 0 && flags & open_flags::O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let file = self.files.entry(String::from(path)).or_default();
        if flags & open_flags::O_TRUNC != 0 {
            file.clear();
        }
        Ok(Open::File { name: String::from(path), offset: 0, flags })
    }

    fn unlink(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        self.files.remove(path).map(|_| ()).ok_or(Errno::ENOENT)
    }

    fn read(&mut self, ocb: &mut Open, request: &mut Request) -> Result<Reply, Errno> {
        let want = request.header.size as usize;
        match ocb {
            Open::Directory { done: true } => Ok(Reply::Status(0)),
            Open::Directory { done } => {
                *done = true;
                let mut bytes = Vec::new();
                for name in self.files.keys() {
                    bytes.extend_from_slice(name.as_bytes());
                    bytes.push(0);
                }
                bytes.truncate(want);
                Ok(Reply::Data(bytes.len() as u64, bytes))
            }
            Open::File { name, offset, flags } => {
                if !open_flags::readable(*flags) {
                    return Err(Errno::EBADF);
                }
                let file = self.files.get(name).ok_or(Errno::ENOENT)?;
                let start = (*offset).min(file.len());
                let end = (start + want).min(file.len());
                *offset = end;
                Ok(Reply::Data((end - start) as u64, file[start..end].to_vec()))
            }
        }
    }

    fn write(&mut self, ocb: &mut Open, request: &mut Request) -> Result<Reply, Errno> {
        let Open::File { name, offset, flags } = ocb else { return Err(Errno::EISDIR) };
        if !open_flags::writable(*flags) {
            return Err(Errno::EBADF);
        }
        let file = self.files.get_mut(name).ok_or(Errno::ENOENT)?;
        if *flags & open_flags::O_APPEND != 0 {
            *offset = file.len();
        }
        let data = &request.payload;
        if file.len() < *offset + data.len() {
            file.resize(*offset + data.len(), 0);
        }
        file[*offset..*offset + data.len()].copy_from_slice(data);
        *offset += data.len();
        Ok(Reply::Status(data.len() as u64))
    }

    fn lseek(&mut self, ocb: &mut Open, offset: i64, from: u32) -> Result<u64, Errno> {
        let Open::File { name, offset: at, .. } = ocb else { return Err(Errno::EISDIR) };
        let len = self.files.get(name).map_or(0, Vec::len) as i64;
        let base = match from {
            whence::SET => 0,
            whence::CUR => *at as i64,
            whence::END => len,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).filter(|n| *n >= 0).ok_or(Errno::EINVAL)?;
        *at = new as usize;
        Ok(new as u64)
    }

    fn stat(&mut self, ocb: &mut Open) -> Result<Stat, Errno> {
        Ok(match ocb {
            Open::Directory { .. } => Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o755 },
            Open::File { name, .. } => {
                let size = self.files.get(name).map_or(0, Vec::len) as u64;
                Stat { size, kind: file_kind::FILE, mode: 0o644 }
            }
        })
    }

    fn truncate(&mut self, ocb: &mut Open, size: u64) -> Result<(), Errno> {
        let Open::File { name, .. } = ocb else { return Err(Errno::EISDIR) };
        self.files.get_mut(name).ok_or(Errno::ENOENT)?.resize(size as usize, 0);
        Ok(())
    }
}

fn resmgr(path: &str) -> Result<(), Errno> {
    let channel = userlib::ipc::Channel::create(userlib::ipc::channel_flags::DISCONNECT)?;
    let _attached = proc::path_attach(path, channel.chid(), path_flags::DIR)?;
    let mut dispatcher = Dispatcher::new(Files { files: BTreeMap::new() });
    Err(dispatcher.serve(&channel))
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
