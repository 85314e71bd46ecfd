//! `ramfs [PATH]`: files in RAM under PATH (default `/tmp`), a resource manager on
//! userlib's framework — where the shell's `>` and `<` can go. `open` with `O_CREAT`
//! makes a file (no subdirectories); reading the prefix itself lists the files; files
//! support read, write (`O_APPEND`), lseek, stat, ftruncate and unlink, and vanish when
//! the server ends (a file unlinked while open lives on until its last open closes, as
//! POSIX says, and a new file of its name is another file). A file holds at most
//! [`MAX_FILE_SIZE`] bytes (`EFBIG`); all files' bytes together take at most
//! [`MAX_TOTAL_BYTES`] of memory (counted in the heap's power-of-two blocks), there are
//! at most [`MAX_FILES`] files, and a write or truncate past those, or past what the
//! server's memory can hold, fails with `ENOSPC` rather than ending the server (and
//! everyone's files with it).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::msg::{file_kind, open_flags, path_flags, whence, Stat};
use userlib::resmgr::{read_directory, Dispatcher, Reply, Request, ResourceManager};
use userlib::{println, proc, Args, Errno};

/// Most bytes one file holds: a client's size (a truncate, a write far past the end) is
/// memory this server must find.
pub const MAX_FILE_SIZE: usize = 16 << 20;

/// Most memory all files' bytes take together (as a tmpfs's size).
pub const MAX_TOTAL_BYTES: usize = 32 << 20;
/// Most files at once (linked, or unlinked and still open).
pub const MAX_FILES: usize = 1024;

/// The memory a file's buffer of `capacity` bytes takes from the heap, whose blocks are
/// powers of two.
fn footprint(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else {
        capacity.next_power_of_two()
    }
}

/// Makes `file` `len` bytes long (zero-filled), or fails without changing it; `total`,
/// the memory all files take, is kept up to date. A file grows to whole heap blocks (a
/// power of two, what the heap gives anyway: appends do not reallocate each time) and
/// gives memory back when it shrinks.
fn set_len(file: &mut Vec<u8>, len: usize, total: &mut usize) -> Result<(), Errno> {
    if len > MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    let old = footprint(file.capacity());
    if len > file.capacity() {
        let capacity = footprint(len);
        if *total - old + capacity > MAX_TOTAL_BYTES {
            return Err(Errno::ENOSPC);
        }
        file.try_reserve_exact(capacity - file.len()).map_err(|_| Errno::ENOSPC)?;
    }
    file.resize(len, 0);
    if footprint(len) < old {
        // (A copy into a smaller buffer, kept only if the heap has one: `shrink_to` would
        // end the server if it had not.)
        let mut smaller = Vec::new();
        if smaller.try_reserve_exact(len).is_ok() {
            smaller.extend_from_slice(file);
            *file = smaller;
        }
    }
    *total = *total - old + footprint(file.capacity());
    Ok(())
}

userlib::entry!(main);

fn main(args: Args) -> Result<(), Errno> {
    let path = args.get(1).unwrap_or("/tmp");
    let channel = userlib::ipc::Channel::create(userlib::ipc::channel_flags::DISCONNECT)?;
    let _attached = proc::path_attach(path, channel.chid(), path_flags::DIR)?;
    let mut dispatcher = Dispatcher::new(Files { names: BTreeMap::new(), files: BTreeMap::new(), next: 1, total: 0 });
    let error = dispatcher.serve(&channel);
    println!("ramfs: receiving failed: {error}");
    Err(error)
}

/// In-memory files: `open` with `O_CREAT` makes one; the prefix itself is a directory
/// whose read lists them. A name leads to a file; an open holds the file, not the name,
/// so that a file unlinked while open lives on for its opens (as POSIX says) and a new
/// file of the same name is another one.
struct Files {
    names: BTreeMap<String, u64>,
    files: BTreeMap<u64, Node>,
    next: u64,
    /// Bytes all files hold.
    total: usize,
}

/// A file: its bytes, how many opens hold it, and whether a name still leads to it.
struct Node {
    data: Vec<u8>,
    opens: usize,
    linked: bool,
}

enum Open {
    File {
        id: u64,
        offset: usize,
        flags: u32,
    },
    /// The directory; `next`: how many names earlier reads gave.
    Directory {
        next: usize,
    },
}

impl Files {
    /// The bytes of open file `id` (an open holds its file: it is there).
    fn data(&mut self, id: u64) -> Result<&mut Vec<u8>, Errno> {
        self.files.get_mut(&id).map(|node| &mut node.data).ok_or(Errno::EBADF)
    }

    /// The bytes of open file `id` and what all files hold, to change together.
    fn data_and_total(&mut self, id: u64) -> Result<(&mut Vec<u8>, &mut usize), Errno> {
        let file = self.files.get_mut(&id).map(|node| &mut node.data).ok_or(Errno::EBADF)?;
        Ok((file, &mut self.total))
    }

    /// Drops file `id` (nothing leads to it any more).
    fn remove(&mut self, id: u64) {
        if let Some(node) = self.files.remove(&id) {
            self.total -= footprint(node.data.capacity());
        }
    }
}

impl ResourceManager for Files {
    type Ocb = Open;

    fn open(&mut self, _request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Open, Errno> {
        if path.is_empty() {
            // (A directory is not written to: refused at the open, as POSIX's open does.)
            if open_flags::writable(flags) {
                return Err(Errno::EISDIR);
            }
            return Ok(Open::Directory { next: 0 });
        }
        if path.contains('/') {
            return Err(Errno::ENOENT);
        }
        // (userlib checks this too; a client sending CONNECT itself kept names of up to
        // 64 KiB, beyond the count of bytes stored.)
        if path.len() > userlib::msg::MAX_PATH {
            return Err(Errno::ENAMETOOLONG);
        }
        if flags & open_flags::O_TRUNC != 0 && !open_flags::writable(flags) {
            return Err(Errno::EACCES); // (as proc answers it: truncating needs write access)
        }
        let existing = self.names.get(path).copied();
        if existing.is_none() && flags & open_flags::O_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        if existing.is_some() && flags & open_flags::O_CREAT != 0 && flags & open_flags::O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let id = match existing {
            Some(id) => id,
            None => {
                if self.files.len() >= MAX_FILES {
                    return Err(Errno::ENOSPC);
                }
                let id = self.next;
                self.next += 1;
                self.names.insert(String::from(path), id);
                self.files.insert(id, Node { data: Vec::new(), opens: 0, linked: true });
                id
            }
        };
        let node = self.files.get_mut(&id).ok_or(Errno::ENOENT)?;
        node.opens += 1;
        if flags & open_flags::O_TRUNC != 0 {
            self.total -= footprint(node.data.capacity());
            node.data = Vec::new();
        }
        Ok(Open::File { id, offset: 0, flags })
    }

    fn unlink(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        if path.is_empty() {
            return Err(Errno::EPERM); // (the directory itself: POSIX's unlink of one)
        }
        let id = self.names.remove(path).ok_or(Errno::ENOENT)?;
        match self.files.get_mut(&id) {
            Some(node) if node.opens > 0 => node.linked = false, // gone when the last open closes
            _ => self.remove(id),
        }
        Ok(())
    }

    fn close(&mut self, ocb: Open) {
        let Open::File { id, .. } = ocb else { return };
        if let Some(node) = self.files.get_mut(&id) {
            node.opens -= 1;
            if node.opens == 0 && !node.linked {
                self.remove(id);
            }
        }
    }

    fn read(&mut self, ocb: &mut Open, request: &mut Request) -> Result<Reply, Errno> {
        // (No more than the client has room for: a read of u64::MAX bytes copied the
        // whole file, up to 16 MiB, for every request.)
        let want = (request.header.size as usize).min(request.reply_room);
        match ocb {
            Open::Directory { next } => read_directory(self.names.keys(), next, want),
            Open::File { id, offset, flags } => {
                if !open_flags::readable(*flags) {
                    return Err(Errno::EBADF);
                }
                let file = self.data(*id)?;
                let start = (*offset).min(file.len());
                let end = start.saturating_add(want).min(file.len());
                *offset = end;
                Ok(Reply::Data((end - start) as u64, file[start..end].to_vec()))
            }
        }
    }

    fn write(&mut self, ocb: &mut Open, request: &mut Request) -> Result<Reply, Errno> {
        let Open::File { id, offset, flags } = ocb else { return Err(Errno::EISDIR) };
        if !open_flags::writable(*flags) {
            return Err(Errno::EBADF);
        }
        let (file, total) = self.data_and_total(*id)?;
        if *flags & open_flags::O_APPEND != 0 {
            *offset = file.len();
        }
        let data = &request.payload;
        if data.is_empty() {
            return Ok(Reply::Status(0)); // (not even past the end: that grew the file)
        }
        let end = offset.checked_add(data.len()).ok_or(Errno::EFBIG)?;
        if file.len() < end {
            set_len(file, end, total)?;
        }
        file[*offset..end].copy_from_slice(data);
        *offset += data.len();
        Ok(Reply::Status(data.len() as u64))
    }

    fn lseek(&mut self, ocb: &mut Open, offset: i64, from: u32) -> Result<u64, Errno> {
        let Open::File { id, offset: at, .. } = ocb else { return Err(Errno::EISDIR) };
        let len = self.data(*id)?.len() as i64;
        let base = match from {
            whence::SET => 0,
            whence::CUR => *at as i64,
            whence::END => len,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).filter(|n| *n >= 0).ok_or(Errno::EINVAL)?;
        *at = new as usize;
        Ok(new as u64)
    }

    fn stat(&mut self, ocb: &mut Open) -> Result<Stat, Errno> {
        Ok(match ocb {
            Open::Directory { .. } => Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o755 },
            Open::File { id, .. } => {
                let size = self.data(*id)?.len() as u64;
                Stat { size, kind: file_kind::FILE, mode: 0o644 }
            }
        })
    }

    fn truncate(&mut self, ocb: &mut Open, size: u64) -> Result<(), Errno> {
        let Open::File { id, flags, .. } = ocb else { return Err(Errno::EISDIR) };
        if !open_flags::writable(*flags) {
            return Err(Errno::EBADF); // as ftruncate on a descriptor not open for writing
        }
        let (file, total) = self.data_and_total(*id)?;
        set_len(file, usize::try_from(size).map_err(|_| Errno::EFBIG)?, total)
    }
}
