//! Regression: compaction must not delete its output segment after a manifest store
//! that failed at the folder fsync. By then the rename had already put the new
//! manifest (naming the output) in place, so deleting the output left a database that
//! no longer opened: "I/O error on .../seg-0000000003.qseg: No such file or directory".

use std::sync::Arc;

use quiver::{
    Collection, Database, Error, FaultKind, FaultyDirectory, FsDirectory, Item, Metric,
    OpenOptions, Schema,
};

fn write(coll: &Collection, batch: u32) {
    let mut b = quiver::WriteBatch::new();
    for j in 0..3 {
        b.insert(Item::new(format!("b{batch}-{j}")).set("v", vec![batch as f32, j as f32]));
    }
    coll.commit(b).unwrap();
}

/// Two segments, ready to be compacted.
fn two_segments(db: &Database) -> Collection {
    let schema = Schema::builder()
        .vector("v", 2, Metric::L2)
        .build()
        .unwrap();
    let coll = db.create_collection("c", schema).unwrap();
    for batch in 0..2 {
        write(&coll, batch);
        coll.flush().unwrap();
    }
    coll
}

#[test]
fn a_failed_folder_fsync_after_the_compaction_manifest_keeps_the_db_openable() {
    // The last fsync a compaction performs is the folder's, after the manifest rename.
    let last_sync_of_compaction = {
        let scratch = tempfile::tempdir().unwrap();
        let fs = Arc::new(FsDirectory::open(scratch.path()).unwrap());
        let counting = FaultyDirectory::new(fs, FaultKind::Sync, u64::MAX, false);
        let db = Database::open_in(Arc::new(counting.clone()), OpenOptions::default()).unwrap();
        two_segments(&db).compact().unwrap();
        counting.attempts()
    };

    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsDirectory::open(dir.path()).unwrap());
    let faulty = FaultyDirectory::new(fs, FaultKind::Sync, last_sync_of_compaction, false);
    let db = Database::open_in(Arc::new(faulty.clone()), OpenOptions::default()).unwrap();
    let coll = two_segments(&db);
    let err = coll.compact().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(faulty.failures(), 1);
    assert!(matches!(coll.flush(), Err(Error::Poisoned { .. })));
    drop((coll, db));

    let db = Database::open(dir.path()).expect("the database opens after the failure");
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(snap.count(), 6);
    for batch in 0..2 {
        for j in 0..3 {
            let item = snap.get(&format!("b{batch}-{j}")).unwrap().unwrap();
            assert_eq!(
                item.vector("v").unwrap().as_deref(),
                Some(&[batch as f32, j as f32][..])
            );
        }
    }
}
