//! A [`Machine`] made of heap pages, for host tests of the kernel core.

use crate::machine::Machine;
use crate::mem::paging::{Table, TableMemory, ENTRIES};
use crate::mem::PAGE_SIZE;
use crate::system::System;
use crate::thread::{ThreadId, ThreadState};
use abi::bootimage::writer::{write, ProgramSpec, SegmentSpec};
use abi::bootimage::{flags, BootImage, START_AT_BOOT};
use abi::sched::{Policy, SchedParam};
use abi::syscall::{decode_result, Call, Registers, RESTARTED_CALL};
use abi::Errno;
use std::boxed::Box;
use std::collections::HashMap;
use std::vec;
use std::vec::Vec;

/// Fake physical memory, TLB, clock and console.
pub struct FakeMachine {
    tables: HashMap<usize, Box<Table>>,
    frames: HashMap<usize, Box<[u8; PAGE_SIZE]>>,
    next: usize,
    /// Refuse allocations once this many frames (tables included) are in use.
    pub frame_limit: Option<usize>,
    /// Every (asid, va) flushed.
    pub flushed_pages: Vec<(u16, usize)>,
    /// Every asid flushed.
    pub flushed_asids: Vec<u16>,
    /// The clock.
    pub now: u64,
    /// Console output.
    pub console: Vec<u8>,
    /// Set by `shutdown`.
    pub shutdown_code: Option<u32>,
    /// Interrupts routed to user space, and whether each is masked.
    pub interrupts: std::collections::BTreeMap<u32, bool>,
    /// The earliest wake-up the kernel last reported through
    /// `System::next_wakeup_if_changed` (what the real machine would have armed).
    pub wakeup: Option<u64>,
    /// The cache of user translations (so the host tests use it as the target does).
    pub tlb: crate::mem::usertlb::UserTlb,
    /// The address space "in TTBR0": the caller's during a call made through [`call`],
    /// which `translate_loaded` answers for by a walk, as the MMU does on the target.
    pub loaded: Option<crate::mem::paging::PageTable>,
    /// `interrupt_pending` says yes at every this many looks (`None`: never).
    pub interrupt_every: Option<u64>,
    /// How many times `interrupt_pending` was asked.
    pub interrupt_looks: u64,
    /// What `kernel_memory_low` says.
    pub kernel_memory_low: bool,
}

impl FakeMachine {
    /// Empty memory at time 0.
    pub fn new() -> Self {
        Self {
            tables: HashMap::new(),
            frames: HashMap::new(),
            next: 0x1000_0000,
            frame_limit: None,
            flushed_pages: Vec::new(),
            flushed_asids: Vec::new(),
            now: 0,
            console: Vec::new(),
            shutdown_code: None,
            interrupts: std::collections::BTreeMap::new(),
            wakeup: None,
            tlb: crate::mem::usertlb::UserTlb::new(),
            loaded: None,
            interrupt_every: None,
            interrupt_looks: 0,
            kernel_memory_low: false,
        }
    }

    /// Whether `pa` is an allocated frame (for tests).
    pub fn holds_frame(&self, pa: usize) -> bool {
        self.frames.contains_key(&pa)
    }

    /// Frames and tables currently allocated.
    pub fn frames_in_use(&self) -> usize {
        self.tables.len() + self.frames.len()
    }

    /// Console output as text.
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }

    fn next_address(&mut self) -> Option<usize> {
        if self.frame_limit.is_some_and(|l| self.frames_in_use() >= l) {
            return None;
        }
        self.next += PAGE_SIZE;
        Some(self.next)
    }
}

impl TableMemory for FakeMachine {
    fn alloc_table(&mut self) -> Option<usize> {
        let pa = self.next_address()?;
        self.tables.insert(pa, Box::new([0; ENTRIES]));
        Some(pa)
    }
    fn table(&mut self, phys: usize) -> &mut Table {
        self.tables.get_mut(&phys).expect("not a table")
    }
    fn free_table(&mut self, phys: usize) {
        self.tables.remove(&phys).expect("table freed twice");
    }
}

impl Machine for FakeMachine {
    fn alloc_frame(&mut self) -> Option<usize> {
        let pa = self.next_address()?;
        self.frames.insert(pa, Box::new([0; PAGE_SIZE]));
        Some(pa)
    }
    fn free_frame(&mut self, phys: usize) {
        self.frames.remove(&phys).expect("frame freed twice");
    }
    fn free_frames(&self) -> usize {
        self.frame_limit.map_or(usize::MAX, |limit| limit.saturating_sub(self.frames_in_use()))
    }
    fn frame(&mut self, phys: usize) -> &mut [u8; PAGE_SIZE] {
        self.frames.get_mut(&phys).expect("not a frame")
    }
    fn copy_physical(&mut self, src: usize, dst: usize, len: usize) {
        let page = |pa: usize| pa & !(PAGE_SIZE - 1);
        let from = self.frames[&page(src)][src % PAGE_SIZE..][..len].to_vec();
        self.frame(page(dst))[dst % PAGE_SIZE..][..len].copy_from_slice(&from);
    }
    fn user_tlb(&mut self) -> Option<&mut crate::mem::usertlb::UserTlb> {
        Some(&mut self.tlb)
    }
    fn translate_loaded(&mut self, root: usize, va: usize, write: bool) -> Option<Option<usize>> {
        // What `AT S1E0R/W` gives on the target: the page if EL0 may read (write) it.
        let table = self.loaded.filter(|t| t.root() == root)?;
        let t = table.translate(self, va);
        let normal = |t: &crate::mem::paging::Translation| t.attrs.kind != crate::mem::paging::MemoryKind::Device;
        Some(t.filter(|t| normal(t) && t.attrs.user && (t.attrs.writable || !write)).map(|t| t.phys & !(PAGE_SIZE - 1)))
    }
    fn flush_tlb_page(&mut self, asid: u16, va: usize) {
        self.flushed_pages.push((asid, va));
    }
    fn flush_tlb_asid(&mut self, asid: u16) {
        self.flushed_asids.push(asid);
    }
    fn interrupt_pending(&mut self) -> bool {
        // An interrupt pending at every `interrupt_every`-th look, if set.
        let Some(every) = self.interrupt_every else { return false };
        self.interrupt_looks += 1;
        self.interrupt_looks.is_multiple_of(every)
    }
    fn now_ns(&self) -> u64 {
        self.now
    }
    fn console_write(&mut self, bytes: &[u8]) {
        self.console.extend_from_slice(bytes);
    }
    fn shutdown(&mut self, code: u32) {
        self.shutdown_code = Some(code);
    }
    fn interrupt_attach(&mut self, irq: u32) -> Result<(), Errno> {
        match irq {
            30 => Err(Errno::EBUSY), // the kernel's timer
            0..=1019 => {
                self.interrupts.insert(irq, false);
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }
    fn interrupt_detach(&mut self, irq: u32) {
        self.interrupts.remove(&irq);
    }
    fn interrupt_set_masked(&mut self, irq: u32, masked: bool) {
        if let Some(m) = self.interrupts.get_mut(&irq) {
            *m = masked;
        }
    }
    fn is_device_range(&self, phys: usize, size: usize) -> bool {
        // A pretend UART page.
        phys >= 0x0900_0000 && phys.checked_add(size).is_some_and(|end| end <= 0x0900_1000)
    }
    fn kernel_memory_low(&self) -> bool {
        self.kernel_memory_low
    }
    fn system_info(&self) -> abi::info::SystemInfo {
        abi::info::SystemInfo { virtual_timer_irq: 27, counter_hz: 1_000_000_000, ..Default::default() }
    }
}

pub(crate) fn program(name: &'static str, priority: u8, policy: Policy) -> ProgramSpec<'static> {
    ProgramSpec {
        name,
        priority,
        policy: policy as u8,
        flags: START_AT_BOOT,
        entry: 0x40_0000,
        args: b"",
        segments: vec![
            SegmentSpec {
                vaddr: 0x40_0000,
                mem_size: 0x1000,
                flags: flags::READ | flags::EXECUTE,
                data: b"\x00\x00\x00\x14",
            },
            SegmentSpec { vaddr: 0x40_1000, mem_size: 0x2000, flags: flags::READ | flags::WRITE, data: b"data" },
        ],
    }
}

pub(crate) fn system() -> System<FakeMachine> {
    let image = write(&[
        program("init", 10, Policy::RoundRobin),
        program("low", 5, Policy::RoundRobin),
        program("high", 50, Policy::Fifo),
        program("rr", 10, Policy::RoundRobin),
        program("fifo", 10, Policy::Fifo),
    ])
    .unwrap();
    let image: &'static [u8] = Box::leak(image.into_boxed_slice());
    System::new(FakeMachine::new(), BootImage::parse(image).unwrap())
}

/// What [`call`] returns when the caller blocked (its registers are not written yet).
pub(crate) const BLOCKED: Result<u64, Errno> = Ok(u64::MAX);

/// Makes `call` as the current thread; returns its decoded x0 (and raw x1), or
/// [`BLOCKED`].
pub(crate) fn call(s: &mut System<FakeMachine>, c: Call) -> (Result<u64, Errno>, u64) {
    call_registers(s, &c.to_registers())
}

/// [`call`] of raw registers.
pub(crate) fn call_registers(s: &mut System<FakeMachine>, regs: &Registers) -> (Result<u64, Errno>, u64) {
    check_wakeup_cache(s);
    let cur = s.current().expect("a thread is running");
    // The caller's address space is the loaded one during its call.
    let pid = s.threads.get(cur.0).expect("the running thread").process;
    s.machine.loaded = s.processes.get(pid.0).and_then(|p| p.space.as_ref()).map(|space| space.table);
    s.syscall(regs);
    check_wakeup_cache(s);
    if matches!(s.threads.get(cur.0).map(|t| t.state), Some(ThreadState::Blocked(_))) {
        return (BLOCKED, 0);
    }
    match s.context_mut(cur) {
        Some(ctx) => (decode_result(ctx.x[0]), ctx.x[1]),
        None => (Ok(u64::MAX), 0),
    }
}

/// What the return to user space does about the timer, checked: when the kernel says
/// the next wake-up did not change, it must really be the one it reported last. Run
/// around every call of every host test, so a mutation site that forgets to report a
/// change fails some test.
pub(crate) fn check_wakeup_cache(s: &mut System<FakeMachine>) {
    match s.next_wakeup_if_changed() {
        Some(w) => s.machine.wakeup = w,
        None => assert_eq!(s.next_wakeup(), s.machine.wakeup, "the next wake-up changed unreported"),
    }
}

/// Makes `call` as the current thread when its result does not matter.
pub(crate) fn run(s: &mut System<FakeMachine>, c: Call) {
    let _ = call(s, c);
}

/// Makes `thread` the running thread (it must be ready or running), as a test may.
pub(crate) fn switch_to(s: &mut System<FakeMachine>, thread: ThreadId) {
    let state = s.threads.get(thread.0).map(|t| t.state);
    assert!(
        matches!(state, Some(ThreadState::Ready | ThreadState::Running)),
        "a test ran thread {thread:?}, which is {state:?} (a blocked thread makes no calls)"
    );
    if let Some(c) = s.current {
        if c != thread && s.threads.get(c.0).is_some_and(|t| t.state == ThreadState::Running) {
            s.make_ready(c);
        }
    }
    s.ready.remove(thread.index());
    s.threads.get_mut(thread.0).unwrap().state = ThreadState::Running;
    s.current = Some(thread);
}

/// Makes call `c` as `thread`.
pub(crate) fn as_thread(s: &mut System<FakeMachine>, thread: ThreadId, c: Call) -> (Result<u64, Errno>, u64) {
    switch_to(s, thread);
    call(s, c)
}

/// Makes, as `t`, the call a pending interrupt stopped (`Outcome::Restart`), as `t` does
/// once the interrupt is taken: its PC is back on the `svc` (checked; `pc` is where it
/// was after it) and its registers are those the kernel left, `x8`
/// `RESTARTED_CALL` (checked).
pub(crate) fn made_again(s: &mut System<FakeMachine>, t: ThreadId, pc: u64) -> (Result<u64, Errno>, u64) {
    let ctx = s.context_mut(t).unwrap();
    assert_eq!(ctx.pc, pc - 4, "a restarted call goes back over its svc");
    assert_eq!(ctx.x[8], RESTARTED_CALL, "a restarted call takes no fast path");
    ctx.pc = pc;
    let regs = Registers { number: ctx.x[8], args: ctx.x[..8].try_into().unwrap() };
    switch_to(s, t);
    call_registers(s, &regs)
}

/// Makes call `c` as `t`, and again as `t` would each time a pending interrupt stops
/// it; returns its result and how many times it was made again.
pub(crate) fn restarting(s: &mut System<FakeMachine>, t: ThreadId, c: Call) -> (Result<u64, Errno>, usize) {
    let pc = s.context_mut(t).unwrap().pc;
    let first = as_thread(s, t, c).0;
    restarted(s, t, pc, first)
}

/// What [`restarting`] does once the call of `t` (`pc` past its `svc`) gave `result`:
/// makes it again while it stops.
pub(crate) fn restarted(
    s: &mut System<FakeMachine>,
    t: ThreadId,
    pc: u64,
    mut result: Result<u64, Errno>,
) -> (Result<u64, Errno>, usize) {
    let mut restarts = 0;
    while s.threads.get(t.0).is_some_and(|t| t.restart.is_some()) {
        result = made_again(s, t, pc).0;
        restarts += 1;
        assert!(restarts < 1000, "restarted without end");
    }
    (result, restarts)
}

/// A new FIFO thread of `priority` in `creator`'s process, created by `creator`.
pub(crate) fn new_thread(s: &mut System<FakeMachine>, creator: ThreadId, priority: u8) -> ThreadId {
    let sched = SchedParam { policy: Policy::Fifo, priority }.encode();
    let tid = as_thread(s, creator, Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 0, sched });
    assert!(tid.0.is_ok(), "{tid:?}");
    let pid = s.threads.get(creator.0).unwrap().process;
    s.thread_of(pid, tid.0.unwrap() as u32).unwrap()
}

/// A small deterministic generator (xorshift) for the random tests.
pub(crate) struct Rand(pub(crate) u64);

impl Rand {
    /// A number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// One of `from`.
    pub(crate) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}
