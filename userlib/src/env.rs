//! The environment a process was started with: `KEY=VALUE` strings after its arguments
//! (see [`crate::args`]). Muon uses it to hand a program its standard input and outputs
//! (`STDIN`, `STDOUT`, `STDERR`: paths to open; [`crate::io`]).

use spin::Once;

static ENVIRONMENT: Once<&'static str> = Once::new();

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
