//! A small resource-manager framework (what QNX's resmgr/iofunc layers give): a server
//! fills in the handlers of [`ResourceManager`] and calls [`serve`]. The framework
//! receives, decodes the I/O protocol ([`crate::msg::io_type`]), keeps one open-file
//! state (OCB) per client connection, answers, and cleans up after clients that close,
//! disconnect or die.
//!
//! An open file is keyed by (scoid, coid): each `open` makes a new connection, so a
//! client process's files are told apart by their coids (at most as many as a process
//! has connections: [`crate::ocbs::MAX_FILES_PER_CLIENT`], `EMFILE` beyond). A handler answers by returning
//! a [`Reply`]; it may instead keep the message ([`Request::hold`]) and answer later
//! (a read that waits for data), returning [`Reply::Held`]. `CONNECT` requests carry, in
//! the header's `extra`, the handle the server gave the prefix the path resolved to
//! ([`crate::proc::path_attach_with_handle`]), so one channel can serve many prefixes.

use crate::ipc::{Channel, Received, ReceivedMessage};
use crate::msg::{connect, io_type, Header, Stat};
use crate::ocbs::{ocb_key, OcbTable};
use crate::{Errno, Pid};
use abi::ipc::{pulse_code, MsgInfo, Pulse};
use alloc::borrow::Cow;
use alloc::vec;
use alloc::vec::Vec;

/// Largest payload the framework reads for one request (a longer write is taken in part:
/// its status says how much).
pub const MAX_PAYLOAD: usize = 64 * 1024;
const RECEIVE_BUFFER: usize = Header::SIZE + 1024;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// Its process.
    pub pid: Pid,
    /// Its server connection (one per client process).
    pub scoid: u32,
    /// The connection it sent on (one per open file).
    pub coid: u32,
    /// The sending thread's priority (blocked clients are served in this order).
    pub priority: u8,
}

/// One request, as a handler sees it.
#[derive(Debug)]
pub struct Request<'a> {
    /// Its fixed part.
    pub header: Header,
    /// The sender.
    pub client: Client,
    /// What followed the header (a path, data to write), up to [`MAX_PAYLOAD`] bytes:
    /// borrowed from the dispatcher's receive buffer when the whole message arrived there
    /// (no copy), else read into a buffer of its own, which a handler that keeps the data
    /// can take (`core::mem::take(&mut request.payload).into_owned()`) without copying.
    pub payload: Cow<'a, [u8]>,
    /// Bytes the sender sent after the header: more than `payload` holds when it sent
    /// over [`MAX_PAYLOAD`] (a write is then taken in part; other requests should refuse).
    pub sent: usize,
    /// Room the sender has for the answer's data.
    pub reply_room: usize,
    message: Option<ReceivedMessage>,
}

impl Request<'_> {
    /// Takes the message, to answer later; the handler then returns [`Reply::Held`].
    pub fn hold(&mut self) -> ReceivedMessage {
        self.message.take().expect("a request is held once")
    }

    /// Bytes a `READ` may answer with: what its header asks for, at most the room the
    /// sender has (the header's `size` is the sender's word, not its buffer: the kernel
    /// copies no more than the buffer holds, and what a server took past it was lost).
    #[inline(always)] // (in the pipe server's read path)
    pub fn read_size(&self) -> usize {
        usize::try_from(self.header.size).unwrap_or(usize::MAX).min(self.reply_room)
    }

    /// The payload as a `CONNECT`'s path (`EINVAL` if it is not UTF-8 or holds a NUL:
    /// see [`crate::msg::connect_path`]).
    pub fn path(&self) -> Result<&str, Errno> {
        crate::msg::connect_path(&self.payload)
    }
}

/// A handler's answer.
#[derive(Debug)]
pub enum Reply {
    /// Status only.
    Status(u64),
    /// Status and data.
    Data(u64, Vec<u8>),
    /// The handler kept the message ([`Request::hold`]) and answers it later.
    Held,
}

/// The answer to `request`, a read of a directory whose entries are `names` (in any
/// order: they are given in byte order, see [`crate::msg::directory_entries`]), as many
/// as its [`Request::read_size`] holds; `next` says where the reader is. (Servers passed
/// the header's `size`: a client claiming more room than its buffer had got entries the
/// kernel cut off, and the cursor moved past them.)
#[cold]
pub fn read_directory<S: AsRef<str>>(
    names: impl IntoIterator<Item = S>,
    next: &mut crate::msg::DirectoryCursor,
    request: &Request,
) -> Result<Reply, Errno> {
    let room = request.read_size();
    crate::msg::directory_entries(names, next, room).map(|bytes| Reply::Data(bytes.len() as u64, bytes))
}

/// What a server implements; every handler has a default (`ENOSYS`, or nothing).
pub trait ResourceManager {
    /// The state of one open file (QNX's OCB).
    type Ocb;

    /// Opens `path` (relative to the server's prefix; empty: the prefix itself) with open
    /// `flags` and `mode`.
    fn open(&mut self, request: &Request, path: &str, flags: u32, mode: u32) -> Result<Self::Ocb, Errno>;

    /// The status a successful open answers with (default 0).
    fn connect_status(&self, _ocb: &Self::Ocb) -> u64 {
        0
    }

    /// Removes `path`.
    fn unlink(&mut self, _request: &Request, _path: &str) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    /// Makes directory `path` with permission bits `mode` ([`connect::MKDIR`]); the
    /// default refuses (`ENOSYS`: this server has no directories to make).
    fn mkdir(&mut self, _request: &Request, _path: &str, _mode: u32) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    /// Makes a FIFO at `path` ([`connect::MKFIFO`]): once its name is free and its
    /// directory exists, the server asks the pipe server to make it
    /// ([`crate::fs::fifo_in_my_directory`]), which takes that from the directory's
    /// server alone; the default refuses (`ENOSYS`: this server's directories hold no
    /// FIFOs).
    fn make_fifo(&mut self, _request: &Request, _path: &str) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    /// Removes the empty directory `path` ([`connect::RMDIR`]); the default refuses
    /// (`ENOSYS`).
    fn rmdir(&mut self, _request: &Request, _path: &str) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    /// Moves `from` to `to`, both this server's paths of the prefix the request's `extra`
    /// names ([`connect::RENAME`]; the client found that both resolve here, else it
    /// failed with `EXDEV`); the default refuses (`ENOSYS`).
    fn rename(&mut self, _request: &Request, _from: &str, _to: &str) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    /// Opens with a handle ([`connect::OPEN_HANDLE`]).
    fn open_handle(&mut self, _request: &Request, _handle: u64, _flags: u32) -> Result<Self::Ocb, Errno> {
        Err(Errno::ENOSYS)
    }

    /// Reads up to `request.header.size` bytes.
    fn read(&mut self, _ocb: &mut Self::Ocb, _request: &mut Request) -> Result<Reply, Errno> {
        Err(Errno::ENOSYS)
    }

    /// Writes `request.payload`.
    fn write(&mut self, _ocb: &mut Self::Ocb, _request: &mut Request) -> Result<Reply, Errno> {
        Err(Errno::ENOSYS)
    }

    /// Moves the offset; the default refuses (`ESPIPE`).
    fn lseek(&mut self, _ocb: &mut Self::Ocb, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    /// Describes the file.
    fn stat(&mut self, _ocb: &mut Self::Ocb) -> Result<Stat, Errno> {
        Err(Errno::ENOSYS)
    }

    /// Device control.
    fn devctl(&mut self, _ocb: &mut Self::Ocb, _request: &mut Request) -> Result<Reply, Errno> {
        Err(Errno::ENOTTY)
    }

    /// Sets the size.
    fn truncate(&mut self, _ocb: &mut Self::Ocb, _size: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// Maps the file into the client.
    fn mmap(&mut self, _ocb: &mut Self::Ocb, _request: &Request) -> Result<u64, Errno> {
        Err(Errno::ENODEV)
    }

    /// Any other I/O request (`SHM_HANDLE`, …).
    fn io_other(&mut self, _ocb: &mut Self::Ocb, _request: &mut Request) -> Result<Reply, Errno> {
        Err(Errno::ENOSYS)
    }

    /// The file is closed (by the client, or because it disconnected or died).
    fn close(&mut self, _ocb: Self::Ocb) {}

    /// A request that is not part of the I/O protocol (a server's own types).
    fn other(&mut self, _request: &mut Request) -> Result<Reply, Errno> {
        Err(Errno::ENOSYS)
    }

    /// A client process with server connection `scoid` has gone (its files are closed
    /// right after: drop what it was waiting for first).
    fn disconnected(&mut self, _scoid: u32) {}

    /// A client blocked on a held message wants out (`_PULSE_CODE_UNBLOCK`, value rcvid).
    fn unblock(&mut self, _rcvid: u64) {}

    /// Any other pulse.
    fn pulse(&mut self, _pulse: Pulse) {}
}

/// A handler's answer, not given yet: the dispatcher gives it with its next receive.
struct Answer {
    message: ReceivedMessage,
    status: u64,
    data: Vec<u8>,
}

impl Answer {
    /// Gives it alone.
    fn give(self) -> Result<(), Errno> {
        self.message.reply(self.status, &self.data)
    }
}

/// The open files of one server.
pub struct Dispatcher<R: ResourceManager> {
    /// The handlers.
    pub manager: R,
    /// By [`ocb_key`].
    ocbs: OcbTable<R::Ocb>,
    /// Where messages arrive (kept: no allocation per message).
    buffer: Vec<u8>,
}

impl<R: ResourceManager> Dispatcher<R> {
    /// A dispatcher with no open files.
    pub fn new(manager: R) -> Self {
        Self { manager, ocbs: OcbTable::new(), buffer: vec![0u8; RECEIVE_BUFFER] }
    }

    /// Open files right now.
    pub fn open_files(&self) -> usize {
        self.ocbs.len
    }

    /// Receives and handles one message or pulse on `channel`.
    pub fn handle_one(&mut self, channel: &Channel) -> Result<(), Errno> {
        match self.handle_next(channel, None)? {
            Some(answer) => answer.give(),
            None => Ok(()),
        }
    }

    /// Serves forever (or until receiving fails: the channel is gone, `ESRCH`, or the
    /// `chid` is bad). Each answer is given in the same kernel entry as the next receive
    /// ([`Channel::reply_and_receive_with_info`]).
    pub fn serve(&mut self, channel: &Channel) -> Errno {
        let mut owed = None;
        loop {
            match self.handle_next(channel, owed.take()) {
                Ok(answer) => owed = answer,
                Err(e) if matches!(e, Errno::EBADF | Errno::EINVAL | Errno::ESRCH) => return e,
                Err(_) => {}
            }
        }
    }

    /// Gives `owed` (if any) and receives the next message or pulse on `channel`, in one
    /// kernel entry, and handles it; returns the answer it owes, if the handler gave one
    /// (an error is answered at once: it is not fused). Fails only if the receive does:
    /// a client that went meanwhile is no failure of the server's.
    fn handle_next(&mut self, channel: &Channel, owed: Option<Answer>) -> Result<Option<Answer>, Errno> {
        let mut info = MsgInfo::default();
        let received = match owed {
            Some(Answer { message, status, data }) => {
                channel.reply_and_receive_with_info(message, status, &data, &mut self.buffer, &mut info)
            }
            None => channel.receive_with_info(&mut self.buffer, &mut info),
        };
        let message = match received? {
            Received::Pulse(pulse) => {
                self.handle_pulse(pulse);
                return Ok(None);
            }
            Received::Message(message) => message,
        };
        // (Taken apart: the request borrows the buffer while the handlers run.)
        let Self { manager, ocbs, buffer } = self;
        let Some(header) = Header::from_bytes(&buffer[..info.msglen as usize]) else {
            let _ = message.error(Errno::EBADMSG);
            return Ok(None);
        };
        let sent = (info.srcmsglen as usize).saturating_sub(Header::SIZE);
        let taken = sent.min(MAX_PAYLOAD);
        let have = (info.msglen as usize - Header::SIZE).min(taken);
        let head = &buffer[Header::SIZE..Header::SIZE + have];
        let payload = match have < taken {
            false => Cow::Borrowed(head),
            true => match read_long(&message, head, taken) {
                Ok(long) => Cow::Owned(long),
                Err(e) => {
                    let _ = message.error(e);
                    return Ok(None);
                }
            },
        };
        let client = Client { pid: info.pid, scoid: info.scoid, coid: info.coid, priority: info.priority as u8 };
        let reply_room = info.dstmsglen as usize;
        let request = Request { header, client, payload, sent, reply_room, message: Some(message) };
        Ok(Self::handle_request(manager, ocbs, request))
    }

    fn handle_pulse(&mut self, pulse: Pulse) {
        match pulse.code {
            pulse_code::DISCONNECT => {
                // First what it was waiting for goes, then its files close.
                self.manager.disconnected(pulse.scoid);
                for ocb in self.ocbs.remove_client(pulse.scoid) {
                    self.manager.close(ocb);
                }
                let _ = crate::ipc::detach_client(pulse.scoid);
            }
            pulse_code::UNBLOCK => self.manager.unblock(pulse.value),
            _ => self.manager.pulse(pulse),
        }
    }

    /// (Inlined into `handle_next`: measured, `make bench` pipe and mq round trips ~100
    /// instructions fewer.)
    #[inline(always)]
    fn handle_request(manager: &mut R, ocbs: &mut OcbTable<R::Ocb>, mut request: Request) -> Option<Answer> {
        let key = ocb_key(request.client.scoid, request.client.coid);
        let header = request.header;
        let result = match header.kind {
            io_type::CONNECT => Self::connect(manager, ocbs, &request, key).map(Reply::Status),
            io_type::CLOSE => match ocbs.remove(key) {
                Some(ocb) => {
                    manager.close(ocb);
                    Ok(Reply::Status(0))
                }
                None => Err(Errno::EBADF),
            },
            kind if (crate::msg::IO_BASE..crate::msg::FIRST_USER_TYPE).contains(&kind) => match ocbs.get_mut(key) {
                None => Err(Errno::EBADF),
                Some(ocb) => match kind {
                    io_type::READ => manager.read(ocb, &mut request),
                    io_type::WRITE => manager.write(ocb, &mut request),
                    io_type::LSEEK => manager.lseek(ocb, header.offset as i64, header.arg).map(Reply::Status),
                    io_type::STAT => manager.stat(ocb).map(|s| Reply::Data(0, s.to_bytes().to_vec())),
                    io_type::DEVCTL => manager.devctl(ocb, &mut request),
                    io_type::TRUNCATE => manager.truncate(ocb, header.size).map(|_| Reply::Status(0)),
                    io_type::MMAP => manager.mmap(ocb, &request).map(Reply::Status),
                    _ => manager.io_other(ocb, &mut request),
                },
            },
            _ => manager.other(&mut request),
        };
        let Some(message) = request.message.take() else {
            return None; // held
        };
        match result {
            Ok(Reply::Status(status)) => Some(Answer { message, status, data: Vec::new() }),
            Ok(Reply::Data(status, data)) => Some(Answer { message, status, data }),
            // The handler said it held the message but did not take it: answer, so the
            // client is not left waiting.
            Ok(Reply::Held) => {
                let _ = message.error(Errno::EIO);
                None
            }
            Err(e) => {
                let _ = message.error(e);
                None
            }
        }
    }

    fn connect(manager: &mut R, ocbs: &mut OcbTable<R::Ocb>, request: &Request, key: u64) -> Result<u64, Errno> {
        let header = request.header;
        match header.subtype {
            connect::OPEN | connect::OPEN_HANDLE => {
                if ocbs.contains_key(key) {
                    return Err(Errno::EBUSY); // this connection already is an open file
                }
                // (Access mode 3 is neither reading nor writing: POSIX's "oflag not valid".
                // Taken as read-only, `mq_open` with it gave a queue it could not write.)
                if header.arg & crate::msg::open_flags::O_ACCMODE == crate::msg::open_flags::O_ACCMODE {
                    return Err(Errno::EINVAL);
                }
                ocbs.may_open(request.client.scoid)?;
                let ocb = if header.subtype == connect::OPEN {
                    let path = request.path()?;
                    manager.open(request, path, header.arg, header.offset as u32)?
                } else {
                    manager.open_handle(request, header.size, header.arg)?
                };
                let status = manager.connect_status(&ocb);
                ocbs.insert(key, ocb);
                Ok(status)
            }
            connect::UNLINK => {
                let path = request.path()?;
                manager.unlink(request, path).map(|_| 0)
            }
            connect::MKDIR => {
                let path = request.path()?;
                manager.mkdir(request, path, header.offset as u32).map(|_| 0)
            }
            connect::RMDIR => {
                let path = request.path()?;
                manager.rmdir(request, path).map(|_| 0)
            }
            connect::MKFIFO => {
                let path = request.path()?;
                manager.make_fifo(request, path).map(|_| 0)
            }
            connect::RENAME => {
                let (from, to) = crate::msg::split_rename_payload(&request.payload)?;
                manager.rename(request, from, to).map(|_| 0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }
}

/// The payload of `message`, `sent` bytes of which `head` (the start) arrived in the
/// receive buffer: the rest is read from the sender into a buffer of its own, straight
/// into its spare room (zeroing up to 64 KiB first cost a `memset` of it per request).
#[cold]
fn read_long(message: &ReceivedMessage, head: &[u8], sent: usize) -> Result<Vec<u8>, Errno> {
    let mut long = Vec::with_capacity(sent);
    long.extend_from_slice(head);
    let room = &mut long.spare_capacity_mut()[..sent - head.len()];
    let parts = abi::ipc::single_buffer_parts(room.len());
    // (The offset counts from the start of the message, whose header comes first.)
    let offset = Header::SIZE + head.len();
    // SAFETY: `room` is the vector's spare capacity, writable memory that nothing else
    // reads or writes until the call returns.
    let n = unsafe { crate::sys::msg_readv(message.rcvid(), room.as_mut_ptr() as usize, parts, offset) }?;
    let n = n.min(room.len());
    // SAFETY: the kernel wrote the first `n` bytes of `room` (what it returns: bytes
    // copied, no more than `room` holds), right after the `head.len()` bytes already
    // in the vector, so its first `head.len() + n` bytes are initialized.
    unsafe { long.set_len(head.len() + n) };
    if long.len() < long.capacity() {
        // The sender's buffer shrank since the receive (another of its threads changed
        // it): keep no room a server counting what it holds by length would not see.
        long.shrink_to_fit();
    }
    Ok(long)
}
