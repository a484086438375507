//! Matrix products of f32 matrices on the CPU through the `gemm` crate (the kernel
//! candle's own `matmul` runs), called directly. candle asks for its thread count on
//! every product, and on Linux that count is `num_cpus::get_physical()`, which reads
//! and parses /proc/cpuinfo each time: loading 2,345 fonts through SQL read it 8,561
//! times per 320 items, and the kernel's work to produce it was most of the load's
//! system time. Here the count is the rayon pool's (no system call). Other devices
//! and dtypes use candle's `matmul`.
#![allow(unsafe_code)]

use candle_core::{CpuStorage, DType, Storage, Tensor};
use gemm::Parallelism;

/// `x · w` for `x` (m × k) and `w` (k × n).
pub fn matmul(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != DType::F32 || w.dtype() != DType::F32 {
        return x.matmul(w);
    }
    let (m, k) = x.dims2()?;
    let (k2, n) = w.dims2()?;
    if k != k2 {
        candle_core::bail!("matmul: {m}×{k} times {k2}×{n}");
    }
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    let mut out = vec![0f32; m * n];
    {
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (Storage::Cpu(CpuStorage::F32(xv)), Storage::Cpu(CpuStorage::F32(wv))) = (&*xs, &*ws)
        else {
            candle_core::bail!("matmul: expected f32 tensors on the CPU");
        };
        let (Some((xa, xb)), Some((wa, wb))) = (xl.contiguous_offsets(), wl.contiguous_offsets())
        else {
            candle_core::bail!("matmul: expected contiguous tensors");
        };
        let (xv, wv) = (&xv[xa..xb], &wv[wa..wb]);
        if xv.len() != m * k || wv.len() != k * n {
            candle_core::bail!("matmul: storage does not match the shapes");
        }
        let threads = rayon::current_num_threads();
        let parallelism = match threads {
            0 | 1 => Parallelism::None,
            t => Parallelism::Rayon(t),
        };
        // SAFETY: `out` (m × n), `xv` (m × k) and `wv` (k × n) are row-major and hold
        // exactly that many elements (checked above); with these strides gemm reads
        // and writes only inside them, and `out` aliases neither input.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                xv.as_ptr(),
                1,
                k as isize,
                wv.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
    Tensor::from_vec(out, (m, n), x.device())
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    #[test]
    fn equals_candles_product() {
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (130, 70, 33), (0, 4, 2)] {
            let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
            let w = Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu).unwrap();
            let ours =
                super::matmul(&x, &w.t().unwrap().contiguous().unwrap().t().unwrap()).unwrap();
            let theirs = x.matmul(&w).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            if m > 0 {
                let diff = crate::largest_difference(&ours, &theirs);
                assert!(diff < 1e-4, "{m}×{k}×{n}: {diff}");
            }
        }
        let bad = super::matmul(
            &Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap(),
            &Tensor::zeros((4, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(bad.is_err());
    }
}
