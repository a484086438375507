//! The CUDA check: MiniLM's and EfficientNet-Lite0's networks on random weights of
//! their real shapes (no weights files, no network), run on the CPU and on a CUDA
//! device; prints how far apart the vectors are and each side's rate.
//!
//!   gpu_check [--device N] [--texts N] [--images N]
//!
//! Built by `scripts/check-cuda --gpu-check` (needs the `cuda` feature); run by
//! `scripts/gpu-check`. Without a usable device it prints the CPU figures and the
//! device's error, and exits with status 2.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use quiver_encode::bert::{Bert, Sequence};
use quiver_encode::effnet::{CROP, EfficientNetLite0};
use quiver_encode::{EncoderOptions, synthetic};

/// Texts per forward pass, and images per pass at most (the CPU takes fewer, see
/// `EfficientNetLite0::images_per_pass`).
const TEXT_BATCH: usize = 32;
const IMAGE_BATCH: usize = 32;

struct Args {
    device: usize,
    texts: usize,
    images: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        device: 0,
        texts: 1024,
        images: 128,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or(format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--device" => a.device = value,
            "--texts" => a.texts = value.max(1),
            "--images" => a.images = value.max(1),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

type Failure = Box<dyn std::error::Error>;

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gpu_check: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("gpu_check: {e}");
        std::process::exit(2);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let texts = TextCheck::new(args.texts);
    let pixels = random_images(args.images);
    let cpu_text = texts.encode(&Device::Cpu)?;
    let cpu_image = encode_images(&pixels, quiver_encode::Device::Cpu)?;
    let gpu = Device::new_cuda(args.device).map_err(|e| {
        format!(
            "CUDA device {}: {e} (CPU: {cpu_text}; {cpu_image})",
            args.device
        )
    })?;
    let gpu_text = texts.encode(&gpu)?;
    let gpu_image = encode_images(&pixels, quiver_encode::Device::Cuda(args.device))?;
    println!("minilm shapes, {} texts, random weights", args.texts);
    println!("  cpu  {cpu_text}");
    println!("  cuda {gpu_text}");
    println!(
        "  lowest cosine cpu vs cuda {:.6}",
        lowest_cosine(&cpu_text.vectors, &gpu_text.vectors)
    );
    println!(
        "effnet-lite0 shapes, {} images, random weights",
        args.images
    );
    println!("  cpu  {cpu_image}");
    println!("  cuda {gpu_image}");
    println!(
        "  lowest cosine cpu vs cuda {:.6}",
        lowest_cosine(&cpu_image.vectors, &gpu_image.vectors)
    );
    Ok(())
}

/// Vectors and the rate that made them.
struct Run {
    vectors: Vec<Vec<f32>>,
    per_second: f64,
    unit: &'static str,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} {}/s", self.per_second, self.unit)
    }
}

/// MiniLM's network on random weights and texts of 8..=71 tokens (a catalogue's short
/// descriptions to a paragraph).
struct TextCheck {
    weights: std::collections::HashMap<String, Tensor>,
    ids: Vec<Vec<u32>>,
    types: Vec<Vec<u32>>,
}

impl TextCheck {
    fn new(texts: usize) -> TextCheck {
        let config = synthetic::minilm_config();
        let lens: Vec<usize> = (0..texts).map(|i| 8 + (i * 37) % 64).collect();
        let (ids, types) = synthetic::token_ids(&lens, config.vocab_size);
        TextCheck {
            weights: synthetic::bert_weights(&config, 1),
            ids,
            types,
        }
    }

    fn encode(&self, device: &Device) -> Result<Run, Failure> {
        let vb = VarBuilder::from_tensors(self.weights.clone(), DType::F32, device);
        let model = Bert::load(vb, &synthetic::minilm_config())?;
        let sequences: Vec<Sequence> = self
            .ids
            .iter()
            .zip(&self.types)
            .map(|(ids, type_ids)| Sequence { ids, type_ids })
            .collect();
        // One pass first, so device start-up and kernel loading are not timed.
        model.forward(&sequences[..1])?;
        let started = Instant::now();
        let mut vectors = Vec::with_capacity(sequences.len());
        for batch in sequences.chunks(TEXT_BATCH) {
            let pooled = model.forward(batch)?.mean_pooled_normalized()?;
            vectors.extend(pooled.to_vec2::<f32>()?);
        }
        Ok(Run {
            per_second: sequences.len() as f64 / started.elapsed().as_secs_f64(),
            vectors,
            unit: "texts",
        })
    }
}

/// `n` images' worth of network input (`3 × 224 × 224`, already scaled), smooth
/// gradients plus a pattern per image.
fn random_images(n: usize) -> Vec<Vec<f32>> {
    let side = CROP as usize;
    (0..n)
        .map(|i| {
            (0..3 * side * side)
                .map(|p| {
                    let (c, y, x) = (p / (side * side), (p / side) % side, p % side);
                    let wave = ((x * (i + 1) + y * (c + 2)) as f32 * 0.05).sin();
                    0.8 * wave + 0.1 * c as f32 - (y as f32 / side as f32)
                })
                .collect()
        })
        .collect()
}

fn encode_images(pixels: &[Vec<f32>], device: quiver_encode::Device) -> Result<Run, Failure> {
    let options = EncoderOptions {
        device,
        batch_size: IMAGE_BATCH,
    };
    let model = EfficientNetLite0::from_state_dict(synthetic::effnet_state_dict(2), &options)?;
    let side = CROP as usize;
    let on = device.candle()?;
    let batch = |images: &[Vec<f32>]| -> Result<Vec<Vec<f32>>, Failure> {
        let input = Tensor::from_vec(images.concat(), (images.len(), 3, side, side), &on)?;
        Ok(model.forward(&input)?.to_vec2::<f32>()?)
    };
    batch(&pixels[..1])?;
    let started = Instant::now();
    let mut vectors = Vec::with_capacity(pixels.len());
    for images in pixels.chunks(model.images_per_pass()) {
        vectors.extend(batch(images)?);
    }
    Ok(Run {
        per_second: pixels.len() as f64 / started.elapsed().as_secs_f64(),
        vectors,
        unit: "images",
    })
}

fn lowest_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            let norm = |v: &[f32]| v.iter().map(|p| p * p).sum::<f32>().sqrt();
            dot / (norm(x) * norm(y)).max(f32::MIN_POSITIVE)
        })
        .fold(f32::INFINITY, f32::min)
}
