//! Scheduling parameters: policies and priorities as QNX numbers them.

use crate::Errno;

/// Lowest priority, owned by the idle thread.
pub const IDLE_PRIORITY: u8 = 0;
/// Lowest priority a user thread may have.
pub const MIN_USER_PRIORITY: u8 = 1;
/// Highest priority.
pub const MAX_PRIORITY: u8 = 255;
/// Highest priority a program may ask for (for its threads, children, pulses and events)
/// without privilege or I/O privilege, as QNX limits processes without
/// `PROCMGR_AID_PRIORITY`: 64–255 are the system's (proc, the drivers and the other boot
/// programs), so that no ordinary program can starve them. A thread may still run
/// higher by priority inheritance, at a client's priority.
pub const MAX_UNPRIVILEGED_PRIORITY: u8 = 63;
/// Priority given when nothing else is said (QNX's default for shell-started programs).
pub const DEFAULT_PRIORITY: u8 = 10;

/// A scheduling policy (`SCHED_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    /// Runs until it blocks, yields or is preempted by a higher priority (`SCHED_FIFO`).
    Fifo = 1,
    /// Like FIFO, but shares the CPU with equal priorities in timeslices (`SCHED_RR`).
    RoundRobin = 2,
}

impl Policy {
    /// The policy numbered `n`.
    pub const fn from_number(n: u8) -> Option<Policy> {
        match n {
            1 => Some(Policy::Fifo),
            2 => Some(Policy::RoundRobin),
            _ => None,
        }
    }

    /// A short name for listings (`"FIFO"`, `"RR"`).
    pub const fn short_name(self) -> &'static str {
        match self {
            Policy::Fifo => "f",
            Policy::RoundRobin => "r",
        }
    }
}

/// A policy and a priority, as passed in one register: bits 0–7 priority, 8–15 policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedParam {
    /// The policy.
    pub policy: Policy,
    /// The priority (1–255 for user threads).
    pub priority: u8,
}

impl SchedParam {
    /// The register value.
    pub const fn encode(self) -> u64 {
        (self.policy as u64) << 8 | self.priority as u64
    }

    /// Decodes a register value; `EINVAL` for an unknown policy, priority 0 (idle's) or
    /// stray bits.
    pub fn decode(value: u64) -> Result<SchedParam, Errno> {
        if value >> 16 != 0 {
            return Err(Errno::EINVAL);
        }
        let policy = Policy::from_number((value >> 8) as u8).ok_or(Errno::EINVAL)?;
        let priority = value as u8;
        if priority < MIN_USER_PRIORITY {
            return Err(Errno::EINVAL);
        }
        Ok(SchedParam { policy, priority })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let p = SchedParam { policy: Policy::RoundRobin, priority: 63 };
        assert_eq!(SchedParam::decode(p.encode()), Ok(p));
        assert_eq!(SchedParam::decode(0x0300 | 10), Err(Errno::EINVAL));
        assert_eq!(SchedParam::decode(0x0100), Err(Errno::EINVAL));
        assert_eq!(SchedParam::decode(1 << 20 | 0x0105), Err(Errno::EINVAL));
    }
}
