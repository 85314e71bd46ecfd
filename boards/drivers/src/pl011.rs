//! ARM PrimeCell UART (PL011): the console on QEMU virt, and UART0 on the Raspberry Pi.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! {
    u32,
    /// Flag register.
    FR [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    /// Line control register.
    LCR_H [
        /// Word length.
        WLEN OFFSET(5) NUMBITS(2) [ EightBits = 0b11 ],
        /// Enable FIFOs.
        FEN OFFSET(4) NUMBITS(1) []
    ],
    /// Control register.
    CR [
        /// Receive enable.
        RXE OFFSET(9) NUMBITS(1) [],
        /// Transmit enable.
        TXE OFFSET(8) NUMBITS(1) [],
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt mask set/clear register.
    IMSC [
        /// Receive timeout interrupt.
        RTIM OFFSET(6) NUMBITS(1) [],
        /// Receive interrupt.
        RXIM OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    /// The PL011 register block.
    pub RegisterBlock {
        (0x00 => dr: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x24 => ibrd: ReadWrite<u32>),
        (0x28 => fbrd: ReadWrite<u32>),
        (0x2c => lcr_h: ReadWrite<u32, LCR_H::Register>),
        (0x30 => cr: ReadWrite<u32, CR::Register>),
        (0x34 => _reserved2),
        (0x38 => imsc: ReadWrite<u32, IMSC::Register>),
        (0x3c => _reserved3),
        (0x44 => icr: WriteOnly<u32>),
        (0x48 => @END),
    }
}

/// Integer and fractional baud-rate divisors for a UART clock of `clock_hz`.
pub const fn baud_divisors(clock_hz: u32, baud: u32) -> (u32, u32) {
    // divisor = clock / (16 * baud), in 1/64ths, rounded to nearest.
    let sixty_fourths = ((clock_hz as u64 * 4 + baud as u64 / 2) / baud as u64) as u32;
    (sixty_fourths >> 6, sixty_fourths & 0x3f)
}

/// A PL011 UART.
pub struct Pl011 {
    base: usize,
}

impl Pl011 {
    /// The UART whose registers are mapped at virtual address `base`.
    ///
    /// # Safety
    /// `base` must map a PL011 as Device memory whenever a method is called, and no one
    /// else may program the same UART concurrently.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    fn regs(&self) -> &RegisterBlock {
        // SAFETY: `new`'s contract: `base` maps a PL011 register block.
        unsafe { super::registers(self.base) }
    }

    /// 8N1 at `baud` from a `clock_hz` reference clock, FIFOs on, interrupts masked.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        let r = self.regs();
        r.cr.set(0);
        while r.fr.is_set(FR::BUSY) {}
        let (integer, fraction) = baud_divisors(clock_hz, baud);
        r.ibrd.set(integer);
        r.fbrd.set(fraction);
        r.lcr_h.write(LCR_H::WLEN::EightBits + LCR_H::FEN::SET);
        r.imsc.set(0);
        r.icr.set(0x7ff);
        r.cr.write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
    }

    /// Sends one byte, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        let r = self.regs();
        while r.fr.is_set(FR::TXFF) {}
        r.dr.set(byte as u32);
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        let r = self.regs();
        if r.fr.is_set(FR::RXFE) {
            None
        } else {
            Some(r.dr.get() as u8)
        }
    }

    /// Waits until every queued byte has left the transmitter.
    pub fn flush(&self) {
        while self.regs().fr.is_set(FR::BUSY) {}
    }

    /// Enables or disables the receive interrupts (data and timeout).
    pub fn set_receive_interrupt(&self, enabled: bool) {
        let value = if enabled { (IMSC::RXIM::SET + IMSC::RTIM::SET).value } else { 0 };
        self.regs().imsc.set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_for_common_clocks() {
        // Raspberry Pi firmware UART clock 48 MHz: 26 + 3/64 (the PL011 TRM's example).
        assert_eq!(baud_divisors(48_000_000, 115_200), (26, 3));
        // 24 MHz (QEMU virt's apb-pclk): 13 + 1/64.
        assert_eq!(baud_divisors(24_000_000, 115_200), (13, 1));
    }
}
