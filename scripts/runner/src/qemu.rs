//! Running QEMU: interactively (`make run`), or captured with a hard timeout (tests).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::boards::Boot;

/// How a captured QEMU run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Everything the guest wrote to its serial port.
    pub log: String,
    /// QEMU's exit code (the kernel's semihosting exit code), or `None` on timeout.
    pub exit_code: Option<i32>,
}

/// The QEMU command line for `boot` starting `kernel` (an ELF, or a raw image).
pub fn command(boot: &Boot, kernel: &Path) -> Command {
    let mut cmd = Command::new("qemu-system-aarch64");
    cmd.args(boot.machine).args(["-semihosting-config", "enable=on,target=native"]).arg("-kernel").arg(kernel);
    cmd
}

/// Boots `kernel` headless and returns its serial output, killing QEMU after `timeout`.
pub fn run_captured(boot: &Boot, kernel: &Path, timeout: Duration) -> std::io::Result<Outcome> {
    let mut child = command(boot, kernel)
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let exit_code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let mut log = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    if !stderr.trim().is_empty() && exit_code.is_some() {
        log.push_str("\n[qemu stderr] ");
        log.push_str(stderr.trim());
    }
    Ok(Outcome { log, exit_code })
}
