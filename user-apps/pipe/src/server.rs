//! The pipe server (QNX's `pipe` manager): anonymous pipes under `/dev/pipe` and named
//! FIFOs anywhere in the pathname space (each attached with its own handle). Reads and
//! writes that must wait are held — the client stays REPLY-blocked, no polling — and
//! answered when the pipe changes; the rules are in the library (`lib.rs`).
//!
//! Protocol: the I/O protocol (`docs/protocols.md`) plus `MKFIFO`, which only the server
//! of the directory the FIFO goes in may send ([`pipe::may_make_fifo`]). Opening `/dev/pipe`
//! with `O_CREAT` makes an anonymous pipe and opens its read end (the status is its
//! number N); `/dev/pipe/N` opens its ends. A client that unblocks (timeout) gets
//! `EINTR`, or the count of a partly done write; a client that dies is a close.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use pipe::{Answer, Completion, Pipe, MAX_PIPES};
use userlib::abi::ipc::channel_flags;
use userlib::ipc::{Channel, ReceivedMessage};
use userlib::msg::DirectoryCursor;
use userlib::msg::{file_kind, open_flags, path_flags, pipe_type, Stat, PIPE_DIR};
use userlib::proc::{self, PathAttach};
use userlib::resmgr::{read_directory, Dispatcher, Reply, Request, ResourceManager};
use userlib::{println, Args, Errno};

struct Entry {
    pipe: Pipe<ReceivedMessage>,
    /// A named FIFO's attachment (`None`: anonymous, or unlinked).
    attach: Option<PathAttach>,
    opens: u32,
}

enum Ocb {
    /// `/dev/pipe` itself; `next` is the first entry not listed yet.
    Directory { next: DirectoryCursor },
    /// One end of pipe `pipe`, which it holds (shared with `Server::pipes`: no lookup by
    /// id per request; `make bench` pipe_roundtrip_1b, four requests, ~70 instructions).
    End { pipe: u32, entry: Rc<RefCell<Entry>>, write: bool, nonblock: bool },
}

struct Server {
    chid: u32,
    pipes: BTreeMap<u32, Rc<RefCell<Entry>>>,
    next: u32,
    /// What the pipes finished, to answer (kept: no allocation per request).
    done: Vec<Completion<ReceivedMessage>>,
}

pub fn main(_args: Args) -> Result<(), Errno> {
    let channel = Channel::create(channel_flags::DISCONNECT | channel_flags::UNBLOCK)?;
    let _attached = proc::path_attach(PIPE_DIR, channel.chid(), path_flags::DIR)?;
    let mut dispatcher =
        Dispatcher::new(Server { chid: channel.chid(), pipes: BTreeMap::new(), next: 1, done: Vec::new() });
    let error = dispatcher.serve(&channel);
    println!("pipe: receiving failed: {error}");
    Err(error)
}

/// Answers what `pipe` finished, leaving `done` empty (a read's bytes go back to the
/// pipe for the next read); `written` is the data of the write being made, if any (what
/// an [`Answer::Passed`] refers to).
#[inline(always)]
fn answer(done: &mut Vec<Completion<ReceivedMessage>>, pipe: &mut Pipe<ReceivedMessage>, written: &[u8]) {
    // (Checked here, inlined: half the requests finish nothing at once, and the call
    // with its saved registers cost more than the check.)
    if !done.is_empty() {
        answer_all(done, pipe, written);
    }
}

/// [`answer`], for a `done` that is not empty. The reads' answers are then settled
/// ([`Pipe::settle`]), which may let waiting writes in (and finish more): bytes a reader
/// did not get (it died before the answer reached it, or its buffer was bad) go back to
/// the front of the pipe for the next reader, so nobody else loses data.
fn answer_all(done: &mut Vec<Completion<ReceivedMessage>>, pipe: &mut Pipe<ReceivedMessage>, written: &[u8]) {
    loop {
        let (mut delivered, mut returned) = (0, Vec::new());
        for c in done.drain(..) {
            // A client that has gone makes the answer fail; a writer's or an error's
            // then needs nothing more.
            let _ = match c.result {
                Ok(Answer::Read(bytes)) => {
                    let answered = c.ticket.reply(bytes.len() as u64, &bytes);
                    match answered {
                        Ok(()) => {
                            delivered += bytes.len();
                            pipe.recycle(bytes);
                        }
                        Err(_) => returned.push(bytes),
                    }
                    answered
                }
                Ok(Answer::Passed(n)) => {
                    let answered = c.ticket.reply(n as u64, &written[..n]);
                    match answered {
                        Ok(()) => delivered += n,
                        Err(_) => returned.push(written[..n].to_vec()),
                    }
                    answered
                }
                Ok(Answer::Wrote(n)) => c.ticket.reply(n as u64, &[]),
                Err(e) => c.ticket.error(e),
            };
        }
        if delivered == 0 && returned.is_empty() {
            return;
        }
        pipe.settle(delivered, &returned, done);
        if done.is_empty() {
            return;
        }
    }
}

impl Server {
    /// A new pipe's id; `ENFILE` when [`MAX_PIPES`] exist.
    fn create(&mut self, named: bool) -> Result<u32, Errno> {
        if self.pipes.len() >= MAX_PIPES {
            return Err(Errno::ENFILE);
        }
        // Ids are never reused while their pipe lives (even after 2^32 of them; 0 is
        // not an id: a FIFO's handle 0 means "no FIFO").
        let mut id = self.next;
        while id == 0 || self.pipes.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        let pipe = if named { Pipe::default() } else { Pipe::anonymous() };
        let entry = Entry { pipe, attach: None, opens: 0 };
        self.pipes.insert(id, Rc::new(RefCell::new(entry)));
        Ok(id)
    }

    fn open_end(&mut self, id: u32, flags: u32) -> Result<Ocb, Errno> {
        let shared = self.pipes.get(&id).ok_or(Errno::ENOENT)?;
        let write = match flags & open_flags::O_ACCMODE {
            open_flags::O_RDONLY => false,
            open_flags::O_WRONLY => true,
            _ => return Err(Errno::EINVAL), // a pipe end reads or writes, not both
        };
        let mut entry = shared.borrow_mut();
        let nonblock = flags & open_flags::O_NONBLOCK != 0;
        if write && nonblock && entry.pipe.is_named() && entry.pipe.readers() == 0 {
            return Err(Errno::ENXIO); // (POSIX: a FIFO's write end without a reader)
        }
        if write {
            entry.pipe.open_writer();
        } else {
            // A reader lets in the writes that waited for one.
            entry.pipe.open_reader(&mut self.done);
            answer(&mut self.done, &mut entry.pipe, &[]);
        }
        entry.opens += 1;
        drop(entry);
        Ok(Ocb::End { pipe: id, entry: Rc::clone(shared), write, nonblock })
    }

    /// Drops pipe `id` once nothing refers to it.
    fn drop_if_unused(&mut self, id: u32) {
        if self.pipes.get(&id).is_some_and(|e| e.borrow().opens == 0 && e.borrow().attach.is_none()) {
            self.pipes.remove(&id);
        }
    }
}

impl ResourceManager for Server {
    type Ocb = Ocb;

    fn open(&mut self, request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Ocb, Errno> {
        let fifo = request.header.extra as u32;
        if fifo != 0 {
            // A named FIFO: its own prefix, nothing beneath.
            if !path.is_empty() || self.pipes.get(&fifo).is_none_or(|e| e.borrow().attach.is_none()) {
                return Err(Errno::ENOENT);
            }
            return self.open_end(fifo, flags);
        }
        if path.is_empty() {
            if flags & open_flags::O_ACCMODE != open_flags::O_RDONLY {
                // `/dev/pipe` is a directory (`pipe()` opens it O_RDONLY | O_CREAT for a
                // new pipe): `echo x > /dev/pipe` made a pipe nobody reads.
                return Err(Errno::EISDIR);
            }
            if flags & open_flags::O_CREAT == 0 {
                return Ok(Ocb::Directory { next: DirectoryCursor::default() });
            }
            let id = self.create(false)?;
            return self.open_end(id, flags & !open_flags::O_CREAT).inspect_err(|_| {
                self.pipes.remove(&id);
            });
        }
        let id = pipe::anonymous_pipe_number(path).ok_or(Errno::ENOENT)?;
        if self.pipes.get(&id).is_none_or(|e| e.borrow().pipe.is_named()) {
            return Err(Errno::ENOENT);
        }
        self.open_end(id, flags)
    }

    fn connect_status(&self, ocb: &Ocb) -> u64 {
        match ocb {
            Ocb::End { pipe, .. } => *pipe as u64,
            Ocb::Directory { .. } => 0,
        }
    }

    fn unlink(&mut self, request: &Request, path: &str) -> Result<(), Errno> {
        let fifo = request.header.extra as u32;
        let entry = self.pipes.get(&fifo).filter(|e| path.is_empty() && e.borrow().attach.is_some());
        entry.ok_or(Errno::ENOENT)?.borrow_mut().attach = None; // detaches the path; the FIFO lives while open
        self.drop_if_unused(fifo);
        Ok(())
    }

    // (Reads and writes are inlined into the dispatcher's loop, and the pipe's rules into
    // them: `make bench` pipe_roundtrip_1b 6007 -> 5731, the calls' saved registers and
    // the values passed through memory gone.)
    #[inline(always)]
    fn read(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        match *ocb {
            Ocb::Directory { ref mut next } => {
                let anonymous = self.pipes.iter().filter(|(_, e)| !e.borrow().pipe.is_named());
                read_directory(anonymous.map(|(id, _)| alloc::format!("{id}")), next, request)
            }
            Ocb::End { write: true, .. } => Err(Errno::EBADF),
            Ocb::End { ref entry, nonblock, .. } => {
                let entry = &mut *entry.borrow_mut();
                let (client, want) = (request.client, request.read_size());
                let message = request.hold();
                entry.pipe.read(message, client.priority, client.scoid, want, nonblock, &mut self.done);
                answer(&mut self.done, &mut entry.pipe, &[]);
                Ok(Reply::Held)
            }
        }
    }

    #[inline(always)]
    fn write(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        let Ocb::End { ref entry, write: true, nonblock, .. } = *ocb else { return Err(Errno::EBADF) };
        let entry = &mut *entry.borrow_mut();
        let client = request.client;
        let message = request.hold();
        // (A write that waits takes the payload; a reader's share passed at once is
        // answered out of it.)
        let payload = &mut request.payload;
        entry.pipe.write(message, client.priority, client.scoid, payload, nonblock, &mut self.done);
        answer(&mut self.done, &mut entry.pipe, payload);
        Ok(Reply::Held)
    }

    fn stat(&mut self, ocb: &mut Ocb) -> Result<Stat, Errno> {
        Ok(match ocb {
            Ocb::Directory { .. } => Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o777 },
            Ocb::End { entry, .. } => {
                let size = entry.borrow().pipe.len() as u64;
                Stat { size, kind: file_kind::FIFO, mode: 0o666 }
            }
        })
    }

    fn close(&mut self, ocb: Ocb) {
        let Ocb::End { pipe, entry, write, .. } = ocb else { return };
        {
            let entry = &mut *entry.borrow_mut();
            entry.opens -= 1;
            if write {
                entry.pipe.close_writer(&mut self.done);
            } else {
                entry.pipe.close_reader(&mut self.done);
            }
            answer(&mut self.done, &mut entry.pipe, &[]);
        }
        self.drop_if_unused(pipe);
    }

    fn make_fifo(&mut self, _request: &Request, _path: &str) -> Result<(), Errno> {
        Err(Errno::EPERM) // (beneath /dev/pipe: the anonymous pipes' names, `pipe::fifo_path`)
    }

    fn other(&mut self, request: &mut Request) -> Result<Reply, Errno> {
        match request.header.kind {
            pipe_type::MKFIFO => {
                let path = String::from(pipe::fifo_path(&request.payload)?);
                // (Where no server has a directory, nobody could have said the name is free.)
                let owner = proc::resolve(&path).map_err(|e| if e == Errno::ENOENT { Errno::EPERM } else { e })?;
                pipe::may_make_fifo(&path, &owner, request.client.pid)?;
                let id = self.create(true)?;
                match proc::path_attach_with_handle(&path, self.chid, 0, id) {
                    Ok(attach) => {
                        self.pipes.get(&id).expect("just made").borrow_mut().attach = Some(attach);
                        Ok(Reply::Status(0))
                    }
                    Err(e) => {
                        self.pipes.remove(&id);
                        Err(if e == Errno::EBUSY { Errno::EEXIST } else { e })
                    }
                }
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    fn unblock(&mut self, rcvid: u64) {
        for entry in self.pipes.values() {
            let entry = &mut *entry.borrow_mut();
            if entry.pipe.cancel(|m| m.rcvid() == rcvid, &mut self.done) {
                answer(&mut self.done, &mut entry.pipe, &[]);
                return;
            }
        }
    }

    fn disconnected(&mut self, scoid: u32) {
        for entry in self.pipes.values() {
            let entry = &mut *entry.borrow_mut();
            // Nobody to answer: dropping a held message fails it harmlessly.
            drop(entry.pipe.forget(scoid));
        }
    }
}
