//! Threads: saved user registers, scheduling parameters, and what a thread is doing.
//!
//! The state says precisely what a blocked thread waits for, so `pidin` can show it
//! and cleanup can undo it: joining a thread, waiting for a child, sleeping, and the
//! message-passing states (SEND-, RECEIVE- and REPLY-blocked) that IPC uses.

use crate::process::ProcessId;
use abi::info::ThreadStateCode;
use abi::sched::Policy;
use alloc::boxed::Box;

/// A thread, named by its slot in the kernel's thread table (generation-checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub u32);

impl ThreadId {
    /// The thread table slot index (what the ready queues use).
    pub fn index(self) -> usize {
        crate::handle::index_of(self.0)
    }
}

/// A thread's user-mode registers. `vectors.S` saves into and restores from this
/// layout directly (offsets are fixed: keep in step with `muon_user_save`,
/// `muon_user_syscall_save` and `muon_return_to_user` there).
#[repr(C, align(16))]
#[derive(Clone)]
pub struct UserContext {
    /// x0–x30.
    pub x: [u64; 31],
    /// SP_EL0.
    pub sp: u64,
    /// Where the thread resumes (ELR_EL1).
    pub pc: u64,
    /// Saved processor state (SPSR_EL1).
    pub pstate: u64,
    /// FP control register.
    pub fpcr: u64,
    /// FP status register.
    pub fpsr: u64,
    /// q0–q31.
    pub q: [u128; 32],
    /// The TTBR0_EL1 value of its process's address space (fixed for the process's life;
    /// the space and its threads go together), kept here so a switch needs no lookup.
    /// Not part of the register image the exception code saves and loads.
    pub ttbr0: u64,
}

impl UserContext {
    /// A context that starts at `pc` in EL0 with `sp`, the first arguments in x0–x2,
    /// and x30 = 0 (returning from the entry function faults).
    pub fn new(pc: u64, sp: u64, args: [u64; 3]) -> Box<Self> {
        let mut x = [0u64; 31];
        x[..3].copy_from_slice(&args);
        Box::new(Self { x, sp, pc, pstate: 0, fpcr: 0, fpsr: 0, q: [0; 32], ttbr0: 0 })
    }
}

/// What a blocked thread waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// SEND-blocked: its message waits on channel `channel` of process `server`.
    Send {
        /// The server process.
        server: ProcessId,
        /// The channel id in that process.
        channel: u32,
    },
    /// RECEIVE-blocked on channel `channel` of its own process.
    Receive {
        /// The channel id.
        channel: u32,
    },
    /// REPLY-blocked: its message was received by `server`, which owes a reply.
    Reply {
        /// The server process.
        server: ProcessId,
        /// The channel id in that process.
        channel: u32,
    },
    /// Waiting for thread `tid` of its own process to end.
    Join {
        /// The awaited thread.
        target: ThreadId,
        /// Its tid, for listings.
        tid: u32,
    },
    /// Waiting for a child process (`None`: any child) to end.
    WaitChild(Option<ProcessId>),
    /// Sleeping until the clock reads `until` nanoseconds.
    Sleep {
        /// Wake-up time.
        until: u64,
    },
}

/// What a thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// Waiting in a ready queue.
    Ready,
    /// On a CPU.
    Running,
    /// Blocked.
    Blocked(Blocked),
    /// Ended; holds its exit status until joined.
    Dead,
}

impl ThreadState {
    /// The introspection code, and the (pid, id) it is blocked on.
    pub fn code(&self) -> (ThreadStateCode, u32, u32) {
        match *self {
            ThreadState::Ready => (ThreadStateCode::Ready, 0, 0),
            ThreadState::Running => (ThreadStateCode::Running, 0, 0),
            ThreadState::Dead => (ThreadStateCode::Dead, 0, 0),
            ThreadState::Blocked(b) => match b {
                Blocked::Send { server, channel } => (ThreadStateCode::Send, server.0, channel),
                Blocked::Receive { channel } => (ThreadStateCode::Receive, 0, channel),
                Blocked::Reply { server, channel } => (ThreadStateCode::Reply, server.0, channel),
                Blocked::Join { tid, .. } => (ThreadStateCode::Join, 0, tid),
                Blocked::WaitChild(child) => (ThreadStateCode::WaitChild, child.map_or(0, |c| c.0), 0),
                Blocked::Sleep { .. } => (ThreadStateCode::Nanosleep, 0, 0),
            },
        }
    }
}

/// A thread's kernel object.
pub struct Thread {
    /// Its process.
    pub process: ProcessId,
    /// Its id within the process (1 = the first thread).
    pub tid: u32,
    /// What it is doing.
    pub state: ThreadState,
    /// Its own priority.
    pub base_priority: u8,
    /// The priority it runs at (equal to the base unless inherited).
    pub priority: u8,
    /// FIFO or round robin.
    pub policy: Policy,
    /// Ticks left in its round-robin timeslice.
    pub timeslice_left: u32,
    /// Saved user registers (boxed: the address is handed to the exception code).
    pub context: Box<UserContext>,
    /// Its stack: (lowest mapped address, size), freed when it ends.
    pub stack: Option<(usize, usize)>,
    /// Exit status, once dead.
    pub exit_status: u64,
    /// The thread waiting in `ThreadJoin` for this one.
    pub joiner: Option<ThreadId>,
    /// The priority of the message it is working on (its base priority when none):
    /// message-driven priority inheritance. `priority` is the higher of this and any
    /// boost from clients waiting on the channels it serves.
    pub inherited_priority: u8,
    /// The rcvid of the message it works on, from its receive until its next receive (0:
    /// none, or a pulse): while that client waits for the reply, its priority changes pass
    /// on to this thread (`refresh_priority`), and its leaving takes the boost back.
    /// (Answered, the client's next message has another rcvid: the link is stale, and
    /// nobody needs to clear it.)
    pub working_on: u64,
    /// The message it has sent, while SEND- or REPLY-blocked.
    pub sent: Option<crate::ipc::SentMessage>,
    /// Where its next message goes, while RECEIVE-blocked.
    pub receiving: Option<crate::ipc::ReceiveRequest>,
    /// Bumped for every message it sends: an rcvid carries its low 16 bits, so that it
    /// names one message only; the whole (which never wraps) tells a stopped copy's
    /// message from any later one (`ipc::CopyProgress`).
    pub message_sequence: u64,
    /// Armed by `TimerTimeout` for its next call: (blocking states, nanoseconds).
    pub timeout: Option<(u32, u64)>,
    /// A bound on REPLY (not on SEND) of a call that ended SEND-blocked: its timer starts
    /// when the message is received and the thread becomes REPLY-blocked.
    pub reply_bound: Option<(u32, u64)>,
    /// How many more switches to it hand it the FP/SIMD registers eagerly
    /// ([`crate::fpswitch`]).
    pub fp_eager_switches: u8,
    /// Nobody will join it (`ThreadDetach`): its end frees it at once.
    pub detached: bool,
    /// Why its server was asked to unblock it (an unblock pulse): the message sequence
    /// it was asked for and the error (`MsgError`'s -1 gives it).
    pub unblock_reason: Option<(u64, abi::Errno)>,
    /// A call of its that an interrupt stopped in a long copy or mapping, to be made
    /// again (its registers) and go on where it stopped ([`crate::system::Progress`]).
    pub restart: Option<Box<(abi::syscall::Registers, crate::system::Progress)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_states_say_what_they_wait_for() {
        let s = ThreadState::Blocked(Blocked::Reply { server: ProcessId(7), channel: 1 });
        assert_eq!(s.code(), (ThreadStateCode::Reply, 7, 1));
        let s = ThreadState::Blocked(Blocked::Send { server: ProcessId(2), channel: 3 });
        assert_eq!(s.code(), (ThreadStateCode::Send, 2, 3));
        let s = ThreadState::Blocked(Blocked::Receive { channel: 4 });
        assert_eq!(s.code(), (ThreadStateCode::Receive, 0, 4));
        let s = ThreadState::Blocked(Blocked::Join { target: ThreadId(9), tid: 2 });
        assert_eq!(s.code(), (ThreadStateCode::Join, 0, 2));
        assert_eq!(ThreadState::Blocked(Blocked::WaitChild(None)).code().0, ThreadStateCode::WaitChild);
    }

    #[test]
    fn context_layout_matches_the_assembly() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(UserContext, sp), 248);
        assert_eq!(offset_of!(UserContext, pc), 256);
        assert_eq!(offset_of!(UserContext, pstate), 264);
        assert_eq!(offset_of!(UserContext, fpcr), 272);
        assert_eq!(offset_of!(UserContext, q), 288);
        // The register image ends at 800; what follows is the kernel's own.
        assert_eq!(offset_of!(UserContext, ttbr0), 800);
    }
}
