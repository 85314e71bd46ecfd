//! The in-kernel test harness (built with the `ktest` feature).
//!
//! After boot, [`run`] executes every test in [`TESTS`] on the real hardware path,
//! printing `test NAME ... ok` or `test NAME ... FAILED` with the reason, then
//! `ktest: N passed, N failed`, and leaves QEMU through semihosting with exit code 0
//! (all passed) or 1. A panicking test is reported FAILED by the panic handler, the
//! tests that could not run are reported FAILED as not run, and QEMU exits with 1.
//! `scripts/runner` applies the timeout and checks the expected output.

use crate::arch::mmu::{self, HardwareTranslation};
use crate::arch::{self, exception, semihosting, timer};
use crate::boot::{self, FRAMES};
use crate::mem::layout::{device_virt, phys_to_virt, PAGE_SIZE};
use crate::mem::paging::MemoryKind;
use crate::platform::Board;
use crate::{interrupts, kprintln, percpu};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Why a test failed.
pub struct TestFailure(pub String);

/// A test's outcome.
pub type TestResult = Result<(), TestFailure>;

/// One in-kernel test.
pub struct KernelTest {
    /// Printed name.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// Fails the current test with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(TestFailure(format!($($msg)+)));
        }
    };
}

const NOT_RUNNING: usize = usize::MAX;
static CURRENT: AtomicUsize = AtomicUsize::new(NOT_RUNNING);
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Exit code when any test failed.
pub const FAILURE_EXIT_CODE: u32 = 1;

/// Runs every test and leaves QEMU with the result.
pub fn run(board: &'static dyn Board) -> ! {
    kprintln!("running {} kernel tests on {}", TESTS.len(), board.name());
    for (index, test) in TESTS.iter().enumerate() {
        CURRENT.store(index, Ordering::SeqCst);
        match (test.run)() {
            Ok(()) => {
                PASSED.fetch_add(1, Ordering::SeqCst);
                kprintln!("test {} ... ok", test.name);
            }
            Err(TestFailure(why)) => {
                FAILED.fetch_add(1, Ordering::SeqCst);
                kprintln!("test {} ... FAILED\n    {}", test.name, why);
            }
        }
    }
    CURRENT.store(NOT_RUNNING, Ordering::SeqCst);
    let (passed, failed) = (PASSED.load(Ordering::SeqCst), FAILED.load(Ordering::SeqCst));
    kprintln!("ktest: {} passed, {} failed", passed, failed);
    semihosting::exit(if failed == 0 { 0 } else { FAILURE_EXIT_CODE })
}

/// Called by the panic handler: reports the running test (if any) and those after it
/// as failed, then exits. Returns only if no test was running.
pub fn fail_after_panic(message: &dyn core::fmt::Display) {
    let index = CURRENT.swap(NOT_RUNNING, Ordering::SeqCst);
    if index == NOT_RUNNING {
        return;
    }
    let print = crate::console::emergency;
    print(format_args!("test {} ... FAILED\n    panicked: {}\n", TESTS[index].name, message));
    for test in &TESTS[index + 1..] {
        print(format_args!("test {} ... FAILED\n    not run: an earlier test panicked\n", test.name));
    }
    let passed = PASSED.load(Ordering::SeqCst);
    print(format_args!("ktest: {} passed, {} failed\n", passed, TESTS.len() - passed));
    semihosting::exit(FAILURE_EXIT_CODE)
}

fn facts() -> Result<&'static boot::BootFacts, TestFailure> {
    boot::facts().ok_or_else(|| TestFailure("boot facts missing".into()))
}

fn wait_until(timeout_ns: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = timer::now() + interrupts::clock().ns_to_ticks(timeout_ns);
    while timer::now() < deadline {
        if done() {
            return true;
        }
        arch::wait_for_interrupt();
    }
    done()
}

/// Every in-kernel test, in the order they run.
pub static TESTS: &[KernelTest] = &[
    KernelTest { name: "boot_runs_at_el1", run: boot_runs_at_el1 },
    KernelTest { name: "mmu_and_caches_enabled", run: mmu_and_caches_enabled },
    KernelTest { name: "kernel_text_read_only_and_executable", run: kernel_text_read_only_and_executable },
    KernelTest { name: "kernel_data_and_ram_not_executable", run: kernel_data_and_ram_not_executable },
    KernelTest { name: "linear_map_covers_all_ram", run: linear_map_covers_all_ram },
    KernelTest { name: "device_regions_are_device_memory", run: device_regions_are_device_memory },
    KernelTest { name: "boot_stack_guard_page_unmapped", run: boot_stack_guard_page_unmapped },
    KernelTest { name: "frame_allocator_frames_usable_and_distinct", run: frame_allocator_frames_usable_and_distinct },
    KernelTest { name: "kernel_heap_allocates_and_frees", run: kernel_heap_allocates_and_frees },
    KernelTest { name: "exception_round_trip_preserves_registers", run: exception_round_trip_preserves_registers },
    KernelTest { name: "fp_simd_usable", run: fp_simd_usable },
    KernelTest { name: "message_copy_every_length_and_alignment", run: message_copy_every_length_and_alignment },
    KernelTest { name: "per_cpu_block_is_this_cpus", run: per_cpu_block_is_this_cpus },
    KernelTest { name: "timer_oneshot_fires_after_deadline", run: timer_oneshot_fires_after_deadline },
    KernelTest { name: "timer_periodic_tick", run: timer_periodic_tick },
    KernelTest { name: "inter_processor_interrupt_dispatched", run: inter_processor_interrupt_dispatched },
    #[cfg(feature = "ktest-selftest")]
    KernelTest { name: "selftest_returns_error", run: selftest_returns_error },
    #[cfg(feature = "ktest-selftest")]
    KernelTest { name: "selftest_panics", run: selftest_panics },
    #[cfg(feature = "ktest-fault")]
    KernelTest { name: "el1_fault_is_reported", run: el1_fault_is_reported },
];

fn boot_runs_at_el1() -> TestResult {
    ensure!(arch::current_el() == 1, "running at EL{}", arch::current_el());
    let entry = facts()?.entry_el;
    ensure!((1..=3).contains(&entry), "entry level {entry} recorded");
    Ok(())
}

fn mmu_and_caches_enabled() -> TestResult {
    ensure!(arch::mmu_and_caches_on(), "SCTLR_EL1 lacks M, C or I");
    Ok(())
}

fn kernel_text_read_only_and_executable() -> TestResult {
    let text = facts()?.image.text;
    let va = phys_to_virt(text.start + PAGE_SIZE);
    match mmu::translate(va, false) {
        HardwareTranslation::Mapped { phys, mair_attr } => {
            ensure!(phys == text.start + PAGE_SIZE, "text VA {va:#x} maps to {phys:#x}");
            ensure!(mair_attr == 0xff, "text memory attribute {mair_attr:#x}, want write-back");
        }
        HardwareTranslation::Fault(s) => return Err(TestFailure(format!("text not readable (status {s:#x})"))),
    }
    match mmu::translate(va, true) {
        HardwareTranslation::Fault(status) => {
            ensure!(status & 0x3c == 0x0c, "write to text faults with status {status:#x}, want a permission fault")
        }
        HardwareTranslation::Mapped { .. } => return Err(TestFailure("kernel text is writable".into())),
    }
    let attrs = boot::with_kernel_tables(|t, pool| t.translate(pool, va)).flatten().map(|t| t.attrs);
    ensure!(attrs.is_some_and(|a| a.kernel_exec && !a.user_exec && !a.writable), "text attributes {attrs:?}");
    Ok(())
}

fn kernel_data_and_ram_not_executable() -> TestResult {
    let f = facts()?;
    let data_va = phys_to_virt(f.image.data.start);
    let heap_va = phys_to_virt(f.heap.start);
    for (what, va) in [("data", data_va), ("heap / linear map", heap_va)] {
        let t = boot::with_kernel_tables(|t, pool| t.translate(pool, va)).flatten();
        ensure!(t.is_some_and(|t| t.attrs.writable && !t.attrs.kernel_exec), "{what} at {va:#x}: {t:?}");
        ensure!(matches!(mmu::translate(va, true), HardwareTranslation::Mapped { .. }), "{what} not writable");
    }
    let rodata_va = phys_to_virt(f.image.rodata.start);
    ensure!(matches!(mmu::translate(rodata_va, true), HardwareTranslation::Fault(_)), "rodata is writable");
    Ok(())
}

fn linear_map_covers_all_ram() -> TestResult {
    let f = facts()?;
    for range in f.memory.ram.as_slice() {
        let pages = range.pages_inside();
        for pa in [pages.start, pages.start + pages.len() / 2, pages.end - PAGE_SIZE] {
            let pa = pa & !(PAGE_SIZE - 1);
            if f.image.stack_guard.contains(pa) {
                continue;
            }
            match mmu::translate(phys_to_virt(pa), false) {
                HardwareTranslation::Mapped { phys, .. } => {
                    ensure!(phys == pa, "{pa:#x} maps to {phys:#x}")
                }
                HardwareTranslation::Fault(s) => return Err(TestFailure(format!("RAM {pa:#x} unmapped ({s:#x})"))),
            }
        }
    }
    ensure!(f.memory.ram.total() >= 64 << 20, "only {} bytes of RAM", f.memory.ram.total());
    Ok(())
}

fn device_regions_are_device_memory() -> TestResult {
    let f = facts()?;
    let regions = f.board.device_regions();
    ensure!(!regions.is_empty(), "board lists no device regions");
    for region in regions {
        let va = device_virt(region.start);
        match mmu::translate(va, true) {
            HardwareTranslation::Mapped { mair_attr, phys } => {
                ensure!(mair_attr == 0x04, "{region:?} has attribute {mair_attr:#x}, want Device-nGnRE");
                ensure!(phys == region.start, "{region:?} maps to {phys:#x}");
            }
            HardwareTranslation::Fault(s) => return Err(TestFailure(format!("{region:?} unmapped ({s:#x})"))),
        }
        let t = boot::with_kernel_tables(|t, pool| t.translate(pool, va)).flatten();
        ensure!(
            t.is_some_and(|t| t.attrs.kind == MemoryKind::Device && !t.attrs.kernel_exec),
            "device attributes {t:?}"
        );
    }
    Ok(())
}

fn boot_stack_guard_page_unmapped() -> TestResult {
    let guard = facts()?.image.stack_guard;
    ensure!(guard.len() == PAGE_SIZE, "guard is {guard:?}");
    let va = phys_to_virt(guard.start);
    ensure!(matches!(mmu::translate(va, false), HardwareTranslation::Fault(_)), "guard page {va:#x} is mapped");
    Ok(())
}

fn frame_allocator_frames_usable_and_distinct() -> TestResult {
    let before = FRAMES.lock().free_frames();
    ensure!(before > 1000, "only {before} free frames");
    let mut frames = Vec::new();
    for i in 0..64u64 {
        let pa = FRAMES.lock().alloc(1).map_err(|e| TestFailure(format!("alloc {i}: {e:?}")))?;
        let f = facts()?;
        ensure!(!f.image.whole.contains(pa) && !f.heap.contains(pa), "frame {pa:#x} overlaps kernel or heap");
        let words = phys_to_virt(pa) as *mut u64;
        for w in 0..PAGE_SIZE / 8 {
            // SAFETY: the frame is ours alone now and linear-mapped read-write.
            unsafe { words.add(w).write_volatile(i << 32 | w as u64) };
        }
        frames.push((pa, i));
    }
    for &(pa, i) in &frames {
        let words = phys_to_virt(pa) as *const u64;
        for w in 0..PAGE_SIZE / 8 {
            // SAFETY: as above; still allocated to this test.
            let value = unsafe { words.add(w).read_volatile() };
            ensure!(value == i << 32 | w as u64, "frame {pa:#x} word {w} overwritten: frames overlap");
        }
    }
    for (pa, _) in frames {
        FRAMES.lock().free(pa, 1).map_err(|e| TestFailure(format!("free {pa:#x}: {e:?}")))?;
    }
    let big = FRAMES.lock().alloc(512).map_err(|e| TestFailure(format!("2 MiB run: {e:?}")))?;
    ensure!(big % (2 << 20) == 0, "2 MiB run at {big:#x} not aligned");
    FRAMES.lock().free(big, 512).map_err(|e| TestFailure(format!("{e:?}")))?;
    ensure!(FRAMES.lock().free(big, 512).is_err(), "double free accepted");
    let after = FRAMES.lock().free_frames();
    ensure!(after == before, "{before} free frames before, {after} after");
    Ok(())
}

fn kernel_heap_allocates_and_frees() -> TestResult {
    let (used_before, total) = crate::mem::heap::usage();
    ensure!(total >= 1 << 20, "heap is {total} bytes");
    {
        let v: Vec<u64> = (0..20_000).collect();
        ensure!(v.iter().sum::<u64>() == 20_000 * 19_999 / 2, "vector contents wrong");
        let mut map = BTreeMap::new();
        for i in 0..500 {
            map.insert(i, Box::new([i as u8; 100]));
        }
        ensure!(map.get(&321).is_some_and(|b| b[99] == 65), "map contents wrong");
        let (used, _) = crate::mem::heap::usage();
        ensure!(used > used_before + 160_000, "heap usage did not grow: {used}");
    }
    let (used_after, _) = crate::mem::heap::usage();
    ensure!(used_after == used_before, "leak: {used_before} bytes before, {used_after} after");
    Ok(())
}

fn exception_round_trip_preserves_registers() -> TestResult {
    let traps_before = exception::TEST_TRAPS.load(Ordering::SeqCst);
    let (mut a, mut b, mut c): (u64, u64, u64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888, 0x9999_aaaa_bbbb_cccc);
    // SAFETY: `brk #0x4d55` traps to our own vector, which counts it and resumes at
    // the next instruction; the asm changes only the registers it names.
    unsafe {
        core::arch::asm!(
            "mov x9, {a}", "mov x10, {b}", "mov x20, {c}",
            "brk #0x4d55",
            "mov {a}, x9", "mov {b}, x10", "mov {c}, x20",
            a = inout(reg) a, b = inout(reg) b, c = inout(reg) c,
            out("x9") _, out("x10") _, out("x20") _,
        );
    }
    ensure!(exception::TEST_TRAPS.load(Ordering::SeqCst) == traps_before + 1, "trap not taken once");
    ensure!(
        (a, b, c) == (0x1111_2222_3333_4444, 0x5555_6666_7777_8888, 0x9999_aaaa_bbbb_cccc),
        "registers changed across the exception: {a:#x} {b:#x} {c:#x}"
    );
    Ok(())
}

fn fp_simd_usable() -> TestResult {
    let result: u64;
    // SAFETY: plain FP/SIMD arithmetic on registers; it would trap if FP were disabled.
    // The kernel is built soft-float and never holds values in v0-v2, and no user
    // thread exists yet whose FP state could be clobbered.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            "fmov d0, #1.5", "fmov d1, #2.5", "fadd d2, d0, d1", "fmov {r}, d2",
            r = out(reg) result,
        );
    }
    ensure!(f64::from_bits(result) == 4.0, "1.5 + 2.5 gave {}", f64::from_bits(result));
    Ok(())
}

/// `copy.S`'s forward copy (every message's bytes): each length up to 300 from and to
/// each of 16 alignments gives exactly the source's bytes and touches nothing around
/// them, and the FP/SIMD registers it borrows (a user thread's, with lazy switching)
/// hold their values after it.
fn message_copy_every_length_and_alignment() -> TestResult {
    const MAX: usize = 300;
    let source: Vec<u8> = (0..MAX + 16).map(|i| (i * 7 + 3) as u8).collect();
    let mut target = alloc::vec![0u8; MAX + 48];
    for len in 0..=MAX {
        for (from, to) in (0..16).map(|a| (a, (a * 5) % 16)) {
            target.fill(0xee);
            // SAFETY: both ranges lie inside the two vectors (`from + len` ≤ MAX + 16,
            // `16 + to + len` < MAX + 48), which do not overlap.
            unsafe { arch::copy::copy_bytes(target.as_mut_ptr().add(16 + to), source.as_ptr().add(from), len) };
            let (before, rest) = target.split_at(16 + to);
            let (copied, after) = rest.split_at(len);
            ensure!(copied == &source[from..from + len], "{len} bytes from +{from} to +{to}: wrong bytes");
            ensure!(before.iter().chain(after).all(|&b| b == 0xee), "{len} bytes from +{from} to +{to}: wrote around");
        }
    }
    let (mut low, mut high) = (0u64, 0u64);
    // SAFETY: as in `fp_simd_usable`: v0-v7 hold nothing of the soft-float kernel's, and
    // no user thread exists yet whose FP state they could hold. Between the two blocks
    // only the copy runs, which saves and restores what it uses.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "movi v0.16b, #1",
            "movi v1.16b, #2",
            "movi v2.16b, #3",
            "movi v3.16b, #4",
            "movi v4.16b, #5",
            "movi v5.16b, #6",
            "movi v6.16b, #7",
            "movi v7.16b, #8",
        );
        arch::copy::copy_bytes(target.as_mut_ptr(), source.as_ptr(), MAX);
        core::arch::asm!(
            ".arch_extension fp", ".arch_extension simd",
            "umov {low}, v0.d[0]", "umov {high}, v7.d[1]",
            low = out(reg) low, high = out(reg) high,
        );
    }
    ensure!((low, high) == (0x0101_0101_0101_0101, 0x0808_0808_0808_0808), "v0/v7 changed: {low:#x} {high:#x}");
    Ok(())
}

fn per_cpu_block_is_this_cpus() -> TestResult {
    let cpu = percpu::this_cpu().cpu_id.load(Ordering::Relaxed);
    ensure!(cpu == arch::cpu_id(), "per-CPU block says {cpu}, MPIDR says {}", arch::cpu_id());
    ensure!(percpu::this_cpu().irqs_taken.load(Ordering::Relaxed) == 0 || cpu == 0, "irq count on wrong CPU");
    Ok(())
}

fn timer_oneshot_fires_after_deadline() -> TestResult {
    let clock = interrupts::clock();
    let fired_before = interrupts::oneshots_fired();
    let deadline_ns = clock.ticks_to_ns(timer::now()) + 2_000_000;
    let deadline = clock.ns_to_ticks(deadline_ns);
    interrupts::set_oneshot(deadline_ns);
    let fired = wait_until(1_000_000_000, || interrupts::oneshots_fired() > fired_before);
    let now = timer::now();
    ensure!(fired, "one-shot deadline did not fire within 1 s");
    ensure!(now >= deadline, "fired {} ticks early", deadline - now);
    ensure!(interrupts::oneshots_fired() == fired_before + 1, "fired more than once");
    Ok(())
}

fn timer_periodic_tick() -> TestResult {
    let start = timer::now();
    let ticks_before = interrupts::ticks();
    interrupts::set_tick(Some(1_000_000));
    let ok = wait_until(2_000_000_000, || interrupts::ticks() >= ticks_before + 5);
    interrupts::set_tick(None);
    let elapsed_ns = interrupts::clock().ticks_to_ns(timer::now() - start);
    ensure!(ok, "fewer than 5 ticks of 1 ms in 2 s");
    ensure!(elapsed_ns >= 5_000_000, "5 ticks of 1 ms took only {elapsed_ns} ns");
    Ok(())
}

fn inter_processor_interrupt_dispatched() -> TestResult {
    let board = facts()?.board;
    let before = interrupts::ipis_received();
    board.interrupts().send_ipi(arch::cpu_id());
    let ok = wait_until(500_000_000, || interrupts::ipis_received() > before);
    ensure!(ok, "IPI to self not received");
    ensure!(interrupts::ipis_received() == before + 1, "IPI handled more than once");
    Ok(())
}

#[cfg(feature = "ktest-selftest")]
fn selftest_returns_error() -> TestResult {
    Err(TestFailure("deliberate failure (runner self-test)".into()))
}

#[cfg(feature = "ktest-selftest")]
fn selftest_panics() -> TestResult {
    panic!("deliberate panic (runner self-test)")
}

#[cfg(feature = "ktest-fault")]
fn el1_fault_is_reported() -> TestResult {
    let guard = phys_to_virt(facts()?.image.stack_guard.start) as *mut u64;
    kprintln!("writing to the stack guard page at {:#x}; a fault report must follow", guard as usize);
    // SAFETY: deliberately not sound: the guard page is unmapped, so this store takes a
    // data abort, whose report ends the run (the runner checks it).
    unsafe { guard.write_volatile(0x6d75_6f6e) };
    Err(TestFailure("store to the guard page did not fault".into()))
}
