//! The kernel core: the process and thread tables, the scheduler's decisions, and the
//! system calls. Plain Rust over a [`Machine`], so all of it runs in host tests.
//!
//! The kernel never blocks inside: a system call either completes (its result goes in
//! the caller's x0/x1) or records why the caller is blocked and lets [`System::schedule`]
//! pick another thread. `run.rs` (target only) enters through [`System::syscall`],
//! [`System::timer`], [`System::user_fault`], and restores whatever
//! [`System::current`] names afterwards.
//!
//! Scheduling rules (POSIX/QNX): the highest-priority ready thread runs; a thread that
//! becomes ready goes to the tail of its priority, a preempted one to the head; a
//! round-robin thread that used up its timeslice goes to the tail; FIFO threads run
//! until they block, yield or are preempted.

use crate::handle::HandleTable;
use crate::machine::Machine;
use crate::mem::layout::align_up;
use crate::mem::PAGE_SIZE;
use crate::process::{user_attrs, AddressSpace, AsidAllocator, Process, ProcessId, RegionKind, ReleaseStep};
use crate::sched::ReadyQueues;
use crate::sleepers::{Sleepers, Wake};
use crate::thread::{Blocked, Thread, ThreadId, ThreadState, UserContext};
use abi::bootimage::{flags, BootImage, Program};
use abi::info::ThreadInfo;
use abi::sched::{Policy, SchedParam};
use abi::syscall::{encode_result, wait_status, Call, Registers, RESTARTED_CALL};
use abi::Errno;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Most processes at once.
pub const MAX_PROCESSES: usize = 256;
/// Most threads at once, system-wide.
pub const MAX_THREADS: usize = 1024;
/// Most threads in one process.
pub const MAX_THREADS_PER_PROCESS: usize = 64;
pub use abi::syscall::MAX_DEBUG_WRITE;
/// Longest argument block the kernel gives pid 1.
pub const MAX_ARGS: usize = 4096;
/// Largest single `MemMapAnon`.
pub const MAX_ANON_MAP: usize = 1 << 30;
/// Round-robin timeslice, in scheduler ticks.
pub const TIMESLICE_TICKS: u32 = 4;
/// Bytes of the `svc` instruction, which a restarted call's PC goes back over.
const SVC_SIZE: u64 = 4;

/// What a system call did, for the caller's registers.
pub(crate) enum Outcome {
    /// Completed with x0 (and optionally x1).
    Value(u64, Option<u64>),
    /// The caller blocked; its registers are written when it wakes.
    Blocked,
    /// The caller no longer exists.
    Gone,
    /// An interrupt is pending and stopped a long copy or mapping: the call is to be
    /// made again (its registers restored, its PC back on the `svc`) once the interrupt
    /// is taken, going on where it stopped ([`Progress`]). What it did before stands (a
    /// reply `MsgReplyReceivev` gave, a message received whose copy it is to finish);
    /// nothing after the copy has been done.
    Restart,
}

/// How far a call that a pending interrupt stopped had got, kept with the call for the
/// thread to make it again ([`Outcome::Restart`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The copy of a message the thread has received (its sender REPLY-blocked) into its
    /// receive buffer ([`crate::ipc::CopyProgress`]): its `MsgReceivev` finishes it.
    Receive(crate::ipc::CopyProgress),
    /// A long copy of `MsgReplyv`, `MsgReadv` or `MsgWritev` ([`crate::ipc::CopyProgress`]).
    Copy(crate::ipc::CopyProgress),
    /// A `MemMapAnon`, `ThreadCreate` (its stack) or `MemObjectMap` filling the
    /// [`RegionKind::Filling`] region at `start` of process `pid`, up to the page
    /// `filled` (excluded).
    Mapping {
        /// The process whose space it is (`MemObjectMap` may map into another's).
        pid: ProcessId,
        /// Where the region starts (what the call returns once it is full).
        start: usize,
        /// The first page left to fill.
        filled: usize,
    },
    /// A `MemObjectCreate` or `MemObjectResize` adding frames to the growth of memory
    /// object `object` (`memobject.rs`).
    Growing {
        /// The object, in the system's table.
        object: u32,
    },
    /// A `MemProtect` that has changed the pages before `next` (the regions change once
    /// all pages have). Abandoned, the pages changed stay changed, as POSIX allows of an
    /// `mprotect` that fails.
    Protecting {
        /// The first page left to change.
        next: usize,
        /// The newest [`crate::process::Region::id`] among the regions it covered: if one
        /// is newer now, they are not the same ones, and it starts over.
        newest: u64,
    },
    /// A `MemUnmap` giving back the [`RegionKind::Releasing`] region at `start`.
    Unmapping {
        /// Where the region starts.
        start: usize,
    },
    /// A call that allocates memory was giving back what ended processes left
    /// (`System::reclaim_for`): it starts over (the queue keeps the progress).
    Reclaim,
}

/// A fault a user thread took, as the arch layer decoded it.
#[derive(Debug, Clone, Copy)]
pub struct UserFault<'a> {
    /// The exception class (ESR_EL1.EC).
    pub class: u8,
    /// The class and syndrome in words.
    pub description: &'a str,
    /// The faulting address (FAR), if meaningful.
    pub address: Option<u64>,
    /// Where the thread was (ELR).
    pub pc: u64,
}

/// The kernel's objects and decisions.
pub struct System<M: Machine> {
    /// The hardware services.
    pub machine: M,
    pub(crate) processes: HandleTable<Process>,
    pub(crate) threads: HandleTable<Thread>,
    pub(crate) ready: ReadyQueues,
    pub(crate) current: Option<ThreadId>,
    pub(crate) asids: AsidAllocator,
    pub(crate) sleepers: Sleepers,
    image: BootImage<'static>,
    /// Timers processes created.
    pub(crate) timers: HandleTable<crate::events::UserTimer>,
    /// The armed ones, in the order they come due.
    pub(crate) armed_timers: crate::events::ArmedTimers,
    /// The clock tick before which ordinary programs' timers fire no more (the one after
    /// their last batch: one batch a tick, `events.rs`).
    pub(crate) next_timer_tick: u64,
    /// Interrupts routed to processes.
    pub(crate) attachments: HandleTable<crate::events::Attachment>,
    /// The route of each interrupt, by number (0: none), kept with `attachments` so that
    /// an interrupt finds its route without a search.
    pub(crate) route_of_irq: Vec<u32>,
    /// A thread the running thread's message pass made ready without queueing it, to be
    /// switched to directly if nothing outranks it ([`wake_for_handoff`](Self::wake_for_handoff)).
    pub(crate) handoff: Option<ThreadId>,
    /// Memory objects (shared memory, and what the process manager loads programs with).
    pub(crate) memory_objects: HandleTable<crate::memobject::MemoryObject>,
    /// Events clients registered for their servers to deliver.
    pub(crate) events: HandleTable<crate::ipc::Registration>,
    /// The thread whose FP/SIMD registers are live in the CPU (lazy switching; the
    /// arch layer reads and updates it).
    pub fp_owner: Option<ThreadId>,
    /// Callers' pulses (`MsgSendPulse`) queued on all channels (at most `ipc::MAX_QUEUED_PULSES`).
    pub(crate) queued_pulses: usize,
    /// The kernel's own pulses queued on every channel (events and notices).
    pub(crate) queued_kernel_pulses: usize,
    /// During a restarted call: how far it had got when an interrupt stopped it.
    pub(crate) resume: Option<Progress>,
    /// During a call: where an interrupt stopped it, if one did.
    pub(crate) stopped: Option<Progress>,
    /// Memory being given back a few pages at a time (`reclaim.rs`).
    pub(crate) reclaim: alloc::collections::VecDeque<crate::reclaim::Reclaim>,
}

/// What a call that makes the kernel keep more may need (at most; its own checks come
/// later), which `System::reclaim_for` makes room for first. (Every such call also
/// needs the kernel heap above its reserve: `Machine::kernel_memory_low`.)
pub(crate) struct Needs {
    /// Frames.
    pub frames: usize,
    /// An ASID.
    pub asid: bool,
    /// Room for a region or two in the space of this process (0: the caller's).
    pub regions_in: Option<u32>,
}

/// What call `call` may need: [`Needs`].
fn allocation(call: &Call) -> Option<Needs> {
    let pages = |bytes: usize, most: usize| bytes.min(most).div_ceil(PAGE_SIZE);
    let (frames, asid, regions_in) = match *call {
        Call::MemMapAnon { size } => (pages(size, MAX_ANON_MAP), false, Some(0)),
        Call::ThreadCreate { stack_size, .. } => {
            let stack = if stack_size == 0 { abi::DEFAULT_STACK_SIZE } else { stack_size };
            (pages(stack, abi::MAX_STACK_SIZE) + 1, false, Some(0))
        }
        Call::MemObjectCreate { size } | Call::MemObjectResize { size, .. } => {
            (pages(size, crate::memobject::MAX_OBJECT_SIZE), false, None)
        }
        // (The page tables of the mapping.)
        Call::MemObjectMap { size, pid, .. } => {
            (pages(size, crate::memobject::MAX_OBJECT_SIZE) / 512 + 4, false, Some(pid))
        }
        // (It may split two regions.)
        Call::MemProtect { .. } => (0, false, Some(0)),
        Call::ProcessCreate { .. } => (0, true, None),
        // (Kernel objects only: the kernel heap's reserve is checked.)
        Call::ProcessStart { .. }
        | Call::MemObjectDevice { .. }
        | Call::ChannelCreate { .. }
        | Call::ConnectAttach { .. }
        | Call::MsgRegisterEvent { .. }
        | Call::TimerCreate { .. }
        | Call::InterruptAttachEvent { .. } => (0, false, None),
        _ => return None,
    };
    Some(Needs { frames, asid, regions_in })
}

pub(crate) fn user_address(addr: usize) -> bool {
    addr != 0 && addr < abi::USER_SPACE_END
}

impl<M: Machine> System<M> {
    /// A system with no processes, starting programs from `image`.
    pub fn new(machine: M, image: BootImage<'static>) -> Self {
        Self {
            machine,
            processes: HandleTable::new(MAX_PROCESSES),
            threads: HandleTable::new(MAX_THREADS),
            ready: ReadyQueues::new(),
            current: None,
            asids: AsidAllocator::new(),
            sleepers: Sleepers::new(),
            image,
            handoff: None,
            events: HandleTable::new(crate::handle::MAX_SLOTS - 1),
            timers: HandleTable::new(crate::handle::MAX_SLOTS - 1),
            armed_timers: crate::events::ArmedTimers::default(),
            next_timer_tick: 0,
            attachments: HandleTable::new(256),
            route_of_irq: Vec::new(),
            memory_objects: HandleTable::new(crate::memobject::MAX_OBJECTS),
            fp_owner: None,
            queued_pulses: 0,
            queued_kernel_pulses: 0,
            resume: None,
            stopped: None,
            reclaim: alloc::collections::VecDeque::new(),
        }
    }

    /// The boot image.
    pub fn image(&self) -> &BootImage<'static> {
        &self.image
    }

    /// The thread on the CPU, if any (none: the CPU idles).
    pub fn current(&self) -> Option<ThreadId> {
        self.current
    }

    /// A thread's saved registers.
    pub fn context_mut(&mut self, thread: ThreadId) -> Option<&mut UserContext> {
        self.threads.get_mut(thread.0).map(|t| &mut *t.context)
    }

    /// The TTBR0 value of a thread's address space.
    pub fn ttbr0_of(&self, thread: ThreadId) -> Option<u64> {
        let t = self.threads.get(thread.0)?;
        Some(self.processes.get(t.process.0)?.space.as_ref()?.ttbr0())
    }

    /// A thread's process and tid.
    pub fn thread_ids(&self, thread: ThreadId) -> Option<(ProcessId, u32)> {
        self.threads.get(thread.0).map(|t| (t.process, t.tid))
    }

    /// Number of live processes (zombies included).
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }

    /// Number of thread objects (dead-but-unjoined included).
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    // ---- starting programs ----------------------------------------------------------

    /// Starts boot-image program `name` with `args` (each ended by NUL; argv[0] is added).
    pub fn spawn(
        &mut self,
        name: &str,
        args: &[u8],
        priority: Option<u8>,
        parent: Option<ProcessId>,
        privileged: bool,
    ) -> Result<ProcessId, Errno> {
        let program = self.image.find(name).ok_or(Errno::ENOENT)?;
        if args.len() > MAX_ARGS || (!args.is_empty() && args.last() != Some(&0)) {
            return Err(Errno::E2BIG);
        }
        let priority = priority.unwrap_or(program.priority).max(abi::sched::MIN_USER_PRIORITY);
        let policy = Policy::from_number(program.policy).unwrap_or(Policy::RoundRobin);
        if self.processes.len() >= MAX_PROCESSES {
            return Err(Errno::EAGAIN); // (before a space is made for nothing)
        }
        let asid = self.asids.alloc().ok_or(Errno::EAGAIN)?;
        let mut space = match AddressSpace::new(&mut self.machine, asid) {
            Ok(s) => s,
            Err(e) => {
                self.asids.free(asid);
                return Err(e);
            }
        };
        let mut block = Vec::with_capacity(name.len() + 1 + args.len());
        block.extend_from_slice(name.as_bytes());
        block.push(0);
        block.extend_from_slice(args);
        let loaded = self.load_image(&mut space, &program).and_then(|_| self.map_main_stack(&mut space, &block));
        let (sp, args_at) = match loaded {
            Ok(v) => v,
            Err(e) => {
                space.destroy(&mut self.machine);
                self.asids.free(asid);
                return Err(e);
            }
        };
        let argc = block.iter().filter(|b| **b == 0).count() as u64;
        let process = Process::new(String::from(name), parent, space, privileged);
        let Some(pid) = self.processes.insert(process).map(ProcessId) else {
            return Err(Errno::EAGAIN);
        };
        if let Some(p) = self.processes.get_mut(pid.0) {
            p.group = pid.0; // (what the kernel starts leads a group of its own)
        }
        let context = UserContext::new(program.entry, sp as u64, [argc, args_at as u64, block.len() as u64]);
        let stack =
            Some((abi::USER_STACK_TOP - abi::DEFAULT_STACK_SIZE - PAGE_SIZE, abi::DEFAULT_STACK_SIZE + PAGE_SIZE));
        if let Err(e) = self.add_thread(pid, context, SchedParam { policy, priority }, stack) {
            let p = self.processes.remove(pid.0).expect("just inserted");
            if let Some(space) = p.space {
                let asid = space.asid;
                space.destroy(&mut self.machine);
                self.asids.free(asid);
            }
            return Err(e);
        }
        if let Some(parent) = parent.and_then(|p| self.processes.get_mut(p.0)) {
            parent.children.push(pid);
        }
        Ok(pid)
    }

    fn load_image(&mut self, space: &mut AddressSpace, program: &Program<'_>) -> Result<(), Errno> {
        for segment in program.segments() {
            let start = segment.vaddr as usize & !(PAGE_SIZE - 1);
            let end = align_up(segment.vaddr as usize + segment.mem_size as usize, PAGE_SIZE).ok_or(Errno::ENOEXEC)?;
            if start < abi::USER_IMAGE_BASE || end > abi::USER_ANON_BASE {
                return Err(Errno::ENOEXEC);
            }
            let attrs = user_attrs(segment.flags & flags::WRITE != 0, segment.flags & flags::EXECUTE != 0);
            space.map_zeroed(&mut self.machine, start, end - start, attrs, RegionKind::Image).map_err(|e| {
                if e == Errno::ENOMEM {
                    e
                } else {
                    Errno::ENOEXEC
                }
            })?;
            space.load(&mut self.machine, segment.vaddr as usize, segment.data)?;
        }
        Ok(())
    }

    /// Maps the main stack with the argument block on top; returns (sp, block address).
    fn map_main_stack(&mut self, space: &mut AddressSpace, block: &[u8]) -> Result<(usize, usize), Errno> {
        let size = abi::DEFAULT_STACK_SIZE + PAGE_SIZE;
        let base = abi::USER_STACK_TOP - size;
        space.map_zeroed(&mut self.machine, base, size, user_attrs(true, false), RegionKind::Stack)?;
        let args_at = abi::USER_STACK_TOP - block.len();
        space.write(&mut self.machine, args_at, block)?;
        Ok((args_at & !15, args_at))
    }

    pub(crate) fn add_thread(
        &mut self,
        pid: ProcessId,
        mut context: alloc::boxed::Box<UserContext>,
        param: SchedParam,
        stack: Option<(usize, usize)>,
    ) -> Result<u32, Errno> {
        let process = self.processes.get_mut(pid.0).ok_or(Errno::ESRCH)?;
        context.ttbr0 = process.space.as_ref().ok_or(Errno::ESRCH)?.ttbr0();
        let slot = match process.threads.iter().position(Option::is_none) {
            Some(i) => i,
            None if process.threads.len() < MAX_THREADS_PER_PROCESS => {
                process.threads.push(None);
                process.threads.len() - 1
            }
            None => return Err(Errno::EAGAIN),
        };
        let tid = slot as u32 + 1;
        let thread = Thread {
            process: pid,
            tid,
            state: ThreadState::Ready,
            base_priority: param.priority,
            priority: param.priority,
            policy: param.policy,
            timeslice_left: TIMESLICE_TICKS,
            context,
            stack,
            exit_status: 0,
            joiner: None,
            inherited_priority: param.priority,
            working_on: 0,
            sent: None,
            receiving: None,
            message_sequence: 0,
            fp_eager_switches: 0,
            detached: false,
            unblock_reason: None,
            timeout: None,
            reply_bound: None,
            restart: None,
        };
        let id = ThreadId(self.threads.insert(thread).ok_or(Errno::EAGAIN)?);
        self.processes.get_mut(pid.0).expect("checked").threads[slot] = Some(id);
        self.ready.push_back(id.index(), param.priority);
        Ok(tid)
    }

    // ---- scheduling -----------------------------------------------------------------

    pub(crate) fn make_ready(&mut self, id: ThreadId) {
        if let Some(t) = self.threads.get_mut(id.0) {
            t.state = ThreadState::Ready;
            t.timeslice_left = TIMESLICE_TICKS;
            self.ready.push_back(id.index(), t.priority);
        }
    }

    pub(crate) fn wake(&mut self, id: ThreadId, x0: u64, x1: Option<u64>) {
        if let Some(t) = self.threads.get_mut(id.0) {
            t.reply_bound = None; // its call is over
            t.context.x[0] = x0;
            if let Some(v) = x1 {
                t.context.x[1] = v;
            }
        }
        self.sleepers.remove_thread(id);
        self.make_ready(id);
    }

    /// Like [`wake`](Self::wake), for the partner of a message pass (the receiver of a
    /// send, the sender of a reply): if it is the first such thread this call, it is kept
    /// out of the ready queue, and [`schedule`](Self::schedule) switches straight to it
    /// when the caller blocks and no ready thread is of equal or higher priority — the
    /// message-passing fast path. Otherwise it is queued as any woken thread.
    pub(crate) fn wake_for_handoff(&mut self, id: ThreadId, x0: u64) {
        if self.handoff.is_some() {
            return self.wake(id, x0, None);
        }
        self.sleepers.remove_thread(id); // a bounded wait is over
        if let Some(t) = self.threads.get_mut(id.0) {
            t.context.x[0] = x0;
            t.state = ThreadState::Ready;
            t.timeslice_left = TIMESLICE_TICKS;
            self.handoff = Some(id);
        }
    }

    pub(crate) fn block_current(&mut self, why: Blocked) {
        if let Some(t) = self.current.and_then(|c| self.threads.get_mut(c.0)) {
            t.state = ThreadState::Blocked(why);
        }
    }

    /// Makes [`current`](Self::current) the thread that should run: keeps the running
    /// thread unless a higher priority is ready (then it is preempted to the head of its
    /// queue), otherwise takes the first of the highest ready priority.
    pub fn schedule(&mut self) {
        if let Some(partner) = self.handoff.take() {
            let ready = self.threads.get(partner.0).filter(|t| t.state == ThreadState::Ready).map(|t| t.priority);
            if let Some(priority) = ready {
                self.ready.remove(partner.index());
                let caller_runs =
                    self.current.and_then(|c| self.threads.get(c.0)).is_some_and(|t| t.state == ThreadState::Running);
                if !caller_runs && self.ready.highest_priority().is_none_or(|p| p < priority) {
                    self.threads.get_mut(partner.0).expect("checked").state = ThreadState::Running;
                    self.current = Some(partner);
                    return;
                }
                self.ready.push_back(partner.index(), priority);
            }
        }
        if let Some(cur) = self.current {
            match self.threads.get_mut(cur.0) {
                Some(t) if t.state == ThreadState::Running => match self.ready.highest_priority() {
                    Some(p) if p > t.priority => {
                        t.state = ThreadState::Ready;
                        self.ready.push_front(cur.index(), t.priority);
                    }
                    _ => return,
                },
                _ => {}
            }
        }
        self.current = None;
        while let Some((index, _)) = self.ready.pop() {
            let Some((handle, t)) = self.threads.at_mut(index) else {
                continue;
            };
            t.state = ThreadState::Running;
            self.current = Some(ThreadId(handle));
            return;
        }
    }

    /// Wakes sleepers due at `now_ns`; charges the running round-robin thread `ticks`
    /// scheduler ticks (those elapsed since the last call) and rotates it when its
    /// timeslice is used up. Then schedules.
    pub fn timer(&mut self, now_ns: u64, ticks: u64) {
        let due: Vec<(ThreadId, Wake)> = self.sleepers.due(now_ns).map(|(_, t, why)| (t, why)).collect();
        for (id, why) in due {
            match why {
                Wake::Sleep => self.wake(id, 0, None),
                Wake::Timeout(states) => {
                    self.sleepers.remove_thread(id);
                    if states & self.timeout_state(id) != 0 {
                        self.time_out(id);
                    }
                }
            }
        }
        self.fire_user_timers(now_ns);
        if ticks > 0 {
            if let Some(cur) = self.current {
                if let Some(t) = self.threads.get_mut(cur.0) {
                    if t.state == ThreadState::Running && t.policy == Policy::RoundRobin {
                        // Charged by time, not by interrupts: a late interrupt covers several.
                        t.timeslice_left = t.timeslice_left.saturating_sub(ticks.min(u32::MAX as u64) as u32);
                        if t.timeslice_left == 0 {
                            t.timeslice_left = TIMESLICE_TICKS;
                            if self.ready.highest_priority().is_some_and(|p| p >= t.priority) {
                                t.state = ThreadState::Ready;
                                self.ready.push_back(cur.index(), t.priority);
                            }
                        }
                    }
                }
            }
        }
        self.schedule();
    }

    /// The earliest time a sleeper must be woken.
    pub fn next_wakeup(&self) -> Option<u64> {
        let sleeper = self.sleepers.earliest();
        match (sleeper, self.next_user_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest wake-up if it may have changed since the last call (`None`: it did
    /// not, so whatever was armed then still stands). The return to user space asks
    /// this instead of [`next_wakeup`](Self::next_wakeup), which scans every sleeper
    /// and user timer.
    pub fn next_wakeup_if_changed(&mut self) -> Option<Option<u64>> {
        self.sleepers.take_changed().then(|| self.next_wakeup())
    }

    /// True when some thread is ready or running.
    pub fn has_work(&self) -> bool {
        self.current.is_some() || self.ready.highest_priority().is_some()
    }

    // ---- system calls ---------------------------------------------------------------

    /// Performs the current thread's system call `regs` (what it had in x0-x8 at the
    /// `svc`: the exception entry passes them on rather than saving them, a call not
    /// preserving x1-x17), writes its result into the thread's registers (unless it
    /// blocked or ended), and schedules.
    pub fn syscall(&mut self, regs: &Registers) {
        if self.fast_syscall(regs) == crate::fastpath::Fast::NotTaken {
            self.general_syscall(regs);
        }
    }

    /// [`syscall`](Self::syscall) without the fast paths (`fastpath.rs`), which do what
    /// this does for the calls they cover.
    #[inline(never)]
    pub fn general_syscall(&mut self, regs: &Registers) {
        if self.fast_reply_then_receive_queued_call(regs) {
            return;
        }
        let Some(cur) = self.current else { return };
        if self.threads.get(cur.0).is_none() {
            return;
        }
        // A call made again after an interrupt stopped it (`restart_call`) goes on from
        // where it stopped: its registers and progress are in the thread's record.
        let restart = self.threads.get_mut(cur.0).and_then(|t| t.restart.take()).map(|r| *r);
        let (regs, progress) = match restart {
            Some((call, progress)) if regs.number == RESTARTED_CALL && regs.args == call.args => (call, Some(progress)),
            Some((_, abandoned)) => {
                // (Another call comes first: only a thread with no user code of its own
                // between — the host tests' random callers — does that.)
                self.abandon_restart(cur, abandoned);
                (*regs, None)
            }
            None => (*regs, None),
        };
        let regs = &regs;
        self.resume = progress;
        self.stopped = None;
        let call = Call::from_registers(regs);
        let outcome = match &call {
            Ok(call) => self.dispatch(cur, call),
            Err(e) => Err(*e),
        };
        // (A TimerTimeout that failed is a call like any: it uses up the bound armed.)
        let arming = matches!(call, Ok(Call::TimerTimeout { .. })) && outcome.is_ok();
        // Progress the call made again did not take up (it failed before: a memory
        // object's handle closed by another thread meanwhile, say) is abandoned. (For a
        // message this thread was to finish receiving this is defensive: `msg_receive`
        // takes it first thing, and the reply half of a `MsgReplyReceivev` made again
        // names a message already answered; no known path leaves it here.)
        if let Some(progress) = self.resume.take() {
            self.abandon_restart(cur, progress);
        }
        let written = match outcome {
            Ok(Outcome::Value(x0, x1)) => Some((x0, x1)),
            Ok(Outcome::Blocked | Outcome::Gone) => None,
            Ok(Outcome::Restart) => {
                self.restart_call(cur, regs);
                self.schedule();
                return;
            }
            Err(e) => Some((encode_result(Err(e)), None)),
        };
        if !arming {
            self.apply_timeout(cur);
        }
        if let Some((x0, x1)) = written {
            if let Some(t) = self.threads.get_mut(cur.0) {
                t.context.x[0] = x0;
                if let Some(v) = x1 {
                    t.context.x[1] = v;
                }
            }
        }
        self.schedule();
    }

    /// Sets up call `regs` of `cur`, which a pending interrupt stopped in a long copy or
    /// mapping (`Outcome::Restart`), to be made again when `cur` next runs: its PC back
    /// on the `svc`, its arguments as they were, `x8` [`RESTARTED_CALL`] (so that no fast
    /// path takes the call), and the call and its progress kept for it. (Its
    /// `TimerTimeout`, if armed, stays armed for it.)
    fn restart_call(&mut self, cur: ThreadId, regs: &Registers) {
        let progress = self.stopped.take();
        debug_assert!(progress.is_some(), "a restart without a stopped copy");
        if let Some(progress) = progress {
            self.set_restart(cur, regs, progress);
        }
    }

    /// Sets `thread` (out of the kernel, in a system call) to make call `regs` again
    /// when it next runs, going on from `progress`: its PC back on the `svc`, `x0`–`x7`
    /// the call's arguments, `x8` [`RESTARTED_CALL`].
    pub(crate) fn set_restart(&mut self, thread: ThreadId, regs: &Registers, progress: Progress) {
        let Some(t) = self.threads.get_mut(thread.0) else { return };
        t.context.x[..8].copy_from_slice(&regs.args);
        t.context.x[8] = RESTARTED_CALL;
        t.context.pc = t.context.pc.wrapping_sub(SVC_SIZE);
        t.restart = Some(Box::new((*regs, progress)));
    }

    /// Undoes what a call of `thread`, which an interrupt stopped at `progress`, left for
    /// a restart that will not come (the thread ends, or makes another call): the region
    /// a `MemMapAnon` or a thread stack was filling goes, and so does the rest of one
    /// `MemUnmap` was unmapping (both in steps); the frames a memory object was growing by
    /// go back; the sender of a message it had received but not finished copying, which
    /// nobody else can answer, fails with `ESRCH` (as if the server had gone); a stopped
    /// reply, read or write leaves nothing behind, nor does a stopped reclaim.
    fn abandon_restart(&mut self, thread: ThreadId, progress: Progress) {
        if let Progress::Receive(p) = progress {
            let Some(pid) = self.threads.get(thread.0).map(|t| t.process) else { return };
            let waits = self.threads.get(p.partner.0).is_some_and(|t| {
                matches!(t.state, ThreadState::Blocked(Blocked::Reply { server, .. }) if server == pid)
                    && t.message_sequence == p.token
            });
            if waits {
                self.fail_sender(p.partner, Errno::ESRCH);
            }
            return;
        }
        let Some(own) = self.threads.get(thread.0).map(|t| t.process) else { return };
        let filling = |kind| matches!(kind, RegionKind::Filling { .. });
        match progress {
            Progress::Mapping { pid, start, .. } => {
                let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref());
                let region = space.and_then(|s| s.region_at(start)).filter(|r| filling(r.kind));
                if let Some(size) = region.map(|r| r.end - r.start) {
                    let _ = self.release_later(pid, start, size, filling);
                }
            }
            Progress::Unmapping { start } => self.reclaim_region(own, start),
            Progress::Growing { object } => self.abandon_growth(object),
            _ => {}
        }
    }

    /// `MemUnmap(addr, size)` for `pid`: the mapping (anonymous or of a memory object)
    /// is on its way out at once ([`RegionKind::Releasing`]) and unmapped a few pages at
    /// a time: when an interrupt is pending the call stops and is made again, going on
    /// where it stopped ([`Progress::Unmapping`]).
    fn unmap(&mut self, pid: ProcessId, addr: usize, size: usize) -> Result<Outcome, Errno> {
        let machine = &mut self.machine;
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut()).ok_or(Errno::ESRCH)?;
        let start = match self.resume.take() {
            Some(Progress::Unmapping { start }) => start,
            _ => space.begin_release(addr, size, RegionKind::unmappable)?,
        };
        loop {
            match space.release_step(machine, start, crate::reclaim::RECLAIM_STEP)? {
                ReleaseStep::Done { object } => {
                    if let Some(object) = object {
                        self.drop_object_ref(object, true);
                    }
                    return Ok(Outcome::Value(0, None));
                }
                ReleaseStep::More if machine.interrupt_pending() => {
                    self.stopped = Some(Progress::Unmapping { start });
                    return Ok(Outcome::Restart);
                }
                ReleaseStep::More => {}
            }
        }
    }

    /// `MemMapAnon` of `size` bytes for `pid`: a range taken at once, filled with zeroed
    /// frames a few pages at a time (a gigabyte takes milliseconds): when an interrupt is
    /// pending the call stops and is made again, going on with the same region
    /// ([`Progress::Mapping`]).
    fn map_anonymous(&mut self, pid: ProcessId, size: usize) -> Result<Outcome, Errno> {
        if size == 0 || size > MAX_ANON_MAP {
            return Err(Errno::EINVAL);
        }
        let size = align_up(size, PAGE_SIZE).ok_or(Errno::EINVAL)?;
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut()).ok_or(Errno::ESRCH)?;
        // (The region is the call's own: nothing but the thread's death removes a
        // filling region, and the restart is the thread's next call.)
        let (start, from) = match self.resume.take() {
            Some(Progress::Mapping { start, filled, .. }) => (start, filled),
            _ => {
                let at =
                    space.find_free_bottom_up(abi::USER_ANON_BASE, abi::USER_ANON_END, size).ok_or(Errno::ENOMEM)?;
                space.reserve(at, size, user_attrs(true, false), None)?;
                (at, at)
            }
        };
        match self.fill_in_steps(pid, start, from, RegionKind::Anonymous, None)? {
            Some(stopped) => Ok(stopped),
            None => Ok(Outcome::Value(start as u64, None)),
        }
    }

    /// Fills the filling region of `pid` at `start` from page `from`
    /// ([`AddressSpace::fill`]) with fresh zeroed frames or, given `object` `(id,
    /// first)`, with the pages of memory object `id` from its page `first` on, to become
    /// a region of kind `full`: `None` once it is full; `Some(Outcome::Restart)` when a
    /// pending interrupt stopped it ([`Progress::Mapping`]); `ENOMEM`, the region to go
    /// in steps.
    pub(crate) fn fill_in_steps(
        &mut self,
        pid: ProcessId,
        start: usize,
        from: usize,
        full: RegionKind,
        object: Option<(u32, usize)>,
    ) -> Result<Option<Outcome>, Errno> {
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut()).ok_or(Errno::ESRCH)?;
        let frames = match object {
            Some((id, first)) => {
                Some(self.memory_objects.get(id).and_then(|o| o.frames_from(first)).ok_or(Errno::EBADF)?)
            }
            None => None,
        };
        match space.fill(&mut self.machine, start, from, full, frames) {
            Err(Errno::ENOMEM) => {
                self.reclaim_region(pid, start);
                Err(Errno::ENOMEM)
            }
            Err(e) => Err(e),
            Ok(None) => Ok(None),
            Ok(Some(filled)) => {
                self.stopped = Some(Progress::Mapping { pid, start, filled });
                Ok(Some(Outcome::Restart))
            }
        }
    }

    fn dispatch(&mut self, cur: ThreadId, call: &Call) -> Result<Outcome, Errno> {
        let (pid, tid) = self.thread_ids(cur).ok_or(Errno::ESRCH)?;
        // A call that allocates memory first takes back what ended processes left, if it
        // needs it; stopped there, it is made again from where it was (a mapping it was
        // filling, say), or from the start.
        if let Some(mut needs) = allocation(call) {
            needs.regions_in = needs.regions_in.map(|p| if p == 0 { pid.0 } else { p });
            if self.reclaim_for(&needs) {
                self.stopped = Some(self.resume.take().unwrap_or(Progress::Reclaim));
                return Ok(Outcome::Restart);
            }
            // (A call going on from where it stopped has what it keeps already.)
            if self.machine.kernel_memory_low() && matches!(self.resume, None | Some(Progress::Reclaim)) {
                return Err(Errno::ENOMEM);
            }
        }
        let value = |v: u64| Ok(Outcome::Value(v, None));
        match *call {
            Call::Nop => value(0),
            Call::DebugWrite { ptr, len } => {
                if len > MAX_DEBUG_WRITE {
                    return Err(Errno::EINVAL);
                }
                let mut buf = alloc::vec![0u8; len];
                self.read_user(pid, ptr, &mut buf)?;
                self.machine.console_write(&buf);
                value(len as u64)
            }
            Call::ThreadCreate { entry, arg, stack_size, sched } => {
                self.thread_create(pid, cur, entry, arg, stack_size, sched)
            }
            Call::ThreadDestroy { tid: target, status } => {
                if target == 0 || target == tid {
                    self.end_thread(cur, status);
                    return Ok(Outcome::Gone);
                }
                let other = self.thread_of(pid, target).ok_or(Errno::ESRCH)?;
                if self.threads.get(other.0).is_some_and(|t| t.state == ThreadState::Dead) {
                    return Err(Errno::ESRCH);
                }
                self.end_thread(other, status);
                value(0)
            }
            Call::ThreadJoin { tid: target } => {
                if target == tid {
                    return Err(Errno::EDEADLK);
                }
                let other = self.thread_of(pid, target).ok_or(Errno::ESRCH)?;
                let t = self.threads.get_mut(other.0).ok_or(Errno::ESRCH)?;
                if t.detached {
                    return Err(Errno::EINVAL);
                }
                if t.state == ThreadState::Dead {
                    // (The status in x1: any u64, which x0 could not tell from an errno.)
                    let status = t.exit_status;
                    self.free_thread(other);
                    return Ok(Outcome::Value(0, Some(status)));
                }
                if t.joiner.is_some() {
                    return Err(Errno::EBUSY);
                }
                t.joiner = Some(cur);
                self.block_current(Blocked::Join { target: other, tid: target });
                Ok(Outcome::Blocked)
            }
            Call::ThreadDetach { tid: target } => {
                let other = match target {
                    0 => cur,
                    _ => self.thread_of(pid, target).ok_or(Errno::ESRCH)?,
                };
                let t = self.threads.get_mut(other.0).ok_or(Errno::ESRCH)?;
                // (Already detached, or a thread waits to join it: POSIX's "not joinable".)
                if t.detached || t.joiner.is_some() {
                    return Err(Errno::EINVAL);
                }
                if t.state == ThreadState::Dead {
                    self.free_thread(other);
                } else {
                    t.detached = true;
                }
                value(0)
            }
            Call::SchedGet { pid: p, tid: t } => {
                let id = self.resolve_thread(pid, tid, p, t)?;
                let t = self.threads.get(id.0).ok_or(Errno::ESRCH)?;
                // x1: the priority it runs at now, inherited or not (QNX's sched_curpriority).
                let base = SchedParam { policy: t.policy, priority: t.base_priority }.encode();
                Ok(Outcome::Value(base, Some(t.priority as u64)))
            }
            Call::SchedSet { pid: p, tid: t, sched } => {
                let id = self.resolve_thread(pid, tid, p, t)?;
                let param = SchedParam::decode(sched)?;
                // Its own threads, its children's, or (privileged) anyone's.
                let target = self.threads.get(id.0).map(|t| t.process).ok_or(Errno::ESRCH)?;
                let target_parent = self.processes.get(target.0).and_then(|p| p.parent);
                let caller = self.processes.get(pid.0).ok_or(Errno::ESRCH)?;
                if target != pid && target_parent != Some(pid) && !caller.privileged {
                    return Err(Errno::EPERM);
                }
                caller.may_ask_priority(param.priority)?;
                self.set_sched(id, param);
                value(0)
            }
            Call::SchedYield => {
                if let Some(t) = self.threads.get_mut(cur.0) {
                    t.state = ThreadState::Ready;
                    self.ready.push_back(cur.index(), t.priority);
                }
                value(0)
            }
            Call::ProcessExit { status } => {
                self.terminate_process(pid, wait_status::exited(status as u32));
                Ok(Outcome::Gone)
            }
            Call::ProcessCreate { .. }
            | Call::ProcessStart { .. }
            | Call::ProcessKill { .. }
            | Call::ProcessChildEvent { .. } => self.procmgr_call(cur, pid, call),
            Call::MemObjectCreate { .. }
            | Call::MemObjectResize { .. }
            | Call::MemObjectMap { .. }
            | Call::MemObjectClose { .. }
            | Call::MemProtect { .. }
            | Call::MemObjectDevice { .. } => self.memory_call(pid, call),
            Call::ProcessWait { pid: target } => self.wait_child(pid, target),
            Call::MemMapAnon { size } => self.map_anonymous(pid, size),
            Call::MemUnmap { addr, size } => self.unmap(pid, addr, size),
            Call::ClockTime => value(self.machine.now_ns()),
            Call::Sleep { nanoseconds } => {
                if nanoseconds == 0 {
                    return value(0);
                }
                let until = self.machine.now_ns().saturating_add(nanoseconds);
                self.block_current(Blocked::Sleep { until });
                self.sleepers.push(until, cur, Wake::Sleep);
                Ok(Outcome::Blocked)
            }
            Call::ThreadList { ptr, len } => {
                let records = self.thread_list();
                let fit = (len / ThreadInfo::SIZE).min(records.len());
                let mut bytes = Vec::with_capacity(fit * ThreadInfo::SIZE);
                for r in &records[..fit] {
                    bytes.extend_from_slice(&r.to_bytes());
                }
                self.write_user(pid, ptr, &bytes)?;
                value(records.len() as u64)
            }
            Call::GetIds => value(pid.0 as u64 | (tid as u64) << 32),
            Call::Shutdown { code } => {
                if !self.processes.get(pid.0).is_some_and(|p| p.privileged) {
                    return Err(Errno::EPERM);
                }
                self.machine.shutdown(code);
                value(0)
            }
            Call::TimerTimeout { states, nanoseconds } => {
                if states & !abi::syscall::timeout_states::ALL != 0 {
                    return Err(Errno::EINVAL);
                }
                if let Some(t) = self.threads.get_mut(cur.0) {
                    t.timeout = (states != 0).then_some((states, nanoseconds));
                }
                value(0)
            }
            _ => self.ipc_call(cur, pid, call),
        }
    }

    pub(crate) fn read_user(&mut self, pid: ProcessId, va: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref()).ok_or(Errno::ESRCH)?;
        space.read(&mut self.machine, va, buf)
    }

    pub(crate) fn write_user(&mut self, pid: ProcessId, va: usize, bytes: &[u8]) -> Result<(), Errno> {
        let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref()).ok_or(Errno::ESRCH)?;
        space.write(&mut self.machine, va, bytes)
    }

    pub(crate) fn thread_of(&self, pid: ProcessId, tid: u32) -> Option<ThreadId> {
        let index = (tid as usize).checked_sub(1)?;
        *self.processes.get(pid.0)?.threads.get(index)?
    }

    /// The thread (`pid`, `tid`) names from the caller's point of view (0 = the caller's).
    fn resolve_thread(&self, caller_pid: ProcessId, caller_tid: u32, pid: u32, tid: u32) -> Result<ThreadId, Errno> {
        let pid = if pid == 0 { caller_pid } else { ProcessId(pid) };
        let tid = if tid == 0 {
            if pid == caller_pid {
                caller_tid
            } else {
                1
            }
        } else {
            tid
        };
        let id = self.thread_of(pid, tid).ok_or(Errno::ESRCH)?;
        match self.threads.get(id.0) {
            Some(t) if t.state != ThreadState::Dead => Ok(id),
            _ => Err(Errno::ESRCH),
        }
    }

    /// `SchedSet`'s change. As in QNX, a thread's own change sets its real and its
    /// running priority together: the new priority replaces that of a message it is
    /// working on (a server goes back to its own priority after serving a client this
    /// way), but not a boost from senders still waiting on a channel it serves (their
    /// reason is still there: seed 001's T1/T2/T3 inversion). `refresh_priority`
    /// recomputes the running priority from those, as after any change, and moves a
    /// SEND-blocked thread to its new place in its server's queue, boosting that
    /// server in turn (a review found SchedSet leaving all three as they were).
    fn set_sched(&mut self, id: ThreadId, param: SchedParam) {
        let Some(t) = self.threads.get_mut(id.0) else {
            return;
        };
        t.policy = param.policy;
        t.base_priority = param.priority;
        t.inherited_priority = param.priority;
        let before = t.priority;
        self.refresh_priority(id, 0);
        // A ready thread goes to the tail of its priority, even an unchanged one.
        if let Some(t) = self.threads.get(id.0).filter(|t| t.state == ThreadState::Ready && t.priority == before) {
            self.ready.push_back(id.index(), t.priority);
        }
    }

    fn thread_create(
        &mut self,
        pid: ProcessId,
        creator: ThreadId,
        entry: usize,
        arg: usize,
        stack_size: usize,
        sched: u64,
    ) -> Result<Outcome, Errno> {
        if !user_address(entry) {
            return Err(Errno::EFAULT);
        }
        let param = if sched == 0 {
            let t = self.threads.get(creator.0).ok_or(Errno::ESRCH)?;
            SchedParam { policy: t.policy, priority: t.base_priority }
        } else {
            let param = SchedParam::decode(sched)?;
            self.processes.get(pid.0).ok_or(Errno::ESRCH)?.may_ask_priority(param.priority)?;
            param
        };
        let size = if stack_size == 0 { abi::DEFAULT_STACK_SIZE } else { stack_size };
        if size > abi::MAX_STACK_SIZE {
            return Err(Errno::EINVAL);
        }
        let size = align_up(size, PAGE_SIZE).ok_or(Errno::EINVAL)? + PAGE_SIZE;
        if self
            .processes
            .get(pid.0)
            .is_some_and(|p| p.threads.iter().all(Option::is_some) && p.threads.len() >= MAX_THREADS_PER_PROCESS)
        {
            return Err(Errno::EAGAIN);
        }
        // The stack (up to 64 MiB) is filled a few pages at a time, as `MemMapAnon` fills
        // its mapping; its lowest page stays unmapped, its guard.
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut()).ok_or(Errno::ESRCH)?;
        let (base, from) = match self.resume.take() {
            Some(Progress::Mapping { start, filled, .. }) => (start, filled),
            _ => {
                let low = abi::USER_STACK_TOP - (1usize << 36);
                let base = space.find_free_top_down(low, abi::USER_STACK_TOP, size).ok_or(Errno::ENOMEM)?;
                space.reserve(base, size, user_attrs(true, false), None)?;
                (base, base + PAGE_SIZE)
            }
        };
        if let Some(stopped) = self.fill_in_steps(pid, base, from, RegionKind::Stack, None)? {
            return Ok(stopped);
        }
        let context = UserContext::new(entry as u64, (base + size) as u64, [arg as u64, 0, 0]);
        match self.add_thread(pid, context, param, Some((base, size))) {
            Ok(tid) => Ok(Outcome::Value(tid as u64, None)),
            Err(e) => {
                let _ = self.release_later(pid, base, size, |kind| kind == RegionKind::Stack);
                Err(e)
            }
        }
    }

    // ---- timeouts ---------------------------------------------------------------------

    /// After a call: if `TimerTimeout` armed a bound for the state the caller blocked in,
    /// start its timer. Either way the bound is used up.
    fn apply_timeout(&mut self, id: ThreadId) {
        use abi::syscall::timeout_states as ts;
        let bit = self.timeout_state(id);
        let Some(t) = self.threads.get_mut(id.0) else { return };
        let Some((states, ns)) = t.timeout.take() else { return };
        if states & bit != 0 {
            let at = self.machine.now_ns().saturating_add(ns);
            self.sleepers.push(at, id, Wake::Timeout(states));
        } else if bit == ts::SEND && states & ts::REPLY != 0 {
            t.reply_bound = Some((states, ns)); // started when the message is received
        }
    }

    /// Thread `id`'s message was received, so it is REPLY-blocked: the bound on REPLY its
    /// call has waited with since it queued starts now.
    pub(crate) fn start_reply_bound(&mut self, id: ThreadId) {
        let Some((states, ns)) = self.threads.get_mut(id.0).and_then(|t| t.reply_bound.take()) else { return };
        let at = self.machine.now_ns().saturating_add(ns);
        self.sleepers.push(at, id, Wake::Timeout(states));
    }

    /// The `timeout_states` bit of the state thread `id` is blocked in (0: none a
    /// `TimerTimeout` can bound).
    fn timeout_state(&self, id: ThreadId) -> u32 {
        use abi::syscall::timeout_states as ts;
        match self.threads.get(id.0).map(|t| t.state) {
            Some(ThreadState::Blocked(Blocked::Send { .. })) => ts::SEND,
            Some(ThreadState::Blocked(Blocked::Reply { .. })) => ts::REPLY,
            Some(ThreadState::Blocked(Blocked::Receive { .. })) => ts::RECEIVE,
            Some(ThreadState::Blocked(Blocked::Join { .. })) => ts::JOIN,
            Some(ThreadState::Blocked(Blocked::WaitChild(_))) => ts::WAITCHILD,
            _ => 0,
        }
    }

    /// A bounded blocking call ran out of time: it fails with ETIMEDOUT.
    pub(crate) fn time_out(&mut self, id: ThreadId) {
        self.interrupt_blocking_call(id, Errno::ETIMEDOUT);
    }

    /// Ends `id`'s blocking call with `error` (a timeout, an unblock event), undoing its
    /// wait — except a REPLY-blocked client of an `_NTO_CHF_UNBLOCK` channel, whose server
    /// gets an unblock pulse and decides.
    pub(crate) fn interrupt_blocking_call(&mut self, id: ThreadId, error: Errno) {
        let Some(t) = self.threads.get(id.0) else { return };
        let timed_out = abi::syscall::encode_result(Err(error));
        match t.state {
            ThreadState::Blocked(Blocked::Reply { server, channel }) => {
                if self.ipc_request_unblock(id, server, channel) {
                    if let Some(t) = self.threads.get_mut(id.0) {
                        t.unblock_reason = Some((t.message_sequence, error));
                    }
                    return;
                }
                self.release_worker(id, server, channel);
                if let Some(t) = self.threads.get_mut(id.0) {
                    t.sent = None;
                }
                self.wake(id, timed_out, None);
            }
            ThreadState::Blocked(Blocked::Send { .. }) | ThreadState::Blocked(Blocked::Receive { .. }) => {
                self.ipc_stop_waiting(id);
                if let Some(t) = self.threads.get_mut(id.0) {
                    t.sent = None;
                    t.receiving = None;
                }
                self.wake(id, timed_out, None);
            }
            ThreadState::Blocked(Blocked::Join { target, .. }) => {
                if let Some(target) = self.threads.get_mut(target.0) {
                    target.joiner = None;
                }
                self.wake(id, timed_out, None);
            }
            ThreadState::Blocked(Blocked::WaitChild(_)) => self.wake(id, timed_out, None),
            _ => {}
        }
    }

    // ---- ending threads and processes -----------------------------------------------

    fn live_threads(&self, pid: ProcessId) -> usize {
        let Some(p) = self.processes.get(pid.0) else {
            return 0;
        };
        p.threads
            .iter()
            .flatten()
            .filter(|id| self.threads.get(id.0).is_some_and(|t| t.state != ThreadState::Dead))
            .count()
    }

    /// Takes a thread off every queue it may be on (and off the thread it was joining:
    /// that one's end must not wake it).
    fn detach_thread(&mut self, id: ThreadId) {
        if let Some(ThreadState::Blocked(Blocked::Join { target, .. })) = self.threads.get(id.0).map(|t| t.state) {
            if let Some(target) = self.threads.get_mut(target.0).filter(|t| t.joiner == Some(id)) {
                target.joiner = None;
            }
        }
        self.ipc_forget_thread(id);
        self.ready.remove(id.index());
        self.sleepers.remove_thread(id);
        if self.current == Some(id) {
            self.current = None;
        }
        if self.fp_owner == Some(id) {
            self.fp_owner = None;
        }
    }

    /// Ends thread `id` with `status`: the whole process if it was the last one.
    fn end_thread(&mut self, id: ThreadId, status: u64) {
        let Some(pid) = self.threads.get(id.0).map(|t| t.process) else {
            return;
        };
        let live = self.live_threads(pid);
        if live <= 1 {
            self.terminate_process(pid, wait_status::exited(status as u32));
            return;
        }
        // A thread that dies waiting for a reply: its server, if it asked for unblock
        // pulses, learns of it (it may be holding the request, with data for it), and the
        // message is forgotten, so that the server's end cannot wake the dead thread
        // (both found by an audit).
        if let Some(ThreadState::Blocked(Blocked::Reply { server, channel })) = self.threads.get(id.0).map(|t| t.state)
        {
            self.ipc_request_unblock(id, server, channel);
        }
        self.detach_thread(id);
        let Some(t) = self.threads.get_mut(id.0) else {
            return;
        };
        t.sent = None;
        t.receiving = None;
        t.state = ThreadState::Dead;
        t.exit_status = status;
        let tid = t.tid;
        let stack = t.stack.take();
        let joiner = t.joiner.take();
        let detached = t.detached;
        let restart = t.restart.take();
        if let Some((base, size)) = stack {
            let _ = self.release_later(pid, base, size, |kind| kind == RegionKind::Stack);
        }
        if let Some(restart) = restart {
            self.abandon_restart(id, restart.1);
        }
        if let Some(j) = joiner {
            self.free_thread(id);
            self.wake(j, 0, Some(status));
        } else if detached {
            self.free_thread(id);
        }
        self.notify_thread_death(pid, tid);
    }

    /// Removes a dead (or dying) thread's object and frees its tid.
    fn free_thread(&mut self, id: ThreadId) {
        self.detach_thread(id);
        if let Some(t) = self.threads.remove(id.0) {
            if let Some(p) = self.processes.get_mut(t.process.0) {
                if let Some(slot) = p.threads.get_mut(t.tid as usize - 1) {
                    *slot = None;
                }
            }
        }
    }

    /// Ends process `pid`: its threads, memory and ASID go; its parent learns `status`.
    pub fn terminate_process(&mut self, pid: ProcessId, status: u64) {
        let Some(p) = self.processes.get_mut(pid.0) else {
            return;
        };
        if p.exit_status.is_some() {
            return;
        }
        p.exit_status = Some(status);
        let threads: Vec<ThreadId> = p.threads.iter().flatten().copied().collect();
        let children = core::mem::take(&mut p.children);
        let parent = p.parent;
        for id in &threads {
            // As when one thread ends: a server holding its request learns of it (a
            // process's end is no less of an unblock than a thread's).
            if let Some(ThreadState::Blocked(Blocked::Reply { server, channel })) =
                self.threads.get(id.0).map(|t| t.state)
            {
                self.ipc_request_unblock(*id, server, channel);
            }
            self.detach_thread(*id);
        }
        // Calls its threads had stopped will not be made again: what they leave outside
        // the process (a memory object being made or grown, a mapping into another
        // process, a message being received) is undone.
        for id in &threads {
            if let Some(restart) = self.threads.get_mut(id.0).and_then(|t| t.restart.take()) {
                self.abandon_restart(*id, restart.1);
            }
        }
        self.ipc_forget_process(pid);
        self.events_forget_process(pid);
        self.memory_forget_process(pid);
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.take());
        for id in threads {
            self.free_thread(id);
        }
        for child in children {
            let zombie = match self.processes.get_mut(child.0) {
                Some(c) => {
                    c.parent = None;
                    c.exit_status.is_some()
                }
                None => false,
            };
            if zombie {
                self.processes.remove(child.0);
            }
        }
        // The memory goes a few pages at a time (`reclaim.rs`); the objects it mapped
        // are let go of now.
        if let Some(space) = space {
            for object in space.mapped_objects() {
                self.drop_object_ref(object, true);
            }
            self.reclaim_space(space);
        }
        if let Some(parent) = parent {
            self.notify_child_death(parent, pid);
        }
        // Tell a waiting parent, or keep the status until it waits.
        let waiter = parent.and_then(|parent| {
            let p = self.processes.get(parent.0)?;
            p.threads.iter().flatten().copied().find(|t| {
                matches!(
                    self.threads.get(t.0).map(|t| t.state),
                    Some(ThreadState::Blocked(Blocked::WaitChild(w))) if w.is_none() || w == Some(pid)
                )
            })
        });
        match (parent, waiter) {
            (Some(parent), Some(thread)) => {
                self.reap(parent, pid);
                self.wake(thread, status, Some(pid.0 as u64));
            }
            (Some(_), None) => {}
            (None, _) => {
                self.processes.remove(pid.0);
            }
        }
    }

    fn reap(&mut self, parent: ProcessId, child: ProcessId) {
        if let Some(p) = self.processes.get_mut(parent.0) {
            p.children.retain(|c| *c != child);
        }
        self.processes.remove(child.0);
        self.fail_hopeless_waits(parent);
        self.child_collected(parent, child);
    }

    /// Fails with `ECHILD` the `ProcessWait`s of `parent`'s threads that no child can end
    /// any more: for a child that was reaped (another thread waited for it too), or for
    /// any child when none is left. (A review found the second waiter blocked for ever.)
    pub(crate) fn fail_hopeless_waits(&mut self, parent: ProcessId) {
        let Some(p) = self.processes.get(parent.0) else { return };
        let hopeless: Vec<ThreadId> = p
            .threads
            .iter()
            .flatten()
            .copied()
            .filter(|t| match self.threads.get(t.0).map(|t| t.state) {
                Some(ThreadState::Blocked(Blocked::WaitChild(None))) => p.children.is_empty(),
                Some(ThreadState::Blocked(Blocked::WaitChild(Some(child)))) => !p.children.contains(&child),
                _ => false,
            })
            .collect();
        for thread in hopeless {
            self.wake(thread, encode_result(Err(Errno::ECHILD)), None);
        }
    }

    fn wait_child(&mut self, pid: ProcessId, target: u32) -> Result<Outcome, Errno> {
        let children = self.processes.get(pid.0).map(|p| p.children.clone()).unwrap_or_default();
        let candidates: Vec<ProcessId> = children.into_iter().filter(|c| target == 0 || c.0 == target).collect();
        if candidates.is_empty() {
            return Err(Errno::ECHILD);
        }
        let ended =
            candidates.iter().find_map(|c| self.processes.get(c.0).and_then(|p| p.exit_status).map(|s| (*c, s)));
        if let Some((child, status)) = ended {
            self.reap(pid, child);
            return Ok(Outcome::Value(status, Some(child.0 as u64)));
        }
        self.block_current(Blocked::WaitChild((target != 0).then_some(ProcessId(target))));
        Ok(Outcome::Blocked)
    }

    /// Kills the current thread's process for a fault, with a one-line report.
    pub fn user_fault(&mut self, fault: UserFault<'_>) {
        let Some(cur) = self.current else { return };
        let Some((pid, tid)) = self.thread_ids(cur) else {
            return;
        };
        let name = self.processes.get(pid.0).map(|p| p.name.clone()).unwrap_or_default();
        let address = fault.address.map(|a| format!(" at {a:#x}")).unwrap_or_default();
        // (Where it came from and its stack, for whoever debugs it.)
        let (lr, sp) = self.threads.get(cur.0).map_or((0, 0), |t| (t.context.x[30], t.context.sp));
        let line = format!(
            "process {} ({}) thread {} killed: {}{} (pc {:#x}, lr {lr:#x}, sp {sp:#x})\n",
            pid.0, name, tid, fault.description, address, fault.pc
        );
        self.machine.console_write(line.as_bytes());
        self.terminate_process(pid, wait_status::killed(fault.class as u32));
        self.schedule();
    }

    // ---- introspection --------------------------------------------------------------

    /// One record per thread, processes in pid order.
    pub fn thread_list(&self) -> Vec<ThreadInfo> {
        let mut out = Vec::new();
        for (pid, p) in self.processes.iter() {
            for id in p.threads.iter().flatten() {
                let Some(t) = self.threads.get(id.0) else {
                    continue;
                };
                let (state, on_pid, on_id) = t.state.code();
                let mut name = [0u8; 32];
                let n = p.name.len().min(31);
                name[..n].copy_from_slice(&p.name.as_bytes()[..n]);
                out.push(ThreadInfo {
                    pid,
                    tid: t.tid,
                    name,
                    priority: t.priority,
                    base_priority: t.base_priority,
                    policy: t.policy as u8,
                    state: state as u8,
                    blocked_on_pid: on_pid,
                    blocked_on_id: on_id,
                    parent_pid: p.parent.map_or(0, |p| p.0),
                    group: p.group,
                    resident_kib: p.space.as_ref().map_or(0, |s| (s.resident_bytes() / 1024) as u32),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{as_thread, call, new_thread, restarting, run, system, FakeMachine, BLOCKED};
    use abi::info::ThreadStateCode;
    use abi::syscall::{decode_result, mem_prot};
    use abi::Sysno;

    /// The regions of `pid` that start at `at`.
    fn regions_at(s: &System<FakeMachine>, pid: ProcessId, at: usize) -> Vec<crate::process::Region> {
        let space = s.processes.get(pid.0).unwrap().space.as_ref().unwrap();
        space.regions().iter().filter(|r| r.start == at).copied().collect()
    }

    /// The frames in use once `t` has mapped and unmapped a page where anonymous memory
    /// goes (the page tables for it stay).
    fn tables_made(s: &mut System<FakeMachine>, t: ThreadId) -> usize {
        let at = as_thread(s, t, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        assert_eq!(as_thread(s, t, Call::MemUnmap { addr: at, size: PAGE_SIZE }).0, Ok(0));
        s.machine.frames_in_use()
    }

    #[test]
    fn a_large_anonymous_mapping_is_filled_a_few_pages_between_interrupts() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let frames = tables_made(&mut s, t);
        s.machine.interrupt_every = Some(1);
        let pages = 64;
        let (at, restarts) = restarting(&mut s, t, Call::MemMapAnon { size: pages * PAGE_SIZE });
        let at = at.unwrap() as usize;
        assert_eq!(restarts, pages / crate::process::FILL_STEP - 1);
        // Whole, zero-filled, and the program's own.
        let mut bytes = alloc::vec![1u8; pages * PAGE_SIZE];
        s.read_user(pid, at, &mut bytes).unwrap();
        assert!(bytes.iter().all(|b| *b == 0));
        assert_eq!(regions_at(&s, pid, at).iter().map(|r| r.kind).collect::<Vec<_>>(), [RegionKind::Anonymous]);
        // Unmapped a few pages between interrupts too.
        let (unmapped, restarts) = restarting(&mut s, t, Call::MemUnmap { addr: at, size: pages * PAGE_SIZE });
        assert_eq!(unmapped, Ok(0));
        assert_eq!(restarts, pages / crate::reclaim::RECLAIM_STEP - 1);
        assert_eq!(s.machine.frames_in_use(), frames, "frames kept");
        assert!(regions_at(&s, pid, at).is_empty());
    }

    #[test]
    fn with_the_kernel_heap_at_its_reserve_calls_that_would_keep_more_are_refused() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, true).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let chid = as_thread(&mut s, t, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
        s.machine.kernel_memory_low = true;
        let refused = [
            Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched: 0 },
            Call::MemMapAnon { size: PAGE_SIZE },
            Call::ChannelCreate { flags: 0 },
            Call::ConnectAttach { pid: 0, chid },
            Call::MemObjectCreate { size: PAGE_SIZE },
            Call::TimerCreate { event: 0 },
        ];
        for call in refused {
            assert_eq!(as_thread(&mut s, t, call).0, Err(Errno::ENOMEM), "{call:?}");
        }
        // What keeps nothing more goes on.
        assert_eq!(as_thread(&mut s, t, Call::Nop).0, Ok(0));
        assert_eq!(as_thread(&mut s, t, Call::ChannelDestroy { chid }).0, Ok(0));
        s.machine.kernel_memory_low = false;
        assert!(as_thread(&mut s, t, Call::ChannelCreate { flags: 0 }).0.is_ok());
    }

    #[test]
    fn a_process_create_refused_for_a_full_table_keeps_nothing() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, true).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let at = as_thread(&mut s, t, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        s.write_user(pid, at, b"child").unwrap();
        let create = Call::ProcessCreate { name_ptr: at, name_len: 5, parent: 0, flags: 0, group: 0 };
        while as_thread(&mut s, t, create).0.is_ok() {}
        let frames = s.machine.frames_in_use();
        assert_eq!(as_thread(&mut s, t, create).0, Err(Errno::EAGAIN));
        assert_eq!(s.machine.frames_in_use(), frames, "a refused ProcessCreate kept its root table (and ASID)");
        assert_eq!(s.spawn("low", b"", None, None, false), Err(Errno::EAGAIN));
        assert_eq!(s.machine.frames_in_use(), frames, "a refused spawn kept its tables");
    }

    /// A process whose second thread's MemProtect (read-only) of its 64-page mapping an
    /// interrupt stopped: (the pid, the main thread, the protector, the mapping, the
    /// protector's PC past its `svc`, the call's first result).
    fn a_stopped_protect(
        s: &mut System<FakeMachine>,
    ) -> (ProcessId, ThreadId, ThreadId, usize, u64, Result<u64, Errno>) {
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = s.thread_of(pid, 1).unwrap();
        let protector = new_thread(s, main, 10);
        let at = as_thread(s, main, Call::MemMapAnon { size: 64 * PAGE_SIZE }).0.unwrap() as usize;
        s.machine.interrupt_every = Some(1);
        let pc = s.context_mut(protector).unwrap().pc;
        let protect = Call::MemProtect { addr: at, size: 64 * PAGE_SIZE, prot: mem_prot::READ };
        let first = as_thread(s, protector, protect).0;
        s.machine.interrupt_every = None;
        let stopped = s.threads.get(protector.0).unwrap().restart.as_ref().map(|r| r.1.clone());
        assert!(matches!(stopped, Some(Progress::Protecting { .. })), "{stopped:?}");
        (pid, main, protector, at, pc, first)
    }

    #[test]
    fn a_protect_made_again_goes_on_while_other_regions_change() {
        // (Found by a review: a protect started over whenever any region of the space
        // changed, so a sibling mapping and unmapping elsewhere kept it from finishing.)
        let mut s = system();
        let (_, main, protector, _, pc, _) = a_stopped_protect(&mut s);
        let mut restarts = 0;
        while s.threads.get(protector.0).unwrap().restart.is_some() {
            s.machine.interrupt_every = None;
            let other = as_thread(&mut s, main, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
            assert_eq!(as_thread(&mut s, main, Call::MemUnmap { addr: other, size: PAGE_SIZE }).0, Ok(0));
            s.machine.interrupt_every = Some(1);
            let _ = crate::testing::made_again(&mut s, protector, pc);
            restarts += 1;
        }
        assert_eq!(restarts, 64 / crate::process::FILL_STEP - 1);
    }

    #[test]
    fn a_protect_made_again_over_regions_that_changed_starts_over() {
        // (Found by a review: made again after another thread unmapped its range and
        // mapped new memory there, it left the new region's first pages writable.)
        let mut s = system();
        let (pid, main, protector, at, pc, first) = a_stopped_protect(&mut s);
        let size = 64 * PAGE_SIZE;
        assert_eq!(as_thread(&mut s, main, Call::MemUnmap { addr: at, size }).0, Ok(0));
        assert_eq!(as_thread(&mut s, main, Call::MemMapAnon { size }).0, Ok(at as u64));
        let (result, _) = crate::testing::restarted(&mut s, protector, pc, first);
        assert_eq!(result, Ok(0));
        let region = regions_at(&s, pid, at)[0];
        assert!(!region.attrs.writable, "recorded read-only");
        let writable: Vec<usize> = (0..64).filter(|p| s.write_user(pid, at + p * PAGE_SIZE, b"x").is_ok()).collect();
        assert_eq!(writable, Vec::<usize>::new(), "pages of a read-only region writable");
    }

    #[test]
    fn a_large_stack_is_filled_a_few_pages_between_interrupts() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        s.machine.interrupt_every = Some(1);
        let pages = 64;
        let create = Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: pages * PAGE_SIZE, sched: 0 };
        let (tid, restarts) = restarting(&mut s, t, create);
        assert_eq!(restarts, pages / crate::process::FILL_STEP - 1);
        let new = s.thread_of(pid, tid.unwrap() as u32).unwrap();
        let (base, size) = s.threads.get(new.0).unwrap().stack.unwrap();
        assert_eq!(size, (pages + 1) * PAGE_SIZE);
        assert_eq!(regions_at(&s, pid, base).iter().map(|r| r.kind).collect::<Vec<_>>(), [RegionKind::Stack]);
        let mut probe = [1u8; 8];
        assert_eq!(s.read_user(pid, base + PAGE_SIZE - 8, &mut probe), Err(Errno::EFAULT), "the guard page is mapped");
        let mut stack = alloc::vec![1u8; pages * PAGE_SIZE];
        s.read_user(pid, base + PAGE_SIZE, &mut stack).unwrap();
        assert!(stack.iter().all(|b| *b == 0));
    }

    #[test]
    fn a_large_protect_changes_a_few_pages_between_interrupts() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let pages = 64;
        let at = as_thread(&mut s, t, Call::MemMapAnon { size: pages * PAGE_SIZE }).0.unwrap() as usize;
        s.machine.interrupt_every = Some(1);
        // The middle half: read-only.
        let protect = Call::MemProtect { addr: at + 16 * PAGE_SIZE, size: 32 * PAGE_SIZE, prot: mem_prot::READ };
        let (result, restarts) = restarting(&mut s, t, protect);
        assert_eq!((result, restarts), (Ok(0), 32 / crate::process::FILL_STEP - 1));
        s.machine.interrupt_every = None;
        for (page, writable) in [(15, true), (16, false), (47, false), (48, true)] {
            let written = s.write_user(pid, at + page * PAGE_SIZE, b"x").is_ok();
            assert_eq!(written, writable, "page {page}");
        }
        let starts: Vec<usize> = [0, 16, 48].iter().map(|p| at + p * PAGE_SIZE).collect();
        for start in starts {
            assert_eq!(regions_at(&s, pid, start).len(), 1, "no region at {start:#x}");
        }
    }

    #[test]
    fn an_unmapping_stopped_midway_leaves_nothing_usable_and_finishes_when_abandoned() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = s.thread_of(pid, 1).unwrap();
        let unmapper = new_thread(&mut s, main, 10);
        let tid = s.threads.get(unmapper.0).unwrap().tid;
        let frames = tables_made(&mut s, main);
        let pages = 8 * crate::reclaim::RECLAIM_STEP;
        let size = pages * PAGE_SIZE;
        let at = as_thread(&mut s, unmapper, Call::MemMapAnon { size }).0.unwrap() as usize;
        s.machine.interrupt_every = Some(1);
        let _ = as_thread(&mut s, unmapper, Call::MemUnmap { addr: at, size });
        s.machine.interrupt_every = None;
        assert!(matches!(
            s.threads.get(unmapper.0).unwrap().restart.as_ref().map(|r| r.1.clone()),
            Some(Progress::Unmapping { start }) if start == at
        ));
        // The last pages went first; the rest is on its way out: neither unmappable nor
        // protectable, and no new mapping lands there.
        let region = regions_at(&s, pid, at)[0];
        assert_eq!((region.kind, region.end), (RegionKind::Releasing { object: None }, at + size - 16 * PAGE_SIZE));
        assert_eq!(as_thread(&mut s, main, Call::MemUnmap { addr: at, size }).0, Err(Errno::EINVAL));
        let prot = Call::MemProtect { addr: at, size: PAGE_SIZE, prot: mem_prot::READ };
        assert_eq!(as_thread(&mut s, main, prot).0, Err(Errno::ENOMEM));
        let other = as_thread(&mut s, main, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        assert!(other >= region.end || other + PAGE_SIZE <= at, "{other:#x} in the region on its way out");
        assert_eq!(as_thread(&mut s, main, Call::MemUnmap { addr: other, size: PAGE_SIZE }).0, Ok(0));
        // Its thread ends before making the call again: the rest goes in steps.
        assert_eq!(as_thread(&mut s, main, Call::ThreadDestroy { tid, status: 0 }).0, Ok(0));
        assert!(s.reclaim_pending());
        while s.reclaim_step() {}
        assert!(regions_at(&s, pid, at).is_empty());
        let stack = abi::DEFAULT_STACK_SIZE / PAGE_SIZE;
        assert!(s.machine.frames_in_use() <= frames - stack, "the stack and the mapping were kept");
    }

    #[test]
    fn a_mapping_stopped_half_filled_is_nobody_elses_and_goes_with_its_thread() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = s.thread_of(pid, 1).unwrap();
        let filler = new_thread(&mut s, main, 10);
        let tid = s.threads.get(filler.0).unwrap().tid;
        let size = 64 * PAGE_SIZE;
        s.machine.interrupt_every = Some(1);
        let _ = as_thread(&mut s, filler, Call::MemMapAnon { size });
        let start = match s.threads.get(filler.0).unwrap().restart.as_ref().map(|r| r.1.clone()) {
            Some(Progress::Mapping { start, filled, .. }) => {
                assert_eq!(filled, start + crate::process::FILL_STEP * PAGE_SIZE);
                start
            }
            other => panic!("{other:?}"),
        };
        s.machine.interrupt_every = None;
        assert_eq!(
            regions_at(&s, pid, start).iter().map(|r| r.kind).collect::<Vec<_>>(),
            [RegionKind::Filling { object: None }]
        );
        // The program has not been given it: it cannot unmap or protect it, and another
        // mapping goes elsewhere.
        assert_eq!(as_thread(&mut s, main, Call::MemUnmap { addr: start, size }).0, Err(Errno::EINVAL));
        let prot = Call::MemProtect { addr: start, size, prot: mem_prot::READ };
        assert_eq!(as_thread(&mut s, main, prot).0, Err(Errno::ENOMEM));
        let other = as_thread(&mut s, main, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        assert!(other >= start + size || other + PAGE_SIZE <= start, "{other:#x} in the filling region");
        // The thread ends before making its call again: the region goes with it (in
        // steps).
        let frames = s.machine.frames_in_use();
        assert_eq!(as_thread(&mut s, main, Call::ThreadDestroy { tid, status: 0 }).0, Ok(0));
        while s.reclaim_step() {}
        assert!(regions_at(&s, pid, start).is_empty());
        assert!(s.machine.frames_in_use() <= frames - crate::process::FILL_STEP, "the filled pages were kept");
    }

    #[test]
    fn a_stopped_call_that_is_not_made_again_is_abandoned() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        s.machine.interrupt_every = Some(1);
        let _ = as_thread(&mut s, t, Call::MemMapAnon { size: 64 * PAGE_SIZE });
        let Some(Progress::Mapping { start, .. }) = s.threads.get(t.0).unwrap().restart.as_ref().map(|r| r.1.clone())
        else {
            panic!("not stopped");
        };
        s.machine.interrupt_every = None;
        // `RESTARTED_CALL` with other arguments is not the stopped call: it is refused,
        // and the stopped call's region goes.
        let forged = Registers { number: RESTARTED_CALL, args: [PAGE_SIZE as u64, 0, 0, 0, 0, 0, 0, 0] };
        assert_eq!(crate::testing::call_registers(&mut s, &forged).0, Err(Errno::ENOSYS));
        assert!(s.threads.get(t.0).unwrap().restart.is_none());
        while s.reclaim_step() {}
        assert!(regions_at(&s, pid, start).is_empty(), "the filling region stayed");
    }

    #[test]
    fn a_mapping_that_runs_out_of_memory_midway_keeps_nothing() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let frames = tables_made(&mut s, t);
        s.machine.frame_limit = Some(frames + 30);
        s.machine.interrupt_every = Some(1);
        let (result, restarts) = restarting(&mut s, t, Call::MemMapAnon { size: 64 * PAGE_SIZE });
        assert_eq!(result, Err(Errno::ENOMEM));
        assert!(restarts >= 3, "{restarts}");
        while s.reclaim_step() {}
        let space = s.processes.get(pid.0).unwrap().space.as_ref().unwrap();
        assert!(space.regions().iter().all(|r| r.kind.given()), "filling, or on its way out");
        assert_eq!(s.machine.frames_in_use(), frames, "frames kept");
    }

    fn running(s: &System<FakeMachine>) -> Option<(u32, u32)> {
        s.current().and_then(|t| s.thread_ids(t)).map(|(p, t)| (p.0, t))
    }

    /// A user buffer of the current process holding `bytes`.
    fn user_bytes(s: &mut System<FakeMachine>, bytes: &[u8]) -> usize {
        let (at, _) = call(s, Call::MemMapAnon { size: bytes.len().max(1) });
        let at = at.unwrap() as usize;
        let pid = s.thread_ids(s.current().unwrap()).unwrap().0;
        s.write_user(pid, at, bytes).unwrap();
        at
    }

    #[test]
    fn highest_priority_runs_first_and_process_starts_with_its_arguments() {
        let mut s = system();
        let init = s.spawn("init", b"-v\0x\0", None, None, true).unwrap();
        let high = s.spawn("high", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s), Some((high.0, 1)));
        let list = s.thread_list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].state, ThreadStateCode::Ready as u8);
        assert_eq!(list[1].state, ThreadStateCode::Running as u8);
        assert_eq!((list[1].priority, list[1].policy), (50, Policy::Fifo as u8));
        // init's registers: argc 3 (argv[0] = "init"), block at x1 with length x2.
        let ctx = s.threads.get(s.thread_of(init, 1).unwrap().0).unwrap().context.clone();
        assert_eq!((ctx.x[0], ctx.x[2]), (3, 10));
        let mut block = [0u8; 10];
        s.read_user(init, ctx.x[1] as usize, &mut block).unwrap();
        assert_eq!(&block, b"init\0-v\0x\0");
        assert_eq!(ctx.sp % 16, 0);
        assert!(ctx.sp <= ctx.x[1]);
        assert_eq!(ctx.pc, 0x40_0000);
        // The image's data segment was loaded.
        let mut data = [0u8; 4];
        s.read_user(init, 0x40_1000, &mut data).unwrap();
        assert_eq!(&data, b"data");
    }

    #[test]
    fn round_robin_rotates_equals_on_timeslice_fifo_does_not() {
        let mut s = system();
        let a = s.spawn("rr", b"", None, None, false).unwrap();
        let b = s.spawn("rr", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, a.0);
        for _ in 0..TIMESLICE_TICKS - 1 {
            s.timer(0, 1);
            assert_eq!(running(&s).unwrap().0, a.0, "slice not used up yet");
        }
        s.timer(0, 1);
        assert_eq!(running(&s).unwrap().0, b.0, "rotated after {TIMESLICE_TICKS} ticks");
        for _ in 0..TIMESLICE_TICKS {
            s.timer(0, 1);
        }
        assert_eq!(running(&s).unwrap().0, a.0);

        let mut s = system();
        let f = s.spawn("fifo", b"", None, None, false).unwrap();
        s.spawn("fifo", b"", None, None, false).unwrap();
        s.schedule();
        for _ in 0..20 {
            s.timer(0, 1);
        }
        assert_eq!(running(&s).unwrap().0, f.0, "FIFO keeps the CPU");
    }

    #[test]
    fn a_late_timer_interrupt_charges_all_the_ticks_it_covers() {
        let mut s = system();
        let a = s.spawn("rr", b"", None, None, false).unwrap();
        let b = s.spawn("rr", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, a.0);
        s.timer(0, TIMESLICE_TICKS as u64); // one interrupt, a whole timeslice late
        assert_eq!(running(&s).unwrap().0, b.0, "the slice is used up by time, not by interrupt count");
    }

    #[test]
    fn waking_higher_priority_preempts_and_preempted_thread_resumes_first() {
        let mut s = system();
        let high = s.spawn("high", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(call(&mut s, Call::Sleep { nanoseconds: 1000 }).0, BLOCKED, "blocked");
        let low1 = s.spawn("rr", b"", None, None, false).unwrap();
        let low2 = s.spawn("rr", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, low1.0);
        assert_eq!(s.next_wakeup(), Some(1000));
        s.machine.now = 999;
        s.timer(999, 0);
        assert_eq!(running(&s).unwrap().0, low1.0, "not yet");
        s.machine.now = 1000;
        s.timer(1000, 0);
        assert_eq!(running(&s), Some((high.0, 1)), "sleeper preempts");
        let high_thread = s.current().unwrap();
        assert_eq!(s.context_mut(high_thread).unwrap().x[0], 0, "sleep returns 0");
        run(&mut s, Call::Sleep { nanoseconds: 1 });
        assert_eq!(running(&s).unwrap().0, low1.0, "preempted thread goes back to the head");
        let _ = low2;
    }

    #[test]
    fn yield_passes_to_equals_only() {
        let mut s = system();
        let a = s.spawn("fifo", b"", None, None, false).unwrap();
        s.schedule();
        run(&mut s, Call::SchedYield);
        assert_eq!(running(&s).unwrap().0, a.0, "alone: keeps running");
        let b = s.spawn("fifo", b"", None, None, false).unwrap();
        s.spawn("low", b"", None, None, false).unwrap();
        assert_eq!(call(&mut s, Call::SchedYield).0, Ok(0));
        assert_eq!(running(&s).unwrap().0, b.0);
        run(&mut s, Call::SchedYield);
        assert_eq!(running(&s).unwrap().0, a.0);
    }

    #[test]
    fn bad_arguments_get_errors_not_panics() {
        let mut s = system();
        s.spawn("init", b"", None, None, false).unwrap();
        s.schedule();
        let e = |r: (Result<u64, Errno>, u64)| r.0.unwrap_err();
        // Unknown call number.
        let cur = s.current().unwrap();
        s.syscall(&Registers { number: 4242, args: [0; 8] });
        assert_eq!(decode_result(s.context_mut(cur).unwrap().x[0]), Err(Errno::ENOSYS));
        assert_eq!(e(call(&mut s, Call::DebugWrite { ptr: 0x1234, len: 4 })), Errno::EFAULT);
        assert_eq!(e(call(&mut s, Call::DebugWrite { ptr: 0xffff_0000_4020_0000, len: 4 })), Errno::EFAULT);
        assert_eq!(e(call(&mut s, Call::DebugWrite { ptr: 0x40_1000, len: 1 << 20 })), Errno::EINVAL);
        assert_eq!(e(call(&mut s, Call::DebugWrite { ptr: usize::MAX - 2, len: 8 })), Errno::EFAULT);
        assert_eq!(call(&mut s, Call::DebugWrite { ptr: 0x40_1000, len: 4 }).0, Ok(4));
        assert_eq!(s.machine.console, b"data");
        assert_eq!(e(call(&mut s, Call::ThreadCreate { entry: 0, arg: 0, stack_size: 0, sched: 0 })), Errno::EFAULT);
        let kernel = 0xffff_0000_0000_1000;
        assert_eq!(
            e(call(&mut s, Call::ThreadCreate { entry: kernel, arg: 0, stack_size: 0, sched: 0 })),
            Errno::EFAULT
        );
        assert_eq!(
            e(call(&mut s, Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched: 0x0900 })),
            Errno::EINVAL
        );
        let huge = abi::MAX_STACK_SIZE + 1;
        assert_eq!(
            e(call(&mut s, Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: huge, sched: 0 })),
            Errno::EINVAL
        );
        assert_eq!(e(call(&mut s, Call::ThreadJoin { tid: 1 })), Errno::EDEADLK);
        assert_eq!(e(call(&mut s, Call::ThreadJoin { tid: 7 })), Errno::ESRCH);
        assert_eq!(e(call(&mut s, Call::ThreadJoin { tid: 0 })), Errno::ESRCH);
        assert_eq!(e(call(&mut s, Call::ThreadDestroy { tid: 9, status: 0 })), Errno::ESRCH);
        assert_eq!(e(call(&mut s, Call::SchedGet { pid: 77, tid: 0 })), Errno::ESRCH);
        assert_eq!(e(call(&mut s, Call::SchedSet { pid: 0, tid: 0, sched: 0 })), Errno::EINVAL);
        for privileged in [
            Call::ProcessCreate { name_ptr: 0x40_1000, name_len: 4, parent: 0, flags: 0, group: 0 },
            Call::ProcessStart { pid: 1, entry: 0x40_0000, sp: 0x7000_0000, args: [0; 3], sched: 0 },
            Call::ProcessKill { pid: 1, status: 0, flags: 0 },
            Call::MemObjectCreate { size: 4096 },
            Call::MemObjectResize { handle: 1, size: 0 },
        ] {
            assert_eq!(e(call(&mut s, privileged)), Errno::EPERM, "{privileged:?}");
        }
        assert_eq!(e(call(&mut s, Call::Shutdown { code: 0 })), Errno::EPERM);
        assert_eq!(e(call(&mut s, Call::ProcessWait { pid: 0 })), Errno::ECHILD);
        assert_eq!(e(call(&mut s, Call::MemMapAnon { size: 0 })), Errno::EINVAL);
        assert_eq!(e(call(&mut s, Call::MemMapAnon { size: MAX_ANON_MAP + 1 })), Errno::EINVAL);
        assert_eq!(e(call(&mut s, Call::MemUnmap { addr: 0x40_0000, size: 0x1000 })), Errno::EINVAL, "image");
        assert_eq!(e(call(&mut s, Call::MemUnmap { addr: 0x1234_5000, size: 0x1000 })), Errno::EINVAL);
        assert_eq!(e(call(&mut s, Call::ThreadList { ptr: 0x40_0000, len: 600 })), Errno::EFAULT, "read-only");
        assert_eq!(s.machine.shutdown_code, None);
        assert!(s.current().is_some(), "the caller survived it all");
    }

    #[test]
    fn threads_create_join_and_exit_status() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        s.schedule();
        let (tid, _) = call(&mut s, Call::ThreadCreate { entry: 0x40_0000, arg: 42, stack_size: 8192, sched: 0 });
        let tid = tid.unwrap() as u32;
        assert_eq!(tid, 2);
        let t2 = s.thread_of(pid, 2).unwrap();
        assert_eq!(s.threads.get(t2.0).unwrap().context.x[0], 42);
        let sp = s.threads.get(t2.0).unwrap().context.sp as usize;
        let mut probe = [0u8; 8];
        s.read_user(pid, sp - 8, &mut probe).unwrap();
        assert_eq!(s.read_user(pid, sp - 8192 - 8, &mut probe), Err(Errno::EFAULT), "guard page below the stack");
        // Join blocks until thread 2 ends with status 7.
        assert_eq!(call(&mut s, Call::ThreadJoin { tid: 2 }).0, BLOCKED);
        assert_eq!(running(&s), Some((pid.0, 2)));
        let list = s.thread_list();
        assert_eq!(list[0].state, ThreadStateCode::Join as u8);
        assert_eq!(list[0].blocked_on_id, 2);
        run(&mut s, Call::ThreadDestroy { tid: 0, status: 7 });
        assert_eq!(running(&s), Some((pid.0, 1)));
        let t1 = s.current().unwrap();
        let context = s.context_mut(t1).unwrap();
        assert_eq!((context.x[0], context.x[1]), (0, 7), "join returns the status, in x1");
        assert_eq!(s.thread_count(), 1, "joined thread freed");
        assert_eq!(s.read_user(pid, sp - 8, &mut probe), Err(Errno::EFAULT), "its stack is unmapped");
        // A thread that ends before being joined keeps its status until joined; any
        // status comes back whole, the highest ones too (x0 would read them as errnos).
        let high = SchedParam { policy: Policy::Fifo, priority: 60 }.encode();
        for status in [9, u64::MAX] {
            run(&mut s, Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched: high });
            assert_eq!(running(&s), Some((pid.0, 2)), "higher-priority new thread runs at once");
            run(&mut s, Call::ThreadDestroy { tid: 0, status });
            assert_eq!(call(&mut s, Call::ThreadJoin { tid: 2 }), (Ok(0), status));
            assert_eq!(call(&mut s, Call::ThreadJoin { tid: 2 }).0, Err(Errno::ESRCH));
        }
    }

    #[test]
    fn detached_threads_are_freed_as_they_end() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        s.schedule();
        let low = SchedParam { policy: Policy::Fifo, priority: 5 }.encode();
        let high = SchedParam { policy: Policy::Fifo, priority: 60 }.encode();
        let create = |sched| Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched };
        // More threads than a process may hold at once, each detached and ended: every
        // slot comes back (unjoined, they used to stay taken until the process ended).
        for _ in 0..2 * MAX_THREADS_PER_PROCESS {
            let tid = call(&mut s, create(low)).0.expect("a slot is free") as u32;
            assert_eq!(call(&mut s, Call::ThreadDetach { tid }).0, Ok(0));
            assert_eq!(call(&mut s, Call::ThreadDetach { tid }).0, Err(Errno::EINVAL), "detached already");
            assert_eq!(call(&mut s, Call::ThreadJoin { tid }).0, Err(Errno::EINVAL), "not joinable");
            assert_eq!(call(&mut s, Call::ThreadDestroy { tid, status: 3 }).0, Ok(0));
            assert_eq!(s.thread_count(), 1, "the detached thread went as it ended");
        }
        // One that ended before it was detached is freed by the detach; one detaching
        // itself is freed as it ends.
        run(&mut s, create(high));
        run(&mut s, Call::ThreadDestroy { tid: 0, status: 4 });
        let ended = s.thread_list().iter().find(|t| t.state == ThreadStateCode::Dead as u8).map(|t| t.tid).unwrap();
        assert_eq!(call(&mut s, Call::ThreadDetach { tid: ended }).0, Ok(0));
        assert_eq!(s.thread_count(), 1);
        run(&mut s, create(high));
        assert_eq!(call(&mut s, Call::ThreadDetach { tid: 0 }).0, Ok(0));
        run(&mut s, Call::ThreadDestroy { tid: 0, status: 0 });
        assert_eq!(s.thread_count(), 1);
        assert_eq!(running(&s).map(|(p, _)| p), Some(pid.0));
        // A thread someone waits to join cannot be detached; bad tids are ESRCH.
        let tid = call(&mut s, create(low)).0.unwrap() as u32;
        let joiner = call(&mut s, create(high)).0;
        assert!(joiner.is_ok());
        run(&mut s, Call::ThreadJoin { tid });
        assert_eq!(call(&mut s, Call::ThreadDetach { tid }).0, Err(Errno::EINVAL), "a thread waits to join it");
        assert_eq!(call(&mut s, Call::ThreadDetach { tid: 99 }).0, Err(Errno::ESRCH));
    }

    #[test]
    fn the_process_manager_builds_a_process_from_memory_objects() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        s.schedule();
        let name = user_bytes(&mut s, b"child");
        let baseline = s.machine.frames_in_use();
        let child = call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 5, parent: 0, flags: 0, group: 0 })
            .0
            .unwrap() as u32;
        assert_eq!(
            call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 0, parent: 0, flags: 0, group: 0 }).0,
            Err(Errno::EINVAL)
        );
        assert_eq!(
            call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 5, parent: 999, flags: 0, group: 0 }).0,
            Err(Errno::ESRCH)
        );
        // Code: an object filled through the manager's own mapping, then given to the child.
        let code = call(&mut s, Call::MemObjectCreate { size: 4096 }).0.unwrap() as u32;
        let rw = mem_prot::READ | mem_prot::WRITE;
        let at = call(&mut s, Call::MemObjectMap { pid: 0, handle: code, offset: 0, size: 4096, addr: 0, prot: rw })
            .0
            .unwrap() as usize;
        s.write_user(init, at, b"\x00\x00\x00\x14").unwrap();
        assert_eq!(call(&mut s, Call::MemUnmap { addr: at, size: 4096 }).0, Ok(0));
        let rx = mem_prot::with_max(mem_prot::READ | mem_prot::EXEC, mem_prot::READ | mem_prot::EXEC);
        let map = Call::MemObjectMap { pid: child, handle: code, offset: 0, size: 4096, addr: 0x40_0000, prot: rx };
        assert_eq!(call(&mut s, map).0, Ok(0x40_0000));
        assert_eq!(call(&mut s, map).0, Err(Errno::EINVAL), "overlaps");
        let too_far = Call::MemObjectMap { pid: child, handle: code, offset: 4096, size: 4096, addr: 0, prot: 1 };
        assert_eq!(call(&mut s, too_far).0, Err(Errno::ENXIO));
        let wx = Call::MemObjectMap { pid: child, handle: code, offset: 0, size: 4096, addr: 0, prot: 0x606 };
        assert_eq!(call(&mut s, wx).0, Err(Errno::EINVAL), "W^X");
        let over = Call::MemObjectMap { pid: child, handle: code, offset: 0, size: 4096, addr: 0, prot: 0x102 };
        assert_eq!(call(&mut s, over).0, Err(Errno::EACCES), "more than the maximum");
        assert_eq!(call(&mut s, Call::MemObjectClose { handle: code }).0, Ok(0));
        assert_eq!(call(&mut s, Call::MemObjectClose { handle: code }).0, Err(Errno::EBADF));
        // Stack: another object, mapped below the top.
        let stack = call(&mut s, Call::MemObjectCreate { size: 8192 }).0.unwrap() as u32;
        let top = abi::USER_STACK_TOP;
        let map = Call::MemObjectMap { pid: child, handle: stack, offset: 0, size: 8192, addr: top - 8192, prot: rw };
        assert_eq!(call(&mut s, map).0, Ok((top - 8192) as u64));
        run(&mut s, Call::MemObjectClose { handle: stack });
        let start = Call::ProcessStart { pid: child, entry: 0x40_0000, sp: top, args: [1, 2, 3], sched: 0 };
        assert_eq!(call(&mut s, start).0, Err(Errno::EINVAL), "no such scheduling");
        let sched = SchedParam { policy: Policy::Fifo, priority: 5 }.encode();
        let start = Call::ProcessStart { pid: child, entry: 0x40_0000, sp: top, args: [1, 2, 3], sched };
        assert_eq!(call(&mut s, start).0, Ok(1));
        assert_eq!(call(&mut s, start).0, Err(Errno::EBUSY), "started once");
        let thread = s.thread_of(ProcessId(child), 1).unwrap();
        let ctx = s.context_mut(thread).unwrap();
        assert_eq!((ctx.pc, ctx.sp, ctx.x[0], ctx.x[2]), (0x40_0000, top as u64, 1, 3));
        // The child runs (at its lower priority) once the manager waits.
        assert_eq!(call(&mut s, Call::ProcessWait { pid: child }).0, BLOCKED);
        assert_eq!(running(&s), Some((child, 1)));
        let mut word = [0u8; 4];
        s.read_user(ProcessId(child), 0x40_0000, &mut word).unwrap();
        assert_eq!(&word, b"\x00\x00\x00\x14");
        assert_eq!(s.write_user(ProcessId(child), 0x40_0000, b"x"), Err(Errno::EFAULT), "read-only");
        // A child may narrow its mapping but not widen it beyond the maximum.
        assert_eq!(
            call(&mut s, Call::MemProtect { addr: 0x40_0000, size: 4096, prot: mem_prot::WRITE }).0,
            Err(Errno::EACCES)
        );
        assert_eq!(call(&mut s, Call::MemProtect { addr: 0x40_0000, size: 4096, prot: mem_prot::READ }).0, Ok(0));
        assert_eq!(
            call(&mut s, Call::MemProtect { addr: 0x50_0000, size: 4096, prot: mem_prot::READ }).0,
            Err(Errno::ENOMEM)
        );
        run(&mut s, Call::ProcessExit { status: 3 });
        assert_eq!(running(&s), Some((init.0, 1)));
        let ctx = s.context_mut(s.current().unwrap()).unwrap();
        assert_eq!((ctx.x[0], ctx.x[1]), (3, child as u64));
        while s.reclaim_step() {} // (what the idle CPU does)
        assert_eq!(s.machine.frames_in_use(), baseline, "every frame of the child and its objects returned");
        assert_eq!(s.memory_object_frames(), 0);
    }

    #[test]
    fn shared_objects_live_until_the_last_handle_and_mapping_go() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let peer = s.spawn("low", b"", None, Some(init), false).unwrap();
        s.schedule();
        let rw = mem_prot::with_max(mem_prot::READ | mem_prot::WRITE, mem_prot::READ | mem_prot::WRITE);
        let h = call(&mut s, Call::MemObjectCreate { size: 100 }).0.unwrap() as u32;
        assert_eq!(call(&mut s, Call::MemObjectResize { handle: h, size: 3 * 4096 }).0, Ok(0));
        let mine = call(&mut s, Call::MemObjectMap { pid: 0, handle: h, offset: 0, size: 3 * 4096, addr: 0, prot: rw })
            .0
            .unwrap() as usize;
        let map =
            Call::MemObjectMap { pid: peer.0, handle: h, offset: 4096, size: 4096, addr: 0, prot: mem_prot::READ };
        let theirs = call(&mut s, map).0.unwrap() as usize;
        assert_eq!(call(&mut s, Call::MemObjectResize { handle: h, size: 0 }).0, Err(Errno::EBUSY), "mapped");
        let before = s.machine.frames_in_use();
        s.machine.frame_limit = Some(before + 2);
        let big = Call::MemObjectResize { handle: h, size: 8 * 4096 };
        assert_eq!(call(&mut s, big).0, Err(Errno::ENOMEM));
        while s.reclaim_step() {}
        assert_eq!(s.machine.frames_in_use(), before, "a failed resize keeps nothing");
        s.machine.frame_limit = None;
        s.write_user(init, mine + 4096, b"shared").unwrap();
        let mut back = [0u8; 6];
        s.read_user(peer, theirs, &mut back).unwrap();
        assert_eq!(&back, b"shared", "the same frames");
        // Splitting a mapping with MemProtect keeps the object alive for both halves.
        let tail = Call::MemProtect { addr: mine + 2 * 4096, size: 4096, prot: mem_prot::READ };
        assert_eq!(call(&mut s, tail).0, Ok(0));
        assert_eq!(s.write_user(init, mine + 2 * 4096, b"x"), Err(Errno::EFAULT));
        s.write_user(init, mine, b"y").unwrap();
        run(&mut s, Call::MemObjectClose { handle: h });
        assert!(s.memory_object_frames() == 3, "mappings keep it");
        assert_eq!(call(&mut s, Call::MemUnmap { addr: mine, size: 2 * 4096 }).0, Ok(0));
        assert_eq!(call(&mut s, Call::MemUnmap { addr: mine + 2 * 4096, size: 4096 }).0, Ok(0));
        assert!(s.memory_object_frames() == 3, "the peer's mapping keeps it");
        s.terminate_process(peer, 0);
        assert_eq!(s.memory_object_frames(), 0);
    }

    #[test]
    fn device_objects_for_io_privileged_processes_only() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        s.schedule();
        let name = user_bytes(&mut s, b"driver");
        let uart = Call::MemObjectDevice { phys: 0x0900_0000, size: 4096 };
        let h = call(&mut s, uart).0.unwrap() as u32;
        assert_eq!(call(&mut s, Call::MemObjectDevice { phys: 0x4000_0000, size: 4096 }).0, Err(Errno::EINVAL), "RAM");
        assert_eq!(call(&mut s, Call::MemObjectDevice { phys: 0x0900_0000, size: 8192 }).0, Err(Errno::EINVAL));
        assert_eq!(call(&mut s, Call::MemObjectDevice { phys: 0x0900_0010, size: 16 }).0, Err(Errno::EINVAL));
        let rx = Call::MemObjectMap { pid: 0, handle: h, offset: 0, size: 4096, addr: 0, prot: 5 };
        assert_eq!(call(&mut s, rx).0, Err(Errno::EACCES), "device memory is never executable");
        let grow = Call::MemObjectResize { handle: h, size: 8192 };
        assert_eq!(call(&mut s, grow).0, Err(Errno::EBUSY), "RAM added to device registers");
        let rw = Call::MemObjectMap { pid: 0, handle: h, offset: 0, size: 4096, addr: 0, prot: 3 };
        let at = call(&mut s, rw).0.unwrap() as usize;
        let space = s.processes.get(init.0).unwrap().space.as_ref().unwrap();
        let region = space.regions().iter().find(|r| r.start == at).unwrap();
        assert_eq!(region.attrs.kind, crate::mem::paging::MemoryKind::Device);
        // MemProtect keeps the memory type (the kernel still refuses the page as a
        // buffer), and never makes device memory executable, whatever the maximum.
        assert_eq!(call(&mut s, Call::MemProtect { addr: at, size: 4096, prot: mem_prot::READ }).0, Ok(0));
        let table = s.processes.get(init.0).unwrap().space.as_ref().unwrap().table;
        let kind = table.translate(&mut s.machine, at).map(|t| t.attrs.kind);
        assert_eq!(kind, Some(crate::mem::paging::MemoryKind::Device));
        assert_eq!(call(&mut s, Call::DebugWrite { ptr: at, len: 4 }).0, Err(Errno::EFAULT));
        let prot = mem_prot::with_max(mem_prot::READ, mem_prot::READ | mem_prot::EXEC);
        let readable = Call::MemObjectMap { pid: 0, handle: h, offset: 0, size: 4096, addr: 0, prot };
        let readable = call(&mut s, readable).0.unwrap() as usize;
        let exec = Call::MemProtect { addr: readable, size: 4096, prot: mem_prot::READ | mem_prot::EXEC };
        assert_eq!(call(&mut s, exec).0, Err(Errno::EACCES));
        assert_eq!(call(&mut s, Call::MemUnmap { addr: readable, size: 4096 }).0, Ok(0));
        let frames = s.machine.frames_in_use();
        assert_eq!(call(&mut s, Call::MemUnmap { addr: at, size: 4096 }).0, Ok(0));
        run(&mut s, Call::MemObjectClose { handle: h });
        assert_eq!(s.machine.frames_in_use(), frames, "device pages are never freed as RAM");
        // Only with I/O privilege.
        let child =
            call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 6, parent: 0, flags: 0, group: 0 }).0.unwrap();
        let driver =
            call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 6, parent: 0, flags: 1, group: 0 }).0.unwrap();
        assert!(!s.processes.get(child as u32).unwrap().io && s.processes.get(driver as u32).unwrap().io);
        assert_eq!(
            call(&mut s, Call::ProcessCreate { name_ptr: name, name_len: 6, parent: 0, flags: 2, group: 0 }).0,
            Err(Errno::EINVAL)
        );
        let user = s.spawn("low", b"", None, None, false).unwrap();
        s.terminate_process(init, 0);
        s.schedule();
        assert_eq!(running(&s).map(|r| r.0), Some(user.0));
        assert_eq!(call(&mut s, uart).0, Err(Errno::EPERM));
    }

    #[test]
    fn kill_and_child_events() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let child = s.spawn("low", b"", None, Some(init), false).unwrap();
        s.schedule();
        let chid = call(&mut s, Call::ChannelCreate { flags: 0 }).0.unwrap() as u32;
        let coid = call(&mut s, Call::ConnectAttach { pid: 0, chid }).0.unwrap() as u32;
        let event = user_bytes(&mut s, &abi::ipc::SigEvent::pulse(coid, 10, 5, 0).to_bytes());
        assert_eq!(call(&mut s, Call::ProcessChildEvent { event }).0, Ok(0));
        assert_eq!(call(&mut s, Call::ProcessKill { pid: 999, status: 0, flags: 0 }).0, Err(Errno::ESRCH));
        assert_eq!(call(&mut s, Call::ProcessKill { pid: child.0, status: 9, flags: 0 }).0, Ok(0));
        let buffer = user_bytes(&mut s, &[0u8; 64]);
        let receive = Call::MsgReceivev { chid, buffer, parts: -64, info: 0 };
        assert_eq!(call(&mut s, receive).0, Ok(0), "a pulse");
        let mut pulse = [0u8; abi::ipc::Pulse::SIZE];
        s.read_user(init, buffer, &mut pulse).unwrap();
        let pulse = abi::ipc::Pulse::from_bytes(&pulse).unwrap();
        assert_eq!((pulse.code, pulse.value), (5, child.0 as u64));
        assert_eq!(call(&mut s, Call::ProcessWait { pid: 0 }), (Ok(9), child.0 as u64));
    }

    #[test]
    fn process_groups_are_joined_or_led_and_ended_whole() {
        use abi::syscall::{kill_flags::GROUP, NEW_PROCESS_GROUP};
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let other_init = s.spawn("init", b"", None, None, true).unwrap();
        s.schedule();
        let name = user_bytes(&mut s, b"child");
        let create = |s: &mut System<FakeMachine>, parent: u32, group: u32| {
            let made = call(s, Call::ProcessCreate { name_ptr: name, name_len: 5, parent, flags: 0, group }).0;
            made.map(|pid| pid as u32)
        };
        let group_of = |s: &System<FakeMachine>, pid: u32| s.processes.get(pid).map(|p| p.group);
        let job = create(&mut s, 0, NEW_PROCESS_GROUP).unwrap(); // a pipeline's first stage
        let job_s_process = s.processes.get_mut(job).unwrap();
        job_s_process.exit_status = Some(0); // (a first stage that ended: its group stays)
        let stage = create(&mut s, 0, job).unwrap(); // its second
        s.processes.get_mut(job).unwrap().exit_status = None;
        let grandchild = create(&mut s, stage, 0).unwrap(); // what the stage starts
        let other_job = create(&mut s, 0, NEW_PROCESS_GROUP).unwrap();
        assert_eq!(group_of(&s, init.0), Some(init.0), "the kernel's processes lead their own");
        assert_eq!(
            [job, stage, grandchild, other_job].map(|p| group_of(&s, p)),
            [Some(job), Some(job), Some(job), Some(other_job)]
        );
        assert_eq!(s.thread_list().iter().find(|t| t.pid == init.0).map(|t| t.group), Some(init.0));
        // Only a group of the parent's family may be joined.
        assert_eq!(create(&mut s, other_job, job), Err(Errno::EPERM), "its parent's child's, not its own");
        assert_eq!(create(&mut s, 0, other_init.0), Err(Errno::EPERM), "another family's");
        assert_eq!(create(&mut s, 0, 12345), Err(Errno::EPERM), "no such group");
        // A group ends whole, and nothing else does.
        let kill = |s: &mut System<FakeMachine>, pid: u32, flags: u32| {
            call(s, Call::ProcessKill { pid, status: 130, flags }).0
        };
        assert_eq!(kill(&mut s, job, 2), Err(Errno::EINVAL), "unknown flags");
        assert_eq!(kill(&mut s, job, GROUP), Ok(0));
        let alive = |s: &System<FakeMachine>, pid: u32| s.processes.get(pid).is_some_and(|p| p.exit_status.is_none());
        assert_eq!([job, stage, grandchild, other_job].map(|p| alive(&s, p)), [false, false, false, true]);
        assert_eq!(kill(&mut s, job, GROUP), Err(Errno::ESRCH), "no member left");
        assert_eq!(kill(&mut s, other_job, 0), Ok(0), "a pid alone");
        // A caller in the group ends with it, last.
        let child = create(&mut s, 0, 0).unwrap();
        assert_eq!(group_of(&s, child), Some(init.0));
        assert!(call(&mut s, Call::ProcessKill { pid: init.0, status: 1, flags: GROUP }).0.is_ok());
        assert!(!alive(&s, init.0) && !alive(&s, child) && alive(&s, other_init.0));
    }

    #[test]
    fn every_wait_a_reaped_child_can_no_longer_end_fails_with_echild() {
        // (A review found a second thread waiting for the same child blocked for good.)
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let child = s.spawn("low", b"", None, Some(init), false).unwrap();
        let main = s.thread_of(init, 1).unwrap();
        let (second, any) =
            (crate::testing::new_thread(&mut s, main, 10), crate::testing::new_thread(&mut s, main, 10));
        for (t, pid) in [(main, child.0), (second, child.0), (any, 0)] {
            let _ = crate::testing::as_thread(&mut s, t, Call::ProcessWait { pid });
            assert!(matches!(s.threads.get(t.0).unwrap().state, ThreadState::Blocked(Blocked::WaitChild(_))));
        }
        s.terminate_process(child, 3);
        let woken = |s: &System<FakeMachine>, t: ThreadId| {
            let t = s.threads.get(t.0).unwrap();
            (t.state == ThreadState::Ready, t.context.x[0])
        };
        let echild = encode_result(Err(Errno::ECHILD));
        assert_eq!(woken(&s, main), (true, 3), "the first waiter reaps it");
        assert_eq!(woken(&s, second), (true, echild), "no such child any more");
        assert_eq!(woken(&s, any), (true, echild), "no child left at all");
    }

    #[test]
    fn a_child_killed_before_it_started_leaves_no_trace() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let started = s.spawn("low", b"", None, Some(init), false).unwrap();
        let main = s.thread_of(init, 1).unwrap();
        let unstarted = s.spawn("low", b"", None, Some(init), false).unwrap();
        for t in s.processes.get(unstarted.0).unwrap().threads.iter().flatten().copied().collect::<Vec<_>>() {
            s.threads.remove(t.0); // (as if its loading failed before its first thread)
        }
        s.processes.get_mut(unstarted.0).unwrap().threads.clear();
        let killer = crate::testing::new_thread(&mut s, main, 10);
        let _ = crate::testing::as_thread(&mut s, main, Call::ProcessWait { pid: 0 });
        let killed =
            crate::testing::as_thread(&mut s, killer, Call::ProcessKill { pid: unstarted.0, status: 9, flags: 0 });
        assert_eq!(killed.0, Ok(0));
        assert!(
            matches!(s.threads.get(main.0).unwrap().state, ThreadState::Blocked(Blocked::WaitChild(None))),
            "the waiter was woken by a child that never ran"
        );
        assert_eq!(s.processes.get(init.0).unwrap().children, [started]);
    }

    #[test]
    fn zombie_status_kept_until_waited_and_orphans_reaped() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let child = s.spawn("high", b"", None, Some(init), false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, child.0);
        run(&mut s, Call::ProcessExit { status: 5 });
        assert_eq!(s.process_count(), 2, "zombie kept for its parent");
        assert_eq!(call(&mut s, Call::ProcessWait { pid: 0 }), (Ok(5), child.0 as u64));
        assert_eq!(s.process_count(), 1);
        // An orphan's status is dropped at once.
        let orphan = s.spawn("high", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, orphan.0);
        run(&mut s, Call::ProcessExit { status: 1 });
        assert_eq!(s.process_count(), 1);
    }

    #[test]
    fn a_faulting_process_is_killed_and_reported_others_run_on() {
        let mut s = system();
        let init = s.spawn("init", b"", None, None, true).unwrap();
        let bad = s.spawn("high", b"", None, Some(init), false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, bad.0);
        run(&mut s, Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched: 0 });
        let frames_with_bad = s.machine.frames_in_use();
        s.user_fault(UserFault { class: 0x24, description: "data abort", address: Some(0), pc: 0x40_0010 });
        let report = s.machine.console_text();
        assert!(
            report.contains(&format!(
                "process {} (high) thread 1 killed: data abort at 0x0 (pc 0x400010, lr 0x0, sp ",
                bad.0
            )),
            "{report}"
        );
        assert_eq!(running(&s).unwrap().0, init.0);
        while s.reclaim_step() {} // (what the idle CPU does)
        assert!(s.machine.frames_in_use() < frames_with_bad);
        assert_eq!(s.thread_count(), 1, "both of its threads are gone");
        assert_eq!(call(&mut s, Call::ProcessWait { pid: 0 }), (Ok(wait_status::killed(0x24)), bad.0 as u64));
    }

    #[test]
    fn sched_set_get_and_permissions() {
        let mut s = system();
        let a = s.spawn("init", b"", None, None, false).unwrap();
        let b = s.spawn("low", b"", None, None, false).unwrap();
        s.schedule();
        assert_eq!(running(&s).unwrap().0, a.0);
        let (get, current) = call(&mut s, Call::SchedGet { pid: 0, tid: 0 });
        let get = get.unwrap();
        assert_eq!(current, SchedParam::decode(get).unwrap().priority as u64, "nothing inherited: runs at its own");
        assert_eq!(SchedParam::decode(get), Ok(SchedParam { policy: Policy::RoundRobin, priority: 10 }));
        let set_b =
            Call::SchedSet { pid: b.0, tid: 1, sched: SchedParam { policy: Policy::Fifo, priority: 90 }.encode() };
        assert_eq!(call(&mut s, set_b).0, Err(Errno::EPERM));
        let lower_self = SchedParam { policy: Policy::Fifo, priority: 3 }.encode();
        assert_eq!(call(&mut s, Call::SchedSet { pid: 0, tid: 0, sched: lower_self }).0, Ok(0));
        assert_eq!(running(&s).unwrap().0, b.0, "lowering below a ready thread gives up the CPU");
        let other = call(&mut s, Call::SchedGet { pid: a.0, tid: 1 }).0.unwrap();
        assert_eq!(SchedParam::decode(other).unwrap().priority, 3);
    }

    #[test]
    fn priorities_above_63_are_for_the_system_programs() {
        let mut s = system();
        let manager = s.spawn("init", b"", None, None, true).unwrap();
        let plain = s.spawn("init", b"", None, None, false).unwrap();
        let fifo = |priority| SchedParam { policy: Policy::Fifo, priority }.encode();
        // The process manager starts programs on someone's behalf: above 63 only when the
        // program or its parent may ask for it.
        let tm = s.thread_of(manager, 1).unwrap();
        let name = as_thread(&mut s, tm, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        s.write_user(manager, name, b"child").unwrap();
        let start = |s: &mut System<FakeMachine>, parent: ProcessId, priority| {
            let create = Call::ProcessCreate { name_ptr: name, name_len: 5, parent: parent.0, flags: 0, group: 0 };
            let child = as_thread(s, tm, create).0.unwrap() as u32;
            let sched = fifo(priority);
            let start = Call::ProcessStart { pid: child, entry: 0x40_0000, sp: 0x7000_0000, args: [0; 3], sched };
            as_thread(s, tm, start).0
        };
        assert_eq!(start(&mut s, plain, 64), Err(Errno::EPERM), "for a plain program");
        assert!(start(&mut s, plain, 63).is_ok());
        assert!(start(&mut s, manager, 200).is_ok(), "for the manager itself");
        // A plain program's own threads, pulses and events.
        let t = s.thread_of(plain, 1).unwrap();
        let as_plain = |s: &mut System<FakeMachine>, c: Call| as_thread(s, t, c).0;
        assert_eq!(as_plain(&mut s, Call::SchedSet { pid: 0, tid: 0, sched: fifo(64) }), Err(Errno::EPERM));
        let create = |priority| Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched: fifo(priority) };
        assert_eq!(as_plain(&mut s, create(64)), Err(Errno::EPERM));
        let chid = as_plain(&mut s, Call::ChannelCreate { flags: 0 }).unwrap() as u32;
        let coid = as_plain(&mut s, Call::ConnectAttach { pid: 0, chid }).unwrap() as u32;
        let pulse = |priority| Call::MsgSendPulse { coid, priority, code: 1, value: 0 };
        assert_eq!(as_plain(&mut s, pulse(64)), Err(Errno::EPERM));
        assert_eq!(as_plain(&mut s, pulse(63)), Ok(0));
        assert_eq!(as_plain(&mut s, pulse(abi::syscall::SENDER_PRIORITY)), Ok(0), "the priority it runs at");
        let at = as_plain(&mut s, Call::MemMapAnon { size: PAGE_SIZE }).unwrap() as usize;
        s.write_user(plain, at, &abi::ipc::SigEvent::pulse(coid, 64, 1, 0).to_bytes()).unwrap();
        assert_eq!(as_plain(&mut s, Call::TimerCreate { event: at }), Err(Errno::EPERM));
        assert_eq!(as_plain(&mut s, Call::MsgRegisterEvent { event: at, coid }), Err(Errno::EPERM));
        assert!(as_plain(&mut s, create(63)).is_ok());
        assert_eq!(as_plain(&mut s, Call::SchedSet { pid: 0, tid: 0, sched: fifo(63) }), Ok(0));
        // A system program may.
        assert!(as_thread(&mut s, tm, create(200)).0.is_ok());
        assert_eq!(as_thread(&mut s, tm, Call::SchedSet { pid: 0, tid: 0, sched: fifo(255) }).0, Ok(0));
    }

    #[test]
    fn anonymous_memory_maps_and_unmaps() {
        let mut s = system();
        s.spawn("init", b"", None, None, false).unwrap();
        s.schedule();
        let before = s.machine.frames_in_use();
        let at = call(&mut s, Call::MemMapAnon { size: 5000 }).0.unwrap() as usize;
        assert!(at >= abi::USER_ANON_BASE && at.is_multiple_of(PAGE_SIZE));
        assert!(s.machine.frames_in_use() >= before + 2);
        let second = call(&mut s, Call::MemMapAnon { size: 1 }).0.unwrap() as usize;
        assert!(second >= at + 0x2000, "no overlap");
        assert_eq!(call(&mut s, Call::MemUnmap { addr: at, size: 5000 }).0, Ok(0));
        assert_eq!(call(&mut s, Call::MemUnmap { addr: at, size: 5000 }).0, Err(Errno::EINVAL));
        let info_at = call(&mut s, Call::MemMapAnon { size: 4096 }).0.unwrap() as usize;
        assert_eq!(call(&mut s, Call::ThreadList { ptr: info_at, len: 4096 }).0, Ok(1));
        let pid = s.thread_ids(s.current().unwrap()).unwrap().0;
        let mut rec = [0u8; ThreadInfo::SIZE];
        s.read_user(pid, info_at, &mut rec).unwrap();
        let info = ThreadInfo::from_bytes(&rec).unwrap();
        assert_eq!((info.name_str(), info.state), ("init", ThreadStateCode::Running as u8));
        assert_eq!(call(&mut s, Call::GetIds).0, Ok(pid.0 as u64 | 1 << 32));
        let _ = Sysno::Nop;
    }

    #[test]
    fn privileged_shutdown_and_idle_when_nothing_runs() {
        let mut s = system();
        s.spawn("init", b"", None, None, true).unwrap();
        s.schedule();
        assert_eq!(call(&mut s, Call::Shutdown { code: 7 }).0, Ok(0));
        assert_eq!(s.machine.shutdown_code, Some(7));
        run(&mut s, Call::ProcessExit { status: 0 });
        assert_eq!(s.current(), None);
        assert!(!s.has_work());
        assert_eq!(s.process_count(), 0);
        while s.reclaim_step() {} // (what the idle CPU does)
        assert_eq!(s.machine.frames_in_use(), 0, "everything returned");
    }
}
