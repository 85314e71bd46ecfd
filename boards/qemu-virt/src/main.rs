//! Board: QEMU `virt` (`-M virt -cpu cortex-a53`).
//!
//! PL011 console at 0x0900_0000, GICv2 at 0x0800_0000 (distributor) / 0x0801_0000 (CPU
//! interface), RAM from 0x4000_0000 (size from the device tree QEMU passes). QEMU enters
//! at EL1 (EL2 with `virtualization=on`, EL3 with `secure=on`).

#![no_std]
#![no_main]

use drivers::gicv2::GicV2;
use drivers::kernel_glue::GIC_IPI;
use drivers::pl011::Pl011;
use kernel::irq::Irq;
use kernel::mem::layout::device_virt;
use kernel::mem::PhysRange;
use kernel::platform::{console_kind, Board, Console, ConsoleDevice, InterruptController};

const UART0: usize = 0x0900_0000;
const GIC_DISTRIBUTOR: usize = 0x0800_0000;
const GIC_CPU_INTERFACE: usize = 0x0801_0000;
/// EL1 non-secure physical timer PPI.
const TIMER_IRQ: Irq = Irq(30);

struct QemuVirt {
    uart: Pl011,
    gic: GicV2,
}

impl Board for QemuVirt {
    fn name(&self) -> &'static str {
        "qemu-virt"
    }
    fn init_console(&self) {
        self.uart.init(24_000_000, 115_200);
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
    fn device_tree_hint(&self) -> Option<usize> {
        Some(0x4000_0000)
    }
    fn fallback_ram(&self) -> &'static [PhysRange] {
        const RANGES: &[PhysRange] = &[PhysRange::new(0x4000_0000, 0x4800_0000)];
        RANGES
    }
    fn reserved_ram(&self) -> &'static [PhysRange] {
        &[]
    }
    fn device_regions(&self) -> &'static [PhysRange] {
        const RANGES: &[PhysRange] = &[PhysRange::new(0x0800_0000, 0x0802_0000), PhysRange::new(UART0, UART0 + 0x1000)];
        RANGES
    }
    fn console_device(&self) -> ConsoleDevice {
        // The PL011's SPI 1.
        ConsoleDevice { kind: console_kind::PL011, phys: UART0, irq: Irq(33) }
    }
}

static BOARD: QemuVirt = QemuVirt {
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

/// Called by `boot.S` at EL3 with the MMU off (`-M virt,secure=on`): the GIC's
/// interrupts start out secure; hand them all to the non-secure kernel.
#[no_mangle]
extern "C" fn muon_board_el3_init() {
    // SAFETY: at EL3 with the MMU off, physical addresses are the GIC's registers; the
    // kernel has not started, so nothing else is using the GIC.
    let gic = unsafe { GicV2::new(GIC_DISTRIBUTOR, GIC_CPU_INTERFACE) };
    gic.make_all_non_secure();
}
