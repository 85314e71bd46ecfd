// Copying message bytes through the linear map (see copy.rs).
//
// muon_copy_forward(dst x0, src x1, len x2): copies `len` bytes from `src` to `dst`,
// lowest address first; the two ranges must not overlap. Runs of 128 bytes and more go
// through q0-q7, 128 bytes per 6-instruction iteration (four-register LD1/ST1: on the
// Cortex-A53 the same bytes per cycle as LDP/STP of q registers, in fewer instructions;
// braces doubled, as `global_asm!` reads this file as a template). The kernel is built
// soft-float and never holds values there, but a user thread's FP/SIMD registers may be
// live in them (lazy switching), so the eight are saved on the kernel stack and
// restored. The rest moves 16 bytes at a time, then 8, 4, 2 and 1 as its length's bits
// say. Unaligned accesses are fine: all RAM is Normal memory and alignment checking is
// off (SCTLR_EL1.A = 0).

.section .text.copy, "ax"
.arch_extension fp
.arch_extension simd

.global muon_copy_forward
.type muon_copy_forward, %function
muon_copy_forward:
    subs    x2, x2, #128            // x2: bytes left beyond the next 128
    b.lo    5f
    stp     q0, q1, [sp, #-128]!
    stp     q2, q3, [sp, #32]
    stp     q4, q5, [sp, #64]
    stp     q6, q7, [sp, #96]
1:  ld1     {{v0.16b-v3.16b}}, [x1], #64
    ld1     {{v4.16b-v7.16b}}, [x1], #64
    st1     {{v0.16b-v3.16b}}, [x0], #64
    st1     {{v4.16b-v7.16b}}, [x0], #64
    subs    x2, x2, #128
    b.hs    1b
    ldp     q2, q3, [sp, #32]
    ldp     q4, q5, [sp, #64]
    ldp     q6, q7, [sp, #96]
    ldp     q0, q1, [sp], #128
5:  adds    x2, x2, #128 - 16       // x2: bytes left beyond the next 16
    b.lo    3f
2:  ldp     x3, x4, [x1], #16
    stp     x3, x4, [x0], #16
    subs    x2, x2, #16
    b.hs    2b
3:  ands    x2, x2, #15             // what is left, under 16 bytes: 8, 4, 2, 1 at a time
    b.eq    4f
    tbz     x2, #3, 6f
    ldr     x3, [x1], #8
    str     x3, [x0], #8
6:  tbz     x2, #2, 7f
    ldr     w3, [x1], #4
    str     w3, [x0], #4
7:  tbz     x2, #1, 8f
    ldrh    w3, [x1], #2
    strh    w3, [x0], #2
8:  tbz     x2, #0, 4f
    ldrb    w3, [x1]
    strb    w3, [x0]
4:  ret
.size muon_copy_forward, . - muon_copy_forward
