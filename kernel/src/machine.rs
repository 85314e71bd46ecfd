//! What the kernel core needs from the machine, as one trait, so the core (processes,
//! threads, scheduling, system calls) runs unchanged on the host in tests.
//!
//! `run.rs` implements it over the real frame allocator, the linear map, the TLB, the
//! generic timer and the console; the host tests implement it over heap pages.

use crate::mem::paging::TableMemory;
use crate::mem::PAGE_SIZE;

/// Hardware services for the core.
pub trait Machine: TableMemory {
    /// A zero-filled 4 KiB frame; returns its physical address.
    fn alloc_frame(&mut self) -> Option<usize>;
    /// Returns a frame from `alloc_frame`.
    fn free_frame(&mut self, phys: usize);
    /// How many frames `alloc_frame` could still give.
    fn free_frames(&self) -> usize;
    /// The bytes of a frame from `alloc_frame`.
    fn frame(&mut self, phys: usize) -> &mut [u8; PAGE_SIZE];
    /// Copies `len` bytes from physical `src` to physical `dst` (both inside frames from
    /// `alloc_frame`, not crossing a frame end): the direct address-space-to-address-space
    /// copy of message passing.
    fn copy_physical(&mut self, src: usize, dst: usize, len: usize);
    /// The machine's cache of user translations, if it keeps one.
    fn user_tlb(&mut self) -> Option<&mut crate::mem::usertlb::UserTlb> {
        None
    }
    /// The physical page behind user page `va` as the MMU translates an EL0 read (a
    /// write, `write`), if the address space whose table root is `root` is the one loaded
    /// on this CPU: `Some(None)` when user code may not access it that way. `None` when
    /// the machine cannot tell (another space is loaded, or no MMU to ask: the host),
    /// and the caller walks the tables itself.
    fn translate_loaded(&mut self, root: usize, va: usize, write: bool) -> Option<Option<usize>> {
        let _ = (root, va, write);
        None
    }
    /// Forgets any TLB entry for page `va` of address space `asid`.
    fn flush_tlb_page(&mut self, asid: u16, va: usize);
    /// Forgets every TLB entry of address space `asid`.
    fn flush_tlb_asid(&mut self, asid: u16);
    /// Whether an interrupt is waiting to be taken (the kernel runs with IRQs masked):
    /// a long copy stops at the next page and its system call is restarted, so that
    /// interrupt latency does not grow with message size (`transfer.rs`).
    fn interrupt_pending(&mut self) -> bool;
    /// Nanoseconds since boot.
    fn now_ns(&self) -> u64;
    /// Writes to the kernel console.
    fn console_write(&mut self, bytes: &[u8]);
    /// Stops the machine with `code` (QEMU's exit code). Returns only on the host.
    fn shutdown(&mut self, code: u32);
    /// Routes interrupt `irq` to user events and enables it (`EINVAL`: no such line,
    /// `EBUSY`: the kernel uses it).
    fn interrupt_attach(&mut self, irq: u32) -> Result<(), abi::Errno>;
    /// Masks interrupt `irq` and forgets its route.
    fn interrupt_detach(&mut self, irq: u32);
    /// Masks or unmasks an attached interrupt.
    fn interrupt_set_masked(&mut self, irq: u32, masked: bool);
    /// What `SystemInfo` reports.
    fn system_info(&self) -> abi::info::SystemInfo;
    /// Whether `[phys, phys + size)` lies inside the board's device registers (what a
    /// driver may map with `MemObjectDevice`).
    fn is_device_range(&self, phys: usize, size: usize) -> bool;
    /// Whether the kernel heap is down to its last reserve: calls that would make the
    /// kernel keep more (threads, regions, channels, objects…) are refused with `ENOMEM`
    /// then, so that no allocation of the kernel's own fails (which would be fatal).
    fn kernel_memory_low(&self) -> bool;
}
