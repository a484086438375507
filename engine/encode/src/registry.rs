//! Encoders by name. Built-in encoders load on first use (weights from the models
//! folder); others can be registered. Loaded encoders are shared.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clip::{self, Clip};
use crate::effnet::{self, EfficientNetLite0};
use crate::sentence::{MINILM, MPNET, SentenceEncoder};
use crate::{EncodeError, Encoder, EncoderOptions, Result};

/// The built-in encoders' names.
pub const BUILT_IN: [&str; 4] = [MINILM.name, MPNET.name, effnet::NAME, clip::NAME];

/// Encoders by name.
#[derive(Debug)]
pub struct Registry {
    models: PathBuf,
    options: EncoderOptions,
    loaded: Mutex<BTreeMap<String, Arc<dyn Encoder>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(crate::models_dir(), EncoderOptions::default())
    }
}

impl Registry {
    /// Built-in encoders load from `models` with `options`.
    pub fn new(models: PathBuf, options: EncoderOptions) -> Registry {
        Registry {
            models,
            options,
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds (or replaces) an encoder under its own name.
    pub fn register(&self, encoder: Arc<dyn Encoder>) {
        let name = encoder.info().name.clone();
        self.loaded.lock().insert(name, encoder);
    }

    /// The encoder called `name`, loading a built-in one on first use.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Encoder>> {
        let mut loaded = self.loaded.lock();
        if let Some(e) = loaded.get(name) {
            return Ok(e.clone());
        }
        let encoder: Arc<dyn Encoder> = match name {
            n if n == MINILM.name => {
                Arc::new(SentenceEncoder::load(&self.models, &MINILM, &self.options)?)
            }
            n if n == MPNET.name => {
                Arc::new(SentenceEncoder::load(&self.models, &MPNET, &self.options)?)
            }
            clip::NAME => Arc::new(Clip::load(&self.models, &self.options)?),
            effnet::NAME => Arc::new(EfficientNetLite0::load(&self.models, &self.options)?),
            _ => {
                return Err(EncodeError::UnknownEncoder {
                    name: name.to_string(),
                    known: self.names().join(", "),
                });
            }
        };
        loaded.insert(name.to_string(), encoder.clone());
        Ok(encoder)
    }

    /// Every name `get` answers: the built-ins and the registered ones.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        if let Some(loaded) = self.loaded.try_lock() {
            names.extend(loaded.keys().cloned());
        }
        names.sort();
        names.dedup();
        names
    }
}
