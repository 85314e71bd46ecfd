//! The boards Muon builds for, and how QEMU emulates each.

/// One board: its cargo package and its QEMU machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Name used on the command line and in test names.
    pub name: &'static str,
    /// The board's cargo package.
    pub package: &'static str,
    /// The kernel binary's name.
    pub binary: &'static str,
    /// QEMU machine options.
    pub machine: &'static [&'static str],
}

/// Every board, default first.
pub const BOARDS: &[Board] = &[
    Board {
        name: "qemu-virt",
        package: "muon-board-qemu-virt",
        binary: "muon-qemu-virt",
        machine: &["-M", "virt", "-cpu", "cortex-a53", "-m", "256M"],
    },
    Board {
        name: "rpi3",
        package: "muon-board-rpi3",
        binary: "muon-rpi3",
        machine: &["-M", "raspi3b"],
    },
    Board {
        name: "rpi4",
        package: "muon-board-rpi4",
        binary: "muon-rpi4",
        machine: &["-M", "raspi4b"],
    },
];

/// The board called `name`.
pub fn find(name: &str) -> Option<Board> {
    BOARDS.iter().copied().find(|b| b.name == name)
}

/// The Rust target every kernel is built for (soft-float: the kernel never touches
/// FP/SIMD registers, so it need not save them on every exception).
pub const KERNEL_TARGET: &str = "aarch64-unknown-none-softfloat";
