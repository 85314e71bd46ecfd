//! Reads waiting for input, free of system calls so the host can test them: who gets
//! what is typed (the first to ask among those who may read), reads of nothing
//! (answered at once), and readers that went meanwhile (what they would have taken is
//! kept for the next).

use crate::LineDiscipline;
use alloc::vec::Vec;

/// A read waiting for input.
#[derive(Debug)]
pub struct Reader<M> {
    /// What answers it (the driver's held message).
    pub message: M,
    /// Most bytes it takes.
    pub want: usize,
    /// Its process.
    pub pid: u32,
    /// Its process's connection (its reads go when that goes).
    pub client: u32,
}

/// The reads waiting, by arrival.
#[derive(Debug)]
pub struct Readers<M> {
    waiting: Vec<Reader<M>>,
}

impl<M> Default for Readers<M> {
    fn default() -> Self {
        Self { waiting: Vec::new() }
    }
}

impl<M> Readers<M> {
    /// Nobody waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `reader` after those waiting (answer them with [`Readers::serve`]).
    pub fn push(&mut self, reader: Reader<M>) {
        self.waiting.push(reader);
    }

    /// Answers the waiting reads whose processes may read (`may_read`): reads of 0
    /// bytes at once, the others by arrival while `discipline` has input. `deliver`
    /// answers one with its bytes and says whether it could; if not (its reader has
    /// gone), the bytes are the next reader's.
    pub fn serve(
        &mut self,
        discipline: &mut LineDiscipline,
        may_read: impl Fn(u32) -> bool,
        mut deliver: impl FnMut(M, &[u8]) -> bool,
    ) {
        for reader in self.take(|r| r.want == 0 && may_read(r.pid)) {
            deliver(reader.message, &[]);
        }
        while discipline.readable() {
            let Some(i) = self.waiting.iter().position(|r| may_read(r.pid)) else { break };
            let reader = self.waiting.remove(i);
            let mut message = Some(reader.message);
            discipline.read_to(reader.want, |bytes| message.take().is_some_and(|m| deliver(m, bytes)));
        }
    }

    /// Takes out the reads `selected` picks, in their order.
    pub fn take(&mut self, mut selected: impl FnMut(&Reader<M>) -> bool) -> Vec<Reader<M>> {
        let (taken, kept) = core::mem::take(&mut self.waiting).into_iter().partition(|r| selected(r));
        self.waiting = kept;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;
    use std::vec;
    use std::vec::Vec;

    fn typed(d: &mut LineDiscipline, bytes: &[u8]) {
        let mut echo = Vec::new();
        for byte in bytes {
            d.input(*byte, &mut echo);
        }
    }

    fn reader(name: char, want: usize, pid: u32) -> Reader<char> {
        Reader { message: name, want, pid, client: pid }
    }

    /// Serves `readers`; the readers `gone` cannot be answered. What each was answered.
    fn serve(readers: &mut Readers<char>, d: &mut LineDiscipline, gone: &[char]) -> Vec<(char, Vec<u8>)> {
        let mut answered = Vec::new();
        readers.serve(
            d,
            |pid| pid != 9,
            |m, bytes| {
                answered.push((m, bytes.to_vec()));
                !gone.contains(&m)
            },
        );
        answered.retain(|(m, _)| !gone.contains(m));
        answered
    }

    #[test]
    fn a_reader_that_went_takes_nothing() {
        // A reader's process ended, its disconnection not received yet: its line is
        // the next reader's, not lost.
        let mut d = LineDiscipline::new();
        let mut readers = Readers::new();
        readers.push(reader('a', 100, 1));
        readers.push(reader('b', 100, 2));
        typed(&mut d, b"ls\r");
        assert_eq!(serve(&mut readers, &mut d, &['a']), [('b', b"ls\n".to_vec())]);
        // An end of file, and a Ctrl-D's delimiter, too.
        readers.push(reader('c', 100, 3));
        readers.push(reader('d', 100, 4));
        typed(&mut d, b"\x04");
        assert_eq!(serve(&mut readers, &mut d, &['c']), [('d', vec![])]);
        readers.push(reader('e', 2, 5));
        readers.push(reader('f', 100, 6));
        readers.push(reader('g', 100, 7));
        typed(&mut d, b"xy\x04k\r");
        assert_eq!(serve(&mut readers, &mut d, &['e']), [('f', b"xy".to_vec()), ('g', b"k\n".to_vec())]);
        // And in raw mode.
        d.set_mode(Mode::Raw, &mut Vec::new());
        readers.push(reader('h', 1, 8));
        readers.push(reader('i', 100, 1));
        typed(&mut d, b"q\r");
        assert_eq!(serve(&mut readers, &mut d, &['h']), [('i', b"q\r".to_vec())]);
    }

    #[test]
    fn reads_of_nothing_are_answered_at_once_by_arrival_the_others() {
        let mut d = LineDiscipline::new();
        let mut readers = Readers::new();
        readers.push(reader('a', 100, 1));
        readers.push(reader('b', 0, 2));
        readers.push(reader('z', 0, 9));
        assert_eq!(serve(&mut readers, &mut d, &[]), [('b', vec![])], "not after a's line");
        readers.push(reader('c', 100, 3));
        readers.push(reader('y', 100, 9));
        typed(&mut d, b"1\r2\r3\r");
        assert_eq!(serve(&mut readers, &mut d, &[]), [('a', b"1\n".to_vec()), ('c', b"2\n".to_vec())]);
        let left: Vec<char> = readers.take(|_| true).into_iter().map(|r| r.message).collect();
        assert_eq!(left, ['z', 'y'], "those who may not read wait");
        assert_eq!(d.read(100), Some(b"3\n".to_vec()));
    }
}
