//! The BERT forward on the CPU, over plain buffers that the model keeps between
//! batches: each layer is four matrix products ([`matmul::product_into`], candle's
//! kernel on the rayon pool) and three fused passes from [`kernels`]:
//! - self-attention from the fused query/key/value product, the biases added as the
//!   values are read, one task per sequence;
//! - `LayerNorm(x + bias + residual)` in one pass over each row;
//! - `gelu(x + bias)` with a vectorized error function.
//!
//! Writing every layer into memory already mapped matters: with a fresh tensor per
//! product and pass, page faults and zeroing were about a tenth of MiniLM's run.

use std::ops::Range;

use candle_core::Tensor;
use rayon::prelude::*;

use super::{Bert, Layer, Norm, RelativeBias, kernels};
use crate::matmul::{self, with_f32};

/// Rows of a fused pass handed to one rayon task (enough to amortise the hand-off).
const ROWS_PER_TASK: usize = 16;

/// One batch's activations, grown to the largest batch seen and kept. A batch cut
/// as `SentenceEncoder` cuts them keeps its widest activation under
/// `ACTIVATION_BUDGET`, so all five stay under 2.5 times that budget.
#[derive(Debug, Default)]
pub(super) struct Workspace {
    /// The hidden states (`tokens × width`), input and output of each layer.
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    attended: Vec<f32>,
    up: Vec<f32>,
}

/// The first `len` floats of `buf`, grown (never shrunk) to hold them.
fn first(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

impl Bert {
    /// The last hidden states (`tokens × width`) of the packed tokens; `spans` are the
    /// sequences' rows.
    pub(super) fn forward_on_cpu(
        &self,
        ids: &[u32],
        types: &[u32],
        positions: &[u32],
        spans: &[Range<usize>],
    ) -> candle_core::Result<Vec<f32>> {
        // A second thread encoding with the same model gets its own buffers.
        let mut shared = self.workspace.try_lock();
        let mut own = Workspace::default();
        let ws = shared.as_deref_mut().unwrap_or(&mut own);
        let x = first(&mut ws.x, ids.len() * self.width);
        self.embed(ids, types, positions, x)?;
        norm(x, &[], &[], &self.embedding_norm);
        for layer in &self.layers {
            self.layer(layer, ws, ids.len(), spans)?;
        }
        Ok(ws.x[..ids.len() * self.width].to_vec())
    }

    /// `x ← word + token type + position` embeddings of each token.
    fn embed(
        &self,
        ids: &[u32],
        types: &[u32],
        positions: &[u32],
        x: &mut [f32],
    ) -> candle_core::Result<()> {
        let w = self.width;
        let table_rows = |t: &Tensor| t.dim(0);
        let (vocab, type_rows) = (
            table_rows(&self.word)?,
            self.token_type.as_ref().map_or(Ok(0), table_rows)?,
        );
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
            candle_core::bail!("token id {id} is outside the vocabulary of {vocab}");
        }
        let bad_type = types.iter().find(|&&t| t as usize >= type_rows);
        if let (Some(_), Some(&t)) = (&self.token_type, bad_type) {
            candle_core::bail!("token type {t} is outside the model's {type_rows}");
        }
        // Positions were checked against the table when the batch was packed.
        with_f32(&self.word, |word| {
            with_f32(&self.position, |position| {
                let mut add_rows = |types_table: &[f32]| {
                    x.par_chunks_mut(w).enumerate().for_each(|(t, row)| {
                        let word = &word[ids[t] as usize * w..][..w];
                        let pos = &position[positions[t] as usize * w..][..w];
                        for ((v, a), b) in row.iter_mut().zip(word).zip(pos) {
                            *v = a + b;
                        }
                        if !types_table.is_empty() {
                            let ty = &types_table[types[t] as usize * w..][..w];
                            row.iter_mut().zip(ty).for_each(|(v, b)| *v += b);
                        }
                    })
                };
                match &self.token_type {
                    Some(table) => with_f32(table, add_rows),
                    None => {
                        add_rows(&[]);
                        Ok(())
                    }
                }
            })
        })???;
        Ok(())
    }

    /// One encoder layer over `ws.x` (its first `tokens` rows), in place.
    fn layer(
        &self,
        layer: &Layer,
        ws: &mut Workspace,
        tokens: usize,
        spans: &[Range<usize>],
    ) -> candle_core::Result<()> {
        let w = self.width;
        let x = first(&mut ws.x, tokens * w);
        let qkv = first(&mut ws.qkv, tokens * 3 * w);
        matmul::product_into(x, &layer.qkv.weight_t, qkv)?;
        let context = first(&mut ws.context, tokens * w);
        let relative = self.relative.as_ref();
        attention(
            qkv,
            &layer.qkv.bias.host,
            relative,
            spans,
            w,
            self.heads,
            context,
        );
        let attended = first(&mut ws.attended, tokens * w);
        matmul::product_into(context, &layer.attention_out.weight_t, attended)?;
        let out_bias = &layer.attention_out.bias.host;
        norm(attended, x, out_bias, &layer.attention_norm);
        let up = first(&mut ws.up, tokens * layer.up.bias.host.len());
        matmul::product_into(attended, &layer.up.weight_t, up)?;
        let up_bias = &layer.up.bias.host;
        up.par_chunks_mut(up_bias.len() * ROWS_PER_TASK)
            .for_each(|rows| kernels::bias_gelu(rows, up_bias));
        matmul::product_into(up, &layer.down.weight_t, x)?;
        norm(x, attended, &layer.down.bias.host, &layer.out_norm);
        Ok(())
    }
}

/// Self-attention over packed sequences from the fused `q|k|v` product (biases not
/// yet added) into `out` (`tokens × width`); one rayon task per sequence.
fn attention(
    qkv: &[f32],
    bias: &[f32],
    relative: Option<&RelativeBias>,
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
    parts
        .into_par_iter()
        .for_each_init(Vec::new, |scratch, (span, out)| {
            let len = span.len();
            scratch.resize(kernels::attention_scratch(len, d), 0.0);
            let rows = &qkv[span.start * 3 * width..span.end * 3 * width];
            for head in 0..heads {
                let relative = match relative {
                    Some(r) => r.offsets(head, heads, len),
                    None => Vec::new(),
                };
                kernels::attention(rows, bias, &relative, width, head, d, out, scratch);
            }
        });
}

/// `x ← LayerNorm(x + bias + residual)` row by row; `bias` and `residual` may be
/// empty.
fn norm(x: &mut [f32], residual: &[f32], bias: &[f32], norm: &Norm) {
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
