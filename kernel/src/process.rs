//! Processes and their address spaces.
//!
//! An address space is a TTBR0 translation tree with its own ASID (so switching
//! processes needs no TLB flush) and a list of regions. Every page of a region is a
//! frame of its own, zero-filled when mapped. The kernel reaches user memory only
//! through these tables and its linear map of RAM, after checking that the user may
//! access it: a user pointer is an allegation, never dereferenced as such.

use crate::handle::HandleTable;
use crate::ipc::{Channel, Connection, ServerConnection, MAX_CHANNELS, MAX_CONNECTIONS};
use crate::machine::Machine;
use crate::mem::layout::{align_down, align_up};
use crate::mem::paging::{AddressHalf, Granularity, MapAttrs, MemoryKind, PageTable};
use crate::mem::PAGE_SIZE;
use crate::thread::ThreadId;
use abi::syscall::mem_prot;
use abi::Errno;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// A process, named by its slot in the process table (generation-checked): the pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessId(pub u32);

/// What a region holds (for unmapping rules and listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// A segment of the program image.
    Image,
    /// A thread stack; its lowest page is an unmapped guard.
    Stack,
    /// Anonymous memory from `MemMapAnon`.
    Anonymous,
    /// Memory a call is still filling, a few pages at a time ([`AddressSpace::fill`]):
    /// with zeroed frames (`MemMapAnon`, a thread stack) or a memory object's
    /// (`MemObjectMap`). Its range is taken, but the program has not been given it, and
    /// may neither unmap nor protect it.
    Filling {
        /// The memory object whose pages it maps, if any (this mapping counts among the
        /// object's from the start).
        object: Option<u32>,
    },
    /// Pages of a memory object (`MemObjectMap`), which owns the frames; `max_prot`
    /// ([`abi::syscall::mem_prot`] bits) bounds what `MemProtect` may grant.
    Shared {
        /// The object, in the system's memory-object table.
        object: u32,
        /// The most this mapping may allow.
        max_prot: u32,
    },
    /// Memory on its way out, a few pages at a time ([`AddressSpace::release_step`]): a
    /// range `MemUnmap` is unmapping, the stack of a thread that ended, a mapping left
    /// half-filled. Its pages are mapped until given back, the last first; the program
    /// may neither unmap nor protect it, and nothing else goes there meanwhile.
    Releasing {
        /// The memory object whose pages it maps, if any (let go of once they are
        /// unmapped: until then they must not be anyone else's).
        object: Option<u32>,
    },
}

/// What [`AddressSpace::protect`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protect {
    /// A pending interrupt stopped it before page `next`; `newest` is the newest
    /// [`Region::id`] of those it covers.
    Stopped {
        /// The first page left.
        next: usize,
        /// The newest region covered.
        newest: u64,
    },
    /// Every page changed; the memory objects of the shared regions it split.
    Done(Vec<u32>),
}

/// What [`AddressSpace::release_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStep {
    /// Some of the region is left.
    More,
    /// The region is gone; its memory object, if it mapped one, may be let go of.
    Done {
        /// That object.
        object: Option<u32>,
    },
}

impl RegionKind {
    /// The most `MemProtect` may grant on such a region.
    pub fn max_prot(self) -> u32 {
        match self {
            RegionKind::Shared { max_prot, .. } => max_prot,
            _ => mem_prot::ALL,
        }
    }

    /// Whether `MemUnmap` may remove such a region.
    pub fn unmappable(self) -> bool {
        matches!(self, RegionKind::Anonymous | RegionKind::Shared { .. })
    }

    /// The memory object whose frames the region maps, if any.
    pub fn object(self) -> Option<u32> {
        match self {
            RegionKind::Shared { object, .. } => Some(object),
            RegionKind::Releasing { object } | RegionKind::Filling { object } => object,
            _ => None,
        }
    }

    /// Whether the program has been given the region (it is neither still filling nor
    /// on its way out), so that it may protect it.
    pub fn given(self) -> bool {
        !matches!(self, RegionKind::Filling { .. } | RegionKind::Releasing { .. })
    }
}

/// A contiguous range of the address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address (page aligned; for stacks, the guard page).
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// Permissions.
    pub attrs: MapAttrs,
    /// What it holds.
    pub kind: RegionKind,
    /// Which region this is: a number no earlier region of the space had (a call made
    /// again tells by it whether the regions it checked are still the same ones).
    pub id: u64,
}

impl Region {
    /// Whether a boundary at `cut` falls strictly inside the mapped part.
    fn cut_by(&self, cut: usize) -> bool {
        self.mapped_start() < cut && cut < self.end
    }

    fn mapped_start(&self) -> usize {
        if self.kind == RegionKind::Stack {
            self.start + PAGE_SIZE
        } else {
            self.start
        }
    }
}

/// Most regions one address space may have (bounds the kernel memory a process can
/// make the kernel spend on bookkeeping).
pub const MAX_REGIONS: usize = 4096;

/// Pages [`AddressSpace::fill`] maps between looks for a pending interrupt (each page a
/// frame allocated and zeroed: a few microseconds in all).
pub const FILL_STEP: usize = 4;

/// Whether work that goes a few pages at a time, `done` pages done, stops here: before
/// each [`FILL_STEP`] pages after the first, if an interrupt is pending.
pub(crate) fn time_to_stop(m: &mut impl Machine, done: usize) -> bool {
    done != 0 && done.is_multiple_of(FILL_STEP) && m.interrupt_pending()
}

/// User-mode attributes: readable, optionally writable or executable, never both.
pub fn user_attrs(writable: bool, executable: bool) -> MapAttrs {
    MapAttrs {
        kind: MemoryKind::Normal,
        writable,
        user: true,
        kernel_exec: false,
        user_exec: executable && !writable,
        global: false,
    }
}

/// The attributes for [`mem_prot`] bits: `EINVAL` for unknown bits or writable and
/// executable at once (Muon keeps W^X). No bit at all gives pages user code cannot touch.
pub fn prot_attrs(prot: u32) -> Result<MapAttrs, Errno> {
    if prot & !mem_prot::ALL != 0 || prot & (mem_prot::WRITE | mem_prot::EXEC) == mem_prot::WRITE | mem_prot::EXEC {
        return Err(Errno::EINVAL);
    }
    let mut attrs = user_attrs(prot & mem_prot::WRITE != 0, prot & mem_prot::EXEC != 0);
    attrs.user = prot != 0;
    Ok(attrs)
}

/// Hands out 16-bit ASIDs; 0 is reserved for the kernel's boot mappings.
pub struct AsidAllocator {
    used: Vec<u64>,
    next: usize,
}

impl Default for AsidAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl AsidAllocator {
    /// All ASIDs but 0 free.
    pub fn new() -> Self {
        let mut used = vec![0u64; 1024];
        used[0] = 1;
        Self { used, next: 1 }
    }

    /// A free ASID, if any.
    pub fn alloc(&mut self) -> Option<u16> {
        for step in 0..65536 {
            let asid = (self.next + step) % 65536;
            if self.used[asid / 64] & (1 << (asid % 64)) == 0 {
                self.used[asid / 64] |= 1 << (asid % 64);
                self.next = asid + 1;
                return Some(asid as u16);
            }
        }
        None
    }

    /// Whether an ASID is free.
    pub fn available(&self) -> bool {
        self.used.iter().any(|word| *word != u64::MAX)
    }

    /// Returns `asid` (its TLB entries must have been flushed).
    pub fn free(&mut self, asid: u16) {
        if asid != 0 {
            self.used[asid as usize / 64] &= !(1 << (asid % 64));
        }
    }
}

/// A process's address space.
pub struct AddressSpace {
    /// Its translation tree (TTBR0 half).
    pub table: PageTable,
    /// Its ASID.
    pub asid: u16,
    /// In order of address (they never overlap), so that a look-up is a binary search
    /// and a search for free space one pass: a process may have 4096.
    regions: Vec<Region>,
    /// How many of `regions` are [`RegionKind::Releasing`].
    releasing: usize,
    /// The `id` of the next region made.
    next_id: u64,
}

fn range_ok(va: usize, len: usize) -> Result<usize, Errno> {
    let end = va.checked_add(len).ok_or(Errno::EFAULT)?;
    if end > abi::USER_SPACE_END {
        return Err(Errno::EFAULT);
    }
    Ok(end)
}

impl AddressSpace {
    /// An empty space using `asid`.
    pub fn new(m: &mut impl Machine, asid: u16) -> Result<Self, Errno> {
        let table = PageTable::new(m, AddressHalf::Lower).map_err(|_| Errno::ENOMEM)?;
        Ok(Self { table, asid, regions: Vec::new(), releasing: 0, next_id: 0 })
    }

    /// The value for TTBR0_EL1 when this space runs.
    pub fn ttbr0(&self) -> u64 {
        self.table.root() as u64 | (self.asid as u64) << 48
    }

    /// A number for a new region ([`Region::id`]).
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Whether the space has little room for new regions left (two, as a MemProtect
    /// may split two) while some of its regions are on their way out (whose going
    /// would make room).
    pub fn crowded_by_releasing(&self) -> bool {
        self.regions.len() + 2 > MAX_REGIONS && self.releasing > 0
    }

    /// The index of the region that starts at `start`, if one does (a binary search).
    fn index_at(&self, start: usize) -> Option<usize> {
        let index = self.regions.partition_point(|r| r.start < start);
        self.regions.get(index).is_some_and(|r| r.start == start).then_some(index)
    }

    /// The region that starts at `start`, if one does.
    pub fn region_at(&self, start: usize) -> Option<&Region> {
        self.index_at(start).map(|i| &self.regions[i])
    }

    /// The regions, in order of address.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Bytes of RAM the space's pages use.
    pub fn resident_bytes(&self) -> usize {
        self.regions.iter().map(|r| r.end - r.mapped_start()).sum()
    }

    /// At most the bytes of RAM the space owns (not its memory objects'), tables not
    /// counted: its regions' mapped parts, filled or not.
    pub fn owned_bytes(&self) -> usize {
        self.regions.iter().filter(|r| r.kind.object().is_none()).map(|r| r.end - r.mapped_start()).sum()
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        let first_ending_after = self.regions.partition_point(|r| r.end <= start);
        self.regions.get(first_ending_after).is_some_and(|r| r.start < end)
    }

    /// Takes `[start, start + size)` (page aligned) for memory to be filled by
    /// [`fill`](Self::fill): a [`RegionKind::Filling`] region with no page mapped yet,
    /// for the pages of memory object `object` if any.
    pub fn reserve(&mut self, start: usize, size: usize, attrs: MapAttrs, object: Option<u32>) -> Result<(), Errno> {
        self.take_range(start, size, attrs, RegionKind::Filling { object }).map(|_| ())
    }

    /// Maps frames into the [`RegionKind::Filling`] region that starts at `start`, from
    /// its page `from` on (the pages before it are filled, or are a stack's guard):
    /// `frames`, one for each page of the region, or fresh zero-filled ones. Before each
    /// [`FILL_STEP`] pages after the first, stops if an interrupt is pending, returning
    /// the first page left to fill; once it is full, the region becomes `full` and `None`
    /// is returned. Out of memory (`ENOMEM`), the region is on its way out
    /// ([`RegionKind::Releasing`]); `EINVAL` if `start` names no filling region.
    pub fn fill(
        &mut self,
        m: &mut impl Machine,
        start: usize,
        from: usize,
        full: RegionKind,
        frames: Option<&[usize]>,
    ) -> Result<Option<usize>, Errno> {
        let index = self
            .index_at(start)
            .filter(|i| matches!(self.regions[*i].kind, RegionKind::Filling { .. }))
            .ok_or(Errno::EINVAL)?;
        let stopped = self.fill_region(m, index, from, true, frames)?;
        if stopped.is_none() {
            self.regions[index].kind = full;
        }
        Ok(stopped)
    }

    /// Maps `[start, start + size)` (page aligned) to fresh zero-filled frames, in one go.
    /// For a stack, the lowest page stays unmapped as its guard.
    pub fn map_zeroed(
        &mut self,
        m: &mut impl Machine,
        start: usize,
        size: usize,
        attrs: MapAttrs,
        kind: RegionKind,
    ) -> Result<(), Errno> {
        let index = self.take_range(start, size, attrs, kind)?;
        let from = self.regions[index].mapped_start();
        self.fill_region(m, index, from, false, None).map(|_| ())
    }

    /// Records a region of `kind` over `[start, start + size)`, which must be page
    /// aligned and free (a stack at least two pages); returns its index.
    fn take_range(&mut self, start: usize, size: usize, attrs: MapAttrs, kind: RegionKind) -> Result<usize, Errno> {
        if !start.is_multiple_of(PAGE_SIZE) || !size.is_multiple_of(PAGE_SIZE) || size == 0 {
            return Err(Errno::EINVAL);
        }
        let end = range_ok(start, size)?;
        if self.overlaps(start, end) || (kind == RegionKind::Stack && size < 2 * PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if self.regions.len() >= MAX_REGIONS {
            return Err(Errno::ENOMEM);
        }
        let index = self.regions.partition_point(|r| r.start < start);
        self.regions.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let id = self.new_id();
        self.regions.insert(index, Region { start, end, attrs, kind, id });
        Ok(index)
    }

    /// Maps frames into region `index` from page `from` to its end: `frames`, one for
    /// each page of the region, or fresh zero-filled ones. If `interruptible`, stops
    /// before each [`FILL_STEP`] pages after the first when an interrupt is pending,
    /// returning the first page left. Out of memory (`ENOMEM`), the region goes with
    /// every page it had: at once if not `interruptible`, else it is left
    /// [`RegionKind::Releasing`], for the caller to give back in steps.
    fn fill_region(
        &mut self,
        m: &mut impl Machine,
        index: usize,
        from: usize,
        interruptible: bool,
        frames: Option<&[usize]>,
    ) -> Result<Option<usize>, Errno> {
        let Region { start, end, attrs, kind, .. } = self.regions[index];
        let mut va = from;
        while va < end {
            if interruptible && time_to_stop(m, (va - from) / PAGE_SIZE) {
                return Ok(Some(va));
            }
            let (frame, fresh) = match frames {
                Some(frames) => (frames.get((va - start) / PAGE_SIZE).copied(), false),
                None => (m.alloc_frame(), true),
            };
            let mapped = match frame {
                Some(frame) => self.table.map(m, va, frame, PAGE_SIZE, attrs, Granularity::PagesOnly).map_err(|_| {
                    if fresh {
                        m.free_frame(frame);
                    }
                }),
                None => Err(()),
            };
            if mapped.is_err() {
                self.regions[index].kind = RegionKind::Releasing { object: kind.object() };
                self.releasing += 1;
                if !interruptible {
                    while self.release_step(m, start, usize::MAX) == Ok(ReleaseStep::More) {}
                }
                return Err(Errno::ENOMEM);
            }
            va += PAGE_SIZE;
        }
        Ok(None)
    }

    /// Maps `frames` (owned by a memory object, not by this space) at `start`, one page
    /// each, as a [`RegionKind::Shared`] region of `object`, in one go.
    pub fn map_frames(
        &mut self,
        m: &mut impl Machine,
        start: usize,
        frames: &[usize],
        attrs: MapAttrs,
        object: u32,
        max_prot: u32,
    ) -> Result<(), Errno> {
        let index = self.take_range(start, frames.len() * PAGE_SIZE, attrs, RegionKind::Shared { object, max_prot })?;
        self.fill_region(m, index, start, false, Some(frames)).map(|_| ())
    }

    /// Unmaps `[start, end)`; frees the frames too when the space owns them (`free`).
    fn release_pages(&mut self, m: &mut impl Machine, start: usize, end: usize, free: bool) {
        for va in (start..end).step_by(PAGE_SIZE) {
            if let Some(frame) = self.table.unmap_page(m, va) {
                m.flush_tlb_page(self.asid, va);
                if free {
                    m.free_frame(frame);
                }
            }
        }
    }

    /// Starts giving back the region that starts at `start` and spans `size` bytes
    /// (rounded up to pages), if `may` accepts its kind: it becomes
    /// [`RegionKind::Releasing`] (a stack without its guard page, which maps nothing),
    /// to be given back by [`release_step`](Self::release_step); returns where it starts
    /// now. `EINVAL` if there is no such region.
    pub fn begin_release(
        &mut self,
        start: usize,
        size: usize,
        may: impl Fn(RegionKind) -> bool,
    ) -> Result<usize, Errno> {
        let end = align_up(size, PAGE_SIZE).and_then(|s| start.checked_add(s)).ok_or(Errno::EINVAL)?;
        let r = self
            .index_at(start)
            .map(|i| &mut self.regions[i])
            .filter(|r| r.end == end && may(r.kind))
            .ok_or(Errno::EINVAL)?;
        r.start = r.mapped_start();
        r.kind = RegionKind::Releasing { object: r.kind.object() };
        let start = r.start;
        self.releasing += 1;
        Ok(start)
    }

    /// Gives back up to `budget` pages of the [`RegionKind::Releasing`] region that
    /// starts at `start`, the last first: unmapped, their TLB entries flushed, their
    /// frames freed unless a memory object's. `EINVAL` if there is no such region.
    pub fn release_step(&mut self, m: &mut impl Machine, start: usize, budget: usize) -> Result<ReleaseStep, Errno> {
        let index = self
            .index_at(start)
            .filter(|i| matches!(self.regions[*i].kind, RegionKind::Releasing { .. }))
            .ok_or(Errno::EINVAL)?;
        let Region { end, kind, .. } = self.regions[index];
        let from = end - ((end - start) / PAGE_SIZE).min(budget) * PAGE_SIZE;
        self.release_pages(m, from, end, kind.object().is_none());
        if from > start {
            self.regions[index].end = from;
            return Ok(ReleaseStep::More);
        }
        self.regions.remove(index);
        self.releasing -= 1;
        Ok(ReleaseStep::Done { object: kind.object() })
    }

    /// Unmaps the whole region that starts at `start` and spans `size` bytes (rounded
    /// up to pages), unless part of the image, in one go; returns its memory object, if
    /// it mapped one. (For tests: the kernel gives regions back in steps.)
    #[cfg(test)]
    pub fn unmap_region(&mut self, m: &mut impl Machine, start: usize, size: usize) -> Result<Option<u32>, Errno> {
        let start = self.begin_release(start, size, |kind| kind != RegionKind::Image)?;
        loop {
            if let ReleaseStep::Done { object } = self.release_step(m, start, usize::MAX)? {
                return Ok(object);
            }
        }
    }

    /// Gives the whole pages of `[start, end)` the access `prot` allows; every page must
    /// belong to a region, and `prot` must be within each region's maximum (and not
    /// executable, for device memory). If `interruptible`, a pending interrupt stops the
    /// change before each [`FILL_STEP`] pages after the first ([`Protect::Stopped`]: the
    /// first page left, and the newest of the regions covered); the call made again
    /// passes both as `resumed`, and goes on from that page if the regions covered are
    /// the same ones, or starts over. Once every page has changed, regions are split
    /// where the range cuts them, and those covered are numbered anew ([`Protect::Done`],
    /// with the memory object of each split shared region: it is mapped once more). A
    /// page keeps its memory type.
    pub fn protect(
        &mut self,
        m: &mut impl Machine,
        (start, end): (usize, usize),
        prot: u32,
        resumed: Option<(usize, u64)>,
        interruptible: bool,
    ) -> Result<Protect, Errno> {
        let attrs = prot_attrs(prot)?;
        if !start.is_multiple_of(PAGE_SIZE) || !end.is_multiple_of(PAGE_SIZE) || start >= end {
            return Err(Errno::EINVAL);
        }
        range_ok(start, end - start).map_err(|_| Errno::ENOMEM)?;
        // Every page covered (by a mapped part of a region), and allowed: the regions
        // from the one holding `start` on, each beginning where the last ended.
        let (mut at, mut newest) = (start, 0);
        for r in &self.regions[self.regions.partition_point(|r| r.end <= start)..] {
            if at >= end {
                break;
            }
            newest = newest.max(r.id);
            if !(r.mapped_start() <= at && at < r.end && r.kind.given()) {
                return Err(Errno::ENOMEM);
            }
            if prot & !r.kind.max_prot() != 0 || (prot & mem_prot::EXEC != 0 && r.attrs.kind == MemoryKind::Device) {
                return Err(Errno::EACCES);
            }
            at = r.end;
        }
        if at < end {
            return Err(Errno::ENOMEM);
        }
        // A stack or a loaded image is changed whole or not at all: thread exit unmaps a
        // stack by its exact range.
        let cuts_whole_only = |cut: usize| {
            self.regions.iter().any(|r| r.cut_by(cut) && matches!(r.kind, RegionKind::Stack | RegionKind::Image))
        };
        if cuts_whole_only(start) || cuts_whole_only(end) {
            return Err(Errno::EINVAL);
        }
        // Each end that falls inside a region splits it: one region more.
        let splits = [start, end].into_iter().filter(|cut| self.regions.iter().any(|r| r.cut_by(*cut))).count();
        if self.regions.len() + splits > MAX_REGIONS {
            return Err(Errno::ENOMEM);
        }
        // (A region made since the call stopped is newer than every one it checked.)
        let from = match resumed {
            Some((next, checked)) if checked == newest => next.clamp(start, end),
            _ => start,
        };
        for va in (from..end).step_by(PAGE_SIZE) {
            if interruptible && time_to_stop(m, (va - from) / PAGE_SIZE) {
                return Ok(Protect::Stopped { next: va, newest });
            }
            if let Some(t) = self.table.translate(m, va) {
                self.table.unmap_page(m, va);
                let attrs = MapAttrs { kind: t.attrs.kind, ..attrs };
                // (The page's tables are there: mapping it again allocates none.)
                self.table.map(m, va, t.phys, PAGE_SIZE, attrs, Granularity::PagesOnly).map_err(|_| Errno::ENOMEM)?;
                m.flush_tlb_page(self.asid, va);
            }
        }
        let mut split = Vec::new();
        for cut in [start, end] {
            if let Some(i) = self.regions.iter().position(|r| r.cut_by(cut)) {
                let r = self.regions[i];
                self.regions[i] = Region { end: cut, ..r };
                self.regions.insert(i + 1, Region { start: cut, ..r });
                split.extend(r.kind.object());
            }
        }
        for i in 0..self.regions.len() {
            let r = self.regions[i];
            if start <= r.mapped_start() && r.end <= end {
                let id = self.new_id();
                self.regions[i] = Region { attrs: MapAttrs { kind: r.attrs.kind, ..attrs }, id, ..r };
            }
        }
        Ok(Protect::Done(split))
    }

    /// The highest free, page-aligned run of `size` bytes inside `[low, high)` (one pass
    /// down the regions).
    pub fn find_free_top_down(&self, low: usize, high: usize, size: usize) -> Option<usize> {
        let mut top = high;
        for r in self.regions.iter().rev() {
            if r.start >= top {
                continue;
            }
            if r.end <= top.checked_sub(size)? {
                break; // the gap above it is wide enough
            }
            top = r.start;
        }
        top.checked_sub(size).filter(|start| *start >= low)
    }

    /// The lowest free run of `size` bytes inside `[low, high)` (one pass up the
    /// regions).
    pub fn find_free_bottom_up(&self, low: usize, high: usize, size: usize) -> Option<usize> {
        let mut start = low;
        for r in &self.regions {
            if r.end <= start {
                continue;
            }
            if r.start >= start.checked_add(size)? {
                break; // the gap below it is wide enough
            }
            start = r.end;
        }
        start.checked_add(size).filter(|end| *end <= high).map(|_| start)
    }

    /// Checks that user code may access `[va, va + len)` (`write`: may write) and calls
    /// `chunk(physical address, offset into the range, length)` for each piece, in order.
    /// Nothing is visited unless the whole range is accessible.
    pub fn for_each_chunk(
        &self,
        m: &mut impl Machine,
        va: usize,
        len: usize,
        write: bool,
        mut chunk: impl FnMut(&mut dyn Machine, usize, usize, usize),
    ) -> Result<(), Errno>
    where
        Self: Sized,
    {
        self.walk(m, va, len, Some(write), |_, _, _, _| {})?;
        self.walk(m, va, len, Some(write), |m, pa, off, n| chunk(m, pa, off, n))
    }

    fn walk<M: Machine>(
        &self,
        m: &mut M,
        va: usize,
        len: usize,
        user_access: Option<bool>,
        mut chunk: impl FnMut(&mut dyn Machine, usize, usize, usize),
    ) -> Result<(), Errno> {
        range_ok(va, len)?;
        let mut done = 0;
        while done < len {
            let at = va + done;
            let t = self.table.translate(m, at).ok_or(Errno::EFAULT)?;
            // Device registers are outside the RAM the kernel reaches through its linear
            // map: a device mapping is no buffer for a system call.
            if t.attrs.kind == MemoryKind::Device {
                return Err(Errno::EFAULT);
            }
            if let Some(write) = user_access {
                if !t.attrs.user || (write && !t.attrs.writable) {
                    return Err(Errno::EFAULT);
                }
            }
            let n = (PAGE_SIZE - at % PAGE_SIZE).min(len - done);
            chunk(m, t.phys, done, n);
            done += n;
        }
        Ok(())
    }

    /// Checks that user code may access `[va, va + len)` (`write`: may write).
    pub fn check(&self, m: &mut impl Machine, va: usize, len: usize, write: bool) -> Result<(), Errno> {
        self.walk(m, va, len, Some(write), |_, _, _, _| {})
    }

    /// Copies user memory at `va` into `buf` (user-readable memory only).
    pub fn read(&self, m: &mut impl Machine, va: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let len = buf.len();
        self.for_each_chunk(m, va, len, false, |m, pa, off, n| {
            let frame = m.frame(align_down(pa, PAGE_SIZE));
            let at = pa % PAGE_SIZE;
            buf[off..off + n].copy_from_slice(&frame[at..at + n]);
        })
    }

    /// Copies `bytes` to user memory at `va` (user-writable memory only).
    pub fn write(&self, m: &mut impl Machine, va: usize, bytes: &[u8]) -> Result<(), Errno> {
        self.for_each_chunk(m, va, bytes.len(), true, |m, pa, off, n| {
            let frame = m.frame(align_down(pa, PAGE_SIZE));
            let at = pa % PAGE_SIZE;
            frame[at..at + n].copy_from_slice(&bytes[off..off + n]);
        })
    }

    /// Fills mapped memory at `va` with `bytes` whatever the user permissions (the
    /// loader writing a read-only segment).
    pub fn load(&self, m: &mut impl Machine, va: usize, bytes: &[u8]) -> Result<(), Errno> {
        self.walk(m, va, bytes.len(), None, |_, _, _, _| {})?;
        self.walk(m, va, bytes.len(), None, |m, pa, off, n| {
            let frame = m.frame(align_down(pa, PAGE_SIZE));
            let at = pa % PAGE_SIZE;
            frame[at..at + n].copy_from_slice(&bytes[off..off + n]);
        })
    }

    /// Frees every page and table and the ASID's TLB entries, in one go; returns the
    /// memory objects whose mappings went (one entry per mapping).
    pub fn destroy(mut self, m: &mut impl Machine) -> Vec<u32> {
        let objects = self.mapped_objects();
        while !self.release_some(m, usize::MAX) {}
        objects
    }

    /// The memory objects this space maps (one entry per mapping).
    pub fn mapped_objects(&self) -> Vec<u32> {
        self.regions.iter().filter_map(|r| r.kind.object()).collect()
    }

    /// Gives back up to `budget` pages of a space no thread will run in again (its
    /// process ended): the frames its regions own, the last region first; once none is
    /// left, its tables (a quarter as many as the pages `budget` allows, one at least)
    /// and then its ASID's TLB entries. True when all of it is given back (the ASID may
    /// then be used again).
    ///
    /// The tables go whole, so nothing is unmapped page by page and no page's TLB entry
    /// is flushed on its own: the space's frames may be someone else's before its tables
    /// go, but nothing translates through them any more. A memory object's pages are not
    /// the space's: their regions go without a visit (the caller let go of the objects).
    pub fn release_some(&mut self, m: &mut impl Machine, budget: usize) -> bool {
        let mut left = budget;
        while let Some(r) = self.regions.last_mut() {
            if r.kind.object().is_some() {
                self.regions.pop();
                continue;
            }
            let first = r.mapped_start();
            if left == 0 {
                return false;
            }
            let pages = ((r.end - first) / PAGE_SIZE).min(left);
            let from = r.end - pages * PAGE_SIZE;
            for va in (from..r.end).step_by(PAGE_SIZE) {
                if let Some(t) = self.table.translate(m, va) {
                    m.free_frame(t.phys);
                }
            }
            left -= pages;
            r.end = from;
            if from == first {
                self.regions.pop();
            }
        }
        if !self.table.free_some_tables(m, left.div_ceil(4)) {
            return false;
        }
        m.flush_tlb_asid(self.asid);
        true
    }
}

/// A process's kernel object.
pub struct Process {
    /// Its name (the boot-image program's).
    pub name: String,
    /// The process that started it (`None`: started by the kernel, or orphaned).
    pub parent: Option<ProcessId>,
    /// Its process group: the pid of the process that made it (as POSIX's pgid), which
    /// may have ended. `ProcessKill` may end a whole group (Ctrl-C ends a job's).
    pub group: u32,
    /// Its memory; `None` once it has ended.
    pub space: Option<AddressSpace>,
    /// Its threads by tid - 1 (`None`: free tid).
    pub threads: Vec<Option<ThreadId>>,
    /// Children not yet waited for.
    pub children: Vec<ProcessId>,
    /// May use the privileged calls (spawn, shutdown).
    pub privileged: bool,
    /// May map device registers (a driver; `abi::syscall::process_flags::IO`).
    pub io: bool,
    /// Set when it has ended: its wait status, kept until the parent waits.
    pub exit_status: Option<u64>,
    /// Its channels, by chid.
    pub channels: HandleTable<Channel>,
    /// Its connections to channels (client side), by coid.
    pub connections: HandleTable<Connection>,
    /// The client processes connected to its channels, by scoid (without [`SCOID_BIT`]).
    pub server_connections: HandleTable<ServerConnection>,
    /// Its memory-object handles (values: objects in the system's table).
    pub memory: HandleTable<u32>,
    /// The event it receives, with the child's pid as value, when a child ends.
    pub child_event: Option<(ThreadId, abi::ipc::SigEvent)>,
    /// The last notice `child_event` sent: where it went, which child it names.
    pub(crate) child_notice: Option<crate::procmgr::ChildNotice>,
    /// Pulses this process made (`MsgSendPulse`, `MsgDeliverEvent`) that wait on some
    /// channel (at most [`crate::ipc::MAX_PULSES_PER_PROCESS`]).
    pub(crate) queued_pulses: usize,
}

impl Process {
    /// A new, running process with no threads or IPC objects yet.
    pub fn new(name: String, parent: Option<ProcessId>, space: AddressSpace, privileged: bool) -> Self {
        Self {
            name,
            parent,
            group: 0, // (set once it has a pid)
            space: Some(space),
            threads: Vec::new(),
            children: Vec::new(),
            privileged,
            io: privileged,
            exit_status: None,
            channels: HandleTable::new(MAX_CHANNELS),
            connections: HandleTable::new(MAX_CONNECTIONS),
            server_connections: HandleTable::new(MAX_CONNECTIONS),
            memory: HandleTable::new(crate::handle::MAX_SLOTS - 1),
            child_event: None,
            child_notice: None,
            queued_pulses: 0,
        }
    }

    /// `EPERM` if it may not ask for `priority` (above
    /// [`abi::sched::MAX_UNPRIVILEGED_PRIORITY`] without privilege or I/O privilege).
    pub fn may_ask_priority(&self, priority: u8) -> Result<(), abi::Errno> {
        match priority <= abi::sched::MAX_UNPRIVILEGED_PRIORITY || self.privileged || self.io {
            true => Ok(()),
            false => Err(abi::Errno::EPERM),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn rw() -> MapAttrs {
        user_attrs(true, false)
    }

    #[test]
    fn zeroed_pages_read_and_write_through_the_tables() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 5).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 0x3000, rw(), RegionKind::Anonymous).unwrap();
        let mut buf = [0xaau8; 16];
        s.read(&mut m, 0x40_0ff8, &mut buf).unwrap();
        assert_eq!(buf, [0; 16], "fresh memory is zero");
        s.write(&mut m, 0x40_0ffc, b"crosses a page").unwrap();
        let mut back = [0u8; 14];
        s.read(&mut m, 0x40_0ffc, &mut back).unwrap();
        assert_eq!(&back, b"crosses a page");
        assert_eq!(s.resident_bytes(), 0x3000);
        assert_eq!(s.ttbr0() >> 48, 5);
    }

    #[test]
    fn bad_user_ranges_are_efault_and_nothing_is_copied() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 0x1000, rw(), RegionKind::Anonymous).unwrap();
        s.map_zeroed(&mut m, 0x50_0000, 0x1000, user_attrs(false, true), RegionKind::Image).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut m, 0x40_0ffc, &mut buf), Err(Errno::EFAULT), "runs off the mapping");
        assert_eq!(s.read(&mut m, 0x1234, &mut buf), Err(Errno::EFAULT), "unmapped");
        assert_eq!(s.read(&mut m, 0xffff_0000_4000_0000, &mut buf), Err(Errno::EFAULT), "kernel address");
        assert_eq!(s.read(&mut m, usize::MAX - 3, &mut buf), Err(Errno::EFAULT), "wraps");
        assert_eq!(s.write(&mut m, 0x50_0000, b"x"), Err(Errno::EFAULT), "read-only");
        s.read(&mut m, 0x50_0000, &mut buf).unwrap();
        // A write that would run off the end writes nothing at all.
        assert_eq!(s.write(&mut m, 0x40_0ffc, b"12345678"), Err(Errno::EFAULT));
        s.read(&mut m, 0x40_0ff8, &mut buf).unwrap();
        assert_eq!(buf, [0; 8]);
        // The loader may fill read-only pages.
        s.load(&mut m, 0x50_0000, b"code").unwrap();
        s.read(&mut m, 0x50_0000, &mut buf[..4]).unwrap();
        assert_eq!(&buf[..4], b"code");
        assert_eq!(s.read(&mut m, 0x40_0000, &mut []), Ok(()), "empty reads need no mapping");
    }

    #[test]
    fn stacks_have_an_unmapped_guard_page() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x7000_0000, 0x4000, rw(), RegionKind::Stack).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut m, 0x7000_0fff, &mut b), Err(Errno::EFAULT));
        assert!(s.read(&mut m, 0x7000_1000, &mut b).is_ok());
        assert_eq!(s.resident_bytes(), 0x3000);
    }

    #[test]
    fn overlap_and_unmap_rules() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 0x2000, rw(), RegionKind::Anonymous).unwrap();
        assert_eq!(s.map_zeroed(&mut m, 0x40_1000, 0x1000, rw(), RegionKind::Anonymous), Err(Errno::EINVAL));
        assert_eq!(s.map_zeroed(&mut m, 0x40_3001, 0x1000, rw(), RegionKind::Anonymous), Err(Errno::EINVAL));
        assert_eq!(s.unmap_region(&mut m, 0x40_0000, 0x1000), Err(Errno::EINVAL), "part of a region");
        let frames_before = m.frames_in_use();
        assert_eq!(s.unmap_region(&mut m, 0x40_0000, 0x1800), Ok(None));
        assert_eq!(m.frames_in_use(), frames_before - 2);
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut m, 0x40_0000, &mut b), Err(Errno::EFAULT));
        assert!(m.flushed_pages.contains(&(1, 0x40_0000)));
    }

    #[test]
    fn protect_splits_regions_but_never_a_stack() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 0x3000, rw(), RegionKind::Anonymous).unwrap();
        s.map_zeroed(&mut m, 0x7000_0000, 0x4000, rw(), RegionKind::Stack).unwrap();
        assert_eq!(
            s.protect(&mut m, (0x40_1000, 0x40_2000), mem_prot::READ, None, false),
            Ok(Protect::Done(Vec::new()))
        );
        assert_eq!(s.regions().len(), 4, "the anonymous region is now three");
        assert_eq!(s.write(&mut m, 0x40_1000, b"x"), Err(Errno::EFAULT));
        s.write(&mut m, 0x40_2000, b"x").unwrap();
        assert_eq!(s.protect(&mut m, (0x40_0000, 0x40_1000), 0, None, false), Ok(Protect::Done(Vec::new())));
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut m, 0x40_0000, &mut b), Err(Errno::EFAULT), "no access at all");
        assert_eq!(
            s.protect(&mut m, (0x7000_2000, 0x7000_3000), mem_prot::READ, None, false),
            Err(Errno::EINVAL),
            "stack cut"
        );
        assert_eq!(
            s.protect(&mut m, (0x7000_1000, 0x7000_4000), mem_prot::READ, None, false),
            Ok(Protect::Done(Vec::new())),
            "whole stack"
        );
        assert_eq!(
            s.protect(&mut m, (0x40_0000, 0x40_1000), mem_prot::WRITE | mem_prot::EXEC, None, false),
            Err(Errno::EINVAL)
        );
        assert_eq!(s.protect(&mut m, (0x50_0000, 0x50_1000), mem_prot::READ, None, false), Err(Errno::ENOMEM));
        assert_eq!(s.unmap_region(&mut m, 0x40_1000, 0x1000), Ok(None));
    }

    #[test]
    fn a_full_region_list_refuses_only_the_protects_that_split() {
        // (A review found every MemProtect refused with `ENOMEM` at 4095 regions and more,
        // of a whole mapping too, which splits nothing.)
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 3 * PAGE_SIZE, rw(), RegionKind::Anonymous).unwrap();
        for i in 1..MAX_REGIONS {
            s.map_zeroed(&mut m, 0x40_0000 + (3 + i) * PAGE_SIZE, PAGE_SIZE, rw(), RegionKind::Anonymous).unwrap();
        }
        assert_eq!(s.regions().len(), MAX_REGIONS);
        let whole = (0x40_0000, 0x40_0000 + 3 * PAGE_SIZE);
        assert_eq!(s.protect(&mut m, whole, mem_prot::READ, None, false), Ok(Protect::Done(Vec::new())));
        assert_eq!(s.write(&mut m, 0x40_0000, b"x"), Err(Errno::EFAULT), "read-only now");
        let middle = (0x40_1000, 0x40_2000);
        assert_eq!(s.protect(&mut m, middle, mem_prot::WRITE, None, false), Err(Errno::ENOMEM), "two more regions");
        s.unmap_region(&mut m, 0x40_0000 + 4 * PAGE_SIZE, PAGE_SIZE).unwrap();
        let first = (0x40_0000, 0x40_1000);
        assert_eq!(s.protect(&mut m, first, mem_prot::WRITE, None, false), Ok(Protect::Done(Vec::new())), "one more");
        assert_eq!(s.regions().len(), MAX_REGIONS);
    }

    #[test]
    fn running_out_of_frames_rolls_back() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        m.frame_limit = Some(m.frames_in_use() + 5);
        let before = m.frames_in_use();
        assert_eq!(s.map_zeroed(&mut m, 0x40_0000, 0x10_0000, rw(), RegionKind::Anonymous), Err(Errno::ENOMEM));
        assert_eq!(m.frames_in_use(), before + 3, "only the 3 new tables stay");
        assert!(s.regions().is_empty());
    }

    #[test]
    fn destroy_returns_every_frame_and_table() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 9).unwrap();
        s.map_zeroed(&mut m, 0x40_0000, 0x5000, rw(), RegionKind::Image).unwrap();
        s.map_zeroed(&mut m, 0x7fff_0000_0000, 0x3000, rw(), RegionKind::Stack).unwrap();
        s.destroy(&mut m);
        assert_eq!(m.frames_in_use(), 0);
        assert!(m.flushed_asids.contains(&9));
    }

    #[test]
    fn free_space_search() {
        let mut m = FakeMachine::new();
        let mut s = AddressSpace::new(&mut m, 1).unwrap();
        s.map_zeroed(&mut m, 0x9000, 0x1000, rw(), RegionKind::Anonymous).unwrap();
        assert_eq!(s.find_free_top_down(0x1000, 0xa000, 0x2000), Some(0x7000));
        assert_eq!(s.find_free_bottom_up(0x8000, 0x10000, 0x2000), Some(0xa000));
        assert_eq!(s.find_free_bottom_up(0x8000, 0xb000, 0x2000), None);
    }

    #[test]
    fn free_space_search_and_overlaps_agree_with_a_page_by_page_look() {
        let page = |n: usize| n * PAGE_SIZE;
        let mut rand = crate::testing::Rand(7);
        for _ in 0..200 {
            let mut m = FakeMachine::new();
            let mut s = AddressSpace::new(&mut m, 1).unwrap();
            // Regions of 1-3 pages somewhere in pages 1..64 (reserved: no frames needed).
            for _ in 0..rand.below(20) {
                let (at, pages) = (1 + rand.below(60) as usize, 1 + rand.below(3) as usize);
                let _ = s.reserve(page(at), page(pages), rw(), None);
            }
            let used = |p: usize| s.regions().iter().any(|r| r.start <= page(p) && page(p) < r.end);
            assert!(s.regions().windows(2).all(|w| w[0].end <= w[1].start), "in order, apart");
            let (low, high, size) = (rand.below(70) as usize, rand.below(70) as usize, 1 + rand.below(6) as usize);
            let fits = |p: usize| p >= low && p + size <= high && (p..p + size).all(|q| !used(q));
            let lowest = (0..70).find(|p| fits(*p)).map(page);
            let highest = (0..70).rev().find(|p| fits(*p)).map(page);
            assert_eq!(s.find_free_bottom_up(page(low), page(high), page(size)), lowest);
            assert_eq!(s.find_free_top_down(page(low), page(high), page(size)), highest);
            let (start, end) = (page(low), page(low + size));
            assert_eq!(s.overlaps(start, end), (low..low + size).any(used));
        }
    }

    #[test]
    fn asids_are_unique_until_freed() {
        let mut a = AsidAllocator::new();
        let x = a.alloc().unwrap();
        let y = a.alloc().unwrap();
        assert!(x != 0 && y != 0 && x != y);
        a.free(x);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = a.alloc() {
            assert!(seen.insert(id));
        }
        assert_eq!(seen.len(), 65534, "every ASID but 0 and y handed out once");
        assert!(seen.contains(&x));
    }
}
