//! Boot images: from a manifest (`user-apps/images/<image>.manifest`) to
//! `target/bootimage/<image>.img`, the file the kernel build links in through
//! `MUON_BOOT_IMAGE` (`abi::bootimage`, Muon's IFS).
//!
//! A manifest lists one program per line, in start order:
//!
//! ```text
//! # <program> <priority 1-255> <fifo|rr> <boot|respawn|spawn> [args...]
//! hello 10 rr boot first-argument second-argument
//! ```
//!
//! * `program`: a user-apps crate whose binary has the same name, or `name=crate` for
//!   crate `crate`'s binary under another name (a multi-call program; its data is stored
//!   once however many names it has) (at most 24 bytes of
//!   ASCII letters, digits, `-` and `_`);
//! * `priority` and policy (`fifo` or `rr`, round robin): its first thread's scheduling;
//! * `boot`: started at boot (`abi::bootimage::START_AT_BOOT`); the first `boot` line
//!   becomes pid 1, the one privileged process (proc), which starts the others in order.
//!   `respawn`: started at boot and again by proc whenever it ends (`RESPAWN`; a
//!   console's shell). `spawn`: started only on request (a spawn message to proc);
//! * `args`: its arguments after `argv[0]`, separated by whitespace (no quoting).
//!
//! `#` starts a comment that runs to the end of the line; blank lines are ignored. A
//! program may be listed more than once (with different arguments, say); it is built once.
//!
//! Building an image: every distinct program is built with
//! `cargo build --release --target aarch64-unknown-none --target-dir target/user` (the
//! system servers of [`NO_FP_PROGRAMS`] for `aarch64-unknown-none-softfloat`), each
//! ELF's `PT_LOAD` segments (address, memory size, R/W/X, file bytes) are taken as they
//! are, and the entries are packed with `abi::bootimage::writer::write`. The result is
//! parsed back with `abi::bootimage::BootImage::parse` before it is written.

use abi::bootimage::writer::{self, ProgramSpec, SegmentSpec};
use abi::bootimage::{self as format, BootImage, RESPAWN, START_AT_BOOT};
use abi::sched::{Policy, MIN_USER_PRIORITY};
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{elf, Endianness};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Rust target user programs are built for (hard-float: user code may use FP/SIMD).
pub const USER_TARGET: &str = "aarch64-unknown-none";

/// The target of the programs in [`NO_FP_PROGRAMS`]: no FP/SIMD instruction at all.
pub const NO_FP_TARGET: &str = "aarch64-unknown-none-softfloat";

/// System servers built for [`NO_FP_TARGET`]. Rust code copies and zeroes memory with
/// SIMD registers, so a hard-float server would take the FP/SIMD registers over on most
/// switches between it and its clients (512 bytes saved and loaded each time); built
/// soft-float, it never touches them, and a client's stay live while the server runs. They
/// do no floating-point arithmetic (it would be done in software).
pub const NO_FP_PROGRAMS: &[&str] = &["proc", "pipe", "mqueue", "console", "ramfs"];

/// Where the ELF of `program` is once built.
pub fn elf_path(program: &str) -> PathBuf {
    let target = if NO_FP_PROGRAMS.contains(&program) { NO_FP_TARGET } else { USER_TARGET };
    crate::workspace_root().join("target/user").join(target).join("release").join(program)
}
/// The image `run`, `image`, `gdb` and `bootimage` use unless told otherwise.
pub const DEFAULT_IMAGE: &str = "default";
/// Longest argument block the boot path accepts.
const MAX_ARGUMENT_BLOCK: usize = 4096;
/// The granule the kernel maps segments in.
const PAGE_SIZE: u64 = 4096;

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The program's name in the image.
    pub program: String,
    /// The crate (and binary) it is built from: the same name, unless the manifest says
    /// `name=crate` (one multi-call binary under several names, like busybox).
    pub binary: String,
    /// Its first thread's priority.
    pub priority: u8,
    /// Its first thread's policy.
    pub policy: Policy,
    /// Started at boot rather than on request.
    pub start_at_boot: bool,
    /// Started again by proc whenever it ends (`respawn`: a console's shell).
    pub respawn: bool,
    /// Its arguments after `argv[0]`.
    pub arguments: Vec<String>,
}

impl Entry {
    /// The argument block the image stores: each argument followed by a NUL byte.
    fn argument_block(&self) -> Vec<u8> {
        let mut block = Vec::new();
        for argument in &self.arguments {
            block.extend_from_slice(argument.as_bytes());
            block.push(0);
        }
        block
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses a manifest (format in the module documentation).
pub fn parse_manifest(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_error = |message: String| format!("line {}: {message}", index + 1);
        let content = line.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(named) = fields.next() else {
            continue;
        };
        let (program, binary) = named.split_once('=').unwrap_or((named, named));
        let (Some(priority), Some(policy), Some(start)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(line_error(
                "expected `<program> <priority 1-255> <fifo|rr> <boot|respawn|spawn> [args...]`".into(),
            ));
        };
        if !valid_name(program) || program.len() > format::NAME_LEN || !valid_name(binary) {
            return Err(line_error(format!(
                "bad program name {named:?} (at most {} ASCII letters, digits, `-` and `_`, optionally `=crate`)",
                format::NAME_LEN
            )));
        }
        let priority = priority
            .parse::<u8>()
            .ok()
            .filter(|p| *p >= MIN_USER_PRIORITY)
            .ok_or_else(|| line_error(format!("priority must be 1-255, not {priority:?}")))?;
        let policy = match policy {
            "fifo" => Policy::Fifo,
            "rr" => Policy::RoundRobin,
            other => return Err(line_error(format!("unknown policy {other:?} (fifo or rr)"))),
        };
        let (start_at_boot, respawn) = match start {
            "boot" => (true, false),
            "respawn" if !entries.iter().any(|e: &Entry| e.start_at_boot) => {
                return Err(line_error("the first started program, pid 1 (proc), cannot be started again".into()))
            }
            "respawn" => (true, true),
            "spawn" => (false, false),
            other => return Err(line_error(format!("expected boot, respawn or spawn, not {other:?}"))),
        };
        let entry = Entry {
            program: program.to_string(),
            binary: binary.to_string(),
            priority,
            policy,
            start_at_boot,
            respawn,
            arguments: fields.map(str::to_string).collect(),
        };
        let block = entry.argument_block().len();
        if block > MAX_ARGUMENT_BLOCK {
            return Err(line_error(format!("arguments take {block} bytes, more than {MAX_ARGUMENT_BLOCK}")));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err("the manifest lists no program".into());
    }
    if !entries.iter().any(|e| e.start_at_boot) {
        return Err("no `boot` program: the first `boot` line becomes pid 1".into());
    }
    Ok(entries)
}

/// One loadable segment of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSegment {
    /// Virtual address of its first byte.
    pub vaddr: u64,
    /// Size in memory (past `data`: zero-filled).
    pub mem_size: u64,
    /// `abi::bootimage::flags` bits.
    pub flags: u32,
    /// Its bytes in the file.
    pub data: Vec<u8>,
}

/// What the image needs of a program's ELF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedProgram {
    /// Entry point.
    pub entry: u64,
    /// Loadable segments, in address order.
    pub segments: Vec<LoadSegment>,
}

/// The entry point and `PT_LOAD` segments of a static AArch64 executable, checked the
/// way the kernel will: inside `USER_IMAGE_BASE..USER_ANON_BASE`, no two segments in one
/// page, none both writable and executable, the entry in an executable segment.
pub fn load_elf(bytes: &[u8]) -> Result<LoadedProgram, String> {
    let file = ElfFile64::<Endianness>::parse(bytes).map_err(|e| format!("not an ELF64 file: {e}"))?;
    let endian = file.endian();
    let header = file.elf_header();
    if header.e_machine(endian) != elf::EM_AARCH64 {
        return Err("not an AArch64 program".into());
    }
    if header.e_type(endian) != elf::ET_EXEC {
        return Err("not a static executable (position-independent or relocatable)".into());
    }
    let program_headers = header.program_headers(endian, bytes).map_err(|e| e.to_string())?;
    let mut segments = Vec::new();
    for program_header in program_headers {
        let kind = program_header.p_type(endian);
        if kind == elf::PT_TLS || kind == elf::PT_INTERP || kind == elf::PT_DYNAMIC {
            return Err(format!(
                "segment type {kind:#x} is not supported (no thread-local storage, no dynamic linking)"
            ));
        }
        if kind != elf::PT_LOAD || program_header.p_memsz(endian) == 0 {
            continue;
        }
        let vaddr = program_header.p_vaddr(endian);
        let mem_size = program_header.p_memsz(endian);
        let data =
            program_header.data(endian, bytes).map_err(|_| format!("segment at {vaddr:#x} lies outside the file"))?;
        if data.len() as u64 > mem_size {
            return Err(format!("segment at {vaddr:#x} has more file bytes than memory"));
        }
        vaddr
            .checked_add(mem_size)
            .filter(|end| vaddr >= abi::USER_IMAGE_BASE as u64 && *end <= abi::USER_ANON_BASE as u64)
            .ok_or_else(|| {
                format!(
                    "segment at {vaddr:#x} (+{mem_size:#x}) is outside {:#x}..{:#x}",
                    abi::USER_IMAGE_BASE,
                    abi::USER_ANON_BASE
                )
            })?;
        let elf_flags = program_header.p_flags(endian);
        let mut flags = 0;
        for (elf_flag, image_flag) in
            [(elf::PF_R, format::flags::READ), (elf::PF_W, format::flags::WRITE), (elf::PF_X, format::flags::EXECUTE)]
        {
            if elf_flags.contains(elf_flag) {
                flags |= image_flag;
            }
        }
        if flags & format::flags::WRITE != 0 && flags & format::flags::EXECUTE != 0 {
            return Err(format!("segment at {vaddr:#x} is both writable and executable"));
        }
        segments.push(LoadSegment { vaddr, mem_size, flags, data: data.to_vec() });
    }
    if segments.is_empty() {
        return Err("no loadable segment".into());
    }
    segments.sort_by_key(|s| s.vaddr);
    for pair in segments.windows(2) {
        let first_end_page = (pair[0].vaddr + pair[0].mem_size).div_ceil(PAGE_SIZE);
        if first_end_page > pair[1].vaddr / PAGE_SIZE {
            return Err(format!(
                "segments at {:#x} and {:#x} share a page (each needs its own permissions)",
                pair[0].vaddr, pair[1].vaddr
            ));
        }
    }
    let entry = header.e_entry(endian);
    let entry_is_code = segments
        .iter()
        .any(|s| s.flags & format::flags::EXECUTE != 0 && (s.vaddr..s.vaddr + s.mem_size).contains(&entry));
    if !entry_is_code {
        return Err(format!("entry point {entry:#x} is not in an executable segment"));
    }
    Ok(LoadedProgram { entry, segments })
}

/// The image of `entries` (in start order), with each program's segments taken from
/// `programs`; parsed back before it is returned.
pub fn pack(entries: &[Entry], programs: &BTreeMap<String, LoadedProgram>) -> Result<Vec<u8>, String> {
    let blocks: Vec<Vec<u8>> = entries.iter().map(Entry::argument_block).collect();
    let mut specs = Vec::new();
    for (entry, block) in entries.iter().zip(&blocks) {
        let program = programs.get(&entry.binary).ok_or_else(|| format!("program {} was not built", entry.binary))?;
        specs.push(ProgramSpec {
            name: &entry.program,
            priority: entry.priority,
            policy: entry.policy as u8,
            flags: if entry.start_at_boot { START_AT_BOOT } else { 0 } | if entry.respawn { RESPAWN } else { 0 },
            entry: program.entry,
            args: block,
            segments: program
                .segments
                .iter()
                .map(|s| SegmentSpec { vaddr: s.vaddr, mem_size: s.mem_size, flags: s.flags, data: &s.data })
                .collect(),
        });
    }
    let image = writer::write(&specs).map_err(|e| format!("cannot pack the image: {e:?}"))?;
    let parsed = BootImage::parse(&image).map_err(|e| format!("the packed image does not parse: {e:?}"))?;
    if parsed.len() != entries.len() {
        return Err(format!("the packed image holds {} programs, not {}", parsed.len(), entries.len()));
    }
    Ok(image)
}

/// Builds boot image `name` from `user-apps/images/<name>.manifest` into
/// `target/bootimage/<name>.img`; returns that file's absolute path.
pub fn build(name: &str) -> Result<PathBuf, String> {
    if !valid_name(name) {
        return Err(format!("bad image name {name:?}"));
    }
    let manifest_path = crate::workspace_root().join("user-apps/images").join(format!("{name}.manifest"));
    let text =
        std::fs::read_to_string(&manifest_path).map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
    build_from(name, &text).map_err(|e| format!("{}: {e}", manifest_path.display()))
}

/// Builds boot image `name` from manifest `text` into `target/bootimage/<name>.img`.
pub fn build_from(name: &str, text: &str) -> Result<PathBuf, String> {
    let root = crate::workspace_root();
    let entries = parse_manifest(text)?;
    let mut names: Vec<&str> = entries.iter().map(|e| e.binary.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    build_programs(&names)?;
    let mut programs = BTreeMap::new();
    for program in names {
        let path = elf_path(program);
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let loaded = load_elf(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        programs.insert(program.to_string(), loaded);
    }
    let image = pack(&entries, &programs)?;
    let dir = root.join("target/bootimage");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.img"));
    std::fs::write(&path, &image).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let listed: Vec<&str> = entries.iter().map(|e| e.program.as_str()).collect();
    eprintln!("boot image {name}: {} ({} KiB: {})", path.display(), image.len().div_ceil(1024), listed.join(", "));
    Ok(path)
}

/// Builds `programs`, each for its target (see [`elf_path`]).
fn build_programs(programs: &[&str]) -> Result<(), String> {
    let target_dir = crate::workspace_root().join("target/user");
    let (no_fp, fp): (Vec<&str>, Vec<&str>) = programs.iter().partition(|p| NO_FP_PROGRAMS.contains(p));
    for (target, group) in [(USER_TARGET, fp), (NO_FP_TARGET, no_fp)] {
        if group.is_empty() {
            continue;
        }
        let mut cmd = crate::cargo();
        cmd.args(["build", "--release", "--target", target]).arg("--target-dir").arg(&target_dir);
        for program in &group {
            cmd.args(["-p", program]);
        }
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building {} failed", group.join(", ")));
        }
    }
    Ok(())
}

/// Every image with a manifest in `user-apps/images`, by name.
pub fn manifests() -> Result<Vec<String>, String> {
    let dir = crate::workspace_root().join("user-apps/images");
    let listing = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut names: Vec<String> = listing.filter_map(|entry| image_name(&entry.ok()?.path())).collect();
    names.sort();
    Ok(names)
}

/// The image a manifest file describes (`<name>.manifest`).
fn image_name(path: &Path) -> Option<String> {
    if path.extension()? != "manifest" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_elf::{Elf, Segment};
    use abi::bootimage::flags::{EXECUTE, READ, WRITE};

    fn entry(program: &str, start_at_boot: bool, arguments: &[&str]) -> Entry {
        Entry {
            program: program.into(),
            binary: program.into(),
            priority: 10,
            policy: Policy::RoundRobin,
            start_at_boot,
            respawn: false,
            arguments: arguments.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn manifests_list_programs_in_start_order() {
        let text = "# the default image\n\
                    \n\
                    init 30 fifo boot -v   # pid 1\n\
                    \thello   10 rr spawn a b\n\
                    hello 12 rr boot\n\
                    cat=utils 10 rr spawn\n";
        let entries = parse_manifest(text).unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    program: "init".into(),
                    binary: "init".into(),
                    priority: 30,
                    policy: Policy::Fifo,
                    start_at_boot: true,
                    respawn: false,
                    arguments: vec!["-v".into()],
                },
                entry("hello", false, &["a", "b"]),
                Entry { priority: 12, ..entry("hello", true, &[]) },
                Entry { binary: "utils".into(), ..entry("cat", false, &[]) },
            ]
        );
        assert!(parse_manifest("cat=ut/ils 10 rr boot\n").is_err());
        assert_eq!(entries[1].argument_block(), b"a\0b\0");
    }

    #[test]
    fn bad_priorities_are_refused() {
        for bad in ["0", "256", "-1", "ten", "1.5"] {
            let error = parse_manifest(&format!("hello {bad} rr boot")).unwrap_err();
            assert!(error.contains("line 1: priority must be 1-255"), "{error}");
        }
        assert!(parse_manifest("hello 1 rr boot").is_ok());
        assert!(parse_manifest("hello 255 rr boot").is_ok());
    }

    #[test]
    fn unknown_policies_and_start_modes_are_refused() {
        let error = parse_manifest("hello 10 rr boot\nx 10 sporadic boot").unwrap_err();
        assert!(error.contains("line 2: unknown policy \"sporadic\""), "{error}");
        let error = parse_manifest("hello 10 fifo later").unwrap_err();
        assert!(error.contains("expected boot, respawn or spawn"), "{error}");
        let error = parse_manifest("init 10 rr spawn\nproc 10 rr respawn").unwrap_err();
        assert!(error.contains("line 2: the first started program, pid 1"), "{error}");
        let entries = parse_manifest("proc 10 rr boot\nshell 10 rr respawn").unwrap();
        assert!(entries[1].start_at_boot && entries[1].respawn);
        let error = parse_manifest("hello 10 fifo").unwrap_err();
        assert!(error.contains("line 1: expected `<program>"), "{error}");
    }

    #[test]
    fn empty_and_comment_only_manifests_are_refused() {
        assert!(parse_manifest("").unwrap_err().contains("no program"));
        assert!(parse_manifest("# nothing\n   \n# here\n").unwrap_err().contains("no program"));
        let error = parse_manifest("hello 10 rr spawn").unwrap_err();
        assert!(error.contains("no `boot` program"), "{error}");
    }

    #[test]
    fn bad_names_and_long_arguments_are_refused() {
        let long_name = "a".repeat(format::NAME_LEN + 1);
        assert!(parse_manifest(&format!("{long_name} 10 rr boot")).is_err());
        assert!(parse_manifest(&format!("{} 10 rr boot", "a".repeat(format::NAME_LEN))).is_ok());
        assert!(parse_manifest("../x 10 rr boot").is_err());
        let long_argument = "x".repeat(MAX_ARGUMENT_BLOCK);
        let error = parse_manifest(&format!("hello 10 rr boot {long_argument}")).unwrap_err();
        assert!(error.contains("more than 4096"), "{error}");
    }

    /// A program laid out as `linker/user.ld` does: text, rodata, data + bss.
    fn user_program() -> Elf<'static> {
        let mut elf = Elf::aarch64_executable(0x40_0000);
        elf.segments = vec![
            Segment::load(0x40_0000, elf::PF_R | elf::PF_X, b"CODECODE", 8),
            Segment::load(0x40_1000, elf::PF_R, b"text", 4),
            Segment::load(0x40_2000, elf::PF_R | elf::PF_W, b"D", 0x140),
            Segment::load(0x40_3000, elf::PF_R, b"", 0),
        ];
        elf
    }

    #[test]
    fn elf_segments_keep_their_addresses_sizes_and_permissions() {
        let loaded = load_elf(&user_program().bytes()).unwrap();
        assert_eq!(loaded.entry, 0x40_0000);
        let summary: Vec<_> =
            loaded.segments.iter().map(|s| (s.vaddr, s.mem_size, s.flags, s.data.as_slice())).collect();
        assert_eq!(
            summary,
            [
                (0x40_0000, 8, READ | EXECUTE, &b"CODECODE"[..]),
                (0x40_1000, 4, READ, &b"text"[..]),
                (0x40_2000, 0x140, READ | WRITE, &b"D"[..]),
            ]
        );
    }

    #[test]
    fn unusable_elves_are_refused() {
        let refused = |elf: Elf<'_>, why: &str| {
            let error = load_elf(&elf.bytes()).unwrap_err();
            assert!(error.contains(why), "{error:?} should say {why:?}");
        };
        refused(Elf { elf_type: elf::ET_DYN, ..user_program() }, "not a static executable");
        refused(Elf { machine: elf::EM_X86_64, ..user_program() }, "not an AArch64 program");
        refused(Elf { entry: 0x40_1000, ..user_program() }, "not in an executable segment");
        let mut writable_code = user_program();
        writable_code.segments[0].flags = elf::PF_R | elf::PF_W | elf::PF_X;
        refused(writable_code, "both writable and executable");
        let mut kernel_half = user_program();
        kernel_half.segments[2].vaddr = 0xffff_0000_0000_0000;
        refused(kernel_half, "is outside");
        let mut below_base = user_program();
        below_base.segments[1].vaddr = 0x1000;
        refused(below_base, "is outside");
        let mut shared_page = user_program();
        shared_page.segments[1].vaddr = 0x40_0800;
        refused(shared_page, "share a page");
        let mut thread_local = user_program();
        thread_local.segments[3].kind = elf::PT_TLS;
        refused(thread_local, "not supported");
        refused(Elf::aarch64_executable(0x40_0000), "no loadable segment");
        assert!(load_elf(b"\x7fELF but not really").is_err());
    }

    #[test]
    fn packed_images_parse_back_with_every_field() {
        let mut programs = BTreeMap::new();
        programs.insert("hello".to_string(), load_elf(&user_program().bytes()).unwrap());
        let entries = [
            entry("hello", true, &["one", "two"]),
            Entry { priority: 40, policy: Policy::Fifo, ..entry("hello", false, &[]) },
        ];
        let bytes = pack(&entries, &programs).unwrap();
        let image = BootImage::parse(&bytes).unwrap();
        assert_eq!(image.len(), 2);
        let first = image.program(0).unwrap();
        assert_eq!(
            (first.name, first.priority, first.policy, first.flags),
            ("hello", 10, Policy::RoundRobin as u8, START_AT_BOOT)
        );
        assert_eq!((first.entry, first.args), (0x40_0000, &b"one\0two\0"[..]));
        let segments: Vec<_> = first.segments().map(|s| (s.vaddr, s.mem_size, s.flags, s.data)).collect();
        assert_eq!(
            segments,
            [
                (0x40_0000, 8, READ | EXECUTE, &b"CODECODE"[..]),
                (0x40_1000, 4, READ, &b"text"[..]),
                (0x40_2000, 0x140, READ | WRITE, &b"D"[..]),
            ]
        );
        let second = image.program(1).unwrap();
        assert_eq!((second.priority, second.policy, second.flags, second.args), (40, Policy::Fifo as u8, 0, &b""[..]));
        assert_eq!(second.segment_count(), 3);

        let missing = pack(&[entry("absent", true, &[])], &programs).unwrap_err();
        assert!(missing.contains("absent was not built"), "{missing}");
    }
}
