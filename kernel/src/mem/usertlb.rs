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

/// Entries kept, direct-mapped by page and tree (a power of two). With 32, two pages of a
/// message round trip could share a slot and evict each other on every message (seen as
/// +324 instructions per mq round trip after an unrelated change moved a heap buffer).
const ENTRIES: usize = 128;

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
    page: usize,
    cached: CachedPage,
}

/// The cache (one per machine).
#[derive(Debug)]
pub struct UserTlb {
    entries: [Option<Entry>; ENTRIES],
}

impl Default for UserTlb {
    fn default() -> Self {
        Self::new()
    }
}

impl UserTlb {
    /// An empty cache.
    pub const fn new() -> Self {
        Self { entries: [None; ENTRIES] }
    }

    /// What the page holding `va` in the tree rooted at `root` translates to, if cached
    /// while the trees were at `generation`.
    #[inline(always)]
    pub fn lookup(&self, generation: u64, root: usize, va: usize) -> Option<CachedPage> {
        let page = va & !(PAGE_SIZE - 1);
        let e = self.entries[slot(root, page)]?;
        (e.page == page && e.root == root && e.generation == generation).then_some(e.cached)
    }

    /// Remembers that the page holding `va` in the tree rooted at `root` translates to
    /// `cached`, the trees being at `generation` (replacing what shared its slot).
    pub fn insert(&mut self, generation: u64, root: usize, va: usize, cached: CachedPage) {
        let page = va & !(PAGE_SIZE - 1);
        self.entries[slot(root, page)] = Some(Entry { generation, root, page, cached });
    }
}

/// The slot of a page of a tree.
fn slot(root: usize, page: usize) -> usize {
    ((page >> 12) ^ (root >> 12).wrapping_mul(7)) & (ENTRIES - 1)
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
        let other = CachedPage { phys: 0x9000_0000, ..page };
        t.insert(7, 0x1000, 0x40_1000 + ENTRIES * PAGE_SIZE, other);
        assert_eq!(t.lookup(7, 0x1000, 0x40_1234), None, "replaced by a page of the same slot");
        assert_eq!(t.lookup(7, 0x1000, 0x40_1000 + ENTRIES * PAGE_SIZE), Some(other));
    }
}
