//! Memory: where things live (`layout`), which physical memory exists (`memmap`, read
//! from the device tree by `devicetree`), who owns each free frame (`frame`), how
//! translation tables are built (`paging`), the kernel's cache of user translations
//! (`usertlb`), and the kernel heap (`heap`).
//!
//! Everything here but the heap itself (its accounting aside) is plain logic tested on
//! the host; the MMU registers themselves are programmed by `arch::aarch64::mmu`.

pub mod devicetree;
pub mod frame;
#[cfg(any(target_os = "none", test))]
pub mod heap;
pub mod layout;
pub mod memmap;
pub mod paging;
pub mod usertlb;

pub use layout::{PAGE_SHIFT, PAGE_SIZE};
pub use memmap::{MemoryMap, PhysRange, RangeList};
