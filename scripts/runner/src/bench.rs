//! `make bench`: boots the `bench` image on qemu-virt under
//! `-icount shift=0,align=off,sleep=off` (one instruction per virtual nanosecond, no
//! sleeping: counts are exact and repeat run after run), collects the `bench NAME N`
//! lines the `bench` program prints, writes `target/bench/ipc.json` and prints a table
//! against the targets.

use crate::boards::{self, Boot};
use crate::{bootimage, build_kernel, qemu, workspace_root};
use std::fmt::Write as _;
use std::time::Duration;

/// QEMU virt, deterministic.
pub const ICOUNT_BOOT: Boot = Boot {
    label: "qemu-virt-icount",
    machine: &["-M", "virt", "-cpu", "cortex-a53", "-m", "256M", "-icount", "shift=0,align=off,sleep=off"],
    raw_image: false,
    entry_el: 1,
};

/// Each benchmark's target (instructions), from the project's goals (seL4 in brackets).
const TARGETS: &[(&str, u64, &str)] = &[
    ("null_syscall", 40, "seL4 91"),
    ("null_msg_roundtrip", 200, "seL4 406"),
    ("null_msg_roundtrip_separate", 0, "plain MsgReply + MsgReceive server loop"),
    ("null_msg_roundtrip_fixed_priority", 0, "no inheritance: the difference is PI's cost"),
    ("msg_256b_roundtrip", 0, ""),
    ("msg_4k_roundtrip", 800, ""),
    ("pulse_to_blocked_receiver", 200, "seL4 ≈566 (signal)"),
    ("yield_pair", 200, "seL4 329"),
    ("irq_to_user_thread", 300, ""),
    ("irq_to_user_thread_pulse", 0, "the same, the driver in MsgReceivePulse"),
    ("pipe_roundtrip_1b", 1500, "Linux ≈15,000"),
    ("mq_roundtrip_1b", 1500, ""),
    ("pipe_throughput_64k", 0, "per 64 KiB moved"),
];

/// The `bench NAME N` lines of `log`, in order.
pub fn parse(log: &str) -> Vec<(String, u64)> {
    log.lines()
        .filter_map(|l| {
            let mut words = l.trim().strip_prefix("bench ")?.split_whitespace();
            let (name, value) = (words.next()?, words.next()?.parse().ok()?);
            words.next().is_none().then(|| (name.to_string(), value))
        })
        .collect()
}

/// `{"name": value, ...}` in the order given.
pub fn to_json(results: &[(String, u64)]) -> String {
    let mut out = String::from("{\n");
    for (i, (name, value)) in results.iter().enumerate() {
        let comma = if i + 1 < results.len() { "," } else { "" };
        let _ = writeln!(out, "  \"{name}\": {value}{comma}");
    }
    out.push_str("}\n");
    out
}

/// Runs the benchmarks and writes the results.
pub fn run() -> Result<(), String> {
    let board = boards::find("qemu-virt").expect("qemu-virt exists");
    let image = bootimage::build("bench")?;
    let kernel = build_kernel(&board, None, "bench", Some(&image))?;
    let outcome = qemu::run_captured(&ICOUNT_BOOT, &kernel, Duration::from_secs(300)).map_err(|e| e.to_string())?;
    let results = parse(&outcome.log);
    if outcome.exit_code != Some(0) || !outcome.log.contains("bench done") {
        return Err(format!("the benchmark run did not finish (exit {:?}):\n{}", outcome.exit_code, outcome.log));
    }
    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ipc.json"), to_json(&results)).map_err(|e| e.to_string())?;
    println!("{:<28} {:>12} {:>8}  reference", "benchmark", "instructions", "target");
    for (name, value) in &results {
        let (target, reference) = TARGETS
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, t, r)| (if *t == 0 { "-".to_string() } else { format!("≤ {t}") }, *r))
            .unwrap_or(("-".into(), ""));
        println!("{name:<34} {value:>12} {target:>8}  {reference}");
    }
    let value = |wanted: &str| results.iter().find(|(name, _)| name == wanted).map(|(_, v)| *v as i64);
    if let (Some(with), Some(without)) = (value("null_msg_roundtrip"), value("null_msg_roundtrip_fixed_priority")) {
        println!(
            "{:<34} {:>12} {:>8}  null_msg_roundtrip minus its FIXED_PRIORITY twin",
            "priority inheritance's cost",
            with - without,
            "≤ 30"
        );
    }
    println!("\nwritten: {}", dir.join("ipc.json").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_lines_and_json() {
        let log = "Muon\nbench null_syscall 812\nbench yield_pair 2400\nbench broken\nbench done\n";
        let r = parse(log);
        assert_eq!(r, vec![("null_syscall".to_string(), 812), ("yield_pair".to_string(), 2400)]);
        assert_eq!(to_json(&r), "{\n  \"null_syscall\": 812,\n  \"yield_pair\": 2400\n}\n");
    }
}
