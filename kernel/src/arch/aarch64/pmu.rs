//! The performance monitors: event counter 0 counts retired instructions (at every
//! exception level), and EL0 may read the counters, so benchmarks measure kernel paths
//! from user space. Under QEMU with `-icount` the count is exact and deterministic.

use aarch64_cpu::asm::barrier;

/// ARMv8 common event: instruction architecturally executed.
const INST_RETIRED: u64 = 0x08;

/// Starts counting instructions in counter 0 and the cycle counter, readable from EL0.
pub fn enable_user_counting() {
    // SAFETY: the PMU registers only configure counting; nothing else depends on them.
    unsafe {
        core::arch::asm!(
            "msr pmevtyper0_el0, {event}",
            "msr pmcntenset_el0, {enable}",
            "msr pmcr_el0, {control}",
            "msr pmuserenr_el0, {user}",
            event = in(reg) INST_RETIRED,
            enable = in(reg) (1u64 << 31) | 1,
            control = in(reg) 0b100_0111u64, // LC (64-bit cycles), C and P reset, E enable
            user = in(reg) 0xfu64,            // EL0 may read and reset the counters
            options(nostack)
        );
    }
    barrier::isb(barrier::SY);
}
