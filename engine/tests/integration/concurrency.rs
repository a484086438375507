//! Many readers and one writer: readers never see half a batch or a deleted item come
//! back, flush and compaction run while readers read, and concurrent committers share
//! fsyncs (group commit).

use crate::support::hooked_dir;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use hooked_dir::{FileHook, HookedDir};
use quiver::{Database, FsDirectory, Item, Metric, OpenOptions, Schema, WriteBatch, WriteFile};

const BATCH: usize = 8;

fn schema() -> Schema {
    Schema::builder()
        .vector("v", 4, Metric::L2)
        .build()
        .unwrap()
}

/// Batch `b` writes items b-0..b-7, all with vector [b; 4].
fn batch(b: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in 0..BATCH {
        w.insert(Item::new(format!("{b:05}-{i}")).set("v", vec![b as f32; 4]));
    }
    w
}

#[test]
fn readers_see_whole_batches_while_writer_flushes_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let db = OpenOptions::new()
        .memtable_bytes(16 << 10)
        .open(dir.path())
        .unwrap();
    let c = db.create_collection("c", schema()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let snap = db.snapshot().collection("c").unwrap();
                    let count = snap.count() as usize;
                    assert_eq!(count % BATCH, 0, "a snapshot shows part of a batch");
                    let mut seen = std::collections::HashMap::<String, usize>::new();
                    for item in snap.scan() {
                        let id = item.id().unwrap();
                        let b: usize = id[..5].parse().unwrap();
                        assert_eq!(item.vector("v").unwrap().unwrap().as_ref(), &[b as f32; 4]);
                        *seen.entry(id[..5].to_string()).or_default() += 1;
                    }
                    assert!(
                        seen.values().all(|&n| n == BATCH),
                        "partial batch in scan: {seen:?}"
                    );
                    assert_eq!(seen.len() * BATCH, count);
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for b in 0..300 {
        c.commit(batch(b)).unwrap();
        if b % 10 == 9 {
            // Delete a whole earlier batch atomically.
            let mut del = WriteBatch::new();
            for i in 0..BATCH {
                del.delete(format!("{:05}-{i}", b - 9));
            }
            c.commit(del).unwrap();
        }
        if b % 50 == 49 {
            c.compact().unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(c.count().unwrap() as usize, (300 - 30) * BATCH);
    assert!(c.snapshot().unwrap().get("00000-0").unwrap().is_none());
}

/// File fsyncs that take 5 ms and are counted, like a slow disk.
#[derive(Debug)]
struct SlowSyncs {
    syncs: Arc<AtomicU64>,
}

#[derive(Debug)]
struct SlowFile {
    inner: Box<dyn WriteFile>,
    syncs: Arc<AtomicU64>,
}

impl WriteFile for SlowFile {
    fn write_all(&mut self, data: &[u8]) -> quiver::Result<()> {
        self.inner.write_all(data)
    }
    fn sync(&mut self) -> quiver::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(5));
        self.inner.sync()
    }
    fn truncate(&mut self, len: u64) -> quiver::Result<()> {
        self.inner.truncate(len)
    }
}

impl FileHook for SlowSyncs {
    fn wrap(&self, _path: std::path::PathBuf, inner: Box<dyn WriteFile>) -> Box<dyn WriteFile> {
        Box::new(SlowFile {
            inner,
            syncs: self.syncs.clone(),
        })
    }
}

#[test]
fn concurrent_committers_share_fsyncs() {
    let tmp = tempfile::tempdir().unwrap();
    let syncs = Arc::new(AtomicU64::new(0));
    let dir = HookedDir {
        inner: FsDirectory::open(tmp.path()).unwrap(),
        hook: SlowSyncs {
            syncs: syncs.clone(),
        },
    };
    let db = Database::open_in(Arc::new(dir), OpenOptions::default()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let before = syncs.load(Ordering::SeqCst);
    let threads = 8;
    let per_thread = 25;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let c = db.collection("c").unwrap();
            thread::spawn(move || {
                for k in 0..per_thread {
                    c.commit(batch(t * 1000 + k)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let commits = (threads * per_thread) as u64;
    let used = syncs.load(Ordering::SeqCst) - before;
    assert_eq!(
        db.collection("c").unwrap().count().unwrap(),
        commits * BATCH as u64
    );
    // Every commit is durable when it returns, yet committers that queue behind an
    // fsync in progress are written and synced together by the next leader.
    assert!(
        used * 2 < commits,
        "{used} fsyncs for {commits} commits: no group commit"
    );
    eprintln!("{commits} commits from {threads} threads took {used} WAL fsyncs");
}

#[test]
fn periodic_durability_syncs_in_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let counting = quiver::FaultyDirectory::new(
        Arc::new(FsDirectory::open(tmp.path()).unwrap()),
        quiver::FaultKind::Sync,
        u64::MAX, // never fails: only counts fsyncs
        false,
    );
    let options =
        OpenOptions::new().durability(quiver::Durability::Periodic(Duration::from_secs(3600)));
    let db = Database::open_in(Arc::new(counting.clone()), options).unwrap();
    let c = db.create_collection("c", schema()).unwrap();
    let before = counting.attempts();
    c.commit(batch(1)).unwrap();
    assert_eq!(
        counting.attempts(),
        before,
        "an hour-long period does not sync at commit"
    );
    drop((c, db));
    assert!(
        counting.attempts() > before,
        "closing syncs what the period left"
    );

    let counting = quiver::FaultyDirectory::new(
        Arc::new(FsDirectory::open(tmp.path()).unwrap()),
        quiver::FaultKind::Sync,
        u64::MAX,
        false,
    );
    let options =
        OpenOptions::new().durability(quiver::Durability::Periodic(Duration::from_millis(5)));
    let db = Database::open_in(Arc::new(counting.clone()), options).unwrap();
    let before = counting.attempts();
    db.collection("c").unwrap().commit(batch(2)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while counting.attempts() == before && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(
        counting.attempts() > before,
        "the background thread synced the commit"
    );
}
