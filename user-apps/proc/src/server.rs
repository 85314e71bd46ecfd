//! proc's server: start-up (the boot programs), then one receive loop that answers the
//! process-manager protocol and, as the resource manager of `/dev/shmem`, the I/O
//! protocol for shared-memory objects.

use crate::loader::{self, Placement};
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use proc::names::{NameTable, Scope};
use proc::paths::{Mount, PathSpace, BOOT_DIRECTORY, NULL_DEVICE, SHMEM};
use proc::shm::{Release, ShmTable};
use proc::spawn::Spawn;
use proc::Owner;
use userlib::abi::bootimage::{BootImage, Program, RESPAWN, START_AT_BOOT};
use userlib::abi::info::ThreadInfo;
use userlib::abi::ipc::channel_flags;
use userlib::abi::syscall::{kill_flags, mem_prot, MAX_MEM_OBJECT_SIZE, NEW_PROCESS_GROUP};
use userlib::ipc::{Channel, Connection};
use userlib::msg::DirectoryCursor;
use userlib::msg::{
    check_name, check_path, file_kind, io_type, map_flags, open_flags, path_flags, proc_type, whence, Resolved, Stat,
    PROC_CHID,
};
use userlib::resmgr::{read_directory, Dispatcher, Reply, Request, ResourceManager};
use userlib::{println, sys, time, Args, Errno, Pid};

/// proc's handle for `/dev/null` (`/dev/shmem` is 0).
const NULL_HANDLE: u32 = 1;
/// proc's handle for `/proc/boot`.
const BOOT_HANDLE: u32 = 2;
/// The pulse code of "a child of proc ended" (value: its pid).
const CHILD_ENDED: i8 = 1;
const PAGE: u64 = 4096;
/// Most bytes one read of a shared-memory object copies (proc maps a window of the
/// object for each read or write).
const MAX_TRANSFER: usize = 64 * 1024;

/// An open file proc serves.
enum Ocb {
    /// A shared-memory object, opened with `flags`; `position`: where the next read or
    /// write goes.
    Shm { object: u32, flags: u32, position: u64 },
    /// The `/dev/shmem` directory; `next`: where its reader is.
    Directory { next: DirectoryCursor },
    /// `/dev/null`: reads find the end, writes go nowhere.
    Null,
    /// `/proc/boot`; `next`: where its reader is.
    Boot { next: DirectoryCursor },
    /// A program of the boot image (`/proc/boot/NAME`): it is run by name, not read.
    BootProgram,
}

struct Proc {
    image: BootImage<'static>,
    names: NameTable,
    paths: PathSpace,
    shm: ShmTable<u32>,
    /// The boot programs to start again when they end (`RESPAWN`).
    respawned: Vec<Respawned>,
    /// The timer that wakes proc (`RESPAWN_DUE`) when a respawn is due.
    respawn_timer: u32,
    /// The system's programs: the boot programs proc started (with I/O privilege) that
    /// have not ended: only they may stop the machine or attach in the system's places
    /// (`PathSpace::may_attach`).
    system: BTreeSet<Pid>,
}

/// A boot program proc starts again when it ends.
struct Respawned {
    program: Program<'static>,
    /// Its process while it runs; `None` while its start again waits.
    pid: Option<Pid>,
    started_ns: u64,
    /// How many times in a row it ended within [`SHORT_RUN_NS`] of starting.
    short_runs: u32,
    /// When to start it again, once it has ended.
    due_ns: u64,
}

/// A respawned program that runs shorter than this ends "quickly": the first time it
/// starts again at once, then after 1 s, 2 s, 4 s … up to [`MAX_RESPAWN_DELAY_NS`], so
/// that one which cannot run here (its driver is gone, say) does not keep proc busy,
/// and one ended on purpose (`exit` pasted five times) still comes back.
const SHORT_RUN_NS: u64 = 10_000_000_000;
const MAX_RESPAWN_DELAY_NS: u64 = 64_000_000_000;

/// The pulse code of "a respawn is due".
const RESPAWN_DUE: i8 = 2;

pub fn main(_args: Args) -> Result<(), Errno> {
    let channel = Channel::create(channel_flags::DISCONNECT)?;
    if channel.chid() != PROC_CHID {
        println!("proc: my channel is {}, not the well-known {PROC_CHID}", channel.chid());
        return Err(Errno::EIO);
    }
    let me = Connection::attach(0, channel.chid())?;
    sys::process_child_event(Some(&me.pulse_event(60, CHILD_ENDED, 0)))?;
    let respawn_timer = sys::timer_create(&me.pulse_event(60, RESPAWN_DUE, 0))?;
    let mut state = Proc {
        image: loader::image()?,
        names: NameTable::new(),
        paths: PathSpace::new(),
        shm: ShmTable::new(),
        respawned: Vec::new(),
        respawn_timer,
        system: BTreeSet::new(),
    };
    let own = Owner { pid: userlib::process::id(), chid: channel.chid(), scoid: 0 };
    state.paths.attach(SHMEM, Mount { owner: own, directory: true, handle: 0 })?;
    state.paths.attach(NULL_DEVICE, Mount { owner: own, directory: false, handle: NULL_HANDLE })?;
    state.paths.attach(BOOT_DIRECTORY, Mount { owner: own, directory: true, handle: BOOT_HANDLE })?;
    // The boot programs after proc itself, in the manifest's order: the system's servers
    // and drivers, trusted with I/O privilege (programs spawned later are not).
    let image = state.image;
    for program in image.programs().filter(|p| p.flags & START_AT_BOOT != 0).skip(1) {
        match start_boot_program(&program) {
            Ok(pid) => {
                state.system.insert(pid);
                if program.flags & RESPAWN != 0 {
                    state.respawned.push(Respawned {
                        program,
                        pid: Some(pid),
                        started_ns: time::now_ns(),
                        short_runs: 0,
                        due_ns: 0,
                    });
                }
            }
            Err(e) => println!("proc: cannot start {}: {e}", program.name),
        }
    }
    let mut dispatcher = Dispatcher::new(state);
    let error = dispatcher.serve(&channel);
    println!("proc: receiving failed: {error}");
    Err(error)
}

/// Starts a boot program, as proc's child leading a process group of its own, with I/O
/// privilege (the system's servers and drivers are trusted with it; programs spawned
/// later are not).
fn start_boot_program(program: &Program<'_>) -> Result<Pid, Errno> {
    let placement = Placement {
        parent: userlib::process::id(),
        group: NEW_PROCESS_GROUP,
        flags: userlib::abi::syscall::process_flags::IO,
    };
    loader::spawn(program, program.args, &[], None, None, placement)
}

impl Proc {
    /// Process `pid` ended: if it was a respawned boot program, its start again is due
    /// now or, after short runs, later.
    fn ended(&mut self, pid: Pid) {
        self.system.remove(&pid);
        let Some(r) = self.respawned.iter_mut().find(|r| r.pid == Some(pid)) else { return };
        let now = time::now_ns();
        r.pid = None;
        r.short_runs = if now.saturating_sub(r.started_ns) < SHORT_RUN_NS { r.short_runs + 1 } else { 0 };
        let delay = match r.short_runs {
            0 | 1 => 0,
            n => (1_000_000_000u64 << (n - 2).min(6)).min(MAX_RESPAWN_DELAY_NS),
        };
        r.due_ns = now.saturating_add(delay);
        self.respawn_due();
    }

    /// Starts the respawned programs that are due, and arms the timer for the next.
    fn respawn_due(&mut self) {
        let now = time::now_ns();
        for r in self.respawned.iter_mut().filter(|r| r.pid.is_none() && r.due_ns <= now) {
            match start_boot_program(&r.program) {
                Ok(pid) => {
                    r.pid = Some(pid);
                    r.started_ns = now;
                    self.system.insert(pid);
                }
                Err(e) => {
                    // (Out of memory, say: tried again later, as after a short run.)
                    println!("proc: cannot start {} again: {e}", r.program.name);
                    r.short_runs += 1;
                    r.due_ns = now.saturating_add(MAX_RESPAWN_DELAY_NS);
                }
            }
        }
        let next = self.respawned.iter().filter(|r| r.pid.is_none()).map(|r| r.due_ns).min();
        if let Some(due) = next {
            let _ = sys::timer_settime(self.respawn_timer, due.saturating_sub(now).max(1), 0);
        }
    }

    fn spawn(&mut self, request: &Request) -> Result<u64, Errno> {
        let h = request.header;
        let Spawn { name, args, environment, priority, policy } =
            Spawn::parse(&request.payload, request.sent, h.size, h.arg, h.subtype)?;
        let program = self.image.find(name).ok_or(Errno::ENOENT)?;
        if self.image.programs().next().is_some_and(|first| first.name == program.name) {
            return Err(Errno::EPERM); // proc itself: there is one process manager
        }
        // The process group: the client's, its own, or one of the client's family's
        // (the kernel checks which it may join).
        let group = u32::try_from(h.offset).map_err(|_| Errno::EINVAL)?;
        let placement = Placement { parent: request.client.pid, group, flags: 0 };
        loader::spawn(&program, args, environment, priority, policy, placement).map(u64::from)
    }

    fn owner(request: &Request) -> Owner {
        Owner { pid: request.client.pid, chid: request.header.arg, scoid: request.client.scoid }
    }

    /// What `PATH_LIST` shows in `dir`: attached prefixes, and the name directories.
    fn list(&self, dir: &str) -> Vec<String> {
        let mut entries = self.paths.list(dir);
        let mut add = |name: &str| entries.push(String::from(name));
        match dir {
            "/" => add("dev"),
            "/dev" => add("name"),
            "/dev/name" => {
                add("local");
                add("global");
            }
            "/dev/name/local" => self.names.list(Scope::Local).iter().for_each(|n| add(n)),
            "/dev/name/global" => self.names.list(Scope::Global).iter().for_each(|n| add(n)),
            _ => {}
        }
        entries.sort();
        entries.dedup();
        entries
    }

    fn release(&mut self, release: Release<u32>) {
        if let Release::Close(kernel) = release {
            let _ = sys::mem_object_close(kernel);
        }
    }

    fn object_name(path: &str) -> Result<&str, Errno> {
        if path.contains('/') {
            return Err(Errno::ENOENT);
        }
        if matches!(path, "" | "." | "..") || path.contains('\0') {
            return Err(Errno::EINVAL); // (no path could name it again: rm could not remove it)
        }
        if path.len() > userlib::msg::MAX_NAME {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(path)
    }

    /// Maps what `request` (`MMAP`) asks of object `object` into its sender, with at
    /// most `max` access ever.
    fn map(&mut self, object: u32, request: &Request, max: u32) -> Result<u64, Errno> {
        let (pid, prot) = (request.client.pid, request.header.arg);
        let (offset, size) = (request.header.offset, request.header.size);
        let o = self.shm.get(object).ok_or(Errno::EBADF)?;
        let end = size.checked_next_multiple_of(PAGE).and_then(|size| offset.checked_add(size));
        if end.is_none_or(|end| end > o.size.next_multiple_of(PAGE)) {
            return Err(Errno::ENXIO);
        }
        // SAFETY: maps into the client, not into proc.
        unsafe { sys::mem_object_map(pid, o.kernel, offset as usize, size as usize, 0, prot, max) }.map(|a| a as u64)
    }
}

impl ResourceManager for Proc {
    type Ocb = Ocb;

    fn open(&mut self, request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Ocb, Errno> {
        let exclusive = open_flags::O_CREAT | open_flags::O_EXCL;
        if request.header.extra == NULL_HANDLE as u64 {
            return match path {
                "" if flags & exclusive == exclusive => Err(Errno::EEXIST), // (it exists)
                "" => Ok(Ocb::Null),
                _ => Err(Errno::ENOTDIR),
            };
        }
        if request.header.extra == BOOT_HANDLE as u64 {
            // As POSIX's open says of a read-only file system: what is there opens to
            // read (`O_CREAT` too, for a program), `O_EXCL` makes nothing; writing,
            // truncating or making a program is `EROFS` (the image is what the machine
            // booted). (`O_CREAT` was `EROFS` whatever was there, and `O_TRUNC` opened.)
            let directory = path.is_empty();
            if !directory && !self.image.programs().any(|p| p.name == path) {
                return Err(if flags & open_flags::O_CREAT != 0 { Errno::EROFS } else { Errno::ENOENT });
            }
            if flags & exclusive == exclusive {
                return Err(Errno::EEXIST);
            }
            if directory && (flags & open_flags::O_CREAT != 0 || open_flags::writable(flags)) {
                return Err(Errno::EISDIR);
            }
            if open_flags::writable(flags) || flags & open_flags::O_TRUNC != 0 {
                return Err(Errno::EROFS);
            }
            return Ok(if directory { Ocb::Boot { next: DirectoryCursor::default() } } else { Ocb::BootProgram });
        }
        if path.is_empty() && request.header.size != userlib::msg::SHM_ANON {
            // The directory, as POSIX's open has it: `EEXIST` to make it exclusively,
            // `EISDIR` to create or write it (`echo x > /dev/shmem` made an anonymous
            // object, which the close then freed, and succeeded).
            if flags & exclusive == exclusive {
                return Err(Errno::EEXIST);
            }
            if flags & open_flags::O_CREAT != 0 || open_flags::writable(flags) {
                return Err(Errno::EISDIR);
            }
            return Ok(Ocb::Directory { next: DirectoryCursor::default() });
        }
        if path.is_empty() {
            // SHM_ANON: an object nobody can name.
            if !open_flags::writable(flags) || flags & open_flags::O_CREAT == 0 {
                return Err(Errno::EINVAL);
            }
            let pid = request.client.pid;
            self.shm.may_create(pid)?;
            let kernel = sys::mem_object_create(0)?;
            return Ok(Ocb::Shm { object: self.shm.insert(kernel, None, pid), flags, position: 0 });
        }
        let name = Self::object_name(path)?;
        let object = match self.shm.open(name, flags, request.client.pid)? {
            Some(object) => object,
            None => {
                let kernel = sys::mem_object_create(0)?;
                self.shm.insert(kernel, Some(name), request.client.pid)
            }
        };
        if flags & open_flags::O_TRUNC != 0 {
            let kernel = self.shm.get(object).ok_or(Errno::EIO)?.kernel;
            if let Err(e) = sys::mem_object_resize(kernel, 0) {
                let release = self.shm.close(object);
                self.release(release);
                return Err(e);
            }
            self.shm.get_mut(object).ok_or(Errno::EIO)?.size = 0;
        }
        Ok(Ocb::Shm { object, flags, position: 0 })
    }

    fn unlink(&mut self, request: &Request, path: &str) -> Result<(), Errno> {
        match request.header.extra as u32 {
            BOOT_HANDLE => return Err(Errno::EROFS),
            NULL_HANDLE => return Err(Errno::EPERM), // (a device, not to be removed)
            _ if path.is_empty() => return Err(Errno::EPERM), // (`/dev/shmem` itself)
            _ => {}
        }
        let release = self.shm.unlink(Self::object_name(path)?)?;
        self.release(release);
        Ok(())
    }

    fn open_handle(&mut self, request: &Request, handle: u64, flags: u32) -> Result<Ocb, Errno> {
        let object = self.shm.open_handle(handle, request.client.pid, flags)?;
        Ok(Ocb::Shm { object, flags, position: 0 })
    }

    fn read(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        match ocb {
            Ocb::Directory { next } => read_directory(self.shm.names(), next, request),
            Ocb::Shm { object, flags, position } => {
                if !open_flags::readable(*flags) {
                    return Err(Errno::EBADF);
                }
                let o = self.shm.get(*object).ok_or(Errno::EBADF)?;
                let want = request.read_size().min(MAX_TRANSFER);
                let n = (o.size.saturating_sub(*position) as usize).min(want);
                let mut bytes = vec![0u8; n];
                if n > 0 {
                    // SAFETY: `window` points at `n` readable bytes of the object, and
                    // `bytes` holds `n`.
                    through_window(o.kernel, *position, n, mem_prot::READ, |window| unsafe {
                        core::ptr::copy_nonoverlapping(window, bytes.as_mut_ptr(), n)
                    })?;
                }
                *position += n as u64;
                Ok(Reply::Data(n as u64, bytes))
            }
            Ocb::Null => Ok(Reply::Data(0, Vec::new())),
            Ocb::Boot { next } => read_directory(self.image.programs().map(|p| p.name), next, request),
            Ocb::BootProgram => Err(Errno::ENOSYS), // (run by name: its segments are no file)
        }
    }

    fn write(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        match ocb {
            Ocb::Null => Ok(Reply::Status(request.payload.len() as u64)),
            Ocb::Directory { .. } | Ocb::Boot { .. } => Err(Errno::EISDIR),
            Ocb::Shm { object, flags, position } => {
                if !open_flags::writable(*flags) {
                    return Err(Errno::EBADF);
                }
                let o = self.shm.get_mut(*object).ok_or(Errno::EBADF)?;
                if *flags & open_flags::O_APPEND != 0 {
                    *position = o.size;
                }
                let data = &request.payload;
                if data.is_empty() {
                    return Ok(Reply::Status(0)); // (not even past the end)
                }
                // Past the end, the object grows (zero-filled between), as a file would.
                let end = position.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
                if end > MAX_MEM_OBJECT_SIZE as u64 {
                    return Err(Errno::EFBIG); // (as POSIX's write past the largest file)
                }
                if end > o.size {
                    sys::mem_object_resize(o.kernel, end as usize)?;
                    let old = core::mem::replace(&mut o.size, end);
                    zero_kept_tail(o.kernel, old, *position)?;
                }
                let rw = mem_prot::READ | mem_prot::WRITE;
                // SAFETY: `window` points at `data.len()` writable bytes of the object.
                through_window(o.kernel, *position, data.len(), rw, |window| unsafe {
                    core::ptr::copy_nonoverlapping(data.as_ptr(), window, data.len())
                })?;
                *position = end;
                Ok(Reply::Status(data.len() as u64))
            }
            Ocb::BootProgram => Err(Errno::EBADF), // (opened read-only: nothing else may be)
        }
    }

    fn lseek(&mut self, ocb: &mut Ocb, offset: i64, from: u32) -> Result<u64, Errno> {
        let Ocb::Shm { object, position, .. } = ocb else { return Err(Errno::ESPIPE) };
        let base = match from {
            whence::SET => 0,
            whence::CUR => *position,
            whence::END => self.shm.get(*object).ok_or(Errno::EBADF)?.size,
            _ => return Err(Errno::EINVAL),
        };
        let new = (base as i64).checked_add(offset).filter(|n| *n >= 0).ok_or(Errno::EINVAL)?;
        *position = new as u64;
        Ok(*position)
    }

    fn stat(&mut self, ocb: &mut Ocb) -> Result<Stat, Errno> {
        Ok(match ocb {
            Ocb::Directory { .. } => Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o777 },
            Ocb::Boot { .. } => Stat { size: 0, kind: file_kind::DIRECTORY, mode: 0o555 },
            Ocb::BootProgram => Stat { size: 0, kind: file_kind::FILE, mode: 0o555 },
            Ocb::Null => Stat { size: 0, kind: file_kind::DEVICE, mode: 0o666 },
            Ocb::Shm { object, .. } => {
                let size = self.shm.get(*object).ok_or(Errno::EBADF)?.size;
                Stat { size, kind: file_kind::FILE, mode: 0o666 }
            }
        })
    }

    fn truncate(&mut self, ocb: &mut Ocb, size: u64) -> Result<(), Errno> {
        let (object, flags) = match *ocb {
            Ocb::Shm { object, flags, .. } => (object, flags),
            Ocb::Null => return Err(Errno::EINVAL), // (a device: as POSIX's ftruncate says)
            Ocb::BootProgram => return Err(Errno::EBADF), // (open read-only)
            Ocb::Directory { .. } | Ocb::Boot { .. } => return Err(Errno::EISDIR),
        };
        if !open_flags::writable(flags) {
            return Err(Errno::EBADF);
        }
        let o = self.shm.get_mut(object).ok_or(Errno::EBADF)?;
        sys::mem_object_resize(o.kernel, usize::try_from(size).map_err(|_| Errno::EFBIG)?)?;
        // (The object has its new size, even if zeroing below fails.)
        let old = core::mem::replace(&mut o.size, size);
        if size < old {
            // The kernel keeps whole pages: the rest of the last one is zeroed, as POSIX
            // has a mapping's partial last page past the end.
            zero(o.kernel, size, size.next_multiple_of(PAGE))
        } else {
            zero_kept_tail(o.kernel, old, size)
        }
    }

    fn mmap(&mut self, ocb: &mut Ocb, request: &Request) -> Result<u64, Errno> {
        let Ocb::Shm { object, flags, .. } = *ocb else { return Err(Errno::ENODEV) };
        let h = request.header;
        let prot = h.arg;
        if !h.offset.is_multiple_of(PAGE) || h.size == 0 {
            return Err(Errno::EINVAL);
        }
        if h.subtype != map_flags::SHARED {
            // (`MAP_PRIVATE` is the client's own copy of a shared mapping: userlib's `mmap`.)
            return Err(Errno::EINVAL);
        }
        let max = if open_flags::writable(flags) {
            mem_prot::READ | mem_prot::WRITE | mem_prot::EXEC
        } else {
            mem_prot::READ | mem_prot::EXEC
        };
        if !open_flags::readable(flags) || prot & !max != 0 {
            return Err(Errno::EACCES);
        }
        self.map(object, request, max)
    }

    fn io_other(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        match (request.header.kind, &*ocb) {
            (io_type::SHM_HANDLE, Ocb::Shm { object, flags, .. }) => {
                let (pid, granted, maker) = (request.header.arg, request.header.offset as u32, request.client.scoid);
                let h = self.shm.create_handle(*object, pid, granted, *flags, maker)?;
                Ok(Reply::Data(0, h.to_le_bytes().to_vec()))
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    fn close(&mut self, ocb: Ocb) {
        if let Ocb::Shm { object, .. } = ocb {
            let release = self.shm.close(object);
            self.release(release);
        }
    }

    fn other(&mut self, request: &mut Request) -> Result<Reply, Errno> {
        let scoid = request.client.scoid;
        let flags = request.header.subtype;
        match request.header.kind {
            proc_type::SPAWN => self.spawn(request).map(Reply::Status),
            proc_type::KILL => {
                // (proc's process group is proc alone: its pid names it.)
                let target = request.header.arg;
                if target == userlib::process::id() || target == 0 {
                    return Err(Errno::EPERM);
                }
                let status = request.header.offset as u32 as u64;
                match flags as u32 {
                    0 => sys::process_kill(target, status),
                    kill_flags::GROUP => sys::process_group_kill(target, status),
                    _ => Err(Errno::EINVAL),
                }
                .map(|_| Reply::Status(0))
            }
            proc_type::SHUTDOWN => {
                if !self.system.contains(&request.client.pid) {
                    return Err(Errno::EPERM); // (QNX: the privileged PROCMGR_AID_REBOOT)
                }
                let code = request.header.arg;
                sys::shutdown(code).map(|_| Reply::Status(0))
            }
            proc_type::NAME_ATTACH => {
                let name = check_name(&request.payload)?;
                self.names.attach(Scope::from_flags(flags), name, Self::owner(request)).map(|_| Reply::Status(0))
            }
            proc_type::NAME_DETACH => {
                let name = check_name(&request.payload)?;
                self.names.detach(Scope::from_flags(flags), name, scoid).map(|_| Reply::Status(0))
            }
            proc_type::NAME_OPEN => {
                let name = check_name(&request.payload)?;
                let owner = self.names.open(Scope::from_flags(flags), name)?;
                let mut answer = owner.pid.to_le_bytes().to_vec();
                answer.extend_from_slice(&owner.chid.to_le_bytes());
                Ok(Reply::Data(0, answer))
            }
            proc_type::PATH_ATTACH => {
                let path = check_path(&request.payload)?;
                let pid = request.client.pid;
                self.paths.may_attach(path, pid, self.system.contains(&pid))?;
                let mount = Mount {
                    owner: Self::owner(request),
                    directory: flags & path_flags::DIR != 0,
                    handle: request.header.offset as u32,
                };
                self.paths.attach(path, mount).map(|_| Reply::Status(0))
            }
            proc_type::PATH_DETACH => {
                let path = check_path(&request.payload)?;
                self.paths.detach(path, scoid).map(|_| Reply::Status(0))
            }
            proc_type::PATH_RESOLVE => {
                let path = check_path(&request.payload)?;
                let (mount, matched) = self.paths.resolve(path)?;
                let resolved = Resolved {
                    pid: mount.owner.pid,
                    chid: mount.owner.chid,
                    matched: matched as u32,
                    flags: if mount.directory { path_flags::DIR as u32 } else { 0 },
                    handle: mount.handle,
                };
                Ok(Reply::Data(0, resolved.to_bytes().to_vec()))
            }
            proc_type::PATH_LIST => {
                let dir = check_path(&request.payload)?;
                let mut bytes = Vec::new();
                for entry in self.list(dir) {
                    bytes.extend_from_slice(entry.as_bytes());
                    bytes.push(0);
                }
                let needed = bytes.len() as u64;
                bytes.truncate(request.reply_room);
                Ok(Reply::Data(needed, bytes))
            }
            proc_type::PIDIN => {
                let mut buffer = vec![0u8; request.reply_room.min(1024 * ThreadInfo::SIZE)];
                let count = sys::thread_list(&mut buffer)?;
                buffer.truncate(count.min(buffer.len() / ThreadInfo::SIZE) * ThreadInfo::SIZE);
                Ok(Reply::Data(count as u64, buffer))
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    fn disconnected(&mut self, scoid: u32) {
        self.names.forget(scoid);
        let system = &self.system;
        self.paths.forget(scoid, |pid| system.contains(&pid));
        let mut released = Vec::new();
        self.shm.forget(scoid, |r| released.push(r));
        for r in released {
            self.release(r);
        }
        // Its process may have ended (or only dropped its connections: then its objects
        // still count against it): objects of every ended creator count against no one.
        if self.shm.has_creators() {
            if let Ok(live) = live_processes() {
                self.shm.disown(|pid| live.contains(&pid));
            }
        }
    }

    fn pulse(&mut self, pulse: userlib::abi::ipc::Pulse) {
        if pulse.code == CHILD_ENDED {
            // A boot program proc started has ended: reap it. Any client can send a pulse
            // of this code too (an audit found one naming a live child, or 0, blocking
            // proc in the wait for good): only the kernel's, which comes through proc's
            // own connection, counts.
            let from_proc = userlib::ipc::client_info(pulse.scoid).is_ok_and(|c| c.pid == userlib::process::id());
            if let (true, Ok(pid)) = (from_proc, Pid::try_from(pulse.value)) {
                if sys::process_wait(pid).is_ok() {
                    self.ended(pid);
                }
            }
        } else if pulse.code == RESPAWN_DUE {
            self.respawn_due(); // (early, from a client's pulse: nothing is started early)
        }
    }
}

/// The pids of the processes that have a thread that has not ended.
fn live_processes() -> Result<BTreeSet<u32>, Errno> {
    let dead = userlib::abi::info::ThreadStateCode::Dead as u8;
    Ok(userlib::info::threads()?.iter().filter(|t| t.state != dead).map(|t| t.pid).collect())
}

/// Zeroes bytes `from..to` of memory object `kernel` (nothing if `to <= from`).
fn zero(kernel: u32, from: u64, to: u64) -> Result<(), Errno> {
    let Some(len) = to.checked_sub(from).filter(|len| *len > 0).map(|len| len as usize) else { return Ok(()) };
    let rw = mem_prot::READ | mem_prot::WRITE;
    // SAFETY: `window` points at `len` writable bytes of the object.
    through_window(kernel, from, len, rw, |window| unsafe { core::ptr::write_bytes(window, 0, len) })
}

/// An object of `old` bytes grew: what its last page held past `old`, up to `new`, is
/// zeroed, so that the new bytes read as zeros — the kernel keeps whole pages, and a
/// mapping writes past the end of the last one (those bytes came back when a write or
/// `ftruncate` grew the object, where POSIX has zeros).
fn zero_kept_tail(kernel: u32, old: u64, new: u64) -> Result<(), Errno> {
    zero(kernel, old, new.min(old.next_multiple_of(PAGE)))
}

/// Runs `copy` on the address of byte `offset` of memory object `kernel`, with `len`
/// bytes from there mapped into proc with `prot` for the copy: a window of whole pages,
/// unmapped after. (proc alone resizes objects, one request at a time: the bytes stay
/// within the object meanwhile.)
fn through_window(kernel: u32, offset: u64, len: usize, prot: u32, copy: impl FnOnce(*mut u8)) -> Result<(), Errno> {
    let start = offset / PAGE * PAGE;
    let end = (offset + len as u64).div_ceil(PAGE) * PAGE;
    let size = (end - start) as usize;
    // SAFETY: the kernel places the window where proc has nothing mapped.
    let window = unsafe { sys::mem_object_map(0, kernel, start as usize, size, 0, prot, prot) }?;
    copy((window + (offset - start) as usize) as *mut u8);
    // SAFETY: the copy is done; nothing refers to the window.
    let _ = unsafe { sys::mem_unmap(window, size) };
    Ok(())
}
