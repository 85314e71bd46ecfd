//! ARM Generic Interrupt Controller v2 (GIC-400): QEMU virt and the Raspberry Pi 4.
//!
//! Interrupt IDs: 0–15 software-generated (SGI), 16–31 private peripheral (PPI, e.g.
//! the generic timer), 32–1019 shared peripheral (SPI), 1020–1023 special/spurious.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_structs! {
    /// Distributor registers.
    pub DistributorBlock {
        (0x000 => ctlr: ReadWrite<u32>),
        (0x004 => typer: ReadOnly<u32>),
        (0x008 => _reserved0),
        (0x080 => igroupr: [ReadWrite<u32>; 32]),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => icenabler: [ReadWrite<u32>; 32]),
        (0x200 => _reserved1),
        (0x280 => icpendr: [ReadWrite<u32>; 32]),
        (0x300 => _reserved2),
        (0x400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x7fc => _reserved3),
        (0x800 => itargetsr: [ReadWrite<u32>; 255]),
        (0xbfc => _reserved4),
        (0xc00 => icfgr: [ReadWrite<u32>; 64]),
        (0xd00 => _reserved5),
        (0xf00 => sgir: WriteOnly<u32>),
        (0xf04 => @END),
    }
}

register_structs! {
    /// CPU interface registers.
    pub CpuInterfaceBlock {
        (0x00 => ctlr: ReadWrite<u32>),
        (0x04 => pmr: ReadWrite<u32>),
        (0x08 => bpr: ReadWrite<u32>),
        (0x0c => iar: ReadOnly<u32>),
        (0x10 => eoir: WriteOnly<u32>),
        (0x14 => @END),
    }
}

/// First private peripheral interrupt ID: those below are software-generated (SGIs).
pub const FIRST_PPI: u32 = 16;
/// First spurious interrupt ID: IAR values at or above it mean "nothing pending".
pub const SPURIOUS: u32 = 1020;
/// GICD_TYPER.SecurityExtn: the GIC implements the Security Extensions.
const TYPER_SECURITY_EXTENSIONS: u32 = 1 << 10;
/// Priority given to every interrupt (lower is more urgent; all equal for now).
pub const DEFAULT_PRIORITY: u8 = 0xa0;

/// The 32-bit register index and bit mask for interrupt `id` in a one-bit-per-ID bank.
pub const fn bit_position(id: u32) -> (usize, u32) {
    ((id / 32) as usize, 1 << (id % 32))
}

/// The interrupt ID in an IAR value (the rest names the sending CPU of an SGI).
pub const fn iar_interrupt_id(iar: u32) -> u32 {
    iar & 0x3ff
}

/// The GICD_SGIR value that sends SGI `sgi` to the CPUs in `target_mask`.
pub const fn sgir_value(sgi: u32, target_mask: u8) -> u32 {
    ((target_mask as u32) << 16) | (sgi & 0xf)
}

/// A GICv2 distributor + CPU interface pair.
pub struct GicV2 {
    distributor: usize,
    cpu_interface: usize,
}

impl GicV2 {
    /// The GIC whose distributor and CPU interface are mapped at these virtual addresses.
    ///
    /// # Safety
    /// Both addresses must map the GIC's register blocks as Device memory whenever a
    /// method is called; only this driver may program the GIC.
    pub const unsafe fn new(distributor: usize, cpu_interface: usize) -> Self {
        Self { distributor, cpu_interface }
    }

    fn gicd(&self) -> &DistributorBlock {
        // SAFETY: `new`'s contract: `distributor` maps GICD.
        unsafe { super::registers(self.distributor) }
    }

    fn gicc(&self) -> &CpuInterfaceBlock {
        // SAFETY: `new`'s contract: `cpu_interface` maps GICC.
        unsafe { super::registers(self.cpu_interface) }
    }

    /// Number of interrupt IDs the distributor implements.
    pub fn lines(&self) -> u32 {
        (((self.gicd().typer.get() & 0x1f) + 1) * 32).min(SPURIOUS)
    }

    /// Resets the distributor (everything masked, level-triggered, equal priority, routed
    /// to CPU 0) and this CPU's interface, then enables both.
    pub fn init(&self) {
        let d = self.gicd();
        d.ctlr.set(0);
        let banks = (self.lines() / 32) as usize;
        for bank in 0..banks {
            d.icenabler[bank].set(u32::MAX);
            d.icpendr[bank].set(u32::MAX);
        }
        let priority = u32::from_ne_bytes([DEFAULT_PRIORITY; 4]);
        for word in 0..(self.lines() / 4) as usize {
            d.ipriorityr[word].set(priority);
            if word >= 8 {
                d.itargetsr[word].set(0x0101_0101);
            }
        }
        for word in 2..(self.lines() / 16) as usize {
            d.icfgr[word].set(0);
        }
        d.ctlr.set(1);
        let c = self.gicc();
        c.pmr.set(0xff);
        c.bpr.set(0);
        c.ctlr.set(1);
    }

    /// From the secure world (EL3, before dropping to EL1): puts every interrupt in
    /// Group 1 so the non-secure kernel can configure and receive it, and enables both
    /// groups. Firmware that enters at EL2 (the Pi 4's) has done this already.
    /// A GIC without the Security Extensions has no groups to move, and is left alone.
    pub fn make_all_non_secure(&self) {
        let d = self.gicd();
        if d.typer.get() & TYPER_SECURITY_EXTENSIONS == 0 {
            return;
        }
        for bank in 0..(self.lines() / 32) as usize {
            d.igroupr[bank].set(u32::MAX);
        }
        d.ctlr.set(0b11);
        let c = self.gicc();
        c.ctlr.set(0b11);
        c.pmr.set(0xff);
    }

    /// Lets interrupt `id` be signalled.
    pub fn enable(&self, id: u32) {
        let (index, mask) = bit_position(id);
        self.gicd().isenabler[index].set(mask);
    }

    /// Stops interrupt `id` from being signalled.
    pub fn disable(&self, id: u32) {
        let (index, mask) = bit_position(id);
        self.gicd().icenabler[index].set(mask);
    }

    /// Acknowledges the highest-priority pending interrupt; returns the raw IAR value
    /// (pass it to [`end_of_interrupt`](Self::end_of_interrupt)), or `None` if spurious.
    pub fn acknowledge(&self) -> Option<u32> {
        let iar = self.gicc().iar.get();
        (iar_interrupt_id(iar) < SPURIOUS).then_some(iar)
    }

    /// Signals that the interrupt acknowledged as `iar` has been handled.
    pub fn end_of_interrupt(&self, iar: u32) {
        self.gicc().eoir.set(iar);
    }

    /// Sends software-generated interrupt `sgi` (0–15) to the CPUs in `target_mask`.
    pub fn send_sgi(&self, sgi: u32, target_mask: u8) {
        self.gicd().sgir.set(sgir_value(sgi, target_mask));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_positions() {
        assert_eq!(bit_position(0), (0, 1));
        assert_eq!(bit_position(30), (0, 1 << 30));
        assert_eq!(bit_position(33), (1, 1 << 1));
        assert_eq!(bit_position(1019), (31, 1 << 27));
    }

    #[test]
    fn iar_and_sgir_encoding() {
        // SGI 3 from CPU 2: IAR carries the source CPU in bits 10..12.
        assert_eq!(iar_interrupt_id((2 << 10) | 3), 3);
        assert_eq!(iar_interrupt_id(1023), 1023);
        assert_eq!(sgir_value(0, 0b1), 0x1_0000);
        assert_eq!(sgir_value(15, 0b1010), 0xa_000f);
    }

    #[test]
    fn register_layout_matches_the_gic_architecture_spec() {
        assert_eq!(core::mem::size_of::<DistributorBlock>(), 0xf04);
        assert_eq!(core::mem::size_of::<CpuInterfaceBlock>(), 0x14);
    }
}
