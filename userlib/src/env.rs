//! The environment a process was started with: `KEY=VALUE` strings after its arguments
//! (see [`crate::args`]), and its working directory. Muon uses the environment to hand a
//! program its standard input and outputs (`STDIN`, `STDOUT`, `STDERR`: paths to open;
//! [`crate::io`]) and its working directory (`PWD`).

use crate::sync::Mutex;
use alloc::string::String;
use spin::Once;

use crate::Errno;

/// (Set once by the runtime before `main`, while the process has one thread.)
static ENVIRONMENT: Once<&'static str> = Once::new();

/// The working directory, canonical; `None` until first asked for (then `PWD`'s, or `/`).
/// (A [`Mutex`] that sleeps when taken: every path resolution takes it.)
static WORKING_DIRECTORY: Mutex<Option<String>> = Mutex::new(None);

/// Records the environment block (the runtime does, before `main`).
pub(crate) fn set(block: &'static [u8]) {
    ENVIRONMENT.call_once(|| core::str::from_utf8(block).unwrap_or(""));
}

/// The value of `key`, if the environment has it.
pub fn var(key: &str) -> Option<&'static str> {
    vars().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Every `(key, value)`.
pub fn vars() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::args::environment(ENVIRONMENT.get().copied().unwrap_or(""))
}

/// The working directory, from which relative paths resolve
/// ([`crate::msg::canonical_path`]). A process starts in the one its parent had when it
/// spawned it (`PWD`, which [`crate::proc::spawn_with`] passes on), or else in `/`.
/// (A copy: nothing runs under the lock.)
#[doc(alias = "getcwd")]
pub fn current_dir() -> String {
    let mut directory = WORKING_DIRECTORY.lock();
    let directory = directory.get_or_insert_with(|| {
        var("PWD").and_then(|p| crate::msg::resolve_path("/", p).ok()).unwrap_or_else(|| String::from("/"))
    });
    directory.clone()
}

/// Makes `path` (resolved from the working directory) the working directory: `ENOENT`
/// when nothing is there, `ENOTDIR` for a file ([`crate::fs::read_dir`]'s errors).
#[doc(alias = "chdir")]
pub fn set_current_dir(path: &str) -> Result<(), Errno> {
    let path = crate::msg::canonical_path(path)?;
    crate::fs::read_dir(&path)?;
    *WORKING_DIRECTORY.lock() = Some(path);
    Ok(())
}
