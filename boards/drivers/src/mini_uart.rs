//! The BCM2835 auxiliary "mini UART" (UART1): the Pi 3's default console when the
//! PL011 is given to Bluetooth.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::ReadWrite;
use tock_registers::{register_bitfields, register_structs};

register_bitfields! {
    u32,
    /// Line status register.
    LSR [
        /// The transmit FIFO can accept at least one byte.
        TX_EMPTY OFFSET(5) NUMBITS(1) [],
        /// The transmitter is idle.
        TX_IDLE OFFSET(6) NUMBITS(1) [],
        /// The receive FIFO holds at least one byte.
        DATA_READY OFFSET(0) NUMBITS(1) []
    ]
}

register_structs! {
    /// AUX block registers (from AUX_IRQ at offset 0).
    pub RegisterBlock {
        (0x00 => _aux_irq),
        (0x04 => enables: ReadWrite<u32>),
        (0x08 => _reserved0),
        (0x40 => io: ReadWrite<u32>),
        (0x44 => ier: ReadWrite<u32>),
        (0x48 => iir: ReadWrite<u32>),
        (0x4c => lcr: ReadWrite<u32>),
        (0x50 => mcr: ReadWrite<u32>),
        (0x54 => lsr: ReadWrite<u32, LSR::Register>),
        (0x58 => _reserved1),
        (0x60 => cntl: ReadWrite<u32>),
        (0x64 => _stat),
        (0x68 => baud: ReadWrite<u32>),
        (0x6c => @END),
    }
}

/// The baud register value for `baud` given the VPU core clock.
pub const fn baud_register(core_clock_hz: u32, baud: u32) -> u32 {
    core_clock_hz / (8 * baud) - 1
}

/// The mini UART.
pub struct MiniUart {
    base: usize,
}

impl MiniUart {
    /// The mini UART whose AUX block is mapped at virtual address `base`.
    ///
    /// # Safety
    /// `base` must map the BCM2835 AUX block as Device memory whenever a method is called,
    /// and no one else may program it concurrently.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    fn regs(&self) -> &RegisterBlock {
        // SAFETY: `new`'s contract: `base` maps the AUX register block.
        unsafe { super::registers(self.base) }
    }

    /// 8N1 at `baud`, given the core clock (250 MHz with `core_freq=250`).
    pub fn init(&self, core_clock_hz: u32, baud: u32) {
        let r = self.regs();
        r.enables.set(r.enables.get() | 1);
        r.cntl.set(0);
        r.lcr.set(3);
        r.mcr.set(0);
        r.ier.set(0);
        r.iir.set(0xc6);
        r.baud.set(baud_register(core_clock_hz, baud));
        r.cntl.set(3);
    }

    /// Sends one byte, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        let r = self.regs();
        while !r.lsr.is_set(LSR::TX_EMPTY) {}
        r.io.set(byte as u32);
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        let r = self.regs();
        r.lsr.is_set(LSR::DATA_READY).then(|| r.io.get() as u8)
    }

    /// Waits until every queued byte has left the transmitter.
    pub fn flush(&self) {
        while !self.regs().lsr.is_set(LSR::TX_IDLE) {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn baud_register_for_250mhz_core() {
        assert_eq!(super::baud_register(250_000_000, 115_200), 270);
    }
}
