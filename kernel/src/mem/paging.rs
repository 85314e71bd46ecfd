//! Building AArch64 stage-1 translation tables (4 KiB granule, 48-bit VAs, four levels).
//!
//! This is the pure half of the MMU: it knows the descriptor format and how to walk and
//! fill tables, but reaches table memory only through [`TableMemory`], so the host tests
//! run it over ordinary heap pages. `arch::aarch64::mmu` supplies the real table memory
//! and loads the result into TTBR0/TTBR1.
//!
//! Level 0 entries cover 512 GiB, level 1 1 GiB, level 2 2 MiB, level 3 4 KiB. Level 1
//! and 2 entries can be *blocks* (map directly) or point at the next table.

// Levels index several per-level tables at once; a range loop reads better than zips.
#![allow(clippy::needless_range_loop)]

use super::layout::PAGE_SIZE;
use core::sync::atomic::{AtomicU64, Ordering};

/// Entries per table.
pub const ENTRIES: usize = 512;
/// One translation table.
pub type Table = [u64; ENTRIES];

/// Indices into MAIR_EL1; `arch::aarch64::mmu::MAIR_VALUE` must agree.
pub mod mair_index {
    /// Device-nGnRE.
    pub const DEVICE: u64 = 0;
    /// Normal, inner/outer write-back read/write-allocate.
    pub const NORMAL: u64 = 1;
    /// Normal, non-cacheable.
    pub const NORMAL_NON_CACHEABLE: u64 = 2;
}

mod bits {
    pub const VALID: u64 = 1 << 0;
    pub const TABLE_OR_PAGE: u64 = 1 << 1;
    pub const ATTR_INDEX_SHIFT: u64 = 2;
    pub const ATTR_INDEX_MASK: u64 = 0b111 << ATTR_INDEX_SHIFT;
    pub const AP_EL0: u64 = 1 << 6;
    pub const AP_READ_ONLY: u64 = 1 << 7;
    pub const SH_INNER: u64 = 0b11 << 8;
    pub const ACCESS_FLAG: u64 = 1 << 10;
    pub const NOT_GLOBAL: u64 = 1 << 11;
    pub const PXN: u64 = 1 << 53;
    pub const UXN: u64 = 1 << 54;
    pub const ADDRESS_MASK: u64 = 0x0000_FFFF_FFFF_F000;
}

/// The memory type of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM, cached write-back.
    Normal,
    /// RAM, uncached (buffers shared with non-coherent devices).
    NormalNonCacheable,
    /// Device registers: Device-nGnRE, never speculated, never executable.
    Device,
}

/// What a mapping allows, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapAttrs {
    /// Memory type.
    pub kind: MemoryKind,
    /// Writable (by every level that may read it).
    pub writable: bool,
    /// Readable from EL0 (user space); the kernel can always read.
    pub user: bool,
    /// Executable at EL1.
    pub kernel_exec: bool,
    /// Executable at EL0.
    pub user_exec: bool,
    /// Global (kernel) mapping rather than tagged with the current ASID.
    pub global: bool,
}

impl MapAttrs {
    /// Kernel code: read-only, executable at EL1 only.
    pub const KERNEL_TEXT: Self = Self::kernel(MemoryKind::Normal, false, true);
    /// Kernel constants: read-only, never executable.
    pub const KERNEL_RODATA: Self = Self::kernel(MemoryKind::Normal, false, false);
    /// Kernel data and the linear map of RAM: read-write, never executable.
    pub const KERNEL_DATA: Self = Self::kernel(MemoryKind::Normal, true, false);
    /// Device registers for the kernel.
    pub const KERNEL_DEVICE: Self = Self::kernel(MemoryKind::Device, true, false);

    const fn kernel(kind: MemoryKind, writable: bool, kernel_exec: bool) -> Self {
        Self { kind, writable, user: false, kernel_exec, user_exec: false, global: true }
    }

    fn descriptor_bits(&self) -> u64 {
        let (index, share) = match self.kind {
            MemoryKind::Normal => (mair_index::NORMAL, bits::SH_INNER),
            MemoryKind::NormalNonCacheable => (mair_index::NORMAL_NON_CACHEABLE, bits::SH_INNER),
            MemoryKind::Device => (mair_index::DEVICE, 0),
        };
        let mut d = bits::ACCESS_FLAG | share | (index << bits::ATTR_INDEX_SHIFT);
        if !self.writable {
            d |= bits::AP_READ_ONLY;
        }
        if self.user {
            d |= bits::AP_EL0;
        }
        let device = self.kind == MemoryKind::Device;
        if !self.kernel_exec || device {
            d |= bits::PXN;
        }
        if !self.user_exec || device {
            d |= bits::UXN;
        }
        if !self.global {
            d |= bits::NOT_GLOBAL;
        }
        d
    }

    fn from_descriptor(d: u64) -> Self {
        let kind = match (d & bits::ATTR_INDEX_MASK) >> bits::ATTR_INDEX_SHIFT {
            mair_index::DEVICE => MemoryKind::Device,
            mair_index::NORMAL_NON_CACHEABLE => MemoryKind::NormalNonCacheable,
            _ => MemoryKind::Normal,
        };
        Self {
            kind,
            writable: d & bits::AP_READ_ONLY == 0,
            user: d & bits::AP_EL0 != 0,
            kernel_exec: d & bits::PXN == 0,
            user_exec: d & bits::UXN == 0,
            global: d & bits::NOT_GLOBAL == 0,
        }
    }
}

/// Whether [`PageTable::map`] may use 1 GiB / 2 MiB blocks where alignment allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Largest entries alignment allows (fewer tables, fewer TLB entries).
    LargestBlocks,
    /// 4 KiB pages only (so parts can later be remapped one page at a time).
    PagesOnly,
}

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// An address or size is not a multiple of 4 KiB.
    Misaligned,
    /// The virtual address is not canonical, or the range wraps around.
    BadAddress,
    /// Part of the range is mapped already.
    AlreadyMapped,
    /// No memory left for another table.
    OutOfTables,
}

/// Where translation tables live and how the builder reaches them.
pub trait TableMemory {
    /// A new zero-filled table; returns its physical address.
    fn alloc_table(&mut self) -> Option<usize>;
    /// The table at physical address `phys` (one returned by `alloc_table`).
    fn table(&mut self, phys: usize) -> &mut Table;
    /// Gives back a table no longer referenced (tables of a destroyed address space).
    fn free_table(&mut self, _phys: usize) {}
    /// New descriptors were written: make them visible to the MMU's table walks before
    /// anything translates through them (on the target a `DSB ISHST`).
    fn tables_written(&mut self) {}
}

/// What a virtual address translates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The physical address of the byte.
    pub phys: usize,
    /// The mapping's attributes.
    pub attrs: MapAttrs,
    /// Bytes covered by the entry (4 KiB page, 2 MiB or 1 GiB block).
    pub entry_size: usize,
}

const LEVEL_SHIFTS: [usize; 4] = [39, 30, 21, 12];
const VA_MASK: usize = (1 << 48) - 1;

fn index(va: usize, level: usize) -> usize {
    (va >> LEVEL_SHIFTS[level]) & (ENTRIES - 1)
}

/// Which half of the address space a tree translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressHalf {
    /// `0xFFFF_xxxx_xxxx_xxxx`: the kernel (TTBR1).
    Upper,
    /// `0x0000_xxxx_xxxx_xxxx`: a process (TTBR0).
    Lower,
}

impl AddressHalf {
    fn holds(&self, va: usize) -> bool {
        let top = va >> 48;
        match self {
            AddressHalf::Upper => top == 0xFFFF,
            AddressHalf::Lower => top == 0,
        }
    }
}

/// Bumped by every change to any translation tree, so that translations cached from
/// walks (`usertlb`) go stale at once. Every method that writes a descriptor must call
/// [`tables_changed`].
static TABLES_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current generation of all translation trees (see [`crate::mem::usertlb`]).
pub fn tables_generation() -> u64 {
    TABLES_GENERATION.load(Ordering::Relaxed)
}

/// Records that some translation tree is about to change.
fn tables_changed() {
    TABLES_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A tree of translation tables for one half of the address space, named by the
/// physical address of its level-0 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTable {
    root: usize,
    half: AddressHalf,
}

impl PageTable {
    /// An empty tree for `half`.
    pub fn new(mem: &mut impl TableMemory, half: AddressHalf) -> Result<Self, MapError> {
        Ok(Self { root: mem.alloc_table().ok_or(MapError::OutOfTables)?, half })
    }

    /// Physical address of the level-0 table (what goes into TTBRn_EL1).
    pub fn root(&self) -> usize {
        self.root
    }

    /// Maps `size` bytes at virtual `va` to physical `pa` with `attrs`.
    ///
    /// Nothing is changed when the call fails on its arguments; a failure part-way
    /// (`AlreadyMapped`, `OutOfTables`) leaves the pages mapped so far in place.
    pub fn map(
        &mut self,
        mem: &mut impl TableMemory,
        va: usize,
        pa: usize,
        size: usize,
        attrs: MapAttrs,
        granularity: Granularity,
    ) -> Result<(), MapError> {
        if !va.is_multiple_of(PAGE_SIZE) || !pa.is_multiple_of(PAGE_SIZE) || !size.is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Misaligned);
        }
        let last = va.checked_add(size.saturating_sub(1)).ok_or(MapError::BadAddress)?;
        if !self.half.holds(va) || !self.half.holds(last) {
            return Err(MapError::BadAddress);
        }
        pa.checked_add(size).filter(|end| *end <= 1 << 48).ok_or(MapError::BadAddress)?;
        tables_changed();
        let leaf = attrs.descriptor_bits();
        let mut offset = 0;
        while offset < size {
            let (v, p, remaining) = (va + offset, pa + offset, size - offset);
            let level = Self::leaf_level(v, p, remaining, granularity);
            self.set_leaf(mem, v & VA_MASK, p, level, leaf)?;
            offset += 1 << LEVEL_SHIFTS[level];
        }
        mem.tables_written();
        Ok(())
    }

    /// What `va` translates to, if it is mapped.
    pub fn translate(&self, mem: &mut impl TableMemory, va: usize) -> Option<Translation> {
        if !self.half.holds(va) {
            return None;
        }
        let mut table = self.root;
        for level in 0..4 {
            let entry = mem.table(table)[index(va & VA_MASK, level)];
            if entry & bits::VALID == 0 {
                return None;
            }
            let is_table = entry & bits::TABLE_OR_PAGE != 0 && level < 3;
            if !is_table {
                let entry_size = 1usize << LEVEL_SHIFTS[level];
                let base = (entry & bits::ADDRESS_MASK) as usize & !(entry_size - 1);
                return Some(Translation {
                    phys: base + (va & (entry_size - 1)),
                    attrs: MapAttrs::from_descriptor(entry),
                    entry_size,
                });
            }
            table = (entry & bits::ADDRESS_MASK) as usize;
        }
        None
    }

    /// Removes the 4 KiB page mapping of `va`; returns the physical page it mapped.
    /// Blocks are never split: unmapping inside one returns `None`.
    pub fn unmap_page(&mut self, mem: &mut impl TableMemory, va: usize) -> Option<usize> {
        if !self.half.holds(va) || !va.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        let mut table = self.root;
        for level in 0..3 {
            let entry = mem.table(table)[index(va & VA_MASK, level)];
            if entry & bits::VALID == 0 || entry & bits::TABLE_OR_PAGE == 0 {
                return None;
            }
            table = (entry & bits::ADDRESS_MASK) as usize;
        }
        let entry = &mut mem.table(table)[index(va & VA_MASK, 3)];
        if *entry & bits::VALID == 0 {
            return None;
        }
        tables_changed();
        let phys = (*entry & bits::ADDRESS_MASK) as usize;
        *entry = 0;
        Some(phys)
    }

    /// Frees up to `budget` tables of the tree (at least one), each once no table is
    /// left below it, its entry in the table above cleared; the root goes last. True
    /// once the root is freed: the tree is gone. (The pages they map are the owner's
    /// business.) The tree must not be in use by any CPU.
    ///
    /// Each table freed is found afresh from the root, so a call's work is bounded by
    /// `budget` walks of at most three tables of entries.
    pub fn free_some_tables(&self, mem: &mut impl TableMemory, budget: usize) -> bool {
        tables_changed();
        for _ in 0..budget.max(1) {
            // Down the first entries that name tables, to a table that names none.
            let (mut table, mut above) = (self.root, None);
            for _level in 0..3 {
                let entries = mem.table(table);
                let Some(slot) = entries.iter().position(|e| e & bits::VALID != 0 && e & bits::TABLE_OR_PAGE != 0)
                else {
                    break;
                };
                above = Some((table, slot));
                table = (entries[slot] & bits::ADDRESS_MASK) as usize;
            }
            mem.free_table(table);
            match above {
                Some((parent, slot)) => mem.table(parent)[slot] = 0,
                None => return true,
            }
        }
        false
    }

    fn leaf_level(va: usize, pa: usize, remaining: usize, granularity: Granularity) -> usize {
        if granularity == Granularity::LargestBlocks {
            for level in 1..3 {
                let size = 1usize << LEVEL_SHIFTS[level];
                if va.is_multiple_of(size) && pa.is_multiple_of(size) && remaining >= size {
                    return level;
                }
            }
        }
        3
    }

    fn set_leaf(
        &mut self,
        mem: &mut impl TableMemory,
        va: usize,
        pa: usize,
        leaf_level: usize,
        leaf_bits: u64,
    ) -> Result<(), MapError> {
        tables_changed();
        let mut table = self.root;
        for level in 0..leaf_level {
            let slot = index(va, level);
            let entry = mem.table(table)[slot];
            table = if entry & bits::VALID == 0 {
                let next = mem.alloc_table().ok_or(MapError::OutOfTables)?;
                mem.table(table)[slot] = next as u64 | bits::VALID | bits::TABLE_OR_PAGE;
                next
            } else if entry & bits::TABLE_OR_PAGE != 0 {
                (entry & bits::ADDRESS_MASK) as usize
            } else {
                return Err(MapError::AlreadyMapped); // a block covers this range
            };
        }
        let slot = index(va, leaf_level);
        let entry = &mut mem.table(table)[slot];
        if *entry & bits::VALID != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let kind_bits = if leaf_level == 3 { bits::VALID | bits::TABLE_OR_PAGE } else { bits::VALID };
        *entry = pa as u64 | leaf_bits | kind_bits;
        Ok(())
    }
}

/// One page-aligned translation table.
#[repr(C, align(4096))]
pub struct TablePage(pub Table);

/// A fixed number of tables carved out of the kernel image (its `.bss`), for the
/// kernel's own tree, which must exist before the frame allocator does.
pub struct TablePool<const N: usize> {
    pages: [TablePage; N],
    used: usize,
    base_phys: usize,
}

impl<const N: usize> Default for TablePool<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TablePool<N> {
    /// An unused pool; [`set_base_phys`](Self::set_base_phys) must be called before use.
    pub const fn new() -> Self {
        Self { pages: [const { TablePage([0; ENTRIES]) }; N], used: 0, base_phys: 0 }
    }

    /// Where the pool lives in memory: its own address, for the owner to translate.
    pub fn address(&self) -> usize {
        self.pages.as_ptr() as usize
    }

    /// Records the physical address of the pool's first page.
    pub fn set_base_phys(&mut self, phys: usize) {
        self.base_phys = phys;
    }

    /// Tables handed out so far.
    pub fn used(&self) -> usize {
        self.used
    }
}

impl<const N: usize> TableMemory for TablePool<N> {
    fn alloc_table(&mut self) -> Option<usize> {
        let page = self.pages.get_mut(self.used)?;
        page.0 = [0; ENTRIES];
        self.used += 1;
        Some(self.base_phys + (self.used - 1) * PAGE_SIZE)
    }

    fn table(&mut self, phys: usize) -> &mut Table {
        let index = (phys - self.base_phys) / PAGE_SIZE;
        &mut self.pages[index].0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Table memory on the host heap, with made-up physical addresses.
    #[derive(Default)]
    pub struct HeapTables {
        tables: HashMap<usize, Box<Table>>,
        next: usize,
        pub limit: Option<usize>,
    }

    impl TableMemory for HeapTables {
        fn alloc_table(&mut self) -> Option<usize> {
            if self.limit.is_some_and(|l| self.tables.len() >= l) {
                return None;
            }
            self.next += PAGE_SIZE;
            let pa = 0x8000_0000 + self.next;
            self.tables.insert(pa, Box::new([0; ENTRIES]));
            Some(pa)
        }
        fn table(&mut self, phys: usize) -> &mut Table {
            self.tables.get_mut(&phys).expect("not a table")
        }
        fn free_table(&mut self, phys: usize) {
            self.tables.remove(&phys).expect("freeing a table twice");
        }
    }

    impl HeapTables {
        pub fn count(&self) -> usize {
            self.tables.len()
        }
    }

    const HIGH: usize = 0xFFFF_0000_0000_0000;

    #[test]
    fn kernel_image_in_pages_with_distinct_permissions() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Upper).unwrap();
        let g = Granularity::PagesOnly;
        pt.map(&mut mem, HIGH + 0x4020_0000, 0x4020_0000, 0x3000, MapAttrs::KERNEL_TEXT, g).unwrap();
        pt.map(&mut mem, HIGH + 0x4020_3000, 0x4020_3000, 0x1000, MapAttrs::KERNEL_RODATA, g).unwrap();
        pt.map(&mut mem, HIGH + 0x4020_4000, 0x4020_4000, 0x2000, MapAttrs::KERNEL_DATA, g).unwrap();

        let text = pt.translate(&mut mem, HIGH + 0x4020_1234).unwrap();
        assert_eq!(text.phys, 0x4020_1234);
        assert_eq!(text.entry_size, PAGE_SIZE);
        assert!(text.attrs.kernel_exec && !text.attrs.writable && !text.attrs.user_exec);
        let ro = pt.translate(&mut mem, HIGH + 0x4020_3000).unwrap().attrs;
        assert!(!ro.writable && !ro.kernel_exec);
        let data = pt.translate(&mut mem, HIGH + 0x4020_5fff).unwrap();
        assert!(data.attrs.writable && !data.attrs.kernel_exec);
        assert_eq!(pt.translate(&mut mem, HIGH + 0x4020_6000), None);
        assert_eq!(pt.translate(&mut mem, 0x4020_1000), None, "TTBR0 half not mapped");
        // One table per level: L0, L1, L2, L3.
        assert_eq!(mem.count(), 4);
    }

    #[test]
    fn largest_blocks_are_used_where_alignment_allows() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Upper).unwrap();
        // 0x3FE0_0000..0x8000_1000: one 2 MiB block, one 1 GiB block, then a page.
        let (start, end) = (0x3FE0_0000usize, 0x8000_1000usize);
        pt.map(&mut mem, HIGH + start, start, end - start, MapAttrs::KERNEL_DATA, Granularity::LargestBlocks).unwrap();
        assert_eq!(pt.translate(&mut mem, HIGH + 0x3FE0_0010).unwrap().entry_size, 2 << 20);
        assert_eq!(pt.translate(&mut mem, HIGH + 0x7000_0000).unwrap().entry_size, 1 << 30);
        let last = pt.translate(&mut mem, HIGH + 0x8000_0fff).unwrap();
        assert_eq!((last.entry_size, last.phys), (PAGE_SIZE, 0x8000_0fff));
    }

    #[test]
    fn device_mappings_are_never_executable() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Upper).unwrap();
        let attrs = MapAttrs { kernel_exec: true, ..MapAttrs::KERNEL_DEVICE };
        pt.map(&mut mem, 0xFFFF_8000_0900_0000, 0x0900_0000, 0x1000, attrs, Granularity::PagesOnly).unwrap();
        let t = pt.translate(&mut mem, 0xFFFF_8000_0900_0018).unwrap();
        assert_eq!(t.attrs.kind, MemoryKind::Device);
        assert!(!t.attrs.kernel_exec && !t.attrs.user_exec);
    }

    #[test]
    fn user_mappings_are_not_global() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Lower).unwrap();
        let attrs = MapAttrs {
            kind: MemoryKind::Normal,
            writable: false,
            user: true,
            kernel_exec: false,
            user_exec: true,
            global: false,
        };
        pt.map(&mut mem, 0x40_0000, 0x4100_0000, 0x2000, attrs, Granularity::PagesOnly).unwrap();
        assert_eq!(pt.translate(&mut mem, 0x40_1000).unwrap().attrs, attrs);
        // A user tree refuses kernel addresses.
        let r = pt.map(&mut mem, HIGH, 0, 0x1000, attrs, Granularity::PagesOnly);
        assert_eq!(r, Err(MapError::BadAddress));
        assert_eq!(pt.translate(&mut mem, HIGH + 0x40_1000), None);
    }

    #[test]
    fn overlapping_and_malformed_requests_fail_cleanly() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Upper).unwrap();
        let a = MapAttrs::KERNEL_DATA;
        let g = Granularity::LargestBlocks;
        pt.map(&mut mem, HIGH, 0, 2 << 20, a, g).unwrap();
        assert_eq!(pt.map(&mut mem, HIGH + 0x1000, 0x1000, 0x1000, a, g), Err(MapError::AlreadyMapped));
        assert_eq!(pt.map(&mut mem, HIGH + 0x800, 0, 0x1000, a, g), Err(MapError::Misaligned));
        assert_eq!(pt.map(&mut mem, 0x0001_0000_0000_0000, 0, 0x1000, a, g), Err(MapError::BadAddress));
        assert_eq!(pt.map(&mut mem, usize::MAX & !0xfff, 0, 0x2000, a, g), Err(MapError::BadAddress));
        assert_eq!(pt.map(&mut mem, 0x4000_0000, 0, 0x1000, a, g), Err(MapError::BadAddress));
        assert_eq!(pt.map(&mut mem, HIGH, usize::MAX & !0xfff, 0x2000, a, g), Err(MapError::BadAddress));
        assert_eq!(pt.translate(&mut mem, 0x1234_0000_0000_0000), None);
    }

    #[test]
    fn table_pool_hands_out_its_own_pages() {
        let mut pool: Box<TablePool<4>> = Box::default();
        pool.set_base_phys(0x4030_0000);
        let mut pt = PageTable::new(&mut *pool, AddressHalf::Upper).unwrap();
        assert_eq!(pt.root(), 0x4030_0000);
        pt.map(&mut *pool, HIGH + 0x1000, 0x1000, 0x1000, MapAttrs::KERNEL_DATA, Granularity::PagesOnly).unwrap();
        assert_eq!(pool.used(), 4);
        assert_eq!(pt.translate(&mut *pool, HIGH + 0x1abc).map(|t| t.phys), Some(0x1abc));
        let r = pt.map(&mut *pool, HIGH + (1 << 30), 0, 0x1000, MapAttrs::KERNEL_DATA, Granularity::PagesOnly);
        assert_eq!(r, Err(MapError::OutOfTables));
    }

    #[test]
    fn unmap_pages_and_free_the_whole_tree() {
        let mut mem = HeapTables::default();
        let mut pt = PageTable::new(&mut mem, AddressHalf::Lower).unwrap();
        let g = Granularity::PagesOnly;
        pt.map(&mut mem, 0x40_0000, 0x9000_0000, 0x3000, MapAttrs::KERNEL_DATA, g).unwrap();
        pt.map(&mut mem, 0x7fff_0000_0000, 0x9100_0000, 0x1000, MapAttrs::KERNEL_DATA, g).unwrap();
        assert_eq!(pt.unmap_page(&mut mem, 0x40_1000), Some(0x9000_1000));
        assert_eq!(pt.unmap_page(&mut mem, 0x40_1000), None, "already unmapped");
        assert_eq!(pt.translate(&mut mem, 0x40_1000), None);
        assert!(pt.translate(&mut mem, 0x40_2000).is_some());
        assert_eq!(pt.unmap_page(&mut mem, 0x40_0800), None, "misaligned");
        // The page can be mapped again after unmapping.
        pt.map(&mut mem, 0x40_1000, 0x9200_0000, 0x1000, MapAttrs::KERNEL_DATA, g).unwrap();
        assert_eq!(mem.count(), 7); // L0 + two L1/L2/L3 chains
                                    // Two tables at a time, the root last.
        assert!(!pt.free_some_tables(&mut mem, 2));
        assert_eq!(mem.count(), 5);
        assert!(!pt.free_some_tables(&mut mem, 4));
        assert_eq!(mem.count(), 1, "the root goes last");
        assert!(pt.free_some_tables(&mut mem, 2));
        assert_eq!(mem.count(), 0, "every table returned");
    }

    #[test]
    fn running_out_of_tables_is_reported() {
        let mut mem = HeapTables { limit: Some(3), ..Default::default() };
        let mut pt = PageTable::new(&mut mem, AddressHalf::Upper).unwrap();
        let r = pt.map(&mut mem, HIGH, 0, 0x1000, MapAttrs::KERNEL_DATA, Granularity::PagesOnly);
        assert_eq!(r, Err(MapError::OutOfTables));
    }
}
