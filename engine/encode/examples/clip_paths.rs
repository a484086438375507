//! CLIP's packed CPU path against candle-transformers' CLIP (what other devices run)
//! on the same weights and inputs: texts/s and images/s of each (decode, resize and
//! tokenization included), and the lowest cosine between their vectors.
//!
//!   cargo run --release -p quiver-encode --example clip_paths -- \
//!       MODEL_FOLDER TEXTS_FILE IMAGES_DIR [BATCH] [REPS]
//!
//! MODEL_FOLDER is a Hugging Face CLIPModel folder (config.json, model.safetensors);
//! the merges come from the models folder (`scripts/fetch-models`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use quiver_encode::clip::{Clip, ClipTokenizer};
use quiver_encode::{Encoder, EncoderOptions, models_dir};

type Loader = fn(&Path, ClipTokenizer, &EncoderOptions) -> quiver_encode::Result<Clip>;

fn rate<T>(count: usize, reps: usize, mut run: impl FnMut() -> T) -> (f64, T) {
    run();
    let started = Instant::now();
    let mut last = None;
    for _ in 0..reps {
        last = Some(run());
    }
    let rate = (count * reps) as f64 / started.elapsed().as_secs_f64();
    (rate, last.expect("at least one repetition"))
}

fn lowest_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>())
        .fold(f32::INFINITY, f32::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [folder, texts, images, rest @ ..] = args.as_slice() else {
        return Err("usage: clip_paths MODEL_FOLDER TEXTS_FILE IMAGES_DIR [BATCH] [REPS]".into());
    };
    let batch: usize = rest.first().map_or(Ok(32), |b| b.parse())?;
    let reps: usize = rest.get(1).map_or(Ok(2), |r| r.parse())?;
    let all = std::fs::read_to_string(texts)?;
    let lines: Vec<&str> = all.lines().collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(images)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let options = EncoderOptions {
        batch_size: batch,
        ..Default::default()
    };
    let mut vectors = Vec::new();
    for (name, load) in [
        ("packed", Clip::from_folder as Loader),
        ("candle ops", Clip::from_folder_with_candle_ops as Loader),
    ] {
        let model = load(
            Path::new(folder),
            ClipTokenizer::load(&models_dir())?,
            &options,
        )?;
        let (texts_per_s, t) = rate(lines.len(), reps, || model.encode_texts(&lines));
        let (images_per_s, i) = rate(paths.len(), reps, || model.encode_images(&paths));
        println!(
            "quiver clip ({name}): {texts_per_s:.1} texts/s, {images_per_s:.1} images/s (batch {batch})"
        );
        vectors.push((t?, i?));
    }
    let [(pt, pi), (ct, ci)] = vectors.as_slice() else {
        unreachable!("two paths ran");
    };
    println!(
        "lowest cosine packed vs candle ops: texts {:.6}, images {:.6}",
        lowest_cosine(pt, ct),
        lowest_cosine(pi, ci)
    );
    Ok(())
}
