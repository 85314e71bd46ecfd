//! Processes: the caller's ids, name and exit, starting boot-image programs and waiting
//! for them, how `main`'s result becomes an exit status ([`Termination`]), and POSIX's
//! `kill` utility ([`kill_utility`]), which the shell's built-in and the `kill` program
//! share.

use abi::syscall::wait_status;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
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

/// What one operand of `kill` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillTarget {
    /// A process (`PID`).
    Process(u32),
    /// A process group (`-PGID`).
    Group(u32),
}

/// The usage `kill` says.
const KILL_USAGE: &str = "usage: kill [-SIGNAL | -s SIGNAL] [--] PID|-PGID... \
    (SIGNAL: a number or HUP INT QUIT KILL USR1 USR2 ALRM TERM)";

/// `kill [-SIGNAL | -s SIGNAL] [--] PID|-PGID…` taken apart: the signal's number (TERM, 15, unless
/// named) and each operand's target, or what is wrong with it; `Err`: a usage error.
pub fn parse_kill(words: &[&str]) -> Result<(u32, Vec<Result<KillTarget, String>>), String> {
    const SIGNALS: [(&str, u32); 8] =
        [("HUP", 1), ("INT", 2), ("QUIT", 3), ("KILL", 9), ("USR1", 10), ("USR2", 12), ("ALRM", 14), ("TERM", 15)];
    let signal_named = |word: &str, name: &str| {
        let name = name.trim_start_matches("SIG");
        let number = name.parse::<u32>().ok().filter(|n| (0..=64).contains(n));
        let number = number.or_else(|| SIGNALS.iter().find(|(n, _)| *n == name).map(|(_, number)| *number));
        number.ok_or_else(|| format!("{word}: not a signal; {KILL_USAGE}"))
    };
    // POSIX's forms: `kill -s NAME …`, `kill -NAME …`, and `--` before the operands.
    let (signal, operands) = match words {
        ["--", rest @ ..] => (15, rest),
        ["-s"] => return Err(String::from(KILL_USAGE)),
        ["-s", name, "--", rest @ ..] | ["-s", name, rest @ ..] => (signal_named(name, name)?, rest),
        [first, "--", rest @ ..] | [first, rest @ ..] if first.starts_with('-') => {
            (signal_named(first, &first[1..])?, rest)
        }
        _ => (15, words),
    };
    if operands.is_empty() {
        return Err(String::from(KILL_USAGE));
    }
    let target = |word: &str| {
        let (group, number) = match word.strip_prefix('-') {
            Some(pgid) => (true, pgid),
            None => (false, word),
        };
        match number.parse::<u32>().ok().filter(|id| *id != 0) {
            Some(id) if group => Ok(KillTarget::Group(id)),
            Some(id) => Ok(KillTarget::Process(id)),
            None => Err(format!("{word}: not a pid")),
        }
    };
    Ok((signal, operands.iter().map(|w| target(w)).collect()))
}

/// POSIX's `kill` utility on its operand words (`kill [-SIGNAL] [--] PID|-PGID…`). Muon
/// has no signals: a process ends with the status a POSIX shell shows for a death by the
/// signal, 128 + its number (`-9` or `-KILL`: 137; by default TERM, 143); signal 0 only
/// asks whether it is there. Each operand is tried, one that fails does not stop the
/// rest (POSIX: `kill 99999 $!` must still end the job); what fails is said through
/// `say`. Returns the exit status: 0, 1 if an operand failed, 2 for a usage error.
#[cfg(target_os = "none")]
pub fn kill_utility(words: &[&str], mut say: impl FnMut(&str)) -> u32 {
    let (signal, targets) = match parse_kill(words) {
        Ok(parsed) => parsed,
        Err(usage) => {
            say(&usage);
            return 2;
        }
    };
    let operands = &words[words.len() - targets.len()..];
    let mut status = 0;
    for (word, target) in operands.iter().zip(&targets) {
        let done = match *target {
            Err(ref message) => Err(message.clone()),
            Ok(target) => kill_target(target, signal).map_err(|e| format!("{word}: {e}")),
        };
        if let Err(message) = done {
            say(&message);
            status = 1;
        }
    }
    status
}

/// Ends `target` with the status of a death by `signal` (0: only whether it is there).
#[cfg(target_os = "none")]
fn kill_target(target: KillTarget, signal: u32) -> Result<(), Errno> {
    if signal == 0 {
        let threads = crate::proc::pidin()?;
        let there = threads.iter().any(|t| match target {
            KillTarget::Process(pid) => t.pid == pid,
            KillTarget::Group(group) => t.group == group,
        });
        return if there { Ok(()) } else { Err(Errno::ESRCH) };
    }
    match target {
        KillTarget::Process(pid) => crate::proc::kill(pid, 128 + signal),
        KillTarget::Group(group) => crate::proc::kill_group(group, 128 + signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_takes_a_signal_then_pids_and_process_groups() {
        use alloc::vec;
        use KillTarget::{Group, Process};
        let parse = |words: &[&str]| parse_kill(words);
        assert_eq!(parse(&["7"]), Ok((15, vec![Ok(Process(7))])));
        assert_eq!(parse(&["-9", "7", "-8"]), Ok((9, vec![Ok(Process(7)), Ok(Group(8))])));
        assert_eq!(parse(&["-KILL", "--", "-8"]), Ok((9, vec![Ok(Group(8))])));
        assert_eq!(parse(&["-SIGHUP", "7"]), Ok((1, vec![Ok(Process(7))])));
        assert_eq!(parse(&["--", "-8"]), Ok((15, vec![Ok(Group(8))])));
        assert_eq!(parse(&["-s", "KILL", "7"]), Ok((9, vec![Ok(Process(7))])));
        assert_eq!(parse(&["-s", "TERM", "--", "-8"]), Ok((15, vec![Ok(Group(8))])));
        assert!(parse(&["-s"]).unwrap_err().starts_with("usage:"));
        assert!(parse(&["-s", "NOPE", "7"]).unwrap_err().starts_with("NOPE: not a signal"));
        assert_eq!(parse(&["-0", "x", "0"]).map(|(s, t)| (s, t.iter().filter(|t| t.is_err()).count())), Ok((0, 2)));
        assert!(parse(&["-9"]).unwrap_err().starts_with("usage:"), "no operand");
        assert!(parse(&[]).unwrap_err().starts_with("usage:"));
        assert!(parse(&["-NOPE", "7"]).unwrap_err().starts_with("-NOPE: not a signal"));
        assert!(parse(&["-65", "7"]).is_err(), "past the signals");
    }

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
