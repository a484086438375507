//! Depthwise convolution with TensorFlow "SAME" padding, bias and ReLU6 fused, as a
//! candle custom op on the CPU over channels-last activations. candle's grouped
//! convolution runs one convolution per channel (1,152 of them in EfficientNet's widest
//! blocks); here each output row is one loop whose innermost step runs along the
//! channels (contiguous in input, weights and output), rows in parallel on rayon.
//! Other devices use candle's grouped convolution (the same result; tested).

use candle_core::{CpuStorage, CustomOp1, Layout, Module, Shape, Tensor};
use rayon::prelude::*;

/// TensorFlow "SAME" padding for one spatial axis: the output is `ceil(len/stride)`
/// long and the padding, split with the extra pixel after, makes it so.
pub fn same_padding(len: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = len.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(len);
    (total / 2, total - total / 2)
}

/// A depthwise k×k convolution (one filter per channel) followed by `+ bias` and
/// `min(max(x, 0), 6)` (batch norm already folded into the weights and bias), on
/// channels-last (`n × h × w × c`) activations.
#[derive(Debug)]
pub struct DepthwiseRelu6 {
    /// PyTorch's `c × 1 × k × k` (the other-device path).
    weights: Tensor,
    bias: Tensor,
    /// The same weights tap-major (`k·k × c`) for the CPU loop.
    taps: Vec<f32>,
    bias_cpu: Vec<f32>,
    kernel: usize,
    stride: usize,
}

impl DepthwiseRelu6 {
    /// `weights` is `channels × 1 × k × k` (PyTorch's layout), `bias` is `channels`.
    pub fn new(weights: Tensor, bias: Tensor, stride: usize) -> candle_core::Result<Self> {
        let (c, one, k, k2) = weights.dims4()?;
        if one != 1 || k != k2 || bias.dims1()? != c {
            candle_core::bail!(
                "depthwise weights must be C×1×k×k with C biases, got {:?} and {:?}",
                weights.shape(),
                bias.shape()
            );
        }
        let taps = weights.reshape((c, k * k))?.t()?.flatten_all()?.to_vec1()?;
        let bias_cpu = bias.to_vec1()?;
        Ok(DepthwiseRelu6 {
            weights,
            bias,
            taps,
            bias_cpu,
            kernel: k,
            stride,
        })
    }
}

impl DepthwiseRelu6 {
    /// The same op with its tensors on `device`.
    pub fn to_device(&self, device: &candle_core::Device) -> candle_core::Result<Self> {
        Ok(DepthwiseRelu6 {
            weights: self.weights.to_device(device)?,
            bias: self.bias.to_device(device)?,
            taps: self.taps.clone(),
            bias_cpu: self.bias_cpu.clone(),
            kernel: self.kernel,
            stride: self.stride,
        })
    }
}

impl Module for DepthwiseRelu6 {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if x.device().is_cpu() {
            return x.contiguous()?.apply_op1_no_bwd(self);
        }
        let (_, h, w, c) = x.dims4()?;
        let (top, bottom) = same_padding(h, self.kernel, self.stride);
        let (left, right) = same_padding(w, self.kernel, self.stride);
        x.permute((0, 3, 1, 2))?
            .pad_with_zeros(2, top, bottom)?
            .pad_with_zeros(3, left, right)?
            .conv2d(&self.weights, 0, self.stride, 1, c)?
            .broadcast_add(&self.bias.reshape((1, c, 1, 1))?)?
            .clamp(0f32, 6f32)?
            .permute((0, 2, 3, 1))?
            .contiguous()
    }
}

impl CustomOp1 for DepthwiseRelu6 {
    fn name(&self) -> &'static str {
        "depthwise-relu6"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("depthwise convolution reads f32");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("depthwise convolution needs a contiguous input");
        };
        let (n, h, w, c) = layout.shape().dims4()?;
        if self.bias_cpu.len() != c {
            candle_core::bail!("depthwise convolution: {c} channels, weights for another count");
        }
        let (k, s) = (self.kernel, self.stride);
        let (oh, ow) = (h.div_ceil(s), w.div_ceil(s));
        let g = Geometry {
            h,
            w,
            c,
            k,
            s,
            top: same_padding(h, k, s).0,
            left: same_padding(w, k, s).0,
        };
        let input = &data[start..end];
        let mut out = vec![0f32; n * oh * ow * c];
        out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
            let (image, y) = (r / oh, r % oh);
            let src = &input[image * h * w * c..(image + 1) * h * w * c];
            convolve_row(src, &self.taps, row, y, &g);
            for px in row.chunks_mut(c) {
                for (v, b) in px.iter_mut().zip(&self.bias_cpu) {
                    *v = (*v + b).clamp(0.0, 6.0);
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((n, oh, ow, c))))
    }
}

/// One image's sizes: input `h × w × c`, kernel `k`, stride `s`, padding before
/// (`top`, `left`).
struct Geometry {
    h: usize,
    w: usize,
    c: usize,
    k: usize,
    s: usize,
    top: usize,
    left: usize,
}

/// Output row `y`: `row[x][ch] = Σ taps[ky·k + kx][ch] · src[y·s + ky − top][x·s + kx −
/// left][ch]` over taps inside the image (outside is zero padding). The inner loop
/// runs along channels, contiguous in both.
fn convolve_row(src: &[f32], taps: &[f32], row: &mut [f32], y: usize, g: &Geometry) {
    let ow = row.len() / g.c;
    for ky in 0..g.k {
        let Some(iy) = (y * g.s + ky).checked_sub(g.top).filter(|&iy| iy < g.h) else {
            continue;
        };
        let line = &src[iy * g.w * g.c..(iy + 1) * g.w * g.c];
        for kx in 0..g.k {
            let tap = &taps[(ky * g.k + kx) * g.c..(ky * g.k + kx + 1) * g.c];
            // Output columns whose tap lands inside the line: x·s + kx − left ∈ [0, w).
            let x0 = g.left.saturating_sub(kx).div_ceil(g.s);
            let x1 = (g.w + g.left).saturating_sub(kx).div_ceil(g.s).min(ow);
            for x in x0..x1 {
                let ix = x * g.s + kx - g.left;
                let from = &line[ix * g.c..(ix + 1) * g.c];
                let to = &mut row[x * g.c..(x + 1) * g.c];
                for ((o, i), t) in to.iter_mut().zip(from).zip(tap) {
                    *o += t * i;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The custom op equals candle's padded grouped convolution in channels-first
    /// layout for every kernel and stride EfficientNet uses, odd and even sizes.
    #[test]
    fn cpu_op_matches_grouped_convolution() {
        let dev = Device::Cpu;
        for (k, s, h, w) in [
            (3, 1, 7, 9),
            (3, 2, 8, 8),
            (5, 2, 9, 6),
            (5, 1, 4, 11),
            (3, 2, 1, 1),
            (5, 1, 1, 2),
        ] {
            let c = 5;
            let x = Tensor::randn(0f32, 2.0, (2, h, w, c), &dev).unwrap();
            let wt = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev).unwrap();
            let b = Tensor::randn(0f32, 1.0, c, &dev).unwrap();
            let op = DepthwiseRelu6::new(wt.clone(), b.clone(), s).unwrap();
            let fast = op.forward(&x).unwrap();
            let (top, bottom) = same_padding(h, k, s);
            let (left, right) = same_padding(w, k, s);
            let slow = x
                .permute((0, 3, 1, 2))
                .unwrap()
                .pad_with_zeros(2, top, bottom)
                .unwrap()
                .pad_with_zeros(3, left, right)
                .unwrap()
                .conv2d(&wt, 0, s, 1, c)
                .unwrap()
                .broadcast_add(&b.reshape((1, c, 1, 1)).unwrap())
                .unwrap()
                .clamp(0f32, 6f32)
                .unwrap()
                .permute((0, 2, 3, 1))
                .unwrap();
            assert_eq!(fast.dims(), slow.dims(), "k{k} s{s} {h}x{w}");
            let diff = (fast - slow)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-4, "k{k} s{s} {h}x{w}: max difference {diff}");
        }
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(112, 3, 1), (1, 1));
        assert_eq!(same_padding(28, 5, 2), (1, 2));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
    }
}
