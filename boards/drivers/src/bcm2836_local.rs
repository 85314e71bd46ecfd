//! The BCM2836 "ARM local" interrupt controller (Raspberry Pi 2/3, at 0x4000_0000): per-core
//! routing of the generic-timer interrupts, inter-core mailboxes, and the summary bit
//! that says the BCM2835 (GPU-side) controller has something pending.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::ReadWrite;

register_structs! {
    /// ARM local peripheral registers.
    pub RegisterBlock {
        (0x00 => control: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x08 => prescaler: ReadWrite<u32>),
        (0x0c => gpu_interrupt_routing: ReadWrite<u32>),
        (0x10 => _reserved1),
        (0x40 => core_timer_interrupt_control: [ReadWrite<u32>; 4]),
        (0x50 => core_mailbox_interrupt_control: [ReadWrite<u32>; 4]),
        (0x60 => core_irq_source: [ReadWrite<u32>; 4]),
        (0x70 => core_fiq_source: [ReadWrite<u32>; 4]),
        (0x80 => mailbox_write_set: [ReadWrite<u32>; 16]),
        (0xc0 => mailbox_read_clear: [ReadWrite<u32>; 16]),
        (0x100 => @END),
    }
}

/// Bits of a core's IRQ source register, which are also Muon's interrupt numbers 0–11.
pub mod source {
    /// Secure physical timer.
    pub const CNTPS: u32 = 0;
    /// Non-secure physical timer (the kernel's tick).
    pub const CNTPNS: u32 = 1;
    /// Hypervisor timer.
    pub const CNTHP: u32 = 2;
    /// Virtual timer.
    pub const CNTV: u32 = 3;
    /// Mailbox 0 (mailboxes 0–3 are 4–7).
    pub const MAILBOX0: u32 = 4;
    /// The BCM2835 controller has an interrupt pending.
    pub const GPU: u32 = 8;
    /// Performance monitors.
    pub const PMU: u32 = 9;
}

/// The local controller.
pub struct LocalController {
    base: usize,
}

impl LocalController {
    /// The controller mapped at virtual address `base`.
    ///
    /// # Safety
    /// `base` must map the ARM local block as Device memory whenever a method is called;
    /// only this driver may program it.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    fn regs(&self) -> &RegisterBlock {
        // SAFETY: `new`'s contract: `base` maps the local register block.
        unsafe { super::registers(self.base) }
    }

    /// Masks every timer and mailbox interrupt of `core`; GPU interrupts go to core 0.
    pub fn init(&self, core: usize) {
        let r = self.regs();
        r.gpu_interrupt_routing.set(0);
        r.core_timer_interrupt_control[core].set(0);
        r.core_mailbox_interrupt_control[core].set(0);
        r.mailbox_read_clear[core * 4].set(u32::MAX);
    }

    /// Enables local source `bit` (a timer 0–3 or a mailbox 4–7) for `core`.
    pub fn enable(&self, core: usize, bit: u32) {
        let r = self.regs();
        match bit {
            0..=3 => {
                let v = r.core_timer_interrupt_control[core].get();
                r.core_timer_interrupt_control[core].set(v | 1 << bit);
            }
            4..=7 => {
                let v = r.core_mailbox_interrupt_control[core].get();
                r.core_mailbox_interrupt_control[core].set(v | 1 << (bit - 4));
            }
            _ => {}
        }
    }

    /// Disables local source `bit` for `core`.
    pub fn disable(&self, core: usize, bit: u32) {
        let r = self.regs();
        match bit {
            0..=3 => {
                let v = r.core_timer_interrupt_control[core].get();
                r.core_timer_interrupt_control[core].set(v & !(1 << bit));
            }
            4..=7 => {
                let v = r.core_mailbox_interrupt_control[core].get();
                r.core_mailbox_interrupt_control[core].set(v & !(1 << (bit - 4)));
            }
            _ => {}
        }
    }

    /// The pending-source bits of `core`.
    pub fn pending(&self, core: usize) -> u32 {
        self.regs().core_irq_source[core].get()
    }

    /// Sets bits in `core`'s mailbox `mailbox` (raising its interrupt if enabled).
    pub fn mailbox_set(&self, core: usize, mailbox: usize, bits: u32) {
        self.regs().mailbox_write_set[core * 4 + mailbox].set(bits);
    }

    /// Reads and clears `core`'s mailbox `mailbox`.
    pub fn mailbox_take(&self, core: usize, mailbox: usize) -> u32 {
        let r = self.regs();
        let v = r.mailbox_read_clear[core * 4 + mailbox].get();
        r.mailbox_read_clear[core * 4 + mailbox].set(v);
        v
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn register_layout() {
        assert_eq!(core::mem::size_of::<super::RegisterBlock>(), 0x100);
    }
}
