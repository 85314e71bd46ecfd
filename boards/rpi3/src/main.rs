//! Board: Raspberry Pi 3 (BCM2837) and QEMU `raspi3b`.
//!
//! Peripherals at 0x3F00_0000 (PL011 UART0 at +0x20_1000, mini UART in the AUX block at
//! +0x21_5000, BCM2835 interrupt controller at +0xB200), the BCM2836 ARM-local
//! controller at 0x4000_0000. The firmware (and QEMU) load `kernel8.img` at 0x80000.
//! Build with `--features mini-uart` for a console on UART1 (a stock Pi 3 gives the
//! PL011 to Bluetooth unless `dtoverlay=disable-bt`).

#![no_std]
#![no_main]

use drivers::bcm2835_intc::GpuController;
use drivers::bcm2836_local::{source, LocalController};
use drivers::kernel_glue::{Bcm2836Interrupts, BCM_IPI};
use kernel::irq::Irq;
use kernel::mem::layout::device_virt;
use kernel::mem::PhysRange;
use kernel::platform::{console_kind, Board, Console, ConsoleDevice, InterruptController};

const PERIPHERALS: usize = 0x3F00_0000;
const ARM_LOCAL: usize = 0x4000_0000;

#[cfg(not(feature = "mini-uart"))]
type Uart = drivers::pl011::Pl011;
#[cfg(feature = "mini-uart")]
type Uart = drivers::mini_uart::MiniUart;

struct RaspberryPi3 {
    uart: Uart,
    interrupts: Bcm2836Interrupts,
}

impl Board for RaspberryPi3 {
    fn name(&self) -> &'static str {
        "rpi3"
    }
    fn init_console(&self) {
        #[cfg(not(feature = "mini-uart"))]
        self.uart.init(48_000_000, 115_200); // init_uart_clock=48000000 in config.txt
        #[cfg(feature = "mini-uart")]
        self.uart.init(250_000_000, 115_200); // core_freq=250 in config.txt
    }
    fn console(&self) -> &dyn Console {
        &self.uart
    }
    fn interrupts(&self) -> &dyn InterruptController {
        &self.interrupts
    }
    fn timer_irq(&self) -> Irq {
        Irq(source::CNTPNS)
    }
    fn virtual_timer_irq(&self) -> Irq {
        Irq(source::CNTV)
    }
    fn ipi_irq(&self) -> Irq {
        BCM_IPI
    }
    fn fallback_ram(&self) -> &'static [PhysRange] {
        // The ARM's share with the firmware's default 64 MiB GPU split.
        const RANGES: &[PhysRange] = &[PhysRange::new(0, 0x3B40_0000)];
        RANGES
    }
    fn reserved_ram(&self) -> &'static [PhysRange] {
        // The firmware's spin table, where the parked secondary cores wait.
        const RANGES: &[PhysRange] = &[PhysRange::new(0, 0x1000)];
        RANGES
    }
    fn device_regions(&self) -> &'static [PhysRange] {
        const RANGES: &[PhysRange] =
            &[PhysRange::new(PERIPHERALS, 0x4000_0000), PhysRange::new(ARM_LOCAL, ARM_LOCAL + 0x1000)];
        RANGES
    }
    fn console_device(&self) -> ConsoleDevice {
        // GPU interrupts are numbered from 32: UART0 is GPU 57, the AUX block (mini UART) 29.
        #[cfg(not(feature = "mini-uart"))]
        return ConsoleDevice { kind: console_kind::PL011, phys: UART_BASE, irq: Irq(32 + 57) };
        #[cfg(feature = "mini-uart")]
        return ConsoleDevice { kind: console_kind::MINI_UART, phys: UART_BASE, irq: Irq(32 + 29) };
    }
}

#[cfg(not(feature = "mini-uart"))]
const UART_BASE: usize = PERIPHERALS + 0x20_1000;
#[cfg(feature = "mini-uart")]
const UART_BASE: usize = PERIPHERALS + 0x21_5000;

static BOARD: RaspberryPi3 = RaspberryPi3 {
    // SAFETY: the kernel maps `device_regions` (which hold every device used here) in
    // the device window before any driver method runs, and boot.S maps the whole window
    // before that; only this board instance drives them.
    uart: unsafe { Uart::new(device_virt(UART_BASE)) },
    interrupts: Bcm2836Interrupts {
        // SAFETY: as above.
        local: unsafe { LocalController::new(device_virt(ARM_LOCAL)) },
        // SAFETY: as above.
        gpu: unsafe { GpuController::new(device_virt(PERIPHERALS + 0xB200)) },
    },
};

/// Called by `boot.S` on CPU 0 at EL1 with the MMU on.
#[no_mangle]
extern "C" fn muon_board_entry(dtb_phys: usize, entry_el: u64) -> ! {
    kernel::start(&BOARD, dtb_phys, entry_el)
}

/// Called by `boot.S` at EL3 (QEMU with an ELF image): nothing to prepare.
#[no_mangle]
extern "C" fn muon_board_el3_init() {}
