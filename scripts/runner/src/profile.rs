//! `muon-runner profile [BENCHMARK...]`: where the benchmarks' instructions go.
//!
//! Boots the `bench` image (only the named benchmarks, if any) on qemu-virt under
//! `-icount`, with QEMU logging every translated block (`-d in_asm`: how many
//! instructions it holds) and every block executed (`-d exec,nochain`), then adds up the
//! instructions per operation and per symbol inside the bench program's measured loops
//! (user code is named in every program it could be in: they share their link address),
//! and counts the executed instructions that cost more than their number says (barriers,
//! TLB maintenance, system register writes, exception entry and return). The log is large (about 700 MB for all
//! benchmarks) and is deleted afterwards.

use crate::boards;
use crate::{bench, bootimage, build_kernel, qemu, workspace_root};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// How many times the bench program's `measure` repeats an operation per measured loop.
const ITERATIONS: u64 = 1000;

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

/// The symbol `pc` lies in, if any.
fn symbol_at(symbols: &[(u64, String)], pc: u64) -> Option<&str> {
    match symbols.partition_point(|(a, _)| *a <= pc) {
        0 => None,
        i => Some(&symbols[i - 1].1),
    }
}

/// A user program of the image: its symbols and the bytes of its code.
struct Program {
    name: String,
    symbols: Vec<(u64, String)>,
    /// Executable sections: (address, bytes).
    text: Vec<(u64, Vec<u8>)>,
}

impl Program {
    fn load(name: String, elf: &[u8]) -> Result<Self, String> {
        let file = object::File::parse(elf).map_err(|e| e.to_string())?;
        let text = file
            .sections()
            .filter(|s| s.kind() == SectionKind::Text)
            .filter_map(|s| Some((s.address(), s.data().ok()?.to_vec())))
            .collect();
        Ok(Self { name, symbols: symbols(elf)?, text })
    }

    /// Whether its code at `address` is the instruction `word`.
    fn has(&self, address: u64, word: u32) -> bool {
        self.text.iter().any(|(start, bytes)| {
            let Some(at) = address.checked_sub(*start).map(|o| o as usize) else { return false };
            bytes.get(at..at + 4).is_some_and(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) == word)
        })
    }
}

/// Which program a user block is from (the programs share their link address, so the
/// address alone does not say; the instructions do), or `None` if none matches.
fn program_of<'a>(programs: &'a [Program], words: &[(u64, u32)]) -> Option<&'a Program> {
    programs.iter().find(|p| words.iter().all(|&(address, word)| p.has(address, word)))
}

/// A block as its translation is logged: where it starts, its size, its COSTLY
/// instructions, and its first instruction words (address, word).
#[derive(Default)]
struct Logged {
    pc: u64,
    instructions: u64,
    special: [u64; COSTLY.len()],
    words: Vec<(u64, u32)>,
}

/// A translated block: where it starts, its size, its COSTLY instructions, and what
/// code it is.
#[derive(Clone)]
struct Block {
    pc: u64,
    instructions: u64,
    special: [u64; COSTLY.len()],
    name: String,
    bench: bool,
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
    // Per user program: its symbols, to name hot user blocks.
    let mut programs: Vec<Program> = Vec::new();
    for line in manifest.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let word = line.split_whitespace().next().unwrap_or_default();
        let binary = word.split_once('=').map_or(word, |(_, b)| b).to_string();
        if programs.iter().all(|p| p.name != binary) {
            if let Ok(elf) = std::fs::read(bootimage::elf_path(&binary)) {
                programs.push(Program::load(binary, &elf)?);
            }
        }
    }
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
    // The bench program marks its measured loops: only what runs inside them counts.
    let marker = |name: &str| {
        let bench = programs.iter().find(|p| p.name == "bench")?;
        bench.symbols.iter().find(|(_, n)| n == name).map(|(a, _)| *a)
    };
    let (Some(loop_starts), Some(loop_ends)) = (marker("measured_loop_starts"), marker("measured_loop_ends")) else {
        return Err("the bench program has no measured_loop_starts/ends symbols".into());
    };
    let (mut inside, mut loops) = (false, 0u64);
    let file = std::fs::File::open(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    // Translated blocks by QEMU's host address for them (unique while the block lives; a
    // new translation there is logged before it runs).
    let mut blocks = HashMap::<u64, Block>::new();
    let mut costly_total = [0u64; COSTLY.len()];
    let mut per_block = HashMap::<(u64, String), u64>::new();
    // The block being logged: its first address, size, COSTLY counts, first words.
    let mut pending: Option<Logged> = None;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("IN:") {
            pending = Some(Logged::default());
        } else if let Some((hex, text)) = line.strip_prefix("0x").and_then(|l| l.split_once(':')) {
            let Some(logged) = pending.as_mut() else { continue };
            let address = u64::from_str_radix(hex, 16).unwrap_or(0);
            if logged.instructions == 0 {
                logged.pc = address;
            }
            logged.instructions += 1;
            if let Some(i) = costly(text) {
                logged.special[i] += 1;
            }
            if logged.words.len() < 4 {
                if let Some(word) = text.split_whitespace().next().and_then(|w| u32::from_str_radix(w, 16).ok()) {
                    logged.words.push((address, word));
                }
            }
        } else if let Some(rest) = line.strip_prefix("Trace ") {
            let host =
                rest.split_whitespace().nth(1).and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok());
            let Some(host) = host else { continue };
            if let Some(Logged { pc, instructions, special, words }) = pending.take().filter(|p| p.instructions > 0) {
                let (name, bench) = if pc >= 0xffff_0000_0000_0000 {
                    (symbol_at(&symbols, pc).unwrap_or("?").to_string(), false)
                } else {
                    match program_of(&programs, &words) {
                        Some(p) => {
                            (format!("{}:{}", p.name, symbol_at(&p.symbols, pc).unwrap_or("?")), p.name == "bench")
                        }
                        None => ("(user space, unknown)".to_string(), false),
                    }
                };
                blocks.insert(host, Block { pc, instructions, special, name, bench });
            }
            let Some(block) = blocks.get(&host) else { continue };
            if block.bench && block.pc == loop_starts {
                (inside, loops) = (true, loops + 1);
            } else if block.bench && block.pc == loop_ends {
                inside = false;
            }
            if !inside {
                continue;
            }
            *per_block.entry((block.pc, block.name.clone())).or_default() += block.instructions;
            costly_total.iter_mut().zip(block.special).for_each(|(total, n)| *total += n);
        }
    }
    if std::env::var_os("MUON_PROFILE_KEEP_LOG").is_none() {
        let _ = std::fs::remove_file(&log);
    }
    if loops == 0 {
        return Err("no measured loop ran".into());
    }
    // Per operation: each measured loop runs the operation ITERATIONS times.
    let ops = (loops * ITERATIONS) as f64;
    let mut per_symbol = HashMap::<&str, u64>::new();
    for ((_, name), &n) in &per_block {
        *per_symbol.entry(name).or_default() += n;
    }
    let total: u64 = per_symbol.values().sum();
    let mut rows: Vec<_> = per_symbol.into_iter().collect();
    rows.sort_by_key(|row| row.0);
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    println!("\n{:>10} {:>6}  symbol (per operation, {loops} measured loops)", "instr/op", "share");
    for (name, n) in rows.iter().take(40) {
        println!("{:>10.1} {:>5.1}%  {name}", *n as f64 / ops, 100.0 * *n as f64 / total.max(1) as f64);
    }
    println!("{:>10.1} total", total as f64 / ops);
    // MUON_PROFILE_BLOCKS=N also lists the N hottest translated blocks (start address).
    if let Some(n) = std::env::var("MUON_PROFILE_BLOCKS").ok().and_then(|v| v.parse::<usize>().ok()) {
        let mut hot: Vec<_> = per_block.into_iter().collect();
        hot.sort_by_key(|row| std::cmp::Reverse(row.1));
        println!("\n{:>10}  block (start address, symbol)", "instr/op");
        for ((pc, name), count) in hot.into_iter().take(n) {
            println!("{:>10.1}  {pc:#x} {name}", count as f64 / ops);
        }
    }
    println!("\n{:>10}  costly instructions per operation", "executed");
    for (name, n) in COSTLY.iter().zip(costly_total) {
        println!("{:>10.2}  {name}", n as f64 / ops);
    }
    Ok(())
}
