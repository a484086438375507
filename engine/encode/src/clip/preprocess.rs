//! CLIP's image preprocessing, as OpenAI's CLIP and transformers' `CLIPImageProcessor`
//! (PIL backend) do it: decode, RGB, resize the shortest side to the model's size with
//! PIL's bicubic filter, centre crop to a square, scale to [0, 1], normalise with CLIP's
//! mean and standard deviation, channels first.
//!
//! The resize reproduces Pillow's `ImagingResample` for 8-bit images exactly
//! ([`crate::pil_resize`]; the `image` crate's CatmullRom differs in support, rounding
//! and edge handling), computing only the crop window.

use std::path::Path;

use image::RgbImage;

use crate::Result;
use crate::image_input::load_rgb;
use crate::pil_resize::{Filter, Window, resize_crop};

/// CLIP's per-channel mean (RGB, on [0, 1] values).
pub const MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// CLIP's per-channel standard deviation (its published digits, more than f32 holds).
#[allow(clippy::excessive_precision)]
pub const STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// The image at `path` as CLIP's input: 3 x `size` x `size` values, channels first. A
/// file that is missing or not a PNG/JPEG image is `BadInput` naming the path.
pub fn load(path: &Path, size: usize) -> Result<Vec<f32>> {
    Ok(preprocess(&load_rgb(path)?, size))
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
    let window = Window {
        left,
        top,
        width: size,
        height: size,
    };
    let pixels = resize_crop(image, (nw, nh), window, Filter::Bicubic).into_raw();
    let mut out = vec![0f32; 3 * size * size];
    for (i, rgb) in pixels.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * size * size + i] = (f32::from(rgb[c]) / 255.0 - MEAN[c]) / STD[c];
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
}
