//! The kernel heap: a buddy allocator (`buddy_system_allocator`) over one run of
//! frames carved from free RAM at boot, reached through the linear map.

use super::layout::phys_to_virt;
use super::memmap::PhysRange;
use buddy_system_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Hands the RAM in `range` (unused by anything else, ever) to the heap.
pub fn init(range: PhysRange) {
    // SAFETY: the caller took `range` out of the free memory map, so nothing else uses
    // it, and the linear map covers it read-write for the kernel's lifetime.
    unsafe { HEAP.lock().init(phys_to_virt(range.start), range.len()) };
}

/// (bytes requested by live allocations, bytes the heap manages).
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_user(), heap.stats_total_bytes())
}
