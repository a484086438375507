//! The sentence-transformers text models in Rust against the reference
//! implementation's vectors for the same sentences (`tests/fixtures/<model>_reference.json`,
//! written by `scripts/encoders/text_reference.py` with sentence-transformers on
//! PyTorch): cosine >= 0.99999 for every sentence, including a text longer than the
//! model's token limit and non-English ones. Needs the weights from
//! `scripts/fetch-models` (CI runs it first).

use crate::parity::{cosine, norm};
use quiver_encode::sentence::{MINILM, MPNET, SentenceEncoder, TextModel};
use quiver_encode::{EncodeError, Encoder, EncoderOptions, Modality, Registry, models_dir};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn load(spec: &TextModel) -> SentenceEncoder {
    SentenceEncoder::load(&models_dir(), spec, &EncoderOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn matches_the_reference(spec: &TextModel, fixture: &str) {
    let reference: Reference = serde_json::from_str(fixture).unwrap();
    let model = load(spec);
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let got = model.encode_texts(&texts).unwrap();
    assert_eq!(got.len(), texts.len());
    let mut lowest = f32::INFINITY;
    for ((text, ours), theirs) in texts.iter().zip(&got).zip(&reference.vectors) {
        assert_eq!(ours.len(), spec.dim);
        let c = cosine(ours, theirs);
        lowest = lowest.min(c);
        let short: String = text.chars().take(40).collect();
        assert!(c >= 0.99999, "{}: {short:?}: cosine {c}", spec.name);
        let norm = norm(ours);
        assert!((norm - 1.0).abs() < 1e-4, "{short:?}: norm {norm}");
    }
    eprintln!(
        "{}: lowest cosine to the reference over {} texts: {lowest:.7}",
        spec.name,
        texts.len()
    );
    // Alone or in a batch, a text gets the same vector (no padding to leak in).
    let alone = model.encode_texts(&texts[..1]).unwrap();
    assert!(cosine(&alone[0], &got[0]) > 0.99999);
}

#[test]
fn minilm_matches_the_reference_implementation() {
    matches_the_reference(&MINILM, include_str!("../fixtures/minilm_reference.json"));
}

#[test]
fn mpnet_matches_the_reference_implementation() {
    matches_the_reference(&MPNET, include_str!("../fixtures/mpnet_reference.json"));
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
    let err = SentenceEncoder::load(empty.path(), &MPNET, &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(err, EncodeError::MissingWeights { .. })
            && err.to_string().contains("scripts/fetch-models"),
        "{err}"
    );
}

/// A 100,000-character text is cut at the model's token limit as sentence-transformers
/// cuts it (its vector is its first tokens'), an empty text still gets a unit vector.
#[test]
fn huge_and_empty_texts_encode() {
    let model = load(&MINILM);
    let huge = "red shoe ".repeat(11_112);
    assert!(huge.len() > 100_000);
    let prefix = "red shoe ".repeat(127);
    let got = model.encode_texts(&[&huge, "", &prefix]).unwrap();
    assert_eq!(got.len(), 3);
    for v in &got {
        assert!((norm(v) - 1.0).abs() < 1e-4);
    }
    // 254 word tokens + [CLS] + [SEP] = 256: the prefix is exactly what is kept.
    assert!(cosine(&got[0], &got[2]) > 0.99999);
}
