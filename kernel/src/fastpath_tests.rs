//! Host tests of the fast paths: each must leave the system exactly as the general path
//! would, and its guard conditions must send everything else there.

use crate::testing::{call, system};
use abi::syscall::{timeout_states, Call};

#[test]
fn a_quick_nop_is_allowed_only_without_an_armed_timeout() {
    let mut s = system();
    s.spawn("init", b"", None, None, false).unwrap();
    s.schedule();
    let cur = s.current().unwrap();
    assert!(s.quick_nop_allowed(cur));
    assert_eq!(call(&mut s, Call::TimerTimeout { states: timeout_states::RECEIVE, nanoseconds: 10 }).0, Ok(0));
    assert!(!s.quick_nop_allowed(cur), "the Nop must use the bound up on the full path");
    assert!(!s.return_info(cur).unwrap().quick_nop);
    assert_eq!(call(&mut s, Call::Nop).0, Ok(0));
    assert!(s.quick_nop_allowed(cur));
    let info = s.return_info(cur).unwrap();
    assert!(info.quick_nop && !info.owns_fp);
    assert_eq!(Some(info.ttbr0), s.ttbr0_of(cur));
    assert_eq!(info.context, s.context_mut(cur).unwrap() as *mut _);
}
