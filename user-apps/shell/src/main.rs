//! `shell`: the Muon shell.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
userlib::entry!(main);

#[cfg(target_os = "none")]
fn main(_args: userlib::Args) -> Result<(), userlib::Errno> {
    Ok(())
}

/// On the host only the library is tested; the shell needs Muon.
#[cfg(not(target_os = "none"))]
fn main() {}
