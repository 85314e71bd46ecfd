//! The end-to-end test: boots the default system (what `make run` boots) and drives its
//! shell over the serial line as a person would — types a command, waits for the
//! prompt, reads the screen — checking what the issue asks of the default system:
//! `pidin` shows proc and the shell, pipelines of two and three programs, an mqueue
//! round trip, directories in `/tmp` (mkdir, rmdir, mv and their errors), Ctrl-C stopping
//! a program, a whole pipeline and a script with what it started, a background job leaving
//! the console to the shell, `ls` reporting a missing path, a killed server visible in
//! `pidin` with its clients getting errors rather than hanging, pathname patterns, and
//! `shutdown` ending QEMU cleanly.
//! Each step is one test line; a step that times out fails (and the rest are skipped).

use crate::boards::{Board, Boot};
use crate::Tally;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a booted system may take to show its first prompt (the emulated Pis are slow).
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one command may take to give the prompt back.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running QEMU whose serial line is this program's to type on and read.
struct Session {
    qemu: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    /// Where the output of the current step starts.
    mark: usize,
}

impl Session {
    fn start(boot: &Boot, kernel: &std::path::Path) -> std::io::Result<Session> {
        let mut qemu = crate::qemu::command(boot, kernel)
            .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut stdout = qemu.stdout.take().expect("piped");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("screen").extend_from_slice(&chunk[..n]);
            }
        });
        Ok(Session { qemu, screen, mark: 0 })
    }

    /// What appeared since the current step began.
    fn output(&self) -> String {
        let screen = self.screen.lock().expect("screen");
        String::from_utf8_lossy(&screen[self.mark.min(screen.len())..]).into_owned()
    }

    /// Waits until the step's output contains `text`.
    fn wait_for(&self, text: &str, timeout: Duration) -> Result<String, String> {
        let started = Instant::now();
        loop {
            let output = self.output();
            if output.contains(text) {
                return Ok(output);
            }
            if started.elapsed() > timeout {
                return Err(format!("no {text:?} within {timeout:?}; the screen showed:\n{output}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `keys` (a few milliseconds per key, like a fast typist).
    fn type_keys(&mut self, keys: &str) -> Result<(), String> {
        let stdin = self.qemu.stdin.as_mut().ok_or("no stdin")?;
        for byte in keys.bytes() {
            stdin.write_all(&[byte]).and_then(|_| stdin.flush()).map_err(|e| format!("typing: {e}"))?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Types `line` and Enter, and returns the screen up to the next prompt.
    /// Types Ctrl-C and waits for the shell's prompt with status 130.
    fn interrupt(&mut self) -> Result<(), String> {
        self.type_keys("\x03")?;
        self.wait_for("^C", STEP_TIMEOUT)?;
        self.wait_for("muon:130$ ", STEP_TIMEOUT).map(drop)
    }

    /// Types `keys` all at once, as a paste does.
    fn paste(&mut self, keys: &str) -> Result<(), String> {
        let stdin = self.qemu.stdin.as_mut().ok_or("no stdin")?;
        stdin.write_all(keys.as_bytes()).and_then(|_| stdin.flush()).map_err(|e| format!("pasting: {e}"))
    }

    /// Starts `line`, lets it run a second, and interrupts it.
    fn run_then_interrupt(&mut self, line: &str) -> Result<(), String> {
        self.mark = self.screen.lock().expect("screen").len();
        self.type_keys(line)?;
        self.type_keys("\r")?;
        std::thread::sleep(Duration::from_millis(1000));
        self.interrupt()
    }

    fn command(&mut self, line: &str) -> Result<String, String> {
        self.mark = self.screen.lock().expect("screen").len();
        self.type_keys(line)?;
        self.type_keys("\r")?;
        let output = self.wait_for("\r\nmuon:", STEP_TIMEOUT)?;
        // Let the rest of the prompt arrive too (the UART may send it in two pieces), and
        // return it whole: steps look for `muon:N$`.
        let prompt = output.rfind("\r\nmuon:").unwrap_or(0);
        let started = Instant::now();
        loop {
            let output = self.output();
            if output.get(prompt..).is_some_and(|rest| rest.contains("$ ")) {
                return Ok(output);
            }
            if started.elapsed() > STEP_TIMEOUT {
                return Err(format!("no whole prompt within {STEP_TIMEOUT:?}; the screen showed:\n{output}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

/// The pid `pidin` lists for the program called `name`.
fn pid_of(pidin: &str, name: &str) -> Option<u32> {
    pidin.lines().find_map(|line| {
        let mut columns = line.split_whitespace();
        let pid = columns.next()?.parse().ok()?;
        let _tid = columns.next()?;
        (columns.next()? == name).then_some(pid)
    })
}

/// The STATE column of `name`'s first thread.
fn state_of(pidin: &str, name: &str) -> Option<String> {
    pidin.lines().find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        (columns.get(2) == Some(&name)).then(|| columns.get(4).map(|s| s.to_string())).flatten()
    })
}

/// Runs the session on `board` (its default boot path).
pub fn shell_session(board: &Board, tally: &mut Tally) {
    shell_session_on(board, None, &board.boots[0], &format!("{}/shell", board.name), tally);
}

/// Runs the session on `boot` with a kernel built with `features`, naming its tests
/// `label/…` (the Pi 3's mini-UART console is driven by the same console driver).
pub fn shell_session_on(board: &Board, features: Option<&str>, boot: &Boot, label: &str, tally: &mut Tally) {
    let label = label.to_string();
    let kernel = match crate::build_kernel_with_image(board, features, "e2e", crate::bootimage::DEFAULT_IMAGE) {
        Ok(kernel) => kernel,
        Err(e) => {
            println!("{e}");
            return tally.record(&format!("{label}/build"), false);
        }
    };
    let mut session = match Session::start(boot, &kernel) {
        Ok(s) => s,
        Err(e) => {
            println!("cannot start QEMU: {e}");
            return tally.record(&format!("{label}/boot"), false);
        }
    };
    type Step = fn(&mut Session) -> Result<(), String>;
    let steps: &[(&str, Step)] = &[
        ("boots_to_the_prompt", |s| s.wait_for("muon:0$ ", BOOT_TIMEOUT).map(drop)),
        ("pidin_shows_proc_and_the_shell", |s| {
            let out = s.command("pidin")?;
            let proc_state = state_of(&out, "proc").ok_or("no proc row")?;
            let shell_state = state_of(&out, "shell").ok_or("no shell row")?;
            // proc is answering pidin's query (pidin is REPLY-blocked on it, pid 1); the
            // shell waits for pidin, or is writing to the console.
            let pidin_waits_on_proc =
                out.lines().any(|l| l.contains(" pidin ") && l.trim_end().ends_with("REPLY      1"));
            let plausible = matches!(proc_state.as_str(), "RUNNING" | "READY")
                && matches!(shell_state.as_str(), "WAITCHILD" | "READY" | "REPLY")
                && state_of(&out, "pipe").as_deref() == Some("RECEIVE")
                && pidin_waits_on_proc;
            if !plausible || pid_of(&out, "proc") != Some(1) {
                return Err(format!("implausible pidin:\n{out}"));
            }
            Ok(())
        }),
        ("echo_hello_pipe_cat", |s| {
            let out = s.command("echo hello | cat")?;
            out.contains("\r\nhello\r\n").then_some(()).ok_or(format!("no hello:\n{out}"))
        }),
        ("pipeline_of_three_programs", |s| {
            let out = s.command("echo one two three | cat | wc")?;
            let counts: Vec<&str> =
                out.lines().find(|l| l.trim_start().starts_with('1')).unwrap_or("").split_whitespace().collect();
            (counts == ["1", "3", "14"]).then_some(()).ok_or(format!("wc printed:\n{out}"))
        }),
        ("a_program_s_children_write_where_it_does", |s| {
            // (A new user's finding: the checksum demo's server, started by the client,
            // printed on the console whatever the client's output was redirected to.)
            let out = s.command("demo-checksum > /tmp/demo")?;
            if out.contains("server: attached") {
                return Err(format!("the server printed on the console:\n{out}"));
            }
            let out = s.command("cat /tmp/demo; rm /tmp/demo")?;
            (out.contains("client: started the server") && out.contains("server: attached"))
                .then_some(())
                .ok_or(format!("the file held:\n{out}"))
        }),
        ("redirection_through_ramfs", |s| {
            s.command("echo kept in ram > /tmp/note")?;
            let out = s.command("cat < /tmp/note")?;
            if !out.contains("kept in ram") {
                return Err(format!("cat < /tmp/note printed:\n{out}"));
            }
            // A redirection a later one replaced is still opened, as sh does: `> a > b`
            // empties `a` (and a program and a built-in alike fail if it cannot be).
            s.command("echo stale words > /tmp/first; echo last > /tmp/first > /tmp/last")?;
            // A command that cannot start leaves the rest of its pipeline running, as in
            // sh (the whole pipeline stopped): the status is the last command's.
            let out = s.command("echo a | cat > /nosuch/x | wc; echo status $?; echo b | nosuch; echo status $?")?;
            let zeros = out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["0", "0", "0"]);
            if !(zeros && out.contains("status 0") && out.contains("status 127") && out.contains("/nosuch/x: ENOENT")) {
                return Err(format!("a pipeline with a command that cannot start:\n{out}"));
            }
            // In the order written: a failing `<` leaves a later `>` alone.
            let line = "cat /tmp/first /tmp/last; echo x > /nosuch/a > /tmp/b; pwd > /nosuch/a > /tmp/b; \
                        cat < /nosuch/in > /tmp/last";
            let out = s.command(line)?;
            let failed = out.matches("shell: /nosuch/a: ENOENT").count() == 2 && out.contains("/nosuch/in: ENOENT");
            if !out.contains("\r\nlast\r\n") || out.contains("stale") || !failed {
                return Err(format!("replaced redirections:\n{out}"));
            }
            // Shared memory is read and written like a file (an object made by `>` could
            // not be written: ENOSYS).
            let out = s.command("echo in shared memory > /dev/shmem/note; cat /dev/shmem/note; rm /dev/shmem/note")?;
            if !out.contains("\r\nin shared memory\r\n") || out.contains("ENOSYS") {
                return Err(format!("/dev/shmem as a file:\n{out}"));
            }
            // `cat f >> f` and `cat < f >> f` copied the file onto its own end for ever.
            // (`/tmp/last` still holds its one line.)
            let out =
                s.command("cat /tmp/last >> /tmp/last; echo status $?; cat < /tmp/last >> /tmp/last; wc /tmp/last")?;
            let refused = out.contains("cat: /tmp/last: input file is output file")
                && out.contains("cat: standard input: input file is output file")
                && out.contains("status 1");
            if !refused || !out.lines().any(|l| l.split_whitespace().next() == Some("1")) {
                return Err(format!("cat f >> f:\n{out}"));
            }
            Ok(())
        }),
        ("ramfs_gives_back_the_memory_of_removed_files", |s| {
            // (A server kept every byte its heap ever held: `free` showed 4 MiB of files
            // used after their `rm`.)
            let used = |out: &str| -> Option<u64> {
                let line = out.lines().rev().find(|l| l.trim_end().ends_with('K'))?;
                line.split_whitespace().nth(1)?.trim_end_matches('K').parse().ok()
            };
            s.command(&format!("echo {} > /tmp/b1", "0123456789abcdef".repeat(4)))?;
            for (from, to) in [(1, 2), (2, 3), (3, 4), (4, 5)] {
                let sources = format!("/tmp/b{from} ").repeat(16);
                s.command(&format!("cat {sources}> /tmp/b{to}"))?;
            }
            let before = s.command("wc /tmp/b5; free")?;
            if !before.contains("4259840") {
                return Err(format!("the 4 MiB file was not made:\n{before}"));
            }
            let after = s.command("rm /tmp/b1 /tmp/b2 /tmp/b3 /tmp/b4 /tmp/b5; sleep 0.2; free")?;
            match (used(&before), used(&after)) {
                (Some(b), Some(a)) if a + 3 * 1024 < b => Ok(()),
                _ => Err(format!("free before the rm:\n{before}\nand after:\n{after}")),
            }
        }),
        ("directories_in_tmp", |s| {
            // (/tmp had no subdirectories, and there was no mkdir, rmdir or mv.)
            let out = s.command("mkdir /tmp/d ; echo in-d > /tmp/d/f ; ls /tmp/d ; cat /tmp/d/f ; ls /tmp")?;
            if !(out.contains("\r\nf\r\n")
                && out.contains("\r\nin-d\r\n")
                && out.contains("\r\nd/\r\n")
                && out.contains("muon:0$"))
            {
                return Err(format!("a file in a new directory:\n{out}"));
            }
            // Nested paths, and the errors POSIX gives for missing or wrong components.
            let out = s.command(
                "mkdir /tmp/d/e /tmp/d/e/g ; echo deep > /tmp/d/e/g/h ; cat /tmp/d/e/g/h ; \
                 mkdir /tmp/nosuch/x ; mkdir /tmp/d ; echo x > /tmp/d/f/g",
            )?;
            if !(out.contains("\r\ndeep\r\n")
                && out.contains("mkdir: /tmp/nosuch/x: ENOENT")
                && out.contains("mkdir: /tmp/d: EEXIST")
                && out.contains("/tmp/d/f/g: ENOTDIR"))
            {
                return Err(format!("nested paths:\n{out}"));
            }
            // rmdir removes only empty directories; rm no directory (EPERM, as POSIX allows,
            // which rm puts in words: "operation not permitted" left a user guessing).
            let out = s.command("rmdir /tmp/d ; rmdir /tmp/d/f ; rm /tmp/d ; rmdir /tmp ; ls /tmp/d")?;
            if !(out.contains("rmdir: /tmp/d: ENOTEMPTY")
                && out.contains("rmdir: /tmp/d/f: ENOTDIR")
                && out.contains("rm: /tmp/d: is a directory (`rmdir` removes an empty one)")
                && out.contains("rmdir: /tmp: EBUSY")
                && out.contains("\r\ne/\r\n"))
            {
                return Err(format!("rmdir and rm of directories:\n{out}"));
            }
            // mv renames, replacing a file, and moves into a directory.
            let out = s.command(
                "echo moved > /tmp/a ; mv /tmp/a /tmp/d/b ; cat /tmp/d/b ; ls /tmp/a ; \
                 echo replaced > /tmp/a ; mv /tmp/a /tmp/d/b ; cat /tmp/d/b ; mv /tmp/d/b /tmp/d/e ; ls /tmp/d/e",
            )?;
            if !(out.contains("\r\nmoved\r\n")
                && out.contains("ls: /tmp/a: ENOENT")
                && out.contains("\r\nreplaced\r\n")
                && out.contains("\r\nb\r\ng/\r\n"))
            {
                return Err(format!("mv:\n{out}"));
            }
            let out = s.command(
                "touch /tmp/d/x ; mkdir /tmp/x ; mv /tmp/d/x /tmp ; mv /tmp/d/e /tmp/d/f ; mv /tmp/d /tmp/d/e ; \
                 mv /tmp/d/e/b /dev/shmem/b ; rmdir /tmp/x ; rm /tmp/d/x",
            )?;
            if !(out.contains("mv: /tmp/d/x to /tmp/x: EISDIR")
                && out.contains("mv: /tmp/d/e to /tmp/d/f: ENOTDIR")
                && out.contains("mv: /tmp/d to /tmp/d/e/d: a directory cannot move into itself")
                && out.contains("mv: /tmp/d/e/b to /dev/shmem/b: EXDEV"))
            {
                return Err(format!("mv's refusals:\n{out}"));
            }
            // A file open in a directory that is renamed keeps working. (A program opens
            // its standard output by path at its first write: cat writes /tmp/d/f's line
            // before it waits for the FIFO, so its output is open before the move.)
            let out = s.command(
                "mkfifo /tmp/ff ; cat /tmp/d/f /tmp/ff > /tmp/d/log & sleep 1 ; mv /tmp/d /tmp/moved ; \
                 echo late > /tmp/ff ; sleep 0.3 ; cat /tmp/moved/log ; rm /tmp/ff",
            )?;
            if !out.contains("\r\nin-d\r\nlate\r\n") {
                return Err(format!("the open file in a renamed directory:\n{out}"));
            }
            let out = s.command(
                "rm /tmp/moved/log /tmp/moved/f /tmp/moved/e/b /tmp/moved/e/g/h ; \
                 rmdir /tmp/moved/e/g /tmp/moved/e /tmp/moved ; ls /tmp",
            )?;
            if !out.contains("muon:0$") || out.contains("\r\nmoved/\r\n") {
                return Err(format!("emptying and removing the tree:\n{out}"));
            }
            // (A new user's findings: rmdir removed a directory holding a FIFO, which
            // stayed; `cp f nosuch/` made a file `nosuch`; `touch file/` said EISDIR;
            // `mkfifo ff/` made `ff`.)
            let out = s.command(
                "mkdir /tmp/fd ; mkfifo /tmp/fd/q ; rmdir /tmp/fd ; touch /tmp/plainf ; cp /tmp/plainf /tmp/nosuch/ ; \
                 touch /tmp/plainf/ ; mkfifo /tmp/fq/ ; ls /tmp ; rm /tmp/fd/q /tmp/plainf ; rmdir /tmp/fd",
            )?;
            (out.contains("rmdir: /tmp/fd: ENOTEMPTY")
                && out.contains("cp: /tmp/nosuch/: ENOTDIR")
                && out.contains("touch: /tmp/plainf/: ENOTDIR")
                && out.contains("mkfifo: /tmp/fq/: ENOENT")
                && !out.contains("\r\nnosuch\r\n")
                && !out.contains("\r\nfq\r\n")
                && out.contains("muon:0$"))
            .then_some(())
            .ok_or(format!("a directory holding a FIFO, paths ending in /:\n{out}"))
        }),
        ("fifos_only_where_a_file_system_keeps_them", |s| {
            // (A new user's findings: a FIFO made in /dev/mqueue hid a queue's name and
            // hung `mq send`; one at /dev/pipe/N took the opens of anonymous pipe N, so a
            // pipeline's data went to whoever read the FIFO; /x and /dev/shmem/s too. The
            // refusal says where FIFOs go: "function not implemented" alone did not.)
            let out = s.command(
                "mkfifo /dev/mqueue/ff ; mkfifo /dev/pipe/30 ; mkfifo /x ; mkfifo /dev/shmem/s ; \
                 mkfifo /tmp/okf ; mkfifo /tmp/okf ; ls /dev/mqueue / ; rm /tmp/okf",
            )?;
            (out.contains(
                "mkfifo: /dev/mqueue/ff: ENOSYS (function not implemented): FIFOs are made only in a file system",
            ) && out.contains("mkfifo: /dev/pipe/30: EPERM")
                && out.contains("mkfifo: /x: ENOENT")
                && out.contains("mkfifo: /dev/shmem/s: ENOSYS")
                && out.contains("mkfifo: /tmp/okf: EEXIST")
                && !out.contains("\r\nff")
                && !out.contains("\r\nx\r\n")
                && out.contains("muon:0$"))
            .then_some(())
            .ok_or(format!("FIFOs outside /tmp:\n{out}"))
        }),
        ("mqueue_round_trip", |s| {
            s.command("mq send /e2e hello-queue 7")?;
            let listing = s.command("ls /dev/mqueue")?;
            if !listing.contains("e2e") || !listing.contains("1 message\r") {
                return Err(format!("ls /dev/mqueue:\n{listing}"));
            }
            let out = s.command("mq recv /e2e")?;
            if !out.contains("hello-queue (priority 7)") {
                return Err(format!("mq recv printed:\n{out}"));
            }
            // (A receive from a queue nobody made created it and waited for good.)
            let out = s.command("mq recv /nobody-made-me")?;
            (out.contains("no such queue") && out.contains("muon:1$"))
                .then_some(())
                .ok_or(format!("mq recv printed:\n{out}"))
        }),
        ("mq_recv_prints_a_message_ending_in_a_newline_on_one_line", |s| {
            // (A new user's finding: what `echo` wrote to a queue printed its text, then
            // ` (priority 0)` on a line of its own.)
            let out = s.command("mq create /nl ; echo with-a-newline > /dev/mqueue/nl ; mq recv /nl ; mq rm /nl")?;
            (out.contains("\r\nwith-a-newline (priority 0)\r\n") && out.contains("muon:0$"))
                .then_some(())
                .ok_or(format!("mq recv printed:\n{out}"))
        }),
        ("a_script_file_runs_with_the_shell_s_input", |s| {
            // (A new user's finding: `shell FILE`, POSIX's `sh FILE`, printed the usage.)
            s.command("echo 'echo line-one-of-file' > /tmp/script ; echo 'cat ; false' >> /tmp/script")?;
            s.command("echo the-shell-s-input > /tmp/script-in")?;
            let out = s.command("shell -c 'cd /tmp ; shell script < script-in'")?;
            if !(out.contains("\r\nline-one-of-file\r\nthe-shell-s-input\r\n") && out.contains("muon:1$")) {
                return Err(format!("shell script < script-in:\n{out}"));
            }
            let out = s.command("shell /tmp/no-such-script")?;
            (out.contains("shell: /tmp/no-such-script: ENOENT") && out.contains("muon:127$"))
                .then_some(())
                .ok_or(format!("shell /tmp/no-such-script:\n{out}"))
        }),
        ("output_goes_where_the_errors_go", |s| {
            // (A new user's finding: `echo a >&2` was refused as a redirection.) A program's
            // and a built-in's, in a script whose errors go to a file.
            let out = s.command(
                "shell -c 'echo via-errors >&2 ; cd /dev ; pwd 1>&2' > /tmp/o 2> /tmp/e ; \
                 echo to-the-file 2> /tmp/e2 >&2 ; cat /tmp/o ; echo ==== ; cat /tmp/e /tmp/e2",
            )?;
            (out.contains("\r\n====\r\nvia-errors\r\n/dev\r\nto-the-file\r\n") && out.contains("muon:0$"))
                .then_some(())
                .ok_or(format!(">&2:\n{out}"))
        }),
        ("ctrl_c_stops_a_program", |s| {
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("cat\r")?;
            std::thread::sleep(Duration::from_millis(500));
            s.type_keys("typed into cat\r")?;
            s.wait_for("typed into cat\r\ntyped into cat", STEP_TIMEOUT)?;
            s.interrupt()
        }),
        ("ctrl_c_stops_a_whole_pipeline", |s| {
            // Were only `cat` ended, the shell would wait for `sleep` (longer than a step).
            s.run_then_interrupt("sleep 100 | cat")
        }),
        ("ctrl_c_stops_a_pipeline_whose_first_program_ended", |s| {
            // `echo` ends before the shell names the pipeline to the console: the rest of
            // the pipeline must still be what Ctrl-C ends.
            s.run_then_interrupt("echo hi | sleep 100")
        }),
        ("a_background_job_leaves_the_console_to_the_shell", |s| {
            // A background `cat` reading the console would take this line.
            s.command("cat &")?;
            let out = s.command("echo still-the-shell")?;
            out.contains("\r\nstill-the-shell\r\n").then_some(()).ok_or(format!("echo printed:\n{out}"))
        }),
        ("ctrl_c_ends_the_rest_of_the_line", |s| {
            // (The commands after the interrupted one ran, as sh would not.)
            s.run_then_interrupt("sleep 100 ; echo ran-after-ctrl-c")?;
            let out = s.output();
            (!out.contains("\r\nran-after-ctrl-c")).then_some(()).ok_or(format!("the line went on:\n{out}"))
        }),
        ("a_background_job_s_end_is_reported", |s| {
            let start = s.screen.lock().expect("screen").len();
            s.command("echo from-the-background > /tmp/bg &")?;
            s.command("echo next")?;
            s.mark = start; // (said before whichever prompt follows its end)
            s.wait_for("] done  echo from-the-background", STEP_TIMEOUT).map(drop)
        }),
        ("a_background_script_runs_on_by_itself", |s| {
            // (A new user's finding: the script shell's claim on the console for each of
            // its programs waited for the interactive shell to name its foreground, so
            // the script stalled until another line was typed.)
            let start = s.screen.lock().expect("screen").len();
            s.command("shell -c 'echo first-of-script; sleep 0.2; echo second-of-script' &")?;
            s.mark = start;
            s.wait_for("second-of-script", Duration::from_secs(10))?;
            // Its end is said at a prompt once its waiter saw it: here, not in the next step.
            for _ in 0..50 {
                if s.command("echo next")?.contains("] done  shell -c") {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(String::from("the background script's end was never reported"))
        }),
        ("ctrl_c_ends_a_script_brought_back_with_fg_and_what_it_started", |s| {
            // (Ctrl-C ended the foreground's programs alone: the script shell, its `sleep`
            // ran on.) Now an interactive shell's job is a process group, ended whole.
            let sleeps = |out: &str| out.lines().filter(|l| l.split_whitespace().nth(2) == Some("sleep")).count();
            let before = sleeps(&s.command("pidin")?);
            s.command("shell -c 'sleep 100; echo after-the-sleep' &")?;
            let mut started = false;
            for _ in 0..100 {
                if sleeps(&s.command("pidin")?) > before {
                    started = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !started {
                return Err(String::from("the script's sleep never ran"));
            }
            s.run_then_interrupt("fg")?;
            let out = s.command("pidin")?;
            (sleeps(&out) == before && !out.contains("after-the-sleep"))
                .then_some(())
                .ok_or(format!("after Ctrl-C, {before} sleeps before:\n{out}"))
        }),
        ("kill_ends_a_job_s_process_group", |s| {
            let out = s.command("sleep 100 | sleep 100 &")?;
            let last = out
                .lines()
                .find_map(|l| l.trim_start().strip_prefix('[')?.split(']').next()?.parse::<u32>().ok())
                .ok_or(format!("no job started:\n{out}"))?;
            let group_of = |family: &str, column: usize, value: u32| {
                family.lines().find_map(|l| {
                    let columns: Vec<&str> = l.split_whitespace().collect();
                    (columns.get(column) == Some(&value.to_string().as_str()))
                        .then(|| columns.get(3)?.parse::<u32>().ok())?
                })
            };
            let family = s.command("pidin family")?;
            let group = group_of(&family, 0, last).ok_or(format!("[{last}] not in:\n{family}"))?;
            if group == last {
                return Err(format!("the last stage leads the job's group, not the first:\n{family}"));
            }
            let out = s.command(&format!("kill -- -{group} ; wait {last}"))?;
            let family = s.command("pidin family")?;
            (out.contains("muon:143$") && group_of(&family, 3, group).is_none())
                .then_some(())
                .ok_or(format!("kill -- -{group}:\n{out}\n{family}"))
        }),
        ("background_jobs_past_the_shell_s_bound_are_refused", |s| {
            // (A new user's finding: past the shell's threads, a job ran unwatched — not in
            // `jobs`, `fg` or `wait`, its end never said.) Long enough to be all running
            // at once on the slowest console.
            let out = s.command(&"sleep 60 & ".repeat(57))?;
            if !out.contains("shell: 56 background jobs already") {
                return Err(format!("57 background jobs:\n{out}"));
            }
            let pids: Vec<&str> = out
                .lines()
                .map(str::trim_end)
                .filter(|l| l.ends_with("started  sleep 60"))
                .filter_map(|l| l.strip_prefix('[')?.split(']').next())
                .collect();
            if pids.len() != 56 {
                return Err(format!("{} started:\n{out}", pids.len()));
            }
            // All 56 are watched: `wait` waits for them (saying how each ended), and then
            // none is left.
            s.command(&format!("kill {} ; wait", pids.join(" ")))?;
            let out = s.command("jobs ; echo waited")?;
            (out.contains("\r\nwaited\r\n") && !out.contains("running"))
                .then_some(())
                .ok_or(format!("jobs after the wait:\n{out}"))
        }),
        ("a_background_job_reading_the_console_waits", |s| {
            // (Redirected from the console, it took the next line typed for the shell.)
            s.command("cat < /dev/console &")?;
            let out = s.command("echo still-mine")?;
            if !out.contains("\r\nstill-mine\r\nmuon:0$") {
                return Err(format!("echo printed:\n{out}"));
            }
            let jobs = s.command("jobs")?;
            let pid = jobs.split('[').nth(1).and_then(|j| j.split(']').next()).ok_or(format!("jobs:\n{jobs}"))?;
            // (`kill -9` said "not a pid".) Ended as by SIGKILL: 128 + 9, said at a prompt.
            let start = s.screen.lock().expect("screen").len();
            s.command(&format!("kill -KILL {pid}"))?;
            s.command("echo after-the-kill")?;
            s.mark = start;
            s.wait_for(&format!("[{pid}] exit 137  cat"), STEP_TIMEOUT).map(drop)
        }),
        ("lines_typed_ahead_all_run", |s| {
            // Typed while `sleep` runs, the two lines reach the shell in one read.
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("sleep 1\r")?;
            s.type_keys("echo typed-one\recho typed-two\r")?;
            s.wait_for("\r\ntyped-one\r\n", STEP_TIMEOUT)?;
            s.wait_for("\r\ntyped-two\r\nmuon:0$ ", STEP_TIMEOUT).map(drop)
        }),
        ("arrow_keys_typed_ahead_reach_the_shell", |s| {
            // (The console's canonical mode dropped the Escape and kept `[A`.)
            s.command("echo from-history")?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("sleep 1\r")?;
            s.type_keys("\x1b[A\x1b[A\r")?; // typed while `sleep` runs: Up twice, Enter
            let out = s.wait_for("\r\nfrom-history\r\nmuon:0$ ", STEP_TIMEOUT)?;
            (!out.contains("no such program")).then_some(()).ok_or(format!("the shell printed:\n{out}"))
        }),
        ("input_pasted_after_a_command_goes_to_the_command", |s| {
            // The shell reads its own line only; `cat` reads the next one, which arrived
            // before it started (a shell that read ahead ran `pasted-for-cat` as a command
            // and left `cat` waiting).
            s.mark = s.screen.lock().expect("screen").len();
            s.paste("cat\rpasted-for-cat\r")?;
            s.wait_for("pasted-for-cat\r\npasted-for-cat\r\n", STEP_TIMEOUT)?; // the echo, then cat
            s.type_keys("\x04")?;
            let out = s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            (!out.contains("pasted-for-cat:")).then_some(()).ok_or(format!("the shell ran the line:\n{out}"))
        }),
        ("cat_of_a_queue_reads_a_message", |s| {
            // (A plain read gets the message alone, not mq_receive's priority too.)
            s.command("mq send /cat-me high-priority-text 31")?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("cat /dev/mqueue/cat-me\r")?;
            s.wait_for("high-priority-text", STEP_TIMEOUT)?;
            s.interrupt()?; // (then it waits for the next message)
            s.command("ls /dev/mqueue").map(drop)
        }),
        ("lost_output_fails_the_program", |s| {
            // A directory is not opened for writing: the shell says so (status 1).
            let out = s.command("echo lost > /tmp")?;
            if !(out.contains("/tmp: EISDIR") && out.contains("muon:1$")) {
                return Err(format!("echo lost > /tmp printed:\n{out}"));
            }
            // A queue opens, but takes no message longer than its 1,024 bytes: echo's
            // output is lost, and echo must not report success.
            let out = s.command(&format!("mq create /small; echo {} > /dev/mqueue/small", "x".repeat(1100)))?;
            (out.contains("echo: standard output: EMSGSIZE") && out.contains("muon:1$"))
                .then_some(())
                .ok_or(format!("echo of 1,100 bytes > /dev/mqueue/small printed:\n{out}"))
        }),
        ("cat_goes_on_past_a_missing_file", |s| {
            let out = s.command("cat /nonexistent /tmp/note")?;
            (out.contains("cat: /nonexistent: ENOENT") && out.contains("kept in ram") && out.contains("muon:1$"))
                .then_some(())
                .ok_or(format!("cat /nonexistent /tmp/note printed:\n{out}"))
        }),
        ("a_pipeline_ends_when_its_reader_ends_first", |s| {
            // The writer, blocked on a full pipe, must get EPIPE once the reader is gone
            // (the shell used to keep reading the pipe's end, waiting for the writer).
            s.command("pidin > /tmp/a")?;
            s.command("cat /tmp/a /tmp/a /tmp/a /tmp/a /tmp/a /tmp/a /tmp/a /tmp/a > /tmp/b")?;
            s.command("cat /tmp/b /tmp/b /tmp/b /tmp/b > /tmp/c")?;
            let out = s.command("cat /tmp/c | echo early")?;
            out.contains("\r\nearly\r\n").then_some(()).ok_or(format!("the pipeline printed:\n{out}"))
        }),
        ("writing_to_a_queue_succeeds", |s| {
            // (mqueue answered a write with 0 bytes, which `echo` took for a failure.)
            let out = s.command("echo to-the-queue > /dev/mqueue/written")?;
            if !out.contains("muon:0$") {
                return Err(format!("echo to a queue printed:\n{out}"));
            }
            let out = s.command("ls /dev/mqueue")?;
            out.contains("written").then_some(()).ok_or(format!("ls /dev/mqueue printed:\n{out}"))
        }),
        ("ctrl_c_discards_what_was_typed_ahead", |s| {
            // Typed while `sleep` runs, then interrupted: the line is not the shell's.
            let start = s.screen.lock().expect("screen").len();
            s.mark = start;
            s.type_keys("sleep 5\r")?;
            s.type_keys("echo leaked\r")?;
            s.interrupt()?;
            let out = s.command("echo after")?;
            s.mark = start;
            let all = s.output();
            (out.contains("\r\nafter\r\n") && !all.contains("\r\nleaked\r\n"))
                .then_some(())
                .ok_or(format!("the screen showed:\n{all}"))
        }),
        ("a_built_in_is_redirected_and_not_piped", |s| {
            s.command("help > /tmp/help")?;
            let out = s.command("cat /tmp/help")?;
            if !out.contains("Built-ins:") {
                return Err(format!("cat /tmp/help printed:\n{out}"));
            }
            let out = s.command("help | wc")?;
            (out.contains("shell: help: a built-in cannot be part of a pipeline") && out.contains("muon:2$"))
                .then_some(())
                .ok_or(format!("help | wc printed:\n{out}"))
        }),
        ("bad_arguments_are_refused", |s| {
            // (`shutdown abc` used to stop the machine with code 0.)
            let out = s.command("shutdown abc")?;
            if !(out.contains("shell: shutdown: abc: not an exit code") && out.contains("muon:2$")) {
                return Err(format!("shutdown abc printed:\n{out}"));
            }
            // A usage error ends with 2, as POSIX utilities' do (some ended with 1);
            // `true` and `false` ignore arguments (they refused them).
            let out = s.command("mq send /extra text 3 more")?;
            if !(out.contains("mq: usage: mq") && out.contains("muon:2$")) {
                return Err(format!("mq printed:\n{out}"));
            }
            let out = s.command("true x -y && false z; echo status $?")?;
            if !out.contains("status 1") {
                return Err(format!("true and false printed:\n{out}"));
            }
            // `kill -0` asks only whether a process is there (it was "not a signal").
            // (`proc` said only "shell: proc: EPERM (operation not permitted)".)
            let out = s.command("proc")?;
            if !(out.contains("shell: proc: EPERM (operation not permitted): the system's")
                && out.contains("muon:126$"))
            {
                return Err(format!("proc printed:\n{out}"));
            }
            let out = s.command("kill -0 1; echo k-$?; kill -0 99999; echo k-$?")?;
            if !(out.contains("k-0") && out.contains("99999: ESRCH") && out.contains("k-1")) {
                return Err(format!("kill -0 printed:\n{out}"));
            }
            // POSIX's `kill -s NAME` and `--` before the pids (`--: not a signal`).
            let out = s.command("sleep 30 & kill -- $! ; wait $! ; echo term-$? ; sleep 30 & kill -s KILL -- $! ; wait $! ; echo kill-$?")?;
            (out.contains("term-143") && out.contains("kill-137"))
                .then_some(())
                .ok_or(format!("kill -- and kill -s printed:\n{out}"))
        }),
        ("a_second_ramfs_says_why_it_cannot_serve_its_path", |s| {
            // (`ramfs` run again said only `ramfs: EBUSY`, `ramfs mnt` only EINVAL.)
            let out = s.command(
                "cd / ; ramfs ; ramfs /tmp/sub ; ramfs mnt & sleep 0.5 ; echo in-mnt > /mnt/x ; cat /mnt/x ; kill $! ; cd",
            )?;
            (out.contains("ramfs: /tmp: EBUSY (resource busy): another server serves it already")
                && out.contains("ramfs: /tmp/sub: EPERM (operation not permitted): inside another server's directory")
                && out.contains("\r\nin-mnt\r\n"))
            .then_some(())
            .ok_or(format!("ramfs printed:\n{out}"))
        }),
        ("directories_of_the_pathname_space_are_directories", |s| {
            // (`/dev` has no server: opening it said ENOENT; `ls /dev/` lost its markers.)
            // (`/dev/pipe` made a pipe nobody read, and the write failed with EBADF.)
            for dir in ["/dev", "/dev/pipe", "/dev/mqueue"] {
                let out = s.command(&format!("echo x > {dir}"))?;
                if !(out.contains(&format!("{dir}: EISDIR")) && out.contains("muon:1$")) {
                    return Err(format!("echo x > {dir} printed:\n{out}"));
                }
            }
            let out = s.command("ls /dev/")?;
            out.contains("mqueue/").then_some(()).ok_or(format!("ls /dev/ printed:\n{out}"))
        }),
        ("utf8_input_is_typed_edited_and_passed_on", |s| {
            // (Bytes above 0x7f were dropped by the shell's editor and the console.)
            let out = s.command("echo héllo wörld€\x7f!")?;
            if !out.contains("\r\nhéllo wörld!\r\n") {
                return Err(format!("echo printed:\n{out}"));
            }
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("cat\r")?;
            s.type_keys("naïve\x7f\x7f\x7five\r")?; // erased a character (not a byte) at a time
            s.wait_for("\r\nnaive\r\n", STEP_TIMEOUT)?; // what cat read
            s.type_keys("\x04")?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT).map(drop)
        }),
        ("exit_leaves_a_shell_started_from_the_shell", |s| {
            // (`exit` said there was nothing to exit to; the nested shell was for ever.)
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("shell\r")?;
            s.wait_for("Muon shell: ", STEP_TIMEOUT)?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            let out = s.command("exit 259")?; // (the low 8 bits, as POSIX keeps)
            out.contains("muon:3$ ").then_some(()).ok_or(format!("exit 259 left:\n{out}"))
        }),
        ("the_boot_shell_is_started_again_when_it_ends", |s| {
            // (A killed shell left the machine without one.) `exit`, then `kill`.
            for how in ["exit", "kill"] {
                let before = s.command("pidin")?;
                let shell = pid_of(&before, "shell").ok_or(format!("no shell:\n{before}"))?;
                s.mark = s.screen.lock().expect("screen").len();
                s.type_keys(&if how == "exit" { String::from("exit\r") } else { format!("kill {shell}\r") })?;
                s.wait_for("Muon shell: ", STEP_TIMEOUT)?;
                s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
                let after = s.command("pidin")?;
                match pid_of(&after, "shell") {
                    Some(new) if new != shell => {}
                    _ => return Err(format!("after {how}, pidin printed:\n{after}")),
                }
            }
            Ok(())
        }),
        ("a_shell_s_end_hangs_up_the_shells_it_started", |s| {
            // (A nested shell orphaned by its parent's end and the shell started again
            // both read the console, splitting what was typed between them.)
            let before = s.command("pidin")?;
            let boot_shell = pid_of(&before, "shell").ok_or(format!("no shell:\n{before}"))?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("shell\r")?;
            s.wait_for("Muon shell: ", STEP_TIMEOUT)?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys(&format!("kill {boot_shell}\r"))?;
            s.wait_for("Muon shell: ", STEP_TIMEOUT)?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            let out = s.command("echo typed-whole")?;
            if !out.contains("\r\ntyped-whole\r\n") {
                return Err(format!("echo printed:\n{out}"));
            }
            let after = s.command("pidin")?;
            let shells = after.lines().filter(|l| l.split_whitespace().nth(2) == Some("shell")).count();
            (shells == 1).then_some(()).ok_or(format!("{shells} shells:\n{after}"))
        }),
        ("and_or_lists_and_standard_error_redirections", |s| {
            let out = s.command("cat /nosuch 2> /tmp/err || echo recovered && echo also")?;
            if !out.contains("\r\nrecovered\r\nalso\r\n") || out.contains("cat: /nosuch") {
                return Err(format!("the || && line printed:\n{out}"));
            }
            let out = s.command("cat /nosuch && echo not-run")?;
            if out.contains("\r\nnot-run") || !out.contains("muon:1$") {
                return Err(format!("the && line printed:\n{out}"));
            }
            // `2>&1` writes the same open file as the output: nothing is written over.
            let out = s.command("cat /nosuch /tmp/err > /tmp/both 2>&1 ; cat /tmp/both")?;
            let count = out.matches("cat: /nosuch: ENOENT").count();
            if count != 2 {
                return Err(format!("/tmp/both held {count} errors:\n{out}"));
            }
            // POSIX's order: `2>&1 > f` leaves the errors where the output was (the screen).
            let out = s.command("cat /nosuch 2>&1 > /tmp/out ; ls /nosuch 1>/tmp/o 2>/tmp/e ; cat /tmp/e")?;
            if out.matches("ENOENT").count() != 2 {
                return Err(format!("the numbered redirections printed:\n{out}"));
            }
            let out = s.command("sleep 1 && echo x &")?; // (POSIX runs the whole list in the background)
            if !out.contains("cannot run an `&&` or `||` list in the background") {
                return Err(format!("a list with & printed:\n{out}"));
            }
            // A queue's name stays a queue's (`/../tmp/x` reached /tmp/x).
            let out = s.command("mq send /../tmp/escaped text")?;
            (out.contains("EINVAL") && out.contains("muon:1$")).then_some(()).ok_or(format!("mq printed:\n{out}"))
        }),
        ("a_nested_shell_gives_the_console_back_to_its_pipeline", |s| {
            // (A nested shell and a console reader in one pipeline: once the shell had
            // taken the console and ended, cat's read was held for good, and Ctrl-C
            // had nothing to end.)
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("shell | cat /dev/console\r")?;
            s.wait_for("Muon shell: ", STEP_TIMEOUT)?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("exit\r")?;
            std::thread::sleep(Duration::from_millis(500));
            s.type_keys("back-to-cat\r")?;
            s.wait_for("back-to-cat\r\nback-to-cat\r\n", STEP_TIMEOUT)?; // the echo, then cat
            s.type_keys("\x04")?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT).map(drop)
        }),
        ("status_null_device_and_overlong_lines", |s| {
            // `$?` is the status of the job before it, not of the line before.
            let out = s.command("cat /nosuch 2> /dev/null ; echo status-$? ; exit 1 2")?;
            if !out.contains("\r\nstatus-1\r\n") || out.contains("cat: /nosuch") {
                return Err(format!("the status line printed:\n{out}"));
            }
            if !(out.contains("exit: too many arguments") && out.contains("muon:2$")) {
                return Err(format!("exit 1 2 printed:\n{out}"));
            }
            let out = s.command("echo gone > /dev/null ; cat < /dev/null ; echo null-ok")?;
            if !out.contains("\r\nnull-ok\r\n") || out.contains("\r\ngone") {
                return Err(format!("/dev/null printed:\n{out}"));
            }
            // A reader that ended stops a cat reading the keyboard (it read on for good).
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("cat | echo x\r")?;
            s.wait_for("\r\nx\r\n", STEP_TIMEOUT)?;
            s.type_keys("abc\r")?;
            s.wait_for("abc\r\nmuon:0$ ", STEP_TIMEOUT)?;
            // A line too long for the editor is not run cut (`> /tmp/long` was lost).
            s.mark = s.screen.lock().expect("screen").len();
            s.paste(&format!("echo {} > /tmp/long\r", "y".repeat(4100)))?;
            s.wait_for("a line holds at most 4096 bytes: not run\r\nmuon:2$ ", STEP_TIMEOUT).map(drop)
        }),
        ("the_shell_runs_scripts", |s| {
            // (`shell < file`, `... | shell` and `shell -c` opened an interactive shell.)
            s.command("echo 'echo from-a-script ; cat /nosuch ; exit 4' > /tmp/script")?;
            let out = s.command("shell < /tmp/script 2> /tmp/script-errors ; cat /tmp/script-errors")?;
            if !(out.contains("\r\nfrom-a-script\r\n")
                && out.contains("cat: /nosuch: ENOENT")
                && out.contains("muon:0$"))
            {
                return Err(format!("the script printed:\n{out}"));
            }
            let out = s.command("shell -c 'echo via-dash-c && exit 5' | cat ; echo $?")?;
            if !out.contains("\r\nvia-dash-c\r\n0\r\n") {
                return Err(format!("shell -c printed:\n{out}"));
            }
            let out = s.command("echo 'echo piped-script' | shell")?;
            out.contains("\r\npiped-script\r\n").then_some(()).ok_or(format!("a piped script printed:\n{out}"))
        }),
        ("ls_reports_a_missing_path", |s| {
            let out = s.command("ls /nonexistent")?;
            if !(out.contains("ls: /nonexistent: ENOENT") && out.contains("muon:1$")) {
                return Err(format!("ls /nonexistent printed:\n{out}"));
            }
            // Relative paths start at the working directory, `/` here; `..` and `//`
            // resolve (they were EINVAL).
            let out = s.command("cat tmp/missing")?;
            if !(out.contains("cat: tmp/missing: ENOENT") && out.contains("muon:1$")) {
                return Err(format!("cat tmp/missing printed:\n{out}"));
            }
            let out = s.command("ls /tmp/..//dev")?;
            out.contains("mqueue/").then_some(()).ok_or(format!("ls /tmp/..//dev printed:\n{out}"))
        }),
        ("the_working_directory", |s| {
            // (There was no `cd`: relative paths always started at `/`.)
            let out = s.command("cd /tmp ; pwd ; echo inside > here ; cat /tmp/here ; ls ; cd ; pwd")?;
            if !(out.contains("\r\n/tmp\r\ninside\r\n") && out.contains("\r\nhere\r\n") && out.contains("\r\n/\r\n")) {
                return Err(format!("cd /tmp printed:\n{out}"));
            }
            // A program starts in its parent's working directory; `..` leaves it.
            let out = s.command("shell -c 'cd /tmp && shell -c pwd && cat here && cd .. && pwd'")?;
            if !out.contains("\r\n/tmp\r\ninside\r\n/\r\n") {
                return Err(format!("the nested shell printed:\n{out}"));
            }
            // A redirection is the shell's directory's, whatever the program does next.
            let out = s.command("shell -c 'cd /tmp ; echo from-tmp' > /tmp/../tmp/out ; cd /tmp ; cat out ; cd")?;
            if !out.contains("\r\nfrom-tmp\r\n") {
                return Err(format!("the redirection printed:\n{out}"));
            }
            let out = s.command("cd /nosuch ; cd /tmp/here ; pwd")?;
            if !(out.contains("cd: /nosuch: ENOENT")
                && out.contains("cd: /tmp/here: ENOTDIR")
                && out.contains("\r\n/\r\n"))
            {
                return Err(format!("cd to nowhere printed:\n{out}"));
            }
            let out = s.command("true && false || echo tf-$? ; sleep 0.2 ; echo slept-$? ; sleep 1.x")?;
            if !(out.contains("\r\ntf-1\r\n")
                && out.contains("\r\nslept-0\r\n")
                && out.contains("sleep: 1.x: not a number of seconds")
                && out.contains("muon:1$"))
            {
                return Err(format!("true, false and sleep printed:\n{out}"));
            }
            Ok(())
        }),
        ("patterns_expand_to_the_paths_they_match", |s| {
            // (`*`, `?` and `[...]` were passed on as they were typed.) The files are made
            // on the line: its patterns are matched as each job runs.
            let out = s.command("touch /tmp/g1.txt /tmp/g2.txt /tmp/gx.log ; echo /tmp/g* ; ls /tmp/g?.txt")?;
            if !out.contains("\r\n/tmp/g1.txt /tmp/g2.txt /tmp/gx.log\r\n/tmp/g1.txt\r\n/tmp/g2.txt\r\n") {
                return Err(format!("echo /tmp/g* and ls /tmp/g?.txt printed:\n{out}"));
            }
            // Quoted or escaped they stand for themselves; a word that matches nothing
            // stays as written; `$?` is filled in first; a relative pattern gives relative
            // paths; components are matched one at a time.
            let line = "echo '*' \"/tmp/g*\" \\* /tmp/g[!0-9]* /tmp/nomatch* ; false ; echo /tmp/g$?.* ; \
                        cd /tmp ; echo g*.txt ; cd ; echo /d*/n*/g*";
            let out = s.command(line)?;
            if !out.contains(
                "\r\n* /tmp/g* * /tmp/gx.log /tmp/nomatch*\r\n/tmp/g1.txt\r\ng1.txt g2.txt\r\n/dev/name/global\r\n",
            ) {
                return Err(format!("the patterns printed:\n{out}"));
            }
            // A redirection's file name is no pattern (`g*` is made); Tab after a typed `*`
            // leaves the line as it was.
            let out = s.command("echo star > /tmp/g* ; cat /tmp/g\\* ; rm /tmp/g* ; echo /tmp/g*")?;
            if !out.contains("\r\nstar\r\n/tmp/g*\r\n") {
                return Err(format!("the redirection to /tmp/g* printed:\n{out}"));
            }
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("echo /proc/bo*\t\r")?;
            s.wait_for("\r\n/proc/boot\r\nmuon:0$ ", STEP_TIMEOUT).map(drop)
        }),
        ("paths_options_and_built_ins_as_a_user_expects", |s| {
            // (Found by a new user: each of these was accepted, silently or wrongly.)
            let out = s.command("echo f > /tmp/plain ; cat /tmp/plain/ ; wc < /tmp ; ls /dev/name")?;
            if !(out.contains("cat: /tmp/plain/: ENOTDIR") && out.contains("EISDIR") && out.contains("\r\nglobal/\r\n"))
            {
                return Err(format!("the paths printed:\n{out}"));
            }
            let out = s.command("ls -l /tmp ; mq send q hi ; echo -n -n no-newline ; echo ; ls -- /proc/boot")?;
            if !(out.contains("ls: -l: no such option")
                && out.contains("q: a queue's name starts with /")
                && out.contains("\r\nno-newline\r\n")
                && out.contains("\r\nhello\r\n"))
            {
                return Err(format!("the options printed:\n{out}"));
            }
            // A FIFO written before it is read (the write failed with EPIPE), and the file
            // utilities.
            let out = s.command("mkfifo /tmp/ff ; echo via-fifo > /tmp/ff & cat /tmp/ff ; rm /tmp/ff")?;
            if !out.contains("\r\nvia-fifo\r\n") {
                return Err(format!("the FIFO printed:\n{out}"));
            }
            let out =
                s.command("touch /tmp/t ; cp /tmp/plain /tmp/copy ; cat /tmp/copy ; cp /tmp/copy /tmp ; rm /tmp/t /tmp/copy /tmp/t")?;
            if !(out.contains("\r\nf\r\n")
                && out.contains("are the same file")
                && out.contains("rm: /tmp/t: ENOENT")
                && out.contains("muon:1$"))
            {
                return Err(format!("the file utilities printed:\n{out}"));
            }
            // A built-in's redirection first (`cd / > out` changed directory, then
            // failed to open `out` there); mkfifo over a file (it hid it); a program by
            // its /proc/boot path; rm of a directory (a server's and the pathname space's
            // too: a new user saw ENOENT for /dev/mqueue).
            let out = s.command(
                "cd /tmp ; cd / > cdout ; pwd ; ls /tmp/cdout ; mkfifo /tmp/plain ; /proc/boot/echo by-path ; \
                 rm /tmp /dev/mqueue /dev",
            )?;
            if !(out.contains("\r\n/\r\n/tmp/cdout\r\n")
                && out.contains("mkfifo: /tmp/plain: EEXIST")
                && out.contains("\r\nby-path\r\n")
                && out.contains("rm: /tmp: is a directory")
                && out.contains("rm: /dev/mqueue: is a directory")
                && out.contains("rm: /dev: is a directory"))
            {
                return Err(format!("the built-in's redirection, mkfifo, /proc/boot and rm printed:\n{out}"));
            }
            let out = s.command("help < /nosuch ; echo help-$? ; exit & echo still-here")?;
            if !(out.contains("shell: /nosuch: ENOENT") && out.contains("help-1") && out.contains("\r\nstill-here\r\n"))
            {
                return Err(format!("the built-ins printed:\n{out}"));
            }
            Ok(())
        }),
        ("fg_and_wait_bring_background_jobs_to_the_foreground", |s| {
            // (There were neither: a background job could only be waited out or killed.)
            let out = s.command("sleep 0.2 & sleep 0.3 & wait ; echo waited-$? ; wait 99999")?;
            if !(out.contains("\r\nwaited-0\r\n")
                && out.contains("wait: 99999: no such job")
                && out.contains("muon:127$"))
            {
                return Err(format!("wait printed:\n{out}"));
            }
            // `wait PID` of a job whose end was announced gives its status (it said "no
            // such job"); what is typed during a `wait` is the next line.
            let started = s.command("false &")?;
            let pid = started.split(['[', ']']).nth(1).unwrap_or("").to_string();
            s.command("sleep 0.1")?;
            let out = s.command(&format!("wait {pid}; echo st-$?"))?;
            if !out.contains("st-1") {
                return Err(format!("wait of an announced job printed:\n{out}"));
            }
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("sleep 0.5 & wait\r")?;
            std::thread::sleep(Duration::from_millis(100));
            s.type_keys("echo typed-while-waiting\r")?;
            s.wait_for("\r\ntyped-while-waiting\r\n", STEP_TIMEOUT)?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            // Ctrl-C stops a `wait` and leaves the jobs running, as sh does (it ended
            // them); `fg` then gives the console to one, and Ctrl-C ends that.
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("sleep 30 &\r")?;
            s.wait_for("muon:0$ ", STEP_TIMEOUT)?;
            s.type_keys("wait\r")?;
            std::thread::sleep(Duration::from_millis(300));
            s.type_keys("\x03")?;
            s.wait_for("muon:130$ ", STEP_TIMEOUT)?;
            let out = s.command("jobs")?;
            if !out.contains("sleep 30") {
                return Err(format!("Ctrl-C in a wait ended the job; jobs printed:\n{out}"));
            }
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("fg\r")?;
            s.wait_for("\r\nsleep 30\r\n", STEP_TIMEOUT)?;
            std::thread::sleep(Duration::from_millis(300));
            s.type_keys("\x03")?; // Ctrl-C ends it: it is the foreground now
            s.wait_for("muon:130$ ", STEP_TIMEOUT)?;
            let out = s.command("jobs")?;
            if out.contains("sleep 30") {
                return Err(format!("jobs printed:\n{out}"));
            }
            // `$!`: the last background job's pid (a new user reached for it).
            let out = s.command("sleep 40 & echo bg-$! ; kill $! ; wait")?;
            let pid = out.split('[').nth(1).and_then(|j| j.split(']').next()).ok_or(format!("sleep 40 &:\n{out}"))?;
            (out.contains(&format!("bg-{pid}\r\n")) && !out.contains("not a pid"))
                .then_some(())
                .ok_or(format!("$! after sleep 40 &:\n{out}"))
        }),
        ("tab_completes_programs_and_paths", |s| {
            // (Tab did nothing.) A program's name, then a path, then a choice shown.
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("ech\t")?;
            s.wait_for("echo ", STEP_TIMEOUT)?;
            s.type_keys("/pro\t")?;
            s.wait_for("/proc/", STEP_TIMEOUT)?;
            s.type_keys("bo\t")?;
            s.wait_for("boot/", STEP_TIMEOUT)?;
            s.type_keys("\r")?;
            s.wait_for("\r\n/proc/boot/\r\nmuon:0$ ", STEP_TIMEOUT)?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("demo-\t")?;
            s.wait_for("demo-checksum  demo-pi  demo-shm  demo-timer\r\nmuon:0$ demo-", STEP_TIMEOUT)?;
            s.type_keys("\x15")?; // Ctrl-U: the line goes
                                  // Directories are shown with a `/` in a choice (they were not).
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("ls /dev/\t")?;
            let shown = s.wait_for("muon:0$ ls /dev/", STEP_TIMEOUT)?;
            if !shown.contains("pipe/") || !shown.contains("shmem/") || shown.contains("null/") {
                return Err(format!("the choice in /dev showed:\n{shown}"));
            }
            s.type_keys("\x15")?;
            // After `|` a built-in is not offered (the shell refuses it in a pipeline).
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys("echo x | c\t")?;
            let shown = s.wait_for("muon:0$ echo x | c", STEP_TIMEOUT)?;
            if !shown.contains("cat") || shown.contains("cd") {
                return Err(format!("the choice after | showed:\n{shown}"));
            }
            s.type_keys("\x15")?;
            let out = s.command("ls /proc/boot")?;
            out.contains("\r\nhello\r\n").then_some(()).ok_or(format!("ls /proc/boot printed:\n{out}"))
        }),
        ("killed_server_comes_back_and_its_clients_get_errors", |s| {
            let before = s.command("mq create /e2e ; mq recv /e2e & pidin")?;
            let server = pid_of(&before, "mqueue").ok_or(format!("no mqueue server:\n{before}"))?;
            let killed = s.command(&format!("kill {server}"))?;
            // The waiting client gets an error (its job ends with status 1: the notice
            // comes at one of the next prompts), and the server comes back (respawn) with
            // a new pid and no queues.
            let out = killed + &s.command("sleep 0.5 ; mq recv /e2e ; pidin")?;
            if !(out.contains("exit 1  mq recv /e2e") && out.contains("/e2e: no such queue")) {
                return Err(format!("the dead server's clients printed:\n{out}"));
            }
            match pid_of(&out, "mqueue") {
                Some(pid) if pid != server => Ok(()),
                _ => Err(format!("the killed server did not come back:\n{out}")),
            }
        }),
        ("killed_console_comes_back_with_a_shell", |s| {
            // (Killing the console driver left nobody able to type, for good.)
            let before = s.command("pidin")?;
            let console = pid_of(&before, "console").ok_or(format!("no console:\n{before}"))?;
            s.mark = s.screen.lock().expect("screen").len();
            s.type_keys(&format!("kill {console}\r"))?;
            s.wait_for("muon:0$ ", Duration::from_secs(60))?;
            let out = s.command("echo typed-again")?;
            out.contains("\r\ntyped-again\r\n").then_some(()).ok_or(format!("the new shell printed:\n{out}"))
        }),
        ("shutdown_ends_qemu", |s| {
            s.type_keys("shutdown\r")?;
            let started = Instant::now();
            loop {
                if let Ok(Some(status)) = s.qemu.try_wait() {
                    return (status.code() == Some(0)).then_some(()).ok_or(format!("QEMU exited with {status}"));
                }
                if started.elapsed() > STEP_TIMEOUT {
                    return Err(String::from("QEMU did not stop"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }),
    ];
    let mut failed = false;
    for (name, step) in steps {
        let name = format!("{label}/{name}");
        if failed {
            println!("skipped after an earlier failure");
            tally.record(&name, false);
            continue;
        }
        let result = step(&mut session);
        if let Err(message) = &result {
            println!("{message}");
            failed = true;
        }
        tally.record(&name, result.is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidin_columns_are_read() {
        let screen = "   pid  tid name                  prio STATE      Blocked\r\n\
                      \x20    1    1 proc                   10r RUNNING    \r\n\
                      \x20    6    1 shell                  10r WAITCHILD  7\r\n";
        assert_eq!(pid_of(screen, "proc"), Some(1));
        assert_eq!(pid_of(screen, "shell"), Some(6));
        assert_eq!(state_of(screen, "shell").as_deref(), Some("WAITCHILD"));
        assert_eq!(pid_of(screen, "pipe"), None);
    }
}
