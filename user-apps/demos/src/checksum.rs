//! `demo-checksum`: placeholder.

#![no_std]
#![no_main]

userlib::entry!(main);

fn main(_args: userlib::Args) -> Result<(), userlib::Errno> {
    Ok(())
}
