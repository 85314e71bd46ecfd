//! The pathname space: servers attach path prefixes; a path resolves to the server whose
//! prefix is its longest match on a component boundary (`/dev/ser` does not match
//! `/dev/serial`). A prefix attached as a directory also owns everything beneath it; a
//! plain prefix owns only itself. Listing a directory shows the next component of every
//! prefix beneath it, so `ls /dev` shows `/dev/shmem` and `/dev/mqueue` wherever their
//! servers are.

use crate::Owner;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use userlib::Errno;

/// One attached prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    /// Its server.
    pub owner: Owner,
    /// Whether it owns what is beneath it.
    pub directory: bool,
    /// The server's handle for it.
    pub handle: u32,
}

/// Most prefixes attached at once: the space cannot grow without end.
pub const MAX_PATHS: usize = 8192;
/// Most prefixes one client may attach (the pipe server attaches one per FIFO, up to
/// 1,024).
pub const MAX_PATHS_PER_CLIENT: usize = 2048;

/// Where proc serves shared-memory objects.
pub const SHMEM: &str = "/dev/shmem";
/// The null device, which proc serves.
pub const NULL_DEVICE: &str = "/dev/null";
/// The boot image's programs, as QNX's procnto lists them.
pub const BOOT_DIRECTORY: &str = "/proc/boot";
/// The name service's directories (`/dev/name/local`, `/dev/name/global`).
pub const NAME_DIRECTORY: &str = "/dev/name";

/// The attached prefixes.
#[derive(Debug, Default)]
pub struct PathSpace {
    mounts: BTreeMap<String, Mount>,
    /// Prefixes the system's programs held when they ended: theirs while they start
    /// again (a respawned server attaches them anew).
    reserved: BTreeSet<String>,
}

/// Whether `path` is `prefix` or lies beneath it.
fn within(path: &str, prefix: &str) -> bool {
    prefix == "/" || path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The prefixes `path` lies strictly beneath, on component boundaries (`/a/b`: `/`, `/a`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(|(i, _)| if i == 0 { "/" } else { &path[..i] }).filter(move |p| *p != path)
}

impl PathSpace {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a process `pid` may attach `path` (already checked); `system`: proc started
    /// it as one of the system's programs (the boot image's, with I/O privilege).
    ///
    /// proc's own places are nobody else's, at or beneath them: `EBUSY` (`/dev/shmem`,
    /// `/dev/null`, `/dev/name`; a process attached at `/dev/shmem/buf` took the opens of
    /// that object), `EROFS` (`/proc/boot`, what the machine booted). The system's
    /// places are the system's (`EPERM` for any other program, as QNX asks the
    /// privileged `PROCMGR_AID_PATHSPACE` ability to add to the space): `/`, which takes
    /// every path no server has; anything beneath another process's directory
    /// (`/dev/mqueue/q` took the opens of that queue from mqueue); and a prefix a system
    /// program held when it ended (`/dev/mqueue`, taken in the moment mqueue restarted
    /// after a `kill` anyone may send, answered every queue's opens), or one above or
    /// beneath such a prefix (`/dev` as a directory took those opens as well, and
    /// `/dev/mqueue/q` kept queue `q`'s after mqueue came back). Elsewhere any program
    /// may serve a prefix of its own (a spawned ramfs at `/test`).
    pub fn may_attach(&self, path: &str, pid: u32, system: bool) -> Result<(), Errno> {
        if within(path, BOOT_DIRECTORY) {
            return Err(Errno::EROFS);
        }
        if [SHMEM, NULL_DEVICE, NAME_DIRECTORY].iter().any(|p| within(path, p)) {
            return Err(Errno::EBUSY);
        }
        if system {
            return Ok(());
        }
        let beneath_another = match self.resolve(path) {
            Ok((mount, matched)) => mount.owner.pid != pid && matched < path.len(),
            Err(_) => false,
        };
        let near_reserved = self.reserved.iter().any(|r| within(path, r) || within(r, path));
        if path == "/" || beneath_another || near_reserved {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Attaches `path` (already checked); `EBUSY` if it is attached already, `EMFILE`
    /// when its client has attached [`MAX_PATHS_PER_CLIENT`], `ENFILE` when the space
    /// holds [`MAX_PATHS`].
    pub fn attach(&mut self, path: &str, mount: Mount) -> Result<(), Errno> {
        if self.mounts.contains_key(path) {
            return Err(Errno::EBUSY);
        }
        if self.mounts.values().filter(|m| m.owner.scoid == mount.owner.scoid).count() >= MAX_PATHS_PER_CLIENT {
            return Err(Errno::EMFILE);
        }
        if self.mounts.len() >= MAX_PATHS {
            return Err(Errno::ENFILE);
        }
        self.reserved.remove(path);
        self.mounts.insert(String::from(path), mount);
        Ok(())
    }

    /// Detaches `path`, which only the client that attached it may do.
    pub fn detach(&mut self, path: &str, scoid: u32) -> Result<(), Errno> {
        match self.mounts.get(path) {
            None => Err(Errno::ENOENT),
            Some(m) if m.owner.scoid != scoid => Err(Errno::EPERM),
            Some(_) => {
                self.mounts.remove(path);
                Ok(())
            }
        }
    }

    /// Drops every prefix of the client behind `scoid`, keeping them for it if
    /// `system` says its process is one of the system's programs ([`may_attach`]) —
    /// except one beneath another process's directory or a prefix kept already, which
    /// that guards: kept as well, such prefixes grew without end (make 1,024 FIFOs in
    /// `/tmp`, `kill` pipe, again and again, and proc ran out of memory).
    ///
    /// [`may_attach`]: Self::may_attach
    pub fn forget(&mut self, scoid: u32, system: impl Fn(u32) -> bool) {
        let mut ended = Vec::new();
        self.mounts.retain(|path, m| {
            let keep = m.owner.scoid != scoid;
            if !keep && system(m.owner.pid) {
                ended.push(path.clone());
            }
            keep
        });
        // (In order: `/a` is kept before `/a/b` is looked at.)
        for path in ended {
            let guarded =
                ancestors(&path).any(|p| self.reserved.contains(p) || self.mounts.get(p).is_some_and(|m| m.directory));
            if !guarded {
                self.reserved.insert(path);
            }
        }
    }

    /// The server of `path` and the length of its prefix.
    pub fn resolve(&self, path: &str) -> Result<(Mount, usize), Errno> {
        self.mounts
            .iter()
            .filter(|(prefix, m)| within(path, prefix) && (m.directory || path == prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, m)| (*m, if prefix == "/" { 1 } else { prefix.len() }))
            .ok_or(Errno::ENOENT)
    }

    /// The next component of every prefix strictly beneath directory `dir`, sorted, once each.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .mounts
            .keys()
            .filter(|p| p.as_str() != dir && within(p, dir))
            .filter_map(|p| {
                let rest = if dir == "/" { &p[1..] } else { &p[dir.len() + 1..] };
                rest.split('/').next().map(String::from)
            })
            .collect();
        // (Sorted again: the prefixes' order puts `a-b` between `a` and `a/x`.)
        names.sort();
        names.dedup();
        names
    }

    /// Whether anything is attached at or beneath `dir` (so it exists as a directory).
    pub fn has_beneath(&self, dir: &str) -> bool {
        self.mounts.keys().any(|p| within(p, dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(pid: u32) -> Owner {
        Owner { pid, chid: 1, scoid: 0x4000_0000 | pid }
    }

    fn mount(pid: u32, directory: bool) -> Mount {
        Mount { owner: owner(pid), directory, handle: pid * 10 }
    }

    #[test]
    fn a_client_and_the_space_hold_a_bounded_number_of_prefixes() {
        let mut s = PathSpace::new();
        for i in 0..MAX_PATHS_PER_CLIENT {
            s.attach(&std::format!("/a/{i}"), mount(1, false)).unwrap();
        }
        assert_eq!(s.attach("/a/more", mount(1, false)), Err(Errno::EMFILE));
        for (c, i) in
            (2..=MAX_PATHS / MAX_PATHS_PER_CLIENT).flat_map(|c| (0..MAX_PATHS_PER_CLIENT).map(move |i| (c, i)))
        {
            s.attach(&std::format!("/{c}/{i}"), mount(c as u32, false)).unwrap();
        }
        assert_eq!(s.attach("/full", mount(99, false)), Err(Errno::ENFILE));
        s.forget(owner(1).scoid, |_| false);
        s.attach("/full", mount(99, false)).unwrap();
    }

    #[test]
    fn the_longest_prefix_on_a_component_boundary_wins() {
        let mut s = PathSpace::new();
        s.attach("/dev", mount(2, true)).unwrap();
        s.attach("/dev/ser1", mount(3, false)).unwrap();
        s.attach("/dev/shmem", mount(1, true)).unwrap();
        assert_eq!(s.attach("/dev/ser1", mount(4, false)), Err(Errno::EBUSY));
        let (m, n) = s.resolve("/dev/shmem/pic").unwrap();
        assert_eq!((m.owner.pid, n), (1, "/dev/shmem".len()));
        assert_eq!(s.resolve("/dev/ser1").unwrap().0.owner.pid, 3);
        assert_eq!(s.resolve("/dev/ser10").unwrap().0.owner.pid, 2, "not a boundary: /dev wins");
        assert_eq!(s.resolve("/dev/ser1/x").unwrap().0.owner.pid, 2, "ser1 is not a directory");
        assert_eq!(s.resolve("/tmp/x"), Err(Errno::ENOENT));
        s.attach("/", mount(9, true)).unwrap();
        assert_eq!(s.resolve("/tmp/x").unwrap(), (mount(9, true), 1));
    }

    #[test]
    fn ordinary_programs_attach_only_places_of_their_own() {
        // An ordinary program took a server's prefix while that server restarted (`kill`
        // of mqueue, then `/dev/mqueue` attached before the new mqueue could), or one
        // beneath it (`/dev/mqueue/q` took that queue's opens), or `/` (every path no
        // server has): in QNX only a process with the privileged `PROCMGR_AID_PATHSPACE`
        // ability may add to the space. (A review; pids 4 mqueue, 9 ramfs, 20 a program.)
        let mut s = PathSpace::new();
        s.attach("/dev/mqueue", mount(4, true)).unwrap();
        s.attach("/tmp", mount(9, true)).unwrap();
        for path in ["/dev/mqueue/q", "/", "/tmp/x"] {
            assert_eq!(s.may_attach(path, 20, false), Err(Errno::EPERM), "{path}");
            assert_eq!(s.may_attach(path, 7, true), Ok(()), "{path}: the system's programs may");
        }
        assert_eq!(s.may_attach("/tmp/x", 9, false), Ok(()), "beneath its own directory");
        for path in ["/test", "/dev/console2", "/dev/mqueuex"] {
            assert_eq!(s.may_attach(path, 20, false), Ok(()), "{path}: nobody's");
        }
        // mqueue ends: its prefix is kept for it while it starts again.
        s.forget(owner(4).scoid, |pid| pid == 4);
        assert_eq!(s.resolve("/dev/mqueue/q"), Err(Errno::ENOENT), "gone from the space");
        assert_eq!(s.may_attach("/dev/mqueue", 20, false), Err(Errno::EPERM), "an ordinary program");
        assert_eq!(s.may_attach("/dev/mqueue", 21, true), Ok(()), "the new mqueue");
        // Nor above or beneath it: `/dev` as a directory took the opens of every queue
        // while mqueue restarted, and `/dev/mqueue/q` kept queue q's after it came back.
        // (A review: both were allowed.)
        for path in ["/dev", "/dev/mqueue/q", "/dev/mqueue/q/r"] {
            assert_eq!(s.may_attach(path, 20, false), Err(Errno::EPERM), "{path}");
            assert_eq!(s.may_attach(path, 21, true), Ok(()), "{path}: the system's programs may");
        }
        assert_eq!(s.may_attach("/dev/mqueues", 20, false), Ok(()), "not beneath: nobody's");
        s.attach("/dev/mqueue", mount(21, true)).unwrap();
        s.forget(owner(21).scoid, |_| false);
        assert_eq!(s.may_attach("/dev/mqueue", 20, false), Ok(()), "an ordinary program's prefix is kept for nobody");
        // proc's own places are nobody's, system or not.
        for system in [false, true] {
            for path in ["/dev/shmem", "/dev/shmem/buf", "/dev/null", "/dev/null/x", "/dev/name", "/dev/name/local/a"] {
                assert_eq!(s.may_attach(path, 7, system), Err(Errno::EBUSY), "{path}");
            }
            assert_eq!(s.may_attach("/proc/boot", 7, system), Err(Errno::EROFS));
            assert_eq!(s.may_attach("/proc/boot/shell", 7, system), Err(Errno::EROFS));
        }
        // On a component boundary only: these are nobody's.
        for path in ["/dev/shmemx", "/dev/nullx", "/dev/names", "/proc/bootx", "/proc"] {
            assert_eq!(s.may_attach(path, 20, false), Ok(()), "{path}");
        }
    }

    #[test]
    fn what_a_system_program_held_is_kept_within_bounds() {
        // A review: every prefix a system program held when it ended was kept for it,
        // forever. Anyone may make FIFOs in `/tmp` (each one pipe's prefix) and `kill`
        // pipe, which comes back: 1,024 FIFOs a round, without end, grew proc's memory
        // until it ran out. (pids 9 ramfs at `/tmp`, 100 and on pipe, each round a new one.)
        let mut s = PathSpace::new();
        s.attach("/tmp", mount(9, true)).unwrap();
        for round in 0..20u32 {
            let pipe = 100 + round;
            s.attach("/dev/pipe", mount(pipe, true)).unwrap();
            for i in 0..100 {
                s.attach(&std::format!("/tmp/fifo-{round}-{i}"), mount(pipe, false)).unwrap();
            }
            s.forget(owner(pipe).scoid, |_| true);
        }
        assert_eq!(s.reserved.len(), 1, "only /dev/pipe: /tmp guards its FIFOs");
        assert_eq!(s.may_attach("/tmp/fifo-0-0", 20, false), Err(Errno::EPERM), "beneath ramfs");
        assert_eq!(s.may_attach("/dev/pipe", 20, false), Err(Errno::EPERM), "pipe's, while it restarts");
        // ramfs ends too: `/tmp` is kept for it, and guards what is beneath.
        s.forget(owner(9).scoid, |_| true);
        assert_eq!(s.may_attach("/tmp/fifo-0-0", 20, false), Err(Errno::EPERM), "beneath ramfs's kept /tmp");
        assert_eq!(s.reserved.len(), 2);
    }

    #[test]
    fn listing_shows_the_next_component_and_owners_clean_up() {
        let mut s = PathSpace::new();
        s.attach("/dev/mqueue", mount(4, true)).unwrap();
        s.attach("/dev/shmem", mount(1, true)).unwrap();
        s.attach("/dev/pipe", mount(5, false)).unwrap();
        s.attach("/srv/a/b", mount(5, false)).unwrap();
        assert_eq!(s.list("/dev"), ["mqueue", "pipe", "shmem"]);
        assert_eq!(s.list("/"), ["dev", "srv"]);
        assert_eq!(s.list("/srv"), ["a"]);
        // Once each, whatever the prefixes' order (`a-b` sorts between `a` and `a/x`).
        s.attach("/srv/a-b", mount(6, false)).unwrap();
        s.attach("/srv/a/x", mount(6, false)).unwrap();
        assert_eq!(s.list("/srv"), ["a", "a-b"]);
        s.forget(owner(6).scoid, |_| false);
        assert!(s.list("/dev/mqueue").is_empty());
        assert!(s.has_beneath("/srv/a") && !s.has_beneath("/sr"));
        assert_eq!(s.detach("/dev/pipe", owner(4).scoid), Err(Errno::EPERM));
        s.forget(owner(5).scoid, |_| false);
        assert_eq!(s.list("/"), ["dev"]);
        assert_eq!(s.list("/dev"), ["mqueue", "shmem"]);
        s.detach("/dev/mqueue", owner(4).scoid).unwrap();
        assert_eq!(s.detach("/dev/mqueue", owner(4).scoid), Err(Errno::ENOENT));
    }
}
