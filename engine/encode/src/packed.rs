//! Transformer layers over *packed* sequences on the CPU, shared by the text and
//! image towers (BERT's post-norm layers, CLIP's pre-norm ones): the tokens of a
//! batch are stacked into one `tokens × width` matrix with no padding, so no work is
//! spent on pad tokens and every linear layer is one large matrix product
//! (`matmul::product_into`). The passes between the products run [`kernels`]
//! over buffers a model keeps between batches ([`Workspace`]): with a fresh tensor
//! per product and pass, page faults and zeroing were about a tenth of MiniLM's run.

pub(crate) mod kernels;

use std::ops::Range;

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

/// Rows of a fused pass handed to one rayon task (enough to amortise the hand-off).
const ROWS_PER_TASK: usize = 16;

/// A bias or normalisation parameter: the tensor (other devices) and its values on
/// the host (the CPU kernels).
#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) tensor: Tensor,
    pub(crate) host: Vec<f32>,
}

impl Param {
    pub(crate) fn new(tensor: Tensor) -> candle_core::Result<Param> {
        let host = tensor.to_dtype(DType::F32)?.to_vec1()?;
        Ok(Param { tensor, host })
    }
}

#[derive(Debug)]
pub(crate) struct Norm {
    pub(crate) gamma: Param,
    pub(crate) beta: Param,
    pub(crate) eps: f32,
}

impl Norm {
    pub(crate) fn load(vb: VarBuilder, width: usize, eps: f64) -> candle_core::Result<Norm> {
        Ok(Norm {
            gamma: Param::new(vb.get(width, "weight")?)?,
            beta: Param::new(vb.get(width, "bias")?)?,
            eps: eps as f32,
        })
    }
}

/// A linear layer's weight stored transposed (`in × out`, contiguous), so `x · Wᵀ` is
/// a plain matrix product with no copy, and its bias.
#[derive(Debug)]
pub(crate) struct Linear {
    pub(crate) weight_t: Tensor,
    pub(crate) bias: Param,
}

impl Linear {
    pub(crate) fn load(
        vb: VarBuilder,
        inputs: usize,
        outputs: usize,
    ) -> candle_core::Result<Linear> {
        let weight = vb.get((outputs, inputs), "weight")?;
        Linear::new(weight, vb.get(outputs, "bias")?)
    }

    pub(crate) fn new(weight: Tensor, bias: Tensor) -> candle_core::Result<Linear> {
        Ok(Linear {
            weight_t: weight.t()?.contiguous()?,
            bias: Param::new(bias)?,
        })
    }

    /// `x · Wᵀ` without the bias (the next fused pass adds it).
    pub(crate) fn product(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        crate::matmul::matmul(x, &self.weight_t)
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.product(x)?.broadcast_add(&self.bias.tensor)
    }
}

/// One batch's activations, grown to the largest batch seen and kept. A batch cut
/// under `ACTIVATION_BUDGET` for its widest activation keeps all five under 2.5
/// times that budget.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// The hidden states (`tokens × width`), input and output of each layer.
    pub(crate) x: Vec<f32>,
    pub(crate) qkv: Vec<f32>,
    pub(crate) context: Vec<f32>,
    /// A second `tokens × width` buffer (post-norm: the attention block's output;
    /// pre-norm: the normalised input of each block, then its output).
    pub(crate) attended: Vec<f32>,
    /// The feed-forward layer's inner activation.
    pub(crate) up: Vec<f32>,
}

/// The first `len` floats of `buf`, grown (never shrunk) to hold them.
pub(crate) fn first(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// How attention treats the keys after a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mask {
    /// Every token attends to every token of its sequence (BERT, a vision tower).
    None,
    /// A token attends to itself and the tokens before it (CLIP's text tower).
    Causal,
}

/// Self-attention over packed sequences from the fused `q|k|v` product (biases not
/// yet added) into `out` (`tokens × width`); one rayon task per sequence.
/// `relative(head, len)` gives MPNet's per-offset score bias (empty: none).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention(
    qkv: &[f32],
    bias: &[f32],
    relative: &(dyn Fn(usize, usize) -> Vec<f32> + Sync),
    mask: Mask,
    spans: &[Range<usize>],
    width: usize,
    heads: usize,
    out: &mut [f32],
) {
    let d = width / heads;
    // Each sequence's output rows, split off in order.
    let mut parts = Vec::with_capacity(spans.len());
    let mut rest = out;
    for span in spans {
        let (mine, tail) = rest.split_at_mut(span.len() * width);
        parts.push((span.clone(), mine));
        rest = tail;
    }
    let causal = mask == Mask::Causal;
    parts
        .into_par_iter()
        .for_each_init(Vec::new, |scratch, (span, out)| {
            let len = span.len();
            scratch.resize(kernels::attention_scratch(len, d), 0.0);
            let rows = &qkv[span.start * 3 * width..span.end * 3 * width];
            for head in 0..heads {
                let offsets = relative(head, len);
                kernels::attention(rows, bias, &offsets, causal, width, head, d, out, scratch);
            }
        });
}

/// `x ← LayerNorm(x + bias + residual)` row by row; `bias` and `residual` may be
/// empty.
pub(crate) fn norm(x: &mut [f32], residual: &[f32], bias: &[f32], norm: &Norm) {
    let (gamma, beta, eps) = (&norm.gamma.host, &norm.beta.host, norm.eps);
    let chunk = gamma.len() * ROWS_PER_TASK;
    x.par_chunks_mut(chunk).enumerate().for_each(|(i, rows)| {
        let res = match residual {
            [] => &[][..],
            r => &r[i * chunk..][..rows.len()],
        };
        kernels::layer_norm(rows, res, bias, gamma, beta, eps);
    });
}

/// `out ← LayerNorm(x)` row by row (a pre-norm block's input; `x` stays the
/// residual stream).
pub(crate) fn norm_into(x: &[f32], out: &mut [f32], norm: &Norm) {
    out.copy_from_slice(x);
    self::norm(out, &[], &[], norm);
}

/// The feed-forward layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// GELU with the exact error function (BERT's `gelu`).
    Gelu,
    /// `x · σ(1.702·x)` (CLIP's `quick_gelu`).
    QuickGelu,
}

/// `x ← activation(x + bias)`, rows `bias.len()` wide.
pub(crate) fn activate(x: &mut [f32], bias: &[f32], activation: Activation) {
    x.par_chunks_mut(bias.len() * ROWS_PER_TASK)
        .for_each(|rows| match activation {
            Activation::Gelu => kernels::bias_gelu(rows, bias),
            Activation::QuickGelu => kernels::bias_quick_gelu(rows, bias),
        });
}

/// `x ← x + y + bias` (a pre-norm block's residual), rows `bias.len()` wide.
pub(crate) fn add_residual(x: &mut [f32], y: &[f32], bias: &[f32]) {
    let chunk = bias.len() * ROWS_PER_TASK;
    x.par_chunks_mut(chunk)
        .zip(y.par_chunks(chunk))
        .for_each(|(x, y)| {
            for (x, y) in x
                .chunks_exact_mut(bias.len())
                .zip(y.chunks_exact(bias.len()))
            {
                for ((v, a), b) in x.iter_mut().zip(y).zip(bias) {
                    *v += a + b;
                }
            }
        });
}
