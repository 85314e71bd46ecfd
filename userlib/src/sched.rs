//! Scheduling parameters of threads: QNX's policies (FIFO, round robin) and priorities
//! 1–255, read and changed through `SchedGet` / `SchedSet`.

use crate::{sys, Errno, Pid, Tid};

pub use abi::sched::{Policy, SchedParam, DEFAULT_PRIORITY, MAX_PRIORITY, MIN_USER_PRIORITY};

/// The calling thread's policy and base priority.
pub fn get() -> Result<SchedParam, Errno> {
    sys::sched_get(0, 0)
}

/// The priority the calling thread runs at now: its own, or one it inherited from the
/// message it is serving (QNX's `sched_curpriority`).
pub fn current_priority() -> Result<u8, Errno> {
    sys::sched_get_current(0, 0).map(|(_, current)| current)
}

/// Changes the calling thread's policy and priority. Priorities above
/// [`abi::sched::MAX_UNPRIVILEGED_PRIORITY`] (63) are for the system's programs (`EPERM`).
pub fn set(param: SchedParam) -> Result<(), Errno> {
    sys::sched_set(0, 0, param)
}

/// The policy and base priority of thread `tid` of process `pid` (0: the caller's
/// process; tid 0: the caller, or thread 1 of another process).
pub fn get_thread(pid: Pid, tid: Tid) -> Result<SchedParam, Errno> {
    sys::sched_get(pid, tid)
}

/// Changes the policy and priority of thread `tid` of process `pid` (ids as for
/// [`get_thread`]); another process's threads need privilege (`EPERM`).
pub fn set_thread(pid: Pid, tid: Tid, param: SchedParam) -> Result<(), Errno> {
    sys::sched_set(pid, tid, param)
}

/// Lets the other ready threads of the caller's priority run first (never lower ones).
pub fn yield_now() {
    // `SchedYield` has no failure to report.
    let _ = sys::sched_yield();
}
