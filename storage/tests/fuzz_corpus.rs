//! The storage fuzz targets' bodies over their committed corpora
//! (`fuzz/corpus/{wal_replay,segment_open,manifest_open}/seed-*`: the real files the
//! targets start from plus the inputs their runs kept for new coverage), on the
//! stable toolchain: each returns (values or typed errors) for every one.

use std::path::Path;

use quiver_storage::exercise::{
    read_manifest_bytes, read_segment_bytes, read_wal_bytes, schema_with_every_kind,
};

/// Runs `body` over every seed of `target`'s corpus; returns how many there were.
fn over_corpus(target: &str, body: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
        {
            body(&std::fs::read(&path).unwrap());
            seeds += 1;
        }
    }
    seeds
}

#[test]
fn every_seed_decodes_or_fails_typed() {
    let schema = schema_with_every_kind();
    let wal = over_corpus("wal_replay", |data| read_wal_bytes(&schema, data));
    let segment = over_corpus("segment_open", |data| read_segment_bytes(&schema, data));
    let manifest = over_corpus("manifest_open", read_manifest_bytes);
    for (target, seeds) in [
        ("wal_replay", wal),
        ("segment_open", segment),
        ("manifest_open", manifest),
    ] {
        assert!(seeds >= 10, "{target}: {seeds} seeds");
    }
}
