//! The console driver (QNX's `devc-ser`): it maps the console UART's registers
//! (`MemObjectDevice`, with the I/O privilege proc gives boot programs), takes its
//! receive interrupt as a pulse (`InterruptAttachEvent`), and serves `/dev/console` and
//! `/dev/ser1` through the resource-manager framework with the line discipline of
//! `lib.rs`. Reads wait (held messages) until a line, a byte in raw mode, or an end of
//! file is there; `O_NONBLOCK` reads get `EAGAIN` instead. Ctrl-C ends the process groups
//! of the foreground programs a shell named (`DEVCTL SET_FOREGROUND`: its pipeline)
//! through proc. Output is
//! handed to the transmit FIFO while it has room, the rest on the UART's transmit
//! interrupt (`Output`): a writer waits (held) until its last byte is in the FIFO, and
//! meanwhile input, Ctrl-C and other clients are served; with `O_NONBLOCK` a write takes
//! what the FIFO takes at once (`EAGAIN` if nothing). The kernel keeps its own console
//! only for its log and fault reports.

use alloc::vec::Vec;
use console::control::Control;
use console::readers::{Reader, Readers};
use console::{Action, LineDiscipline, Mode, Output};
use userlib::abi::info::{console_kind, ThreadInfo};
use userlib::abi::ipc::{channel_flags, Pulse};
use userlib::abi::syscall::mem_prot;
use userlib::ipc::{Channel, Connection, Interrupt, ReceivedMessage};
use userlib::msg::{console_devctl, console_mode, file_kind, open_flags, Stat, INTERRUPTED_STATUS};
use userlib::proc;
use userlib::resmgr::{Dispatcher, Reply, Request, ResourceManager};
use userlib::{info, println, sys, Args, Errno};

/// The exit status of a program the console ended because its shell ended (128 + SIGHUP).
const HANGUP_STATUS: u32 = 129;

/// The pulse code of "the UART interrupted".
const UART_PULSE: i8 = 1;

/// The UART's registers, mapped into this process.
struct Uart {
    base: usize,
    kind: u32,
}

// PL011 registers and bits.
const PL011_DR: usize = 0x00;
const PL011_FR: usize = 0x18;
const PL011_IMSC: usize = 0x38;
const PL011_ICR: usize = 0x44;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const INT_RX: u32 = 1 << 4;
const INT_TX: u32 = 1 << 5;
const INT_RT: u32 = 1 << 6;
// Mini UART registers (from the AUX page) and bits.
const MU_IO: usize = 0x40;
const MU_IER: usize = 0x44;
const MU_LSR: usize = 0x54;
// (Bits 0 and 1 are swapped in the BCM2835 manual, and the datasheet's known errata say
// bits 3:2, marked "don't care", must be set for the interrupt to reach the CPU: set with
// the receive bit. QEMU ignores them; not verified on a Pi here.)
const MU_IER_RX: u32 = (1 << 0) | (0b11 << 2);
const MU_IER_TX: u32 = 1 << 1;
const LSR_DATA_READY: u32 = 1 << 0;
/// The transmit FIFO takes at least one byte.
const LSR_TX_EMPTY: u32 = 1 << 5;

impl Uart {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` maps the UART's register page (Device memory) for this process's
        // life; every offset used is a register inside it, read as 32 bits.
        unsafe { ((self.base + offset) as *const u32).read_volatile() }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as for `read`.
        unsafe { ((self.base + offset) as *mut u32).write_volatile(value) }
    }

    fn enable_receive_interrupt(&self) {
        match self.kind {
            console_kind::MINI_UART => self.write(MU_IER, MU_IER_RX),
            _ => {
                self.write(PL011_ICR, INT_RX | INT_RT);
                self.write(PL011_IMSC, self.read(PL011_IMSC) | INT_RX | INT_RT);
            }
        }
    }

    fn receive(&self) -> Option<u8> {
        match self.kind {
            console_kind::MINI_UART => (self.read(MU_LSR) & LSR_DATA_READY != 0).then(|| self.read(MU_IO) as u8),
            _ => (self.read(PL011_FR) & FR_RXFE == 0).then(|| self.read(PL011_DR) as u8),
        }
    }

    /// Puts `byte` in the transmit FIFO; false when it is full.
    fn put(&self, byte: u8) -> bool {
        let room = match self.kind {
            console_kind::MINI_UART => self.read(MU_LSR) & LSR_TX_EMPTY != 0,
            _ => self.read(PL011_FR) & FR_TXFF == 0,
        };
        if room {
            self.write(if self.kind == console_kind::MINI_UART { MU_IO } else { PL011_DR }, byte as u32);
        }
        room
    }

    /// Asks for the transmit interrupt (the FIFO has room again) or stops asking.
    fn want_transmit_interrupt(&self, on: bool) {
        match self.kind {
            console_kind::MINI_UART => self.write(MU_IER, MU_IER_RX | if on { MU_IER_TX } else { 0 }),
            _ => {
                // (Not cleared first: the FIFO, just filled, is above its trigger level,
                // so the flag is clear unless it has drained since — and then it must
                // interrupt, for nothing else will refill the FIFO.)
                let mask = self.read(PL011_IMSC) & !INT_TX;
                self.write(PL011_IMSC, if on { mask | INT_TX } else { mask });
            }
        }
    }
}

/// A waiting write.
struct Writer {
    message: ReceivedMessage,
    client: u32,
}

struct Console {
    uart: Uart,
    interrupt: Interrupt,
    discipline: LineDiscipline,
    readers: Readers<ReceivedMessage>,
    output: Output<Writer>,
    /// Whether the transmit interrupt is asked for.
    transmit_interrupt: bool,
    /// Who may read, and whom Ctrl-C ends ([`console::control`]).
    control: Control,
    /// Claims from children of the shell in control, waiting for it to name its
    /// foreground (a shell it started may claim before it is named: a race POSIX shells
    /// close by having parent and child both set the process group).
    pending_claims: Vec<PendingClaim>,
}

/// A shell's claim to the console (`SET_FOREGROUND`) made before the shell in control
/// named it in its foreground: held until that shell names its foreground.
struct PendingClaim {
    message: ReceivedMessage,
    pid: u32,
    scoid: u32,
    pids: Vec<u32>,
}

/// An open console: its flags.
struct Ocb {
    nonblock: bool,
}

pub fn main(_args: Args) -> Result<(), Errno> {
    let system = info::system_info()?;
    if !matches!(system.console_kind, console_kind::PL011 | console_kind::MINI_UART) {
        println!("console: no UART this driver knows");
        return Err(Errno::ENODEV);
    }
    let device = sys::mem_object_device(system.console_phys as usize, 4096)?;
    let rw = mem_prot::READ | mem_prot::WRITE;
    // SAFETY: the kernel places the mapping where nothing of ours is.
    let base = unsafe { sys::mem_object_map(0, device, 0, 4096, 0, rw, rw) }?;
    let _ = sys::mem_object_close(device);
    let uart = Uart { base, kind: system.console_kind };
    let channel = Channel::create(channel_flags::DISCONNECT | channel_flags::UNBLOCK)?;
    let me = Connection::attach(0, channel.chid())?;
    let interrupt = Interrupt::attach(system.console_irq, &me.pulse_event(60, UART_PULSE, 0))?;
    uart.enable_receive_interrupt();
    let _console = proc::path_attach("/dev/console", channel.chid(), 0)?;
    let _ser1 = proc::path_attach("/dev/ser1", channel.chid(), 0)?;
    let state = Console {
        uart,
        interrupt,
        discipline: LineDiscipline::new(),
        readers: Readers::new(),
        output: Output::new(),
        transmit_interrupt: false,
        control: Control::new(),
        pending_claims: Vec::new(),
    };
    let mut dispatcher = Dispatcher::new(state);
    let error = dispatcher.serve(&channel);
    println!("console: receiving failed: {error}");
    Err(error)
}

/// Ends the process groups of `pids` with `status`, each once: a job with everything it
/// started, as a terminal's SIGINT or SIGHUP reaches its whole foreground process group
/// (an interactive shell makes each job a group; a script's programs share the
/// script's). Pids that ended are left out.
fn end_groups_of(pids: &[u32], status: u32) {
    let Ok(threads) = proc::pidin() else {
        for &pid in pids {
            let _ = proc::kill(pid, status); // (the programs, at least)
        }
        return;
    };
    let mut groups: Vec<u32> =
        pids.iter().filter_map(|pid| threads.iter().find(|t| t.pid == *pid)).map(|t| t.group).collect();
    groups.sort_unstable();
    groups.dedup();
    for group in groups {
        let _ = proc::kill_group(group, status);
    }
}

/// The parent of a process in `threads` (`pidin`'s list), `None` once it ended.
fn parent_in(threads: &[ThreadInfo]) -> impl Fn(u32) -> Option<u32> + '_ {
    |pid| threads.iter().find(|t| t.pid == pid).map(|t| t.parent_pid)
}

impl Console {
    /// Answers waiting reads that may read, by arrival, while input is readable (reads
    /// of nothing at once); what a reader that has gone took is the next one's.
    fn serve_readers(&mut self) {
        let control = &self.control;
        self.readers.serve(
            &mut self.discipline,
            |pid| control.may_read(pid),
            |message, bytes| message.reply(bytes.len() as u64, bytes).is_ok(),
        );
    }

    /// Ctrl-C: ends the jobs the shell named.
    fn interrupt_foreground(&mut self) {
        end_groups_of(&self.control.take_foreground(), INTERRUPTED_STATUS);
    }

    fn take_input(&mut self) {
        let mut echo = Vec::new();
        while let Some(byte) = self.uart.receive() {
            if self.discipline.input(byte, &mut echo) == Action::Interrupt {
                self.interrupt_foreground();
            }
        }
        self.output.echo(&echo);
        self.serve_readers();
    }

    /// Hands output to the UART while it takes it, answers the writers whose bytes all
    /// went, and asks for the transmit interrupt while output is left.
    fn transmit(&mut self) {
        let mut done = Vec::new();
        let uart = &self.uart;
        self.output.transmit(|byte| uart.put(byte), &mut done);
        let wanted = !self.output.is_empty();
        if wanted != self.transmit_interrupt {
            self.uart.want_transmit_interrupt(wanted);
            self.transmit_interrupt = wanted;
        }
        // (Answered after the interrupt is asked for: an answer may let a writer of
        // higher priority run while the FIFO drains.)
        for (writer, length) in done {
            let _ = writer.message.reply(length as u64, &[]);
        }
    }

    /// The shell in control has named its foreground: the held claims are granted if
    /// their shells are in it, else refused (background jobs).
    fn settle_claims(&mut self, threads: &[ThreadInfo]) {
        for claim in core::mem::take(&mut self.pending_claims) {
            let _ = match self.control.claim(claim.pid, claim.scoid, claim.pids, parent_in(threads)) {
                Ok(()) => claim.message.reply(0, &[]),
                Err(e) => claim.message.error(e),
            };
        }
    }

    /// Answers a write taken out before its end: with what went, or `none_sent`.
    fn cancelled(writer: Writer, sent: usize, none_sent: Errno) {
        let _ = match sent {
            0 => writer.message.error(none_sent),
            _ => writer.message.reply(sent as u64, &[]),
        };
    }
}

impl ResourceManager for Console {
    type Ocb = Ocb;

    fn open(&mut self, _request: &Request, path: &str, flags: u32, _mode: u32) -> Result<Ocb, Errno> {
        if !path.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(Ocb { nonblock: flags & open_flags::O_NONBLOCK != 0 })
    }

    fn read(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        // (No more than the reader has room for: what the kernel could not copy to it
        // would be lost to every reader.)
        let want = (request.header.size as usize).min(request.reply_room);
        let (pid, client) = (request.client.pid, request.client.scoid);
        // Queued behind the reads waiting and answered here, not by the dispatcher: if
        // the reader went meanwhile, what it took is the next reader's.
        let message = request.hold();
        let rcvid = message.rcvid();
        self.readers.push(Reader { message, want, pid, client });
        self.serve_readers();
        if ocb.nonblock {
            for reader in self.readers.take(|r| r.message.rcvid() == rcvid) {
                // (POSIX: a background read fails with EIO when it cannot be stopped.)
                let _ = reader.message.error(if self.control.may_read(pid) { Errno::EAGAIN } else { Errno::EIO });
            }
        }
        Ok(Reply::Held)
    }

    fn write(&mut self, ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        if request.payload.is_empty() {
            return Ok(Reply::Status(0));
        }
        let bytes = core::mem::take(&mut request.payload).into_owned();
        let writer = Writer { message: request.hold(), client: request.client.scoid };
        let rcvid = writer.message.rcvid();
        self.output.write(bytes, writer);
        self.transmit();
        if ocb.nonblock {
            // What the FIFO did not take at once is not written.
            for (writer, sent) in self.output.cancel(|w| w.message.rcvid() == rcvid) {
                Self::cancelled(writer, sent, Errno::EAGAIN);
            }
            self.transmit();
        }
        Ok(Reply::Held)
    }

    fn stat(&mut self, _ocb: &mut Ocb) -> Result<Stat, Errno> {
        Ok(Stat { size: 0, kind: file_kind::DEVICE, mode: 0o666 })
    }

    fn devctl(&mut self, _ocb: &mut Ocb, request: &mut Request) -> Result<Reply, Errno> {
        let words: Vec<u32> =
            request.payload.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
        let value = words.first().copied();
        match request.header.arg {
            // (Only who may read sets the mode: a shell that has just handed the console
            // to a shell it started must not undo that one's raw mode.)
            console_devctl::SET_MODE if !self.control.may_read(request.client.pid) => Err(Errno::EPERM),
            console_devctl::SET_MODE => {
                let mode = match value {
                    Some(console_mode::CANONICAL) => Mode::Canonical,
                    Some(console_mode::RAW) => Mode::Raw,
                    _ => return Err(Errno::EINVAL),
                };
                let mut echo = Vec::new();
                if self.discipline.set_mode(mode, &mut echo) == Action::Interrupt {
                    self.interrupt_foreground();
                }
                self.output.echo(&echo);
                self.transmit();
                self.serve_readers();
                Ok(Reply::Status(0))
            }
            console_devctl::SET_FOREGROUND if value.is_none() => Err(Errno::EINVAL),
            console_devctl::SET_FOREGROUND => {
                let (pid, scoid) = (request.client.pid, request.client.scoid);
                let pids: Vec<u32> = words.into_iter().filter(|&pid| pid != 0).collect();
                let threads = proc::pidin()?;
                match self.control.claim(pid, scoid, pids.clone(), parent_in(&threads)) {
                    Err(Errno::EPERM) if self.control.child_of_controller(pid, parent_in(&threads)) => {
                        self.pending_claims.push(PendingClaim { message: request.hold(), pid, scoid, pids });
                        return Ok(Reply::Held);
                    }
                    result => result?,
                }
                if self.control.in_control(pid) {
                    self.settle_claims(&threads);
                }
                self.serve_readers();
                Ok(Reply::Status(0))
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn pulse(&mut self, pulse: Pulse) {
        if pulse.code == UART_PULSE {
            self.take_input();
            self.transmit();
            let _ = self.interrupt.unmask();
        }
    }

    fn unblock(&mut self, rcvid: u64) {
        for reader in self.readers.take(|r| r.message.rcvid() == rcvid) {
            let _ = reader.message.error(Errno::EINTR);
        }
        // A write: what went is written (POSIX's partial write), else EINTR.
        for (writer, sent) in self.output.cancel(|w| w.message.rcvid() == rcvid) {
            Self::cancelled(writer, sent, Errno::EINTR);
        }
        // A claim held for its parent to name it (a timeout, a thread ended): EINTR.
        if let Some(i) = self.pending_claims.iter().position(|c| c.message.rcvid() == rcvid) {
            let _ = self.pending_claims.remove(i).message.error(Errno::EINTR);
        }
    }

    fn disconnected(&mut self, scoid: u32) {
        // Their reads: nobody to answer (dropping a held message fails it harmlessly).
        drop(self.readers.take(|r| r.client == scoid));
        drop(self.output.cancel(|w| w.client == scoid));
        self.pending_claims.retain(|c| c.scoid != scoid);
        // A shell in control ended: a hang-up (`console::control`), as when a terminal's
        // controlling process exits: what it hangs up ends with status 129, as for
        // SIGHUP, lest they and a shell started again share the keyboard. Reads held for
        // those who may not read now fail with EIO, as POSIX fails an orphaned
        // background job's.
        if let Some(hung_up) = self.control.disconnected(scoid) {
            end_groups_of(&hung_up, HANGUP_STATUS);
            let control = &self.control;
            for reader in self.readers.take(|r| !control.may_read(r.pid)) {
                let _ = reader.message.error(Errno::EIO);
            }
            // Claims waiting on a shell that ended or lost control: refused (an orphan
            // must not take the console from the shell proc starts again).
            for claim in core::mem::take(&mut self.pending_claims) {
                let _ = claim.message.error(Errno::EPERM);
            }
            self.serve_readers();
        }
    }
}
