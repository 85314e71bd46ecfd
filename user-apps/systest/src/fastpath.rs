//! System tests of the kernel's fast paths: a call answered by a fast path must do
//! exactly what the general path does, including the parts that are easy to forget.

use crate::{ensure, Outcome};
use alloc::format;
use userlib::ipc::{timeout, timeout_states, Channel, Connection};
use userlib::{sys, Errno};

/// A `Nop` (answered by the exception vector when it can) still uses up a `TimerTimeout`
/// armed before it: the bound applies to the next call only, whatever that call is.
pub fn a_nop_uses_up_an_armed_timeout() -> Outcome {
    let channel = Channel::create(0).map_err(|e| format!("{e}"))?;
    let me = Connection::attach(0, channel.chid()).map_err(|e| format!("{e}"))?;
    let timer = sys::timer_create(&me.pulse_event(10, 5, 0)).map_err(|e| format!("TimerCreate: {e}"))?;
    // The set-up works: a bounded receive with nothing to receive times out.
    timeout(timeout_states::RECEIVE, 1_000_000).map_err(|e| format!("{e}"))?;
    let got = channel.receive_pulse();
    ensure!(got.as_ref().err() == Some(&Errno::ETIMEDOUT), "bounded receive: {got:?}");
    // With a Nop in between, the receive is unbounded and gets the timer's pulse.
    sys::timer_settime(timer, 5_000_000, 0).map_err(|e| format!("TimerSettime: {e}"))?;
    timeout(timeout_states::RECEIVE, 1_000_000).map_err(|e| format!("{e}"))?;
    sys::nop().map_err(|e| format!("Nop: {e}"))?;
    let pulse = channel.receive_pulse().map_err(|e| format!("receive after the Nop: {e}"))?;
    ensure!(pulse.code == 5, "pulse {pulse:?}");
    sys::timer_destroy(timer).map_err(|e| format!("TimerDestroy: {e}"))?;
    Ok(())
}
