//! Regression tests for bugs found in review.

use std::sync::Arc;

use quiver::{
    Database, Error, FaultKind, FaultyDirectory, FsDirectory, Item, Metric, OpenOptions, Schema,
    WriteBatch,
};

fn filled(path: &std::path::Path) {
    let db = Database::open(path).unwrap();
    let c = db
        .create_collection(
            "c",
            Schema::builder()
                .vector("v", 2, Metric::L2)
                .build()
                .unwrap(),
        )
        .unwrap();
    for part in 0..3 {
        let mut batch = WriteBatch::new();
        for i in 0..20 {
            batch.insert(Item::new(format!("{part}-{i:02}")).set("v", vec![part as f32, i as f32]));
        }
        c.commit(batch).unwrap();
        c.flush().unwrap();
    }
    c.delete("1-05").unwrap();
    c.flush().unwrap();
}

/// A failed fsync of the folder after the manifest rename used to make compaction
/// delete the output segment that the new manifest already named: the database then
/// failed to open.
#[test]
fn any_failed_fsync_during_compaction_leaves_an_openable_database() {
    for n in 1..=12 {
        let tmp = tempfile::tempdir().unwrap();
        filled(tmp.path());
        let faulty = FaultyDirectory::new(
            Arc::new(FsDirectory::open(tmp.path()).unwrap()),
            FaultKind::Sync,
            n,
            false,
        );
        let outcome = Database::open_in(Arc::new(faulty.clone()), OpenOptions::default())
            .and_then(|db| db.collection("c")?.compact());
        let db = Database::open(tmp.path())
            .unwrap_or_else(|e| panic!("fsync #{n} failing ({outcome:?}) broke open: {e}"));
        let snap = db.snapshot().collection("c").unwrap();
        assert_eq!(snap.count(), 59, "fsync #{n}");
        assert!(snap.get("1-05").unwrap().is_none());
        assert_eq!(
            snap.get("2-19")
                .unwrap()
                .unwrap()
                .vector("v")
                .unwrap()
                .unwrap()
                .as_ref(),
            &[2.0, 19.0]
        );
        if faulty.failures() == 0 {
            break; // compaction needs fewer fsyncs than n: every point was covered
        }
    }
}

/// A writable open of a folder that lost its MANIFEST used to start a fresh database
/// and delete every segment as an orphan.
#[test]
fn missing_manifest_with_data_files_is_refused_and_nothing_is_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    filled(tmp.path());
    std::fs::remove_file(tmp.path().join("MANIFEST")).unwrap();
    let before: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let err = Database::open(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
    assert!(err.to_string().contains("MANIFEST is missing"), "{err}");
    let after: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len(), "no file was deleted");
}
