//! One pipe's rules, free of system calls so the host can test them. A [`Pipe`] holds the
//! buffered bytes, counts its open read and write ends, and queues the reads and writes
//! that must wait, each with a ticket (in the server: the held message) that it hands
//! back in a [`Completion`] once the request is done.
//!
//! POSIX semantics: a write of at most [`PIPE_BUF`] bytes is atomic (all at once, never
//! interleaved with another write); a longer one may be split. A read returns what is
//! there (at most what was asked), waits while the pipe is empty and a writer exists, and
//! returns 0 (end of file) once every writer has closed. Writing with no reader fails
//! with `EPIPE`. With `O_NONBLOCK` a request that would wait fails with `EAGAIN`.
//! A named FIFO's open waits, in POSIX, for the other end to be opened; here a write
//! waits for a read end to be open or to have been read from, and a read for a write end
//! to have been written to, since the FIFO was last closed by everyone (`echo x > fifo`
//! before `cat fifo` failed with `EPIPE`, its data lost; a writer only opening and
//! closing, as the shell's `>` does to create a file, gave a waiting reader end of file).
//! What is still buffered when everyone closes stays, for the next reader, followed by
//! end of file. An anonymous pipe's ends count from their opens ([`Pipe::anonymous`]).
//! Waiting requests are served by priority, then in arrival order.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::borrow::Cow;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use userlib::msg::{check_path, path_flags, Resolved, PIPE_DIR};
use userlib::waitqueue::WaitQueue;
use userlib::Errno;

/// Writes up to this size are atomic.
pub use userlib::msg::PIPE_BUF;
/// Bytes a pipe buffers.
pub const CAPACITY: usize = 16 * 1024;
/// Most pipes (anonymous and named) the server keeps at once: with their buffers, at most
/// 16 MiB, so no client can make the server run out of memory and lose everyone's pipes.
pub const MAX_PIPES: usize = 1024;

/// The path of a FIFO to make, from a `MKFIFO` payload ([`userlib::msg::check_path`]):
/// not [`PIPE_DIR`] (`EEXIST`) nor beneath it (`EPERM`), where the anonymous pipes are
/// named — a FIFO attached at `/dev/pipe/N` would take the opens of pipe N.
pub fn fifo_path(payload: &[u8]) -> Result<&str, Errno> {
    let path = check_path(payload)?;
    match path.strip_prefix(PIPE_DIR) {
        Some("") => Err(Errno::EEXIST),
        Some(rest) if rest.starts_with('/') => Err(Errno::EPERM),
        _ => Ok(path),
    }
}

/// Whether client `pid` may have a FIFO made at `path` (from [`fifo_path`]), which proc
/// resolves to `owner`: only the server of the directory it goes in may ask (it checked
/// that the name is free there: `CONNECT MKFIFO`), as the one that keeps that
/// directory's names. Anyone could ask, and the pipe server, one of the system's
/// programs, attached the FIFO wherever it was told: beneath `/dev/mqueue` (taking a
/// queue's opens), over a file of `/tmp` (taking what was written to it), at `/`, or
/// at a prefix kept for a server while it restarted (which then could not come back).
/// `EEXIST` when something is attached at `path` itself, `EPERM` otherwise.
pub fn may_make_fifo(path: &str, owner: &Resolved, pid: u32) -> Result<(), Errno> {
    if owner.matched as usize >= path.len() {
        return Err(Errno::EEXIST);
    }
    if owner.flags & path_flags::DIR as u32 == 0 || owner.pid != pid {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The number of the anonymous pipe named `name` in [`PIPE_DIR`]: only as its directory
/// lists it (`+5` and `05` name no pipe).
pub fn anonymous_pipe_number(name: &str) -> Option<u32> {
    let canonical =
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) && (name == "0" || !name.starts_with('0'));
    name.parse().ok().filter(|_| canonical)
}

/// What a finished request answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A read's bytes (empty: end of file).
    Read(Vec<u8>),
    /// A read's bytes: the first `n` of the data of the write being made, which its
    /// caller still holds (handed over without a copy; only [`Pipe::write`] answers so).
    Passed(usize),
    /// A write's count.
    Wrote(usize),
}

/// A request that finished, for its ticket's owner to answer.
pub type Completion<T> = userlib::waitqueue::Completion<T, Answer>;

#[derive(Debug)]
struct Waiter<T> {
    ticket: T,
    client: u32,
    /// Reads: bytes wanted. Writes: bytes still to write (at the end of `data`).
    want: usize,
    data: Vec<u8>,
    written: usize,
}

/// One pipe.
#[derive(Debug)]
pub struct Pipe<T> {
    data: VecDeque<u8>,
    /// A read's bytes given back once answered ([`Pipe::recycle`]), for the next read.
    spare: Vec<u8>,
    capacity: usize,
    readers: u32,
    writers: u32,
    /// A write end has been written to (see the module's description).
    had_writer: bool,
    /// A read end has been read from.
    had_reader: bool,
    /// A named FIFO: everyone closing it starts it afresh.
    named: bool,
    waiting_readers: WaitQueue<Waiter<T>>,
    waiting_writers: WaitQueue<Waiter<T>>,
    /// Bytes handed to readers whose answers are not settled yet ([`Pipe::settle`]):
    /// they still count against the capacity, so that bytes a reader did not get can go
    /// back without the pipe growing past it.
    in_flight: usize,
}

impl<T> Default for Pipe<T> {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl<T> Pipe<T> {
    /// An anonymous pipe (`pipe()`, or `/dev/pipe` opened to make one): an end counts
    /// from its open (a reader that came before any writer waits for one, a write after
    /// the last reader is `EPIPE` at once), and the pipe goes once everyone closed it.
    pub fn anonymous() -> Self {
        Self { named: false, ..Self::default() }
    }
}

impl<T> Pipe<T> {
    /// An empty named FIFO buffering `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            data: VecDeque::new(),
            spare: Vec::new(),
            capacity,
            readers: 0,
            writers: 0,
            had_reader: false,
            had_writer: false,
            named: true,
            waiting_readers: WaitQueue::new(),
            waiting_writers: WaitQueue::new(),
            in_flight: 0,
        }
    }

    /// Bytes buffered.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A read end opened.
    pub fn open_reader(&mut self, done: &mut Vec<Completion<T>>) {
        self.readers += 1;
        self.had_reader |= !self.named;
        if !self.waiting_writers.is_empty() {
            self.progress(done); // writes that waited for a reader
        }
    }

    /// Whether this is a named FIFO (else an anonymous pipe).
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// Open read ends.
    pub fn readers(&self) -> u32 {
        self.readers
    }

    /// A write end opened.
    pub fn open_writer(&mut self) {
        self.writers += 1;
        self.had_writer |= !self.named;
    }

    /// A read end closed; waiting writers may now fail (added to `done`).
    pub fn close_reader(&mut self, done: &mut Vec<Completion<T>>) {
        self.readers = self.readers.saturating_sub(1);
        self.closed();
        self.progress(done);
    }

    /// A named FIFO closed by everyone starts afresh: its next ends wait for each other
    /// (but what is buffered is read, and then end of file).
    fn closed(&mut self) {
        if self.named && self.readers == 0 && self.writers == 0 {
            self.had_reader = false;
            self.had_writer = !self.data.is_empty();
        }
    }

    /// A write end closed; waiting readers may now see end of file (added to `done`).
    pub fn close_writer(&mut self, done: &mut Vec<Completion<T>>) {
        self.writers = self.writers.saturating_sub(1);
        self.closed();
        self.progress(done);
    }

    /// Gives back the bytes of an answered read, so that the next read needs no
    /// allocation (small buffers only: a pipe keeps at most one, of [`PIPE_BUF`] bytes).
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if bytes.capacity() <= PIPE_BUF && bytes.capacity() > self.spare.capacity() {
            self.spare = bytes;
        }
    }

    /// The first `n` buffered bytes, taken out.
    fn take_front(&mut self, n: usize) -> Vec<u8> {
        let (first, second) = self.data.as_slices();
        let mut bytes =
            if self.spare.capacity() >= n { core::mem::take(&mut self.spare) } else { Vec::with_capacity(n) };
        bytes.clear();
        bytes.extend_from_slice(&first[..n.min(first.len())]);
        bytes.extend_from_slice(&second[..n - bytes.len()]);
        self.data.drain(..n);
        self.in_flight += n;
        bytes
    }

    /// A read of up to `want` bytes by a client of `priority` (`client`: who, for
    /// [`Pipe::forget`]). Adds what finished to `done` — this read too, if it did not wait.
    /// (Inlined, as [`Pipe::write`] is, into the server's one caller: see `server.rs`.)
    #[inline(always)]
    pub fn read(
        &mut self,
        ticket: T,
        priority: u8,
        client: u32,
        want: usize,
        nonblock: bool,
        done: &mut Vec<Completion<T>>,
    ) {
        if !self.had_reader {
            // A FIFO's first read lets in the writes that waited for a reader.
            self.had_reader = true;
            self.progress(done);
        }
        let mut now = |ticket, result| done.push(Completion { ticket, result });
        if want == 0 {
            return now(ticket, Ok(Answer::Read(Vec::new())));
        }
        if !self.data.is_empty() && self.waiting_readers.is_empty() {
            let bytes = self.take_front(want.min(self.data.len()));
            now(ticket, Ok(Answer::Read(bytes)));
            return self.progress(done);
        }
        if self.data.is_empty() && self.writers == 0 && (self.had_writer || nonblock) {
            return now(ticket, Ok(Answer::Read(Vec::new()))); // end of file
        }
        if nonblock {
            return now(ticket, Err(Errno::EAGAIN));
        }
        self.waiting_readers.push(priority, Waiter { ticket, client, want, data: Vec::new(), written: 0 });
        if self.data.is_empty() && self.waiting_writers.is_empty() && self.writers > 0 {
            return; // (the usual wait: nothing to read, nobody to read from yet)
        }
        self.progress(done)
    }

    /// A write of `data` by a client of `priority`. Adds what finished to `done` — this
    /// write too, if it did not wait. Only a write that waits takes `data` (leaving it
    /// empty: borrowed data is copied then, owned data moved); otherwise it is left to
    /// the caller, for an [`Answer::Passed`] to a reader.
    #[inline(always)]
    pub fn write(
        &mut self,
        ticket: T,
        priority: u8,
        client: u32,
        data: &mut Cow<'_, [u8]>,
        nonblock: bool,
        done: &mut Vec<Completion<T>>,
    ) {
        let mut now = |ticket, result| done.push(Completion { ticket, result });
        if data.is_empty() {
            return now(ticket, Ok(Answer::Wrote(0))); // (waiting, it jammed a FIFO for good)
        }
        self.had_writer = true;
        if self.readers == 0 {
            if self.had_reader {
                return now(ticket, Err(Errno::EPIPE));
            }
            if nonblock {
                return now(ticket, Err(Errno::EAGAIN));
            }
            // A FIFO no reader has opened yet: waits for one, as its open would.
            let want = data.len();
            let data = core::mem::take(data).into_owned();
            return self.waiting_writers.push(priority, Waiter { ticket, client, want, data, written: 0 });
        }
        if nonblock {
            let free = self.room();
            let n = match data.len() {
                len if len <= PIPE_BUF && free >= len => len,
                len if len > PIPE_BUF && free > 0 => free.min(len),
                _ => return now(ticket, Err(Errno::EAGAIN)),
            };
            self.data.extend(&data[..n]);
            now(ticket, Ok(Answer::Wrote(n)));
            return self.progress(done);
        }
        if self.waiting_writers.is_empty() && self.room() >= data.len() {
            // Nobody ahead and room for all of it: what waiting first would come to.
            now(ticket, Ok(Answer::Wrote(data.len())));
            if self.data.is_empty() {
                // The first waiting reader, if any, takes its share straight from the
                // write: what it would take from the buffer (the rest is buffered).
                if let Some(r) = self.waiting_readers.pop_first() {
                    let n = r.want.min(data.len());
                    self.in_flight += n;
                    done.push(Completion { ticket: r.ticket, result: Ok(Answer::Passed(n)) });
                    if n == data.len() && self.writers > 0 {
                        // Nothing buffered, no writer waiting (see above), and a writer
                        // open (this one): nothing else can move.
                        return;
                    }
                    self.data.extend(&data[n..]);
                    return self.progress(done);
                }
            }
            self.data.extend(&data[..]);
            return self.progress(done);
        }
        let want = data.len();
        let data = core::mem::take(data).into_owned();
        self.waiting_writers.push(priority, Waiter { ticket, client, want, data, written: 0 });
        self.progress(done)
    }

    /// Serves waiting requests until none can go on, adding what finished to `done`.
    fn progress(&mut self, done: &mut Vec<Completion<T>>) {
        loop {
            let mut moved = false;
            // Readers take data, or learn of the end of file.
            if !self.waiting_readers.is_empty() {
                if !self.data.is_empty() {
                    let r = self.waiting_readers.pop_first().expect("not empty");
                    let bytes = self.take_front(r.want.min(self.data.len()));
                    done.push(Completion { ticket: r.ticket, result: Ok(Answer::Read(bytes)) });
                    moved = true;
                } else if self.writers == 0 && self.had_writer {
                    for r in self.waiting_readers.take_all() {
                        done.push(Completion { ticket: r.ticket, result: Ok(Answer::Read(Vec::new())) });
                    }
                }
            }
            // Writers fail without readers (wait for a first one); otherwise the first one
            // puts what it may.
            if self.readers == 0 {
                if self.had_reader {
                    // (Without it, a FIFO's writes wait for a reader.)
                    for w in self.waiting_writers.take_all() {
                        let result = if w.written > 0 { Ok(Answer::Wrote(w.written)) } else { Err(Errno::EPIPE) };
                        done.push(Completion { ticket: w.ticket, result });
                    }
                }
            } else if !self.waiting_writers.is_empty() {
                let free = self.room();
                let w = self.waiting_writers.first_mut().expect("not empty");
                let remaining = w.data.len() - w.written;
                let n = if w.data.len() <= PIPE_BUF {
                    if free >= remaining {
                        remaining
                    } else {
                        0
                    }
                } else {
                    free.min(remaining)
                };
                if n > 0 {
                    self.data.extend(&w.data[w.written..w.written + n]);
                    w.written += n;
                    moved = true;
                    if w.written == w.data.len() {
                        let w = self.waiting_writers.pop_first().expect("the first one");
                        done.push(Completion { ticket: w.ticket, result: Ok(Answer::Wrote(w.written)) });
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Room for writes: the capacity less what is buffered and what readers were handed
    /// but not yet answered.
    fn room(&self) -> usize {
        self.capacity.saturating_sub(self.data.len() + self.in_flight)
    }

    /// Settles the answers of reads ([`Answer::Read`], [`Answer::Passed`]): `delivered`
    /// bytes reached their readers, and `returned` did not (the reader died before the
    /// answer reached it, or its buffer was bad), in the order they were read. Those go
    /// back to the front, for the next reader. Then serves the waiting requests the room
    /// lets in, adding what finished to `done`. Until its answers are settled, what a
    /// read takes counts against the capacity, so bytes given back never make the pipe
    /// hold more than it.
    #[inline(always)]
    pub fn settle(&mut self, delivered: usize, returned: &[Vec<u8>], done: &mut Vec<Completion<T>>) {
        if returned.is_empty() && self.waiting_writers.is_empty() {
            // (The usual case, told inline: nobody for the room to let in.)
            debug_assert!(delivered <= self.in_flight, "more settled than handed out");
            self.in_flight -= delivered;
            return;
        }
        self.settle_and_progress(delivered, returned, done);
    }

    /// [`Pipe::settle`], when there is something to give back or somebody to let in.
    fn settle_and_progress(&mut self, delivered: usize, returned: &[Vec<u8>], done: &mut Vec<Completion<T>>) {
        let back: usize = returned.iter().map(Vec::len).sum();
        debug_assert!(delivered + back <= self.in_flight, "more settled than handed out");
        self.in_flight = self.in_flight.saturating_sub(delivered + back);
        for bytes in returned.iter().rev() {
            for &byte in bytes.iter().rev() {
                self.data.push_front(byte);
            }
        }
        self.progress(done);
    }

    /// Ends the waiting request whose ticket `is` picks (its client wants to unblock):
    /// a read fails with `EINTR`, a write reports what it wrote (or `EINTR`). Adds it to
    /// `done`, with the writes that a write cancelled first in line held back (they may
    /// fit where it did not); false if `is` picks none.
    pub fn cancel(&mut self, is: impl Fn(&T) -> bool, done: &mut Vec<Completion<T>>) -> bool {
        if let Some(r) = self.waiting_readers.take_where(|w| is(&w.ticket)) {
            done.push(Completion { ticket: r.ticket, result: Err(Errno::EINTR) });
            return true;
        }
        let Some(w) = self.waiting_writers.take_where(|w| is(&w.ticket)) else { return false };
        let result = if w.written > 0 { Ok(Answer::Wrote(w.written)) } else { Err(Errno::EINTR) };
        done.push(Completion { ticket: w.ticket, result });
        self.progress(done);
        true
    }

    /// Drops every waiting request of `client` (it has gone: nobody to answer), returning
    /// their tickets; what a writer had not written yet is discarded.
    pub fn forget(&mut self, client: u32) -> Vec<T> {
        let mut gone: Vec<T> =
            self.waiting_readers.take_all_where(|w| w.client == client).into_iter().map(|w| w.ticket).collect();
        gone.extend(self.waiting_writers.take_all_where(|w| w.client == client).into_iter().map(|w| w.ticket));
        gone
    }

    /// Requests waiting (reads, writes).
    pub fn waiting(&self) -> (usize, usize) {
        (self.waiting_readers.len(), self.waiting_writers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    impl Pipe<u32> {
        /// [`Pipe::write`], with a passed read's bytes copied out of `data` (as the server
        /// answers them).
        fn put<'a>(
            &mut self,
            ticket: u32,
            priority: u8,
            client: u32,
            data: impl Into<Cow<'a, [u8]>>,
            nonblock: bool,
            done: &mut Vec<Completion<u32>>,
        ) {
            let mut data = data.into();
            let from = done.len();
            self.write(ticket, priority, client, &mut data, nonblock, done);
            for c in &mut done[from..] {
                if let Ok(Answer::Passed(n)) = c.result {
                    c.result = Ok(Answer::Read(data[..n].to_vec()));
                }
            }
        }
    }

    /// What one call finished, its reads' answers settled as the server settles them
    /// when they all reach their readers (which may finish more).
    fn run(p: &mut Pipe<u32>, call: impl FnOnce(&mut Pipe<u32>, &mut Vec<Completion<u32>>)) -> Vec<Completion<u32>> {
        let mut done = Vec::new();
        call(p, &mut done);
        settle_all(p, &mut done, 0);
        done
    }

    /// Settles the reads' answers in `done` from `from` on as delivered, and those it
    /// finishes in turn.
    fn settle_all(p: &mut Pipe<u32>, done: &mut Vec<Completion<u32>>, mut from: usize) {
        while from < done.len() {
            let delivered = done[from..]
                .iter()
                .map(|c| match &c.result {
                    Ok(Answer::Read(bytes)) => bytes.len(),
                    Ok(Answer::Passed(n)) => *n,
                    _ => 0,
                })
                .sum();
            from = done.len();
            if delivered == 0 {
                return; // (nothing to settle: the server then does not call, as here)
            }
            p.settle(delivered, &[], done);
        }
    }

    /// The completions, by ticket.
    fn answers(done: Vec<Completion<u32>>) -> Vec<(u32, Result<Answer, Errno>)> {
        let mut answers: Vec<_> = done.into_iter().map(|c| (c.ticket, c.result)).collect();
        answers.sort_by_key(|(ticket, _)| *ticket);
        answers
    }

    fn read(n: &[u8]) -> Result<Answer, Errno> {
        Ok(Answer::Read(n.to_vec()))
    }

    #[test]
    fn an_anonymous_pipe_has_one_name() {
        assert_eq!(anonymous_pipe_number("5"), Some(5));
        assert_eq!(anonymous_pipe_number("0"), Some(0));
        assert_eq!(anonymous_pipe_number("4294967295"), Some(u32::MAX));
        for other in ["+5", "05", "00", "", "-1", "5x", " 5", "4294967296"] {
            assert_eq!(anonymous_pipe_number(other), None, "{other:?}");
        }
    }

    #[test]
    fn no_fifo_is_made_where_the_anonymous_pipes_are_named() {
        // (A review: `mkfifo /dev/pipe/7` before pipe 7 existed, or the MKFIFO message
        // sent for it while it did, took the later opens of `/dev/pipe/7` — a longer
        // prefix than `/dev/pipe` — so the writer `pipe()` opened, or the shell gave a
        // pipeline's command, wrote into the FIFO, for whoever read it.)
        assert_eq!(fifo_path(b"/tmp/fifo"), Ok("/tmp/fifo"));
        assert_eq!(fifo_path(b"/dev/pipes"), Ok("/dev/pipes"), "another name, not beneath /dev/pipe");
        assert_eq!(fifo_path(b"/dev/pipe"), Err(Errno::EEXIST));
        assert_eq!(fifo_path(b"/dev/pipe/"), Err(Errno::EEXIST));
        for beneath in [&b"/dev/pipe/7"[..], b"/dev/pipe/name", b"/dev/pipe/7/x"] {
            assert_eq!(fifo_path(beneath), Err(Errno::EPERM), "{beneath:?}");
        }
        assert_eq!(fifo_path(b"relative"), Err(Errno::EINVAL), "checked as any path");
    }

    #[test]
    fn only_a_directory_s_server_has_fifos_made_in_it() {
        // (A review: any program sent MKFIFO itself and had a FIFO attached where it
        // liked, with the pipe server's standing as one of the system's programs.)
        let ramfs = |matched: usize| Resolved {
            pid: 9,
            chid: 1,
            matched: matched as u32,
            flags: path_flags::DIR as u32,
            handle: 0,
        };
        assert_eq!(may_make_fifo("/tmp/fifo", &ramfs(4), 9), Ok(()), "ramfs, in its /tmp");
        assert_eq!(may_make_fifo("/tmp/fifo", &ramfs(4), 20), Err(Errno::EPERM), "anyone else");
        assert_eq!(may_make_fifo("/tmp", &ramfs(4), 9), Err(Errno::EEXIST), "its directory itself");
        let console = Resolved { flags: 0, ..ramfs(12) };
        assert_eq!(may_make_fifo("/dev/console", &console, 9), Err(Errno::EEXIST));
        let root = Resolved { flags: 0, ..ramfs(1) };
        assert_eq!(may_make_fifo("/x", &root, 9), Err(Errno::EPERM), "not a directory");
    }

    #[test]
    fn reads_wait_for_data_then_end_of_file() {
        let mut p = Pipe::<u32>::default();
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.read(1, 10, 0, 8, false, d))), [], "no writer yet: the read waits");
        p.open_writer();
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(2, 10, 0, b"hello", false, d))),
            [(1, read(b"hello")), (2, Ok(Answer::Wrote(5)))]
        );
        assert_eq!(answers(run(&mut p, |p, d| p.put(3, 10, 0, b"abc", false, d))), [(3, Ok(Answer::Wrote(3)))]);
        assert_eq!(
            answers(run(&mut p, |p, d| p.read(4, 10, 0, 2, false, d))),
            [(4, read(b"ab"))],
            "at most what was asked"
        );
        assert_eq!(answers(run(&mut p, |p, d| p.read(5, 10, 0, 9, false, d))), [(5, read(b"c"))], "what is there");
        assert_eq!(answers(run(&mut p, |p, d| p.read(6, 10, 0, 9, false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.read(7, 10, 0, 9, true, d))), [(7, Err(Errno::EAGAIN))], "O_NONBLOCK");
        assert_eq!(
            answers(run(&mut p, |p, d| p.close_writer(d))),
            [(6, read(b""))],
            "end of file for the waiting read"
        );
        assert_eq!(answers(run(&mut p, |p, d| p.read(8, 10, 0, 9, false, d))), [(8, read(b""))]);
    }

    #[test]
    fn a_fifo_write_waits_for_a_reader_to_read_and_everyone_closing_starts_afresh() {
        // (A named FIFO: `echo x > fifo` before `cat fifo` failed with EPIPE.)
        let mut p = Pipe::<u32>::default();
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(1, 10, 0, b"early", false, d))), [], "no reader yet: it waits");
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(2, 10, 0, b"x", true, d))),
            [(2, Err(Errno::EAGAIN))],
            "O_NONBLOCK"
        );
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(3, 10, 0, b"", false, d))),
            [(3, Ok(Answer::Wrote(0)))],
            "nothing: at once"
        );
        assert_eq!(answers(run(&mut p, |p, d| p.open_reader(d))), [(1, Ok(Answer::Wrote(5)))], "a reader lets it in");
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty(), "a reader that only looked (`ls`): no EPIPE after");
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.read(4, 10, 0, 9, false, d))), [(4, read(b"early"))]);
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty());
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(5, 10, 0, b"late", false, d))),
            [(5, Err(Errno::EPIPE))],
            "had a reader"
        );
        assert!(run(&mut p, |p, d| p.close_writer(d)).is_empty());
        // Everyone closed it: the next writer waits for a reader again, and a reader
        // for a writer that writes (one that only opens and closes counts for nothing).
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(6, 10, 0, b"again", false, d))), [], "afresh");
        assert_eq!(answers(run(&mut p, |p, d| assert!(p.cancel(|t| *t == 6, d)))), [(6, Err(Errno::EINTR))]);
        assert!(run(&mut p, |p, d| p.close_writer(d)).is_empty());
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.read(7, 10, 0, 9, false, d))), [], "no writer has written");
        p.open_writer();
        assert!(run(&mut p, |p, d| p.close_writer(d)).is_empty(), "still no end of file");
        p.open_writer();
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(8, 10, 0, b"y", false, d))),
            [(7, read(b"y")), (8, Ok(Answer::Wrote(1)))]
        );
        assert_eq!(answers(run(&mut p, |p, d| p.close_writer(d))), [], "nobody waiting");
        assert_eq!(answers(run(&mut p, |p, d| p.read(9, 10, 0, 9, false, d))), [(9, read(b""))], "then end of file");
    }

    #[test]
    fn an_anonymous_pipes_ends_count_from_their_opens() {
        // (`fs::open_with("/dev/pipe", O_CREAT)` makes a pipe and opens its read end; the
        // writers open `/dev/pipe/N` later: the reader waits for them, and sees the end of
        // file once they closed, written or not.)
        let mut p = Pipe::<u32>::anonymous();
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.read(1, 10, 0, 9, false, d))), [], "no writer yet");
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.close_writer(d))), [(1, read(b""))], "the writer closed");
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty());
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(2, 10, 0, b"x", false, d))), [(2, Err(Errno::EPIPE))], "at once");
    }

    #[test]
    fn a_reader_that_only_looked_does_not_make_the_next_write_epipe() {
        // (A review: `ls /tmp` opens and closes each name to look at it, and then
        // `echo x > fifo` before `cat fifo` was EPIPE again.)
        let mut p = Pipe::<u32>::default();
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty());
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(1, 10, 0, b"x", false, d))), [], "waits for cat");
    }

    #[test]
    fn what_a_fifo_still_buffers_when_everyone_closes_is_read_then_end_of_file() {
        let mut p = Pipe::<u32>::default();
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(1, 10, 0, b"kept", false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.open_reader(d))), [(1, Ok(Answer::Wrote(4)))]);
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty());
        assert!(run(&mut p, |p, d| p.close_writer(d)).is_empty());
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.read(2, 10, 0, 9, false, d))), [(2, read(b"kept"))]);
        assert_eq!(answers(run(&mut p, |p, d| p.read(3, 10, 0, 9, false, d))), [(3, read(b""))], "then end of file");
    }

    #[test]
    fn a_write_feeds_the_waiting_readers_in_turn_and_buffers_the_rest() {
        let mut p = Pipe::<u32>::default();
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        // Readers of 2 and 3 bytes wait (by priority: the second first), then 7 bytes come.
        assert_eq!(answers(run(&mut p, |p, d| p.read(1, 10, 0, 2, false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.read(2, 20, 0, 3, false, d))), []);
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(3, 10, 0, b"abcdefg", false, d))),
            [(1, read(b"de")), (2, read(b"abc")), (3, Ok(Answer::Wrote(7)))]
        );
        assert_eq!(p.len(), 2, "the rest is buffered");
        assert_eq!(answers(run(&mut p, |p, d| p.read(4, 10, 0, 9, false, d))), [(4, read(b"fg"))]);
    }

    #[test]
    fn small_writes_are_atomic_and_writers_wait_for_room() {
        let mut p = Pipe::<u32>::with_capacity(10);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(1, 10, 0, b"123456", false, d))), [(1, Ok(Answer::Wrote(6)))]);
        assert_eq!(answers(run(&mut p, |p, d| p.put(2, 10, 0, b"abcdef", false, d))), [], "does not fit whole: waits");
        assert_eq!(answers(run(&mut p, |p, d| p.put(3, 10, 0, b"xyz", true, d))), [(3, Ok(Answer::Wrote(3)))]);
        assert_eq!(answers(run(&mut p, |p, d| p.put(4, 10, 0, b"qq", true, d))), [(4, Err(Errno::EAGAIN))]);
        let done = answers(run(&mut p, |p, d| p.read(5, 10, 0, 9, false, d)));
        assert_eq!(done, [(2, Ok(Answer::Wrote(6))), (5, read(b"123456xyz"))]);
        assert_eq!(
            answers(run(&mut p, |p, d| p.read(6, 10, 0, 100, false, d))),
            [(6, read(b"abcdef"))],
            "never interleaved"
        );
    }

    #[test]
    fn large_writes_may_split_and_waiters_go_by_priority() {
        let mut p = Pipe::<u32>::with_capacity(PIPE_BUF);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        let big = vec![7u8; PIPE_BUF + 100];
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(1, 5, 0, &big, false, d))),
            [],
            "fills the pipe, waits with the rest"
        );
        assert_eq!(p.len(), PIPE_BUF);
        assert_eq!(answers(run(&mut p, |p, d| p.put(2, 9, 0, b"hi", false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.put(3, 5, 0, b"lo", false, d))), []);
        // Room for 200: the priority-9 write goes first, then the rest of the big one
        // (the earlier of the two of priority 5), then the last.
        let mut p2 = Vec::new();
        for c in run(&mut p, |p, d| p.read(4, 1, 0, 200, false, d)) {
            p2.push(c.ticket);
        }
        assert_eq!(p2, [4, 2, 1, 3]);
        assert_eq!(p.waiting(), (0, 0));
        let mut tail = vec![0u8; PIPE_BUF];
        let n = match run(&mut p, |p, d| p.read(5, 1, 0, PIPE_BUF, false, d)).pop().unwrap().result {
            Ok(Answer::Read(bytes)) => {
                tail[..bytes.len()].copy_from_slice(&bytes);
                bytes.len()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(&tail[n - 104..n], [&b"hi"[..], &[7u8; 100], b"lo"].concat(), "in the order they went in");
        // Readers, too, by priority.
        let mut q = Pipe::<u32>::default();
        assert!(run(&mut q, |q, d| q.open_reader(d)).is_empty());
        q.open_writer();
        assert_eq!(answers(run(&mut q, |q, d| q.read(1, 3, 0, 1, false, d))), []);
        assert_eq!(answers(run(&mut q, |q, d| q.read(2, 8, 0, 1, false, d))), []);
        assert_eq!(answers(run(&mut q, |q, d| q.read(3, 8, 0, 1, false, d))), []);
        let done = answers(run(&mut q, |q, d| q.put(4, 1, 0, b"ab", false, d)));
        assert_eq!(done, [(2, read(b"a")), (3, read(b"b")), (4, Ok(Answer::Wrote(2)))], "8s before the 3");
        assert_eq!(q.waiting(), (1, 0));
    }

    #[test]
    fn no_reader_is_epipe_and_cancelled_or_dead_clients_are_handled() {
        let mut p = Pipe::<u32> { named: false, ..Pipe::with_capacity(4) };
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        assert!(run(&mut p, |p, d| p.close_reader(d)).is_empty());
        assert_eq!(
            answers(run(&mut p, |p, d| p.put(1, 1, 0, b"x", false, d))),
            [(1, Err(Errno::EPIPE))],
            "no reader any more"
        );
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        assert_eq!(answers(run(&mut p, |p, d| p.put(2, 1, 0, b"abcd", false, d))), [(2, Ok(Answer::Wrote(4)))]);
        assert_eq!(answers(run(&mut p, |p, d| p.put(3, 1, 7, b"ef", false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.put(4, 1, 8, b"gh", false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| assert!(p.cancel(|t| *t == 3, d)))), [(3, Err(Errno::EINTR))]);
        assert!(!p.cancel(|t| *t == 3, &mut Vec::new()), "no longer waits");
        assert_eq!(p.forget(8), [4]);
        assert_eq!(p.waiting(), (0, 0));
        assert_eq!(answers(run(&mut p, |p, d| p.put(5, 1, 0, b"ij", false, d))), []);
        assert_eq!(answers(run(&mut p, |p, d| p.close_reader(d))), [(5, Err(Errno::EPIPE))], "the last reader left");
    }

    #[test]
    fn a_cancelled_write_lets_the_writes_behind_it_in() {
        // (A review: a high-priority write that did not fit timed out, and a small one
        // behind it, with room enough, waited on until a reader read again.)
        let mut p = Pipe::<u32>::with_capacity(8);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        assert_eq!(answers(run(&mut p, |p, d| p.put(1, 10, 0, b"123456", false, d))), [(1, Ok(Answer::Wrote(6)))]);
        assert_eq!(answers(run(&mut p, |p, d| p.put(2, 20, 0, b"abcd", false, d))), [], "does not fit: waits");
        assert_eq!(answers(run(&mut p, |p, d| p.put(3, 10, 0, b"x", false, d))), [], "behind the first");
        let mut done = Vec::new();
        assert!(p.cancel(|t| *t == 2, &mut done));
        let done = answers(done);
        assert_eq!(done, [(2, Err(Errno::EINTR)), (3, Ok(Answer::Wrote(1)))], "1 byte, with 2 free");
        assert_eq!(p.waiting(), (0, 0));
        assert_eq!(p.len(), 7);
    }

    #[test]
    fn a_write_passes_a_waiting_readers_share_without_taking_its_data_unless_it_waits() {
        let mut p = Pipe::<u32>::with_capacity(8);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        run(&mut p, |p, d| p.read(1, 10, 0, 3, false, d));
        let mut data = Cow::from(&b"abcde"[..]);
        let done = answers(run(&mut p, |p, d| p.write(2, 10, 0, &mut data, false, d)));
        assert_eq!(done, [(1, Ok(Answer::Passed(3))), (2, Ok(Answer::Wrote(5)))]);
        assert_eq!(&data[..], b"abcde", "left to the caller");
        assert_eq!(p.len(), 2, "the rest is buffered");
        // Too long to fit whole: the write waits with its data (owned: moved).
        let mut data = Cow::from(vec![7u8; 7]);
        assert_eq!(answers(run(&mut p, |p, d| p.write(3, 10, 0, &mut data, false, d))), []);
        assert!(data.is_empty(), "taken by the waiting write");
        let done = answers(run(&mut p, |p, d| p.read(4, 10, 0, 8, false, d)));
        assert_eq!(done, [(3, Ok(Answer::Wrote(7))), (4, read(b"de"))]);
        assert_eq!(answers(run(&mut p, |p, d| p.read(5, 10, 0, 8, false, d))), [(5, read(&[7u8; 7]))]);
    }

    #[test]
    fn bytes_a_reader_did_not_get_go_back_to_the_front_for_the_next_reader() {
        let mut p = Pipe::<u32>::with_capacity(4);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        // Two readers take "ab" and "cd" and a writer waits: until the answers are
        // settled, their bytes count against the capacity.
        run(&mut p, |p, d| p.read(1, 10, 0, 2, false, d));
        run(&mut p, |p, d| p.read(2, 10, 0, 2, false, d));
        let mut done = Vec::new();
        p.put(3, 10, 0, b"abcd", false, &mut done);
        p.put(4, 10, 0, b"ef", false, &mut done);
        let done = answers(done);
        assert_eq!(done, [(1, read(b"ab")), (2, read(b"cd")), (3, Ok(Answer::Wrote(4)))], "4 waits for room");
        // Neither reader got its bytes (say they died): they go back, in order, and the
        // write still waits.
        let done = answers(run(&mut p, |p, d| p.settle(0, &[b"ab".to_vec(), b"cd".to_vec()], d)));
        assert_eq!(done, [], "nobody reading, no room");
        assert_eq!(p.len(), 4);
        assert_eq!(
            answers(run(&mut p, |p, d| p.read(5, 10, 0, 3, false, d))),
            [(4, Ok(Answer::Wrote(2))), (5, read(b"abc"))]
        );
        assert_eq!(answers(run(&mut p, |p, d| p.read(6, 10, 0, 8, false, d))), [(6, read(b"def"))]);
        // A reader waiting gets what is given back at once.
        run(&mut p, |p, d| p.read(7, 10, 0, 8, false, d));
        let mut done = Vec::new();
        p.put(8, 10, 0, b"xy", false, &mut done);
        assert_eq!(answers(done), [(7, read(b"xy")), (8, Ok(Answer::Wrote(2)))]);
        run(&mut p, |p, d| p.read(9, 10, 0, 8, false, d));
        assert_eq!(answers(run(&mut p, |p, d| p.settle(0, &[b"xy".to_vec()], d))), [(9, read(b"xy"))]);
    }

    #[test]
    fn bytes_given_back_never_make_the_pipe_hold_more_than_its_capacity() {
        // (A review found a reader that never gets its answers, taking everything each
        // time while a writer refills the pipe, growing it without end.)
        let mut p = Pipe::<u32>::with_capacity(4);
        run(&mut p, |p, d| p.open_reader(d));
        p.open_writer();
        run(&mut p, |p, d| p.put(1, 10, 0, b"abcd", false, d));
        for t in 0..8u32 {
            assert!(run(&mut p, |p, d| p.put(100 + t, 10, 0, b"wxyz", false, d)).is_empty(), "full: waits");
            let mut done = Vec::new();
            p.read(200 + t, 10, 0, 1 << 20, false, &mut done);
            let taken: Vec<Vec<u8>> = done
                .into_iter()
                .filter_map(|c| match c.result {
                    Ok(Answer::Read(bytes)) => Some(bytes),
                    _ => None,
                })
                .collect();
            assert_eq!(taken.concat().len(), 4);
            let done = answers(run(&mut p, |p, d| p.settle(0, &taken, d)));
            assert_eq!(done, [], "the waiting write gets no room from a read that failed");
            assert_eq!(p.len(), 4, "a pipe of capacity 4 holds {} bytes", p.len());
        }
    }

    #[test]
    fn a_recycled_read_buffer_carries_nothing_into_the_next_read() {
        let mut p = Pipe::<u32>::default();
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        p.open_writer();
        let bytes = |done: Vec<Completion<u32>>| match done.into_iter().next().map(|c| c.result) {
            Some(Ok(Answer::Read(bytes))) => bytes,
            other => panic!("{other:?}"),
        };
        run(&mut p, |p, d| p.put(1, 10, 0, b"abcdef", false, d));
        let first = bytes(run(&mut p, |p, d| p.read(2, 10, 0, 4, false, d)));
        assert_eq!(first, b"abcd");
        p.recycle(first);
        assert_eq!(bytes(run(&mut p, |p, d| p.read(3, 10, 0, 4, false, d))), b"ef", "the old bytes are gone");
        // A recycled buffer too small for the next read, and one too large to keep.
        p.recycle(Vec::with_capacity(1));
        p.recycle(vec![9u8; PIPE_BUF + 1]);
        run(&mut p, |p, d| p.put(4, 10, 0, vec![5u8; 100], false, d));
        let read = bytes(run(&mut p, |p, d| p.read(5, 10, 0, 100, false, d)));
        assert_eq!(read, vec![5u8; 100]);
        assert!(p.spare.capacity() <= PIPE_BUF, "no buffer above PIPE_BUF is kept");
    }

    #[test]
    fn every_request_leaves_nothing_for_a_progress_pass_to_do() {
        // The requests skip `progress` where it could do nothing (a write handed whole
        // to a reader, a read that must wait): after any request, a progress pass must
        // indeed find nothing to finish. Random traffic over a small pipe.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut below = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // (A named FIFO and an anonymous pipe: their ends' rules differ.)
        for named in [true, false] {
            let mut p = Pipe::<u32>::with_capacity(64);
            if !named {
                p = Pipe { named: false, ..p };
            }
            let (mut readers, mut writers) = (0, 0);
            for ticket in 0..20_000u32 {
                let mut done = Vec::new();
                match below(12) {
                    0 if readers < 3 => {
                        p.open_reader(&mut done);
                        readers += 1;
                    }
                    1 if writers < 3 => {
                        p.open_writer();
                        writers += 1;
                    }
                    2 if readers > 0 => {
                        p.close_reader(&mut done);
                        readers -= 1;
                    }
                    3 if writers > 0 => {
                        p.close_writer(&mut done);
                        writers -= 1;
                    }
                    // (Only an open end makes requests: the server has them on its files.)
                    4..=7 if readers > 0 => {
                        let want = [0, 1, 3, 40, 100][below(5) as usize];
                        p.read(ticket, below(3) as u8 * 10, 1, want, below(6) == 0, &mut done);
                    }
                    // (A client unblocking: one of the recent requests, if it still waits.)
                    8 => {
                        let victim = ticket.saturating_sub(1 + below(20) as u32);
                        p.cancel(|t| *t == victim, &mut done);
                    }
                    _ if writers > 0 => {
                        let len = [0, 1, 5, 30, 64, 90][below(6) as usize];
                        p.put(ticket, below(3) as u8 * 10, 2, &vec![ticket as u8; len][..], below(6) == 0, &mut done);
                    }
                    _ => {}
                }
                // The answers settled as the server settles them, a read's now and then
                // failing (its bytes given back): the pipe never holds more than its capacity.
                let mut from = 0;
                while from < done.len() {
                    let (mut delivered, mut returned) = (0, Vec::new());
                    for c in &done[from..] {
                        match &c.result {
                            Ok(Answer::Read(bytes)) if !bytes.is_empty() && below(5) == 0 => {
                                returned.push(bytes.clone())
                            }
                            Ok(Answer::Read(bytes)) => delivered += bytes.len(),
                            _ => {}
                        }
                    }
                    from = done.len();
                    if delivered == 0 && returned.is_empty() {
                        break; // (as the server: nothing to settle, no call)
                    }
                    p.settle(delivered, &returned, &mut done);
                }
                assert!(
                    p.len() <= 64 && p.in_flight == 0,
                    "request {ticket}: {} bytes, {} in flight",
                    p.len(),
                    p.in_flight
                );
                // (Bytes moved without a completion — a long write in part — show in the
                // buffered length.)
                let before = (p.len(), p.waiting());
                let mut more = Vec::new();
                p.progress(&mut more);
                assert!(more.is_empty(), "request {ticket} left work for a progress pass: {more:?}");
                assert_eq!((p.len(), p.waiting()), before, "request {ticket} left bytes to move");
            }
        }
    }

    #[test]
    fn megabytes_of_records_arrive_whole_and_in_order_per_writer() {
        // Three writers of PIPE_BUF-sized records into a small pipe, one reader taking
        // odd amounts: every record arrives whole, none lost or doubled.
        let mut p = Pipe::<u32>::with_capacity(3 * PIPE_BUF);
        assert!(run(&mut p, |p, d| p.open_reader(d)).is_empty());
        for _ in 0..3 {
            p.open_writer();
        }
        let mut received = Vec::new();
        let mut ticket = 100;
        let mut sent = [0u32; 3];
        while sent.iter().any(|s| *s < 300) {
            for (writer, count) in sent.iter_mut().enumerate() {
                if *count < 300 && p.waiting().1 < 3 {
                    let mut record = vec![writer as u8; PIPE_BUF];
                    record[..4].copy_from_slice(&count.to_le_bytes());
                    ticket += 1;
                    let _ = run(&mut p, |p, d| p.put(ticket, 5, writer as u32, &record, false, d));
                    *count += 1;
                }
            }
            ticket += 1;
            for c in run(&mut p, |p, d| p.read(ticket, 5, 9, 5000, false, d)) {
                if let Ok(Answer::Read(bytes)) = c.result {
                    received.extend(bytes);
                }
            }
        }
        while !p.is_empty() || p.waiting().1 > 0 {
            ticket += 1;
            for c in run(&mut p, |p, d| p.read(ticket, 5, 9, 7000, false, d)) {
                if let Ok(Answer::Read(bytes)) = c.result {
                    received.extend(bytes);
                }
            }
        }
        assert_eq!(received.len(), 900 * PIPE_BUF);
        let mut next = [0u32; 3];
        for record in received.chunks(PIPE_BUF) {
            let writer = record[PIPE_BUF - 1] as usize;
            assert!(record[4..].iter().all(|b| *b as usize == writer), "a record was interleaved");
            assert_eq!(u32::from_le_bytes(record[..4].try_into().unwrap()), next[writer]);
            next[writer] += 1;
        }
        assert_eq!(next, [300, 300, 300]);
    }
}
