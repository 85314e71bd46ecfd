//! Files: `open` resolves a path through proc's pathname space, connects to the server
//! that owns it and sends it a `CONNECT` message; the connection is the file descriptor
//! (as in QNX), and `read`, `write`, `lseek`, `fstat`, `devctl`, `ftruncate`, `close` are
//! I/O messages on it ([`crate::msg::io_type`]).

use crate::msg::{connect, io_type, path_flags, Header, Stat};
use crate::{proc, sys, Errno};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// A file descriptor: a connection to the server of an open file.
pub type Fd = u32;

/// An open file, closed when dropped.
#[derive(Debug)]
pub struct File {
    fd: Fd,
}

/// Opens `path` with open `flags` ([`crate::msg::open_flags`]) and `mode` (for `O_CREAT`).
/// A relative path is taken from the working directory, and `.`, `..` and `//` are
/// resolved by name ([`crate::msg::canonical_path`]), here and in the other calls of
/// this module. A path ending in `/` (or `/.`, `/..`) names a directory: a file there is
/// `ENOTDIR`, and creating or writing `EISDIR`, as POSIX's `open` says.
pub fn open(path: &str, flags: u32, mode: u32) -> Result<File, Errno> {
    open_with(path, flags, mode, 0).map(|(file, _)| file)
}

/// True when `path` can only name a directory (`a/`, `a/.`, `..`).
fn names_a_directory(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    path.ends_with('/') || last == "." || last == ".."
}

/// [`open`] with a server-specific value in the `CONNECT` header's `size` (an mqueue's
/// attributes); returns the file and the server's status.
pub fn open_with(path: &str, flags: u32, mode: u32, size: u64) -> Result<(File, u64), Errno> {
    let directory = names_a_directory(path) && path != "/";
    if directory && flags & crate::msg::open_flags::O_CREAT != 0 {
        return Err(Errno::EISDIR);
    }
    if directory && crate::msg::open_flags::writable(flags) {
        // What is there decides, as POSIX's open says: a directory is not opened to
        // write (`EISDIR`), a file is no directory (`ENOTDIR`).
        let look = open(path, crate::msg::open_flags::O_RDONLY, 0)?;
        return Err(match look.stat() {
            Ok(s) if s.kind != crate::msg::file_kind::DIRECTORY => Errno::ENOTDIR,
            _ => Errno::EISDIR,
        });
    }
    let header =
        Header { subtype: connect::OPEN, arg: flags, offset: mode as u64, size, ..Header::new(io_type::CONNECT) };
    let (file, status) = open_special(path, header)?;
    if directory && file.stat().is_ok_and(|s| s.kind != crate::msg::file_kind::DIRECTORY) {
        return Err(Errno::ENOTDIR); // (`file` closes as it goes)
    }
    Ok((file, status))
}

/// A pipe: (read end, write end), from the pipe server.
pub fn pipe() -> Result<(File, File), Errno> {
    pipe_with(0)
}

/// [`pipe`] with extra open flags for both ends (`O_NONBLOCK`).
pub fn pipe_with(flags: u32) -> Result<(File, File), Errno> {
    pipe_numbered(flags).map(|(reader, writer, _)| (reader, writer))
}

/// [`pipe_with`], also returning the pipe's number N: another process opens its ends as
/// `/dev/pipe/N` (how a pipe is handed to a program started later).
pub fn pipe_numbered(flags: u32) -> Result<(File, File, u64), Errno> {
    use crate::msg::open_flags::{O_CREAT, O_RDONLY, O_WRONLY};
    let (reader, number) = open_with(crate::msg::PIPE_DIR, O_RDONLY | O_CREAT | flags, 0, 0)?;
    let writer = open(&alloc::format!("{}/{number}", crate::msg::PIPE_DIR), O_WRONLY | flags, 0)?;
    Ok((reader, writer, number))
}

/// Creates a named FIFO at `path`, served by the pipe server; open it like a file
/// (`O_RDONLY` or `O_WRONLY`), remove it with [`unlink`]. `EEXIST` when something is at
/// `path` already (a FIFO attached over a file hid it), `ENOENT` or `ENOTDIR` when its
/// parent is no directory.
pub fn mkfifo(path: &str) -> Result<(), Errno> {
    let path = crate::msg::canonical_path(path)?;
    let path = crate::msg::check_path(path.as_bytes())?;
    match open(path, crate::msg::open_flags::O_RDONLY | crate::msg::open_flags::O_NONBLOCK, 0) {
        Err(Errno::ENOENT) => {}
        Ok(_) | Err(Errno::EISDIR) => return Err(Errno::EEXIST),
        Err(e) => return Err(e),
    }
    let parent = match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((parent, _)) => parent,
        None => "/",
    };
    match open(parent, crate::msg::open_flags::O_RDONLY | crate::msg::open_flags::O_NONBLOCK, 0) {
        Ok(file) if file.stat()?.kind != crate::msg::file_kind::DIRECTORY => return Err(Errno::ENOTDIR),
        Ok(_) | Err(Errno::EISDIR) => {} // (EISDIR: a directory of the pathname space only)
        Err(e) => return Err(e),
    }
    let server = open(crate::msg::PIPE_DIR, crate::msg::open_flags::O_RDONLY, 0)?;
    server.request(Header::new(crate::msg::pipe_type::MKFIFO), path.as_bytes(), &mut []).map(|_| ())
}

/// Removes `path` (what that means is the owning server's business; a shared-memory
/// object lives on while it is open or mapped).
pub fn unlink(path: &str) -> Result<(), Errno> {
    let path = crate::msg::canonical_path(path)?;
    let path = crate::msg::check_path(path.as_bytes())?;
    let (coid, rest, handle) = connect_to_owner(path)?;
    let header = Header { subtype: connect::UNLINK, extra: handle as u64, ..Header::new(io_type::CONNECT) };
    let result = proc::request_on(coid, &header, rest.as_bytes(), &mut []).map(|_| ());
    let _ = sys::connect_detach(coid);
    result
}

/// Sends the `CONNECT` `header` to the server of `path`; on success the connection is an
/// open file. Returns it and the server's status.
pub(crate) fn open_special(path: &str, header: Header) -> Result<(File, u64), Errno> {
    let path = crate::msg::canonical_path(path)?;
    let path = crate::msg::check_path(path.as_bytes())?;
    let (fd, rest, handle) = connect_to_owner(path).map_err(|e| match e {
        // No server has it, but it is a directory of the pathname space (`/`, `/dev`):
        // what is beneath it is listed by `read_dir`, not opened.
        Errno::ENOENT if pathname_directory(path) => Errno::EISDIR,
        e => e,
    })?;
    let header = Header { extra: handle as u64, ..header };
    match proc::request_on(fd, &header, rest.as_bytes(), &mut []) {
        Ok(status) => Ok((File { fd }, status)),
        Err(e) => {
            let _ = sys::connect_detach(fd);
            Err(e)
        }
    }
}

/// A new connection to the server that owns `path`, the rest of the path (what the
/// server is asked about) and the server's handle for the prefix.
fn connect_to_owner(path: &str) -> Result<(u32, &str, u32), Errno> {
    let owner = proc::resolve(path)?;
    let rest = path.get(owner.matched as usize..).ok_or(Errno::EIO)?.trim_start_matches('/');
    if !rest.is_empty() && owner.flags & path_flags::DIR as u32 == 0 {
        return Err(Errno::ENOENT);
    }
    Ok((sys::connect_attach(owner.pid, owner.chid)?, rest, owner.handle))
}

/// The names in directory `path`: what the server that owns it lists, and what is
/// attached beneath it in the pathname space (each name once, sorted). `ENOTDIR` when
/// `path` is a file; the open's error (`ENOENT`, …) when nothing is there — no server
/// answers for it and nothing is attached beneath it.
#[doc(alias = "readdir")]
pub fn read_dir(path: &str) -> Result<Vec<String>, Errno> {
    let path = &crate::msg::canonical_path(path)?;
    let mut names = proc::list(path)?;
    match open(path, crate::msg::open_flags::O_RDONLY, 0) {
        Ok(dir) => match dir.stat() {
            Ok(s) if s.kind == crate::msg::file_kind::DIRECTORY => {
                let mut bytes = Vec::new();
                let mut chunk = vec![0u8; 1024];
                loop {
                    let n = dir.read(&mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    bytes.extend_from_slice(&chunk[..n]);
                }
                names.extend(proc::split_names(&bytes));
            }
            _ if names.is_empty() => return Err(Errno::ENOTDIR),
            _ => {}
        },
        // Nothing beneath and no server: an empty directory of the pathname space only
        // (`/dev/name/local` before any name is attached) if its parent lists it.
        Err(e) if names.is_empty() && !listed_in_parent(path) => return Err(e),
        Err(_) => {} // a directory of the pathname space only (`/dev`)
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Whether `path` is a directory of the pathname space: something is attached beneath
/// it, or its parent lists it.
fn pathname_directory(path: &str) -> bool {
    proc::list(path).is_ok_and(|names| !names.is_empty()) || listed_in_parent(path)
}

/// Whether `path`'s parent directory lists its last component.
fn listed_in_parent(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let Some((parent, name)) = path.rsplit_once('/') else { return false };
    let parent = if parent.is_empty() { "/" } else { parent };
    !name.is_empty() && proc::list(parent).is_ok_and(|names| names.iter().any(|n| n == name))
}

impl File {
    /// Adopts descriptor `fd` (it will be closed when the `File` drops).
    pub fn from_raw(fd: Fd) -> File {
        File { fd }
    }

    /// The descriptor.
    pub fn fd(&self) -> Fd {
        self.fd
    }

    /// Gives up ownership of the descriptor without closing it.
    pub fn into_raw(self) -> Fd {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }

    fn call(&self, header: Header, payload: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
        proc::request_on(self.fd, &header, payload, reply)
    }

    /// Reads up to `buffer.len()` bytes; returns how many (0: end of file). `EIO` if the
    /// server claims more than that (its status is not trusted as an index).
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize, Errno> {
        let header = Header { size: buffer.len() as u64, ..Header::new(io_type::READ) };
        let n = self.call(header, &[], buffer)?;
        usize::try_from(n).ok().filter(|n| *n <= buffer.len()).ok_or(Errno::EIO)
    }

    /// Writes `data`; returns how many bytes the server took. `EIO` if it claims more
    /// than `data` holds (as [`File::read`]).
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let header = Header { size: data.len() as u64, ..Header::new(io_type::WRITE) };
        let n = self.call(header, data, &mut [])?;
        usize::try_from(n).ok().filter(|n| *n <= data.len()).ok_or(Errno::EIO)
    }

    /// Writes all of `data`.
    pub fn write_all(&self, mut data: &[u8]) -> Result<(), Errno> {
        while !data.is_empty() {
            match self.write(data)? {
                0 => return Err(Errno::EIO),
                n => data = &data[n..],
            }
        }
        Ok(())
    }

    /// Moves the offset to `offset` from `whence` ([`crate::msg::whence`]); returns it.
    #[doc(alias = "lseek")]
    pub fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let header = Header { arg: whence, offset: offset as u64, ..Header::new(io_type::LSEEK) };
        self.call(header, &[], &mut [])
    }

    /// Describes the file.
    #[doc(alias = "fstat")]
    pub fn stat(&self) -> Result<Stat, Errno> {
        let mut answer = [0u8; Stat::SIZE];
        self.call(Header::new(io_type::STAT), &[], &mut answer)?;
        Stat::from_bytes(&answer).ok_or(Errno::EIO)
    }

    /// Device control `command` with `input`; the answer's data fills `output`. Returns
    /// the server's status.
    pub fn devctl(&self, command: u32, input: &[u8], output: &mut [u8]) -> Result<u64, Errno> {
        let header = Header { arg: command, size: input.len() as u64, ..Header::new(io_type::DEVCTL) };
        self.call(header, input, output)
    }

    /// Sets the file's size (new bytes read as zero).
    #[doc(alias = "ftruncate")]
    pub fn truncate(&self, size: u64) -> Result<(), Errno> {
        self.call(Header { size, ..Header::new(io_type::TRUNCATE) }, &[], &mut []).map(|_| ())
    }

    pub(crate) fn request(&self, header: Header, payload: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
        self.call(header, payload, reply)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        close(self.fd);
    }
}

/// Closes descriptor `fd`: tells its server, then drops the connection.
pub fn close(fd: Fd) {
    let _ = proc::request_on(fd, &Header::new(io_type::CLOSE), &[], &mut []);
    let _ = sys::connect_detach(fd);
}
