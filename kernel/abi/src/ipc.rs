//! Message-passing layouts and constants, with QNX Neutrino's names and values.
//!
//! Everything that crosses an address space is a fixed little-endian byte layout
//! (`to_bytes` / `from_bytes`), so the kernel and user space agree without `unsafe`.

/// `ChannelCreate` flags (`_NTO_CHF_*`).
pub mod channel_flags {
    /// Receivers do not inherit the sender's priority.
    pub const FIXED_PRIORITY: u32 = 0x0001;
    /// A REPLY-blocked client that wants to unblock stays blocked; the server gets a
    /// `_PULSE_CODE_UNBLOCK` pulse carrying the rcvid instead.
    pub const UNBLOCK: u32 = 0x0002;
    /// A `_PULSE_CODE_THREADDEATH` pulse when a thread of the owning process dies.
    pub const THREAD_DEATH: u32 = 0x0004;
    /// A `_PULSE_CODE_DISCONNECT` pulse when a client process's last connection goes;
    /// the server frees the scoid with `ConnectDetach`.
    pub const DISCONNECT: u32 = 0x0008;
    /// A `_PULSE_CODE_COIDDEATH` pulse when a connection of the owning process becomes
    /// invalid (its channel was destroyed, or its server died).
    pub const COID_DISCONNECT: u32 = 0x0040;
    /// For the owning process's internal use only: other processes cannot connect.
    pub const PRIVATE: u32 = 0x2000;
    /// Every flag the kernel understands.
    pub const ALL: u32 = FIXED_PRIORITY | UNBLOCK | THREAD_DEATH | DISCONNECT | COID_DISCONNECT | PRIVATE;
}

/// Pulse codes the kernel sends (`_PULSE_CODE_*`); user codes are 0..=127.
pub mod pulse_code {
    /// A REPLY-blocked client wants to unblock (value: its rcvid).
    pub const UNBLOCK: i8 = -32;
    /// A client process's last connection went away (scoid: which client).
    pub const DISCONNECT: i8 = -33;
    /// A thread of this process died (value: its tid).
    pub const THREADDEATH: i8 = -34;
    /// A connection of this process lost its server (value: the coid).
    pub const COIDDEATH: i8 = -35;
    /// Lowest code available to applications.
    pub const MIN_AVAILABLE: i8 = 0;
    /// Highest code available to applications.
    pub const MAX_AVAILABLE: i8 = 127;
}

/// A pulse as `MsgReceive` writes it into the receive buffer (`struct _pulse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pulse {
    /// Message type (0 for pulses).
    pub kind: u16,
    /// Subtype (0).
    pub subtype: u16,
    /// The code (negative: from the kernel).
    pub code: i8,
    /// The value (`sigval`).
    pub value: u64,
    /// The server connection the pulse came through (0 from the kernel itself).
    pub scoid: u32,
}

impl Pulse {
    /// Bytes a pulse occupies; a receive buffer must hold at least this many.
    pub const SIZE: usize = 24;

    /// The pulse's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..2].copy_from_slice(&self.kind.to_le_bytes());
        b[2..4].copy_from_slice(&self.subtype.to_le_bytes());
        b[4] = self.code as u8;
        b[8..16].copy_from_slice(&self.value.to_le_bytes());
        b[16..20].copy_from_slice(&self.scoid.to_le_bytes());
        b
    }

    /// The pulse in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        Some(Self {
            kind: u16::from_le_bytes([b[0], b[1]]),
            subtype: u16::from_le_bytes([b[2], b[3]]),
            code: b[4] as i8,
            value: u64::from_le_bytes(b[8..16].try_into().ok()?),
            scoid: u32::from_le_bytes(b[16..20].try_into().ok()?),
        })
    }
}

/// What `MsgReceive`/`MsgInfo` tell about a message (`struct _msg_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MsgInfo {
    /// Sender's process id.
    pub pid: u32,
    /// Sender's thread id.
    pub tid: u32,
    /// The channel it arrived on.
    pub chid: u32,
    /// The server connection (which client process).
    pub scoid: u32,
    /// The sender's connection id.
    pub coid: u32,
    /// The sender's priority.
    pub priority: u32,
    /// Bytes transferred into the receive buffer.
    pub msglen: u32,
    /// Bytes the sender sent.
    pub srcmsglen: u32,
    /// Bytes the sender can take as a reply.
    pub dstmsglen: u32,
    /// Flags (none defined yet).
    pub flags: u32,
}

impl MsgInfo {
    /// Bytes in the layout.
    pub const SIZE: usize = 40;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let words = [
            self.pid,
            self.tid,
            self.chid,
            self.scoid,
            self.coid,
            self.priority,
            self.msglen,
            self.srcmsglen,
            self.dstmsglen,
            self.flags,
        ];
        let mut b = [0u8; Self::SIZE];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        Some(Self {
            pid: w(0),
            tid: w(1),
            chid: w(2),
            scoid: w(3),
            coid: w(4),
            priority: w(5),
            msglen: w(6),
            srcmsglen: w(7),
            dstmsglen: w(8),
            flags: w(9),
        })
    }
}

/// The `info` argument of a receive that asks for the [`MsgInfo`] record in registers
/// instead of memory (Muon's, beside QNX's pointer): the call returns it in x2–x6, as
/// [`MsgInfo::to_registers`] packs it. A server loop saves the kernel a translation and
/// a write into its memory per message. (No record can lie at address 1: page 0 is
/// never mapped.)
pub const INFO_IN_REGISTERS: usize = 1;

impl MsgInfo {
    /// The record as the five registers x2–x6 carry it ([`INFO_IN_REGISTERS`]): two
    /// fields each, the first in the low half, in the order of the memory layout.
    pub fn to_registers(&self) -> [u64; 5] {
        let pair = |low: u32, high: u32| low as u64 | (high as u64) << 32;
        [
            pair(self.pid, self.tid),
            pair(self.chid, self.scoid),
            pair(self.coid, self.priority),
            pair(self.msglen, self.srcmsglen),
            pair(self.dstmsglen, self.flags),
        ]
    }

    /// The record [`to_registers`](Self::to_registers) packed.
    pub fn from_registers(r: [u64; 5]) -> Self {
        Self {
            pid: r[0] as u32,
            tid: (r[0] >> 32) as u32,
            chid: r[1] as u32,
            scoid: (r[1] >> 32) as u32,
            coid: r[2] as u32,
            priority: (r[2] >> 32) as u32,
            msglen: r[3] as u32,
            srcmsglen: (r[3] >> 32) as u32,
            dstmsglen: r[4] as u32,
            flags: (r[4] >> 32) as u32,
        }
    }
}

/// Who a server connection belongs to (`ConnectClientInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientInfo {
    /// The client process.
    pub pid: u32,
    /// The channel it is connected to.
    pub chid: u32,
    /// Its scoid.
    pub scoid: u32,
}

impl ClientInfo {
    /// Bytes in the layout.
    pub const SIZE: usize = 12;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.chid.to_le_bytes());
        b[8..12].copy_from_slice(&self.scoid.to_le_bytes());
        b
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Self { pid: w(0), chid: w(4), scoid: w(8) })
    }
}

/// Most connections a process may have at once (`ConnectAttach`'s `EAGAIN` beyond), and
/// most server connections (scoids) one server may give out: a resource manager bounds
/// a client's open files by it.
pub const MAX_CONNECTIONS: usize = 512;

/// One part of a multi-part message (`iov_t`): 16 bytes, address then length.
pub const IOV_SIZE: usize = 16;
/// Most parts one message may have.
pub const MAX_IOV_PARTS: usize = 256;
/// Most bytes the parts of one I/O vector may add up to (`EOVERFLOW` beyond). Parts may
/// name the same memory, so without a bound a vector could make one call copy far more
/// than is mapped, with the kernel unpreemptible all along; this one keeps such a call
/// no longer than a copy of 64 MiB from a single buffer.
pub const MAX_IOV_BYTES: usize = 64 << 20;

/// How a call names a message buffer: `parts >= 0` is an I/O vector of that many
/// [`IOV_SIZE`]-byte entries at `address`; `parts < 0` is one buffer of `-parts` bytes
/// at `address` (QNX's convention for the single-buffer forms).
pub const fn single_buffer_parts(len: usize) -> i64 {
    -(len as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let p = Pulse { kind: 0, subtype: 0, code: pulse_code::DISCONNECT, value: 0xdead_beef_0000_0001, scoid: 7 };
        assert_eq!(Pulse::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(Pulse::from_bytes(&p.to_bytes()).unwrap().code, -33);
        let i = MsgInfo {
            pid: 3,
            tid: 2,
            chid: 1,
            scoid: 9,
            coid: 4,
            priority: 22,
            msglen: 10,
            srcmsglen: 20,
            dstmsglen: 30,
            flags: 0,
        };
        assert_eq!(MsgInfo::from_bytes(&i.to_bytes()), Some(i));
        let c = ClientInfo { pid: 5, chid: 1, scoid: 2 };
        assert_eq!(ClientInfo::from_bytes(&c.to_bytes()), Some(c));
        assert_eq!(Pulse::from_bytes(&[0; 3]), None);
        assert_eq!(single_buffer_parts(256), -256);
    }
}

/// How an event notifies (`SIGEV_*`).
pub mod notify {
    /// Nothing happens.
    pub const NONE: u32 = 0;
    /// A pulse on the event's connection.
    pub const PULSE: u32 = 4;
    /// The target thread's blocking call fails (with EINTR).
    pub const UNBLOCK: u32 = 5;
}

/// An event (`struct sigevent`): what a server, a timer or an interrupt does to notify
/// a client. A client *registers* the event with the kernel (`MsgRegisterEvent`) before
/// handing it to a server; the kernel then delivers only the registered copy, and only
/// for the server the registration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SigEvent {
    /// [`notify`] kind.
    pub notify: u32,
    /// For pulses: the connection (in the receiving process) the pulse goes through.
    pub coid: u32,
    /// For pulses: the priority.
    pub priority: u8,
    /// For pulses: the code.
    pub code: i8,
    /// The kernel's registration handle (0: not registered).
    pub handle: u32,
    /// For pulses: the value.
    pub value: u64,
}

impl SigEvent {
    /// Bytes in the layout.
    pub const SIZE: usize = 24;

    /// A pulse event (`SIGEV_PULSE_INIT`).
    pub const fn pulse(coid: u32, priority: u8, code: i8, value: u64) -> Self {
        Self { notify: notify::PULSE, coid, priority, code, handle: 0, value }
    }

    /// The event's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.notify.to_le_bytes());
        b[4..8].copy_from_slice(&self.coid.to_le_bytes());
        b[8] = self.priority;
        b[9] = self.code as u8;
        b[12..16].copy_from_slice(&self.handle.to_le_bytes());
        b[16..24].copy_from_slice(&self.value.to_le_bytes());
        b
    }

    /// The event in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        Some(Self {
            notify: u32::from_le_bytes(b[0..4].try_into().ok()?),
            coid: u32::from_le_bytes(b[4..8].try_into().ok()?),
            priority: b[8],
            code: b[9] as i8,
            handle: u32::from_le_bytes(b[12..16].try_into().ok()?),
            value: u64::from_le_bytes(b[16..24].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn event_round_trip() {
        let e = SigEvent { handle: 9, ..SigEvent::pulse(3, 20, 5, 0xabcd) };
        assert_eq!(SigEvent::from_bytes(&e.to_bytes()), Some(e));
    }
}
