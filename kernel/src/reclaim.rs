//! Memory the kernel gives back a few pages at a time: the address spaces of processes
//! that ended, the frames of memory objects that went, and the regions of live
//! processes that nobody waits for (the stack of a thread that ended, a mapping
//! abandoned midway).
//!
//! The kernel runs with interrupts masked, so freeing a gigabyte in one go would keep
//! every interrupt waiting for milliseconds. Instead, what a process or object leaves is
//! queued here, and given back [`RECLAIM_STEP`] pages at a time:
//! - when the CPU has nothing to run (the idle loop calls [`System::reclaim_step`] until
//!   the queue is empty or an interrupt is pending);
//! - when a call that allocates memory finds too little free, no ASID, or no room for a
//!   region, while some is queued (`System::reclaim_for`): it reclaims, between looks
//!   for a pending interrupt,
//!   and when one comes, it is made again (`Outcome::Restart`) once the interrupt is
//!   taken. So memory that is queued counts as free for every allocation, and interrupt
//!   latency stays bounded by one step.

use crate::machine::Machine;
use crate::mem::PAGE_SIZE;
use crate::process::{AddressSpace, ProcessId, RegionKind, ReleaseStep};
use crate::system::System;
use abi::Errno;
use alloc::vec::Vec;

/// Pages given back between looks for a pending interrupt (each page a table walk and
/// a frame freed: a microsecond or two in all).
pub const RECLAIM_STEP: usize = 16;

/// Frames an allocating call wants free beyond what it asks for (the tables its
/// mappings need, and the kernel's own).
const MARGIN_FRAMES: usize = 64;

/// Something to give back.
pub(crate) enum Reclaim {
    /// The address space of a process that ended; its ASID is kept until it is gone.
    /// With the bytes of RAM it held when queued ([`System::reclaim_bytes`]: counted
    /// once, as a space may have thousands of regions).
    Space(AddressSpace, usize),
    /// Frames of a memory object that went, or those of its list from `from` on (the
    /// frames before it are the object's still, copied into a list of its own: see
    /// [`System::reclaim_frames_from`]).
    Frames { frames: Vec<usize>, from: usize },
    /// A [`RegionKind::Releasing`](crate::process::RegionKind::Releasing) region of a
    /// live process (the stack of a thread that ended, a mapping left half-filled or
    /// half-unmapped), named by where it starts. If the process ends first, its space
    /// is queued whole, this region with it.
    Region {
        /// The process.
        pid: ProcessId,
        /// Where the region starts.
        start: usize,
    },
}

impl<M: Machine> System<M> {
    /// Queues the address space of an ended process, to be given back in steps.
    pub(crate) fn reclaim_space(&mut self, space: AddressSpace) {
        let bytes = space.owned_bytes() + PAGE_SIZE;
        self.reclaim.push_back(Reclaim::Space(space, bytes));
    }

    /// Queues frames to be freed in steps.
    pub(crate) fn reclaim_frames(&mut self, frames: Vec<usize>) {
        self.reclaim_frames_from(frames, 0);
    }

    /// Queues the frames of `frames` from `from` on to be freed in steps (the list itself
    /// goes with the last of them: a list cut without a new allocation of its tail).
    pub(crate) fn reclaim_frames_from(&mut self, frames: Vec<usize>, from: usize) {
        if frames.len() > from {
            self.reclaim.push_back(Reclaim::Frames { frames, from });
        }
    }

    /// Whether memory is waiting to be given back.
    pub fn reclaim_pending(&self) -> bool {
        !self.reclaim.is_empty()
    }

    /// Gives back the region of `pid` that starts at `start` and spans `size` bytes, if
    /// `may` accepts its kind: it is on its way out at once
    /// ([`AddressSpace::begin_release`]), its last [`RECLAIM_STEP`] pages go now (a small
    /// stack goes whole), and the rest a step at a time.
    pub(crate) fn release_later(
        &mut self,
        pid: ProcessId,
        start: usize,
        size: usize,
        may: impl Fn(RegionKind) -> bool,
    ) -> Result<(), Errno> {
        let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut()).ok_or(Errno::ESRCH)?;
        let start = space.begin_release(start, size, may)?;
        match space.release_step(&mut self.machine, start, RECLAIM_STEP)? {
            ReleaseStep::More => self.reclaim_region(pid, start),
            ReleaseStep::Done { object: Some(object) } => self.drop_object_ref(object, true),
            ReleaseStep::Done { object: None } => {}
        }
        Ok(())
    }

    /// Queues the [`RegionKind::Releasing`] region of `pid` at `start`.
    pub(crate) fn reclaim_region(&mut self, pid: ProcessId, start: usize) {
        self.reclaim.push_back(Reclaim::Region { pid, start });
    }

    /// Bytes of RAM waiting to be given back, at most: free memory to come. (An address
    /// space counts what it held when queued, its tables as one page, so that nothing
    /// queued counts as nothing.)
    pub fn reclaim_bytes(&self) -> usize {
        let bytes = |item: &Reclaim| match item {
            Reclaim::Space(_, bytes) => *bytes,
            Reclaim::Frames { frames, from } => (frames.len() - *from) * PAGE_SIZE,
            Reclaim::Region { pid, start } => {
                let space = self.processes.get(pid.0).and_then(|p| p.space.as_ref());
                let region = space.and_then(|s| s.region_at(*start));
                region.map_or(0, |r| r.end - r.start)
            }
        };
        self.reclaim.iter().map(bytes).sum()
    }

    /// Gives back up to [`RECLAIM_STEP`] pages of what is queued, the oldest first.
    /// True if more is left.
    pub fn reclaim_step(&mut self) -> bool {
        let Some(item) = self.reclaim.front_mut() else { return false };
        let mut let_go = None;
        let done = match item {
            Reclaim::Space(space, _) => space.release_some(&mut self.machine, RECLAIM_STEP),
            Reclaim::Frames { frames, from } => {
                let keep = frames.len().saturating_sub(RECLAIM_STEP).max(*from);
                for frame in frames.drain(keep..) {
                    self.machine.free_frame(frame);
                }
                frames.len() == *from
            }
            &mut Reclaim::Region { pid, start } => {
                // (Gone with its process, or given back: done.)
                let space = self.processes.get_mut(pid.0).and_then(|p| p.space.as_mut());
                match space.map(|s| s.release_step(&mut self.machine, start, RECLAIM_STEP)) {
                    Some(Ok(ReleaseStep::More)) => false,
                    Some(Ok(ReleaseStep::Done { object })) => {
                        let_go = object;
                        true
                    }
                    Some(Err(_)) | None => true,
                }
            }
        };
        if done {
            if let Some(Reclaim::Space(space, _)) = self.reclaim.pop_front() {
                self.asids.free(space.asid);
            }
        }
        if let Some(object) = let_go {
            self.drop_object_ref(object, true);
        }
        self.reclaim_pending()
    }

    /// Before a call that may need what `needs` says (frames, an ASID, room for regions in
    /// a process; and kernel heap, which ended processes' region lists hold): while it
    /// lacks any of it and memory is queued to be given back, gives it back. (A process's regions on their way out count among its 4096 until they
    /// are gone.) Between steps, a pending interrupt stops this: true, and the call is to
    /// be made again once the interrupt is taken (nothing else of it has happened this
    /// time). False: go on (whether or not it has all it needs now).
    pub(crate) fn reclaim_for(&mut self, needs: &crate::system::Needs) -> bool {
        let wanted = needs.frames.saturating_add(MARGIN_FRAMES);
        let crowded = |s: &Self| {
            let space = needs.regions_in.and_then(|p| s.processes.get(p)).and_then(|p| p.space.as_ref());
            space.is_some_and(|space| space.crowded_by_releasing())
        };
        let mut stepped = false;
        while self.reclaim_pending()
            && (self.machine.free_frames() < wanted
                || (needs.asid && !self.asids.available())
                || crowded(self)
                || self.machine.kernel_memory_low())
        {
            if stepped && self.machine.interrupt_pending() {
                return true;
            }
            self.reclaim_step();
            stepped = true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::ProcessId;
    use crate::testing::{as_thread, restarting, system, FakeMachine};
    use abi::syscall::Call;
    use abi::Errno;

    /// A system whose pid 1 ("init") maps `pages` of anonymous memory and ends; returns
    /// the system, the frames in use before that pid existed, and its ASID.
    fn ended_with(pages: usize) -> (System<FakeMachine>, usize, u16) {
        let mut s = system();
        let keeper = s.spawn("low", b"", None, None, false).unwrap();
        let before = s.machine.frames_in_use();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let asid = s.processes.get(pid.0).unwrap().space.as_ref().unwrap().asid;
        let t = s.thread_of(pid, 1).unwrap();
        assert!(as_thread(&mut s, t, Call::MemMapAnon { size: pages * PAGE_SIZE }).0.is_ok());
        let _ = as_thread(&mut s, t, Call::ProcessExit { status: 0 });
        assert!(s.processes.get(keeper.0).is_some());
        (s, before, asid)
    }

    fn pid_of(s: &System<FakeMachine>, name: &str) -> ProcessId {
        ProcessId(s.processes.iter().find(|(_, p)| p.name == name && p.exit_status.is_none()).unwrap().0)
    }

    #[test]
    fn an_ended_process_memory_goes_back_a_step_at_a_time_and_its_asid_last() {
        let pages = 10 * RECLAIM_STEP;
        let (mut s, before, asid) = ended_with(pages);
        assert!(s.reclaim_pending());
        assert!(s.reclaim_bytes() >= pages * PAGE_SIZE);
        let mut steps = 0;
        let mut held = s.machine.frames_in_use();
        loop {
            assert!(!s.machine.flushed_asids.contains(&asid), "ASID flushed before its tables went");
            let more = s.reclaim_step();
            steps += 1;
            let now = s.machine.frames_in_use();
            assert!(held - now <= RECLAIM_STEP || !more, "a step gave back {} frames", held - now);
            held = now;
            if !more {
                break;
            }
        }
        assert!(steps > pages / RECLAIM_STEP, "{steps} steps");
        assert_eq!(s.machine.frames_in_use(), before, "every frame and table given back");
        assert!(s.machine.flushed_asids.contains(&asid));
        assert_eq!(s.reclaim_bytes(), 0);
        // The ASID is free again: the next process may get it.
        let mut next = Vec::new();
        while let Some(a) = s.asids.alloc() {
            next.push(a);
            if a == asid {
                break;
            }
        }
        assert_eq!(next.last(), Some(&asid));
    }

    #[test]
    fn an_allocation_takes_back_queued_memory_first_between_interrupts() {
        let pages = 10 * RECLAIM_STEP;
        let (mut s, before, _) = ended_with(pages);
        // Eight frames free, and the ended process's queued.
        s.machine.frame_limit = Some(s.machine.frames_in_use() + 8);
        let t = s.thread_of(pid_of(&s, "low"), 1).unwrap();
        s.machine.interrupt_every = Some(1);
        let want = 4 * RECLAIM_STEP;
        let (mapped, restarts) = restarting(&mut s, t, Call::MemMapAnon { size: want * PAGE_SIZE });
        assert!(mapped.is_ok(), "{mapped:?}");
        // It stopped between reclaim steps, one step per interrupt, for what it needed.
        assert!(restarts >= want / RECLAIM_STEP, "{restarts} restarts");
        assert!(s.reclaim_pending(), "it took back only what it needed");
        s.machine.interrupt_every = None;
        while s.reclaim_step() {}
        let kept = s.machine.frames_in_use() - before;
        assert!((want..=want + 3).contains(&kept), "{kept} frames kept: the mapping and its tables stay");
    }

    #[test]
    fn without_queued_memory_an_allocation_fails_as_before() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        s.machine.frame_limit = Some(s.machine.frames_in_use() + 4);
        assert_eq!(as_thread(&mut s, t, Call::MemMapAnon { size: 64 * PAGE_SIZE }).0, Err(Errno::ENOMEM));
    }

    #[test]
    fn a_process_needing_an_asid_takes_one_back() {
        let (mut s, _, asid) = ended_with(RECLAIM_STEP);
        while s.asids.alloc().is_some() {}
        let t = s.thread_of(pid_of(&s, "low"), 1).unwrap();
        let name = b"child";
        // (ProcessCreate is the process manager's: make "low" privileged for the test.)
        s.processes.get_mut(pid_of(&s, "low").0).unwrap().privileged = true;
        let at = as_thread(&mut s, t, Call::MemMapAnon { size: PAGE_SIZE }).0.unwrap() as usize;
        s.write_user(pid_of(&s, "low"), at, name).unwrap();
        let create = Call::ProcessCreate { name_ptr: at, name_len: name.len(), parent: 0, flags: 0, group: 0 };
        let child = as_thread(&mut s, t, create).0.expect("a process made with the ASID taken back");
        let space = s.processes.get(child as u32).unwrap().space.as_ref().unwrap();
        assert_eq!(space.asid, asid);
    }

    #[test]
    fn regions_on_their_way_out_make_room_for_new_ones() {
        // (Found by a review: the remnants of ended threads' stacks filled the region
        // table of a process whose CPU never idled, and its calls failed with ENOMEM.)
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, false).unwrap();
        let main = s.thread_of(pid, 1).unwrap();
        let create = Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size: 17 * PAGE_SIZE, sched: 0 };
        for i in 0..crate::process::MAX_REGIONS + 100 {
            let tid = match as_thread(&mut s, main, create).0 {
                Ok(tid) => tid as u32,
                Err(e) => panic!(
                    "thread {i}: {e:?}, {} regions",
                    s.processes.get(pid.0).unwrap().space.as_ref().unwrap().regions().len()
                ),
            };
            assert_eq!(as_thread(&mut s, main, Call::ThreadDestroy { tid, status: 0 }).0, Ok(0));
            assert_eq!(as_thread(&mut s, main, Call::ThreadJoin { tid }).0, Ok(0));
        }
    }

    #[test]
    fn a_memory_object_frames_go_back_in_steps() {
        let mut s = system();
        let pid = s.spawn("init", b"", None, None, true).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let before = s.machine.frames_in_use();
        let pages = 3 * RECLAIM_STEP + 1;
        let handle = as_thread(&mut s, t, Call::MemObjectCreate { size: pages * PAGE_SIZE }).0.unwrap();
        assert_eq!(as_thread(&mut s, t, Call::MemObjectClose { handle: handle as u32 }).0, Ok(0));
        assert_eq!(s.reclaim_bytes(), pages * PAGE_SIZE);
        let mut steps = 0;
        while s.reclaim_step() {
            steps += 1;
        }
        assert_eq!(steps, 3);
        assert_eq!(s.machine.frames_in_use(), before);
    }

    /// A call stopped midway (its mapping partly filled) and made again after a process
    /// ended: the queued memory does not count for it (`dispatch` skips `reclaim_for`
    /// when the call has progress), so it fails where the same call made fresh succeeds.
    #[test]
    fn a_call_made_again_counts_queued_memory_as_free() {
        let mut s = system();
        let victim = s.spawn("init", b"", None, None, false).unwrap();
        let mapper = s.spawn("low", b"", None, None, false).unwrap();
        let (v, m) = (s.thread_of(victim, 1).unwrap(), s.thread_of(mapper, 1).unwrap());
        assert!(as_thread(&mut s, v, Call::MemMapAnon { size: 10 * RECLAIM_STEP * PAGE_SIZE }).0.is_ok());
        // 100 frames free, nothing queued yet: the call starts and an interrupt stops it.
        s.machine.frame_limit = Some(s.machine.frames_in_use() + 100);
        s.machine.interrupt_every = Some(1);
        let pc = s.context_mut(m).unwrap().pc;
        let want = Call::MemMapAnon { size: 128 * PAGE_SIZE };
        let first = as_thread(&mut s, m, want).0;
        s.machine.interrupt_every = None;
        assert!(s.threads.get(m.0).unwrap().restart.is_some(), "{first:?}");
        // Meanwhile another process ends: 160 pages are queued, counted as free to come.
        let _ = as_thread(&mut s, v, Call::ProcessExit { status: 0 });
        let queued = s.reclaim_bytes();
        assert!(queued >= 160 * PAGE_SIZE);
        let (again, _) = crate::testing::restarted(&mut s, m, pc, first);
        // (The same call made fresh now succeeds: reclaim_for takes the queue back.)
        let fresh = as_thread(&mut s, m, want).0;
        assert!(again.is_ok(), "made again: {again:?} with {queued} bytes queued; made fresh: {fresh:?}");
    }

    /// `MemObjectMap` allocates page tables but is not in `allocation()`: with the memory
    /// it needs queued, it fails.
    #[test]
    fn mapping_an_object_takes_back_queued_memory_for_its_tables() {
        let (mut s, _, _) = ended_with(10 * RECLAIM_STEP);
        let low = pid_of(&s, "low");
        s.processes.get_mut(low.0).unwrap().privileged = true;
        let t = s.thread_of(low, 1).unwrap();
        let handle = as_thread(&mut s, t, Call::MemObjectCreate { size: PAGE_SIZE }).0.unwrap() as u32;
        assert!(s.reclaim_bytes() >= 10 * RECLAIM_STEP * PAGE_SIZE);
        s.machine.frame_limit = Some(s.machine.frames_in_use()); // nothing free, 160+ pages queued
        let at = 0x2000_0000_0000; // (its own level-1, -2 and -3 tables)
        let prot = abi::syscall::mem_prot::READ;
        let map = Call::MemObjectMap { pid: 0, handle, offset: 0, size: PAGE_SIZE, addr: at, prot };
        let mapped = as_thread(&mut s, t, map).0;
        assert!(mapped.is_ok(), "{mapped:?} with {} bytes queued", s.reclaim_bytes());
    }

    /// The step that ends an ended process's space frees all its tables at once, however
    /// many: here a privileged process's 1000 one-page mappings, 1 GiB apart.
    #[test]
    fn the_last_steps_of_a_space_are_bounded_too() {
        let mut s = system();
        let _keeper = s.spawn("low", b"", None, None, false).unwrap();
        let pid = s.spawn("init", b"", None, None, true).unwrap();
        let t = s.thread_of(pid, 1).unwrap();
        let handle = as_thread(&mut s, t, Call::MemObjectCreate { size: PAGE_SIZE }).0.unwrap() as u32;
        for i in 0..1000usize {
            let addr = abi::USER_ANON_BASE + (i << 30);
            let prot = abi::syscall::mem_prot::READ;
            let map = Call::MemObjectMap { pid: 0, handle, offset: 0, size: PAGE_SIZE, addr, prot };
            assert!(as_thread(&mut s, t, map).0.is_ok());
        }
        let _ = as_thread(&mut s, t, Call::ProcessExit { status: 0 });
        let mut most = 0;
        loop {
            let held = s.machine.frames_in_use();
            let more = s.reclaim_step();
            most = most.max(held - s.machine.frames_in_use());
            if !more {
                break;
            }
        }
        assert!(most <= 4 * RECLAIM_STEP, "one step gave back {most} frames and tables");
    }
}
