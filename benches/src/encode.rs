//! Encoder throughput: texts per second through `quiver_encode` (MiniLM on candle, CPU)
//! at a given batch size, on the texts of a file (one per line). The Python reference
//! (`scripts/encoders/bench_minilm.py`) times sentence-transformers on the same file;
//! `scripts/encoders/bench_minilm.sh` runs both in one go and prints the ratio.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::encode::minilm::MiniLm;
use quiver::encode::{Encoder, EncoderOptions, models_dir};

/// Encodes every line of `texts` `reps` times (after one warm-up pass over the first
/// batch); returns texts per second over the timed passes.
pub fn minilm_texts_per_second(texts: &Path, batch: usize, reps: usize) -> Result<f64> {
    let all =
        std::fs::read_to_string(texts).with_context(|| format!("reading {}", texts.display()))?;
    let lines: Vec<&str> = all.lines().collect();
    let options = EncoderOptions {
        batch_size: batch,
        ..EncoderOptions::default()
    };
    let model = MiniLm::load(&models_dir(), &options)?;
    model.encode_texts(&lines[..batch.min(lines.len())])?;
    let started = Instant::now();
    for _ in 0..reps.max(1) {
        std::hint::black_box(model.encode_texts(&lines)?);
    }
    Ok((lines.len() * reps.max(1)) as f64 / started.elapsed().as_secs_f64())
}
