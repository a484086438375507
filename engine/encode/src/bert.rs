//! The BERT encoder (the family of all-MiniLM-L6-v2, bge-small and most
//! sentence-transformers text models) and its MPNet variant (all-mpnet-base-v2: no
//! token types, positions counted from `pad_token_id + 1`, and a learned bias per
//! head on each bucket of relative position added to the attention scores), run over
//! *packed* sequences: the tokens of a
//! batch's texts are stacked into one `tokens × width` matrix with no padding, so no
//! work is spent on pad tokens and every linear layer is one large matrix product.
//!
//! On the CPU the layers run in [`cpu`] (fused passes over buffers the model keeps);
//! other devices (CUDA) run the same arithmetic as plain candle operations
//! ([`Bert::forward`] picks by device); a test checks both paths against
//! candle-transformers' padded BERT on random weights.

mod cpu;

use std::ops::Range;

use candle_core::Tensor;

use crate::packed::{Linear, Norm};
use candle_nn::VarBuilder;

/// The fields of a Hugging Face `config.json` that the forward needs.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    /// 0 for MPNet, which has no token types.
    #[serde(default)]
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    /// `bert` (also when absent) or `mpnet`.
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    /// MPNet's relative-position buckets (32).
    #[serde(default)]
    pub relative_attention_num_buckets: Option<usize>,
}

impl Config {
    fn is_mpnet(&self) -> bool {
        self.model_type.as_deref() == Some("mpnet")
    }
}

/// MPNet's relative-position bias: `buckets × heads` from the weights.
#[derive(Debug)]
struct RelativeBias {
    table: Vec<f32>,
    buckets: usize,
}

impl RelativeBias {
    /// The bias of `head` for key position − query position = `offset`
    /// (transformers' `MPNetEncoder.relative_position_bucket`, bidirectional, max
    /// distance 128, computed in f32 as PyTorch does).
    fn get(&self, head: usize, heads: usize, offset: isize) -> f32 {
        let half = self.buckets / 2;
        let n = -offset;
        let mut bucket = if n < 0 { half } else { 0 };
        let n = n.unsigned_abs();
        let exact = half / 2;
        bucket += if n < exact {
            n
        } else {
            let scaled = (n as f32 / exact as f32).ln() / (128.0 / exact as f32).ln()
                * (half - exact) as f32;
            (exact + scaled as usize).min(half - 1)
        };
        self.table[bucket * heads + head]
    }

    /// One head's bias for every offset of a sequence of `len` tokens, indexed by
    /// `offset + len − 1`.
    fn offsets(&self, head: usize, heads: usize, len: usize) -> Vec<f32> {
        (0..2 * len - 1)
            .map(|i| self.get(head, heads, i as isize - (len as isize - 1)))
            .collect()
    }
}

#[derive(Debug)]
struct Layer {
    /// Query, key and value in one product (`width → 3·width`).
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// A loaded BERT encoder (no pooler: callers pool the last hidden states).
#[derive(Debug)]
pub struct Bert {
    word: Tensor,
    position: Tensor,
    /// `None` for MPNet.
    token_type: Option<Tensor>,
    /// Position ids start here (MPNet: `pad_token_id + 1`; BERT: 0).
    first_position: usize,
    relative: Option<RelativeBias>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    width: usize,
    heads: usize,
    /// The longest sequence the position embeddings cover.
    max_tokens: usize,
    device: candle_core::Device,
    /// Run the candle-operations path on the CPU too (tests compare the two).
    generic: bool,
    /// The CPU path's activation buffers, kept between batches.
    workspace: parking_lot::Mutex<crate::packed::Workspace>,
}

/// The tokens of one text: ids and token type ids, `[CLS]`/`[SEP]` included.
#[derive(Clone, Copy, Debug)]
pub struct Sequence<'a> {
    pub ids: &'a [u32],
    pub type_ids: &'a [u32],
}

/// The last hidden states of a batch: `tokens × width`, sequence after sequence;
/// `spans[i]` are sequence `i`'s rows.
#[derive(Debug)]
pub struct Hidden {
    pub states: Tensor,
    pub spans: Vec<Range<usize>>,
}

impl Hidden {
    /// Each sequence's hidden states averaged over its tokens (all of them real: the
    /// batch is packed), then scaled to unit length (sentence-transformers' pooling).
    pub fn mean_pooled_normalized(&self) -> candle_core::Result<Tensor> {
        let means = self
            .spans
            .iter()
            .map(|s| self.states.narrow(0, s.start, s.len())?.mean_keepdim(0))
            .collect::<candle_core::Result<Vec<_>>>()?;
        crate::normalize_rows(&Tensor::cat(&means, 0)?)
    }
}

impl Bert {
    /// Loads the weights under `vb` (with or without a `bert.` prefix). Refuses what it
    /// would run wrong: an activation other than exact GELU, relative positions.
    pub fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Bert> {
        if config.hidden_act != "gelu" {
            candle_core::bail!(
                "hidden_act {:?}: only the exact `gelu` is supported",
                config.hidden_act
            );
        }
        if !matches!(
            config.position_embedding_type.as_deref(),
            None | Some("absolute")
        ) {
            candle_core::bail!("only absolute position embeddings are supported");
        }
        let (width, heads) = (config.hidden_size, config.num_attention_heads);
        if heads == 0 || width % heads != 0 || (width / heads) % 8 != 0 {
            candle_core::bail!(
                "hidden_size {width} over {heads} heads: heads must be a multiple of 8 wide"
            );
        }
        let mpnet = config.is_mpnet();
        let prefix = if mpnet { "mpnet" } else { "bert" };
        let vb = if vb.contains_tensor(&format!("{prefix}.embeddings.word_embeddings.weight")) {
            vb.pp(prefix)
        } else {
            vb
        };
        let emb = vb.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|i| load_layer(vb.pp(format!("encoder.layer.{i}")), config))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let (token_type, first_position, relative) = if mpnet {
            let buckets = config.relative_attention_num_buckets.unwrap_or(32);
            let table = vb
                .get((buckets, heads), "encoder.relative_attention_bias.weight")?
                .flatten_all()?
                .to_vec1()?;
            (
                None,
                config.pad_token_id + 1,
                Some(RelativeBias { table, buckets }),
            )
        } else {
            let types = (config.type_vocab_size, width);
            (
                Some(emb.get(types, "token_type_embeddings.weight")?),
                0,
                None,
            )
        };
        Ok(Bert {
            word: emb.get((config.vocab_size, width), "word_embeddings.weight")?,
            position: emb.get(
                (config.max_position_embeddings, width),
                "position_embeddings.weight",
            )?,
            token_type,
            first_position,
            relative,
            embedding_norm: Norm::load(emb.pp("LayerNorm"), width, config.layer_norm_eps)?,
            layers,
            width,
            heads,
            max_tokens: config
                .max_position_embeddings
                .saturating_sub(first_position),
            device: vb.device().clone(),
            generic: false,
            workspace: Default::default(),
        })
    }

    /// The model run with candle operations only, also on the CPU (for tests).
    pub fn with_generic_ops(mut self) -> Bert {
        self.generic = true;
        self
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The widest activation's floats per token (the feed-forward layer's).
    pub fn widest(&self) -> usize {
        let up = self.layers.first().map_or(0, |l| l.up.bias.host.len());
        up.max(3 * self.width)
    }

    /// The last hidden states of every token of `batch`.
    pub fn forward(&self, batch: &[Sequence]) -> candle_core::Result<Hidden> {
        let mut spans = Vec::with_capacity(batch.len());
        let (mut ids, mut types, mut positions) = (Vec::new(), Vec::new(), Vec::new());
        for s in batch {
            if s.ids.len() != s.type_ids.len() {
                candle_core::bail!("{} token ids, {} type ids", s.ids.len(), s.type_ids.len());
            }
            if s.ids.len() > self.max_tokens {
                candle_core::bail!(
                    "{} tokens, more than the model's {} positions",
                    s.ids.len(),
                    self.max_tokens
                );
            }
            spans.push(ids.len()..ids.len() + s.ids.len());
            ids.extend_from_slice(s.ids);
            types.extend_from_slice(s.type_ids);
            let first = self.first_position as u32;
            positions.extend(first..first + s.ids.len() as u32);
        }
        if ids.is_empty() {
            candle_core::bail!("no tokens to encode");
        }
        let states = if self.device.is_cpu() && !self.generic {
            let states = self.forward_on_cpu(&ids, &types, &positions, &spans)?;
            Tensor::from_vec(states, (ids.len(), self.width), &self.device)?
        } else {
            self.forward_generic(ids, types, positions, &spans)?
        };
        Ok(Hidden { states, spans })
    }

    fn forward_generic(
        &self,
        ids: Vec<u32>,
        types: Vec<u32>,
        positions: Vec<u32>,
        spans: &[Range<usize>],
    ) -> candle_core::Result<Tensor> {
        let tensor = |v: Vec<u32>| Tensor::new(v, &self.device);
        let mut embedded = self.word.index_select(&tensor(ids)?, 0)?;
        if let Some(token_type) = &self.token_type {
            embedded = (embedded + token_type.index_select(&tensor(types)?, 0)?)?;
        }
        let embedded = embedded.add(&self.position.index_select(&tensor(positions)?, 0)?)?;
        let mut x = generic_norm(&embedded, &self.embedding_norm)?;
        for layer in &self.layers {
            x = self.layer_generic(layer, &x, spans)?;
        }
        Ok(x)
    }

    fn layer_generic(
        &self,
        layer: &Layer,
        x: &Tensor,
        spans: &[Range<usize>],
    ) -> candle_core::Result<Tensor> {
        let (width, heads) = (self.width, self.heads);
        let d = width / heads;
        let qkv = layer.qkv.forward(x)?;
        let mut contexts = Vec::with_capacity(spans.len());
        for span in spans {
            let len = span.len();
            // (len, 3·width) → (3, heads, len, d)
            let s = qkv
                .narrow(0, span.start, len)?
                .reshape((len, 3, heads, d))?
                .permute((1, 2, 0, 3))?;
            let (q, k, v) = (s.get(0)?, s.get(1)?, s.get(2)?);
            let mut scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
            if let Some(relative) = &self.relative {
                let bias: Vec<f32> = (0..heads)
                    .flat_map(|h| {
                        let offsets = relative.offsets(h, heads, len);
                        (0..len * len).map(move |i| offsets[i % len + len - 1 - i / len])
                    })
                    .collect();
                scores = (scores + Tensor::from_vec(bias, (heads, len, len), x.device())?)?;
            }
            let p = candle_nn::ops::softmax_last_dim(&scores)?;
            let c = p.matmul(&v.contiguous()?)?; // (heads, len, d)
            contexts.push(c.transpose(0, 1)?.reshape((len, width))?);
        }
        let context = Tensor::cat(&contexts, 0)?;
        let attended = generic_norm(
            &(layer.attention_out.forward(&context)? + x)?,
            &layer.attention_norm,
        )?;
        let up = layer.up.forward(&attended)?.gelu_erf()?;
        generic_norm(&(layer.down.forward(&up)? + &attended)?, &layer.out_norm)
    }
}

fn load_layer(vb: VarBuilder, config: &Config) -> candle_core::Result<Layer> {
    let (w, eps) = (config.hidden_size, config.layer_norm_eps);
    let att = vb.pp("attention");
    // BERT: attention.self.{query,key,value}, attention.output.{dense,LayerNorm};
    // MPNet: attention.attn.{q,k,v,o}, attention.LayerNorm.
    let (names, out, norm) = if config.is_mpnet() {
        (["attn.q", "attn.k", "attn.v"], "attn.o", "LayerNorm")
    } else {
        let names = ["self.query", "self.key", "self.value"];
        (names, "output.dense", "output.LayerNorm")
    };
    let part = |name: &str| -> candle_core::Result<(Tensor, Tensor)> {
        let p = att.pp(name);
        Ok((p.get((w, w), "weight")?, p.get(w, "bias")?))
    };
    let (q, k, v) = (part(names[0])?, part(names[1])?, part(names[2])?);
    Ok(Layer {
        qkv: Linear::new(
            Tensor::cat(&[&q.0, &k.0, &v.0], 0)?,
            Tensor::cat(&[&q.1, &k.1, &v.1], 0)?,
        )?,
        attention_out: Linear::load(att.pp(out), w, w)?,
        attention_norm: Norm::load(att.pp(norm), w, eps)?,
        up: Linear::load(vb.pp("intermediate.dense"), w, config.intermediate_size)?,
        down: Linear::load(vb.pp("output.dense"), config.intermediate_size, w)?,
        out_norm: Norm::load(vb.pp("output.LayerNorm"), w, eps)?,
    })
}

fn generic_norm(x: &Tensor, norm: &Norm) -> candle_core::Result<Tensor> {
    candle_nn::ops::layer_norm(x, &norm.gamma.tensor, &norm.beta.tensor, norm.eps)
}

#[cfg(test)]
mod tests;
