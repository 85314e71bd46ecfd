// Copying message bytes through the linear map (see copy.rs).
//
// muon_copy_forward(dst x0, src x1, len x2): copies `len` bytes from `src` to `dst`,
// lowest address first; the two ranges must not overlap. Runs of 128 bytes and more go
// through q0-q7, 128 bytes per 10-instruction iteration; the kernel is built soft-float and never
// holds values there, but a user thread's FP/SIMD registers may be live in them (lazy
// switching), so the eight are saved on the kernel stack and restored. The rest moves
// 16, then 1 byte at a time. Unaligned accesses are fine: all RAM is Normal memory and
// alignment checking is off (SCTLR_EL1.A = 0).

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
1:  ldp     q0, q1, [x1], #128
    ldp     q2, q3, [x1, #-96]
    ldp     q4, q5, [x1, #-64]
    ldp     q6, q7, [x1, #-32]
    stp     q0, q1, [x0], #128
    stp     q2, q3, [x0, #-96]
    stp     q4, q5, [x0, #-64]
    stp     q6, q7, [x0, #-32]
    subs    x2, x2, #128
    b.hs    1b
    ldp     q2, q3, [sp, #32]
    ldp     q4, q5, [sp, #64]
    ldp     q6, q7, [sp, #96]
    ldp     q0, q1, [sp], #128
5:  add     x2, x2, #128            // what is left, under 128 bytes
2:  cmp     x2, #16
    b.lo    3f
    ldp     x3, x4, [x1], #16
    stp     x3, x4, [x0], #16
    sub     x2, x2, #16
    b       2b
3:  cbz     x2, 4f
    ldrb    w3, [x1], #1
    strb    w3, [x0], #1
    sub     x2, x2, #1
    b       3b
4:  ret
.size muon_copy_forward, . - muon_copy_forward
