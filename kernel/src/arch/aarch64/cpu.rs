//! Small CPU helpers: exception level, CPU index, IRQ masking, sleeping, per-CPU pointer.

use aarch64_cpu::asm;
use aarch64_cpu::registers::{CurrentEL, ReadWriteable, Readable, Writeable, DAIF, MPIDR_EL1, SCTLR_EL1, TPIDR_EL1};

/// The exception level the CPU runs at now (1 for the kernel).
pub fn current_el() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

/// This CPU's index (MPIDR affinity level 0; all supported boards have one cluster).
pub fn cpu_id() -> usize {
    (MPIDR_EL1.get() & 0xff) as usize
}

/// Unmasks IRQs at EL1.
pub fn enable_irqs() {
    DAIF.write(DAIF::I::Unmasked + DAIF::F::Masked + DAIF::A::Unmasked + DAIF::D::Masked);
}

/// Masks IRQs at EL1; returns whether they were unmasked before.
pub fn disable_irqs() -> bool {
    let was_enabled = !DAIF.is_set(DAIF::I);
    DAIF.modify(DAIF::I::Masked);
    was_enabled
}

/// Whether an IRQ is pending at this CPU, masked or not (ISR_EL1.I).
#[inline(always)]
pub fn irq_pending() -> bool {
    let isr: u64;
    // SAFETY: reading ISR_EL1 has no side effects; EL1 may read it.
    unsafe { core::arch::asm!("mrs {}, isr_el1", out(reg) isr, options(nomem, nostack, preserves_flags)) };
    isr & (1 << 7) != 0
}

/// Sleeps until an interrupt is pending (it is taken if IRQs are unmasked).
pub fn wait_for_interrupt() {
    asm::wfi();
}

/// Stops this CPU for good.
pub fn halt() -> ! {
    disable_irqs();
    loop {
        asm::wfe();
    }
}

/// Points TPIDR_EL1 at this CPU's `PerCpu` block.
pub fn set_percpu_pointer(ptr: usize) {
    TPIDR_EL1.set(ptr as u64);
}

/// This CPU's `PerCpu` pointer.
pub fn percpu_pointer() -> usize {
    TPIDR_EL1.get() as usize
}

/// True when the MMU, data cache and instruction cache are all on.
pub fn mmu_and_caches_on() -> bool {
    SCTLR_EL1.matches_all(SCTLR_EL1::M::Enable + SCTLR_EL1::C::Cacheable + SCTLR_EL1::I::Cacheable)
}

/// Whether FP/SIMD instructions at EL0 trap to EL1 (lazy FP switching); EL1 never traps.
///
/// For the way back to EL0 only: no ISB follows the write, because the `eret` that ends
/// the way is itself a context synchronization event (these cores lack FEAT_ExS), and the
/// setting only concerns EL0 — the kernel's own FP/SIMD use (`copy.S`) is allowed either
/// way.
pub fn set_user_fp_trap(trap: bool) {
    use aarch64_cpu::registers::CPACR_EL1;
    let fpen = if trap { CPACR_EL1::FPEN::TrapEl0 } else { CPACR_EL1::FPEN::TrapNothing };
    CPACR_EL1.modify(fpen);
}
