//! The table a resource manager ([`crate::resmgr`]) keeps its open files in, by client
//! and connection: plain data, so the host tests it.
// (Only the resource manager, built for Muon alone, uses it.)
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

use crate::Errno;
use alloc::vec::Vec;

/// Most files one client may have open at one server: the connections a process can have
/// at once (a file is a connection). A client with more detached some without closing
/// them (no `CLOSE`; the server hears of its connections only when the last one goes),
/// and those would otherwise pile up without end.
pub(crate) const MAX_FILES_PER_CLIENT: usize = abi::ipc::MAX_CONNECTIONS;

/// An open file's key: its client's scoid and connection, as one number (one compare).
pub(crate) fn ocb_key(scoid: u32, coid: u32) -> u64 {
    (scoid as u64) << 32 | coid as u64
}

/// Buckets of [`OcbTable`] (a power of two).
const OCB_BUCKETS: usize = 64;

/// Open files by [`ocb_key`]: a hash table whose bucket is picked by the scoid alone, so
/// that a client's files share one bucket (found together when it disconnects). A server
/// has a few files per client and scoids are small numbers in sequence, so a lookup is a
/// mask and a compare or two, where a `BTreeMap` searched its nodes (`make bench`:
/// pipe_roundtrip_1b, four requests, 7,002 -> 6,910).
pub(crate) struct OcbTable<T> {
    buckets: [Vec<(u64, T)>; OCB_BUCKETS],
    /// Files in the table.
    pub(crate) len: usize,
}

impl<T> OcbTable<T> {
    pub(crate) fn new() -> Self {
        Self { buckets: core::array::from_fn(|_| Vec::new()), len: 0 }
    }

    /// The bucket of `key`'s client.
    fn at(key: u64) -> usize {
        (key >> 32) as usize & (OCB_BUCKETS - 1)
    }

    fn bucket(&mut self, key: u64) -> &mut Vec<(u64, T)> {
        &mut self.buckets[Self::at(key)]
    }

    pub(crate) fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        self.bucket(key).iter_mut().find(|(k, _)| *k == key).map(|(_, ocb)| ocb)
    }

    pub(crate) fn contains_key(&self, key: u64) -> bool {
        self.buckets[Self::at(key)].iter().any(|(k, _)| *k == key)
    }

    /// Whether client `scoid` may open one more file: `EMFILE` once it has
    /// [`MAX_FILES_PER_CLIENT`].
    pub(crate) fn may_open(&self, scoid: u32) -> Result<(), Errno> {
        let bucket = &self.buckets[Self::at(ocb_key(scoid, 0))];
        let files = bucket.iter().filter(|(key, _)| (key >> 32) as u32 == scoid).count();
        if files >= MAX_FILES_PER_CLIENT {
            return Err(Errno::EMFILE);
        }
        Ok(())
    }

    /// Adds `ocb` under `key` (not there yet).
    pub(crate) fn insert(&mut self, key: u64, ocb: T) {
        debug_assert!(!self.contains_key(key));
        self.bucket(key).push((key, ocb));
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, key: u64) -> Option<T> {
        let bucket = self.bucket(key);
        let at = bucket.iter().position(|(k, _)| *k == key)?;
        let (_, ocb) = bucket.swap_remove(at);
        self.len -= 1;
        Some(ocb)
    }

    /// Takes out every file of client `scoid`, by connection.
    pub(crate) fn remove_client(&mut self, scoid: u32) -> Vec<T> {
        let bucket = self.bucket(ocb_key(scoid, 0));
        let mut gone = Vec::new();
        let mut at = 0;
        while at < bucket.len() {
            if (bucket[at].0 >> 32) as u32 == scoid {
                gone.push(bucket.swap_remove(at));
            } else {
                at += 1;
            }
        }
        self.len -= gone.len();
        gone.sort_unstable_by_key(|(key, _)| *key);
        gone.into_iter().map(|(_, ocb)| ocb).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ocb_table_finds_keeps_and_drops_by_client_and_connection() {
        let mut t = OcbTable::new();
        // Clients whose scoids share a bucket, and several files each.
        let (a, b) = (3u32, 3 + OCB_BUCKETS as u32);
        for (scoid, coid) in [(a, 2), (b, 2), (a, 5), (7, 1), (a, 1 << 30 | 4)] {
            t.insert(ocb_key(scoid, coid), (scoid, coid));
        }
        assert_eq!(t.len, 5);
        assert_eq!(t.get_mut(ocb_key(b, 2)), Some(&mut (b, 2)));
        assert_eq!(t.get_mut(ocb_key(a, 4)), None, "a connection without the bit 30 it has");
        assert!(!t.contains_key(ocb_key(b, 5)));
        assert_eq!(t.remove(ocb_key(a, 5)), Some((a, 5)));
        assert_eq!(t.remove(ocb_key(a, 5)), None);
        t.insert(ocb_key(a, 9), (a, 9));
        // (Last in its bucket: found last.)
        t.insert(ocb_key(a, 1), (a, 1));
        // A client's files go together, by connection; its neighbours stay.
        assert_eq!(t.remove_client(a), [(a, 1), (a, 2), (a, 9), (a, 1 << 30 | 4)]);
        assert_eq!(t.len, 2);
        assert_eq!(t.get_mut(ocb_key(b, 2)), Some(&mut (b, 2)));
        assert_eq!(t.get_mut(ocb_key(7, 1)), Some(&mut (7, 1)));
        assert_eq!(t.remove_client(a), []);
    }

    #[test]
    fn a_client_that_detaches_without_closing_cannot_fill_the_table() {
        // (A review: a client kept one connection to a server and opened and detached
        // others in a loop, never sending CLOSE. The server hears of a client's
        // connections only when the last one goes, and each new coid is a new key (its
        // generation moves on), so its files piled up without end.)
        let mut t = OcbTable::new();
        let (a, b) = (3u32, 3 + OCB_BUCKETS as u32);
        t.insert(ocb_key(b, 1), ());
        for coid in 0..MAX_FILES_PER_CLIENT as u32 {
            assert_eq!(t.may_open(a), Ok(()), "file {coid}");
            t.insert(ocb_key(a, coid), ());
        }
        assert_eq!(t.may_open(a), Err(Errno::EMFILE), "more files than it can have connections");
        assert_eq!(t.may_open(b), Ok(()), "its neighbour in the bucket is not limited by it");
        assert_eq!(t.remove(ocb_key(a, 7)), Some(()));
        assert_eq!(t.may_open(a), Ok(()), "one closed: room for one");
    }
}
