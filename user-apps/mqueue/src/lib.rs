//! One message queue's rules, free of system calls so the host can test them (the
//! server around them is `server.rs`). A [`Queue`] keeps its messages highest priority
//! first, FIFO within a priority, and the sends and receives that must wait, each with a
//! ticket (in the server: the held message) that comes back in a [`Completion`].
//!
//! POSIX semantics: a message longer than the queue's `msgsize` is `EMSGSIZE`, and so is
//! a receive buffer shorter than it; a full queue makes senders wait (`EAGAIN` with
//! `O_NONBLOCK`), an empty one receivers; waiters are served by priority, then arrival.
//! One process at a time may ask to be notified (`mq_notify`) when a message arrives in
//! an empty queue that nobody is waiting on; the notification then fires once and the
//! registration is gone.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::ops::Bound;
use userlib::waitqueue::WaitQueue;
use userlib::Errno;

/// Message priorities are `0..MQ_PRIO_MAX`.
pub const MQ_PRIO_MAX: u32 = 32;
/// Most messages a queue may hold.
pub const MAX_MAXMSG: usize = 1024;
/// Largest message a queue may be made for.
pub const MAX_MSGSIZE: usize = 64 * 1024;
/// What a queue created without attributes gets.
pub const DEFAULT_ATTR: Attr = Attr { maxmsg: 64, msgsize: 1024 };

/// Most queues the server keeps at once (linked, or unlinked and still open).
pub const MAX_QUEUES: usize = 1024;
/// Most bytes the server's queues may be made to hold together: each queue reserves
/// what its messages can take at most ([`Attr::reserved_bytes`]) when it is made, so no
/// client can make the server run out of memory and lose everyone's queues.
pub const MAX_RESERVED_BYTES: usize = 32 << 20;
/// What one queued message costs the server beyond its buffer, counted in each queue's
/// reservation: its slot in the queue's heap (40 bytes, up to twice over as the heap
/// grows by doubling, and that allocation rounded up to a power of two).
pub const MESSAGE_OVERHEAD: usize = 128;
/// Longest queue name, in bytes (without the leading `/`): 243, so that its path
/// `/dev/mqueue/NAME` is at most [`userlib::msg::MAX_PATH`] (a client sending `CONNECT`
/// itself got longer ones past userlib's check).
pub const MAX_NAME: usize = userlib::msg::MAX_PATH - userlib::msg::MQUEUE_DIR.len() - 1;
/// A queue keeps one answered message's buffer of at most this many bytes for the next
/// message ([`Queue::recycle`]): at most 1 KiB per queue beyond its reservation.
pub const SPARE_BYTES: usize = 1024;

/// The entries of directory `dir` of the queues `names` names: queue `/a/b/c` makes `a`
/// and `a/b` directories, as QNX's `/dev/mqueue/a/b/c` does, so `dir` is `""`
/// (`/dev/mqueue` itself), `"a"` or `"a/b"`. Each entry is the next component of a name
/// beneath `dir`, once (a readdir name holds no `/`: `a/b/c` listed whole
/// was a name `ls` could not take apart, and `ls /dev/mqueue/a` found nothing).
pub fn directory_entries<'a, T>(names: &'a BTreeMap<String, T>, dir: &str) -> Vec<&'a str> {
    let beneath: Vec<&str> = match dir {
        "" => names.keys().map(String::as_str).collect(),
        dir => {
            let from = alloc::format!("{dir}/");
            names
                .range::<str, _>((Bound::Included(from.as_str()), Bound::Unbounded))
                .map_while(|(name, _)| name.strip_prefix(from.as_str()))
                .collect()
        }
    };
    let mut entries: Vec<&str> = beneath.into_iter().filter_map(|rest| rest.split('/').next()).collect();
    entries.dedup(); // (the names beneath one entry, `e/…`, are neighbours in byte order)
    entries
}

/// `path`, which names no queue, as a directory of the queues `names` names: there if a
/// queue's name continues it with `/`; `ENOTDIR` beneath a queue (a queue is no
/// directory), else `ENOENT`.
pub fn as_directory<T>(names: &BTreeMap<String, T>, path: &str) -> Result<(), Errno> {
    let ancestors = path.match_indices('/').map(|(at, _)| &path[..at]);
    if ancestors.into_iter().any(|ancestor| names.contains_key(ancestor)) {
        return Err(Errno::ENOTDIR);
    }
    let from = alloc::format!("{path}/");
    match names.range::<str, _>((Bound::Included(from.as_str()), Bound::Unbounded)).next() {
        Some((name, _)) if name.starts_with(from.as_str()) => Ok(()),
        _ => Err(Errno::ENOENT),
    }
}

/// A queue's fixed attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// Most messages it holds.
    pub maxmsg: usize,
    /// Largest message.
    pub msgsize: usize,
}

impl Attr {
    /// Checks requested attributes (`EINVAL` for 0 or beyond the limits).
    pub fn checked(maxmsg: usize, msgsize: usize) -> Result<Attr, Errno> {
        if maxmsg == 0 || msgsize == 0 || maxmsg > MAX_MAXMSG || msgsize > MAX_MSGSIZE {
            return Err(Errno::EINVAL);
        }
        Ok(Attr { maxmsg, msgsize })
    }

    /// What a queue of these attributes may take of the server's memory when full: a
    /// message's buffer is a heap block, a power of two (a message of 16 KiB + 1 takes
    /// 32 KiB), and its bookkeeping [`MESSAGE_OVERHEAD`].
    pub fn reserved_bytes(&self) -> usize {
        self.maxmsg * (self.msgsize.next_power_of_two() + MESSAGE_OVERHEAD)
    }
}

/// What the server's queues have reserved together, within [`MAX_QUEUES`] and
/// [`MAX_RESERVED_BYTES`].
#[derive(Debug, Default)]
pub struct Budget {
    queues: usize,
    bytes: usize,
}

impl Budget {
    /// Reserves room for one more queue of `attr`: `ENFILE` when [`MAX_QUEUES`] exist,
    /// `ENOSPC` when its messages would take the total past [`MAX_RESERVED_BYTES`].
    pub fn reserve(&mut self, attr: Attr) -> Result<(), Errno> {
        if self.queues >= MAX_QUEUES {
            return Err(Errno::ENFILE);
        }
        let bytes = self.bytes + attr.reserved_bytes();
        if bytes > MAX_RESERVED_BYTES {
            return Err(Errno::ENOSPC);
        }
        (self.queues, self.bytes) = (self.queues + 1, bytes);
        Ok(())
    }

    /// Gives back a queue's reservation (it is gone).
    pub fn release(&mut self, attr: Attr) {
        self.queues -= 1;
        self.bytes -= attr.reserved_bytes();
    }

    /// Queues reserved now.
    pub fn queues(&self) -> usize {
        self.queues
    }
}

/// What a finished request answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A received message and its priority.
    Received(u32, Vec<u8>),
    /// A received message, of this priority: the one being sent, which the sender's
    /// caller still holds (handed over without a copy; only [`Queue::send`] answers so).
    Passed(u32),
    /// A send of this many bytes went in (what a `write` answers).
    Sent(usize),
}

/// What a send or receive that cannot finish at once (the queue is full, or empty) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfBlocked {
    /// It waits, until it can finish or its client unblocks.
    Wait,
    /// It fails at once with this error.
    Fail(Errno),
}

impl IfBlocked {
    /// For a descriptor opened with `O_NONBLOCK` or not, and a request whose deadline
    /// (`mq_timedsend`, `mq_timedreceive`) has passed already or not: `EAGAIN` with
    /// `O_NONBLOCK`, else `ETIMEDOUT` past the deadline, else it waits. Only a request that
    /// would wait fails so: POSIX's timed calls never time out while they can finish at
    /// once.
    pub fn of(nonblock: bool, deadline_passed: bool) -> Self {
        match (nonblock, deadline_passed) {
            (true, _) => IfBlocked::Fail(Errno::EAGAIN),
            (false, true) => IfBlocked::Fail(Errno::ETIMEDOUT),
            (false, false) => IfBlocked::Wait,
        }
    }
}

/// A request that finished, for its ticket's owner to answer.
pub type Completion<T> = userlib::waitqueue::Completion<T, Answer>;

#[derive(Debug)]
struct Waiter<T> {
    ticket: T,
    client: u32,
    /// A send's message and its priority.
    message: Option<(u32, Vec<u8>)>,
}

/// A queue's messages in one binary heap, highest priority then oldest on top: taking
/// the first and adding one cost a few compares (a `BTreeMap` keyed by priority and
/// arrival cost ~50 instructions each), and the heap's room, one allocation, never
/// exceeds twice the most messages the queue held (what its reservation counts), however
/// they spread over the priorities.
#[derive(Debug)]
struct Messages {
    heap: BinaryHeap<Held>,
    /// The last arrival number given (the order among equal priorities): counts up from
    /// [`FIRST_ARRIVAL`] for messages sent, down from it for those given back.
    arrivals: u64,
    /// The earliest arrival number given (to a message given back, or the first sent).
    earliest: u64,
}

/// The arrival number of the first message sent.
const FIRST_ARRIVAL: u64 = 1 << 63;

impl Default for Messages {
    fn default() -> Self {
        Self { heap: BinaryHeap::new(), arrivals: FIRST_ARRIVAL - 1, earliest: FIRST_ARRIVAL }
    }
}

/// A queued message, ordered by priority, then by arrival (the earlier first).
#[derive(Debug)]
struct Held {
    priority: u32,
    arrival: Reverse<u64>,
    data: Vec<u8>,
}

impl Held {
    fn key(&self) -> (u32, Reverse<u64>) {
        (self.priority, self.arrival)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Messages {
    /// Adds `data` behind the others of `priority`.
    fn push(&mut self, priority: u32, data: Vec<u8>) {
        self.arrivals += 1;
        self.heap.push(Held { priority, arrival: Reverse(self.arrivals), data });
    }

    /// Adds `data` before the others of `priority` (a message taken, then given back).
    fn push_front(&mut self, priority: u32, data: Vec<u8>) {
        self.earliest -= 1;
        self.heap.push(Held { priority, arrival: Reverse(self.earliest), data });
    }

    /// Takes the oldest of the highest priority, with its priority. (The usual case of
    /// a receive, an empty queue, is told inline.)
    #[inline(always)]
    fn pop_first(&mut self) -> Option<(u32, Vec<u8>)> {
        if self.heap.is_empty() {
            return None;
        }
        self.pop_some()
    }

    /// [`Messages::pop_first`] from a queue that is not empty.
    fn pop_some(&mut self) -> Option<(u32, Vec<u8>)> {
        self.heap.pop().map(|held| (held.priority, held.data))
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A notification registration: who asked, through which of its descriptors (it goes
/// when that one closes), and what to deliver.
#[derive(Debug)]
struct Registration<N> {
    client: u32,
    descriptor: u32,
    event: N,
}

/// One queue; `N` is what a notification registration holds.
#[derive(Debug)]
pub struct Queue<T, N> {
    attr: Attr,
    messages: Messages,
    receivers: WaitQueue<Waiter<T>>,
    senders: WaitQueue<Waiter<T>>,
    notify: Option<Registration<N>>,
    /// An answered message's buffer, for the next message ([`Queue::recycle`]).
    spare: Vec<u8>,
}

impl<T, N> Queue<T, N> {
    /// An empty queue.
    pub fn new(attr: Attr) -> Self {
        Self {
            attr,
            messages: Messages::default(),
            receivers: WaitQueue::new(),
            senders: WaitQueue::new(),
            notify: None,
            spare: Vec::new(),
        }
    }

    /// Gives back the buffer of an answered message, so that the next message needs no
    /// allocation (small buffers only: see [`SPARE_BYTES`]).
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if bytes.capacity() <= SPARE_BYTES && bytes.capacity() > self.spare.capacity() {
            self.spare = bytes;
        }
    }

    /// `data` in a buffer of the queue's own: moved if it is one already (a long
    /// payload the server read apart), else copied (into the spare one if it is big
    /// enough).
    fn owned(&mut self, data: Cow<'_, [u8]>) -> Vec<u8> {
        let data = match data {
            Cow::Owned(bytes) => return bytes,
            Cow::Borrowed(data) => data,
        };
        let mut bytes = if self.spare.capacity() >= data.len() { core::mem::take(&mut self.spare) } else { Vec::new() };
        bytes.clear();
        bytes.extend_from_slice(data);
        bytes
    }

    /// Its attributes.
    pub fn attr(&self) -> Attr {
        self.attr
    }

    /// Messages in it now.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when it holds no message.
    pub fn is_empty(&self) -> bool {
        self.messages.heap.is_empty()
    }

    /// A send of `data` at message priority `priority` by a client of thread priority
    /// `client_priority`. Adds what finished to `done` (this send too, unless it waits);
    /// returns the notification to deliver, if one fires. A message that goes into the
    /// queue or waits is taken out of `data` (leaving it empty); one passed straight to
    /// a waiting receiver ([`Answer::Passed`]) is left to the caller. `if_blocked` says
    /// what it does when the queue is full.
    #[inline(always)]
    pub fn send(
        &mut self,
        ticket: T,
        client_priority: u8,
        client: u32,
        (priority, data): (u32, &mut Cow<'_, [u8]>),
        if_blocked: IfBlocked,
        done: &mut Vec<Completion<T>>,
    ) -> Option<N> {
        let mut now = |ticket, result| done.push(Completion { ticket, result });
        if data.len() > self.attr.msgsize {
            now(ticket, Err(Errno::EMSGSIZE));
            return None;
        }
        if priority >= MQ_PRIO_MAX {
            now(ticket, Err(Errno::EINVAL));
            return None;
        }
        if let Some(r) = self.receivers.pop_first() {
            // Somebody waits: the message goes straight to it. (The sender is answered
            // first, as a pipe answers a write before the read it feeds: ready first, it
            // runs first at equal priorities.)
            done.push(Completion { ticket, result: Ok(Answer::Sent(data.len())) });
            done.push(Completion { ticket: r.ticket, result: Ok(Answer::Passed(priority)) });
            return None;
        }
        if self.messages.len() < self.attr.maxmsg && self.senders.is_empty() {
            let was_empty = self.is_empty();
            let data = self.owned(core::mem::take(data));
            now(ticket, Ok(Answer::Sent(data.len())));
            self.messages.push(priority, data);
            return if was_empty { self.notify.take().map(|r| r.event) } else { None };
        }
        if let IfBlocked::Fail(e) = if_blocked {
            now(ticket, Err(e));
            return None;
        }
        let data = self.owned(core::mem::take(data));
        self.senders.push(client_priority, Waiter { ticket, client, message: Some((priority, data)) });
        None
    }

    /// A receive into a buffer of `room` bytes by a client of thread priority
    /// `client_priority`. Adds what finished to `done` (this receive too, unless it waits);
    /// `if_blocked` says what it does when the queue is empty. (Inlined, as [`Queue::send`] is, into the server's one caller.)
    #[inline(always)]
    pub fn receive(
        &mut self,
        ticket: T,
        client_priority: u8,
        client: u32,
        room: usize,
        if_blocked: IfBlocked,
        done: &mut Vec<Completion<T>>,
    ) {
        if room < self.attr.msgsize {
            return done.push(Completion { ticket, result: Err(Errno::EMSGSIZE) });
        }
        if let Some((priority, data)) = self.messages.pop_first() {
            // (Its room goes to a waiting sender once the answer is settled.)
            return done.push(Completion { ticket, result: Ok(Answer::Received(priority, data)) });
        }
        if let IfBlocked::Fail(e) = if_blocked {
            return done.push(Completion { ticket, result: Err(e) });
        }
        self.receivers.push(client_priority, Waiter { ticket, client, message: None });
    }

    /// Settles the answers of receives ([`Answer::Received`], [`Answer::Passed`]):
    /// `returned` are the messages that did not reach their receivers (the receiver died
    /// before the answer reached it, or its buffer was bad), in the order they were
    /// received. Those go back — to the first receiver waiting, else to the front of their
    /// priority — and then the room left lets waiting senders in, adding what finished to
    /// `done`. Returns the notification to deliver, if one fires (as for a send to an
    /// empty queue). Senders get in only here, once the answers are settled, so messages
    /// given back never make the queue hold more than `maxmsg`.
    #[inline(always)]
    pub fn settle(&mut self, returned: Vec<(u32, Vec<u8>)>, done: &mut Vec<Completion<T>>) -> Option<N> {
        if returned.is_empty() && self.senders.is_empty() {
            return None; // (the usual case, told inline)
        }
        self.give_back_and_let_in(returned, done)
    }

    /// [`Queue::settle`], when there is something to give back or somebody to let in.
    fn give_back_and_let_in(&mut self, returned: Vec<(u32, Vec<u8>)>, done: &mut Vec<Completion<T>>) -> Option<N> {
        let mut notification = None;
        // The latest first: each goes to the front of its priority.
        for (priority, data) in returned.into_iter().rev() {
            if let Some(r) = self.receivers.pop_first() {
                done.push(Completion { ticket: r.ticket, result: Ok(Answer::Received(priority, data)) });
                continue;
            }
            if self.is_empty() {
                notification = notification.or(self.notify.take().map(|r| r.event));
            }
            self.messages.push_front(priority, data);
        }
        while self.messages.len() < self.attr.maxmsg {
            let Some(s) = self.senders.pop_first() else { break };
            let (priority, data) = s.message.expect("senders carry a message");
            done.push(Completion { ticket: s.ticket, result: Ok(Answer::Sent(data.len())) });
            self.messages.push(priority, data);
        }
        notification
    }

    /// Registers `client`, asking through its descriptor `descriptor`, to be notified
    /// with `event`: `EBUSY` while any client is registered, the caller too (POSIX's
    /// `mq_notify`). `None` removes the caller's registration (another's stays: no error).
    pub fn notify(&mut self, client: u32, descriptor: u32, event: Option<N>) -> Result<(), Errno> {
        match (&self.notify, event) {
            (Some(r), None) if r.client == client => {
                self.notify = None;
                Ok(())
            }
            (_, None) => Ok(()), // (none of its own to remove)
            // POSIX: while any process is registered, the caller too, others fail.
            (Some(_), Some(_)) => Err(Errno::EBUSY),
            (None, Some(event)) => {
                self.notify = Some(Registration { client, descriptor, event });
                Ok(())
            }
        }
    }

    /// Drops `client`'s registration, if it has one (it has gone).
    pub fn drop_notification(&mut self, client: u32) {
        if self.notify.as_ref().is_some_and(|r| r.client == client) {
            self.notify = None;
        }
    }

    /// `client` closed its descriptor `descriptor` of the queue: drops its registration
    /// if it was made through that one (as POSIX's `mq_close` says; its other
    /// descriptors keep it).
    pub fn descriptor_closed(&mut self, client: u32, descriptor: u32) {
        if self.notify.as_ref().is_some_and(|r| (r.client, r.descriptor) == (client, descriptor)) {
            self.notify = None;
        }
    }

    /// Ends the waiting request whose ticket `is` picks, with `EINTR`.
    pub fn cancel(&mut self, is: impl Fn(&T) -> bool) -> Option<Completion<T>> {
        let w = self.receivers.take_where(|w| is(&w.ticket)).or_else(|| self.senders.take_where(|w| is(&w.ticket)))?;
        Some(Completion { ticket: w.ticket, result: Err(Errno::EINTR) })
    }

    /// Drops every waiting request of `client` (it has gone), returning their tickets.
    pub fn forget(&mut self, client: u32) -> Vec<T> {
        let mut gone: Vec<T> =
            self.receivers.take_all_where(|w| w.client == client).into_iter().map(|w| w.ticket).collect();
        gone.extend(self.senders.take_all_where(|w| w.client == client).into_iter().map(|w| w.ticket));
        self.drop_notification(client);
        gone
    }

    /// Requests waiting (receives, sends).
    pub fn waiting(&self) -> (usize, usize) {
        (self.receivers.len(), self.senders.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    type Q = Queue<u32, &'static str>;

    /// A send; what finished and the notification.
    fn send(
        q: &mut Q,
        t: u32,
        cp: u8,
        c: u32,
        p: u32,
        data: Vec<u8>,
        nb: bool,
    ) -> (Vec<Completion<u32>>, Option<&'static str>) {
        let mut done = Vec::new();
        let notification = q.send(t, cp, c, (p, &mut Cow::Borrowed(&data)), IfBlocked::of(nb, false), &mut done);
        // A passed message is answered out of the sender's data (as the server does).
        for c in &mut done {
            if let Ok(Answer::Passed(p)) = c.result {
                c.result = Ok(Answer::Received(p, data.clone()));
            }
        }
        settle_all(q, &mut done);
        (done, notification)
    }

    /// A receive; what finished, the answers settled.
    fn receive(q: &mut Q, t: u32, cp: u8, c: u32, room: usize, nb: bool) -> Vec<Completion<u32>> {
        let mut done = Vec::new();
        q.receive(t, cp, c, room, IfBlocked::of(nb, false), &mut done);
        settle_all(q, &mut done);
        done
    }

    /// Settles the receives' answers in `done` as the server does when they all reach
    /// their receivers (which may finish more).
    fn settle_all(q: &mut Q, done: &mut Vec<Completion<u32>>) {
        let mut from = 0;
        while from < done.len() {
            let received = done[from..].iter().any(|c| matches!(c.result, Ok(Answer::Received(..))));
            from = done.len();
            if received {
                assert_eq!(q.settle(Vec::new(), done), None, "nothing given back");
            }
        }
    }

    fn tickets(done: &[Completion<u32>]) -> Vec<u32> {
        done.iter().map(|c| c.ticket).collect()
    }

    #[test]
    fn names_with_slashes_make_directories_listed_a_component_at_a_time() {
        // (A review found /dev/mqueue listing `deep/er/queue` whole, and `ls
        // /dev/mqueue/deep` failing: QNX's queue /acme/data is `data` in directory `acme`.)
        let names: BTreeMap<String, u32> =
            ["deep/er/queue", "deep/er/other", "deep/x", "deepest", "top"].into_iter().map(|n| (n.into(), 0)).collect();
        assert_eq!(directory_entries(&names, ""), ["deep", "deepest", "top"]);
        assert_eq!(directory_entries(&names, "deep"), ["er", "x"]);
        assert_eq!(directory_entries(&names, "deep/er"), ["other", "queue"]);
        assert_eq!(directory_entries(&names, "top"), Vec::<&str>::new());
        assert_eq!(as_directory(&names, "deep"), Ok(()));
        assert_eq!(as_directory(&names, "deep/er"), Ok(()));
        assert_eq!(as_directory(&names, "dee"), Err(Errno::ENOENT), "a prefix of a name is no directory");
        assert_eq!(as_directory(&names, "deep/er/queue/x"), Err(Errno::ENOTDIR), "beneath a queue");
        assert_eq!(as_directory(&names, "top/x"), Err(Errno::ENOTDIR));
        assert_eq!(as_directory(&names, "nothing/here"), Err(Errno::ENOENT));
    }

    #[test]
    fn budget_bounds_queues_and_bytes_and_gives_them_back() {
        let mut b = Budget::default();
        let biggest = Attr::checked(MAX_MAXMSG, MAX_MSGSIZE).unwrap();
        assert_eq!(b.reserve(biggest), Err(Errno::ENOSPC), "one queue may not take everything");
        let half = Attr::checked(248, 64 * 1024).unwrap();
        assert!(half.reserved_bytes() <= MAX_RESERVED_BYTES / 2);
        assert_eq!(b.reserve(half), Ok(()));
        assert_eq!(b.reserve(half), Ok(()));
        let rest = MAX_RESERVED_BYTES - 2 * half.reserved_bytes();
        let last = Attr::checked(rest / (1024 + MESSAGE_OVERHEAD), 1024).unwrap();
        assert_eq!(b.reserve(last), Ok(()));
        let one = Attr::checked(1, 1).unwrap();
        assert_eq!(b.reserve(one), Err(Errno::ENOSPC), "the bytes are all reserved");
        b.release(last);
        b.release(half);
        b.release(half);
        for _ in 0..MAX_QUEUES {
            assert_eq!(b.reserve(one), Ok(()));
        }
        assert_eq!(b.reserve(one), Err(Errno::ENFILE));
        assert_eq!(b.queues(), MAX_QUEUES);
        b.release(one);
        assert_eq!(b.reserve(one), Ok(()), "a queue gone makes room");
        // Small messages count their overhead: a queue of 1-byte messages is not free.
        assert_eq!(Attr::checked(1024, 1).unwrap().reserved_bytes(), 1024 * (1 + MESSAGE_OVERHEAD));
    }

    #[test]
    fn a_reservation_counts_the_heap_blocks_messages_take() {
        // (A review found queues of 16 KiB + 1 byte messages reserving 16 KiB + 128 each
        // while the buddy heap gives each a 32 KiB block: full, the queues took nearly
        // twice the 32 MiB they were allowed.)
        let odd = Attr::checked(1024, 16 * 1024 + 1).unwrap();
        assert_eq!(odd.reserved_bytes(), 1024 * (32 * 1024 + MESSAGE_OVERHEAD));
        let mut b = Budget::default();
        let eighth = Attr::checked(1024, 4 * 1024 - MESSAGE_OVERHEAD).unwrap();
        let made = (0..16).filter(|_| b.reserve(eighth).is_ok()).count();
        assert_eq!(made, 7, "4 KiB blocks and their bookkeeping: seven queues of 1,024 in 32 MiB");
    }

    fn received(c: &Completion<u32>) -> (u32, Vec<u8>) {
        match &c.result {
            Ok(Answer::Received(p, d)) => (*p, d.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn highest_priority_first_fifo_within() {
        let mut q = Q::new(Attr::checked(8, 16).unwrap());
        for (t, (prio, text)) in [(1, b"a1"), (5, b"b5"), (1, b"c1"), (31, b"d9"), (5, b"e5")].iter().enumerate() {
            let (done, _) = send(&mut q, t as u32, 10, 0, *prio, text.to_vec(), false);
            assert_eq!(done[0].result, Ok(Answer::Sent(2)), "a write answers its length");
        }
        let order: Vec<Vec<u8>> = (0..5).map(|t| received(&receive(&mut q, 100 + t, 10, 0, 16, false)[0]).1).collect();
        assert_eq!(order, [b"d9", b"b5", b"e5", b"a1", b"c1"].map(|s| s.to_vec()));
        assert_eq!(send(&mut q, 9, 10, 0, MQ_PRIO_MAX, b"x".to_vec(), false).0[0].result, Err(Errno::EINVAL));
    }

    #[test]
    fn sizes_full_and_empty() {
        let mut q = Q::new(Attr::checked(2, 4).unwrap());
        assert_eq!(send(&mut q, 1, 10, 0, 0, b"12345".to_vec(), false).0[0].result, Err(Errno::EMSGSIZE));
        assert_eq!(receive(&mut q, 2, 10, 0, 3, false)[0].result, Err(Errno::EMSGSIZE), "buffer below msgsize");
        assert_eq!(receive(&mut q, 3, 10, 0, 4, true)[0].result, Err(Errno::EAGAIN));
        send(&mut q, 4, 10, 0, 0, b"a".to_vec(), false);
        send(&mut q, 5, 10, 0, 0, b"b".to_vec(), false);
        assert_eq!(send(&mut q, 6, 10, 0, 0, b"c".to_vec(), true).0[0].result, Err(Errno::EAGAIN), "full");
        assert!(send(&mut q, 7, 3, 0, 0, b"low".to_vec(), false).0.is_empty(), "waits");
        assert!(send(&mut q, 8, 9, 0, 0, b"hi".to_vec(), false).0.is_empty(), "waits");
        let done = receive(&mut q, 9, 10, 0, 4, false);
        assert_eq!(tickets(&done), [9, 8], "the higher-priority sender gets the room");
        assert_eq!(q.len(), 2);
        assert_eq!(Attr::checked(0, 1), Err(Errno::EINVAL));
        assert_eq!(Attr::checked(1, MAX_MSGSIZE + 1), Err(Errno::EINVAL));
    }

    #[test]
    fn waiting_receivers_by_priority_and_cancel() {
        let mut q = Q::new(DEFAULT_ATTR);
        assert!(receive(&mut q, 1, 5, 0, 1024, false).is_empty());
        assert!(receive(&mut q, 2, 20, 0, 1024, false).is_empty());
        assert!(receive(&mut q, 3, 20, 7, 1024, false).is_empty());
        let (done, _) = send(&mut q, 4, 1, 0, 3, b"m".to_vec(), false);
        assert_eq!(tickets(&done), [4, 2], "the sender answered first");
        assert_eq!(received(&done[1]), (3, b"m".to_vec()));
        assert_eq!(q.cancel(|t| *t == 1).map(|c| c.result), Some(Err(Errno::EINTR)));
        assert_eq!(q.forget(7), [3]);
        assert_eq!(q.waiting(), (0, 0));
    }

    #[test]
    fn a_message_its_receiver_did_not_get_goes_back_first_in_its_priority() {
        let mut q = Q::new(Attr::checked(2, 8).unwrap());
        send(&mut q, 1, 10, 0, 5, b"a".to_vec(), false);
        send(&mut q, 2, 10, 0, 5, b"b".to_vec(), false);
        assert!(send(&mut q, 3, 10, 0, 5, b"c".to_vec(), false).0.is_empty(), "full: waits");
        // Two receivers take "a" and "b"; until their answers are settled the sender
        // still waits. Neither got its message (say they died): they go back, in order.
        let mut done = Vec::new();
        q.receive(4, 10, 0, 8, IfBlocked::Wait, &mut done);
        q.receive(5, 10, 0, 8, IfBlocked::Wait, &mut done);
        assert_eq!(tickets(&done), [4, 5]);
        let mut again = Vec::new();
        assert_eq!(q.settle(vec![(5, b"a".to_vec()), (5, b"b".to_vec())], &mut again), None, "not empty");
        assert!(again.is_empty(), "no room for the sender");
        assert_eq!(q.len(), 2);
        let order: Vec<_> = (6..8).map(|t| received(&receive(&mut q, t, 10, 0, 8, false)[0]).1).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(received(&receive(&mut q, 8, 10, 0, 8, false)[0]), (5, b"c".to_vec()), "let in once there was room");
        // A message passed to a waiting receiver that did not get it goes to the next
        // one waiting; if that one does not get it either, into the queue, notifying.
        assert!(receive(&mut q, 9, 10, 0, 8, false).is_empty());
        assert!(receive(&mut q, 11, 10, 0, 8, false).is_empty());
        let mut done = Vec::new();
        q.send(10, 10, 0, (1, &mut Cow::from(&b"x"[..])), IfBlocked::Wait, &mut done);
        assert_eq!(tickets(&done), [10, 9]);
        let mut again = Vec::new();
        assert_eq!(q.settle(vec![(1, b"x".to_vec())], &mut again), None);
        assert_eq!((again[0].ticket, received(&again[0])), (11, (1, b"x".to_vec())));
        q.notify(9, 1, Some("event")).unwrap();
        assert_eq!(q.settle(vec![(1, b"x".to_vec())], &mut Vec::new()), Some("event"));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn messages_given_back_never_make_the_queue_hold_more_than_maxmsg() {
        // (A review found a receiver that never gets its answers keeping a full queue at
        // maxmsg + 1 while a sender waits: twice the memory reserved for maxmsg 1.)
        let mut q = Q::new(Attr::checked(1, 8).unwrap());
        send(&mut q, 1, 10, 0, 1, b"m".to_vec(), false);
        for t in 0..8u32 {
            assert!(send(&mut q, 100 + t, 10, 0, 1, b"w".to_vec(), false).0.is_empty(), "full: waits");
            let mut done = Vec::new();
            q.receive(200 + t, 10, 0, 8, IfBlocked::Wait, &mut done);
            let [Completion { result: Ok(Answer::Received(priority, data)), .. }] = &done[..] else {
                panic!("{done:?}")
            };
            let mut again = Vec::new();
            q.settle(vec![(*priority, data.clone())], &mut again);
            assert!(again.is_empty(), "the waiting sender gets no room from a receive that failed");
            assert_eq!(q.len(), 1, "holds {} of maxmsg 1", q.len());
            q.cancel(|ticket| *ticket == 100 + t);
        }
    }

    #[test]
    fn a_recycled_buffer_carries_nothing_into_the_next_message() {
        let mut q = Q::new(DEFAULT_ATTR);
        // Through the queue: each answered message's buffer is given back and reused.
        send(&mut q, 2, 10, 0, 1, b"hello".to_vec(), false);
        let done = receive(&mut q, 1, 10, 0, 1024, false);
        let Some(Completion { result: Ok(Answer::Received(_, bytes)), .. }) = done.into_iter().next() else {
            panic!("received")
        };
        let at = bytes.as_ptr();
        q.recycle(bytes);
        send(&mut q, 3, 10, 0, 1, b"ab".to_vec(), false);
        let done = receive(&mut q, 4, 10, 0, 1024, false);
        assert_eq!(received(&done[0]), (1, b"ab".to_vec()), "nothing of the older message");
        let Some(Completion { result: Ok(Answer::Received(_, bytes)), .. }) = done.into_iter().next() else {
            panic!("received")
        };
        assert_eq!(bytes.as_ptr(), at, "the same buffer, reused");
        q.recycle(std::vec![0; SPARE_BYTES + 1]);
        assert!(q.spare.capacity() <= SPARE_BYTES, "a big buffer is not kept");
    }

    #[test]
    fn a_send_passes_its_message_to_a_waiting_receiver_without_taking_it() {
        let mut q = Q::new(DEFAULT_ATTR);
        assert!(receive(&mut q, 1, 10, 0, 1024, false).is_empty());
        let (mut done, mut data) = (Vec::new(), Cow::from(&b"hi"[..]));
        q.send(2, 10, 0, (7, &mut data), IfBlocked::Wait, &mut done);
        assert_eq!(tickets(&done), [2, 1]);
        assert_eq!(done[1].result, Ok(Answer::Passed(7)));
        assert_eq!(&data[..], b"hi", "left to the caller");
        // Nobody waits: the queue takes it (owned: moved, not copied).
        let mut data = Cow::from(b"there".to_vec());
        let at = data.as_ptr();
        q.send(3, 10, 0, (7, &mut data), IfBlocked::Wait, &mut done);
        assert!(data.is_empty(), "taken");
        let got = receive(&mut q, 4, 10, 0, 1024, false);
        let Some(Completion { result: Ok(Answer::Received(7, bytes)), .. }) = got.into_iter().next() else {
            panic!("received")
        };
        assert_eq!((&bytes[..], bytes.as_ptr()), (&b"there"[..], at));
    }

    #[test]
    fn messages_go_by_priority_then_age_in_room_their_most_needs() {
        let mut m = Messages::default();
        for (i, p) in [3u32, 31, 0, 3, 31, 17].into_iter().enumerate() {
            m.push(p, std::vec![i as u8]);
        }
        let order: Vec<(u32, u8)> = core::iter::from_fn(|| m.pop_first()).map(|(p, d)| (p, d[0])).collect();
        assert_eq!(order, [(31, 1), (31, 4), (17, 5), (3, 0), (3, 3), (0, 2)]);
        assert_eq!(m.len(), 0);
        // A queue of 100 filled at each priority in turn and drained to one message of it
        // (what an audit found growing 32 separate FIFOs): the room stays that of 100.
        for p in 0..MQ_PRIO_MAX {
            while m.len() < 100 {
                m.push(p, Vec::new());
            }
            while m.len() > (p + 1) as usize {
                m.pop_first();
            }
        }
        assert!(m.heap.capacity() <= 2 * 100, "room {}", m.heap.capacity());
    }

    #[test]
    fn a_past_deadline_fails_only_a_request_that_would_wait() {
        // (A review found mq_timedsend and mq_timedreceive failing with ETIMEDOUT whenever
        // the deadline had passed, with room or a message there: POSIX says they never
        // time out while they can finish at once.)
        let passed = IfBlocked::of(false, true);
        assert_eq!(passed, IfBlocked::Fail(Errno::ETIMEDOUT));
        assert_eq!(IfBlocked::of(true, true), IfBlocked::Fail(Errno::EAGAIN), "O_NONBLOCK's EAGAIN first");
        assert_eq!(IfBlocked::of(false, false), IfBlocked::Wait);
        let mut q = Q::new(Attr::checked(1, 8).unwrap());
        let mut done = Vec::new();
        q.receive(1, 10, 0, 8, passed, &mut done);
        q.send(2, 10, 0, (3, &mut Cow::from(&b"now"[..])), passed, &mut done);
        q.send(3, 10, 0, (3, &mut Cow::from(&b"full"[..])), passed, &mut done);
        q.receive(4, 10, 0, 8, passed, &mut done);
        let results: Vec<_> = done.into_iter().map(|c| (c.ticket, c.result)).collect();
        assert_eq!(
            results,
            [
                (1, Err(Errno::ETIMEDOUT)),
                (2, Ok(Answer::Sent(3))),
                (3, Err(Errno::ETIMEDOUT)),
                (4, Ok(Answer::Received(3, b"now".to_vec()))),
            ]
        );
        assert_eq!(q.waiting(), (0, 0), "nothing waits");
    }

    #[test]
    fn notification_fires_once_on_empty_to_non_empty_without_receivers() {
        let mut q = Q::new(DEFAULT_ATTR);
        q.notify(1, 1, Some("one")).unwrap();
        assert_eq!(q.notify(2, 2, Some("two")), Err(Errno::EBUSY));
        assert_eq!(q.notify(2, 2, None), Ok(()), "not its registration: nothing removed");
        assert_eq!(q.notify(2, 2, Some("two")), Err(Errno::EBUSY), "still the first's");
        assert_eq!(q.notify(1, 1, Some("one again")), Err(Errno::EBUSY), "registered already, itself");
        // A waiting receiver takes the message: no notification.
        assert!(receive(&mut q, 10, 5, 3, 1024, false).is_empty());
        assert_eq!(send(&mut q, 11, 5, 4, 0, b"x".to_vec(), false).1, None);
        assert_eq!(send(&mut q, 12, 5, 4, 0, b"y".to_vec(), false).1, Some("one"), "empty to non-empty");
        assert_eq!(send(&mut q, 13, 5, 4, 0, b"z".to_vec(), false).1, None, "once: the registration is gone");
        q.notify(2, 2, Some("two")).unwrap();
        q.drop_notification(2);
        q.notify(1, 1, Some("again")).unwrap();
        q.notify(1, 1, None).unwrap();
        q.notify(2, 2, Some("two")).unwrap();
    }

    #[test]
    fn a_registration_goes_with_the_descriptor_it_was_made_through() {
        // (A review found a process's registration withdrawn when it closed any of its
        // descriptors of the queue: POSIX's mq_close removes one made through that one.)
        let mut q = Q::new(DEFAULT_ATTR);
        q.notify(1, 10, Some("through 10")).unwrap();
        q.descriptor_closed(1, 11);
        assert_eq!(q.notify(2, 20, Some("rival")), Err(Errno::EBUSY), "still registered");
        assert_eq!(send(&mut q, 5, 5, 2, 0, b"x".to_vec(), false).1, Some("through 10"));
        q.notify(1, 10, Some("again")).unwrap();
        q.descriptor_closed(2, 10);
        assert_eq!(q.notify(2, 20, Some("rival")), Err(Errno::EBUSY), "another client's descriptor 10");
        // Withdrawn, and asked again through another descriptor: it goes with that one.
        q.notify(1, 10, None).unwrap();
        q.notify(1, 11, Some("through 11")).unwrap();
        q.descriptor_closed(1, 10);
        assert_eq!(q.notify(2, 20, Some("rival")), Err(Errno::EBUSY));
        q.descriptor_closed(1, 11);
        assert_eq!(q.notify(2, 20, Some("rival")), Ok(()), "gone with its descriptor");
    }
}
