//! The BCM2835 interrupt controller (the "GPU" side on Pi 1–3, at peripheral base + 0xB200),
//! and Muon's numbering of every interrupt a Pi 3 can raise.
//!
//! Muon's Pi 3 interrupt numbers:
//!
//! | numbers | source |
//! |---------|--------|
//! | 0–11    | BCM2836 local sources of the current core ([`crate::bcm2836_local::source`]) |
//! | 32–63   | BCM2835 bank 1 (GPU IRQs 0–31) |
//! | 64–95   | BCM2835 bank 2 (GPU IRQs 32–63) |
//! | 96–103  | BCM2835 basic (ARM timer, mailbox, doorbells, …) |

use crate::bcm2836_local::source;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, WriteOnly};

register_structs! {
    /// BCM2835 ARM interrupt registers.
    pub RegisterBlock {
        (0x00 => basic_pending: ReadOnly<u32>),
        (0x04 => pending: [ReadOnly<u32>; 2]),
        (0x0c => _fiq_control),
        (0x10 => enable: [WriteOnly<u32>; 2]),
        (0x18 => enable_basic: WriteOnly<u32>),
        (0x1c => disable: [WriteOnly<u32>; 2]),
        (0x24 => disable_basic: WriteOnly<u32>),
        (0x28 => @END),
    }
}

/// First number of bank 1.
pub const BANK1_BASE: u32 = 32;
/// First number of bank 2.
pub const BANK2_BASE: u32 = 64;
/// First number of the basic bank.
pub const BASIC_BASE: u32 = 96;
/// One past the last number.
pub const LIMIT: u32 = 104;

/// Where a Muon interrupt number lives in the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A BCM2836 local source bit.
    Local(u32),
    /// A BCM2835 bank (0 = bank 1, 1 = bank 2, 2 = basic) and bit.
    Gpu(usize, u32),
}

/// The hardware route of interrupt `irq`, or `None` for a number that names nothing.
pub const fn route(irq: u32) -> Option<Route> {
    match irq {
        0..=11 if irq != source::GPU => Some(Route::Local(irq)),
        BANK1_BASE..=63 => Some(Route::Gpu(0, irq - BANK1_BASE)),
        BANK2_BASE..=95 => Some(Route::Gpu(1, irq - BANK2_BASE)),
        BASIC_BASE..=103 => Some(Route::Gpu(2, irq - BASIC_BASE)),
        _ => None,
    }
}

/// The interrupt to handle first given the register snapshot: the lowest local source
/// (timers before mailboxes), else the lowest GPU bank-1, bank-2, then basic bit.
pub const fn decode(local_source: u32, basic: u32, bank1: u32, bank2: u32) -> Option<u32> {
    let local = local_source & 0xfff & !(1 << source::GPU);
    if local != 0 {
        return Some(local.trailing_zeros());
    }
    if local_source & (1 << source::GPU) == 0 {
        return None;
    }
    if bank1 != 0 {
        return Some(BANK1_BASE + bank1.trailing_zeros());
    }
    if bank2 != 0 {
        return Some(BANK2_BASE + bank2.trailing_zeros());
    }
    let basic = basic & 0xff;
    if basic != 0 {
        return Some(BASIC_BASE + basic.trailing_zeros());
    }
    None
}

/// The BCM2835 controller.
pub struct GpuController {
    base: usize,
}

impl GpuController {
    /// The controller mapped at virtual address `base`.
    ///
    /// # Safety
    /// `base` must map the BCM2835 interrupt registers as Device memory whenever a method
    /// is called; only this driver may program them.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    fn regs(&self) -> &RegisterBlock {
        // SAFETY: `new`'s contract: `base` maps the interrupt register block.
        unsafe { super::registers(self.base) }
    }

    /// Masks every GPU-side interrupt.
    pub fn init(&self) {
        let r = self.regs();
        r.disable[0].set(u32::MAX);
        r.disable[1].set(u32::MAX);
        r.disable_basic.set(u32::MAX);
    }

    /// (basic, bank 1, bank 2) pending registers.
    pub fn pending(&self) -> (u32, u32, u32) {
        let r = self.regs();
        (r.basic_pending.get(), r.pending[0].get(), r.pending[1].get())
    }

    /// Enables (`true`) or disables bit `bit` of bank `bank` (0, 1, or 2 = basic).
    pub fn set_enabled(&self, bank: usize, bit: u32, enabled: bool) {
        let r = self.regs();
        let mask = 1 << bit;
        match (bank, enabled) {
            (0 | 1, true) => r.enable[bank].set(mask),
            (0 | 1, false) => r.disable[bank].set(mask),
            (_, true) => r.enable_basic.set(mask),
            (_, false) => r.disable_basic.set(mask),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_wins_over_mailbox_and_gpu() {
        let gpu = 1 << source::GPU;
        assert_eq!(decode((1 << 1) | (1 << 4) | gpu, 0, 1, 0), Some(source::CNTPNS));
        assert_eq!(decode((1 << 4) | gpu, 0, 1, 0), Some(source::MAILBOX0));
    }

    #[test]
    fn gpu_banks_in_order() {
        let gpu = 1 << source::GPU;
        assert_eq!(decode(gpu, 0, 1 << 29, 1 << 25), Some(BANK1_BASE + 29)); // system timer 1… then UART
        assert_eq!(decode(gpu, 0, 0, 1 << 25), Some(BANK2_BASE + 25)); // PL011 = GPU IRQ 57
        assert_eq!(decode(gpu, 1 << 0, 0, 0), Some(BASIC_BASE)); // ARM timer
                                                                 // The basic register's summary bits (8: bank 1 pending, 9: bank 2) are not sources.
        assert_eq!(decode(gpu, 1 << 8, 0, 0), None);
    }

    #[test]
    fn nothing_pending_or_stale_gpu_bits() {
        assert_eq!(decode(0, 0, 0, 0), None);
        // GPU registers are ignored unless the local controller says the GPU is pending.
        assert_eq!(decode(0, 0, 1, 1), None);
    }

    #[test]
    fn routes_cover_exactly_the_documented_numbers() {
        assert_eq!(route(1), Some(Route::Local(1)));
        assert_eq!(route(source::GPU), None);
        assert_eq!(route(12), None);
        assert_eq!(route(57 + BANK1_BASE), Some(Route::Gpu(1, 25)));
        assert_eq!(route(103), Some(Route::Gpu(2, 7)));
        assert_eq!(route(LIMIT), None);
        for irq in 0..200 {
            if let (Some(r), true) = (route(irq), irq >= BANK1_BASE) {
                // Decoding a lone pending bit of a route gives back the number.
                let (b, b1, b2) = match r {
                    Route::Gpu(0, bit) => (0, 1 << bit, 0),
                    Route::Gpu(1, bit) => (0, 0, 1 << bit),
                    Route::Gpu(_, bit) => (1 << bit, 0, 0),
                    Route::Local(_) => unreachable!(),
                };
                assert_eq!(decode(1 << source::GPU, b, b1, b2), Some(irq));
            }
        }
    }
}
