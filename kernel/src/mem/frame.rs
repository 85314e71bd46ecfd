//! The physical frame allocator: a buddy system over the free RAM ranges.
//!
//! Allocations are power-of-two runs of 4 KiB frames, naturally aligned to their size,
//! which is what translation tables (one frame) and large blocks (2 MiB runs) need.
//! The buddy bookkeeping itself is `buddy_system_allocator::FrameAllocator`; this type
//! adds the kernel's units (physical addresses, [`PhysRange`]), accounting, and
//! refusal of frees that cannot be right.

use super::layout::{PAGE_SHIFT, PAGE_SIZE};
use super::memmap::{PhysRange, RangeList};

/// Largest run is 2^(ORDER-1) frames (4 GiB with 4 KiB frames).
const BUDDY_ORDER: usize = 21;

/// Why a frame request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// No free run of the requested size.
    OutOfMemory,
    /// A zero-frame request, or a free of a range that cannot have come from here.
    InvalidRequest,
}

/// Owner of every free physical frame.
pub struct FrameAllocator {
    buddy: buddy_system_allocator::FrameAllocator<BUDDY_ORDER>,
    managed: RangeList,
    total_frames: usize,
    free_frames: usize,
}

impl Default for FrameAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameAllocator {
    /// An allocator that owns no memory yet.
    pub const fn new() -> Self {
        Self {
            buddy: buddy_system_allocator::FrameAllocator::new(),
            managed: RangeList::new(),
            total_frames: 0,
            free_frames: 0,
        }
    }

    /// Hands the whole pages inside `range` to the allocator.
    ///
    /// Ranges must not overlap ones added before (overlaps are ignored, not doubled).
    pub fn add_range(&mut self, range: PhysRange) {
        let pages = range.pages_inside();
        if pages.is_empty() || self.managed.as_slice().iter().any(|r| r.overlaps(&pages)) {
            return;
        }
        if self.managed.insert(pages).is_err() {
            return;
        }
        self.buddy.add_frame(pages.start >> PAGE_SHIFT, pages.end >> PAGE_SHIFT);
        let frames = pages.len() >> PAGE_SHIFT;
        self.total_frames += frames;
        self.free_frames += frames;
    }

    /// Allocates `frames` contiguous frames (rounded up to a power of two) aligned to
    /// their rounded size; returns the physical address of the first one.
    pub fn alloc(&mut self, frames: usize) -> Result<usize, FrameError> {
        if frames == 0 || frames > 1 << (BUDDY_ORDER - 1) {
            return Err(FrameError::InvalidRequest);
        }
        let rounded = frames.next_power_of_two();
        let first = self.buddy.alloc(rounded).ok_or(FrameError::OutOfMemory)?;
        self.free_frames -= rounded;
        Ok(first << PAGE_SHIFT)
    }

    /// Returns `frames` frames starting at `phys`, exactly as they were allocated.
    pub fn free(&mut self, phys: usize, frames: usize) -> Result<(), FrameError> {
        if frames == 0 || frames > 1 << (BUDDY_ORDER - 1) {
            return Err(FrameError::InvalidRequest);
        }
        let rounded = frames.next_power_of_two();
        let bytes = rounded << PAGE_SHIFT;
        let inside = self
            .managed
            .as_slice()
            .iter()
            .any(|r| r.contains(phys) && phys.checked_add(bytes).is_some_and(|end| end <= r.end));
        if !phys.is_multiple_of(bytes.max(PAGE_SIZE)) || !inside || self.free_frames + rounded > self.total_frames {
            return Err(FrameError::InvalidRequest);
        }
        self.buddy.dealloc(phys >> PAGE_SHIFT, rounded);
        self.free_frames += rounded;
        Ok(())
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> usize {
        self.free_frames
    }

    /// Frames ever handed to the allocator.
    pub fn total_frames(&self) -> usize {
        self.total_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allocator() -> FrameAllocator {
        let mut a = FrameAllocator::new();
        a.add_range(PhysRange::new(0x4001_1000, 0x4020_0000));
        a.add_range(PhysRange::new(0x4040_0000, 0x4080_0000));
        a
    }

    #[test]
    fn counts_whole_pages_of_added_ranges() {
        let mut a = FrameAllocator::new();
        a.add_range(PhysRange::new(0x1800, 0x5800)); // pages 0x2000..0x5000
        assert_eq!(a.total_frames(), 3);
        a.add_range(PhysRange::new(0x2000, 0x3000)); // overlap: ignored
        assert_eq!(a.total_frames(), 3);
    }

    #[test]
    fn allocations_are_distinct_aligned_and_inside_free_ram() {
        let mut a = allocator();
        let total = a.total_frames();
        let mut seen = std::collections::BTreeSet::new();
        let mut runs = Vec::new();
        for &size in &[1usize, 2, 3, 8, 1, 512, 4] {
            let pa = a.alloc(size).unwrap();
            let rounded = size.next_power_of_two();
            assert_eq!(pa % (rounded * PAGE_SIZE), 0, "natural alignment");
            for f in 0..rounded {
                let frame = pa + f * PAGE_SIZE;
                assert!((0x4001_1000..0x4020_0000).contains(&frame) || (0x4040_0000..0x4080_0000).contains(&frame));
                assert!(seen.insert(frame), "frame {frame:#x} handed out twice");
            }
            runs.push((pa, size));
        }
        assert_eq!(a.free_frames(), total - seen.len());
        for (pa, size) in runs {
            a.free(pa, size).unwrap();
        }
        assert_eq!(a.free_frames(), total);
    }

    #[test]
    fn exhaustion_then_recovery() {
        let mut a = FrameAllocator::new();
        a.add_range(PhysRange::new(0x10_0000, 0x10_0000 + 16 * PAGE_SIZE));
        let frames: Vec<_> = (0..16).map(|_| a.alloc(1).unwrap()).collect();
        assert_eq!(a.alloc(1), Err(FrameError::OutOfMemory));
        for f in frames {
            a.free(f, 1).unwrap();
        }
        // Buddies merged again: the whole 64 KiB is one run.
        assert_eq!(a.alloc(16), Ok(0x10_0000));
    }

    #[test]
    fn bad_requests_are_refused() {
        let mut a = allocator();
        assert_eq!(a.alloc(0), Err(FrameError::InvalidRequest));
        assert_eq!(a.free(0x1000, 1), Err(FrameError::InvalidRequest)); // not managed
        assert_eq!(a.free(0x4040_0800, 1), Err(FrameError::InvalidRequest)); // misaligned
        assert_eq!(a.free(0x4040_1000, 2), Err(FrameError::InvalidRequest)); // not aligned to its run
        assert_eq!(a.free(0x4040_0000, 1), Err(FrameError::InvalidRequest)); // nothing allocated
        assert_eq!(a.alloc(usize::MAX), Err(FrameError::InvalidRequest));
    }
}
