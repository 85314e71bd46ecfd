//! The message protocols every program shares: the process manager's (`proc`, types
//! below [`IO_BASE`]) and the I/O protocol resource managers answer (types
//! [`IO_BASE`]..[`FIRST_USER_TYPE`], QNX's `_IO_*`). Types from [`FIRST_USER_TYPE`] on are
//! free for servers' own protocols.
//!
//! Every request starts with a 32-byte [`Header`]; what follows it (a name, a path,
//! data to write) is its payload. A server answers with `MsgReply(status, data)` or
//! `MsgError(errno)`. The protocols live here, in userlib, because userlib is the client
//! side of both for every program; `user-apps/proc` is the server side of the first,
//! [`crate::resmgr`] the server side of the second. `docs/protocols.md` describes them.

/// First type of the I/O protocol.
pub const IO_BASE: u16 = 0x100;
/// First type servers may use for their own protocols.
pub const FIRST_USER_TYPE: u16 = 0x200;
/// Longest name `name_attach` takes (bytes).
pub const MAX_NAME: usize = 64;
/// Longest path (bytes).
pub const MAX_PATH: usize = 255;

/// The channel id of proc's channel: every process reaches proc at (pid 1, chid 1).
pub const PROC_CHID: u32 = 1;
/// proc's pid.
pub const PROC_PID: u32 = 1;

/// The process manager's message types.
pub mod proc_type {
    /// Start a boot-image program: `arg` priority (0: the image's), `subtype` policy
    /// (0: the image's, else `Policy as u16 + 1`), `size` the argument block's length;
    /// payload `name\0`, the argument block (each argument ended by NUL), then the
    /// environment (`KEY=VALUE`, each ended by NUL); `offset` the process group (0: the
    /// caller's, `abi::syscall::NEW_PROCESS_GROUP`: its own, else one of the caller's
    /// or its children's to join). Answer: the child's pid; the caller is its parent.
    pub const SPAWN: u16 = 0x01;
    /// End process `arg` with wait status `offset`; with `subtype`
    /// `abi::syscall::kill_flags::GROUP`, every process of process group `arg`.
    pub const KILL: u16 = 0x02;
    /// Stop the machine with exit code `arg`.
    pub const SHUTDOWN: u16 = 0x03;
    /// Register name (payload) for the caller's channel `arg`; `subtype` name flags.
    pub const NAME_ATTACH: u16 = 0x10;
    /// Withdraw the caller's name (payload); `subtype` name flags.
    pub const NAME_DETACH: u16 = 0x11;
    /// Look up a name (payload); `subtype` name flags. Answer data: pid, chid (u32 each).
    pub const NAME_OPEN: u16 = 0x12;
    /// Attach the caller's channel `arg` at path prefix (payload); `subtype` path flags;
    /// `offset` the server's handle for this prefix (what `CONNECT` then carries).
    pub const PATH_ATTACH: u16 = 0x20;
    /// Detach the caller's path prefix (payload).
    pub const PATH_DETACH: u16 = 0x21;
    /// Which server owns a path (payload)? Answer data: a [`super::Resolved`].
    pub const PATH_RESOLVE: u16 = 0x22;
    /// What is attached directly beneath a directory (payload)? Answer data: entry names,
    /// each ended by NUL; status: the bytes all of them need.
    pub const PATH_LIST: u16 = 0x23;
    /// Every thread's `abi::info::ThreadInfo` record; status: how many there are.
    pub const PIDIN: u16 = 0x30;
}

/// `name_attach` / `name_open` flags.
pub mod name_flags {
    /// The name is global (`/dev/name/global`), not local (`/dev/name/local`).
    pub const GLOBAL: u16 = 0x2;
}

/// `PATH_ATTACH` flags.
pub mod path_flags {
    /// The server owns everything beneath the prefix (a directory), not just the prefix.
    pub const DIR: u16 = 0x1;
}

/// The I/O protocol's message types (QNX's `_IO_*`).
pub mod io_type {
    /// Open (`subtype` [`super::connect::OPEN`]) or unlink ([`super::connect::UNLINK`]) the
    /// path in the payload, relative to the server's prefix; `arg` open flags, `offset`
    /// mode; `extra` the server's handle of the prefix the path resolved to. A successful
    /// open makes this connection an open file for the server.
    pub const CONNECT: u16 = 0x100;
    /// Read up to `size` bytes. Answer: the bytes; status: how many.
    pub const READ: u16 = 0x101;
    /// Write the `size` bytes of the payload. Status: how many were written.
    pub const WRITE: u16 = 0x102;
    /// Close the file (the connection is detached afterwards).
    pub const CLOSE: u16 = 0x103;
    /// Move the file offset: `offset` (signed) from `arg` (a [`super::whence`]).
    /// Status: the new offset.
    pub const LSEEK: u16 = 0x104;
    /// Describe the file. Answer data: a [`super::Stat`].
    pub const STAT: u16 = 0x105;
    /// Device control `arg` with the payload (`size` bytes) as input. Answer: output data.
    pub const DEVCTL: u16 = 0x106;
    /// Set the file's size to `size` (`ftruncate`).
    pub const TRUNCATE: u16 = 0x107;
    /// Map `size` bytes from `offset` into the caller with protection `arg`, `subtype`
    /// [`super::map_flags`]. Status: the address.
    pub const MMAP: u16 = 0x108;
    /// Create a handle that lets process `arg` open this object once, with at most the
    /// access of open flags `offset`. Answer data: the handle (u64).
    pub const SHM_HANDLE: u16 = 0x109;
}

/// The pipe server's own message types (on any connection to it).
pub mod pipe_type {
    /// Create a named FIFO at the absolute path in the payload: only from the server of
    /// the directory it goes in (after a [`super::connect::MKFIFO`]), `EPERM` from
    /// anyone else.
    pub const MKFIFO: u16 = super::FIRST_USER_TYPE;
}

/// Pipe writes up to this many bytes are atomic (`<limits.h>`'s `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;

/// Where the pipe server lives: opening it with `O_CREAT` makes an anonymous pipe (the
/// status is its number `N`, its other end is `PIPE_DIR/N`).
pub const PIPE_DIR: &str = "/dev/pipe";

/// The console driver's `DEVCTL` commands (on `/dev/console` or `/dev/ser1`).
pub mod console_devctl {
    /// Payload: the mode (u32): [`super::console_mode::CANONICAL`] or [`super::console_mode::RAW`].
    pub const SET_MODE: u32 = 1;
    /// Payload: the pids (u32 each, at least one) Ctrl-C interrupts — a shell names every
    /// program of its foreground pipeline; a single 0: none. Only their parent may name
    /// them, and only the shell in control of the console or its foreground may name
    /// them (`EPERM` otherwise): the caller is then in control (docs/protocols.md).
    pub const SET_FOREGROUND: u32 = 2;
}

/// Console modes.
pub mod console_mode {
    /// Line editing, echo, Ctrl-C and Ctrl-D (the default).
    pub const CANONICAL: u32 = 0;
    /// Every byte as it comes, unechoed.
    pub const RAW: u32 = 1;
}

/// The wait status a program interrupted by Ctrl-C ends with (a shell's 128 + SIGINT).
pub const INTERRUPTED_STATUS: u32 = 130;

/// The wait status a program that wrote to a pipe without readers ends with, if it would
/// otherwise have succeeded (a shell's 128 + SIGPIPE).
pub const BROKEN_PIPE_STATUS: u32 = 141;

/// Where the message-queue server lives: queue `/name` is `MQUEUE_DIR/name`.
pub const MQUEUE_DIR: &str = "/dev/mqueue";

/// The `size` of an mqueue `CONNECT` `OPEN` asking for attributes `attr` (`maxmsg`,
/// `msgsize`; `None`: the defaults): `maxmsg << 32 | msgsize`, 0 for the defaults. The
/// server judges them (`EINVAL` for 0 or beyond its limits) only when it makes the
/// queue: opening one that exists ignores them, as POSIX's `mq_open` does. Attributes
/// a `size` cannot carry (both 0, which would read as the defaults, or beyond 32 bits)
/// become ones no queue takes.
pub fn mq_size_of_attr(attr: Option<(usize, usize)>) -> u64 {
    match attr {
        None => 0,
        Some((0, 0)) => u64::MAX,
        Some((maxmsg, msgsize)) => {
            let clamp = |n: usize| n.min(u32::MAX as usize) as u64;
            clamp(maxmsg) << 32 | clamp(msgsize)
        }
    }
}

/// The attributes (`maxmsg`, `msgsize`) an mqueue `CONNECT` `OPEN`'s `size` asks for
/// ([`mq_size_of_attr`]); `None`: the defaults.
pub fn mq_attr_of_size(size: u64) -> Option<(usize, usize)> {
    match size {
        0 => None,
        size => Some(((size >> 32) as usize, (size & 0xffff_ffff) as usize)),
    }
}

/// The `arg` of an mqueue `READ` from `mq_receive`: answer with the priority too (in the
/// status, above the length). A plain `read` (`cat` of a queue) gets the length alone, as
/// the I/O protocol's `READ` status is.
pub const MQ_READ_WITH_PRIORITY: u32 = 1;

/// The `subtype` of an mqueue `READ` or `WRITE` from `mq_timedreceive` or `mq_timedsend`
/// whose deadline has passed already: the server answers `ETIMEDOUT` where it would hold
/// the request (`EAGAIN` still with `O_NONBLOCK`), and does what it can do at once, as
/// POSIX says.
pub const MQ_DEADLINE_PASSED: u16 = 1;

/// The message-queue server's `DEVCTL` commands.
pub mod mq_devctl {
    /// Answer data: a [`super::MqAttr`].
    pub const GETATTR: u32 = 1;
    /// Payload: the new flags (u64; only `O_NONBLOCK` counts). Answer: the old [`super::MqAttr`].
    pub const SETATTR: u32 = 2;
    /// Payload: a registered `SigEvent` to deliver when a message arrives in the empty
    /// queue (once), or nothing to remove the caller's registration.
    pub const NOTIFY: u32 = 3;
}

/// A queue's attributes (`struct mq_attr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MqAttr {
    /// `O_NONBLOCK` or 0 (of the open queue).
    pub flags: u64,
    /// Most messages.
    pub maxmsg: u64,
    /// Largest message.
    pub msgsize: u64,
    /// Messages in the queue now.
    pub curmsgs: u64,
}

impl MqAttr {
    /// Bytes in the layout.
    pub const SIZE: usize = 32;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        for (i, v) in [self.flags, self.maxmsg, self.msgsize, self.curmsgs].iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<MqAttr> {
        let b = b.get(..Self::SIZE)?;
        let at = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        Some(MqAttr { flags: at(0), maxmsg: at(1), msgsize: at(2), curmsgs: at(3) })
    }
}

/// `CONNECT` subtypes.
pub mod connect {
    /// Open the path.
    pub const OPEN: u16 = 0;
    /// Remove the path (not a directory: that is [`RMDIR`]).
    pub const UNLINK: u16 = 1;
    /// Open with a handle (in `size`) instead of a path.
    pub const OPEN_HANDLE: u16 = 2;
    /// Make a directory at the path; `offset` its mode (QNX's `_IO_CONNECT_MKNOD` with
    /// `S_IFDIR`).
    pub const MKDIR: u16 = 3;
    /// Remove the empty directory at the path. A subtype of its own, not an `UNLINK`
    /// flag: a server that knows nothing of directories refuses it (`ENOSYS`) instead of
    /// taking it for an unlink.
    pub const RMDIR: u16 = 4;
    /// Move the path to another of the same server's (QNX's `_IO_CONNECT_RENAME`): the
    /// payload is [`super::rename_payload`], both paths relative to the prefix whose
    /// handle `extra` carries.
    pub const RENAME: u16 = 5;
    /// Make a FIFO at the path (QNX's `_IO_CONNECT_MKNOD` with `S_IFIFO`). Asked of the
    /// server that owns the path's directory: one whose directories may hold FIFOs
    /// checks that the name is free and its directory there (`EEXIST`, `ENOENT`,
    /// `ENOTDIR` otherwise), then asks the pipe server to make it ([`pipe_type::MKFIFO`],
    /// which the pipe server takes from that directory's server alone); others refuse
    /// (`ENOSYS`).
    pub const MKFIFO: u16 = 6;
}

/// In the `size` of a `CONNECT` [`connect::OPEN`] of `/dev/shmem` itself (with `O_CREAT`
/// and write access): make an anonymous shared-memory object (QNX's `SHM_ANON`). Without
/// it the directory is opened, and creating or writing it is `EISDIR`, as for any
/// directory (`echo x > /dev/shmem` made an object nobody could name, and succeeded).
pub const SHM_ANON: u64 = 1;

/// Open flags (QNX's values).
pub mod open_flags {
    /// Read only.
    pub const O_RDONLY: u32 = 0;
    /// Write only.
    pub const O_WRONLY: u32 = 1;
    /// Read and write.
    pub const O_RDWR: u32 = 2;
    /// The access-mode bits.
    pub const O_ACCMODE: u32 = 3;
    /// Writes go to the end.
    pub const O_APPEND: u32 = 0x08;
    /// Calls that would block fail with `EAGAIN`.
    pub const O_NONBLOCK: u32 = 0x80;
    /// Create the file if it does not exist.
    pub const O_CREAT: u32 = 0x100;
    /// Truncate it to 0 bytes.
    pub const O_TRUNC: u32 = 0x200;
    /// With `O_CREAT`: fail with `EEXIST` if it exists.
    pub const O_EXCL: u32 = 0x400;

    /// Whether `flags` allow reading.
    pub const fn readable(flags: u32) -> bool {
        flags & O_ACCMODE != O_WRONLY
    }
    /// Whether `flags` allow writing.
    pub const fn writable(flags: u32) -> bool {
        matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }
}

/// `LSEEK` origins.
pub mod whence {
    /// From the start.
    pub const SET: u32 = 0;
    /// From the current offset.
    pub const CUR: u32 = 1;
    /// From the end.
    pub const END: u32 = 2;
}

/// `MMAP` flags.
pub mod map_flags {
    /// Changes are shared with every other mapping of the object.
    pub const SHARED: u16 = 0x1;
    /// Changes are private to the mapping (a copy).
    pub const PRIVATE: u16 = 0x2;
}

/// A request's fixed part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// The message type.
    pub kind: u16,
    /// Its subtype or flags.
    pub subtype: u16,
    /// A small argument (flags, a pid, a channel id).
    pub arg: u32,
    /// An offset or second argument.
    pub offset: u64,
    /// A size.
    pub size: u64,
    /// Reserved (0).
    pub extra: u64,
}

impl Header {
    /// Bytes in the layout.
    pub const SIZE: usize = 32;

    /// A header of type `kind` with everything else 0.
    pub const fn new(kind: u16) -> Header {
        Header { kind, subtype: 0, arg: 0, offset: 0, size: 0, extra: 0 }
    }

    /// The header's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..2].copy_from_slice(&self.kind.to_le_bytes());
        b[2..4].copy_from_slice(&self.subtype.to_le_bytes());
        b[4..8].copy_from_slice(&self.arg.to_le_bytes());
        b[8..16].copy_from_slice(&self.offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b[24..32].copy_from_slice(&self.extra.to_le_bytes());
        b
    }

    /// The header at the start of `b`, if `b` holds one.
    pub fn from_bytes(b: &[u8]) -> Option<Header> {
        let b = b.get(..Self::SIZE)?;
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Some(Header {
            kind: u16::from_le_bytes([b[0], b[1]]),
            subtype: u16::from_le_bytes([b[2], b[3]]),
            arg: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            offset: u64_at(8),
            size: u64_at(16),
            extra: u64_at(24),
        })
    }
}

/// The answer to `PATH_RESOLVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolved {
    /// The server's process.
    pub pid: u32,
    /// Its channel.
    pub chid: u32,
    /// How many bytes of the path its prefix matched (the rest is the server's).
    pub matched: u32,
    /// The prefix's [`path_flags`].
    pub flags: u32,
    /// The server's handle for the prefix (it tells its prefixes apart by it).
    pub handle: u32,
}

impl Resolved {
    /// Bytes in the layout.
    pub const SIZE: usize = 20;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        words_to_bytes([self.pid, self.chid, self.matched, self.flags, self.handle])
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Resolved> {
        let [pid, chid, matched, flags, handle] = bytes_to_words(b)?;
        Some(Resolved { pid, chid, matched, flags, handle })
    }
}

/// What kind of thing a path names.
pub mod file_kind {
    /// A plain file (or a shared-memory object).
    pub const FILE: u32 = 1;
    /// A directory.
    pub const DIRECTORY: u32 = 2;
    /// A device or other server-defined node.
    pub const DEVICE: u32 = 3;
    /// A pipe or FIFO.
    pub const FIFO: u32 = 4;
}

/// The answer to `STAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// Size in bytes.
    pub size: u64,
    /// A [`file_kind`].
    pub kind: u32,
    /// Permission bits.
    pub mode: u32,
}

impl Stat {
    /// Bytes in the layout.
    pub const SIZE: usize = 16;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        words_to_bytes([self.size as u32, (self.size >> 32) as u32, self.kind, self.mode])
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Stat> {
        let [low, high, kind, mode] = bytes_to_words(b)?;
        Some(Stat { size: low as u64 | (high as u64) << 32, kind, mode })
    }
}

fn words_to_bytes<const W: usize, const B: usize>(words: [u32; W]) -> [u8; B] {
    let mut b = [0u8; B];
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

fn bytes_to_words<const W: usize>(b: &[u8]) -> Option<[u32; W]> {
    let b = b.get(..W * 4)?;
    Some(core::array::from_fn(|i| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().expect("4 bytes"))))
}

/// Checks a name for `name_attach`/`name_open`: not empty, at most [`MAX_NAME`] bytes,
/// no NUL, not starting with `/`, no `.`/`..` component.
pub fn check_name(name: &[u8]) -> Result<&str, crate::Errno> {
    if name.is_empty() || name.contains(&0) || name[0] == b'/' {
        return Err(crate::Errno::EINVAL);
    }
    if name.len() > MAX_NAME {
        return Err(crate::Errno::ENAMETOOLONG);
    }
    let name = core::str::from_utf8(name).map_err(|_| crate::Errno::EINVAL)?;
    if name.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(crate::Errno::EINVAL);
    }
    Ok(name)
}

/// Checks an absolute path: starts with `/`, at most [`MAX_PATH`] bytes, no NUL, no empty,
/// `.` or `..` component (a lone `/` is the root). Returns it without a trailing `/`.
pub fn check_path(path: &[u8]) -> Result<&str, crate::Errno> {
    if path.len() > MAX_PATH {
        return Err(crate::Errno::ENAMETOOLONG);
    }
    if path.first() != Some(&b'/') || path.contains(&0) {
        return Err(crate::Errno::EINVAL);
    }
    let path = core::str::from_utf8(path).map_err(|_| crate::Errno::EINVAL)?;
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok("/");
    }
    if trimmed[1..].split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(crate::Errno::EINVAL);
    }
    Ok(trimmed)
}

/// `path` in the form [`check_path`] takes, as POSIX resolves it: relative to the working
/// directory (`crate::env::current_dir`; `/` on the host), with `//` and `.` dropped and
/// `..` taking the component before it away (at `/`, `/` itself: there are no symbolic
/// links to follow). `ENOENT` for an empty path, `EINVAL` for a NUL, `ENAMETOOLONG` past
/// [`MAX_PATH`].
pub fn canonical_path(path: &str) -> Result<alloc::string::String, crate::Errno> {
    #[cfg(target_os = "none")]
    return resolve_path(&crate::env::current_dir(), path);
    #[cfg(not(target_os = "none"))]
    resolve_path("/", path)
}

/// [`canonical_path`] with `directory` (absolute) as the working directory.
pub fn resolve_path(directory: &str, path: &str) -> Result<alloc::string::String, crate::Errno> {
    if path.is_empty() {
        return Err(crate::Errno::ENOENT);
    }
    if path.contains('\0') {
        return Err(crate::Errno::EINVAL);
    }
    let base = if path.starts_with('/') { "" } else { directory };
    let mut components: alloc::vec::Vec<&str> = alloc::vec::Vec::new();
    for component in base.split('/').chain(path.split('/')) {
        match component {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            name => components.push(name),
        }
    }
    let mut canonical = alloc::string::String::with_capacity(path.len() + 1);
    for component in &components {
        canonical.push('/');
        canonical.push_str(component);
    }
    if canonical.is_empty() {
        canonical.push('/');
    }
    if canonical.len() > MAX_PATH {
        return Err(crate::Errno::ENAMETOOLONG);
    }
    Ok(canonical)
}

/// The path of message queue `name` (`/a/b`: `/dev/mqueue/a/b`). Its components may not
/// be empty, `.` or `..`: the file calls would resolve those, and `/../console` is not a
/// queue.
pub fn mqueue_path(name: &str) -> Result<alloc::string::String, crate::Errno> {
    let bare = name.strip_prefix('/').ok_or(crate::Errno::EINVAL)?;
    if bare.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(crate::Errno::EINVAL);
    }
    Ok(alloc::format!("{MQUEUE_DIR}/{bare}"))
}

/// The payload of a `CONNECT` [`connect::RENAME`]: the path to move, a NUL, and the path
/// it moves to (a path holds no NUL, so the first one divides them).
pub fn rename_payload(from: &str, to: &str) -> alloc::vec::Vec<u8> {
    let mut payload = alloc::vec::Vec::with_capacity(from.len() + 1 + to.len());
    payload.extend_from_slice(from.as_bytes());
    payload.push(0);
    payload.extend_from_slice(to.as_bytes());
    payload
}

/// The path a `CONNECT` asks a server about (its payload): UTF-8 without a NUL, else
/// `EINVAL`. (userlib sends no such path, but a client may send `CONNECT` itself: a file
/// or queue named with a NUL showed in every directory listing, where names end at a
/// NUL, as two names of nothing.)
pub fn connect_path(payload: &[u8]) -> Result<&str, crate::Errno> {
    match core::str::from_utf8(payload) {
        Ok(path) if !path.contains('\0') => Ok(path),
        _ => Err(crate::Errno::EINVAL),
    }
}

/// The two paths of a [`rename_payload`]: (from, to). `EINVAL` without exactly one NUL,
/// or for bytes that are not UTF-8.
pub fn split_rename_payload(payload: &[u8]) -> Result<(&str, &str), crate::Errno> {
    let payload = core::str::from_utf8(payload).map_err(|_| crate::Errno::EINVAL)?;
    match payload.split_once('\0') {
        Some((from, to)) if !to.contains('\0') => Ok((from, to)),
        _ => Err(crate::Errno::EINVAL),
    }
}

/// Where a reader of a directory is: the last name it was given. Names are given in
/// byte order, so a name added or removed meanwhile moves no other — POSIX's `readdir`
/// gives every name that stays exactly once (a cursor counting names skipped one when an
/// earlier name went, and gave one twice when one came).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryCursor {
    last: Option<alloc::string::String>,
}

/// What a `READ` of a directory answers: whole names, each ended by NUL, in byte order,
/// those after `cursor` on, as many as `room` bytes hold; `cursor` moves past them. No
/// bytes once every name has been read; `EOVERFLOW` when not even the next name fits a
/// buffer of some room (no bytes would look like the end).
pub fn directory_entries<S: AsRef<str>>(
    names: impl IntoIterator<Item = S>,
    cursor: &mut DirectoryCursor,
    room: usize,
) -> Result<alloc::vec::Vec<u8>, crate::Errno> {
    let after = |name: &S| cursor.last.as_deref().is_none_or(|last| name.as_ref() > last);
    let mut left: alloc::vec::Vec<S> = names.into_iter().filter(after).collect();
    left.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    let mut bytes = alloc::vec::Vec::new();
    let mut given = None;
    for name in &left {
        let name = name.as_ref();
        if bytes.len() + name.len() + 1 > room {
            if bytes.is_empty() && room > 0 {
                return Err(crate::Errno::EOVERFLOW);
            }
            break;
        }
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        given = Some(name);
    }
    if let Some(last) = given {
        cursor.last = Some(alloc::string::String::from(last));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Errno;

    #[test]
    fn a_directory_is_read_in_whole_names_from_where_the_last_read_stopped() {
        let names = ["charlie", "alpha", "b"];
        let mut next = DirectoryCursor::default();
        assert_eq!(directory_entries(names, &mut next, 8), Ok(b"alpha\0b\0".to_vec()), "in byte order");
        assert_eq!(directory_entries(names, &mut next, 0), Ok(std::vec::Vec::new()), "a zero-byte read");
        assert_eq!(directory_entries(names, &mut next, 7), Err(Errno::EOVERFLOW), "charlie does not fit");
        assert_eq!(directory_entries(names, &mut next, 8), Ok(b"charlie\0".to_vec()));
        assert_eq!(directory_entries(names, &mut next, 64), Ok(std::vec::Vec::new()), "the end");
    }

    #[test]
    fn an_mq_open_carries_any_attributes_asked_for_to_the_server_to_judge() {
        // (A review found mq_open refusing attributes of 0 with EINVAL by itself, even
        // without O_CREAT or for a queue that exists: the server judges them, and only
        // when it makes the queue.)
        let round_trip = |attr| mq_attr_of_size(mq_size_of_attr(attr));
        assert_eq!(round_trip(None), None, "the defaults");
        for attr in [(8, 64), (0, 5), (5, 0)] {
            assert_eq!(round_trip(Some(attr)), Some(attr));
        }
        // Those a `size` cannot carry become attributes no queue takes (not the defaults).
        let too_big = u32::MAX as usize;
        assert_eq!(round_trip(Some((0, 0))), Some((too_big, too_big)));
        assert_eq!(round_trip(Some((usize::MAX, 1))), Some((too_big, 1)));
    }

    #[test]
    fn names_added_or_removed_between_reads_move_no_other() {
        // (A review found a count of names read skipping `c` when `a` went between two
        // reads: POSIX's readdir gives every name that stays exactly once.)
        let mut next = DirectoryCursor::default();
        assert_eq!(directory_entries(["a", "b", "c", "d"], &mut next, 4), Ok(b"a\0b\0".to_vec()));
        assert_eq!(directory_entries(["b", "c", "d"], &mut next, 4), Ok(b"c\0d\0".to_vec()), "a went");
        let mut next = DirectoryCursor::default();
        assert_eq!(directory_entries(["b", "c"], &mut next, 2), Ok(b"b\0".to_vec()));
        assert_eq!(directory_entries(["a", "b", "c"], &mut next, 64), Ok(b"c\0".to_vec()), "a came: b not again");
    }

    #[test]
    fn a_path_sent_to_a_server_holds_no_nul() {
        assert_eq!(connect_path(b"a/b"), Ok("a/b"));
        assert_eq!(connect_path(b""), Ok(""), "the prefix itself");
        for bad in [&b"nul\0name"[..], b"\0", b"a/\xff"] {
            assert_eq!(connect_path(bad), Err(Errno::EINVAL), "{bad:?}");
        }
    }

    #[test]
    fn a_rename_carries_both_paths() {
        let payload = rename_payload("a/b", "c");
        assert_eq!(payload, b"a/b\0c");
        assert_eq!(split_rename_payload(&payload), Ok(("a/b", "c")));
        assert_eq!(split_rename_payload(&rename_payload("", "x")), Ok(("", "x")), "the prefix itself");
        for bad in [&b"no-divider"[..], b"a\0b\0c", b"\xff\0b", b""] {
            assert_eq!(split_rename_payload(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        let subtypes =
            [connect::OPEN, connect::UNLINK, connect::OPEN_HANDLE, connect::MKDIR, connect::RMDIR, connect::RENAME];
        assert!(subtypes.iter().enumerate().all(|(i, s)| *s as usize == i), "distinct, in order");
    }

    #[test]
    fn headers_and_records_round_trip() {
        let h = Header { kind: io_type::MMAP, subtype: 2, arg: 7, offset: 1 << 40, size: 4096, extra: 0 };
        assert_eq!(Header::from_bytes(&h.to_bytes()), Some(h));
        assert_eq!(Header::from_bytes(&[0; 31]), None, "short");
        let r = Resolved { pid: 3, chid: 1, matched: 9, flags: path_flags::DIR as u32, handle: 4 };
        assert_eq!(Resolved::from_bytes(&r.to_bytes()), Some(r));
        let s = Stat { size: 5 << 33, kind: file_kind::FILE, mode: 0o640 };
        assert_eq!(Stat::from_bytes(&s.to_bytes()), Some(s));
    }

    #[test]
    fn names_and_paths_are_checked() {
        assert_eq!(check_name(b"myserver"), Ok("myserver"));
        assert_eq!(check_name(b"acme/logger"), Ok("acme/logger"));
        for bad in [&b""[..], b"/abs", b"a\0b", b"a//b", b"a/../b", b"a/", b"\xff"] {
            assert_eq!(check_name(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(check_name(&[b'x'; MAX_NAME + 1]), Err(Errno::ENAMETOOLONG));
        for (path, canonical) in [
            ("/dev/shmem/", "/dev/shmem"),
            ("tmp/a", "/tmp/a"),
            ("//tmp//./a/", "/tmp/a"),
            ("/tmp/../dev", "/dev"),
            ("../../x", "/x"),
            (".", "/"),
            ("/..", "/"),
        ] {
            assert_eq!(canonical_path(path).as_deref(), Ok(canonical), "{path}");
            assert_eq!(check_path(canonical.as_bytes()), Ok(canonical), "{path}");
        }
        assert_eq!(mqueue_path("/a/b").as_deref(), Ok("/dev/mqueue/a/b"));
        for bad in ["a", "/", "/../console", "/x/..", "/./x", "/a//b", "/a/"] {
            assert_eq!(mqueue_path(bad), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(resolve_path("/tmp/a", "b/../c").as_deref(), Ok("/tmp/a/c"));
        assert_eq!(resolve_path("/tmp/a", "../..").as_deref(), Ok("/"));
        assert_eq!(resolve_path("/tmp/a", "/dev").as_deref(), Ok("/dev"));
        assert_eq!(resolve_path("/tmp", ".").as_deref(), Ok("/tmp"));
        assert_eq!(canonical_path(""), Err(Errno::ENOENT));
        assert_eq!(canonical_path("/a\0b"), Err(Errno::EINVAL));
        assert_eq!(canonical_path(&"/a".repeat(MAX_PATH)), Err(Errno::ENAMETOOLONG));
        assert_eq!(check_path(b"/dev/shmem/"), Ok("/dev/shmem"));
        assert_eq!(check_path(b"/"), Ok("/"));
        for bad in [&b"dev"[..], b"", b"/a//b", b"/a/./b", b"/a/../b", b"/a\0"] {
            assert_eq!(check_path(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        let mut long = std::vec![b'/'];
        long.extend_from_slice(&[b'x'; MAX_PATH]);
        assert_eq!(check_path(&long), Err(Errno::ENAMETOOLONG));
        assert!(open_flags::readable(open_flags::O_RDONLY) && !open_flags::writable(open_flags::O_RDONLY));
        assert!(open_flags::writable(open_flags::O_WRONLY) && !open_flags::readable(open_flags::O_WRONLY));
    }
}
