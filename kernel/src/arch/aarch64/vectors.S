// The EL1 exception vector table. Every entry saves the interrupted context as a
// `TrapFrame` (exception.rs) on the current stack and calls
// `muon_exception(frame, kind)`; when that returns, the (possibly changed) frame is
// restored and `eret` resumes it.
//
// kind: 0-3 current EL with SP_EL0, 4-7 current EL with SP_ELx, 8-11 lower EL AArch64,
// 12-15 lower EL AArch32; within each group sync, IRQ, FIQ, SError.
//
// Exceptions from EL0 (kinds 8-15) take a different path: the user registers are saved
// straight into the current thread's `UserContext` (thread.rs), whose address is the
// first word of this CPU's `PerCpu` block (TPIDR_EL1). `muon_user_exception(kind)`, or
// for an `svc` the call's own function in `MUON_SYSCALL_ENTRIES` (run.rs) or else
// `muon_user_syscall()`, may switch threads by changing that word;
// `muon_return_to_user` then restores whatever it names. The kernel stack is empty
// whenever a CPU runs user code.
//
// A system call does not preserve x1-x17 (docs/syscalls.md; userlib's `svc` declares
// them clobbered), so its entry does not save them (x0-x8 reach Rust as arguments): the
// return restores whatever the thread's context last held there, values of that
// thread's own, and x0 (and x1 for some calls) the kernel wrote.

.equ FRAME_SIZE, 34 * 8

// x2-x29 at [base + 16], the layout TrapFrame and UserContext share (x0/x1 first).
.macro SAVE_X2_X29 base
    stp     x2, x3, [\base, #16 * 1]
    stp     x4, x5, [\base, #16 * 2]
    stp     x6, x7, [\base, #16 * 3]
    stp     x8, x9, [\base, #16 * 4]
    stp     x10, x11, [\base, #16 * 5]
    stp     x12, x13, [\base, #16 * 6]
    stp     x14, x15, [\base, #16 * 7]
    stp     x16, x17, [\base, #16 * 8]
    stp     x18, x19, [\base, #16 * 9]
    stp     x20, x21, [\base, #16 * 10]
    stp     x22, x23, [\base, #16 * 11]
    stp     x24, x25, [\base, #16 * 12]
    stp     x26, x27, [\base, #16 * 13]
    stp     x28, x29, [\base, #16 * 14]
.endm

// The inverse of SAVE_X2_X29.
.macro RESTORE_X2_X29 base
    ldp     x2, x3, [\base, #16 * 1]
    ldp     x4, x5, [\base, #16 * 2]
    ldp     x6, x7, [\base, #16 * 3]
    ldp     x8, x9, [\base, #16 * 4]
    ldp     x10, x11, [\base, #16 * 5]
    ldp     x12, x13, [\base, #16 * 6]
    ldp     x14, x15, [\base, #16 * 7]
    ldp     x16, x17, [\base, #16 * 8]
    ldp     x18, x19, [\base, #16 * 9]
    ldp     x20, x21, [\base, #16 * 10]
    ldp     x22, x23, [\base, #16 * 11]
    ldp     x24, x25, [\base, #16 * 12]
    ldp     x26, x27, [\base, #16 * 13]
    ldp     x28, x29, [\base, #16 * 14]
.endm

.macro ENTRY kind
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #16 * 0]
    mov     x1, #\kind
    b       muon_exception_common
.endm

// Synchronous exceptions from EL0. A system call goes to its function (see
// muon_user_syscall_save; no classifying in Rust); anything else to muon_user_save like
// other entries. A `Nop`
// (x8 = 0) whose thread may take it quickly (PerCpu.quick_nop: no TimerTimeout armed,
// see percpu.rs) is answered here: x0 = 0, every other register as it was, no save, no
// Rust. The full path would do nothing more.
.equ ESR_EC_SHIFT, 26
.equ EC_SVC64, 0x15
.equ PERCPU_QUICK_NOP, 33

.macro USER_SYNC_ENTRY kind
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mrs     x0, esr_el1
    lsr     x1, x0, #ESR_EC_SHIFT
    mrs     x0, tpidr_el1
    cmp     x1, #EC_SVC64
    b.ne    1f                      // not a system call: the full exception path
    cbnz    x8, 2f                  // not a Nop
    ldrb    w1, [x0, #PERCPU_QUICK_NOP]
    cbz     w1, 2f
    ldp     x0, x1, [sp], #16
    mov     x0, #0
    eret
1:  ldr     x0, [x0]                // this CPU's current UserContext
    mov     x1, #\kind
    b       muon_user_save
2:  ldr     x0, [x0]
    b       muon_user_syscall_save
.endm

.macro USER_ENTRY kind
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mrs     x0, tpidr_el1
    ldr     x0, [x0]                // this CPU's current UserContext
    mov     x1, #\kind
    b       muon_user_save
.endm

.section .text.vectors, "ax"
.arch_extension fp
.arch_extension simd
.balign 2048
.global muon_exception_vectors
.type muon_exception_vectors, %function
muon_exception_vectors:
    ENTRY 0
    ENTRY 1
    ENTRY 2
    ENTRY 3
    ENTRY 4
    ENTRY 5
    ENTRY 6
    ENTRY 7
    USER_SYNC_ENTRY 8
    USER_ENTRY 9
    USER_ENTRY 10
    USER_ENTRY 11
    USER_ENTRY 12
    USER_ENTRY 13
    USER_ENTRY 14
    USER_ENTRY 15
.size muon_exception_vectors, . - muon_exception_vectors

.type muon_exception_common, %function
muon_exception_common:
    SAVE_X2_X29 sp
    mrs     x21, sp_el0
    stp     x30, x21, [sp, #16 * 15]
    mrs     x22, elr_el1
    mrs     x23, spsr_el1
    stp     x22, x23, [sp, #16 * 16]

    mov     x0, sp
    bl      muon_exception

    ldp     x22, x23, [sp, #16 * 16]
    msr     elr_el1, x22
    msr     spsr_el1, x23
    ldp     x30, x21, [sp, #16 * 15]
    msr     sp_el0, x21
    ldp     x0, x1, [sp, #16 * 0]
    RESTORE_X2_X29 sp
    add     sp, sp, #FRAME_SIZE
    eret
.size muon_exception_common, . - muon_exception_common

// x0 = UserContext, x1 = kind; the user's x0/x1 are on the kernel stack.
.type muon_user_save, %function
muon_user_save:
    SAVE_X2_X29 x0
    mrs     x2, sp_el0
    stp     x30, x2, [x0, #16 * 15]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [x0, #16 * 16]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0]
    mov     x0, x1
    b       muon_user_exception     // never returns: it leaves through muon_enter_user
.size muon_user_save, . - muon_user_save

// x0 = UserContext; the user's x0/x1 are on the kernel stack. A system call's save: only
// the registers a call preserves (x18-x30, SP; see the top of this file), with x9-x11 as
// scratch. x0-x7, the call's arguments, go to its own function's arguments (from the
// table run.rs keeps, `MUON_SYSCALL_ENTRIES`, by the number in x8) or, for a call
// without one, to `muon_user_syscall`'s with x8 the ninth, on the stack in the slot
// x0/x1 leave; never through the context.
.type muon_user_syscall_save, %function
muon_user_syscall_save:
    str     x18, [x0, #16 * 9]
    stp     x19, x20, [x0, #16 * 9 + 8]
    stp     x21, x22, [x0, #16 * 10 + 8]
    stp     x23, x24, [x0, #16 * 11 + 8]
    stp     x25, x26, [x0, #16 * 12 + 8]
    stp     x27, x28, [x0, #16 * 13 + 8]
    mrs     x9, sp_el0
    stp     x29, x30, [x0, #16 * 14 + 8]
    mrs     x10, elr_el1
    mrs     x11, spsr_el1
    str     x9, [x0, #16 * 15 + 8]
    stp     x10, x11, [x0, #16 * 16]
    // A call with a function of its own (run.rs: MUON_SYSCALL_ENTRIES, 64 of them) gets
    // x0-x7 and nothing on the stack; the others go to muon_user_syscall with x8 too.
    cmp     x8, #64
    b.hs    1f
    adrp    x9, MUON_SYSCALL_ENTRIES
    add     x9, x9, :lo12:MUON_SYSCALL_ENTRIES
    ldr     x9, [x9, x8, lsl #3]
    cbz     x9, 1f
    ldp     x0, x1, [sp], #16
    br      x9                      // never returns: it leaves through muon_enter_user
1:  ldp     x0, x1, [sp]
    str     x8, [sp]
    b       muon_user_syscall       // never returns: it leaves through muon_enter_user
.size muon_user_syscall_save, . - muon_user_syscall_save

// Restores the UserContext this CPU's PerCpu names and returns to EL0.
.global muon_return_to_user
.type muon_return_to_user, %function
muon_return_to_user:
    mrs     x0, tpidr_el1
    ldr     x0, [x0]
    ldp     x2, x3, [x0, #16 * 16]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [x0, #16 * 15]
    msr     sp_el0, x2
    RESTORE_X2_X29 x0
    ldp     x0, x1, [x0]
    eret
.size muon_return_to_user, . - muon_return_to_user

// First entry to user space on this CPU: empty the kernel stack (x0 = its top), go.
.global muon_enter_user
.type muon_enter_user, %function
muon_enter_user:
    mov     sp, x0
    b       muon_return_to_user
.size muon_enter_user, . - muon_enter_user

// FP/SIMD state of a UserContext: x0 = address of its fpcr field (fpcr, fpsr, q0-q31).
.global muon_fp_save
.type muon_fp_save, %function
muon_fp_save:
    mrs     x1, fpcr
    mrs     x2, fpsr
    stp     x1, x2, [x0], #16
    stp     q0, q1, [x0, #32 * 0]
    stp     q2, q3, [x0, #32 * 1]
    stp     q4, q5, [x0, #32 * 2]
    stp     q6, q7, [x0, #32 * 3]
    stp     q8, q9, [x0, #32 * 4]
    stp     q10, q11, [x0, #32 * 5]
    stp     q12, q13, [x0, #32 * 6]
    stp     q14, q15, [x0, #32 * 7]
    stp     q16, q17, [x0, #32 * 8]
    stp     q18, q19, [x0, #32 * 9]
    stp     q20, q21, [x0, #32 * 10]
    stp     q22, q23, [x0, #32 * 11]
    stp     q24, q25, [x0, #32 * 12]
    stp     q26, q27, [x0, #32 * 13]
    stp     q28, q29, [x0, #32 * 14]
    stp     q30, q31, [x0, #32 * 15]
    ret
.size muon_fp_save, . - muon_fp_save

.global muon_fp_restore
.type muon_fp_restore, %function
muon_fp_restore:
    ldp     x1, x2, [x0], #16
    msr     fpcr, x1
    msr     fpsr, x2
    ldp     q0, q1, [x0, #32 * 0]
    ldp     q2, q3, [x0, #32 * 1]
    ldp     q4, q5, [x0, #32 * 2]
    ldp     q6, q7, [x0, #32 * 3]
    ldp     q8, q9, [x0, #32 * 4]
    ldp     q10, q11, [x0, #32 * 5]
    ldp     q12, q13, [x0, #32 * 6]
    ldp     q14, q15, [x0, #32 * 7]
    ldp     q16, q17, [x0, #32 * 8]
    ldp     q18, q19, [x0, #32 * 9]
    ldp     q20, q21, [x0, #32 * 10]
    ldp     q22, q23, [x0, #32 * 11]
    ldp     q24, q25, [x0, #32 * 12]
    ldp     q26, q27, [x0, #32 * 13]
    ldp     q28, q29, [x0, #32 * 14]
    ldp     q30, q31, [x0, #32 * 15]
    ret
.size muon_fp_restore, . - muon_fp_restore
