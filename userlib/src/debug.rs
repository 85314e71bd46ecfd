//! The kernel console (`DebugWrite`), the output of every program until the console
//! server exists: [`print!`](crate::print), [`println!`](crate::println) and the
//! [`WriteBuffer`] behind them.
//!
//! Text is gathered in a buffer on the caller's stack and written with one `DebugWrite`
//! per [`LINE_CAPACITY`] bytes, so a line up to that long reaches the console in one piece
//! even when several threads print at once, and no lock is held while printing.

use core::fmt;

/// Bytes gathered before a write to the console.
pub const LINE_CAPACITY: usize = 256;

/// Gathers bytes and hands them to `sink` in pieces of at most [`LINE_CAPACITY`] bytes:
/// when full, on [`WriteBuffer::flush`], and when dropped.
pub struct WriteBuffer<F: FnMut(&[u8])> {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8])> WriteBuffer<F> {
    /// An empty buffer writing to `sink`.
    pub const fn new(sink: F) -> Self {
        WriteBuffer { bytes: [0; LINE_CAPACITY], len: 0, sink }
    }

    /// Adds `bytes`, handing full buffers to the sink.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == LINE_CAPACITY {
                self.flush();
            }
            let take = bytes.len().min(LINE_CAPACITY - self.len);
            self.bytes[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
        }
    }

    /// Hands what is gathered to the sink.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

impl<F: FnMut(&[u8])> fmt::Write for WriteBuffer<F> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push(text.as_bytes());
        Ok(())
    }
}

impl<F: FnMut(&[u8])> Drop for WriteBuffer<F> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A [`WriteBuffer`] writing to the kernel console.
#[cfg(target_os = "none")]
pub type Console = WriteBuffer<fn(&[u8])>;

/// A new writer to the kernel console; what it gathers is written at the latest when it
/// is dropped.
#[cfg(target_os = "none")]
pub fn console() -> Console {
    WriteBuffer::new(write_to_console)
}

/// Writes `bytes` with `DebugWrite`. A failure is dropped: the console is where it would
/// be reported.
#[cfg(target_os = "none")]
fn write_to_console(bytes: &[u8]) {
    let _ = crate::sys::debug_write(bytes);
}

/// Writes formatted text to standard output (what [`print!`](crate::print) and
/// [`println!`](crate::println) expand to): the kernel console unless the program was
/// given one ([`crate::io`]).
#[cfg(target_os = "none")]
pub fn print_args(text: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut WriteBuffer::new(crate::io::write_stdout as fn(&[u8])), text);
}

/// Writes formatted text to standard error (`eprint!`, `eprintln!`).
#[cfg(target_os = "none")]
pub fn eprint_args(text: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut WriteBuffer::new(crate::io::write_stderr as fn(&[u8])), text);
}

/// Prints to standard error, like `std`'s `eprint!`.
#[cfg(target_os = "none")]
#[macro_export]
macro_rules! eprint {
    ($($argument:tt)*) => {
        $crate::debug::eprint_args(format_args!($($argument)*))
    };
}

/// Prints a line to standard error, like `std`'s `eprintln!`.
#[cfg(target_os = "none")]
#[macro_export]
macro_rules! eprintln {
    () => {
        $crate::eprint!("\n")
    };
    ($($argument:tt)*) => {
        $crate::debug::eprint_args(format_args!("{}\n", format_args!($($argument)*)))
    };
}

/// Prints to standard output, like `std`'s `print!`.
#[cfg(target_os = "none")]
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => {
        $crate::debug::print_args(format_args!($($argument)*))
    };
}

/// Prints a line to standard output, like `std`'s `println!`.
#[cfg(target_os = "none")]
#[macro_export]
macro_rules! println {
    () => {
        $crate::debug::print_args(format_args!("\n"))
    };
    ($($argument:tt)*) => {
        $crate::debug::print_args(format_args!("{}\n", format_args!($($argument)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;
    use std::vec::Vec;

    #[test]
    fn short_text_is_written_once_when_dropped() {
        let mut writes: Vec<Vec<u8>> = Vec::new();
        {
            let mut buffer = WriteBuffer::new(|bytes: &[u8]| writes.push(bytes.to_vec()));
            let (name, pid) = ("hello", 1);
            writeln!(buffer, "hello from {name} pid {pid}").unwrap();
        }
        assert_eq!(writes, [b"hello from hello pid 1\n".to_vec()]);
    }

    #[test]
    fn long_text_is_written_in_full_buffers_and_nothing_is_lost() {
        let text: Vec<u8> = (0..LINE_CAPACITY * 2 + 10).map(|i| i as u8).collect();
        let mut writes: Vec<Vec<u8>> = Vec::new();
        {
            let mut buffer = WriteBuffer::new(|bytes: &[u8]| writes.push(bytes.to_vec()));
            buffer.push(&text[..5]);
            buffer.push(&text[5..]);
        }
        let sizes: Vec<usize> = writes.iter().map(Vec::len).collect();
        assert_eq!(sizes, [LINE_CAPACITY, LINE_CAPACITY, 10]);
        assert_eq!(writes.concat(), text);
    }

    #[test]
    fn flushing_an_empty_buffer_writes_nothing() {
        let mut count = 0;
        {
            let mut buffer = WriteBuffer::new(|_: &[u8]| count += 1);
            buffer.flush();
            buffer.push(b"x");
            buffer.flush();
            buffer.flush();
        }
        assert_eq!(count, 1);
    }
}
