//! The console's line discipline, free of system calls so the host can test it: what
//! each input byte does (echo, line editing, Ctrl-C, Ctrl-D) and what readers get; the
//! output queue ([`Output`]); and who may read ([`control`]).
//!
//! In **canonical** mode (the default) input is gathered into a line: printable bytes are
//! echoed, Backspace/DEL erases a character (`\b \b`; a UTF-8 character's bytes
//! together), Ctrl-W the word before the cursor, Escape is kept and shown `^[`, Enter completes the line (echoing `\r\n`) and
//! makes it readable, Ctrl-U erases the whole line, Ctrl-C discards it (and every line
//! not yet read) and asks for the foreground program to be interrupted, Ctrl-D makes what
//! was typed readable without a newline, as a line of its own (POSIX's EOF, a line
//! delimiter that is discarded) — on an empty line, it is an end of file: the next read
//! returns 0. A read returns at most one line. A line holds at most
//! [`MAX_CANON`] bytes, unread input [`MAX_INPUT`]. In **raw** mode (a shell doing its own
//! editing) every byte is readable at once, unechoed and uninterpreted.
//!
//! Bytes typed in raw mode that nobody read before the switch back to canonical mode (a
//! line typed just after the command that a shell is starting) go through the canonical
//! discipline then, as if typed after it: they are echoed and edited, and the command
//! reads them. That is why a shell reads its raw input one byte at a time, as POSIX
//! shells do: whatever it has not read is still the next program's.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

pub mod control;
pub mod readers;

/// Most bytes a line being typed holds (POSIX's `MAX_CANON`): more ring the bell and are
/// dropped, until the line ends.
pub const MAX_CANON: usize = 4096;
/// Most bytes typed and not yet read (POSIX's `MAX_INPUT`): more are dropped, so that a
/// paste nobody reads cannot grow the driver without end.
pub const MAX_INPUT: usize = 64 * 1024;

/// How input is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Line editing and echo.
    Canonical,
    /// Bytes as they come.
    Raw,
}

/// What a byte of input asks of the driver besides echoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more.
    None,
    /// Ctrl-C: interrupt the foreground program.
    Interrupt,
}

/// The input side of a terminal.
#[derive(Debug)]
pub struct LineDiscipline {
    mode: Mode,
    line: Vec<u8>,
    /// Readable bytes; `None` entries are delimiters (a Ctrl-D's, or the end of a half
    /// line made readable by a switch to raw mode): one ends the read of the bytes before
    /// it, and is taken with them; one first is an end of file (a read returns 0).
    ready: VecDeque<Option<u8>>,
    /// Bytes typed in raw mode, not yet read (after `ready`, in raw mode).
    raw: VecDeque<u8>,
    /// The last byte taken (typed in canonical mode, or read in raw mode) was `\r`: a
    /// `\n` next is the second half of a terminal's CR LF, not another line.
    after_cr: bool,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self { mode: Mode::Canonical, line: Vec::new(), ready: VecDeque::new(), raw: VecDeque::new(), after_cr: false }
    }
}

impl LineDiscipline {
    /// Canonical mode, nothing typed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Changes the mode; a half-typed line becomes readable when leaving canonical mode,
    /// and bytes typed in raw mode and not read go through the canonical discipline when
    /// entering it (what to echo is appended to `echo`; `Interrupt` if a Ctrl-C was
    /// among them).
    pub fn set_mode(&mut self, mode: Mode, echo: &mut Vec<u8>) -> Action {
        let mut action = Action::None;
        match mode {
            Mode::Raw => self.complete_line(),
            Mode::Canonical if self.mode == Mode::Raw => {
                self.mode = mode;
                for byte in core::mem::take(&mut self.raw) {
                    if self.input(byte, echo) == Action::Interrupt {
                        action = Action::Interrupt;
                    }
                }
            }
            Mode::Canonical => {}
        }
        self.mode = mode;
        action
    }

    /// Takes one byte of input; appends what to echo to `echo`.
    pub fn input(&mut self, byte: u8, echo: &mut Vec<u8>) -> Action {
        let interrupt = byte == 0x03 && self.mode == Mode::Canonical; // (raw: data)
        if self.ready.len() + self.raw.len() + self.line.len() >= MAX_INPUT && !interrupt {
            return Action::None;
        }
        if self.mode == Mode::Raw {
            self.raw.push_back(byte);
            return Action::None;
        }
        let cr_lf = byte == b'\n' && self.after_cr;
        self.after_cr = byte == b'\r';
        match byte {
            _ if cr_lf => {}
            0x03 => {
                // As a terminal does on an interrupt, what was typed and not yet read
                // goes too: it was typed for what is being interrupted.
                self.line.clear();
                self.ready.clear();
                echo.extend_from_slice(b"^C\r\n");
                return Action::Interrupt;
            }
            // An end of file on an empty line; else what was typed, as one read (POSIX:
            // EOF is a line delimiter, and is discarded).
            0x04 if self.line.is_empty() => self.ready.push_back(None),
            0x04 => self.complete_line(),
            0x08 | 0x7f => {
                self.erase_character(echo);
            }
            0x15 => while self.erase_character(echo).is_some() {},
            0x17 => {
                // Ctrl-W: the word before, and the blanks (spaces, tabs) after it.
                let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
                while blank(self.line.last()) {
                    self.erase_character(echo);
                }
                while self.line.last().is_some_and(|b| !blank(Some(b))) {
                    self.erase_character(echo);
                }
            }
            0x1b if self.line.len() + 1 >= MAX_CANON => echo.push(0x07),
            0x1b => {
                // Escape is kept (a key's sequence typed ahead reaches the shell whole)
                // and shown as `^[`, as a terminal's ECHOCTL does.
                echo.extend_from_slice(b"^[");
                self.line.push(byte);
            }
            b'\r' | b'\n' => {
                echo.extend_from_slice(b"\r\n");
                self.line.push(b'\n');
                self.ready.extend(self.line.drain(..).map(Some));
            }
            // UTF-8: a continuation byte only continues a character begun (one whose
            // lead byte the bound refused is dropped whole), and a character is taken
            // only if it fits whole, with room for the end of the line.
            0x80..=0xbf if !self.line_ends_inside_a_character() => {}
            0x80..=0xbf => {
                echo.push(byte);
                self.line.push(byte);
            }
            b'\t' | 0x20..=0x7e | 0xc0..=0xff if self.line.len() + utf8_length(byte) >= MAX_CANON => echo.push(0x07),
            b'\t' | 0x20..=0x7e | 0xc0..=0xff => {
                echo.push(byte);
                self.line.push(byte);
            }
            _ => {} // other control bytes are dropped
        }
        Action::None
    }

    /// Makes the line typed (not empty) readable without a newline, as one read.
    fn complete_line(&mut self) {
        if !self.line.is_empty() {
            self.ready.extend(self.line.drain(..).map(Some));
            self.ready.push_back(None);
        }
    }

    /// Whether the line ends with a UTF-8 character's lead byte and fewer continuation
    /// bytes than it announces.
    fn line_ends_inside_a_character(&self) -> bool {
        let tail = &self.line[self.line.len().saturating_sub(3)..];
        match tail.iter().rposition(|b| b & 0xc0 != 0x80) {
            Some(lead) => utf8_length(tail[lead]) > tail.len() - lead,
            None => false,
        }
    }

    /// Erases the line's last character — UTF-8: a lead byte and its continuation bytes,
    /// one cell on the screen; an Escape, shown `^[`, two — and appends to `echo` what
    /// erases it from the screen; `None` if the line is empty.
    fn erase_character(&mut self, echo: &mut Vec<u8>) -> Option<()> {
        loop {
            let byte = self.line.pop()?;
            if byte & 0xc0 != 0x80 {
                let cells = if byte == 0x1b { 2 } else { 1 };
                for _ in 0..cells {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                return Some(());
            }
        }
    }

    /// [`LineDiscipline::read`], the bytes handed to `deliver` (a reader's answer),
    /// which says whether it took them; if not (the reader has gone) they are unread,
    /// for the next read. `None` (and `deliver` not called) if the read must wait.
    pub fn read_to(&mut self, want: usize, deliver: impl FnOnce(&[u8]) -> bool) -> Option<bool> {
        let (after_cr, from_raw, ready) = (self.after_cr, self.ready.is_empty(), self.ready.len());
        let bytes = self.read(want)?;
        if deliver(&bytes) {
            return Some(true);
        }
        self.after_cr = after_cr;
        if from_raw {
            bytes.iter().rev().for_each(|b| self.raw.push_front(*b));
        } else {
            if ready - self.ready.len() > bytes.len() {
                self.ready.push_front(None); // the delimiter (or end of file) it took
            }
            bytes.iter().rev().for_each(|b| self.ready.push_front(Some(*b)));
        }
        Some(false)
    }

    /// Whether a read would return now (data or an end of file).
    pub fn readable(&self) -> bool {
        !self.ready.is_empty() || !self.raw.is_empty()
    }

    /// What a read of up to `want` bytes gets: `Some(bytes)` (empty: end of file), or
    /// `None` if it must wait. In canonical mode at most one line.
    pub fn read(&mut self, want: usize) -> Option<Vec<u8>> {
        if want == 0 {
            return Some(Vec::new()); // (POSIX: no other effect; it took an end-of-file mark)
        }
        if self.ready.is_empty() && !self.raw.is_empty() {
            let n = want.min(self.raw.len());
            let bytes: Vec<u8> = self.raw.drain(..n).collect();
            self.after_cr = bytes.last().is_some_and(|b| *b == b'\r');
            return Some(bytes);
        }
        if self.ready.front()?.is_none() {
            self.ready.pop_front();
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        while out.len() < want {
            match self.ready.front() {
                Some(Some(byte)) => {
                    let byte = *byte;
                    self.ready.pop_front();
                    out.push(byte);
                    if byte == b'\n' && self.mode == Mode::Canonical {
                        break;
                    }
                }
                _ => break, // the end, or a delimiter
            }
        }
        // The delimiter that ends these bytes goes with them — unless a newline ended
        // them: then it is an end of file, for the next read.
        if out.last() != Some(&b'\n') && self.ready.front() == Some(&None) {
            self.ready.pop_front();
        }
        Some(out)
    }
}

/// How many bytes the UTF-8 character that `lead` starts has (1 for ASCII and for bytes
/// no character starts with).
fn utf8_length(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Most bytes of echo waiting for the transmitter: more is not echoed, as a terminal
/// drops echo when its output is full (a stalled line, or writes ahead of it, and a
/// stream of typed bytes each echoed up to 6 wide, grew the queue without bound).
pub const MAX_ECHO: usize = 64 * 1024;

/// Output on its way to the UART, in the order it came: writes (each `\n` sent as the
/// terminal's `\r\n`) and echo (as it is). The driver hands bytes over while the
/// transmitter takes them and waits for its interrupt when it is full, instead of
/// polling it: a writer (`W`) is answered once its last byte is in the transmitter, and
/// meanwhile the driver takes input, Ctrl-C and other clients.
#[derive(Debug)]
pub struct Output<W> {
    queue: VecDeque<Outgoing<W>>,
}

#[derive(Debug)]
struct Outgoing<W> {
    bytes: Vec<u8>,
    /// How many of `bytes` are wholly handed over.
    taken: usize,
    /// The `\r` before the `\n` at `taken` is handed over.
    cr_taken: bool,
    /// A write (`\n` becomes `\r\n`) rather than echo.
    writer: Option<W>,
}

impl<W> Default for Output<W> {
    fn default() -> Self {
        Self { queue: VecDeque::new() }
    }
}

impl<W> Output<W> {
    /// Nothing to send.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether everything is handed over (the transmit interrupt is not needed).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a write of `bytes` by `writer`.
    pub fn write(&mut self, bytes: Vec<u8>, writer: W) {
        self.queue.push_back(Outgoing { bytes, taken: 0, cr_taken: false, writer: Some(writer) });
    }

    /// Queues echo (sent untranslated), unless [`MAX_ECHO`] bytes of it would wait.
    pub fn echo(&mut self, bytes: &[u8]) {
        let waiting: usize = self.queue.iter().filter(|o| o.writer.is_none()).map(|o| o.bytes.len() - o.taken).sum();
        if bytes.is_empty() || waiting + bytes.len() > MAX_ECHO {
            return;
        }
        match self.queue.back_mut() {
            Some(last) if last.writer.is_none() => last.bytes.extend_from_slice(bytes),
            _ => self.queue.push_back(Outgoing { bytes: bytes.to_vec(), taken: 0, cr_taken: false, writer: None }),
        }
    }

    /// Hands bytes to `put` (which answers false when the transmitter is full) in order;
    /// the writers whose bytes are all handed over go to `done`, with their lengths.
    pub fn transmit(&mut self, mut put: impl FnMut(u8) -> bool, done: &mut Vec<(W, usize)>) {
        while let Some(out) = self.queue.front_mut() {
            while let Some(&byte) = out.bytes.get(out.taken) {
                if byte == b'\n' && out.writer.is_some() && !out.cr_taken {
                    if !put(b'\r') {
                        return;
                    }
                    out.cr_taken = true;
                }
                if !put(byte) {
                    return;
                }
                out.taken += 1;
                out.cr_taken = false;
            }
            let out = self.queue.pop_front().expect("the front");
            if let Some(writer) = out.writer {
                done.push((writer, out.bytes.len()));
            }
        }
    }

    /// Takes out the writes `selected` picks (their clients left, or want to unblock),
    /// each with how many of its bytes were handed over.
    pub fn cancel(&mut self, mut selected: impl FnMut(&W) -> bool) -> Vec<(W, usize)> {
        let mut cancelled = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for out in self.queue.drain(..) {
            match out.writer {
                Some(writer) if selected(&writer) => cancelled.push((writer, out.taken)),
                writer => kept.push_back(Outgoing { writer, ..out }),
            }
        }
        self.queue = kept;
        cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn feed(d: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<Action>) {
        let mut echo = Vec::new();
        let actions = bytes.iter().map(|b| d.input(*b, &mut echo)).collect();
        (echo, actions)
    }

    #[test]
    fn lines_are_edited_echoed_and_read_one_at_a_time() {
        let mut d = LineDiscipline::new();
        let (echo, _) = feed(&mut d, b"ls -x\x7f\x7fl\r");
        assert_eq!(echo, b"ls -x\x08 \x08\x08 \x08l\r\n");
        assert!(d.readable());
        let (_, _) = feed(&mut d, b"two\n");
        assert_eq!(d.read(100), Some(b"ls l\n".to_vec()), "one line per read");
        assert_eq!(d.read(2), Some(b"tw".to_vec()), "or less, if asked for less");
        assert_eq!(d.read(100), Some(b"o\n".to_vec()));
        assert_eq!(d.read(100), None, "nothing: the read waits");
        let (echo, _) = feed(&mut d, b"\x7f");
        assert!(echo.is_empty(), "nothing to erase");
        feed(&mut d, b"half");
        assert_eq!(d.read(10), None, "an unfinished line is not readable");
        let (echo, _) = feed(&mut d, b"\x15");
        assert_eq!(echo, b"\x08 \x08".repeat(4));
        // UTF-8: typed and read as it comes, erased a character at a time.
        let (echo, _) = feed(&mut d, "héllo€\x7f\x7f\x7f\x7f€!\r".as_bytes());
        assert_eq!(echo, "héllo€\x08 \x08\x08 \x08\x08 \x08\x08 \x08€!\r\n".as_bytes());
        assert_eq!(d.read(100), Some("hé€!\n".as_bytes().to_vec()));
        let (echo, _) = feed(&mut d, "añ\x15".as_bytes());
        assert_eq!(echo, "añ\x08 \x08\x08 \x08".as_bytes(), "Ctrl-U erases characters, not bytes");
        // The bound on a line takes a character whole or not at all.
        let (_, _) = feed(&mut d, &[b'x'; MAX_CANON - 3]);
        let (echo, _) = feed(&mut d, "é€é\r".as_bytes());
        assert_eq!(echo, "é\x07\x07\r\n".as_bytes(), "€ (3 bytes) does not fit: the bell, its bytes dropped");
        let line = d.read(MAX_CANON).unwrap();
        assert_eq!((line.len(), core::str::from_utf8(&line).is_ok()), (MAX_CANON, true));
        // Ctrl-W erases a word; Escape (an arrow key's sequence typed ahead) is kept.
        let (echo, _) = feed(&mut d, b"ab cd  \x17x\x1b[A\x7f\x7f\x7f\x1b[A\r");
        assert_eq!(
            echo,
            b"ab cd  \x08 \x08\x08 \x08\x08 \x08\x08 \x08x^[[A\x08 \x08\x08 \x08\x08 \x08\x08 \x08^[[A\r\n"
        );
        assert_eq!(d.read(100), Some(b"ab x\x1b[A\n".to_vec()));
        let (echo, _) = feed(&mut d, b"\xa9a\xc3\xa9\x7f\r");
        assert_eq!(echo, b"a\xc3\xa9\x08 \x08\r\n", "a stray continuation byte is dropped");
        assert_eq!(d.read(10), Some(b"a\n".to_vec()));
    }

    #[test]
    fn ctrl_c_interrupts_and_ctrl_d_ends_input() {
        let mut d = LineDiscipline::new();
        let (echo, actions) = feed(&mut d, b"abc\x03");
        assert_eq!(echo, b"abc^C\r\n");
        assert_eq!(actions[3], Action::Interrupt);
        assert_eq!(d.read(10), None, "the line was discarded");
        feed(&mut d, b"typed ahead\rhalf\x03");
        assert_eq!(d.read(100), None, "and what was typed ahead");
        feed(&mut d, b"xy\x04");
        assert_eq!(d.read(10), Some(b"xy".to_vec()), "Ctrl-D sends what was typed");
        feed(&mut d, b"\x04");
        assert_eq!(d.read(0), Some(vec![]), "a read of nothing");
        assert_eq!(d.read(10), Some(vec![]), "Ctrl-D on an empty line: end of file, still there");
        assert_eq!(d.read(10), None);
        feed(&mut d, b"k\n\x04");
        assert_eq!(d.read(10), Some(b"k\n".to_vec()));
        assert_eq!(d.read(10), Some(vec![]));
    }

    #[test]
    fn raw_mode_passes_bytes_through() {
        let mut d = LineDiscipline::new();
        feed(&mut d, b"pa");
        let mut echo = Vec::new();
        assert_eq!(d.set_mode(Mode::Raw, &mut echo), Action::None);
        let (echo, actions) = feed(&mut d, b"\x1b[A\x03\r");
        assert!(echo.is_empty() && actions.iter().all(|a| *a == Action::None));
        assert_eq!(d.read(3), Some(b"pa".to_vec()), "the half line first");
        assert_eq!(d.read(100), Some(b"\x1b[A\x03\r".to_vec()));
        // What a shell did not read when it went back to canonical mode for a command is
        // typed in canonical mode, for the command.
        feed(&mut d, b"cat\rhel\x7flo\r");
        assert_eq!(d.read(1), Some(b"c".to_vec()));
        let mut echo = Vec::new();
        assert_eq!(d.set_mode(Mode::Canonical, &mut echo), Action::None);
        assert_eq!(echo, b"at\r\nhel\x08 \x08lo\r\n");
        assert_eq!(d.read(100), Some(b"at\n".to_vec()));
        assert_eq!(d.read(100), Some(b"helo\n".to_vec()));
        d.set_mode(Mode::Raw, &mut echo);
        feed(&mut d, b"x\x03");
        assert_eq!(d.set_mode(Mode::Canonical, &mut echo), Action::Interrupt, "a Ctrl-C typed ahead");
        assert_eq!(d.read(100), None, "it discarded the line");
        // A terminal's CR LF is one end of line, also when the shell read the CR.
        feed(&mut d, b"ab\r\ncd\r\n");
        assert_eq!(d.read(100), Some(b"ab\n".to_vec()));
        assert_eq!(d.read(100), Some(b"cd\n".to_vec()));
        assert_eq!(d.read(100), None, "no empty line");
        d.set_mode(Mode::Raw, &mut echo);
        feed(&mut d, b"cat\r\nin\r\n");
        assert_eq!(d.read(4), Some(b"cat\r".to_vec()));
        d.set_mode(Mode::Canonical, &mut echo);
        assert_eq!(d.read(100), Some(b"in\n".to_vec()), "the LF after the shell's CR is not a line");
        // Bounded: a line, and what nobody reads.
        d.set_mode(Mode::Canonical, &mut echo);
        let (echo, _) = feed(&mut d, &[b'x'; MAX_CANON + 10]);
        assert_eq!(echo.iter().filter(|b| **b == 0x07).count(), 11, "the bell for each byte too many");
        feed(&mut d, b"\r");
        assert_eq!(d.read(MAX_CANON * 2).map(|l| l.len()), Some(MAX_CANON));
        for _ in 0..MAX_INPUT / 8 + 10 {
            feed(&mut d, b"1234567\r");
        }
        let mut held = 0;
        while let Some(line) = d.read(100) {
            held += line.len();
        }
        assert!(held <= MAX_INPUT, "{held} bytes held");
    }

    #[test]
    fn ctrl_d_ends_a_read_as_enter_does() {
        // POSIX: EOF is a line delimiter (discarded): what it sends is one read, not the
        // start of the next line typed before the program read it.
        let mut d = LineDiscipline::new();
        feed(&mut d, b"xy\x04k\r");
        assert_eq!(d.read(10), Some(b"xy".to_vec()));
        assert_eq!(d.read(10), Some(b"k\n".to_vec()));
        feed(&mut d, b"xyz\x04\x04");
        assert_eq!(d.read(2), Some(b"xy".to_vec()));
        assert_eq!(d.read(10), Some(b"z".to_vec()), "the delimiter goes with the last of it");
        assert_eq!(d.read(10), Some(vec![]), "then the end of file");
        assert_eq!(d.read(10), None);
        // A half line made readable by a switch to raw mode and back is one too.
        let mut echo = Vec::new();
        feed(&mut d, b"pa");
        d.set_mode(Mode::Raw, &mut echo);
        d.set_mode(Mode::Canonical, &mut echo);
        feed(&mut d, b"cd\r\x04");
        assert_eq!(d.read(10), Some(b"pa".to_vec()));
        assert_eq!(d.read(10), Some(b"cd\n".to_vec()));
        assert_eq!(d.read(10), Some(vec![]), "Ctrl-D on the empty line after it: the end of file");
        feed(&mut d, b"ab\r\x04");
        d.set_mode(Mode::Raw, &mut echo);
        assert_eq!(d.read(10), Some(b"ab\n".to_vec()));
        assert_eq!(d.read(10), Some(vec![]), "an end of file after a line, in raw mode too");
    }

    #[test]
    fn ctrl_w_stops_at_a_tab_as_at_a_space() {
        // POSIX's WERASE: a word is what is between blanks, spaces and tabs.
        let mut d = LineDiscipline::new();
        feed(&mut d, b"ab\tcd\x17\x17x\r");
        assert_eq!(d.read(100), Some(b"x\n".to_vec()));
        feed(&mut d, b"ab\tcd\x17x\r");
        assert_eq!(d.read(100), Some(b"ab\tx\n".to_vec()));
    }

    #[test]
    fn raw_input_is_bounded_ctrl_c_too() {
        let mut d = LineDiscipline::new();
        let mut echo = Vec::new();
        d.set_mode(Mode::Raw, &mut echo);
        feed(&mut d, &[b'x'; MAX_INPUT]);
        feed(&mut d, &[0x03; 100]);
        let mut held = 0;
        while let Some(bytes) = d.read(MAX_INPUT) {
            held += bytes.len();
        }
        assert_eq!(held, MAX_INPUT, "in raw mode Ctrl-C is data, bounded as any");
    }

    /// A transmitter that takes `room` bytes, then is full.
    fn transmitter(sent: &mut Vec<u8>, room: usize) -> impl FnMut(u8) -> bool + '_ {
        let end = sent.len() + room;
        move |byte| {
            sent.len() < end && {
                sent.push(byte);
                true
            }
        }
    }

    #[test]
    fn output_goes_out_in_order_as_the_transmitter_takes_it() {
        let mut output = Output::new();
        let mut sent = Vec::new();
        let mut done = Vec::new();
        output.write(b"ab\ncd\n".to_vec(), 'w');
        output.echo(b"x\n");
        output.echo(b"y");
        output.write(b"\n".to_vec(), 'v');
        output.transmit(transmitter(&mut sent, 3), &mut done);
        assert_eq!((sent.as_slice(), done.as_slice()), (&b"ab\r"[..], &[][..]), "full: nobody answered yet");
        output.transmit(transmitter(&mut sent, 1), &mut done);
        assert_eq!(sent, b"ab\r\n", "the \\r of a \\n is not sent twice");
        output.transmit(transmitter(&mut sent, 4), &mut done);
        assert_eq!(done, [('w', 6)], "answered with its own length once its last byte is taken");
        assert!(!output.is_empty());
        output.transmit(transmitter(&mut sent, 100), &mut done);
        assert_eq!(sent, b"ab\r\ncd\r\nx\ny\r\n", "echo untranslated, in its place");
        assert_eq!(done, [('w', 6), ('v', 1)]);
        assert!(output.is_empty());
    }

    #[test]
    fn cancelled_writes_say_how_much_went_out() {
        let mut output = Output::new();
        let mut sent = Vec::new();
        let mut done = Vec::new();
        output.write(b"12345".to_vec(), 1);
        output.write(b"abc".to_vec(), 2);
        output.write(b"xyz".to_vec(), 1);
        output.transmit(transmitter(&mut sent, 2), &mut done);
        assert_eq!(output.cancel(|w| *w == 1), [(1, 2), (1, 0)]);
        output.transmit(transmitter(&mut sent, 100), &mut done);
        assert_eq!((sent.as_slice(), done.as_slice()), (&b"12abc"[..], &[(2, 3)][..]));
        assert!(output.cancel(|_| true).is_empty());
    }

    #[test]
    fn echo_waiting_for_the_transmitter_is_bounded() {
        let mut out = Output::<u32>::new();
        out.write(b"held".to_vec(), 1);
        for _ in 0..MAX_ECHO {
            out.echo(b"x");
        }
        out.echo(b"y"); // (dropped: the line is stalled)
        out.write(b"after".to_vec(), 2);
        let mut sent = Vec::new();
        let mut done = Vec::new();
        out.transmit(
            |b| {
                sent.push(b);
                true
            },
            &mut done,
        );
        assert_eq!(sent.len(), 4 + MAX_ECHO + 5);
        assert!(!sent.contains(&b'y'));
        assert_eq!(done.iter().map(|(w, n)| (*w, *n)).collect::<Vec<_>>(), [(1, 4), (2, 5)]);
        out.echo(b"z");
        assert!(!out.is_empty(), "room again once it went out");
    }
}
