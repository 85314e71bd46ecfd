//! The calls that let a user-space process manager build processes: `ProcessCreate` (an
//! empty address space), `ProcessStart` (its first thread), `ProcessKill`; plus
//! `ProcessChildEvent`, which any process may use to hear about its children's ends.
//!
//! The kernel itself starts only pid 1 from the boot image ([`System::spawn`]); every
//! other program is loaded by pid 1, which fills memory objects and maps them into the
//! new process (`memobject.rs`). Everything here but `ProcessChildEvent` is privileged.

use crate::ipc::PulseFrom;
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
            Call::ProcessCreate { name_ptr, name_len, parent, flags } => {
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
                if self.processes.get(parent.0).is_none_or(|p| p.exit_status.is_some()) {
                    return Err(Errno::ESRCH);
                }
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
            Call::ProcessKill { pid: target, status } => {
                let target = ProcessId(target);
                let p = self.processes.get(target.0).filter(|p| p.exit_status.is_none()).ok_or(Errno::ESRCH)?;
                let (never_started, parent) = (p.threads.is_empty(), p.parent);
                if never_started {
                    // A process that never ran (its loading failed) leaves no trace for
                    // its parent to wait for: it stops being its child first, so that
                    // its end wakes no `ProcessWait`, sends no child event, and leaves
                    // no status (an orphan's end removes it).
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
                if target == pid {
                    return Ok(Outcome::Gone);
                }
                value(0)
            }
            Call::ProcessChildEvent { event } => {
                let event = match event {
                    0 => None,
                    at => Some((cur, self.own_event(pid, at)?)),
                };
                if let Some(p) = self.processes.get_mut(pid.0) {
                    p.child_event = event;
                }
                value(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// A child of `parent` ended: deliver the parent's child event, if it named one.
    pub(crate) fn notify_child_death(&mut self, parent: ProcessId, child: ProcessId) {
        let Some((thread, event)) = self.processes.get(parent.0).and_then(|p| p.child_event) else {
            return;
        };
        let _ = self.deliver_event(parent, thread, SigEvent { value: child.0 as u64, ..event }, PulseFrom::Kernel);
    }
}
