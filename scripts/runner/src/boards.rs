//! The boards Muon builds for, and the ways QEMU can boot each.

/// One way of starting a board in QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boot {
    /// Name used in test names (`<board>` for the first boot of a board).
    pub label: &'static str,
    /// QEMU machine options.
    pub machine: &'static [&'static str],
    /// Boot the flattened `kernel8.img` (as the Pi firmware loads it) instead of the ELF.
    pub raw_image: bool,
    /// The exception level the kernel must report entering at.
    pub entry_el: u64,
}

/// One board: its cargo package and its boot paths (the first is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Name used on the command line and in test names.
    pub name: &'static str,
    /// The board's cargo package.
    pub package: &'static str,
    /// The kernel binary's name.
    pub binary: &'static str,
    /// Ways to boot it; every one runs the in-kernel tests.
    pub boots: &'static [Boot],
}

const VIRT: &[&str] = &["-M", "virt", "-cpu", "cortex-a53", "-m", "256M"];

/// Every board, default first.
pub const BOARDS: &[Board] = &[
    Board {
        name: "qemu-virt",
        package: "muon-board-qemu-virt",
        binary: "muon-qemu-virt",
        boots: &[
            Boot { label: "qemu-virt", machine: VIRT, raw_image: false, entry_el: 1 },
            Boot {
                label: "qemu-virt-el2",
                machine: &["-M", "virt,virtualization=on", "-cpu", "cortex-a53", "-m", "256M"],
                raw_image: false,
                entry_el: 2,
            },
            Boot {
                label: "qemu-virt-el3",
                machine: &["-M", "virt,secure=on", "-cpu", "cortex-a53", "-m", "256M"],
                raw_image: false,
                entry_el: 3,
            },
        ],
    },
    Board {
        name: "rpi3",
        package: "muon-board-rpi3",
        binary: "muon-rpi3",
        boots: &[
            Boot { label: "rpi3", machine: &["-M", "raspi3b"], raw_image: false, entry_el: 3 },
            Boot { label: "rpi3-kernel8img", machine: &["-M", "raspi3b"], raw_image: true, entry_el: 2 },
        ],
    },
    Board {
        name: "rpi4",
        package: "muon-board-rpi4",
        binary: "muon-rpi4",
        boots: &[
            Boot { label: "rpi4", machine: &["-M", "raspi4b"], raw_image: false, entry_el: 3 },
            Boot { label: "rpi4-kernel8img", machine: &["-M", "raspi4b"], raw_image: true, entry_el: 2 },
        ],
    },
];

/// The board called `name`.
pub fn find(name: &str) -> Option<Board> {
    BOARDS.iter().copied().find(|b| b.name == name)
}

/// The Rust target every kernel is built for (soft-float: the kernel never touches
/// FP/SIMD registers, so it need not save them on every exception).
pub const KERNEL_TARGET: &str = "aarch64-unknown-none-softfloat";

/// A board's second console, if it has one: the cargo features that select it and how
/// QEMU connects it (the Pi 3's mini UART is QEMU's second serial port).
pub fn alternative_console(board: &Board) -> Option<(&'static str, Boot)> {
    (board.name == "rpi3").then_some((
        "ktest,mini-uart",
        Boot { label: "rpi3-mini-uart", machine: &["-M", "raspi3b", "-serial", "null"], raw_image: false, entry_el: 3 },
    ))
}
