//! A small software TLB for the kernel's own walks of user translation tables: message
//! copies validate and translate the same few user pages over and over (a client's
//! send and reply buffers, a server's receive buffer), and each walk costs four table
//! reads and a descriptor decoding.
//!
//! An entry names a tree by its root table and holds what one 4 KiB page translates to
//! and whether user code may read or write it. Entries are only trusted while no
//! translation tree anywhere has changed since they were made: every change to a tree
//! (`PageTable::map`, `unmap_page`, `free_some_tables`) bumps one global generation
//! ([`crate::mem::paging::tables_generation`]), which makes every entry stale at once.
//! Changes are rare (mapping and unmapping memory, process start and end) next to
//! message copies.

use super::PAGE_SIZE;

/// Sets of entries (a power of two), each of two entries, chosen by page and tree.
/// Direct-mapped (one entry a slot), two pages of a round trip could share a slot and
/// evict each other on every message, whichever way the heaps and tables happened to lie:
/// +324 instructions per mq round trip after an unrelated change moved a heap buffer
/// (with 32 slots), +320 per pipe round trip after another moved a page table (with 128).
const SETS: usize = 64;

/// One page's translation, as cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedPage {
    /// The physical page.
    pub phys: usize,
    /// User code may read it.
    pub user: bool,
    /// It may be written (by every level that may read it).
    pub writable: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    generation: u64,
    root: usize,
    /// The page's address; [`EMPTY`]'s is no page's.
    page: usize,
    cached: CachedPage,
}

/// No entry: its page address is not page-aligned, so no lookup matches it.
const EMPTY: Entry =
    Entry { generation: 0, root: 0, page: usize::MAX, cached: CachedPage { phys: 0, user: false, writable: false } };

/// The cache (one per machine).
#[derive(Debug)]
pub struct UserTlb {
    /// Each set's two entries, the more recently inserted first.
    sets: [[Entry; 2]; SETS],
}

impl Default for UserTlb {
    fn default() -> Self {
        Self::new()
    }
}

impl UserTlb {
    /// An empty cache.
    pub const fn new() -> Self {
        Self { sets: [[EMPTY; 2]; SETS] }
    }

    /// What the page holding `va` in the tree rooted at `root` translates to, if cached
    /// while the trees were at `generation`.
    #[inline(always)]
    pub fn lookup(&self, generation: u64, root: usize, va: usize) -> Option<CachedPage> {
        let page = va & !(PAGE_SIZE - 1);
        let [first, second] = &self.sets[set_of(root, page)];
        let hit = |e: &Entry| e.page == page && e.root == root && e.generation == generation;
        if hit(first) {
            return Some(first.cached);
        }
        hit(second).then_some(second.cached)
    }

    /// Remembers that the page holding `va` in the tree rooted at `root` translates to
    /// `cached`, the trees being at `generation` (in place of the less recently inserted
    /// entry of its set).
    pub fn insert(&mut self, generation: u64, root: usize, va: usize, cached: CachedPage) {
        let page = va & !(PAGE_SIZE - 1);
        let set = &mut self.sets[set_of(root, page)];
        set[1] = set[0];
        set[0] = Entry { generation, root, page, cached };
    }
}

/// The set of a page of a tree.
fn set_of(root: usize, page: usize) -> usize {
    ((page >> 12) ^ (root >> 12).wrapping_mul(7)) & (SETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_the_same_tree_page_and_generation() {
        let mut t = UserTlb::new();
        let page = CachedPage { phys: 0x8000_0000, user: true, writable: false };
        t.insert(7, 0x1000, 0x40_1234, page);
        assert_eq!(t.lookup(7, 0x1000, 0x40_1ff8), Some(page));
        assert_eq!(t.lookup(7, 0x2000, 0x40_1234), None, "another tree");
        assert_eq!(t.lookup(7, 0x1000, 0x40_2000), None, "another page");
        assert_eq!(t.lookup(8, 0x1000, 0x40_1234), None, "a tree changed since");
        // Pages of the same set: the two most recently inserted are kept.
        let other = CachedPage { phys: 0x9000_0000, ..page };
        let third = CachedPage { phys: 0xa000_0000, ..page };
        t.insert(7, 0x1000, 0x40_1000 + SETS * PAGE_SIZE, other);
        assert_eq!(t.lookup(7, 0x1000, 0x40_1234), Some(page), "two ways");
        assert_eq!(t.lookup(7, 0x1000, 0x40_1000 + SETS * PAGE_SIZE), Some(other));
        t.insert(7, 0x1000, 0x40_1000 + 2 * SETS * PAGE_SIZE, third);
        assert_eq!(t.lookup(7, 0x1000, 0x40_1234), None, "the older of the set replaced");
        assert_eq!(t.lookup(7, 0x1000, 0x40_1000 + SETS * PAGE_SIZE), Some(other));
        assert_eq!(t.lookup(7, 0x1000, 0x40_1000 + 2 * SETS * PAGE_SIZE), Some(third));
        assert_eq!(UserTlb::new().lookup(0, 0, usize::MAX), None, "an empty entry matches nothing");
    }
}
