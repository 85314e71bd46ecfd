//! The boot sequence after `boot.S`: from "MMU on with coarse boot tables" to a
//! running kernel with its own translation tables, allocators, interrupts and timer.
//!
//! 1. Per-CPU block, console.
//! 2. Memory map: from the device tree if the loader passed one we can read, else the
//!    board's table; the kernel image and board reservations are taken out.
//! 3. The banner (the first line Muon prints).
//! 4. Final kernel tables: RAM linear-mapped read-write, never executable; the image
//!    split into text (read-only, executable), rodata (read-only) and data (read-write);
//!    an unmapped guard page under the boot stack; device regions as Device-nGnRE.
//! 5. Kernel heap, then the frame allocator over what is left.
//! 6. Interrupt controller, timer, IRQs on; then the in-kernel tests (`ktest` builds)
//!    or the idle loop.

use crate::arch::{self, mmu};
use crate::mem::devicetree;
use crate::mem::frame::FrameAllocator;
use crate::mem::layout::{device_virt, phys_to_virt, virt_to_phys, PAGE_SIZE};
use crate::mem::paging::{AddressHalf, Granularity, MapAttrs, PageTable, TablePool};
use crate::mem::{heap, MemoryMap, PhysRange};
use crate::platform::Board;
use crate::{console, interrupts, kprintln, percpu};

/// Tables for the kernel's own tree (TTBR1).
const KERNEL_TABLES: usize = 24;
static KERNEL_TABLE_POOL: spin::Mutex<TablePool<KERNEL_TABLES>> = spin::Mutex::new(TablePool::new());
static KERNEL_PAGE_TABLE: spin::Once<PageTable> = spin::Once::new();
static BOOT_FACTS: spin::Once<BootFacts> = spin::Once::new();

/// The physical frame allocator.
pub static FRAMES: spin::Mutex<FrameAllocator> = spin::Mutex::new(FrameAllocator::new());

/// What the boot found out, for tests and (later) introspection.
#[derive(Clone, Copy)]
pub struct BootFacts {
    /// The board.
    pub board: &'static dyn Board,
    /// Exception level the loader entered the kernel at.
    pub entry_el: u64,
    /// The memory map in force (reservations include the kernel and the heap).
    pub memory: MemoryMap,
    /// Where the memory map came from.
    pub memory_source: MemorySource,
    /// The kernel image's sections.
    pub image: KernelImage,
    /// RAM given to the kernel heap.
    pub heap: PhysRange,
}

/// Where the memory map was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySource {
    /// The device tree passed by the loader.
    DeviceTree,
    /// The board's built-in table (no usable device tree).
    BoardTable,
}

/// Physical extents of the kernel image's parts (linker symbols).
#[derive(Debug, Clone, Copy)]
pub struct KernelImage {
    /// The whole image, boot stack included.
    pub whole: PhysRange,
    /// Code.
    pub text: PhysRange,
    /// Constants.
    pub rodata: PhysRange,
    /// Initialised data and .bss.
    pub data: PhysRange,
    /// The unmapped page below the boot stack.
    pub stack_guard: PhysRange,
    /// The boot (CPU 0 kernel) stack.
    pub stack: PhysRange,
}

extern "C" {
    static __kernel_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static __boot_stack_guard: u8;
    static __boot_stack_bottom: u8;
    static __boot_stack_top: u8;
    static __kernel_end: u8;
}

impl KernelImage {
    fn from_linker() -> Self {
        fn phys(symbol: *const u8) -> usize {
            virt_to_phys(symbol as usize).unwrap_or(0)
        }
        let range = |a: *const u8, b: *const u8| PhysRange::new(phys(a), phys(b));
        // Only the addresses of linker symbols are taken; nothing is read through them.
        use core::ptr::addr_of;
        Self {
            whole: range(addr_of!(__kernel_start), addr_of!(__kernel_end)),
            text: range(addr_of!(__text_start), addr_of!(__text_end)),
            rodata: range(addr_of!(__rodata_start), addr_of!(__rodata_end)),
            data: range(addr_of!(__data_start), addr_of!(__bss_end)),
            stack_guard: range(addr_of!(__boot_stack_guard), addr_of!(__boot_stack_bottom)),
            stack: range(addr_of!(__boot_stack_bottom), addr_of!(__boot_stack_top)),
        }
    }
}

/// What boot found out (after `start` has got that far).
pub fn facts() -> Option<&'static BootFacts> {
    BOOT_FACTS.get()
}

/// The kernel's translation tables, for inspection.
pub fn with_kernel_tables<R>(f: impl FnOnce(&PageTable, &mut TablePool<KERNEL_TABLES>) -> R) -> Option<R> {
    let table = KERNEL_PAGE_TABLE.get()?;
    Some(f(table, &mut KERNEL_TABLE_POOL.lock()))
}

/// The kernel's entry point, called by the board's `muon_board_entry`.
pub fn start(board: &'static dyn Board, dtb_phys: usize, entry_el: u64) -> ! {
    // Every PerCpu access relies on this (`percpu::this_cpu`); boot.S parks all CPUs
    // but the first, whose index is in range.
    assert!(percpu::init_this_cpu(arch::cpu_id()), "boot CPU index out of range");
    board.init_console();
    console::init(board.console());

    let image = KernelImage::from_linker();
    let (mut memory, memory_source, bootargs) = read_memory_map(board, dtb_phys, &image);
    for range in board.reserved_ram() {
        let _ = memory.reserved.insert(*range);
    }
    let _ = memory.reserved.insert(image.whole.pages_covering());

    kprintln!(
        "Muon {} on {}: entered at EL{}, RAM {} MiB, kernel {} KiB",
        env!("CARGO_PKG_VERSION"),
        board.name(),
        entry_el,
        memory.ram.total() >> 20,
        image.whole.len() >> 10
    );
    let level = bootargs.and_then(console::level_from_bootargs).unwrap_or(log::LevelFilter::Info);
    console::init_logger(level);
    log::info!(
        "memory map ({}): RAM {:?}, reserved {:?}",
        match memory_source {
            MemorySource::DeviceTree => "device tree",
            MemorySource::BoardTable => "board table",
        },
        memory.ram,
        memory.reserved
    );

    map_kernel(board, &memory, &image);
    let heap_range = init_allocators(&mut memory);
    BOOT_FACTS.call_once(|| BootFacts { board, entry_el, memory, memory_source, image, heap: heap_range });

    interrupts::init(board);
    arch::enable_irqs();
    log::info!(
        "interrupts on (timer {:?}, IPI {:?}); counter at {} Hz",
        board.timer_irq(),
        board.ipi_irq(),
        arch::timer::frequency()
    );

    #[cfg(feature = "ktest")]
    crate::ktest::run(board);

    #[cfg(not(feature = "ktest"))]
    {
        crate::run::start_user_space();
        log::info!("boot complete; no user program to run, idling");
        loop {
            arch::wait_for_interrupt();
        }
    }
}

fn read_memory_map(
    board: &dyn Board,
    dtb_phys: usize,
    image: &KernelImage,
) -> (MemoryMap, MemorySource, Option<&'static str>) {
    let dtb_phys = if dtb_phys == 0 { board.device_tree_hint().unwrap_or(0) } else { dtb_phys };
    if let Some(fdt) = device_tree(dtb_phys, image) {
        match devicetree::memory_map(&fdt, dtb_phys) {
            Ok(map) => return (map, MemorySource::DeviceTree, devicetree::bootargs(&fdt)),
            Err(e) => log::warn!("device tree memory map unusable ({e:?}); using the board's"),
        }
    }
    let mut map = MemoryMap::default();
    for range in board.fallback_ram() {
        let _ = map.ram.insert(*range);
    }
    (map, MemorySource::BoardTable, None)
}

/// The device tree at `dtb_phys`, if there is one inside the RAM `boot.S` mapped (the
/// 1 GiB holding the kernel image).
fn device_tree(dtb_phys: usize, image: &KernelImage) -> Option<fdt::Fdt<'static>> {
    const GIB: usize = 1 << 30;
    let window = PhysRange::with_size(image.whole.start & !(GIB - 1), GIB);
    const HEADER: usize = 40;
    if dtb_phys == 0 || !dtb_phys.is_multiple_of(4) || !window.contains(dtb_phys) || !window.contains(dtb_phys + HEADER)
    {
        return None;
    }
    let header_va = phys_to_virt(dtb_phys) as *const [u8; HEADER];
    // SAFETY: the header lies inside the boot-mapped GiB of RAM, which is readable Normal
    // memory; we only read bytes.
    let header = unsafe { header_va.read_volatile() };
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if magic != 0xd00d_feed || size < HEADER || !window.contains(dtb_phys + size - 1) {
        return None;
    }
    // SAFETY: the whole blob lies inside the boot-mapped GiB and the kernel never
    // writes it (it is reserved in the memory map), so a shared 'static slice is sound.
    let blob = unsafe { core::slice::from_raw_parts(phys_to_virt(dtb_phys) as *const u8, size) };
    fdt::Fdt::new(blob).ok()
}

fn map_kernel(board: &dyn Board, memory: &MemoryMap, image: &KernelImage) {
    let mut pool = KERNEL_TABLE_POOL.lock();
    let pool_phys = virt_to_phys(pool.address()).expect("table pool lies in the kernel image");
    pool.set_base_phys(pool_phys);
    let pool = &mut *pool;
    let mut table = PageTable::new(pool, AddressHalf::Upper).expect("empty pool");
    let mut map = |range: PhysRange, attrs: MapAttrs, granularity: Granularity| {
        let range = range.pages_covering();
        if range.is_empty() {
            return;
        }
        let va = if attrs == MapAttrs::KERNEL_DEVICE { device_virt(range.start) } else { phys_to_virt(range.start) };
        if let Err(e) = table.map(pool, va, range.start, range.len(), attrs, granularity) {
            panic!("cannot map {range:?} ({attrs:?}): {e:?}");
        }
    };
    let mut ram = memory.ram;
    let _ = ram.remove(image.whole.pages_covering());
    for range in ram.as_slice() {
        map(range.pages_inside(), MapAttrs::KERNEL_DATA, Granularity::LargestBlocks);
    }
    map(image.text, MapAttrs::KERNEL_TEXT, Granularity::PagesOnly);
    map(image.rodata, MapAttrs::KERNEL_RODATA, Granularity::PagesOnly);
    map(image.data, MapAttrs::KERNEL_DATA, Granularity::PagesOnly);
    map(image.stack, MapAttrs::KERNEL_DATA, Granularity::PagesOnly);
    for device in board.device_regions() {
        map(*device, MapAttrs::KERNEL_DEVICE, Granularity::LargestBlocks);
    }
    mmu::install_kernel_tables(table.root());
    log::info!("kernel tables installed ({} of {} table pages)", pool.used(), KERNEL_TABLES);
    KERNEL_PAGE_TABLE.call_once(|| table);
}

/// Gives a sixteenth of RAM (1–32 MiB) to the heap and the rest to the frame allocator.
fn init_allocators(memory: &mut MemoryMap) -> PhysRange {
    let free = memory.free_ranges().expect("memory map fits");
    let wanted = (memory.ram.total() / 16).clamp(1 << 20, 32 << 20) & !(PAGE_SIZE - 1);
    let Some(source) = free.as_slice().iter().find(|r| r.len() >= wanted) else {
        panic!("no free run of {} KiB for the kernel heap in {free:?}", wanted >> 10);
    };
    let heap_range = PhysRange::with_size(source.start, wanted);
    heap::init(heap_range);
    let _ = memory.reserved.insert(heap_range);
    let mut frames = FRAMES.lock();
    for range in memory.free_ranges().expect("memory map fits").as_slice() {
        frames.add_range(*range);
    }
    log::info!(
        "heap {} KiB at {:#x}; {} free frames ({} MiB)",
        heap_range.len() >> 10,
        heap_range.start,
        frames.free_frames(),
        (frames.free_frames() * PAGE_SIZE) >> 20
    );
    heap_range
}
