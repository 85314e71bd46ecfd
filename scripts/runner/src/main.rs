//! `muon-runner`: the one tool behind `make run`, `make test`, `make image` and `make gdb`.
//!
//! ```text
//! muon-runner run   [--board B] [--features F] [--image I]   build image + kernel, boot in QEMU (Ctrl-A X quits)
//! muon-runner test  [--board B]...               every test level, ending in "N passed, N failed"
//! muon-runner image --board rpi3|rpi4 [--features F] [--image I]   kernel8.img + config.txt for an SD card
//! muon-runner gdb   [--board B] [--image I]      QEMU halted at the first instruction + gdb-multiarch
//! muon-runner bootimage [--image I]              only the boot image: target/bootimage/I.img
//! ```
//!
//! `--image` names the boot image (`user-apps/images/<I>.manifest`, default `default`;
//! see [`bootimage`]) that is built and linked into the kernel through the environment
//! variable `MUON_BOOT_IMAGE`. Test kernels are built without one.
//!
//! Test levels: host `cargo test`; every boot image's programs build and pack; per board
//! the user-space system tests (`systest` image), the default system driven through its
//! shell over the serial line ([`session`]);
//! the in-kernel tests (`ktest` feature); the kernel fault report (`ktest-fault`); and the
//! runner's own self-test, which boots a kernel with deliberately failing tests
//! (`ktest-selftest`) and checks that they are reported FAILED — that check is not
//! counted as a pass, only as a failure if broken. A test that runs user programs builds
//! its image ([`bootimage::build`]), a kernel with it ([`build_kernel`]), boots it
//! ([`qemu::run_captured`]) and reads the `test NAME ... ok` lines ([`report::test_lines`]).

mod bench;
mod boards;
mod bootimage;
mod image;
mod profile;
mod qemu;
mod report;
mod session;
#[cfg(test)]
mod test_elf;

use boards::{Board, Boot, BOARDS, KERNEL_TARGET};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// Hard limit for one QEMU test run; a hang is a failure.
const QEMU_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

struct Options {
    boards: Vec<Board>,
    features: Option<String>,
    image: Option<String>,
}

impl Options {
    /// The boot image to build and link in.
    fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(bootimage::DEFAULT_IMAGE)
    }
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut boards = Vec::new();
    let mut features = None;
    let mut image = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--board" => {
                let name = it.next().ok_or("--board needs a name")?;
                let known: Vec<_> = BOARDS.iter().map(|b| b.name).collect();
                boards.push(boards::find(name).ok_or(format!("unknown board {name:?} (known: {known:?})"))?);
            }
            "--features" => {
                features = Some(it.next().ok_or("--features needs a list")?.clone()).filter(|f| !f.is_empty())
            }
            "--image" => image = Some(it.next().ok_or("--image needs a name")?.clone()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Options { boards, features, image })
}

/// Builds `board`'s kernel with `features` into its own target directory (`variant`),
/// linking in the boot image at `boot_image` (an absolute path), or an empty one.
pub(crate) fn build_kernel(
    board: &Board,
    features: Option<&str>,
    variant: &str,
    boot_image: Option<&Path>,
) -> Result<PathBuf, String> {
    let target_dir = workspace_root().join("target").join(variant);
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", KERNEL_TARGET, "-p", board.package])
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    match boot_image {
        Some(path) => cmd.env("MUON_BOOT_IMAGE", path),
        None => cmd.env_remove("MUON_BOOT_IMAGE"),
    };
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {} ({variant}) failed", board.name));
    }
    Ok(target_dir.join(KERNEL_TARGET).join("release").join(board.binary))
}

/// Builds boot image `image`, then `board`'s kernel with it linked in.
pub(crate) fn build_kernel_with_image(
    board: &Board,
    features: Option<&str>,
    variant: &str,
    image: &str,
) -> Result<PathBuf, String> {
    let boot_image = bootimage::build(image)?;
    build_kernel(board, features, variant, Some(&boot_image))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: muon-runner run|test|session|image|gdb|bootimage [--board B] [--features F] [--image I]\n       \
                 muon-runner bench | profile [BENCHMARK...]";
    let Some(command) = args.first() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    if matches!(command.as_str(), "help" | "-h" | "--help") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    if command == "profile" {
        return match profile::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("muon-runner: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse_options(&args[1..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("muon-runner: {e}");
            return ExitCode::from(2);
        }
    };
    if command == "test" && options.image.is_some() {
        eprintln!("muon-runner: test builds its kernels without a boot image; drop --image");
        return ExitCode::from(2);
    }
    let result = match command.as_str() {
        "run" => run(&options),
        "test" => return test(&options),
        "session" => return session_only(&options),
        "image" => make_image(&options),
        "gdb" => gdb(&options),
        "bootimage" => bootimage::build(options.image()).map(|_| ()),
        "bench" => bench::run(),
        other => Err(format!("unknown command {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muon-runner: {e}");
            ExitCode::FAILURE
        }
    }
}

fn single_board(options: &Options) -> Board {
    options.boards.first().copied().unwrap_or(BOARDS[0])
}

fn run(options: &Options) -> Result<(), String> {
    let board = single_board(options);
    let kernel = build_kernel_with_image(&board, options.features.as_deref(), "run", options.image())?;
    eprintln!("booting {} in QEMU; quit with Ctrl-A X", board.name);
    let status = qemu::command(&board.boots[0], &kernel).arg("-nographic").status().map_err(|e| e.to_string())?;
    status.success().then_some(()).ok_or(format!("QEMU exited with {status}"))
}

fn make_image(options: &Options) -> Result<(), String> {
    let board = single_board(options);
    let mini_uart = options.features.as_deref().is_some_and(|f| f.contains("mini-uart"));
    let config = image::config_txt(board.name, mini_uart).ok_or("images are made for rpi3 and rpi4 only")?;
    let kernel = build_kernel_with_image(&board, options.features.as_deref(), "image", options.image())?;
    let elf = std::fs::read(&kernel).map_err(|e| e.to_string())?;
    let (base, raw) = image::flatten(&elf)?;
    if base != 0x80000 {
        return Err(format!("kernel loads at {base:#x}, the firmware expects 0x80000"));
    }
    // Each variant in its own directory (`rpi3`, `rpi3-mini-uart`), so that one does not
    // overwrite the other.
    let variant = if mini_uart { format!("{}-mini-uart", board.name) } else { board.name.to_string() };
    let dir = workspace_root().join("target/image").join(variant);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("kernel8.img"), &raw).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("config.txt"), &config).map_err(|e| e.to_string())?;
    println!("{}/kernel8.img ({} KiB) and config.txt:\n\n{config}", dir.display(), raw.len() >> 10);
    Ok(())
}

fn gdb(options: &Options) -> Result<(), String> {
    let board = single_board(options);
    let kernel = build_kernel_with_image(&board, options.features.as_deref(), "run", options.image())?;
    let log = workspace_root().join("target").join(format!("gdb-{}-serial.log", board.name));
    let mut qemu = qemu::command(&board.boots[0], &kernel)
        .args(["-display", "none", "-monitor", "none", "-S", "-s", "-serial"])
        .arg(format!("file:{}", log.display()))
        .spawn()
        .map_err(|e| e.to_string())?;
    eprintln!("QEMU halted at the first instruction, gdb server on :1234; serial output goes to {}", log.display());
    let status = Command::new("gdb-multiarch")
        .arg(&kernel)
        .args(["-ex", "set confirm off", "-ex", "target remote localhost:1234"])
        .status();
    let _ = qemu.kill();
    let _ = qemu.wait();
    status.map_err(|e| format!("cannot run gdb-multiarch: {e}")).map(|_| ())
}

/// Pass/fail counts across every level.
#[derive(Default)]
pub(crate) struct Tally {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Tally {
    pub(crate) fn record(&mut self, name: &str, passed: bool) {
        println!("test {name} ... {}", if passed { "ok" } else { "FAILED" });
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(name.to_string());
        }
    }
}

/// `session`: only the shell sessions of `test` (the default system driven through its
/// shell, on each board's consoles), for working on the shell and its servers.
fn session_only(options: &Options) -> ExitCode {
    if options.image.is_some() || options.features.is_some() {
        eprintln!(
            "muon-runner: session boots the default image on every console a board has; drop --image and --features"
        );
        return ExitCode::from(2);
    }
    let boards = if options.boards.is_empty() { BOARDS.to_vec() } else { options.boards.clone() };
    let mut tally = Tally::default();
    for board in &boards {
        session::shell_session(board, &mut tally);
        if let Some((features, boot)) = boards::alternative_console(board) {
            let console_only = features.trim_start_matches("ktest,");
            session::shell_session_on(board, Some(console_only), &boot, &format!("{}/shell", boot.label), &mut tally);
        }
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn test(options: &Options) -> ExitCode {
    let boards = if options.boards.is_empty() { BOARDS.to_vec() } else { options.boards.clone() };
    let mut tally = Tally::default();

    println!("== host: cargo test ==");
    host_tests(&mut tally);

    println!("== user space: boot images ==");
    boot_image_builds(&mut tally);

    for board in &boards {
        let kernel = match build_kernel(board, Some("ktest"), "ktest", None) {
            Ok(k) => Some(k),
            Err(e) => {
                println!("{e}");
                tally.record(&format!("{}/build", board.name), false);
                None
            }
        };
        for boot in board.boots.iter().filter(|_| kernel.is_some()) {
            println!("== {}: in-kernel tests ==", boot.label);
            serial_tests(boot.label, boot, kernel.as_deref().expect("built"), &mut tally);
        }
        println!("== {}: user-space system tests ==", board.name);
        system_tests(board, &mut tally);
        println!("== {}: the default system, driven through its shell ==", board.name);
        session::shell_session(board, &mut tally);
        println!("== {}: kernel fault report ==", board.name);
        fault_report_test(board, &mut tally);
        println!("== {}: runner self-test ==", board.name);
        runner_self_test(board, &mut tally);
        if let Some((features, boot)) = boards::alternative_console(board) {
            println!("== {}: in-kernel tests ==", boot.label);
            match build_kernel(board, Some(features), "ktest-alternative-console", None) {
                Ok(kernel) => serial_tests(boot.label, &boot, &kernel, &mut tally),
                Err(e) => {
                    println!("{e}");
                    tally.record(&format!("{}/build", boot.label), false);
                }
            }
            println!("== {}: the default system, driven through its shell ==", boot.label);
            let console_only = features.trim_start_matches("ktest,");
            session::shell_session_on(board, Some(console_only), &boot, &format!("{}/shell", boot.label), &mut tally);
        }
    }

    println!();
    if !tally.failures.is_empty() {
        println!("failed: {}", tally.failures.join(", "));
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn host_tests(tally: &mut Tally) {
    let output = cargo().args(["test", "--color", "never"]).output();
    let Ok(output) = output else {
        tally.record("host/cargo_test", false);
        return;
    };
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    match report::cargo_test_totals(&text) {
        Some((passed, failed)) if output.status.success() || failed > 0 => {
            for line in text.lines().filter(|l| l.ends_with("... FAILED")) {
                println!("{line}");
            }
            println!("host: {passed} passed, {failed} failed");
            tally.passed += passed;
            tally.failed += failed;
            if failed > 0 {
                println!("{text}");
                tally.failures.push("host tests".into());
            }
        }
        _ => {
            println!("{text}");
            tally.record("host/cargo_test_ran", false);
        }
    }
}

/// Every manifest in `user-apps/images` must build, pack and parse back.
fn boot_image_builds(tally: &mut Tally) {
    let images = match bootimage::manifests() {
        Ok(images) => images,
        Err(e) => {
            println!("{e}");
            return tally.record("bootimage/manifests", false);
        }
    };
    for image in images {
        let built = bootimage::build(&image);
        if let Err(e) = &built {
            println!("{e}");
        }
        tally.record(&format!("bootimage/{image}"), built.is_ok());
    }
}

/// Boots `elf` as `boot` says and records every `test NAME ... ok|FAILED` line it prints
/// as `<label>/NAME`; the run must announce its test count, name the expected entry
/// level in its banner, and exit 0 exactly when every test passed.
fn serial_tests(label: &str, boot: &Boot, elf: &Path, tally: &mut Tally) {
    serial_tests_within(label, boot, elf, QEMU_TIMEOUT, tally)
}

/// [`serial_tests`] with its own time limit.
fn serial_tests_within(label: &str, boot: &Boot, elf: &Path, timeout: Duration, tally: &mut Tally) {
    let kernel = if boot.raw_image { raw_image_of(elf) } else { Ok(elf.to_path_buf()) };
    let outcome = kernel.and_then(|k| qemu::run_captured(boot, &k, timeout).map_err(|e| e.to_string()));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            println!("cannot boot {label}: {e}");
            return tally.record(&format!("{label}/boot"), false);
        }
    };
    let before = tally.failed;
    let banner = format!(": entered at EL{}, RAM ", boot.entry_el);
    let first_line = outcome.log.lines().next().unwrap_or("");
    tally.record(&format!("{label}/banner"), first_line.starts_with("Muon ") && first_line.contains(&banner));
    let lines = report::test_lines(&outcome.log);
    for line in &lines {
        tally.record(&format!("{label}/{}", line.name), line.passed);
    }
    let announced = report::announced_tests(&outcome.log);
    if announced != Some(lines.len()) {
        println!(
            "{label}: {} tests announced, {} reported",
            announced.map_or("no".into(), |n| n.to_string()),
            lines.len()
        );
        tally.record(&format!("{label}/all_tests_reported"), false);
    }
    let all_ok = lines.iter().all(|l| l.passed);
    match outcome.exit_code {
        None => tally.record(&format!("{label}/finished_within_{}s", timeout.as_secs()), false),
        Some(code) if (code == 0) != all_ok => {
            println!("{label}: QEMU exit code {code} disagrees with the test lines");
            tally.record(&format!("{label}/exit_code"), false);
        }
        Some(_) => {}
    }
    if tally.failed > before {
        println!("---- serial log of {label} ----\n{}\n---- end of log ----", outcome.log);
    }
}

/// The `systest` image on `board`'s default boot: user programs exercising the kernel
/// through real system calls (`user-apps/systest`).
///
/// They run under `-icount shift=0,align=off,sleep=off`: the guest's clock then counts its
/// own instructions, so scheduling tests (round robin, preemption by a timer) see the same
/// time however busy the host is. Emulated Pis run slower that way, hence the longer limit.
fn system_tests(board: &Board, tally: &mut Tally) {
    let label = format!("{}/user", board.name);
    let kernel =
        bootimage::build(SYSTEM_TEST_IMAGE).and_then(|image| build_kernel(board, None, "systest", Some(&image)));
    let default = board.boots[0];
    let mut machine: Vec<&'static str> = default.machine.to_vec();
    machine.extend(["-icount", "shift=0,align=off,sleep=off"]);
    let boot = Boot { machine: Box::leak(machine.into_boxed_slice()), ..default };
    match kernel {
        Ok(kernel) => serial_tests_within(&label, &boot, &kernel, SYSTEM_TEST_TIMEOUT, tally),
        Err(e) => {
            println!("{e}");
            tally.record(&format!("{label}/build"), false);
        }
    }
}

/// Hard limit for one system-test run (deterministic, so slower on the emulated Pis).
const SYSTEM_TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// The boot image whose pid 1 runs the user-space system tests.
const SYSTEM_TEST_IMAGE: &str = "systest";

/// Writes the flattened image of `elf` next to it (`<elf>.img`), as the firmware loads it.
fn raw_image_of(elf: &Path) -> Result<PathBuf, String> {
    let bytes = std::fs::read(elf).map_err(|e| e.to_string())?;
    let (_, raw) = image::flatten(&bytes)?;
    let path = elf.with_extension("img");
    std::fs::write(&path, raw).map_err(|e| e.to_string())?;
    Ok(path)
}

fn fault_report_test(board: &Board, tally: &mut Tally) {
    let name = format!("{}/el1_fault_report", board.name);
    let outcome = build_kernel(board, Some("ktest-fault"), "ktest-fault", None)
        .and_then(|k| qemu::run_captured(&board.boots[0], &k, QEMU_TIMEOUT).map_err(|e| e.to_string()));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            println!("{e}");
            return tally.record(&name, false);
        }
    };
    let log = &outcome.log;
    let guard = log
        .lines()
        .find_map(|l| l.strip_prefix("writing to the stack guard page at "))
        .and_then(|rest| rest.split(';').next())
        .map(|addr| format!("FAR {addr}"));
    let expected = [
        "*** KERNEL FAULT on CPU 0: synchronous exception from EL1",
        "class 0x25: data abort at the same exception level",
        "translation fault (nothing mapped) at level 3, on write",
        "ELR 0xffff",
        "x30 ",
        "*** machine stopped",
    ];
    let mut ok = outcome.exit_code == Some(3);
    for want in expected.iter().map(|s| s.to_string()).chain(guard.clone()) {
        if !log.contains(&want) {
            println!("missing from the fault report: {want:?}");
            ok = false;
        }
    }
    ok &= guard.is_some();
    if !ok {
        println!("exit code {:?} (want 3)\n---- serial log ----\n{log}\n---- end of log ----", outcome.exit_code);
    }
    tally.record(&name, ok);
}

fn runner_self_test(board: &Board, tally: &mut Tally) {
    let outcome = build_kernel(board, Some("ktest-selftest"), "ktest-selftest", None)
        .and_then(|k| qemu::run_captured(&board.boots[0], &k, QEMU_TIMEOUT).map_err(|e| e.to_string()));
    let detected = match &outcome {
        Ok(o) => {
            let lines = report::test_lines(&o.log);
            let failed = |name: &str| lines.iter().any(|l| l.name == name && !l.passed);
            failed("selftest_returns_error") && failed("selftest_panics") && o.exit_code == Some(1)
        }
        Err(e) => {
            println!("{e}");
            false
        }
    };
    if detected {
        println!(
            "{}: a test returning an error and a test panicking were both reported FAILED and QEMU exited 1, \
             as they must (expected failures, not counted)",
            board.name
        );
    } else {
        if let Ok(o) = &outcome {
            println!("---- serial log ----\n{}\n---- end of log ----", o.log);
        }
        tally.record(&format!("{}/runner_detects_failing_tests", board.name), false);
    }
}
