//! EfficientNet-Lite0 in Rust (candle) against the PyTorch reference's vectors for the
//! same image files (`tests/fixtures/effnet_reference.json`, written by
//! `scripts/encoders/effnet_reference.py`): cosine >= 0.999 for a JPEG photo, a PNG
//! photo, a greyscale image smaller than the crop and an RGBA image. Needs the weights
//! from `scripts/fetch-models` (CI runs it first).

use crate::parity::{cosine, norm};
use std::path::{Path, PathBuf};

use quiver_encode::effnet::{self, EfficientNetLite0};
use quiver_encode::{EncodeError, Encoder, EncoderOptions, Modality, Registry, models_dir};

#[derive(serde::Deserialize)]
struct Reference {
    images: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

fn load(batch_size: usize) -> EfficientNetLite0 {
    let options = EncoderOptions {
        batch_size,
        ..EncoderOptions::default()
    };
    EfficientNetLite0::load(&models_dir(), &options).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn matches_the_reference_implementation() {
    let reference: Reference =
        serde_json::from_str(include_str!("../fixtures/effnet_reference.json")).unwrap();
    let paths: Vec<PathBuf> = reference.images.iter().map(|n| fixture(n)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    // Batches of 3: one full batch and one partial.
    let model = load(3);
    let got = model.encode_images(&refs).unwrap();
    assert_eq!(got.len(), refs.len());
    let mut lowest = f32::INFINITY;
    for ((name, ours), theirs) in reference.images.iter().zip(&got).zip(&reference.vectors) {
        assert_eq!(ours.len(), effnet::DIM);
        let c = cosine(ours, theirs);
        lowest = lowest.min(c);
        assert!(c >= 0.999, "{name}: cosine {c}");
        let norm = norm(ours);
        assert!((norm - 1.0).abs() < 1e-4, "{name}: norm {norm}");
    }
    eprintln!(
        "lowest cosine to the reference over {} images: {lowest:.6}",
        refs.len()
    );
    // An image alone gets the vector it got in the batch.
    let alone = model.encode_images(&refs[1..2]).unwrap();
    assert!(cosine(&alone[0], &got[1]) > 0.99999);
    // Different pictures are told apart (the cat is nearer itself than the cup).
    assert!(cosine(&got[0], &got[1]) < 0.9);
}

#[test]
fn bad_images_are_typed_errors() {
    let model = load(8);
    let dir = tempfile::tempdir().unwrap();
    let not_image = dir.path().join("notes.png");
    std::fs::write(&not_image, b"this is not a PNG").unwrap();
    let truncated = dir.path().join("cut.jpg");
    let jpeg = std::fs::read(fixture("effnet_cat.jpg")).unwrap();
    std::fs::write(&truncated, &jpeg[..200]).unwrap();
    let missing = dir.path().join("missing.png");
    for path in [&not_image, &truncated, &missing] {
        match model.encode_images(&[path.as_path()]) {
            Err(EncodeError::BadInput(msg)) => {
                assert!(msg.contains(&path.display().to_string()), "{msg}")
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    // A text encoder call on an image model says so.
    assert!(matches!(
        model.encode_texts(&["a cat"]),
        Err(EncodeError::WrongModality {
            asked: Modality::Text,
            ..
        })
    ));
}

#[test]
fn registry_serves_it_by_name() {
    let registry = Registry::default();
    assert!(registry.names().contains(&effnet::NAME.to_string()));
    let info = registry.get(effnet::NAME).unwrap().info().clone();
    assert_eq!(info.modality, Modality::Image);
    assert_eq!(info.dim, effnet::DIM);
    // Without weights: a clear error naming the fix.
    let empty = tempfile::tempdir().unwrap();
    let err = EfficientNetLite0::load(empty.path(), &EncoderOptions::default()).unwrap_err();
    assert!(err.to_string().contains("scripts/fetch-models"), "{err}");
}

#[test]
fn damaged_weights_are_errors_not_panics() {
    let good = std::fs::read(models_dir().join(effnet::FOLDER).join(effnet::WEIGHTS)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(effnet::FOLDER);
    std::fs::create_dir_all(&folder).unwrap();
    let mut garbage = good[..16].to_vec();
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("cut in the header", good[..100].to_vec()),
        ("cut in the storages", good[..good.len() / 2].to_vec()),
        ("last bytes missing", good[..good.len() - 10].to_vec()),
        ("magic then garbage", garbage),
        ("not a checkpoint", b"hello".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(folder.join(effnet::WEIGHTS), bytes).unwrap();
        let err = EfficientNetLite0::load(dir.path(), &EncoderOptions::default()).expect_err(what);
        assert!(matches!(err, EncodeError::Model { .. }), "{what}: {err}");
    }
}

/// The shapes `synthetic` (and so `gpu_check`) builds its random network from are the
/// registry package's: every tensor the loader reads is there, with that shape.
#[test]
fn the_listed_state_dict_is_the_packages() {
    let path = models_dir().join(effnet::FOLDER).join(effnet::WEIGHTS);
    let real = quiver_encode::torch_pth::read_state_dict(&path).unwrap();
    let listed = effnet::state_dict_shapes();
    assert!(listed.len() > 200, "{} tensors", listed.len());
    for (name, shape) in listed {
        let tensor = real.get(&name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(tensor.dims(), shape.as_slice(), "{name}");
    }
}

/// The random network of Lite0's shapes runs and gives distinct unit vectors; a state
/// dict missing a tensor is a typed error.
#[test]
fn loads_from_a_state_dict_in_memory() {
    let options = EncoderOptions::default();
    let mut weights = quiver_encode::synthetic::effnet_state_dict(0);
    let model = EfficientNetLite0::from_state_dict(weights.clone(), &options).unwrap();
    let side = effnet::CROP as usize;
    let pixels: Vec<f32> = (0..2 * 3 * side * side)
        .map(|p| ((p % 977) as f32 * 0.01).sin() * if p < 3 * side * side { 1.0 } else { -0.5 })
        .collect();
    let input =
        candle_core::Tensor::from_vec(pixels, (2, 3, side, side), &candle_core::Device::Cpu)
            .unwrap();
    let v = model.forward(&input).unwrap().to_vec2::<f32>().unwrap();
    for row in &v {
        assert_eq!(row.len(), effnet::DIM);
        assert!((norm(row) - 1.0).abs() < 1e-4, "norm {}", norm(row));
    }
    assert!(cosine(&v[0], &v[1]) < 0.9999, "two inputs, one vector");
    weights.remove("_blocks.7._project_conv.weight");
    let err = EfficientNetLite0::from_state_dict(weights, &options).unwrap_err();
    assert!(
        err.to_string().contains("_blocks.7._project_conv.weight"),
        "{err}"
    );
}
