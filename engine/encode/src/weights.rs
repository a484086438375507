//! The weight files of the built-in models: found in the models folder, or a typed
//! error that says how to get them.

use std::path::{Path, PathBuf};

use crate::{EncodeError, Result};

/// `dir/name`, checked to hold every file of `files`; else a `MissingWeights` error
/// that says how to fetch them.
pub(crate) fn model_files(dir: &Path, name: &str, files: &[&str]) -> Result<PathBuf> {
    found(dir.join(name), files, |dir| EncodeError::MissingWeights {
        model: name.to_string(),
        dir,
    })
}

/// `dir/folder`, checked to hold every file of `files`, for weights the user supplies
/// (no registry package ships them); else a `MissingUserWeights` error saying `how`.
pub(crate) fn user_model_files(
    dir: &Path,
    model: &str,
    folder: &str,
    files: &[&str],
    how: &str,
) -> Result<PathBuf> {
    found(dir.join(folder), files, |dir| {
        EncodeError::MissingUserWeights {
            model: model.to_string(),
            dir,
            how: how.to_string(),
        }
    })
}

fn found(
    folder: PathBuf,
    files: &[&str],
    missing: impl FnOnce(PathBuf) -> EncodeError,
) -> Result<PathBuf> {
    if files.iter().all(|f| folder.join(f).is_file()) {
        Ok(folder)
    } else {
        Err(missing(folder))
    }
}

/// The bytes of `path`, one of `model`'s files (a failure names both).
pub(crate) fn read_file(model: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| EncodeError::model(model, format!("{}: {e}", path.display())))
}
