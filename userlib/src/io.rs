//! Standard input, output and error. A program started with `STDIN`, `STDOUT` or
//! `STDERR` in its environment (what the shell gives its commands: a path such as
//! `/dev/console`, `/dev/pipe/3` or a file) opens that path on first use; without them,
//! output goes to the kernel console and input is empty. A standard input or output that
//! cannot be opened is an error, not a quiet fallback: reads give the open's error, and
//! output is dropped. The first failure to write standard output is kept
//! ([`stdout_error`]): a program that returns 0 from `main` after one ends with status 1
//! and says why, as POSIX utilities do (`echo x > /tmp` must not succeed).
//! [`print!`](crate::print) and [`println!`](crate::println) write to standard output,
//! `eprint!`/`eprintln!` to standard error. `STDOUT_APPEND=1` opens standard output for
//! appending (`>>`), `STDERR_APPEND=1` standard error (`2>>`); `STDERR_TO_STDOUT=1` makes
//! standard error standard output (`2>&1`).

use crate::fs::{self, File};
use crate::msg::open_flags::{O_APPEND, O_RDONLY, O_WRONLY};
use crate::sync::Once;
use crate::{env, Errno};
use core::sync::atomic::{AtomicU32, Ordering};

/// A standard stream: not given (`None`), or the path given opened, or its open's error.
type Stream = Option<Result<File, Errno>>;

static STDIN: Once<Stream> = Once::new();
static STDOUT: Once<Stream> = Once::new();
static STDERR: Once<Stream> = Once::new();

/// The errno of the first failed write to standard output (0: none).
static STDOUT_ERROR: AtomicU32 = AtomicU32::new(0);

fn open(cell: &'static Once<Stream>, key: &str, flags: u32) -> Option<Result<&'static File, Errno>> {
    cell.call_once(|| env::var(key).map(|path| fs::open(path, flags, 0))).as_ref().map(|r| r.as_ref().map_err(|e| *e))
}

/// Standard input, if the program has one that opened.
pub fn stdin() -> Option<&'static File> {
    open_stdin().and_then(Result::ok)
}

/// Standard input's open: `EISDIR` for a directory, as a shell's `<` gives (`wc < /tmp`
/// read a server's listing of names).
fn open_stdin() -> Option<Result<&'static File, Errno>> {
    let open = |path| {
        let file = fs::open(path, O_RDONLY, 0)?;
        match file.stat() {
            Ok(s) if s.kind == crate::msg::file_kind::DIRECTORY => Err(Errno::EISDIR),
            _ => Ok(file),
        }
    };
    STDIN.call_once(|| env::var("STDIN").map(open)).as_ref().map(|r| r.as_ref().map_err(|e| *e))
}

/// Standard output, if the program has one that opened (without one, output goes to the
/// kernel console).
pub fn stdout() -> Option<&'static File> {
    stdout_stream().and_then(Result::ok)
}

fn stdout_stream() -> Option<Result<&'static File, Errno>> {
    let append = if env::var("STDOUT_APPEND").is_some() { O_APPEND } else { 0 };
    open(&STDOUT, "STDOUT", O_WRONLY | append)
}

/// Standard error, if the program has one that opened: standard output itself — the
/// same open file, so the two do not write over each other — with `STDERR_TO_STDOUT`
/// (the shell's `2>&1`).
pub fn stderr() -> Option<&'static File> {
    if env::var("STDERR_TO_STDOUT").is_some() {
        return stdout();
    }
    let append = if env::var("STDERR_APPEND").is_some() { O_APPEND } else { 0 };
    open(&STDERR, "STDERR", O_WRONLY | append).and_then(Result::ok)
}

/// Reads from standard input; 0 at its end (or when there is none); the open's error if
/// the one given could not be opened.
pub fn read(buffer: &mut [u8]) -> Result<usize, Errno> {
    match open_stdin() {
        Some(file) => file?.read(buffer),
        None => Ok(0),
    }
}

/// Writes all of `bytes` to standard output (the kernel console without one). A failure
/// (the open's or the write's) is kept for [`stdout_error`].
pub fn write_stdout(bytes: &[u8]) {
    let result = match stdout_stream() {
        Some(file) => file.and_then(|f| f.write_all(bytes)),
        None => debug_write_all(bytes),
    };
    if let Err(e) = result {
        let _ = STDOUT_ERROR.compare_exchange(0, e.0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The first error writing standard output met, if any.
pub fn stdout_error() -> Option<Errno> {
    match STDOUT_ERROR.load(Ordering::Relaxed) {
        0 => None,
        e => Some(Errno(e)),
    }
}

/// Writes all of `bytes` to standard error (the kernel console without one, or when the
/// one given could not be opened: the error must be seen somewhere).
pub fn write_stderr(bytes: &[u8]) {
    match stderr() {
        Some(file) => {
            let _ = file.write_all(bytes);
        }
        None => {
            let _ = debug_write_all(bytes);
        }
    }
}

/// Writes all of `bytes` to the kernel console, in pieces it takes.
fn debug_write_all(bytes: &[u8]) -> Result<(), Errno> {
    for piece in bytes.chunks(crate::abi::syscall::MAX_DEBUG_WRITE) {
        crate::sys::debug_write(piece)?;
    }
    Ok(())
}
