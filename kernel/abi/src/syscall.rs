//! System-call numbers and the register encoding, in one place.
//!
//! Convention: `svc #0` with the call number in `x8` and up to six arguments in
//! `x0`–`x5`. The kernel answers in `x0`: a value `>= 0` on success, or `-errno`
//! (values in `-4095..=-1`); a few calls return a second value in `x1`.
//! [`Call::to_registers`] (userlib) and [`Call::from_registers`] (kernel) are the only
//! code that knows which argument goes in which register.

use crate::Errno;

/// System-call numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Sysno {
    /// Does nothing (measures the bare entry/exit cost).
    Nop = 0,
    /// Writes bytes to the kernel console.
    DebugWrite = 1,
    /// Creates a thread in the calling process.
    ThreadCreate = 2,
    /// Ends a thread (the caller's, or another of its process).
    ThreadDestroy = 3,
    /// Waits for a thread of the calling process to end.
    ThreadJoin = 4,
    /// Reads a thread's scheduling policy and priority.
    SchedGet = 5,
    /// Changes a thread's scheduling policy and priority.
    SchedSet = 6,
    /// Gives the CPU to the next ready thread of the same priority.
    SchedYield = 7,
    /// Ends the calling process.
    ProcessExit = 8,
    /// Starts a program from the boot image (temporary privileged path, pid 1 only).
    ProcessSpawn = 9,
    /// Waits for a child process to end.
    ProcessWait = 10,
    /// Maps zero-filled anonymous memory into the calling process.
    MemMapAnon = 11,
    /// Unmaps anonymous memory.
    MemUnmap = 12,
    /// Nanoseconds since boot.
    ClockTime = 13,
    /// Blocks the caller for a number of nanoseconds.
    Sleep = 14,
    /// Fills a buffer with one [`crate::info::ThreadInfo`] record per thread.
    ThreadList = 15,
    /// The caller's process and thread ids.
    GetIds = 16,
    /// Stops the machine (privileged: pid 1 only).
    Shutdown = 17,
}

impl Sysno {
    /// Every call, in number order.
    pub const ALL: [Sysno; 18] = [
        Sysno::Nop,
        Sysno::DebugWrite,
        Sysno::ThreadCreate,
        Sysno::ThreadDestroy,
        Sysno::ThreadJoin,
        Sysno::SchedGet,
        Sysno::SchedSet,
        Sysno::SchedYield,
        Sysno::ProcessExit,
        Sysno::ProcessSpawn,
        Sysno::ProcessWait,
        Sysno::MemMapAnon,
        Sysno::MemUnmap,
        Sysno::ClockTime,
        Sysno::Sleep,
        Sysno::ThreadList,
        Sysno::GetIds,
        Sysno::Shutdown,
    ];

    /// The call numbered `n`, if there is one.
    pub fn from_number(n: u64) -> Option<Sysno> {
        Self::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

/// The registers of one system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    /// `x8`: the call number.
    pub number: u64,
    /// `x0`–`x5`: the arguments.
    pub args: [u64; 6],
}

/// One system call with its arguments. User addresses are plain numbers here: the
/// kernel validates every one before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// See [`Sysno::Nop`].
    Nop,
    /// See [`Sysno::DebugWrite`].
    DebugWrite { ptr: usize, len: usize },
    /// See [`Sysno::ThreadCreate`]. `sched` is [`crate::sched::SchedParam::encode`]d, or 0 to
    /// inherit the creator's; `stack_size` 0 means the default.
    ThreadCreate {
        entry: usize,
        arg: usize,
        stack_size: usize,
        sched: u64,
    },
    /// See [`Sysno::ThreadDestroy`]; `tid` 0 is the caller.
    ThreadDestroy { tid: u32, status: u64 },
    /// See [`Sysno::ThreadJoin`].
    ThreadJoin { tid: u32 },
    /// See [`Sysno::SchedGet`]; 0 names the caller's process / thread.
    SchedGet { pid: u32, tid: u32 },
    /// See [`Sysno::SchedSet`]; `sched` as in `ThreadCreate`.
    SchedSet { pid: u32, tid: u32, sched: u64 },
    /// See [`Sysno::SchedYield`].
    SchedYield,
    /// See [`Sysno::ProcessExit`].
    ProcessExit { status: u64 },
    /// See [`Sysno::ProcessSpawn`]: the program's name, its arguments (each ended by a
    /// NUL byte), and the priority (0: the boot image's).
    ProcessSpawn {
        name_ptr: usize,
        name_len: usize,
        args_ptr: usize,
        args_len: usize,
        priority: u32,
    },
    /// See [`Sysno::ProcessWait`]; `pid` 0 waits for any child.
    ProcessWait { pid: u32 },
    /// See [`Sysno::MemMapAnon`].
    MemMapAnon { size: usize },
    /// See [`Sysno::MemUnmap`].
    MemUnmap { addr: usize, size: usize },
    /// See [`Sysno::ClockTime`].
    ClockTime,
    /// See [`Sysno::Sleep`].
    Sleep { nanoseconds: u64 },
    /// See [`Sysno::ThreadList`].
    ThreadList { ptr: usize, len: usize },
    /// See [`Sysno::GetIds`].
    GetIds,
    /// See [`Sysno::Shutdown`].
    Shutdown { code: u32 },
}

impl Call {
    /// The registers that make this call.
    pub fn to_registers(&self) -> Registers {
        use Call::*;
        let (number, args): (Sysno, [u64; 6]) = match *self {
            Nop => (Sysno::Nop, [0; 6]),
            DebugWrite { ptr, len } => (Sysno::DebugWrite, [ptr as u64, len as u64, 0, 0, 0, 0]),
            ThreadCreate {
                entry,
                arg,
                stack_size,
                sched,
            } => (
                Sysno::ThreadCreate,
                [entry as u64, arg as u64, stack_size as u64, sched, 0, 0],
            ),
            ThreadDestroy { tid, status } => {
                (Sysno::ThreadDestroy, [tid as u64, status, 0, 0, 0, 0])
            }
            ThreadJoin { tid } => (Sysno::ThreadJoin, [tid as u64, 0, 0, 0, 0, 0]),
            SchedGet { pid, tid } => (Sysno::SchedGet, [pid as u64, tid as u64, 0, 0, 0, 0]),
            SchedSet { pid, tid, sched } => {
                (Sysno::SchedSet, [pid as u64, tid as u64, sched, 0, 0, 0])
            }
            SchedYield => (Sysno::SchedYield, [0; 6]),
            ProcessExit { status } => (Sysno::ProcessExit, [status, 0, 0, 0, 0, 0]),
            ProcessSpawn {
                name_ptr,
                name_len,
                args_ptr,
                args_len,
                priority,
            } => (
                Sysno::ProcessSpawn,
                [
                    name_ptr as u64,
                    name_len as u64,
                    args_ptr as u64,
                    args_len as u64,
                    priority as u64,
                    0,
                ],
            ),
            ProcessWait { pid } => (Sysno::ProcessWait, [pid as u64, 0, 0, 0, 0, 0]),
            MemMapAnon { size } => (Sysno::MemMapAnon, [size as u64, 0, 0, 0, 0, 0]),
            MemUnmap { addr, size } => (Sysno::MemUnmap, [addr as u64, size as u64, 0, 0, 0, 0]),
            ClockTime => (Sysno::ClockTime, [0; 6]),
            Sleep { nanoseconds } => (Sysno::Sleep, [nanoseconds, 0, 0, 0, 0, 0]),
            ThreadList { ptr, len } => (Sysno::ThreadList, [ptr as u64, len as u64, 0, 0, 0, 0]),
            GetIds => (Sysno::GetIds, [0; 6]),
            Shutdown { code } => (Sysno::Shutdown, [code as u64, 0, 0, 0, 0, 0]),
        };
        Registers {
            number: number as u64,
            args,
        }
    }

    /// The call the registers make: `ENOSYS` for an unknown number, `EINVAL` for an
    /// argument that does not fit its field.
    pub fn from_registers(regs: &Registers) -> Result<Call, Errno> {
        use Call::*;
        let a = regs.args;
        let id = |v: u64| u32::try_from(v).map_err(|_| Errno::EINVAL);
        let size = |v: u64| usize::try_from(v).map_err(|_| Errno::EINVAL);
        Ok(
            match Sysno::from_number(regs.number).ok_or(Errno::ENOSYS)? {
                Sysno::Nop => Nop,
                Sysno::DebugWrite => DebugWrite {
                    ptr: size(a[0])?,
                    len: size(a[1])?,
                },
                Sysno::ThreadCreate => ThreadCreate {
                    entry: size(a[0])?,
                    arg: size(a[1])?,
                    stack_size: size(a[2])?,
                    sched: a[3],
                },
                Sysno::ThreadDestroy => ThreadDestroy {
                    tid: id(a[0])?,
                    status: a[1],
                },
                Sysno::ThreadJoin => ThreadJoin { tid: id(a[0])? },
                Sysno::SchedGet => SchedGet {
                    pid: id(a[0])?,
                    tid: id(a[1])?,
                },
                Sysno::SchedSet => SchedSet {
                    pid: id(a[0])?,
                    tid: id(a[1])?,
                    sched: a[2],
                },
                Sysno::SchedYield => SchedYield,
                Sysno::ProcessExit => ProcessExit { status: a[0] },
                Sysno::ProcessSpawn => ProcessSpawn {
                    name_ptr: size(a[0])?,
                    name_len: size(a[1])?,
                    args_ptr: size(a[2])?,
                    args_len: size(a[3])?,
                    priority: id(a[4])?,
                },
                Sysno::ProcessWait => ProcessWait { pid: id(a[0])? },
                Sysno::MemMapAnon => MemMapAnon { size: size(a[0])? },
                Sysno::MemUnmap => MemUnmap {
                    addr: size(a[0])?,
                    size: size(a[1])?,
                },
                Sysno::ClockTime => ClockTime,
                Sysno::Sleep => Sleep { nanoseconds: a[0] },
                Sysno::ThreadList => ThreadList {
                    ptr: size(a[0])?,
                    len: size(a[1])?,
                },
                Sysno::GetIds => GetIds,
                Sysno::Shutdown => Shutdown { code: id(a[0])? },
            },
        )
    }
}

/// The `x0` value that reports `result`.
pub const fn encode_result(result: Result<u64, Errno>) -> u64 {
    match result {
        Ok(value) => value,
        Err(e) => (-(e.0 as i64)) as u64,
    }
}

/// The result an `x0` value reports.
pub const fn decode_result(x0: u64) -> Result<u64, Errno> {
    let signed = x0 as i64;
    if signed < 0 && signed >= -4095 {
        Err(Errno((-signed) as u32))
    } else {
        Ok(x0)
    }
}

/// How [`Call::ProcessWait`] reports a child's end: bits 0–31 the exit status (or the
/// fault's exception class), bit 32 set if the process was killed by a fault.
pub mod wait_status {
    /// Bit set when the child died of a fault rather than exiting.
    pub const KILLED: u64 = 1 << 32;
    /// The status of a child that exited with `code`.
    pub const fn exited(code: u32) -> u64 {
        code as u64
    }
    /// The status of a child killed by a fault of exception class `class`.
    pub const fn killed(class: u32) -> u64 {
        KILLED | class as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_round_trips_through_registers() {
        let calls = [
            Call::Nop,
            Call::DebugWrite {
                ptr: 0x40_1000,
                len: 12,
            },
            Call::ThreadCreate {
                entry: 0x40_2000,
                arg: 7,
                stack_size: 8192,
                sched: 0x0210,
            },
            Call::ThreadDestroy { tid: 0, status: 3 },
            Call::ThreadJoin { tid: 2 },
            Call::SchedGet { pid: 0, tid: 1 },
            Call::SchedSet {
                pid: 1,
                tid: 2,
                sched: 0x0132,
            },
            Call::SchedYield,
            Call::ProcessExit { status: 9 },
            Call::ProcessSpawn {
                name_ptr: 1,
                name_len: 2,
                args_ptr: 3,
                args_len: 4,
                priority: 10,
            },
            Call::ProcessWait { pid: 5 },
            Call::MemMapAnon { size: 4096 },
            Call::MemUnmap {
                addr: 0x1000_0000_0000,
                size: 4096,
            },
            Call::ClockTime,
            Call::Sleep {
                nanoseconds: 1_000_000,
            },
            Call::ThreadList { ptr: 8, len: 9 },
            Call::GetIds,
            Call::Shutdown { code: 0 },
        ];
        assert_eq!(calls.len(), Sysno::ALL.len());
        for call in calls {
            assert_eq!(Call::from_registers(&call.to_registers()), Ok(call));
        }
        for (n, sysno) in Sysno::ALL.iter().enumerate() {
            assert_eq!(*sysno as u64, n as u64);
        }
    }

    #[test]
    fn bad_numbers_and_oversized_ids_are_refused() {
        assert_eq!(
            Call::from_registers(&Registers {
                number: 999,
                args: [0; 6]
            }),
            Err(Errno::ENOSYS)
        );
        assert_eq!(
            Call::from_registers(&Registers {
                number: u64::MAX,
                args: [0; 6]
            }),
            Err(Errno::ENOSYS)
        );
        let join = Registers {
            number: Sysno::ThreadJoin as u64,
            args: [1 << 40, 0, 0, 0, 0, 0],
        };
        assert_eq!(Call::from_registers(&join), Err(Errno::EINVAL));
    }

    #[test]
    fn results_encode_errors_as_negative_numbers() {
        assert_eq!(decode_result(encode_result(Ok(42))), Ok(42));
        assert_eq!(
            decode_result(encode_result(Err(Errno::EFAULT))),
            Err(Errno::EFAULT)
        );
        assert_eq!(encode_result(Err(Errno::ENOSYS)) as i64, -89);
        // Large successful values (addresses) are not mistaken for errors.
        assert_eq!(
            decode_result(0xffff_ffff_0000_0000),
            Ok(0xffff_ffff_0000_0000)
        );
    }
}
