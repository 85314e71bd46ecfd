//! The POSIX message-queue server (QNX's `mqueue`): queues live under `/dev/mqueue`
//! (`/name` is `/dev/mqueue/name`; names may hold more slashes), opened through the
//! pathname space like files. `mq_send` is a `WRITE` (priority in `arg`), `mq_receive` a
//! `READ` (the answer is the message; its status the length, with the priority in bits
//! 32-39 when the `READ` asks for it, as `mq_receive`'s does), attributes and
//! `mq_notify` are `DEVCTL`s. Sends and receives that must wait are held; a client that
//! unblocks (its timeout) gets `EINTR`, which userlib turns into `ETIMEDOUT`. A queue
//! lives until it is unlinked and closed by all; `stat` gives its message count.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};
use mqueue::{Answer, Attr, Budget, Completion, IfBlocked, Queue, DEFAULT_ATTR, MAX_NAME};
use userlib::abi::ipc::{channel_flags, SigEvent};
use userlib::ipc::{Channel, ReceivedMessage};
use userlib::msg::DirectoryCursor;
use userlib::msg::{
    file_kind, mq_attr_of_size, mq_devctl, open_flags, path_flags, Header, MqAttr, Stat, MQUEUE_DIR,
    MQ_DEADLINE_PASSED, MQ_READ_WITH_PRIORITY,
};
use userlib::proc;
use userlib::resmgr::{read_directory, Dispatcher, Reply, Request, ResourceManager};
use userlib::{println, Args, Errno};

/// Who to notify: their scoid (what names them to `MsgDeliverEvent` however long ago the
/// thread that asked ended: POSIX's `mq_notify` registers the process) and their event.
type Notification = (u32, SigEvent);

/// A held request: the message, and (for a receive) whether its answer carries the
/// priority ([`MQ_READ_WITH_PRIORITY`]).
type Ticket = (ReceivedMessage, bool);

struct Entry {
    queue: Queue<Ticket, Notification>,
    /// Whether its name is still in `Server::names` (not unlinked).
    linked: bool,
    opens: u32,
}

enum Ocb {
    /// `/dev/mqueue` (its name empty) or a directory of queues beneath it (`a` of `/a/b`),
    /// with its reader's place.
    /// (Boxed: the open queues' record, which every message reads, stays small.)
    Directory(Box<(String, DirectoryCursor)>),
    /// An open queue (its id, and the queue itself, shared with `Server::queues`: no
    /// lookup per message); `client` is the opener's scoid and `descriptor` the connection
    /// it opened (a notification asked for through it goes with it).
    Queue { id: u32, entry: Rc<RefCell<Entry>>, flags: u32, client: u32, descriptor: u32 },
}

struct Server {
    /// Every queue, linked or only still open, by id (what an open queue's OCB holds: no
    /// name lookup per message).
    queues: BTreeMap<u32, Rc<RefCell<Entry>>>,
    /// The linked queues' ids by name (unlinking removes the name at once).
    names: BTreeMap<String, u32>,
    next_id: u32,
    /// What the queues have reserved together.
    budget: Budget,
    /// What the queues finished, to answer (kept: no allocation per request).
    done: Vec<Completion<Ticket>>,
}

pub fn main(_args: Args) -> Result<(), Errno> {
    let channel = Channel::create(channel_flags::DISCONNECT | channel_flags::UNBLOCK)?;
    let _attached = proc::path_attach(MQUEUE_DIR, channel.chid(), path_flags::DIR)?;
    let mut dispatcher = Dispatcher::new(Server {
        queues: BTreeMap::new(),
        names: BTreeMap::new(),
        next_id: 1,
        budget: Budget::default(),
        done: Vec::new(),
    });
    let error = dispatcher.serve(&channel);
    println!("mqueue: receiving failed: {error}");
    Err(error)
}

/// Answers what finished, leaving `done` empty; `sent` is the message being sent, if any
/// (what an [`Answer::Passed`] refers to).
#[inline(always)]
fn answer(done: &mut Vec<Completion<Ticket>>, queue: &mut Queue<Ticket, Notification>, sent: &[u8]) {
    // (Checked here, inlined: half the requests finish nothing at once, and the call
    // with its saved registers cost more than the check.)
    if !done.is_empty() {
        answer_all(done, queue, sent);
    }
}

/// [`answer`], for a `done` that is not empty. The receives' answers are then settled
/// ([`Queue::settle`]), which may let waiting senders in (and finish more): a message a
/// receiver did not get (it died before the answer reached it, or its buffer was bad)
/// goes back to the queue for the next receiver, so nobody else loses data.
fn answer_all(done: &mut Vec<Completion<Ticket>>, queue: &mut Queue<Ticket, Notification>, sent: &[u8]) {
    loop {
        let (mut received, mut returned) = (false, Vec::new());
        for c in done.drain(..) {
            let (message, with_priority) = c.ticket;
            // A message's status carries its length and, above it if asked, its priority.
            let status = |length: usize, priority: u32| {
                let priority = if with_priority { (priority as u64) << 32 } else { 0 };
                length as u64 | priority
            };
            // A client that has gone makes the answer fail; a sender's or an error's
            // then needs nothing more.
            let _ = match c.result {
                Ok(Answer::Received(priority, data)) => {
                    let answered = message.reply(status(data.len(), priority), &data);
                    received = true;
                    match answered {
                        Ok(()) => queue.recycle(data),
                        Err(_) => returned.push((priority, data)),
                    }
                    answered
                }
                Ok(Answer::Passed(priority)) => {
                    let answered = message.reply(status(sent.len(), priority), sent);
                    received = true;
                    if answered.is_err() {
                        returned.push((priority, sent.to_vec()));
                    }
                    answered
                }
                Ok(Answer::Sent(length)) => message.reply(length as u64, &[]),
                Err(e) => message.error(e),
            };
        }
        if !received {
            return;
        }
        notify(queue.settle(returned, done));
        if done.is_empty() {
            return;
        }
    }
}

fn notify(notification: Option<Notification>) {
    if let Some((scoid, event)) = notification {
        let _ = userlib::ipc::deliver_event(scoid as u64, &event);
    }
}

/// What a `READ` or `WRITE` with `header` on a queue opened with `flags` does when it
/// cannot finish at once: fail (`O_NONBLOCK`, or a timed call past its deadline) or wait.
#[inline(always)]
fn if_blocked(flags: u32, header: &Header) -> IfBlocked {
    IfBlocked::of(flags & open_flags::O_NONBLOCK != 0, header.subtype & MQ_DEADLINE_PASSED != 0)
}

fn check_name(path: &str) -> Result<(), Errno> {
    if path.len() > MAX_NAME {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl Server {
    /// The open queue `ocb` holds, and its open flags.
    fn entry(ocb: &Ocb) -> Result<(RefMut<'_, Entry>, u32), Errno> {
        match ocb {
            Ocb::Queue { entry, flags, .. } => Ok((entry.borrow_mut(), *flags)),
            Ocb::Directory(_) => Err(Errno::EISDIR),
        }
    }

    fn attr(entry: &Entry, flags: u32) -> MqAttr {
        let a = entry.queue.attr();
        MqAttr {
            flags: (flags & open_flags::O_NONBLOCK) as u64,
            maxmsg: a.maxmsg as u64,
            msgsize: a.msgsize as u64,
            curmsgs: entry.queue.len() as u64,
        }
    }

    fn drop_if_unused(&mut self, id: u32) {
        if self.queues.get(&id).is_some_and(|e| !e.borrow().linked && e.borrow().opens == 0) {
            if let Some(gone) = self.queues.remove(&id) {
                self.budget.release(gone.borrow().queue.attr());
            }
        }
    }
}

impl ResourceManager for Server {
    type Ocb = Ocb;

    fn open(&mut self, request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Ocb, Errno> {
        if path.is_empty() {
            if flags & open_flags::O_ACCMODE != open_flags::O_RDONLY {
                return Err(Errno::EISDIR); // `/dev/mqueue` itself, opened to write
            }
            return Ok(Ocb::Directory(Box::new((String::new(), DirectoryCursor::default()))));
        }
        check_name(path)?;
        let existing = self.names.get(path).copied();
        if existing.is_none() {
            match mqueue::as_directory(&self.names, path) {
                // As `/dev/mqueue` itself: a directory is not made or opened to write.
                Ok(()) if flags & open_flags::O_CREAT != 0 || open_flags::writable(flags) => return Err(Errno::EISDIR),
                Ok(()) => return Ok(Ocb::Directory(Box::new((String::from(path), DirectoryCursor::default())))),
                Err(Errno::ENOENT) => {} // (made below, if asked)
                Err(e) => return Err(e),
            }
        }
        if existing.is_some() && flags & open_flags::O_CREAT != 0 && flags & open_flags::O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let id = match existing {
            Some(id) => id,
            None => {
                if flags & open_flags::O_CREAT == 0 {
                    return Err(Errno::ENOENT);
                }
                let attr = match mq_attr_of_size(request.header.size) {
                    None => DEFAULT_ATTR,
                    Some((maxmsg, msgsize)) => Attr::checked(maxmsg, msgsize)?,
                };
                self.budget.reserve(attr)?;
                // Ids are never reused while their queue lives (even after 2^32 of them).
                let mut id = self.next_id;
                while self.queues.contains_key(&id) {
                    id = id.wrapping_add(1);
                }
                self.next_id = id.wrapping_add(1);
                let entry = Entry { queue: Queue::new(attr), linked: true, opens: 0 };
                self.queues.insert(id, Rc::new(RefCell::new(entry)));
                self.names.insert(String::from(path), id);
                id
            }
        };
        let entry = Rc::clone(self.queues.get(&id).ok_or(Errno::EIO)?);
        entry.borrow_mut().opens += 1;
        Ok(Ocb::Queue { id, entry, flags, client: request.client.scoid, descriptor: request.client.coid })
    }

    fn unlink(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        let id = self.names.remove(path).ok_or(Errno::ENOENT)?;
        if let Some(entry) = self.queues.get(&id) {
            entry.borrow_mut().linked = false;
        }
        self.drop_if_unused(id);
        Ok(())
    }

    // (Receives and sends are inlined into the dispatcher's loop, and the queue's rules
    // into them, as the pipe server's reads and writes are.)
    #[inline(always)]
    fn read(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        if let Ocb::Directory(directory) = ocb {
            let (dir, next) = &mut **directory;
            let entries = mqueue::directory_entries(&self.names, dir);
            return read_directory(entries, next, request);
        }
        let (mut entry, flags) = Self::entry(ocb)?;
        if !open_flags::readable(flags) {
            return Err(Errno::EBADF);
        }
        let (client, room) = (request.client, request.header.size as usize);
        let message = (request.hold(), request.header.arg & MQ_READ_WITH_PRIORITY != 0);
        let if_blocked = if_blocked(flags, &request.header);
        entry.queue.receive(message, client.priority, client.scoid, room, if_blocked, &mut self.done);
        answer(&mut self.done, &mut entry.queue, &[]);
        Ok(Reply::Held)
    }

    #[inline(always)]
    fn write(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        let (mut entry, flags) = Self::entry(ocb)?;
        if !open_flags::writable(flags) {
            return Err(Errno::EBADF);
        }
        let (client, priority) = (request.client, request.header.arg);
        if request.payload.len() as u64 != request.header.size {
            return Err(Errno::EMSGSIZE); // longer than anything a queue takes
        }
        let message = (request.hold(), false);
        let if_blocked = if_blocked(flags, &request.header);
        // (The queue takes the payload unless it is passed to a waiting receiver: then it
        // is answered out of it.)
        let data = &mut request.payload;
        let notification =
            entry.queue.send(message, client.priority, client.scoid, (priority, data), if_blocked, &mut self.done);
        answer(&mut self.done, &mut entry.queue, data);
        notify(notification);
        Ok(Reply::Held)
    }

    fn stat(&mut self, ocb: &mut Ocb) -> Result<Stat, Errno> {
        match ocb {
            Ocb::Directory(_) => Ok(Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o777 }),
            Ocb::Queue { entry, .. } => {
                let size = entry.borrow().queue.len() as u64;
                Ok(Stat { size, kind: file_kind::FILE, mode: 0o666 })
            }
        }
    }

    fn devctl(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        let (client, descriptor) = (request.client.scoid, request.client.coid);
        let payload = &request.payload;
        let (mut entry, flags) = Self::entry(ocb)?;
        match request.header.arg {
            mq_devctl::GETATTR => Ok(Reply::Data(0, Self::attr(&entry, flags).to_bytes().to_vec())),
            mq_devctl::SETATTR => {
                let old = Self::attr(&entry, flags);
                drop(entry);
                let new = u64::from_le_bytes(payload.get(..8).ok_or(Errno::EINVAL)?.try_into().expect("8 bytes"));
                if let Ocb::Queue { flags, .. } = ocb {
                    *flags = (*flags & !open_flags::O_NONBLOCK) | (new as u32 & open_flags::O_NONBLOCK);
                }
                Ok(Reply::Data(0, old.to_bytes().to_vec()))
            }
            mq_devctl::NOTIFY => {
                let event = match payload.len() {
                    0 => None,
                    _ => Some((client, SigEvent::from_bytes(payload).ok_or(Errno::EINVAL)?)),
                };
                entry.queue.notify(client, descriptor, event).map(|_| Reply::Status(0))
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn close(&mut self, ocb: Ocb) {
        if let Ocb::Queue { id, entry, client, descriptor, .. } = ocb {
            {
                let entry = &mut *entry.borrow_mut();
                entry.opens -= 1;
                entry.queue.descriptor_closed(client, descriptor);
            }
            self.drop_if_unused(id);
        }
    }

    fn unblock(&mut self, rcvid: u64) {
        for entry in self.queues.values() {
            let entry = &mut *entry.borrow_mut();
            if let Some(c) = entry.queue.cancel(|(m, _)| m.rcvid() == rcvid) {
                self.done.push(c);
                answer(&mut self.done, &mut entry.queue, &[]);
                return;
            }
        }
    }

    fn disconnected(&mut self, scoid: u32) {
        for entry in self.queues.values() {
            drop(entry.borrow_mut().queue.forget(scoid));
        }
    }
}
