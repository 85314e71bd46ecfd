//! `proc`: Muon's process manager, pid 1 (QNX's procnto, in user space). It starts the
//! boot image's programs, spawns on request, and serves the name service, the pathname
//! space, shared memory (`/dev/shmem`) and `pidin`'s queries on the well-known channel
//! (pid 1, chid 1). The kernel calls that build another process are privileged: proc is
//! the process that may make them. `docs/protocols.md` describes its messages.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod loader;
#[cfg(target_os = "none")]
mod server;

#[cfg(target_os = "none")]
userlib::entry!(server::main);

/// On the host only the library (the tables) is tested; the server needs Muon.
#[cfg(not(target_os = "none"))]
fn main() {}
