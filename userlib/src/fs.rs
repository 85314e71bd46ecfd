//! Files: `open` resolves a path through proc's pathname space, connects to the server
//! that owns it and sends it a `CONNECT` message; the connection is the file descriptor
//! (as in QNX), and `read`, `write`, `lseek`, `fstat`, `devctl`, `ftruncate`, `close` are
//! I/O messages on it ([`crate::msg::io_type`]). `unlink`, `mkdir`, `rmdir` and `rename`
//! are `CONNECT`s too, on a connection of their own that opens nothing.

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
    let creates = flags & crate::msg::open_flags::O_CREAT != 0;
    if directory && (creates || crate::msg::open_flags::writable(flags)) {
        // What is there decides, as POSIX's open says: a directory is not opened to
        // write or made by open (`EISDIR`, as for nothing there), a file is no directory
        // (`ENOTDIR`: `touch file/` said EISDIR).
        // (Non-blocking: a FIFO's read end opened to look must not release its writers.)
        let look = match open(path, crate::msg::open_flags::O_RDONLY | crate::msg::open_flags::O_NONBLOCK, 0) {
            Err(Errno::ENOENT) if creates => return Err(Errno::EISDIR),
            look => look?,
        };
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
/// (`O_RDONLY` or `O_WRONLY`), remove it with [`unlink`]. The server of `path`'s directory
/// says whether one may be made there, and has the pipe server make it
/// ([`connect::MKFIFO`], [`fifo_in_my_directory`]): `EEXIST` when something is at
/// `path` already, `ENOENT` or `ENOTDIR` when its parent is no directory, `ENOSYS` where
/// the directory's server keeps no FIFOs (`/dev/mqueue`, `/proc/boot`; `ENOENT` in a directory
/// of the pathname space that no server has, as `/` and `/dev`), `EPERM` beneath
/// [`crate::msg::PIPE_DIR`] (the anonymous pipes' names).
pub fn mkfifo(path: &str) -> Result<(), Errno> {
    if names_a_directory(path) {
        // (`mkfifo ff/` made a FIFO `ff`: a path ending in `/` names a directory.)
        return match open(path, crate::msg::open_flags::O_RDONLY | crate::msg::open_flags::O_NONBLOCK, 0) {
            Err(Errno::ENOENT) => Err(Errno::ENOENT),
            _ => Err(Errno::EEXIST),
        };
    }
    let path = checked_path(path)?;
    connect_for_new(&path, Header { subtype: connect::MKFIFO, ..Header::new(io_type::CONNECT) })
}

/// For a server answering [`connect::MKFIFO`] ([`crate::resmgr::ResourceManager::make_fifo`]):
/// asks the pipe server to make a FIFO at `path` (absolute) in a directory of the
/// caller's prefix, its name checked free. The pipe server makes FIFOs for the server of
/// the directory they go in only (`EPERM`).
pub fn fifo_in_my_directory(path: &str) -> Result<(), Errno> {
    let server = open(crate::msg::PIPE_DIR, crate::msg::open_flags::O_RDONLY, 0)?;
    server.request(Header::new(crate::msg::pipe_type::MKFIFO), path.as_bytes(), &mut []).map(|_| ())
}

/// Removes `path` (what that means is the owning server's business; a shared-memory
/// object lives on while it is open or mapped). Not a directory: that is [`rmdir`], and
/// ramfs refuses an unlink of one with `EPERM`, as POSIX allows, and so does this for a
/// server's directory or one of the pathname space (`/tmp`, `/dev/mqueue`, `/dev`).
/// `path` ending in `/` must name a directory (`ENOTDIR`).
pub fn unlink(path: &str) -> Result<(), Errno> {
    let canonical = checked_path(path)?;
    if names_a_directory(path) {
        require_directory(&canonical)?;
    }
    let (owner, rest) = match owner_of(&canonical) {
        Err(Errno::ENOENT) if pathname_directory(&canonical) => return Err(Errno::EPERM),
        owner => owner?,
    };
    if rest.is_empty() && owner.flags & path_flags::DIR as u32 != 0 {
        return Err(Errno::EPERM); // (a server's directory: `/dev/mqueue`, `/tmp`)
    }
    connect_once(&owner, Header { subtype: connect::UNLINK, ..Header::new(io_type::CONNECT) }, rest.as_bytes())
}

/// Makes directory `path` (mode 0755; [`connect::MKDIR`] to the server that owns it).
/// `EEXIST` when something is there — a file, a directory, a server's prefix (`/tmp`,
/// `/dev`) — `ENOENT` or `ENOTDIR` when its parent is missing or no directory, `ENOSYS`
/// from a server that has no directories.
pub fn mkdir(path: &str) -> Result<(), Errno> {
    let path = checked_path(path)?;
    connect_for_new(&path, Header { subtype: connect::MKDIR, offset: 0o755, ..Header::new(io_type::CONNECT) })
}

/// Sends the `CONNECT` `header` that makes something new at `path` (canonical) to the
/// server that owns it: `EEXIST` if `path` is a server's prefix, a named FIFO or a
/// directory of the pathname space.
fn connect_for_new(path: &str, header: Header) -> Result<(), Errno> {
    let (owner, rest) = match owner_of(path) {
        Err(Errno::ENOENT) if pathname_directory(path) => return Err(Errno::EEXIST),
        owner => owner?,
    };
    if rest.is_empty() {
        return Err(Errno::EEXIST); // (a prefix: a server's root, a named FIFO)
    }
    connect_once(&owner, header, rest.as_bytes())
}

/// Removes the empty directory `path` ([`connect::RMDIR`]). `ENOTEMPTY` while it holds
/// something, `ENOTDIR` for a file, `EBUSY` for a server's prefix or a directory of the
/// pathname space (`/tmp`, `/dev`: in use by the system), `EINVAL` when the last
/// component is `.` and `ENOTEMPTY` when it is `..` (as POSIX says: `d/..` is no empty
/// directory to remove), `ENOSYS` from a server that has no directories.
pub fn rmdir(path: &str) -> Result<(), Errno> {
    match last_component(path) {
        "." => return Err(Errno::EINVAL),
        ".." => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let path = checked_path(path)?;
    let (owner, rest) = match owner_of(&path) {
        Err(Errno::ENOENT) if pathname_directory(&path) => return Err(Errno::EBUSY),
        owner => owner?,
    };
    // What others attached beneath it (a FIFO in a directory of /tmp is the pipe
    // server's, which the directory's server knows nothing of) keeps it from going too:
    // its listing holds them. (A directory holding a FIFO was removed, the FIFO left.)
    // (Not for a server's prefix itself, which is never removed: its server says EBUSY.)
    if !rest.is_empty() && read_dir(&path).is_ok_and(|names| !names.is_empty()) {
        return Err(Errno::ENOTEMPTY);
    }
    connect_once(&owner, Header { subtype: connect::RMDIR, ..Header::new(io_type::CONNECT) }, rest.as_bytes())
}

/// Moves `from` to `to` (POSIX's `rename`): what `to` names is replaced in one step, a
/// file by a file, an empty directory by a directory. Both must be the same server's,
/// under the same prefix: proc resolves each, and when they differ in server, channel or
/// prefix the answer is `EXDEV` without asking anyone (nothing is copied). Either path's
/// last component `.` or `..` is `EINVAL`, as is moving a directory beneath itself, and
/// a directory that holds what another server attached (a FIFO) is `EXDEV`; a
/// path ending in `/` must name a directory, so `from` must be one (`ENOTDIR`). The
/// server decides the rest ([`connect::RENAME`]; ramfs's rules are in its `lib.rs`).
pub fn rename(from: &str, to: &str) -> Result<(), Errno> {
    if [from, to].iter().any(|path| matches!(last_component(path), "." | "..")) {
        return Err(Errno::EINVAL);
    }
    let from_path = checked_path(from)?;
    let to_path = checked_path(to)?;
    let (source, from_rest) = owner_of(&from_path).map_err(|e| match e {
        Errno::ENOENT if pathname_directory(&from_path) => Errno::EBUSY,
        e => e,
    })?;
    let (target, to_rest) = owner_of(&to_path).map_err(|e| match e {
        // Somewhere no server owns, in a directory of the pathname space: not `from`'s.
        Errno::ENOENT if pathname_directory(&to_path) || pathname_directory(parent_of(&to_path)) => Errno::EXDEV,
        e => e,
    })?;
    if (source.pid, source.chid, source.handle) != (target.pid, target.chid, target.handle) {
        return Err(Errno::EXDEV);
    }
    // What others attached beneath a directory (a FIFO in a directory of /tmp is the pipe
    // server's, which the directory's server knows nothing of) would not move with it, so
    // the move is refused as the FIFO's own is. (`mv d e` moved the directory and left
    // its FIFO at `d/f`, `d` back as a directory that `rmdir` called not empty.)
    if !from_rest.is_empty() && proc::list(&from_path).is_ok_and(|names| !names.is_empty()) {
        return Err(Errno::EXDEV);
    }
    if names_a_directory(from) || names_a_directory(to) {
        require_directory(&from_path)?;
    }
    let header = Header { subtype: connect::RENAME, ..Header::new(io_type::CONNECT) };
    connect_once(&source, header, &crate::msg::rename_payload(from_rest, to_rest))
}

/// `path` resolved from the working directory and checked ([`crate::msg::canonical_path`],
/// [`crate::msg::check_path`]), without a trailing `/`.
fn checked_path(path: &str) -> Result<String, Errno> {
    let canonical = crate::msg::canonical_path(path)?;
    crate::msg::check_path(canonical.as_bytes()).map(String::from)
}

/// The last component of `path` as written (`""` after a trailing `/`).
fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// The directory holding `path` (canonical).
fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

/// `ENOTDIR` unless `path` (canonical) is a directory (a server's, or one of the
/// pathname space); the open's error when nothing is there.
fn require_directory(path: &str) -> Result<(), Errno> {
    match open(path, crate::msg::open_flags::O_RDONLY | crate::msg::open_flags::O_NONBLOCK, 0) {
        Ok(file) if file.stat()?.kind == crate::msg::file_kind::DIRECTORY => Ok(()),
        Ok(_) => Err(Errno::ENOTDIR),
        Err(Errno::EISDIR) => Ok(()), // (a directory of the pathname space only)
        Err(e) => Err(e),
    }
}

/// Sends the `CONNECT` `header` (one that opens nothing: an unlink, a mkdir, …) with
/// `payload` to `owner`, for its prefix, on a connection made for it and dropped after.
fn connect_once(owner: &crate::msg::Resolved, header: Header, payload: &[u8]) -> Result<(), Errno> {
    let coid = sys::connect_attach(owner.pid, owner.chid)?;
    let header = Header { extra: owner.handle as u64, ..header };
    let result = proc::request_on(coid, &header, payload, &mut []).map(|_| ());
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
    let (owner, rest) = owner_of(path)?;
    Ok((sys::connect_attach(owner.pid, owner.chid)?, rest, owner.handle))
}

/// The server that owns `path` (proc's `PATH_RESOLVE`) and the rest of the path, what
/// the server is asked about (`ENOENT` beneath a prefix that is not a directory).
fn owner_of(path: &str) -> Result<(crate::msg::Resolved, &str), Errno> {
    let owner = proc::resolve(path)?;
    let rest = path.get(owner.matched as usize..).ok_or(Errno::EIO)?.trim_start_matches('/');
    if !rest.is_empty() && owner.flags & path_flags::DIR as u32 == 0 {
        return Err(Errno::ENOENT);
    }
    Ok((owner, rest))
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
