//! Error numbers, with QNX Neutrino's (POSIX) values.

use core::fmt;

/// An error a system call (or a server) reports.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(pub u32);

macro_rules! errnos {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($value);)*

            /// The constant's name (`"EFAULT"`), or `None` for an unknown number.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// A short description.
            pub const fn description(self) -> &'static str {
                match self.0 {
                    $($value => $text,)*
                    _ => "unknown error",
                }
            }
        }
    };
}

errnos! {
    EOK = 0, "no error";
    EPERM = 1, "operation not permitted";
    ENOENT = 2, "no such file or directory";
    ESRCH = 3, "no such process or thread";
    EINTR = 4, "interrupted";
    EIO = 5, "input/output error";
    ENXIO = 6, "no such device or address";
    E2BIG = 7, "argument list too long";
    ENOEXEC = 8, "executable format error";
    EBADF = 9, "bad file descriptor or handle";
    ECHILD = 10, "no child process";
    EAGAIN = 11, "resource temporarily unavailable";
    ENOMEM = 12, "not enough memory";
    EACCES = 13, "permission denied";
    EFAULT = 14, "bad address";
    EBUSY = 16, "resource busy";
    EEXIST = 17, "already exists";
    EXDEV = 18, "cross-device link";
    ENODEV = 19, "no such device";
    ENOTDIR = 20, "not a directory";
    EISDIR = 21, "is a directory";
    EINVAL = 22, "invalid argument";
    ENFILE = 23, "too many open files in system";
    EMFILE = 24, "too many open files";
    ENOTTY = 25, "inappropriate I/O control";
    EFBIG = 27, "file too large";
    ENOSPC = 28, "no space left";
    ESPIPE = 29, "illegal seek";
    EROFS = 30, "read-only";
    EPIPE = 32, "broken pipe";
    EDOM = 33, "argument out of domain";
    ERANGE = 34, "result out of range";
    ENOMSG = 35, "no message of the desired type";
    EDEADLK = 45, "deadlock avoided";
    ENOLCK = 46, "no locks available";
    ECANCELED = 47, "operation canceled";
    ENOTSUP = 48, "not supported";
    EBADMSG = 77, "bad message";
    ENAMETOOLONG = 78, "name too long";
    EOVERFLOW = 79, "value too large";
    ENOSYS = 89, "function not implemented";
    ENOTEMPTY = 93, "directory not empty";
    EMSGSIZE = 122, "message too long";
    ETIMEDOUT = 260, "timed out";
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qnx_numbers_and_names() {
        assert_eq!(Errno::EFAULT.0, 14);
        assert_eq!(Errno::ENOSYS.0, 89);
        assert_eq!(Errno::ETIMEDOUT.0, 260);
        assert_eq!(Errno::ESRCH.name(), Some("ESRCH"));
        assert_eq!(Errno(9999).name(), None);
        extern crate std;
        assert_eq!(std::format!("{}", Errno::EINVAL), "EINVAL (invalid argument)");
        assert_eq!(std::format!("{:?}", Errno(9999)), "Errno(9999)");
    }
}
