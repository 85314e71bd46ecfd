//! Shared memory and mappings: POSIX `shm_open`/`shm_unlink` (objects live under
//! `/dev/shmem`, served by proc), `mmap`/`munmap`/`mprotect`, anonymous objects and the
//! handles that grant one process access to one (`shm_create_handle`/`shm_open_handle`).
//!
//! `mmap` of a file is an `MMAP` message to its server, which maps the memory into the
//! caller; a `MAP_PRIVATE` one is a copy of such a mapping into the caller's anonymous
//! memory; anonymous mappings and `munmap`/`mprotect` are the caller's own kernel calls.

use crate::fs::{self, File};
use crate::msg::{connect, io_type, map_flags, open_flags, Header};
use crate::{sys, Errno, Pid};
use alloc::format;

pub use abi::syscall::mem_prot::{EXEC as PROT_EXEC, READ as PROT_READ, WRITE as PROT_WRITE};
/// No access.
pub const PROT_NONE: u32 = 0;
pub use crate::msg::map_flags::{PRIVATE as MAP_PRIVATE, SHARED as MAP_SHARED};
/// Anonymous memory (no file): zero-filled, private to the process.
pub const MAP_ANON: u16 = 0x10;

const SHMEM: &str = "/dev/shmem";

/// Opens (with `O_CREAT`: creates) shared-memory object `name` (`/name` or `name`, one
/// component); a new object is empty until [`File::truncate`] sizes it.
pub fn shm_open(name: &str, flags: u32, mode: u32) -> Result<File, Errno> {
    fs::open(&object_path(name)?, flags, mode)
}

/// Creates an anonymous object (QNX's `shm_open(SHM_ANON, …)`): only its descriptor,
/// and the handles made from it, reach it.
#[doc(alias = "SHM_ANON")]
pub fn shm_open_anon(flags: u32) -> Result<File, Errno> {
    let header = Header {
        subtype: connect::OPEN,
        arg: flags | open_flags::O_CREAT,
        size: crate::msg::SHM_ANON,
        ..Header::new(io_type::CONNECT)
    };
    fs::open_special(SHMEM, header).map(|(file, _)| file)
}

/// Removes the name of object `name`; the object lives on while it is open or mapped.
pub fn shm_unlink(name: &str) -> Result<(), Errno> {
    fs::unlink(&object_path(name)?)
}

fn object_path(name: &str) -> Result<alloc::string::String, Errno> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() || bare.contains('/') || bare == "." || bare == ".." {
        return Err(Errno::EINVAL);
    }
    Ok(format!("{SHMEM}/{bare}"))
}

/// A handle that lets process `pid` open the object behind `file` once, with at most
/// the access `flags` (open flags) allow.
pub fn shm_create_handle(file: &File, pid: Pid, flags: u32) -> Result<u64, Errno> {
    let mut answer = [0u8; 8];
    let header = Header { arg: pid, offset: flags as u64, ..Header::new(io_type::SHM_HANDLE) };
    file.request(header, &[], &mut answer)?;
    Ok(u64::from_le_bytes(answer))
}

/// Opens the object a [`shm_create_handle`] handle names (only the process it was made
/// for may, and only once).
pub fn shm_open_handle(handle: u64, flags: u32) -> Result<File, Errno> {
    let header = Header { subtype: connect::OPEN_HANDLE, arg: flags, size: handle, ..Header::new(io_type::CONNECT) };
    fs::open_special(SHMEM, header).map(|(file, _)| file)
}

/// Maps `len` bytes: of `file` from `offset` (`MAP_SHARED` or `MAP_PRIVATE`), or
/// anonymous memory (`MAP_ANON`, no file); `prot` from `PROT_*`. An offset inside a page
/// maps from the page's start and returns the address of `offset`. Returns the address.
pub fn mmap(len: usize, prot: u32, flags: u16, file: Option<&File>, offset: u64) -> Result<usize, Errno> {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    match file {
        None if flags & MAP_ANON != 0 => anonymous(len, prot),
        None => Err(Errno::EBADF),
        Some(file) => {
            let sharing = flags & (map_flags::SHARED | map_flags::PRIVATE);
            if sharing != map_flags::SHARED && sharing != map_flags::PRIVATE {
                return Err(Errno::EINVAL); // (one or the other, as POSIX says)
            }
            let page_offset = (offset % 4096) as usize;
            // (A length that wraps with the offset would map a page and claim 2^64 bytes.)
            let size = len.checked_add(page_offset).ok_or(Errno::EINVAL)?;
            let map_shared = |prot| {
                let header = Header {
                    subtype: map_flags::SHARED,
                    arg: prot,
                    offset: offset - page_offset as u64,
                    size: size as u64,
                    ..Header::new(io_type::MMAP)
                };
                file.request(header, &[], &mut []).map(|at| at as usize)
            };
            let at = match sharing {
                map_flags::SHARED => map_shared(prot)?,
                _ => private_copy(map_shared(PROT_READ)?, size, prot)?,
            };
            Ok(at + page_offset)
        }
    }
}

/// Anonymous memory of `len` bytes with access `prot`.
fn anonymous(len: usize, prot: u32) -> Result<usize, Errno> {
    with_access(sys::mem_map_anon(len)?, len, prot)
}

/// `MAP_PRIVATE`: the `size` bytes of the read-only shared mapping at `shared` copied
/// into anonymous memory of the caller's own with access `prot`; the shared mapping
/// goes. The copy is memory like any the program maps itself: it holds none of the
/// kernel's memory objects (a copy proc made in an object of its own did, for as long as
/// it was mapped, and a loop of private mappings left none for anyone to start a
/// program with).
fn private_copy(shared: usize, size: usize, prot: u32) -> Result<usize, Errno> {
    let copy = sys::mem_map_anon(size);
    if let Ok(copy) = copy {
        // SAFETY: both mappings were just made, `size` bytes each (and more, to the page),
        // and nothing else refers into either.
        unsafe { core::ptr::copy_nonoverlapping(shared as *const u8, copy as *mut u8, size) };
    }
    // SAFETY: the copy is made (or failed); nothing refers into the shared mapping.
    let _ = unsafe { sys::mem_unmap(shared, size) };
    with_access(copy?, size, prot)
}

/// The read-write memory of `len` bytes just mapped at `at`, given access `prot`; unmapped
/// if that fails.
fn with_access(at: usize, len: usize, prot: u32) -> Result<usize, Errno> {
    if prot != PROT_READ | PROT_WRITE {
        // SAFETY: the mapping was just made; nothing refers into it yet.
        if let Err(e) = unsafe { sys::mem_protect(at, len, prot) } {
            // SAFETY: as above.
            let _ = unsafe { sys::mem_unmap(at, len) };
            return Err(e);
        }
    }
    Ok(at)
}

/// Unmaps what [`mmap`] mapped at `address` (`len` as given to it).
///
/// # Safety
///
/// Nothing may use the memory any more: every reference into it dangles afterwards.
pub unsafe fn munmap(address: usize, len: usize) -> Result<(), Errno> {
    let start = address & !4095;
    let size = len.checked_add(address - start).ok_or(Errno::EINVAL)?;
    // SAFETY: the caller guarantees the range is no longer used.
    unsafe { sys::mem_unmap(start, size) }
}

/// Changes the access of mapped pages (`PROT_*`), within what their mapping allows
/// (`EACCES`: a read-only open cannot be made writable).
///
/// # Safety
///
/// Taking access away invalidates every reference into the range that would use it.
pub unsafe fn mprotect(address: usize, len: usize, prot: u32) -> Result<(), Errno> {
    // SAFETY: the caller vouches for the references.
    unsafe { sys::mem_protect(address, len, prot) }
}
