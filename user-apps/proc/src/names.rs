//! The name service's table: `name_attach` registers a name for a process's channel,
//! `name_open` finds it. Local and global names are separate spaces (QNX's
//! `/dev/name/local` and `/dev/name/global`); on one machine both are visible to every
//! process, the difference being only which one a lookup searches.

use crate::Owner;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userlib::Errno;

/// Which space a name lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `/dev/name/local`.
    Local,
    /// `/dev/name/global`.
    Global,
}

impl Scope {
    /// The scope `name_flags` select.
    pub fn from_flags(flags: u16) -> Scope {
        if flags & userlib::msg::name_flags::GLOBAL != 0 {
            Scope::Global
        } else {
            Scope::Local
        }
    }

    /// The directory its names appear in.
    pub fn directory(self) -> &'static str {
        match self {
            Scope::Local => "/dev/name/local",
            Scope::Global => "/dev/name/global",
        }
    }
}

/// Most names registered at once (both scopes): the table cannot grow without end.
pub const MAX_NAMES: usize = 4096;
/// Most names one client may hold.
pub const MAX_NAMES_PER_CLIENT: usize = 256;

/// Registered names.
#[derive(Debug, Default)]
pub struct NameTable {
    names: BTreeMap<(Scope, String), Owner>,
}

impl NameTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (already checked) for `owner`; `EBUSY` while anyone holds it,
    /// `EMFILE` when `owner` holds [`MAX_NAMES_PER_CLIENT`], `ENFILE` when the table
    /// holds [`MAX_NAMES`].
    pub fn attach(&mut self, scope: Scope, name: &str, owner: Owner) -> Result<(), Errno> {
        let key = (scope, String::from(name));
        if self.names.contains_key(&key) {
            return Err(Errno::EBUSY);
        }
        if self.names.values().filter(|o| o.scoid == owner.scoid).count() >= MAX_NAMES_PER_CLIENT {
            return Err(Errno::EMFILE);
        }
        if self.names.len() >= MAX_NAMES {
            return Err(Errno::ENFILE);
        }
        self.names.insert(key, owner);
        Ok(())
    }

    /// Withdraws `name`, which only the client that registered it may do.
    pub fn detach(&mut self, scope: Scope, name: &str, scoid: u32) -> Result<(), Errno> {
        let key = (scope, String::from(name));
        match self.names.get(&key) {
            None => Err(Errno::ENOENT),
            Some(owner) if owner.scoid != scoid => Err(Errno::EPERM),
            Some(_) => {
                self.names.remove(&key);
                Ok(())
            }
        }
    }

    /// Who holds `name`.
    pub fn open(&self, scope: Scope, name: &str) -> Result<Owner, Errno> {
        self.names.get(&(scope, String::from(name))).copied().ok_or(Errno::ENOENT)
    }

    /// Drops every name of the client behind `scoid` (it disconnected or died).
    pub fn forget(&mut self, scoid: u32) {
        self.names.retain(|_, owner| owner.scoid != scoid);
    }

    /// The names in `scope`, sorted.
    pub fn list(&self, scope: Scope) -> Vec<&str> {
        self.names.keys().filter(|(s, _)| *s == scope).map(|(_, n)| n.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Owner = Owner { pid: 5, chid: 1, scoid: 0x4000_0001 };
    const B: Owner = Owner { pid: 6, chid: 2, scoid: 0x4000_0002 };

    #[test]
    fn a_name_is_held_by_one_owner_until_detached_or_forgotten() {
        let mut t = NameTable::new();
        t.attach(Scope::Local, "checksum", A).unwrap();
        assert_eq!(t.attach(Scope::Local, "checksum", B), Err(Errno::EBUSY));
        assert_eq!(t.open(Scope::Local, "checksum"), Ok(A));
        assert_eq!(t.open(Scope::Global, "checksum"), Err(Errno::ENOENT), "scopes are separate");
        t.attach(Scope::Global, "checksum", B).unwrap();
        assert_eq!(t.detach(Scope::Local, "checksum", B.scoid), Err(Errno::EPERM), "not B's");
        t.detach(Scope::Local, "checksum", A.scoid).unwrap();
        assert_eq!(t.detach(Scope::Local, "checksum", A.scoid), Err(Errno::ENOENT));
        t.attach(Scope::Local, "checksum", B).unwrap();
        t.attach(Scope::Local, "other", B).unwrap();
        t.attach(Scope::Local, "kept", A).unwrap();
        assert_eq!(t.list(Scope::Local), ["checksum", "kept", "other"]);
        t.forget(B.scoid);
        assert_eq!(t.list(Scope::Local), ["kept"]);
        assert!(t.list(Scope::Global).is_empty());
        t.attach(Scope::Local, "checksum", A).unwrap();
    }

    #[test]
    fn a_client_and_the_table_hold_a_bounded_number_of_names() {
        let mut t = NameTable::new();
        let client = |n: u32| Owner { pid: 100 + n, chid: 1, scoid: 0x5000_0000 | n };
        for i in 0..MAX_NAMES_PER_CLIENT {
            t.attach(Scope::Local, &std::format!("a{i}"), A).unwrap();
        }
        assert_eq!(t.attach(Scope::Global, "one-more", A), Err(Errno::EMFILE));
        t.forget(A.scoid);
        t.attach(Scope::Global, "one-more", A).unwrap();
        let clients = (MAX_NAMES - 1) / MAX_NAMES_PER_CLIENT;
        for (c, i) in (1..=clients as u32).flat_map(|c| (0..MAX_NAMES_PER_CLIENT).map(move |i| (c, i))) {
            t.attach(Scope::Local, &std::format!("{c}-{i}"), client(c)).unwrap();
        }
        let more = clients as u32 + 1;
        let room = MAX_NAMES - 1 - clients * MAX_NAMES_PER_CLIENT;
        for i in 0..room {
            t.attach(Scope::Local, &std::format!("last-{i}"), client(more)).unwrap();
        }
        assert_eq!(t.attach(Scope::Local, "full", client(more)), Err(Errno::ENFILE));
        t.detach(Scope::Global, "one-more", A.scoid).unwrap();
        t.attach(Scope::Local, "full", client(more)).unwrap();
    }
}
