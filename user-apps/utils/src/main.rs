//! `utils`: the default system's small programs in one binary, chosen by the name it was
//! started under (`argv[0]`; the boot image lists it as `echo=utils`, `cat=utils`, …, and
//! stores it once). Each reads its standard input and writes its standard output
//! (`userlib::io`), so they combine in shell pipelines.
//!
//! * `echo [WORD…]` — the words, separated by spaces.
//! * `cat [PATH…]` — the files, or standard input, to standard output.
//! * `ls [PATH…]` — what is in each directory (default the working directory); under `/dev/mqueue` with
//!   each queue's message count.
//! * `pidin [mem|family]` — every thread: pid, tid, name, priority and policy, state, and
//!   what it is blocked on (QNX's columns); `mem`: each process's memory; `family`: each
//!   process's parent and process group.
//! * `kill [-SIGNAL] [--] PID|-PGID…` — ends processes, or process groups (through proc).
//! * `uptime`, `free` — time since boot; RAM in use and free.
//! * `mq send NAME TEXT [PRIO] | recv NAME | create NAME | rm NAME` — message queues.
//! * `sleep SECONDS` (fractions too: `0.25`), `wc [PATH…]` (lines, words, bytes of each file, or of standard input).
//! * `true`, `false` — end with status 0 and 1.
//! * `rm PATH…`, `touch PATH…`, `mkfifo PATH…`, `cp FROM TO` — remove, create, make a
//!   named pipe, copy a file. `rm` removes no directory (ramfs says `EPERM`, `rm` that
//!   it is a directory).
//! * `mkdir DIR…`, `rmdir DIR…` — make directories; remove empty ones (`ENOTEMPTY` while
//!   one holds something, `ENOTDIR` for a file).
//! * `mv FROM TO`, `mv FROM… DIR` — rename (POSIX's `rename`: a file TO is replaced); into
//!   DIR under each one's own name when the last operand is a directory. Both must be one
//!   server's (`EXDEV` otherwise: nothing is copied, `cp` and `rm` do that).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use userlib::abi::info::{ThreadInfo, ThreadStateCode};
use userlib::abi::sched::Policy;
use userlib::msg::{file_kind, open_flags};
use userlib::{eprintln, fs, info, io, mq, print, println, proc, process, time, Args, Errno};

userlib::entry!(main);

fn main(args: Args) -> i32 {
    // POSIX's `true` and `false` take no options and ignore their arguments.
    match args.program() {
        "true" => return 0,
        "false" => return 1,
        _ => {}
    }
    let mut words: Vec<&str> = args.iter().skip(1).collect();
    // None of them takes options: `ls -l` reported `-l: ENOENT` and listed anyway.
    let takes_dashes = matches!(args.program(), "echo" | "kill" | "mq");
    // `--` ends the options (none here): what follows is taken as it is (`rm -- -x`).
    let options_end = match words.iter().position(|w| *w == "--").filter(|_| !takes_dashes) {
        Some(at) => {
            words.remove(at);
            at
        }
        None => words.len(),
    };
    let options = &words[..options_end];
    if let Some(option) = options.iter().find(|w| w.starts_with('-') && w.len() > 1).filter(|_| !takes_dashes) {
        eprintln!("{}: {option}: no such option (it takes none)", args.program());
        return 2;
    }
    if matches!(args.program(), "uptime" | "free") && !words.is_empty() {
        eprintln!("{0}: usage: {0} (no arguments)", args.program());
        return 2;
    }
    let result = match args.program() {
        "echo" => echo(&words),
        "cat" => cat(&words),
        "ls" => ls(&words),
        "pidin" => pidin(&words),
        "kill" => return process::kill_utility(&words, |message| eprintln!("kill: {message}")) as i32,
        "uptime" => uptime(),
        "free" => free(),
        "mq" => mq_tool(&words),
        "sleep" => sleep(&words),
        "wc" => wc(&words),
        "rm" => rm(&words),
        "touch" => each_path(&words, "touch PATH...", |path| {
            match fs::open(path, open_flags::O_WRONLY | open_flags::O_CREAT, 0o644) {
                // A directory that is there is touched, as POSIX's touch has it (`touch
                // /tmp/d` said EISDIR).
                Err(Errno::EISDIR) if fs::read_dir(path).is_ok() => Ok(()),
                opened => opened.map(drop),
            }
        }),
        // (A server that keeps no FIFOs answers ENOSYS, "function not implemented".)
        "mkfifo" => each_path(&words, "mkfifo PATH...", |path| match fs::mkfifo(path) {
            Err(Errno::ENOSYS) => Err(format!("{}: FIFOs are made only in a file system (as /tmp)", Errno::ENOSYS)),
            made => made.map_err(|e| format!("{e}")),
        }),
        "mkdir" => each_path(&words, "mkdir DIR...", fs::mkdir),
        "rmdir" => each_path(&words, "rmdir DIR...", fs::rmdir),
        "cp" => cp(&words),
        "mv" => mv(&words),
        other => {
            eprintln!("utils: started as {other:?}, which is none of its programs");
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{}: {message}", args.program());
            }
            // A usage error ends with 2, as POSIX utilities' do.
            if message.starts_with("usage:") {
                2
            } else {
                1
            }
        }
    }
}

/// What a program did: `Err(message)` makes it say `NAME: message` and end with status 1,
/// or 2 for a message that starts with `usage:` (an empty message: the failure was
/// reported already).
type Outcome = Result<(), String>;

fn echo(words: &[&str]) -> Outcome {
    // `-n`: no newline, as every echo takes it (POSIX leaves it to the implementation).
    let plain = words.iter().position(|w| *w != "-n").unwrap_or(words.len());
    let (newline, words) = (plain == 0, &words[plain..]);
    let mut line = words.join(" ");
    if newline {
        line.push('\n');
    }
    io::write_stdout(line.as_bytes());
    Ok(())
}

/// Feeds every chunk of `path` (standard input for none) to `each`; errors name the path.
fn read_all(path: Option<&str>, mut each: impl FnMut(&[u8])) -> Outcome {
    let name = path.unwrap_or("standard input");
    let file = match path {
        Some(path) => {
            let file = fs::open(path, open_flags::O_RDONLY, 0).map_err(|e| format!("{path}: {e}"))?;
            if file.stat().is_ok_and(|s| s.kind == file_kind::DIRECTORY) {
                return Err(format!("{path}: {}", Errno::EISDIR));
            }
            Some(file)
        }
        None => None,
    };
    let mut buffer = vec![0u8; 4096];
    loop {
        let read = match &file {
            Some(file) => file.read(&mut buffer),
            None => io::read(&mut buffer),
        };
        match read {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buffer[..n]),
            Err(e) => return Err(format!("{name}: {e}")),
        }
        if io::stdout_error().is_some() {
            // Output failed (a reader that ended: EPIPE): reading on would wait for
            // input nobody will see (`cat | echo x` kept reading the keyboard). The
            // program ends with the error's status.
            return Ok(());
        }
    }
}

fn cat(paths: &[&str]) -> Outcome {
    if paths.is_empty() {
        if userlib::env::var("STDIN").is_some_and(is_output) {
            return Err(String::from("standard input: input file is output file"));
            // (`cat < f >> f`)
        }
        return read_all(None, io::write_stdout);
    }
    // Each file in turn; one that fails is reported and the rest still go (POSIX `cat`).
    let mut failed = false;
    for path in paths {
        if is_output(path) {
            eprintln!("cat: {path}: input file is output file");
            failed = true;
            continue;
        }
        if let Err(e) = read_all(Some(path), io::write_stdout) {
            eprintln!("cat: {e}");
            failed = true;
        }
    }
    if failed {
        return Err(String::new()); // (reported above)
    }
    Ok(())
}

/// Whether `path` is a plain file that standard output names too: `cat f >> f` would copy
/// it onto its own end for ever, filling the file system (GNU cat refuses it too).
fn is_output(path: &str) -> bool {
    let Some(output) = userlib::env::var("STDOUT") else { return false };
    let (Ok(input), Ok(output)) = (userlib::msg::canonical_path(path), userlib::msg::canonical_path(output)) else {
        return false;
    };
    input == output
        && fs::open(path, open_flags::O_RDONLY, 0).and_then(|f| f.stat()).is_ok_and(|s| s.kind == file_kind::FILE)
}

/// `act` on each path, reporting each failure and going on (as POSIX's `rm` does).
fn each_path<E: core::fmt::Display>(paths: &[&str], usage: &str, act: impl Fn(&str) -> Result<(), E>) -> Outcome {
    if paths.is_empty() {
        return Err(format!("usage: {usage}"));
    }
    let mut failed = false;
    for path in paths {
        if let Err(e) = act(path) {
            eprintln!("{}: {path}: {e}", userlib::process::name());
            failed = true;
        }
    }
    if failed {
        return Err(String::new()); // (reported above)
    }
    Ok(())
}

/// `rm PATH...`: each file removed. A directory is not (POSIX's `unlink`, which ramfs
/// answers `EPERM`): that is said in words (`rm d` said only "operation not permitted").
fn rm(paths: &[&str]) -> Outcome {
    each_path(paths, "rm PATH...", |path| match fs::unlink(path) {
        Err(Errno::EPERM) if fs::read_dir(path).is_ok() => {
            Err(String::from("is a directory (`rmdir` removes an empty one)"))
        }
        removed => removed.map_err(|e| format!("{e}")),
    })
}

/// `cp FROM TO`, `cp FROM... DIR`: each FROM's bytes copied to TO (created, or
/// truncated), or into directory DIR under its own name, as POSIX's cp does.
fn cp(words: &[&str]) -> Outcome {
    let usage = "usage: cp FROM TO | cp FROM... DIR (TO: a file, or a directory to copy into)";
    each_to_target(words, usage, copy_file)
}

/// `mv FROM TO`, `mv FROM... DIR`: each FROM renamed to TO, or into directory DIR under
/// its own name (as POSIX's mv: `mv a d` with a directory `d` makes `d/a`).
fn mv(words: &[&str]) -> Outcome {
    let usage = "usage: mv FROM TO | mv FROM... DIR (TO: a new name, or a file it replaces)";
    each_to_target(words, usage, |from, target| {
        fs::rename(from, target).map_err(|e| match e {
            // (`mv d d` and `mv d d/e` said only "invalid argument".)
            Errno::EINVAL if is_within(target, from) => {
                format!("{from} to {target}: a directory cannot move into itself")
            }
            e => format!("{from} to {target}: {e}"),
        })
    })
}

/// Whether `path` names something inside `directory` (`/tmp/d/e` in `/tmp/d`), by name.
fn is_within(path: &str, directory: &str) -> bool {
    let canonical = |path: &str| userlib::msg::canonical_path(path).unwrap_or_else(|_| String::from(path));
    let (path, directory) = (canonical(path), canonical(directory));
    path.strip_prefix(directory.as_str()).is_some_and(|rest| rest.starts_with('/'))
}

/// What cp and mv share: `act(FROM, target)` for each FROM of `FROM... TO`, the target
/// being TO, or TO/NAME (FROM's last component) when TO is a directory; several FROMs
/// need one, and so does a TO ending in `/` (`cp a nosuchdir/` made a file `nosuchdir`).
/// Each failure is reported, and the others go on.
fn each_to_target(words: &[&str], usage: &str, act: impl Fn(&str, &str) -> Outcome) -> Outcome {
    let [sources @ .., to] = words else { return Err(usage.into()) };
    if sources.is_empty() {
        return Err(usage.into());
    }
    let into = fs::read_dir(to).is_ok();
    if !into && (sources.len() > 1 || to.ends_with('/')) {
        return Err(format!("{to}: {}", Errno::ENOTDIR));
    }
    let mut failed = false;
    for from in sources {
        let target = match into {
            true => {
                let canonical = userlib::msg::canonical_path(from).unwrap_or_else(|_| String::from(*from));
                format!("{}/{}", to.trim_end_matches('/'), canonical.rsplit('/').next().unwrap_or_default())
            }
            false => String::from(*to),
        };
        if let Err(message) = act(from, &target) {
            eprintln!("{}: {message}", userlib::process::name());
            failed = true;
        }
    }
    if failed {
        return Err(String::new()); // (reported above)
    }
    Ok(())
}

/// One file of [`cp`]'s: `from`'s bytes to `to`.
fn copy_file(from: &str, to: &str) -> Outcome {
    let source = fs::open(from, open_flags::O_RDONLY, 0).map_err(|e| format!("{from}: {e}"))?;
    if source.stat().is_ok_and(|s| s.kind == file_kind::DIRECTORY) {
        return Err(format!("{from}: {}", Errno::EISDIR));
    }
    let canonical = |path: &str| userlib::msg::canonical_path(path).unwrap_or_else(|_| String::from(path));
    if canonical(from) == canonical(to) {
        return Err(format!("{from} and {to} are the same file"));
    }
    let flags = open_flags::O_WRONLY | open_flags::O_CREAT | open_flags::O_TRUNC;
    let target = fs::open(to, flags, 0o644).map_err(|e| format!("{to}: {e}"))?;
    let mut buffer = vec![0u8; 4096];
    loop {
        match source.read(&mut buffer).map_err(|e| format!("{from}: {e}"))? {
            0 => return Ok(()),
            n => target.write_all(&buffer[..n]).map_err(|e| format!("{to}: {e}"))?,
        }
    }
}

fn ls(paths: &[&str]) -> Outcome {
    let paths = if paths.is_empty() { &["."][..] } else { paths };
    let mut failed = false;
    for path in paths {
        let names = match fs::read_dir(path) {
            Ok(names) => names,
            Err(Errno::ENOTDIR) if !path.ends_with('/') => {
                println!("{path}"); // a file: its own name, as POSIX `ls` shows it
                continue;
            }
            Err(e) => {
                eprintln!("ls: {path}: {e}");
                failed = true;
                continue;
            }
        };
        if paths.len() > 1 {
            println!("{path}:");
        }
        let canonical = userlib::msg::canonical_path(path).unwrap_or_default();
        let queues = canonical == "/dev/mqueue" || canonical.starts_with("/dev/mqueue/");
        for name in names {
            let full = format!("{}/{name}", path.trim_end_matches('/')); // (`/dev/` and `/` too)
            let stat = fs::open(&full, open_flags::O_RDONLY | open_flags::O_NONBLOCK, 0).and_then(|f| f.stat());
            match stat {
                Ok(s) if queues && s.kind == file_kind::FILE => {
                    println!("{name:<24} {} message{}", s.size, if s.size == 1 { "" } else { "s" })
                }
                Ok(s) if s.kind == file_kind::DIRECTORY => println!("{name}/"),
                // A directory of the pathname space only (no server answers for it; the
                // name service's `/dev/name/global` with no name attached is empty).
                Err(_) if fs::read_dir(&full).is_ok() => println!("{name}/"),
                _ => println!("{name}"),
            }
        }
    }
    // (Each failure is reported above; the status says one happened.)
    if failed {
        return Err(String::new());
    }
    Ok(())
}

fn state_name(state: u8) -> &'static str {
    ThreadStateCode::from_number(state).map_or("?", ThreadStateCode::name)
}

/// What a blocked thread waits on, as `pidin` shows it.
fn blocked_on(t: &ThreadInfo) -> String {
    match ThreadStateCode::from_number(t.state) {
        Some(ThreadStateCode::Send | ThreadStateCode::Reply) => format!("{}", t.blocked_on_pid),
        Some(ThreadStateCode::Receive) => format!("chid {}", t.blocked_on_id),
        Some(ThreadStateCode::Join) => format!("tid {}", t.blocked_on_id),
        Some(ThreadStateCode::WaitChild) if t.blocked_on_pid != 0 => format!("{}", t.blocked_on_pid),
        _ => String::new(),
    }
}

fn pidin(words: &[&str]) -> Outcome {
    if !matches!(words, [] | ["mem"] | ["family"]) {
        return Err(String::from("usage: pidin [mem|family]"));
    }
    let mut threads = proc::pidin().map_err(|e| format!("{e}"))?;
    // By pid, as QNX's pidin lists them (the kernel's table is in slot order).
    threads.sort_by_key(|t| (t.pid, t.tid));
    if words.first() == Some(&"family") {
        // Each process's parent and process group (`kill -- -PGID` ends a group).
        println!("{:>6} {:<20} {:>6} {:>6}", "pid", "name", "ppid", "pgrp");
        threads.dedup_by_key(|t| t.pid);
        for t in &threads {
            println!("{:>6} {:<20} {:>6} {:>6}", t.pid, t.name_str(), t.parent_pid, t.group);
        }
        return Ok(());
    }
    if words.first() == Some(&"mem") {
        println!("{:>6} {:<20} {:>8} {:>8}", "pid", "name", "threads", "memory");
        let mut last = 0;
        for t in &threads {
            if t.pid != last {
                let count = threads.iter().filter(|u| u.pid == t.pid).count();
                println!("{:>6} {:<20} {:>8} {:>7}K", t.pid, t.name_str(), count, t.resident_kib);
                last = t.pid;
            }
        }
        return Ok(());
    }
    println!("{:>6} {:>4} {:<20} {:>5} {:<10} {}", "pid", "tid", "name", "prio", "STATE", "Blocked");
    for t in &threads {
        let policy = match Policy::from_number(t.policy) {
            Some(Policy::Fifo) => 'f',
            Some(Policy::RoundRobin) => 'r',
            _ => '?',
        };
        println!(
            "{:>6} {:>4} {:<20} {:>4}{} {:<10} {}",
            t.pid,
            t.tid,
            t.name_str(),
            t.priority,
            policy,
            state_name(t.state),
            blocked_on(t)
        );
    }
    Ok(())
}

fn uptime() -> Outcome {
    let ms = time::now_ns() / 1_000_000;
    println!("up {}.{:03} s", ms / 1000, ms % 1000);
    Ok(())
}

fn free() -> Outcome {
    let system = info::system_info().map_err(|e| format!("{e}"))?;
    let (total, free) = (system.ram_bytes / 1024, system.free_bytes / 1024);
    // (Memory ended processes left, which the kernel is giving back: used until it is.)
    let reclaiming = system.reclaim_bytes / 1024;
    println!("{:>12} {:>12} {:>12} {:>12}", "total", "used", "free", "reclaiming");
    println!("{:>11}K {:>11}K {:>11}K {:>11}K", total, total - free, free, reclaiming);
    Ok(())
}

fn mq_tool(words: &[&str]) -> Outcome {
    // Errors name the queue, as the other programs' name the path (`mq send` of a too
    // long text said only `mq: EMSGSIZE`).
    let e = |err: Errno| format!("{}: {err}", words.get(1).copied().unwrap_or_default());
    if let Some(name) = words.get(1).filter(|name| !name.starts_with('/')) {
        return Err(format!("{name}: a queue's name starts with / (as /jobs)"));
    }
    match words {
        ["send", name, text, rest @ ..] if rest.len() <= 1 => {
            let priority = match rest.first() {
                None => 0,
                Some(p) => {
                    p.parse::<u32>().ok().filter(|&p| p <= 31).ok_or(format!("priority {p}: priorities are 0 to 31"))?
                }
            };
            let q = mq::mq_open(name, open_flags::O_WRONLY | open_flags::O_CREAT, 0o666, None).map_err(e)?;
            q.send(text.as_bytes(), priority).map_err(e)
        }
        ["recv", name] => {
            // (Not created: a receive from a queue nobody made waits for nobody.)
            let q = mq::mq_open(name, open_flags::O_RDONLY, 0, None).map_err(|err| match err {
                Errno::ENOENT => format!("{name}: no such queue (`mq create` or `mq send` makes one)"),
                err => e(err),
            })?;
            let mut buffer = vec![0u8; q.attr().map_err(e)?.msgsize as usize];
            let (n, priority) = q.receive(&mut buffer).map_err(e)?;
            // One line a message: a newline that ends it (`echo x > /dev/mqueue/q` sends
            // one) is left out, or the priority came on a line of its own.
            let text = buffer[..n].strip_suffix(b"\n").unwrap_or(&buffer[..n]);
            println!("{} (priority {priority})", String::from_utf8_lossy(text));
            Ok(())
        }
        ["create", name] => {
            mq::mq_open(name, open_flags::O_RDWR | open_flags::O_CREAT, 0o666, None).map(drop).map_err(e)
        }
        ["rm", name] => mq::mq_unlink(name).map_err(e),
        _ => Err(String::from("usage: mq send /NAME TEXT [PRIO] | recv /NAME | create /NAME | rm /NAME")),
    }
}

fn sleep(words: &[&str]) -> Outcome {
    let [word] = words else { return Err("usage: sleep SECONDS (e.g. 2, 0.5)".into()) };
    let ns = nanoseconds(word).ok_or_else(|| format!("{word}: not a number of seconds"))?;
    time::sleep_ns(ns);
    Ok(())
}

/// `SECONDS[.FRACTION]` in nanoseconds (digits past the ninth decimal ignored; more
/// seconds than the clock counts, about 584 years, saturate: sleeping that long, not 0).
fn nanoseconds(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let seconds = whole.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')));
    let mut ns = 0;
    for (i, d) in fraction.bytes().take(9).enumerate() {
        ns += u64::from(d - b'0') * 10u64.pow(8 - i as u32);
    }
    Some(seconds.saturating_mul(1_000_000_000).saturating_add(ns))
}

/// Lines, words and bytes of each file (standard input for none), and their total for
/// more than one.
fn wc(paths: &[&str]) -> Outcome {
    let count = |path: Option<&str>| -> Result<[usize; 3], String> {
        let (mut counts, mut in_word) = ([0usize; 3], false);
        read_all(path, |chunk| {
            for byte in chunk {
                counts[2] += 1;
                if *byte == b'\n' {
                    counts[0] += 1;
                }
                let space = byte.is_ascii_whitespace();
                if !space && !in_word {
                    counts[1] += 1;
                }
                in_word = !space;
            }
        })?;
        Ok(counts)
    };
    if paths.is_empty() {
        let [lines, words, bytes] = count(None)?;
        print!("{lines:>7} {words:>7} {bytes:>7}\n");
        return Ok(());
    }
    let (mut total, mut failed) = ([0usize; 3], false);
    for path in paths {
        match count(Some(path)) {
            Ok([lines, words, bytes]) => {
                print!("{lines:>7} {words:>7} {bytes:>7} {path}\n");
                total = [total[0] + lines, total[1] + words, total[2] + bytes];
            }
            Err(e) => {
                eprintln!("wc: {e}");
                failed = true;
            }
        }
    }
    if paths.len() > 1 {
        print!("{:>7} {:>7} {:>7} total\n", total[0], total[1], total[2]);
    }
    if failed {
        return Err(String::new()); // (reported above)
    }
    Ok(())
}
