//! Loading translation tables into the MMU, TLB maintenance, and asking the MMU what
//! an address translates to (`AT`), which the in-kernel tests use to check the map.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, Writeable, TCR_EL1, TTBR0_EL1, TTBR1_EL1};

/// MAIR_EL1 as `boot.S` programs it; `mem::paging::mair_index` names the slots.
pub const MAIR_VALUE: u64 = 0x44_ff_04;

/// Makes `root` (physical address of a level-0 table) the kernel's TTBR1 tree and stops
/// all translation through TTBR0 (there is no user space yet).
pub fn install_kernel_tables(root: usize) {
    barrier::dsb(barrier::ISHST);
    TTBR1_EL1.set(root as u64);
    TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
    barrier::isb(barrier::SY);
    flush_tlb();
}

/// Invalidates every EL1 TLB entry on this CPU.
pub fn flush_tlb() {
    // SAFETY: TLB invalidation has no memory-safety effect; the barriers make the new
    // tables visible before the next access.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi vmalle1", "dsb nsh", "isb", options(nostack, preserves_flags));
    }
}

/// What the MMU says about a kernel access to `va`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardwareTranslation {
    /// Translates to `phys`; `mair_attr` is the memory attribute byte from MAIR.
    Mapped {
        /// Physical address.
        phys: usize,
        /// MAIR attribute of the mapping (0x04 Device-nGnRE, 0xff Normal WB …).
        mair_attr: u8,
    },
    /// The access would fault with this fault status code.
    Fault(u8),
}

/// Asks the MMU to translate an EL1 read (`write = false`) or write of `va`.
pub fn translate(va: usize, write: bool) -> HardwareTranslation {
    let par: u64;
    // SAFETY: AT only performs a table walk and writes PAR_EL1; no memory is accessed
    // through `va`.
    unsafe {
        if write {
            core::arch::asm!("at s1e1w, {va}", "isb", "mrs {par}, par_el1", va = in(reg) va, par = out(reg) par, options(nostack));
        } else {
            core::arch::asm!("at s1e1r, {va}", "isb", "mrs {par}, par_el1", va = in(reg) va, par = out(reg) par, options(nostack));
        }
    }
    if par & 1 != 0 {
        HardwareTranslation::Fault(((par >> 1) & 0x3f) as u8)
    } else {
        HardwareTranslation::Mapped {
            phys: ((par & 0x0000_FFFF_FFFF_F000) as usize) | (va & 0xfff),
            mair_attr: (par >> 56) as u8,
        }
    }
}

/// Lets the MMU walk TTBR0 (user space) from now on, starting with a table that maps
/// nothing: whatever TTBR0 held at boot (an identity map of global entries) must not be
/// walked, even speculatively, into TLB entries that every ASID would see.
pub fn enable_user_tables() {
    unload_user_tables();
    TCR_EL1.modify(TCR_EL1::EPD0::EnableTTBR0Walks);
    barrier::isb(barrier::SY);
}

/// Switches the user address space: `ttbr0` holds the table root and the ASID. The
/// ASID tags TLB entries, so no flush is needed.
///
/// For the way back to EL0 only: no ISB follows the write, because the `eret` that ends
/// the way is itself a context synchronization event (these cores lack FEAT_ExS, which
/// could make it not one), and until then nothing depends on the new value: the kernel
/// never accesses memory through user addresses, and translates user addresses with
/// `AT` only during a system call, long after the `eret` that followed this write.
pub fn set_user_tables(ttbr0: u64) {
    TTBR0_EL1.set(ttbr0);
}

/// A level-0 table with no valid entry (ASID 0, which no process has).
#[repr(C, align(4096))]
struct EmptyTable([u64; 512]);
static EMPTY_TABLE: EmptyTable = EmptyTable([0; 512]);

/// Points TTBR0 at a table that maps nothing, so that the MMU walks no process's
/// tables, not even speculatively, before the next [`set_user_tables`]: for an idle CPU,
/// which gives back the memory of ended processes (their tables included) while the
/// last one to run may have been one of them. Returns the value loaded.
pub fn unload_user_tables() -> u64 {
    let root = crate::mem::layout::virt_to_phys(core::ptr::addr_of!(EMPTY_TABLE) as usize);
    let ttbr0 = root.expect("the kernel image is in the linear map") as u64;
    TTBR0_EL1.set(ttbr0);
    // (Unlike `set_user_tables`, the kernel goes on at EL1: the change must take effect
    // now, before any table of the space that was loaded is freed.)
    barrier::isb(barrier::SY);
    ttbr0
}

/// Makes descriptors just written visible to the table walker (the MMU's walks for EL0
/// accesses and for `AT`) before anything translates through them: a new mapping is
/// reached by the user's next access or the kernel's next `translate_for_el0`, with no
/// TLB maintenance that would carry the barrier (removals have theirs).
pub fn tables_written() {
    // SAFETY: a barrier: it orders the earlier stores and touches nothing.
    unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
}

/// The bits of a TTBR value that hold the table's physical address (below the ASID).
pub const TTBR_BASE_ADDRESS: u64 = (1 << 48) - 1;

/// The physical page behind `va` in the loaded user address space if EL0 code may read
/// it (write it, `write`), as the MMU says: one address-translation instruction instead
/// of a table walk in software.
#[inline(always)]
pub fn translate_for_el0(va: usize, write: bool) -> Option<usize> {
    let par: u64;
    // SAFETY: AT only writes PAR_EL1, which nothing else keeps a value in, and reads the
    // translation tables (so the asm is not `nomem`: table stores stay before it; new
    // descriptors were made visible to the walker by `tables_written`); the ISB makes
    // the result visible to the MRS.
    unsafe {
        if write {
            core::arch::asm!("at s1e0w, {va}", "isb", "mrs {par}, par_el1", va = in(reg) va, par = out(reg) par, options(nostack, readonly, preserves_flags));
        } else {
            core::arch::asm!("at s1e0r, {va}", "isb", "mrs {par}, par_el1", va = in(reg) va, par = out(reg) par, options(nostack, readonly, preserves_flags));
        }
    }
    // PAR_EL1.F (bit 0) set: the access would fault; else PA[47:12] is the page and
    // ATTR[63:56] its memory type, in MAIR's encoding: Device memory has a 0 upper
    // nibble. Device registers are outside the linear map the kernel copies through: no
    // buffer for a system call.
    let device = (par >> 60) & 0xf == 0;
    (par & 1 == 0 && !device).then_some((par & 0x0000_ffff_ffff_f000) as usize)
}

/// Forgets the TLB entry of user page `va` in address space `asid`, on every CPU.
pub fn flush_tlb_user_page(asid: u16, va: usize) {
    let operand = (asid as u64) << 48 | (va as u64 >> 12) & ((1 << 44) - 1);
    // SAFETY: TLB maintenance has no memory-safety effect; the barriers order it
    // after the table update and before later accesses.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi vae1is, {op}", "dsb ish", "isb", op = in(reg) operand, options(nostack, preserves_flags));
    }
}

/// Forgets every TLB entry of address space `asid`, on every CPU.
pub fn flush_tlb_asid(asid: u16) {
    let operand = (asid as u64) << 48;
    // SAFETY: as above.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi aside1is, {op}", "dsb ish", "isb", op = in(reg) operand, options(nostack, preserves_flags));
    }
}
