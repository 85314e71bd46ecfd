//! Locks between the threads of one process that work under Muon's priority scheduling.
//!
//! A plain spin lock can hang a process: a thread spinning on a lock held by a preempted
//! lower-priority thread never lets that thread run again to release it. [`Mutex`] spins
//! briefly (useful only when the holder runs on another CPU), then yields to threads of
//! its own priority, then sleeps, which lets lower priorities run, until the lock is free.
//! It becomes a kernel-assisted lock (QNX's `SyncMutexLock`) when Muon has one.

use crate::sys;
use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// Failed attempts spent spinning before yielding.
const SPIN_ATTEMPTS: u32 = 64;
/// Failed attempts (counting the spins) before sleeping instead of yielding.
const YIELD_ATTEMPTS: u32 = SPIN_ATTEMPTS + 16;
/// How long a waiter sleeps between attempts once yielding did not help.
const SLEEP_NANOSECONDS: u64 = 100_000;

/// A mutual-exclusion lock protecting a `T`.
pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out the `T` to one thread at a time, so sharing the `Mutex`
// only ever moves access to the `T` between threads, which `T: Send` allows.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: sending the `Mutex` sends the `T` it owns.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Self {
        Mutex { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// The value, taking the mutex apart.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then_some(MutexGuard { mutex: self, _access: PhantomData })
    }

    /// Takes the lock, waiting as long as it takes; it is released when the guard drops.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let mut attempt = 0u32;
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            if attempt < SPIN_ATTEMPTS {
                core::hint::spin_loop();
            } else if attempt < YIELD_ATTEMPTS {
                let _ = sys::sched_yield();
            } else {
                let _ = sys::sleep(SLEEP_NANOSECONDS);
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex").field("locked", &self.locked.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

/// Access to the value of a locked [`Mutex`]; dropping it unlocks.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// What the guard gives access to, for the auto traits: a guard shared between
    /// threads shares the `T` (so `Sync` needs `T: Sync`, not only the `Mutex`'s
    /// `T: Send`), and one sent sends access to it.
    _access: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock, so no other
        // reference to the value exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.locked.store(false, Ordering::Release);
    }
}

/// A value made once, on first use, by whichever thread asks first; the others wait as a
/// [`Mutex`] waits (a spinning `spin::Once` hangs the process when the thread making the
/// value is of lower priority and blocks or is preempted meanwhile).
pub struct Once<T> {
    making: Mutex<()>,
    value: spin::Once<T>,
}

impl<T> Once<T> {
    /// Nothing made yet.
    pub const fn new() -> Self {
        Once { making: Mutex::new(()), value: spin::Once::new() }
    }

    /// The value, made by `make` if nobody made it yet.
    pub fn call_once(&self, make: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.value.get() {
            return value;
        }
        let _making = self.making.lock();
        // (Under the lock only one thread runs `make`; the others find the value made.)
        self.value.call_once(make)
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}
