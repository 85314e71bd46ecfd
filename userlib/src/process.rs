//! Processes: the caller's ids, name and exit, starting boot-image programs and waiting
//! for them, and how `main`'s result becomes an exit status ([`Termination`]).

use abi::syscall::wait_status;
use core::fmt;

#[cfg(target_os = "none")]
use crate::{sys, Errno, Pid};

/// The exit status of a process whose thread panicked.
pub const PANIC_EXIT_STATUS: u32 = 101;

/// How a child process ended, as [`wait`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited (or its last thread ended) with this status.
    Exited(u32),
    /// A fault killed it; the exception class says what kind.
    Killed {
        /// The fault's exception class (`ESR_EL1.EC`).
        exception_class: u32,
    },
}

impl ExitStatus {
    /// The status a `ProcessWait` result (`abi::syscall::wait_status`) describes.
    pub const fn from_wait_status(status: u64) -> ExitStatus {
        let low = status as u32;
        if status & wait_status::KILLED != 0 {
            ExitStatus::Killed { exception_class: low }
        } else {
            ExitStatus::Exited(low)
        }
    }

    /// True for an exit with status 0.
    pub const fn success(self) -> bool {
        matches!(self, ExitStatus::Exited(0))
    }

    /// The exit status, if it exited rather than being killed.
    pub const fn code(self) -> Option<u32> {
        match self {
            ExitStatus::Exited(code) => Some(code),
            ExitStatus::Killed { .. } => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Killed { exception_class } => {
                write!(f, "killed by a fault (exception class {exception_class:#x})")
            }
        }
    }
}

/// What a program's `main` may return ([`crate::entry!`]), turned into its exit status.
#[cfg(target_os = "none")]
pub trait Termination {
    /// The exit status; may print why it is not 0.
    fn report(self) -> i32;
}

#[cfg(target_os = "none")]
impl Termination for () {
    fn report(self) -> i32 {
        0
    }
}

#[cfg(target_os = "none")]
impl Termination for i32 {
    fn report(self) -> i32 {
        self
    }
}

#[cfg(target_os = "none")]
impl<T: Termination, E: fmt::Display> Termination for Result<T, E> {
    fn report(self) -> i32 {
        match self {
            Ok(value) => value.report(),
            Err(error) => {
                // (A diagnostic: standard error, not into `prog > file` or a pipe.)
                crate::eprintln!("{}: {error}", name());
                1
            }
        }
    }
}

/// Ends the calling process with `status` (its low 32 bits, as the parent sees them).
#[cfg(target_os = "none")]
pub fn exit(status: i32) -> ! {
    sys::process_exit(status as u32)
}

/// The calling process's pid.
#[cfg(target_os = "none")]
pub fn id() -> Pid {
    sys::get_ids().map_or(0, |(pid, _)| pid)
}

/// The name this program was started under (`argv[0]`).
#[cfg(target_os = "none")]
pub fn name() -> &'static str {
    crate::runtime::program_name()
}

/// Starts boot-image program `name` with `arguments` (after `argv[0]`, which is `name`)
/// at `priority` (`None`: the image's), as a child of this process: the process manager
/// loads it ([`crate::proc::spawn`]). Returns the child's pid. `EINVAL` for a priority of
/// 0 or an argument holding NUL, `ENOENT` for a program the image lacks.
#[cfg(target_os = "none")]
pub fn spawn(name: &str, arguments: &[&str], priority: Option<u8>) -> Result<Pid, Errno> {
    crate::proc::spawn(name, arguments, priority)
}

/// Waits for child `pid` to end; returns how it ended.
#[cfg(target_os = "none")]
pub fn wait(pid: Pid) -> Result<ExitStatus, Errno> {
    if pid == 0 {
        return Err(Errno::EINVAL);
    }
    sys::process_wait(pid).map(|(_, status)| ExitStatus::from_wait_status(status))
}

/// Waits for any child to end; returns its pid and how it ended.
#[cfg(target_os = "none")]
pub fn wait_any() -> Result<(Pid, ExitStatus), Errno> {
    sys::process_wait(0).map(|(pid, status)| (pid, ExitStatus::from_wait_status(status)))
}

/// Stops the machine with exit `code` (QEMU's exit status), through the process
/// manager; returns only with the reason it was refused.
#[cfg(target_os = "none")]
pub fn shutdown(code: u32) -> Errno {
    crate::proc::shutdown(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_tell_exits_from_faults() {
        let exited = ExitStatus::from_wait_status(wait_status::exited(3));
        assert_eq!(exited, ExitStatus::Exited(3));
        assert_eq!((exited.success(), exited.code()), (false, Some(3)));
        assert!(ExitStatus::from_wait_status(wait_status::exited(0)).success());
        let killed = ExitStatus::from_wait_status(wait_status::killed(0x24));
        assert_eq!(killed, ExitStatus::Killed { exception_class: 0x24 });
        assert_eq!((killed.success(), killed.code()), (false, None));
        // A status whose low half is 0 is still a kill when the bit is set.
        assert!(!ExitStatus::from_wait_status(wait_status::killed(0)).success());
        assert_eq!(std::format!("{killed}"), "killed by a fault (exception class 0x24)");
        assert_eq!(std::format!("{exited}"), "exited with status 3");
    }
}
