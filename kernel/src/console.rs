//! The kernel console: `kprint!`/`kprintln!`, the `log` backend, and the lock-free
//! emergency path used by fault reports and panics.
//!
//! Output goes to the board's [`Console`]; `\n` becomes `\r\n` on the way. Writers take
//! a spin lock with IRQs masked, so an interrupt handler that prints cannot deadlock
//! against the code it interrupted.

use crate::arch;
use crate::platform::Console;
use core::fmt::{self, Write};

static CONSOLE: spin::Once<&'static dyn Console> = spin::Once::new();
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Routes kernel output to `console` (once; later calls are ignored).
pub fn init(console: &'static dyn Console) {
    CONSOLE.call_once(|| console);
}

struct Writer(&'static dyn Console);

impl Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                self.0.write_bytes(b"\r\n");
            }
            self.0.write_bytes(line.as_bytes());
        }
        Ok(())
    }
}

/// Prints formatted text (use [`kprint!`](crate::kprint) / [`kprintln!`](crate::kprintln)).
pub fn print(args: fmt::Arguments<'_>) {
    let Some(console) = CONSOLE.get() else { return };
    let irqs_were_on = arch::disable_irqs();
    {
        let _guard = LOCK.lock();
        let _ = Writer(*console).write_fmt(args);
    }
    if irqs_were_on {
        arch::enable_irqs();
    }
}

/// Writes raw bytes (a user program's `DebugWrite`), translating `\n` to `\r\n`.
pub fn write_bytes(bytes: &[u8]) {
    let Some(console) = CONSOLE.get() else { return };
    let irqs_were_on = arch::disable_irqs();
    {
        let _guard = LOCK.lock();
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            match line.split_last() {
                Some((b'\n', text)) => {
                    console.write_bytes(text);
                    console.write_bytes(b"\r\n");
                }
                _ => console.write_bytes(line),
            }
        }
    }
    if irqs_were_on {
        arch::enable_irqs();
    }
}

/// Prints without taking the lock: for fault reports and panics, when the lock may be
/// held by the code that failed.
pub fn emergency(args: fmt::Arguments<'_>) {
    if let Some(console) = CONSOLE.get() {
        let _ = Writer(*console).write_fmt(args);
    }
}

/// Nothing is buffered in the kernel; kept so exit paths read as intended.
pub fn flush() {}

/// Prints to the kernel console.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the kernel console.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

struct KernelLogger;

impl log::Log for KernelLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let micros = crate::time::Clock::new(arch::timer::frequency()).ticks_to_ns(arch::timer::now()) / 1000;
        print(format_args!(
            "[{:>4}.{:06}] {:<5} {}\n",
            micros / 1_000_000,
            micros % 1_000_000,
            record.level(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

static LOGGER: KernelLogger = KernelLogger;

/// Installs the `log` backend at `level`.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// The level named by `loglevel=` in a boot command line, if any.
pub fn level_from_bootargs(bootargs: &str) -> Option<log::LevelFilter> {
    let value = bootargs.split_whitespace().find_map(|arg| arg.strip_prefix("loglevel="))?;
    value.parse().ok()
}
