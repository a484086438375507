//! The packed forward (CPU kernels and the candle-operations path) against
//! candle-transformers' BERT, which pads the batch and masks the pads, on random
//! weights: every real token's hidden state must agree.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::BertModel;

use super::{Bert, Config, Sequence};
use crate::largest_difference;

fn config() -> Config {
    Config {
        vocab_size: 50,
        hidden_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 3,
        intermediate_size: 40,
        hidden_act: "gelu".into(),
        max_position_embeddings: 40,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        model_type: None,
        position_embedding_type: None,
        relative_attention_num_buckets: None,
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

/// A linear congruential generator: the same random weights on every run.
struct Lcg(u32);

impl Lcg {
    fn tensor(&mut self, shape: &[usize], mean: f32, spread: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                mean + spread * ((self.0 >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    fn norm(&mut self, m: &mut HashMap<String, Tensor>, prefix: &str, width: usize) {
        m.insert(format!("{prefix}.weight"), self.tensor(&[width], 1.0, 0.4));
        m.insert(format!("{prefix}.bias"), self.tensor(&[width], 0.0, 0.4));
    }
}

fn random_weights(c: &Config) -> HashMap<String, Tensor> {
    let mut rng = Lcg(0);
    let (w, i) = (c.hidden_size, c.intermediate_size);
    let mut m = HashMap::new();
    let e = "embeddings";
    let shapes = [
        ("word_embeddings", c.vocab_size, 2.0),
        ("position_embeddings", c.max_position_embeddings, 1.0),
        ("token_type_embeddings", 2, 1.0),
    ];
    for (name, rows, spread) in shapes {
        m.insert(
            format!("{e}.{name}.weight"),
            rng.tensor(&[rows, w], 0.0, spread),
        );
    }
    rng.norm(&mut m, &format!("{e}.LayerNorm"), w);
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for (name, rows, cols) in [
            ("attention.self.query", w, w),
            ("attention.self.key", w, w),
            ("attention.self.value", w, w),
            ("attention.output.dense", w, w),
            ("intermediate.dense", i, w),
            ("output.dense", w, i),
        ] {
            m.insert(
                format!("{p}.{name}.weight"),
                rng.tensor(&[rows, cols], 0.0, 0.8),
            );
            m.insert(format!("{p}.{name}.bias"), rng.tensor(&[rows], 0.0, 0.4));
        }
        rng.norm(&mut m, &format!("{p}.attention.output.LayerNorm"), w);
        rng.norm(&mut m, &format!("{p}.output.LayerNorm"), w);
    }
    m
}

/// Token ids and type ids of sequences of `lens` tokens.
fn tokens(lens: &[usize]) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let ids = lens
        .iter()
        .enumerate()
        .map(|(s, &n)| (0..n).map(|t| ((t * 7 + s * 13) % 50) as u32).collect())
        .collect();
    let types = lens
        .iter()
        .map(|&n| (0..n).map(|t| (t % 2) as u32).collect())
        .collect();
    (ids, types)
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
