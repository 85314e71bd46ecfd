//! Argument blocks: the one a new process starts with and the one a spawn request
//! takes.
//!
//! A process starts with `x0` = the argument count, `x1` = the address of its argument
//! block and `x2` = the block's length in bytes. The block holds `argv[0]` (the program's
//! name) and then each argument, every string followed by one NUL byte; after the
//! `x0`-th string come the environment's `KEY=VALUE` strings, laid out the same way
//! ([`split_environment`]). A spawn request carries the arguments without `argv[0]`,
//! which the process manager adds, then the environment.

use crate::Errno;
use alloc::vec::Vec;

/// A process's arguments: `argv[0]` (the program's name), then the arguments it was
/// started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Args {
    count: usize,
    /// Every argument followed by a NUL byte.
    block: &'static str,
}

impl Args {
    /// The arguments in `block`, which must hold exactly `count` UTF-8 strings, each
    /// followed by one NUL byte, and nothing after the last; `EINVAL` otherwise.
    pub fn parse(count: usize, block: &'static [u8]) -> Result<Args, Errno> {
        let block = core::str::from_utf8(block).map_err(|_| Errno::EINVAL)?;
        let terminators = block.bytes().filter(|byte| *byte == 0).count();
        if terminators != count || !(block.is_empty() || block.ends_with('\0')) {
            return Err(Errno::EINVAL);
        }
        Ok(Args { count, block })
    }

    /// Number of strings, `argv[0]` included.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there is not even a program name.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `argv[0]`: the name the program was started under (empty if there is none).
    pub fn program(&self) -> &'static str {
        self.get(0).unwrap_or("")
    }

    /// `argv[index]`.
    pub fn get(&self, index: usize) -> Option<&'static str> {
        self.iter().nth(index)
    }

    /// Every string, `argv[0]` first.
    pub fn iter(&self) -> Iter {
        Iter { rest: self.block }
    }
}

impl IntoIterator for Args {
    type Item = &'static str;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

/// Iterator over the strings of [`Args`].
#[derive(Debug, Clone)]
pub struct Iter {
    rest: &'static str,
}

impl Iterator for Iter {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        let (first, rest) = self.rest.split_once('\0')?;
        self.rest = rest;
        Some(first)
    }
}

/// Splits a process's block into its first `count` strings (the arguments) and the rest
/// (the environment), both still NUL-terminated; `None` if it holds fewer than `count`.
pub fn split_environment(count: usize, block: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut end = 0;
    for _ in 0..count {
        end += block[end..].iter().position(|b| *b == 0)? + 1;
    }
    Some(block.split_at(end))
}

/// The `KEY=VALUE` strings of an environment block (entries without `=` are skipped).
pub fn environment(block: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    block.split('\0').filter_map(|entry| entry.split_once('='))
}

/// The argument block a spawn request takes for `arguments` (no `argv[0]`): each argument
/// followed by a NUL byte. `EINVAL` if an argument itself holds a NUL byte.
pub fn encode(arguments: &[&str]) -> Result<Vec<u8>, Errno> {
    let mut block = Vec::with_capacity(arguments.iter().map(|a| a.len() + 1).sum());
    for argument in arguments {
        if argument.contains('\0') {
            return Err(Errno::EINVAL);
        }
        block.extend_from_slice(argument.as_bytes());
        block.push(0);
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn a_kernel_block_gives_the_name_then_the_arguments() {
        let args = Args::parse(3, b"hello\0-v\0world\0").unwrap();
        assert_eq!(args.len(), 3);
        assert_eq!(args.program(), "hello");
        assert_eq!(args.iter().collect::<Vec<_>>(), ["hello", "-v", "world"]);
        assert_eq!(args.get(2), Some("world"));
        assert_eq!(args.get(3), None);
        let only_name = Args::parse(1, b"init\0").unwrap();
        assert_eq!(only_name.into_iter().collect::<Vec<_>>(), ["init"]);
        // Empty arguments are arguments.
        let with_empty = Args::parse(3, b"p\0\0x\0").unwrap();
        assert_eq!(with_empty.iter().collect::<Vec<_>>(), ["p", "", "x"]);
    }

    #[test]
    fn an_empty_block_has_no_program_name() {
        let args = Args::parse(0, b"").unwrap();
        assert!(args.is_empty());
        assert_eq!(args.program(), "");
        assert_eq!(args.iter().count(), 0);
    }

    #[test]
    fn malformed_blocks_are_refused() {
        // Count disagreeing with the terminators.
        assert_eq!(Args::parse(2, b"hello\0"), Err(Errno::EINVAL));
        assert_eq!(Args::parse(0, b"hello\0"), Err(Errno::EINVAL));
        // Bytes after the last terminator.
        assert_eq!(Args::parse(1, b"hello\0x"), Err(Errno::EINVAL));
        assert_eq!(Args::parse(0, b"x"), Err(Errno::EINVAL));
        // Not UTF-8.
        assert_eq!(Args::parse(1, b"\xff\0"), Err(Errno::EINVAL));
    }

    #[test]
    fn the_environment_follows_the_arguments() {
        let block = b"cat\0-n\0STDIN=/dev/pipe/3\0STDOUT=/dev/console\0";
        let (args, env) = split_environment(2, block).unwrap();
        assert_eq!(args, b"cat\0-n\0");
        assert_eq!(env, b"STDIN=/dev/pipe/3\0STDOUT=/dev/console\0");
        let env: &'static str = std::string::String::from_utf8(env.to_vec()).unwrap().leak();
        let vars: Vec<_> = environment(env).collect();
        assert_eq!(vars, [("STDIN", "/dev/pipe/3"), ("STDOUT", "/dev/console")]);
        assert_eq!(split_environment(3, block).map(|(a, _)| a.len()), Some(25), "one variable taken as an argument");
        assert_eq!(split_environment(4, block).map(|(a, _)| a.len()), Some(block.len()));
        assert_eq!(split_environment(5, block), None);
        assert_eq!(split_environment(0, b""), Some((&b""[..], &b""[..])));
    }

    #[test]
    fn spawn_blocks_end_every_argument_with_nul() {
        assert_eq!(encode(&["a", "bc", ""]).unwrap(), b"a\0bc\0\0");
        assert_eq!(encode(&[]).unwrap(), b"");
        assert_eq!(encode(&["a\0b"]), Err(Errno::EINVAL));
        // What the kernel builds from a spawn block (name first) parses back.
        let mut block = vec![];
        block.extend_from_slice(b"worker\0");
        block.extend(encode(&["one", "two"]).unwrap());
        let block: &'static [u8] = block.leak();
        let args = Args::parse(3, block).unwrap();
        assert_eq!(args.iter().collect::<Vec<_>>(), ["worker", "one", "two"]);
    }
}
