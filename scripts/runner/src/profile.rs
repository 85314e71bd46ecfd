//! `muon-runner profile [BENCHMARK...]`: where the benchmarks' instructions go.
//!
//! Boots the `bench` image (only the named benchmarks, if any) on qemu-virt under
//! `-icount`, with QEMU logging every translated block (`-d in_asm`: how many
//! instructions it holds) and every block executed (`-d exec,nochain`), then adds up the
//! instructions per kernel symbol (user code counts as one line), and counts the executed
//! instructions that cost more than their number says (barriers, TLB maintenance, system
//! register writes, exception entry and return). The log is large (about 700 MB for all
//! benchmarks) and is deleted afterwards.

use crate::boards;
use crate::{bench, bootimage, build_kernel, qemu, workspace_root};
use object::{Object, ObjectSymbol, SymbolKind};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// Mnemonics counted separately: each costs far more cycles than one instruction.
const COSTLY: [&str; 7] = ["isb", "dsb", "dmb", "tlbi", "msr", "svc", "eret"];

/// Which of `COSTLY` the disassembled line `text` (after the address) is, if any.
fn costly(text: &str) -> Option<usize> {
    let mnemonic = text.split_whitespace().nth(1)?;
    COSTLY.iter().position(|c| *c == mnemonic)
}

/// Kernel text symbols as (start, name), sorted.
fn symbols(elf: &[u8]) -> Result<Vec<(u64, String)>, String> {
    let file = object::File::parse(elf).map_err(|e| e.to_string())?;
    let mut out: Vec<(u64, String)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), format!("{:#}", rustc_demangle::demangle(s.name().ok()?)))))
        .collect();
    out.sort();
    Ok(out)
}

fn owner(symbols: &[(u64, String)], pc: u64) -> &str {
    if pc < 0xffff_0000_0000_0000 {
        return "(user space)";
    }
    match symbols.partition_point(|(a, _)| *a <= pc) {
        0 => "?",
        i => &symbols[i - 1].1,
    }
}

/// Runs the profile and prints the top symbols.
pub fn run(benchmarks: &[String]) -> Result<(), String> {
    let manifest =
        std::fs::read_to_string(workspace_root().join("user-apps/images/bench.manifest")).map_err(|e| e.to_string())?;
    let manifest: String = manifest
        .lines()
        .map(|l| {
            if l.starts_with("bench ") && l.contains(" boot") {
                format!("{l} {}\n", benchmarks.join(" "))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let image = bootimage::build_from("profile", &manifest)?;
    let board = boards::find("qemu-virt").expect("qemu-virt exists");
    let kernel = build_kernel(&board, None, "profile", Some(&image))?;
    let symbols = symbols(&std::fs::read(&kernel).map_err(|e| e.to_string())?)?;
    let log = workspace_root().join("target/profile/exec.log");
    let mut boot = bench::ICOUNT_BOOT;
    let mut machine: Vec<&'static str> = boot.machine.to_vec();
    let log_arg: &'static str = Box::leak(log.display().to_string().into_boxed_str());
    machine.extend(["-d", "exec,nochain,in_asm", "-D", log_arg]);
    boot.machine = Box::leak(machine.into_boxed_slice());
    let outcome = qemu::run_captured(&boot, &kernel, Duration::from_secs(600)).map_err(|e| e.to_string())?;
    for (name, value) in bench::parse(&outcome.log) {
        println!("bench {name} {value}");
    }
    let file = std::fs::File::open(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    // Per translated block: its instruction count and how many of each COSTLY mnemonic.
    let mut blocks = HashMap::<u64, (u64, [u64; COSTLY.len()])>::new();
    let mut per_symbol = HashMap::<String, u64>::new();
    let mut costly_total = [0u64; COSTLY.len()];
    let mut per_block = HashMap::<u64, u64>::new();
    let (mut block, mut count, mut special) = (None::<u64>, 0u64, [0u64; COSTLY.len()]);
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("IN:") {
            (block, count, special) = (None, 0, [0; COSTLY.len()]);
        } else if let Some((hex, text)) = line.strip_prefix("0x").and_then(|l| l.split_once(':')) {
            block.get_or_insert(u64::from_str_radix(hex, 16).unwrap_or(0));
            count += 1;
            if let Some(i) = costly(text) {
                special[i] += 1;
            }
        } else if line.starts_with("Trace") {
            if let Some(start) = block.take() {
                blocks.insert(start, (count, special));
            }
            let pc = line.split('/').nth(1).and_then(|h| u64::from_str_radix(h, 16).ok()).unwrap_or(0);
            let (size, special) = blocks.get(&pc).copied().unwrap_or_default();
            *per_symbol.entry(owner(&symbols, pc).to_string()).or_default() += size;
            *per_block.entry(pc).or_default() += size;
            costly_total.iter_mut().zip(special).for_each(|(total, n)| *total += n);
        }
    }
    if std::env::var_os("MUON_PROFILE_KEEP_LOG").is_none() {
        let _ = std::fs::remove_file(&log);
    }
    let total: u64 = per_symbol.values().sum();
    let mut rows: Vec<_> = per_symbol.into_iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    println!("\n{:>12} {:>6}  symbol (whole run, boot included)", "instructions", "share");
    for (name, n) in rows.iter().take(30) {
        println!("{n:>12} {:>5.1}%  {name}", 100.0 * *n as f64 / total.max(1) as f64);
    }
    println!("{total:>12} total");
    // MUON_PROFILE_BLOCKS=N also lists the N hottest translated blocks (start address).
    if let Some(n) = std::env::var("MUON_PROFILE_BLOCKS").ok().and_then(|v| v.parse::<usize>().ok()) {
        let mut hot: Vec<_> = per_block.into_iter().collect();
        hot.sort_by_key(|row| std::cmp::Reverse(row.1));
        println!("\n{:>12}  block (start address, symbol)", "instructions");
        for (pc, count) in hot.into_iter().take(n) {
            println!("{count:>12}  {pc:#x} {}", owner(&symbols, pc));
        }
    }
    println!("\n{:>12}  costly instructions (whole run)", "executed");
    for (name, n) in COSTLY.iter().zip(costly_total) {
        println!("{n:>12}  {name}");
    }
    Ok(())
}
