//! Board: Raspberry Pi 4 (BCM2711) and QEMU `raspi4b`.
//!
//! Peripherals at 0xFE00_0000 (low-peripheral mode; PL011 UART0 at 0xFE20_1000), the
//! GIC-400 distributor at 0xFF84_1000 and CPU interface at 0xFF84_2000. The firmware
//! loads `kernel8.img` at 0x80000, enters at EL2 and passes the device tree in x0.

#![no_std]
#![no_main]

use drivers::gicv2::GicV2;
use drivers::kernel_glue::GIC_IPI;
use drivers::pl011::Pl011;
use kernel::irq::Irq;
use kernel::mem::layout::device_virt;
use kernel::mem::PhysRange;
use kernel::platform::{console_kind, Board, Console, ConsoleDevice, InterruptController};

const UART0: usize = 0xFE20_1000;
const GIC_DISTRIBUTOR: usize = 0xFF84_1000;
const GIC_CPU_INTERFACE: usize = 0xFF84_2000;
/// EL1 non-secure physical timer PPI.
const TIMER_IRQ: Irq = Irq(30);

struct RaspberryPi4 {
    uart: Pl011,
    gic: GicV2,
}

impl Board for RaspberryPi4 {
    fn name(&self) -> &'static str {
        "rpi4"
    }
    fn init_console(&self) {
        self.uart.init(48_000_000, 115_200); // init_uart_clock=48000000 in config.txt
    }
    fn console(&self) -> &dyn Console {
        &self.uart
    }
    fn interrupts(&self) -> &dyn InterruptController {
        &self.gic
    }
    fn timer_irq(&self) -> Irq {
        TIMER_IRQ
    }
    fn virtual_timer_irq(&self) -> Irq {
        Irq(27)
    }
    fn ipi_irq(&self) -> Irq {
        GIC_IPI
    }
    fn fallback_ram(&self) -> &'static [PhysRange] {
        // The low GiB the firmware always gives the ARM (minus the GPU's share).
        const RANGES: &[PhysRange] = &[PhysRange::new(0, 0x3C00_0000)];
        RANGES
    }
    fn reserved_ram(&self) -> &'static [PhysRange] {
        // The firmware's spin table, where the parked secondary cores wait.
        const RANGES: &[PhysRange] = &[PhysRange::new(0, 0x1000)];
        RANGES
    }
    fn device_regions(&self) -> &'static [PhysRange] {
        const RANGES: &[PhysRange] = &[PhysRange::new(0xFC00_0000, 0x1_0000_0000)];
        RANGES
    }
    fn console_device(&self) -> ConsoleDevice {
        // The PL011 UART0 is SPI 121 on the GIC-400.
        ConsoleDevice { kind: console_kind::PL011, phys: UART0, irq: Irq(32 + 121) }
    }
}

static BOARD: RaspberryPi4 = RaspberryPi4 {
    // SAFETY: the kernel maps `device_regions` (which hold both devices) in the device
    // window before any driver method runs, and boot.S maps the whole window before
    // that; only this board instance drives them.
    uart: unsafe { Pl011::new(device_virt(UART0)) },
    // SAFETY: as above.
    gic: unsafe { GicV2::new(device_virt(GIC_DISTRIBUTOR), device_virt(GIC_CPU_INTERFACE)) },
};

/// Called by `boot.S` on CPU 0 at EL1 with the MMU on.
#[no_mangle]
extern "C" fn muon_board_entry(dtb_phys: usize, entry_el: u64) -> ! {
    kernel::start(&BOARD, dtb_phys, entry_el)
}

/// Called by `boot.S` at EL3 with the MMU off (QEMU with an ELF image): the GIC's
/// interrupts start out secure; hand them all to the non-secure kernel.
#[no_mangle]
extern "C" fn muon_board_el3_init() {
    // SAFETY: at EL3 with the MMU off, physical addresses are the GIC's registers; the
    // kernel has not started, so nothing else is using the GIC.
    let gic = unsafe { GicV2::new(GIC_DISTRIBUTOR, GIC_CPU_INTERFACE) };
    gic.make_all_non_secure();
}
