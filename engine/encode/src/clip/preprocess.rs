//! CLIP's image preprocessing, as OpenAI's CLIP and transformers' `CLIPImageProcessor`
//! (PIL backend) do it: decode, RGB, resize the shortest side to the model's size with
//! PIL's bicubic filter, centre crop to a square, scale to [0, 1], normalise with CLIP's
//! mean and standard deviation, channels first.
//!
//! The resize reproduces Pillow's `ImagingResample` for 8-bit images exactly (the
//! `image` crate's CatmullRom differs in support, rounding and edge handling): a
//! separable convolution with the a = -0.5 cubic, its support widened by the downscale
//! factor, pixel centres at +0.5, weights normalised and made 22-bit fixed point, the
//! horizontal pass first, each pass rounded and clamped to u8.

use std::path::Path;

use image::RgbImage;

use crate::{EncodeError, Result};

/// CLIP's per-channel mean (RGB, on [0, 1] values).
pub const MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// CLIP's per-channel standard deviation (its published digits, more than f32 holds).
#[allow(clippy::excessive_precision)]
pub const STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// The image at `path` as CLIP's input: 3 x `size` x `size` values, channels first. A
/// file that is missing or not a PNG/JPEG image is `BadInput` naming the path.
pub fn load(path: &Path, size: usize) -> Result<Vec<f32>> {
    let bad = |e: &dyn std::fmt::Display| EncodeError::BadInput(format!("{}: {e}", path.display()));
    let image = image::ImageReader::open(path)
        .map_err(|e| bad(&e))?
        .with_guessed_format()
        .map_err(|e| bad(&e))?
        .decode()
        .map_err(|e| bad(&e))?;
    if image.width() == 0 || image.height() == 0 {
        return Err(bad(&"empty image"));
    }
    Ok(preprocess(&image.to_rgb8(), size))
}

/// A non-empty RGB image as CLIP's input (see the module doc).
pub(crate) fn preprocess(image: &RgbImage, size: usize) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // transformers' `get_resize_output_image_size`: the short side becomes `size`, the
    // long one `int(size * long / short)` (integer division gives the same floor).
    let (nw, nh) = if w <= h {
        (size, size * h / w)
    } else {
        (size * w / h, size)
    };
    // transformers' centre crop: the top-left corner rounds down.
    let (left, top) = ((nw - size) / 2, (nh - size) / 2);
    let pixels = resize_crop(image, (nw, nh), (left, top), size);
    let mut out = vec![0f32; 3 * size * size];
    for (i, rgb) in pixels.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * size * size + i] = (f32::from(rgb[c]) / 255.0 - MEAN[c]) / STD[c];
        }
    }
    out
}

/// Pillow's fixed-point precision for 8-bit resampling.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel (a = -0.5), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// One output pixel's source span: its first source index and fixed-point weights.
struct Taps {
    first: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `input` -> `output`
/// samples, for the output samples `wanted` only.
fn coefficients(input: usize, output: usize, wanted: std::ops::Range<usize>) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    wanted
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) casts truncate toward zero; both ends are then clamped.
            let min = ((center - support + 0.5).trunc().max(0.0)) as usize;
            let max = ((center + support + 0.5).trunc() as usize).min(input);
            let raw: Vec<f64> = (min..max)
                .map(|x| bicubic((x as f64 - center + 0.5) / filter_scale))
                .collect();
            let total: f64 = raw.iter().sum();
            let one = f64::from(1u32 << PRECISION_BITS);
            let weights = raw
                .iter()
                .map(|&k| {
                    let k = if total != 0.0 { k / total } else { k };
                    // Rounded half away from zero, as Pillow does.
                    (if k < 0.0 {
                        -0.5 + k * one
                    } else {
                        0.5 + k * one
                    }) as i32
                })
                .collect();
            Taps {
                first: min,
                weights,
            }
        })
        .collect()
}

/// Pillow's `clip8`: a fixed-point sum back to a byte.
fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The `size` x `size` window at (`left`, `top`) of `image` resized to `nw` x `nh` with
/// Pillow's bicubic filter, as interleaved RGB bytes. Only the window's pixels are
/// computed (each output pixel depends on its own taps only, so the bytes are those of
/// a full resize then a crop), which keeps memory bounded for extreme aspect ratios.
fn resize_crop(
    image: &RgbImage,
    (nw, nh): (usize, usize),
    (left, top): (usize, usize),
    size: usize,
) -> Vec<u8> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let src = image.as_raw();
    let half = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass over every source row (skipped, as Pillow does, when the width
    // stays): `size` columns wide.
    let wide: Vec<u8> = if nw == w {
        (0..h)
            .flat_map(|y| &src[(y * w + left) * 3..(y * w + left + size) * 3])
            .copied()
            .collect()
    } else {
        let taps = coefficients(w, nw, left..left + size);
        let mut out = Vec::with_capacity(size * h * 3);
        for y in 0..h {
            let row = &src[y * w * 3..(y + 1) * w * 3];
            for t in &taps {
                for c in 0..3 {
                    let sum = t.weights.iter().enumerate().fold(half, |s, (i, &k)| {
                        s + i64::from(row[(t.first + i) * 3 + c]) * i64::from(k)
                    });
                    out.push(clip8(sum));
                }
            }
        }
        out
    };
    let stride = size * 3;
    if nh == h {
        return wide[top * stride..(top + size) * stride].to_vec();
    }
    let mut out = Vec::with_capacity(size * stride);
    for t in &coefficients(h, nh, top..top + size) {
        for x in 0..stride {
            let sum = t.weights.iter().enumerate().fold(half, |s, (i, &k)| {
                s + i64::from(wide[(t.first + i) * stride + x]) * i64::from(k)
            });
            out.push(clip8(sum));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_image_stays_flat_and_normalises_to_the_mean_offset() {
        let img = RgbImage::from_pixel(50, 30, image::Rgb([10, 128, 250]));
        let v = preprocess(&img, 8);
        assert_eq!(v.len(), 3 * 64);
        for (c, &byte) in [10u8, 128, 250].iter().enumerate() {
            let want = (f32::from(byte) / 255.0 - MEAN[c]) / STD[c];
            assert!(
                v[c * 64..(c + 1) * 64]
                    .iter()
                    .all(|&x| (x - want).abs() < 1e-6)
            );
        }
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (input, output) in [(200, 224), (400, 224), (64, 224), (7, 3)] {
            for t in coefficients(input, output, 0..output) {
                let sum: i64 = t.weights.iter().map(|&k| i64::from(k)).sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= t.weights.len() as i64);
                assert!(t.first + t.weights.len() <= input);
            }
        }
    }
}
