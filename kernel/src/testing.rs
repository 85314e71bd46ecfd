//! A [`Machine`] made of heap pages, for host tests of the kernel core.

use crate::machine::Machine;
use crate::mem::paging::{Table, TableMemory, ENTRIES};
use crate::mem::PAGE_SIZE;
use std::boxed::Box;
use std::collections::HashMap;
use std::vec::Vec;

/// Fake physical memory, TLB, clock and console.
pub struct FakeMachine {
    tables: HashMap<usize, Box<Table>>,
    frames: HashMap<usize, Box<[u8; PAGE_SIZE]>>,
    next: usize,
    /// Refuse allocations once this many frames (tables included) are in use.
    pub frame_limit: Option<usize>,
    /// Every (asid, va) flushed.
    pub flushed_pages: Vec<(u16, usize)>,
    /// Every asid flushed.
    pub flushed_asids: Vec<u16>,
    /// The clock.
    pub now: u64,
    /// Console output.
    pub console: Vec<u8>,
    /// Set by `shutdown`.
    pub shutdown_code: Option<u32>,
}

impl FakeMachine {
    /// Empty memory at time 0.
    pub fn new() -> Self {
        Self {
            tables: HashMap::new(),
            frames: HashMap::new(),
            next: 0x1000_0000,
            frame_limit: None,
            flushed_pages: Vec::new(),
            flushed_asids: Vec::new(),
            now: 0,
            console: Vec::new(),
            shutdown_code: None,
        }
    }

    /// Frames and tables currently allocated.
    pub fn frames_in_use(&self) -> usize {
        self.tables.len() + self.frames.len()
    }

    /// Console output as text.
    pub fn console_text(&self) -> String {
        String::from_utf8_lossy(&self.console).into_owned()
    }

    fn next_address(&mut self) -> Option<usize> {
        if self.frame_limit.is_some_and(|l| self.frames_in_use() >= l) {
            return None;
        }
        self.next += PAGE_SIZE;
        Some(self.next)
    }
}

impl TableMemory for FakeMachine {
    fn alloc_table(&mut self) -> Option<usize> {
        let pa = self.next_address()?;
        self.tables.insert(pa, Box::new([0; ENTRIES]));
        Some(pa)
    }
    fn table(&mut self, phys: usize) -> &mut Table {
        self.tables.get_mut(&phys).expect("not a table")
    }
    fn free_table(&mut self, phys: usize) {
        self.tables.remove(&phys).expect("table freed twice");
    }
}

impl Machine for FakeMachine {
    fn alloc_frame(&mut self) -> Option<usize> {
        let pa = self.next_address()?;
        self.frames.insert(pa, Box::new([0; PAGE_SIZE]));
        Some(pa)
    }
    fn free_frame(&mut self, phys: usize) {
        self.frames.remove(&phys).expect("frame freed twice");
    }
    fn frame(&mut self, phys: usize) -> &mut [u8; PAGE_SIZE] {
        self.frames.get_mut(&phys).expect("not a frame")
    }
    fn copy_physical(&mut self, src: usize, dst: usize, len: usize) {
        let page = |pa: usize| pa & !(PAGE_SIZE - 1);
        let from = self.frames[&page(src)][src % PAGE_SIZE..][..len].to_vec();
        self.frame(page(dst))[dst % PAGE_SIZE..][..len].copy_from_slice(&from);
    }
    fn flush_tlb_page(&mut self, asid: u16, va: usize) {
        self.flushed_pages.push((asid, va));
    }
    fn flush_tlb_asid(&mut self, asid: u16) {
        self.flushed_asids.push(asid);
    }
    fn now_ns(&self) -> u64 {
        self.now
    }
    fn console_write(&mut self, bytes: &[u8]) {
        self.console.extend_from_slice(bytes);
    }
    fn shutdown(&mut self, code: u32) {
        self.shutdown_code = Some(code);
    }
}
