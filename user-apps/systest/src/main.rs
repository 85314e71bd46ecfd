//! `systest`: the system-test driver, started by proc in the `systest` boot image. It runs each test
//! against the real kernel — processes, threads, scheduling, faults, isolation, bad
//! arguments — prints `test NAME ... ok` or `test NAME ... FAILED` with the reason, then
//! `systest: N passed, N failed`, and stops the machine with exit code 0 or 1.
//!
//! The driver runs at FIFO priority 30, above every process it starts, so children run
//! only while it waits for them.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use userlib::abi::info::{SystemInfo, ThreadStateCode};
use userlib::abi::sched::{Policy, SchedParam};
use userlib::abi::syscall::{decode_result, Call};
use userlib::process::{self, ExitStatus};
use userlib::{println, sched, sys, thread, time, Args, Errno};

mod fastpath;
mod ipc;
mod pipes;
mod proc;

userlib::entry!(main);

type Outcome = Result<(), String>;

/// A test: its name and body.
type Test = (&'static str, fn() -> Outcome);

/// What a `busy` child reports: (start ms, end ms, gaps).
type BusyReport = (u32, u32, u32);

#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

const CHILD: &str = "systest-child";
const DATA_ABORT_LOWER: u32 = 0x24;
const UNDEFINED: u32 = 0x00;

fn main(_args: Args) -> i32 {
    let tests: &[Test] = &[
        ("higher_priority_process_runs_first", higher_priority_process_runs_first),
        ("round_robin_shares_the_cpu", round_robin_shares_the_cpu),
        ("fifo_does_not_share_the_cpu", fifo_does_not_share_the_cpu),
        ("timer_wakeup_preempts_a_busy_lower_thread", timer_wakeup_preempts_a_busy_lower_thread),
        ("faulting_processes_are_reaped_others_finish", faulting_processes_are_reaped_others_finish),
        ("memory_is_reclaimed_after_exit", memory_is_reclaimed_after_exit),
        ("ending_large_processes_keeps_interrupt_latency_low", ending_large_processes_keeps_interrupt_latency_low),
        ("processes_cannot_see_each_others_memory", processes_cannot_see_each_others_memory),
        ("bad_pointers_get_efault", bad_pointers_get_efault),
        ("bad_handles_and_arguments_get_errors", bad_handles_and_arguments_get_errors),
        ("every_call_survives_hostile_arguments", every_call_survives_hostile_arguments),
        ("privileged_calls_refused_to_others", privileged_calls_refused_to_others),
        ("threads_keep_their_own_fp_registers", threads_keep_their_own_fp_registers),
        ("thread_list_shows_states", thread_list_shows_states),
        ("threads_let_go_are_freed_and_joins_give_any_status", threads_let_go_are_freed_and_joins_give_any_status),
        ("ipc_checksum_client_server", ipc::checksum_client_server),
        ("ipc_reply_status_and_byte_counts", ipc::reply_status_and_byte_counts_with_mismatched_buffers),
        ("ipc_msg_error_errno", ipc::msg_error_errno_reaches_the_client),
        ("ipc_iov_header_then_msg_read", ipc::iov_header_then_msg_read_of_the_rest),
        ("ipc_msg_write_then_reply", ipc::msg_write_then_msg_reply),
        ("ipc_server_death_esrch", ipc::server_death_fails_its_client_with_esrch),
        ("ipc_pulse_too_small_buffer", ipc::pulse_into_a_too_small_buffer_is_efault_and_lost),
        ("ipc_priority_then_fifo_order", ipc::messages_and_pulses_received_by_priority_then_order),
        ("ipc_msg_receive_pulse_leaves_messages", ipc::msg_receive_pulse_leaves_messages_queued),
        ("ipc_priority_inheritance_and_fixed", ipc::receiver_inherits_the_senders_priority_unless_fixed),
        ("ipc_priority_inversion_t1_t2_t3", ipc::priority_inversion_t1_t2_t3),
        ("ipc_unblock_pulse", ipc::unblock_pulse_with_nto_chf_unblock),
        ("ipc_disconnect_pulse", ipc::disconnect_pulse_when_a_client_exits),
        ("ipc_msg_deliver_event", ipc::msg_deliver_event_from_server_to_client),
        ("ipc_interrupt_as_pulse", ipc::interrupt_as_pulse),
        ("ipc_long_copies_keep_interrupt_latency_low", ipc::long_copies_keep_interrupt_latency_low),
        ("proc_checksum_server_found_by_name", proc::checksum_server_found_by_name),
        ("proc_name_released_when_its_server_dies", proc::a_name_is_released_when_its_server_dies),
        ("proc_a_process_group_ends_whole", proc::a_process_group_ends_whole),
        ("proc_resource_manager_open_read_write_close", proc::resource_manager_open_read_write_close),
        ("proc_shm_image_synchronised_by_msgsend", proc::shared_memory_image_synchronised_by_msgsend),
        ("proc_shm_unlink_while_mapped", proc::shared_memory_unlink_while_mapped),
        ("proc_shm_private_copies_hold_no_kernel_object", proc::private_copies_hold_no_kernel_object),
        ("proc_shm_read_and_written_like_a_file", proc::shared_memory_read_and_written_like_a_file),
        ("proc_shm_anon_handle_for_one_process", proc::anonymous_shared_memory_handle_for_one_process),
        ("proc_pidin_and_child_death_events", proc::pidin_and_child_death_events),
        ("proc_bounds_what_a_client_registers", proc::proc_bounds_what_a_client_registers),
        ("proc_shm_one_process_cannot_take_every_object", proc::one_process_cannot_take_every_shared_memory_object),
        ("proc_shm_directory_read_skips_nothing", proc::reading_dev_shmem_with_less_room_than_claimed_skips_nothing),
        ("pipe_eof_epipe_and_nonblocking", pipes::pipe_eof_epipe_and_nonblocking),
        (
            "pipe_blocked_readers_wake_by_priority",
            pipes::pipe_blocked_readers_wait_without_polling_and_wake_by_priority,
        ),
        ("pipe_megabytes_from_several_writers", pipes::pipe_megabytes_from_several_writers_arrive_whole),
        ("pipe_fifo_by_name_and_dying_clients", pipes::fifo_by_name_and_dying_clients),
        ("pipe_mq_what_a_reader_did_not_get_goes_to_the_next", pipes::what_a_reader_did_not_get_goes_to_the_next),
        ("mq_priorities_sizes_and_attributes", pipes::mq_priorities_sizes_and_attributes),
        ("mq_blocking_timed_and_notify", pipes::mq_blocking_timed_and_notify),
        ("servers_survive_garbage", pipes::servers_survive_garbage),
        ("servers_bound_what_clients_make", pipes::servers_bound_what_clients_make),
        ("servers_refuse_paths_holding_nul", pipes::servers_refuse_paths_holding_nul),
        ("mq_notify_outlives_the_registering_thread", pipes::mq_notify_outlives_the_registering_thread),
        ("fastpath_nop_uses_up_a_timeout", fastpath::a_nop_uses_up_an_armed_timeout),
        ("fastpath_messages_of_every_size", fastpath::messages_of_every_size_arrive_intact),
        ("fastpath_fp_registers_survive_copies", fastpath::fp_registers_survive_long_copies),
    ];
    println!("running {} system tests", tests.len());
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        match test() {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {why}");
            }
        }
    }
    println!("systest: {passed} passed, {failed} failed");
    process::shutdown(if failed == 0 { 0 } else { 1 });
    1
}

fn spawn(args: &[&str], priority: u8) -> Result<u32, String> {
    process::spawn(CHILD, args, Some(priority)).map_err(|e| format!("spawn {args:?}: {e}"))
}

pub(crate) fn wait(pid: u32) -> Result<ExitStatus, String> {
    process::wait(pid).map_err(|e| format!("wait {pid}: {e}"))
}

pub(crate) fn exited(pid: u32) -> Result<u32, String> {
    match wait(pid)? {
        ExitStatus::Exited(code) => Ok(code),
        other => Err(format!("child {pid} {other}")),
    }
}

/// (start ms, end ms, gaps) of a `busy` child.
fn busy_report(status: u32) -> BusyReport {
    (status & 0x3ff, (status >> 10) & 0x3ff, status >> 20)
}

fn higher_priority_process_runs_first() -> Outcome {
    let base = time::now_ns();
    let b = format!("{base}");
    let low = spawn(&["busy", &b, "30"], 11)?;
    let high = spawn(&["busy", &b, "30"], 12)?;
    let (high_start, high_end, _) = busy_report(exited(high)?);
    let (low_start, _, _) = busy_report(exited(low)?);
    ensure!(
        high_end <= low_start,
        "priority 12 ran {high_start}..{high_end} ms, priority 11 started at {low_start} ms"
    );
    Ok(())
}

fn two_equals(policy: Policy) -> Result<(BusyReport, BusyReport), String> {
    let base = time::now_ns();
    let b = format!("{base}");
    let a = spawn(&["busy", &b, "60"], 11)?;
    let c = spawn(&["busy", &b, "60"], 11)?;
    // The children cannot run before we wait (we are FIFO 30): set their policy first.
    for pid in [a, c] {
        sched::set_thread(pid, 1, SchedParam { policy, priority: 11 }).map_err(|e| format!("SchedSet {pid}: {e}"))?;
    }
    Ok((busy_report(exited(a)?), busy_report(exited(c)?)))
}

fn round_robin_shares_the_cpu() -> Outcome {
    let ((a_start, a_end, a_gaps), (c_start, c_end, c_gaps)) = two_equals(Policy::RoundRobin)?;
    ensure!(a_start < c_end && c_start < a_end, "no overlap: {a_start}..{a_end} and {c_start}..{c_end} ms");
    // Each was interrupted by the other at least once (a loaded host makes slices long, so
    // how many times is not a property of the kernel).
    ensure!(a_gaps >= 1 && c_gaps >= 1, "timeslices not shared: gaps {a_gaps} and {c_gaps}");
    Ok(())
}

fn fifo_does_not_share_the_cpu() -> Outcome {
    let ((a_start, a_end, a_gaps), (c_start, c_end, _)) = two_equals(Policy::Fifo)?;
    // (Gaps alone prove nothing here: interrupt handling also shows up as gaps.)
    ensure!(a_end <= c_start, "FIFO equals overlapped: {a_start}..{a_end} ({a_gaps} gaps) and {c_start}..{c_end} ms");
    Ok(())
}

fn timer_wakeup_preempts_a_busy_lower_thread() -> Outcome {
    let base = time::now_ns();
    let b = format!("{base}");
    let spinner = spawn(&["busy", &b, "80"], 5)?;
    let sleeper = spawn(&["sleep", &b, "20"], 25)?;
    let report = exited(sleeper)?;
    let (late_us, early, woke_ms) = (report & 0x7fff, report >> 15 & 1, report >> 16);
    let (_, spin_end, _) = busy_report(exited(spinner)?);
    ensure!(early == 0, "the sleeper woke before its deadline");
    // The spinner makes no system call: only the timer interrupt can hand the CPU over.
    ensure!(
        woke_ms < spin_end,
        "the sleeper (woke {late_us} µs late, at {woke_ms} ms) waited for the spinner (done at {spin_end} ms)"
    );
    Ok(())
}

/// The free RAM once the kernel has given back what ended processes and objects left
/// (it does so while the CPU idles: this sleeps until nothing is left to give back).
pub(crate) fn free_bytes() -> Result<u64, String> {
    for _ in 0..1000 {
        let info = system_info()?;
        if info.reclaim_bytes == 0 {
            return Ok(info.free_bytes);
        }
        time::sleep_ns(1_000_000);
    }
    Err(String::from("memory still being given back after a second"))
}

pub(crate) fn system_info() -> Result<SystemInfo, String> {
    let mut bytes = [0u8; SystemInfo::SIZE];
    let call = Call::SystemInfo { info: bytes.as_mut_ptr() as usize };
    // SAFETY: SystemInfo writes at most SystemInfo::SIZE bytes into `bytes`.
    let (x0, _) = unsafe { sys::syscall(call.to_registers()) };
    decode_result(x0).map_err(|e| format!("SystemInfo: {e}"))?;
    SystemInfo::from_bytes(&bytes).ok_or_else(|| String::from("SystemInfo: short record"))
}

fn faulting_processes_are_reaped_others_finish() -> Outcome {
    let base = format!("{}", time::now_ns());
    let survivor = spawn(&["busy", &base, "40"], 10)?;
    for (kind, class) in [
        ("null", DATA_ABORT_LOWER),
        ("text", DATA_ABORT_LOWER),
        ("kernel", DATA_ABORT_LOWER),
        ("stack", DATA_ABORT_LOWER),
        ("undef", UNDEFINED),
        ("align", DATA_ABORT_LOWER),
    ] {
        let pid = spawn(&["fault", kind], 12)?;
        match wait(pid)? {
            ExitStatus::Killed { exception_class } if exception_class == class => {}
            other => return Err(format!("fault {kind}: {other}, want killed with class {class:#x}")),
        }
    }
    exited(survivor)?;
    Ok(())
}

fn memory_is_reclaimed_after_exit() -> Outcome {
    // Warm up once (the driver's own heap may grow), then compare.
    exited(spawn(&["exit", "0"], 10)?)?;
    let before = free_bytes()?;
    for _ in 0..5 {
        exited(spawn(&["exit", "0"], 10)?)?;
        let pid = spawn(&["fault", "null"], 10)?;
        wait(pid)?;
    }
    let after = free_bytes()?;
    ensure!(after == before, "{before} bytes free before, {after} after ten processes");
    Ok(())
}

/// A process that ends leaves its memory to the kernel, which takes it back a few pages
/// at a time (while the CPU idles, or as allocations need it), never all at once with
/// interrupts masked: a thread of high priority sleeping 1 ms at a time wakes on time
/// while processes of 64 MiB come and go.
fn ending_large_processes_keeps_interrupt_latency_low() -> Outcome {
    const MIB: u64 = 64;
    const SLEEP_NS: u64 = 1_000_000;
    static SLEEPER_DONE: AtomicU64 = AtomicU64::new(0);
    static WORST_LATE_NS: AtomicU64 = AtomicU64::new(0);
    static VERY_LATE: AtomicU64 = AtomicU64::new(0);
    let hog = || -> Outcome {
        ensure!(exited(spawn(&["hog", "64"], 10)?)? == 0, "a child could not map {MIB} MiB");
        Ok(())
    };
    // Its memory is still to be taken back when its parent learns of its end, and all of
    // it comes back.
    let before = free_bytes()?;
    hog()?;
    let queued = system_info()?.reclaim_bytes;
    ensure!(queued >= MIB << 20, "{queued} bytes left to take back once a {MIB} MiB process ended");
    let after = free_bytes()?;
    ensure!(after == before, "{before} bytes free before the {MIB} MiB process, {after} after");
    // Every wake-up more than a sleep late (one such per ended process, when the kernel
    // took a process's memory back in one go: 9.7 ms each, measured with the reclaim
    // made whole on qemu-virt) and the worst.
    SLEEPER_DONE.store(0, Ordering::SeqCst);
    let sleeper = thread::Builder::new()
        .sched(SchedParam { policy: Policy::Fifo, priority: 60 })
        .spawn(|| {
            let (mut very_late, mut worst) = (0, 0);
            for _ in 0..200 {
                let start = time::now_ns();
                time::sleep_ns(SLEEP_NS);
                let late = (time::now_ns() - start).saturating_sub(SLEEP_NS);
                very_late += u64::from(late > SLEEP_NS);
                worst = worst.max(late);
            }
            VERY_LATE.store(very_late, Ordering::SeqCst);
            WORST_LATE_NS.store(worst, Ordering::SeqCst);
            SLEEPER_DONE.store(1, Ordering::SeqCst);
        })
        .map_err(|e| format!("{e}"))?;
    let mut ended = 0;
    while SLEEPER_DONE.load(Ordering::SeqCst) == 0 {
        hog()?;
        ended += 1;
    }
    sleeper.join().map_err(|e| format!("{e}"))?;
    let (very_late, worst) = (VERY_LATE.load(Ordering::SeqCst), WORST_LATE_NS.load(Ordering::SeqCst));
    ensure!(ended >= 4, "only {ended} processes of {MIB} MiB ended while the sleeper slept");
    // (A few late wake-ups are the host's doing under QEMU; one per ended process is not.)
    ensure!(
        very_late * 2 < ended,
        "{very_late} of 200 wake-ups were over {SLEEP_NS} ns late (the worst {worst} ns) while {ended} processes of {MIB} MiB ended"
    );
    Ok(())
}

fn processes_cannot_see_each_others_memory() -> Outcome {
    const SECRET: u64 = 0x5ec2_e7c0_ffee_0042;
    let secret: Vec<u64> = vec![SECRET; 1024];
    let address = secret.as_ptr() as usize;
    for _ in 0..3 {
        let pid = spawn(&["peek", &format!("{address:#x}"), &format!("{SECRET:#x}")], 10)?;
        match wait(pid)? {
            ExitStatus::Exited(0) | ExitStatus::Killed { exception_class: DATA_ABORT_LOWER } => {}
            other => return Err(format!("a child reading {address:#x} {other}: it saw our secret")),
        }
    }
    ensure!(secret.iter().all(|w| *w == SECRET), "our memory changed");
    Ok(())
}

/// Makes a raw call with arguments that may be bad; returns its decoded result.
fn raw(call: Call) -> Result<u64, Errno> {
    // SAFETY: every pointer in these calls is either ours and valid, or deliberately bad —
    // the kernel validates it and never lets the call touch memory we did not name.
    let (x0, _) = unsafe { sys::syscall(call.to_registers()) };
    decode_result(x0)
}

/// A proc message of type `kind` with nothing else.
fn raw_proc(kind: u16) -> Result<u64, Errno> {
    userlib::proc::request(&userlib::msg::Header::new(kind), &[], &mut [])
}

fn expect(what: &str, got: Result<u64, Errno>, want: Errno) -> Outcome {
    ensure!(got == Err(want), "{what}: got {got:?}, want {want:?}");
    Ok(())
}

fn bad_pointers_get_efault() -> Outcome {
    let kernel = 0xffff_0000_4020_0000usize;
    let unmapped = 0x0000_3000_0000_0000usize;
    let text = main as *const () as usize; // mapped, but read-only
    for ptr in [kernel, unmapped, usize::MAX - 8, 0] {
        expect("DebugWrite", raw(Call::DebugWrite { ptr, len: 16 }), Errno::EFAULT)?;
        expect("ThreadList", raw(Call::ThreadList { ptr, len: 600 }), Errno::EFAULT)?;
        expect("MemProtect", raw(Call::MemProtect { addr: ptr & !4095, size: 4096, prot: 1 }), Errno::ENOMEM)?;
        expect("SystemInfo", raw(Call::SystemInfo { info: ptr }), Errno::EFAULT)?;
        expect(
            "MsgReceivev info",
            raw(Call::MsgReceivev { chid: 1, buffer: ptr, parts: 3, info: 0 }).map(|_| 0).or(Err(Errno::EFAULT)),
            Errno::EFAULT,
        )?;
    }
    expect("ThreadList into text", raw(Call::ThreadList { ptr: text, len: 600 }), Errno::EFAULT)?;
    expect(
        "ThreadCreate at a kernel address",
        raw(Call::ThreadCreate { entry: kernel, arg: 0, stack_size: 0, sched: 0 }),
        Errno::EFAULT,
    )?;
    expect("ThreadCreate at 0", raw(Call::ThreadCreate { entry: 0, arg: 0, stack_size: 0, sched: 0 }), Errno::EFAULT)?;
    // A device mapping (the console UART's registers; boot programs have I/O privilege)
    // is no buffer: the kernel copies through its map of RAM, where device registers
    // are not (it used to take a fatal data abort there).
    let console = userlib::info::system_info().map_err(|e| format!("SystemInfo: {e}"))?.console_phys as usize;
    let device = sys::mem_object_device(console, 4096).map_err(|e| format!("MemObjectDevice: {e}"))?;
    let rw = userlib::abi::syscall::mem_prot::READ | userlib::abi::syscall::mem_prot::WRITE;
    // SAFETY: the kernel chooses a free place for the mapping; nothing of ours is there.
    let at = unsafe { sys::mem_object_map(0, device, 0, 4096, 0, rw, rw) }.map_err(|e| format!("map: {e}"))?;
    let _ = sys::mem_object_close(device);
    expect("DebugWrite from a device mapping", raw(Call::DebugWrite { ptr: at, len: 4 }), Errno::EFAULT)?;
    expect("SystemInfo into a device mapping", raw(Call::SystemInfo { info: at }), Errno::EFAULT)?;
    expect("ThreadList into a device mapping", raw(Call::ThreadList { ptr: at, len: 600 }), Errno::EFAULT)?;
    let _ = raw(Call::MemUnmap { addr: at, size: 4096 });
    Ok(())
}

/// Two `fuzz` children (`systest-child/src/fuzz.rs`), connected to each other, make every
/// system call from four threads each with arguments chosen to hurt, three times over: the
/// kernel must answer them all on the real machine (a panic stops the tests), the
/// children must end by themselves (not killed by a fault the fuzz did not mean), having
/// made most of their calls, and afterwards every byte of memory comes back and the
/// system still starts programs.
fn every_call_survives_hostile_arguments() -> Outcome {
    const CALLS: u64 = 1000;
    let before = free_bytes()?;
    for round in 0..3u64 {
        let quiet = spawn(&["fuzz", &format!("{}", 2 * round + 1), &format!("{CALLS}"), "0"], 10)?;
        let peer = format!("{quiet}");
        let loud = spawn(&["fuzz", &format!("{}", 2 * round + 2), &format!("{CALLS}"), &peer], 10)?;
        // (Both waited for before either is judged.)
        let made = [exited(loud), exited(quiet)];
        for (pid, made) in [loud, quiet].into_iter().zip(made) {
            let made = u64::from(made?);
            ensure!(made >= 4 * CALLS / 2, "round {round}: fuzz child {pid} made only {made} of {} calls", 4 * CALLS);
        }
    }
    let after = free_bytes()?;
    ensure!(after == before, "{before} bytes free before the fuzz, {after} after");
    ensure!(exited(spawn(&["exit", "7"], 10)?)? == 7, "a child after the fuzz did not exit with 7");
    Ok(())
}

fn bad_handles_and_arguments_get_errors() -> Outcome {
    expect("unknown call", raw_number(999), Errno::ENOSYS)?;
    expect("ThreadJoin of no thread", raw(Call::ThreadJoin { tid: 77 }), Errno::ESRCH)?;
    expect("ThreadJoin of itself", raw(Call::ThreadJoin { tid: thread::current_id() }), Errno::EDEADLK)?;
    expect("ThreadDestroy of no thread", raw(Call::ThreadDestroy { tid: 77, status: 0 }), Errno::ESRCH)?;
    expect("SchedGet of no process", raw(Call::SchedGet { pid: 4000, tid: 0 }), Errno::ESRCH)?;
    expect("SchedSet bad policy", raw(Call::SchedSet { pid: 0, tid: 0, sched: 0x0930 }), Errno::EINVAL)?;
    expect("SchedSet priority 0", raw(Call::SchedSet { pid: 0, tid: 0, sched: 0x0100 }), Errno::EINVAL)?;
    expect("ProcessWait for no child", raw(Call::ProcessWait { pid: 3999 }), Errno::ECHILD)?;
    expect("MemMapAnon 0", raw(Call::MemMapAnon { size: 0 }), Errno::EINVAL)?;
    expect("MemMapAnon 2 GiB", raw(Call::MemMapAnon { size: 2 << 30 }), Errno::EINVAL)?;
    expect("MemUnmap of nothing", raw(Call::MemUnmap { addr: 0x2000_0000_0000, size: 4096 }), Errno::EINVAL)?;
    expect("MemUnmap of the program", raw(Call::MemUnmap { addr: 0x40_0000, size: 4096 }), Errno::EINVAL)?;
    expect("DebugWrite too long", raw(Call::DebugWrite { ptr: 0x40_0000, len: 1 << 20 }), Errno::EINVAL)?;
    expect("MemUnmap misaligned", raw(Call::MemUnmap { addr: 0x40_0001, size: 4096 }), Errno::EINVAL)?;
    // Spawning is a message to proc, which checks what the kernel used to.
    let spawn_raw = |arg: u32, payload: &[u8]| {
        let header = userlib::msg::Header { arg, ..userlib::msg::Header::new(userlib::msg::proc_type::SPAWN) };
        userlib::proc::request(&header, payload, &mut [])
    };
    expect("spawn unknown", process::spawn("no-such-program", &[], None).map(u64::from), Errno::ENOENT)?;
    expect("spawn long name", process::spawn(&"x".repeat(40), &[], None).map(u64::from), Errno::ENAMETOOLONG)?;
    expect("spawn unterminated args", spawn_raw(0, b"systest-child\0exit"), Errno::EINVAL)?;
    expect("spawn with no name", spawn_raw(0, b"systest-child"), Errno::EINVAL)?;
    expect("spawn priority 256", spawn_raw(256, b"systest-child\0"), Errno::EINVAL)?;
    expect("unknown proc message", raw_proc(0xff), Errno::ENOSYS)?;
    let proc_coid = userlib::proc::connection().map_err(|e| format!("proc: {e}"))?;
    expect("short proc message", sys::msg_send(proc_coid, b"\x01\x00", &mut []), Errno::EBADMSG)?;
    expect(
        "MsgSendv on no connection",
        raw(Call::MsgSendv { coid: 55, send: 0, send_parts: 0, reply: 0, reply_parts: 0 }),
        Errno::EBADF,
    )?;
    expect(
        "MsgReceivev on no channel",
        raw(Call::MsgReceivev { chid: 55, buffer: 0, parts: 0, info: 0 }),
        Errno::ESRCH,
    )?;
    expect(
        "MsgReplyv to no message",
        raw(Call::MsgReplyv { rcvid: 0x1_0000_0001, status: 0, buffer: 0, parts: 0 }),
        Errno::ESRCH,
    )?;
    expect("ConnectAttach to no process", raw(Call::ConnectAttach { pid: 3999, chid: 1 }), Errno::ESRCH)?;
    Ok(())
}

fn raw_number(number: u64) -> Result<u64, Errno> {
    let registers = userlib::abi::syscall::Registers { number, args: [0; 8] };
    // SAFETY: an unknown call number makes the kernel do nothing but answer ENOSYS.
    let (x0, _) = unsafe { sys::syscall(registers) };
    decode_result(x0)
}

fn privileged_calls_refused_to_others() -> Outcome {
    let wrong = exited(spawn(&["unprivileged"], 10)?)?;
    ensure!(wrong == 0, "{wrong} privileged calls were not refused with EPERM");
    Ok(())
}

fn threads_let_go_are_freed_and_joins_give_any_status() -> Outcome {
    // A thread whose handle is dropped unjoined is detached: it is freed as it ends. (Its
    // slot stayed taken: after 63 such threads, spawn failed with EAGAIN for good.)
    let mine = sched::get().map_err(|e| format!("sched get: {e}"))?;
    let above = SchedParam { policy: Policy::Fifo, priority: (mine.priority + 1).min(63) };
    for round in 0..200 {
        // (Above the caller: it runs and ends before `spawn` returns.)
        let handle = thread::Builder::new()
            .sched(above)
            .spawn(|| {})
            .map_err(|e| format!("spawn #{round} with every earlier thread ended and let go: {e}"))?;
        drop(handle);
    }
    // A join that times out lets its thread go too. (It forgot the handle first: each
    // such thread stayed dead and unjoinable, and after 64 spawn failed with EAGAIN.)
    let below = SchedParam { policy: Policy::Fifo, priority: mine.priority.saturating_sub(1).max(1) };
    for round in 0..80 {
        let handle = thread::Builder::new()
            .sched(below)
            .spawn(|| time::sleep_ns(1_000_000))
            .map_err(|e| format!("spawn #{round} with every earlier thread ended: {e}"))?;
        userlib::ipc::timeout(userlib::ipc::timeout_states::JOIN, 1000).map_err(|e| format!("timeout: {e}"))?;
        ensure!(handle.join() == Err(Errno::ETIMEDOUT), "a join bounded by 1 µs of a thread sleeping 1 ms");
        time::sleep_ns(3_000_000); // (it ends meanwhile)
    }
    // Any status comes back whole, the highest 64-bit values too (they read as errnos).
    let handle = thread::spawn(|| thread::exit(u64::MAX)).map_err(|e| format!("spawn: {e}"))?;
    let status = handle.join().map_err(|e| format!("join: {e}"))?;
    ensure!(status == u64::MAX, "join gave {status:#x}");
    Ok(())
}

fn threads_keep_their_own_fp_registers() -> Outcome {
    // Round-robin threads of equal priority preempt each other mid-computation; each keeps
    // its own FP/SIMD state (lazily switched by the kernel).
    fn compute(seed: f64) -> f64 {
        let mut x = seed;
        let mut sum = 0.0f64;
        for i in 0..400_000 {
            x = x * 1.000_000_1 + 0.5 / (i as f64 + seed);
            sum += x * 0.25;
        }
        sum
    }
    let param = SchedParam { policy: Policy::RoundRobin, priority: 10 };
    let mut handles = Vec::new();
    let results: &'static [core::sync::atomic::AtomicU64; 3] =
        alloc::boxed::Box::leak(alloc::boxed::Box::new([const { core::sync::atomic::AtomicU64::new(0) }; 3]));
    for (i, seed) in [1.5f64, 2.25, 3.125].into_iter().enumerate() {
        let h = thread::Builder::new()
            .sched(param)
            .spawn(move || results[i].store(compute(seed).to_bits(), core::sync::atomic::Ordering::SeqCst))
            .map_err(|e| format!("spawn: {e}"))?;
        handles.push(h);
    }
    for h in handles {
        h.join().map_err(|e| format!("join: {e}"))?;
    }
    for (i, seed) in [1.5f64, 2.25, 3.125].into_iter().enumerate() {
        let got = f64::from_bits(results[i].load(core::sync::atomic::Ordering::SeqCst));
        ensure!(got == compute(seed), "thread {i}: {got} != {}", compute(seed));
    }
    Ok(())
}

fn thread_list_shows_states() -> Outcome {
    let child = spawn(&["sleep", "0", "200"], 10)?;
    // Let the child start and go to sleep (polling, as emulated boards differ in speed).
    let mut list = Vec::new();
    for _ in 0..100 {
        time::sleep_ns(2_000_000);
        list = userlib::info::threads().map_err(|e| format!("ThreadList: {e}"))?;
        if list.iter().any(|t| t.pid == child && t.state == ThreadStateCode::Nanosleep as u8) {
            break;
        }
    }
    let me = list.iter().find(|t| t.pid == process::id()).ok_or("the driver is not listed")?;
    ensure!(me.state == ThreadStateCode::Running as u8, "the driver's state is {}", me.state);
    ensure!(me.name_str() == "systest", "the driver is called {}", me.name_str());
    let sleeper = list.iter().find(|t| t.pid == child).ok_or("the child is not listed")?;
    ensure!(sleeper.state == ThreadStateCode::Nanosleep as u8, "the child's state is {}", sleeper.state);
    ensure!(sleeper.parent_pid == process::id(), "the child's parent is {}", sleeper.parent_pid);
    exited(child)?;
    Ok(())
}
