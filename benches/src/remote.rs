//! `quiver-bench remote`: opening a database and querying it, from a local folder or
//! from object storage through a cache folder, each run in a fresh process
//! (`scripts/bench/remote.sh` drives it: publish, then cold and warm opens of each).
//! One JSON line per run: the open's seconds, the first query's, recall@10 and QPS of
//! every repetition of the whole query set (a pool of `threads`).
//!
//! With `--load`, builds the database first when the folder lacks it: collection
//! `items`, the dataset's base vectors as column `v` with HNSW declared, loaded into
//! one memtable so a single flush writes one indexed segment (as a bulk load would).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::{Database, IndexSpec, Item, OpenOptions, Schema, SearchOptions, WriteBatch};
use rayon::prelude::*;

use crate::ann::data::Dataset;
use crate::ann::recall::recall_at;

/// Builds the bench database under `dir` unless it holds it already, column `v`
/// stored as `dtype`.
pub fn load(data: &Path, dir: &Path, dtype: quiver::DType) -> Result<()> {
    let ds = Dataset::load(data)?;
    if dir.join("MANIFEST").exists() {
        let db = OpenOptions::new().read_only(true).open(dir)?;
        if db.collection("items")?.count()? == ds.base.rows as u64 {
            return Ok(());
        }
        anyhow::bail!("{} holds another database", dir.display());
    }
    let t = Instant::now();
    let bytes = ds.base.rows * ds.base.dim * 4;
    let db = OpenOptions::new()
        .memtable_bytes(2 * bytes + (256 << 20))
        .durability(quiver::Durability::Never)
        .open(dir)
        .context("creating the bench database")?;
    let schema = Schema::builder()
        .typed_vector("v", ds.base.dim as u32, dtype, ds.metric)
        .build()?
        .with_index("v", Some(IndexSpec::hnsw()))?;
    let c = db.create_collection("items", schema)?;
    for chunk in (0..ds.base.rows).collect::<Vec<_>>().chunks(10_000) {
        let mut batch = WriteBatch::new();
        for &i in chunk {
            batch.insert(Item::new(format!("{i:07}")).set("v", ds.base.row(i).to_vec()));
        }
        c.commit(batch)?;
    }
    let loaded = t.elapsed().as_secs_f64();
    c.flush()?;
    eprintln!(
        "loaded {} rows in {loaded:.1}s, flushed with the HNSW build in {:.1}s",
        ds.base.rows,
        t.elapsed().as_secs_f64() - loaded
    );
    Ok(())
}

/// Opens `db` (a folder, or an `s3://` URL read through `cache`), then times the
/// first query and `reps` passes over all queries. Returns the JSON line.
pub fn run(
    data: &Path,
    db: &str,
    cache: Option<&Path>,
    ef: usize,
    threads: usize,
    reps: usize,
) -> Result<serde_json::Value> {
    let ds = Dataset::load(data)?;
    let mut options = OpenOptions::new().read_only(true);
    if let Some(cache) = cache {
        options = options.cache_dir(cache);
    }
    let t = Instant::now();
    let database: Database = options.open(db).with_context(|| format!("opening {db}"))?;
    let c = database.collection("items")?;
    let open_s = t.elapsed().as_secs_f64();
    let search = SearchOptions::default().ef(ef);
    let t = Instant::now();
    let first = c
        .snapshot()?
        .search("v", ds.query.row(0), 10, &search)?
        .len();
    let first_query_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(first == 10, "the first query found {first} items");

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let (mut qps, mut recall) = (Vec::new(), 0.0);
    for _ in 0..reps {
        let t = Instant::now();
        let found = pool.install(|| -> quiver::Result<Vec<Vec<u32>>> {
            let snap = c.snapshot()?;
            (0..ds.query.rows)
                .into_par_iter()
                .map(|i| {
                    snap.search("v", ds.query.row(i), 10, &search)?
                        .iter()
                        .map(|h| Ok(h.item.id()?.parse().unwrap_or(u32::MAX)))
                        .collect()
                })
                .collect()
        })?;
        qps.push(ds.query.rows as f64 / t.elapsed().as_secs_f64());
        recall = recall_at(&found, &ds, 10).recall;
    }
    Ok(serde_json::json!({
        "db": db,
        "rows": ds.base.rows,
        "open_s": open_s,
        "first_query_s": first_query_s,
        "recall_at_10": recall,
        "ef": ef,
        "threads": threads,
        "qps": qps,
    }))
}
