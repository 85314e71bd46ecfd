//! The heap behind `alloc` (`Box`, `Vec`, `String`, …): a buddy allocator
//! (`buddy_system_allocator::Heap`) that starts empty and grows by mapping anonymous
//! memory (`MemMapAnon`) whenever an allocation does not fit, allocations larger than the
//! usual growth step included. Memory the buddy heap holds is never given back to the
//! kernel; an allocation of [`LARGE`] bytes or more is a mapping of its own instead,
//! unmapped when it is freed, so that a server that once held a lot (ramfs's files)
//! does not keep the memory after it lets go of it.
//!
//! Small blocks (up to [`CACHED_MAX`] bytes) that are freed go to a per-size free list
//! instead of back to the buddy heap, and the next allocation of that size takes one
//! from there: a server allocates and frees a few small buffers per message, and the
//! buddy heap would split and merge blocks for each.
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
/// Largest block the free lists keep.
pub const CACHED_MAX: usize = 512;
/// Allocations of this many bytes or more (aligned to a page at most) are mappings of
/// their own, given back to the kernel when freed.
pub const LARGE: usize = 256 * 1024;

/// The bytes to map for `layout` if it is a large allocation (a mapping of its own).
pub fn large_mapping(layout: Layout) -> Option<usize> {
    if layout.size() < LARGE || layout.align() > PAGE_SIZE {
        return None;
    }
    layout.size().checked_next_multiple_of(PAGE_SIZE)
}
/// Blocks each free list keeps at most (more go back to the buddy heap).
#[cfg(any(test, target_os = "none"))]
const CACHED_PER_SIZE: usize = 64;

/// The buddy block an allocation of `layout` takes: its size is a power of two, at least
/// a word, and it is aligned to its size.
#[cfg(any(test, target_os = "none"))]
fn block_size(layout: Layout) -> usize {
    layout.size().max(layout.align()).max(core::mem::size_of::<usize>()).next_power_of_two()
}

/// The layout the buddy heap is asked for in place of `layout`: its whole block, aligned
/// to its size. The heap allocates that block for either; asking for it always means a
/// block from a free list is given back with the layout it was allocated with, whatever
/// layout of its class used it in between (the buddy heap's `dealloc` wants the layout
/// of the allocation, and counts its bytes).
#[cfg(any(test, target_os = "none"))]
fn buddy_layout(layout: Layout) -> Layout {
    let block = block_size(layout);
    Layout::from_size_align(block, block).unwrap_or(layout)
}

/// Which free list keeps blocks of `block` bytes, if any.
#[cfg(any(test, target_os = "none"))]
fn size_class(block: usize) -> Option<usize> {
    (block <= CACHED_MAX).then(|| block.trailing_zeros() as usize - 3)
}

/// Free lists of small blocks, one per power-of-two size from 8 bytes to [`CACHED_MAX`];
/// each free block holds the address of the next (0 ends a list).
#[cfg(any(test, target_os = "none"))]
struct FreeLists {
    heads: [usize; 7],
    lengths: [usize; 7],
}

#[cfg(any(test, target_os = "none"))]
impl FreeLists {
    const fn new() -> Self {
        Self { heads: [0; 7], lengths: [0; 7] }
    }

    /// A free block of size class `class`, if one is kept.
    ///
    /// # Safety
    /// Every block on the lists must be a free, writable block of its class.
    unsafe fn take(&mut self, class: usize) -> Option<usize> {
        let block = self.heads[class];
        if block == 0 {
            return None;
        }
        // SAFETY: `block` is a free block of at least a word, aligned to its size (the
        // caller's promise); its first word holds the next block's address.
        self.heads[class] = unsafe { *(block as *const usize) };
        self.lengths[class] -= 1;
        Some(block)
    }

    /// Keeps free `block` of size class `class`; false if that list is full.
    ///
    /// # Safety
    /// `block` must be a free block of that class that nothing else uses.
    unsafe fn keep(&mut self, class: usize, block: usize) -> bool {
        if self.lengths[class] >= CACHED_PER_SIZE {
            return false;
        }
        // SAFETY: the caller's promise: the block is free, writable and word-aligned.
        unsafe { *(block as *mut usize) = self.heads[class] };
        self.heads[class] = block;
        self.lengths[class] += 1;
        true
    }
}

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
    use super::{buddy_layout, growth_size, large_mapping, size_class, FreeLists, ORDER};
    use crate::sync::Mutex;
    use crate::sys;
    use buddy_system_allocator::Heap;
    use core::alloc::{GlobalAlloc, Layout};
    use core::ptr::{null_mut, NonNull};

    /// The process's heap.
    struct GrowingHeap {
        heap: Mutex<(Heap<ORDER>, FreeLists)>,
    }

    // SAFETY: every block handed out comes from the buddy heap under its lock, directly or
    // through a free list that only holds freed buddy blocks of one size (taken and kept
    // under the same lock), so no two live allocations overlap, and each honours its
    // layout (the buddy allocator's contract: a block is as large as and aligned to the
    // power of two `block_size` computes); memory added to the heap is fresh from
    // `MemMapAnon` and never unmapped. A large allocation is a fresh mapping of its own,
    // page-aligned (its layout asks for a page at most), which only its `dealloc`, given
    // the same layout, unmaps.
    unsafe impl GlobalAlloc for GrowingHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if let Some(size) = large_mapping(layout) {
                return sys::mem_map_anon(size).map_or(null_mut(), |start| start as *mut u8);
            }
            let mut guard = self.heap.lock();
            let (heap, free) = &mut *guard;
            let layout = buddy_layout(layout);
            if let Some(class) = size_class(layout.size()) {
                // SAFETY: the lists hold only freed blocks of their class.
                if let Some(block) = unsafe { free.take(class) } {
                    return block as *mut u8;
                }
            }
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
            if let Some(size) = large_mapping(layout) {
                // SAFETY: `GlobalAlloc`'s contract: `pointer` came from `alloc` with this
                // layout, so it is a mapping of `size` bytes of its own, no longer used.
                let _ = unsafe { sys::mem_unmap(pointer as usize, size) };
                return;
            }
            let mut guard = self.heap.lock();
            let (heap, free) = &mut *guard;
            let layout = buddy_layout(layout);
            if let Some(class) = size_class(layout.size()) {
                // SAFETY: `GlobalAlloc`'s contract: `pointer` came from `alloc` with a
                // layout of this block, so it is a block of this class, now free.
                if unsafe { free.keep(class, pointer as usize) } {
                    return;
                }
            }
            // SAFETY: as above; the buddy heap handed it out for this same block layout
            // (every allocation asks it for `buddy_layout`, so a block that went through
            // a free list comes back with the layout it was first allocated with).
            unsafe { heap.dealloc(NonNull::new_unchecked(pointer), layout) }
        }
    }

    #[global_allocator]
    static HEAP: GrowingHeap = GrowingHeap { heap: Mutex::new((Heap::new(), FreeLists::new())) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use buddy_system_allocator::Heap;

    #[test]
    fn small_blocks_have_a_free_list_per_size() {
        let class = |size, align| size_class(block_size(Layout::from_size_align(size, align).unwrap()));
        assert_eq!(class(1, 1), Some(0), "a word at least");
        assert_eq!(class(9, 1), Some(1));
        assert_eq!(class(8, 64), Some(3), "alignment counts");
        assert_eq!(class(CACHED_MAX, 8), Some(6));
        assert_eq!(class(CACHED_MAX + 1, 8), None);
        // Every layout of a class asks the buddy heap for the same block layout, so a
        // block reused through a free list goes back with the layout it came out with.
        let buddy = |size, align| buddy_layout(Layout::from_size_align(size, align).unwrap());
        assert_eq!(buddy(257, 8), buddy(512, 8));
        assert_eq!(buddy(300, 64), Layout::from_size_align(512, 512).unwrap());
        let mut arena = std::vec![0u8; 8192];
        let mut heap = Heap::<ORDER>::new();
        let start = (arena.as_mut_ptr() as usize + 4095) & !4095;
        // SAFETY: [start, start + 4096) lies in `arena`, which outlives `heap`.
        unsafe { heap.add_to_heap(start, start + 4096) };
        let block = heap.alloc(buddy(257, 8)).unwrap();
        // Reused for a 512-byte allocation, then given back as that: the heap's books hold.
        // SAFETY: `block` came from this heap, for this very block layout.
        unsafe { heap.dealloc(block, buddy(512, 8)) };
        assert_eq!(heap.stats_alloc_user(), 0);
        // Blocks come back last in, first out, and a list keeps CACHED_PER_SIZE at most.
        let mut arena = std::vec![0u64; CACHED_PER_SIZE + 1];
        let blocks: std::vec::Vec<usize> = arena.iter_mut().map(|w| w as *mut u64 as usize).collect();
        let mut free = FreeLists::new();
        // SAFETY: each block is a distinct word of `arena`, which outlives `free`.
        unsafe {
            for (i, b) in blocks.iter().enumerate() {
                assert_eq!(free.keep(0, *b), i < CACHED_PER_SIZE);
            }
            assert_eq!(free.take(0), Some(blocks[CACHED_PER_SIZE - 1]));
            assert_eq!(free.take(0), Some(blocks[CACHED_PER_SIZE - 2]));
            assert_eq!(free.take(1), None);
        }
    }

    #[test]
    fn large_allocations_are_mappings_of_their_own() {
        let large = |size, align| large_mapping(Layout::from_size_align(size, align).unwrap());
        assert_eq!(large(LARGE - 1, 8), None);
        assert_eq!(large(LARGE, 8), Some(LARGE));
        assert_eq!(large(LARGE + 1, 4096), Some(LARGE + PAGE_SIZE), "whole pages");
        assert_eq!(large(LARGE, 8192), None, "aligned past a page: the buddy heap's");
    }

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
