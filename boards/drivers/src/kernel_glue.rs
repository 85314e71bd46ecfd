//! The kernel's `platform` traits implemented by these drivers, so a board only has to
//! pick drivers and addresses.

use crate::bcm2835_intc::{self, GpuController, Route};
use crate::bcm2836_local::{source, LocalController};
use crate::gicv2::{self, GicV2};
use crate::mini_uart::MiniUart;
use crate::pl011::Pl011;
use kernel::irq::Irq;
use kernel::platform::{Claimed, Console, InterruptController};

impl Console for Pl011 {
    fn write_bytes(&self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_byte(*b));
    }
    fn read_byte(&self) -> Option<u8> {
        Pl011::read_byte(self)
    }
}

impl Console for MiniUart {
    fn write_bytes(&self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_byte(*b));
    }
    fn read_byte(&self) -> Option<u8> {
        MiniUart::read_byte(self)
    }
}

/// The SGI used as Muon's inter-processor interrupt on GIC boards.
pub const GIC_IPI: Irq = Irq(0);

impl InterruptController for GicV2 {
    fn init(&self) {
        GicV2::init(self);
    }
    fn enable(&self, irq: Irq) {
        GicV2::enable(self, irq.0);
    }
    fn disable(&self, irq: Irq) {
        GicV2::disable(self, irq.0);
    }
    fn claim(&self) -> Option<Claimed> {
        let iar = self.acknowledge()?;
        Some(Claimed { irq: Irq(gicv2::iar_interrupt_id(iar)), token: iar })
    }
    fn complete(&self, claimed: Claimed) {
        self.end_of_interrupt(claimed.token);
    }
    fn send_ipi(&self, cpu: usize) {
        self.send_sgi(GIC_IPI.0, 1 << (cpu & 7));
    }
    fn is_device_line(&self, irq: Irq) -> bool {
        // Past the 16 software-generated ones, up to the lines the distributor has.
        (gicv2::FIRST_PPI..self.lines()).contains(&irq.0)
    }
}

/// The Pi 3's two controllers together, numbered as `bcm2835_intc` documents.
pub struct Bcm2836Interrupts {
    /// The per-core ARM local controller.
    pub local: LocalController,
    /// The GPU-side controller.
    pub gpu: GpuController,
}

/// Mailbox 0, Muon's inter-processor interrupt on the Pi 3.
pub const BCM_IPI: Irq = Irq(source::MAILBOX0);

fn core_id() -> usize {
    kernel::percpu::this_cpu().cpu_id.load(core::sync::atomic::Ordering::Relaxed).min(3)
}

impl InterruptController for Bcm2836Interrupts {
    fn init(&self) {
        self.local.init(core_id());
        self.gpu.init();
    }
    fn enable(&self, irq: Irq) {
        match bcm2835_intc::route(irq.0) {
            Some(Route::Local(bit)) => self.local.enable(core_id(), bit),
            Some(Route::Gpu(bank, bit)) => self.gpu.set_enabled(bank, bit, true),
            None => {}
        }
    }
    fn disable(&self, irq: Irq) {
        match bcm2835_intc::route(irq.0) {
            Some(Route::Local(bit)) => self.local.disable(core_id(), bit),
            Some(Route::Gpu(bank, bit)) => self.gpu.set_enabled(bank, bit, false),
            None => {}
        }
    }
    fn claim(&self) -> Option<Claimed> {
        let core = core_id();
        let local = self.local.pending(core);
        let (basic, bank1, bank2) = if local & (1 << source::GPU) != 0 { self.gpu.pending() } else { (0, 0, 0) };
        let irq = bcm2835_intc::decode(local, basic, bank1, bank2)?;
        if (source::MAILBOX0..source::MAILBOX0 + 4).contains(&irq) {
            // A mailbox interrupt stays raised until its bits are cleared: take them now.
            self.local.mailbox_take(core, (irq - source::MAILBOX0) as usize);
        }
        Some(Claimed { irq: Irq(irq), token: 0 })
    }
    fn complete(&self, _claimed: Claimed) {
        // Level-triggered sources drop when their device is serviced; nothing to end here.
    }
    fn send_ipi(&self, cpu: usize) {
        self.local.mailbox_set(cpu & 3, 0, 1);
    }
    fn is_device_line(&self, irq: Irq) -> bool {
        // (The mailboxes only software raises.)
        bcm2835_intc::route(irq.0).is_some() && !(source::MAILBOX0..source::MAILBOX0 + 4).contains(&irq.0)
    }
}
