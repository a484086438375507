//! Storage benchmarks through the public API: ingest throughput with an fsync per
//! commit, the open time of a database holding a large sealed collection, and get-by-id
//! latency from segments and from the memtable.
//!
//! `QUIVER_BENCH_OPEN_ROWS` sets the size of the sealed collection (default 1,000,000
//! vectors of 384 floats, about 1.5 GB on disk, built once per run outside the timings).
//! Under `cargo test --benches` (criterion's test mode) every size drops to 10,000.

use std::cell::OnceCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use quiver::{CollectionSnapshot, Database, Durability, OpenOptions};
use quiver_bench::{
    DIM, TempDb, VECTOR_COLUMN, VectorGen, create_vector_collection, fill, random_ids,
    size_from_env,
};

const COLLECTION: &str = "c";
const BATCH: u64 = 1_000;
/// Memtable size while building the sealed collection: ~325k rows per segment.
const BUILD_MEMTABLE_BYTES: usize = 512 << 20;
/// Random ids cycled through by the open and get benchmarks.
const LOOKUP_IDS: usize = 1 << 16;

/// How many items each benchmark works on.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    ingest: u64,
    sealed: u64,
    memtable: u64,
}

impl Sizes {
    fn from_env() -> anyhow::Result<Sizes> {
        let args: Vec<String> = std::env::args().collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let test_mode = !has("--bench") || has("--test");
        let (ingest, sealed, memtable) = if test_mode {
            (10_000, 10_000, 10_000)
        } else {
            (100_000, 1_000_000, 100_000)
        };
        Ok(Sizes {
            ingest,
            sealed: size_from_env("QUIVER_BENCH_OPEN_ROWS", sealed)?,
            memtable,
        })
    }
}

/// A closed database whose one collection is all in segments, built on first use.
struct SealedDb {
    rows: u64,
    db: OnceCell<TempDb>,
}

impl SealedDb {
    fn get(&self) -> &TempDb {
        self.db
            .get_or_init(|| build_sealed(self.rows).expect("building the sealed database"))
    }
}

fn build_sealed(rows: u64) -> anyhow::Result<TempDb> {
    let started = Instant::now();
    let tmp = TempDb::new()?;
    let db = OpenOptions::new()
        .durability(Durability::Never)
        .memtable_bytes(BUILD_MEMTABLE_BYTES)
        .open(tmp.path())?;
    let coll = create_vector_collection(&db, COLLECTION, DIM)?;
    fill(&coll, &mut VectorGen::new(2, DIM), rows, BATCH)?;
    coll.flush()?;
    let info = db.info();
    eprintln!(
        "built {rows} x {DIM} sealed collection in {} segment(s) in {:.1?}",
        info.segments,
        started.elapsed()
    );
    Ok(tmp)
}

/// Sum of an item's vector: reads every byte of it.
fn vector_sum(snapshot: &CollectionSnapshot, id: &str) -> f32 {
    let item = snapshot.get(id).expect("get").expect("item exists");
    let vector = item
        .vector(VECTOR_COLUMN)
        .expect("vector")
        .expect("not null");
    vector.iter().sum()
}

/// Default options (fsync at every commit, 64 MiB memtable), so the timings include the
/// memtable flushes the inserts trigger; vectors are generated outside the timing.
fn bench_ingest(c: &mut Criterion, rows: u64) {
    let template = OnceCell::new();
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(rows));
    let name = format!("{rows}x{DIM}_batch{BATCH}_sync_every_commit");
    group.bench_function(name, |b| {
        let template =
            template.get_or_init(|| VectorGen::new(1, DIM).insert_batches(0..rows, BATCH));
        b.iter_batched(
            || {
                let tmp = TempDb::new().expect("temp dir");
                let db = Database::open(tmp.path()).expect("open");
                let coll = create_vector_collection(&db, COLLECTION, DIM).expect("create");
                (tmp, db, coll, template.clone())
            },
            |(tmp, db, coll, batches)| {
                for batch in batches {
                    coll.commit(batch).expect("commit");
                }
                (coll, db, tmp) // dropped in this order, outside the timing
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// `Database::open` (writable) plus one get, on a freshly built (page-cached) database.
fn bench_open(c: &mut Criterion, sealed: &SealedDb) {
    let ids = random_ids(sealed.rows, LOOKUP_IDS, 3);
    let mut next = 0;
    let mut group = c.benchmark_group("open");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let name = format!("{}x{DIM}_sealed_then_get", sealed.rows);
    group.bench_function(name, |b| {
        let path = sealed.get().path();
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let id = &ids[next % ids.len()];
                next += 1;
                let start = Instant::now();
                let db = Database::open(&path).expect("open");
                let snapshot = db.snapshot().collection(COLLECTION).expect("collection");
                black_box(vector_sum(&snapshot, id));
                timed += start.elapsed();
                drop((snapshot, db)); // unmapping and unlocking are not timed
            }
            timed
        })
    });
    group.finish();
}

/// One get of a random existing id plus a read of its whole vector, on a snapshot taken
/// once: from the sealed segments, then from a never-flushed memtable.
fn bench_get(c: &mut Criterion, sealed: &SealedDb, memtable_rows: u64) {
    let mut group = c.benchmark_group("get");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let segments: OnceCell<(Database, CollectionSnapshot)> = OnceCell::new();
    let ids = random_ids(sealed.rows, LOOKUP_IDS, 4);
    let mut next = 0;
    let name = format!("segments_{}x{DIM}", sealed.rows);
    group.bench_function(name, |b| {
        let (_, snapshot) = segments.get_or_init(|| {
            let db = Database::open(sealed.get().path()).expect("open");
            let snapshot = db.snapshot().collection(COLLECTION).expect("collection");
            (db, snapshot)
        });
        b.iter(|| {
            next += 1;
            vector_sum(snapshot, &ids[next % ids.len()])
        })
    });

    let memtable: OnceCell<(CollectionSnapshot, Database, TempDb)> = OnceCell::new();
    let ids = random_ids(memtable_rows, LOOKUP_IDS, 5);
    let name = format!("memtable_{memtable_rows}x{DIM}");
    group.bench_function(name, |b| {
        let (snapshot, _, _) = memtable.get_or_init(|| {
            let (tmp, db) = build_memtable_only(memtable_rows).expect("memtable database");
            let snapshot = db.snapshot().collection(COLLECTION).expect("collection");
            assert_eq!(snapshot.segment_count(), 0, "nothing may be flushed");
            (snapshot, db, tmp)
        });
        b.iter(|| {
            next += 1;
            vector_sum(snapshot, &ids[next % ids.len()])
        })
    });
    group.finish();
}

/// An open database whose collection lives entirely in the memtable (never flushed).
fn build_memtable_only(rows: u64) -> anyhow::Result<(TempDb, Database)> {
    let tmp = TempDb::new()?;
    let db = OpenOptions::new()
        .durability(Durability::Never)
        .memtable_bytes(usize::MAX)
        .open(tmp.path())?;
    let coll = create_vector_collection(&db, COLLECTION, DIM)?;
    fill(&coll, &mut VectorGen::new(6, DIM), rows, BATCH)?;
    Ok((tmp, db))
}

fn main() -> anyhow::Result<()> {
    let sizes = Sizes::from_env()?;
    let mut c = Criterion::default().configure_from_args();
    bench_ingest(&mut c, sizes.ingest);
    let sealed = SealedDb {
        rows: sizes.sealed,
        db: OnceCell::new(),
    };
    bench_open(&mut c, &sealed);
    bench_get(&mut c, &sealed, sizes.memtable);
    c.final_summary();
    Ok(())
}
