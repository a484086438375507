//! Matrix products of f32 matrices on the CPU through the `gemm` crate (the kernel
//! candle's own `matmul` runs), called directly. candle asks for its thread count on
//! every product, and on Linux that count is `num_cpus::get_physical()`, which reads
//! and parses /proc/cpuinfo each time: loading 2,345 fonts through SQL read it 8,561
//! times per 320 items, and the kernel's work to produce it was most of the load's
//! system time. Here the count is the rayon pool's (no system call). Other devices
//! and dtypes use candle's `matmul`.
//!
//! [`linear`] adds a 1×1 convolution's bias, residual and ReLU6 in one pass over the
//! product.
#![allow(unsafe_code)]

use candle_core::{CpuStorage, DType, Storage, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

/// `x · w` for `x` (m × k) and `w` (k × n).
pub fn matmul(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if !on_cpu_f32(&[x, w]) {
        return x.matmul(w);
    }
    let (m, n) = (x.dim(0)?, w.dim(1)?);
    Tensor::from_vec(product(x, w)?, (m, n), x.device())
}

/// `x · w + bias (+ residual)`, clamped to `[0, 6]` when `relu6` (a 1×1 convolution
/// with its batch norm folded in, as EfficientNet runs them): on the CPU the additions
/// and the clamp are one parallel pass over the product, not a new tensor each.
pub fn linear(
    x: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    residual: Option<&Tensor>,
    relu6: bool,
) -> candle_core::Result<Tensor> {
    let cpu = on_cpu_f32(&[x, w, bias]) && residual.is_none_or(|r| on_cpu_f32(&[r]));
    if !cpu {
        let y = matmul(x, w)?.broadcast_add(bias)?;
        let y = match residual {
            Some(r) => (y + r)?,
            None => y,
        };
        return if relu6 { y.clamp(0f32, 6f32) } else { Ok(y) };
    }
    let (m, n) = (x.dim(0)?, w.dim(1)?);
    if bias.dims1()? != n || residual.is_some_and(|r| r.dims() != [m, n]) {
        candle_core::bail!("linear: bias or residual does not match {m}×{n}");
    }
    let mut out = product(x, w)?;
    let rows = (64 * 1024 / n.max(1)).max(1);
    with_f32(bias, |bias| {
        let finish = |(y, r): (&mut [f32], Option<&[f32]>)| {
            for (i, row) in y.chunks_exact_mut(n).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v += bias[j];
                }
                if let Some(r) = r {
                    row.iter_mut()
                        .zip(&r[i * n..][..n])
                        .for_each(|(v, x)| *v += x);
                }
                if relu6 {
                    row.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0));
                }
            }
        };
        match residual {
            Some(r) => with_f32(r, |r| {
                out.par_chunks_mut(rows * n)
                    .zip(r.par_chunks(rows * n))
                    .for_each(|(y, r)| finish((y, Some(r))))
            }),
            None => {
                out.par_chunks_mut(rows * n).for_each(|y| finish((y, None)));
                Ok(())
            }
        }
    })??;
    Tensor::from_vec(out, (m, n), x.device())
}

fn on_cpu_f32(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// `f` on the values of `t` (f32 on the CPU, made contiguous if it is not).
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(CpuStorage::F32(values)) = &*storage else {
        candle_core::bail!("expected an f32 tensor on the CPU");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("expected a contiguous tensor");
    };
    Ok(f(&values[start..end]))
}

/// `x · w` row-major, for f32 `x` (m × k) and `w` (k × n) on the CPU.
fn product(x: &Tensor, w: &Tensor) -> candle_core::Result<Vec<f32>> {
    let (m, k) = x.dims2()?;
    let (k2, n) = w.dims2()?;
    if k != k2 {
        candle_core::bail!("matmul: {m}×{k} times {k2}×{n}");
    }
    let mut out = vec![0f32; m * n];
    with_f32(x, |xv| product_into(xv, w, &mut out))??;
    Ok(out)
}

/// `out ← x · w` for `x` (m × k, row-major, m = `x.len() / k`) and an f32 `w`
/// (k × n) on the CPU; `out` must hold m × n.
pub(crate) fn product_into(x: &[f32], w: &Tensor, out: &mut [f32]) -> candle_core::Result<()> {
    let (k, n) = w.dims2()?;
    let m = x.len().checked_div(k).unwrap_or(0);
    if m * k != x.len() || out.len() != m * n {
        candle_core::bail!(
            "matmul: {} inputs, {} outputs for a {k}×{n} matrix",
            x.len(),
            out.len()
        );
    }
    if k == 0 {
        out.fill(0.0);
        return Ok(());
    }
    with_f32(w, |wv| {
        if wv.len() != k * n {
            candle_core::bail!("matmul: storage does not match the shapes");
        }
        let threads = rayon::current_num_threads();
        let parallelism = match threads {
            0 | 1 => Parallelism::None,
            t => Parallelism::Rayon(t),
        };
        // SAFETY: `out` (m × n), `x` (m × k) and `wv` (k × n) are row-major and hold
        // exactly that many elements (checked above); with these strides gemm reads
        // and writes only inside them, and `out` is a `&mut` so aliases neither.
        // With `read_dst` false every element of `out` is written, none read.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                x.as_ptr(),
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
        Ok(())
    })?
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

    #[test]
    fn linear_equals_candle_operations() {
        let (m, k, n) = (300, 24, 40);
        let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
        let w = Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu).unwrap();
        let bias = Tensor::randn(0f32, 3.0, n, &Device::Cpu).unwrap();
        let residual = Tensor::randn(0f32, 3.0, (m, n), &Device::Cpu).unwrap();
        for (r, relu6) in [(None, false), (None, true), (Some(&residual), true)] {
            let ours = super::linear(&x, &w, &bias, r, relu6).unwrap();
            let mut want = x.matmul(&w).unwrap().broadcast_add(&bias).unwrap();
            if let Some(r) = r {
                want = (want + r).unwrap();
            }
            if relu6 {
                want = want.clamp(0f32, 6f32).unwrap();
            }
            let diff = crate::largest_difference(&ours, &want);
            assert!(
                diff < 1e-4,
                "residual {} relu6 {relu6}: {diff}",
                r.is_some()
            );
        }
        let short_bias = Tensor::zeros(n - 1, candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(super::linear(&x, &w, &short_bias, None, false).is_err());
    }
}
