//! Handle tables: small integers naming kernel objects, checked on every use.
//!
//! A handle is `generation << 12 | index`, below 2^30 (bit 30 is free for callers that
//! need to tell two kinds of handle apart, like scoids and coids). Freeing a slot bumps
//! its generation, so a stale handle (kept after the object went away) never reaches the
//! object that reuses the slot. Index 0 is never used, so the first handle is 1 (pid 1 is
//! the first process, tid 1 a process's first thread).
//!
//! A lookup is one masked index and one compare: the slots are a power of two in number
//! (the table doubles them as it fills), and each holds the whole handle of its object,
//! or, while it is free, a 64-bit value no handle (a `u32`) has.

use alloc::vec::Vec;

/// Bits of a handle that hold the slot index.
pub const INDEX_BITS: u32 = 12;
/// Most slots one table can have.
pub const MAX_SLOTS: usize = 1 << INDEX_BITS;
const GENERATION_LIMIT: u32 = 1 << (30 - INDEX_BITS);
/// Set in the tag of a slot that holds no object. Tags are 64 bits and handles (any
/// `u32` a caller passes, forged ones included) are compared zero-extended, so no handle
/// has this bit: one compare tells a current handle from a stale one, from one naming
/// another slot, and from a free slot.
const FREE: u64 = 1 << 32;

struct Slot<T> {
    /// The handle of its object; while `value` is `None` (exactly then), the handle its
    /// next object will have, with [`FREE`] set.
    tag: u64,
    value: Option<T>,
}

impl<T> Slot<T> {
    /// The object, if `handle` names it.
    #[inline(always)]
    fn current(&self, handle: u32) -> Option<&T> {
        if self.tag != handle as u64 {
            return None;
        }
        debug_assert!(self.value.is_some(), "a slot without FREE holds no object");
        // SAFETY: the tag matched a handle, a `u32`, so FREE (bit 32) is clear, which it is
        // only while the slot holds an object (`insert_with` clears it as it stores the
        // object, `remove` sets it as it takes it out).
        Some(unsafe { self.value.as_ref().unwrap_unchecked() })
    }

    /// [`current`](Self::current), mutably.
    #[inline(always)]
    fn current_mut(&mut self, handle: u32) -> Option<&mut T> {
        if self.tag != handle as u64 {
            return None;
        }
        debug_assert!(self.value.is_some(), "a slot without FREE holds no object");
        // SAFETY: as in `current`.
        Some(unsafe { self.value.as_mut().unwrap_unchecked() })
    }
}

/// A table of `T`s named by generation-checked handles.
pub struct HandleTable<T> {
    /// A power of two of them (at least one: slot 0, never used).
    slots: Vec<Slot<T>>,
    /// `slots.len() - 1`: a handle's slot is `handle & mask`.
    mask: usize,
    /// Free slots, the next to use last.
    free: Vec<usize>,
    capacity: usize,
    live: usize,
}

/// The slot index inside a handle.
pub const fn index_of(handle: u32) -> usize {
    (handle as usize) & (MAX_SLOTS - 1)
}

impl<T> HandleTable<T> {
    /// An empty table that will hold at most `capacity` objects (at most 4095).
    pub fn new(capacity: usize) -> Self {
        let slot0 = Slot { tag: FREE, value: None };
        Self { slots: alloc::vec![slot0], mask: 0, free: Vec::new(), capacity: capacity.min(MAX_SLOTS - 1), live: 0 }
    }

    /// The slot `handle` would be in (another, if it names none of this table's).
    #[inline(always)]
    fn slot(&self, handle: u32) -> &Slot<T> {
        let index = handle as usize & self.mask;
        debug_assert!(index < self.slots.len());
        // SAFETY: `slots.len()` is a power of two and `mask` is one less, so the index is
        // below it.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// [`slot`](Self::slot), mutably.
    #[inline(always)]
    fn slot_mut(&mut self, handle: u32) -> &mut Slot<T> {
        let index = handle as usize & self.mask;
        debug_assert!(index < self.slots.len());
        // SAFETY: as in `slot`.
        unsafe { self.slots.get_unchecked_mut(index) }
    }

    /// Stores `value`; returns its handle, or `None` when the table is full.
    pub fn insert(&mut self, value: T) -> Option<u32> {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from the handle it will have.
    pub fn insert_with(&mut self, make: impl FnOnce(u32) -> T) -> Option<u32> {
        if self.free.is_empty() && self.live < self.capacity {
            // Twice the slots, the new ones free, the lowest used first.
            let old = self.slots.len();
            let new = (old * 2).min(MAX_SLOTS);
            self.slots.extend((old..new).map(|i| Slot { tag: FREE | i as u64, value: None }));
            self.free.extend((old..new).rev());
            self.mask = new - 1;
        }
        if self.live >= self.capacity {
            return None;
        }
        let index = self.free.pop()?;
        let slot = &mut self.slots[index];
        let handle = (slot.tag & !FREE) as u32;
        slot.value = Some(make(handle));
        slot.tag = handle as u64;
        self.live += 1;
        Some(handle)
    }

    /// The object `handle` names, if it is current.
    pub fn get(&self, handle: u32) -> Option<&T> {
        self.slot(handle).current(handle)
    }

    /// The object `handle` names, mutably.
    pub fn get_mut(&mut self, handle: u32) -> Option<&mut T> {
        self.slot_mut(handle).current_mut(handle)
    }

    /// The objects two handles name, both mutably; `None` unless both are current and
    /// name different slots.
    #[inline(always)]
    pub fn get2_mut(&mut self, a: u32, b: u32) -> Option<(&mut T, &mut T)> {
        let (i, j) = (a as usize & self.mask, b as usize & self.mask);
        if i == j {
            return None;
        }
        // SAFETY: both indices are below `slots.len()` (masked, as in `slot`), and they
        // differ.
        let [first, second] = unsafe { self.slots.get_disjoint_unchecked_mut([i, j]) };
        Some((first.current_mut(a)?, second.current_mut(b)?))
    }

    /// Removes and returns the object; the handle (and every copy of it) goes stale.
    pub fn remove(&mut self, handle: u32) -> Option<T> {
        let slot = self.slot_mut(handle);
        if slot.tag != handle as u64 {
            return None;
        }
        let value = slot.value.take()?;
        let generation = ((handle >> INDEX_BITS) + 1) % GENERATION_LIMIT;
        slot.tag = FREE | (generation << INDEX_BITS | index_of(handle) as u32) as u64;
        self.free.push(index_of(handle));
        self.live -= 1;
        Some(value)
    }

    /// The current handle of the object in slot `index`, and the object, if the slot is
    /// live.
    pub fn at_mut(&mut self, index: usize) -> Option<(u32, &mut T)> {
        let slot = self.slots.get_mut(index)?;
        let handle = slot.tag as u32;
        slot.value.as_mut().map(|v| (handle, v)) // (FREE is clear when there is one)
    }

    /// Number of live objects.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no object is stored.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Every live (handle, object), lowest index first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots.iter().filter_map(|s| s.value.as_ref().map(|v| (s.tag as u32, v)))
    }

    /// Every live (handle, object), mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.slots.iter_mut().filter_map(|s| s.value.as_mut().map(|v| (s.tag as u32, v)))
    }

    /// Every live handle.
    pub fn handles(&self) -> Vec<u32> {
        self.iter().map(|(h, _)| h).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_handles_are_small_and_checked() {
        let mut t = HandleTable::new(8);
        let a = t.insert("a").unwrap();
        let b = t.insert("b").unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(t.get(a), Some(&"a"));
        assert_eq!(t.get(0), None);
        assert_eq!(t.get(99), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn reuse_bumps_the_generation_so_stale_handles_fail() {
        let mut t = HandleTable::new(8);
        let a = t.insert(10).unwrap();
        assert_eq!(t.remove(a), Some(10));
        assert_eq!(t.remove(a), None, "double remove");
        let b = t.insert(20).unwrap();
        assert_eq!(index_of(a), index_of(b), "slot reused");
        assert_ne!(a, b);
        assert_eq!(t.get(a), None, "stale handle refused");
        assert_eq!(t.get_mut(a), None);
        assert_eq!(t.get(b), Some(&20));
    }

    #[test]
    fn a_handle_forged_for_a_free_slot_is_refused() {
        let mut t = HandleTable::new(8);
        let a = t.insert(10).unwrap();
        let b = t.insert(11).unwrap();
        t.remove(a);
        // What the slot's next object will be named, and the same with other generations.
        let next = 1 << INDEX_BITS | index_of(a) as u32;
        // (Also with bit 31, which every free slot's tag had when tags were 32 bits: an
        // audit reached a freed connection that way.)
        let free_tags = [1 << 31, 1 << 31 | next, (1 << 31) | (index_of(b) as u32 + 1), u32::MAX];
        for forged in
            [next, a, index_of(a) as u32, 5 << INDEX_BITS | index_of(a) as u32, 0, 7].into_iter().chain(free_tags)
        {
            assert_eq!(t.get(forged), None, "{forged:#x}");
            assert_eq!(t.get_mut(forged), None, "{forged:#x}");
            assert!(t.get2_mut(forged, b).is_none() && t.get2_mut(b, forged).is_none(), "{forged:#x}");
            assert_eq!(t.remove(forged), None, "{forged:#x}");
        }
        assert_eq!(t.insert(12), Some(next), "the slot comes back with the next generation");
        assert_eq!(t.get(next), Some(&12));
    }

    #[test]
    fn two_objects_at_once_only_when_both_are_current_and_distinct() {
        let mut t = HandleTable::new(8);
        let a = t.insert(1).unwrap();
        let b = t.insert(2).unwrap();
        let (x, y) = t.get2_mut(b, a).unwrap();
        (*x, *y) = (*x * 10, *y * 10);
        assert_eq!((t.get(a), t.get(b)), (Some(&10), Some(&20)));
        assert!(t.get2_mut(a, a).is_none(), "the same object twice");
        t.remove(b);
        let c = t.insert(3).unwrap();
        assert!(t.get2_mut(a, b).is_none(), "a stale handle");
        assert!(t.get2_mut(a, c).is_some());
        assert!(t.get2_mut(a, 99).is_none(), "no such slot");
    }

    #[test]
    fn a_handle_naming_a_slot_beyond_the_table_or_aliasing_one_is_refused() {
        let mut t = HandleTable::new(MAX_SLOTS - 1);
        let hs: Vec<u32> = (0..5).map(|i| t.insert(i).unwrap()).collect();
        assert_eq!(hs, [1, 2, 3, 4, 5], "fresh slots in order as the table grows");
        // The table has 8 slots: these share a live slot's low bits, or lie beyond it.
        for forged in [1 + 8, 2 + 16, 3 + 1024, 4 + 4088, 5 | 1 << 30, 1 << 31 | 1, 4095] {
            assert_eq!(t.get(forged), None, "{forged:#x}");
            assert_eq!(t.get_mut(forged), None, "{forged:#x}");
            assert!(t.get2_mut(forged, hs[1]).is_none(), "{forged:#x}");
            assert_eq!(t.remove(forged), None, "{forged:#x}");
        }
        assert_eq!(t.len(), 5);
        // Filled to capacity, every object is found by its handle, once.
        let more: Vec<u32> = core::iter::from_fn(|| t.insert(7)).collect();
        assert_eq!(more.len(), MAX_SLOTS - 1 - 5);
        assert_eq!(t.insert(8), None, "full");
        let all: Vec<u32> = hs.iter().chain(&more).copied().collect();
        assert!(all.iter().all(|h| t.get(*h).is_some()));
        let mut indices: Vec<usize> = all.iter().map(|h| index_of(*h)).collect();
        indices.sort();
        indices.dedup();
        assert_eq!(indices.len(), MAX_SLOTS - 1, "no slot given twice");
        assert!(!indices.contains(&0), "slot 0 is never used");
        // The most recently freed slot is used first, with its next generation.
        t.remove(hs[2]);
        t.remove(hs[0]);
        assert_eq!(t.insert(9), Some(1 << INDEX_BITS | 1));
        assert_eq!(t.insert(10), Some(1 << INDEX_BITS | 3));
        assert_eq!(t.get(hs[0]), None);
    }

    #[test]
    fn capacity_is_enforced_and_iteration_sees_live_objects() {
        let mut t = HandleTable::new(3);
        let hs: Vec<_> = (0..3).map(|i| t.insert(i).unwrap()).collect();
        assert_eq!(t.insert(99), None);
        t.remove(hs[1]);
        assert_eq!(t.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![0, 2]);
        let h = t.insert_with(|h| h).unwrap();
        assert_eq!(t.get(h), Some(&h), "insert_with sees its own handle");
    }
}
