//! The kernel's virtual address layout.
//!
//! The kernel runs in the upper half of the address space (TTBR1, 48-bit VAs):
//!
//! | virtual range                                 | what                               |
//! |-----------------------------------------------|------------------------------------|
//! | `0x0000_0000_0000_0000 ..= 0x0000_FFFF_FFFF_FFFF` | the current process (TTBR0, later) |
//! | `LINEAR_MAP_BASE + pa`                         | all RAM, Normal write-back memory; the kernel image lives here too, linked at `LINEAR_MAP_BASE + load address` |
//! | `DEVICE_WINDOW_BASE + pa`                      | device registers, Device-nGnRE, never executable |
//!
//! Because the kernel image is part of the linear map, converting between a kernel
//! pointer and a physical address is one addition or subtraction.

/// log2 of the translation granule.
pub const PAGE_SHIFT: usize = 12;
/// The translation granule and the frame allocator's unit: 4 KiB.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// Virtual address of physical address 0 in the kernel's linear map of RAM.
pub const LINEAR_MAP_BASE: usize = 0xFFFF_0000_0000_0000;
/// Largest physical address the linear map may cover (256 GiB, half of TTBR1's L0 slot 0..255).
pub const LINEAR_MAP_SIZE: usize = 256 << 30;
/// Virtual address of physical address 0 in the device window.
pub const DEVICE_WINDOW_BASE: usize = 0xFFFF_8000_0000_0000;
/// Size of the device window: physical addresses below 16 GiB can hold registers.
pub const DEVICE_WINDOW_SIZE: usize = 16 << 30;

/// The kernel virtual address of RAM at physical address `pa`.
#[inline]
pub const fn phys_to_virt(pa: usize) -> usize {
    LINEAR_MAP_BASE + pa
}

/// The physical address behind a linear-map (or kernel image) address, if `va` is one.
#[inline]
pub const fn virt_to_phys(va: usize) -> Option<usize> {
    if va >= LINEAR_MAP_BASE && va - LINEAR_MAP_BASE < LINEAR_MAP_SIZE {
        Some(va - LINEAR_MAP_BASE)
    } else {
        None
    }
}

/// The kernel virtual address of the device register at physical address `pa`.
///
/// Board crates use this in `const` context to place their drivers.
#[inline]
pub const fn device_virt(pa: usize) -> usize {
    DEVICE_WINDOW_BASE + pa
}

/// Rounds `value` down to a multiple of `align` (a power of two).
#[inline]
pub const fn align_down(value: usize, align: usize) -> usize {
    value & !(align - 1)
}

/// Rounds `value` up to a multiple of `align` (a power of two); `None` on overflow.
#[inline]
pub const fn align_up(value: usize, align: usize) -> Option<usize> {
    match value.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_map_round_trips() {
        assert_eq!(virt_to_phys(phys_to_virt(0x4020_1000)), Some(0x4020_1000));
        assert_eq!(virt_to_phys(0x1234), None);
        assert_eq!(virt_to_phys(DEVICE_WINDOW_BASE), None);
    }

    #[test]
    fn alignment_helpers() {
        assert_eq!(align_down(0x1fff, PAGE_SIZE), 0x1000);
        assert_eq!(align_up(0x1001, PAGE_SIZE), Some(0x2000));
        assert_eq!(align_up(0x2000, PAGE_SIZE), Some(0x2000));
        assert_eq!(align_up(usize::MAX, PAGE_SIZE), None);
    }

    #[test]
    fn windows_do_not_overlap() {
        const { assert!(LINEAR_MAP_BASE + LINEAR_MAP_SIZE <= DEVICE_WINDOW_BASE) };
        assert_eq!(device_virt(0x0900_0000), 0xFFFF_8000_0900_0000);
    }
}
