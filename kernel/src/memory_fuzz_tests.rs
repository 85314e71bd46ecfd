//! Random memory calls (mapping, unmapping, protecting, memory objects, thread stacks),
//! stopped by interrupts and made again or abandoned, with threads and processes ended
//! midway; after every step the memory books are checked (each object's handles and
//! mappings, every filling or releasing region has a call or the reclaim queue to finish
//! it, every mapped frame exists and has one owner), and once every process has ended,
//! nothing is left. (Written by a review of the memory-in-steps work, which it found
//! bugs with.)

use crate::mem::PAGE_SIZE;
use crate::process::{ProcessId, RegionKind};
use crate::reclaim::Reclaim;
use crate::system::{Progress, System};
use crate::testing::{switch_to, system, FakeMachine, Rand};
use crate::thread::{ThreadId, ThreadState};
use abi::syscall::{mem_prot, Call, Registers, RESTARTED_CALL};
use std::collections::BTreeMap;
use std::vec::Vec;

type Sys = System<FakeMachine>;

fn general(s: &mut Sys, t: ThreadId, regs: &Registers) {
    switch_to(s, t);
    let pid = s.threads.get(t.0).unwrap().process;
    s.machine.loaded = s.processes.get(pid.0).and_then(|p| p.space.as_ref()).map(|space| space.table);
    s.general_syscall(regs);
}

fn live_pids(s: &Sys) -> Vec<ProcessId> {
    s.processes
        .iter()
        .filter(|(_, p)| p.exit_status.is_none() && p.space.is_some())
        .map(|(h, _)| ProcessId(h))
        .collect()
}

/// The memory books, checked (see the module's doc).
pub(crate) fn check_memory(s: &mut Sys) {
    let restarts: Vec<(ProcessId, Progress)> =
        s.threads.iter().filter_map(|(_, t)| t.restart.as_deref().map(|r| (t.process, r.1.clone()))).collect();
    for (id, handles, mappings, growing) in s.object_books() {
        let mut regions = 0u32;
        let mut held = 0u32;
        for (_, p) in s.processes.iter() {
            held += p.memory.iter().filter(|(_, o)| **o == id).count() as u32;
            if let Some(space) = p.space.as_ref() {
                regions += space.regions().iter().filter(|r| r.kind.object() == Some(id)).count() as u32;
            }
        }
        assert_eq!(mappings, regions, "object {id:#x}: mappings counted vs regions");
        assert_eq!(handles, held, "object {id:#x}: handles counted vs held");
        if growing {
            assert!(
                restarts.iter().any(|(_, p)| matches!(p, Progress::Growing { object } if *object == id)),
                "object {id:#x} growing with no call under way"
            );
        }
    }
    let mut owner: BTreeMap<usize, (u32, usize)> = BTreeMap::new();
    let m = &mut s.machine;
    for (pid, p) in s.processes.iter() {
        let Some(space) = p.space.as_ref() else { continue };
        let regions = space.regions();
        assert!(
            regions.iter().all(|r| r.start < r.end) && regions.windows(2).all(|w| w[0].end <= w[1].start),
            "pid {pid:#x}: regions empty, out of order or overlapping"
        );
        for r in space.regions() {
            match r.kind {
                RegionKind::Filling { .. } => assert!(
                    restarts.iter().any(|(_, pr)| matches!(pr, Progress::Mapping { pid: q, start, .. } if q.0 == pid && *start == r.start)),
                    "pid {pid:#x}: filling region {:#x} with no call under way",
                    r.start
                ),
                RegionKind::Releasing { .. } => assert!(
                    s.reclaim.iter().any(|item| matches!(item, Reclaim::Region { pid: q, start } if q.0 == pid && *start == r.start))
                        || restarts.iter().any(|(q, pr)| q.0 == pid && matches!(pr, Progress::Unmapping { start } if *start == r.start)),
                    "pid {pid:#x}: releasing region {:#x} that nothing gives back",
                    r.start
                ),
                _ => {}
            }
            for va in (r.start..r.end).step_by(PAGE_SIZE) {
                let Some(t) = space.table.translate(m, va) else { continue };
                assert!(
                    m.holds_frame(t.phys),
                    "pid {pid:#x} maps {va:#x} to a freed frame {:#x} ({:?})",
                    t.phys,
                    r.kind
                );
                if r.kind.object().is_none() {
                    if let Some(prev) = owner.insert(t.phys, (pid, va)) {
                        panic!("frame {:#x} owned by {prev:x?} and by pid {pid:#x} at {va:#x}", t.phys);
                    }
                }
            }
        }
    }
}

/// Ends every process and empties the reclaim queue: no memory object and no frame may
/// be left.
pub(crate) fn end_all(s: &mut Sys) {
    let pids: Vec<u32> = s.processes.iter().map(|(h, _)| h).collect();
    for pid in pids {
        s.terminate_process(ProcessId(pid), 0);
    }
    while s.reclaim_step() {}
    assert_eq!(s.object_books(), Vec::new(), "objects left once every process ended");
    assert_eq!(s.machine.frames_in_use(), 0, "frames left once every process ended");
}

fn random_call(s: &Sys, rand: &mut Rand, pid: ProcessId) -> Call {
    let p = s.processes.get(pid.0).unwrap();
    let handles = p.memory.handles();
    let regions: Vec<_> = p.space.as_ref().unwrap().regions().to_vec();
    let given: Vec<_> = regions
        .iter()
        .filter(|r| matches!(r.kind, RegionKind::Anonymous | RegionKind::Shared { .. }))
        .copied()
        .collect();
    let pages = |rand: &mut Rand| rand.pick(&[1usize, 2, 5, 17, 40, 64, 100]);
    let handle = |rand: &mut Rand| if handles.is_empty() { 1 } else { rand.pick(&handles) };
    match rand.below(20) {
        0..=2 => Call::MemMapAnon { size: pages(rand) * PAGE_SIZE },
        3..=5 if !given.is_empty() => {
            let r = rand.pick(&given);
            Call::MemUnmap { addr: r.start, size: r.end - r.start }
        }
        6..=7 if !given.is_empty() => {
            let r = rand.pick(&given);
            let n = (r.end - r.start) / PAGE_SIZE;
            let a = rand.below(n as u64) as usize;
            let b = a + 1 + rand.below((n - a) as u64) as usize;
            let prot = rand.pick(&[mem_prot::READ, mem_prot::READ | mem_prot::WRITE, 0]);
            Call::MemProtect { addr: r.start + a * PAGE_SIZE, size: (b - a) * PAGE_SIZE, prot }
        }
        8..=9 => Call::MemObjectCreate { size: pages(rand) * PAGE_SIZE },
        10 => Call::MemObjectResize { handle: handle(rand), size: pages(rand) * PAGE_SIZE },
        11 => Call::MemObjectClose { handle: handle(rand) },
        12..=14 => {
            let others = live_pids(s);
            let target = if rand.below(2) == 0 { 0 } else { rand.pick(&others).0 };
            let addr = if rand.below(3) == 0 { abi::USER_ANON_BASE + (rand.below(64) as usize) * 0x20_0000 } else { 0 };
            let prot = mem_prot::READ | mem_prot::WRITE;
            Call::MemObjectMap {
                pid: target,
                handle: handle(rand),
                offset: 0,
                size: pages(rand) * PAGE_SIZE,
                addr,
                prot,
            }
        }
        15..=16 => {
            let stack_size = rand.pick(&[0usize, 8 * PAGE_SIZE, 64 * PAGE_SIZE]);
            Call::ThreadCreate { entry: 0x40_0000, arg: 0, stack_size, sched: 0 }
        }
        17 => Call::ThreadDestroy { tid: 1 + rand.below(p.threads.len() as u64) as u32, status: 0 },
        18 if rand.below(6) == 0 => Call::ProcessExit { status: 0 },
        19 if rand.below(4) == 0 => {
            let others = live_pids(s);
            Call::ProcessKill { pid: rand.pick(&others).0, status: 9, flags: 0 }
        }
        _ => Call::Nop,
    }
}

fn run_seed(seed: u64, steps: usize) {
    let mut s = system();
    s.machine.frame_limit = Some(rand_limit(seed));
    let mut rand = Rand(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for _ in 0..steps {
        while live_pids(&s).len() < 3 {
            let name = rand.pick(&["init", "low", "rr"]);
            let privileged = rand.below(2) == 0;
            if s.spawn(name, b"", None, None, privileged).is_err() {
                while s.reclaim_step() {}
                if s.spawn(name, b"", None, None, privileged).is_err() {
                    break;
                }
            }
        }
        s.machine.interrupt_every = [None, Some(1), Some(2), Some(5)][rand.below(4) as usize];
        // Now and then the kernel heap is down to its reserve: calls that would keep more
        // are refused, calls under way go on.
        s.machine.kernel_memory_low = rand.below(12) == 0;
        if rand.below(10) == 0 {
            for _ in 0..rand.below(4) {
                s.reclaim_step();
            }
            check_memory(&mut s);
            continue;
        }
        let runnable: Vec<ThreadId> = s
            .threads
            .iter()
            .filter(|(_, t)| matches!(t.state, ThreadState::Ready | ThreadState::Running))
            .map(|(h, _)| ThreadId(h))
            .collect();
        if runnable.is_empty() {
            continue;
        }
        let t = rand.pick(&runnable);
        let pending = s.threads.get(t.0).unwrap().restart.is_some();
        if pending && rand.below(8) != 0 {
            let ctx = s.context_mut(t).unwrap();
            assert_eq!(ctx.x[8], RESTARTED_CALL);
            ctx.pc = ctx.pc.wrapping_add(4);
            let regs = Registers { number: ctx.x[8], args: ctx.x[..8].try_into().unwrap() };
            general(&mut s, t, &regs);
        } else {
            let pid = s.threads.get(t.0).unwrap().process;
            let call = random_call(&s, &mut rand, pid);
            let regs = call.to_registers();
            general(&mut s, t, &regs);
        }
        check_memory(&mut s);
    }
    end_all(&mut s);
}

fn rand_limit(seed: u64) -> usize {
    [1500, 3000, 100_000][seed as usize % 3]
}

#[test]
fn random_memory_calls_keep_the_books() {
    for seed in 1..=30u64 {
        run_seed(seed, 1500);
    }
}
