//! Copying bytes between frames for message transfers: a forward copy in assembly
//! (`copy.S`) that moves 128 bytes per iteration through the FP/SIMD registers, which
//! the soft-float kernel cannot use from Rust. Overlapping ranges (a transfer within one
//! address space) take `core::ptr::copy`.

extern "C" {
    fn muon_copy_forward(dst: *mut u8, src: *const u8, len: usize);
}

/// Copies `len` bytes from `src` to `dst`; the ranges may overlap.
///
/// # Safety
///
/// `src` must be valid for reads and `dst` for writes of `len` bytes, and nothing else
/// may access `dst` meanwhile.
pub unsafe fn copy_bytes(dst: *mut u8, src: *const u8, len: usize) {
    let (d, s) = (dst as usize, src as usize);
    if d < s.wrapping_add(len) && s < d.wrapping_add(len) {
        // SAFETY: the caller's contract; `copy` allows the overlap.
        unsafe { core::ptr::copy(src, dst, len) };
    } else {
        // SAFETY: the caller's contract, and the ranges are disjoint as the assembly
        // requires; it saves and restores the FP/SIMD registers it uses.
        unsafe { muon_copy_forward(dst, src, len) };
    }
}
