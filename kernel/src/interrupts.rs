//! Taking interrupts: the dispatch loop the exception vector calls, the kernel's own
//! interrupt actions (timer, inter-processor), and the programming of the one-shot
//! timer from [`Deadlines`].
//!
//! State shared with interrupt context sits behind spin locks that thread context only
//! takes with IRQs masked.

use crate::arch::{self, timer};
use crate::irq::{Irq, IrqAction, IrqTable};
use crate::percpu;
use crate::platform::Board;
use crate::time::{Clock, Deadlines};
use core::sync::atomic::{AtomicU64, Ordering};

static TABLE: spin::Mutex<IrqTable> = spin::Mutex::new(IrqTable::new());
static DEADLINES: spin::Mutex<Deadlines> = spin::Mutex::new(Deadlines::new());
static BOARD: spin::Once<&'static dyn Board> = spin::Once::new();
static ONESHOTS_FIRED: AtomicU64 = AtomicU64::new(0);
static IPIS_RECEIVED: AtomicU64 = AtomicU64::new(0);

fn with_irqs_masked<R>(f: impl FnOnce() -> R) -> R {
    let were_on = arch::disable_irqs();
    let result = f();
    if were_on {
        arch::enable_irqs();
    }
    result
}

/// Resets the controller and routes the timer and IPI; IRQs stay masked.
pub fn init(board: &'static dyn Board) {
    BOARD.call_once(|| board);
    let controller = board.interrupts();
    controller.init();
    timer::stop();
    let mut table = TABLE.lock();
    for (irq, action) in [(board.timer_irq(), IrqAction::Timer), (board.ipi_irq(), IrqAction::InterProcessor)] {
        if table.attach(irq, action).is_ok() {
            controller.enable(irq);
        }
    }
}

/// Called from the IRQ vector: handles the most urgent pending interrupt. (One per
/// exception, as seL4 does: another one still pending, level or latched, raises the
/// exception again as soon as IRQs are unmasked; the common case of one interrupt
/// saves a second, empty acknowledge.) True when it prepared the return to user space
/// (a user-routed interrupt, delivered under the same lock).
pub fn handle_irq() -> bool {
    let Some(board) = BOARD.get() else { return false };
    let controller = board.interrupts();
    let mut prepared = false;
    if let Some(claimed) = controller.claim() {
        percpu::this_cpu().irqs_taken.fetch_add(1, Ordering::Relaxed);
        let action = TABLE.lock().dispatch(claimed.irq);
        match action {
            Some(IrqAction::Timer) => on_timer(),
            Some(IrqAction::InterProcessor) => {
                IPIS_RECEIVED.fetch_add(1, Ordering::SeqCst);
            }
            Some(IrqAction::UserEvent) => {
                // Masked until the driver has serviced the device (InterruptUnmask).
                controller.disable(claimed.irq);
                prepared = crate::run::user_interrupt(claimed.irq.0);
            }
            None => {
                controller.disable(claimed.irq);
                log::warn!("interrupt {:?} has no handler; masked", claimed.irq);
            }
        }
        controller.complete(claimed);
    }
    prepared
}

fn on_timer() {
    let now = timer::now();
    let expired = {
        let mut deadlines = DEADLINES.lock();
        let expired = deadlines.expire(now);
        program(&deadlines);
        expired
    };
    if expired.oneshot {
        ONESHOTS_FIRED.fetch_add(1, Ordering::SeqCst);
        ONESHOT_ARMED.store(u64::MAX, Ordering::Relaxed);
    }
    crate::run::timer_expired(now, expired.ticks);
}

fn program(deadlines: &Deadlines) {
    match deadlines.next() {
        Some(at) => timer::set_deadline(at),
        None => timer::stop(),
    }
}

/// Routes `irq` to user events and enables it: `EINVAL` for a line no device raises,
/// `EBUSY` for one already routed.
pub fn attach_user(irq: Irq) -> Result<(), abi::Errno> {
    let board = BOARD.get().ok_or(abi::Errno::ENODEV)?;
    if !board.interrupts().is_device_line(irq) {
        return Err(abi::Errno::EINVAL); // (a number the controller lacks, or an SGI)
    }
    let result = with_irqs_masked(|| TABLE.lock().attach(irq, IrqAction::UserEvent));
    match result {
        Ok(()) => {
            board.interrupts().enable(irq);
            Ok(())
        }
        Err(crate::irq::IrqError::OutOfRange) => Err(abi::Errno::EINVAL),
        Err(_) => Err(abi::Errno::EBUSY),
    }
}

/// Masks `irq` and removes its user route.
pub fn detach_user(irq: Irq) {
    let Some(board) = BOARD.get() else { return };
    board.interrupts().disable(irq);
    with_irqs_masked(|| {
        let mut table = TABLE.lock();
        if table.dispatch_action(irq) == Some(IrqAction::UserEvent) {
            let _ = table.detach(irq);
        }
    });
}

/// Masks or unmasks a user-routed `irq`.
pub fn set_user_masked(irq: Irq, masked: bool) {
    let Some(board) = BOARD.get() else { return };
    if masked {
        board.interrupts().disable(irq);
    } else {
        board.interrupts().enable(irq);
    }
}

/// The counter's clock.
pub fn clock() -> Clock {
    Clock::new(timer::frequency())
}

/// Starts a periodic tick every `period_ns` (or stops it with `None`).
pub fn set_tick(period_ns: Option<u64>) {
    let period = period_ns.map(|ns| clock().ns_to_ticks(ns).max(1));
    with_irqs_masked(|| {
        let mut deadlines = DEADLINES.lock();
        deadlines.set_period(timer::now(), period);
        program(&deadlines);
    });
}

/// The one-shot deadline last armed, in nanoseconds (`u64::MAX`: none), so re-arming the
/// same deadline on every return to user space costs one comparison and no conversion.
static ONESHOT_ARMED: AtomicU64 = AtomicU64::new(u64::MAX);

/// Arms the one-shot deadline at `at_ns`, nanoseconds of counter time.
pub fn set_oneshot(at_ns: u64) {
    if ONESHOT_ARMED.swap(at_ns, Ordering::Relaxed) == at_ns {
        return;
    }
    let at = clock().ns_to_ticks(at_ns);
    with_irqs_masked(|| {
        let mut deadlines = DEADLINES.lock();
        deadlines.set_oneshot(Some(at));
        program(&deadlines);
    });
}

/// Periodic ticks counted so far.
pub fn ticks() -> u64 {
    with_irqs_masked(|| DEADLINES.lock().ticks())
}

/// One-shot deadlines that have fired.
pub fn oneshots_fired() -> u64 {
    ONESHOTS_FIRED.load(Ordering::SeqCst)
}

/// Inter-processor interrupts received.
pub fn ipis_received() -> u64 {
    IPIS_RECEIVED.load(Ordering::SeqCst)
}
