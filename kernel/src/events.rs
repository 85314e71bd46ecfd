//! Event sources other than messages: user timers (`TimerCreate`/`TimerSettime`) and
//! hardware interrupts routed to user-space drivers (`InterruptAttachEvent`), both
//! delivering a [`SigEvent`] to the owning process — usually a pulse on one of its own
//! channels, so a driver's or server's single `MsgReceive` loop sees everything.
//!
//! An attached interrupt is masked when it fires and stays masked until the driver has
//! serviced the device and calls `InterruptUnmask` (masks are counted), as in QNX.
//!
//! Timers fire in the timer interrupt, on nobody's time, so what all of them cost the
//! CPU is bounded, whoever asks (a review found one ordinary process's 256 timers at a
//! 10 µs period keeping the CPU in the interrupt). A system program's timer (one that
//! may ask for priorities above 63) is trusted, like those priorities: it fires when it
//! is due, repeating every [`MIN_TIMER_INTERVAL_NS`] at the most. Every other program's
//! fires on the clock tick, [`TIMER_TICK_NS`], as every QNX timer does at the default
//! clock period: its expiries are rounded up to a whole tick of the clock, it repeats
//! every tick at the most, and at most [`MAX_TIMER_FIRINGS_PER_TICK`] of them fire in
//! one tick — the most urgent pulse first, then the longest due — the others at the
//! next tick, a periodic one firing once for all the periods it missed (POSIX's
//! overrun). A firing that would do nothing — its pulse still queued (the overrun
//! again), its connection or channel gone, an event of no kind, an unblock event with no
//! call to end — is skipped and takes no place in the batch (reviews found one program's
//! 32 urgent timers, their pulses never received, or firing into nothing, taking every
//! tick's batch for nothing, so that no other program's timer fired at all). So the
//! ordinary programs' timers, all together, cost one interrupt and a bounded number of
//! firings a tick at most; as with the CPU, only more urgent timers whose firings are
//! taken up — pulses received, calls ended, 32 or more each tick — hold back less
//! urgent ones. A firing finds its timer's pulse still queued, or not, without searching
//! the channel's queue (`ipc.rs`).
//!
//! The armed timers are also kept in the order they come due ([`ArmedTimers`]), so that
//! the clock interrupt and the return to user space find the due ones and the next
//! expiry without looking at the others (they used to scan all 4,095 timers' slots).

use crate::fastpath::Fast;
use crate::ipc::{EventSource, PulseFrom};
use crate::machine::Machine;
use crate::process::ProcessId;
use crate::system::{Outcome, System};
use crate::thread::{Blocked, ThreadId, ThreadState};
use abi::ipc::{notify, pulse_code, SigEvent};
use abi::syscall::Call;
use abi::Errno;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// The shortest period a system program's timer repeats with (QNX's finest clock
/// period, 10 µs): shorter intervals are rounded up to it, as POSIX lets a system round
/// to its resolution. A 1 ns period would keep a timer due at every return from the
/// kernel.
pub const MIN_TIMER_INTERVAL_NS: u64 = 10_000;

/// The clock tick other programs' timers fire on (QNX's default clock period, 1 ms):
/// their resolution and shortest period.
pub const TIMER_TICK_NS: u64 = 1_000_000;

/// Most of those timers that fire in one tick, all programs together: the others are
/// late, by a tick or more.
pub const MAX_TIMER_FIRINGS_PER_TICK: usize = 32;

/// Most user timers one process may have (`EAGAIN` beyond): the system's table holds
/// 4,095, and one process must not take them all.
pub const MAX_TIMERS_PER_PROCESS: usize = 256;

/// A channel, by its process and chid.
pub(crate) type ChannelId = (ProcessId, u32);

/// A timer a process created.
#[derive(Debug, Clone, Copy)]
pub struct UserTimer {
    owner: ProcessId,
    thread: ThreadId,
    event: SigEvent,
    next: Option<u64>,
    interval: u64,
    /// The channel its pulses go to, which may hold one ([`System::deliver_for_source`]).
    channel: Option<ChannelId>,
    /// It fires on the clock tick: an ordinary program's (see the top of this file).
    on_tick: bool,
}

impl UserTimer {
    /// When it fires next: when it is due, or, on the tick, the tick at or after then
    /// and no sooner than `next_tick`.
    fn due(&self, next_tick: u64) -> Option<u64> {
        let at = self.next?;
        if !self.on_tick {
            return Some(at);
        }
        Some(at.div_ceil(TIMER_TICK_NS).saturating_mul(TIMER_TICK_NS).max(next_tick))
    }
}

/// The armed user timers, by expiry (then id), in two sets: the system programs', due at
/// their expiry, and the others', due at the tick at or after it (and no sooner than the
/// next tick) — an order their expiries give too, so the first of each set is the next
/// to come due, and those due now are a prefix.
#[derive(Debug, Default)]
pub(crate) struct ArmedTimers {
    exact: BTreeSet<(u64, u32)>,
    on_tick: BTreeSet<(u64, u32)>,
}

impl ArmedTimers {
    fn set(&mut self, on_tick: bool) -> &mut BTreeSet<(u64, u32)> {
        if on_tick {
            &mut self.on_tick
        } else {
            &mut self.exact
        }
    }

    /// Timer `id`'s expiry goes from `old` to `new` (`None`: disarmed).
    fn moved(&mut self, id: u32, on_tick: bool, old: Option<u64>, new: Option<u64>) {
        let set = self.set(on_tick);
        if let Some(at) = old {
            set.remove(&(at, id));
        }
        if let Some(at) = new {
            set.insert((at, id));
        }
    }
}

/// An interrupt routed to a process.
#[derive(Debug, Clone, Copy)]
pub struct Attachment {
    owner: ProcessId,
    thread: ThreadId,
    irq: u32,
    event: SigEvent,
    masks: u32,
    /// The channel its pulses go to, which may hold one.
    channel: Option<ChannelId>,
}

impl<M: Machine> System<M> {
    /// Performs a timer, interrupt or system-information call.
    pub(crate) fn event_call(&mut self, cur: ThreadId, pid: ProcessId, call: &Call) -> Result<Outcome, Errno> {
        let value = |v: u64| Ok(Outcome::Value(v, None));
        match *call {
            Call::TimerCreate { event } => {
                let event = self.own_event(pid, event)?;
                if self.timers.iter().filter(|(_, t)| t.owner == pid).count() >= MAX_TIMERS_PER_PROCESS {
                    return Err(Errno::EAGAIN);
                }
                let channel = self.pulse_channel(pid, event);
                let system_program =
                    self.processes.get(pid.0).is_some_and(|p| p.may_ask_priority(abi::sched::MAX_PRIORITY).is_ok());
                let on_tick = !system_program;
                let timer = UserTimer { owner: pid, thread: cur, event, next: None, interval: 0, channel, on_tick };
                value(self.timers.insert(timer).ok_or(Errno::EAGAIN)? as u64)
            }
            Call::TimerSettime { id, initial, interval } => {
                let now = self.machine.now_ns();
                let t = self.timers.get_mut(id).filter(|t| t.owner == pid).ok_or(Errno::EINVAL)?;
                let shortest = if t.on_tick { TIMER_TICK_NS } else { MIN_TIMER_INTERVAL_NS };
                t.interval = if interval == 0 { 0 } else { interval.max(shortest) };
                self.set_expiry(id, (initial != 0).then(|| now.saturating_add(initial)));
                value(0)
            }
            Call::TimerDestroy { id } => {
                self.timers.get(id).filter(|t| t.owner == pid).ok_or(Errno::EINVAL)?;
                self.remove_timer(id);
                value(0)
            }
            Call::InterruptAttachEvent { irq, event } => {
                // A device's interrupts are a driver's: I/O privilege, as for its registers
                // (MemObjectDevice); QNX asks the same (PROCMGR_AID_INTERRUPT).
                if !self.processes.get(pid.0).is_some_and(|p| p.io) {
                    return Err(Errno::EPERM);
                }
                let event = self.own_event(pid, event)?;
                if self.route_of_irq.get(irq as usize).is_some_and(|&route| route != 0) {
                    return Err(Errno::EBUSY);
                }
                self.machine.interrupt_attach(irq)?;
                let channel = self.pulse_channel(pid, event);
                let attachment = Attachment { owner: pid, thread: cur, irq, event, masks: 0, channel };
                match self.attachments.insert(attachment) {
                    Some(id) => {
                        let at = irq as usize;
                        if self.route_of_irq.len() <= at {
                            self.route_of_irq.resize(at + 1, 0);
                        }
                        self.route_of_irq[at] = id;
                        value(id as u64)
                    }
                    None => {
                        self.machine.interrupt_detach(irq);
                        Err(Errno::EAGAIN)
                    }
                }
            }
            Call::InterruptDetach { id } => {
                let a = *self.attachments.get(id).filter(|a| a.owner == pid).ok_or(Errno::EINVAL)?;
                self.remove_route(id, a.irq);
                value(0)
            }
            Call::InterruptMask { id } => {
                let a = self.attachments.get_mut(id).filter(|a| a.owner == pid).ok_or(Errno::EINVAL)?;
                a.masks = a.masks.saturating_add(1);
                let (irq, masks) = (a.irq, a.masks);
                if masks == 1 {
                    self.machine.interrupt_set_masked(irq, true);
                }
                value(masks as u64)
            }
            Call::InterruptUnmask { id } => value(self.interrupt_unmask(pid, id)? as u64),
            Call::SystemInfo { info } => {
                let record =
                    abi::info::SystemInfo { reclaim_bytes: self.reclaim_bytes() as u64, ..self.machine.system_info() };
                self.write_user(pid, info, &record.to_bytes())?;
                value(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// `InterruptUnmask(id)` by process `pid`: one mask fewer on its route `id`, the
    /// interrupt unmasked when none is left; the masks left.
    #[inline(always)]
    pub(crate) fn interrupt_unmask(&mut self, pid: ProcessId, id: u32) -> Result<u32, Errno> {
        let a = self.attachments.get_mut(id).filter(|a| a.owner == pid).ok_or(Errno::EINVAL)?;
        a.masks = a.masks.saturating_sub(1);
        let (irq, masks) = (a.irq, a.masks);
        if masks == 0 {
            self.machine.interrupt_set_masked(irq, false);
        }
        Ok(masks)
    }

    /// Reads an event the caller will receive itself, and checks it can be delivered.
    pub(crate) fn own_event(&mut self, pid: ProcessId, at: usize) -> Result<SigEvent, Errno> {
        let mut bytes = [0u8; SigEvent::SIZE];
        self.read_user(pid, at, &mut bytes)?;
        let event = SigEvent::from_bytes(&bytes).ok_or(Errno::EINVAL)?;
        match event.notify {
            notify::NONE | notify::UNBLOCK => Ok(event),
            notify::PULSE => {
                let p = self.processes.get(pid.0).ok_or(Errno::ESRCH)?;
                p.connections.get(event.coid).ok_or(Errno::EBADF)?;
                if event.code < pulse_code::MIN_AVAILABLE || event.priority == 0 {
                    return Err(Errno::EINVAL);
                }
                p.may_ask_priority(event.priority)?;
                Ok(event)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The channel `owner`'s `event` sends its pulse to: its connection's (`None`: not a
    /// pulse, or the connection is gone).
    pub(crate) fn pulse_channel(&self, owner: ProcessId, event: SigEvent) -> Option<ChannelId> {
        if event.notify != notify::PULSE {
            return None;
        }
        let conn = self.processes.get(owner.0)?.connections.get(event.coid)?;
        Some((conn.server, conn.chid))
    }

    /// Delivers `event` of `source` (a timer, a route, a child-event registration) for
    /// `owner`, whose pulses went to channel `channel` so far; returns the channel they
    /// go to now, the one that may hold its pulse, so that the source's end can take it
    /// back. (A coid names one channel until it is detached, and its number comes back
    /// only after 2^18 reuses of its slot; if it names another by then, the pulse still
    /// queued on the old one goes, so one at most is ever queued.)
    pub(crate) fn deliver_for_source(
        &mut self,
        owner: ProcessId,
        thread: ThreadId,
        event: SigEvent,
        source: EventSource,
        channel: Option<ChannelId>,
    ) -> Option<ChannelId> {
        let now = self.pulse_channel(owner, event);
        if let (Some((server, chid)), Some(_)) = (channel, now.filter(|c| Some(*c) != channel)) {
            self.drop_source_pulse(server, chid, source);
        }
        let _ = self.deliver_event(owner, thread, event, PulseFrom::Source(source));
        now.or(channel)
    }

    /// Fires the user timers due at `now`: the system programs' all, the others' at
    /// most [`MAX_TIMER_FIRINGS_PER_TICK`] (the rest wait for the next tick).
    pub(crate) fn fire_user_timers(&mut self, now: u64) {
        let mut due: Vec<u32> = self.armed_timers.exact.range(..=(now, u32::MAX)).map(|&(_, h)| h).collect();
        let mut on_tick = Vec::new();
        for &(_, h) in self.armed_timers.on_tick.iter() {
            let Some(t) = self.timers.get(h) else { continue };
            if t.due(self.next_timer_tick).is_none_or(|at| at > now) {
                break; // (nor are those after it)
            }
            // (A firing that would do nothing takes no place in the batch.)
            if self.firing_does_nothing(h, t) {
                due.push(h);
            } else {
                on_tick.push((h, self.timer_urgency(t), t.next));
            }
        }
        if !on_tick.is_empty() {
            // This tick's batch: the most urgent, then the longest due, first.
            on_tick.sort_unstable_by_key(|&(h, urgency, at)| (core::cmp::Reverse(urgency), at, h));
            due.extend(on_tick.iter().take(MAX_TIMER_FIRINGS_PER_TICK).map(|&(h, _, _)| h));
            self.next_timer_tick = (now / TIMER_TICK_NS).saturating_add(1).saturating_mul(TIMER_TICK_NS);
        }
        for id in due {
            let Some(&fire) = self.timers.get(id) else { continue };
            let next = match (fire.interval, fire.next) {
                (0, _) => None,
                (interval, Some(at)) => {
                    // In phase with the first expiry; a period that runs past the end of
                    // time disarms the timer (it could never fire again anyway).
                    let missed = now.saturating_sub(at) / interval;
                    interval.checked_mul(missed + 1).and_then(|step| at.checked_add(step))
                }
                (_, None) => None,
            };
            self.set_expiry(id, next);
            if self.firing_does_nothing(id, &fire) {
                continue;
            }
            let source = EventSource::Timer(id);
            let channel = self.deliver_for_source(fire.owner, fire.thread, fire.event, source, fire.channel);
            if let Some(t) = self.timers.get_mut(id) {
                t.channel = channel;
            }
        }
    }

    /// Timer `id` expires next at `next` (`None`: disarmed).
    fn set_expiry(&mut self, id: u32, next: Option<u64>) {
        let Some(t) = self.timers.get_mut(id) else { return };
        let old = core::mem::replace(&mut t.next, next);
        self.armed_timers.moved(id, t.on_tick, old, next);
        self.sleepers.touch(); // the next wake-up may have moved
    }

    /// Whether firing timer `id` (`t`) now would do nothing: its last pulse still waits
    /// on its channel, unreceived, or its connection or channel is gone; its event is of
    /// no kind; its unblock event's thread is in no call the event ends, or waits for a
    /// reply its server was asked to give up already (a timer asks once a request).
    /// Such a firing takes no place in a tick's batch: a review found one
    /// ordinary program's 32 timers of each of these kinds, costing it nothing, keeping
    /// every less urgent timer of other programs from ever firing.
    fn firing_does_nothing(&self, id: u32, t: &UserTimer) -> bool {
        match t.event.notify {
            notify::PULSE => {
                let Some((server, chid)) = self.pulse_channel(t.owner, t.event) else { return true };
                let channel = self.processes.get(server.0).and_then(|p| p.channels.get(chid));
                channel.is_none_or(|c| c.holds_pulse_of(EventSource::Timer(id)))
            }
            notify::UNBLOCK => match self.threads.get(t.thread.0).filter(|th| th.process == t.owner) {
                Some(th) => match th.state {
                    ThreadState::Blocked(Blocked::Sleep { .. }) => true,
                    ThreadState::Blocked(Blocked::Reply { .. }) => {
                        th.unblock_reason.is_some_and(|(message, _)| message == th.message_sequence)
                    }
                    ThreadState::Blocked(_) => false,
                    _ => true,
                },
                None => true,
            },
            _ => true,
        }
    }

    /// How urgent timer `t`'s firing is: its pulse's priority, or its thread's.
    fn timer_urgency(&self, t: &UserTimer) -> u8 {
        match t.event.notify {
            notify::PULSE => t.event.priority,
            _ => self.threads.get(t.thread.0).map_or(0, |th| th.priority),
        }
    }

    /// The next time a user timer fires.
    pub(crate) fn next_user_timer(&self) -> Option<u64> {
        let exact = self.armed_timers.exact.first().map(|&(at, _)| at);
        let on_tick =
            self.armed_timers.on_tick.first().and_then(|&(_, h)| self.timers.get(h)?.due(self.next_timer_tick));
        let next = exact.into_iter().chain(on_tick).min();
        debug_assert_eq!(
            next,
            self.timers.iter().filter_map(|(_, t)| t.due(self.next_timer_tick)).min(),
            "the armed timers' order"
        );
        debug_assert_eq!(
            self.armed_timers.exact.len() + self.armed_timers.on_tick.len(),
            self.timers.iter().filter(|(_, t)| t.next.is_some()).count(),
            "every armed timer in order, and only those"
        );
        next
    }

    /// Interrupt `irq` fired (the arch layer has masked it): deliver its event, and
    /// schedule. `SwitchTo` when the fast path switched to a waiting driver (which it
    /// describes for the return to user space), else `Done`.
    pub fn interrupt_fired(&mut self, irq: u32) -> Fast {
        // One route per interrupt (InterruptAttachEvent refuses a second), so no list.
        let id = self.route_of_irq.get(irq as usize).copied().unwrap_or(0);
        debug_assert_eq!(
            id,
            self.attachments.iter().find(|(_, a)| a.irq == irq).map_or(0, |(h, _)| h),
            "an interrupt's route"
        );
        if let Some(a) = self.attachments.get_mut(id) {
            a.masks = a.masks.saturating_add(1);
            // (Only what the fast delivery needs is taken out: copying the whole route
            // cost the common case 10 instructions.)
            let (owner, event) = (a.owner, a.event);
            match self.pulse_event_to_waiting_receiver(owner, event) {
                Fast::NotTaken => {}
                done => return done, // the common case, scheduled too (fastpath.rs)
            }
            if let Some(&Attachment { thread, channel, .. }) = self.attachments.get(id) {
                let channel = self.deliver_for_source(owner, thread, event, EventSource::Interrupt(id), channel);
                if let Some(a) = self.attachments.get_mut(id) {
                    a.channel = channel;
                }
            }
        }
        self.schedule();
        Fast::Done
    }

    /// Process `pid` is ending: its timers and interrupt routes go, with their pulses
    /// still queued (on other processes' channels: its own are gone already), and so
    /// does a queued notice of its child event.
    pub(crate) fn events_forget_process(&mut self, pid: ProcessId) {
        let timers: Vec<u32> = self.timers.iter().filter(|(_, t)| t.owner == pid).map(|(h, _)| h).collect();
        for id in timers {
            self.remove_timer(id);
        }
        let routes: Vec<(u32, u32)> =
            self.attachments.iter().filter(|(_, a)| a.owner == pid).map(|(h, a)| (h, a.irq)).collect();
        for (id, irq) in routes {
            self.remove_route(id, irq);
        }
        self.take_back_child_notice(pid, None);
    }

    /// Timer `id` goes, and its pulse if one is queued: its pulses are counted in no
    /// room, and its end is what bounds them (a review found create, fire, destroy in a
    /// loop, or owners ending, leaving one more each time on a server's channel).
    fn remove_timer(&mut self, id: u32) {
        self.set_expiry(id, None);
        if let Some(UserTimer { channel: Some((server, chid)), .. }) = self.timers.remove(id) {
            self.drop_source_pulse(server, chid, EventSource::Timer(id));
        }
    }

    /// Route `id` of interrupt `irq` goes, and its pulse if one is queued (as a timer's).
    fn remove_route(&mut self, id: u32, irq: u32) {
        if let Some(Attachment { channel: Some((server, chid)), .. }) = self.attachments.remove(id) {
            self.drop_source_pulse(server, chid, EventSource::Interrupt(id));
        }
        if let Some(route) = self.route_of_irq.get_mut(irq as usize) {
            *route = 0;
        }
        self.machine.interrupt_detach(irq);
    }
}
