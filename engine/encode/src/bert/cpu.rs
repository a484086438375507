//! BERT's forward on the CPU: the embeddings summed in one pass, then post-norm
//! layers (`LayerNorm(x + attention(x))`, `LayerNorm(x + ffn(x))`) of [`packed`]
//! passes around four matrix products each.

use std::ops::Range;

use candle_core::Tensor;
use rayon::prelude::*;

use super::{Bert, Layer};
use crate::matmul::{self, with_f32};
use crate::packed::{self, Activation, Mask, Workspace, first};

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
        packed::norm(x, &[], &[], &self.embedding_norm);
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
        let heads = self.heads;
        let relative = |head, len| match &self.relative {
            Some(r) => r.offsets(head, heads, len),
            None => Vec::new(),
        };
        let bias = &layer.qkv.bias.host;
        packed::attention(qkv, bias, &relative, Mask::None, spans, w, heads, context);
        let attended = first(&mut ws.attended, tokens * w);
        matmul::product_into(context, &layer.attention_out.weight_t, attended)?;
        let out_bias = &layer.attention_out.bias.host;
        packed::norm(attended, x, out_bias, &layer.attention_norm);
        let up = first(&mut ws.up, tokens * layer.up.bias.host.len());
        matmul::product_into(attended, &layer.up.weight_t, up)?;
        packed::activate(up, &layer.up.bias.host, Activation::Gelu);
        matmul::product_into(up, &layer.down.weight_t, x)?;
        packed::norm(x, attended, &layer.down.bias.host, &layer.out_norm);
        Ok(())
    }
}
