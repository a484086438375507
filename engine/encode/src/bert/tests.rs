//! The packed forward (CPU kernels and the candle-operations path) against
//! candle-transformers' BERT, which pads the batch and masks the pads, on random
//! weights: every real token's hidden state must agree.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::BertModel;

use super::{Bert, Config, Sequence};
use crate::{largest_difference, synthetic};

/// A small BERT: MiniLM's settings at toy sizes.
fn config() -> Config {
    Config {
        vocab_size: 50,
        hidden_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 3,
        intermediate_size: 40,
        max_position_embeddings: 40,
        ..synthetic::minilm_config()
    }
}

/// The same model as candle-transformers configures it.
fn candle_config(c: &Config) -> candle_transformers::models::bert::Config {
    candle_transformers::models::bert::Config {
        vocab_size: c.vocab_size,
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        num_attention_heads: c.num_attention_heads,
        intermediate_size: c.intermediate_size,
        max_position_embeddings: c.max_position_embeddings,
        type_vocab_size: c.type_vocab_size,
        layer_norm_eps: c.layer_norm_eps,
        ..Default::default()
    }
}

fn random_weights(c: &Config) -> HashMap<String, Tensor> {
    synthetic::bert_weights(c, 0)
}

fn tokens(lens: &[usize]) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    synthetic::token_ids(lens, 50)
}

fn sequences<'a>(ids: &'a [Vec<u32>], types: &'a [Vec<u32>]) -> Vec<Sequence<'a>> {
    ids.iter()
        .zip(types)
        .map(|(i, t)| Sequence {
            ids: i,
            type_ids: t,
        })
        .collect()
}

#[test]
fn packed_forward_matches_the_padded_reference() {
    let c = config();
    let weights = random_weights(&c);
    let vb = || VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
    let reference = BertModel::load(vb(), &candle_config(&c)).unwrap();
    let fast = Bert::load(vb(), &c).unwrap();
    let generic = Bert::load(vb(), &c).unwrap().with_generic_ops();

    let lens = [7usize, 1, 33, 12];
    let (ids, types) = tokens(&lens);
    let batch = sequences(&ids, &types);

    // The reference: padded to the longest, masked.
    let longest = *lens.iter().max().unwrap();
    let pad = |rows: &[Vec<u32>]| {
        let flat: Vec<u32> = rows
            .iter()
            .flat_map(|r| {
                r.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, longest - r.len()))
            })
            .collect();
        Tensor::from_vec(flat, (rows.len(), longest), &Device::Cpu).unwrap()
    };
    let mask: Vec<Vec<u32>> = lens.iter().map(|&n| vec![1; n]).collect();
    let want = reference
        .forward(&pad(&ids), &pad(&types), Some(&pad(&mask)))
        .unwrap();

    for (name, model) in [("cpu kernels", &fast), ("candle ops", &generic)] {
        let got = model.forward(&batch).unwrap();
        let states = got.states.to_vec2::<f32>().unwrap();
        let mut worst = 0f32;
        for (s, span) in got.spans.iter().enumerate() {
            assert_eq!(span.len(), lens[s]);
            let expected = want.get(s).unwrap().to_vec2::<f32>().unwrap();
            for (t, row) in states[span.clone()].iter().enumerate() {
                for (a, b) in row.iter().zip(&expected[t]) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        assert!(worst < 1e-4, "{name}: largest difference {worst}");
    }

    // The CPU path keeps its buffers between batches: a larger batch, then a smaller
    // one, leave nothing behind that changes the next answer.
    let first = fast.forward(&batch).unwrap().states;
    let (big_ids, big_types) = tokens(&[40, 40, 40, 40, 40]);
    fast.forward(&sequences(&big_ids, &big_types)).unwrap();
    fast.forward(&batch[1..2]).unwrap();
    let again = fast.forward(&batch).unwrap().states;
    assert_eq!(largest_difference(&first, &again), 0.0);
}

#[test]
fn refuses_what_it_would_run_wrong() {
    let mut c = config();
    let weights = random_weights(&c);
    let vb = || VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu);
    let model = Bert::load(vb(), &c).unwrap();
    let long: Vec<u32> = vec![1; 41];
    let err = model
        .forward(&[Sequence {
            ids: &long,
            type_ids: &long,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("41 tokens"), "{err}");
    assert!(model.forward(&[]).is_err());
    // Ids past the vocabulary (50) or the token types (2): an error, not a panic.
    for (ids, types, says) in [
        (vec![1, 50], vec![0, 0], "vocabulary"),
        (vec![1, 2], vec![0, 2], "token type"),
    ] {
        let err = model
            .forward(&[Sequence {
                ids: &ids,
                type_ids: &types,
            }])
            .unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    c.hidden_act = "relu".into();
    assert!(Bert::load(vb(), &c).is_err());
}

/// MPNet (no candle-transformers reference): the CPU kernels agree with the
/// candle-operations path, and the relative bias changes the answer (so it is applied
/// on both); the bucket function matches transformers' at known offsets.
#[test]
fn mpnet_kernels_match_candle_operations() {
    let mut c = config();
    c.model_type = Some("mpnet".into());
    c.type_vocab_size = 0;
    c.pad_token_id = 1;
    c.relative_attention_num_buckets = Some(32);
    let mut weights = random_weights(&c);
    weights.remove("embeddings.token_type_embeddings.weight");
    for l in 0..c.num_hidden_layers {
        for (from, to) in [
            ("self.query", "attn.q"),
            ("self.key", "attn.k"),
            ("self.value", "attn.v"),
            ("output.dense", "attn.o"),
            ("output.LayerNorm", "LayerNorm"),
        ] {
            for part in ["weight", "bias"] {
                let t = weights
                    .remove(&format!("encoder.layer.{l}.attention.{from}.{part}"))
                    .unwrap();
                weights.insert(format!("encoder.layer.{l}.attention.{to}.{part}"), t);
            }
        }
    }
    let table: Vec<f32> = (0..32 * 3).map(|i| (i as f32 * 0.7).sin() * 2.0).collect();
    let relative = Tensor::from_vec(table, (32, 3), &Device::Cpu).unwrap();
    weights.insert("encoder.relative_attention_bias.weight".into(), relative);
    let vb =
        |w: &HashMap<String, Tensor>| VarBuilder::from_tensors(w.clone(), DType::F32, &Device::Cpu);
    let fast = Bert::load(vb(&weights), &c).unwrap();
    let generic = Bert::load(vb(&weights), &c).unwrap().with_generic_ops();
    let (ids, types) = tokens(&[9, 38, 2]);
    let batch = sequences(&ids, &types);
    let (a, b) = (
        fast.forward(&batch).unwrap(),
        generic.forward(&batch).unwrap(),
    );
    let worst = largest_difference(&a.states, &b.states);
    assert!(worst < 1e-4, "largest difference {worst}");
    // 38 tokens: the positions 2..40 fill the 40 embeddings; one more is refused.
    let long = vec![3u32; 39];
    assert!(
        fast.forward(&[Sequence {
            ids: &long,
            type_ids: &long
        }])
        .is_err()
    );

    let zero = vec![0f32; 32 * 3];
    weights.insert(
        "encoder.relative_attention_bias.weight".into(),
        Tensor::from_vec(zero, (32, 3), &Device::Cpu).unwrap(),
    );
    let unbiased = Bert::load(vb(&weights), &c)
        .unwrap()
        .forward(&batch)
        .unwrap();
    assert!(largest_difference(&a.states, &unbiased.states) > 1e-2);

    // transformers' relative_position_bucket(key − query) for 32 buckets, max 128.
    let buckets: Vec<f32> = (0..32).map(|b| b as f32).collect();
    let bias = super::RelativeBias {
        table: buckets,
        buckets: 32,
    };
    let bucket = |offset: isize| bias.get(0, 1, offset) as usize;
    let expected = [
        (0, 0),
        (-1, 1),
        (-7, 7),
        (-8, 8),
        (-11, 8),
        (-12, 9),
        (-16, 10),
        (-45, 12),
        (-64, 14),
        (-127, 15),
        (-500, 15),
        (1, 17),
        (7, 23),
        (8, 24),
        (16, 26),
        (200, 31),
    ];
    for (offset, want) in expected {
        assert_eq!(bucket(offset), want, "offset {offset}");
    }
}
