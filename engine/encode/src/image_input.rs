//! Image files as model inputs: decoding (PNG, JPEG; anything else is a `BadInput`
//! naming the file), resizing the shorter side, centre cropping and the per-channel
//! scaling into a CHW float tensor.

use std::path::Path;

use image::RgbImage;

use crate::pil_resize::{self, Filter, Window};
use crate::{EncodeError, Result};

/// Decodes `path` as an 8-bit RGB image (grey and alpha images are converted).
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| EncodeError::BadInput(format!("image {}: {e}", path.display())))?
        .with_guessed_format()
        .map_err(|e| EncodeError::BadInput(format!("image {}: {e}", path.display())))?;
    let decoded = reader
        .decode()
        .map_err(|e| EncodeError::BadInput(format!("image {}: {e}", path.display())))?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(EncodeError::BadInput(format!(
            "image {}: empty",
            path.display()
        )));
    }
    Ok(decoded.into_rgb8())
}

/// Resizes so the shorter side is `shorter` (the longer keeps the aspect ratio, and is
/// never below `crop`; Pillow's arithmetic), then cuts the centre `crop`×`crop` square.
pub fn resize_and_centre_crop(img: &RgbImage, shorter: u32, crop: u32, filter: Filter) -> RgbImage {
    let (w, h) = img.dimensions();
    let scale = f64::from(shorter) / f64::from(w.min(h).max(1));
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).max(crop);
    let (rw, rh) = (side(w) as usize, side(h) as usize);
    let crop = crop as usize;
    let window = Window {
        left: (rw - crop) / 2,
        top: (rh - crop) / 2,
        width: crop,
        height: crop,
    };
    pil_resize::resize_crop(img, (rw, rh), window, filter)
}

/// The image as channel-major floats: `(pixel - mean[c]) / std[c]` for each channel
/// (pixels in 0..=255).
pub fn to_chw(img: &RgbImage, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let plane = (w * h) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (f32::from(px.0[c]) - mean[c]) / std[c];
        }
    }
    out
}
