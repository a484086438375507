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

/// For each output position: the first input index and the fixed-point weights of the
/// inputs from there.
struct Coefficients {
    starts: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

fn coefficients(in_size: usize, out_size: usize, filter: Filter) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    let mut starts = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let centre = (xx as f64 + 0.5) * scale;
        // C's (int) cast truncates toward zero; negatives clamp to 0 anyway.
        let xmin = ((centre - support + 0.5) as i64).max(0) as usize;
        let xmax = ((centre + support + 0.5) as i64).clamp(0, in_size as i64) as usize;
        let raw: Vec<f64> = (xmin..xmax)
            .map(|x| filter.weight((x as f64 - centre + 0.5) / filter_scale))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|&w| {
                let w = if total != 0.0 { w / total } else { w };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                (if w < 0.0 { scaled - 0.5 } else { scaled + 0.5 }) as i32
            })
            .collect();
        starts.push(xmin);
        weights.push(fixed);
    }
    Coefficients { starts, weights }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// `img` resized to `width × height` with Pillow's arithmetic.
pub fn resize(img: &RgbImage, width: u32, height: u32, filter: Filter) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (ow, oh) = (width as usize, height as usize);
    let src = img.as_raw();
    let half = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass (skipped, like Pillow, when the width stays).
    let horizontal: Vec<u8> = if ow == w {
        src.clone()
    } else {
        let c = coefficients(w, ow, filter);
        let mut out = vec![0u8; ow * h * 3];
        for y in 0..h {
            let row = &src[y * w * 3..(y + 1) * w * 3];
            for x in 0..ow {
                let mut acc = [half; 3];
                for (i, &k) in c.weights[x].iter().enumerate() {
                    let px = &row[(c.starts[x] + i) * 3..][..3];
                    for ch in 0..3 {
                        acc[ch] += i64::from(px[ch]) * i64::from(k);
                    }
                }
                for ch in 0..3 {
                    out[(y * ow + x) * 3 + ch] = clip8(acc[ch]);
                }
            }
        }
        out
    };
    let vertical: Vec<u8> = if oh == h {
        horizontal
    } else {
        let c = coefficients(h, oh, filter);
        let mut out = vec![0u8; ow * oh * 3];
        for y in 0..oh {
            for x in 0..ow {
                let mut acc = [half; 3];
                for (i, &k) in c.weights[y].iter().enumerate() {
                    let px = &horizontal[((c.starts[y] + i) * ow + x) * 3..][..3];
                    for ch in 0..3 {
                        acc[ch] += i64::from(px[ch]) * i64::from(k);
                    }
                }
                for ch in 0..3 {
                    out[(y * ow + x) * 3 + ch] = clip8(acc[ch]);
                }
            }
        }
        out
    };
    RgbImage::from_raw(width, height, vertical).expect("width × height × 3 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

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
