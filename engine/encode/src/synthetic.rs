//! Deterministic random weights in the layouts of the real models, for checks that
//! must run where the real weights are not: the forward tests, and `gpu_check` (the
//! CPU-vs-CUDA parity and speed check copied to a GPU machine with no network).
//!
//! Values are uniform around a mean with a spread scaled by `1/√fan_in`, so activations
//! keep a sane size through a full-depth network; batch-norm variances stay positive.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::bert::Config;

/// A linear congruential generator: the same weights on every run and machine.
#[derive(Debug)]
pub struct Lcg(pub u32);

impl Lcg {
    /// A uniform value in `[-0.5, 0.5)`.
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    }

    /// A tensor of `shape` with values uniform in `mean ± spread/2`.
    pub fn tensor(&mut self, shape: &[usize], mean: f32, spread: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| mean + spread * self.next()).collect();
        Tensor::from_vec(values, shape, &Device::Cpu).expect("length matches the shape")
    }

    /// `rows × fan_in` weights whose products keep their inputs' scale.
    fn matrix(&mut self, shape: &[usize], fan_in: usize) -> Tensor {
        self.tensor(shape, 0.0, 4.0 / (fan_in.max(1) as f32).sqrt())
    }

    fn norm(&mut self, m: &mut HashMap<String, Tensor>, prefix: &str, width: usize) {
        m.insert(format!("{prefix}.weight"), self.tensor(&[width], 1.0, 0.4));
        m.insert(format!("{prefix}.bias"), self.tensor(&[width], 0.0, 0.4));
    }
}

/// all-MiniLM-L6-v2's configuration (its `config.json`'s fields that the forward reads).
pub fn minilm_config() -> Config {
    Config {
        vocab_size: 30522,
        hidden_size: 384,
        num_hidden_layers: 6,
        num_attention_heads: 12,
        intermediate_size: 1536,
        hidden_act: "gelu".into(),
        max_position_embeddings: 512,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        model_type: None,
        position_embedding_type: None,
        relative_attention_num_buckets: None,
    }
}

/// Random weights for a BERT of `c`'s shapes, by Hugging Face's names (no `bert.`
/// prefix), for [`crate::bert::Bert::load`].
pub fn bert_weights(c: &Config, seed: u32) -> HashMap<String, Tensor> {
    let mut rng = Lcg(seed);
    let (w, i) = (c.hidden_size, c.intermediate_size);
    let mut m = HashMap::new();
    let e = "embeddings";
    let tables = [
        ("word_embeddings", c.vocab_size, 2.0),
        ("position_embeddings", c.max_position_embeddings, 1.0),
        ("token_type_embeddings", c.type_vocab_size.max(2), 1.0),
    ];
    for (name, rows, spread) in tables {
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
                rng.matrix(&[rows, cols], cols),
            );
            m.insert(format!("{p}.{name}.bias"), rng.tensor(&[rows], 0.0, 0.4));
        }
        rng.norm(&mut m, &format!("{p}.attention.output.LayerNorm"), w);
        rng.norm(&mut m, &format!("{p}.output.LayerNorm"), w);
    }
    m
}

/// Token ids below `vocab` for texts of `lens` tokens, and type ids alternating 0, 1
/// (so both rows of a BERT's type table are read).
pub fn token_ids(lens: &[usize], vocab: usize) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let ids = lens
        .iter()
        .enumerate()
        .map(|(s, &n)| {
            (0..n)
                .map(|t| ((t * 7919 + s * 104_729) % vocab.max(1)) as u32)
                .collect()
        })
        .collect();
    let types = lens
        .iter()
        .map(|&n| (0..n).map(|t| (t % 2) as u32).collect())
        .collect();
    (ids, types)
}

/// Random weights for EfficientNet-Lite0, by the names and shapes of the state dict
/// the registry package ships (EfficientNet-PyTorch's), for
/// [`crate::effnet::EfficientNetLite0::from_state_dict`].
pub fn effnet_state_dict(seed: u32) -> HashMap<String, Tensor> {
    let mut rng = Lcg(seed);
    let mut m = HashMap::new();
    for (name, shape) in crate::effnet::state_dict_shapes() {
        let value = match name.rsplit('.').next() {
            Some("running_var") => rng.tensor(&shape, 1.0, 0.4),
            Some("weight") if shape.len() == 1 => rng.tensor(&shape, 1.0, 0.4),
            Some("weight") => {
                let fan_in = shape[1..].iter().product();
                rng.matrix(&shape, fan_in)
            }
            _ => rng.tensor(&shape, 0.0, 0.2),
        };
        m.insert(name, value);
    }
    m
}
