//! Architecture support. Muon runs on AArch64 only; the indirection keeps the
//! boundary visible: nothing outside `arch` (and the boards) touches a CPU register.

pub mod aarch64;

pub use aarch64::*;
