//! `ramfs [PATH]`: files and directories in RAM under PATH (default `/tmp`), the
//! smallest complete resource manager (see `server.rs`; the tree is `lib.rs`).

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod server;

#[cfg(target_os = "none")]
userlib::entry!(server::main);

/// On the host only the library (the tree's rules) is tested; the server needs Muon.
#[cfg(not(target_os = "none"))]
fn main() {}
