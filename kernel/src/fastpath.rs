//! Fast paths: the common system calls done with less work than the general path
//! ([`System::syscall`] → `dispatch`), with exactly the same effects.
//!
//! Each fast path has guard conditions; anything outside them goes to the general path
//! untouched (a fast path checks everything before it changes anything), so the fast
//! paths never reproduce the rarer behaviours: errors, queued messages and pulses, I/O
//! vectors, `_msg_info` records, armed `TimerTimeout`s. Inside the guards they do what
//! the general path does, step for step, but without decoding a `Call`, without
//! re-reading I/O vectors or re-finding objects, and relying on one invariant of the
//! IPC state machine: **a RECEIVE-blocked thread serves no channel** (`msg_receive`
//! takes it off every `serving` list before it blocks, and only a completed receive
//! puts it on one).
//!
//! * `MsgSendv` to a channel with a thread RECEIVE-blocked on it: copy the message into
//!   its buffer, make it serve the channel at the message's priority (unless
//!   `_NTO_CHF_FIXED_PRIORITY`), leave the sender REPLY-blocked, and hand the CPU to the
//!   receiver ([`System::schedule`]'s direct switch: only if no ready thread is of equal
//!   or higher priority).
//! * `MsgReplyv`, and `MsgReplyReceivev` when nothing is queued on the channel: copy
//!   the reply, make the REPLY-blocked sender ready (handed the CPU the same way when
//!   the replier blocks in the receive), and for the fused call block RECEIVE at the
//!   replier's own priority.
//! * `MsgReceivev` with nothing queued: block RECEIVE.
//! * `SchedYield`.
//!
//! Everything here is plain Rust that the host tests run, where every fast path is
//! compared with the general path on random traffic (`fastpath_tests.rs`). The arch
//! layer adds only what cannot be Rust: the exception vector answers a `Nop` itself
//! when [`System::quick_nop_allowed`] says so.

use crate::ipc::{rcvid, split_rcvid, Buffer, ReceiveRequest, SentMessage};
use crate::machine::Machine;
use crate::process::ProcessId;
use crate::system::{System, TIMESLICE_TICKS};
use crate::thread::{Blocked, ThreadId, ThreadState, UserContext};
use crate::transfer::{self, Side};
use abi::ipc::channel_flags;
use abi::syscall::Sysno;

#[cfg(test)]
std::thread_local! {
    /// Host tests turn the fast paths off to compare them with the general path.
    pub(crate) static FAST_PATHS_OFF: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    /// How many calls of each number a fast path answered (for the tests' coverage).
    pub(crate) static FAST_HITS: core::cell::Cell<[u32; 64]> = const { core::cell::Cell::new([0; 64]) };
}

/// What the return to user space needs to know about the thread it loads, found with
/// one lookup of the thread and one of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnInfo {
    /// The TTBR0 value of its address space.
    pub ttbr0: u64,
    /// Its saved registers.
    pub context: *mut UserContext,
    /// Whether its FP/SIMD registers are the live ones (no trap needed).
    pub owns_fp: bool,
    /// [`System::quick_nop_allowed`] for it.
    pub quick_nop: bool,
}

impl<M: Machine> System<M> {
    /// What the return to user space needs to load `thread`.
    pub fn return_info(&mut self, thread: ThreadId) -> Option<ReturnInfo> {
        let owns_fp = self.fp_owner == Some(thread);
        let t = self.threads.get_mut(thread.0)?;
        let quick_nop = t.timeout.is_none();
        let context: *mut UserContext = &mut *t.context;
        let ttbr0 = self.processes.get(t.process.0)?.space.as_ref()?.ttbr0();
        Some(ReturnInfo { ttbr0, context, owns_fp, quick_nop })
    }

    /// True when `thread`'s next `Nop` may be answered without the full system-call
    /// path (the exception vector does it on the target): the full path would only write
    /// x0 = 0, unless a `TimerTimeout` is armed, which any call uses up.
    pub fn quick_nop_allowed(&self, thread: ThreadId) -> bool {
        self.threads.get(thread.0).is_some_and(|t| t.timeout.is_none())
    }

    /// Performs the current thread's system call if a fast path covers it; false
    /// (having changed nothing) when the general path must.
    pub(crate) fn fast_syscall(&mut self) -> bool {
        #[cfg(test)]
        if FAST_PATHS_OFF.with(|off| off.get()) {
            return false;
        }
        let Some(cur) = self.current else { return false };
        let Some(t) = self.threads.get(cur.0) else { return false };
        // An armed TimerTimeout (used up by the call, perhaps starting a timer) and a
        // pending hand-off are the general path's business.
        if t.timeout.is_some() || self.handoff.is_some() || t.state != ThreadState::Running {
            return false;
        }
        let pid = t.process;
        let x = &t.context.x;
        let (a, number) = ([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]], x[8]);
        let done = if number == Sysno::MsgSendv as u64 {
            self.fast_send(cur, pid, a)
        } else if number == Sysno::MsgReplyReceivev as u64 {
            a[0] != 0 && self.fast_reply_receive(cur, pid, a)
        } else if number == Sysno::MsgReplyv as u64 {
            self.fast_reply(cur, pid, a)
        } else if number == Sysno::MsgReceivev as u64 {
            self.fast_receive_block(cur, pid, a)
        } else if number == Sysno::SchedYield as u64 {
            self.fast_yield(cur)
        } else {
            false
        };
        if done {
            #[cfg(test)]
            FAST_HITS.with(|hits| {
                let mut h = hits.get();
                h[number as usize % 64] += 1;
                hits.set(h);
            });
            self.switch_after_fast_call(cur);
        }
        done
    }

    /// [`System::schedule`] after a fast call, with its direct switch done here when the
    /// caller blocked: the thread readied for hand-off runs if no ready thread is of
    /// equal or higher priority (otherwise the general scheduler decides).
    fn switch_after_fast_call(&mut self, cur: ThreadId) {
        if let Some(partner) = self.handoff {
            let caller_blocked = self.threads.get(cur.0).is_some_and(|t| matches!(t.state, ThreadState::Blocked(_)));
            if caller_blocked && !self.ready.contains(partner.index()) {
                if let Some(t) = self.threads.get_mut(partner.0).filter(|t| t.state == ThreadState::Ready) {
                    if self.ready.highest_priority().is_none_or(|p| p < t.priority) {
                        t.state = ThreadState::Running;
                        self.handoff = None;
                        self.current = Some(partner);
                        return;
                    }
                }
            }
        }
        self.schedule();
    }

    /// `MsgSendv(coid, send, send_parts, reply, reply_parts)` to a waiting receiver of
    /// another process.
    fn fast_send(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> bool {
        let Ok(coid) = u32::try_from(a[0]) else { return false };
        let send = Buffer { address: a[1] as usize, parts: a[2] as i64 };
        let reply = Buffer { address: a[3] as usize, parts: a[4] as i64 };
        if send.parts > 0 || reply.parts > 0 {
            return false; // I/O vectors: read from user memory on the general path
        }
        // Disjoint borrows of the tables, and each object found once.
        let Self { processes, threads, machine, sleepers, handoff, .. } = self;
        let conn = processes.get(pid.0).filter(|p| p.exit_status.is_none()).and_then(|p| p.connections.get(coid));
        let Some(conn) = conn.copied() else { return false };
        // (A send to a channel of the sender's own process takes the general path.)
        let Some((client, server)) = processes.get2_mut(pid.0, conn.server.0) else { return false };
        if server.exit_status.is_some() {
            return false;
        }
        let Some(channel) = server.channels.get_mut(conn.chid) else { return false };
        let Some(&receiver) = channel.receivers.front() else { return false };
        let Some((sender, r)) = threads.get2_mut(cur.0, receiver.0) else { return false };
        let Some(request) = r.receiving else { return false };
        if request.info != 0 || request.buffer.parts > 0 || r.process != conn.server {
            return false;
        }
        // The copy validates both sides before it writes a byte: on failure nothing has
        // changed, and the general path reports the guilty side. (Nothing to copy: no
        // check, as `transfer` does.)
        let (src, dst) = (single(send), single(request.buffer));
        if src[0].1 != 0 && dst[0].1 != 0 {
            let (Some(s_space), Some(r_space)) = (client.space.as_ref(), server.space.as_ref()) else { return false };
            let copied = transfer::transfer(
                machine,
                Side { space: s_space, iov: &src, offset: 0 },
                Side { space: r_space, iov: &dst, offset: 0 },
                usize::MAX,
            );
            if copied.is_err() {
                return false;
            }
        }
        // From here on nothing can fail. The sender: its message, REPLY-blocked.
        sender.message_sequence = sender.message_sequence.wrapping_add(1);
        sender.sent = Some(SentMessage { server: conn.server, chid: conn.chid, scoid: conn.scoid, coid, send, reply });
        sender.state = ThreadState::Blocked(Blocked::Reply { server: conn.server, channel: conn.chid });
        // The receiver leaves the channel's receive queue and serves it (it served no
        // channel while RECEIVE-blocked) at the message's priority, unless FIXED.
        channel.receivers.pop_front();
        debug_assert!(!channel.serving.contains(&receiver), "a RECEIVE-blocked thread serves a channel");
        channel.serving.push(receiver);
        if channel.flags & channel_flags::FIXED_PRIORITY == 0 {
            r.inherited_priority = sender.priority;
            r.priority = sender.priority.max(channel.top_priority().unwrap_or(0));
        } else {
            r.priority = r.inherited_priority;
        }
        r.receiving = None;
        // What `wake_for_handoff` does when no hand-off is pending yet.
        r.context.x[0] = rcvid(cur, sender.message_sequence);
        r.state = ThreadState::Ready;
        r.timeslice_left = TIMESLICE_TICKS;
        sleepers.remove_thread(receiver); // a bounded receive is over
        *handoff = Some(receiver);
        true
    }

    /// The reply half of `MsgReplyv(rcvid, status, buffer, parts)` and of the fused call
    /// by `cur` of `pid`: everything is checked and the reply copied, and nothing else
    /// changed yet; `Some(sender)` then, `None` (nothing changed) if the general path
    /// must answer.
    fn fast_reply_copy(&mut self, cur: ThreadId, pid: ProcessId, id: u64, data: Buffer) -> Option<ThreadId> {
        if data.parts > 0 {
            return None;
        }
        // What `received_message` checks.
        let (sender, sequence) = split_rcvid(id)?;
        let s = self.threads.get(sender.0).filter(|_| sender != cur)?;
        let message = s.sent?;
        let replying = matches!(s.state, ThreadState::Blocked(Blocked::Reply { .. }));
        if !replying || message.server != pid || s.message_sequence != sequence || message.reply.parts > 0 {
            return None;
        }
        let (src, dst) = (single(data), single(message.reply));
        if src[0].1 == 0 || dst[0].1 == 0 {
            return Some(sender); // nothing to copy: nothing to check, as `transfer` does
        }
        let r_space = self.processes.get(pid.0)?.space.as_ref()?;
        let s_space = self.processes.get(s.process.0)?.space.as_ref()?;
        transfer::transfer(
            &mut self.machine,
            Side { space: r_space, iov: &src, offset: 0 },
            Side { space: s_space, iov: &dst, offset: 0 },
            usize::MAX,
        )
        .ok()?;
        Some(sender)
    }

    /// Ends a reply checked by [`fast_reply_copy`]: the sender gets `status` and is
    /// readied for a hand-off (what `wake_for_handoff` does with none pending).
    ///
    /// [`fast_reply_copy`]: Self::fast_reply_copy
    fn finish_reply(&mut self, sender: ThreadId, status: u64) {
        if let Some(t) = self.threads.get_mut(sender.0) {
            t.sent = None;
            t.context.x[0] = status;
            t.state = ThreadState::Ready;
            t.timeslice_left = TIMESLICE_TICKS;
            self.handoff = Some(sender);
        }
        self.sleepers.remove_thread(sender); // a bounded wait is over
    }

    /// `MsgReplyv(rcvid, status, buffer, parts)`.
    fn fast_reply(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> bool {
        let data = Buffer { address: a[2] as usize, parts: a[3] as i64 };
        let Some(sender) = self.fast_reply_copy(cur, pid, a[0], data) else { return false };
        self.finish_reply(sender, a[1]);
        if let Some(t) = self.threads.get_mut(cur.0) {
            t.context.x[0] = 0;
        }
        true
    }

    /// Whether `cur` of `pid` may block RECEIVE on `chid` at once: the channel exists
    /// and nothing is queued on it, and the buffer is one that needs no reading.
    fn can_block_receiving(&self, pid: ProcessId, chid: u64, buffer: Buffer, info: u64) -> Option<u32> {
        let chid = u32::try_from(chid).ok()?;
        if buffer.parts > 0 || info != 0 {
            return None;
        }
        let p = self.processes.get(pid.0).filter(|p| p.exit_status.is_none())?;
        let channel = p.channels.get(chid)?;
        channel.top_priority().is_none().then_some(chid)
    }

    /// Blocks `cur` RECEIVE on `chid` (checked by [`can_block_receiving`]): it serves
    /// nothing any more and runs at its own priority.
    ///
    /// [`can_block_receiving`]: Self::can_block_receiving
    fn block_receiving(&mut self, cur: ThreadId, pid: ProcessId, chid: u32, buffer: Buffer) {
        if let Some(p) = self.processes.get_mut(pid.0) {
            for (h, c) in p.channels.iter_mut() {
                // (It serves one channel at most; the order of the others is kept.)
                if let Some(at) = c.serving.iter().position(|t| *t == cur) {
                    if at + 1 == c.serving.len() {
                        c.serving.pop();
                    } else {
                        c.serving.remove(at);
                    }
                }
                if h == chid {
                    c.receivers.push_front(cur);
                }
            }
        }
        if let Some(t) = self.threads.get_mut(cur.0) {
            t.receiving = Some(ReceiveRequest { chid, buffer, info: 0 });
            t.inherited_priority = t.base_priority;
            // It serves nothing now, so nothing boosts it (and, running, it is in no queue).
            t.priority = t.base_priority;
            t.state = ThreadState::Blocked(Blocked::Receive { channel: chid });
        }
    }

    /// `MsgReceivev(chid, buffer, parts, info)` with nothing to receive yet.
    fn fast_receive_block(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> bool {
        let buffer = Buffer { address: a[1] as usize, parts: a[2] as i64 };
        let Some(chid) = self.can_block_receiving(pid, a[0], buffer, a[3]) else { return false };
        self.block_receiving(cur, pid, chid, buffer);
        true
    }

    /// `MsgReplyReceivev(rcvid, status, reply, reply_parts, chid, buffer, parts, info)`,
    /// `rcvid` not 0, nothing queued on the channel.
    fn fast_reply_receive(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> bool {
        let data = Buffer { address: a[2] as usize, parts: a[3] as i64 };
        let buffer = Buffer { address: a[5] as usize, parts: a[6] as i64 };
        // Replying changes no channel queue, so the receive's guard can be checked first.
        let Some(chid) = self.can_block_receiving(pid, a[4], buffer, a[7]) else { return false };
        let Some(sender) = self.fast_reply_copy(cur, pid, a[0], data) else { return false };
        self.finish_reply(sender, a[1]);
        self.block_receiving(cur, pid, chid, buffer);
        true
    }

    /// `SchedYield`: to the tail of its priority's queue.
    fn fast_yield(&mut self, cur: ThreadId) -> bool {
        let Some(t) = self.threads.get_mut(cur.0) else { return false };
        t.state = ThreadState::Ready;
        t.context.x[0] = 0;
        self.ready.push_back(cur.index(), t.priority);
        true
    }
}

/// A buffer the fast paths accept (one buffer, `parts <= 0`) as an I/O-vector list.
fn single(buffer: Buffer) -> [(usize, usize); 1] {
    debug_assert!(buffer.parts <= 0);
    [(buffer.address, buffer.parts.unsigned_abs() as usize)]
}

#[cfg(test)]
#[path = "fastpath_tests.rs"]
mod tests;
