//! The shell's logic, free of system calls so the host can test it.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;
