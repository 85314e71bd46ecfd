// Muon's first instructions. Every board's image starts here (section .text.boot is
// placed first at the board's load address by linker/kernel.ld).
//
// In:  x0 = device-tree pointer from the loader (0 or an ATAG pointer when there is none).
// Runs at the *physical* load address with the MMU off, so everything here is
// PC-relative until the jump to the high half.
//
//  1. CPU 0 continues; every other core parks in a WFE loop (SMP is a later step).
//  2. Drop from EL3 or EL2 to EL1 (recording the entry level).
//  3. Enable FP/SIMD, zero .bss.
//  4. Build the boot translation tables: the 1 GiB of RAM holding the image, mapped
//     both at its physical address (TTBR0, to survive turning the MMU on) and in the
//     linear map (TTBR1), with 2 MiB blocks (the board's boot device range, if it
//     falls inside, as Device memory); and the whole device window in TTBR1 as 1 GiB
//     Device blocks. `boot.rs` replaces these with precise tables very soon.
//  5. MMU and caches on, jump to the high-half address of `.Lhigh`, set the stack and
//     VBAR_EL1, and call the board's `muon_board_entry(dtb, entry_el)`.

.equ NORMAL_BLOCK, (1 << 0) | (1 << 2) | (3 << 8) | (1 << 10)   // block, MAIR 1, inner shareable, AF
.equ DEVICE_BLOCK, (1 << 0) | (0 << 2) | (1 << 10) | (1 << 53) | (1 << 54) // MAIR 0, AF, PXN, UXN
.equ TABLE_DESCRIPTOR, 3
.equ MAIR_VALUE, 0x44ff04              // 0: Device-nGnRE, 1: Normal WB, 2: Normal NC
.equ TCR_VALUE, 0x10b5103510           // 48-bit TTBR0/TTBR1, 4 KiB granules, WB walks, 16-bit ASIDs
.equ SCTLR_EL1_MMU_OFF, 0x30d00800
.equ SCTLR_EL1_MMU_ON, 0x34d0d80d      // + M, C, SA, I; EL0 may use DC ZVA, read CTR_EL0, clean caches (DZE, UCT, UCI)
.equ DEVICE_WINDOW_L0_INDEX, 256       // 0xFFFF_8000_0000_0000
.equ DEVICE_WINDOW_GIBS, 16

.section .text.boot, "ax"
.global _start
_start:
    mov     x19, x0
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbnz    x1, .Lpark

    mrs     x20, CurrentEL
    ubfx    x20, x20, #2, #2
    cmp     x20, #3
    b.eq    .Lfrom_el3
    cmp     x20, #2
    b.eq    .Lfrom_el2
    b       .Lat_el1

.macro PREPARE_EL2_FOR_EL1
    mrs     x1, id_aa64pfr0_el1
    ubfx    x1, x1, #8, #4                  // EL2 implemented?
    cbz     x1, 1f
    mov     x1, #(1 << 31)                  // HCR_EL2.RW: EL1 is AArch64
    msr     hcr_el2, x1
    mov     x1, #3                          // CNTHCTL_EL2: EL1 uses the physical timer
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x33ff                     // CPTR_EL2: no FP/SIMD traps
    msr     cptr_el2, x1
    msr     hstr_el2, xzr
    mrs     x1, midr_el1
    msr     vpidr_el2, x1
    mrs     x1, mpidr_el1
    msr     vmpidr_el2, x1
1:
    ldr     x1, =SCTLR_EL1_MMU_OFF
    msr     sctlr_el1, x1
.endm

.Lfrom_el3:
    adrp    x1, __boot_stack_top
    add     x1, x1, :lo12:__boot_stack_top
    mov     sp, x1
    bl      muon_board_el3_init             // secure-side setup the board needs
    msr     cptr_el3, xzr
    mov     x1, #0x431                      // SCR_EL3: NS, RW (lower levels AArch64), RES1
    msr     scr_el3, x1
    PREPARE_EL2_FOR_EL1
    mov     x1, #0x3c5                      // EL1h, DAIF masked
    msr     spsr_el3, x1
    adr     x1, .Lat_el1
    msr     elr_el3, x1
    eret

.Lfrom_el2:
    PREPARE_EL2_FOR_EL1
    mov     x1, #0x3c5
    msr     spsr_el2, x1
    adr     x1, .Lat_el1
    msr     elr_el2, x1
    eret

.Lat_el1:
    mov     x1, #(3 << 20)                  // CPACR_EL1.FPEN: no FP/SIMD traps
    msr     cpacr_el1, x1
    mov     x1, #((1 << 8) | 3)              // CNTKCTL_EL1: EL0 reads the counters, programs the virtual timer
    msr     cntkctl_el1, x1
    isb

    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    adrp    x0, boot_l0
    adrp    x1, boot_l1
    adrp    x2, boot_l2
    adrp    x3, boot_l1_device

    orr     x4, x1, #TABLE_DESCRIPTOR       // L0[0] -> L1 (identity and linear map)
    str     x4, [x0]
    orr     x4, x3, #TABLE_DESCRIPTOR       // L0[256] -> device window L1
    str     x4, [x0, #(DEVICE_WINDOW_L0_INDEX * 8)]

    adr     x5, _start
    lsr     x6, x5, #30                     // the GiB holding the image
    orr     x4, x2, #TABLE_DESCRIPTOR
    str     x4, [x1, x6, lsl #3]

    lsl     x7, x6, #30                     // physical address of block
    ldr     x8, =BOOT_DEVICE_START
    ldr     x10, =BOOT_DEVICE_END
    ldr     x11, =NORMAL_BLOCK
    ldr     x12, =DEVICE_BLOCK
    mov     x9, #0
3:  cmp     x7, x8
    b.lo    4f
    cmp     x7, x10
    b.hs    4f
    orr     x4, x7, x12
    b       5f
4:  orr     x4, x7, x11
5:  str     x4, [x2, x9, lsl #3]
    add     x7, x7, #(1 << 21)
    add     x9, x9, #1
    cmp     x9, #512
    b.lo    3b

    mov     x7, #0
    mov     x9, #0
    mov     x13, #(1 << 30)
6:  orr     x4, x7, x12
    str     x4, [x3, x9, lsl #3]
    add     x7, x7, x13
    add     x9, x9, #1
    cmp     x9, #DEVICE_WINDOW_GIBS
    b.lo    6b

    // The tables were written with the MMU (and so the data cache) off: drop any stale
    // cache lines over them before the cacheable walker can look.
    dsb     sy
    mrs     x4, ctr_el0
    ubfx    x4, x4, #16, #4
    mov     x5, #4
    lsl     x5, x5, x4                      // data cache line size in bytes
    mov     x6, x0
    add     x7, x0, #(4 * 4096)
7:  dc      ivac, x6
    add     x6, x6, x5
    cmp     x6, x7
    b.lo    7b
    dsb     sy

    ldr     x1, =MAIR_VALUE
    msr     mair_el1, x1
    ldr     x1, =TCR_VALUE
    mrs     x2, id_aa64mmfr0_el1
    and     x2, x2, #0xf                    // physical address range supported
    cmp     x2, #5
    mov     x3, #5
    csel    x2, x2, x3, ls                  // at most 48 bits
    bfi     x1, x2, #32, #3                 // TCR_EL1.IPS
    msr     tcr_el1, x1
    msr     ttbr0_el1, x0
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    ic      iallu
    dsb     nsh
    isb
    ldr     x1, =SCTLR_EL1_MMU_ON
    msr     sctlr_el1, x1
    isb
    ldr     x1, =.Lhigh
    br      x1

.Lhigh:
    ldr     x1, =__boot_stack_top
    mov     sp, x1
    ldr     x1, =muon_exception_vectors
    msr     vbar_el1, x1
    isb
    mov     x0, x19
    mov     x1, x20
    bl      muon_board_entry
.Lpark:
    wfe
    b       .Lpark

.ltorg

.section .bss.boot_tables, "aw", %nobits
.balign 4096
boot_l0:        .space 4096
boot_l1:        .space 4096
boot_l2:        .space 4096
boot_l1_device: .space 4096
