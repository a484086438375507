//! Encoder throughput: inputs per second through `quiver_encode` (on candle, CPU) at a
//! given batch size: texts from a file (one per line) or the image files of a folder
//! (decoding and resizing included, as in a real load). The Python references
//! (`scripts/encoders/bench_minilm.py`, `bench_effnet.py`) time the same inputs;
//! `scripts/encoders/bench_*.sh` run both in one go.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::encode::{EncoderOptions, Registry, models_dir};

/// What to encode.
#[derive(Clone, Copy, Debug)]
pub enum Inputs<'a> {
    /// A text file, one text per line.
    Texts(&'a Path),
    /// A folder of image files.
    Images(&'a Path),
}

/// Encodes every input `reps` times with encoder `name` (after one warm-up batch);
/// returns inputs per second over the timed passes.
pub fn inputs_per_second(name: &str, inputs: Inputs, batch: usize, reps: usize) -> Result<f64> {
    let options = EncoderOptions {
        batch_size: batch,
        ..EncoderOptions::default()
    };
    let registry = Registry::new(models_dir(), options);
    let model = registry.get(name)?;
    let reps = reps.max(1);
    match inputs {
        Inputs::Texts(file) => {
            let all = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let lines: Vec<&str> = all.lines().collect();
            model.encode_texts(&lines[..batch.min(lines.len())])?;
            let started = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(model.encode_texts(&lines)?);
            }
            Ok((lines.len() * reps) as f64 / started.elapsed().as_secs_f64())
        }
        Inputs::Images(folder) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
                .with_context(|| format!("reading {}", folder.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
            files.sort();
            let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
            model.encode_images(&paths[..batch.min(paths.len())])?;
            let started = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(model.encode_images(&paths)?);
            }
            Ok((paths.len() * reps) as f64 / started.elapsed().as_secs_f64())
        }
    }
}
