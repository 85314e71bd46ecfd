//! `mqueue`: the POSIX message-queue server (see `server.rs`).

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod server;

#[cfg(target_os = "none")]
userlib::entry!(server::main);

/// On the host only the library (the queue rules) is tested; the server needs Muon.
#[cfg(not(target_os = "none"))]
fn main() {}
