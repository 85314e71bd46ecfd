//! Running user space: the one [`System`] instance, the [`Machine`] it runs on, and the
//! paths between the exception vectors and the core — system calls, user faults, lazy
//! FP/SIMD switching, timer interrupts, the idle loop, and the return to EL0.
//!
//! The system lives behind a spin lock that is only taken with IRQs masked (the kernel
//! runs with IRQs masked except in the idle loop), so interrupt handlers and system
//! calls never contend on one CPU.

use crate::arch::aarch64::esr::{self, class};
use crate::arch::{self, mmu, timer};
use crate::boot::FRAMES;
use crate::fastpath::{Fast, ReturnInfo};
use crate::fpswitch::{FpHandover, FpOnReturn};
use crate::irq::Irq;
use crate::machine::Machine;
use crate::mem::layout::phys_to_virt;
use crate::mem::paging::{Table, TableMemory};
use crate::mem::usertlb::UserTlb;
use crate::mem::PAGE_SIZE;
use crate::system::{System, UserFault};
use crate::thread::ThreadId;
use crate::{console, interrupts, percpu};
use abi::bootimage::{BootImage, START_AT_BOOT};
use abi::info::SystemInfo;
use abi::syscall::{Registers, Sysno};
use alloc::format;
use core::sync::atomic::Ordering;

/// The scheduler tick: round-robin timeslices are counted in these.
pub const TICK_NS: u64 = 1_000_000;

/// Page alignment for the boot image, so its frames can be mapped into pid 1 as they are.
#[repr(C, align(4096))]
struct PageAligned<T: ?Sized>(T);

static ALIGNED_BOOT_IMAGE: &PageAligned<[u8]> = &PageAligned(*include_bytes!(env!("MUON_BOOT_IMAGE_FILE")));

/// The boot image linked into this kernel (see `kernel/build.rs`).
pub static BOOT_IMAGE: &[u8] = &ALIGNED_BOOT_IMAGE.0;

static SYSTEM: spin::Mutex<Option<System<TargetMachine>>> = spin::Mutex::new(None);

/// The real machine: frames from the frame allocator reached through the linear map.
pub struct TargetMachine {
    /// The kernel's cache of user translations.
    tlb: UserTlb,
}

impl TableMemory for TargetMachine {
    fn alloc_table(&mut self) -> Option<usize> {
        self.alloc_frame()
    }
    fn table(&mut self, phys: usize) -> &mut Table {
        // SAFETY: `phys` is a frame this machine handed out as a table, owned by the
        // caller's page table for as long as the borrow of `self` lasts; the linear map
        // covers it read-write, and a 4 KiB frame holds exactly one aligned table.
        unsafe { &mut *(phys_to_virt(phys) as *mut Table) }
    }
    fn free_table(&mut self, phys: usize) {
        self.free_frame(phys);
    }
    fn tables_written(&mut self) {
        mmu::tables_written();
    }
}

impl Machine for TargetMachine {
    fn alloc_frame(&mut self) -> Option<usize> {
        let phys = FRAMES.lock().alloc(1).ok()?;
        self.frame(phys).fill(0);
        Some(phys)
    }
    fn free_frame(&mut self, phys: usize) {
        if FRAMES.lock().free(phys, 1).is_err() {
            log::error!("frame {phys:#x} freed twice or never allocated");
        }
    }
    fn free_frames(&self) -> usize {
        FRAMES.lock().free_frames()
    }
    fn frame(&mut self, phys: usize) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: as for `table`: the frame belongs to the caller's object, and the
        // linear map covers it read-write.
        unsafe { &mut *(phys_to_virt(phys) as *mut [u8; PAGE_SIZE]) }
    }
    fn copy_physical(&mut self, src: usize, dst: usize, len: usize) {
        // SAFETY: both ranges lie inside frames owned by the two address spaces taking
        // part in the transfer (checked by the caller's table walks), reached through the
        // linear map; `copy_bytes` allows them to overlap (within one frame).
        unsafe { arch::copy::copy_bytes(phys_to_virt(dst) as *mut u8, phys_to_virt(src) as *const u8, len) };
    }
    fn user_tlb(&mut self) -> Option<&mut UserTlb> {
        Some(&mut self.tlb)
    }
    #[inline(always)]
    fn translate_loaded(&mut self, root: usize, va: usize, write: bool) -> Option<Option<usize>> {
        // (TTBR0 holds the root's physical address below the ASID; every write of it is
        // followed by an exception return or entry before the kernel translates again,
        // which makes it the one the MMU uses.)
        let loaded = percpu::this_cpu().loaded_ttbr0.load(Ordering::Relaxed);
        if loaded & mmu::TTBR_BASE_ADDRESS != root as u64 {
            return None;
        }
        Some(mmu::translate_for_el0(va, write))
    }
    fn flush_tlb_page(&mut self, asid: u16, va: usize) {
        mmu::flush_tlb_user_page(asid, va);
    }
    fn flush_tlb_asid(&mut self, asid: u16) {
        mmu::flush_tlb_asid(asid);
    }
    fn interrupt_pending(&mut self) -> bool {
        arch::irq_pending()
    }
    fn now_ns(&self) -> u64 {
        interrupts::clock().ticks_to_ns(timer::now())
    }
    fn console_write(&mut self, bytes: &[u8]) {
        console::write_bytes(bytes);
    }
    fn shutdown(&mut self, code: u32) {
        log::info!("shutdown requested (exit code {code})");
        arch::semihosting::exit(code);
    }
    fn interrupt_attach(&mut self, irq: u32) -> Result<(), abi::Errno> {
        interrupts::attach_user(Irq(irq))
    }
    fn interrupt_detach(&mut self, irq: u32) {
        interrupts::detach_user(Irq(irq));
    }
    fn interrupt_set_masked(&mut self, irq: u32, masked: bool) {
        interrupts::set_user_masked(Irq(irq), masked);
    }
    fn is_device_range(&self, phys: usize, size: usize) -> bool {
        let Some(end) = phys.checked_add(size) else { return false };
        crate::boot::facts().is_some_and(|f| f.board.device_regions().iter().any(|r| r.start <= phys && end <= r.end))
    }
    fn kernel_memory_low(&self) -> bool {
        // The reserve: a sixteenth of the heap, 256 KiB at least (the bounded allocations
        // of any call — a message's I/O vector, a thread list — fit in it many times).
        let (used, total) = crate::mem::heap::usage();
        total.saturating_sub(used) < (total / 16).max(256 << 10)
    }
    fn system_info(&self) -> SystemInfo {
        let mut info = SystemInfo { counter_hz: timer::frequency(), ..Default::default() };
        if let Some(facts) = crate::boot::facts() {
            let name = facts.board.name().as_bytes();
            let n = name.len().min(info.board.len());
            info.board[..n].copy_from_slice(&name[..n]);
            info.virtual_timer_irq = facts.board.virtual_timer_irq().0;
            let console = facts.board.console_device();
            info.console_kind = console.kind;
            info.console_irq = console.irq.0;
            info.console_phys = console.phys as u64;
            info.ram_bytes = facts.memory.ram.total() as u64;
        }
        info.free_bytes = (self.free_frames() * PAGE_SIZE) as u64;
        info
    }
}

/// A user-routed interrupt arrived (already masked): deliver its event, and prepare the
/// return to user space under the same lock; true when prepared (false: the CPU idles).
pub fn user_interrupt(irq: u32) -> bool {
    let mut guard = SYSTEM.lock();
    let Some(s) = guard.as_mut() else { return false };
    if let Fast::SwitchTo(info) = s.interrupt_fired(irq) {
        // Straight to the driver the interrupt woke, described by the fast path.
        if let Some(Some(wakeup)) = s.next_wakeup_if_changed() {
            interrupts::set_oneshot(wakeup);
        }
        load(&with_fp(s, info));
        return true;
    }
    prepare_locked(s)
}

extern "C" {
    fn muon_enter_user(kernel_stack_top: usize) -> !;
    fn muon_fp_save(fp_state: *mut u64);
    fn muon_fp_restore(fp_state: *const u64);
    static __boot_stack_top: u8;
}

/// Starts user space from the boot image: its first `START_AT_BOOT` program becomes
/// pid 1 (privileged, the process manager), with the image mapped read-only at
/// [`abi::BOOT_IMAGE_VADDR`] so it can start the others. Returns if the image holds no
/// program to start.
pub fn start_user_space() {
    let image = match BootImage::parse(BOOT_IMAGE) {
        Ok(image) => image,
        Err(e) => {
            if !BOOT_IMAGE.is_empty() {
                log::error!("boot image unusable: {e:?}");
            }
            return;
        }
    };
    let Some(first) = image.programs().find(|p| p.flags & START_AT_BOOT != 0) else {
        log::info!("boot image has no program to start");
        return;
    };
    // From here on the kernel runs with IRQs masked, as the system lock requires (an IRQ
    // taking it while this CPU holds it would deadlock), and as the return to user space
    // requires: an IRQ taken between its ELR/SPSR writes and `eret` would overwrite them.
    // `eret` unmasks them for user code; the idle loop opens them briefly.
    arch::disable_irqs();
    let mut system = System::new(TargetMachine { tlb: UserTlb::new() }, image);
    log::info!("boot image: {} programs; starting {} as pid 1", image.len(), first.name);
    let pid = match system.spawn(first.name, first.args, None, None, true) {
        Ok(pid) => pid,
        Err(e) => {
            log::error!("cannot start {}: {e:?}", first.name);
            return;
        }
    };
    let start = crate::mem::layout::virt_to_phys(BOOT_IMAGE.as_ptr() as usize).expect("image in the linear map");
    let frames = (0..BOOT_IMAGE.len().div_ceil(PAGE_SIZE)).map(|i| start + i * PAGE_SIZE).collect();
    if let Err(e) = system.map_borrowed(pid, frames, abi::BOOT_IMAGE_VADDR) {
        log::error!("cannot map the boot image into pid 1: {e:?}");
    }
    system.schedule();
    *SYSTEM.lock() = Some(system);
    mmu::enable_user_tables();
    arch::pmu::enable_user_counting();
    interrupts::set_tick(Some(TICK_NS));
    prepare_return();
    // SAFETY: `prepare_return` made this CPU's PerCpu name a runnable thread's context and
    // loaded its address space; nothing on the kernel stack is needed any more.
    unsafe { muon_enter_user(core::ptr::addr_of!(__boot_stack_top) as usize) }
}

/// Called by `vectors.S` for every exception from EL0 but a system call, with the vector
/// index, once the user registers are saved in the thread's context; returns to user
/// space itself.
///
/// It never returns to the assembly: all user registers are reloaded from the next
/// thread's context on the way out anyway, and the kernel stack starts empty again
/// (`muon_enter_user`).
#[no_mangle]
extern "C" fn muon_user_exception(kind: u64) -> ! {
    match kind {
        8 => {
            let esr = arch::exception::syndrome_register();
            other_synchronous(esr, esr::exception_class(esr));
        }
        9 => {
            if interrupts::handle_irq() {
                // SAFETY: the return is prepared (as below).
                unsafe { muon_enter_user(core::ptr::addr_of!(__boot_stack_top) as usize) }
            }
        }
        _ => {
            let description = format!("unexpected exception (vector {kind})");
            with_system(|s| s.user_fault(UserFault { class: 0xff, description: &description, address: None, pc: 0 }));
        }
    }
    prepare_return();
    // SAFETY: the return is prepared (this CPU's PerCpu names a runnable thread's context
    // and its address space is loaded); nothing on the kernel stack is needed any more.
    unsafe { muon_enter_user(core::ptr::addr_of!(__boot_stack_top) as usize) }
}

/// Called by `vectors.S` for a system call (`svc` from EL0) with the caller's x0-x8 (the
/// call) as arguments, once its registers that a call preserves are saved in its
/// context; like [`muon_user_exception`], returns to user space itself.
///
/// The common calls do not come here: `vectors.S` jumps straight to their functions in
/// [`MUON_SYSCALL_ENTRIES`] (one function per call: one function serving them all
/// needed more registers than there are and spilled its values to the stack on every
/// call, and a dispatch here cost a frame and a chain of compares).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
extern "C" fn muon_user_syscall(
    x0: u64,
    x1: u64,
    x2: u64,
    x3: u64,
    x4: u64,
    x5: u64,
    x6: u64,
    x7: u64,
    number: u64,
) -> ! {
    general_entry(number, [x0, x1, x2, x3, x4, x5, x6, x7])
}

/// A system call's own entry: the caller's x0-x7 (those it does not take are ignored).
type SyscallEntry = extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> !;

/// The functions of the calls that have one, by number: `vectors.S` jumps to them with
/// the caller's x0-x7 (numbers of 64 and above, and empty slots, go to
/// [`muon_user_syscall`]).
#[no_mangle]
static MUON_SYSCALL_ENTRIES: [Option<SyscallEntry>; 64] = {
    let mut entries: [Option<SyscallEntry>; 64] = [None; 64];
    entries[Sysno::MsgSendv as usize] = Some(send_entry);
    entries[Sysno::MsgReplyReceivev as usize] = Some(reply_receive_entry);
    entries[Sysno::SchedYield as usize] = Some(yield_entry);
    entries[Sysno::MsgReplyv as usize] = Some(reply_entry);
    entries[Sysno::MsgReceivev as usize] = Some(receive_entry);
    entries[Sysno::MsgReceivePulsev as usize] = Some(receive_pulse_entry);
    entries[Sysno::MsgSendPulse as usize] = Some(pulse_entry);
    entries[Sysno::InterruptUnmask as usize] = Some(interrupt_unmask_entry);
    entries
};
const _: () = assert!(Sysno::ALL.len() <= 64, "MUON_SYSCALL_ENTRIES (and vectors.S) cover numbers below 64");

#[allow(clippy::too_many_arguments)]
extern "C" fn send_entry(x0: u64, x1: u64, x2: u64, x3: u64, x4: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::MsgSendv as u64, &[x0, x1, x2, x3, x4], |s| s.fast_send_call([x0, x1, x2, x3, x4, 0, 0, 0]))
}

#[allow(clippy::too_many_arguments)]
extern "C" fn reply_receive_entry(x0: u64, x1: u64, x2: u64, x3: u64, x4: u64, x5: u64, x6: u64, x7: u64) -> ! {
    let a = [x0, x1, x2, x3, x4, x5, x6, x7];
    fast_entry(Sysno::MsgReplyReceivev as u64, &a, |s| s.fast_reply_receive_call(a))
}

extern "C" fn yield_entry(_: u64, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::SchedYield as u64, &[], |s| s.fast_yield_call())
}

extern "C" fn reply_entry(x0: u64, x1: u64, x2: u64, x3: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::MsgReplyv as u64, &[x0, x1, x2, x3], |s| s.fast_reply_call([x0, x1, x2, x3, 0, 0, 0, 0]))
}

extern "C" fn receive_entry(x0: u64, x1: u64, x2: u64, x3: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::MsgReceivev as u64, &[x0, x1, x2, x3], |s| s.fast_receive_call([x0, x1, x2, x3, 0, 0, 0, 0]))
}

extern "C" fn receive_pulse_entry(x0: u64, x1: u64, x2: u64, x3: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::MsgReceivePulsev as u64, &[x0, x1, x2, x3], |s| {
        s.fast_receive_pulse_call([x0, x1, x2, x3, 0, 0, 0, 0])
    })
}

extern "C" fn pulse_entry(x0: u64, x1: u64, x2: u64, x3: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::MsgSendPulse as u64, &[x0, x1, x2, x3], |s| s.fast_pulse_call([x0, x1, x2, x3, 0, 0, 0, 0]))
}

extern "C" fn interrupt_unmask_entry(x0: u64, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64) -> ! {
    fast_entry(Sysno::InterruptUnmask as u64, &[x0], |s| s.fast_interrupt_unmask_call([x0, 0, 0, 0, 0, 0, 0, 0]))
}

/// A call no fast path covers.
#[inline(never)]
fn general_entry(number: u64, a: [u64; 8]) -> ! {
    fast_entry(number, &a, |_| Fast::NotTaken)
}

/// Performs the current thread's call `number` (`a`: the arguments it takes, the rest
/// being 0) with `fast`, its fast path, or else the general path; then returns to user
/// space.
///
/// (`a` by reference and only as long as the call takes: the fast paths keep it in
/// memory for the general path, and a shorter array is fewer stores on every call —
/// measured, `yield_pair` −10, `null_msg_roundtrip_separate` −6, pipe −26.)
#[inline(always)]
fn fast_entry(number: u64, a: &[u64], fast: impl FnOnce(&mut System<TargetMachine>) -> Fast) -> ! {
    if !system_call(number, a, fast) {
        prepare_return();
    }
    // SAFETY: as in `muon_user_exception`.
    unsafe { muon_enter_user(core::ptr::addr_of!(__boot_stack_top) as usize) }
}

fn with_system<R>(f: impl FnOnce(&mut System<TargetMachine>) -> R) -> Option<R> {
    SYSTEM.lock().as_mut().map(f)
}

/// Performs the current thread's system call; true when the return to EL0 is prepared.
#[inline(always)]
fn system_call(number: u64, a: &[u64], fast: impl FnOnce(&mut System<TargetMachine>) -> Fast) -> bool {
    // The common case in one lock scope: the call, then the thread to return to.
    let mut guard = SYSTEM.lock();
    debug_assert!(guard.is_some(), "a system call before user space started");
    // SAFETY: `start_user_space` stores the system before any user code runs, and
    // nothing takes it out again: a system call always finds it.
    let s = unsafe { guard.as_mut().unwrap_unchecked() };
    let caller = s.current();
    match fast(s) {
        Fast::SwitchTo(info) => {
            // A direct switch: the fast path describes the thread to load.
            if let Some(Some(wakeup)) = s.next_wakeup_if_changed() {
                interrupts::set_oneshot(wakeup);
            }
            load(&with_fp(s, info));
            return true;
        }
        Fast::Done if s.current() == caller => {
            // The caller runs on: the CPU still holds its context pointer, address space
            // and FP trap setting (a fast path changes none of them).
            if let Some(Some(wakeup)) = s.next_wakeup_if_changed() {
                interrupts::set_oneshot(wakeup);
            }
            return true;
        }
        Fast::Done => {}
        Fast::NotTaken => general(s, number, a),
    }
    prepare_locked(s)
}

/// The general path for a call a fast path did not take (out of line: building its
/// `Registers` in memory would cost the fast paths a frame; cold, so that the fast
/// paths keep their values in registers rather than around this call).
#[cold]
#[inline(never)]
fn general(s: &mut System<TargetMachine>, number: u64, a: &[u64]) {
    let mut args = [0; 8];
    args[..a.len()].copy_from_slice(a);
    s.general_syscall(&Registers { number, args });
}

/// A synchronous exception from EL0 other than a system call: an FP/SIMD trap or a fault
/// (out of the system-call path, which it would only slow down).
#[cold]
#[inline(never)]
fn other_synchronous(esr: u64, ec: u8) {
    match ec {
        class::FP_ACCESS => with_system(switch_fp).unwrap_or(()),
        _ => {
            let far = arch::exception::fault_address();
            let mut description = alloc::string::String::from(esr::class_name(ec));
            let mut address = None;
            if let Some(abort) = esr::decode_abort(esr) {
                let level = abort.kind.level().map(|l| format!(", level {l}")).unwrap_or_default();
                description = format!(
                    "{} ({}{}, on {})",
                    description,
                    abort.kind.describe(),
                    level,
                    if abort.write { "write" } else { "read" }
                );
                address = abort.far_valid.then_some(far);
            } else if matches!(ec, class::PC_ALIGNMENT | class::SP_ALIGNMENT) {
                address = Some(far);
            }
            with_system(|s| {
                let pc = s.current().and_then(|t| s.context_mut(t)).map_or(0, |c| c.pc);
                s.user_fault(UserFault { class: ec, description: &description, address, pc });
            });
        }
    }
}

/// The current thread touched FP/SIMD while another thread's registers are live: save
/// those into their owner, load the current thread's, and let it run on.
fn switch_fp(s: &mut System<TargetMachine>) {
    if let Some(handover) = s.fp_trap() {
        hand_over_fp(handover);
    }
    percpu::this_cpu().user_fp_trap.store(2, Ordering::Relaxed); // re-evaluated on return
}

/// Carries out a change of FP/SIMD owner that the system decided.
fn hand_over_fp(handover: FpHandover) {
    if let Some(save) = handover.save {
        // SAFETY: `save` points at the boxed UserContext of a live thread (the system
        // lock, held by our caller, keeps it alive); `fpcr` starts its 16 + 512-byte FP
        // block, laid out as `muon_fp_save` writes it.
        unsafe { muon_fp_save(&mut (*save).fpcr) };
    }
    // SAFETY: as above, for the new owner's context.
    unsafe { muon_fp_restore(&(*handover.load).fpcr) };
}

/// `info` (for the current thread, about to run) with FP/SIMD handed over eagerly if the
/// thread has been using it ([`crate::fpswitch`]).
#[inline(always)]
fn with_fp(s: &mut System<TargetMachine>, mut info: ReturnInfo) -> ReturnInfo {
    if info.fp == FpOnReturn::HandOver {
        info.fp = FpOnReturn::Trap;
        if let Some(handover) = s.current().and_then(|cur| s.fp_handover(cur)) {
            hand_over_fp(handover);
            info.fp = FpOnReturn::Live;
        }
    }
    info
}

/// Timer interrupt: wake sleepers, charge timeslices, reschedule, and ask for the next
/// sleeper's wake-up.
pub fn timer_expired(now_ticks: u64, ticks: u64) {
    let now_ns = interrupts::clock().ticks_to_ns(now_ticks);
    let wakeup = with_system(|s| {
        s.timer(now_ns, ticks);
        s.next_wakeup()
    })
    .flatten();
    if let Some(at_ns) = wakeup {
        interrupts::set_oneshot(at_ns);
    }
}

/// Before returning to EL0: idle until some thread can run, then point this CPU at its
/// context, load its address space, and set the FP trap for lazy switching.
fn prepare_return() {
    loop {
        {
            let mut guard = SYSTEM.lock();
            let Some(s) = guard.as_mut() else { break };
            if prepare_locked(s) {
                return;
            }
            if s.reclaim_pending() {
                reclaim_while_idle(s);
            }
        }
        // Idle: nothing can run. WFI with IRQs masked wakes on a pending interrupt, which
        // is then taken when IRQs are unmasked (no wake-up can be lost in between).
        arch::wait_for_interrupt();
        arch::enable_irqs();
        arch::disable_irqs();
    }
    panic!("no user space to return to");
}

/// Nothing can run: gives back what ended processes left, until an interrupt is pending
/// (`reclaim.rs`); first, the MMU stops walking the tables of the space last loaded,
/// which may be among them. (Out of line: inlined, it cost the system-call paths that
/// share `prepare_return` registers.)
#[inline(never)]
fn reclaim_while_idle(s: &mut System<TargetMachine>) {
    percpu::this_cpu().loaded_ttbr0.store(mmu::unload_user_tables(), Ordering::Relaxed);
    while s.reclaim_step() && !arch::irq_pending() {}
}

/// Arms the next wake-up and, if a thread can run, loads it; false when the CPU must idle.
fn prepare_locked(s: &mut System<TargetMachine>) -> bool {
    if let Some(Some(wakeup)) = s.next_wakeup_if_changed() {
        interrupts::set_oneshot(wakeup);
    }
    match s.current() {
        Some(cur) => {
            load_thread(s, cur);
            true
        }
        None => false,
    }
}

fn load_thread(s: &mut System<TargetMachine>, thread: ThreadId) {
    match s.return_info(thread) {
        Some(info) => load(&with_fp(s, info)),
        None => percpu::this_cpu().quick_nop.store(0, Ordering::Relaxed),
    }
}

/// Makes this CPU return to the thread `info` describes.
fn load(info: &ReturnInfo) {
    let cpu = percpu::this_cpu();
    cpu.quick_nop.store(info.quick_nop as u8, Ordering::Relaxed);
    // SAFETY: `context` points at the boxed UserContext of the live thread about to run,
    // under the system lock our caller holds; `ttbr0` is a plain field nothing writes now.
    let ttbr0 = unsafe { (*info.context).ttbr0 };
    // System-register writes are costly: skip them when the CPU already holds the value
    // (a system call that returns to its caller, or a switch within one process).
    if cpu.loaded_ttbr0.load(Ordering::Relaxed) != ttbr0 {
        cpu.loaded_ttbr0.store(ttbr0, Ordering::Relaxed);
        mmu::set_user_tables(ttbr0);
    }
    let trap = info.fp != FpOnReturn::Live;
    if cpu.user_fp_trap.load(Ordering::Relaxed) != trap as u8 {
        cpu.user_fp_trap.store(trap as u8, Ordering::Relaxed);
        arch::set_user_fp_trap(trap);
    }
    cpu.user_context.store(info.context as usize, Ordering::Relaxed);
}
