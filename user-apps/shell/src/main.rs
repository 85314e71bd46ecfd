//! `shell`: the Muon shell, on the console (`/dev/console`, served by the console driver).
//!
//! It reads lines with its own editor (the console in raw mode; history, arrows), parses
//! them (`lib.rs`), and runs each job: programs of the boot image started by name through
//! proc, connected by pipes from the pipe server, with `<`/`>`/`>>` redirections to any
//! path a server owns, in the foreground (the console back in canonical mode, Ctrl-C
//! ending every program of the pipeline) or in the background (`&`, with no standard
//! input unless redirected: only the foreground reads the console). `$?` is the last
//! command's exit status, `$!` the last background job's pid; `*`, `?` and `[...]` in a word make it the paths they match
//! (`lib.rs`). Built-ins: `help`, `exit [n]` (also Ctrl-D at the prompt; proc
//! starts the boot shell again), `shutdown [n]`, `jobs`, `fg [pid]`, `wait [pid...]`,
//! `cd [dir]`, `pwd`; Tab completes programs and paths. Programs get
//! their standard input and outputs as `STDIN`/`STDOUT`/`STDERR` paths in their
//! environment, and start in the shell's working directory (`PWD`); a background job's,
//! and every program a shell in the background starts, also get `BACKGROUND`.
//! `shell -c LINE`, `shell FILE` (its programs' standard input is then the shell's), or
//! a shell whose standard input is not the console, runs the line, the file or the script
//! on its input without prompts and ends with the last status; in the background it
//! leaves the console alone (no claim of it for its programs: Ctrl-C does not reach
//! them).

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
userlib::entry!(run::main);

/// On the host only the library (parser, editor) is tested; the shell needs Muon.
#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod run {
    use alloc::collections::VecDeque;
    use alloc::format;
    use alloc::string::String;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::cell::RefCell;
    use shell::editor::{Editor, Event, WordAt};
    use shell::parse::{parse_for_running, Command, ErrorRedirect, FileRedirect, Job};
    use userlib::fs::{self, File};
    use userlib::msg::{console_devctl, console_mode, open_flags, INTERRUPTED_STATUS};
    use userlib::proc::ProcessGroup;
    use userlib::process::ExitStatus;
    use userlib::sync::Mutex;
    use userlib::{proc, process, thread, time, Args, Errno, Pid};

    const CONSOLE: &str = "/dev/console";
    /// What a background job reads, unless redirected (proc serves it: always empty).
    const NULL_DEVICE: &str = "/dev/null";
    const HISTORY: usize = 50;

    const HELP: &str = "\
Muon shell. Run a program of the boot image by name, with arguments:
  hello a b          echo hi | cat | wc          ls /dev > /tmp/list ; cat < /tmp/list
  cmd &              run in the background       $?  the last exit status
  kill $!            end the last job run with & ($!: its pid)
  a && b || c        b if a succeeded, c if not  cat x 2> errors, cmd > out 2>&1
  echo oops >&2      the output where errors go  shell FILE: run the script in FILE
  cat /tmp/*.txt     * ? [a-z] [!a]: the paths they match ('*' and \\* are a plain *)
Programs: echo cat ls pidin [mem|family] kill uptime free mq sleep wc true false rm
          touch mkfifo cp mv mkdir rmdir bench hello shell demo-checksum
          demo-timer demo-shm demo-pi
Built-ins: help, jobs, fg [pid], wait [pid...], kill [-SIGNAL] PID|-PGID...,
           cd [dir] (default /), pwd, exit [n] (Ctrl-D), shutdown [n].
Keys: arrows, Home/End (Ctrl-A/E), Ctrl-U/K/W to delete, Ctrl-C, history (Up/Down),
Tab completes a program (ls /proc/boot: them all) or a path.
";

    /// How many ended background jobs' statuses the shell keeps for `wait`.
    const ENDED_KEPT: usize = 64;
    /// Most background jobs at once: each has a waiter thread, and a process has 64
    /// threads (past them, jobs ran unwatched: no `jobs`, `fg`, `wait` or notice of
    /// their end).
    const MAX_BACKGROUND_JOBS: usize = 56;
    /// The built-ins: the shell runs them itself.
    /// (`kill` too, as in sh: it works when no program can be started, the system's
    /// processes or threads all taken by a runaway program.)
    const BUILTINS: [&str; 9] = ["help", "exit", "shutdown", "jobs", "fg", "wait", "cd", "pwd", "kill"];
    /// Where proc lists the boot image's programs (what the shell runs by name).
    const BOOT_PROGRAMS: &str = "/proc/boot";

    struct Shell {
        console: File,
        editor: Editor,
        status: u32,
        /// The pid of the last job started in the background (`$!`).
        last_background: Option<Pid>,
        background: Vec<BackgroundJob>,
        /// Background jobs whose end was announced, with their status, for a later
        /// `wait PID` (the most recent [`ENDED_KEPT`]).
        ended: Vec<(Pid, u32)>,
        /// What was typed while `wait` read the console for Ctrl-C: the next line's start.
        typed_ahead: VecDeque<u8>,
        /// Reading commands from a script (`-c`, or standard input that is not the
        /// console): no prompt, no editor, no hold on the console's mode; the shell's
        /// messages go to its standard error, its programs' output to its own.
        script: bool,
        /// Where its programs' standard streams go unless redirected.
        streams: Streams,
        /// While a built-in whose standard error is redirected runs (`cd x 2> /dev/null`):
        /// what it says, for the file its `2>` names.
        builtin_errors: RefCell<Option<String>>,
        /// Started in the background (`BACKGROUND` in its environment: `shell -c … &`, or
        /// a program of such a shell): it leaves the console to the shell in control —
        /// no claim on it, no change of its mode — as a POSIX shell without job control
        /// leaves the terminal alone. (Its claims were held by the console until that
        /// shell named its foreground: the script stalled at each command until the
        /// user typed another line.)
        in_background: bool,
    }

    /// A shell's programs' standard streams when nothing redirects them: the console for
    /// an interactive shell; a script shell's own output and error (`shell < script >
    /// out`), and its own input if the script is a file (`shell script < in`), else the
    /// console (a script shell's own input is the script).
    struct Streams {
        input: String,
        output: String,
        output_append: bool,
        error: String,
        error_append: bool,
        error_to_output: bool,
    }

    impl Streams {
        fn console() -> Streams {
            let console = String::from(CONSOLE);
            Streams {
                input: console.clone(),
                output: console.clone(),
                output_append: false,
                error: console,
                error_append: false,
                error_to_output: false,
            }
        }

        /// This process's own, from its environment (the console where it has none), but
        /// for its input unless `own_input` (it is the script).
        fn inherited(own_input: bool) -> Streams {
            let path = |key: &str| String::from(userlib::env::var(key).unwrap_or(CONSOLE));
            let set = |key: &str| userlib::env::var(key).is_some();
            Streams {
                input: if own_input { path("STDIN") } else { String::from(CONSOLE) },
                output: path("STDOUT"),
                output_append: set("STDOUT_APPEND"),
                error: path("STDERR"),
                error_append: set("STDERR_APPEND"),
                error_to_output: set("STDERR_TO_STDOUT"),
            }
        }
    }

    /// A job started with `&`: its last program's pid (the job's number), its command
    /// line, the thread that waits for its programs (joined once they have all ended, so
    /// that it does not stay a dead thread), and the status it ended with, once it has.
    struct BackgroundJob {
        /// Its last program's pid, which names it.
        pid: Pid,
        /// Every program's, for `fg` and `wait` to name the foreground.
        pids: Vec<Pid>,
        command: String,
        waiter: Option<thread::JoinHandle>,
        /// Its status and what its waiter has to say (a program a fault killed).
        ended: Arc<Mutex<Option<(u32, String)>>>,
    }

    pub fn main(args: Args) -> Result<(), Errno> {
        // The console driver starts before the shell, but give it time to attach.
        let mut console = Err(Errno::ENOENT);
        for _ in 0..2000 {
            console = fs::open(CONSOLE, open_flags::O_RDWR, 0);
            if console.is_ok() {
                break;
            }
            time::sleep_ns(1_000_000);
        }
        let mut shell = Shell {
            console: console?,
            editor: Editor::new(HISTORY),
            status: 0,
            last_background: None,
            background: Vec::new(),
            ended: Vec::new(),
            typed_ahead: VecDeque::new(),
            script: false,
            streams: Streams::console(),
            builtin_errors: RefCell::new(None),
            in_background: userlib::env::var("BACKGROUND").is_some(),
        };
        // `shell -c LINE`, a script file (`shell FILE`), or a script on standard input
        // (`shell < file`, `... | shell`): run it and end with the last status, as sh does.
        // A script file leaves standard input to its programs.
        let script = match (args.get(1), args.get(2), userlib::env::var("STDIN")) {
            (Some("-c"), Some(line), _) if args.len() == 3 => Some((String::from(line), false)),
            (Some(path), None, _) if !path.starts_with('-') => Some((read_script_file(path), true)),
            (Some(_), _, _) => {
                userlib::eprintln!("shell: usage: shell [-c LINE | FILE]");
                process::exit(2);
            }
            (None, _, Some(input)) if input != CONSOLE => Some((read_script(), false)),
            (None, _, _) => None,
        };
        if let Some((script, own_input)) = script {
            shell.script = true;
            shell.streams = Streams::inherited(own_input);
            for line in script.lines() {
                shell.run_line(line);
                if shell.status == INTERRUPTED_STATUS {
                    break; // Ctrl-C ends the script too, as SIGINT ends sh
                }
            }
            shell.leave(shell.status);
        }
        shell.say("\nMuon shell: `help` lists what you can do.\n");
        loop {
            shell.set_mode(console_mode::RAW, &[0]);
            shell.reap_background();
            shell.say(&format!("muon:{}$ ", shell.status));
            let line = match shell.read_line() {
                Some(line) => line,
                None => continue,
            };
            shell.run_line(&line);
        }
    }

    impl Shell {
        /// `exit`'s and `shutdown`'s status argument (`default` if none; the low 8 bits
        /// of it, all a parent sees in POSIX); `None` (after saying why) if it is not one.
        fn code_argument(&self, command: &Command, default: u32) -> Option<u32> {
            if command.argv.len() > 2 {
                self.say(&format!("shell: {}: too many arguments\n", command.argv[0]));
                return None;
            }
            match command.argv.get(1).map(|c| c.parse::<u32>()) {
                None => Some(default),
                Some(Ok(code)) => Some(code & 0xff),
                Some(Err(_)) => {
                    self.say(&format!("shell: {}: {}: not an exit code\n", command.argv[0], command.argv[1]));
                    None
                }
            }
        }

        /// Ends the shell (`exit`, Ctrl-D at the prompt), the console back in canonical
        /// mode for whoever reads it next: the shell that started this one, or the new
        /// one proc starts in place of the boot shell.
        fn leave(&self, code: u32) -> ! {
            self.set_mode(console_mode::CANONICAL, &[0]);
            process::exit(code as i32)
        }

        fn say(&self, text: &str) {
            if let Some(said) = self.builtin_errors.borrow_mut().as_mut() {
                said.push_str(text);
                return;
            }
            match self.script {
                true => userlib::io::write_stderr(text.as_bytes()),
                false => {
                    let _ = self.console.write_all(text.as_bytes());
                }
            }
        }

        /// Sets the programs Ctrl-C ends (none: `[0]`) and then the console's mode (a
        /// Ctrl-C typed ahead, which the switch to canonical mode finds, ends them).
        fn set_mode(&self, mode: u32, foreground: &[Pid]) {
            if self.in_background {
                return;
            }
            let pids: Vec<u8> = foreground.iter().flat_map(|pid| pid.to_le_bytes()).collect();
            let _ = self.console.devctl(console_devctl::SET_FOREGROUND, &pids, &mut []);
            let _ = self.console.devctl(console_devctl::SET_MODE, &mode.to_le_bytes(), &mut []);
        }

        /// One edited line; `None` after Ctrl-C or Ctrl-D. Read a byte at a time, as POSIX
        /// shells read: what was typed after the line stays in the console, for the
        /// command the line starts (`cat⏎hello⏎` typed at once: `cat` reads `hello`).
        fn read_line(&mut self) -> Option<String> {
            let mut input = [0u8; 1];
            let mut echo = Vec::new();
            loop {
                // (What was typed during a `wait` first.)
                let read = match self.typed_ahead.pop_front() {
                    Some(byte) => {
                        input[0] = byte;
                        Ok(1)
                    }
                    None => self.console.read(&mut input),
                };
                let n = match read {
                    Ok(n) => n,
                    Err(e) => {
                        // The console driver is gone (killed): proc starts it again. The
                        // shell waits for it, keeping its directory and jobs, and ends
                        // only if it does not come back.
                        if !self.reopen_console() {
                            userlib::eprintln!("shell: the console: {e}");
                            process::exit(1);
                        }
                        self.set_mode(console_mode::RAW, &[0]);
                        let mut echo = format!("\nmuon:{}$ ", self.status).into_bytes();
                        self.editor.redraw(&mut echo);
                        let _ = self.console.write_all(&echo);
                        continue;
                    }
                };
                for &byte in &input[..n] {
                    let event = self.editor.feed(byte, &mut echo);
                    if !echo.is_empty() {
                        let _ = self.console.write_all(&echo);
                        echo.clear();
                    }
                    match event {
                        Event::Line(line) => return Some(line),
                        Event::Overlong => {
                            let limit = shell::editor::LINE_CAPACITY;
                            self.say(&format!("shell: a line holds at most {limit} bytes: not run\n"));
                            self.status = 2;
                            return None;
                        }
                        Event::Interrupt => {
                            self.status = INTERRUPTED_STATUS; // (as `$?` after Ctrl-C at a prompt)
                            return None;
                        }
                        Event::Eof => {
                            self.say("exit\n"); // (as sh says, so that what follows starts a line)
                            self.leave(self.status)
                        }
                        Event::Complete => self.complete(),
                        Event::None => {}
                    }
                }
            }
        }

        fn run_line(&mut self, line: &str) {
            let jobs = match parse_for_running(line) {
                Ok(jobs) => jobs,
                Err(e) => {
                    self.say(&format!("shell: {e}\n"));
                    self.status = 2;
                    return;
                }
            };
            for job in jobs {
                if !job.condition().holds(self.status) {
                    continue; // `&&` after a failure, `||` after a success
                }
                // `$?`, `$!` and the patterns now: the jobs before may have made files.
                let last_background = self.last_background;
                let job = match job.expand(self.status, last_background, &mut |directory| fs::read_dir(directory).ok())
                {
                    Ok(job) => job,
                    Err(word) => {
                        // (The command does not run, as sh's after an expansion error.)
                        self.say(&format!("shell: {word}: the pattern matches too many paths\n"));
                        self.status = 1;
                        continue;
                    }
                };
                if let Some(status) = self.builtin(&job) {
                    self.status = status;
                    continue;
                }
                self.status = self.run_job(&job);
                if self.status == INTERRUPTED_STATUS && !job.background {
                    break; // Ctrl-C ends the rest of the line too, as in sh
                }
            }
        }

        /// `fg [PID]` and `wait [PID...]`: background jobs (`fg`: the one named or the
        /// last started; `wait`: those named or all) waited for. `fg` brings the job to the
        /// foreground, so that Ctrl-C ends it; during a `wait` the shell keeps the console,
        /// and Ctrl-C stops the wait alone, as in sh. The status of the last one named
        /// (`wait` of all: 0; Ctrl-C: 130); 127 for a pid that is no job of this shell.
        fn wait_for_jobs(&mut self, command: &Command) -> u32 {
            let name = command.argv[0].as_str();
            self.reap_background(); // (those that ended: their notices, not a wait)
            let mut chosen: Vec<Pid> = Vec::new();
            let mut ended_status = None;
            for word in &command.argv[1..] {
                let pid = word.parse::<Pid>().ok();
                // A job whose end was announced still has its status, as sh keeps it.
                if let Some(at) = self.ended.iter().position(|(p, _)| Some(*p) == pid).filter(|_| name == "wait") {
                    ended_status = Some(self.ended.remove(at).1);
                    continue;
                }
                match pid.filter(|pid| self.background.iter().any(|j| j.pid == *pid)) {
                    Some(pid) if !chosen.contains(&pid) => chosen.push(pid),
                    Some(_) => {}
                    None => {
                        self.say(&format!("{name}: {word}: no such job\n"));
                        return 127;
                    }
                }
            }
            if chosen.is_empty() {
                if let Some(status) = ended_status {
                    return status;
                }
            }
            let all = chosen.is_empty();
            if all {
                match (name, self.background.last()) {
                    ("fg", None) => {
                        self.say("fg: no job\n");
                        return 1;
                    }
                    ("fg", Some(last)) => chosen.push(last.pid),
                    _ => chosen.extend(self.background.iter().map(|j| j.pid)),
                }
            }
            if name == "wait" && !self.script && !self.wait_interruptibly(&chosen) {
                return INTERRUPTED_STATUS; // (Ctrl-C: the jobs run on, as sh leaves them)
            }
            let mut jobs: Vec<BackgroundJob> = Vec::new();
            for pid in chosen {
                if let Some(at) = self.background.iter().position(|j| j.pid == pid) {
                    jobs.push(self.background.remove(at));
                }
            }
            if let Some(job) = jobs.first().filter(|_| name == "fg") {
                self.say(&format!("{}\n", job.command));
            }
            let pids: Vec<Pid> = jobs.iter().flat_map(|j| j.pids.iter().copied()).collect();
            if name == "fg" || self.script {
                self.set_mode(console_mode::CANONICAL, &pids);
            }
            let mut status = 0;
            for job in jobs {
                if let Some(waiter) = job.waiter {
                    let _ = waiter.join(); // (it stores the status, then ends)
                }
                if let Some((ended, said)) = job.ended.lock().take() {
                    self.say(&said);
                    status = ended;
                }
            }
            if status == INTERRUPTED_STATUS {
                self.say("\n");
            }
            if all && name == "wait" {
                return 0;
            }
            status
        }

        /// `wait`'s wait for the background jobs `pids` to end, in the background: the
        /// shell keeps the console and reads it, so that Ctrl-C stops the wait alone (it
        /// ended the jobs: `wait` gave them the foreground). What else is typed meanwhile
        /// starts the next line. False after Ctrl-C.
        fn wait_interruptibly(&mut self, pids: &[Pid]) -> bool {
            use userlib::ipc::timeout_states::REPLY;
            let running = |s: &Self| s.background.iter().any(|j| pids.contains(&j.pid) && j.ended.lock().is_none());
            // The shell's own: Ctrl-C comes to it as a byte.
            self.set_mode(console_mode::RAW, &[0]);
            let mut byte = [0u8; 1];
            while running(self) {
                // (A look every tenth of a second: a job's end comes to its waiter thread.)
                if userlib::ipc::timeout(REPLY, 100_000_000).is_err() {
                    time::sleep_ns(100_000_000);
                    continue;
                }
                match self.console.read(&mut byte) {
                    Ok(1) if byte[0] == 0x03 => {
                        // Ctrl-C discards what was typed and not yet read, as it does
                        // everywhere else (a line typed during the wait ran after it,
                        // and a Ctrl-D typed there to end a job ended the shell).
                        self.typed_ahead.clear();
                        self.say("^C\n");
                        return false;
                    }
                    Ok(1) => self.typed_ahead.push_back(byte[0]),
                    Err(Errno::EINTR | Errno::ETIMEDOUT) => {} // (the tenth of a second)
                    _ => time::sleep_ns(100_000_000),          // (the console gone: no spinning)
                }
            }
            true
        }

        /// Opens the console again (its driver was started again); false if it does not
        /// come back within ten seconds.
        fn reopen_console(&mut self) -> bool {
            for _ in 0..100 {
                time::sleep_ns(100_000_000);
                if let Ok(console) = fs::open(CONSOLE, open_flags::O_RDWR, 0) {
                    self.console = console;
                    return true;
                }
            }
            false
        }

        /// Tab: completes the word before the cursor — a program of the boot image or a
        /// built-in where a command goes, else a path — or, with a choice left, shows it
        /// and the line again.
        fn complete(&mut self) {
            let (word, at) = self.editor.word_before_cursor();
            let command = at != WordAt::Argument;
            let word = String::from(word);
            let (directory, prefix) = match word.rsplit_once('/') {
                Some(("", prefix)) => (String::from("/"), prefix),
                Some((directory, prefix)) => (String::from(directory), prefix),
                None if command => (String::new(), word.as_str()),
                None => (String::from("."), word.as_str()),
            };
            let mut names = match directory.as_str() {
                "" => fs::read_dir(BOOT_PROGRAMS).unwrap_or_default(),
                directory => fs::read_dir(directory).unwrap_or_default(),
            };
            // (A built-in cannot be part of a pipeline: not offered after `|`.)
            if directory.is_empty() && at == WordAt::Command {
                names.extend(BUILTINS.iter().map(|b| String::from(*b)));
                names.sort();
                names.dedup();
            }
            names.retain(|name| name.starts_with(prefix));
            let is_directory = |name: &str| {
                let full = if directory == "/" { format!("/{name}") } else { format!("{directory}/{name}") };
                !directory.is_empty() && fs::read_dir(&full).is_ok()
            };
            let end = match &names[..] {
                [only] if is_directory(only) => "/",
                _ => " ",
            };
            let (added, show) = shell::editor::completion(prefix, &names, end);
            let mut echo = Vec::new();
            if show {
                // Directories marked with a `/`, as `ls` and other shells show them.
                let shown: Vec<String> =
                    names.iter().map(|n| if is_directory(n) { format!("{n}/") } else { n.clone() }).collect();
                let mut listing = String::from("\n"); // (the console sends \n as \r\n)
                listing.push_str(&shown.join("  "));
                listing.push_str(&format!("\nmuon:{}$ ", self.status));
                echo.extend_from_slice(listing.as_bytes());
                self.editor.redraw(&mut echo);
            } else if added.is_empty() {
                echo.push(0x07); // nothing to add: the bell, as other shells ring it
            } else {
                self.editor.insert_text(&added, &mut echo);
            }
            let _ = self.console.write_all(&echo);
        }

        /// Runs a built-in, if the job is one; returns its status.
        fn builtin(&mut self, job: &Job) -> Option<u32> {
            if job.pipeline.len() > 1 {
                let name = job.pipeline.iter().map(|c| c.argv[0].as_str()).find(|n| BUILTINS.contains(n))?;
                self.say(&format!("shell: {name}: a built-in cannot be part of a pipeline\n"));
                return Some(2);
            }
            let [command] = &job.pipeline[..] else { return None };
            if !BUILTINS.contains(&command.argv[0].as_str()) {
                return None;
            }
            // Its redirections are made before it runs, as sh makes them: `cd / > out` must
            // create `out` where the shell was, and not change directory if it cannot. A
            // built-in reads nothing, but an input redirection that fails fails it, as a
            // program's does (`help < /nosuch` printed the help, status 0).
            if let Err(say) = open_redirections(command) {
                self.say(&format!("{say}\n"));
                return Some(1);
            }
            // In the background, sh runs a built-in in a subshell: `exit &` and `cd x &`
            // leave the shell as it is (`exit &` ended it).
            if job.background && matches!(command.argv[0].as_str(), "exit" | "cd" | "shutdown" | "fg" | "wait") {
                return Some(0);
            }
            // What it says goes where its `2>` says (`cd /nosuch 2> /dev/null` printed
            // its error on the console all the same); `2>&1` after `>`: to that file.
            let errors = match &command.stderr {
                Some(ErrorRedirect::File(redirect)) => Some(redirect.clone()),
                Some(ErrorRedirect::ToOutput) => command.stdout.clone(),
                Some(ErrorRedirect::ToUnredirectedOutput) | None => None,
            };
            if errors.is_some() {
                *self.builtin_errors.borrow_mut() = Some(String::new());
            }
            let status = self.run_builtin(command);
            let said = self.builtin_errors.borrow_mut().take().unwrap_or_default();
            if let Some(redirect) = errors.filter(|_| !said.is_empty()) {
                // (Opened again to add to its end: the built-in's output, if it went to
                // the same file, is there already.)
                let written = fs::open(&redirect.path, open_flags::O_WRONLY | open_flags::O_APPEND, 0)
                    .and_then(|file| file.write_all(said.as_bytes()));
                if let Err(e) = written {
                    self.say(&format!("shell: {}: {e}\n", redirect.path));
                }
            }
            status
        }

        /// Runs the built-in `command`, its redirections made; returns its status.
        fn run_builtin(&mut self, command: &Command) -> Option<u32> {
            let output = match &command.stdout {
                None => None,
                Some(redirect) => {
                    let append = if redirect.append { open_flags::O_APPEND } else { 0 };
                    match fs::open(&redirect.path, open_flags::O_WRONLY | append, 0) {
                        Ok(file) => Some(file),
                        Err(e) => {
                            self.say(&format!("shell: {}: {e}\n", redirect.path));
                            return Some(1);
                        }
                    }
                }
            };
            let mut out = String::new();
            let status = match command.argv[0].as_str() {
                "help" => {
                    out.push_str(HELP);
                    0
                }
                "exit" => {
                    let Some(code) = self.code_argument(command, self.status) else { return Some(2) };
                    self.leave(code)
                }
                "shutdown" => {
                    let Some(code) = self.code_argument(command, 0) else { return Some(2) };
                    self.say("stopping the machine\n");
                    let e = process::shutdown(code);
                    out.push_str(&format!("shutdown: {e}\n"));
                    1
                }
                "cd" if command.argv.len() > 2 => {
                    self.say("cd: usage: cd [DIRECTORY]\n");
                    return Some(2);
                }
                "cd" => {
                    let directory = command.argv.get(1).map_or("/", String::as_str);
                    match userlib::env::set_current_dir(directory) {
                        Ok(()) => 0,
                        Err(e) => {
                            self.say(&format!("cd: {directory}: {e}\n"));
                            1
                        }
                    }
                }
                "pwd" if command.argv.len() > 1 => {
                    self.say("pwd: usage: pwd\n");
                    return Some(2);
                }
                "pwd" => {
                    out.push_str(&userlib::env::current_dir());
                    out.push('\n');
                    0
                }
                "fg" if command.argv.len() > 2 => {
                    self.say("fg: usage: fg [PID]\n");
                    return Some(2);
                }
                "fg" | "wait" => self.wait_for_jobs(command),
                "kill" => {
                    let words: Vec<&str> = command.argv[1..].iter().map(String::as_str).collect();
                    process::kill_utility(&words, |message| self.say(&format!("kill: {message}\n")))
                }
                "jobs" if command.argv.len() > 1 => {
                    self.say("jobs: usage: jobs\n");
                    return Some(2);
                }
                "jobs" => {
                    self.reap_background();
                    for job in &self.background {
                        out.push_str(&format!("[{}] running  {}\n", job.pid, job.command));
                    }
                    0
                }
                _ => return None,
            };
            // Its output goes where `>` or `>>` says, as a program's would.
            let Some(file) = output else {
                // (Not `say`: that is its standard error, which may be redirected. `>&2`:
                // the shell's own standard error.)
                match (self.script, command.output_to_error) {
                    (true, false) => userlib::io::write_stdout(out.as_bytes()),
                    (true, true) => userlib::io::write_stderr(out.as_bytes()),
                    (false, _) => {
                        let _ = self.console.write_all(out.as_bytes());
                    }
                }
                return Some(status);
            };
            match file.write_all(out.as_bytes()) {
                Ok(()) => Some(status),
                Err(e) => {
                    self.say(&format!("shell: {}: {e}\n", command.stdout.as_ref().map_or("", |r| r.path.as_str())));
                    Some(1)
                }
            }
        }

        /// Starts a job's pipeline; waits for it unless it runs in the background.
        /// Returns the last command's status (0 for a background job that started).
        fn run_job(&mut self, job: &Job) -> u32 {
            if job.background {
                self.reap_background(); // (what ended gives back its waiter)
                if self.background.len() >= MAX_BACKGROUND_JOBS {
                    self.say(&format!("shell: {MAX_BACKGROUND_JOBS} background jobs already: `wait` for them\n"));
                    return 1;
                }
            }
            let count = job.pipeline.len();
            // Pipe i joins command i to command i + 1; the shell holds both ends until the
            // commands that use them are done (so none sees an early end of file).
            let mut pipes: Pipes = Vec::new();
            for _ in 1..count {
                match fs::pipe_numbered(0) {
                    Ok((reader, writer, number)) => pipes.push((Some(reader), Some(writer), number)),
                    Err(e) => {
                        self.say(&format!("shell: pipe: {e}\n"));
                        return 1;
                    }
                }
            }
            // Each command's pid, or the status it failed to start with: as in sh, the
            // others run all the same (`nosuch | wc` prints `0 0 0`).
            let mut stages: Vec<Stage> = Vec::new();
            for (i, command) in job.pipeline.iter().enumerate() {
                // A background job does not read the console: POSIX gives it /dev/null,
                // and so does this shell, unless redirected. (Given none, a program reads
                // nothing too, but a shell takes none for the console: `shell &` was a
                // second interactive shell, prompting and reading the keyboard.)
                let stdin = match (&command.stdin, i) {
                    (Some(path), _) => Some(path.clone()),
                    (None, 0) if job.background => Some(String::from(NULL_DEVICE)),
                    (None, 0) => Some(self.streams.input.clone()),
                    (None, _) => Some(format!("{}/{}", userlib::msg::PIPE_DIR, pipes[i - 1].2)),
                };
                let unredirected = match i + 1 == count {
                    true => None, // the shell's own output
                    false => Some(format!("{}/{}", userlib::msg::PIPE_DIR, pipes[i].2)),
                };
                // An interactive shell makes each job a process group of its own (the
                // first command leads it), which Ctrl-C ends whole, with whatever its
                // programs started; a script's commands stay in the script's group, as
                // in sh without job control (Ctrl-C ends the script with them).
                let leader = stages.iter().find_map(|s| s.ok());
                let group = match (self.script, leader) {
                    (true, _) => ProcessGroup::Parent,
                    (false, None) => ProcessGroup::New,
                    (false, Some(leader)) => ProcessGroup::Join(leader),
                };
                match self.start(command, stdin.as_deref(), unredirected.as_deref(), job.background, group) {
                    Ok(pid) => stages.push(Ok(pid)),
                    Err((message, status)) => {
                        self.say(&format!("{message}\n"));
                        stages.push(Err(status)); // (its pipes are let go at once)
                    }
                }
            }
            let pids: Vec<Pid> = stages.iter().filter_map(|s| s.ok()).collect();
            let Some(&last_pid) = pids.last() else {
                return stages.last().and_then(|s| s.err()).unwrap_or(127);
            };
            if job.background {
                let (pid, command, job_pids) = (last_pid, job.command_line(), pids.clone());
                self.say(&format!("[{pid}] started  {command}\n"));
                self.last_background = Some(pid);
                // A thread waits and lets go of the pipes as the commands end.
                let ended = Arc::new(Mutex::new(None));
                let result = Arc::clone(&ended);
                let waiter = thread::spawn(move || {
                    let statuses = wait_pipeline(&stages, pipes);
                    let mut said = String::new();
                    let status = ended_status(&stages, statuses, |text| said.push_str(text));
                    *result.lock() = Some((status, said));
                });
                match waiter {
                    Ok(waiter) => {
                        let job = BackgroundJob { pid, pids: job_pids, command, waiter: Some(waiter), ended };
                        self.background.push(job);
                    }
                    // (Its pipes went with the waiter; its programs run on, unwatched.)
                    Err(e) => self.say(&format!("shell: cannot watch [{pid}]: {e}\n")),
                }
                return 0;
            }
            self.set_mode(console_mode::CANONICAL, &pids);
            let statuses = wait_pipeline(&stages, pipes);
            let status = ended_status(&stages, statuses, |text| self.say(text));
            if status == INTERRUPTED_STATUS {
                self.say("\n");
            }
            status
        }

        /// Starts `command` with the given standard input (none: empty), and its output
        /// where it redirects it or else to `pipe` (none: the shell's own output), told it
        /// runs in the `background` (or this shell does), in process `group`; on failure,
        /// what to say and the status (127: no such program, 1: a redirection).
        fn start(
            &self,
            command: &Command,
            stdin: Option<&str>,
            pipe: Option<&str>,
            background: bool,
            group: ProcessGroup,
        ) -> Result<Pid, (String, u32)> {
            let streams = &self.streams;
            let unredirected = pipe.unwrap_or(&streams.output);
            // The shell's own standard error (`>&2`'s), which a pipe does not change.
            let (own_error, own_error_append) = match streams.error_to_output {
                true => (streams.output.as_str(), streams.output_append),
                false => (streams.error.as_str(), streams.error_append),
            };
            let stdout = match (&command.stdout, command.output_to_error) {
                (Some(redirect), _) => redirect.path.as_str(),
                (None, true) => own_error,
                (None, false) => unredirected,
            };
            // A file it redirects to, the shell made (and emptied, `>`) below: the program
            // appends to it, and so do the programs it starts, which get its streams, so
            // that none writes over another's output (where POSIX shares one offset).
            let append_output = match (&command.stdout, command.output_to_error) {
                (Some(_), _) => true,
                (None, true) => own_error_append,
                (None, false) => pipe.is_none() && streams.output_append,
            };
            // A program is named as the boot image lists it, or by its path there.
            let canonical = userlib::msg::canonical_path(&command.argv[0]).unwrap_or_default();
            let name = match canonical.strip_prefix("/proc/boot/") {
                Some(program) if command.argv[0].contains('/') => program,
                _ => command.argv[0].as_str(),
            };
            // (The program would take an input it cannot open for an empty one; its output
            // files are made here, so that it only opens them.)
            open_redirections(command).map_err(|say| (say, 1))?;
            let arguments: Vec<&str> = command.argv[1..].iter().map(String::as_str).collect();
            let mut environment = Vec::from([("STDOUT", stdout)]);
            // Standard error: where the command says, else the shell's own (a script
            // shell's `2>&1`: its output, shared when the command writes there too).
            let append_error = match &command.stderr {
                Some(ErrorRedirect::File(redirect)) => {
                    environment.push(("STDERR", redirect.path.as_str()));
                    true // (as its output: made here, appended to)
                }
                Some(ErrorRedirect::ToOutput) => {
                    environment.push(("STDERR_TO_STDOUT", "1"));
                    false
                }
                Some(ErrorRedirect::ToUnredirectedOutput) => {
                    environment.push(("STDERR", unredirected));
                    pipe.is_none() && streams.output_append
                }
                None if streams.error_to_output && stdout == streams.output.as_str() => {
                    environment.push(("STDERR_TO_STDOUT", "1"));
                    false
                }
                None if streams.error_to_output => {
                    environment.push(("STDERR", streams.output.as_str()));
                    streams.output_append
                }
                None => {
                    environment.push(("STDERR", streams.error.as_str()));
                    streams.error_append
                }
            };
            if let Some(stdin) = stdin {
                environment.push(("STDIN", stdin));
            }
            if append_output {
                environment.push(("STDOUT_APPEND", "1"));
            }
            if background || self.in_background {
                environment.push(("BACKGROUND", "1"));
            }
            if append_error {
                environment.push(("STDERR_APPEND", "1"));
            }
            // The streams' paths as absolute ones: the program opens them when it first
            // uses them, maybe after changing its directory (`shell -c 'cd /tmp; echo
            // hi' > out` wrote to /tmp/out).
            let absolute: Vec<(&str, String)> = environment
                .iter()
                .map(|&(key, value)| match key {
                    "STDIN" | "STDOUT" | "STDERR" => {
                        (key, userlib::msg::canonical_path(value).unwrap_or_else(|_| String::from(value)))
                    }
                    _ => (key, String::from(value)),
                })
                .collect();
            let environment: Vec<(&str, &str)> = absolute.iter().map(|(key, value)| (*key, value.as_str())).collect();
            proc::spawn_with(name, &arguments, None, None, &environment, group).map_err(|e| match e {
                Errno::ENOENT => (format!("shell: {name}: no such program in the boot image"), 127),
                // (proc itself, or a priority that is the system's: `proc` said only
                // "operation not permitted".)
                Errno::EPERM => (format!("shell: {name}: {e}: the system's, not to be started from the shell"), 126),
                e => (format!("shell: {name}: {e}"), 126),
            })
        }

        /// Says which background jobs have ended, and forgets them.
        fn reap_background(&mut self) {
            let mut said = String::new();
            self.background.retain_mut(|job| {
                let Some((status, waiter_said)) = job.ended.lock().take() else { return true };
                if let Some(waiter) = job.waiter.take() {
                    let _ = waiter.join(); // (it has stored the status: the join is short)
                }
                let how = if status == 0 { String::from("done") } else { format!("exit {status}") };
                if self.ended.len() == ENDED_KEPT {
                    self.ended.remove(0);
                }
                self.ended.push((job.pid, status));
                said.push_str(&waiter_said);
                said.push_str(&format!("[{}] {how}  {}\n", job.pid, job.command));
                false
            });
            if !said.is_empty() {
                self.say(&said);
            }
        }
    }

    /// The script on standard input, whole (`shell < file`, `... | shell`).
    fn read_script() -> String {
        read_all("standard input", 1, userlib::io::read)
    }

    /// The script in the file at `path`, whole (`shell FILE`); one that cannot be opened
    /// or read (a directory) ends the shell with 127, as sh's does.
    fn read_script_file(path: &str) -> String {
        let file = fs::open(path, open_flags::O_RDONLY, 0).and_then(|file| match file.stat() {
            Ok(s) if s.kind == userlib::msg::file_kind::DIRECTORY => Err(Errno::EISDIR),
            _ => Ok(file),
        });
        match file {
            Ok(file) => read_all(path, 127, |chunk| file.read(chunk)),
            Err(e) => {
                userlib::eprintln!("shell: {path}: {e}");
                process::exit(127);
            }
        }
    }

    /// All that `read` gives, from `source`; on an error, says so and ends the shell
    /// with `status`.
    fn read_all(source: &str, status: i32, mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>) -> String {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            match read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    userlib::eprintln!("shell: {source}: {e}");
                    process::exit(status);
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Opens the redirections of `command` in the order written, and closes them, as sh
    /// makes them: an output file is created or emptied (`a` too in `> a > b`), and the
    /// first that cannot be opened fails the command, leaving the later ones alone. What
    /// to say on failure.
    fn open_redirections(command: &Command) -> Result<(), String> {
        for file in &command.files {
            let (path, flags) = match file {
                FileRedirect::Input(path) => (path, open_flags::O_RDONLY),
                FileRedirect::Output(redirect) => {
                    let end = if redirect.append { open_flags::O_APPEND } else { open_flags::O_TRUNC };
                    (&redirect.path, open_flags::O_WRONLY | open_flags::O_CREAT | end)
                }
            };
            fs::open(path, flags, 0o644).map_err(|e| format!("shell: {path}: {e}"))?;
        }
        Ok(())
    }

    /// The status a pipeline ended with — its last program's, as POSIX's `$?`, the low 8
    /// bits of it — saying through `say` which programs a fault killed or could not be
    /// waited for.
    fn ended_status(stages: &[Stage], statuses: Vec<Result<ExitStatus, Errno>>, mut say: impl FnMut(&str)) -> u32 {
        let mut status = 0;
        for (stage, ended) in stages.iter().zip(statuses) {
            let pid = stage.unwrap_or(0);
            status = match ended {
                Ok(ExitStatus::Exited(code)) => code & 0xff,
                Ok(ExitStatus::Killed { exception_class }) => {
                    say(&format!("[{pid}] killed by a fault (class {exception_class:#x})\n"));
                    128 + exception_class
                }
                Err(e) => {
                    say(&format!("shell: wait {pid}: {e}\n"));
                    1
                }
            };
        }
        status
    }

    /// A pipeline's command: its pid, or the status it failed to start with.
    type Stage = Result<Pid, u32>;

    /// The pipes between a pipeline's commands: the shell's read end, its write end, and
    /// the pipe's number.
    type Pipes = Vec<(Option<File>, Option<File>, u64)>;

    /// Waits for every program of a pipeline, letting go of each pipe as the programs on
    /// its sides end, in whatever order they end: a reader that ends first must leave its
    /// writer `EPIPE`, not blocked on a full pipe the shell still reads from (`cat big |
    /// echo early` hung). How each ended, in the pipeline's order.
    fn wait_pipeline(stages: &[Stage], mut pipes: Pipes) -> Vec<Result<ExitStatus, Errno>> {
        // A command that did not start has ended: its pipes go now.
        let mut statuses: Vec<Option<Result<ExitStatus, Errno>>> = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            statuses.push(stage.err().map(|status| Ok(ExitStatus::Exited(status))));
            if stage.is_err() {
                release(&mut pipes, i);
            }
        }
        let pids: Vec<(usize, Pid)> = stages.iter().enumerate().filter_map(|(i, s)| Some((i, s.ok()?))).collect();
        let shared = Arc::new(Mutex::new((pipes, statuses)));
        let waiter = |i: usize, pid: Pid| {
            let shared = Arc::clone(&shared);
            move || {
                let ended = process::wait(pid);
                let mut state = shared.lock();
                release(&mut state.0, i);
                state.1[i] = Some(ended);
            }
        };
        // One thread per program but the last, which this one waits for.
        let mut threads = Vec::new();
        let mut inline = Vec::new();
        for (n, &(i, pid)) in pids.iter().enumerate() {
            let spawned = match n + 1 < pids.len() {
                true => thread::Builder::new().stack_size(WAITER_STACK).spawn(waiter(i, pid)).ok(),
                false => None,
            };
            match spawned {
                Some(thread) => threads.push(thread),
                None => inline.push((i, pid)), // (in order, as before, if no thread starts)
            }
        }
        for (i, pid) in inline {
            waiter(i, pid)();
        }
        for thread in threads {
            let _ = thread.join();
        }
        let mut state = shared.lock();
        state.1.iter_mut().map(|s| s.take().unwrap_or(Err(Errno::ECHILD))).collect()
    }

    /// The stack of a thread that only waits for a program.
    const WAITER_STACK: usize = 16 * 1024;

    /// Command `i` of a pipeline has ended: the shell lets go of the pipe it wrote to and
    /// of the one it read from.
    fn release(pipes: &mut Pipes, i: usize) {
        if let Some(pipe) = pipes.get_mut(i) {
            pipe.1 = None; // its output: the next command sees the end once it is drained
        }
        if let Some(previous) = i.checked_sub(1).and_then(|p| pipes.get_mut(p)) {
            previous.0 = None; // its input: a writer still going now gets EPIPE
        }
    }
}
