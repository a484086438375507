//! Software prefetch: ask the CPU to start loading a vector we are about to read, so
//! the next distance computation finds it in cache. Graph search jumps between random
//! rows, and without this most of its time is spent waiting for memory.
#![allow(unsafe_code)]

/// Bytes per cache line.
const LINE: usize = 64;

/// Starts loading a byte slice (e.g. quantized codes) into L1.
#[inline(always)]
pub fn prefetch_u8(v: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        for line in 0..v.len().div_ceil(LINE).min(16) {
            // SAFETY: as in `prefetch`: the address stays inside the slice and a
            // prefetch never faults.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().cast::<i8>().wrapping_add(line * LINE))
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Starts loading a `u32` slice (e.g. a node's links) into L1.
#[inline(always)]
pub fn prefetch_u32(v: &[u32]) {
    prefetch(bytemuck::cast_slice(v), 4);
}

/// Starts loading `v` (at most `max_lines` cache lines of it) into L1. A hint only:
/// it never faults and has no effect on results.
#[inline(always)]
pub fn prefetch(v: &[f32], max_lines: usize) {
    prefetch_bytes(bytemuck::cast_slice(v), max_lines);
}

/// [`prefetch`] of any bytes (a half-precision row's).
#[inline(always)]
pub fn prefetch_bytes(v: &[u8], max_lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = v.len();
        let base = v.as_ptr().cast::<i8>();
        for line in 0..bytes.div_ceil(LINE).min(max_lines) {
            // SAFETY: SSE is part of the x86_64 baseline, so the instruction exists; a
            // prefetch never dereferences its address architecturally (it cannot fault),
            // and the address stays inside the slice (`line * LINE < bytes`).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(line * LINE)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (v, max_lines);
    }
}
