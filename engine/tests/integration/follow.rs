//! Read-only databases that follow their writer (`follow.rs`): every commit, flush,
//! compaction, index build and schema change of a writer opened on the same folder
//! shows in the reader's next snapshot, never half a batch, and a writer killed
//! mid-append leaves a reader serving what was committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quiver::{
    AttrColumn, AttrType, ColumnKind, Database, IndexSpec, Item, Metric, OpenOptions, Schema,
    SearchOptions, WriteBatch,
};

const BATCH: usize = 8;

fn schema() -> Schema {
    Schema::builder()
        .vector("v", 4, Metric::L2)
        .build()
        .unwrap()
}

/// Batch `b`: items b-0..b-7 with vector [b; 4].
fn batch(b: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in 0..BATCH {
        w.insert(Item::new(format!("{b:05}-{i}")).set("v", vec![b as f32; 4]));
    }
    w
}

fn reader(path: &std::path::Path) -> Database {
    OpenOptions::new()
        .read_only(true)
        .refresh_every(Duration::ZERO)
        .open(path)
        .unwrap()
}

/// Every item of collection `c` as (id, vector), sorted.
fn contents(db: &Database, c: &str) -> Vec<(String, Vec<f32>)> {
    let snap = db.snapshot().collection(c).unwrap();
    let mut all: Vec<(String, Vec<f32>)> = snap
        .scan()
        .map(|i| {
            (
                i.id().unwrap().to_string(),
                i.vector("v").unwrap().unwrap().to_vec(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn a_reader_follows_commits_flushes_compactions_indexes_and_schema_changes() {
    let dir = tempfile::tempdir().unwrap();
    let writer = OpenOptions::new()
        .memtable_bytes(16 << 10)
        .open(dir.path())
        .unwrap();
    let follower = reader(dir.path());
    assert!(follower.collection_names().is_empty());

    let c = writer.create_collection("c", schema()).unwrap();
    c.commit(batch(0)).unwrap();
    assert_eq!(follower.collection_names(), ["c"]);
    assert_eq!(contents(&follower, "c"), contents(&writer, "c"));
    assert_eq!(contents(&follower, "c").len(), BATCH);

    // Flushed: the rows move from the WAL to a segment, and the WAL file is retired.
    c.flush().unwrap();
    assert_eq!(contents(&follower, "c"), contents(&writer, "c"));
    for b in 1..40 {
        c.commit(batch(b)).unwrap();
        if b % 7 == 0 {
            c.delete(&format!("{:05}-3", b - 1)).unwrap();
        }
        if b % 10 == 0 {
            c.flush().unwrap();
        }
        assert_eq!(
            contents(&follower, "c"),
            contents(&writer, "c"),
            "after batch {b}"
        );
    }
    c.compact().unwrap();
    assert_eq!(contents(&follower, "c"), contents(&writer, "c"));

    // An index built by the writer answers the reader's searches.
    c.create_index("v", IndexSpec::hnsw()).unwrap();
    let search = |db: &Database| -> Vec<String> {
        let snap = db.snapshot().collection("c").unwrap();
        snap.search("v", &[12.0; 4], 5, &SearchOptions::default())
            .unwrap()
            .iter()
            .map(|h| h.item.id().unwrap().to_string())
            .collect()
    };
    assert_eq!(search(&follower), search(&writer));

    // Schema changes and new and dropped collections.
    c.add_column(
        "title",
        ColumnKind::Attr(AttrColumn { ty: AttrType::Text }),
        true,
    )
    .unwrap();
    let mut titled = WriteBatch::new();
    titled.insert(Item::new("t").set("v", vec![0.5; 4]).set("title", "hello"));
    c.commit(titled).unwrap();
    let snap = follower.snapshot().collection("c").unwrap();
    assert!(snap.schema().column("title").is_ok());
    let t = snap.get("t").unwrap().unwrap();
    assert_eq!(
        t.value("title").unwrap(),
        quiver::Value::Text("hello".into())
    );
    writer.create_collection("d", schema()).unwrap();
    writer.drop_collection("c").unwrap();
    assert_eq!(follower.collection_names(), ["d"]);
    assert!(follower.refresh().is_ok());
    assert!(!follower.refresh().unwrap(), "nothing new");
}

#[test]
fn readers_in_other_handles_see_whole_batches_and_every_acknowledged_one() {
    let dir = tempfile::tempdir().unwrap();
    let writer = OpenOptions::new()
        .memtable_bytes(8 << 10)
        .open(dir.path())
        .unwrap();
    let c = writer.create_collection("c", schema()).unwrap();
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (path, acked, stop) = (dir.path().to_path_buf(), acked.clone(), stop.clone());
            thread::spawn(move || {
                let db = reader(&path);
                let mut checks = 0;
                let mut last_count = 0;
                while !stop.load(Ordering::Relaxed) {
                    let before = acked.load(Ordering::SeqCst);
                    // Within 1 s of the ack, a refresh succeeds (the writer may
                    // change the manifest under a few in a row).
                    let deadline = Instant::now() + Duration::from_secs(1);
                    while db.refresh().is_err() {
                        assert!(Instant::now() < deadline, "no refresh within 1 s");
                    }
                    let snap = db.snapshot().collection("c").unwrap();
                    let count = snap.count() as usize;
                    assert_eq!(count % BATCH, 0, "a snapshot shows part of a batch");
                    assert!(
                        count >= before * BATCH,
                        "batch {before} acknowledged, {count} items seen"
                    );
                    assert!(count >= last_count, "a row went away");
                    last_count = count;
                    let mut seen = std::collections::HashMap::<usize, usize>::new();
                    for item in snap.scan() {
                        let b: usize = item.id().unwrap()[..5].parse().unwrap();
                        assert_eq!(item.vector("v").unwrap().unwrap().as_ref(), &[b as f32; 4]);
                        *seen.entry(b).or_default() += 1;
                    }
                    assert!(
                        seen.values().all(|&n| n == BATCH),
                        "a batch seen in part or twice"
                    );
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let started = Instant::now();
    let mut b = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        c.commit(batch(b)).unwrap();
        b += 1;
        acked.store(b, Ordering::SeqCst);
        if b % 25 == 0 {
            c.compact().unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(b > 25, "the writer committed {b} batches");
}

#[test]
fn a_writer_killed_mid_append_leaves_the_reader_on_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Database::open(dir.path()).unwrap();
    let c = writer.create_collection("c", schema()).unwrap();
    c.commit(batch(0)).unwrap();
    c.commit(batch(1)).unwrap();
    drop((c, writer));
    let follower = reader(dir.path());
    assert_eq!(contents(&follower, "c").len(), 2 * BATCH);
    // What a kill -9 mid-append leaves: the first bytes of a record.
    let wal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .max()
        .unwrap();
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(&[200, 1, 0, 0, 7, 7]);
    std::fs::write(&wal, &bytes).unwrap();
    assert!(!follower.refresh().unwrap());
    assert_eq!(contents(&follower, "c").len(), 2 * BATCH);
    // The writer restarts (cutting the torn tail) and goes on.
    let writer = Database::open(dir.path()).unwrap();
    writer.collection("c").unwrap().commit(batch(2)).unwrap();
    assert_eq!(contents(&follower, "c").len(), 3 * BATCH);
    assert_eq!(contents(&follower, "c"), contents(&writer, "c"));
}

#[test]
fn a_reader_of_a_folder_that_is_no_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = OpenOptions::new()
        .read_only(true)
        .open(dir.path().join("nowhere"));
    assert!(missing.is_err());
    let empty = OpenOptions::new().read_only(true).open(dir.path());
    let e = empty.unwrap_err().to_string();
    assert!(e.contains("not a Quiver database"), "{e}");
}
