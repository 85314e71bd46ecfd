//! The ramfs server: files and directories in RAM under PATH (default `/tmp`), a resource
//! manager on userlib's framework — where the shell's `>` and `<` can go. `open` with
//! `O_CREAT` makes a file, `mkdir` a directory (`rmdir` removes an empty one, `rename`
//! moves either); reading a directory lists its entries; files support read, write
//! (`O_APPEND`), lseek, stat, ftruncate and unlink, and vanish when the server ends. The
//! tree, its POSIX rules and its limits are the library's (`lib.rs`); this file turns
//! messages into calls on it and keeps each open's offset.

use alloc::format;
use alloc::string::String;
use ramfs::{NodeId, Tree};
use userlib::msg::DirectoryCursor;
use userlib::msg::{file_kind, open_flags, path_flags, whence, Stat};
use userlib::resmgr::{read_directory, Dispatcher, Reply, Request, ResourceManager};
use userlib::{println, proc, Args, Errno};

pub fn main(args: Args) -> Result<(), String> {
    // A relative PATH is the working directory's, as any program's paths are (`ramfs mnt`
    // said only EINVAL).
    let path = args.get(1).unwrap_or("/tmp");
    let path = userlib::msg::canonical_path(path).map_err(|e| format!("{path}: {e}"))?;
    let channel = userlib::ipc::Channel::create(userlib::ipc::channel_flags::DISCONNECT).map_err(|e| format!("{e}"))?;
    // Why proc refused the path, in words (`ramfs` run again said only EBUSY).
    let _attached = proc::path_attach(&path, channel.chid(), path_flags::DIR).map_err(|e| match e {
        Errno::EBUSY => format!("{path}: {e}: another server serves it already"),
        Errno::EPERM => format!("{path}: {e}: inside another server's directory, or a place of the system's"),
        e => format!("{path}: {e}"),
    })?;
    let prefix = String::from(path.trim_end_matches('/'));
    let mut dispatcher = Dispatcher::new(Files { tree: Tree::new(), prefix });
    let error = dispatcher.serve(&channel);
    println!("ramfs: receiving failed: {error}");
    Err(format!("{error}"))
}

/// The server's state: the tree (each open holds its node there).
struct Files {
    tree: Tree,
    /// Where it is attached, without a trailing `/` (`""` at `/`).
    prefix: String,
}

/// One open.
enum Open {
    /// A file, and where the next read or write goes.
    File { id: NodeId, offset: usize, flags: u32 },
    /// A directory; `next`: where its reader is.
    Directory { id: NodeId, next: DirectoryCursor },
}

impl ResourceManager for Files {
    type Ocb = Open;

    fn open(&mut self, _request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Open, Errno> {
        let id = self.tree.open(path, flags)?;
        Ok(if self.tree.is_directory(id) {
            Open::Directory { id, next: DirectoryCursor::default() }
        } else {
            Open::File { id, offset: 0, flags }
        })
    }

    fn unlink(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        self.tree.unlink(path)
    }

    fn mkdir(&mut self, _request: &Request, path: &str, _mode: u32) -> Result<(), Errno> {
        self.tree.mkdir(path).map(drop)
    }

    fn make_fifo(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        self.tree.may_make(path)?;
        userlib::fs::fifo_in_my_directory(&format!("{}/{path}", self.prefix))
    }

    fn rmdir(&mut self, _request: &Request, path: &str) -> Result<(), Errno> {
        self.tree.rmdir(path)
    }

    fn rename(&mut self, _request: &Request, from: &str, to: &str) -> Result<(), Errno> {
        self.tree.rename(from, to)
    }

    fn close(&mut self, ocb: Open) {
        let (Open::File { id, .. } | Open::Directory { id, .. }) = ocb;
        self.tree.close(id);
    }

    fn read(&mut self, ocb: &mut Open, request: &mut Request) -> Result<Reply, Errno> {
        // (No more than the client has room for: a read of u64::MAX bytes copied the
        // whole file, up to 16 MiB, for every request.)
        let want = request.read_size();
        match ocb {
            Open::Directory { id, next } => read_directory(self.tree.names(*id)?, next, request),
            Open::File { id, offset, flags } => {
                if !open_flags::readable(*flags) {
                    return Err(Errno::EBADF);
                }
                let file = self.tree.data(*id)?;
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
        if *flags & open_flags::O_APPEND != 0 {
            *offset = self.tree.data(*id)?.len();
        }
        let written = self.tree.write(*id, *offset, &request.payload)?;
        *offset += written;
        Ok(Reply::Status(written as u64))
    }

    fn lseek(&mut self, ocb: &mut Open, offset: i64, from: u32) -> Result<u64, Errno> {
        let Open::File { id, offset: at, .. } = ocb else { return Err(Errno::EISDIR) };
        let len = self.tree.data(*id)?.len() as i64;
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
                let size = self.tree.data(*id)?.len() as u64;
                Stat { size, kind: file_kind::FILE, mode: 0o644 }
            }
        })
    }

    fn truncate(&mut self, ocb: &mut Open, size: u64) -> Result<(), Errno> {
        let Open::File { id, flags, .. } = ocb else { return Err(Errno::EISDIR) };
        if !open_flags::writable(*flags) {
            return Err(Errno::EBADF); // as ftruncate on a descriptor not open for writing
        }
        self.tree.truncate(*id, size)
    }
}
