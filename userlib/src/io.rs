//! Standard input, output and error. A program started with `STDIN`, `STDOUT` or
//! `STDERR` in its environment (what the shell gives its commands: a path such as
//! `/dev/console`, `/dev/pipe/3` or a file) opens that path on first use; without them,
//! output goes to the kernel console and input is empty. [`print!`](crate::print) and
//! [`println!`](crate::println) write to standard output, `eprint!`/`eprintln!` to
//! standard error. `STDOUT_APPEND=1` opens standard output for appending (`>>`).

use crate::fs::{self, File};
use crate::msg::open_flags::{O_APPEND, O_RDONLY, O_WRONLY};
use crate::{env, Errno};
use spin::Once;

static STDIN: Once<Option<File>> = Once::new();
static STDOUT: Once<Option<File>> = Once::new();
static STDERR: Once<Option<File>> = Once::new();

fn open(cell: &'static Once<Option<File>>, key: &str, flags: u32) -> Option<&'static File> {
    cell.call_once(|| env::var(key).and_then(|path| fs::open(path, flags, 0).ok())).as_ref()
}

/// Standard input, if the program has one.
pub fn stdin() -> Option<&'static File> {
    open(&STDIN, "STDIN", O_RDONLY)
}

/// Standard output, if the program has one (else output goes to the kernel console).
pub fn stdout() -> Option<&'static File> {
    let append = if env::var("STDOUT_APPEND").is_some() { O_APPEND } else { 0 };
    open(&STDOUT, "STDOUT", O_WRONLY | append)
}

/// Standard error, if the program has one.
pub fn stderr() -> Option<&'static File> {
    open(&STDERR, "STDERR", O_WRONLY)
}

/// Reads from standard input; 0 at its end (or when there is none).
pub fn read(buffer: &mut [u8]) -> Result<usize, Errno> {
    match stdin() {
        Some(file) => file.read(buffer),
        None => Ok(0),
    }
}

/// Writes all of `bytes` to standard output (the kernel console without one).
pub fn write_stdout(bytes: &[u8]) {
    match stdout() {
        Some(file) => {
            let _ = file.write_all(bytes);
        }
        None => {
            let _ = crate::sys::debug_write(bytes);
        }
    }
}

/// Writes all of `bytes` to standard error (the kernel console without one).
pub fn write_stderr(bytes: &[u8]) {
    match stderr() {
        Some(file) => {
            let _ = file.write_all(bytes);
        }
        None => {
            let _ = crate::sys::debug_write(bytes);
        }
    }
}
