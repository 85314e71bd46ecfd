//! Starting programs from the boot image, which the kernel maps read-only into proc at
//! `abi::BOOT_IMAGE_VADDR`: a new, empty process; each segment copied into a memory
//! object that is then mapped into it; a stack with the argument block on top; thread 1.

use alloc::vec::Vec;
use userlib::abi::bootimage::{flags, BootImage, Program, Segment};
use userlib::abi::sched::{Policy, SchedParam};
use userlib::abi::syscall::mem_prot;
use userlib::{sys, Errno, Pid};

const PAGE: usize = 4096;

/// The boot image.
pub fn image() -> Result<BootImage<'static>, Errno> {
    let base = userlib::abi::BOOT_IMAGE_VADDR as *const u8;
    // SAFETY: the kernel mapped the image (which it checked at boot) read-only at this
    // address for proc's whole life; the header's 24 bytes lie in its first page.
    let header = unsafe { core::slice::from_raw_parts(base, 24) };
    let total = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes")) as usize;
    // SAFETY: as above: `total` is the size the kernel validated and mapped.
    let bytes = unsafe { core::slice::from_raw_parts(base, total) };
    BootImage::parse(bytes).map_err(|_| Errno::ENOEXEC)
}

/// Where a new process goes: whose child it is, in which process group (as
/// `sys::process_create` takes it), with which `abi::syscall::process_flags`.
pub struct Placement {
    /// Its parent.
    pub parent: Pid,
    /// Its process group: 0 the parent's, `NEW_PROCESS_GROUP` its own, else one to join.
    pub group: u32,
    /// Its flags.
    pub flags: u32,
}

/// Starts `program` with `args` and `environment` (each string ended by NUL), placed as
/// `placement` says, at `priority`/`policy` (`None`: the image's). Returns its pid.
pub fn spawn(
    program: &Program<'_>,
    args: &[u8],
    environment: &[u8],
    priority: Option<u8>,
    policy: Option<Policy>,
    placement: Placement,
) -> Result<Pid, Errno> {
    let pid = sys::process_create(program.name, placement.parent, placement.flags, placement.group)?;
    match load(pid, program, args, environment, priority, policy) {
        Ok(()) => Ok(pid),
        Err(e) => {
            let _ = sys::process_kill(pid, 0); // never started: it leaves no trace
            Err(e)
        }
    }
}

fn load(
    pid: Pid,
    program: &Program<'_>,
    args: &[u8],
    environment: &[u8],
    priority: Option<u8>,
    policy: Option<Policy>,
) -> Result<(), Errno> {
    for segment in program.segments() {
        load_segment(pid, &segment)?;
    }
    let mut block = Vec::with_capacity(program.name.len() + 1 + args.len() + environment.len());
    block.extend_from_slice(program.name.as_bytes());
    block.push(0);
    block.extend_from_slice(args);
    // argc counts the name and the arguments; the environment follows them.
    let argc = block.iter().filter(|b| **b == 0).count() as u64;
    block.extend_from_slice(environment);
    let (sp, args_at) = map_stack(pid, &block)?;
    let param = SchedParam {
        policy: policy.or_else(|| Policy::from_number(program.policy)).unwrap_or(Policy::RoundRobin),
        priority: priority.unwrap_or(program.priority).max(userlib::abi::sched::MIN_USER_PRIORITY),
    };
    sys::process_start(pid, program.entry as usize, sp, [argc, args_at as u64, block.len() as u64], param)?;
    Ok(())
}

/// A memory object of `size` bytes filled by `fill` through a temporary mapping in proc.
fn filled_object(size: usize, fill: impl FnOnce(&mut [u8])) -> Result<u32, Errno> {
    let handle = sys::mem_object_create(size)?;
    let rw = mem_prot::READ | mem_prot::WRITE;
    // SAFETY: the kernel picks a free place in proc's space.
    let at = match unsafe { sys::mem_object_map(0, handle, 0, size, 0, rw, rw) } {
        Ok(at) => at,
        Err(e) => {
            let _ = sys::mem_object_close(handle);
            return Err(e);
        }
    };
    // SAFETY: `size` bytes at `at` were just mapped read-write for proc alone.
    fill(unsafe { core::slice::from_raw_parts_mut(at as *mut u8, size) });
    // SAFETY: the slice above is gone; nothing refers to the mapping.
    let _ = unsafe { sys::mem_unmap(at, size) };
    Ok(handle)
}

fn load_segment(pid: Pid, segment: &Segment<'_>) -> Result<(), Errno> {
    let start = segment.vaddr as usize & !(PAGE - 1);
    let end = (segment.vaddr + segment.mem_size) as usize;
    let size = (end - start).div_ceil(PAGE) * PAGE;
    if start < userlib::abi::USER_IMAGE_BASE || start + size > userlib::abi::USER_ANON_BASE {
        return Err(Errno::ENOEXEC);
    }
    let offset = segment.vaddr as usize - start;
    let handle = filled_object(size, |memory| {
        memory[offset..offset + segment.data.len()].copy_from_slice(segment.data);
    })?;
    let mut prot = mem_prot::READ;
    if segment.flags & flags::WRITE != 0 {
        prot |= mem_prot::WRITE;
    } else if segment.flags & flags::EXECUTE != 0 {
        prot |= mem_prot::EXEC;
    }
    // SAFETY: maps into the new process, not into proc.
    let mapped = unsafe { sys::mem_object_map(pid, handle, 0, size, start, prot, prot) };
    let _ = sys::mem_object_close(handle);
    mapped.map(|_| ()).map_err(|e| if e == Errno::ENOMEM { e } else { Errno::ENOEXEC })
}

/// Maps the main stack (its lowest page an inaccessible guard) with `block` on top;
/// returns (sp, block address).
fn map_stack(pid: Pid, block: &[u8]) -> Result<(usize, usize), Errno> {
    let size = userlib::abi::DEFAULT_STACK_SIZE;
    if block.len() > size / 2 {
        return Err(Errno::E2BIG);
    }
    let handle = filled_object(size + PAGE, |memory| {
        let end = memory.len();
        memory[end - block.len()..].copy_from_slice(block);
    })?;
    let base = userlib::abi::USER_STACK_TOP - size - PAGE;
    let rw = mem_prot::READ | mem_prot::WRITE;
    // SAFETY (both): map into the new process, not into proc.
    let guard = unsafe { sys::mem_object_map(pid, handle, 0, PAGE, base, 0, 0) };
    let stack = guard.and_then(|_| unsafe { sys::mem_object_map(pid, handle, PAGE, size, base + PAGE, rw, rw) });
    let _ = sys::mem_object_close(handle);
    stack?;
    let args_at = userlib::abi::USER_STACK_TOP - block.len();
    Ok((args_at & !15, args_at))
}
