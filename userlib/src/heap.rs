//! The heap behind `alloc` (`Box`, `Vec`, `String`, …): a buddy allocator
//! (`buddy_system_allocator::Heap`) that starts empty and grows by mapping anonymous
//! memory (`MemMapAnon`) whenever an allocation does not fit, allocations larger than the
//! usual growth step included. Memory is never given back to the kernel.
//!
//! The kernel promises only 4 KiB alignment for a mapping, while a buddy block of size
//! `P` (a power of two) must be `P`-aligned; any `2P` bytes hold such a block, so growth
//! maps at least twice the block an allocation needs ([`growth_size`]). The other half
//! stays in the heap for later allocations.

use core::alloc::Layout;

/// The least memory mapped at a time.
pub const GROWTH_STEP: usize = 64 * 1024;
/// Largest buddy block order plus one: blocks up to 2 GiB, past what one mapping can be.
pub const ORDER: usize = 32;
/// The granule mappings are made in.
const PAGE_SIZE: usize = 4096;

/// Bytes to map so that an allocation of `layout` fits in the new memory wherever the
/// kernel places it, rounded up to whole pages; `None` if that overflows.
pub fn growth_size(layout: Layout) -> Option<usize> {
    let block = layout.size().max(layout.align()).max(core::mem::size_of::<usize>()).checked_next_power_of_two()?;
    let size = block.checked_mul(2)?.max(GROWTH_STEP);
    Some(size.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

#[cfg(target_os = "none")]
mod allocator {
    use super::{growth_size, ORDER};
    use crate::sync::Mutex;
    use crate::sys;
    use buddy_system_allocator::Heap;
    use core::alloc::{GlobalAlloc, Layout};
    use core::ptr::{null_mut, NonNull};

    /// The process's heap.
    struct GrowingHeap {
        heap: Mutex<Heap<ORDER>>,
    }

    // SAFETY: every block handed out comes from the buddy heap under its lock, so no two
    // live allocations overlap, and each honours its layout (the buddy allocator's
    // contract); memory added to the heap is fresh from `MemMapAnon` and never unmapped.
    unsafe impl GlobalAlloc for GrowingHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut heap = self.heap.lock();
            if let Ok(block) = heap.alloc(layout) {
                return block.as_ptr();
            }
            let Some(size) = growth_size(layout) else {
                return null_mut();
            };
            let Ok(start) = sys::mem_map_anon(size) else {
                return null_mut();
            };
            // SAFETY: `MemMapAnon` returned `size` bytes of fresh read-write memory that
            // nothing else uses and that stays mapped for the life of the process.
            unsafe { heap.add_to_heap(start, start + size) };
            heap.alloc(layout).map_or(null_mut(), |block| block.as_ptr())
        }

        unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
            // SAFETY: `GlobalAlloc`'s contract: `pointer` came from `alloc` with `layout`,
            // so it is non-null and the buddy heap handed it out.
            unsafe { self.heap.lock().dealloc(NonNull::new_unchecked(pointer), layout) }
        }
    }

    #[global_allocator]
    static HEAP: GrowingHeap = GrowingHeap { heap: Mutex::new(Heap::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use buddy_system_allocator::Heap;

    #[test]
    fn small_allocations_grow_by_one_step() {
        let step = |size, align| growth_size(Layout::from_size_align(size, align).unwrap());
        assert_eq!(step(1, 1), Some(GROWTH_STEP));
        assert_eq!(step(4096, 4096), Some(GROWTH_STEP));
        assert_eq!(step(GROWTH_STEP / 2, 8), Some(GROWTH_STEP));
        assert_eq!(step(GROWTH_STEP / 2 + 1, 8), Some(2 * GROWTH_STEP));
        assert_eq!(step(3 << 20, 16), Some(8 << 20));
        assert_eq!(step(isize::MAX as usize / 2 + 2, 1), None);
    }

    /// Whatever 4 KiB-aligned address the kernel picks, the new memory holds the
    /// allocation that asked for it, however large.
    #[test]
    fn the_grown_memory_always_fits_the_allocation() {
        let layouts = [
            Layout::from_size_align(24, 8).unwrap(),
            Layout::from_size_align(40 * 1024, 8).unwrap(),
            Layout::from_size_align(100 * 1024, 16).unwrap(),
            Layout::from_size_align(5000, 4096).unwrap(),
            Layout::from_size_align(256 * 1024, 8).unwrap(),
        ];
        for layout in layouts {
            let size = growth_size(layout).unwrap();
            let room = size + 64 * PAGE_SIZE;
            let arena_layout = Layout::from_size_align(room, PAGE_SIZE).unwrap();
            // SAFETY: `arena_layout` has a non-zero size.
            let arena = unsafe { std::alloc::alloc(arena_layout) } as usize;
            assert_ne!(arena, 0);
            for page in 0..64 {
                let start = arena + page * PAGE_SIZE;
                let mut heap = Heap::<ORDER>::new();
                // SAFETY: `[start, start + size)` lies inside the arena this test owns,
                // and the heap is dropped before the arena is freed.
                unsafe { heap.add_to_heap(start, start + size) };
                assert!(heap.alloc(layout).is_ok(), "{layout:?} does not fit {size} bytes at page {page}");
            }
            // SAFETY: allocated above with the same layout.
            unsafe { std::alloc::dealloc(arena as *mut u8, arena_layout) };
        }
    }
}
