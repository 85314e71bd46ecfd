//! Introspection records ([`crate::Sysno::ThreadList`]), for `pidin`.
//!
//! Records are fixed-size little-endian byte layouts, so they cross address spaces as
//! plain bytes.

/// What a thread is doing (QNX's state names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadStateCode {
    /// Waiting for a CPU.
    Ready = 0,
    /// On a CPU.
    Running = 1,
    /// Sent a message the server has not received yet.
    Send = 2,
    /// Waiting for a message on a channel.
    Receive = 3,
    /// Its message was received; waiting for the reply.
    Reply = 4,
    /// Waiting for another thread to end.
    Join = 5,
    /// Waiting for a child process to end.
    WaitChild = 6,
    /// Sleeping until a time.
    Nanosleep = 7,
    /// Stopped.
    Stopped = 8,
    /// Ended, not yet joined.
    Dead = 9,
}

impl ThreadStateCode {
    /// The state numbered `n`.
    pub const fn from_number(n: u8) -> Option<Self> {
        use ThreadStateCode::*;
        Some(match n {
            0 => Ready,
            1 => Running,
            2 => Send,
            3 => Receive,
            4 => Reply,
            5 => Join,
            6 => WaitChild,
            7 => Nanosleep,
            8 => Stopped,
            9 => Dead,
            _ => return None,
        })
    }

    /// The name `pidin` prints.
    pub const fn name(self) -> &'static str {
        use ThreadStateCode::*;
        match self {
            Ready => "READY",
            Running => "RUNNING",
            Send => "SEND",
            Receive => "RECEIVE",
            Reply => "REPLY",
            Join => "JOIN",
            WaitChild => "WAITCHILD",
            Nanosleep => "NANOSLEEP",
            Stopped => "STOPPED",
            Dead => "DEAD",
        }
    }
}

/// One thread, as [`crate::Sysno::ThreadList`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadInfo {
    /// Process id.
    pub pid: u32,
    /// Thread id within the process.
    pub tid: u32,
    /// Process name (NUL-padded).
    pub name: [u8; 32],
    /// Priority it runs at now (may be inherited).
    pub priority: u8,
    /// Its own priority.
    pub base_priority: u8,
    /// [`crate::sched::Policy`] number.
    pub policy: u8,
    /// [`ThreadStateCode`] number.
    pub state: u8,
    /// What it is blocked on: a process id (the server, the thread joined, the child…), or 0.
    pub blocked_on_pid: u32,
    /// The thread or object id within that process, or 0.
    pub blocked_on_id: u32,
    /// Parent process id.
    pub parent_pid: u32,
    /// RAM its process's address space uses, in KiB (`pidin mem`).
    pub resident_kib: u32,
    /// Its process's process group.
    pub group: u32,
}

impl ThreadInfo {
    /// Bytes per record.
    pub const SIZE: usize = 64;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.tid.to_le_bytes());
        b[8..40].copy_from_slice(&self.name);
        b[40] = self.priority;
        b[41] = self.base_priority;
        b[42] = self.policy;
        b[43] = self.state;
        b[44..48].copy_from_slice(&self.blocked_on_pid.to_le_bytes());
        b[48..52].copy_from_slice(&self.blocked_on_id.to_le_bytes());
        b[52..56].copy_from_slice(&self.parent_pid.to_le_bytes());
        b[56..60].copy_from_slice(&self.resident_kib.to_le_bytes());
        b[60..64].copy_from_slice(&self.group.to_le_bytes());
        b
    }

    /// The record in `b` (at least [`Self::SIZE`] bytes).
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut name = [0u8; 32];
        name.copy_from_slice(&b[8..40]);
        Some(Self {
            pid: word(0),
            tid: word(4),
            name,
            priority: b[40],
            base_priority: b[41],
            policy: b[42],
            state: b[43],
            blocked_on_pid: word(44),
            blocked_on_id: word(48),
            parent_pid: word(52),
            resident_kib: word(56),
            group: word(60),
        })
    }

    /// The name as text (up to the first NUL).
    pub fn name_str(&self) -> &str {
        let len = self.name.iter().position(|b| *b == 0).unwrap_or(self.name.len());
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }
}

/// The machine, as [`crate::Sysno::SystemInfo`] describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SystemInfo {
    /// Board name (NUL-padded): `qemu-virt`, `rpi3`, `rpi4`.
    pub board: [u8; 16],
    /// Interrupt number of the EL1 virtual timer, which EL0 may program (CNTV_*): a
    /// device any user program can make interrupt, for drivers' tests.
    pub virtual_timer_irq: u32,
    /// Counter frequency (Hz).
    pub counter_hz: u64,
    /// RAM in bytes.
    pub ram_bytes: u64,
    /// Free RAM in bytes.
    pub free_bytes: u64,
    /// The console UART's kind ([`console_kind`]).
    pub console_kind: u32,
    /// Its interrupt (the board's numbering, for `InterruptAttachEvent`).
    pub console_irq: u32,
    /// Its registers' physical address (page aligned, for `MemObjectDevice`).
    pub console_phys: u64,
    /// RAM that ended processes and memory objects left, which the kernel is giving
    /// back a few pages at a time (when idle, or when an allocation needs it), in bytes:
    /// free memory to come. Each address space's tables count as one page.
    pub reclaim_bytes: u64,
}

/// [`SystemInfo::console_kind`] values.
pub mod console_kind {
    /// An Arm PL011 (QEMU virt, the Raspberry Pis' UART0).
    pub const PL011: u32 = 1;
    /// The BCM2835 mini UART (a Raspberry Pi's UART1); its registers are at offset 0x40.
    pub const MINI_UART: u32 = 2;
}

impl SystemInfo {
    /// Bytes in the layout.
    pub const SIZE: usize = 72;

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..16].copy_from_slice(&self.board);
        b[16..20].copy_from_slice(&self.virtual_timer_irq.to_le_bytes());
        b[24..32].copy_from_slice(&self.counter_hz.to_le_bytes());
        b[32..40].copy_from_slice(&self.ram_bytes.to_le_bytes());
        b[40..48].copy_from_slice(&self.free_bytes.to_le_bytes());
        b[48..52].copy_from_slice(&self.console_kind.to_le_bytes());
        b[52..56].copy_from_slice(&self.console_irq.to_le_bytes());
        b[56..64].copy_from_slice(&self.console_phys.to_le_bytes());
        b[64..72].copy_from_slice(&self.reclaim_bytes.to_le_bytes());
        b
    }

    /// The record in `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::SIZE)?;
        let mut board = [0u8; 16];
        board.copy_from_slice(&b[0..16]);
        Some(Self {
            board,
            virtual_timer_irq: u32::from_le_bytes(b[16..20].try_into().ok()?),
            counter_hz: u64::from_le_bytes(b[24..32].try_into().ok()?),
            ram_bytes: u64::from_le_bytes(b[32..40].try_into().ok()?),
            free_bytes: u64::from_le_bytes(b[40..48].try_into().ok()?),
            console_kind: u32::from_le_bytes(b[48..52].try_into().ok()?),
            console_irq: u32::from_le_bytes(b[52..56].try_into().ok()?),
            console_phys: u64::from_le_bytes(b[56..64].try_into().ok()?),
            reclaim_bytes: u64::from_le_bytes(b[64..72].try_into().ok()?),
        })
    }

    /// The board name as text.
    pub fn board_name(&self) -> &str {
        let len = self.board.iter().position(|b| *b == 0).unwrap_or(self.board.len());
        core::str::from_utf8(&self.board[..len]).unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let mut name = [0u8; 32];
        name[..4].copy_from_slice(b"proc");
        let info = ThreadInfo {
            pid: 1,
            tid: 2,
            name,
            priority: 30,
            base_priority: 10,
            policy: 2,
            state: ThreadStateCode::Reply as u8,
            blocked_on_pid: 7,
            blocked_on_id: 1,
            parent_pid: 0,
            resident_kib: 1234,
            group: 17,
        };
        assert_eq!(ThreadInfo::from_bytes(&info.to_bytes()), Some(info));
        assert_eq!(info.name_str(), "proc");
        assert_eq!(ThreadInfo::from_bytes(&[0; 10]), None);
        assert_eq!(ThreadStateCode::from_number(4).map(|s| s.name()), Some("REPLY"));
        assert_eq!(ThreadStateCode::from_number(42), None);
        let mut board = [0u8; 16];
        board[..4].copy_from_slice(b"rpi3");
        let si = SystemInfo {
            board,
            virtual_timer_irq: 3,
            counter_hz: 19_200_000,
            ram_bytes: 1 << 30,
            free_bytes: 5,
            console_kind: console_kind::PL011,
            console_irq: 33,
            console_phys: 0x0900_0000,
            reclaim_bytes: 1 << 20,
        };
        assert_eq!(SystemInfo::from_bytes(&si.to_bytes()), Some(si));
        assert_eq!(si.board_name(), "rpi3");
    }
}
