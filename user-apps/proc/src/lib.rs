//! The process manager's bookkeeping, kept free of system calls so the host can test it:
//! the name table ([`names`]), the pathname space ([`paths`]), the shared-memory
//! objects with their handles ([`shm`]) and the checking of spawn requests ([`spawn`]).
//! `main.rs` is the server around them.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod names;
pub mod paths;
pub mod shm;
pub mod spawn;

/// Who registered something: enough to find it again and to drop it when that client
/// disconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The owning process.
    pub pid: u32,
    /// Its channel clients connect to.
    pub chid: u32,
    /// Its server connection to proc (all its registrations go when it disconnects).
    pub scoid: u32,
}
