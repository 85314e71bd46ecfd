//! Threads of the calling process: [`spawn`] runs a closure on a new kernel thread,
//! [`JoinHandle::join`] waits for it.
//!
//! The kernel allocates each thread's stack (with an unmapped guard page below it) and
//! starts it at a trampoline that takes ownership of the boxed closure, runs it and ends
//! the thread with status 0. A panicking thread ends the whole process (status 101, as
//! any panic): there is no unwinding.

use crate::sched::SchedParam;
use crate::{sys, Errno, Tid};
use alloc::boxed::Box;

/// Options for a new thread: stack size and scheduling parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builder {
    stack_size: usize,
    sched: Option<SchedParam>,
}

impl Builder {
    /// The defaults: a 256 KiB stack (`abi::DEFAULT_STACK_SIZE`) and the creator's
    /// scheduling parameters.
    pub const fn new() -> Builder {
        Builder { stack_size: 0, sched: None }
    }

    /// A stack of `bytes` (rounded up to 4 KiB by the kernel; at most 64 MiB).
    pub const fn stack_size(self, bytes: usize) -> Builder {
        Builder { stack_size: bytes, ..self }
    }

    /// Scheduling parameters other than the creator's.
    pub const fn sched(self, param: SchedParam) -> Builder {
        Builder { sched: Some(param), ..self }
    }

    /// Starts a thread running `main`. A thread of higher priority than the caller runs
    /// at once.
    pub fn spawn<F>(self, main: F) -> Result<JoinHandle, Errno>
    where
        F: FnOnce() + Send + 'static,
    {
        let main = Box::into_raw(Box::new(main));
        // SAFETY: `start::<F>` takes ownership of exactly this `Box<F>`, which may move to
        // another thread because `F: Send + 'static`.
        let created = unsafe { sys::thread_create(start::<F>, main as usize, self.stack_size, self.sched) };
        created.map(|tid| JoinHandle { tid }).inspect_err(|_| {
            // SAFETY: no thread was created, so the box was not handed over.
            drop(unsafe { Box::from_raw(main) });
        })
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// Where every thread made by [`Builder::spawn`] starts: `argument` is its `Box<F>`.
extern "C" fn start<F: FnOnce() + Send + 'static>(argument: usize) -> ! {
    // SAFETY: `Builder::spawn` leaked this `Box<F>` for this thread alone.
    let main = unsafe { Box::from_raw(argument as *mut F) };
    main();
    sys::thread_exit(0)
}

/// Starts a thread running `main` with the default stack and the caller's scheduling
/// parameters (see [`Builder`] for others).
pub fn spawn<F>(main: F) -> Result<JoinHandle, Errno>
where
    F: FnOnce() + Send + 'static,
{
    Builder::new().spawn(main)
}

/// A thread to wait for. Dropping it without joining detaches the thread, as std's
/// does: it runs on, and the kernel frees it (and its exit status) as it ends.
#[derive(Debug)]
pub struct JoinHandle {
    tid: Tid,
}

impl JoinHandle {
    /// The thread's id.
    pub fn id(&self) -> Tid {
        self.tid
    }

    /// The thread's id, the handle given up: neither joined nor detached, the thread is
    /// the caller's to join or detach through [`sys`] (a handle dropped after that would
    /// detach by an id that may name another thread by then: ids come back at once).
    pub fn into_id(self) -> Tid {
        let tid = self.tid;
        core::mem::forget(self);
        tid
    }

    /// Waits for the thread to end; returns its exit status (0 when its closure returned).
    /// A wait that fails (`ETIMEDOUT` after a `TimerTimeout`, `EINTR` from an unblock
    /// event) lets the thread go, as dropping the handle does: it runs on, and is freed
    /// as it ends.
    pub fn join(self) -> Result<u64, Errno> {
        let status = sys::thread_join(self.tid)?;
        core::mem::forget(self); // (joined, not detached)
        Ok(status)
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        // (Detaching by id: a handle's thread joined or detached through `sys`, whose id
        // may name another thread now, must have been given up with `into_id`.)
        let _ = sys::thread_detach(self.tid);
    }
}

/// The calling thread's id.
pub fn current_id() -> Tid {
    sys::get_ids().map_or(0, |(_, tid)| tid)
}

/// Ends the calling thread with `status` (what joining it returns); the process ends
/// with it if it was the last.
pub fn exit(status: u64) -> ! {
    sys::thread_exit(status)
}
