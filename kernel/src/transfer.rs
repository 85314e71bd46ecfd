//! Moving message bytes from one address space to another.
//!
//! Both sides are I/O vectors — lists of (address, length) — treated as one contiguous
//! byte sequence each. The bytes copied are the smaller of what the source offers and
//! the destination accepts (after each side's offset). Bytes go frame to frame through
//! the kernel's linear map ([`Machine::copy_physical`]): there is no intermediate kernel
//! buffer.
//!
//! A transfer of at most [`UNINTERRUPTED`] bytes validates both ranges first, so it
//! copies everything or nothing, and the error says which side was at fault. A longer
//! one (the kernel runs with interrupts masked) must not keep interrupts waiting for as
//! long as it takes: it checks each page as it reaches it, and stops before a page when
//! an interrupt is pending ([`TransferError::Interrupted`]), having copied at least a
//! page's worth. Its system call is then restarted once the interrupt is taken, and
//! goes on from there (`CopyProgress` in `ipc.rs`). A bad page ends it with the pages
//! before it copied.

use crate::machine::Machine;
use crate::mem::paging::{tables_generation, MemoryKind};
use crate::mem::usertlb::CachedPage;
use crate::mem::PAGE_SIZE;
use crate::process::AddressSpace;
use abi::Errno;

/// One side of a transfer.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// Whose memory.
    pub space: &'a AddressSpace,
    /// The (address, length) parts.
    pub iov: &'a [(usize, usize)],
    /// Bytes of the sequence to skip first.
    pub offset: usize,
}

/// The most bytes a transfer copies without looking for pending interrupts (at most a
/// few microseconds of copying).
pub const UNINTERRUPTED: usize = 16 * 1024;

/// Which side of a transfer was unusable, or why it stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// The source (sender's message, replier's data…).
    Source(Errno),
    /// The destination (receiver's buffer, sender's reply buffer…).
    Destination(Errno),
    /// A long transfer stopped for a pending interrupt after copying this many bytes
    /// (at least a page's worth, or, from [`transfer_single`], none).
    Interrupted(usize),
}

/// Total length of an I/O vector, or `None` if it overflows.
pub fn total_len(iov: &[(usize, usize)]) -> Option<usize> {
    iov.iter().try_fold(0usize, |acc, (_, len)| acc.checked_add(*len))
}

/// Calls `f(address, length)` for each piece of `iov` covering `[offset, offset + n)`.
fn pieces(
    iov: &[(usize, usize)],
    offset: usize,
    n: usize,
    mut f: impl FnMut(usize, usize) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let mut skip = offset;
    let mut left = n;
    for &(base, len) in iov {
        if left == 0 {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let take = (len - skip).min(left);
        f(base.checked_add(skip).ok_or(Errno::EFAULT)?, take)?;
        left -= take;
        skip = 0;
    }
    Ok(())
}

/// Copies up to `limit` bytes from `src` to `dst`; returns how many were copied. A long
/// transfer stops when an interrupt is pending ([`TransferError::Interrupted`]).
pub fn transfer(m: &mut impl Machine, src: Side<'_>, dst: Side<'_>, limit: usize) -> Result<usize, TransferError> {
    let src_total = total_len(src.iov).ok_or(TransferError::Source(Errno::EFAULT))?;
    let dst_total = total_len(dst.iov).ok_or(TransferError::Destination(Errno::EFAULT))?;
    let n = src_total.saturating_sub(src.offset).min(dst_total.saturating_sub(dst.offset)).min(limit);
    if n == 0 {
        return Ok(0);
    }
    if let (&[(s, _)], &[(d, _)]) = (src.iov, dst.iov) {
        // One buffer each side (the common case), spanning few pages: validate each side
        // once, keeping its page translations for the copy.
        if let (Some(s), Some(d)) = (s.checked_add(src.offset), d.checked_add(dst.offset)) {
            if span_pages(s, n) <= SPAN_PAGES && span_pages(d, n) <= SPAN_PAGES {
                return transfer_contiguous(m, (src.space, s), (dst.space, d), n);
            }
        }
    }
    // A long transfer checks each page as it reaches it (checking them all first would
    // itself keep interrupts waiting) and stops when an interrupt is pending; a short
    // one checks both sides whole first, so that it copies all or nothing.
    let long = n > UNINTERRUPTED;
    if !long {
        pieces(src.iov, src.offset, n, |va, len| src.space.check(m, va, len, false)).map_err(TransferError::Source)?;
        pieces(dst.iov, dst.offset, n, |va, len| dst.space.check(m, va, len, true))
            .map_err(TransferError::Destination)?;
    }
    // Walk both sequences together, a chunk at a time, never crossing a piece or page
    // end; a long one stops before a chunk, a page's worth copied, when an interrupt is
    // pending.
    let mut src_cursor = Cursor::new(src.iov, src.offset);
    let mut dst_cursor = Cursor::new(dst.iov, dst.offset);
    let (mut done, mut looked) = (0, 0);
    while done < n {
        if long && done - looked >= PAGE_SIZE {
            if m.interrupt_pending() {
                return Err(TransferError::Interrupted(done));
            }
            looked = done;
        }
        let (Some(s), Some(d)) = (src_cursor.here(), dst_cursor.here()) else {
            break;
        };
        let chunk = (n - done).min(s.1).min(d.1).min(PAGE_SIZE - s.0 % PAGE_SIZE).min(PAGE_SIZE - d.0 % PAGE_SIZE);
        let from = page_of(m, src.space, s.0, false).map_err(TransferError::Source)?;
        let to = page_of(m, dst.space, d.0, true).map_err(TransferError::Destination)?;
        m.copy_physical(from + s.0 % PAGE_SIZE, to + d.0 % PAGE_SIZE, chunk);
        src_cursor.advance(chunk);
        dst_cursor.advance(chunk);
        done += chunk;
    }
    Ok(done)
}

/// [`transfer`] between two single buffers, each `(space, (address, length))`: the same
/// checks and copy, without walking I/O vectors. For the fast paths, which cannot
/// restart a call: more than [`UNINTERRUPTED`] bytes is refused as
/// `Interrupted(0)`, before anything is copied.
#[inline(always)]
pub fn transfer_single(
    m: &mut impl Machine,
    (src_space, src): (&AddressSpace, (usize, usize)),
    (dst_space, dst): (&AddressSpace, (usize, usize)),
) -> Result<usize, TransferError> {
    let n = src.1.min(dst.1);
    if n == 0 {
        return Ok(0);
    }
    if within_one_page(src.0, n) && within_one_page(dst.0, n) {
        return transfer_in_pages(m, (src_space, src.0), (dst_space, dst.0), n);
    }
    if span_pages(src.0, n) <= SPAN_PAGES && span_pages(dst.0, n) <= SPAN_PAGES {
        return transfer_contiguous(m, (src_space, src.0), (dst_space, dst.0), n);
    }
    if n > UNINTERRUPTED {
        return Err(TransferError::Interrupted(0));
    }
    let (src_iov, dst_iov) = ([src], [dst]);
    transfer(
        m,
        Side { space: src_space, iov: &src_iov, offset: 0 },
        Side { space: dst_space, iov: &dst_iov, offset: 0 },
        n,
    )
}

/// Most pages one side of [`transfer_contiguous`] spans (12 KiB).
const SPAN_PAGES: usize = 3;
const _: () = assert!(SPAN_PAGES * PAGE_SIZE <= UNINTERRUPTED, "a contiguous transfer is never interrupted");

/// How many pages `[va, va + n)` touches (n > 0; a range past the address space's end
/// counts as many, so it is left to the general path's checks).
fn span_pages(va: usize, n: usize) -> usize {
    match va.checked_add(n - 1) {
        Some(last) => (last >> PAGE_SHIFT) - (va >> PAGE_SHIFT) + 1,
        None => usize::MAX,
    }
}

const PAGE_SHIFT: u32 = PAGE_SIZE.trailing_zeros();

/// Checks that user code may access `[va, va + n)` (`write`: may write), as
/// `AddressSpace::check` does, and returns the physical page behind each of its pages
/// (at most [`SPAN_PAGES`]).
fn user_pages(
    m: &mut impl Machine,
    space: &AddressSpace,
    va: usize,
    n: usize,
    write: bool,
) -> Result<[usize; SPAN_PAGES], Errno> {
    let end = va.checked_add(n).ok_or(Errno::EFAULT)?;
    if end > abi::USER_SPACE_END {
        return Err(Errno::EFAULT);
    }
    let mut pages = [0; SPAN_PAGES];
    let mut at = va;
    for page in pages.iter_mut().take(span_pages(va, n)) {
        *page = accessible_page(m, space, at, write).ok_or(Errno::EFAULT)?;
        at = (at & !(PAGE_SIZE - 1)) + PAGE_SIZE;
    }
    Ok(pages)
}

/// Whether `[va, va + n)` (n > 0) lies within one page (no overflow, whatever `n`).
#[inline(always)]
fn within_one_page(va: usize, n: usize) -> bool {
    n <= PAGE_SIZE - va % PAGE_SIZE
}

const _: () = assert!(abi::USER_SPACE_END.is_multiple_of(PAGE_SIZE), "page_of's bound");

/// [`user_pages`] for a range [`within_one_page`] that starts at `va`: its physical
/// page. Such a range ends at or below `USER_SPACE_END` (a page boundary) exactly when
/// it starts below it.
#[inline(always)]
fn page_of(m: &mut impl Machine, space: &AddressSpace, va: usize, write: bool) -> Result<usize, Errno> {
    if va >= abi::USER_SPACE_END {
        return Err(Errno::EFAULT);
    }
    accessible_page(m, space, va, write).ok_or(Errno::EFAULT)
}

/// The physical page behind user page `va` of `space` if user code may read it (and
/// write it, `write`): from the MMU when `space` is the one loaded on this CPU (the
/// caller's, in a system call), else from [`user_translation`].
#[inline(always)]
fn accessible_page(m: &mut impl Machine, space: &AddressSpace, va: usize, write: bool) -> Option<usize> {
    if let Some(page) = m.translate_loaded(space.table.root(), va, write) {
        return page;
    }
    let t = user_translation(m, space, va)?;
    (t.user && (t.writable || !write)).then_some(t.phys)
}

/// What the page holding user address `va` of `space` translates to: from the
/// machine's cache of user translations while no tree has changed, else from a walk
/// (which is then cached).
#[inline(always)]
fn user_translation(m: &mut impl Machine, space: &AddressSpace, va: usize) -> Option<CachedPage> {
    let generation = tables_generation();
    let root = space.table.root();
    if let Some(hit) = m.user_tlb().and_then(|tlb| tlb.lookup(generation, root, va)) {
        return Some(hit);
    }
    let t = space.table.translate(m, va)?;
    // Device registers are outside the RAM the kernel reaches through its linear map: a
    // device mapping is no buffer for a system call (and is never cached).
    if t.attrs.kind == MemoryKind::Device {
        return None;
    }
    let page = CachedPage { phys: t.phys & !(PAGE_SIZE - 1), user: t.attrs.user, writable: t.attrs.writable };
    if let Some(tlb) = m.user_tlb() {
        tlb.insert(generation, root, va, page);
    }
    Some(page)
}

/// [`transfer`] of `n` bytes between two single buffers at `src` and `dst`, each
/// spanning at most [`SPAN_PAGES`] pages: the same checks (source first), each page
/// translated once.
#[inline(always)]
fn transfer_contiguous(
    m: &mut impl Machine,
    src: (&AddressSpace, usize),
    dst: (&AddressSpace, usize),
    n: usize,
) -> Result<usize, TransferError> {
    if within_one_page(src.1, n) && within_one_page(dst.1, n) {
        return transfer_in_pages(m, src, dst, n);
    }
    let from = user_pages(m, src.0, src.1, n, false).map_err(TransferError::Source)?;
    let to = user_pages(m, dst.0, dst.1, n, true).map_err(TransferError::Destination)?;
    let (first_from, first_to) = (src.1 >> PAGE_SHIFT, dst.1 >> PAGE_SHIFT);
    let mut done = 0;
    while done < n {
        let (s, d) = (src.1 + done, dst.1 + done);
        let chunk = (n - done).min(PAGE_SIZE - s % PAGE_SIZE).min(PAGE_SIZE - d % PAGE_SIZE);
        let s_phys = from[(s >> PAGE_SHIFT) - first_from] + s % PAGE_SIZE;
        let d_phys = to[(d >> PAGE_SHIFT) - first_to] + d % PAGE_SIZE;
        m.copy_physical(s_phys, d_phys, chunk);
        done += chunk;
    }
    Ok(n)
}

/// [`transfer_contiguous`] when each side lies within one page (every small message):
/// one translation each, one copy.
#[inline(always)]
fn transfer_in_pages(
    m: &mut impl Machine,
    src: (&AddressSpace, usize),
    dst: (&AddressSpace, usize),
    n: usize,
) -> Result<usize, TransferError> {
    let from = page_of(m, src.0, src.1, false).map_err(TransferError::Source)?;
    let to = page_of(m, dst.0, dst.1, true).map_err(TransferError::Destination)?;
    m.copy_physical(from + src.1 % PAGE_SIZE, to + dst.1 % PAGE_SIZE, n);
    Ok(n)
}

/// Whether user code may write `[va, va + n)` of `space`, as `AddressSpace::check` says
/// (through the cache of user translations when the range lies within one page).
#[inline(always)]
pub fn user_may_write(m: &mut impl Machine, space: &AddressSpace, va: usize, n: usize) -> bool {
    if n > 0 && within_one_page(va, n) {
        return page_of(m, space, va, true).is_ok();
    }
    space.check(m, va, n, true).is_ok()
}

/// The physical address of `[va, va + n)` of `space` when the range lies within one page
/// that user code may write (so that a record checked now can be written later, within
/// the same system call, with [`write_physical`] and no second translation); `None`
/// otherwise.
#[inline(always)]
pub fn user_writable_in_one_page(m: &mut impl Machine, space: &AddressSpace, va: usize, n: usize) -> Option<usize> {
    if n == 0 || !within_one_page(va, n) {
        return None;
    }
    page_of(m, space, va, true).ok().map(|page| page + va % PAGE_SIZE)
}

/// Writes `bytes` at physical address `at`, which [`user_writable_in_one_page`] gave for
/// at least `N` bytes.
#[inline(always)]
pub fn write_physical<const N: usize>(m: &mut impl Machine, at: usize, bytes: &[u8; N]) {
    m.frame(at & !(PAGE_SIZE - 1))[at % PAGE_SIZE..][..N].copy_from_slice(bytes);
}

/// Writes `bytes` to user memory at `va` of `space` if user code may write all of it,
/// as `AddressSpace::check` followed by `AddressSpace::write` does (nothing is written
/// when any of it is not writable), translating each page once.
#[inline(always)]
pub fn write_user<const N: usize>(
    m: &mut impl Machine,
    space: &AddressSpace,
    va: usize,
    bytes: &[u8; N],
) -> Result<(), Errno> {
    let n = N;
    if n > 0 && within_one_page(va, n) {
        // Within one page (the usual case): a copy of a length known here.
        let page = page_of(m, space, va, true)?;
        m.frame(page)[va % PAGE_SIZE..][..N].copy_from_slice(bytes);
        return Ok(());
    }
    if n == 0 || span_pages(va, n) > SPAN_PAGES {
        space.check(m, va, n, true)?;
        return space.write(m, va, bytes);
    }
    let pages = user_pages(m, space, va, n, true)?;
    let mut done = 0;
    while done < n {
        let at = va + done;
        let chunk = (n - done).min(PAGE_SIZE - at % PAGE_SIZE);
        let frame = m.frame(pages[(at >> PAGE_SHIFT) - (va >> PAGE_SHIFT)]);
        frame[at % PAGE_SIZE..][..chunk].copy_from_slice(&bytes[done..done + chunk]);
        done += chunk;
    }
    Ok(())
}

/// A position inside an I/O vector.
struct Cursor<'a> {
    iov: &'a [(usize, usize)],
    part: usize,
    within: usize,
}

impl<'a> Cursor<'a> {
    fn new(iov: &'a [(usize, usize)], offset: usize) -> Self {
        let mut c = Cursor { iov, part: 0, within: 0 };
        c.advance(offset);
        c
    }

    /// The current address and the bytes left in its part.
    fn here(&mut self) -> Option<(usize, usize)> {
        while let Some(&(base, len)) = self.iov.get(self.part) {
            if self.within < len {
                return Some((base + self.within, len - self.within));
            }
            self.part += 1;
            self.within = 0;
        }
        None
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(&(_, len)) = self.iov.get(self.part) else {
                return;
            };
            let step = (len - self.within).min(n);
            self.within += step;
            n -= step;
            if self.within == len {
                self.part += 1;
                self.within = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{user_attrs, RegionKind};
    use crate::testing::FakeMachine;

    fn spaces(m: &mut FakeMachine) -> (AddressSpace, AddressSpace) {
        let mut a = AddressSpace::new(m, 1).unwrap();
        let mut b = AddressSpace::new(m, 2).unwrap();
        a.map_zeroed(m, 0x10_0000, 0x4000, user_attrs(true, false), RegionKind::Anonymous).unwrap();
        b.map_zeroed(m, 0x10_0000, 0x4000, user_attrs(true, false), RegionKind::Anonymous).unwrap();
        b.map_zeroed(m, 0x20_0000, 0x1000, user_attrs(false, false), RegionKind::Image).unwrap();
        (a, b)
    }

    #[test]
    fn smaller_side_wins_and_bytes_arrive_in_order_across_parts_and_pages() {
        let mut m = FakeMachine::new();
        let (a, b) = spaces(&mut m);
        let message: Vec<u8> = (0..6000u32).map(|i| (i % 251) as u8).collect();
        a.write(&mut m, 0x10_0ff0, &message).unwrap();
        // Source: one part crossing two page ends. Destination: three odd parts.
        let src = [(0x10_0ff0, 6000)];
        let dst = [(0x10_0001, 3), (0x10_1ffe, 4000), (0x10_3000, 10_000)];
        let n = transfer(
            &mut m,
            Side { space: &a, iov: &src, offset: 0 },
            Side { space: &b, iov: &dst, offset: 0 },
            usize::MAX,
        )
        .unwrap();
        assert_eq!(n, 6000);
        let mut got = vec![0u8; 6000];
        b.read(&mut m, 0x10_0001, &mut got[..3]).unwrap();
        b.read(&mut m, 0x10_1ffe, &mut got[3..4003]).unwrap();
        b.read(&mut m, 0x10_3000, &mut got[4003..]).unwrap();
        assert_eq!(got, message);
        // A smaller destination takes a prefix; offsets skip into either side.
        let n = transfer(
            &mut m,
            Side { space: &a, iov: &src, offset: 100 },
            Side { space: &b, iov: &[(0x10_0000, 10)], offset: 4 },
            usize::MAX,
        )
        .unwrap();
        assert_eq!(n, 6);
        let mut six = [0u8; 6];
        b.read(&mut m, 0x10_0004, &mut six).unwrap();
        assert_eq!(&six[..], &message[100..106]);
        assert_eq!(total_len(&[(0, usize::MAX), (0, 1)]), None);
    }

    #[test]
    fn faults_name_the_guilty_side_and_copy_nothing() {
        let mut m = FakeMachine::new();
        let (a, b) = spaces(&mut m);
        let good = [(0x10_0000, 64)];
        let unmapped = [(0x50_0000, 64)];
        let read_only = [(0x20_0000, 64)];
        let kernel = [(0xffff_0000_4000_0000, 64)];
        let side = |space, iov| Side { space, iov, offset: 0 };
        assert_eq!(
            transfer(&mut m, side(&a, &unmapped), side(&b, &good), 64),
            Err(TransferError::Source(Errno::EFAULT))
        );
        assert_eq!(transfer(&mut m, side(&a, &kernel), side(&b, &good), 64), Err(TransferError::Source(Errno::EFAULT)));
        assert_eq!(
            transfer(&mut m, side(&a, &good), side(&b, &read_only), 64),
            Err(TransferError::Destination(Errno::EFAULT))
        );
        a.write(&mut m, 0x10_0000, &[7u8; 64]).unwrap();
        // The destination's second part is bad: not even the first part is written.
        let half_bad = [(0x10_0000, 32), (0x50_0000, 32)];
        assert_eq!(
            transfer(&mut m, side(&a, &good), side(&b, &half_bad), 64),
            Err(TransferError::Destination(Errno::EFAULT))
        );
        let mut first = [0u8; 32];
        b.read(&mut m, 0x10_0000, &mut first).unwrap();
        assert_eq!(first, [0; 32]);
        // Bytes beyond what is transferred are never looked at.
        assert_eq!(transfer(&mut m, side(&a, &good), side(&b, &half_bad), 32), Ok(32));
        assert_eq!(transfer(&mut m, side(&a, &[]), side(&b, &unmapped), 64), Ok(0));
    }

    #[test]
    fn any_split_of_either_side_copies_the_same_bytes() {
        // Property: however the two sequences are cut into parts (and whatever the
        // offsets), the destination receives exactly src[so..so+n] at dst[do..do+n],
        // with n = min(remaining source, remaining destination), and nothing else changes.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let split = |rand: &mut dyn FnMut(usize) -> usize, base: usize, len: usize| {
            let mut parts = Vec::new();
            let mut at = 0;
            while at < len {
                let n = (1 + rand(700)).min(len - at);
                parts.push((base + at, n));
                at += n;
                if rand(4) == 0 {
                    parts.push((base + at, 0)); // empty parts are allowed
                }
            }
            parts
        };
        for round in 0..200 {
            let mut m = FakeMachine::new();
            let (a, b) = spaces(&mut m);
            let source: Vec<u8> = (0..0x3000).map(|i| (i * 7 + round) as u8).collect();
            a.write(&mut m, 0x10_0000, &source).unwrap();
            let before = vec![0xeeu8; 0x4000];
            b.write(&mut m, 0x10_0000, &before).unwrap();
            let (src_len, dst_len) = (1 + rand(0x3000), 1 + rand(0x4000));
            let (src_off, dst_off) = (rand(src_len), rand(dst_len));
            let src = split(&mut rand, 0x10_0000, src_len);
            let dst = split(&mut rand, 0x10_0000, dst_len);
            let n = transfer(
                &mut m,
                Side { space: &a, iov: &src, offset: src_off },
                Side { space: &b, iov: &dst, offset: dst_off },
                usize::MAX,
            )
            .unwrap();
            assert_eq!(n, (src_len - src_off).min(dst_len - dst_off), "round {round}");
            let mut after = vec![0u8; 0x4000];
            b.read(&mut m, 0x10_0000, &mut after).unwrap();
            let mut want = before.clone();
            want[dst_off..dst_off + n].copy_from_slice(&source[src_off..src_off + n]);
            assert_eq!(after, want, "round {round}");
        }
    }

    /// Two spaces with `len` bytes of read-write memory at 0x30_0000 each, the first
    /// holding a pattern (returned).
    fn long_spaces(m: &mut FakeMachine, len: usize) -> (AddressSpace, AddressSpace, Vec<u8>) {
        let (mut a, mut b) = spaces(m);
        a.map_zeroed(m, 0x30_0000, len, user_attrs(true, false), RegionKind::Anonymous).unwrap();
        b.map_zeroed(m, 0x30_0000, len, user_attrs(true, false), RegionKind::Anonymous).unwrap();
        let pattern: Vec<u8> = (0..len).map(|i| (i * 13 + i / 4096) as u8).collect();
        a.write(m, 0x30_0000, &pattern).unwrap();
        (a, b, pattern)
    }

    #[test]
    fn a_long_transfer_stops_for_pending_interrupts_and_goes_on_from_there() {
        // Property: cut into any parts, with interrupts pending at any rate, a long
        // transfer resumed from where each stop left it copies the same bytes as one
        // uninterrupted pass; each stop comes after at least a page's worth; a short
        // transfer never stops.
        let mut rand = crate::testing::Rand(0x2545_f491_4f6c_dd1d);
        let len = 0x11000;
        for round in 0..60 {
            let mut m = FakeMachine::new();
            let (a, b, pattern) = long_spaces(&mut m, len);
            let n = UNINTERRUPTED + 1 + rand.below((len - UNINTERRUPTED - 1) as u64) as usize;
            let cut = |rand: &mut crate::testing::Rand| {
                let mut parts = Vec::new();
                let mut at = 0;
                while at < len {
                    let take = (1 + rand.below(9000) as usize).min(len - at);
                    parts.push((0x30_0000 + at, take));
                    at += take;
                }
                parts
            };
            let (src, dst) = (cut(&mut rand), cut(&mut rand));
            m.interrupt_every = Some(1 + rand.below(4));
            let mut done = 0;
            let mut stops = 0;
            loop {
                let side = |space, iov, offset| Side { space, iov, offset };
                match transfer(&mut m, side(&a, &src, done), side(&b, &dst, done), n - done) {
                    Ok(k) => {
                        done += k;
                        break;
                    }
                    Err(TransferError::Interrupted(k)) => {
                        assert!(k >= PAGE_SIZE, "round {round}: a stop after {k} bytes");
                        done += k;
                        stops += 1;
                    }
                    Err(e) => panic!("round {round}: {e:?}"),
                }
            }
            assert_eq!(done, n, "round {round}");
            assert!(stops > 0, "round {round}: never stopped");
            let mut got = vec![0u8; len];
            b.read(&mut m, 0x30_0000, &mut got).unwrap();
            assert_eq!(&got[..n], &pattern[..n], "round {round}");
            assert!(got[n..].iter().all(|&x| x == 0), "round {round}: bytes past the end");
            // At most UNINTERRUPTED bytes: never stopped.
            let short = [(0x30_0000, UNINTERRUPTED)];
            let side = |space, iov| Side { space, iov, offset: 0 };
            assert_eq!(transfer(&mut m, side(&a, &short), side(&b, &short), usize::MAX), Ok(UNINTERRUPTED));
        }
    }

    #[test]
    fn a_long_transfer_ends_at_a_bad_page_with_the_pages_before_it_copied() {
        let mut m = FakeMachine::new();
        let (a, b, pattern) = long_spaces(&mut m, 0x8000);
        // The destination runs 0x1000 bytes past its mapping's end.
        let (src, dst) = ([(0x30_0000, 0x8000)], [(0x30_1000, 0x8000)]);
        let side = |space, iov| Side { space, iov, offset: 0 };
        assert_eq!(
            transfer(&mut m, side(&a, &src), side(&b, &dst), usize::MAX),
            Err(TransferError::Destination(Errno::EFAULT))
        );
        let mut got = vec![0u8; 0x7000];
        b.read(&mut m, 0x30_1000, &mut got).unwrap();
        assert_eq!(got, pattern[..0x7000], "the pages before the bad one");
        // A source that is not readable is named as such.
        let kernel = [(0xffff_0000_4000_0000, 0x8000)];
        assert_eq!(
            transfer(&mut m, side(&a, &kernel), side(&b, &[(0x30_0000, 0x8000)]), usize::MAX),
            Err(TransferError::Source(Errno::EFAULT))
        );
        // The fast paths' single-buffer transfer refuses a long copy before copying.
        let (a_single, b_single) = ((0x30_0000, 0x8000), (0x30_0000, 0x8000));
        assert_eq!(transfer_single(&mut m, (&b, b_single), (&a, a_single)), Err(TransferError::Interrupted(0)));
        let mut first = [0u8; 16];
        a.read(&mut m, 0x30_0000, &mut first).unwrap();
        assert_eq!(first, pattern[..16], "nothing copied");
    }

    #[test]
    fn write_user_is_check_then_write() {
        let mut m = FakeMachine::new();
        let (a, b) = spaces(&mut m);
        write_user(&mut m, &a, 0x10_0ffc, b"across a page end").unwrap();
        let mut got = [0u8; 17];
        a.read(&mut m, 0x10_0ffc, &mut got).unwrap();
        assert_eq!(&got, b"across a page end");
        assert_eq!(write_user(&mut m, &b, 0x20_0000, b"ro"), Err(Errno::EFAULT), "read-only");
        assert_eq!(write_user(&mut m, &a, 0x10_3ffe, b"half"), Err(Errno::EFAULT), "runs off the mapping");
        let mut last = [0u8; 2];
        a.read(&mut m, 0x10_3ffe, &mut last).unwrap();
        assert_eq!(last, [0, 0], "nothing written");
        assert_eq!(write_user(&mut m, &a, usize::MAX - 1, b"xyz"), Err(Errno::EFAULT));
        assert_eq!(write_user(&mut m, &a, 0x10_0000, b""), Ok(()));
    }

    #[test]
    fn cached_translations_go_stale_when_a_tree_changes() {
        let mut m = FakeMachine::new();
        let (mut a, b) = spaces(&mut m);
        fn side<'a>(space: &'a AddressSpace, iov: &'a [(usize, usize)]) -> Side<'a> {
            Side { space, iov, offset: 0 }
        }
        let (src, dst) = ([(0x10_0000, 64)], [(0x10_0000, 64)]);
        a.write(&mut m, 0x10_0000, &[3u8; 64]).unwrap();
        assert_eq!(transfer(&mut m, side(&a, &src), side(&b, &dst), 64), Ok(64), "walked and cached");
        assert_eq!(transfer(&mut m, side(&a, &src), side(&b, &dst), 64), Ok(64), "from the cache");
        a.unmap_region(&mut m, 0x10_0000, 0x4000).unwrap();
        assert_eq!(
            transfer(&mut m, side(&a, &src), side(&b, &dst), 64),
            Err(TransferError::Source(Errno::EFAULT)),
            "an unmapped page is not reached through a stale entry"
        );
        a.map_zeroed(&mut m, 0x10_0000, 0x1000, user_attrs(false, false), RegionKind::Anonymous).unwrap();
        assert_eq!(
            transfer(&mut m, side(&b, &dst), side(&a, &src), 64),
            Err(TransferError::Destination(Errno::EFAULT)),
            "remapped read-only: not writable through a stale entry"
        );
    }

    #[test]
    fn same_address_space_both_sides() {
        let mut m = FakeMachine::new();
        let (a, _) = spaces(&mut m);
        a.write(&mut m, 0x10_0000, b"ping").unwrap();
        let n = transfer(
            &mut m,
            Side { space: &a, iov: &[(0x10_0000, 4)], offset: 0 },
            Side { space: &a, iov: &[(0x10_2000, 4)], offset: 0 },
            usize::MAX,
        )
        .unwrap();
        assert_eq!(n, 4);
        let mut b = [0u8; 4];
        a.read(&mut m, 0x10_2000, &mut b).unwrap();
        assert_eq!(&b, b"ping");
    }
}
