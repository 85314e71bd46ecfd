//! Leaving QEMU with an exit code through Arm semihosting (`hlt #0xf000`, SYS_EXIT).
//!
//! When semihosting is off (real hardware, or QEMU without
//! `-semihosting-config enable=on`), the `hlt` is an undefined instruction; the
//! exception handler sees [`exit_in_progress`] and halts with a clear message instead.

use core::sync::atomic::{AtomicBool, Ordering};

static EXIT_IN_PROGRESS: AtomicBool = AtomicBool::new(false);

const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// True while [`exit`] is trying to leave.
pub fn exit_in_progress() -> bool {
    EXIT_IN_PROGRESS.load(Ordering::SeqCst)
}

/// Ends the emulation with `code` (0 = success); halts if semihosting is unavailable.
pub fn exit(code: u32) -> ! {
    crate::console::flush();
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as u64];
    EXIT_IN_PROGRESS.store(true, Ordering::SeqCst);
    // SAFETY: the semihosting call reads the two-word block we pass and ends the
    // emulation; it touches no other memory. Without semihosting it traps to our own
    // handler, which halts.
    unsafe {
        core::arch::asm!(
            "hlt #0xf000",
            in("x0") SYS_EXIT,
            in("x1") block.as_ptr(),
            options(nostack, readonly)
        );
    }
    super::halt()
}
