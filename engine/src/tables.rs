//! The core's reports as result tables: what VERIFY and REPAIR print in the shell and
//! return to Python. Rendering lives here, beside the statements, so that the core
//! never depends on the statement layer's `Output`.

use quiver_storage::Value;

use crate::repair::RepairReport;
use crate::statements::Output;
use crate::verify::{Check, VerifyReport};

/// A report as a result table.
pub trait ToTable {
    fn table(&self) -> Output;
}

/// One row per check (collection, file, check, status, detail or problem), problems
/// first.
impl ToTable for VerifyReport {
    fn table(&self) -> Output {
        let mut checks: Vec<&Check> = self.checks.iter().collect();
        checks.sort_by_key(|c| c.problem.is_none());
        let text = |s: &str| Value::Text(s.to_string());
        Output::Rows {
            columns: ["collection", "file", "check", "status", "detail"]
                .map(String::from)
                .to_vec(),
            rows: checks
                .into_iter()
                .map(|c| {
                    vec![
                        c.collection.as_deref().map_or(Value::Null, text),
                        text(&c.file),
                        text(&c.what),
                        text(if c.problem.is_some() { "PROBLEM" } else { "ok" }),
                        text(c.problem.as_deref().unwrap_or(&c.detail)),
                    ]
                })
                .collect(),
        }
    }
}

/// One row per damaged segment (collection, file, problem, action, lost).
impl ToTable for RepairReport {
    fn table(&self) -> Output {
        let text = |s: String| Value::Text(s);
        Output::Rows {
            columns: ["collection", "file", "problem", "action", "lost"]
                .map(String::from)
                .to_vec(),
            rows: self
                .repairs
                .iter()
                .map(|r| {
                    let (action, lost) = r.outcome.describe();
                    vec![
                        text(r.collection.clone()),
                        text(r.file.clone()),
                        text(r.problem.clone()),
                        text(action),
                        text(lost),
                    ]
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The statement layer's modules; the core (every other file of this crate) must
    /// not name them, so that the layer can move to its own crate.
    const STATEMENT_LAYER: [&str; 9] = [
        "statements",
        "ranking",
        "explain",
        "sql_filter",
        "alter",
        "evaluate",
        "copy",
        "plot_style",
        "tables",
    ];

    fn core_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if STATEMENT_LAYER.contains(&stem.as_str()) || stem == "lib" {
                continue;
            }
            if path.is_dir() {
                core_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn the_core_does_not_import_the_statement_layer() {
        let mut files = Vec::new();
        core_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 20, "found only {} core files", files.len());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for module in STATEMENT_LAYER {
                for path in [format!("crate::{module}::"), format!("crate::{module}}}")] {
                    assert!(
                        !text.contains(&path),
                        "{} names {path}: the core must not use the statement layer",
                        file.display()
                    );
                }
            }
        }
    }
}
