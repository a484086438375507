//! CLIP in Rust (candle) against transformers' CLIPModel, CLIPTokenizer and
//! CLIPImageProcessorPil on the same inputs (`tests/fixtures/clip_reference.json`,
//! written by `scripts/encoders/clip_reference.py`): a small random CLIPModel of the
//! ViT-B/32 layout (`tests/fixtures/clip-tiny`, CLIP's real 49408-token vocabulary),
//! token ids equal for every text, cosine >= 0.999 for every text and image vector.
//! Needs CLIP's merges from `scripts/fetch-models` (CI runs it first); not the real
//! CLIP weights, which the user supplies.

use std::path::{Path, PathBuf};

use crate::parity::{cosine, norm};

use quiver_encode::clip::{self, Clip, ClipTokenizer, preprocess};
use quiver_encode::{EncodeError, Encoder, EncoderOptions, Modality, Registry, models_dir};

#[derive(serde::Deserialize)]
struct Reference {
    texts: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    text_vectors: Vec<Vec<f32>>,
    images: Vec<String>,
    pixel_sums: Vec<f64>,
    image_vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("../fixtures/clip_reference.json")).unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The merges from the models folder; missing, the test fails with the message that
/// says how to fetch them.
fn tokenizer() -> ClipTokenizer {
    ClipTokenizer::load(&models_dir()).unwrap_or_else(|e| panic!("{e}"))
}

fn tiny(batch_size: usize) -> Clip {
    load_tiny(batch_size, Clip::from_folder)
}

/// The same model run by candle-transformers' CLIP (what other devices run).
fn tiny_candle_ops(batch_size: usize) -> Clip {
    load_tiny(batch_size, Clip::from_folder_with_candle_ops)
}

type Loader = fn(&Path, ClipTokenizer, &EncoderOptions) -> quiver_encode::Result<Clip>;

fn load_tiny(batch_size: usize, load: Loader) -> Clip {
    let options = EncoderOptions {
        batch_size,
        ..Default::default()
    };
    load(&fixtures().join("clip-tiny"), tokenizer(), &options).unwrap_or_else(|e| panic!("{e}"))
}

/// Every vector of the two paths agrees (cosine > 0.99999).
fn same_vectors(kind: &str, packed: &[Vec<f32>], candle_ops: &[Vec<f32>]) {
    assert_eq!(packed.len(), candle_ops.len());
    for (i, (a, b)) in packed.iter().zip(candle_ops).enumerate() {
        let c = cosine(a, b);
        assert!(c > 0.99999, "{kind} {i}: packed vs candle ops cosine {c}");
    }
}

/// The lowest cosine between `got` and `want`, each checked >= 0.999 and unit length.
fn check(kind: &str, labels: &[String], got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    let mut lowest = f32::INFINITY;
    for ((label, ours), theirs) in labels.iter().zip(got).zip(want) {
        let short: String = label.chars().take(40).collect();
        assert_eq!(ours.len(), 16, "{short:?}");
        let c = cosine(ours, theirs);
        lowest = lowest.min(c);
        assert!(c >= 0.999, "{kind} {short:?}: cosine {c}");
        let norm = norm(ours);
        assert!((norm - 1.0).abs() < 1e-4, "{kind} {short:?}: norm {norm}");
    }
    eprintln!(
        "lowest {kind} cosine to the reference over {}: {lowest:.6}",
        got.len()
    );
    lowest
}

#[test]
fn token_ids_equal_the_reference() {
    let reference = reference();
    let texts: Vec<&str> = reference.texts.iter().map(String::as_str).collect();
    let ids = tokenizer().encode(&texts).unwrap();
    for ((text, ours), theirs) in texts.iter().zip(&ids).zip(&reference.token_ids) {
        assert_eq!(ours, theirs, "{text:?}");
    }
    // The long text was cut to 77 tokens, the end token kept.
    let longest = ids.iter().map(Vec::len).max().unwrap();
    assert_eq!(longest, clip::bpe::MAX_TOKENS);
    assert!(ids.iter().all(|r| r.last() == Some(&clip::bpe::END_ID)));
    eprintln!("token ids equal the reference for {} texts", texts.len());
}

#[test]
fn text_vectors_match_the_reference() {
    let reference = reference();
    let model = tiny(4);
    let texts: Vec<&str> = reference.texts.iter().map(String::as_str).collect();
    let got = model.encode_texts(&texts).unwrap();
    check("text", &reference.texts, &got, &reference.text_vectors);
    let candle_ops = tiny_candle_ops(4).encode_texts(&texts).unwrap();
    check(
        "text (candle ops)",
        &reference.texts,
        &candle_ops,
        &reference.text_vectors,
    );
    same_vectors("text", &got, &candle_ops);
    // Alone or in a padded batch, a text gets the same vector.
    for (i, text) in texts.iter().enumerate() {
        let alone = model.encode_texts(&[text]).unwrap();
        assert!(cosine(&alone[0], &got[i]) > 0.99999, "{text:?}");
    }
}

#[test]
fn image_vectors_match_the_reference() {
    let reference = reference();
    let model = tiny(2);
    let paths: Vec<PathBuf> = reference
        .images
        .iter()
        .map(|n| fixtures().join("images").join(n))
        .collect();
    // CLIP's preprocessing first. For the PNGs, Pillow's resize reproduced byte for byte
    // gives the same pixel sums (up to float summation order). JPEG decoders differ
    // (the image crate's zune-jpeg and Pillow's libjpeg-turbo upsample 4:2:0 chroma
    // differently: up to 3 levels, 0.28 on average here), so the JPEG gets a looser
    // bound on the mean.
    for ((path, name), want) in paths
        .iter()
        .zip(&reference.images)
        .zip(&reference.pixel_sums)
    {
        let pixels = preprocess::load(path, 224).unwrap();
        assert_eq!(pixels.len(), 3 * 224 * 224);
        let sum: f64 = pixels.iter().map(|&v| f64::from(v)).sum();
        eprintln!("{name}: pixel sum {sum:.3}, reference {want:.3}");
        let bound = if name.ends_with(".png") {
            0.05
        } else {
            0.005 * pixels.len() as f64
        };
        assert!(
            (sum - want).abs() < bound,
            "{name}: pixel sum {sum}, want {want}"
        );
    }
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let got = model.encode_images(&refs).unwrap();
    check("image", &reference.images, &got, &reference.image_vectors);
    let candle_ops = tiny_candle_ops(2).encode_images(&refs).unwrap();
    check(
        "image (candle ops)",
        &reference.images,
        &candle_ops,
        &reference.image_vectors,
    );
    same_vectors("image", &got, &candle_ops);
    for (i, path) in refs.iter().enumerate() {
        let alone = model.encode_images(&[path]).unwrap();
        assert!(cosine(&alone[0], &got[i]) > 0.99999, "{}", path.display());
    }
}

#[test]
fn bad_images_are_bad_input_naming_the_file() {
    let model = tiny(4);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let text = dir.path().join("not-an-image.png");
    std::fs::write(&text, "this is not a PNG").unwrap();
    let good = fixtures().join("images/clip_gradient.png");
    let truncated = dir.path().join("truncated.png");
    std::fs::write(&truncated, &std::fs::read(&good).unwrap()[..200]).unwrap();
    for bad in [&missing, &text, &truncated] {
        match model.encode_images(&[good.as_path(), bad.as_path()]) {
            Err(e @ EncodeError::BadInput(_)) => {
                assert!(e.to_string().contains(&*bad.to_string_lossy()), "{e}")
            }
            other => panic!("{}: {other:?}", bad.display()),
        }
    }
}

#[test]
fn info_and_modality() {
    let model = tiny(4);
    let info = model.info();
    assert_eq!((info.name.as_str(), info.dim), ("clip", 16));
    assert_eq!(info.modality, Modality::TextAndImage);
    assert!(info.model_id.contains("clip-tiny"), "{}", info.model_id);
    assert!(info.version.starts_with("sha256-1mib:"), "{}", info.version);
    assert!(Modality::TextAndImage.reads(Modality::Text));
    assert!(Modality::TextAndImage.reads(Modality::Image));
    assert!(!Modality::Text.reads(Modality::Image));
    assert_eq!(Modality::TextAndImage.to_string(), "text and image");
    // Other weights, other version (one byte changed within the first MiB).
    let dir = tempfile::tempdir().unwrap();
    let mut weights = std::fs::read(fixtures().join("clip-tiny/model.safetensors")).unwrap();
    weights[500_000] ^= 1;
    std::fs::write(dir.path().join("model.safetensors"), weights).unwrap();
    std::fs::copy(
        fixtures().join("clip-tiny/config.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    let other = Clip::from_folder(dir.path(), tokenizer(), &EncoderOptions::default()).unwrap();
    assert_ne!(other.info().version, info.version);
}

#[test]
fn missing_weights_or_merges_say_what_to_do() {
    // No weights folder: the user must supply it.
    let empty = tempfile::tempdir().unwrap();
    let err = Clip::load(empty.path(), &EncoderOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, EncodeError::MissingUserWeights { .. })
            && msg.contains("clip-vit-b-32")
            && msg.contains("config.json")
            && msg.contains("model.safetensors")
            && msg.contains("QUIVER_MODELS"),
        "{msg}"
    );
    let registry = Registry::new(empty.path().to_path_buf(), EncoderOptions::default());
    assert!(registry.names().contains(&"clip".to_string()));
    assert!(matches!(
        registry.get("clip"),
        Err(EncodeError::MissingUserWeights { .. })
    ));
    // Weights present, merges not: fetch-models installs them.
    let folder = empty.path().join(clip::FOLDER);
    std::fs::create_dir(&folder).unwrap();
    for f in clip::FILES {
        std::fs::copy(fixtures().join("clip-tiny").join(f), folder.join(f)).unwrap();
    }
    let err = Clip::load(empty.path(), &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(err, EncodeError::MissingWeights { .. })
            && err.to_string().contains("clip-bpe")
            && err.to_string().contains("scripts/fetch-models"),
        "{err}"
    );
}
