//! The calls that let a user-space process manager build processes: `ProcessCreate` (an
//! empty address space), `ProcessStart` (its first thread), `ProcessKill`; plus
//! `ProcessChildEvent`, which any process may use to hear about its children's ends.
//!
//! The kernel itself starts only pid 1 from the boot image ([`System::spawn`]); every
//! other program is loaded by pid 1, which fills memory objects and maps them into the
//! new process (`memobject.rs`). Everything here but `ProcessChildEvent` is privileged.
//!
//! A parent's child events coalesce, as `SIGCHLD`s do: at most one waits, queued, at a
//! time (a per-source pulse, [`crate::ipc::PulseFrom::Source`], counted in no room: any process
//! may aim its child events at a server, and they used up the server's room for the
//! kernel's unblock notices). It names a child that has ended and not been collected;
//! once the parent collects children with `ProcessWait`, a notice names one of those
//! that are left, so a parent that collects the child each notice names hears of every
//! end.
//!
//! Process groups are POSIX's, without the signals: a new process joins its parent's
//! group, or leads one of its own, or joins a group of its parent's family (a shell's
//! pipeline shares the first stage's); `ProcessKill` may end a whole group at once, as
//! Ctrl-C ends a foreground job with everything it started.

use crate::events::ChannelId;
use crate::ipc::EventSource;
use crate::machine::Machine;
use crate::process::{AddressSpace, Process, ProcessId};
use crate::system::{Outcome, System};
use crate::thread::{ThreadId, UserContext};
use abi::ipc::SigEvent;
use abi::sched::SchedParam;
use abi::syscall::Call;
use abi::Errno;
use alloc::string::String;

impl<M: Machine> System<M> {
    /// Performs a process-manager call.
    pub(crate) fn procmgr_call(&mut self, cur: ThreadId, pid: ProcessId, call: &Call) -> Result<Outcome, Errno> {
        let value = |v: u64| Ok(Outcome::Value(v, None));
        if !matches!(call, Call::ProcessChildEvent { .. }) && !self.processes.get(pid.0).is_some_and(|p| p.privileged) {
            return Err(Errno::EPERM);
        }
        match *call {
            Call::ProcessCreate { name_ptr, name_len, parent, flags, group } => {
                if flags & !abi::syscall::process_flags::IO != 0 {
                    return Err(Errno::EINVAL);
                }
                if name_len > abi::MAX_NAME_LEN {
                    return Err(Errno::ENAMETOOLONG);
                }
                let mut name = alloc::vec![0u8; name_len];
                self.read_user(pid, name_ptr, &mut name)?;
                let name = String::from_utf8(name).map_err(|_| Errno::EINVAL)?;
                if name.is_empty() || name.contains('\0') {
                    return Err(Errno::EINVAL);
                }
                let parent = match parent {
                    0 => pid,
                    p => ProcessId(p),
                };
                let Some(parent_group) =
                    self.processes.get(parent.0).filter(|p| p.exit_status.is_none()).map(|p| p.group)
                else {
                    return Err(Errno::ESRCH);
                };
                // A group to join is the parent's or one of its children's (a pipeline's
                // stages share the first one's), as POSIX keeps `setpgid` to a session.
                let group = match group {
                    0 => Some(parent_group),
                    abi::syscall::NEW_PROCESS_GROUP => None,
                    g if g == parent_group || self.child_in_group(parent, g) => Some(g),
                    _ => return Err(Errno::EPERM),
                };
                // (Room first: a space made for nothing would be dropped unfreed.)
                if self.processes.len() >= crate::system::MAX_PROCESSES {
                    return Err(Errno::EAGAIN);
                }
                let asid = self.asids.alloc().ok_or(Errno::EAGAIN)?;
                let space = match AddressSpace::new(&mut self.machine, asid) {
                    Ok(space) => space,
                    Err(e) => {
                        self.asids.free(asid);
                        return Err(e);
                    }
                };
                let mut process = Process::new(name, Some(parent), space, false);
                process.io = flags & abi::syscall::process_flags::IO != 0;
                match self.processes.insert(process) {
                    Some(child) => {
                        if let Some(p) = self.processes.get_mut(child) {
                            p.group = group.unwrap_or(child);
                        }
                        if let Some(p) = self.processes.get_mut(parent.0) {
                            p.children.push(ProcessId(child));
                        }
                        value(child as u64)
                    }
                    None => Err(Errno::EAGAIN), // (cannot be: room checked)
                }
            }
            Call::ProcessStart { pid: target, entry, sp, args, sched } => {
                let param = SchedParam::decode(sched)?;
                if param.priority < abi::sched::MIN_USER_PRIORITY {
                    return Err(Errno::EINVAL);
                }
                if !crate::system::user_address(entry) || !crate::system::user_address(sp) || sp % 16 != 0 {
                    return Err(Errno::EFAULT);
                }
                let target = ProcessId(target);
                let p = self.processes.get(target.0).filter(|p| p.exit_status.is_none()).ok_or(Errno::ESRCH)?;
                if !p.threads.is_empty() {
                    return Err(Errno::EBUSY);
                }
                // The priority is the program's or its parent's asking (proc starts every
                // program on someone's behalf): one of them must be allowed it.
                let parent = p.parent.and_then(|parent| self.processes.get(parent.0));
                p.may_ask_priority(param.priority)
                    .or_else(|e| parent.map_or(Err(e), |q| q.may_ask_priority(param.priority)))?;
                let context = UserContext::new(entry as u64, sp as u64, args);
                value(self.add_thread(target, context, param, None)? as u64)
            }
            Call::ProcessKill { pid: group, status, flags: abi::syscall::kill_flags::GROUP } => {
                let members: alloc::vec::Vec<ProcessId> = self
                    .processes
                    .iter()
                    .filter(|(_, p)| p.group == group && p.exit_status.is_none())
                    .map(|(id, _)| ProcessId(id))
                    .collect();
                if members.is_empty() {
                    return Err(Errno::ESRCH);
                }
                // The caller, if it is a member, ends last: its call ends with it.
                for &target in members.iter().filter(|&&m| m != pid) {
                    self.kill_process(target, status);
                }
                if members.contains(&pid) {
                    self.kill_process(pid, status);
                    return Ok(Outcome::Gone);
                }
                value(0)
            }
            Call::ProcessKill { pid: target, status, flags: 0 } => {
                let target = ProcessId(target);
                if self.processes.get(target.0).is_none_or(|p| p.exit_status.is_some()) {
                    return Err(Errno::ESRCH);
                }
                self.kill_process(target, status);
                if target == pid {
                    return Ok(Outcome::Gone);
                }
                value(0)
            }
            Call::ProcessKill { .. } => Err(Errno::EINVAL),
            Call::ProcessChildEvent { event } => {
                let event = match event {
                    0 => None,
                    at => Some((cur, self.own_event(pid, at)?)),
                };
                if let Some(p) = self.processes.get_mut(pid.0) {
                    p.child_event = event;
                }
                // A notice of the old event still queued is taken back, and given again
                // through the new one.
                if self.take_back_child_notice(pid, None) {
                    self.send_child_notice(pid, None);
                }
                value(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// Ends live process `target` with `status`, as `ProcessKill` does.
    fn kill_process(&mut self, target: ProcessId, status: u64) {
        // (A group's member may have ended through an earlier member's end.)
        let Some(p) = self.processes.get(target.0).filter(|p| p.exit_status.is_none()) else { return };
        let (never_started, parent) = (p.threads.is_empty(), p.parent);
        if never_started {
            // A process that never ran (its loading failed) leaves no trace for its
            // parent to wait for: it stops being its child first, so that its end wakes
            // no `ProcessWait`, sends no child event, and leaves no status (an orphan's
            // end removes it).
            if let Some(parent) = parent.and_then(|p| self.processes.get_mut(p.0)) {
                parent.children.retain(|c| *c != target);
            }
            if let Some(p) = self.processes.get_mut(target.0) {
                p.parent = None;
            }
        }
        self.terminate_process(target, status);
        if let Some(parent) = parent.filter(|_| never_started) {
            self.fail_hopeless_waits(parent);
        }
    }

    /// Whether a child of `parent`, live or not yet waited for, is a member of process
    /// group `group` (as in POSIX, a zombie keeps its group: a pipeline's first stage may
    /// have ended before the last is started).
    fn child_in_group(&self, parent: ProcessId, group: u32) -> bool {
        let Some(p) = self.processes.get(parent.0) else { return false };
        p.children.iter().filter_map(|c| self.processes.get(c.0)).any(|c| c.group == group)
    }

    /// A child of `parent` ended: deliver the parent's child event, if it named one and
    /// no notice of it waits already.
    pub(crate) fn notify_child_death(&mut self, parent: ProcessId, child: ProcessId) {
        self.send_child_notice(parent, Some(child));
    }

    /// `parent` collected `child` (`ProcessWait`): a queued notice naming it is taken
    /// back, and, if other ended children wait to be collected, a notice names one.
    pub(crate) fn child_collected(&mut self, parent: ProcessId, child: ProcessId) {
        self.take_back_child_notice(parent, Some(child));
        self.send_child_notice(parent, None);
    }

    /// Delivers `parent`'s child event for `child`, or for the first of its ended
    /// children not yet collected, unless a notice of it is still queued (ends coalesce).
    fn send_child_notice(&mut self, parent: ProcessId, child: Option<ProcessId>) {
        let Some(p) = self.processes.get(parent.0).filter(|p| p.exit_status.is_none()) else { return };
        let Some((thread, event)) = p.child_event else { return };
        let held = p.child_notice.and_then(|n| n.channel);
        if held.is_some_and(|c| self.holds_child_notice(parent, c)) {
            return;
        }
        let ended = |c: &&ProcessId| self.processes.get(c.0).is_some_and(|c| c.exit_status.is_some());
        let Some(child) = child.or_else(|| p.children.iter().find(ended).copied()) else { return };
        let source = EventSource::ChildEvent(parent.0);
        let notice = SigEvent { value: child.0 as u64, ..event };
        let channel = self.deliver_for_source(parent, thread, notice, source, held);
        if let Some(p) = self.processes.get_mut(parent.0) {
            p.child_notice = Some(ChildNotice { channel, child });
        }
    }

    /// Takes `parent`'s queued notice back — if it names `child` (any, for `None`) —
    /// whether one was.
    pub(crate) fn take_back_child_notice(&mut self, parent: ProcessId, child: Option<ProcessId>) -> bool {
        let Some(notice) = self.processes.get(parent.0).and_then(|p| p.child_notice) else { return false };
        let Some(channel) = notice.channel.filter(|c| self.holds_child_notice(parent, *c)) else { return false };
        if child.is_some_and(|c| c != notice.child) {
            return false;
        }
        self.drop_source_pulse(channel.0, channel.1, EventSource::ChildEvent(parent.0));
        true
    }

    /// Whether `channel` holds a notice of `parent`'s child event.
    fn holds_child_notice(&self, parent: ProcessId, (server, chid): ChannelId) -> bool {
        let channel = self.processes.get(server.0).and_then(|p| p.channels.get(chid));
        channel.is_some_and(|c| c.holds_pulse_of(EventSource::ChildEvent(parent.0)))
    }
}

/// The last notice of a child's end a parent's child event sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildNotice {
    /// The channel it went to, which may still hold it (`None`: not a pulse).
    channel: Option<ChannelId>,
    /// The child it names.
    child: ProcessId,
}
