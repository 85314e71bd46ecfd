//! Shared-memory objects as proc keeps them: a name (or none: `SHM_ANON`), the kernel
//! memory object behind it, and who still refers to it. Each name, open file and
//! outstanding handle is a reference; when the last goes, proc closes its kernel handle
//! (the kernel frees the frames once no mapping remains either).
//!
//! Handles (`shm_create_handle`) let one named process open one object once, with at
//! most the access they grant.
//!
//! Each object counts against the process that created it until it is freed (a named
//! one: unlinked and closed by all) or that process ends, so that no one process can
//! take the whole table from the others (see [`MAX_OBJECTS_PER_CREATOR`]).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::msg::open_flags::{self, O_CREAT, O_EXCL, O_TRUNC};
use userlib::Errno;

/// One object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object<K> {
    /// The kernel memory object (proc's handle).
    pub kernel: K,
    /// Its size in bytes, as `ftruncate` set it.
    pub size: u64,
    /// Its name, until unlinked (`None` for anonymous objects).
    pub name: Option<String>,
    /// Open files and outstanding handles.
    pub references: u32,
    /// The pid of the process that created it, while that process lives: the object
    /// counts against it ([`MAX_OBJECTS_PER_CREATOR`]).
    pub creator: Option<u32>,
}

/// What the caller must do after a table change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release<K> {
    /// Nothing.
    Keep,
    /// Close this kernel handle: the object is unreferenced.
    Close(K),
}

/// Most objects, named or not (`ENFILE` beyond, as POSIX's `shm_open` says): a named one
/// outlives its maker, and each holds one of the kernel's 4,095 memory objects, which
/// loading a program needs too (a loop of `shm_open` once left no room to spawn).
pub const MAX_OBJECTS: usize = 1024;
/// Most objects one process may have created that still exist (`ENOSPC` beyond, as
/// POSIX's `shm_open` has "insufficient space for the creation of the new object":
/// `EMFILE` says the caller's descriptors ran out, and named objects hold none). A
/// review found two processes (anonymous objects) or one (named ones, which outlive it)
/// filling the table, leaving everyone else `ENFILE` until the objects were unlinked.
pub const MAX_OBJECTS_PER_CREATOR: usize = 256;
/// Most handles (`shm_create_handle`) not yet used, together: each holds its object and
/// a table entry until the process it names opens it, or its maker disconnects.
pub const MAX_GRANTS: usize = 4096;
/// Most unused handles one client may have made.
pub const MAX_GRANTS_PER_CLIENT: usize = 256;

/// A grant made by `shm_create_handle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    object: u32,
    pid: u32,
    flags: u32,
    /// The client that made it (its server connection to proc).
    maker: u32,
}

/// Every object, by proc's id.
#[derive(Debug)]
pub struct ShmTable<K> {
    objects: BTreeMap<u32, Object<K>>,
    grants: BTreeMap<u64, Grant>,
    next_id: u32,
    next_grant: u64,
}

impl<K: Copy> Default for ShmTable<K> {
    fn default() -> Self {
        Self { objects: BTreeMap::new(), grants: BTreeMap::new(), next_id: 1, next_grant: 0x5348_4d00_0000_0001 }
    }
}

impl<K: Copy> ShmTable<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object named `name`.
    pub fn find(&self, name: &str) -> Option<u32> {
        self.objects.iter().find(|(_, o)| o.name.as_deref() == Some(name)).map(|(id, _)| *id)
    }

    /// Object `id`.
    pub fn get(&self, id: u32) -> Option<&Object<K>> {
        self.objects.get(&id)
    }

    /// Object `id`, to change its size.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Object<K>> {
        self.objects.get_mut(&id)
    }

    /// What process `pid` opening `name` with `flags` needs: `Ok(Some(id))` an existing
    /// object (opened: referenced once more), `Ok(None)` a new one must be created (then
    /// [`Self::insert`]), or the error (`ENOENT` without `O_CREAT`, `EEXIST` with
    /// `O_CREAT | O_EXCL`, or what [`Self::may_create`] says). The caller truncates on
    /// `O_TRUNC` (which needs write access).
    pub fn open(&mut self, name: &str, flags: u32, pid: u32) -> Result<Option<u32>, Errno> {
        if flags & O_TRUNC != 0 && !open_flags::writable(flags) {
            return Err(Errno::EACCES);
        }
        match self.find(name) {
            Some(_) if flags & O_CREAT != 0 && flags & O_EXCL != 0 => Err(Errno::EEXIST),
            Some(id) => {
                self.objects.get_mut(&id).expect("found").references += 1;
                Ok(Some(id))
            }
            None if flags & O_CREAT != 0 => self.may_create(pid).map(|_| None),
            None => Err(Errno::ENOENT),
        }
    }

    /// Whether process `pid` may create an object: `ENOSPC` when
    /// [`MAX_OBJECTS_PER_CREATOR`] of its objects exist, `ENFILE` when [`MAX_OBJECTS`] do.
    pub fn may_create(&self, pid: u32) -> Result<(), Errno> {
        if self.objects.values().filter(|o| o.creator == Some(pid)).count() >= MAX_OBJECTS_PER_CREATOR {
            return Err(Errno::ENOSPC);
        }
        if self.objects.len() >= MAX_OBJECTS {
            return Err(Errno::ENFILE);
        }
        Ok(())
    }

    /// Adds a new, opened object (named or anonymous) that process `creator` made;
    /// returns its id, one no live object has (ids wrap: a new object once replaced a
    /// live one after 2^32).
    pub fn insert(&mut self, kernel: K, name: Option<&str>, creator: u32) -> u32 {
        let mut id = self.next_id;
        while id == 0 || self.objects.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        let object = Object { kernel, size: 0, name: name.map(String::from), references: 1, creator: Some(creator) };
        self.objects.insert(id, object);
        id
    }

    /// One open file of `id` closed.
    pub fn close(&mut self, id: u32) -> Release<K> {
        match self.objects.get_mut(&id) {
            Some(o) => {
                o.references = o.references.saturating_sub(1);
                self.release_if_unused(id)
            }
            None => Release::Keep,
        }
    }

    /// Removes name `name` (the object lives on while referenced).
    pub fn unlink(&mut self, name: &str) -> Result<Release<K>, Errno> {
        let id = self.find(name).ok_or(Errno::ENOENT)?;
        self.objects.get_mut(&id).expect("found").name = None;
        Ok(self.release_if_unused(id))
    }

    fn release_if_unused(&mut self, id: u32) -> Release<K> {
        match self.objects.get(&id) {
            Some(o) if o.references == 0 && o.name.is_none() => {
                let kernel = o.kernel;
                self.objects.remove(&id);
                Release::Close(kernel)
            }
            _ => Release::Keep,
        }
    }

    /// A handle letting process `pid` open object `id` once, with at most the access of
    /// `flags`; `held` are the open flags of the file it is made from (it cannot grant
    /// more than that); `maker` is the client asking. `EMFILE` when it made
    /// [`MAX_GRANTS_PER_CLIENT`] still unused, `ENFILE` when [`MAX_GRANTS`] are.
    pub fn create_handle(&mut self, id: u32, pid: u32, flags: u32, held: u32, maker: u32) -> Result<u64, Errno> {
        if !access_within(flags, held) {
            return Err(Errno::EACCES);
        }
        if self.grants.values().filter(|g| g.maker == maker).count() >= MAX_GRANTS_PER_CLIENT {
            return Err(Errno::EMFILE);
        }
        if self.grants.len() >= MAX_GRANTS {
            return Err(Errno::ENFILE);
        }
        let o = self.objects.get_mut(&id).ok_or(Errno::EBADF)?;
        o.references += 1;
        let handle = self.next_grant;
        self.next_grant = self.next_grant.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
        self.grants.insert(handle, Grant { object: id, pid, flags: flags & open_flags::O_ACCMODE, maker });
        Ok(handle)
    }

    /// Opens with `handle` as process `pid` with `flags`: the handle is spent (whoever
    /// presents it); `EACCES` if it was not made for `pid` or grants less than `flags`.
    pub fn open_handle(&mut self, handle: u64, pid: u32, flags: u32) -> Result<u32, Errno> {
        let grant = *self.grants.get(&handle).ok_or(Errno::EINVAL)?;
        if grant.pid != pid {
            return Err(Errno::EACCES);
        }
        if !access_within(flags, grant.flags) {
            return Err(Errno::EACCES);
        }
        self.grants.remove(&handle);
        // The grant's reference becomes the open file's.
        Ok(grant.object)
    }

    /// Drops the unused handles client `maker` made (it disconnected): their objects'
    /// references go, and `release` gets each object that is left unreferenced.
    pub fn forget(&mut self, maker: u32, mut release: impl FnMut(Release<K>)) {
        let gone: Vec<u64> = self.grants.iter().filter(|(_, g)| g.maker == maker).map(|(h, _)| *h).collect();
        for handle in gone {
            if let Some(grant) = self.grants.remove(&handle) {
                release(self.close(grant.object));
            }
        }
    }

    /// True when some object counts against a process (which may have ended since).
    pub fn has_creators(&self) -> bool {
        self.objects.values().any(|o| o.creator.is_some())
    }

    /// Objects whose creator is not `alive` no longer count against it: it has ended (a
    /// later process given its pid starts with none).
    pub fn disown(&mut self, alive: impl Fn(u32) -> bool) {
        for o in self.objects.values_mut() {
            if o.creator.is_some_and(|pid| !alive(pid)) {
                o.creator = None;
            }
        }
    }

    /// The names of named objects, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.objects.values().filter_map(|o| o.name.as_deref()).collect();
        names.sort();
        names
    }

    /// Objects alive (named or referenced).
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when there is no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Whether open flags `wanted` ask for no access that `allowed` lacks, reading and
/// writing each (a write-only grant gave reading too: a review found a write-only file
/// granting itself a readable open, which it could then map).
fn access_within(wanted: u32, allowed: u32) -> bool {
    (!open_flags::writable(wanted) || open_flags::writable(allowed))
        && (!open_flags::readable(wanted) || open_flags::readable(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use userlib::msg::open_flags::{O_RDONLY, O_RDWR, O_WRONLY};

    #[test]
    fn the_table_is_bounded_and_ids_skip_live_objects() {
        let mut t = ShmTable::<u32>::new();
        // (Processes 0, 1, 2 and 3, each as many as it may create.)
        for i in 0..MAX_OBJECTS {
            let (name, creator) = (alloc::format!("o{i}"), (i / MAX_OBJECTS_PER_CREATOR) as u32);
            assert_eq!(t.open(&name, O_RDWR | O_CREAT, creator), Ok(None));
            t.insert(i as u32, Some(&name), creator);
        }
        assert_eq!(t.open("one-more", O_RDWR | O_CREAT, 9), Err(Errno::ENFILE));
        assert_eq!(t.open("o7", O_RDWR | O_CREAT, 1).map(|o| o.is_some()), Ok(true), "existing ones still open");
        // Past the end of the ids: around to the first free one, never a live one.
        t.next_id = u32::MAX;
        assert_eq!(t.unlink("o0"), Ok(Release::Keep), "o0 (id 1) is still open");
        assert_eq!(t.close(1), Release::Close(0));
        let wrapped = t.insert(99, None, 1);
        assert_eq!(wrapped, u32::MAX);
        assert_eq!(t.insert(100, None, 1), 1, "0 skipped; 1 free again");
        assert_eq!(t.insert(101, None, 1), MAX_OBJECTS as u32 + 1, "2 and on are live");
    }

    #[test]
    fn one_process_creates_a_bounded_share_until_its_objects_go_or_it_ends() {
        let mut t = ShmTable::<u32>::new();
        let create = |t: &mut ShmTable<u32>, name: &str, pid: u32| {
            t.open(name, O_RDWR | O_CREAT, pid).map(|_| t.insert(0, Some(name), pid))
        };
        let mut mine = std::vec::Vec::new();
        for i in 0..MAX_OBJECTS_PER_CREATOR - 1 {
            mine.push(create(&mut t, &alloc::format!("n{i}"), 7).unwrap());
        }
        let anon = t.insert(0, None, 7);
        assert_eq!(t.may_create(7), Err(Errno::ENOSPC), "named and anonymous alike");
        assert_eq!(create(&mut t, "more", 7), Err(Errno::ENOSPC));
        assert_eq!(t.open("n3", O_RDWR | O_CREAT, 7).map(|o| o.is_some()), Ok(true), "its own still open");
        assert_eq!(t.may_create(8), Ok(()), "others still create");
        let theirs = create(&mut t, "theirs", 8).unwrap();
        // Opening another's object is not creating it: it counts against its creator.
        assert_eq!(t.open("theirs", O_RDWR | O_CREAT, 7), Ok(Some(theirs)));
        assert_eq!(t.may_create(7), Err(Errno::ENOSPC));
        // An anonymous object counts until its last close.
        assert_eq!(t.close(anon), Release::Close(0));
        assert_eq!(t.may_create(7), Ok(()));
        t.insert(0, None, 7);
        // A named one until it is unlinked *and* closed by all.
        assert_eq!(t.unlink("n3"), Ok(Release::Keep), "n3 is open twice");
        assert_eq!(t.may_create(7), Err(Errno::ENOSPC), "unlinked, still open");
        assert_eq!(t.close(mine[3]), Release::Keep);
        assert_eq!(t.close(mine[3]), Release::Close(0));
        assert_eq!(t.may_create(7), Ok(()), "unlinked and closed by all");
        // When its creator ends, an object counts against no one (named, it lives on).
        create(&mut t, "last", 7).unwrap();
        assert_eq!(t.may_create(7), Err(Errno::ENOSPC));
        assert!(t.has_creators());
        t.disown(|pid| pid == 8);
        assert_eq!(t.may_create(7), Ok(()), "a new process with pid 7 starts afresh");
        assert!(t.find("last").is_some());
        assert!(t.has_creators(), "8 lives");
        t.disown(|_| false);
        assert!(!t.has_creators());
    }

    #[test]
    fn an_object_lives_until_its_name_and_every_open_are_gone() {
        let mut t = ShmTable::<u32>::new();
        assert_eq!(t.open("pic", O_RDWR, 1), Err(Errno::ENOENT));
        assert_eq!(t.open("pic", O_RDWR | O_CREAT, 1), Ok(None));
        let id = t.insert(77, Some("pic"), 1);
        assert_eq!(t.open("pic", O_RDWR | O_CREAT | O_EXCL, 1), Err(Errno::EEXIST));
        assert_eq!(t.open("pic", O_RDONLY, 1), Ok(Some(id)));
        assert_eq!(t.open("pic", O_RDONLY | O_TRUNC, 1), Err(Errno::EACCES));
        assert_eq!(t.names(), ["pic"]);
        assert_eq!(t.close(id), Release::Keep);
        assert_eq!(t.unlink("pic"), Ok(Release::Keep), "still open once");
        assert_eq!(t.unlink("pic"), Err(Errno::ENOENT));
        assert_eq!(t.open("pic", O_RDWR, 1), Err(Errno::ENOENT), "the name is gone at once");
        assert_eq!(t.close(id), Release::Close(77));
        assert!(t.is_empty());
        // Named and never opened again: unlink frees it.
        assert_eq!(t.open("cfg", O_RDWR | O_CREAT, 1), Ok(None));
        let cfg = t.insert(78, Some("cfg"), 1);
        assert_eq!(t.close(cfg), Release::Keep, "the name keeps it");
        assert_eq!(t.unlink("cfg"), Ok(Release::Close(78)));
    }

    #[test]
    fn handles_open_once_for_the_named_process_only() {
        let mut t = ShmTable::<u32>::new();
        let anon = t.insert(5, None, 1);
        let h = t.create_handle(anon, 7, O_RDONLY, O_RDWR, 1).unwrap();
        assert_eq!(t.close(anon), Release::Keep, "the handle keeps it");
        assert_eq!(t.open_handle(h, 8, O_RDONLY), Err(Errno::EACCES), "made for 7");
        assert_eq!(t.open_handle(h, 7, O_RDWR), Err(Errno::EACCES), "read-only grant");
        assert_eq!(t.open_handle(h, 7, O_RDONLY), Ok(anon));
        assert_eq!(t.open_handle(h, 7, O_RDONLY), Err(Errno::EINVAL), "spent");
        assert_eq!(t.close(anon), Release::Close(5));
        let ro = t.insert(6, None, 1);
        assert_eq!(t.create_handle(ro, 7, O_RDWR, O_RDONLY, 1), Err(Errno::EACCES), "cannot grant more");
        // Reading as well as writing: a write-only grant gives no reading, and a
        // write-only file cannot grant it.
        let h = t.create_handle(ro, 7, O_WRONLY, O_RDWR, 1).unwrap();
        assert_eq!(t.open_handle(h, 7, O_RDWR), Err(Errno::EACCES), "write-only grant");
        assert_eq!(t.open_handle(h, 7, O_RDONLY), Err(Errno::EACCES), "write-only grant");
        assert_eq!(t.open_handle(h, 7, O_WRONLY), Ok(ro));
        assert_eq!(t.create_handle(ro, 7, O_RDWR, O_WRONLY, 1), Err(Errno::EACCES), "a write-only file");
        assert_eq!(t.create_handle(ro, 7, O_RDONLY, O_WRONLY, 1), Err(Errno::EACCES), "a write-only file");
    }

    #[test]
    fn unused_handles_are_bounded_and_go_with_their_maker() {
        let mut t = ShmTable::<u32>::new();
        let id = t.insert(5, None, 1);
        let make = |t: &mut ShmTable<u32>, maker: u32| t.create_handle(id, 7, O_RDONLY, O_RDWR, maker);
        let mine: std::vec::Vec<u64> = (0..MAX_GRANTS_PER_CLIENT).map(|_| make(&mut t, 1).unwrap()).collect();
        assert_eq!(make(&mut t, 1), Err(Errno::EMFILE));
        assert_eq!(t.open_handle(mine[0], 7, O_RDONLY), Ok(id), "a used handle makes room");
        assert!(make(&mut t, 1).is_ok());
        for maker in 2..(MAX_GRANTS / MAX_GRANTS_PER_CLIENT) as u32 + 1 {
            for _ in 0..MAX_GRANTS_PER_CLIENT {
                make(&mut t, maker).unwrap();
            }
        }
        assert_eq!(make(&mut t, 99), Err(Errno::ENFILE));
        // A maker that disconnects takes its unused handles with it: the one used open
        // and the object's own open keep the object; the last references then go.
        let mut released = std::vec::Vec::new();
        for maker in 1..=(MAX_GRANTS / MAX_GRANTS_PER_CLIENT) as u32 {
            t.forget(maker, |r| released.push(r));
        }
        assert!(released.iter().all(|r| *r == Release::Keep));
        assert!(make(&mut t, 99).is_ok());
        t.forget(99, |r| released.push(r));
        assert_eq!(t.close(id), Release::Keep, "the used handle's open holds it");
        assert_eq!(t.close(id), Release::Close(5), "the object's own open was the last");
        let other = t.insert(6, None, 1);
        t.create_handle(other, 7, O_RDONLY, O_RDWR, 3).unwrap();
        assert_eq!(t.close(other), Release::Keep, "the handle holds it");
        let mut last = std::vec::Vec::new();
        t.forget(3, |r| last.push(r));
        assert_eq!(last, [Release::Close(6)], "its maker gone, nothing holds it");
    }
}
