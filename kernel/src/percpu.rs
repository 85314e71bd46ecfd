//! Per-CPU state. Each CPU finds its own block through TPIDR_EL1, so nothing in the
//! kernel assumes a single global "current" anything (SMP comes later).

use crate::arch;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Most CPUs any supported board has.
pub const MAX_CPUS: usize = 4;

/// What one CPU owns. `vectors.S` reads `user_context` at offset 0: keep it first.
/// One cache line each (64 bytes), which also makes finding the block from TPIDR_EL1 a
/// shift rather than a division.
#[repr(C, align(64))]
pub struct PerCpu {
    /// The saved-register block of the user thread this CPU runs (or will return to);
    /// exception entry from EL0 saves into it, the return to EL0 restores from it.
    pub user_context: AtomicUsize,
    /// Index of the CPU (MPIDR affinity 0).
    pub cpu_id: AtomicUsize,
    /// Interrupts this CPU has taken.
    pub irqs_taken: AtomicU64,
    /// The TTBR0 value loaded on this CPU (so an unchanged address space is not reloaded).
    pub loaded_ttbr0: AtomicU64,
    /// Whether EL0 FP/SIMD use traps on this CPU: 0 no, 1 yes, 2 unknown.
    pub user_fp_trap: core::sync::atomic::AtomicU8,
    /// 1 when the exception vector may answer the running thread's `Nop` itself, without
    /// saving its registers or entering Rust: the thread has no `TimerTimeout` armed
    /// (which its next call, even a `Nop`, uses up on the full path). `vectors.S` reads
    /// it at [`QUICK_NOP_OFFSET`]; the return to user space sets it for the thread it
    /// loads.
    pub quick_nop: core::sync::atomic::AtomicU8,
}

/// Where `vectors.S` finds [`PerCpu::quick_nop`] (`.equ PERCPU_QUICK_NOP` there).
pub const QUICK_NOP_OFFSET: usize = 33;
const _: () = assert!(core::mem::offset_of!(PerCpu, quick_nop) == QUICK_NOP_OFFSET);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_context) == 0);

impl PerCpu {
    const fn new() -> Self {
        Self {
            user_context: AtomicUsize::new(0),
            cpu_id: AtomicUsize::new(usize::MAX),
            irqs_taken: AtomicU64::new(0),
            loaded_ttbr0: AtomicU64::new(u64::MAX),
            user_fp_trap: core::sync::atomic::AtomicU8::new(2),
            quick_nop: core::sync::atomic::AtomicU8::new(0),
        }
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// Claims block `cpu` for the calling CPU. Returns false if `cpu` is out of range.
pub fn init_this_cpu(cpu: usize) -> bool {
    let Some(block) = CPUS.get(cpu) else {
        return false;
    };
    block.cpu_id.store(cpu, Ordering::Relaxed);
    arch::set_percpu_pointer(block as *const PerCpu as usize);
    true
}

/// The calling CPU's block (one register read: it is on every return to user space).
#[inline(always)]
pub fn this_cpu() -> &'static PerCpu {
    let block = arch::percpu_pointer() as *const PerCpu;
    debug_assert!(CPUS.as_ptr_range().contains(&block), "TPIDR_EL1 names no PerCpu block");
    // SAFETY: TPIDR_EL1 holds the address of an element of the static `CPUS` from the
    // first statement of `boot::start` on (`init_this_cpu`, which must succeed there), and
    // nothing else writes it; the blocks are only used through atomics.
    unsafe { &*block }
}
