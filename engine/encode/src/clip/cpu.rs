//! CLIP's two towers on the CPU over packed sequences ([`packed`]): pre-norm layers
//! (`x + attention(LayerNorm(x))`, `x + mlp(LayerNorm(x))`, quick GELU), the text
//! tower causal, the vision tower over its class token and patches. Same arithmetic
//! as candle-transformers' CLIP (which other devices run), without its padding,
//! per-head products and a tensor per operation.
//!
//! The text tower reads its output at each text's first end token; attention being
//! causal, the tokens after it never reach it, so each text is cut there and packed
//! with no padding.

use std::ops::Range;

use candle_core::Tensor;
use candle_nn::VarBuilder;
use parking_lot::Mutex;
use rayon::prelude::*;

use super::bpe;
use super::config::Config;
use crate::matmul::{product_into, with_f32};
use crate::packed::{self, Activation, Linear, Mask, Norm, Workspace, first};

/// CLIP's layer norm epsilon (the config parser refuses others).
const EPS: f64 = 1e-5;

#[derive(Debug)]
struct Layer {
    norm1: Norm,
    /// Query, key and value in one product (`width → 3·width`).
    qkv: Linear,
    out: Linear,
    norm2: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// A stack of pre-norm layers with its buffers.
#[derive(Debug)]
struct Stack {
    layers: Vec<Layer>,
    width: usize,
    heads: usize,
    mask: Mask,
    workspace: Mutex<Workspace>,
}

impl Stack {
    fn load(
        vb: VarBuilder,
        layers: usize,
        (width, heads, inner): (usize, usize, usize),
        mask: Mask,
    ) -> candle_core::Result<Stack> {
        let layers = (0..layers)
            .map(|i| {
                let vb = vb.pp(format!("layers.{i}"));
                let attn = vb.pp("self_attn");
                let part = |name: &str| -> candle_core::Result<(Tensor, Tensor)> {
                    let p = attn.pp(name);
                    Ok((p.get((width, width), "weight")?, p.get(width, "bias")?))
                };
                let (q, k, v) = (part("q_proj")?, part("k_proj")?, part("v_proj")?);
                Ok(Layer {
                    norm1: Norm::load(vb.pp("layer_norm1"), width, EPS)?,
                    qkv: Linear::new(
                        Tensor::cat(&[&q.0, &k.0, &v.0], 0)?,
                        Tensor::cat(&[&q.1, &k.1, &v.1], 0)?,
                    )?,
                    out: Linear::load(attn.pp("out_proj"), width, width)?,
                    norm2: Norm::load(vb.pp("layer_norm2"), width, EPS)?,
                    fc1: Linear::load(vb.pp("mlp.fc1"), width, inner)?,
                    fc2: Linear::load(vb.pp("mlp.fc2"), inner, width)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Stack {
            layers,
            width,
            heads,
            mask,
            workspace: Mutex::default(),
        })
    }

    /// Every layer over the first `tokens` rows of `ws.x`, in place.
    fn forward(
        &self,
        ws: &mut Workspace,
        tokens: usize,
        spans: &[Range<usize>],
    ) -> candle_core::Result<()> {
        let w = self.width;
        let none = |_: usize, _: usize| Vec::new();
        for layer in &self.layers {
            let x = first(&mut ws.x, tokens * w);
            let h = first(&mut ws.attended, tokens * w);
            packed::norm_into(x, h, &layer.norm1);
            let qkv = first(&mut ws.qkv, tokens * 3 * w);
            product_into(h, &layer.qkv.weight_t, qkv)?;
            let context = first(&mut ws.context, tokens * w);
            let bias = &layer.qkv.bias.host;
            packed::attention(qkv, bias, &none, self.mask, spans, w, self.heads, context);
            product_into(context, &layer.out.weight_t, h)?;
            packed::add_residual(x, h, &layer.out.bias.host);
            packed::norm_into(x, h, &layer.norm2);
            let up = first(&mut ws.up, tokens * layer.fc1.bias.host.len());
            product_into(h, &layer.fc1.weight_t, up)?;
            packed::activate(up, &layer.fc1.bias.host, Activation::QuickGelu);
            product_into(up, &layer.fc2.weight_t, h)?;
            packed::add_residual(x, h, &layer.fc2.bias.host);
        }
        Ok(())
    }

    /// Runs `f` with the stack's buffers (a second caller meanwhile gets its own).
    fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        let mut shared = self.workspace.try_lock();
        let mut own = Workspace::default();
        f(shared.as_deref_mut().unwrap_or(&mut own))
    }
}

/// `rows` (`n × width`, `final_norm` applied here) projected by `projection_t`
/// (`width × dim`) and scaled to unit length.
fn project(
    mut rows: Vec<f32>,
    final_norm: &Norm,
    projection_t: &Tensor,
) -> candle_core::Result<Vec<Vec<f32>>> {
    packed::norm(&mut rows, &[], &[], final_norm);
    let (width, dim) = projection_t.dims2()?;
    let mut out = vec![0f32; rows.len() / width * dim];
    product_into(&rows, projection_t, &mut out)?;
    Ok(out
        .chunks_exact(dim)
        .map(|v| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter().map(|x| x / norm).collect()
        })
        .collect())
}

fn transposed(t: Tensor) -> candle_core::Result<Tensor> {
    t.t()?.contiguous()
}

/// Both towers, loaded for the CPU.
#[derive(Debug)]
pub(super) struct Towers {
    token: Tensor,
    text_position: Tensor,
    text: Stack,
    final_norm: Norm,
    text_projection_t: Tensor,
    /// The patch convolution as a matrix (`channels·patch² × width`).
    patch_t: Tensor,
    class: Vec<f32>,
    vision_position: Tensor,
    pre_norm: Norm,
    vision: Stack,
    post_norm: Norm,
    visual_projection_t: Tensor,
    patch: usize,
    image_size: usize,
    channels: usize,
}

impl Towers {
    /// `None` where the packed kernels cannot run the shapes (heads not a multiple of
    /// 8 wide): candle-transformers' CLIP runs those.
    pub(super) fn load(vb: &VarBuilder, config: &Config) -> candle_core::Result<Option<Towers>> {
        let (t, v, dim) = (&config.text, &config.vision, config.projection_dim);
        let fits = |width: usize, heads: usize| {
            heads > 0 && width.is_multiple_of(heads) && (width / heads).is_multiple_of(8)
        };
        if !fits(t.embed_dim, t.num_attention_heads) || !fits(v.embed_dim, v.num_attention_heads) {
            return Ok(None);
        }
        let (tv, vv) = (vb.pp("text_model"), vb.pp("vision_model"));
        let (tw, vw) = (t.embed_dim, v.embed_dim);
        let (p, c) = (v.patch_size, v.num_channels);
        let patches = (v.image_size / p).pow(2);
        Ok(Some(Towers {
            token: tv.get((t.vocab_size, tw), "embeddings.token_embedding.weight")?,
            text_position: tv.get(
                (t.max_position_embeddings, tw),
                "embeddings.position_embedding.weight",
            )?,
            text: Stack::load(
                tv.pp("encoder"),
                t.num_hidden_layers,
                (tw, t.num_attention_heads, t.intermediate_size),
                Mask::Causal,
            )?,
            final_norm: Norm::load(tv.pp("final_layer_norm"), tw, EPS)?,
            text_projection_t: transposed(vb.get((dim, tw), "text_projection.weight")?)?,
            patch_t: transposed(
                vv.get((vw, c, p, p), "embeddings.patch_embedding.weight")?
                    .reshape((vw, c * p * p))?,
            )?,
            class: vv.get(vw, "embeddings.class_embedding")?.to_vec1()?,
            vision_position: vv.get((patches + 1, vw), "embeddings.position_embedding.weight")?,
            pre_norm: Norm::load(vv.pp("pre_layrnorm"), vw, EPS)?,
            vision: Stack::load(
                vv.pp("encoder"),
                v.num_hidden_layers,
                (vw, v.num_attention_heads, v.intermediate_size),
                Mask::None,
            )?,
            post_norm: Norm::load(vv.pp("post_layernorm"), vw, EPS)?,
            visual_projection_t: transposed(vb.get((dim, vw), "visual_projection.weight")?)?,
            patch: p,
            image_size: v.image_size,
            channels: c,
        }))
    }

    /// Token id rows (each with an end token, or cut at the last token) to unit
    /// vectors.
    pub(super) fn encode_ids(&self, rows: &[&Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let w = self.text.width;
        let (vocab, positions) = (self.token.dim(0)?, self.text_position.dim(0)?);
        let mut spans = Vec::with_capacity(rows.len());
        let mut ids: Vec<u32> = Vec::new();
        for row in rows {
            let end = row.iter().position(|&t| t == bpe::END_ID);
            let len = end.map_or(row.len(), |e| e + 1);
            if len == 0 || len > positions {
                candle_core::bail!("{len} tokens: the text tower reads 1 to {positions}");
            }
            if let Some(&id) = row[..len].iter().find(|&&id| id as usize >= vocab) {
                candle_core::bail!("token id {id} is outside the vocabulary of {vocab}");
            }
            spans.push(ids.len()..ids.len() + len);
            ids.extend_from_slice(&row[..len]);
        }
        let pooled = self.text.with_workspace(|ws| {
            let x = first(&mut ws.x, ids.len() * w);
            with_f32(&self.token, |token| {
                with_f32(&self.text_position, |position| {
                    for span in &spans {
                        let rows = x[span.start * w..span.end * w].chunks_exact_mut(w);
                        for (p, row) in rows.enumerate() {
                            let id = ids[span.start + p] as usize;
                            let pairs = token[id * w..][..w].iter().zip(&position[p * w..][..w]);
                            for (v, (a, b)) in row.iter_mut().zip(pairs) {
                                *v = a + b;
                            }
                        }
                    }
                })
            })??;
            self.text.forward(ws, ids.len(), &spans)?;
            let last = spans.iter().flat_map(|s| &ws.x[(s.end - 1) * w..s.end * w]);
            candle_core::Result::Ok(last.copied().collect::<Vec<f32>>())
        })?;
        project(pooled, &self.final_norm, &self.text_projection_t)
    }

    /// Preprocessed images (`channels × size × size` each) to unit vectors.
    pub(super) fn encode_pixels(&self, images: &[Vec<f32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let (s, p, c, w) = (
            self.image_size,
            self.patch,
            self.channels,
            self.vision.width,
        );
        if let Some(bad) = images.iter().find(|i| i.len() != c * s * s) {
            candle_core::bail!("{} pixel values, not {c}×{s}×{s}", bad.len());
        }
        let (grid, cpp) = (s / p, c * p * p);
        let (patches, seq) = (grid * grid, grid * grid + 1);
        // Each patch flattened as the convolution's weight is (channel, row, column).
        let mut columns = vec![0f32; images.len() * patches * cpp];
        columns
            .par_chunks_mut(patches * cpp)
            .zip(images)
            .for_each(|(out, image)| {
                for (k, patch) in out.chunks_exact_mut(cpp).enumerate() {
                    let (gy, gx) = (k / grid, k % grid);
                    for (r, dst) in patch.chunks_exact_mut(p).enumerate() {
                        let (ch, ky) = (r / p, r % p);
                        let from = ch * s * s + (gy * p + ky) * s + gx * p;
                        dst.copy_from_slice(&image[from..from + p]);
                    }
                }
            });
        let mut embedded = vec![0f32; images.len() * patches * w];
        product_into(&columns, &self.patch_t, &mut embedded)?;
        drop(columns);
        let spans: Vec<Range<usize>> = (0..images.len()).map(|i| i * seq..(i + 1) * seq).collect();
        let tokens = images.len() * seq;
        let pooled = self.vision.with_workspace(|ws| {
            let x = first(&mut ws.x, tokens * w);
            with_f32(&self.vision_position, |position| {
                x.par_chunks_mut(seq * w)
                    .zip(embedded.par_chunks(patches * w))
                    .for_each(|(x, patches)| {
                        let sources =
                            std::iter::once(self.class.as_slice()).chain(patches.chunks_exact(w));
                        let rows = x.chunks_exact_mut(w).zip(position.chunks_exact(w));
                        for ((row, pos), from) in rows.zip(sources) {
                            for ((v, a), b) in row.iter_mut().zip(from).zip(pos) {
                                *v = a + b;
                            }
                        }
                    })
            })?;
            packed::norm(x, &[], &[], &self.pre_norm);
            self.vision.forward(ws, tokens, &spans)?;
            let class = spans
                .iter()
                .flat_map(|s| &ws.x[s.start * w..(s.start + 1) * w]);
            candle_core::Result::Ok(class.copied().collect::<Vec<f32>>())
        })?;
        project(pooled, &self.post_norm, &self.visual_projection_t)
    }
}
