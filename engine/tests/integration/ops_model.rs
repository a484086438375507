//! The `ops_model` fuzz target's body (`quiver::exercise::ops_model`) on the stable
//! toolchain: over every committed seed (`fuzz/corpus/ops_model/seed-*`) and over
//! inputs from a seeded generator (`QUIVER_OPS_MODEL_CASES`, default 64).

use std::path::Path;

use quiver::exercise::ops_model;

#[test]
fn seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ops_model");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
        {
            continue;
        }
        let scratch = tempfile::tempdir().unwrap();
        ops_model(&std::fs::read(&path).unwrap(), scratch.path());
        seeds += 1;
    }
    assert!(seeds >= 5, "{seeds} seeds in {}", dir.display());
}

#[test]
fn seeded_random_inputs() {
    let cases: u64 = std::env::var("QUIVER_OPS_MODEL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for case in 0..cases {
        let len = 16 + (case % 7) as usize * 40;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let scratch = tempfile::tempdir().unwrap();
        let outcome = std::panic::catch_unwind(|| ops_model(&data, scratch.path()));
        assert!(outcome.is_ok(), "case {case} failed; input {data:?}");
    }
}
