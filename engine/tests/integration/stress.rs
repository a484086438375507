//! Concurrency stress for a bounded time (3 s here; `QUIVER_STRESS_SECS=120` for a long
//! run): one writer commits batches of 8 items, deletes whole earlier batches, and
//! flushes, compacts and (once) builds an HNSW index that every later segment then
//! carries, while four readers scan and search. Readers never see part of a batch, a
//! deleted batch, or a search hit that their own snapshot does not hold whole; at the
//! end, and after reopening, the database holds exactly the acknowledged batches.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quiver::{
    CollectionSnapshot, Database, IndexSpec, Item, Metric, OpenOptions, Schema, SearchOptions,
    WriteBatch,
};

const BATCH: usize = 8;

/// Batch `b`: items `b-0..b-7`, all with vector [b; 4].
fn batch(b: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in 0..BATCH {
        w.insert(Item::new(format!("{b:06}-{i}")).set("v", vec![b as f32; 4]));
    }
    w
}

fn batch_of(id: &str) -> usize {
    id[..6].parse().expect("batch number")
}

/// Whether every item of batch `b` is in `snap`.
fn whole(snap: &CollectionSnapshot, b: usize) -> bool {
    (0..BATCH).all(|i| snap.get(&format!("{b:06}-{i}")).unwrap().is_some())
}

/// One reader's pass: a full scan and a search, both checked against the snapshot.
fn check(snap: &CollectionSnapshot, query: f32) -> Result<(), String> {
    let mut per_batch = std::collections::HashMap::<usize, usize>::new();
    for item in snap.scan() {
        let id = item.id().map_err(|e| e.to_string())?;
        let b = batch_of(id);
        if item.vector("v").map_err(|e| e.to_string())?.as_deref() != Some(&[b as f32; 4][..]) {
            return Err(format!("{id}: wrong vector"));
        }
        *per_batch.entry(b).or_default() += 1;
    }
    if let Some((b, n)) = per_batch.iter().find(|(_, n)| **n != BATCH) {
        return Err(format!("scan shows {n} of batch {b}'s {BATCH} items"));
    }
    if per_batch.len() * BATCH != snap.count() as usize {
        return Err(format!(
            "count {} vs scan {}",
            snap.count(),
            per_batch.len() * BATCH
        ));
    }
    let hits = snap
        .search("v", &[query; 4], 10, &SearchOptions::default().ef(64))
        .map_err(|e| e.to_string())?;
    for hit in &hits {
        let id = hit.item.id().map_err(|e| e.to_string())?;
        if !per_batch.contains_key(&batch_of(id)) || !whole(snap, batch_of(id)) {
            return Err(format!(
                "search hit {id} is not a whole live batch of its snapshot"
            ));
        }
    }
    Ok(())
}

#[test]
fn readers_stay_consistent_under_a_busy_writer() {
    let secs: u64 = std::env::var("QUIVER_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let db = OpenOptions::new()
        .memtable_bytes(32 << 10)
        .open(dir.path())
        .unwrap();
    let schema = Schema::builder()
        .vector("v", 4, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let (db, stop, written) = (db.clone(), stop.clone(), written.clone());
            thread::spawn(move || -> Result<u64, String> {
                let mut passes = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let snap = db.snapshot().collection("c").map_err(|e| e.to_string())?;
                    let query =
                        (written.load(Ordering::Relaxed) as f32 * (r as f32 + 1.0) / 5.0).floor();
                    check(&snap, query)?;
                    passes += 1;
                }
                Ok(passes)
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut live: BTreeSet<usize> = BTreeSet::new();
    let (mut b, mut flushes, mut compactions) = (0usize, 0u32, 0u32);
    while Instant::now() < deadline {
        c.commit(batch(b)).unwrap();
        live.insert(b);
        written.store(b as u64, Ordering::Relaxed);
        if b % 7 == 6 {
            // Delete a whole earlier batch atomically.
            let gone = b - 5;
            let mut del = WriteBatch::new();
            for i in 0..BATCH {
                del.delete(format!("{gone:06}-{i}"));
            }
            c.commit(del).unwrap();
            live.remove(&gone);
        }
        if b % 40 == 39 {
            c.flush().unwrap();
            flushes += 1;
        }
        if b == 120 {
            c.create_index("v", IndexSpec::hnsw().m(8).ef_construction(32))
                .unwrap();
        }
        if b % 200 == 199 {
            c.compact().unwrap();
            compactions += 1;
        }
        b += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let passes: Vec<u64> = readers
        .into_iter()
        .map(|r| r.join().unwrap().unwrap_or_else(|e| panic!("reader: {e}")))
        .collect();
    eprintln!(
        "stress {secs}s: {b} batches, {} live, {flushes} flushes, {compactions} compactions, reader passes {passes:?}",
        live.len()
    );
    assert!(passes.iter().all(|&p| p > 0));
    assert!(b > 120, "the index build was reached ({b} batches)");

    let expect = |db: &Database| {
        let snap = db.snapshot().collection("c").unwrap();
        assert_eq!(snap.count() as usize, live.len() * BATCH);
        for &l in &live {
            assert!(whole(&snap, l), "batch {l} lost");
        }
        check(&snap, 3.0).unwrap();
    };
    expect(&db);
    drop(c);
    drop(db);
    expect(&Database::open(dir.path()).unwrap());
}
