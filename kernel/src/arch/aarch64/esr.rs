//! Decoding the Exception Syndrome Register into words for fault reports.
//!
//! Pure functions over the register value, so the host tests cover them.

/// Exception class field, ESR_ELx bits 31:26.
pub const fn exception_class(esr: u64) -> u8 {
    ((esr >> 26) & 0x3f) as u8
}

/// Instruction-specific syndrome, bits 24:0.
pub const fn syndrome(esr: u64) -> u32 {
    (esr & 0x1ff_ffff) as u32
}

/// Exception classes Muon names.
pub mod class {
    /// Unknown reason (includes undefined instructions).
    pub const UNKNOWN: u8 = 0x00;
    /// WFI or WFE trapped.
    pub const WFX: u8 = 0x01;
    /// FP/SIMD access trapped by CPACR/CPTR.
    pub const FP_ACCESS: u8 = 0x07;
    /// Illegal execution state.
    pub const ILLEGAL_STATE: u8 = 0x0e;
    /// SVC from AArch64.
    pub const SVC64: u8 = 0x15;
    /// HVC from AArch64.
    pub const HVC64: u8 = 0x16;
    /// MSR/MRS/system instruction trapped.
    pub const SYSREG: u8 = 0x18;
    /// Instruction abort from a lower exception level.
    pub const INSTRUCTION_ABORT_LOWER: u8 = 0x20;
    /// Instruction abort at the same exception level.
    pub const INSTRUCTION_ABORT_SAME: u8 = 0x21;
    /// PC alignment fault.
    pub const PC_ALIGNMENT: u8 = 0x22;
    /// Data abort from a lower exception level.
    pub const DATA_ABORT_LOWER: u8 = 0x24;
    /// Data abort at the same exception level.
    pub const DATA_ABORT_SAME: u8 = 0x25;
    /// SP alignment fault.
    pub const SP_ALIGNMENT: u8 = 0x26;
    /// Floating-point exception (trapped).
    pub const FP_EXCEPTION: u8 = 0x2c;
    /// SError interrupt.
    pub const SERROR: u8 = 0x2f;
    /// Breakpoint from a lower exception level.
    pub const BREAKPOINT_LOWER: u8 = 0x30;
    /// Software step from a lower exception level.
    pub const SOFTWARE_STEP_LOWER: u8 = 0x32;
    /// Watchpoint from a lower exception level.
    pub const WATCHPOINT_LOWER: u8 = 0x34;
    /// BRK instruction (AArch64).
    pub const BRK64: u8 = 0x3c;
}

/// A readable name for exception class `ec`.
pub const fn class_name(ec: u8) -> &'static str {
    match ec {
        class::UNKNOWN => "unknown reason / undefined instruction",
        class::WFX => "trapped WFI/WFE",
        class::FP_ACCESS => "trapped FP/SIMD access",
        class::ILLEGAL_STATE => "illegal execution state",
        class::SVC64 => "SVC (system call)",
        class::HVC64 => "HVC",
        class::SYSREG => "trapped system register access",
        class::INSTRUCTION_ABORT_LOWER => "instruction abort from a lower exception level",
        class::INSTRUCTION_ABORT_SAME => "instruction abort at the same exception level",
        class::PC_ALIGNMENT => "PC alignment fault",
        class::DATA_ABORT_LOWER => "data abort from a lower exception level",
        class::DATA_ABORT_SAME => "data abort at the same exception level",
        class::SP_ALIGNMENT => "SP alignment fault",
        class::FP_EXCEPTION => "floating-point exception",
        class::SERROR => "SError interrupt",
        class::BREAKPOINT_LOWER => "breakpoint from a lower exception level",
        class::SOFTWARE_STEP_LOWER => "software step from a lower exception level",
        class::WATCHPOINT_LOWER => "watchpoint from a lower exception level",
        class::BRK64 => "BRK instruction",
        _ => "unrecognised exception class",
    }
}

/// True for the instruction- and data-abort classes, whose syndrome is a fault status.
pub const fn is_abort(ec: u8) -> bool {
    matches!(
        ec,
        class::INSTRUCTION_ABORT_LOWER
            | class::INSTRUCTION_ABORT_SAME
            | class::DATA_ABORT_LOWER
            | class::DATA_ABORT_SAME
    )
}

/// The kind of memory fault an abort reports (its fault status code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// No valid translation at the given table level.
    Translation(u8),
    /// Access flag not set at the given level.
    AccessFlag(u8),
    /// Permission denied at the given level.
    Permission(u8),
    /// Address size fault at the given level.
    AddressSize(u8),
    /// Misaligned access.
    Alignment,
    /// External abort (bus error).
    External,
    /// TLB conflict.
    TlbConflict,
    /// Another status code.
    Other(u8),
}

impl FaultKind {
    /// Decodes a data/instruction fault status code (DFSC/IFSC, bits 5:0).
    pub const fn from_status(status: u8) -> Self {
        let level = status & 3;
        match status & 0x3f {
            0x00..=0x03 => FaultKind::AddressSize(level),
            0x04..=0x07 => FaultKind::Translation(level),
            0x09..=0x0b => FaultKind::AccessFlag(level),
            0x0d..=0x0f => FaultKind::Permission(level),
            0x10 => FaultKind::External,
            0x21 => FaultKind::Alignment,
            0x30 => FaultKind::TlbConflict,
            other => FaultKind::Other(other),
        }
    }

    /// Words for the report.
    pub const fn describe(&self) -> &'static str {
        match self {
            FaultKind::Translation(_) => "translation fault (nothing mapped)",
            FaultKind::AccessFlag(_) => "access flag fault",
            FaultKind::Permission(_) => "permission fault",
            FaultKind::AddressSize(_) => "address size fault",
            FaultKind::Alignment => "alignment fault",
            FaultKind::External => "external abort",
            FaultKind::TlbConflict => "TLB conflict",
            FaultKind::Other(_) => "other fault status",
        }
    }

    /// The translation level involved, where the status names one.
    pub const fn level(&self) -> Option<u8> {
        match self {
            FaultKind::Translation(l)
            | FaultKind::AccessFlag(l)
            | FaultKind::Permission(l)
            | FaultKind::AddressSize(l) => Some(*l),
            _ => None,
        }
    }
}

/// A decoded abort syndrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abort {
    /// What went wrong.
    pub kind: FaultKind,
    /// The access was a write (data aborts only).
    pub write: bool,
    /// FAR holds the faulting address (FnV clear).
    pub far_valid: bool,
}

/// Decodes an abort's syndrome; `None` if `esr` is not an abort.
pub const fn decode_abort(esr: u64) -> Option<Abort> {
    let ec = exception_class(esr);
    if !is_abort(ec) {
        return None;
    }
    let iss = syndrome(esr);
    let data = matches!(ec, class::DATA_ABORT_LOWER | class::DATA_ABORT_SAME);
    Some(Abort {
        kind: FaultKind::from_status((iss & 0x3f) as u8),
        write: data && iss & (1 << 6) != 0,
        far_valid: iss & (1 << 10) == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_abort_write_translation_level_3() {
        // What a kernel store to an unmapped page reports.
        let esr = 0x9600_0047;
        assert_eq!(exception_class(esr), class::DATA_ABORT_SAME);
        assert_eq!(class_name(exception_class(esr)), "data abort at the same exception level");
        let abort = decode_abort(esr).unwrap();
        assert_eq!(abort.kind, FaultKind::Translation(3));
        assert!(abort.write && abort.far_valid);
        assert_eq!(abort.kind.level(), Some(3));
    }

    #[test]
    fn permission_fault_on_read_and_instruction_abort() {
        let read = decode_abort(0x9600_000f).unwrap();
        assert_eq!(read.kind, FaultKind::Permission(3));
        assert!(!read.write);
        let fetch = decode_abort(0x8600_000e).unwrap();
        assert_eq!(fetch.kind, FaultKind::Permission(2));
        assert!(!fetch.write);
    }

    #[test]
    fn non_aborts_and_other_classes() {
        assert_eq!(decode_abort(0x5600_0000), None); // SVC
        assert_eq!(class_name(class::SVC64), "SVC (system call)");
        assert_eq!(class_name(0x3f), "unrecognised exception class");
        assert_eq!(FaultKind::from_status(0x21), FaultKind::Alignment);
        assert_eq!(FaultKind::from_status(0x21).level(), None);
        assert_eq!(exception_class(0xf200_0000 | 0x4d55), class::BRK64);
        assert_eq!(syndrome(0xf200_4d55), 0x4d55);
    }
}
