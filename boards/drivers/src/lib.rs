//! Register-level drivers for the devices Muon's boards use.
//!
//! Each driver describes its hardware as data (`register_structs!` with the datasheet's
//! offsets, `register_bitfields!` with its names) and is constructed from the *virtual*
//! address its registers are mapped at, so the same code serves the kernel (through its
//! device window) and, later, user-space drivers (through a mapped device region).
//! Decoding logic that needs no hardware (interrupt numbering, baud divisors) is plain
//! functions with host tests.
//!
//! Nothing here knows about the kernel: boards glue these drivers to the kernel's
//! `platform` traits.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod bcm2835_intc;
pub mod bcm2836_local;
pub mod gicv2;
#[cfg(feature = "kernel")]
pub mod kernel_glue;
pub mod mini_uart;
pub mod pl011;

/// Registers of type `T` at virtual address `base`.
///
/// # Safety
/// `base` must be the address of a live mapping of `T`'s device registers, mapped as
/// Device memory for as long as the returned reference is used.
unsafe fn registers<'a, T>(base: usize) -> &'a T {
    // SAFETY: the caller promises `base` maps the device's register block; register
    // types from tock-registers only use volatile accesses through `&self`.
    unsafe { &*(base as *const T) }
}
