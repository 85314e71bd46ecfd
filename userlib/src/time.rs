//! Time: the clock since boot and sleeping (`ClockTime`, `Sleep`).

use crate::sys;

/// Nanoseconds since boot.
pub fn now_ns() -> u64 {
    sys::clock_time().expect("ClockTime cannot fail")
}

/// Blocks the calling thread for at least `nanoseconds`.
pub fn sleep_ns(nanoseconds: u64) {
    // `Sleep` has no failure to report.
    let _ = sys::sleep(nanoseconds);
}
