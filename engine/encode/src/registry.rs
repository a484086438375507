//! Encoders by name. Built-in encoders load on first use (weights from the models
//! folder); others can be registered. Loaded encoders are shared.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{EncodeError, Encoder, EncoderOptions, Result};

/// The built-in encoders' names (none without the `models` feature).
#[cfg(feature = "models")]
pub const BUILT_IN: [&str; 4] = [
    crate::sentence::MINILM.name,
    crate::sentence::MPNET.name,
    crate::effnet::NAME,
    crate::clip::NAME,
];
#[cfg(not(feature = "models"))]
pub const BUILT_IN: [&str; 0] = [];

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
        let Some(encoder) = self.load_built_in(name)? else {
            return Err(EncodeError::UnknownEncoder {
                name: name.to_string(),
                known: self.names().join(", "),
            });
        };
        loaded.insert(name.to_string(), encoder.clone());
        Ok(encoder)
    }

    /// The built-in encoder called `name` from the models folder (`None`: no such
    /// built-in).
    #[cfg(feature = "models")]
    fn load_built_in(&self, name: &str) -> Result<Option<Arc<dyn Encoder>>> {
        use crate::clip::{self, Clip};
        use crate::effnet::{self, EfficientNetLite0};
        use crate::sentence::{MINILM, MPNET, SentenceEncoder};
        let (models, options) = (&self.models, &self.options);
        Ok(Some(match name {
            n if n == MINILM.name => Arc::new(SentenceEncoder::load(models, &MINILM, options)?),
            n if n == MPNET.name => Arc::new(SentenceEncoder::load(models, &MPNET, options)?),
            clip::NAME => Arc::new(Clip::load(models, options)?),
            effnet::NAME => Arc::new(EfficientNetLite0::load(models, options)?),
            _ => return Ok(None),
        }))
    }

    /// Built without the models: only registered encoders exist.
    #[cfg(not(feature = "models"))]
    fn load_built_in(&self, _name: &str) -> Result<Option<Arc<dyn Encoder>>> {
        let _ = (&self.models, &self.options);
        Ok(None)
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
