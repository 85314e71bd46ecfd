//! ramfs's file tree, free of system calls so the host can test it (the server around it
//! is `server.rs`). A [`Tree`] holds nodes — files (their bytes) and directories (their
//! entries, name to node) — under a root directory, the server's prefix. Paths are
//! relative to the root (empty: the root itself), with no empty, `.` or `..` component.
//!
//! An open holds its node, not its path: a file or directory removed while open lives on
//! for its opens (as POSIX says; a new one of the same name is another node) and goes
//! with its last close, and an open file whose directory is renamed keeps its bytes. A
//! directory is removed only when empty (`rmdir`), so no node is ever left without a way
//! to it that is neither open nor named.
//!
//! The POSIX rules, and the choices where POSIX leaves one:
//! * a missing component is `ENOENT`, one that is a file `ENOTDIR`;
//! * `unlink` of a directory is `EPERM` (POSIX allows it, or `EISDIR`; proc's and the
//!   root's answer was `EPERM` already), `rmdir` of a file `ENOTDIR`, of a directory that
//!   holds something `ENOTEMPTY`, of the root `EBUSY` (it is a mount point);
//! * `mkdir` where something is `EEXIST`;
//! * `rename` replaces what is at the new path in one step: a file by a file, an empty
//!   directory by a directory; a directory onto a file is `ENOTDIR`, a file onto a
//!   directory `EISDIR`, a directory onto one that holds something `ENOTEMPTY`, a
//!   directory into itself or beneath itself `EINVAL`, the root either way `EBUSY`, and
//!   a path onto itself does nothing;
//! * opening a directory to write or to create is `EISDIR` (`EEXIST` with `O_EXCL`).
//!
//! Limits, so that no client can grow the server's memory without end and lose everyone's
//! files: a file holds at most [`MAX_FILE_SIZE`] bytes (`EFBIG`); all files' bytes take at
//! most [`MAX_TOTAL_BYTES`] of memory (counted in the heap's power-of-two blocks); there
//! are at most [`MAX_FILES`] nodes, files and directories together (the root not
//! counted); a path is at most [`MAX_PATH`] bytes (`ENAMETOOLONG`), so every name is
//! too. Past those, or past what the heap holds, a request fails with `ENOSPC` rather
//! than ending the server.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::msg::open_flags;
use userlib::Errno;

pub use userlib::msg::MAX_PATH;

/// Most bytes one file holds: a client's size (a truncate, a write far past the end) is
/// memory this server must find.
pub const MAX_FILE_SIZE: usize = 16 << 20;
/// Most memory all files' bytes take together (as a tmpfs's size).
pub const MAX_TOTAL_BYTES: usize = 32 << 20;
/// Most files and directories at once (linked, or removed and still open).
pub const MAX_FILES: usize = 1024;

/// A node's number: what an open holds.
pub type NodeId = u64;

/// The root directory (the server's prefix).
pub const ROOT: NodeId = 0;

/// The memory a file's buffer of `capacity` bytes takes from the heap, whose blocks are
/// powers of two.
pub fn footprint(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else {
        capacity.next_power_of_two()
    }
}

/// What a node is.
enum Contents {
    /// A file's bytes.
    File(Vec<u8>),
    /// A directory's entries, by name (listed in this order).
    Directory(BTreeMap<String, NodeId>),
}

/// A file or directory, how many opens hold it, and whether an entry still leads to it.
struct Node {
    contents: Contents,
    opens: usize,
    linked: bool,
}

/// Files and directories in memory.
pub struct Tree {
    nodes: BTreeMap<NodeId, Node>,
    next: NodeId,
    /// Memory all files' bytes take (see [`footprint`]).
    total: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// A tree holding only its (empty) root.
    pub fn new() -> Tree {
        let root = Node { contents: Contents::Directory(BTreeMap::new()), opens: 0, linked: true };
        Tree { nodes: BTreeMap::from([(ROOT, root)]), next: ROOT + 1, total: 0 }
    }

    /// Files and directories there are (linked or still open), the root not counted.
    pub fn count(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Memory all files' bytes take.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether node `id` is a directory (`false` for none).
    pub fn is_directory(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(&id), Some(Node { contents: Contents::Directory(_), .. }))
    }

    /// The node at `path` (empty: the root).
    pub fn lookup(&self, path: &str) -> Result<NodeId, Errno> {
        check(path)?;
        if path.is_empty() {
            return Ok(ROOT);
        }
        self.find(path).map(|(_, _, id)| id)
    }

    /// Opens `path` with open `flags`: the node it names, created as an empty file with
    /// `O_CREAT` (and emptied with `O_TRUNC`); the open holds it until [`Tree::close`].
    pub fn open(&mut self, path: &str, flags: u32) -> Result<NodeId, Errno> {
        check(path)?;
        if flags & open_flags::O_TRUNC != 0 && !open_flags::writable(flags) {
            return Err(Errno::EACCES); // (as proc answers it: truncating needs write access)
        }
        let create = flags & open_flags::O_CREAT != 0;
        let existing = match path {
            "" => ROOT,
            _ => {
                let (parent, name) = self.parent_of(path)?;
                match self.entries(parent)?.get(name).copied() {
                    Some(id) => id,
                    None if create => {
                        let id = self.add(parent, name, Contents::File(Vec::new()))?;
                        return self.hold(id);
                    }
                    None => return Err(Errno::ENOENT),
                }
            }
        };
        if create && flags & open_flags::O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let node = self.nodes.get_mut(&existing).ok_or(Errno::ENOENT)?;
        match &mut node.contents {
            // (A directory is not written to, nor made by open: refused at the open.)
            Contents::Directory(_) if create || open_flags::writable(flags) => return Err(Errno::EISDIR),
            Contents::Directory(_) => {}
            Contents::File(data) if flags & open_flags::O_TRUNC != 0 => {
                self.total -= footprint(data.capacity());
                *data = Vec::new();
            }
            Contents::File(_) => {}
        }
        self.hold(existing)
    }

    /// One more open holds node `id`.
    fn hold(&mut self, id: NodeId) -> Result<NodeId, Errno> {
        self.nodes.get_mut(&id).ok_or(Errno::ENOENT)?.opens += 1;
        Ok(id)
    }

    /// An open of node `id` is closed: a node nothing leads to goes with its last open.
    pub fn close(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.opens = node.opens.saturating_sub(1);
            self.release(id);
        }
    }

    /// Makes directory `path`.
    pub fn mkdir(&mut self, path: &str) -> Result<NodeId, Errno> {
        let (parent, name) = self.free_name(path)?;
        self.add(parent, name, Contents::Directory(BTreeMap::new()))
    }

    /// Whether something new may be made at `path` — a FIFO, which the pipe server then
    /// attaches there: its directory exists and its name is free.
    pub fn may_make(&self, path: &str) -> Result<(), Errno> {
        self.free_name(path).map(drop)
    }

    /// `path`'s directory and last name, if that name is free there.
    fn free_name<'p>(&self, path: &'p str) -> Result<(NodeId, &'p str), Errno> {
        check(path)?;
        if path.is_empty() {
            return Err(Errno::EEXIST); // (the root)
        }
        let (parent, name) = self.parent_of(path)?;
        if self.entries(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        Ok((parent, name))
    }

    /// Removes the entry `path` of a file (a directory: `EPERM`, see the module's notes).
    pub fn unlink(&mut self, path: &str) -> Result<(), Errno> {
        check(path)?;
        if path.is_empty() {
            return Err(Errno::EPERM);
        }
        let (parent, name, id) = self.find(path)?;
        if self.is_directory(id) {
            return Err(Errno::EPERM);
        }
        self.detach(parent, name);
        Ok(())
    }

    /// Removes the empty directory `path`.
    pub fn rmdir(&mut self, path: &str) -> Result<(), Errno> {
        check(path)?;
        if path.is_empty() {
            return Err(Errno::EBUSY); // (the root: the server's mount point)
        }
        let (parent, name, id) = self.find(path)?;
        match self.entries(id) {
            Err(_) => return Err(Errno::ENOTDIR),
            Ok(entries) if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
            Ok(_) => {}
        }
        self.detach(parent, name);
        Ok(())
    }

    /// Moves the entry at `from` to `to`, in one step replacing what `to` names (see the
    /// module's notes for what may replace what).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        check(from)?;
        check(to)?;
        if from.is_empty() || to.is_empty() {
            return Err(Errno::EBUSY); // (the root: the server's mount point)
        }
        let (from_parent, from_name, moved) = self.find(from)?;
        let (to_parent, to_name) = self.parent_of(to)?;
        let directory = self.is_directory(moved);
        // (Each node has one name and there are no symbolic links: a path beneath a
        // directory is the directory's path, a `/`, and more.)
        if directory && to.strip_prefix(from).is_some_and(|rest| rest.starts_with('/')) {
            return Err(Errno::EINVAL);
        }
        if let Some(replaced) = self.entries(to_parent)?.get(to_name).copied() {
            if replaced == moved {
                return Ok(()); // (POSIX: the same entry, nothing to do)
            }
            match (directory, self.entries(replaced)) {
                (true, Err(_)) => return Err(Errno::ENOTDIR),
                (true, Ok(entries)) if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
                (false, Ok(_)) => return Err(Errno::EISDIR),
                _ => {}
            }
            self.detach(to_parent, to_name);
        }
        // (Both parents are directories, found above.)
        self.entries_mut(from_parent)?.remove(from_name);
        self.entries_mut(to_parent)?.insert(String::from(to_name), moved);
        Ok(())
    }

    /// The names in directory `id`, in their stable order (`ENOTDIR` for a file).
    pub fn names(&self, id: NodeId) -> Result<impl Iterator<Item = &str>, Errno> {
        Ok(self.entries(id)?.keys().map(String::as_str))
    }

    /// The bytes of file `id` (`EISDIR` for a directory, `EBADF` for no node).
    pub fn data(&self, id: NodeId) -> Result<&[u8], Errno> {
        match &self.nodes.get(&id).ok_or(Errno::EBADF)?.contents {
            Contents::File(data) => Ok(data),
            Contents::Directory(_) => Err(Errno::EISDIR),
        }
    }

    /// Writes `bytes` into file `id` at `offset`, growing it (zero-filled between);
    /// returns how many were written. A write of nothing changes nothing, not even past
    /// the end.
    pub fn write(&mut self, id: NodeId, offset: usize, bytes: &[u8]) -> Result<usize, Errno> {
        let (data, total) = self.data_and_total(id)?;
        if bytes.is_empty() {
            return Ok(0);
        }
        let end = offset.checked_add(bytes.len()).ok_or(Errno::EFBIG)?;
        if data.len() < end {
            set_len(data, end, total)?;
        }
        data[offset..end].copy_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Makes file `id` `len` bytes long (zero-filled), or fails without changing it.
    pub fn truncate(&mut self, id: NodeId, len: u64) -> Result<(), Errno> {
        let (data, total) = self.data_and_total(id)?;
        set_len(data, usize::try_from(len).map_err(|_| Errno::EFBIG)?, total)
    }

    /// The bytes of file `id` and what all files take, to change together.
    fn data_and_total(&mut self, id: NodeId) -> Result<(&mut Vec<u8>, &mut usize), Errno> {
        match &mut self.nodes.get_mut(&id).ok_or(Errno::EBADF)?.contents {
            Contents::File(data) => Ok((data, &mut self.total)),
            Contents::Directory(_) => Err(Errno::EISDIR),
        }
    }

    /// The entries of directory `id` (`ENOTDIR` for a file, `ENOENT` for no node).
    fn entries(&self, id: NodeId) -> Result<&BTreeMap<String, NodeId>, Errno> {
        match &self.nodes.get(&id).ok_or(Errno::ENOENT)?.contents {
            Contents::Directory(entries) => Ok(entries),
            Contents::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, id: NodeId) -> Result<&mut BTreeMap<String, NodeId>, Errno> {
        match &mut self.nodes.get_mut(&id).ok_or(Errno::ENOENT)?.contents {
            Contents::Directory(entries) => Ok(entries),
            Contents::File(_) => Err(Errno::ENOTDIR),
        }
    }

    /// The directory that holds (non-empty, checked) `path`'s last component, that
    /// component, and the node it names (`ENOENT` for none; see [`Tree::parent_of`]).
    fn find<'p>(&self, path: &'p str) -> Result<(NodeId, &'p str, NodeId), Errno> {
        let (parent, name) = self.parent_of(path)?;
        let id = self.entries(parent)?.get(name).copied().ok_or(Errno::ENOENT)?;
        Ok((parent, name, id))
    }

    /// The directory that holds (non-empty, checked) `path`'s last component, and that
    /// component: `ENOENT` when a directory on the way is missing, `ENOTDIR` when one is a
    /// file.
    fn parent_of<'p>(&self, path: &'p str) -> Result<(NodeId, &'p str), Errno> {
        let (directories, name) = path.rsplit_once('/').unwrap_or(("", path));
        let mut at = ROOT;
        for component in directories.split('/').filter(|c| !c.is_empty()) {
            at = self.entries(at)?.get(component).copied().ok_or(Errno::ENOENT)?;
        }
        self.entries(at)?; // (the last directory on the way: a file there is ENOTDIR too)
        Ok((at, name))
    }

    /// A new node in directory `parent` under `name` (`ENOSPC` past [`MAX_FILES`]).
    fn add(&mut self, parent: NodeId, name: &str, contents: Contents) -> Result<NodeId, Errno> {
        if self.count() >= MAX_FILES {
            return Err(Errno::ENOSPC);
        }
        let id = self.next;
        self.entries_mut(parent)?.insert(String::from(name), id);
        self.next += 1;
        self.nodes.insert(id, Node { contents, opens: 0, linked: true });
        Ok(id)
    }

    /// Takes entry `name` out of directory `parent`; its node goes now or with its last
    /// open.
    fn detach(&mut self, parent: NodeId, name: &str) {
        let Ok(entries) = self.entries_mut(parent) else { return };
        let Some(id) = entries.remove(name) else { return };
        if let Some(node) = self.nodes.get_mut(&id) {
            node.linked = false;
        }
        self.release(id);
    }

    /// Drops node `id` if nothing leads to it any more (no entry, no open). (A directory
    /// is unlinked only when empty, so nothing beneath is lost with it.)
    fn release(&mut self, id: NodeId) {
        let Some(node) = self.nodes.get(&id) else { return };
        if node.opens > 0 || node.linked || id == ROOT {
            return;
        }
        if let Some(Node { contents: Contents::File(data), .. }) = self.nodes.remove(&id) {
            self.total -= footprint(data.capacity());
        }
    }
}

/// Checks a path the server is asked about: at most [`MAX_PATH`] bytes (a client sending
/// `CONNECT` itself could send 64 KiB), no empty, `.` or `..` component (userlib resolves
/// those before it sends; the root is the empty path).
pub fn check(path: &str) -> Result<(), Errno> {
    if path.len() > MAX_PATH {
        return Err(Errno::ENAMETOOLONG);
    }
    if !path.is_empty() && path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(Errno::EINVAL);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use open_flags::{O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};

    /// A tree holding `paths` (those ending in `/` are directories, made in order; the
    /// files hold their own path).
    fn tree_with(paths: &[&str]) -> Tree {
        let mut tree = Tree::new();
        for path in paths {
            match path.strip_suffix('/') {
                Some(directory) => {
                    tree.mkdir(directory).unwrap();
                }
                None => {
                    let id = tree.open(path, O_WRONLY | O_CREAT).unwrap();
                    tree.write(id, 0, path.as_bytes()).unwrap();
                    tree.close(id);
                }
            }
        }
        tree
    }

    fn listing(tree: &Tree, path: &str) -> Vec<std::string::String> {
        let id = tree.lookup(path).unwrap();
        tree.names(id).unwrap().map(std::string::String::from).collect()
    }

    fn contents(tree: &mut Tree, path: &str) -> Vec<u8> {
        let id = tree.open(path, O_RDONLY).unwrap();
        let data = tree.data(id).unwrap().to_vec();
        tree.close(id);
        data
    }

    #[test]
    fn files_are_made_written_and_read_in_nested_directories() {
        let mut tree = tree_with(&["a/", "a/b/", "a/b/c/", "top"]);
        let id = tree.open("a/b/c/f", O_RDWR | O_CREAT).unwrap();
        assert_eq!(tree.write(id, 0, b"deep"), Ok(4));
        assert_eq!(tree.write(id, 6, b"!"), Ok(1), "past the end: zeros between");
        assert_eq!(tree.data(id), Ok(&b"deep\0\0!"[..]));
        tree.close(id);
        assert_eq!(contents(&mut tree, "a/b/c/f"), b"deep\0\0!");
        assert_eq!(listing(&tree, ""), ["a", "top"]);
        assert_eq!(listing(&tree, "a"), ["b"]);
        assert_eq!(listing(&tree, "a/b/c"), ["f"]);
        assert_eq!(tree.count(), 5, "three directories and two files");
        // The same name in two directories is two files.
        let other = tree.open("a/top", O_WRONLY | O_CREAT).unwrap();
        assert_ne!(Some(other), tree.lookup("top").ok());
        tree.close(other);
        assert_eq!(contents(&mut tree, "top"), b"top");
    }

    #[test]
    fn a_missing_directory_is_enoent_and_a_file_on_the_way_enotdir() {
        let mut tree = tree_with(&["d/", "d/f"]);
        assert_eq!(tree.open("nosuch/f", O_WRONLY | O_CREAT), Err(Errno::ENOENT));
        assert_eq!(tree.open("d/nosuch", O_RDONLY), Err(Errno::ENOENT));
        assert_eq!(tree.open("d/f/g", O_WRONLY | O_CREAT), Err(Errno::ENOTDIR));
        assert_eq!(tree.open("d/f/g", O_RDONLY), Err(Errno::ENOTDIR));
        assert_eq!(tree.mkdir("nosuch/e"), Err(Errno::ENOENT));
        assert_eq!(tree.mkdir("d/f/e"), Err(Errno::ENOTDIR));
        assert_eq!(tree.unlink("d/f/g"), Err(Errno::ENOTDIR));
        assert_eq!(tree.rmdir("d/f/g"), Err(Errno::ENOTDIR));
        assert_eq!(tree.rmdir("nosuch/e"), Err(Errno::ENOENT));
        assert_eq!(tree.rename("d/f/g", "x"), Err(Errno::ENOTDIR));
        assert_eq!(tree.rename("d/f", "d/f/g"), Err(Errno::ENOTDIR));
        assert_eq!(tree.rename("d/f", "nosuch/g"), Err(Errno::ENOENT));
        assert_eq!(tree.rename("nosuch", "x"), Err(Errno::ENOENT));
        assert_eq!(tree.count(), 2, "nothing was made on the way");
    }

    #[test]
    fn paths_a_client_sends_itself_are_checked() {
        let mut tree = tree_with(&["d/"]);
        for bad in ["d//f", "d/./f", "d/../f", "/d", "d/", ".", ".."] {
            assert_eq!(tree.open(bad, O_WRONLY | O_CREAT), Err(Errno::EINVAL), "{bad}");
            assert_eq!(tree.mkdir(bad), Err(Errno::EINVAL), "{bad}");
            assert_eq!(tree.rename("d", bad), Err(Errno::EINVAL), "{bad}");
        }
        let long = "x".repeat(MAX_PATH + 1);
        assert_eq!(tree.open(&long, O_WRONLY | O_CREAT), Err(Errno::ENAMETOOLONG));
        assert_eq!(tree.mkdir(&long), Err(Errno::ENAMETOOLONG));
        assert_eq!(tree.rename("d", &long), Err(Errno::ENAMETOOLONG));
        let longest = std::format!("d/{}", "x".repeat(MAX_PATH - 2));
        assert!(tree.mkdir(&longest).is_ok(), "a path of MAX_PATH bytes");
    }

    #[test]
    fn directories_are_opened_to_read_only() {
        let mut tree = tree_with(&["d/", "d/f"]);
        for flags in [O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_WRONLY | O_CREAT] {
            assert_eq!(tree.open("d", flags), Err(Errno::EISDIR), "{flags:#x}");
            assert_eq!(tree.open("", flags), Err(Errno::EISDIR), "the root, {flags:#x}");
        }
        assert_eq!(tree.open("d", O_RDONLY | O_CREAT | O_EXCL), Err(Errno::EEXIST));
        assert_eq!(tree.open("d", O_RDONLY | O_TRUNC), Err(Errno::EACCES));
        let id = tree.open("d", O_RDONLY).unwrap();
        assert!(tree.is_directory(id));
        assert_eq!(tree.data(id), Err(Errno::EISDIR));
        assert_eq!(tree.write(id, 0, b"x"), Err(Errno::EISDIR));
        assert_eq!(tree.truncate(id, 0), Err(Errno::EISDIR));
        tree.close(id);
        let file = tree.lookup("d/f").unwrap();
        assert_eq!(tree.names(file).err(), Some(Errno::ENOTDIR));
    }

    #[test]
    fn open_flags_keep_their_meaning() {
        let mut tree = tree_with(&["f"]);
        assert_eq!(tree.open("f", O_WRONLY | O_CREAT | O_EXCL), Err(Errno::EEXIST));
        assert_eq!(tree.open("f", O_RDONLY | O_TRUNC), Err(Errno::EACCES));
        assert_eq!(tree.open("g", O_RDONLY), Err(Errno::ENOENT));
        let id = tree.open("f", O_WRONLY | O_TRUNC | O_APPEND).unwrap();
        assert_eq!(tree.data(id), Ok(&b""[..]));
        assert_eq!(tree.total(), 0, "O_TRUNC gave the bytes back");
        assert_eq!(tree.write(id, 100, b""), Ok(0), "a write of nothing, even past the end");
        assert_eq!(tree.data(id), Ok(&b""[..]));
        tree.close(id);
    }

    #[test]
    fn rmdir_removes_only_empty_directories() {
        let mut tree = tree_with(&["d/", "d/e/", "d/f"]);
        assert_eq!(tree.rmdir("d"), Err(Errno::ENOTEMPTY));
        assert_eq!(tree.rmdir("d/f"), Err(Errno::ENOTDIR));
        assert_eq!(tree.rmdir(""), Err(Errno::EBUSY), "the root");
        assert_eq!(tree.rmdir("d/nosuch"), Err(Errno::ENOENT));
        assert_eq!(tree.rmdir("d/e"), Ok(()));
        assert_eq!(tree.unlink("d/f"), Ok(()));
        assert_eq!(tree.rmdir("d"), Ok(()));
        assert_eq!(tree.count(), 0);
        assert_eq!(listing(&tree, ""), std::vec::Vec::<std::string::String>::new());
        assert_eq!(tree.lookup("d"), Err(Errno::ENOENT));
    }

    #[test]
    fn unlink_refuses_directories_with_eperm() {
        let mut tree = tree_with(&["d/"]);
        assert_eq!(tree.unlink("d"), Err(Errno::EPERM));
        assert_eq!(tree.unlink(""), Err(Errno::EPERM), "the root");
        assert_eq!(tree.unlink("nosuch"), Err(Errno::ENOENT));
        assert!(tree.lookup("d").is_ok());
    }

    #[test]
    fn mkdir_where_something_is_is_eexist() {
        let mut tree = tree_with(&["d/", "f"]);
        assert_eq!(tree.mkdir("d"), Err(Errno::EEXIST));
        assert_eq!(tree.mkdir("f"), Err(Errno::EEXIST));
        assert_eq!(tree.mkdir(""), Err(Errno::EEXIST), "the root");
        assert_eq!(tree.count(), 2);
    }

    #[test]
    fn rename_moves_and_replaces_files() {
        let mut tree = tree_with(&["a", "d/", "d/b", "c"]);
        let b = tree.lookup("d/b").unwrap();
        let held = tree.open("d/b", O_RDONLY).unwrap();
        assert_eq!(tree.rename("a", "d/b"), Ok(()), "over an existing file");
        assert_eq!(contents(&mut tree, "d/b"), b"a");
        assert_eq!(tree.lookup("a"), Err(Errno::ENOENT));
        assert_eq!(tree.data(held), Ok(&b"d/b"[..]), "the replaced file lives on for its open");
        assert_eq!(tree.count(), 4, "until it is closed");
        tree.close(held);
        assert_eq!(tree.count(), 3);
        assert_eq!(tree.data(b), Err(Errno::EBADF), "then it is gone");
        assert_eq!(tree.rename("c", "d/new"), Ok(()), "to a new name in another directory");
        assert_eq!(contents(&mut tree, "d/new"), b"c");
        assert_eq!(tree.rename("d/new", "d/new"), Ok(()), "onto itself: nothing");
        assert_eq!(contents(&mut tree, "d/new"), b"c");
        assert_eq!(listing(&tree, "d"), ["b", "new"]);
        assert_eq!(listing(&tree, ""), ["d"]);
    }

    #[test]
    fn rename_follows_posix_for_directories() {
        let mut tree = tree_with(&["d/", "d/e/", "d/e/f", "empty/", "full/", "full/x", "file"]);
        assert_eq!(tree.rename("d", "d/e/g"), Err(Errno::EINVAL), "beneath itself");
        assert_eq!(tree.rename("d", "d/g"), Err(Errno::EINVAL), "into itself");
        assert_eq!(tree.rename("d", "file"), Err(Errno::ENOTDIR), "a directory onto a file");
        assert_eq!(tree.rename("file", "empty"), Err(Errno::EISDIR), "a file onto a directory");
        assert_eq!(tree.rename("d", "full"), Err(Errno::ENOTEMPTY), "onto a directory that holds something");
        assert_eq!(tree.rename("d/e/f", "d"), Err(Errno::EISDIR));
        assert_eq!(tree.rename("d/e", "d"), Err(Errno::ENOTEMPTY), "onto its own parent");
        assert_eq!(tree.rename("", "x"), Err(Errno::EBUSY), "the root");
        assert_eq!(tree.rename("d", ""), Err(Errno::EBUSY), "onto the root");
        assert_eq!(tree.rename("d", "d"), Ok(()));
        assert_eq!(tree.rename("dd", "d2"), Err(Errno::ENOENT));
        // A name that starts like the directory's is not beneath it.
        assert_eq!(tree.rename("d", "dd"), Ok(()));
        assert_eq!(contents(&mut tree, "dd/e/f"), b"d/e/f", "what it holds moves with it");
        let before = tree.count();
        assert_eq!(tree.rename("dd", "empty"), Ok(()), "onto an empty directory: replaced");
        assert_eq!(tree.count(), before - 1);
        assert_eq!(listing(&tree, "empty"), ["e"]);
        assert_eq!(tree.rename("empty/e", "e"), Ok(()), "up a level");
        assert_eq!(listing(&tree, ""), ["e", "empty", "file", "full"]);
    }

    #[test]
    fn an_open_file_keeps_working_when_its_directory_is_renamed_or_removed() {
        let mut tree = tree_with(&["d/", "d/f"]);
        let file = tree.open("d/f", O_RDWR).unwrap();
        let directory = tree.open("d", O_RDONLY).unwrap();
        tree.rename("d", "moved").unwrap();
        assert_eq!(tree.write(file, 3, b"+more"), Ok(5));
        assert_eq!(contents(&mut tree, "moved/f"), b"d/f+more", "the same file, under its new path");
        assert_eq!(tree.names(directory).unwrap().collect::<Vec<_>>(), ["f"], "the open directory moved too");
        // Removed: the file, then its directory; both live on for their opens.
        tree.unlink("moved/f").unwrap();
        tree.rmdir("moved").unwrap();
        assert_eq!(tree.lookup("moved"), Err(Errno::ENOENT));
        assert_eq!(tree.write(file, 0, b"D"), Ok(1));
        assert_eq!(tree.data(file), Ok(&b"D/f+more"[..]));
        assert_eq!(tree.names(directory).unwrap().count(), 0, "a removed directory lists nothing");
        assert_eq!(tree.count(), 2);
        tree.close(file);
        tree.close(directory);
        assert_eq!((tree.count(), tree.total()), (0, 0), "gone with their last close, bytes and all");
        // A new directory of the old name is another.
        tree.mkdir("moved").unwrap();
        assert_eq!(listing(&tree, "moved").len(), 0);
    }

    #[test]
    fn directories_count_against_max_files() {
        let mut tree = Tree::new();
        for i in 0..MAX_FILES / 2 {
            tree.mkdir(&std::format!("d{i}")).unwrap();
        }
        for i in 0..MAX_FILES / 2 {
            let id = tree.open(&std::format!("d0/f{i}"), O_WRONLY | O_CREAT).unwrap();
            tree.close(id);
        }
        assert_eq!(tree.count(), MAX_FILES);
        assert_eq!(tree.mkdir("one-more"), Err(Errno::ENOSPC));
        assert_eq!(tree.open("d1/one-more", O_WRONLY | O_CREAT), Err(Errno::ENOSPC));
        assert_eq!(tree.lookup("d1/one-more"), Err(Errno::ENOENT), "no entry left behind");
        assert_eq!(tree.rename("d1", "d0/moved"), Ok(()), "a rename makes nothing");
        assert_eq!(tree.rmdir("d0/moved"), Ok(()));
        assert!(tree.mkdir("one-more").is_ok(), "room once one went");
    }

    #[test]
    fn file_bytes_are_bounded_and_given_back() {
        let mut tree = tree_with(&["d/"]);
        let a = tree.open("d/a", O_RDWR | O_CREAT).unwrap();
        let b = tree.open("b", O_RDWR | O_CREAT).unwrap();
        assert_eq!(tree.truncate(a, MAX_FILE_SIZE as u64 + 1), Err(Errno::EFBIG));
        assert_eq!(tree.truncate(a, 1 << 40), Err(Errno::EFBIG));
        assert_eq!(tree.write(a, usize::MAX, b"x"), Err(Errno::EFBIG));
        tree.truncate(a, MAX_FILE_SIZE as u64).unwrap();
        tree.truncate(b, (MAX_TOTAL_BYTES - MAX_FILE_SIZE) as u64).unwrap();
        assert_eq!(tree.total(), MAX_TOTAL_BYTES);
        let c = tree.open("d/c", O_RDWR | O_CREAT).unwrap();
        assert_eq!(tree.write(c, 0, b"x"), Err(Errno::ENOSPC), "a byte past all files' total");
        assert_eq!(tree.data(c), Ok(&b""[..]), "unchanged");
        tree.close(c);
        assert_eq!(tree.truncate(a, 5), Ok(()));
        assert_eq!(tree.total(), MAX_TOTAL_BYTES - MAX_FILE_SIZE + 8, "5 bytes take a block of 8");
        tree.close(a);
        tree.unlink("d/a").unwrap();
        tree.close(b);
        tree.unlink("b").unwrap();
        assert_eq!(tree.total(), 0);
    }

    #[test]
    fn footprints_are_power_of_two_blocks() {
        assert_eq!(footprint(0), 0);
        assert_eq!(footprint(5), 8);
        assert_eq!(footprint(4096), 4096);
        assert_eq!(footprint(4097), 8192);
    }

    #[test]
    fn a_fifo_may_be_made_where_a_directory_has_its_name_free() {
        let t = tree_with(&["d/", "d/file"]);
        assert_eq!(t.may_make("f"), Ok(()));
        assert_eq!(t.may_make("d/f"), Ok(()));
        assert_eq!(t.may_make("d"), Err(Errno::EEXIST));
        assert_eq!(t.may_make("d/file"), Err(Errno::EEXIST));
        assert_eq!(t.may_make(""), Err(Errno::EEXIST), "the root");
        assert_eq!(t.may_make("missing/f"), Err(Errno::ENOENT));
        assert_eq!(t.may_make("d/file/f"), Err(Errno::ENOTDIR));
        assert_eq!(t.lookup("f"), Err(Errno::ENOENT), "nothing made");
    }
}
