//! What a board must give the kernel: its name and memory layout, a console, an
//! interrupt controller, and the interrupt numbers of the devices the kernel itself
//! drives. Board crates implement [`Board`] by gluing drivers from `muon-drivers`
//! to these traits; the kernel never names a specific device.

use crate::irq::Irq;
use crate::mem::PhysRange;

/// A byte sink for kernel messages (the board's UART).
pub trait Console: Sync {
    /// Writes `bytes` exactly as given (no newline translation), waiting if needed.
    fn write_bytes(&self, bytes: &[u8]);
    /// A received byte, if one is waiting.
    fn read_byte(&self) -> Option<u8>;
}

/// An interrupt acknowledged by [`InterruptController::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// Which interrupt.
    pub irq: Irq,
    /// What [`InterruptController::complete`] needs to end it (e.g. the GIC's IAR value).
    pub token: u32,
}

/// The board's interrupt controller, seen from the CPU that calls it.
pub trait InterruptController: Sync {
    /// Resets the controller: every interrupt masked, this CPU ready to receive.
    fn init(&self);
    /// Lets `irq` reach this CPU.
    fn enable(&self, irq: Irq);
    /// Stops `irq` reaching this CPU.
    fn disable(&self, irq: Irq);
    /// Acknowledges the most urgent pending interrupt, if any.
    fn claim(&self) -> Option<Claimed>;
    /// Ends handling of an interrupt returned by `claim`.
    fn complete(&self, claimed: Claimed);
    /// Interrupts CPU `cpu` with the inter-processor interrupt [`Board::ipi_irq`].
    fn send_ipi(&self, cpu: usize);
    /// Whether `irq` is a line a device may raise on this controller (not a number it
    /// lacks, nor one only software raises): what a driver may attach to.
    fn is_device_line(&self, irq: Irq) -> bool;
}

/// Everything the kernel needs to know about the machine it runs on.
pub trait Board: Sync {
    /// Short name printed in the banner: `qemu-virt`, `rpi3`, `rpi4`.
    fn name(&self) -> &'static str;
    /// Programs the console UART; called once, first thing after the MMU is on.
    fn init_console(&self);
    /// The kernel console.
    fn console(&self) -> &dyn Console;
    /// The interrupt controller.
    fn interrupts(&self) -> &dyn InterruptController;
    /// Interrupt number of this CPU's EL1 physical generic-timer.
    fn timer_irq(&self) -> Irq;
    /// Interrupt number of this CPU's EL1 virtual generic-timer, which user space may
    /// program (a device any test driver can make interrupt).
    fn virtual_timer_irq(&self) -> Irq;
    /// Interrupt number an inter-processor interrupt arrives as.
    fn ipi_irq(&self) -> Irq;
    /// Where the loader leaves a device tree when it passes none in x0 (QEMU `virt`
    /// with an ELF kernel puts it at the start of RAM). Checked for the DTB magic.
    fn device_tree_hint(&self) -> Option<usize> {
        None
    }
    /// RAM to assume when no device tree is passed.
    fn fallback_ram(&self) -> &'static [PhysRange];
    /// RAM the kernel must never hand out (firmware spin tables, mailboxes…).
    fn reserved_ram(&self) -> &'static [PhysRange];
    /// Physical ranges holding device registers; mapped Device-nGnRE in the device window.
    fn device_regions(&self) -> &'static [PhysRange];
    /// The console UART, for the user-space console driver (which takes its input
    /// interrupt; the kernel keeps writing its own log to it).
    fn console_device(&self) -> ConsoleDevice;
}

pub use abi::info::console_kind;

/// Where the console UART is and how it interrupts.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleDevice {
    /// `abi::info::console_kind`.
    pub kind: u32,
    /// Physical address of the page holding its registers.
    pub phys: usize,
    /// Its interrupt.
    pub irq: Irq,
}
