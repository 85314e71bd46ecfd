//! Exception entry from `vectors.S`: routes IRQs to the kernel's dispatcher, lets the
//! in-kernel tests trap on purpose, and turns every other EL1 exception into a readable
//! fault report that stops the machine with a failure code.

use super::super::esr::{self, class};
use aarch64_cpu::registers::{Readable, ESR_EL1, FAR_EL1};
use core::sync::atomic::{AtomicU64, Ordering};

/// The registers saved on exception entry, in `vectors.S` order.
#[repr(C)]
#[derive(Debug, Clone)]
pub struct TrapFrame {
    /// General-purpose registers x0–x30.
    pub x: [u64; 31],
    /// The EL0 stack pointer.
    pub sp_el0: u64,
    /// Where the exception returns to.
    pub elr: u64,
    /// The saved processor state.
    pub spsr: u64,
}

/// `brk` immediate the in-kernel tests use to trap deliberately ("MU").
pub const TEST_BREAK_IMMEDIATE: u32 = 0x4d55;
/// How many deliberate test traps were taken.
pub static TEST_TRAPS: AtomicU64 = AtomicU64::new(0);
/// Exit code the machine stops with after a kernel fault.
pub const KERNEL_FAULT_EXIT_CODE: u32 = 3;

const KIND_NAMES: [&str; 4] = ["synchronous", "IRQ", "FIQ", "SError"];
const ORIGINS: [&str; 4] = ["EL1 using SP_EL0", "EL1", "EL0 (AArch64)", "EL0 (AArch32)"];

/// Called by `vectors.S` with the saved frame and the vector index (0–15).
#[no_mangle]
extern "C" fn muon_exception(frame: &mut TrapFrame, kind: u64) {
    match kind {
        4 => kernel_synchronous(frame),
        5 => {
            // (An interrupt taken while the CPU idles: the idle loop prepares the return.)
            let _ = crate::interrupts::handle_irq();
        }
        _ => fatal(frame, kind, None),
    }
}

/// The syndrome (ESR_EL1) of the synchronous exception being handled.
pub fn syndrome_register() -> u64 {
    ESR_EL1.get()
}

/// The faulting address (FAR_EL1) of the abort being handled; valid only when the
/// syndrome says so.
pub fn fault_address() -> u64 {
    FAR_EL1.get()
}

fn kernel_synchronous(frame: &mut TrapFrame) {
    let esr = syndrome_register();
    let ec = esr::exception_class(esr);
    if ec == class::BRK64 && esr::syndrome(esr) & 0xffff == TEST_BREAK_IMMEDIATE {
        TEST_TRAPS.fetch_add(1, Ordering::SeqCst);
        frame.elr += 4;
        return;
    }
    if ec == class::UNKNOWN && super::semihosting::exit_in_progress() {
        crate::console::emergency(format_args!(
            "\nsemihosting is not enabled (start QEMU with -semihosting-config enable=on,target=native); halting\n"
        ));
        super::halt();
    }
    fatal(frame, 4, Some(esr));
}

fn fatal(frame: &TrapFrame, kind: u64, esr: Option<u64>) -> ! {
    let esr = esr.unwrap_or_else(syndrome_register);
    let far = fault_address();
    let ec = esr::exception_class(esr);
    let print = crate::console::emergency;
    print(format_args!(
        "\n*** KERNEL FAULT on CPU {}: {} exception from {}\n",
        super::cpu_id(),
        KIND_NAMES[(kind % 4) as usize],
        ORIGINS[(kind / 4 % 4) as usize]
    ));
    print(format_args!("    class {:#04x}: {}\n", ec, esr::class_name(ec)));
    if let Some(abort) = esr::decode_abort(esr) {
        // No heap here: the fault may have happened inside the allocator.
        print(format_args!("    {}", abort.kind.describe()));
        if let Some(level) = abort.kind.level() {
            print(format_args!(" at level {level}"));
        }
        print(format_args!(
            ", on {}{}\n",
            if abort.write { "write" } else { "read" },
            if abort.far_valid { "" } else { " (FAR not valid)" }
        ));
    }
    print(format_args!(
        "    FAR {:#018x}  ELR {:#018x}  SPSR {:#010x}  ESR {:#010x}\n",
        far, frame.elr, frame.spsr, esr
    ));
    for row in 0..8 {
        let mut line = [0u64; 4];
        let count = if row == 7 { 3 } else { 4 };
        line[..count].copy_from_slice(&frame.x[row * 4..row * 4 + count]);
        print(format_args!("    "));
        for (i, value) in line[..count].iter().enumerate() {
            print(format_args!("x{:<2} {:#018x}  ", row * 4 + i, value));
        }
        print(format_args!("\n"));
    }
    print(format_args!("    sp_el0 {:#018x}\n*** machine stopped\n", frame.sp_el0));
    super::semihosting::exit(KERNEL_FAULT_EXIT_CODE)
}
