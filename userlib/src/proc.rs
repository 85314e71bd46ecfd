//! The client side of the process manager (`proc`, pid 1): starting and ending programs,
//! the name service (`name_attach`/`name_open`), the pathname space, and `pidin`'s
//! thread list. Every process reaches proc through one connection, made on first use.

use crate::ipc::{Channel, Connection};
use crate::msg::{proc_type, Header, Resolved, PROC_CHID, PROC_PID};
use crate::{args, sys, Errno, Pid};
use abi::info::ThreadInfo;
use abi::ipc::channel_flags;
use abi::sched::Policy;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

static PROC_COID: AtomicU32 = AtomicU32::new(0);

/// This process's connection to proc, made on first use.
pub fn connection() -> Result<u32, Errno> {
    match PROC_COID.load(Ordering::Acquire) {
        0 => {
            let coid = sys::connect_attach(PROC_PID, PROC_CHID)?;
            match PROC_COID.compare_exchange(0, coid, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => Ok(coid),
                Err(theirs) => {
                    let _ = sys::connect_detach(coid); // another thread was first
                    Ok(theirs)
                }
            }
        }
        coid => Ok(coid),
    }
}

/// Requests whose header and payload fit this many bytes go as one buffer (the kernel's
/// fast path takes single buffers, not I/O vectors).
const SMALL_REQUEST: usize = 256;

/// Sends `header` and `payload` on connection `coid`; the answer's data goes to `reply`.
/// (Inlined: a caller's header is built in place and a short payload's copy is often
/// inlined too; `make bench` pipe_roundtrip_1b 5729 -> 5663, mq_roundtrip_1b 5768 ->
/// 5689, programs' code under 1% larger.)
#[inline]
pub fn request_on(coid: u32, header: &Header, payload: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
    let head = header.to_bytes();
    let len = Header::SIZE + payload.len();
    if len <= SMALL_REQUEST {
        // Only the bytes sent are written (zeroing the whole buffer first cost a `memset`
        // of 256 bytes per request).
        let mut message = [core::mem::MaybeUninit::<u8>::uninit(); SMALL_REQUEST];
        let at = message.as_mut_ptr() as *mut u8;
        // SAFETY: `at` points at SMALL_REQUEST writable bytes of `message`; the header
        // and the payload (len bytes in all, at most SMALL_REQUEST) go to its start, and
        // neither overlaps it (they are other objects).
        unsafe {
            core::ptr::copy_nonoverlapping(head.as_ptr(), at, Header::SIZE);
            core::ptr::copy_nonoverlapping(payload.as_ptr(), at.add(Header::SIZE), payload.len());
        }
        // SAFETY: the first `len` bytes were all written just above.
        let bytes = unsafe { core::slice::from_raw_parts(at, len) };
        return sys::msg_send(coid, bytes, reply);
    }
    crate::ipc::send_v_raw(coid, &[&head, payload], &mut [reply])
}

/// Sends a request to proc.
pub fn request(header: &Header, payload: &[u8], reply: &mut [u8]) -> Result<u64, Errno> {
    request_on(connection()?, header, payload, reply)
}

/// Starts boot-image program `name` with `arguments` (after `argv[0]`) at `priority`
/// (`None`: the image's), as a child of this process. Returns its pid.
pub fn spawn(name: &str, arguments: &[&str], priority: Option<u8>) -> Result<Pid, Errno> {
    spawn_with(name, arguments, priority, None, &[], ProcessGroup::Parent)
}

/// The process group a spawned program joins (POSIX's `posix_spawnattr_setpgroup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessGroup {
    /// This process's, as POSIX children are by default.
    Parent,
    /// A new one, which the child leads (its pid names it): a shell's job.
    New,
    /// Group `pgid`, this process's or one of its children's (a pipeline's later stages
    /// join the first one's); `EPERM` for any other.
    Join(Pid),
}

/// The variables that say where a program's standard streams go ([`crate::io`]), which
/// its children get too unless their spawn names any of them.
const STREAMS: [&str; 6] = ["STDIN", "STDOUT", "STDERR", "STDOUT_APPEND", "STDERR_APPEND", "STDERR_TO_STDOUT"];

/// [`spawn`] with a scheduling policy too (`None`: the image's) and `environment`
/// (`KEY=VALUE` pairs the program finds with [`crate::env::var`]). The program starts in
/// this process's working directory (`PWD`, added unless `environment` names one), with
/// this process's standard streams unless `environment` names any of them (as a POSIX
/// child inherits its descriptors: `demo-checksum > f` puts its server's lines in `f`
/// too), and in the background if this process is (`BACKGROUND`); in process group
/// `group`.
pub fn spawn_with(
    name: &str,
    arguments: &[&str],
    priority: Option<u8>,
    policy: Option<Policy>,
    environment: &[(&str, &str)],
    group: ProcessGroup,
) -> Result<Pid, Errno> {
    let priority = match priority {
        None => 0,
        Some(p) if p >= abi::sched::MIN_USER_PRIORITY => p,
        Some(_) => return Err(Errno::EINVAL),
    };
    let mut payload = Vec::with_capacity(name.len() + 1);
    payload.extend_from_slice(name.as_bytes());
    payload.push(0);
    let arguments = args::encode(arguments)?;
    payload.extend_from_slice(&arguments);
    let directory = crate::env::current_dir();
    let names = |key: &str| environment.iter().any(|(k, _)| *k == key);
    let mut inherited = Vec::new();
    if !names("PWD") {
        inherited.push(("PWD", directory.as_str()));
    }
    if !STREAMS.iter().any(|key| names(key)) {
        inherited.extend(STREAMS.iter().filter_map(|&key| crate::env::var(key).map(|value| (key, value))));
    }
    if !names("BACKGROUND") {
        inherited.extend(crate::env::var("BACKGROUND").map(|value| ("BACKGROUND", value)));
    }
    for (key, value) in environment.iter().chain(inherited.iter()) {
        if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
            return Err(Errno::EINVAL);
        }
        payload.extend_from_slice(key.as_bytes());
        payload.push(b'=');
        payload.extend_from_slice(value.as_bytes());
        payload.push(0);
    }
    if payload.len() > crate::resmgr::MAX_PAYLOAD {
        return Err(Errno::E2BIG); // (proc takes no more of a request)
    }
    let header = Header {
        subtype: policy.map_or(0, |p| p as u16 + 1),
        arg: priority as u32,
        size: arguments.len() as u64,
        offset: match group {
            ProcessGroup::Parent => 0,
            ProcessGroup::New => abi::syscall::NEW_PROCESS_GROUP as u64,
            ProcessGroup::Join(0) => return Err(Errno::EINVAL),
            ProcessGroup::Join(pgid) => pgid as u64,
        },
        ..Header::new(proc_type::SPAWN)
    };
    request(&header, &payload, &mut []).map(|pid| pid as Pid)
}

/// Ends process `pid` as if it had exited with `status` (proc refuses to end itself).
pub fn kill(pid: Pid, status: u32) -> Result<(), Errno> {
    let header = Header { arg: pid, offset: status as u64, ..Header::new(proc_type::KILL) };
    request(&header, &[], &mut []).map(|_| ())
}

/// Ends every process of process group `pgid` as if it had exited with `status`
/// (`kill(-pgid, …)`); `ESRCH` if none is left.
pub fn kill_group(pgid: Pid, status: u32) -> Result<(), Errno> {
    let header = Header {
        arg: pgid,
        offset: status as u64,
        subtype: abi::syscall::kill_flags::GROUP as u16,
        ..Header::new(proc_type::KILL)
    };
    request(&header, &[], &mut []).map(|_| ())
}

/// Asks proc to stop the machine with exit `code`; returns only if it refused (`EPERM`
/// unless this is one of the system's programs: a boot program proc started).
pub fn shutdown(code: u32) -> Errno {
    match request(&Header { arg: code, ..Header::new(proc_type::SHUTDOWN) }, &[], &mut []) {
        Ok(_) => Errno::EIO,
        Err(e) => e,
    }
}

/// A name this process registered for one of its channels ([`name_attach`]); dropping
/// it withdraws the name and destroys the channel.
#[derive(Debug)]
pub struct NameAttach {
    channel: Channel,
    name: String,
    flags: u16,
}

impl NameAttach {
    /// The channel clients of the name reach.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The channel's id.
    pub fn chid(&self) -> u32 {
        self.channel.chid()
    }
}

impl Drop for NameAttach {
    fn drop(&mut self) {
        let header = Header { subtype: self.flags, ..Header::new(proc_type::NAME_DETACH) };
        let _ = request(&header, self.name.as_bytes(), &mut []);
    }
}

/// Creates a channel (with `_NTO_CHF_DISCONNECT | _COID_DISCONNECT | _UNBLOCK`, as QNX's
/// `name_attach` does, so the server hears of clients leaving and unblocking) and
/// registers `name` for it; `flags` from [`crate::msg::name_flags`]. `EBUSY` if the
/// name is taken.
pub fn name_attach(name: &str, flags: u16) -> Result<NameAttach, Errno> {
    crate::msg::check_name(name.as_bytes())?;
    let channel = Channel::create(channel_flags::DISCONNECT | channel_flags::COID_DISCONNECT | channel_flags::UNBLOCK)?;
    let header = Header { subtype: flags, arg: channel.chid(), ..Header::new(proc_type::NAME_ATTACH) };
    request(&header, name.as_bytes(), &mut [])?;
    Ok(NameAttach { channel, name: String::from(name), flags })
}

/// Connects to the channel registered as `name` (`flags`: [`crate::msg::name_flags`]);
/// `ENOENT` if nobody holds it. Dropping the connection is `name_close`.
pub fn name_open(name: &str, flags: u16) -> Result<Connection, Errno> {
    let mut answer = [0u8; 8];
    let header = Header { subtype: flags, ..Header::new(proc_type::NAME_OPEN) };
    request(&header, name.as_bytes(), &mut answer)?;
    let pid = u32::from_le_bytes(answer[0..4].try_into().expect("4 bytes"));
    let chid = u32::from_le_bytes(answer[4..8].try_into().expect("4 bytes"));
    Connection::attach(pid, chid)
}

/// A path prefix this process serves ([`path_attach`]); dropping it detaches the prefix.
#[derive(Debug)]
pub struct PathAttach {
    path: String,
}

impl Drop for PathAttach {
    fn drop(&mut self) {
        let _ = request(&Header::new(proc_type::PATH_DETACH), self.path.as_bytes(), &mut []);
    }
}

/// Attaches this process's channel `chid` at `path` in the pathname space; `flags` from
/// [`crate::msg::path_flags`] (`DIR`: the server owns everything beneath). `EBUSY` if
/// another server holds exactly that path; `EPERM` at `/`, beneath another process's
/// directory or at, above or beneath a prefix a system program held when it ended,
/// unless this is one of the system's programs (a boot program proc started). Opens of
/// it carry handle 0 (see [`path_attach_with_handle`]).
#[doc(alias = "resmgr_attach")]
pub fn path_attach(path: &str, chid: u32, flags: u16) -> Result<PathAttach, Errno> {
    path_attach_with_handle(path, chid, flags, 0)
}

/// [`path_attach`], the server naming this prefix `handle`: every `CONNECT` that resolved
/// to it carries `handle` in its header's `extra`, so one channel can serve many prefixes.
pub fn path_attach_with_handle(path: &str, chid: u32, flags: u16, handle: u32) -> Result<PathAttach, Errno> {
    let path = crate::msg::check_path(path.as_bytes())?;
    let header = Header { subtype: flags, arg: chid, offset: handle as u64, ..Header::new(proc_type::PATH_ATTACH) };
    request(&header, path.as_bytes(), &mut [])?;
    Ok(PathAttach { path: String::from(path) })
}

/// Which server owns `path`, and how much of it its prefix matched.
pub fn resolve(path: &str) -> Result<Resolved, Errno> {
    let mut answer = [0u8; Resolved::SIZE];
    request(&Header::new(proc_type::PATH_RESOLVE), path.as_bytes(), &mut answer)?;
    Resolved::from_bytes(&answer).ok_or(Errno::EIO)
}

/// What is attached directly beneath directory `path` (prefixes, names, shared-memory
/// objects), as proc sees it.
pub fn list(path: &str) -> Result<Vec<String>, Errno> {
    let path = crate::msg::canonical_path(path)?; // (as the file calls take it)
    let mut buffer = vec![0u8; 1024];
    loop {
        let needed = request(&Header::new(proc_type::PATH_LIST), path.as_bytes(), &mut buffer)? as usize;
        if needed <= buffer.len() {
            buffer.truncate(needed);
            break;
        }
        buffer.resize(needed, 0);
    }
    Ok(split_names(&buffer))
}

/// Names each ended by NUL, as `PATH_LIST` and directory reads give them.
pub fn split_names(bytes: &[u8]) -> Vec<String> {
    bytes.split(|b| *b == 0).filter(|n| !n.is_empty()).map(|n| String::from_utf8_lossy(n).into_owned()).collect()
}

/// Every thread in the system, as proc reports it for `pidin`.
pub fn pidin() -> Result<Vec<ThreadInfo>, Errno> {
    let mut buffer = vec![0u8; 64 * ThreadInfo::SIZE];
    loop {
        let count = request(&Header::new(proc_type::PIDIN), &[], &mut buffer)? as usize;
        if count * ThreadInfo::SIZE <= buffer.len() {
            return Ok(buffer.chunks_exact(ThreadInfo::SIZE).take(count).filter_map(ThreadInfo::from_bytes).collect());
        }
        buffer.resize(count * ThreadInfo::SIZE + 8 * ThreadInfo::SIZE, 0);
    }
}
