//! Message passing: channels, connections, send/receive/reply, pulses, and
//! message-driven priority inheritance, as QNX Neutrino defines them.
//!
//! * A **channel** (chid, owned by the server process) holds a LIFO queue of
//!   RECEIVE-blocked threads, a priority-then-FIFO queue of SEND-blocked senders and
//!   pending pulses, and the threads *serving* it (that received from it and have not
//!   gone back to wait on it).
//! * A **connection** (coid, owned by the client) names a channel. All connections of one
//!   client process to one channel share a **server connection** (scoid) on the server's
//!   side.
//! * An **rcvid** names one received message: the sender thread's handle plus the
//!   sequence number of its message, so a stale rcvid can never reach another message.
//! * **Priority inheritance**: a receiver runs at the priority of what it received (up or
//!   down); a sender that has to queue boosts the channel's serving threads at once, and a
//!   boosted thread that is itself SEND-blocked moves up in its server's queue and boosts
//!   that server in turn (chains). `FIXED_PRIORITY` channels do neither.
//!
//! Bytes always move directly between the two address spaces ([`crate::transfer`]).

use crate::handle::HandleTable;
use crate::machine::Machine;
use crate::process::ProcessId;
use crate::sleepers::Wake;
use crate::system::{Outcome, Progress, System};
use crate::thread::{Blocked, Thread, ThreadId, ThreadState};
use crate::transfer::{self, Side, TransferError};
use abi::ipc::{
    channel_flags, notify, pulse_code, ClientInfo, MsgInfo, Pulse, SigEvent, INFO_IN_REGISTERS, IOV_SIZE,
    MAX_IOV_BYTES, MAX_IOV_PARTS,
};
use abi::syscall::{encode_result, Call, SENDER_PRIORITY};
use abi::Errno;
use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

/// Most channels per process.
pub const MAX_CHANNELS: usize = 64;
/// Most connections (and most server connections) per process.
pub use abi::ipc::MAX_CONNECTIONS;
/// Most pulses one process has made (its `MsgSendPulse`s, and the deliveries of events
/// it registered) that wait, received by nobody yet, on any channels (`EAGAIN` beyond). Counted against the maker,
/// not the channel: a channel's room of its own let one flooding client refuse every
/// other client's pulses to that server, and one process with 16 channels fill
/// [`MAX_QUEUED_PULSES`] and so refuse everybody's, everywhere.
pub const MAX_PULSES_PER_PROCESS: usize = 1024;
/// Most pulses of processes all channels together hold (`EAGAIN` beyond): each is kernel
/// memory (found by an audit), and only many processes together reach it.
pub const MAX_QUEUED_PULSES: usize = 16_384;
/// Most pulses of processes that have ended one process's channels hold
/// ([`PulseFrom::Orphan`]; dropped beyond): a maker's end hands its queued pulses to
/// their receivers, so that a process's children sending and ending in turn cannot
/// fill [`MAX_QUEUED_PULSES`] (a review found them doing so), and no count names a
/// process that is gone.
pub const MAX_ORPHANED_PULSES_PER_PROCESS: usize = 1024;
/// Most of the kernel's own notices (unblock, thread and connection death) one
/// process's channels hold (dropped beyond), counted apart from the processes' pulses
/// so that nobody's flood of `MsgSendPulse` or `MsgDeliverEvent` can make a process miss
/// them. (Timers, interrupts, disconnections and child events are not counted at all:
/// [`PulseFrom::Source`].)
pub const MAX_KERNEL_PULSES_PER_PROCESS: usize = 256;
/// Most of the kernel's own pulses all channels together hold (dropped beyond).
pub const MAX_QUEUED_KERNEL_PULSES: usize = 16_384;
/// A channel's queue keeps at most this much room once it drains, so that queues which
/// once held many pulses do not keep the memory (a drained queue shrinks).
const IDLE_QUEUE_ROOM: usize = 16;
/// Most events one process may have registered (`MsgRegisterEvent`; `EAGAIN` beyond):
/// the system's table holds 4,095, and one process must not take them all.
pub const MAX_EVENTS_PER_PROCESS: usize = 256;
/// Most server connections of one client on one channel that are disconnected but not yet
/// freed by the server (`ConnectAttach` gives `EAGAIN` beyond): their disconnections are
/// never refused ([`PulseFrom::Source`]), so a client attaching and detaching in a loop
/// faster than the server hears of it would otherwise fill the server's table. (A client
/// that talks to the server cannot get ahead of it: its messages queue behind the
/// notices, which go at its priority at least.)
pub const MAX_DISCONNECTED_PER_CLIENT: usize = 16;
/// Set in every scoid, so scoids and coids never look alike.
pub const SCOID_BIT: u32 = 1 << 30;
/// How far a priority boost follows a chain of servers.
const MAX_CHAIN: u32 = 16;

/// A message buffer as a call names it: `parts >= 0` I/O-vector entries at `address`,
/// or one buffer of `-parts` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buffer {
    /// Address of the I/O vector or of the single buffer.
    pub address: usize,
    /// Entry count, or minus the single buffer's length.
    pub parts: i64,
}

/// How far a long copy of a call went before a pending interrupt stopped it
/// (`transfer.rs`), kept with the call for its restart: with whom (`partner`, always the
/// sender of the message copied), which message of theirs (`token`: its sequence), and
/// the bytes copied. The restarted call resumes the copy only for the same message, and
/// with the same I/O vectors (`lists`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyProgress {
    /// The thread on the other side of the copy.
    pub partner: ThreadId,
    /// Its message's sequence (`Thread::message_sequence`).
    pub token: u64,
    /// Bytes copied so far.
    pub copied: usize,
    /// The parts of both sides as read when the copy started. Read again, a table could
    /// have been overwritten by the copy itself — an I/O vector inside its own buffer,
    /// taken over by the sender's bytes, which would then say where the rest goes.
    pub lists: Option<CopyLists>,
}

/// The source and destination parts of a stopped copy ([`CopyProgress::lists`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyLists {
    /// Where the bytes come from.
    pub source: IovList,
    /// Where they go.
    pub destination: IovList,
}

/// Whether a reply was given.
enum Replied {
    /// It was (or failed with the error returned).
    Done,
    /// A pending interrupt stopped its copy: the call restarts.
    Interrupted,
}

/// A message a thread has sent and not had answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentMessage {
    /// The server process.
    pub server: ProcessId,
    /// The channel in the server.
    pub chid: u32,
    /// The server connection it came through.
    pub scoid: u32,
    /// The sender's connection id.
    pub coid: u32,
    /// What it sent.
    pub send: Buffer,
    /// Where the reply goes.
    pub reply: Buffer,
}

/// Where a RECEIVE-blocked thread wants its next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// The channel.
    pub chid: u32,
    /// The receive buffer.
    pub buffer: Buffer,
    /// Where to write a [`MsgInfo`] (0: nowhere; [`INFO_IN_REGISTERS`]: x2–x6).
    pub info: usize,
}

/// What a receive takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receive {
    /// A message or a pulse (`MsgReceivev`).
    Any,
    /// A pulse only (`MsgReceivePulsev`).
    PulsesOnly,
}

/// Something waiting on a channel's send queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingItem {
    /// A SEND-blocked thread's message.
    Message(ThreadId),
    /// A pulse.
    Pulse(Pulse),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    priority: u8,
    /// Who made a pulse (`Message` for a message).
    from: PulseFrom,
    /// Arrival: among equals, the earlier is received first.
    order: u64,
    item: PendingItem,
}

/// A channel's kernel object.
#[derive(Debug, Default)]
pub struct Channel {
    /// `_NTO_CHF_*` flags.
    pub flags: u32,
    /// RECEIVE-blocked threads, the most recent (served first: LIFO) last.
    pub(crate) receivers: Vec<ThreadId>,
    /// Threads RECEIVE-blocked for a pulse only (`MsgReceivePulsev`), likewise: a pulse
    /// goes to them before the others, a message never.
    pub(crate) pulse_receivers: Vec<ThreadId>,
    /// Queued messages and pulses by priority, then arrival: the next to be received
    /// **last** (taking it is a `pop`), each priority's earliest nearest the end.
    pending: Vec<Pending>,
    pub(crate) serving: Vec<ThreadId>,
    next_order: u64,
    /// How many of the queued items are pulses.
    pulses: usize,
    /// How many of those the kernel made for a notice ([`PulseFrom::Kernel`]).
    kernel_pulses: usize,
    /// The sources whose pulse is queued ([`PulseFrom::Source`], one each at most), so
    /// that a source firing again finds out without scanning the queue (a review found
    /// a timer interrupt firing hundreds of timers at one long queue, each scanning it).
    sources: BTreeSet<EventSource>,
    /// How many processes that have ended made ([`PulseFrom::Orphan`]).
    orphan_pulses: usize,
}

impl Channel {
    fn new(flags: u32) -> Self {
        Self { flags, ..Default::default() }
    }

    /// Queues `sender`'s message behind everything of its priority or higher.
    #[inline(always)]
    pub(crate) fn enqueue(&mut self, priority: u8, sender: ThreadId) {
        let order = self.next_order;
        self.next_order += 1;
        self.insert(Pending { priority, from: PulseFrom::Message, order, item: PendingItem::Message(sender) });
    }

    /// Queues `pulse` likewise.
    fn enqueue_pulse(&mut self, priority: u8, pulse: Pulse, from: PulseFrom) {
        let order = self.next_order;
        self.next_order += 1;
        self.pulses += 1;
        self.count(from, 1);
        self.insert(Pending { priority, from, order, item: PendingItem::Pulse(pulse) });
    }

    /// Counts `n` (1 or -1) pulses more made by `from` (a process's are counted against
    /// it, by the system).
    fn count(&mut self, from: PulseFrom, n: isize) {
        match from {
            PulseFrom::Message | PulseFrom::Process(_) => {}
            PulseFrom::Kernel => self.kernel_pulses = self.kernel_pulses.wrapping_add_signed(n),
            PulseFrom::Source(source) => {
                if n > 0 {
                    self.sources.insert(source);
                } else {
                    self.sources.remove(&source);
                }
            }
            PulseFrom::Orphan => self.orphan_pulses = self.orphan_pulses.wrapping_add_signed(n),
        }
    }

    /// `maker` ended: its queued pulses become orphans while `room` (the receiving
    /// process's room for them) lasts, and are dropped beyond. Returns how many went.
    fn orphan_pulses_of(&mut self, maker: ProcessId, room: &mut usize) -> usize {
        let (before, from) = (self.pending.len(), PulseFrom::Process(maker));
        let mut adopted = 0;
        self.pending.retain_mut(|p| {
            if p.from != from {
                return true;
            }
            if *room == 0 {
                return false;
            }
            *room -= 1;
            adopted += 1;
            p.from = PulseFrom::Orphan;
            true
        });
        let dropped = before - self.pending.len();
        self.pulses -= dropped;
        self.orphan_pulses += adopted;
        self.give_back_room();
        dropped
    }

    /// Whether `source`'s pulse is queued.
    pub(crate) fn holds_pulse_of(&self, source: EventSource) -> bool {
        self.sources.contains(&source)
    }

    /// Takes `source`'s pulse off, if queued (whether it was).
    fn drop_pulse_of(&mut self, source: EventSource) -> bool {
        if !self.holds_pulse_of(source) {
            return false;
        }
        let Some(at) = self.pending.iter().position(|p| p.from == PulseFrom::Source(source)) else { return false };
        self.pending.remove(at);
        self.pulses -= 1;
        self.count(PulseFrom::Source(source), -1);
        self.give_back_room();
        true
    }

    /// Puts `p` in its place: by priority, then arrival order.
    fn insert(&mut self, p: Pending) {
        let key = |q: &Pending| (q.priority, core::cmp::Reverse(q.order));
        let at = self.pending.partition_point(|q| key(q) < key(&p));
        self.pending.insert(at, p);
    }

    fn remove_message(&mut self, sender: ThreadId) -> Option<Pending> {
        let at = self.pending.iter().position(|p| p.item == PendingItem::Message(sender))?;
        Some(self.pending.remove(at))
    }

    /// True when a pulse is queued.
    pub(crate) fn holds_pulses(&self) -> bool {
        self.pulses != 0
    }

    pub(crate) fn top_priority(&self) -> Option<u8> {
        self.pending.last().map(|p| p.priority)
    }

    /// The sender of the first queued item, if that is a message.
    pub(crate) fn first_message(&self) -> Option<ThreadId> {
        match self.pending.last()?.item {
            PendingItem::Message(sender) => Some(sender),
            PendingItem::Pulse(_) => None,
        }
    }

    /// What [`top_priority`](Self::top_priority) becomes once the first item is taken.
    pub(crate) fn top_priority_after_first(&self) -> Option<u8> {
        self.pending.len().checked_sub(2).map(|at| self.pending[at].priority)
    }

    /// Takes the first queued item, a message (what the fast paths take; pulses, which
    /// are counted, go through [`take_first`](Self::take_first)), off.
    pub(crate) fn drop_first_message(&mut self) {
        debug_assert!(matches!(self.pending.last().map(|p| p.item), Some(PendingItem::Message(_))));
        self.pending.pop();
    }

    /// Takes the first queued item off and returns it (a drained queue gives back the
    /// room it grew beyond [`IDLE_QUEUE_ROOM`]).
    fn take_first(&mut self) -> Option<Pending> {
        let first = self.pending.pop()?;
        if matches!(first.item, PendingItem::Pulse(_)) {
            self.pulses -= 1;
            self.count(first.from, -1);
        }
        self.give_back_room();
        Some(first)
    }

    /// Takes the first queued pulse off, leaving the messages queued before it
    /// (`MsgReceivePulsev`).
    fn take_first_pulse(&mut self) -> Option<Pending> {
        let at = self.pending.iter().rposition(|p| matches!(p.item, PendingItem::Pulse(_)))?;
        let pulse = self.pending.remove(at);
        self.pulses -= 1;
        self.count(pulse.from, -1);
        self.give_back_room();
        Some(pulse)
    }

    /// A drained queue gives back the room it grew beyond [`IDLE_QUEUE_ROOM`].
    fn give_back_room(&mut self) {
        if self.pending.is_empty() && self.pending.capacity() > IDLE_QUEUE_ROOM {
            self.pending.shrink_to(IDLE_QUEUE_ROOM);
        }
    }

    /// Whether `pulse` (the same code, value and scoid) is queued.
    fn holds_pulse(&self, pulse: &Pulse) -> bool {
        self.pending.iter().any(|p| match p.item {
            PendingItem::Pulse(q) => q.code == pulse.code && q.value == pulse.value && q.scoid == pulse.scoid,
            PendingItem::Message(_) => false,
        })
    }

    /// The queued items, first to be received first (for tests and listings).
    pub fn queue(&self) -> Vec<PendingItem> {
        self.pending.iter().rev().map(|p| p.item).collect()
    }
}

/// A client's connection to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The server process.
    pub server: ProcessId,
    /// The channel in the server.
    pub chid: u32,
    /// The server connection shared by this client's connections to the channel.
    pub scoid: u32,
}

/// The server's view of one client process connected to one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConnection {
    /// The client.
    pub client: ProcessId,
    /// The channel.
    pub chid: u32,
    /// How many of the client's coids use it (0: disconnected, awaiting ConnectDetach).
    pub connections: u32,
}

/// Who makes a pulse, which decides what happens to it when the queues are full
/// ([`System::send_pulse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PulseFrom {
    /// Not a pulse: a queued message (counted nowhere; its sender is SEND-blocked).
    Message,
    /// A process, by `MsgSendPulse`, or by `MsgDeliverEvent` the client that registered
    /// the event (it chose where the pulse goes: charged to the server, a client's
    /// channel it never read used up the server's room for everyone's deliveries):
    /// counted against that process ([`MAX_PULSES_PER_PROCESS`]), and in all
    /// ([`MAX_QUEUED_PULSES`]).
    Process(ProcessId),
    /// A process's pulse whose maker has ended: counted in the receiving process's room
    /// for them ([`MAX_ORPHANED_PULSES_PER_PROCESS`]), and in all.
    Orphan,
    /// The kernel, for a notice other than the [`Source`](Self::Source)s' (unblock,
    /// thread and connection death): counted in the receiving process's room
    /// ([`MAX_KERNEL_PULSES_PER_PROCESS`]).
    Kernel,
    /// A timer, an interrupt, a client's disconnection or a parent's child event (whose
    /// ends coalesce, as `SIGCHLD`s do: `procmgr.rs`): at most one of its pulses is
    /// queued at a time (a timer firing while its pulse waits is not queued again:
    /// POSIX's timer overrun; an interrupt stays masked until its driver unmasks it
    /// anyway; a scoid is disconnected once, and its pulse goes when the server frees
    /// it, as a timer's or a route's goes with it: [`System::drop_source_pulse`]). Their
    /// number bounds these, so they are counted in no room and never refused:
    /// no flood of anyone's makes a process miss its timer, its interrupt or a client's
    /// end (another process's timers aimed at a server filled its room before, and then
    /// an interrupt's lost pulse left its line masked for good; a client attaching and
    /// detaching in a loop filled it with its disconnections, and the server never heard
    /// of other clients' ends; a parent's child events aimed at a server used up its
    /// room for unblock notices).
    Source(EventSource),
}

/// A timer, an interrupt route, a server connection or a parent, by handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EventSource {
    /// A user timer (`TimerCreate`).
    Timer(u32),
    /// An interrupt route (`InterruptAttachEvent`).
    Interrupt(u32),
    /// A server connection whose last client connection went (the scoid, without
    /// [`SCOID_BIT`], in the receiving server's table).
    Disconnect(u32),
    /// A process's child event (`ProcessChildEvent`), by the parent's pid.
    ChildEvent(u32),
}

/// An event a client registered: only `server` may deliver it, and what is delivered is
/// this copy, whatever the server passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// The registering process (the event's target).
    pub client: ProcessId,
    /// The registering thread (the target of an unblock event).
    pub thread: ThreadId,
    /// The process allowed to deliver it.
    pub server: ProcessId,
    /// The event.
    pub event: SigEvent,
}

/// I/O-vector parts kept without allocating: one buffer, or a header and a payload
/// (the common cases). Kept small: the list is moved around on the message path.
const INLINE_PARTS: usize = 2;

/// The (address, length) parts of a message buffer: inline when there are few, so the
/// message path does not touch the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IovList {
    /// Up to [`INLINE_PARTS`] parts.
    Inline {
        /// The parts (the first `len` are used).
        parts: [(usize, usize); INLINE_PARTS],
        /// How many parts.
        len: usize,
    },
    /// More parts.
    Heap(Vec<(usize, usize)>),
}

impl IovList {
    fn single(address: usize, len: usize) -> Self {
        let mut parts = [(0, 0); INLINE_PARTS];
        parts[0] = (address, len);
        IovList::Inline { parts, len: 1 }
    }
}

impl core::ops::Deref for IovList {
    type Target = [(usize, usize)];
    fn deref(&self) -> &Self::Target {
        match self {
            IovList::Inline { parts, len } => &parts[..*len],
            IovList::Heap(v) => v,
        }
    }
}

/// The bits of a thread's message sequence an rcvid carries: 31, so that a stale rcvid
/// (a request its client left, kept by its server) names a later message of that thread
/// only after two thousand million more (with 16 it took 65,536: an old answer reached a
/// new request), and bit 63 stays clear (an rcvid never reads as an errno).
const RCVID_SEQUENCE_MASK: u64 = 0x7fff_ffff;

/// The part of thread message sequence `sequence` an rcvid carries.
#[inline(always)]
pub(crate) fn rcvid_sequence(sequence: u64) -> u32 {
    (sequence & RCVID_SEQUENCE_MASK) as u32
}

/// The rcvid naming message `sequence` of thread `sender`.
pub fn rcvid(sender: ThreadId, sequence: u64) -> u64 {
    sender.0 as u64 | (rcvid_sequence(sequence) as u64) << 32
}

/// Gives receiver `t` the `_msg_info` `record` in its registers x2–x6, as its receive
/// asked ([`INFO_IN_REGISTERS`]; the return to it loads them).
#[inline(always)]
pub(crate) fn info_to_registers(t: &mut Thread, record: &MsgInfo) {
    t.context.x[2..7].copy_from_slice(&record.to_registers());
}

/// The `_msg_info` record of message `m` sent by `sender`: `msglen` bytes received of
/// `srcmsglen` sent, room for `dstmsglen` in the reply.
pub(crate) fn info_record(
    sender: &Thread,
    m: &SentMessage,
    msglen: usize,
    srcmsglen: usize,
    dstmsglen: usize,
) -> MsgInfo {
    MsgInfo {
        pid: sender.process.0,
        tid: sender.tid,
        chid: m.chid,
        scoid: m.scoid,
        coid: m.coid,
        priority: sender.priority as u32,
        msglen: msglen as u32,
        srcmsglen: srcmsglen as u32,
        dstmsglen: dstmsglen as u32,
        flags: 0,
    }
}

/// The sender and the message sequence bits ([`rcvid_sequence`]) rcvid `rcvid` names, if
/// it can be one.
pub(crate) fn split_rcvid(rcvid: u64) -> Option<(ThreadId, u32)> {
    (rcvid >> 32 <= RCVID_SEQUENCE_MASK && rcvid as u32 != 0).then_some((ThreadId(rcvid as u32), (rcvid >> 32) as u32))
}

impl<M: Machine> System<M> {
    /// Performs an IPC call for thread `cur` of process `pid`.
    pub(crate) fn ipc_call(&mut self, cur: ThreadId, pid: ProcessId, call: &Call) -> Result<Outcome, Errno> {
        let value = |v: u64| Ok(Outcome::Value(v, None));
        match *call {
            Call::ChannelCreate { flags } => {
                if flags & !channel_flags::ALL != 0 {
                    return Err(Errno::EINVAL);
                }
                let p = self.processes.get_mut(pid.0).ok_or(Errno::ESRCH)?;
                let chid = p.channels.insert(Channel::new(flags)).ok_or(Errno::EAGAIN)?;
                value(chid as u64)
            }
            Call::ChannelDestroy { chid } => {
                self.destroy_channel(pid, chid)?;
                self.tell_coid_deaths(pid, &[chid]);
                value(0)
            }
            Call::ConnectAttach { pid: server, chid } => {
                let server = if server == 0 { pid } else { ProcessId(server) };
                self.connect(pid, server, chid).map(|coid| Outcome::Value(coid as u64, None))
            }
            Call::ConnectDetach { id } => {
                let priority = self.threads.get(cur.0).map_or(0, |t| t.priority);
                self.detach(pid, id, priority)?;
                value(0)
            }
            Call::ConnectClientInfo { scoid, info } => {
                let p = self.processes.get(pid.0).ok_or(Errno::ESRCH)?;
                let sc = p.server_connections.get(scoid & !SCOID_BIT).filter(|_| scoid & SCOID_BIT != 0);
                let sc = sc.ok_or(Errno::ESRCH)?;
                let record = ClientInfo { pid: sc.client.0, chid: sc.chid, scoid };
                self.write_user(pid, info, &record.to_bytes())?;
                value(0)
            }
            Call::MsgSendv { coid, send, send_parts, reply, reply_parts } => self.msg_send(
                cur,
                pid,
                coid,
                Buffer { address: send, parts: send_parts },
                Buffer { address: reply, parts: reply_parts },
            ),
            Call::MsgReceivev { chid, buffer, parts, info } => {
                self.msg_receive(cur, pid, chid, Buffer { address: buffer, parts }, info, Receive::Any)
            }
            Call::MsgReceivePulsev { chid, buffer, parts, info } => {
                self.msg_receive(cur, pid, chid, Buffer { address: buffer, parts }, info, Receive::PulsesOnly)
            }
            Call::MsgReplyv { rcvid, status, buffer, parts } => {
                match self.msg_reply(pid, rcvid, Ok(status), Buffer { address: buffer, parts })? {
                    Replied::Done => value(0),
                    Replied::Interrupted => Ok(Outcome::Restart),
                }
            }
            Call::MsgReplyReceivev { rcvid, status, reply, reply_parts, chid, buffer, parts, info } => {
                if rcvid != 0 {
                    let replied = self.msg_reply(pid, rcvid, Ok(status), Buffer { address: reply, parts: reply_parts });
                    match replied {
                        Ok(Replied::Interrupted) => return Ok(Outcome::Restart),
                        // A client that is gone, or whose reply buffer was bad (it has been
                        // told), does not stop the server's loop; a bad buffer of the
                        // server's own does (its client is still waiting for a reply).
                        Err(e) if self.received_message(pid, rcvid).is_ok() => return Err(e),
                        _ => {}
                    }
                }
                self.msg_receive(cur, pid, chid, Buffer { address: buffer, parts }, info, Receive::Any)
            }
            Call::MsgError { rcvid, errno } => {
                let errno = match errno {
                    abi::syscall::MSG_ERROR_UNBLOCK => {
                        // The error the client's unblock was for (EINTR if none was asked).
                        let (sender, _) = self.received_message(pid, rcvid)?;
                        let t = self.threads.get(sender.0).ok_or(Errno::ESRCH)?;
                        match t.unblock_reason {
                            Some((sequence, e)) if sequence == t.message_sequence => e,
                            _ => Errno::EINTR,
                        }
                    }
                    0 | 4096.. => return Err(Errno::EINVAL),
                    errno => Errno(errno),
                };
                self.msg_reply(pid, rcvid, Err(errno), Buffer::default())?; // (nothing to copy)
                value(0)
            }
            Call::MsgReadv { rcvid, buffer, parts, offset } => {
                let (sender, message) = self.received_message(pid, rcvid)?;
                let copied = self.copy_between(
                    sender,
                    (self.thread_process(sender)?, message.send, offset),
                    (pid, Buffer { address: buffer, parts }, 0),
                )?;
                Ok(copied.map_or(Outcome::Restart, |n| Outcome::Value(n as u64, None)))
            }
            Call::MsgWritev { rcvid, buffer, parts, offset } => {
                let (sender, message) = self.received_message(pid, rcvid)?;
                let copied = self.copy_between(
                    sender,
                    (pid, Buffer { address: buffer, parts }, 0),
                    (self.thread_process(sender)?, message.reply, offset),
                )?;
                Ok(copied.map_or(Outcome::Restart, |n| Outcome::Value(n as u64, None)))
            }
            Call::MsgInfo { rcvid, info } => {
                let (sender, message) = self.received_message(pid, rcvid)?;
                let s_pid = self.thread_process(sender)?;
                let mut record = self.message_info(sender, 0)?;
                record.srcmsglen = self.buffer_len(s_pid, message.send) as u32;
                record.dstmsglen = self.buffer_len(s_pid, message.reply) as u32;
                record.msglen = record.srcmsglen;
                self.write_user(pid, info, &record.to_bytes())?;
                value(0)
            }
            Call::MsgSendPulse { coid, priority, code, value: v } => {
                if code < pulse_code::MIN_AVAILABLE {
                    return Err(Errno::EINVAL);
                }
                let priority = match priority {
                    SENDER_PRIORITY => self.threads.get(cur.0).map_or(1, |t| t.priority),
                    1..=255 => {
                        self.process_ref(pid)?.may_ask_priority(priority as u8)?;
                        priority as u8
                    }
                    _ => return Err(Errno::EINVAL),
                };
                let conn = *self.process_ref(pid)?.connections.get(coid).ok_or(Errno::EBADF)?;
                self.channel_alive(conn.server, conn.chid)?;
                let pulse = Pulse { kind: 0, subtype: 0, code, value: v, scoid: conn.scoid };
                self.send_pulse(conn.server, conn.chid, priority, pulse, PulseFrom::Process(pid))?;
                value(0)
            }
            Call::MsgRegisterEvent { event, coid } => {
                let mut e = self.read_event(pid, event)?;
                match e.notify {
                    notify::NONE | notify::UNBLOCK => {}
                    notify::PULSE => {
                        self.process_ref(pid)?.connections.get(e.coid).ok_or(Errno::EBADF)?;
                        if e.code < pulse_code::MIN_AVAILABLE || e.priority == 0 {
                            return Err(Errno::EINVAL);
                        }
                        self.process_ref(pid)?.may_ask_priority(e.priority)?;
                    }
                    _ => return Err(Errno::EINVAL),
                }
                let server = self.process_ref(pid)?.connections.get(coid).ok_or(Errno::EBADF)?.server;
                if self.events.iter().filter(|(_, r)| r.client == pid).count() >= MAX_EVENTS_PER_PROCESS {
                    return Err(Errno::EAGAIN);
                }
                e.handle = 0;
                let handle = self
                    .events
                    .insert(Registration { client: pid, thread: cur, server, event: e })
                    .ok_or(Errno::EAGAIN)?;
                e.handle = handle;
                if let Err(err) = self.write_user(pid, event, &e.to_bytes()) {
                    self.events.remove(handle);
                    return Err(err);
                }
                value(handle as u64)
            }
            Call::MsgUnregisterEvent { event } => {
                let e = self.read_event(pid, event)?;
                match self.events.get(e.handle) {
                    Some(r) if r.client == pid => {
                        self.events.remove(e.handle);
                        value(0)
                    }
                    _ => Err(Errno::EINVAL),
                }
            }
            Call::MsgDeliverEvent { rcvid: id, event } => {
                let e = self.read_event(pid, event)?;
                let registration = *self.events.get(e.handle).ok_or(Errno::EINVAL)?;
                if registration.server != pid {
                    return Err(Errno::EPERM);
                }
                if id != 0 {
                    let client = if id >> 32 == 0 && id as u32 & SCOID_BIT != 0 {
                        // A scoid (no thread id has SCOID_BIT): its client, named however
                        // long ago the thread that asked ended (POSIX's mq_notify registers
                        // the process).
                        let scoid = id as u32 & !SCOID_BIT;
                        self.process_ref(pid)?.server_connections.get(scoid).ok_or(Errno::ESRCH)?.client
                    } else {
                        // (Its thread gone, the rcvid is stale: ESRCH, as for any call's.)
                        let (sender, _) = split_rcvid(id).ok_or(Errno::ESRCH)?;
                        self.thread_process(sender)?
                    };
                    if client != registration.client {
                        return Err(Errno::EPERM);
                    }
                }
                let (client, thread, event) = (registration.client, registration.thread, registration.event);
                self.deliver_event(client, thread, event, PulseFrom::Process(client))?;
                value(0)
            }
            _ => self.event_call(cur, pid, call),
        }
    }

    fn read_event(&mut self, pid: ProcessId, at: usize) -> Result<SigEvent, Errno> {
        let mut bytes = [0u8; SigEvent::SIZE];
        self.read_user(pid, at, &mut bytes)?;
        SigEvent::from_bytes(&bytes).ok_or(Errno::EINVAL)
    }

    /// Performs `event` for process `target` (thread `thread` for an unblock); a pulse is
    /// made `from` (see [`PulseFrom`]).
    pub(crate) fn deliver_event(
        &mut self,
        target: ProcessId,
        thread: ThreadId,
        event: SigEvent,
        from: PulseFrom,
    ) -> Result<(), Errno> {
        match event.notify {
            notify::NONE => Ok(()),
            notify::PULSE => {
                let conn = *self.process_ref(target)?.connections.get(event.coid).ok_or(Errno::EBADF)?;
                self.channel_alive(conn.server, conn.chid)?;
                let pulse = Pulse { kind: 0, subtype: 0, code: event.code, value: event.value, scoid: conn.scoid };
                self.send_pulse(conn.server, conn.chid, event.priority.max(1), pulse, from)
            }
            notify::UNBLOCK => {
                // (Only a thread of the target: the handle kept for the event outlives its
                // thread, and after 2^18 reuses of the slot names another's.)
                let blocked = |t: &Thread| t.process == target && matches!(t.state, ThreadState::Blocked(_));
                if self.threads.get(thread.0).is_some_and(blocked) {
                    self.interrupt_blocking_call(thread, Errno::EINTR);
                }
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn process_ref(&self, pid: ProcessId) -> Result<&crate::process::Process, Errno> {
        self.processes.get(pid.0).filter(|p| p.exit_status.is_none()).ok_or(Errno::ESRCH)
    }

    fn thread_process(&self, id: ThreadId) -> Result<ProcessId, Errno> {
        self.threads.get(id.0).map(|t| t.process).ok_or(Errno::ESRCH)
    }

    fn channel_alive(&self, server: ProcessId, chid: u32) -> Result<(), Errno> {
        self.process_ref(server)?.channels.get(chid).map(|_| ()).ok_or(Errno::ESRCH)
    }

    fn channel_mut(&mut self, server: ProcessId, chid: u32) -> Option<&mut Channel> {
        self.processes.get_mut(server.0)?.channels.get_mut(chid)
    }

    // ---- connections ------------------------------------------------------------------

    fn connect(&mut self, client: ProcessId, server: ProcessId, chid: u32) -> Result<u32, Errno> {
        let flags = self.process_ref(server)?.channels.get(chid).ok_or(Errno::ESRCH)?.flags;
        if flags & channel_flags::PRIVATE != 0 && client != server {
            return Err(Errno::EPERM);
        }
        if self.process_ref(client)?.connections.len() >= MAX_CONNECTIONS {
            return Err(Errno::EAGAIN);
        }
        let server_process = self.processes.get_mut(server.0).ok_or(Errno::ESRCH)?;
        let (mut existing, mut disconnected) = (None, 0);
        for (h, sc) in server_process.server_connections.iter() {
            if sc.client == client && sc.chid == chid {
                if sc.connections > 0 {
                    existing = Some(h);
                    break;
                }
                disconnected += 1;
            }
        }
        let scoid = match existing {
            Some(h) => h,
            None if disconnected >= MAX_DISCONNECTED_PER_CLIENT => return Err(Errno::EAGAIN),
            None => server_process
                .server_connections
                .insert(ServerConnection { client, chid, connections: 0 })
                .ok_or(Errno::EAGAIN)?,
        };
        server_process.server_connections.get_mut(scoid).expect("just found").connections += 1;
        let conn = Connection { server, chid, scoid: scoid | SCOID_BIT };
        let client_process = self.processes.get_mut(client.0).ok_or(Errno::ESRCH)?;
        match client_process.connections.insert(conn) {
            Some(coid) => Ok(coid),
            None => {
                self.release_server_connection(server, scoid, 0);
                Err(Errno::EAGAIN)
            }
        }
    }

    /// The priority of the kernel's notices to `pid` (disconnect, thread and connection
    /// death): the highest it may ask for, so that receiving one never lifts an
    /// ordinary program above [`abi::sched::MAX_UNPRIVILEGED_PRIORITY`].
    fn notice_priority(&self, pid: ProcessId) -> u8 {
        match self.processes.get(pid.0).map(|p| p.may_ask_priority(abi::sched::MAX_PRIORITY)) {
            Some(Ok(())) => abi::sched::MAX_PRIORITY,
            _ => abi::sched::MAX_UNPRIVILEGED_PRIORITY,
        }
    }

    /// Drops one client reference to `scoid` (without [`SCOID_BIT`]); at zero, the
    /// server gets a disconnect pulse if it asked for one, else the scoid is freed. The
    /// pulse goes at the notices' priority, or the detaching thread's (`priority`) if
    /// higher: a client above 63 detaching from an ordinary server would otherwise get
    /// ahead of its notices, its messages going first, and meet
    /// [`MAX_DISCONNECTED_PER_CLIENT`] (its messages lift the server as high anyway).
    fn release_server_connection(&mut self, server: ProcessId, scoid: u32, priority: u8) {
        let Some(p) = self.processes.get_mut(server.0) else { return };
        let Some(sc) = p.server_connections.get_mut(scoid) else { return };
        sc.connections = sc.connections.saturating_sub(1);
        if sc.connections > 0 {
            return;
        }
        let chid = sc.chid;
        let notify =
            p.exit_status.is_none() && p.channels.get(chid).is_some_and(|c| c.flags & channel_flags::DISCONNECT != 0);
        if notify {
            let pulse = Pulse { kind: 0, subtype: 0, code: pulse_code::DISCONNECT, value: 0, scoid: scoid | SCOID_BIT };
            let from = PulseFrom::Source(EventSource::Disconnect(scoid));
            let priority = self.notice_priority(server).max(priority);
            if self.send_pulse(server, chid, priority, pulse, from).is_ok() {
                return;
            }
            // (No channel to tell: the scoid is freed.)
        }
        if let Some(p) = self.processes.get_mut(server.0) {
            p.server_connections.remove(scoid);
        }
    }

    /// Detaches `id` (a coid, or a scoid the server frees) for `pid`, whose calling
    /// thread runs at `priority` (0: none, at a process's end).
    fn detach(&mut self, pid: ProcessId, id: u32, priority: u8) -> Result<(), Errno> {
        if id & SCOID_BIT != 0 {
            // A server freeing a scoid after its disconnect pulse.
            let p = self.processes.get_mut(pid.0).ok_or(Errno::ESRCH)?;
            let sc = p.server_connections.get(id & !SCOID_BIT).ok_or(Errno::EINVAL)?;
            if sc.connections > 0 {
                return Err(Errno::EBUSY);
            }
            let chid = sc.chid;
            p.server_connections.remove(id & !SCOID_BIT);
            // Its disconnection, if not received yet, goes with it (what bounds those),
            // and with it the boost it gave the channel's serving threads.
            self.drop_source_pulse(pid, chid, EventSource::Disconnect(id & !SCOID_BIT));
            return Ok(());
        }
        let p = self.processes.get(pid.0).ok_or(Errno::ESRCH)?;
        p.connections.get(id).ok_or(Errno::EINVAL)?;
        // Its threads blocked on the connection, as QNX's ConnectDetach: a SEND-blocked
        // one's send fails (EBADF) — the server must not receive a message through a
        // connection whose disconnection it may already have handled — and a
        // REPLY-blocked one is unblocked as by a timeout (its server, if it asked for
        // unblock pulses, gets one and answers). (Not for a process that is ending: its
        // threads' ends told their servers already.)
        let ending = p.exit_status.is_some();
        let blocked: Vec<ThreadId> = p
            .threads
            .iter()
            .flatten()
            .copied()
            .filter(|t| !ending && self.threads.get(t.0).and_then(|t| t.sent).is_some_and(|m| m.coid == id))
            .collect();
        for thread in blocked {
            self.interrupt_blocking_call(thread, Errno::EBADF);
        }
        let conn = self.processes.get_mut(pid.0).ok_or(Errno::ESRCH)?.connections.remove(id).ok_or(Errno::EINVAL)?;
        self.release_server_connection(conn.server, conn.scoid & !SCOID_BIT, priority);
        Ok(())
    }

    // ---- buffers --------------------------------------------------------------------

    /// The (address, length) parts of `buffer` in `pid`'s memory.
    fn read_iov(&mut self, pid: ProcessId, buffer: Buffer) -> Result<IovList, Errno> {
        if buffer.parts < 0 {
            let len = usize::try_from(buffer.parts.unsigned_abs()).map_err(|_| Errno::EINVAL)?;
            return Ok(IovList::single(buffer.address, len));
        }
        let parts = buffer.parts as usize;
        if parts > MAX_IOV_PARTS {
            return Err(Errno::EINVAL);
        }
        let decode = |e: &[u8]| {
            let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().expect("8 bytes")) as usize;
            (word(0), word(8))
        };
        let bounded = |list: IovList| {
            let total = list.iter().try_fold(0usize, |sum, &(_, len)| sum.checked_add(len));
            match total {
                Some(total) if total <= MAX_IOV_BYTES => Ok(list),
                _ => Err(Errno::EOVERFLOW),
            }
        };
        if parts == 0 {
            return Ok(IovList::Inline { parts: [(0, 0); INLINE_PARTS], len: 0 });
        }
        if parts <= INLINE_PARTS {
            let mut raw = [0u8; INLINE_PARTS * IOV_SIZE];
            self.read_user(pid, buffer.address, &mut raw[..parts * IOV_SIZE])?;
            let mut list = IovList::Inline { parts: [(0, 0); INLINE_PARTS], len: parts };
            if let IovList::Inline { parts: slots, .. } = &mut list {
                for (slot, entry) in slots.iter_mut().zip(raw[..parts * IOV_SIZE].chunks_exact(IOV_SIZE)) {
                    *slot = decode(entry);
                }
            }
            return bounded(list);
        }
        let mut raw = vec![0u8; parts * IOV_SIZE];
        self.read_user(pid, buffer.address, &mut raw)?;
        bounded(IovList::Heap(raw.chunks_exact(IOV_SIZE).map(decode).collect()))
    }

    /// Copies from one (process, buffer, offset) to another for MsgRead/MsgWrite of
    /// `sender`'s message; the error is the caller's to report (both sides are its
    /// concern). `None`: a pending interrupt stopped the copy (the call restarts).
    fn copy_between(
        &mut self,
        sender: ThreadId,
        from: (ProcessId, Buffer, usize),
        to: (ProcessId, Buffer, usize),
    ) -> Result<Option<usize>, Errno> {
        let sequence = self.threads.get(sender.0).map_or(0, |t| t.message_sequence);
        let (start, lists) = self.copy_start(sender, sequence);
        let (src_iov, dst_iov) = match lists {
            Some(lists) => (lists.source, lists.destination),
            None => (self.read_iov(from.0, from.1)?, self.read_iov(to.0, to.1)?),
        };
        let offsets = (from.2.saturating_add(start), to.2.saturating_add(start));
        match self.move_bytes((from.0, &src_iov, offsets.0), (to.0, &dst_iov, offsets.1)) {
            Ok(n) => Ok(Some(start + n)),
            Err(TransferError::Interrupted(n)) => {
                self.copy_stopped(sender, sequence, start + n, CopyLists { source: src_iov, destination: dst_iov });
                Ok(None)
            }
            Err(TransferError::Source(e) | TransferError::Destination(e)) => Err(e),
        }
    }

    /// Where the running call's copy with `partner` (in the state `token` names, see
    /// [`CopyProgress`]) starts: where an interrupt stopped it, with the parts it used,
    /// if this call is its restart, else at 0. (Its progress is lost only when the
    /// message was answered meanwhile, which ends the call: no copy keeps starting over.)
    fn copy_start(&mut self, partner: ThreadId, token: u64) -> (usize, Option<CopyLists>) {
        match self.resume.take() {
            Some(Progress::Copy(r)) if r.partner == partner && r.token == token => (r.copied, r.lists),
            _ => (0, None),
        }
    }

    /// Records that the running call's copy with `partner` stopped for an interrupt,
    /// `copied` bytes in (from its start, over all its restarts), copying with `lists`.
    fn copy_stopped(&mut self, partner: ThreadId, token: u64, copied: usize, lists: CopyLists) {
        self.stopped = Some(Progress::Copy(CopyProgress { partner, token, copied, lists: Some(lists) }));
    }

    fn move_bytes(
        &mut self,
        from: (ProcessId, &[(usize, usize)], usize),
        to: (ProcessId, &[(usize, usize)], usize),
    ) -> Result<usize, TransferError> {
        let src =
            self.processes.get(from.0 .0).and_then(|p| p.space.as_ref()).ok_or(TransferError::Source(Errno::ESRCH))?;
        let dst = self
            .processes
            .get(to.0 .0)
            .and_then(|p| p.space.as_ref())
            .ok_or(TransferError::Destination(Errno::ESRCH))?;
        transfer::transfer(
            &mut self.machine,
            Side { space: src, iov: from.1, offset: from.2 },
            Side { space: dst, iov: to.1, offset: to.2 },
            usize::MAX,
        )
    }

    fn message_info(&self, sender: ThreadId, msglen: usize) -> Result<MsgInfo, Errno> {
        let t = self.threads.get(sender.0).ok_or(Errno::ESRCH)?;
        let m = t.sent.ok_or(Errno::ESRCH)?;
        Ok(info_record(t, &m, msglen, 0, 0))
    }

    fn buffer_len(&mut self, pid: ProcessId, buffer: Buffer) -> usize {
        self.read_iov(pid, buffer).ok().and_then(|iov| transfer::total_len(&iov)).unwrap_or(0)
    }

    // ---- send, receive, reply -------------------------------------------------------

    fn msg_send(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        coid: u32,
        send: Buffer,
        reply: Buffer,
    ) -> Result<Outcome, Errno> {
        let conn = *self.process_ref(pid)?.connections.get(coid).ok_or(Errno::EBADF)?;
        self.channel_alive(conn.server, conn.chid)?;
        // The descriptions themselves must be readable now (the data is checked on copy).
        self.read_iov(pid, send)?;
        self.read_iov(pid, reply)?;
        let t = self.threads.get_mut(cur.0).ok_or(Errno::ESRCH)?;
        t.message_sequence = t.message_sequence.wrapping_add(1);
        t.sent = Some(SentMessage { server: conn.server, chid: conn.chid, scoid: conn.scoid, coid, send, reply });
        let priority = t.priority;
        loop {
            let receiver = self.channel_mut(conn.server, conn.chid).and_then(|c| c.receivers.pop());
            let Some(receiver) = receiver else { break };
            match self.deliver_message(cur, receiver) {
                // (A copy an interrupt stopped is the receiver's to finish: the message is
                // delivered all the same, and `deliver_message` never says `Interrupted`.)
                Ok(()) | Err(TransferError::Interrupted(_)) => {
                    self.block_current(Blocked::Reply { server: conn.server, channel: conn.chid });
                    return Ok(Outcome::Blocked);
                }
                Err(TransferError::Source(e)) => {
                    // The sender's own buffer is bad: the receiver keeps waiting.
                    if let Some(c) = self.channel_mut(conn.server, conn.chid) {
                        c.receivers.push(receiver);
                    }
                    if let Some(t) = self.threads.get_mut(cur.0) {
                        t.sent = None;
                    }
                    return Err(e);
                }
                Err(TransferError::Destination(e)) => {
                    // The receiver's buffer is bad: it gets the error; try the next one.
                    self.finish_receive_with_error(receiver, e);
                }
            }
        }
        let channel = self.channel_mut(conn.server, conn.chid).ok_or(Errno::ESRCH)?;
        channel.enqueue(priority, cur);
        self.block_current(Blocked::Send { server: conn.server, channel: conn.chid });
        self.boost_servers(conn.server, conn.chid, 0);
        Ok(Outcome::Blocked)
    }

    fn finish_receive_with_error(&mut self, receiver: ThreadId, e: Errno) {
        if let Some(t) = self.threads.get_mut(receiver.0) {
            t.receiving = None;
        }
        self.wake(receiver, encode_result(Err(e)), None);
    }

    /// Copies `sender`'s message into RECEIVE-blocked `receiver`'s buffer and makes the
    /// receiver ready at the message's priority with the rcvid in x0.
    ///
    /// A long copy that a pending interrupt stops is the receiver's to finish: the
    /// message is received all the same (the sender REPLY-blocked, the receiver serving
    /// at its priority and taking nothing else), and the receiver's `MsgReceivev`, made
    /// again when it runs, goes on with the copy ([`System::finish_receive_later`]).
    /// (Never `Interrupted`.)
    fn deliver_message(&mut self, sender: ThreadId, receiver: ThreadId) -> Result<(), TransferError> {
        let request =
            self.threads.get(receiver.0).and_then(|t| t.receiving).ok_or(TransferError::Destination(Errno::ESRCH))?;
        let mut lists = None;
        let n = match self.copy_message_in(sender, receiver, request.buffer, 0, &mut lists) {
            Err(TransferError::Interrupted(copied)) => {
                self.start_serving(receiver, sender, request.chid);
                self.finish_receive_later(receiver, request, sender, copied, lists);
                return Ok(());
            }
            other => other?,
        };
        self.start_serving(receiver, sender, request.chid);
        if request.info != 0 {
            self.write_info(sender, receiver, request.info, n);
        }
        let id = self.rcvid_of(sender);
        if let Some(t) = self.threads.get_mut(receiver.0) {
            t.receiving = None;
        }
        self.wake_for_handoff(receiver, id);
        Ok(())
    }

    /// Leaves `receiver` to finish the copy of `sender`'s message (received: the sender
    /// is REPLY-blocked) into its buffer, which a pending interrupt stopped after
    /// `copied` bytes: its `MsgReceivev` (`request`) is made again when it runs, and goes
    /// on from there ([`Progress::Receive`]). It is ready now, no longer RECEIVE-blocked:
    /// nothing else is copied into its buffer meanwhile.
    fn finish_receive_later(
        &mut self,
        receiver: ThreadId,
        request: ReceiveRequest,
        sender: ThreadId,
        copied: usize,
        lists: Option<CopyLists>,
    ) {
        let token = self.threads.get(sender.0).map_or(0, |t| t.message_sequence);
        let call = Call::MsgReceivev {
            chid: request.chid,
            buffer: request.buffer.address,
            parts: request.buffer.parts,
            info: request.info,
        };
        if let Some(t) = self.threads.get_mut(receiver.0) {
            t.receiving = None;
        }
        let progress = Progress::Receive(CopyProgress { partner: sender, token, copied, lists });
        self.set_restart(receiver, &call.to_registers(), progress);
        // A bound on its receive stays armed for the call made again, for what is left of
        // it now: should the sender leave first, that call waits like any receive (its
        // bound counted from when it waits again).
        let now = self.machine.now_ns();
        let bound = match self.sleepers.of(receiver) {
            Some((at, Wake::Timeout(states))) => Some((states, at.saturating_sub(now))),
            _ => None,
        };
        if let (Some(bound), Some(t)) = (bound, self.threads.get_mut(receiver.0)) {
            t.timeout = Some(bound);
        }
        self.sleepers.remove_thread(receiver);
        self.make_ready(receiver);
    }

    /// Copies `sender`'s message into `receiver`'s `buffer` from byte `start` (where an
    /// earlier copy of it stopped) on; returns the bytes copied in all (`Interrupted`
    /// too).
    fn copy_message_in(
        &mut self,
        sender: ThreadId,
        receiver: ThreadId,
        buffer: Buffer,
        start: usize,
        lists: &mut Option<CopyLists>,
    ) -> Result<usize, TransferError> {
        let (s_pid, message) = self
            .threads
            .get(sender.0)
            .and_then(|t| Some((t.process, t.sent?)))
            .ok_or(TransferError::Source(Errno::ESRCH))?;
        let r_pid = self.thread_process(receiver).map_err(TransferError::Destination)?;
        let (src, dst) = match lists.take() {
            Some(resumed) => (resumed.source, resumed.destination),
            None => (
                self.read_iov(s_pid, message.send).map_err(TransferError::Source)?,
                self.read_iov(r_pid, buffer).map_err(TransferError::Destination)?,
            ),
        };
        match self.move_bytes((s_pid, &src, start), (r_pid, &dst, start)) {
            Ok(n) => Ok(start + n),
            Err(TransferError::Interrupted(n)) => {
                *lists = Some(CopyLists { source: src, destination: dst });
                Err(TransferError::Interrupted(start + n))
            }
            Err(e) => Err(e),
        }
    }

    fn rcvid_of(&self, sender: ThreadId) -> u64 {
        rcvid(sender, self.threads.get(sender.0).map_or(0, |t| t.message_sequence))
    }

    fn write_info(&mut self, sender: ThreadId, receiver: ThreadId, info: usize, n: usize) {
        let (Ok(mut record), Ok(r_pid)) = (self.message_info(sender, n), self.thread_process(receiver)) else {
            return;
        };
        let s_pid = record.pid;
        let message = self.threads.get(sender.0).and_then(|t| t.sent);
        if let Some(m) = message {
            record.srcmsglen = self.buffer_len(ProcessId(s_pid), m.send) as u32;
            record.dstmsglen = self.buffer_len(ProcessId(s_pid), m.reply) as u32;
        }
        if info == INFO_IN_REGISTERS {
            if let Some(t) = self.threads.get_mut(receiver.0) {
                info_to_registers(t, &record);
            }
            return;
        }
        let _ = self.write_user(r_pid, info, &record.to_bytes());
    }

    /// `receiver` now works for channel `chid` on `sender`'s message: it inherits the
    /// message's priority (unless the channel is FIXED_PRIORITY) and is a boost target.
    fn start_serving(&mut self, receiver: ThreadId, sender: ThreadId, chid: u32) {
        let priority = self.threads.get(sender.0).map(|t| t.priority);
        if let Some(t) = self.threads.get_mut(sender.0) {
            if let Some(m) = t.sent {
                t.state = ThreadState::Blocked(Blocked::Reply { server: m.server, channel: m.chid });
            }
        }
        self.start_reply_bound(sender);
        self.serve(receiver, chid, priority);
        let id = self.rcvid_of(sender);
        if let Some(t) = self.threads.get_mut(receiver.0) {
            t.working_on = id;
        }
    }

    fn serve(&mut self, receiver: ThreadId, chid: u32, priority: Option<u8>) {
        let Ok(pid) = self.thread_process(receiver) else { return };
        if let Some(t) = self.threads.get_mut(receiver.0) {
            t.working_on = 0; // (a message's: `start_serving` says which)
        }
        let mut fixed = false;
        if let Some(p) = self.processes.get_mut(pid.0) {
            for (h, c) in p.channels.iter_mut() {
                c.serving.retain(|t| *t != receiver);
                if h == chid {
                    c.serving.push(receiver);
                    fixed = c.flags & channel_flags::FIXED_PRIORITY != 0;
                }
            }
        }
        if let (Some(priority), false) = (priority, fixed) {
            if let Some(t) = self.threads.get_mut(receiver.0) {
                t.inherited_priority = priority;
            }
        }
        self.refresh_priority(receiver, 0);
    }

    /// `MsgReceivev` (`what`: `Any`) or `MsgReceivePulsev` (`PulsesOnly`: messages stay
    /// queued, their senders SEND-blocked, and a message never goes to this receiver).
    fn msg_receive(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        chid: u32,
        buffer: Buffer,
        info: usize,
        what: Receive,
    ) -> Result<Outcome, Errno> {
        // Made again to finish receiving a message whose copy an interrupt stopped: the
        // copy goes on, if its sender still waits for this process's reply to it (else
        // it left — a timeout, its end — and this is a receive like any). First of all:
        // whatever fails now fails the sender too, which nobody else can answer. (The
        // `_msg_info` record is written if it can be, as always.)
        if let Some(Progress::Receive(mut p)) = self.resume.take() {
            let waits = self.threads.get(p.partner.0).is_some_and(|t| {
                t.state == ThreadState::Blocked(Blocked::Reply { server: pid, channel: chid })
                    && t.message_sequence == p.token
            });
            if waits {
                match self.copy_message_in(p.partner, cur, buffer, p.copied, &mut p.lists) {
                    Ok(n) => {
                        if info != 0 {
                            self.write_info(p.partner, cur, info, n);
                        }
                        return Ok(Outcome::Value(self.rcvid_of(p.partner), None));
                    }
                    Err(TransferError::Interrupted(copied)) => {
                        self.stopped = Some(Progress::Receive(CopyProgress { copied, ..p }));
                        // (`p.lists`: the parts it used, put back by the copy.)
                        return Ok(Outcome::Restart);
                    }
                    // A bad page on either side now: the sender's send fails (its message
                    // cannot be received whole), and so does this receive if the page
                    // was its own; else it takes the next item.
                    Err(TransferError::Source(e)) => self.fail_sender(p.partner, e),
                    Err(TransferError::Destination(e)) => {
                        // (And it serves nobody: its priority drops back.)
                        self.fail_sender(p.partner, e);
                        self.stop_serving(cur, pid);
                        return Err(e);
                    }
                }
            }
        }
        if self.process_ref(pid)?.channels.get(chid).is_none() {
            return Err(Errno::ESRCH);
        }
        let iov = self.read_iov(pid, buffer)?;
        if what == Receive::PulsesOnly && transfer::total_len(&iov).unwrap_or(0) < Pulse::SIZE {
            return Err(Errno::EFAULT); // it could only lose a pulse
        }
        if info != 0 && info != INFO_IN_REGISTERS {
            let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref()).ok_or(Errno::ESRCH)?;
            space.check(&mut self.machine, info, MsgInfo::SIZE, true)?;
        }
        loop {
            let next = self.channel_mut(pid, chid).and_then(|c| match what {
                Receive::Any => c.take_first(),
                Receive::PulsesOnly => c.take_first_pulse(),
            });
            let Some(next) = next else { break };
            match next.item {
                PendingItem::Pulse(pulse) => {
                    self.pulse_gone(next.from);
                    self.boost_servers(pid, chid, 0);
                    return self.receive_pulse(cur, pid, chid, &iov, pulse, next.priority);
                }
                PendingItem::Message(sender) => {
                    if let Some(t) = self.threads.get_mut(cur.0) {
                        t.receiving = Some(ReceiveRequest { chid, buffer, info });
                    }
                    let mut lists = None;
                    let result = self.copy_message_in(sender, cur, buffer, 0, &mut lists);
                    if let Some(t) = self.threads.get_mut(cur.0) {
                        t.receiving = None;
                    }
                    match result {
                        Ok(n) => {
                            self.start_serving(cur, sender, chid);
                            self.boost_servers(pid, chid, 0);
                            if info != 0 {
                                self.write_info(sender, cur, info, n);
                            }
                            return Ok(Outcome::Value(self.rcvid_of(sender), None));
                        }
                        Err(TransferError::Source(e)) => {
                            // The sender's buffer is bad: fail its send, take the next item.
                            // The serving threads it boosted are boosted no more for it.
                            if let Some(t) = self.threads.get_mut(sender.0) {
                                t.sent = None;
                            }
                            self.wake(sender, encode_result(Err(e)), None);
                            self.boost_servers(pid, chid, 0);
                        }
                        Err(TransferError::Destination(e)) => {
                            // The receiver's buffer is bad: the message stays queued, first.
                            if let Some(c) = self.channel_mut(pid, chid) {
                                c.insert(next);
                            }
                            return Err(e);
                        }
                        Err(TransferError::Interrupted(copied)) => {
                            // Received all the same (its sender REPLY-blocked, nothing
                            // else copied into this buffer): the call is made again to
                            // finish the copy (above).
                            self.start_serving(cur, sender, chid);
                            self.boost_servers(pid, chid, 0);
                            let token = self.threads.get(sender.0).map_or(0, |t| t.message_sequence);
                            self.stopped =
                                Some(Progress::Receive(CopyProgress { partner: sender, token, copied, lists }));
                            return Ok(Outcome::Restart);
                        }
                    }
                }
            }
        }
        // Nothing pending: wait (the most recent receiver is served first).
        if let Some(t) = self.threads.get_mut(cur.0) {
            t.receiving = Some(ReceiveRequest { chid, buffer, info });
        }
        if let Some(c) = self.channel_mut(pid, chid) {
            match what {
                Receive::Any => c.receivers.push(cur),
                Receive::PulsesOnly => c.pulse_receivers.push(cur),
            }
        }
        self.stop_serving(cur, pid);
        self.block_current(Blocked::Receive { channel: chid });
        Ok(Outcome::Blocked)
    }

    /// Thread `id` of `pid` serves no channel any more: it runs at its own priority.
    fn stop_serving(&mut self, id: ThreadId, pid: ProcessId) {
        if let Some(t) = self.threads.get_mut(id.0) {
            t.inherited_priority = t.base_priority;
            t.working_on = 0;
        }
        if let Some(p) = self.processes.get_mut(pid.0) {
            for (_, c) in p.channels.iter_mut() {
                c.serving.retain(|t| *t != id);
            }
        }
        self.refresh_priority(id, 0);
    }

    fn receive_pulse(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        chid: u32,
        iov: &[(usize, usize)],
        pulse: Pulse,
        priority: u8,
    ) -> Result<Outcome, Errno> {
        self.write_pulse(pid, iov, &pulse)?;
        self.serve(cur, chid, Some(priority));
        Ok(Outcome::Value(0, None))
    }

    /// Writes a pulse into a receive buffer; a buffer too small loses the pulse (EFAULT).
    fn write_pulse(&mut self, pid: ProcessId, iov: &[(usize, usize)], pulse: &Pulse) -> Result<(), Errno> {
        if transfer::total_len(iov).unwrap_or(0) < Pulse::SIZE {
            return Err(Errno::EFAULT);
        }
        let bytes = pulse.to_bytes();
        let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref()).ok_or(Errno::ESRCH)?;
        let mut done = 0;
        for &(va, len) in iov {
            let n = len.min(bytes.len() - done);
            space.check(&mut self.machine, va, n, true)?;
            done += n;
            if done == bytes.len() {
                break;
            }
        }
        done = 0;
        for &(va, len) in iov {
            let n = len.min(bytes.len() - done);
            space.write(&mut self.machine, va, &bytes[done..done + n])?;
            done += n;
            if done == bytes.len() {
                break;
            }
        }
        Ok(())
    }

    /// Queues (or hands to a waiting receiver) a pulse on channel `chid` of `server`.
    ///
    /// The callers' pulses (`MsgSendPulse`) and the kernel's own — events (a child's end,
    /// `MsgDeliverEvent`) and notices (disconnect, unblock, thread and connection death)
    /// — are bounded apart, each beyond its bounds refused with `EAGAIN` (a kernel pulse
    /// is then dropped), so that nobody's flood of either exhausts the kernel's memory,
    /// and no flood of `MsgSendPulse` makes a process miss a child's end or a client's
    /// disconnection (an audit found a flood hiding a dead client). A process's:
    /// [`MAX_PULSES_PER_PROCESS`] made by it, [`MAX_QUEUED_PULSES`] in all. The kernel's:
    /// [`MAX_KERNEL_PULSES_PER_PROCESS`] on the receiving process's channels,
    /// [`MAX_QUEUED_KERNEL_PULSES`] in all. An UNBLOCK for a request whose UNBLOCK is
    /// still queued is not queued again. A timer's, an interrupt's or a disconnection's
    /// pulse ([`PulseFrom::Source`]) is never refused, and not queued again while queued.
    pub(crate) fn send_pulse(
        &mut self,
        server: ProcessId,
        chid: u32,
        priority: u8,
        pulse: Pulse,
        from: PulseFrom,
    ) -> Result<(), Errno> {
        if let Some(receiver) = self.pulse_to_waiting_receiver(server, chid, priority, &pulse) {
            self.make_ready(receiver); // the common case, as below (fastpath.rs)
            return Ok(());
        }
        loop {
            // (Those waiting for a pulse only first: nothing else can wake them.)
            let receiver =
                self.channel_mut(server, chid).and_then(|c| c.pulse_receivers.pop().or_else(|| c.receivers.pop()));
            let Some(receiver) = receiver else { break };
            let Some(request) = self.threads.get(receiver.0).and_then(|t| t.receiving) else { continue };
            let iov = match self.read_iov(server, request.buffer) {
                Ok(iov) => iov,
                Err(e) => {
                    self.finish_receive_with_error(receiver, e);
                    continue;
                }
            };
            match self.write_pulse(server, &iov, &pulse) {
                Ok(()) => {
                    if let Some(t) = self.threads.get_mut(receiver.0) {
                        t.receiving = None;
                    }
                    self.serve(receiver, chid, Some(priority));
                    self.wake(receiver, 0, None);
                }
                // Too small a buffer: the receiver gets EFAULT and the pulse is lost.
                Err(e) => self.finish_receive_with_error(receiver, e),
            }
            return Ok(());
        }
        let full = match from {
            PulseFrom::Process(maker) => {
                let made = self.processes.get(maker.0).map_or(0, |p| p.queued_pulses);
                made >= MAX_PULSES_PER_PROCESS || self.queued_pulses >= MAX_QUEUED_PULSES
            }
            PulseFrom::Kernel => {
                let process = self.processes.get(server.0).ok_or(Errno::ESRCH)?;
                let held: usize = process.channels.iter().map(|(_, c)| c.kernel_pulses).sum();
                held >= MAX_KERNEL_PULSES_PER_PROCESS || self.queued_kernel_pulses >= MAX_QUEUED_KERNEL_PULSES
            }
            PulseFrom::Message | PulseFrom::Source(_) | PulseFrom::Orphan => false,
        };
        let process = self.processes.get_mut(server.0).ok_or(Errno::ESRCH)?;
        let channel = process.channels.get_mut(chid).ok_or(Errno::ESRCH)?;
        if pulse.code == pulse_code::UNBLOCK && channel.holds_pulse(&pulse) {
            return Ok(()); // the server has yet to see the one already queued
        }
        if let PulseFrom::Source(source) = from {
            if channel.holds_pulse_of(source) {
                return Ok(()); // its receiver has yet to see the one already queued
            }
        }
        if full {
            return Err(Errno::EAGAIN);
        }
        channel.enqueue_pulse(priority, pulse, from);
        match from {
            PulseFrom::Process(maker) => {
                self.queued_pulses += 1;
                if let Some(p) = self.processes.get_mut(maker.0) {
                    p.queued_pulses += 1;
                }
            }
            PulseFrom::Kernel => self.queued_kernel_pulses += 1,
            PulseFrom::Message | PulseFrom::Source(_) | PulseFrom::Orphan => {}
        }
        self.boost_servers(server, chid, 0);
        Ok(())
    }

    /// A pulse made `from` left its queue (received, or gone with its channel): the
    /// counts [`send_pulse`](Self::send_pulse) keeps. (A maker that ended has no pulses
    /// left to its name: [`orphan_pulses_of`](Self::orphan_pulses_of).)
    fn pulse_gone(&mut self, from: PulseFrom) {
        match from {
            PulseFrom::Process(maker) => {
                self.queued_pulses -= 1;
                if let Some(p) = self.processes.get_mut(maker.0) {
                    p.queued_pulses -= 1;
                }
            }
            PulseFrom::Orphan => self.queued_pulses -= 1,
            PulseFrom::Kernel => self.queued_kernel_pulses -= 1,
            PulseFrom::Message | PulseFrom::Source(_) => {}
        }
    }

    /// Process `maker` is ending (its own channels gone): the pulses it made that still
    /// wait become their receivers' orphans ([`PulseFrom::Orphan`]), each receiving
    /// process taking at most [`MAX_ORPHANED_PULSES_PER_PROCESS`] (the rest dropped).
    fn orphan_pulses_of(&mut self, maker: ProcessId) {
        if self.processes.get(maker.0).is_none_or(|p| p.queued_pulses == 0) {
            return;
        }
        let (mut dropped, mut emptied) = (0, Vec::new());
        for (pid, p) in self.processes.iter_mut() {
            let held: usize = p.channels.iter().map(|(_, c)| c.orphan_pulses).sum();
            let mut room = MAX_ORPHANED_PULSES_PER_PROCESS.saturating_sub(held);
            for (chid, c) in p.channels.iter_mut() {
                let gone = c.orphan_pulses_of(maker, &mut room);
                if gone > 0 {
                    dropped += gone;
                    emptied.push((ProcessId(pid), chid));
                }
            }
        }
        self.queued_pulses -= dropped;
        if let Some(p) = self.processes.get_mut(maker.0) {
            p.queued_pulses = 0;
        }
        // The threads serving those channels are boosted no more for the pulses dropped.
        for (server, chid) in emptied {
            self.boost_servers(server, chid, 0);
        }
    }

    /// The REPLY-blocked sender `rcvid` names, if its message was received by `pid`.
    pub(crate) fn received_message(&self, pid: ProcessId, id: u64) -> Result<(ThreadId, SentMessage), Errno> {
        let (sender, sequence) = split_rcvid(id).ok_or(Errno::ESRCH)?;
        let t = self.threads.get(sender.0).ok_or(Errno::ESRCH)?;
        let message = t.sent.ok_or(Errno::ESRCH)?;
        let replying = matches!(t.state, ThreadState::Blocked(Blocked::Reply { .. }));
        if !replying || message.server != pid || rcvid_sequence(t.message_sequence) != sequence {
            return Err(Errno::ESRCH);
        }
        Ok((sender, message))
    }

    fn msg_reply(
        &mut self,
        pid: ProcessId,
        id: u64,
        status: Result<u64, Errno>,
        data: Buffer,
    ) -> Result<Replied, Errno> {
        let (sender, message) = self.received_message(pid, id)?;
        let s_pid = self.thread_process(sender)?;
        let mut result = status;
        if status.is_ok() {
            let sequence = self.threads.get(sender.0).map_or(0, |t| t.message_sequence);
            let (start, lists) = self.copy_start(sender, sequence);
            let (src, dst) = match lists {
                Some(lists) => (lists.source, Ok(lists.destination)),
                None => (self.read_iov(pid, data)?, self.read_iov(s_pid, message.reply)),
            };
            let copied = match &dst {
                Ok(dst) => self.move_bytes((pid, &src, start), (s_pid, dst, start)),
                Err(e) => Err(TransferError::Destination(*e)),
            };
            match (copied, dst) {
                (Ok(_), _) => {}
                (Err(TransferError::Source(e)), _) => return Err(e),
                (Err(TransferError::Destination(e)), _) => result = Err(e),
                (Err(TransferError::Interrupted(n)), Ok(destination)) => {
                    self.copy_stopped(sender, sequence, start + n, CopyLists { source: src, destination });
                    return Ok(Replied::Interrupted);
                }
                (Err(TransferError::Interrupted(_)), Err(e)) => result = Err(e), // (cannot be)
            }
        }
        if let Some(t) = self.threads.get_mut(sender.0) {
            t.sent = None;
        }
        self.wake_for_handoff(sender, encode_result(result));
        match result {
            Err(e) if status.is_ok() => Err(e),
            _ => Ok(Replied::Done),
        }
    }

    // ---- priority inheritance -------------------------------------------------------

    /// Raises the threads serving channel `chid` of `server` to the priority of its most
    /// urgent waiting item (and lets them fall back when that item has gone).
    fn boost_servers(&mut self, server: ProcessId, chid: u32, depth: u32) {
        let count = match self.channel_mut(server, chid) {
            Some(c) if c.flags & channel_flags::FIXED_PRIORITY == 0 => c.serving.len(),
            _ => return,
        };
        // By index, not by a copy of the list: the message path stays off the heap.
        // (Refreshing a priority never changes who serves a channel.)
        for i in 0..count {
            let Some(t) = self.channel_mut(server, chid).and_then(|c| c.serving.get(i).copied()) else { break };
            self.refresh_priority(t, depth + 1);
        }
    }

    /// Recomputes a thread's running priority: the higher of its inherited priority and
    /// the most urgent item waiting on a channel it serves. A change moves it in its ready
    /// queue, or in the send queue it waits on (boosting that server in turn).
    pub(crate) fn refresh_priority(&mut self, id: ThreadId, depth: u32) {
        if depth > MAX_CHAIN {
            return;
        }
        let Some(t) = self.threads.get(id.0) else { return };
        let mut want = t.inherited_priority;
        if let Some(p) = self.processes.get(t.process.0) {
            for (_, c) in p.channels.iter() {
                if c.flags & channel_flags::FIXED_PRIORITY == 0 && c.serving.contains(&id) {
                    want = want.max(c.top_priority().unwrap_or(0));
                }
            }
        }
        if want == t.priority {
            return;
        }
        let state = t.state;
        self.threads.get_mut(id.0).expect("checked").priority = want;
        match state {
            ThreadState::Ready => self.ready.push_back(id.index(), want),
            ThreadState::Blocked(Blocked::Send { server, channel }) => {
                if let Some(c) = self.channel_mut(server, channel) {
                    if let Some(mut p) = c.remove_message(id) {
                        p.priority = want;
                        c.insert(p);
                    }
                }
                self.boost_servers(server, channel, depth);
            }
            // A client waiting for its reply: the thread working on its message (if it
            // has not moved on to another) runs at its priority — the chain goes on.
            ThreadState::Blocked(Blocked::Reply { server, channel }) => {
                if let Some(worker) = self.worker_of(id, server, channel) {
                    if let Some(w) = self.threads.get_mut(worker.0) {
                        w.inherited_priority = want;
                    }
                    self.refresh_priority(worker, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The thread of `server` working on REPLY-blocked `client`'s message on channel
    /// `chid` (it received it and has not received since), unless the channel is
    /// FIXED_PRIORITY (whose threads inherit nothing).
    fn worker_of(&self, client: ThreadId, server: ProcessId, chid: u32) -> Option<ThreadId> {
        let c = self.processes.get(server.0)?.channels.get(chid)?;
        if c.flags & channel_flags::FIXED_PRIORITY != 0 {
            return None;
        }
        self.threads.get(client.0)?;
        let id = self.rcvid_of(client);
        c.serving.iter().copied().find(|w| self.threads.get(w.0).is_some_and(|t| t.working_on == id))
    }

    /// REPLY-blocked `client` (of channel `chid` in `server`) leaves without its reply
    /// (a timeout, an unblock, its end): the thread working on its message no longer
    /// runs at its priority, which it inherited for a client that waits no more.
    pub(crate) fn release_worker(&mut self, client: ThreadId, server: ProcessId, chid: u32) {
        let Some(worker) = self.worker_of(client, server, chid) else { return };
        if let Some(w) = self.threads.get_mut(worker.0) {
            w.inherited_priority = w.base_priority;
            w.working_on = 0;
        }
        self.refresh_priority(worker, 0);
    }

    /// Takes the pulse of `source` off channel `chid` of `server` if it waits there (its
    /// timer, route or registration is going), and lets the channel's serving threads
    /// fall back: what bounds these pulses, counted in no room, as a disconnection's goes
    /// with its scoid.
    pub(crate) fn drop_source_pulse(&mut self, server: ProcessId, chid: u32, source: EventSource) {
        if self.channel_mut(server, chid).is_some_and(|c| c.drop_pulse_of(source)) {
            self.boost_servers(server, chid, 0);
        }
    }

    /// A REPLY-blocked `client` of channel `chid` in `server` wants to unblock. With
    /// `_NTO_CHF_UNBLOCK` the server gets `_PULSE_CODE_UNBLOCK` (value: the rcvid) and the
    /// client stays blocked (returns true); otherwise the caller unblocks it.
    pub(crate) fn ipc_request_unblock(&mut self, client: ThreadId, server: ProcessId, chid: u32) -> bool {
        let wants_pulse = self
            .processes
            .get(server.0)
            .and_then(|p| p.channels.get(chid))
            .is_some_and(|c| c.flags & channel_flags::UNBLOCK != 0);
        if !wants_pulse {
            return false;
        }
        let Some(scoid) = self.threads.get(client.0).and_then(|t| t.sent).map(|m| m.scoid) else { return false };
        let priority = self.threads.get(client.0).map_or(1, |t| t.priority);
        let pulse = Pulse { kind: 0, subtype: 0, code: pulse_code::UNBLOCK, value: self.rcvid_of(client), scoid };
        // (Refused only when the server holds its most of the kernel's pulses: the client
        // is then unblocked at once, as without the flag.)
        self.send_pulse(server, chid, priority, pulse, PulseFrom::Kernel).is_ok()
    }

    // ---- cleanup --------------------------------------------------------------------

    fn destroy_channel(&mut self, pid: ProcessId, chid: u32) -> Result<(), Errno> {
        let channel = self.processes.get_mut(pid.0).ok_or(Errno::ESRCH)?.channels.remove(chid).ok_or(Errno::EINVAL)?;
        for p in channel.pending.iter().rev() {
            match p.item {
                PendingItem::Message(sender) => self.fail_sender(sender, Errno::ESRCH),
                PendingItem::Pulse(_) => self.pulse_gone(p.from),
            }
        }
        for receiver in channel.receivers.iter().rev().chain(channel.pulse_receivers.iter().rev()) {
            self.finish_receive_with_error(*receiver, Errno::ESRCH);
        }
        let replying: Vec<ThreadId> = self
            .threads
            .iter()
            .filter(|(_, t)| t.sent.is_some_and(|m| m.server == pid && m.chid == chid))
            .map(|(h, _)| ThreadId(h))
            .collect();
        for sender in replying {
            self.fail_sender(sender, Errno::ESRCH);
        }
        for t in channel.serving {
            if let Some(th) = self.threads.get_mut(t.0) {
                th.inherited_priority = th.base_priority;
            }
            self.refresh_priority(t, 0);
        }
        // Its server connections are no more (QNX: "all server connection IDs become
        // invalid"): one whose disconnection was not received yet would stay for good.
        if let Some(p) = self.processes.get_mut(pid.0) {
            let gone: Vec<u32> =
                p.server_connections.iter().filter(|(_, sc)| sc.chid == chid).map(|(h, _)| h).collect();
            for scoid in gone {
                p.server_connections.remove(scoid);
            }
        }
        Ok(())
    }

    /// Channels `chids` of `server` are gone: clients whose connections to them asked to
    /// know (`_NTO_CHF_COID_DISCONNECT`) get `_PULSE_CODE_COIDDEATH` for each. (One pass
    /// over everyone's connections for all of them: a process's end destroys up to 64.)
    fn tell_coid_deaths(&mut self, server: ProcessId, chids: &[u32]) {
        let mut notices = Vec::new();
        for (client, p) in self.processes.iter() {
            if client == server.0 || p.exit_status.is_some() {
                continue;
            }
            let Some((notify, _)) = p.channels.iter().find(|(_, c)| c.flags & channel_flags::COID_DISCONNECT != 0)
            else {
                continue;
            };
            for (coid, conn) in p.connections.iter() {
                if conn.server == server && chids.contains(&conn.chid) {
                    notices.push((ProcessId(client), notify, coid));
                }
            }
        }
        for (client, notify, coid) in notices {
            let pulse = Pulse { kind: 0, subtype: 0, code: pulse_code::COIDDEATH, value: coid as u64, scoid: 0 };
            let _ = self.send_pulse(client, notify, self.notice_priority(client), pulse, PulseFrom::Kernel);
        }
    }

    pub(crate) fn fail_sender(&mut self, sender: ThreadId, e: Errno) {
        if let Some(t) = self.threads.get_mut(sender.0) {
            t.sent = None;
        }
        self.wake(sender, encode_result(Err(e)), None);
    }

    /// A thread is going away: take it off every IPC queue, and off the channels it
    /// serves.
    pub(crate) fn ipc_forget_thread(&mut self, id: ThreadId) {
        let Some(t) = self.threads.get(id.0) else { return };
        let (sent, state, pid) = (t.sent, t.state, t.process);
        if let (Some(m), ThreadState::Blocked(Blocked::Reply { .. })) = (sent, state) {
            self.release_worker(id, m.server, m.chid);
        }
        self.ipc_stop_waiting(id);
        if let Some(p) = self.processes.get_mut(pid.0) {
            for (_, c) in p.channels.iter_mut() {
                c.serving.retain(|t| *t != id);
            }
        }
    }

    /// SEND- or RECEIVE-blocked thread `id` stops waiting (a timeout, an unblock, a
    /// detached connection, its end): off the queue it waits in. A thread that goes on
    /// living still serves the channel it served: working on a message while it sends
    /// one of its own, it must still inherit from that message's client and be boosted
    /// by those queued behind (a review found a worker's timed-out send leaving it at a
    /// dead client's priority, and deaf to a more urgent one's).
    pub(crate) fn ipc_stop_waiting(&mut self, id: ThreadId) {
        let Some(t) = self.threads.get(id.0) else { return };
        let (sent, state, pid) = (t.sent, t.state, t.process);
        if let (Some(m), ThreadState::Blocked(Blocked::Send { .. })) = (sent, state) {
            if let Some(c) = self.channel_mut(m.server, m.chid) {
                c.remove_message(id);
            }
            self.boost_servers(m.server, m.chid, 0);
        }
        if let Some(p) = self.processes.get_mut(pid.0) {
            for (_, c) in p.channels.iter_mut() {
                c.receivers.retain(|t| *t != id);
                c.pulse_receivers.retain(|t| *t != id);
            }
        }
    }

    /// Thread `tid` of `pid` died: channels of `pid` that asked get a THREADDEATH pulse.
    pub(crate) fn notify_thread_death(&mut self, pid: ProcessId, tid: u32) {
        let chids: Vec<u32> = match self.processes.get(pid.0) {
            Some(p) => {
                p.channels.iter().filter(|(_, c)| c.flags & channel_flags::THREAD_DEATH != 0).map(|(h, _)| h).collect()
            }
            None => return,
        };
        for chid in chids {
            let pulse = Pulse { kind: 0, subtype: 0, code: pulse_code::THREADDEATH, value: tid as u64, scoid: 0 };
            let _ = self.send_pulse(pid, chid, self.notice_priority(pid), pulse, PulseFrom::Kernel);
        }
    }

    /// A process is ending: its channels (failing their clients with ESRCH), its
    /// connections (disconnecting from servers) and its server connections go.
    pub(crate) fn ipc_forget_process(&mut self, pid: ProcessId) {
        let chids: Vec<u32> = self.processes.get(pid.0).map(|p| p.channels.handles()).unwrap_or_default();
        for &chid in &chids {
            let _ = self.destroy_channel(pid, chid);
        }
        self.tell_coid_deaths(pid, &chids);
        self.orphan_pulses_of(pid);
        // (Clients connected to its channels got their COIDDEATH pulses as each went.)
        let coids: Vec<u32> = self.processes.get(pid.0).map(|p| p.connections.handles()).unwrap_or_default();
        for coid in coids {
            let _ = self.detach(pid, coid, 0);
        }
        if let Some(p) = self.processes.get_mut(pid.0) {
            p.server_connections = HandleTable::new(MAX_CONNECTIONS);
        }
        let stale: Vec<u32> =
            self.events.iter().filter(|(_, r)| r.client == pid || r.server == pid).map(|(h, _)| h).collect();
        for h in stale {
            self.events.remove(h);
        }
    }
}

#[cfg(test)]
#[path = "ipc_tests.rs"]
mod tests;
