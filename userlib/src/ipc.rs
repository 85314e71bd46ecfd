//! Message passing, QNX Neutrino style, as Rust types that own their kernel objects.
//!
//! A server owns a [`Channel`] and receives from it; a client owns a [`Connection`] to
//! it and sends, blocking until the reply. Every message received is a
//! [`ReceivedMessage`] that is answered exactly once: replying consumes it, and dropping
//! it unanswered fails the sender with `EIO`, so no client is left REPLY-blocked by a
//! forgotten message. Pulses, events a client registers for its server to deliver
//! ([`register_event`]), [`Timer`]s and [`Interrupt`] routes are the non-blocking
//! notifications that arrive in the same receive loop; [`timeout`] bounds a blocking
//! call. Channels, connections, timers and interrupt routes are closed when dropped.
//!
//! Multi-part messages are lists of slices, described to the kernel by an [`IoVec`].
//! [`IoVec`] and [`pulse_from_parts`] are plain logic, built and tested on the host; the
//! rest makes system calls and needs the Muon target.

use abi::ipc::IOV_SIZE;
use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;

pub use abi::ipc::{channel_flags, notify, pulse_code, ClientInfo, MsgInfo, Pulse, SigEvent};
pub use abi::syscall::timeout_states;

#[cfg(target_os = "none")]
use crate::{sys, Errno, Pid};

/// Parts an [`IoVec`] describes without allocating. With more, building it may grow the
/// heap, a system call that would use up an armed [`timeout`].
pub const INLINE_IOV_PARTS: usize = 8;

/// The I/O vector (QNX's `iov_t` array) describing a list of byte slices: one
/// [`IOV_SIZE`]-byte `(address, length)` entry per slice, little-endian, as the kernel
/// reads it. Up to [`INLINE_IOV_PARTS`] entries live inside the value; more are
/// allocated.
///
/// It borrows the slices for `'a`. Built by [`IoVec::new`], it describes data the kernel
/// may only read (a message to send, a reply); built by [`IoVec::new_mut`], buffers it
/// may also write (to receive, read or be replied into). Its [`address`](IoVec::address)
/// and [`parts`](IoVec::parts) are what the raw calls of `crate::sys` take.
#[derive(Debug)]
pub struct IoVec<'a> {
    entries: Entries,
    parts: usize,
    slices: PhantomData<&'a mut [u8]>,
}

/// Where an [`IoVec`]'s entries are kept.
#[derive(Debug)]
enum Entries {
    Inline([u8; INLINE_IOV_PARTS * IOV_SIZE]),
    Heap(Vec<u8>),
}

impl<'a> IoVec<'a> {
    /// The vector of `parts`, for the kernel to read.
    pub fn new(parts: &[&'a [u8]]) -> IoVec<'a> {
        IoVec::encode(parts.iter().map(|part| (part.as_ptr() as usize, part.len())))
    }

    /// The vector of `parts`, for the kernel to read and write; they stay borrowed
    /// (unusable otherwise) while it lives.
    pub fn new_mut(parts: &'a mut [&mut [u8]]) -> IoVec<'a> {
        IoVec::encode(parts.iter_mut().map(|part| (part.as_mut_ptr() as usize, part.len())))
    }

    fn encode(parts: impl ExactSizeIterator<Item = (usize, usize)>) -> IoVec<'a> {
        let count = parts.len();
        let mut entries = if count <= INLINE_IOV_PARTS {
            Entries::Inline([0; INLINE_IOV_PARTS * IOV_SIZE])
        } else {
            Entries::Heap(vec![0; count * IOV_SIZE])
        };
        let bytes = match &mut entries {
            Entries::Inline(bytes) => &mut bytes[..],
            Entries::Heap(bytes) => &mut bytes[..],
        };
        for (entry, (address, len)) in bytes.chunks_exact_mut(IOV_SIZE).zip(parts) {
            entry[..8].copy_from_slice(&(address as u64).to_le_bytes());
            entry[8..].copy_from_slice(&(len as u64).to_le_bytes());
        }
        IoVec { entries, parts: count, slices: PhantomData }
    }

    /// Where the entries are. Valid only while the vector stays where it is: pass it to
    /// a call while borrowing the vector.
    pub fn address(&self) -> usize {
        self.entries().as_ptr() as usize
    }

    /// The number of entries, as the calls take it (`>= 0`: an I/O vector).
    pub fn parts(&self) -> i64 {
        self.parts as i64
    }

    /// The encoded entries.
    fn entries(&self) -> &[u8] {
        match &self.entries {
            Entries::Inline(bytes) => &bytes[..self.parts * IOV_SIZE],
            Entries::Heap(bytes) => bytes,
        }
    }
}

/// The pulse a receive wrote at the start of a buffer given in `parts` (the kernel fills
/// them in order, as one byte sequence); `None` if they hold less than `Pulse::SIZE`
/// bytes.
pub fn pulse_from_parts<'p>(parts: impl IntoIterator<Item = &'p [u8]>) -> Option<Pulse> {
    let mut bytes = [0u8; Pulse::SIZE];
    let mut filled = 0;
    for part in parts {
        let take = part.len().min(Pulse::SIZE - filled);
        bytes[filled..filled + take].copy_from_slice(&part[..take]);
        filled += take;
        if filled == Pulse::SIZE {
            return Pulse::from_bytes(&bytes);
        }
    }
    None
}

/// A channel of this process (QNX's chid), on which it receives messages and pulses.
/// Dropping it destroys the channel: clients waiting on it fail with `ESRCH`.
///
/// Several threads may receive on one channel at once (`&self`): each message goes to
/// one of them.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct Channel {
    chid: u32,
}

#[cfg(target_os = "none")]
impl Channel {
    /// Creates a channel with `flags` ([`channel_flags`], 0 for none).
    #[doc(alias = "ChannelCreate")]
    pub fn create(flags: u32) -> Result<Channel, Errno> {
        sys::channel_create(flags).map(|chid| Channel { chid })
    }

    /// The chid clients connect to ([`Connection::attach`]).
    pub fn chid(&self) -> u32 {
        self.chid
    }

    /// Waits for a message or a pulse. A message fills the start of `buffer` (the rest
    /// can be read with [`ReceivedMessage::read`]); a pulse is decoded from it.
    ///
    /// `EINVAL`, before waiting, if `buffer` is shorter than `Pulse::SIZE`: the kernel
    /// would drop a pulse that does not fit.
    #[doc(alias = "MsgReceive")]
    pub fn receive(&self, buffer: &mut [u8]) -> Result<Received, Errno> {
        room_for_pulse(buffer.len())?;
        let rcvid = sys::msg_receive(self.chid, buffer, None)?;
        received(rcvid, [&*buffer])
    }

    /// [`Channel::receive`], also storing a message's sender, lengths (`msglen`: bytes
    /// received, `srcmsglen`: bytes sent, `dstmsglen`: room for the reply) and
    /// priority in `info`. A pulse leaves `info` untouched.
    #[doc(alias = "MsgReceive")]
    pub fn receive_with_info(&self, buffer: &mut [u8], info: &mut MsgInfo) -> Result<Received, Errno> {
        room_for_pulse(buffer.len())?;
        let rcvid = sys::msg_receive(self.chid, buffer, Some(info))?;
        received(rcvid, [&*buffer])
    }

    /// Answers `message` with `status` and `data` (as [`ReceivedMessage::reply`]), then
    /// does [`Channel::receive_with_info`], in one kernel entry: the server loop Muon
    /// recommends (`MsgReplyReceivev`, after seL4's ReplyRecv). A sender that has gone,
    /// or whose reply buffer is bad (it is told), does not stop the receive. If the call
    /// fails, `message` is dropped (see [`ReceivedMessage`]), in case it was not answered.
    #[doc(alias = "MsgReplyReceive")]
    pub fn reply_and_receive_with_info(
        &self,
        message: ReceivedMessage,
        status: u64,
        data: &[u8],
        buffer: &mut [u8],
        info: &mut MsgInfo,
    ) -> Result<Received, Errno> {
        room_for_pulse(buffer.len())?;
        let rcvid = sys::msg_reply_receive(message.rcvid, status, data, self.chid, buffer, Some(info))?;
        // Answered: the call fails before the answer only when `data` is bad.
        core::mem::forget(message);
        received(rcvid, [&*buffer])
    }

    /// [`Channel::receive`] into `parts`, filled in order as one buffer; `EINVAL` if
    /// together they are shorter than `Pulse::SIZE`.
    #[doc(alias = "MsgReceivev")]
    pub fn receive_v(&self, parts: &mut [&mut [u8]]) -> Result<Received, Errno> {
        room_for_pulse(parts.iter().map(|part| part.len()).sum())?;
        let rcvid = {
            let iov = IoVec::new_mut(parts);
            // SAFETY: `iov` describes `parts`, writable slices it borrows exclusively
            // until the call returns.
            unsafe { sys::msg_receivev(self.chid, iov.address(), iov.parts(), None) }?
        };
        received(rcvid, parts.iter().map(|part| &**part))
    }

    /// Waits for a pulse, leaving messages queued for [`Channel::receive`] (their senders
    /// stay SEND-blocked): a driver's thread can wait for its interrupts on a channel
    /// whose other threads serve clients.
    #[doc(alias = "MsgReceivePulse")]
    pub fn receive_pulse(&self) -> Result<Pulse, Errno> {
        sys::msg_receive_pulse(self.chid)
    }
}

#[cfg(target_os = "none")]
impl Drop for Channel {
    fn drop(&mut self) {
        // Only a chid this value owns is destroyed, so the call cannot fail.
        let _ = sys::channel_destroy(self.chid);
    }
}

/// `EINVAL` for a receive buffer of `len` bytes, too small for a pulse.
#[cfg(target_os = "none")]
fn room_for_pulse(len: usize) -> Result<(), Errno> {
    if len < Pulse::SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// What receive result `rcvid` means, the receive buffer being `buffer`'s parts.
#[cfg(target_os = "none")]
fn received<'p>(rcvid: u64, buffer: impl IntoIterator<Item = &'p [u8]>) -> Result<Received, Errno> {
    match rcvid {
        0 => pulse_from_parts(buffer).map(Received::Pulse).ok_or(Errno::EFAULT),
        rcvid => Ok(Received::Message(ReceivedMessage { rcvid })),
    }
}

/// What a receive got.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub enum Received {
    /// A message, whose sender waits for the answer.
    Message(ReceivedMessage),
    /// A pulse: nobody waits for it.
    Pulse(Pulse),
}

/// A received message; its sender stays REPLY-blocked until it is answered, exactly
/// once: [`reply`](ReceivedMessage::reply), [`reply_v`](ReceivedMessage::reply_v) or
/// [`error`](ReceivedMessage::error) consume it.
///
/// **Dropped unanswered** (an early `?` return, a forgotten branch), it fails the
/// sender's send with `EIO`, so a client is never left blocked. The same happens after
/// an answer that failed (the `EIO` then reaches the sender only if the failed answer
/// left it waiting). It may be kept to answer later, from any thread of the process.
#[cfg(target_os = "none")]
#[derive(Debug)]
#[must_use = "a dropped message fails its sender with EIO"]
pub struct ReceivedMessage {
    rcvid: u64,
}

#[cfg(target_os = "none")]
impl ReceivedMessage {
    /// The rcvid: what a `_PULSE_CODE_UNBLOCK` pulse's value names, and what
    /// [`deliver_event`] takes after the message is answered.
    pub fn rcvid(&self) -> u64 {
        self.rcvid
    }

    /// Answers with `status` (what the sender's send returns) and `data` (as much as its
    /// reply buffer takes). A `status` in the last 4095 values of `u64` reads as
    /// `-errno` to the sender: use [`ReceivedMessage::error`] for errors.
    #[doc(alias = "MsgReply")]
    pub fn reply(self, status: u64, data: &[u8]) -> Result<(), Errno> {
        let answer = sys::msg_reply(self.rcvid, status, data);
        self.settle(answer)
    }

    /// [`ReceivedMessage::reply`] with the data in `parts`, in order.
    #[doc(alias = "MsgReplyv")]
    pub fn reply_v(self, status: u64, parts: &[&[u8]]) -> Result<(), Errno> {
        let iov = IoVec::new(parts);
        // SAFETY: `iov` describes `parts`, readable slices borrowed for the call, which
        // the kernel only reads.
        let answer = unsafe { sys::msg_replyv(self.rcvid, status, iov.address(), iov.parts()) };
        self.settle(answer)
    }

    /// Answers with `errno`, which the sender's send fails with (`EINVAL` for `EOK`).
    #[doc(alias = "MsgError")]
    pub fn error(self, errno: Errno) -> Result<(), Errno> {
        let answer = sys::msg_error(self.rcvid, errno);
        self.settle(answer)
    }

    /// Copies what the sender sent, from byte `offset`, into `buffer`; returns the bytes
    /// copied (0 past the end).
    #[doc(alias = "MsgRead")]
    pub fn read(&self, offset: usize, buffer: &mut [u8]) -> Result<usize, Errno> {
        sys::msg_read(self.rcvid, buffer, offset)
    }

    /// Writes `data` into the sender's reply buffer from byte `offset`, before the
    /// answer; returns the bytes written (no more than the buffer holds).
    #[doc(alias = "MsgWrite")]
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<usize, Errno> {
        sys::msg_write(self.rcvid, data, offset)
    }

    /// The sender (process, thread, connection, scoid) and its priority now. The lengths
    /// are reported only by [`Channel::receive_with_info`].
    #[doc(alias = "MsgInfo")]
    pub fn info(&self) -> Result<MsgInfo, Errno> {
        sys::msg_info(self.rcvid)
    }

    /// Delivers `event`, which the sender registered for this server
    /// ([`register_event`]) and sent to it; `EPERM` if another process registered it.
    #[doc(alias = "MsgDeliverEvent")]
    pub fn deliver_event(&self, event: &SigEvent) -> Result<(), Errno> {
        sys::msg_deliver_event(self.rcvid, event)
    }

    /// Ends the duty to answer if `answer` succeeded; otherwise `self` drops and fails the
    /// message with `EIO`, in case the failed answer left the sender waiting (if it did
    /// not, that fails harmlessly: the rcvid is spent).
    fn settle(self, answer: Result<(), Errno>) -> Result<(), Errno> {
        if answer.is_ok() {
            core::mem::forget(self);
        }
        answer
    }
}

#[cfg(target_os = "none")]
impl Drop for ReceivedMessage {
    fn drop(&mut self) {
        // ESRCH (the sender has gone, or was answered) needs nothing more.
        let _ = sys::msg_error(self.rcvid, Errno::EIO);
    }
}

/// A connection of this process to a channel (QNX's coid), detached when dropped.
/// Several threads may send on one connection at once.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct Connection {
    coid: u32,
}

#[cfg(target_os = "none")]
impl Connection {
    /// Connects to channel `chid` of process `pid` (0: this process).
    #[doc(alias = "ConnectAttach")]
    pub fn attach(pid: Pid, chid: u32) -> Result<Connection, Errno> {
        sys::connect_attach(pid, chid).map(|coid| Connection { coid })
    }

    /// The coid.
    pub fn coid(&self) -> u32 {
        self.coid
    }

    /// Sends `message` and waits for the answer; the reply's data fills the start of
    /// `reply`. Returns the server's status, or the error it answered with (`ESRCH` if
    /// the server or its channel went away).
    #[doc(alias = "MsgSend")]
    pub fn send(&self, message: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
        sys::msg_send(self.coid, message, reply)
    }

    /// [`Connection::send`] of the concatenation of `message`, the reply filling `reply`
    /// in order.
    #[doc(alias = "MsgSendv")]
    pub fn send_v(&self, message: &[&[u8]], reply: &mut [&mut [u8]]) -> Result<u64, Errno> {
        send_v_raw(self.coid, message, reply)
    }

    /// Sends a pulse with `code` (0–127, [`pulse_code::MIN_AVAILABLE`] to
    /// [`pulse_code::MAX_AVAILABLE`]) and `value` at `priority` (`None`: the caller's);
    /// never blocks.
    #[doc(alias = "MsgSendPulse")]
    pub fn send_pulse(&self, priority: Option<u8>, code: i8, value: u64) -> Result<(), Errno> {
        let priority = priority.map_or(abi::syscall::SENDER_PRIORITY, u32::from);
        sys::msg_send_pulse(self.coid, priority, code, value)
    }

    /// An event sending a pulse through this connection with `priority` (1–255),
    /// `code` (0–127) and `value`: for a [`Timer`], an [`Interrupt`], or a server (see
    /// [`register_event`]). It names the coid, so it is only good while this connection
    /// lives.
    #[doc(alias = "SIGEV_PULSE_INIT")]
    pub fn pulse_event(&self, priority: u8, code: i8, value: u64) -> SigEvent {
        SigEvent::pulse(self.coid, priority, code, value)
    }
}

/// [`Connection::send_v`] on a raw coid (one this process holds without a
/// [`Connection`], such as a file descriptor or its connection to proc).
#[cfg(target_os = "none")]
pub fn send_v_raw(coid: u32, message: &[&[u8]], reply: &mut [&mut [u8]]) -> Result<u64, Errno> {
    let send = IoVec::new(message);
    let reply = IoVec::new_mut(reply);
    // SAFETY: `send` describes readable slices borrowed for the call; `reply` describes
    // writable slices it borrows exclusively until the call returns, after the answer.
    unsafe { sys::msg_sendv(coid, send.address(), send.parts(), reply.address(), reply.parts()) }
}

#[cfg(target_os = "none")]
impl Drop for Connection {
    fn drop(&mut self) {
        // Only a coid this value owns is detached, so the call cannot fail.
        let _ = sys::connect_detach(self.coid);
    }
}

/// Registers `event` so that the server behind `server` (and only it) may deliver it;
/// fills in its `handle`. Send the registered event to the server in a message; the
/// kernel delivers its own copy of the registration, whatever the server passes.
#[cfg(target_os = "none")]
#[doc(alias = "MsgRegisterEvent")]
pub fn register_event(event: &mut SigEvent, server: &Connection) -> Result<(), Errno> {
    sys::msg_register_event(event, server.coid)
}

/// Withdraws a registration made by [`register_event`] (`event` as it filled it in).
#[cfg(target_os = "none")]
#[doc(alias = "MsgUnregisterEvent")]
pub fn unregister_event(event: &SigEvent) -> Result<(), Errno> {
    sys::msg_unregister_event(event)
}

/// Delivers a client's registered `event` after its message has been answered: `rcvid`
/// names the client, which must be the one that registered the event (`EPERM`
/// otherwise) — the message's [`ReceivedMessage::rcvid`] (`ESRCH` once the thread that
/// sent it has ended), or the client's scoid ([`MsgInfo::scoid`], as a `u64`: good while
/// the client is connected, whichever thread asked); 0 skips that check.
#[cfg(target_os = "none")]
#[doc(alias = "MsgDeliverEvent")]
pub fn deliver_event(rcvid: u64, event: &SigEvent) -> Result<(), Errno> {
    sys::msg_deliver_event(rcvid, event)
}

/// Who is behind server connection `scoid` (from [`MsgInfo::scoid`] or
/// [`Pulse::scoid`]).
#[cfg(target_os = "none")]
#[doc(alias = "ConnectClientInfo")]
pub fn client_info(scoid: u32) -> Result<ClientInfo, Errno> {
    sys::connect_client_info(scoid)
}

/// Frees server connection `scoid` after the `_PULSE_CODE_DISCONNECT` pulse that said
/// its client has gone (channels created with [`channel_flags::DISCONNECT`] keep it until
/// then); `EBUSY` while the client is still connected.
#[cfg(target_os = "none")]
#[doc(alias = "ConnectDetach")]
pub fn detach_client(scoid: u32) -> Result<(), Errno> {
    sys::connect_detach(scoid)
}

/// Bounds the calling thread's next system call: if it blocks in one of `states`
/// ([`timeout_states`]; 0 disarms), it fails with `ETIMEDOUT` after `nanoseconds`.
///
/// Call it right before the call to bound: *any* system call in between uses the bound
/// up, including printing and the heap growing (an [`IoVec`] of more than
/// [`INLINE_IOV_PARTS`] parts allocates). With [`channel_flags::UNBLOCK`] a REPLY-blocked
/// sender stays blocked and its server gets a `_PULSE_CODE_UNBLOCK` pulse instead.
#[cfg(target_os = "none")]
#[doc(alias = "TimerTimeout")]
pub fn timeout(states: u32, nanoseconds: u64) -> Result<(), Errno> {
    sys::timer_timeout(states, nanoseconds)
}

/// A timer delivering an event to this process (usually a pulse on one of its own
/// channels, see [`Connection::pulse_event`]); destroyed when dropped.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct Timer {
    id: u32,
}

#[cfg(target_os = "none")]
impl Timer {
    /// A disarmed timer that will deliver `event`.
    #[doc(alias = "TimerCreate")]
    pub fn create(event: &SigEvent) -> Result<Timer, Errno> {
        sys::timer_create(event).map(|id| Timer { id })
    }

    /// The timer's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Fires first `initial_ns` nanoseconds from now, then every `interval_ns` (0: once);
    /// an `initial_ns` of 0 disarms it. A late tick fires once and the next ones keep to
    /// the period. An ordinary program's timer fires on the kernel's 1 ms clock tick, a
    /// system program's when due (`docs/syscalls.md`, TimerSettime).
    #[doc(alias = "TimerSettime")]
    pub fn set(&self, initial_ns: u64, interval_ns: u64) -> Result<(), Errno> {
        sys::timer_settime(self.id, initial_ns, interval_ns)
    }
}

#[cfg(target_os = "none")]
impl Drop for Timer {
    fn drop(&mut self) {
        // Only a timer this value owns is destroyed, so the call cannot fail.
        let _ = sys::timer_destroy(self.id);
    }
}

/// A hardware interrupt routed to this process as an event (a user-space driver's
/// interrupt); detached when dropped.
///
/// Each time the interrupt fires, the kernel masks it and delivers the event; the
/// driver services the device and then calls [`Interrupt::unmask`]. Masks are counted.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct Interrupt {
    id: u32,
}

#[cfg(target_os = "none")]
impl Interrupt {
    /// Routes interrupt `irq` (the board's numbering, e.g.
    /// `abi::info::SystemInfo::virtual_timer_irq`) to `event`; `EBUSY` if it is routed
    /// already or the kernel uses it, `EINVAL` if the board has no such interrupt.
    #[doc(alias = "InterruptAttachEvent")]
    pub fn attach(irq: u32, event: &SigEvent) -> Result<Interrupt, Errno> {
        sys::interrupt_attach_event(irq, event).map(|id| Interrupt { id })
    }

    /// The route's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Masks the interrupt once more; returns how many masks it now has.
    #[doc(alias = "InterruptMask")]
    pub fn mask(&self) -> Result<u32, Errno> {
        sys::interrupt_mask(self.id)
    }

    /// Removes one mask (the interrupt is unmasked at 0); returns how many are left.
    #[doc(alias = "InterruptUnmask")]
    pub fn unmask(&self) -> Result<u32, Errno> {
        sys::interrupt_unmask(self.id)
    }
}

#[cfg(target_os = "none")]
impl Drop for Interrupt {
    fn drop(&mut self) {
        // Only a route this value owns is removed, so the call cannot fail.
        let _ = sys::interrupt_detach(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The (address, length) entries `iov` holds, checking they are where it says.
    fn decoded(iov: &IoVec<'_>) -> Vec<(u64, u64)> {
        let bytes = iov.entries();
        assert_eq!(iov.address(), bytes.as_ptr() as usize);
        assert_eq!(bytes.len(), iov.parts() as usize * IOV_SIZE);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        bytes.chunks_exact(IOV_SIZE).map(|entry| (word(&entry[..8]), word(&entry[8..]))).collect()
    }

    fn entry(part: &[u8]) -> (u64, u64) {
        (part.as_ptr() as u64, part.len() as u64)
    }

    #[test]
    fn an_iovec_names_each_slice_in_order() {
        let (header, payload, empty) = (*b"HDR:", [7u8; 100], [0u8; 0]);
        let parts: [&[u8]; 3] = [&header, &payload, &empty];
        let iov = IoVec::new(&parts);
        assert_eq!(iov.parts(), 3);
        assert!(matches!(iov.entries, Entries::Inline(_)));
        assert_eq!(decoded(&iov), [entry(&header), entry(&payload), (empty.as_ptr() as u64, 0)]);
        let none = IoVec::new(&[]);
        assert_eq!((none.parts(), decoded(&none)), (0, Vec::new()));
    }

    #[test]
    fn a_writable_iovec_names_the_buffers_it_borrows() {
        let (mut a, mut b) = ([0u8; 8], [0u8; 32]);
        let expected = [entry(&a), entry(&b)];
        let mut parts: [&mut [u8]; 2] = [&mut a, &mut b];
        let iov = IoVec::new_mut(&mut parts);
        assert_eq!(decoded(&iov), expected);
    }

    #[test]
    fn more_parts_than_fit_inline_are_allocated() {
        let buffers: Vec<Vec<u8>> = (0..=INLINE_IOV_PARTS).map(|n| std::vec![0u8; n + 1]).collect();
        let parts: Vec<&[u8]> = buffers.iter().map(Vec::as_slice).collect();
        let iov = IoVec::new(&parts[..INLINE_IOV_PARTS]);
        assert!(matches!(iov.entries, Entries::Inline(_)));
        assert_eq!(decoded(&iov), parts[..INLINE_IOV_PARTS].iter().map(|p| entry(p)).collect::<Vec<_>>());
        let iov = IoVec::new(&parts);
        assert!(matches!(iov.entries, Entries::Heap(_)));
        assert_eq!(iov.parts(), INLINE_IOV_PARTS as i64 + 1);
        assert_eq!(decoded(&iov), parts.iter().map(|p| entry(p)).collect::<Vec<_>>());
    }

    #[test]
    fn a_pulse_is_decoded_from_the_start_of_the_receive_buffer() {
        let pulse =
            Pulse { code: pulse_code::DISCONNECT, value: 0x1234_5678_9abc, scoid: 0x4000_0002, ..Pulse::default() };
        let mut buffer = [0xeeu8; 64];
        buffer[..Pulse::SIZE].copy_from_slice(&pulse.to_bytes());
        assert_eq!(pulse_from_parts([&buffer[..]]), Some(pulse));
        assert_eq!(pulse_from_parts([&buffer[..Pulse::SIZE]]), Some(pulse));
        assert_eq!(pulse_from_parts([&buffer[..Pulse::SIZE - 1]]), None);
        assert_eq!(pulse_from_parts([]), None);
    }

    #[test]
    fn a_pulse_split_across_parts_is_gathered() {
        let pulse = Pulse { code: 5, value: u64::MAX - 1, scoid: 9, ..Pulse::default() };
        let bytes = pulse.to_bytes();
        // As the kernel writes it into a receive vector of 5, 0, 3 and 40 bytes.
        let tail = [&bytes[8..], &[0xee; 24][..]].concat();
        let (a, empty, b, c): (&[u8], &[u8], &[u8], &[u8]) = (&bytes[..5], &[], &bytes[5..8], &tail);
        assert_eq!(pulse_from_parts([a, empty, b, c]), Some(pulse));
        assert_eq!(pulse_from_parts([a, b]), None, "too short");
    }
}
