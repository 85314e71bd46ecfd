//! Who may use the terminal, free of system calls so the host can test it: the shells in
//! control and the foreground, as a terminal's controlling process and foreground
//! process group (POSIX job control, without the signals).
//!
//! A shell names its foreground (`SET_FOREGROUND`: the pipeline it runs, its children)
//! and so takes control. Once a shell is in control, only it and its foreground read; a
//! background job's read waits, as SIGTTIN would stop it. A shell started in the
//! foreground takes control from the one that started it, which gets it back with the
//! foreground it had when the newer one ends. When a shell in control ends it hangs up:
//! the shells that took control after it and the foreground end (status 129, as for
//! SIGHUP); with no shell before it, nobody reads until a shell takes control again, so
//! that an orphaned background job cannot take what is typed for the next shell.
//!
//! The driver (`server.rs`) keeps the requests (held reads and claims); this keeps the
//! rules. Processes are named by pid, connections (the controllers') by scoid, and a
//! process's parent is asked of the caller (`parent_of`: `None` for a process that
//! ended).

use alloc::vec::Vec;
use userlib::Errno;

/// A shell in control: its pid, its connection, and the foreground it took control from
/// (its predecessor's), given back when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Controller {
    pid: u32,
    scoid: u32,
    taken_from: Vec<u32>,
}

/// The terminal's control: see the module's description.
#[derive(Debug, Default)]
pub struct Control {
    /// The programs Ctrl-C ends (the last controller's foreground pipeline).
    foreground: Vec<u32>,
    /// The shells in control, outermost first, each but the first from its
    /// predecessor's foreground; the last named the present foreground.
    controllers: Vec<Controller>,
    /// The last shell in control hung up, and none has taken control since.
    hung_up: bool,
}

impl Control {
    /// Nobody in control: anyone reads.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `pid` may read now: the shell in control and its foreground; anyone
    /// before any shell took control; nobody after a hang-up.
    pub fn may_read(&self, pid: u32) -> bool {
        match self.controllers.last() {
            Some(c) => c.pid == pid || self.foreground.contains(&pid),
            None => !self.hung_up,
        }
    }

    /// The programs Ctrl-C ends, taken (each is ended once).
    pub fn take_foreground(&mut self) -> Vec<u32> {
        core::mem::take(&mut self.foreground)
    }

    /// Whether `pid` is the shell in control.
    pub fn in_control(&self, pid: u32) -> bool {
        self.controllers.last().is_some_and(|c| c.pid == pid)
    }

    /// Whether `pid` is a child of the shell in control (which may not have named it in
    /// its foreground yet: a shell it has just started, racing it to claim).
    pub fn child_of_controller(&self, pid: u32, parent_of: impl Fn(u32) -> Option<u32>) -> bool {
        let parent = parent_of(pid);
        self.controllers.last().is_some_and(|c| parent == Some(c.pid))
    }

    /// `SET_FOREGROUND` by `pid` (its connection `scoid`): `pids` (its children) become
    /// the foreground, and `pid` is in control. `EPERM` unless `pid` is the shell in
    /// control or in its foreground — or that shell has ended — or if a pid is another's
    /// child. Pids of programs that ended are left out (`echo hi | sleep 100`: Ctrl-C
    /// still ends `sleep`).
    pub fn claim(
        &mut self,
        pid: u32,
        scoid: u32,
        mut pids: Vec<u32>,
        parent_of: impl Fn(u32) -> Option<u32>,
    ) -> Result<(), Errno> {
        let current = self.controllers.last().map(|c| c.pid);
        let controller_alive = current.is_some_and(|c| parent_of(c).is_some());
        if controller_alive && !self.may_read(pid) {
            return Err(Errno::EPERM); // a background job
        }
        pids.retain(|&p| parent_of(p).is_some());
        if pids.iter().any(|&p| parent_of(p) != Some(pid)) {
            return Err(Errno::EPERM);
        }
        let foreground = core::mem::replace(&mut self.foreground, pids);
        let me = Controller { pid, scoid, taken_from: foreground };
        match current {
            Some(c) if c == pid => {}
            _ if controller_alive => self.controllers.push(me), // from the foreground
            _ => self.controllers = alloc::vec![Controller { taken_from: Vec::new(), ..me }],
        }
        self.hung_up = false;
        Ok(())
    }

    /// Connection `scoid` went. If it was a shell in control's, the hang-up: returns the
    /// programs to end (the shells after it, and the foreground); the shell before it is
    /// in control again with the foreground it had. `None`: not a controller's.
    pub fn disconnected(&mut self, scoid: u32) -> Option<Vec<u32>> {
        let at = self.controllers.iter().position(|c| c.scoid == scoid)?;
        let mut ended: Vec<Controller> = self.controllers.drain(at..).collect();
        let first = ended.remove(0);
        let hung_up: Vec<u32> = ended.iter().map(|c| c.pid).chain(self.foreground.drain(..)).collect();
        self.foreground = first.taken_from;
        self.foreground.retain(|pid| *pid != first.pid && !hung_up.contains(pid));
        self.hung_up = self.controllers.is_empty();
        Some(hung_up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use std::collections::BTreeMap;

    /// Processes by pid: their parents (an ended one is absent).
    struct Processes(BTreeMap<u32, u32>);

    impl Processes {
        fn parent_of(&self) -> impl Fn(u32) -> Option<u32> + '_ {
            |pid| self.0.get(&pid).copied()
        }
    }

    #[test]
    fn the_shell_in_control_and_its_foreground_read_a_background_job_waits() {
        // proc (1) started shell 6 and ramfs 5; the shell runs cat (7) in the
        // foreground, sleep (8) behind.
        let ps = Processes(BTreeMap::from([(5, 1), (6, 1), (7, 6), (8, 6)]));
        let mut c = Control::new();
        assert!(c.may_read(8), "before any claim, anyone");
        assert_eq!(c.claim(6, 60, vec![], ps.parent_of()), Ok(()));
        assert!(c.in_control(6) && c.may_read(6) && !c.may_read(7));
        assert_eq!(c.claim(6, 60, vec![7], ps.parent_of()), Ok(()));
        assert!(c.may_read(7) && !c.may_read(8), "the background job waits");
        assert_eq!(c.claim(8, 80, vec![], ps.parent_of()), Err(Errno::EPERM), "nor takes control");
        assert_eq!(c.claim(6, 60, vec![5], ps.parent_of()), Err(Errno::EPERM), "not its child");
        assert_eq!(c.take_foreground(), [7], "Ctrl-C");
        assert!(c.take_foreground().is_empty(), "once");
    }

    #[test]
    fn a_shell_in_the_foreground_takes_control_and_its_end_hangs_up_after_it() {
        // Shell 6 runs shell 7 | cat 8; shell 7 runs shell 9, which runs wc 10.
        let ps = Processes(BTreeMap::from([(6, 1), (7, 6), (8, 6), (9, 7), (10, 9)]));
        let mut c = Control::new();
        c.claim(6, 60, vec![7, 8], ps.parent_of()).unwrap();
        assert!(c.child_of_controller(7, ps.parent_of()) && !c.child_of_controller(9, ps.parent_of()));
        c.claim(7, 70, vec![], ps.parent_of()).unwrap();
        assert!(c.in_control(7) && !c.may_read(8), "cat waits while the inner shell reads");
        c.claim(7, 70, vec![9], ps.parent_of()).unwrap();
        c.claim(9, 90, vec![10], ps.parent_of()).unwrap();
        assert!(c.may_read(10) && !c.may_read(7));
        assert_eq!(c.disconnected(12), None, "not a controller's connection");
        // Shell 7 ends: shell 9 and wc end too; shell 6 has its foreground back.
        assert_eq!(c.disconnected(70), Some(vec![9, 10]));
        assert!(c.in_control(6) && c.may_read(8) && !c.may_read(7), "cat reads again; 7 is gone from it");
        assert_eq!(c.take_foreground(), [8]);
    }

    #[test]
    fn after_the_last_shell_hangs_up_nobody_reads_until_one_takes_control() {
        let mut ps = Processes(BTreeMap::from([(6, 1), (7, 6)]));
        let mut c = Control::new();
        c.claim(6, 60, vec![], ps.parent_of()).unwrap();
        // 7 was started in the background (`wc < /dev/console &`), and shell 6 ends.
        assert_eq!(c.disconnected(60), Some(vec![]));
        assert!(!c.may_read(7) && !c.may_read(6), "an orphan must not take the next shell's input");
        ps.0.remove(&6);
        ps.0.insert(11, 1); // proc starts a shell again
        assert_eq!(c.claim(11, 110, vec![], ps.parent_of()), Ok(()), "the controller ended: anyone may");
        assert!(c.may_read(11) && !c.may_read(7));
    }

    #[test]
    fn a_claim_leaves_out_programs_that_ended() {
        // `echo hi | sleep 100`: echo (7) ended before the shell named the pipeline.
        let ps = Processes(BTreeMap::from([(6, 1), (8, 6)]));
        let mut c = Control::new();
        assert_eq!(c.claim(6, 60, vec![7, 8], ps.parent_of()), Ok(()));
        assert_eq!(c.take_foreground(), [8]);
    }
}
