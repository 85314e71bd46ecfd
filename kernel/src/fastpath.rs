//! Fast paths: the common system calls done with less work than the general path
//! ([`System::general_syscall`]: decode, `dispatch`, `schedule`), with exactly the same
//! effects.
//!
//! Each fast path has guard conditions; anything outside them goes to the general path
//! untouched (a fast path checks everything before it changes anything), so the fast
//! paths never reproduce the rarer behaviours: errors, queued pulses, chains of priority
//! inheritance, I/O vectors, armed `TimerTimeout`s, messages within one process.
//! Inside the guards they do what the general path does, step for step, but without
//! decoding a `Call`, re-reading I/O vectors or finding an object twice, and relying on
//! one invariant of the IPC state machine: **a RECEIVE-blocked thread serves no channel**
//! (`msg_receive` takes it off every `serving` list before it blocks; only a completed
//! receive puts it on one, and on one only).
//!
//! * `MsgSendv` to a channel with a thread RECEIVE-blocked on it: copy the message into
//!   its buffer (and fill in its `_msg_info` record if it asked for one), make it serve
//!   the channel at the message's priority (unless `_NTO_CHF_FIXED_PRIORITY`), leave the
//!   sender REPLY-blocked.
//! * `MsgSendv` to a channel with nobody receiving: queue the message by priority,
//!   SEND-block the sender, re-boost the threads serving the channel (unless that would
//!   follow a chain of inheritance).
//! * `MsgReceivev` with a message from another process queued first: copy it in (and the
//!   `_msg_info` record), REPLY-block its sender, serve the channel at its priority,
//!   re-boost the channel's other serving threads to what is left queued.
//! * `MsgReplyv`, and `MsgReplyReceivev` when nothing is queued on the channel: copy
//!   the reply and make the REPLY-blocked sender ready; for the fused call, block
//!   RECEIVE at the replier's own priority. `MsgReplyReceivev` with a message queued
//!   first: the reply, then the receive of that message (the caller runs on); tried by
//!   the general path first, as the other calls' dispatch measured slower with it.
//! * `MsgReceivev` with nothing queued, `MsgReceivePulsev` with no pulse queued: block
//!   RECEIVE (among the channel's pulse-only receivers for the latter).
//! * `MsgSendPulse` to a channel with a receiver waiting, a pulse-only one first (and
//!   every pulse the kernel sends, through `System::pulse_to_waiting_receiver`).
//! * `SchedYield`.
//! * `InterruptUnmask` of the caller's own route.
//!
//! When the caller blocks, yields to an equal, or wakes a higher receiver, the fast path
//! also makes [`System::schedule`]'s decision itself (a woken partner runs at once only
//! if no ready thread is of equal or higher priority, otherwise it queues behind its
//! equals and the first of the highest ready priority runs) and describes the next thread
//! ([`ReturnInfo`]) so the return path loads it without a lookup.
//!
//! Everything here is plain Rust that the host tests run, where every fast path is
//! compared with the general path on random traffic (`fastpath_tests.rs`). The arch
//! layer adds only what cannot be Rust: the exception vector answers a `Nop` itself
//! when [`System::quick_nop_allowed`] says so.

use crate::fpswitch::FpOnReturn;
use crate::handle::HandleTable;
use crate::ipc::{
    info_record, info_to_registers, rcvid, rcvid_sequence, split_rcvid, Buffer, Channel, Receive, ReceiveRequest,
    SentMessage,
};
use crate::machine::Machine;
use crate::process::{AddressSpace, Process, ProcessId};
use crate::sched::ReadyQueues;
use crate::system::{System, TIMESLICE_TICKS};
use crate::thread::{Blocked, Thread, ThreadId, ThreadState, UserContext};
use crate::transfer;
use abi::ipc::{channel_flags, notify, pulse_code, MsgInfo, Pulse, SigEvent, INFO_IN_REGISTERS};
use abi::syscall::{Registers, Sysno, SENDER_PRIORITY};
use alloc::vec::Vec;

#[cfg(test)]
std::thread_local! {
    /// Host tests turn the fast paths off to compare them with the general path.
    pub(crate) static FAST_PATHS_OFF: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    /// How many calls of each number a fast path answered (for the tests' coverage).
    pub(crate) static FAST_HITS: core::cell::Cell<[u32; 64]> = const { core::cell::Cell::new([0; 64]) };
}

/// The slot of [`FAST_HITS`] that counts interrupts' pulses delivered and scheduled fast
/// (no system call has this number).
#[cfg(test)]
pub(crate) const INTERRUPT_HITS: usize = 63;
/// The slot of [`FAST_HITS`] that counts pulses delivered fast to a thread waiting in
/// `MsgReceivePulsev`.
#[cfg(test)]
pub(crate) const PULSE_ONLY_HITS: usize = 61;
/// The slot of [`FAST_HITS`] that counts `MsgReplyReceivev`s answered by a reply and a
/// queued message ([`System::fast_reply_then_receive_queued`]).
#[cfg(test)]
pub(crate) const REPLY_THEN_QUEUED_HITS: usize = 62;

/// The highest pulse priority the fast path takes: any process may ask for it.
const ANYONES_PULSE_PRIORITY: u32 = abi::sched::MAX_UNPRIVILEGED_PRIORITY as u32;

/// What the return to user space needs to know about the thread it loads. `context`
/// points into the thread's boxed `UserContext`: it is used at once, under the lock that
/// keeps the thread alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnInfo {
    /// Its saved registers.
    pub context: *mut UserContext,
    /// What becomes of the FP/SIMD registers when it runs.
    pub fp: FpOnReturn,
    /// [`System::quick_nop_allowed`] for it.
    pub quick_nop: bool,
}

/// What [`System::fast_syscall`] did.
///
/// (`repr(u8)`: an explicit tag byte. Left to itself the compiler hides the tag in a
/// spare value of `ReturnInfo::fp`, and every caller decodes it with a few arithmetic
/// instructions: measurably slower on every system call.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fast {
    /// Nothing: the general path must perform the call.
    NotTaken,
    /// The call is done and [`System::current`] names the thread to run.
    Done,
    /// The call is done and the CPU goes straight to another thread, now
    /// [`System::current`], which this describes (the return path needs no lookup).
    SwitchTo(ReturnInfo),
}

/// What one fast path did, for [`System::fast_syscall`] to finish (`repr(u8)`: see
/// [`Fast`]).
#[repr(u8)]
enum Step {
    /// Nothing.
    NotTaken,
    /// Done; the scheduler must pick the next thread.
    Schedule,
    /// Done; the caller runs on, nothing else changed for the scheduler.
    Stay,
    /// Done, and switched to the thread described.
    Switched(ReturnInfo),
    /// Done; the caller blocked, and the first thread of the highest ready priority runs.
    SwitchToNext,
}

/// Hands the CPU from a caller that just blocked to `partner`, which the call made
/// ready, as [`System::schedule`] does for a hand-off: directly if no ready thread is of
/// equal or higher priority, otherwise to the first of the highest ready priority, the
/// partner queued behind its equals.
#[inline(always)]
fn hand_off(
    ready: &mut ReadyQueues,
    current: &mut Option<ThreadId>,
    fp_owner: Option<ThreadId>,
    partner: ThreadId,
    t: &mut Thread,
) -> Step {
    debug_assert!(!ready.contains(partner.index()), "a thread woken from a blocked state is queued");
    if ready.highest_priority().is_none_or(|p| p < t.priority) {
        t.state = ThreadState::Running;
        *current = Some(partner);
        let context: *mut UserContext = &mut *t.context;
        let quick_nop = t.timeout.is_none();
        return Step::Switched(ReturnInfo { context, fp: FpOnReturn::of(fp_owner, partner, t), quick_nop });
    }
    // What `schedule` does with the hand-off then: the partner queues behind its equals,
    // and the first of the highest ready priority runs.
    t.state = ThreadState::Ready;
    ready.push_back_unqueued(partner.index(), t.priority);
    Step::SwitchToNext
}

/// What [`System::schedule`] does once a call leaves its caller (of `priority`) running:
/// it runs on, unless a ready thread now outranks it.
#[inline(always)]
fn runs_on(ready: &ReadyQueues, priority: u8) -> Step {
    if ready.highest_priority().is_some_and(|p| p > priority) {
        return Step::Schedule;
    }
    Step::Stay
}

/// Switches to the first thread of the highest ready priority, as [`System::schedule`]
/// does when the caller no longer runs and no hand-off is pending; `Step::Schedule`
/// (nothing changed) when there is none to switch to this simply (the scheduler then
/// decides, idling if need be).
fn switch_to_next(
    threads: &mut HandleTable<Thread>,
    ready: &mut ReadyQueues,
    current: &mut Option<ThreadId>,
    fp_owner: Option<ThreadId>,
) -> Step {
    switch_to_next_inlined(threads, ready, current, fp_owner)
}

/// [`switch_to_next`] inlined, for the blocking receives (measured: their callers gain,
/// where inlining it everywhere cost the send paths).
#[inline(always)]
fn switch_to_next_inlined(
    threads: &mut HandleTable<Thread>,
    ready: &mut ReadyQueues,
    current: &mut Option<ThreadId>,
    fp_owner: Option<ThreadId>,
) -> Step {
    let Some((index, priority)) = ready.peek() else { return Step::Schedule };
    let Some((handle, t)) = threads.at_mut(index) else { return Step::Schedule };
    let next = ThreadId(handle);
    ready.take_first(priority);
    t.state = ThreadState::Running;
    *current = Some(next);
    let context: *mut UserContext = &mut *t.context;
    Step::Switched(ReturnInfo { context, fp: FpOnReturn::of(fp_owner, next, t), quick_nop: t.timeout.is_none() })
}

/// Blocks `t` (`id`) RECEIVE on `channel` (`chid` of its process), with nothing queued
/// there: it runs at its own priority and no longer serves this channel (what
/// `msg_receive` does when it has to wait). Returns whether it served this channel; if
/// not, the caller takes it off the other channel it may serve ([`serve_none`]), once
/// the caller's borrow of `channel` is over. (The caller finds the channel once, for its
/// checks too.)
///
/// A thread serves one channel at most (`serve` takes it off every other list), and is
/// usually going back to the one it serves: that list is looked at first.
#[inline(always)]
fn block_receiving(
    channel: &mut Channel,
    chid: u32,
    t: &mut Thread,
    id: ThreadId,
    buffer: Buffer,
    info: usize,
    what: Receive,
) -> bool {
    match what {
        Receive::Any => channel.receivers.push(id),
        Receive::PulsesOnly => channel.pulse_receivers.push(id),
    }
    let served_here = stop_serving(&mut channel.serving, id);
    t.receiving = Some(ReceiveRequest { chid, buffer, info });
    t.inherited_priority = t.base_priority;
    t.working_on = 0;
    // It serves nothing now, so nothing boosts it (and, running, it is in no queue).
    t.priority = t.base_priority;
    t.state = ThreadState::Blocked(Blocked::Receive { channel: chid });
    served_here
}

/// The end of [`block_receiving`]: `id`, which did not serve channel `chid` when it
/// blocked there unless `served_here`, now serves none of `channels`.
#[inline(always)]
fn serve_none(channels: &mut HandleTable<Channel>, id: ThreadId, chid: u32, served_here: bool) {
    if !served_here {
        stop_serving_others(channels, id, chid);
    }
    debug_assert!(channels.iter().all(|(_, c)| !c.serving.contains(&id)), "a thread served two channels");
}

/// Gives the threads serving `channel` the priority `refresh_priority` computes once the
/// most urgent item queued on it is of priority `top`: the higher of what they inherited
/// and `top`, unless the channel is FIXED_PRIORITY (a serving thread serves no other
/// channel). A ready thread whose priority changes goes to the tail of its new queue.
/// With `apply` false, only checks that this ends no chain of inheritance (no serving
/// thread whose priority would change is itself SEND- or REPLY-blocked: the general path
/// follows chains) and changes nothing; with `apply` true, does it.
///
/// `caller`, the running thread, is skipped: a receive that finds a message sets the
/// priority it serves at itself (what this would give it), and a sender serves no
/// channel of another process. (A server's own thread is usually the only one serving:
/// skipping it saves a look-up per call.)
#[inline(always)]
fn boost_serving(
    threads: &mut HandleTable<Thread>,
    ready: &mut ReadyQueues,
    channel: &Channel,
    top: Option<u8>,
    apply: bool,
    caller: ThreadId,
) -> bool {
    if channel.flags & channel_flags::FIXED_PRIORITY != 0 {
        return true;
    }
    for &id in &channel.serving {
        if id == caller {
            continue;
        }
        let Some(t) = threads.get_mut(id.0) else { continue };
        let want = t.inherited_priority.max(top.unwrap_or(0));
        if want == t.priority {
            continue;
        }
        if !apply {
            if matches!(t.state, ThreadState::Blocked(Blocked::Send { .. } | Blocked::Reply { .. })) {
                return false;
            }
            continue;
        }
        t.priority = want;
        if t.state == ThreadState::Ready {
            ready.push_back(id.index(), want);
        }
    }
    true
}

/// Whether thread `s`, which sent `message`, is REPLY-blocked on process `pid` for the
/// message whose rcvid carries `sequence`, with a single reply buffer: what
/// `received_message` checks, plus the fast paths' buffer guard.
#[inline(always)]
fn awaits_reply(s: &Thread, message: &SentMessage, pid: ProcessId, sequence: u32) -> bool {
    matches!(s.state, ThreadState::Blocked(Blocked::Reply { .. }))
        && message.server == pid
        && rcvid_sequence(s.message_sequence) == sequence
        && message.reply.parts <= 0
}

/// A REPLY-blocked sender answered with `status`, about to be readied or run (by the
/// caller): its message is done, with a fresh timeslice.
#[inline(always)]
fn answered(s: &mut Thread, status: u64) {
    s.sent = None;
    s.context.x[0] = status;
    s.timeslice_left = TIMESLICE_TICKS;
}

/// Whether a receive may name `info` (0: none) for its `_msg_info` record in `space`, as
/// `msg_receive` checks before it blocks.
#[inline(always)]
fn info_writable(machine: &mut impl Machine, space: &Option<AddressSpace>, info: usize) -> bool {
    info == 0
        || info == INFO_IN_REGISTERS
        || space.as_ref().is_some_and(|s| transfer::user_may_write(machine, s, info, MsgInfo::SIZE))
}

/// Takes `id` off the `serving` list of the channel other than `except` it serves, if
/// any (out of line: a thread usually serves the channel it receives on, which the
/// callers look at first).
#[inline(never)]
fn stop_serving_others(channels: &mut HandleTable<Channel>, id: ThreadId, except: u32) {
    for (_, c) in channels.iter_mut().filter(|(h, _)| *h != except) {
        if stop_serving(&mut c.serving, id) {
            return;
        }
    }
}

/// Takes `id` off a channel's `serving` list, keeping the others' order; true if it was
/// there.
#[inline(always)]
fn stop_serving(serving: &mut Vec<ThreadId>, id: ThreadId) -> bool {
    // Usually the last (a server's one thread, or the one that received last).
    if serving.last() == Some(&id) {
        serving.pop();
        return true;
    }
    match serving.iter().position(|s| *s == id) {
        Some(at) => {
            serving.remove(at);
            true
        }
        None => false,
    }
}

impl<M: Machine> System<M> {
    /// What the return to user space needs to load `thread`.
    pub fn return_info(&mut self, thread: ThreadId) -> Option<ReturnInfo> {
        let fp_owner = self.fp_owner;
        let t = self.threads.get_mut(thread.0)?;
        let fp = FpOnReturn::of(fp_owner, thread, t);
        let quick_nop = t.timeout.is_none();
        let context: *mut UserContext = &mut *t.context;
        Some(ReturnInfo { context, fp, quick_nop })
    }

    /// True when `thread`'s next `Nop` may be answered without the full system-call
    /// path (the exception vector does it on the target): the full path would only write
    /// x0 = 0, unless a `TimerTimeout` is armed, which any call uses up.
    pub fn quick_nop_allowed(&self, thread: ThreadId) -> bool {
        self.threads.get(thread.0).is_some_and(|t| t.timeout.is_none())
    }

    /// Performs the current thread's system call if a fast path covers it, and picks
    /// the thread to run next ([`System::current`]) as [`System::syscall`] would.
    ///
    /// The target's system-call entry calls the per-call `fast_*_call`s itself (one
    /// function per common call: each gets registers of its own, where one function
    /// serving them all spilled its values to the stack); this is the same choice.
    pub fn fast_syscall(&mut self, regs: &Registers) -> Fast {
        let a = regs.args;
        match regs.number {
            n if n == Sysno::MsgSendv as u64 => self.fast_send_call(a),
            n if n == Sysno::MsgReplyReceivev as u64 => self.fast_reply_receive_call(a),
            n if n == Sysno::MsgReplyv as u64 => self.fast_reply_call(a),
            n if n == Sysno::MsgReceivev as u64 => self.fast_receive_call(a),
            n if n == Sysno::MsgReceivePulsev as u64 => self.fast_receive_pulse_call(a),
            n if n == Sysno::MsgSendPulse as u64 => self.fast_pulse_call(a),
            n if n == Sysno::SchedYield as u64 => self.fast_yield_call(),
            n if n == Sysno::InterruptUnmask as u64 => self.fast_interrupt_unmask_call(a),
            _ => Fast::NotTaken,
        }
    }

    /// The running thread, its process and priority, if a fast path may perform its call.
    #[inline(always)]
    fn fast_caller(&self) -> Option<(ThreadId, ProcessId, u8)> {
        #[cfg(test)]
        if FAST_PATHS_OFF.with(|off| off.get()) {
            return None;
        }
        let cur = self.current?;
        let t = self.threads.get(cur.0)?;
        // Between calls the current thread runs and no hand-off is pending (`schedule`
        // ends every call, and takes the hand-off).
        debug_assert!(
            t.state == ThreadState::Running && self.handoff.is_none(),
            "a call outside the scheduler's state"
        );
        // An armed TimerTimeout (used up by the call, perhaps starting a timer) is the
        // general path's business.
        if t.timeout.is_some() {
            return None;
        }
        Some((cur, t.process, t.priority))
    }

    /// Call `number` by the running thread through `path` (given the thread, its process
    /// and priority), if a fast path may perform it.
    #[inline(always)]
    fn fast_call(&mut self, number: Sysno, path: impl FnOnce(&mut Self, ThreadId, ProcessId, u8) -> Step) -> Fast {
        let Some((cur, pid, priority)) = self.fast_caller() else { return Fast::NotTaken };
        let step = path(self, cur, pid, priority);
        self.fast_finish(number, step)
    }

    /// `MsgSendv` if a fast path covers it.
    #[inline(always)]
    pub fn fast_send_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgSendv, |s, cur, pid, priority| s.fast_send(cur, pid, priority, a))
    }

    /// `MsgReplyReceivev` if a fast path covers it (with a message queued: see
    /// [`fast_reply_then_receive_queued_call`](Self::fast_reply_then_receive_queued_call)).
    #[inline(always)]
    pub fn fast_reply_receive_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgReplyReceivev, |s, cur, pid, _| match a[0] {
            0 => {
                // No reply (rcvid 0): only the receive, whose arguments are the last four.
                s.fast_receive_block::<false>(cur, pid, [a[4], a[5], a[6], a[7], 0, 0, 0, 0], Receive::Any)
            }
            _ => s.fast_reply_receive(cur, pid, a),
        })
    }

    /// `MsgReplyv` if a fast path covers it.
    #[inline(always)]
    pub fn fast_reply_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgReplyv, |s, cur, pid, _| s.fast_reply(cur, pid, a))
    }

    /// `MsgReceivev` if a fast path covers it.
    #[inline(always)]
    pub fn fast_receive_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgReceivev, |s, cur, pid, _| s.fast_receive_block::<true>(cur, pid, a, Receive::Any))
    }

    /// `MsgReceivePulsev` if a fast path covers it.
    #[inline(always)]
    pub fn fast_receive_pulse_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgReceivePulsev, |s, cur, pid, _| {
            s.fast_receive_block::<true>(cur, pid, a, Receive::PulsesOnly)
        })
    }

    /// `MsgSendPulse` if a fast path covers it.
    #[inline(always)]
    pub fn fast_pulse_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::MsgSendPulse, |s, cur, pid, priority| s.fast_pulse(cur, pid, priority, a))
    }

    /// `InterruptUnmask` if a fast path covers it: the route is the caller's (else the
    /// general path reports `EINVAL`); the caller runs on.
    #[inline(always)]
    pub fn fast_interrupt_unmask_call(&mut self, a: [u64; 8]) -> Fast {
        self.fast_call(Sysno::InterruptUnmask, |s, cur, pid, priority| {
            let Ok(id) = u32::try_from(a[0]) else { return Step::NotTaken };
            let Ok(masks) = s.interrupt_unmask(pid, id) else { return Step::NotTaken };
            match s.threads.get_mut(cur.0) {
                Some(t) => t.context.x[0] = masks as u64,
                None => return Step::Schedule, // (cannot be: it is running)
            }
            // What `schedule` then does with the caller still running (nothing else
            // changed): it runs on unless something outranks it.
            runs_on(&s.ready, priority)
        })
    }

    /// `SchedYield` (always covered, for a running thread without a timeout armed).
    #[inline(always)]
    pub fn fast_yield_call(&mut self) -> Fast {
        self.fast_call(Sysno::SchedYield, |s, cur, _, _| s.fast_yield(cur))
    }

    /// Finishes what a fast path did for call `number`: the scheduler's part, if left.
    #[inline(always)]
    fn fast_finish(&mut self, number: Sysno, step: Step) -> Fast {
        #[cfg(test)]
        if !matches!(step, Step::NotTaken) {
            FAST_HITS.with(|hits| {
                let mut h = hits.get();
                h[number as usize % 64] += 1;
                hits.set(h);
            });
        }
        let _ = number;
        match step {
            Step::NotTaken => Fast::NotTaken,
            Step::Schedule => {
                self.schedule();
                Fast::Done
            }
            Step::Stay => Fast::Done,
            Step::Switched(info) => Fast::SwitchTo(info),
            Step::SwitchToNext => {
                let Self { threads, ready, current, fp_owner, .. } = self;
                match switch_to_next(threads, ready, current, *fp_owner) {
                    Step::Switched(info) => Fast::SwitchTo(info),
                    _ => {
                        self.schedule();
                        Fast::Done
                    }
                }
            }
        }
    }

    /// `MsgSendv(coid, send, send_parts, reply, reply_parts)` to a waiting receiver of
    /// another process.
    #[inline(always)]
    fn fast_send(&mut self, cur: ThreadId, pid: ProcessId, priority: u8, a: [u64; 8]) -> Step {
        let Ok(coid) = u32::try_from(a[0]) else { return Step::NotTaken };
        let send = Buffer { address: a[1] as usize, parts: a[2] as i64 };
        let reply = Buffer { address: a[3] as usize, parts: a[4] as i64 };
        if send.parts > 0 || reply.parts > 0 {
            return Step::NotTaken; // I/O vectors: read from user memory on the general path
        }
        // Disjoint borrows of the tables, and each object found once.
        let Self { processes, threads, machine, sleepers, ready, current, fp_owner, .. } = self;
        // (The caller's process is alive: it has a running thread. A process that ended
        // has no channels left, so a live channel's server is alive too.)
        let Some(conn) = processes.get(pid.0).and_then(|p| p.connections.get(coid)).copied() else {
            return Step::NotTaken;
        };
        // (A send to a channel of the sender's own process takes the general path.)
        let Some((client, server)) = processes.get2_mut(pid.0, conn.server.0) else { return Step::NotTaken };
        let Some(channel) = server.channels.get_mut(conn.chid) else { return Step::NotTaken };
        debug_assert!(client.exit_status.is_none() && server.exit_status.is_none(), "a channel of an ended process");
        let Some(&receiver) = channel.receivers.last() else {
            // Nobody waits to receive: the sender queues and blocks.
            let top = Some(channel.top_priority().map_or(priority, |t| t.max(priority)));
            if !boost_serving(threads, ready, channel, top, false, cur) {
                return Step::NotTaken;
            }
            let Some(sender) = threads.get_mut(cur.0) else { return Step::NotTaken };
            sender.message_sequence = sender.message_sequence.wrapping_add(1);
            sender.sent =
                Some(SentMessage { server: conn.server, chid: conn.chid, scoid: conn.scoid, coid, send, reply });
            sender.state = ThreadState::Blocked(Blocked::Send { server: conn.server, channel: conn.chid });
            channel.enqueue(priority, cur);
            boost_serving(threads, ready, channel, top, true, cur);
            return switch_to_next(threads, ready, current, *fp_owner);
        };
        let Some((sender, r)) = threads.get2_mut(cur.0, receiver.0) else { return Step::NotTaken };
        let Some(request) = r.receiving else { return Step::NotTaken };
        if request.buffer.parts > 0 || r.process != conn.server {
            return Step::NotTaken;
        }
        let Some(r_space) = server.space.as_ref() else { return Step::NotTaken };
        // The sender's message, written now (a running thread has none: it is taken
        // back if the copy fails), so that the values it is made of are let go early.
        let message = SentMessage { server: conn.server, chid: conn.chid, scoid: conn.scoid, coid, send, reply };
        debug_assert!(sender.sent.is_none(), "a running thread with a message sent");
        sender.sent = Some(message);
        // The copy validates both sides before it writes a byte: on failure nothing else
        // has changed, and the general path reports the guilty side. (Nothing to copy:
        // no check, as `transfer` does.)
        let (src, dst) = (single(send), single(request.buffer));
        let mut copied = 0;
        if src.1 != 0 && dst.1 != 0 {
            let copy = match client.space.as_ref() {
                Some(s_space) => transfer::transfer_single(machine, (s_space, src), (r_space, dst)).ok(),
                None => None,
            };
            match copy {
                Some(n) => copied = n,
                None => {
                    sender.sent = None;
                    return Step::NotTaken;
                }
            }
        }
        // From here on nothing can fail. The receiver's `_msg_info` (checked when it
        // blocked; a failed write is ignored, as `write_info` does).
        if request.info != 0 {
            let record = info_record(sender, &message, copied, src.1, reply.parts.unsigned_abs() as usize);
            match request.info {
                INFO_IN_REGISTERS => info_to_registers(r, &record),
                at => {
                    let _ = transfer::write_user(machine, r_space, at, &record.to_bytes());
                }
            }
        }
        // The sender: REPLY-blocked.
        sender.message_sequence = sender.message_sequence.wrapping_add(1);
        sender.state = ThreadState::Blocked(Blocked::Reply { server: conn.server, channel: conn.chid });
        // The receiver leaves the channel's receive queue and serves it (it served no
        // channel while RECEIVE-blocked) at the message's priority, unless FIXED.
        channel.receivers.pop();
        debug_assert!(!channel.serving.contains(&receiver), "a RECEIVE-blocked thread serves a channel");
        channel.serving.push(receiver);
        let id = rcvid(cur, sender.message_sequence);
        r.working_on = id;
        if channel.flags & channel_flags::FIXED_PRIORITY == 0 {
            r.inherited_priority = sender.priority;
            r.priority = sender.priority.max(channel.top_priority().unwrap_or(0));
        } else {
            r.priority = r.inherited_priority;
        }
        r.receiving = None;
        r.context.x[0] = id;
        r.timeslice_left = TIMESLICE_TICKS;
        sleepers.remove_thread(receiver); // a bounded receive is over
        hand_off(ready, current, *fp_owner, receiver, r)
    }

    /// `MsgReplyv(rcvid, status, buffer, parts)`: the replier runs on.
    #[inline(always)]
    fn fast_reply(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> Step {
        let data = Buffer { address: a[2] as usize, parts: a[3] as i64 };
        if data.parts > 0 {
            return Step::NotTaken;
        }
        // What `received_message` checks.
        let Some((sender, sequence)) = split_rcvid(a[0]) else { return Step::NotTaken };
        let Self { processes, threads, machine, sleepers, ready, .. } = self;
        let Some((s, me)) = threads.get2_mut(sender.0, cur.0) else { return Step::NotTaken };
        let Some(message) = s.sent else { return Step::NotTaken };
        if !awaits_reply(s, &message, pid, sequence) {
            return Step::NotTaken;
        }
        let (src, dst) = (single(data), single(message.reply));
        // (Nothing to copy: nothing to check, as `transfer` does.)
        if src.1 != 0 && dst.1 != 0 {
            let Some(r_space) = processes.get(pid.0).and_then(|p| p.space.as_ref()) else { return Step::NotTaken };
            let Some(s_space) = processes.get(s.process.0).and_then(|p| p.space.as_ref()) else {
                return Step::NotTaken;
            };
            if transfer::transfer_single(machine, (r_space, src), (s_space, dst)).is_err() {
                return Step::NotTaken;
            }
        }
        // From here on nothing can fail (the copy, which the general path would repeat
        // byte for byte, is all that happened so far).
        sleepers.remove_thread(sender); // a bounded wait is over
        me.context.x[0] = 0;
        // What `wake_for_handoff`, then `schedule` with the caller still running, do: the
        // sender is queued, and the caller runs on unless something now outranks it.
        answered(s, a[1]);
        s.state = ThreadState::Ready;
        ready.push_back_unqueued(sender.index(), s.priority);
        runs_on(ready, me.priority)
    }

    /// `MsgReceivev(chid, buffer, parts, info)` (`what`: `Any`) with nothing to receive
    /// yet, or `MsgReceivePulsev` (`PulsesOnly`) with no pulse queued (messages may be:
    /// they are not its): the channel exists, the buffer needs no reading (and, for a
    /// pulse only, holds one: a smaller one is an error, the general path's), and the
    /// `_msg_info` record (if any) is writable. The caller waits among the channel's
    /// receivers, or its pulse receivers.
    ///
    /// (`INLINED`: its helpers — the receive of a queued message, the switch to the next
    /// thread — inlined. Measured for `MsgReceivev`'s own entry: the servers' round trips
    /// −120 (pipe, mqueue), the blocking receive +10 (`null_msg_roundtrip_separate`,
    /// `pulse_to_blocked_receiver`); for the fused call's entry, whose reply path they
    /// crowd, slower.)
    #[inline(always)]
    fn fast_receive_block<const INLINED: bool>(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        a: [u64; 8],
        what: Receive,
    ) -> Step {
        let buffer = Buffer { address: a[1] as usize, parts: a[2] as i64 };
        let (Ok(chid), info) = (u32::try_from(a[0]), a[3] as usize) else { return Step::NotTaken };
        if buffer.parts > 0 || (what == Receive::PulsesOnly && (buffer.parts.unsigned_abs() as usize) < Pulse::SIZE) {
            return Step::NotTaken;
        }
        let Self { processes, threads, ready, current, fp_owner, machine, .. } = self;
        let Some(Process { channels, space, .. }) = processes.get_mut(pid.0) else {
            return Step::NotTaken;
        };
        let Some(c) = channels.get_mut(chid) else { return Step::NotTaken };
        match what {
            Receive::Any if c.top_priority().is_some() => {
                return if INLINED {
                    self.fast_receive_queued_inlined(cur, pid, chid, buffer, info)
                } else {
                    self.fast_receive_queued(cur, pid, chid, buffer, info)
                };
            }
            Receive::PulsesOnly if c.holds_pulses() => return Step::NotTaken,
            _ => {}
        }
        if !info_writable(machine, space, info) {
            return Step::NotTaken;
        }
        let Some(t) = threads.get_mut(cur.0) else { return Step::NotTaken };
        let served_here = block_receiving(c, chid, t, cur, buffer, info, what);
        serve_none(channels, cur, chid, served_here);
        if INLINED {
            switch_to_next_inlined(threads, ready, current, *fp_owner)
        } else {
            switch_to_next(threads, ready, current, *fp_owner)
        }
    }

    /// `MsgReceivev(chid, buffer, parts, info)` with a message queued first on the channel,
    /// from another process, whose buffers need no reading: what `msg_receive` does then.
    /// The message is copied in, its sender becomes REPLY-blocked, the caller serves the
    /// channel at the message's priority (unless FIXED) and the channel's other serving
    /// threads are re-boosted to what is left queued; the caller runs on unless that now
    /// lets a higher thread run.
    fn fast_receive_queued(&mut self, cur: ThreadId, pid: ProcessId, chid: u32, buffer: Buffer, info: usize) -> Step {
        self.fast_receive_queued_inlined(cur, pid, chid, buffer, info)
    }

    /// [`fast_receive_queued`](Self::fast_receive_queued), inlined into `MsgReceivev`'s
    /// own entry.
    #[inline(always)]
    fn fast_receive_queued_inlined(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        chid: u32,
        buffer: Buffer,
        info: usize,
    ) -> Step {
        let Self { processes, threads, machine, ready, .. } = self;
        // The channel as it is: who sent first, what stays queued, and whether re-boosting
        // the serving threads to that ends no chain (checked before anything changes).
        let Some(c) = processes.get(pid.0).and_then(|p| p.channels.get(chid)) else { return Step::NotTaken };
        let Some(sender) = c.first_message() else { return Step::NotTaken };
        let fixed = c.flags & channel_flags::FIXED_PRIORITY != 0;
        let top = c.top_priority_after_first();
        if !boost_serving(threads, ready, c, top, false, cur) {
            return Step::NotTaken;
        }
        let Some((s, me)) = threads.get2_mut(sender.0, cur.0) else { return Step::NotTaken };
        let Some(message) = s.sent else { return Step::NotTaken };
        if message.send.parts > 0
            || message.reply.parts > 0
            || s.reply_bound.is_some()
            || !matches!(s.state, ThreadState::Blocked(Blocked::Send { .. }))
        {
            return Step::NotTaken;
        }
        let Some((p, client)) = processes.get2_mut(pid.0, s.process.0) else { return Step::NotTaken };
        let (Some(r_space), Some(s_space)) = (p.space.as_ref(), client.space.as_ref()) else { return Step::NotTaken };
        // The `_msg_info` record's place, checked writable now and written below without
        // a second translation (one that spans two pages is the general path's).
        let info_at = match info {
            0 | INFO_IN_REGISTERS => None,
            _ => match transfer::user_writable_in_one_page(machine, r_space, info, MsgInfo::SIZE) {
                Some(at) => Some(at),
                None => return Step::NotTaken,
            },
        };
        // The caller's priority once it serves the channel.
        let inherited = if fixed { me.inherited_priority } else { s.priority };
        let my_priority = if fixed { inherited } else { inherited.max(top.unwrap_or(0)) };
        let (src, dst) = (single(message.send), single(buffer));
        let mut copied = 0;
        if src.1 != 0 && dst.1 != 0 {
            match transfer::transfer_single(machine, (s_space, src), (r_space, dst)) {
                Ok(n) => copied = n,
                Err(_) => return Step::NotTaken,
            }
        }
        // (Found above: this cannot fail, and the copy, which the general path would
        // repeat byte for byte, is all that happened so far.)
        let Some(channel) = p.channels.get_mut(chid) else { return Step::NotTaken };
        // From here on nothing can fail.
        channel.drop_first_message();
        s.state = ThreadState::Blocked(Blocked::Reply { server: message.server, channel: message.chid });
        let id = rcvid(sender, s.message_sequence);
        // The caller serves this channel only, last in its list (usually it served it
        // already, and no other: the others are looked at below only if not).
        let served_here = stop_serving(&mut channel.serving, cur);
        channel.serving.push(cur);
        me.inherited_priority = inherited;
        me.working_on = id;
        me.priority = my_priority;
        me.context.x[0] = id;
        if info != 0 {
            let record = info_record(s, &message, copied, src.1, message.reply.parts.unsigned_abs() as usize);
            match info_at {
                Some(at) => transfer::write_physical(machine, at, &record.to_bytes()),
                None => info_to_registers(me, &record),
            }
        }
        boost_serving(threads, ready, channel, top, true, cur);
        if !served_here {
            stop_serving_others(&mut p.channels, cur, chid);
        }
        debug_assert!(p.channels.iter().all(|(h, c)| h == chid || !c.serving.contains(&cur)), "served two channels");
        runs_on(ready, my_priority)
    }

    /// The current thread's `MsgReplyReceivev` if it is one that
    /// [`fast_reply_then_receive_queued`](Self::fast_reply_then_receive_queued) covers:
    /// true when done (and scheduled). Tried by the general path before it decodes the
    /// call, so that the fast paths of the other calls pay nothing for it.
    pub(crate) fn fast_reply_then_receive_queued_call(&mut self, regs: &Registers) -> bool {
        #[cfg(test)]
        if FAST_PATHS_OFF.with(|off| off.get()) {
            return false;
        }
        let a = regs.args;
        if regs.number != Sysno::MsgReplyReceivev as u64 || a[0] == 0 {
            return false;
        }
        let Some(cur) = self.current else { return false };
        let Some(t) = self.threads.get(cur.0) else { return false };
        debug_assert!(
            t.state == ThreadState::Running && self.handoff.is_none(),
            "a call outside the scheduler's state"
        );
        if t.timeout.is_some() {
            return false;
        }
        let pid = t.process;
        match self.fast_reply_then_receive_queued(cur, pid, a) {
            Step::Schedule => self.schedule(),
            Step::Stay => {}
            _ => return false,
        }
        true
    }

    /// `MsgReplyReceivev(rcvid, status, reply, reply_parts, chid, buffer, parts, info)`,
    /// `rcvid` not 0, with a message queued on the channel: what the general path does
    /// (`msg_reply`, then `msg_receive`, then `schedule` with the caller running) in that
    /// order. The reply is checked and copied first (the receive may overwrite its source),
    /// then the receive is [`fast_receive_queued`](Self::fast_receive_queued), which
    /// checks everything before it changes anything; only then does the answered sender
    /// become ready, queued after whatever the receive re-queued, as the general path's
    /// hand-off partner is once the caller runs on.
    fn fast_reply_then_receive_queued(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> Step {
        let data = Buffer { address: a[2] as usize, parts: a[3] as i64 };
        let buffer = Buffer { address: a[5] as usize, parts: a[6] as i64 };
        let Ok(chid) = u32::try_from(a[4]) else { return Step::NotTaken };
        if data.parts > 0 || buffer.parts > 0 {
            return Step::NotTaken;
        }
        let queued = self.processes.get(pid.0).and_then(|p| p.channels.get(chid)).and_then(|c| c.first_message());
        if queued.is_none() {
            return Step::NotTaken;
        }
        let Some(sender) = self.reply_checked_and_copied(cur, pid, a[0], data) else { return Step::NotTaken };
        if matches!(self.fast_receive_queued(cur, pid, chid, buffer, a[7] as usize), Step::NotTaken) {
            return Step::NotTaken; // (only the reply's copy happened, which the general path repeats)
        }
        let Self { threads, sleepers, ready, .. } = self;
        let Some((s, me)) = threads.get2_mut(sender.0, cur.0) else { return Step::Schedule }; // (cannot be)
        sleepers.remove_thread(sender); // a bounded wait is over
        answered(s, a[1]);
        s.state = ThreadState::Ready;
        ready.push_back_unqueued(sender.index(), s.priority);
        #[cfg(test)]
        FAST_HITS.with(|hits| {
            let mut h = hits.get();
            h[REPLY_THEN_QUEUED_HITS] += 1;
            hits.set(h);
        });
        runs_on(ready, me.priority)
    }

    /// What `msg_reply` checks for `rcvid` answered by `cur` of `pid` with `data`, and the
    /// reply's copy: `Some(sender)` then, nothing else changed; `None` (nothing changed
    /// but perhaps the copy) when the general path must answer.
    fn reply_checked_and_copied(
        &mut self,
        cur: ThreadId,
        pid: ProcessId,
        rcvid: u64,
        data: Buffer,
    ) -> Option<ThreadId> {
        let (sender, sequence) = split_rcvid(rcvid)?;
        let Self { processes, threads, machine, .. } = self;
        let s = threads.get(sender.0).filter(|_| sender != cur)?;
        let message = s.sent?;
        if !awaits_reply(s, &message, pid, sequence) {
            return None;
        }
        let (src, dst) = (single(data), single(message.reply));
        if src.1 != 0 && dst.1 != 0 {
            let r_space = processes.get(pid.0)?.space.as_ref()?;
            let s_space = processes.get(s.process.0)?.space.as_ref()?;
            transfer::transfer_single(machine, (r_space, src), (s_space, dst)).ok()?;
        }
        Some(sender)
    }

    /// `MsgReplyReceivev(rcvid, status, reply, reply_parts, chid, buffer, parts, info)`,
    /// `rcvid` not 0, nothing queued on the channel, the sender in another process: the
    /// replier blocks RECEIVE and the sender it answered is handed the CPU.
    #[inline(always)]
    fn fast_reply_receive(&mut self, cur: ThreadId, pid: ProcessId, a: [u64; 8]) -> Step {
        let data = Buffer { address: a[2] as usize, parts: a[3] as i64 };
        let buffer = Buffer { address: a[5] as usize, parts: a[6] as i64 };
        let Ok(chid) = u32::try_from(a[4]) else { return Step::NotTaken };
        let info = a[7] as usize;
        if data.parts > 0 || buffer.parts > 0 {
            return Step::NotTaken;
        }
        let Some((sender, sequence)) = split_rcvid(a[0]) else { return Step::NotTaken };
        let Self { processes, threads, machine, sleepers, ready, current, fp_owner, .. } = self;
        let Some((s, me)) = threads.get2_mut(sender.0, cur.0) else { return Step::NotTaken };
        // What `received_message` checks.
        let Some(message) = s.sent else { return Step::NotTaken };
        if !awaits_reply(s, &message, pid, sequence) {
            return Step::NotTaken;
        }
        if s.process == pid {
            return Step::NotTaken; // a message within one process: the general path's
        }
        // What the receive checks (the sender's process is needed only for a copy).
        let (src, dst) = (single(data), single(message.reply));
        let copying = src.1 != 0 && dst.1 != 0;
        let (p, client) = if copying {
            let Some((p, client)) = processes.get2_mut(pid.0, s.process.0) else { return Step::NotTaken };
            (p, Some(client))
        } else {
            let Some(p) = processes.get_mut(pid.0) else { return Step::NotTaken };
            (p, None)
        };
        let Process { channels, space, .. } = p;
        let Some(c) = channels.get_mut(chid).filter(|c| c.top_priority().is_none()) else { return Step::NotTaken };
        if !info_writable(machine, space, info) {
            return Step::NotTaken;
        }
        if let Some(client) = client {
            let (Some(r_space), Some(s_space)) = (space.as_ref(), client.space.as_ref()) else {
                return Step::NotTaken;
            };
            if transfer::transfer_single(machine, (r_space, src), (s_space, dst)).is_err() {
                return Step::NotTaken;
            }
        }
        // From here on nothing can fail. The sender: answered.
        answered(s, a[1]);
        // (A bounded wait is over.)
        sleepers.remove_thread(sender);
        // The replier: RECEIVE-blocked.
        let served_here = block_receiving(c, chid, me, cur, buffer, info, Receive::Any);
        serve_none(channels, cur, chid, served_here);
        hand_off(ready, current, *fp_owner, sender, s)
    }

    /// Delivers `pulse` (of `priority`) to the receiver waiting first on channel `chid` of
    /// `server`, if it has one whose buffer needs no reading and holds a pulse: it gets
    /// the pulse and rcvid 0 and serves the channel at the pulse's priority (unless
    /// FIXED), as `send_pulse` and `serve` make it; it is left for the caller to make
    /// ready or run. `None` (nothing changed) otherwise.
    ///
    /// (Inlined into its three callers: measured, `make bench` pulse −15 and
    /// irq_to_user_thread −31 instructions.)
    #[inline(always)]
    pub(crate) fn pulse_to_waiting_receiver(
        &mut self,
        server: ProcessId,
        chid: u32,
        priority: u8,
        pulse: &Pulse,
    ) -> Option<ThreadId> {
        #[cfg(test)]
        if FAST_PATHS_OFF.with(|off| off.get()) {
            return None;
        }
        let Self { processes, threads, machine, sleepers, current, .. } = self;
        // (A process that ended has no channels left.)
        let server = processes.get_mut(server.0)?;
        let r_space = server.space.as_ref()?;
        let channel = server.channels.get_mut(chid)?;
        // A thread waiting for a pulse only comes first (`send_pulse`).
        let pulses_only = !channel.pulse_receivers.is_empty();
        let receiver = if pulses_only { *channel.pulse_receivers.last()? } else { *channel.receivers.last()? };
        let r = threads.get_mut(receiver.0).filter(|_| Some(receiver) != *current)?;
        let request = r.receiving?;
        // A buffer too small for a pulse is an error for the receiver: the general path's.
        if request.buffer.parts > 0 || (request.buffer.parts.unsigned_abs() as usize) < Pulse::SIZE {
            return None;
        }
        transfer::write_user(machine, r_space, request.buffer.address, &pulse.to_bytes()).ok()?;
        // From here on nothing can fail: the receiver serves the channel (it served none
        // while RECEIVE-blocked) at the pulse's priority, and gets rcvid 0.
        if pulses_only {
            channel.pulse_receivers.pop();
        } else {
            channel.receivers.pop();
        }
        #[cfg(test)]
        if pulses_only {
            FAST_HITS.with(|hits| {
                let mut h = hits.get();
                h[PULSE_ONLY_HITS] += 1;
                hits.set(h);
            });
        }
        debug_assert!(!channel.serving.contains(&receiver), "a RECEIVE-blocked thread serves a channel");
        channel.serving.push(receiver);
        if channel.flags & channel_flags::FIXED_PRIORITY == 0 {
            r.inherited_priority = priority;
            r.priority = priority.max(channel.top_priority().unwrap_or(0));
        } else {
            r.priority = r.inherited_priority;
        }
        r.receiving = None;
        r.context.x[0] = 0;
        r.timeslice_left = TIMESLICE_TICKS;
        sleepers.remove_thread(receiver); // a bounded receive is over
        Some(receiver)
    }

    /// Delivers `event` of process `owner` (an interrupt's, outside any system call) if
    /// it is a pulse and a receiver waits for it ([`pulse_to_waiting_receiver`]), then
    /// does what `make_ready` and `schedule` would: the receiver takes the CPU at once
    /// when it is alone above everything else that could run (the interrupted thread,
    /// preempted, goes to the head of its queue). `SwitchTo` then, describing it for the
    /// return to user space; `Done` when delivered and scheduled otherwise; `NotTaken`,
    /// with nothing changed, when the general path (`deliver_event`, `schedule`) must do
    /// it.
    ///
    /// [`pulse_to_waiting_receiver`]: Self::pulse_to_waiting_receiver
    pub(crate) fn pulse_event_to_waiting_receiver(&mut self, owner: ProcessId, event: SigEvent) -> Fast {
        if event.notify != notify::PULSE || self.handoff.is_some() {
            return Fast::NotTaken;
        }
        let conn = self.processes.get(owner.0).and_then(|p| p.connections.get(event.coid));
        let Some(conn) = conn.copied() else { return Fast::NotTaken };
        let pulse = Pulse { kind: 0, subtype: 0, code: event.code, value: event.value, scoid: conn.scoid };
        let Some(receiver) = self.pulse_to_waiting_receiver(conn.server, conn.chid, event.priority.max(1), &pulse)
        else {
            return Fast::NotTaken;
        };
        let Self { threads, ready, current, fp_owner, .. } = self;
        let interrupted = current.and_then(|c| threads.get(c.0)).filter(|t| t.state == ThreadState::Running);
        let floor = interrupted.map(|t| t.priority);
        let Some(r) = threads.get_mut(receiver.0) else { return Fast::Done }; // (cannot be: just found)
        let priority = r.priority;
        if floor.is_some_and(|p| p >= priority) || ready.highest_priority().is_some_and(|h| h >= priority) {
            self.make_ready(receiver);
            self.schedule();
            return Fast::Done;
        }
        r.state = ThreadState::Running;
        let context: *mut UserContext = &mut *r.context;
        let info = ReturnInfo { context, fp: FpOnReturn::of(*fp_owner, receiver, r), quick_nop: r.timeout.is_none() };
        if let (Some(cur), Some(p)) = (*current, floor) {
            if let Some(t) = threads.get_mut(cur.0) {
                t.state = ThreadState::Ready;
            }
            ready.push_front_unqueued(cur.index(), p);
        }
        *current = Some(receiver);
        #[cfg(test)]
        FAST_HITS.with(|hits| {
            let mut h = hits.get();
            h[INTERRUPT_HITS] += 1;
            hits.set(h);
        });
        Fast::SwitchTo(info)
    }

    /// `MsgSendPulse(coid, priority, code, value)` to a channel with a receiver waiting
    /// whose buffer holds a pulse ([`pulse_to_waiting_receiver`]): it takes the CPU at
    /// once when its new priority is above the sender's and nothing else ready is as
    /// high.
    ///
    /// [`pulse_to_waiting_receiver`]: Self::pulse_to_waiting_receiver
    #[inline(always)]
    fn fast_pulse(&mut self, cur: ThreadId, pid: ProcessId, sender_priority: u8, a: [u64; 8]) -> Step {
        let (Ok(coid), Ok(requested)) = (u32::try_from(a[0]), u32::try_from(a[1])) else { return Step::NotTaken };
        let code = a[2] as u8 as i8;
        if a[2] > 0xff || code < pulse_code::MIN_AVAILABLE {
            return Step::NotTaken;
        }
        let priority = match requested {
            SENDER_PRIORITY => sender_priority,
            // (Higher ones are checked against the caller's rights on the general path.)
            1..=ANYONES_PULSE_PRIORITY => requested as u8,
            _ => return Step::NotTaken,
        };
        let conn = self.processes.get(pid.0).and_then(|p| p.connections.get(coid));
        let Some(conn) = conn.copied() else { return Step::NotTaken };
        let pulse = Pulse { kind: 0, subtype: 0, code, value: a[3], scoid: conn.scoid };
        let Some(receiver) = self.pulse_to_waiting_receiver(conn.server, conn.chid, priority, &pulse) else {
            return Step::NotTaken;
        };
        let Self { threads, ready, current, fp_owner, .. } = self;
        let Some((t, r)) = threads.get2_mut(cur.0, receiver.0) else {
            return Step::Schedule; // cannot be: both were just used
        };
        t.context.x[0] = 0;
        let receiver_priority = r.priority;
        if receiver_priority <= sender_priority || ready.highest_priority().is_some_and(|p| p >= receiver_priority) {
            // `wake` queues it; the scheduler decides (the sender usually runs on).
            r.state = ThreadState::Ready;
            ready.push_back_unqueued(receiver.index(), receiver_priority);
            return Step::Schedule;
        }
        // What `schedule` does then: the sender, preempted, goes to the head of its
        // queue, and the receiver, alone at the top, runs.
        r.state = ThreadState::Running;
        let context: *mut UserContext = &mut *r.context;
        let quick_nop = r.timeout.is_none();
        t.state = ThreadState::Ready;
        ready.push_front_unqueued(cur.index(), sender_priority);
        *current = Some(receiver);
        Step::Switched(ReturnInfo { context, fp: FpOnReturn::of(*fp_owner, receiver, r), quick_nop })
    }

    /// `SchedYield`: to the tail of its priority's queue, which changes nothing when no
    /// other thread of its priority is ready (none of a higher one can be), and
    /// otherwise hands the CPU to the first of them.
    #[inline(always)]
    fn fast_yield(&mut self, cur: ThreadId) -> Step {
        let Self { threads, ready, current, fp_owner, .. } = self;
        let Some(t) = threads.get_mut(cur.0) else { return Step::NotTaken };
        t.context.x[0] = 0;
        let priority = t.priority;
        let highest = ready.highest_priority();
        if highest.is_none_or(|p| p < priority) {
            return Step::Stay;
        }
        // The first of its equals runs, as `schedule` would pop it once the caller is
        // queued behind them (a higher priority ready, which cannot normally be, is left
        // to `schedule` itself).
        t.state = ThreadState::Ready;
        if highest != Some(priority) {
            ready.push_back_unqueued(cur.index(), priority);
            return Step::Schedule;
        }
        // Behind its equals, and the first of them runs.
        let Some(index) = ready.rotate(cur.index(), priority) else {
            ready.push_back_unqueued(cur.index(), priority); // (cannot be: one of `priority` is queued)
            return Step::Schedule;
        };
        let Some((handle, next)) = threads.at_mut(index) else { return Step::Schedule };
        next.state = ThreadState::Running;
        *current = Some(ThreadId(handle));
        let context: *mut UserContext = &mut *next.context;
        let fp = FpOnReturn::of(*fp_owner, ThreadId(handle), next);
        Step::Switched(ReturnInfo { context, fp, quick_nop: next.timeout.is_none() })
    }
}

/// A buffer the fast paths accept (one buffer, `parts <= 0`): (address, length).
fn single(buffer: Buffer) -> (usize, usize) {
    debug_assert!(buffer.parts <= 0);
    (buffer.address, buffer.parts.unsigned_abs() as usize)
}

#[cfg(test)]
#[path = "fastpath_tests.rs"]
mod tests;
