//! The physical memory map: which ranges are RAM, which of them are already taken
//! (kernel image, device tree, firmware reservations), and therefore which are free.
//!
//! Lists are fixed-capacity and kept sorted and merged, so this works before the heap
//! exists.

use super::layout::{align_down, align_up, PAGE_SIZE};
use core::fmt;

/// A half-open range of physical addresses, `start..end`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PhysRange {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl PhysRange {
    /// The range `start..end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The range of `size` bytes at `start`, saturating at the top of the address space.
    pub const fn with_size(start: usize, size: usize) -> Self {
        Self { start, end: start.saturating_add(size) }
    }

    /// Number of bytes in the range.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when `addr` lies inside the range.
    pub const fn contains(&self, addr: usize) -> bool {
        self.start <= addr && addr < self.end
    }

    /// True when the two ranges share at least one byte.
    pub const fn overlaps(&self, other: &PhysRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The largest page-aligned range inside this one (possibly empty).
    pub fn pages_inside(&self) -> PhysRange {
        let start = align_up(self.start, PAGE_SIZE).unwrap_or(usize::MAX);
        let end = align_down(self.end, PAGE_SIZE);
        if start >= end {
            PhysRange::default()
        } else {
            PhysRange { start, end }
        }
    }

    /// The smallest page-aligned range covering this one.
    pub fn pages_covering(&self) -> PhysRange {
        let start = align_down(self.start, PAGE_SIZE);
        let end = align_up(self.end, PAGE_SIZE).unwrap_or(align_down(usize::MAX, PAGE_SIZE));
        PhysRange { start, end }
    }
}

impl fmt::Debug for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// How many disjoint ranges one list can hold.
pub const MAX_RANGES: usize = 64;

/// Why a memory map could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryMapError {
    /// More disjoint ranges than [`MAX_RANGES`].
    TooManyRanges,
    /// The description holds no RAM at all.
    NoRam,
}

/// A sorted list of disjoint, non-adjacent, non-empty ranges.
#[derive(Clone, Copy)]
pub struct RangeList {
    ranges: [PhysRange; MAX_RANGES],
    len: usize,
}

impl Default for RangeList {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeList {
    /// An empty list.
    pub const fn new() -> Self {
        Self { ranges: [PhysRange { start: 0, end: 0 }; MAX_RANGES], len: 0 }
    }

    /// The ranges, lowest first.
    pub fn as_slice(&self) -> &[PhysRange] {
        &self.ranges[..self.len]
    }

    /// Total bytes covered.
    pub fn total(&self) -> usize {
        self.as_slice().iter().map(PhysRange::len).sum()
    }

    /// True when some range contains `addr`.
    pub fn contains(&self, addr: usize) -> bool {
        self.as_slice().iter().any(|r| r.contains(addr))
    }

    /// Adds `range`, merging it with the ranges it overlaps or touches.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), MemoryMapError> {
        if range.is_empty() {
            return Ok(());
        }
        let mut merged = range;
        let mut out = RangeList::new();
        let mut placed = false;
        for r in self.as_slice() {
            if r.end < merged.start {
                out.push_raw(*r)?;
            } else if merged.end < r.start {
                if !placed {
                    out.push_raw(merged)?;
                    placed = true;
                }
                out.push_raw(*r)?;
            } else {
                merged = PhysRange::new(merged.start.min(r.start), merged.end.max(r.end));
            }
        }
        if !placed {
            out.push_raw(merged)?;
        }
        *self = out;
        Ok(())
    }

    /// Removes every byte of `range` from the list (splitting ranges where needed).
    pub fn remove(&mut self, range: PhysRange) -> Result<(), MemoryMapError> {
        if range.is_empty() {
            return Ok(());
        }
        let mut out = RangeList::new();
        for r in self.as_slice() {
            if !r.overlaps(&range) {
                out.push_raw(*r)?;
                continue;
            }
            let below = PhysRange::new(r.start, range.start.min(r.end));
            let above = PhysRange::new(range.end.max(r.start), r.end);
            if !below.is_empty() {
                out.push_raw(below)?;
            }
            if !above.is_empty() {
                out.push_raw(above)?;
            }
        }
        *self = out;
        Ok(())
    }

    fn push_raw(&mut self, range: PhysRange) -> Result<(), MemoryMapError> {
        if self.len == MAX_RANGES {
            return Err(MemoryMapError::TooManyRanges);
        }
        self.ranges[self.len] = range;
        self.len += 1;
        Ok(())
    }
}

impl fmt::Debug for RangeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// RAM and the parts of it that are not ours to hand out.
#[derive(Clone, Copy, Default, Debug)]
pub struct MemoryMap {
    /// Every range of RAM.
    pub ram: RangeList,
    /// Ranges in use before the allocators start: firmware, device tree, kernel image…
    pub reserved: RangeList,
}

impl MemoryMap {
    /// RAM minus reservations, each range shrunk to whole pages.
    pub fn free_ranges(&self) -> Result<RangeList, MemoryMapError> {
        let mut free = self.ram;
        for r in self.reserved.as_slice() {
            free.remove(r.pages_covering())?;
        }
        let mut pages = RangeList::new();
        for r in free.as_slice() {
            pages.insert(r.pages_inside())?;
        }
        Ok(pages)
    }

    /// The lowest and highest RAM address (the span the linear map must cover).
    pub fn ram_span(&self) -> Option<PhysRange> {
        let ranges = self.ram.as_slice();
        Some(PhysRange::new(ranges.first()?.start, ranges.last()?.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ranges: &[(usize, usize)]) -> RangeList {
        let mut l = RangeList::new();
        for &(s, e) in ranges {
            l.insert(PhysRange::new(s, e)).unwrap();
        }
        l
    }

    fn pairs(l: &RangeList) -> Vec<(usize, usize)> {
        l.as_slice().iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn insert_sorts_and_merges_overlapping_and_adjacent() {
        let l = list(&[(0x5000, 0x6000), (0x1000, 0x2000), (0x2000, 0x3000), (0x5800, 0x9000)]);
        assert_eq!(pairs(&l), vec![(0x1000, 0x3000), (0x5000, 0x9000)]);
        assert_eq!(l.total(), 0x2000 + 0x4000);
    }

    #[test]
    fn insert_bridging_range_joins_neighbours() {
        let l = list(&[(0, 10), (20, 30), (40, 50), (5, 45)]);
        assert_eq!(pairs(&l), vec![(0, 50)]);
    }

    #[test]
    fn empty_ranges_are_ignored() {
        let l = list(&[(10, 10), (20, 5)]);
        assert!(l.as_slice().is_empty());
    }

    #[test]
    fn remove_splits_and_trims() {
        let mut l = list(&[(0, 100), (200, 300)]);
        l.remove(PhysRange::new(40, 60)).unwrap();
        l.remove(PhysRange::new(250, 400)).unwrap();
        l.remove(PhysRange::new(0, 10)).unwrap();
        assert_eq!(pairs(&l), vec![(10, 40), (60, 100), (200, 250)]);
        assert!(l.contains(39) && !l.contains(40) && !l.contains(250));
    }

    #[test]
    fn too_many_ranges_is_an_error_not_a_panic() {
        let mut l = RangeList::new();
        for i in 0..MAX_RANGES {
            l.insert(PhysRange::new(i * 10, i * 10 + 5)).unwrap();
        }
        assert_eq!(l.insert(PhysRange::new(10_000, 10_005)), Err(MemoryMapError::TooManyRanges));
    }

    #[test]
    fn free_ranges_exclude_reservations_rounded_to_pages() {
        let mut map = MemoryMap::default();
        map.ram.insert(PhysRange::new(0x4000_0000, 0x4800_0000)).unwrap();
        // A DTB that does not end on a page boundary, and a kernel image.
        map.reserved.insert(PhysRange::with_size(0x4000_0000, 0x1_0123)).unwrap();
        map.reserved.insert(PhysRange::new(0x4020_0000, 0x4031_2345)).unwrap();
        let free = map.free_ranges().unwrap();
        assert_eq!(pairs(&free), vec![(0x4001_1000, 0x4020_0000), (0x4031_3000, 0x4800_0000)]);
        for r in free.as_slice() {
            assert_eq!(r.start % PAGE_SIZE, 0);
            assert_eq!(r.end % PAGE_SIZE, 0);
            for res in map.reserved.as_slice() {
                assert!(!r.overlaps(res));
            }
        }
    }

    #[test]
    fn unaligned_ram_is_shrunk_inward() {
        let mut map = MemoryMap::default();
        map.ram.insert(PhysRange::new(0x1234, 0x9876)).unwrap();
        assert_eq!(pairs(&map.free_ranges().unwrap()), vec![(0x2000, 0x9000)]);
        assert_eq!(map.ram_span(), Some(PhysRange::new(0x1234, 0x9876)));
    }
}
