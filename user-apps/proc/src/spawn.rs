//! A `SPAWN` request taken apart and checked before anything is made: the program's
//! name, its argument block and environment (each string ended by NUL, all UTF-8, as
//! the child's runtime reads them), and the priority and policy it asks for.

use userlib::abi::sched::Policy;
use userlib::Errno;

/// What a `SPAWN` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawn<'a> {
    /// The boot program to start.
    pub name: &'a str,
    /// Its arguments after `argv[0]`, each ended by NUL.
    pub args: &'a [u8],
    /// Its environment (`KEY=VALUE`), each ended by NUL.
    pub environment: &'a [u8],
    /// Its priority; `None`: the image's.
    pub priority: Option<u8>,
    /// Its policy; `None`: the image's.
    pub policy: Option<Policy>,
}

impl<'a> Spawn<'a> {
    /// The request whose header says `args_len` (`size`), `priority` (`arg`) and `policy`
    /// (`subtype`), with `payload` (`sent` bytes sent: more is `E2BIG`, as it would be cut
    /// short). `EINVAL` for a bad name, argument block or environment, a priority over
    /// 255 or an unknown policy; `ENAMETOOLONG` for a name no boot program has.
    pub fn parse(payload: &'a [u8], sent: usize, args_len: u64, priority: u32, policy: u16) -> Result<Self, Errno> {
        if sent > payload.len() {
            return Err(Errno::E2BIG); // (cut short, its environment would be missing a part)
        }
        let name_end = payload.iter().position(|b| *b == 0).ok_or(Errno::EINVAL)?;
        let name = core::str::from_utf8(&payload[..name_end]).map_err(|_| Errno::EINVAL)?;
        if name.is_empty() {
            return Err(Errno::EINVAL);
        }
        if name.len() > userlib::abi::bootimage::NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let rest = &payload[name_end + 1..];
        let args_len = usize::try_from(args_len).map_err(|_| Errno::EINVAL)?;
        if args_len > rest.len() {
            return Err(Errno::EINVAL);
        }
        let (args, environment) = rest.split_at(args_len);
        for block in [args, environment] {
            if !block.is_empty() && block.last() != Some(&0) {
                return Err(Errno::EINVAL);
            }
            // (The child's runtime takes its arguments as UTF-8: it panicked at start.)
            core::str::from_utf8(block).map_err(|_| Errno::EINVAL)?;
        }
        let priority = match priority {
            0 => None,
            p @ 1..=255 => Some(p as u8),
            _ => return Err(Errno::EINVAL),
        };
        let policy = match policy {
            0 => None,
            p => {
                // (The number + 1, checked whole: `as u8` would let 257 pass as FIFO.)
                let number = u8::try_from(p - 1).map_err(|_| Errno::EINVAL)?;
                Some(Policy::from_number(number).ok_or(Errno::EINVAL)?)
            }
        };
        Ok(Spawn { name, args, environment, priority, policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(payload: &[u8], args_len: u64) -> Result<Spawn<'_>, Errno> {
        Spawn::parse(payload, payload.len(), args_len, 0, 0)
    }

    #[test]
    fn a_request_is_taken_apart() {
        let s = Spawn::parse(b"echo\0a\0b\0PWD=/\0", 15, 4, 12, 2).unwrap();
        assert_eq!((s.name, s.args, s.environment), ("echo", &b"a\0b\0"[..], &b"PWD=/\0"[..]));
        assert_eq!((s.priority, s.policy), (Some(12), Some(Policy::Fifo)));
        let bare = parse(b"true\0", 0).unwrap();
        assert_eq!((bare.args, bare.environment, bare.priority, bare.policy), (&[][..], &[][..], None, None));
    }

    #[test]
    fn bad_requests_are_refused_before_anything_is_made() {
        assert_eq!(Spawn::parse(b"echo\0", 9, 0, 0, 0), Err(Errno::E2BIG), "cut short");
        assert_eq!(parse(b"echo", 0), Err(Errno::EINVAL), "no NUL after the name");
        assert_eq!(parse(b"\0", 0), Err(Errno::EINVAL), "no name");
        assert_eq!(parse(b"a-name-longer-than-24-bytes\0", 0), Err(Errno::ENAMETOOLONG));
        assert_eq!(parse(b"echo\0a\0", 3), Err(Errno::EINVAL), "past the payload");
        assert_eq!(parse(b"echo\0ab", 2), Err(Errno::EINVAL), "unterminated");
        assert_eq!(parse(b"echo\0a\0X=1", 2), Err(Errno::EINVAL), "unterminated environment");
        assert_eq!(Spawn::parse(b"echo\0", 5, 0, 256, 0), Err(Errno::EINVAL), "priority");
        assert_eq!(Spawn::parse(b"echo\0", 5, 0, 0, 257), Err(Errno::EINVAL), "257 is not FIFO");
        assert_eq!(Spawn::parse(b"echo\0", 5, 0, 0, 4), Err(Errno::EINVAL), "no policy 3");
    }

    #[test]
    fn arguments_and_environment_must_be_utf8() {
        // The child's runtime read them as UTF-8 and panicked ("malformed argument
        // block"), after proc had answered with its pid as if all was well.
        assert_eq!(parse(b"echo\0\xff\0", 2), Err(Errno::EINVAL), "an argument");
        assert_eq!(parse(b"echo\0a\0X=\xc3\0", 2), Err(Errno::EINVAL), "the environment");
        assert_eq!(parse(b"echo\0\xc3\xa9\0", 3).map(|s| s.args), Ok(&"é\0".as_bytes()[..]));
    }
}
