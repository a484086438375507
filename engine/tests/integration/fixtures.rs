//! Checked-in damaged databases (tests/fixtures/*): each opens to the expected typed
//! error, or, for a torn WAL tail, to the data before the tear.
//!
//! Regenerate with `QUIVER_WRITE_FIXTURES=1 cargo test -p quiver --test integration fixtures::`.

use std::path::{Path, PathBuf};

use quiver::{Database, Durability, Error, Item, Metric, OpenOptions, Schema, WriteBatch};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a fixture into a fresh folder (opening writes: it cuts torn tails).
fn open_copy(name: &str) -> (tempfile::TempDir, quiver::Result<Database>) {
    let src = fixtures().join(name);
    assert!(
        src.is_dir(),
        "fixture {name} is missing: regenerate (see module docs)"
    );
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let db = Database::open(dir.path());
    (dir, db)
}

fn only_file(dir: &Path, suffix: &str) -> PathBuf {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    assert_eq!(
        found.len(),
        1,
        "{suffix} files in {}: {found:?}",
        dir.display()
    );
    found.remove(0)
}

/// The healthy base: 10 items in a segment, then 3 single-item commits in the WAL.
fn write_good(dir: &Path) {
    let db = OpenOptions::new()
        .durability(Durability::SyncEveryCommit)
        .open(dir)
        .unwrap();
    let schema = Schema::builder()
        .vector("v", 4, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..10 {
        batch.insert(Item::new(format!("s{i}")).set("v", vec![i as f32; 4]));
    }
    c.commit(batch).unwrap();
    c.flush().unwrap();
    for i in 0..3 {
        c.insert(Item::new(format!("w{i}")).set("v", vec![i as f32 + 0.5; 4]))
            .unwrap();
    }
}

fn edit(name: &str, suffix: &str, change: impl FnOnce(&mut Vec<u8>)) {
    let dir = fixtures().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixtures().join("good")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let file = only_file(&dir, suffix);
    let mut bytes = std::fs::read(&file).unwrap();
    change(&mut bytes);
    std::fs::write(&file, bytes).unwrap();
}

#[test]
fn regenerate_fixtures_when_asked() {
    if std::env::var_os("QUIVER_WRITE_FIXTURES").is_none() {
        return;
    }
    let good = fixtures().join("good");
    let _ = std::fs::remove_dir_all(&good);
    write_good(&good);
    let _ = std::fs::remove_file(good.join("LOCK"));
    // WAL: header 16 bytes, then three records of equal size.
    edit("torn_wal_tail", ".log", |b| b.truncate(b.len() - 7));
    // 16-byte file header, 12-byte frame, then the first payload: flip a bit in it.
    edit("wal_bad_crc_mid_log", ".log", |b| b[16 + 12 + 20] ^= 0x01);
    edit("wal_wrong_version", ".log", |b| b[8] = 99);
    edit("segment_truncated", ".qseg", |b| b.truncate(b.len() / 2));
    edit("segment_wrong_magic", ".qseg", |b| b[0] = b'X');
    edit("segment_wrong_version", ".qseg", |b| b[8] = 99);
    edit("manifest_bad_crc", "MANIFEST", |b| {
        let last = b.len() - 3;
        b[last] ^= 0x20;
    });
}

#[test]
fn good_fixture_opens_with_all_items() {
    let (_dir, db) = open_copy("good");
    let db = db.unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(snap.count(), 13);
    assert_eq!(
        snap.get("w2")
            .unwrap()
            .unwrap()
            .vector("v")
            .unwrap()
            .unwrap()
            .as_ref(),
        &[2.5; 4]
    );
}

#[test]
fn torn_wal_tail_is_cut_and_earlier_commits_survive() {
    let (dir, db) = open_copy("torn_wal_tail");
    let db = db.unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(
        snap.count(),
        12,
        "the torn last commit is gone, the rest is there"
    );
    assert!(snap.get("w2").unwrap().is_none());
    assert!(snap.get("w1").unwrap().is_some());
    db.collection("c")
        .unwrap()
        .insert(Item::new("after").set("v", vec![9.0; 4]))
        .unwrap();
    drop((snap, db));
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 13);
}

#[test]
fn bad_crc_mid_log_is_corrupted_with_file_and_offset() {
    let (_dir, db) = open_copy("wal_bad_crc_mid_log");
    match db.unwrap_err() {
        Error::Corrupted { path, offset, .. } => {
            assert!(path.to_string_lossy().ends_with(".log"), "{path:?}");
            assert_eq!(
                offset, 16,
                "the first record starts after the 16-byte header"
            );
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

#[test]
fn damaged_files_give_typed_errors() {
    type Expect = fn(&Error) -> bool;
    let cases: [(&str, &str, Expect); 5] = [
        ("segment_truncated", ".qseg", |e| {
            matches!(e, Error::Corrupted { .. })
        }),
        ("segment_wrong_magic", ".qseg", |e| {
            matches!(e, Error::Corrupted { offset: 0, .. })
        }),
        ("segment_wrong_version", ".qseg", |e| {
            matches!(
                e,
                Error::UnsupportedVersion {
                    found: 99,
                    supported: quiver_storage::segment::SEGMENT_VERSION,
                    ..
                }
            )
        }),
        ("wal_wrong_version", ".log", |e| {
            matches!(e, Error::UnsupportedVersion { found: 99, .. })
        }),
        ("manifest_bad_crc", "MANIFEST", |e| {
            matches!(e, Error::Corrupted { .. })
        }),
    ];
    for (name, file, expected) in cases {
        let (_dir, db) = open_copy(name);
        let err = db.unwrap_err();
        assert!(expected(&err), "{name}: got {err:?}");
        let path = match &err {
            Error::Corrupted { path, .. } | Error::UnsupportedVersion { path, .. } => path,
            _ => unreachable!(),
        };
        assert!(
            path.to_string_lossy().ends_with(file),
            "{name}: error names {path:?}"
        );
    }
}
