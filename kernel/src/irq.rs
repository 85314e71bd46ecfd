//! Interrupt routing: which kernel action each interrupt number triggers.
//!
//! The board's controller turns hardware state into an [`Irq`]; the [`IrqTable`] says
//! what that number means to the kernel. The dispatch loop (`irq_dispatch`, target
//! only) claims, looks up, acts and completes. User-space drivers will get entries here
//! that deliver events (InterruptAttachEvent, a later issue).

use core::fmt;

/// An interrupt number in the board's numbering (GIC INTID, or the Pi 3 scheme in
/// `drivers::bcm2835_intc`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Irq(pub u32);

impl fmt::Debug for Irq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "irq{}", self.0)
    }
}

/// Highest interrupt number any supported controller produces, plus one.
pub const MAX_IRQS: usize = 1020;

/// What the kernel does when an interrupt arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqAction {
    /// The generic timer: advance time, expire deadlines.
    Timer,
    /// An inter-processor interrupt.
    InterProcessor,
    /// Routed to a user-space driver's event (`InterruptAttachEvent`).
    UserEvent,
}

/// Why a routing change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqError {
    /// The number is beyond [`MAX_IRQS`].
    OutOfRange,
    /// Another action already owns the interrupt.
    Busy,
    /// Nothing was attached.
    NotAttached,
}

/// The routing table.
pub struct IrqTable {
    actions: [Option<IrqAction>; MAX_IRQS],
    counts: [u32; MAX_IRQS],
}

impl Default for IrqTable {
    fn default() -> Self {
        Self::new()
    }
}

impl IrqTable {
    /// A table with nothing attached.
    pub const fn new() -> Self {
        Self { actions: [None; MAX_IRQS], counts: [0; MAX_IRQS] }
    }

    /// Routes `irq` to `action`.
    pub fn attach(&mut self, irq: Irq, action: IrqAction) -> Result<(), IrqError> {
        let slot = self.actions.get_mut(irq.0 as usize).ok_or(IrqError::OutOfRange)?;
        if slot.is_some() {
            return Err(IrqError::Busy);
        }
        *slot = Some(action);
        Ok(())
    }

    /// Removes the route of `irq`, returning what it was.
    pub fn detach(&mut self, irq: Irq) -> Result<IrqAction, IrqError> {
        let slot = self.actions.get_mut(irq.0 as usize).ok_or(IrqError::OutOfRange)?;
        slot.take().ok_or(IrqError::NotAttached)
    }

    /// Records an arrival of `irq` and returns its action (`None`: nobody attached, the
    /// caller should mask it).
    pub fn dispatch(&mut self, irq: Irq) -> Option<IrqAction> {
        let index = irq.0 as usize;
        let count = self.counts.get_mut(index)?;
        *count = count.wrapping_add(1);
        self.actions[index]
    }

    /// The action routed to `irq`, without counting an arrival.
    pub fn dispatch_action(&self, irq: Irq) -> Option<IrqAction> {
        *self.actions.get(irq.0 as usize)?
    }

    /// How many times `irq` has arrived.
    pub fn count(&self, irq: Irq) -> u32 {
        self.counts.get(irq.0 as usize).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_dispatch_detach() {
        let mut t = IrqTable::new();
        t.attach(Irq(30), IrqAction::Timer).unwrap();
        t.attach(Irq(0), IrqAction::InterProcessor).unwrap();
        assert_eq!(t.dispatch(Irq(30)), Some(IrqAction::Timer));
        assert_eq!(t.dispatch(Irq(30)), Some(IrqAction::Timer));
        assert_eq!(t.dispatch(Irq(0)), Some(IrqAction::InterProcessor));
        assert_eq!((t.count(Irq(30)), t.count(Irq(0))), (2, 1));
        assert_eq!(t.detach(Irq(30)), Ok(IrqAction::Timer));
        assert_eq!(t.dispatch(Irq(30)), None);
        assert_eq!(t.count(Irq(30)), 3, "unrouted arrivals are still counted");
    }

    #[test]
    fn conflicts_and_bad_numbers_are_errors() {
        let mut t = IrqTable::new();
        t.attach(Irq(33), IrqAction::Timer).unwrap();
        assert_eq!(t.attach(Irq(33), IrqAction::InterProcessor), Err(IrqError::Busy));
        assert_eq!(t.attach(Irq(MAX_IRQS as u32), IrqAction::Timer), Err(IrqError::OutOfRange));
        assert_eq!(t.detach(Irq(34)), Err(IrqError::NotAttached));
        assert_eq!(t.detach(Irq(u32::MAX)), Err(IrqError::OutOfRange));
        assert_eq!(t.dispatch(Irq(u32::MAX)), None);
        assert_eq!(t.count(Irq(u32::MAX)), 0);
    }
}
