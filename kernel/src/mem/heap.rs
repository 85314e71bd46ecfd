//! The kernel heap: a buddy allocator (`buddy_system_allocator`) over one run of
//! frames carved from free RAM at boot, reached through the linear map.

#[cfg(target_os = "none")]
use super::{layout::phys_to_virt, memmap::PhysRange};
use buddy_system_allocator::Heap;

/// The buddy allocator's orders: blocks of up to 2^31 bytes.
const ORDER: usize = 32;

#[cfg(target_os = "none")]
#[global_allocator]
static HEAP: buddy_system_allocator::LockedHeap<ORDER> = buddy_system_allocator::LockedHeap::empty();

/// Hands the RAM in `range` (unused by anything else, ever) to the heap.
#[cfg(target_os = "none")]
pub fn init(range: PhysRange) {
    // SAFETY: the caller took `range` out of the free memory map, so nothing else uses
    // it, and the linear map covers it read-write for the kernel's lifetime.
    unsafe { HEAP.lock().init(phys_to_virt(range.start), range.len()) };
}

/// (bytes the live allocations take, bytes the heap manages).
#[cfg(target_os = "none")]
pub fn usage() -> (usize, usize) {
    usage_of(&HEAP.lock())
}

/// [`usage`] of `heap`. Each allocation takes a power-of-two block, up to twice what was
/// asked: counted by what was asked, a heap whose every block is taken looked up to
/// half free, and the kernel's reserve (`Machine::kernel_memory_low`) never ran low
/// before an allocation failed.
fn usage_of(heap: &Heap<ORDER>) -> (usize, usize) {
    (heap.stats_alloc_actual(), heap.stats_total_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::alloc::Layout;

    #[test]
    fn a_heap_whose_blocks_are_all_taken_is_counted_full() {
        #[repr(C, align(4096))]
        struct Arena([u8; 64 * 1024]);
        let mut arena = Box::new(Arena([0; 64 * 1024]));
        let mut heap = Heap::<ORDER>::new();
        // SAFETY: the arena is ours, unused by anything else, and outlives the heap.
        unsafe { heap.init(arena.0.as_mut_ptr() as usize, arena.0.len()) };
        // Records of 65 bytes, each taking a block of 128.
        let layout = Layout::from_size_align(65, 8).unwrap();
        while heap.alloc(layout).is_ok() {}
        let (used, total) = usage_of(&heap);
        assert_eq!(total, 64 * 1024);
        assert!(total - used < total / 16, "{used} of {total} bytes counted used with no block left");
    }
}
