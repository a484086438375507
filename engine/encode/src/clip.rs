//! CLIP (the ViT-B/32 layout of openai/clip-vit-base-patch32, or any Hugging Face
//! `CLIPModel` folder candle's CLIP can run): one encoder that reads text AND images
//! into one vector space, so a text query finds images.
//!
//! - Text: CLIP's BPE ([`bpe`]), the text transformer (causal attention), its final
//!   hidden state at the first end token, `text_projection`, L2 normalisation
//!   (transformers' `get_text_features`).
//! - Images: CLIP's preprocessing ([`preprocess`]), the vision transformer's pooled
//!   (class token, post layer norm) output, `visual_projection`, L2 normalisation
//!   (`get_image_features`).
//!
//! No registry package ships CLIP's weights: the user puts the folder (config.json,
//! model.safetensors) in `$QUIVER_MODELS/clip-vit-b-32/`. The merges come from
//! `scripts/fetch-models` (`clip-bpe/`); each is found, or reported missing, on its own.

pub mod bpe;
mod config;
mod cpu;
pub mod preprocess;

use std::path::Path;

use candle_core::{DType, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::clip::text_model::ClipTextTransformer;
use candle_transformers::models::clip::vision_model::ClipVisionTransformer;
use sha2::{Digest, Sha256};

pub use bpe::ClipTokenizer;

use crate::weights::{read_file, user_model_files};
use crate::{
    EncodeError, Encoder, EncoderInfo, EncoderOptions, Modality, Result, load_each, longest_first,
    normalize_rows, pipelined,
};
use config::Config;

/// The registry name.
pub const NAME: &str = "clip";
/// The weights' folder under the models folder, supplied by the user.
pub const FOLDER: &str = "clip-vit-b-32";
/// What the weights' folder holds.
pub const FILES: [&str; 2] = ["config.json", "model.safetensors"];
const HOW: &str = "no registry package ships CLIP's weights, so put a Hugging Face CLIPModel folder there yourself: config.json and model.safetensors (e.g. those of openai/clip-vit-base-patch32), as $QUIVER_MODELS/clip-vit-b-32/ (QUIVER_MODELS defaults to ~/.cache/quiver/models)";
/// How much of model.safetensors the version fingerprint hashes (with its length).
const FINGERPRINT_BYTES: usize = 1 << 20;

/// The networks, as the device runs them.
enum Towers {
    /// The CPU: packed pre-norm layers ([`cpu`]).
    Packed(Box<cpu::Towers>),
    /// Other devices (and head shapes the packed kernels do not take):
    /// candle-transformers' CLIP.
    Candle(Box<CandleTowers>),
}

struct CandleTowers {
    text: ClipTextTransformer,
    text_projection: Linear,
    vision: ClipVisionTransformer,
    visual_projection: Linear,
}

/// The loaded model.
pub struct Clip {
    towers: Towers,
    tokenizer: ClipTokenizer,
    image_size: usize,
    device: candle_core::Device,
    batch_size: usize,
    info: EncoderInfo,
}

impl std::fmt::Debug for Clip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clip").field("info", &self.info).finish()
    }
}

impl Clip {
    /// Loads the weights from `models/clip-vit-b-32/` and the merges from
    /// `models/clip-bpe/`.
    pub fn load(models: &Path, options: &EncoderOptions) -> Result<Clip> {
        let folder = user_model_files(models, NAME, FOLDER, &FILES, HOW)?;
        let tokenizer = ClipTokenizer::load(models)?;
        Clip::from_folder(&folder, tokenizer, options)
    }

    /// Loads a `CLIPModel` folder (config.json, model.safetensors in f32, f16 or bf16;
    /// computed in f32) with `tokenizer`.
    pub fn from_folder(
        folder: &Path,
        tokenizer: ClipTokenizer,
        options: &EncoderOptions,
    ) -> Result<Clip> {
        Clip::from_folder_with(folder, tokenizer, options, false)
    }

    /// [`Clip::from_folder`] run by candle-transformers' CLIP on every device, also
    /// the CPU (tests compare the two).
    pub fn from_folder_with_candle_ops(
        folder: &Path,
        tokenizer: ClipTokenizer,
        options: &EncoderOptions,
    ) -> Result<Clip> {
        Clip::from_folder_with(folder, tokenizer, options, true)
    }

    fn from_folder_with(
        folder: &Path,
        tokenizer: ClipTokenizer,
        options: &EncoderOptions,
        candle_ops: bool,
    ) -> Result<Clip> {
        let label = folder.file_name().map_or_else(
            || folder.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let failed = |e: &dyn std::fmt::Display| EncodeError::model(&label, e);
        let config = Config::parse(&read_file(&label, &folder.join("config.json"))?)
            .map_err(|e| failed(&format!("config.json: {e}")))?;
        let weights = read_file(&label, &folder.join("model.safetensors"))?;
        let version = fingerprint(&weights);
        let device = options.device.candle()?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| failed(&e))?;
        // candle draws a random class embedding when the tensor is absent: refuse
        // instead, or vectors would change from one load to the next.
        if !vb.contains_tensor("vision_model.embeddings.class_embedding") {
            return Err(failed(
                &"model.safetensors has no vision_model.embeddings.class_embedding",
            ));
        }
        let (t, v, dim) = (&config.text, &config.vision, config.projection_dim);
        let load = || -> candle_core::Result<Towers> {
            let packed = match device.is_cpu() && !candle_ops {
                true => cpu::Towers::load(&vb, &config)?,
                false => None,
            };
            if let Some(towers) = packed {
                return Ok(Towers::Packed(Box::new(towers)));
            }
            Ok(Towers::Candle(Box::new(CandleTowers {
                text: ClipTextTransformer::new(vb.pp("text_model"), t)?,
                text_projection: candle_nn::linear_no_bias(
                    t.embed_dim,
                    dim,
                    vb.pp("text_projection"),
                )?,
                vision: ClipVisionTransformer::new(vb.pp("vision_model"), v)?,
                visual_projection: candle_nn::linear_no_bias(
                    v.embed_dim,
                    dim,
                    vb.pp("visual_projection"),
                )?,
            })))
        };
        let towers = load().map_err(|e| failed(&e))?;
        let model = config
            .name
            .clone()
            .unwrap_or_else(|| "CLIPModel (ViT-B/32 layout)".into());
        let size = v.image_size;
        Ok(Clip {
            towers,
            tokenizer,
            image_size: size,
            device,
            batch_size: options.batch_size.max(1),
            info: EncoderInfo {
                name: NAME.into(),
                model_id: format!("{model} ({label})"),
                version,
                modality: Modality::TextAndImage,
                dim,
                preprocessing: format!(
                    "text: CLIP BPE (NFC, lowercase), at most {} tokens, end-token state; images: RGB, shortest side to {size} (PIL bicubic), centre crop {size}x{size}, CLIP mean/std; projected to {dim}, L2 normalised",
                    bpe::MAX_TOKENS
                ),
            },
        })
    }

    /// The tokenizer (CLIP's BPE).
    pub fn tokenizer(&self) -> &ClipTokenizer {
        &self.tokenizer
    }

    fn failed(&self, e: impl std::fmt::Display) -> EncodeError {
        EncodeError::model(&self.info.model_id, e)
    }

    /// Token id rows (each ending in the end token) to unit vectors.
    fn encode_ids(&self, rows: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let (text, text_projection) = match &self.towers {
            Towers::Packed(towers) => {
                return towers.encode_ids(rows).map_err(|e| self.failed(e));
            }
            Towers::Candle(c) => (&c.text, &c.text_projection),
        };
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut at = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            // Padding goes after the end token, which causal attention never lets it
            // reach; the output is read at the first end token (as transformers does,
            // whether its config's eos_token_id is the legacy 2 or 49407).
            let end = row.iter().position(|&t| t == bpe::END_ID);
            at.push((i * len + end.unwrap_or(row.len().saturating_sub(1))) as u32);
            ids.extend_from_slice(row);
            ids.resize((i + 1) * len, bpe::END_ID);
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (rows.len(), len), &self.device)?;
            let hidden = text.forward_with_mask(&ids, usize::MAX)?;
            let (n, l, d) = hidden.dims3()?;
            let at = Tensor::from_vec(at, rows.len(), &self.device)?;
            let pooled = hidden.reshape((n * l, d))?.index_select(&at, 0)?;
            normalize_rows(&text_projection.forward(&pooled)?)?.to_vec2()
        };
        run().map_err(|e| self.failed(e))
    }

    fn encode_pixels(&self, images: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
        let (vision, visual_projection) = match &self.towers {
            Towers::Packed(towers) => {
                return towers.encode_pixels(&images).map_err(|e| self.failed(e));
            }
            Towers::Candle(c) => (&c.vision, &c.visual_projection),
        };
        let (n, s) = (images.len(), self.image_size);
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let pixels = Tensor::from_vec(images.concat(), (n, 3, s, s), &self.device)?;
            let pooled = vision.forward(&pixels)?;
            normalize_rows(&visual_projection.forward(&pooled)?)?.to_vec2()
        };
        run().map_err(|e| self.failed(e))
    }
}

/// The weights' version: 16 hex digits of the SHA-256 of model.safetensors' first MiB
/// and its length (cheap, and different for different weights in practice: the first
/// MiB holds the header and the first tensors' values).
fn fingerprint(weights: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(&weights[..weights.len().min(FINGERPRINT_BYTES)]);
    hash.update((weights.len() as u64).to_le_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-1mib:{hex}")
}

impl Encoder for Clip {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    /// Batches are formed longest text first; the vectors come back in input order.
    fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let ids = self.tokenizer.encode(texts)?;
        longest_first(&ids, self.batch_size, usize::MAX, Vec::len, |batch| {
            self.encode_ids(batch)
        })
    }

    /// A missing file or one that is not a PNG/JPEG image is `BadInput` naming it.
    fn encode_images(&self, paths: &[&Path]) -> Result<Vec<Vec<f32>>> {
        pipelined(
            paths,
            self.batch_size,
            |batch| load_each(batch, |p| preprocess::load(p, self.image_size)),
            |pixels| self.encode_pixels(pixels),
        )
    }
}
