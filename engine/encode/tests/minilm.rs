//! MiniLM in Rust (candle) against the reference implementation's vectors for the
//! same sentences (`tests/fixtures/minilm_reference.json`, written by
//! `scripts/encoders/minilm_reference.py` with sentence-transformers): cosine >= 0.999
//! for every sentence, including a text longer than 256 tokens and non-English ones.
//! Needs the weights from `scripts/fetch-models` (CI runs it first).

#[path = "support/parity.rs"]
mod parity;
use parity::{cosine, norm};
use quiver_encode::minilm::{self, MiniLm};
use quiver_encode::{EncodeError, Encoder, EncoderOptions, Modality, Registry, models_dir};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn load() -> MiniLm {
    MiniLm::load(&models_dir(), &EncoderOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn matches_the_reference_implementation() {
    let reference: Reference =
        serde_json::from_str(include_str!("fixtures/minilm_reference.json")).unwrap();
    let model = load();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    // Batches of 4, as the reference did, so padding is exercised.
    let got = model.encode_texts(&texts).unwrap();
    assert_eq!(got.len(), texts.len());
    let mut lowest = f32::INFINITY;
    for ((text, ours), theirs) in texts.iter().zip(&got).zip(&reference.vectors) {
        assert_eq!(ours.len(), minilm::DIM);
        let c = cosine(ours, theirs);
        lowest = lowest.min(c);
        let short: String = text.chars().take(40).collect();
        assert!(c >= 0.999, "{short:?}: cosine {c}");
        let norm = norm(ours);
        assert!((norm - 1.0).abs() < 1e-4, "{short:?}: norm {norm}");
    }
    eprintln!(
        "lowest cosine to the reference over {} texts: {lowest:.6}",
        texts.len()
    );
    // Alone or in a batch, a text gets the same vector (padding is masked out).
    let alone = model.encode_texts(&texts[..1]).unwrap();
    assert!(cosine(&alone[0], &got[0]) > 0.99999);
}

#[test]
fn registry_names_loads_and_refuses() {
    let registry = Registry::default();
    assert!(registry.names().contains(&"minilm".to_string()));
    let encoder = registry.get("minilm").unwrap();
    let info = encoder.info();
    assert_eq!((info.modality, info.dim), (Modality::Text, 384));
    assert!(matches!(
        encoder.encode_images(&[std::path::Path::new("x.png")]),
        Err(EncodeError::WrongModality { .. })
    ));
    let err = registry.get("nope").unwrap_err();
    assert!(err.to_string().contains("minilm"), "{err}");
    // A models folder without the weights says how to fetch them.
    let empty = tempfile::tempdir().unwrap();
    let err = MiniLm::load(empty.path(), &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(err, EncodeError::MissingWeights { .. })
            && err.to_string().contains("scripts/fetch-models"),
        "{err}"
    );
}
