//! System introspection: every thread in the system (`ThreadList`, for `pidin`) and the
//! machine (`SystemInfo`).

use crate::Errno;
use alloc::vec;
use alloc::vec::Vec;

pub use abi::info::{SystemInfo, ThreadInfo, ThreadStateCode};

/// Records asked for on the first try.
const FIRST_GUESS: usize = 32;

/// Every thread `list` reports. `list` fills a buffer with as many records as fit and
/// returns how many threads there are (`ThreadList`'s contract); while threads are
/// created between two tries, the buffer grows and the list is asked for again.
pub fn collect_threads(mut list: impl FnMut(&mut [u8]) -> Result<usize, Errno>) -> Result<Vec<ThreadInfo>, Errno> {
    let mut capacity = FIRST_GUESS;
    loop {
        let mut buffer = vec![0u8; capacity * ThreadInfo::SIZE];
        let count = list(&mut buffer)?;
        if count <= capacity {
            return Ok(buffer.chunks_exact(ThreadInfo::SIZE).take(count).filter_map(ThreadInfo::from_bytes).collect());
        }
        // Room for a few more, in case threads keep appearing.
        capacity = count + count / 4;
    }
}

/// Every thread in the system, with its process, priorities, policy and state.
#[cfg(target_os = "none")]
pub fn threads() -> Result<Vec<ThreadInfo>, Errno> {
    collect_threads(crate::sys::thread_list)
}

/// The machine: board name, counter frequency, RAM and free RAM, and the interrupt any
/// program may make fire (the EL1 virtual timer's, for drivers' tests).
#[cfg(target_os = "none")]
#[doc(alias = "SystemInfo")]
pub fn system_info() -> Result<SystemInfo, Errno> {
    crate::sys::system_info()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(pid: u32, tid: u32) -> ThreadInfo {
        ThreadInfo { pid, tid, ..ThreadInfo::default() }
    }

    /// A `ThreadList` over `threads`, as the kernel answers it.
    fn kernel_list(threads: &[ThreadInfo], buffer: &mut [u8]) -> usize {
        for (record, info) in buffer.chunks_exact_mut(ThreadInfo::SIZE).zip(threads) {
            record.copy_from_slice(&info.to_bytes());
        }
        threads.len()
    }

    #[test]
    fn a_short_list_comes_back_in_one_call() {
        let threads = [thread(1, 1), thread(2, 1), thread(2, 2)];
        let mut calls = 0;
        let listed = collect_threads(|buffer| {
            calls += 1;
            Ok(kernel_list(&threads, buffer))
        })
        .unwrap();
        assert_eq!((listed.as_slice(), calls), (&threads[..], 1));
    }

    #[test]
    fn a_long_or_growing_list_is_asked_for_again_with_more_room() {
        // 100 threads, then 130 by the second call, then stable.
        let mut threads: Vec<ThreadInfo> = (1..=100).map(|n| thread(n, 1)).collect();
        let mut sizes = Vec::new();
        let listed = collect_threads(|buffer| {
            sizes.push(buffer.len() / ThreadInfo::SIZE);
            let answer = kernel_list(&threads, buffer);
            if threads.len() == 100 {
                threads.extend((101..=130).map(|n| thread(n, 1)));
            }
            Ok(answer)
        })
        .unwrap();
        assert_eq!(sizes, [FIRST_GUESS, 125, 162]);
        assert_eq!(listed.len(), 130);
        assert_eq!(listed[129], thread(130, 1));
    }

    #[test]
    fn errors_are_passed_on() {
        assert_eq!(collect_threads(|_| Err(Errno::EFAULT)), Err(Errno::EFAULT));
    }
}
