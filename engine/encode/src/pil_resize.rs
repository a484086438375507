//! Image resizing exactly as Pillow's `Image.resize` does it for 8-bit images, so that
//! an encoder sees the same pixels as its Python reference (the models' training
//! pipelines and the reference implementations resize with Pillow). A ±1 difference
//! per pixel already moved EfficientNet's embedding to cosine 0.998 of the
//! reference's; with this resampler the pixels are identical.
//!
//! Pillow's algorithm (`libImaging/Resample.c`): separable; per output pixel the input
//! pixels within `support · max(1, scale)` of its centre, weighted by the filter at
//! their distance (divided by the scale when shrinking), the weights normalised, then
//! turned into 22-bit fixed point; horizontal pass first, rounded to 8 bits, then the
//! vertical pass.

use image::RgbImage;

/// Pillow's resampling filters (`Image.BILINEAR`, `Image.BICUBIC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Bilinear,
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => (1.0 - x).max(0.0),
            // Keys' cubic with a = -0.5, as Pillow.
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// One output pixel's source span: its first source index and fixed-point weights.
struct Taps {
    first: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `input` → `output`
/// samples, for the output samples `wanted` only.
fn coefficients(
    input: usize,
    output: usize,
    wanted: std::ops::Range<usize>,
    filter: Filter,
) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    let one = f64::from(1u32 << PRECISION_BITS);
    wanted
        .map(|xx| {
            let centre = (xx as f64 + 0.5) * scale;
            // C's (int) casts truncate toward zero; both ends are then clamped.
            let min = (centre - support + 0.5).trunc().max(0.0) as usize;
            let max = ((centre + support + 0.5).trunc().max(0.0) as usize).min(input);
            let raw: Vec<f64> = (min..max)
                .map(|x| filter.weight((x as f64 - centre + 0.5) / filter_scale))
                .collect();
            let total: f64 = raw.iter().sum();
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

/// `img` resized to `width × height` with Pillow's arithmetic.
pub fn resize(img: &RgbImage, width: u32, height: u32, filter: Filter) -> RgbImage {
    let window = Window {
        left: 0,
        top: 0,
        width: width as usize,
        height: height as usize,
    };
    resize_crop(img, (width as usize, height as usize), window, filter)
}

/// A rectangle of the resized image: its corner and size.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
}

/// The `window` of `img` resized to `size` (width, height) with Pillow's arithmetic.
/// Only the window's pixels are computed (each output pixel depends on its own taps
/// only, so the bytes are those of a full resize then a crop), which keeps memory
/// bounded for extreme aspect ratios. The window must lie inside `size`.
pub fn resize_crop(
    img: &RgbImage,
    (nw, nh): (usize, usize),
    window: Window,
    filter: Filter,
) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let Window {
        left,
        top,
        width: cw,
        height: ch,
    } = window;
    assert!(
        left + cw <= nw && top + ch <= nh,
        "window outside the image"
    );
    let src = img.as_raw();
    let half = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass over every source row (skipped, as Pillow does, when the width
    // stays): `cw` columns wide.
    let wide: Vec<u8> = if nw == w {
        (0..h)
            .flat_map(|y| &src[(y * w + left) * 3..(y * w + left + cw) * 3])
            .copied()
            .collect()
    } else {
        let taps = coefficients(w, nw, left..left + cw, filter);
        let mut out = Vec::with_capacity(cw * h * 3);
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
    let stride = cw * 3;
    let bytes = if nh == h {
        wide[top * stride..(top + ch) * stride].to_vec()
    } else {
        let mut out = Vec::with_capacity(ch * stride);
        for t in &coefficients(h, nh, top..top + ch, filter) {
            for x in 0..stride {
                let sum = t.weights.iter().enumerate().fold(half, |s, (i, &k)| {
                    s + i64::from(wide[(t.first + i) * stride + x]) * i64::from(k)
                });
                out.push(clip8(sum));
            }
        }
        out
    };
    RgbImage::from_raw(cw as u32, ch as u32, bytes).expect("cw × ch × 3 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            for (input, output) in [(200, 224), (400, 224), (64, 224), (7, 3)] {
                for t in coefficients(input, output, 0..output, filter) {
                    let sum: i64 = t.weights.iter().map(|&k| i64::from(k)).sum();
                    assert!((sum - (1 << PRECISION_BITS)).abs() <= t.weights.len() as i64);
                    assert!(t.first + t.weights.len() <= input);
                }
            }
        }
    }

    /// A window equals the same rectangle of the full resize.
    #[test]
    fn a_window_is_a_crop_of_the_full_resize() {
        let img = RgbImage::from_fn(37, 23, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 11) as u8, ((x * y) % 251) as u8])
        });
        let full = resize(&img, 50, 16, Filter::Bicubic);
        let window = Window {
            left: 9,
            top: 3,
            width: 20,
            height: 10,
        };
        let part = resize_crop(&img, (50, 16), window, Filter::Bicubic);
        let cut = image::imageops::crop_imm(&full, 9, 3, 20, 10).to_image();
        assert_eq!(part, cut);
    }

    /// Pixels Pillow 13.0 gives for the same 5×1 image (`Image.resize`), shrinking and
    /// enlarging, with overshoot clipped.
    #[test]
    fn matches_pillow() {
        let row: Vec<u8> = vec![
            0, 10, 20, 100, 110, 120, 200, 210, 220, 50, 60, 70, 255, 0, 9,
        ];
        let img = RgbImage::from_raw(5, 1, row).unwrap();
        let flat = |i: RgbImage| i.into_raw();
        assert_eq!(
            flat(resize(&img, 2, 1, Filter::Bilinear)),
            [89, 99, 109, 152, 77, 87]
        );
        assert_eq!(
            flat(resize(&img, 8, 1, Filter::Bicubic)),
            [
                0, 3, 13, 34, 44, 54, 107, 117, 127, 187, 197, 207, 160, 179, 189, 50, 67, 77, 167,
                16, 26, 255, 0, 5
            ]
        );
        let two_rows = resize(&img, 3, 2, Filter::Bicubic);
        assert_eq!(
            flat(two_rows),
            [
                43, 53, 63, 144, 164, 174, 168, 23, 33, 43, 53, 63, 144, 164, 174, 168, 23, 33
            ]
        );
    }
}
