//! `hello`: the first user program. It greets with its name and pid, prints its
//! arguments, runs a thread that greets too, joins it and exits 0.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use userlib::{println, process, thread, Args, Errno};

userlib::entry!(main);

fn main(args: Args) -> Result<(), Errno> {
    println!("hello from {} pid {}", args.program(), process::id());
    for (index, argument) in args.iter().enumerate().skip(1) {
        println!("  argv[{index}] = {argument}");
    }
    let greeting = String::from("this text was moved into the thread");
    let worker = thread::spawn(move || {
        println!("hello from thread {} of pid {}: {greeting}", thread::current_id(), process::id());
    })?;
    let tid = worker.id();
    let status = worker.join()?;
    println!("thread {tid} joined with status {status}");
    Ok(())
}
