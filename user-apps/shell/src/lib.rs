//! The shell's logic, free of system calls so the host can test it. The shell (`main.rs`)
//! reads the terminal byte by byte and feeds an [`editor::Editor`], which keeps the line
//! being typed and the history and says what to echo; each finished line goes to
//! [`parse::parse_for_running`], which turns it into the jobs to start: pipelines of
//! commands with their arguments and redirections, in the foreground or the background.
//! As each job runs, its words are expanded: `$?`, and the paths a pattern matches
//! ([`glob`]). Starting programs, wiring pipes and files and waiting for jobs is the
//! shell's own business.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod editor;
pub mod glob;
pub mod parse;
