//! `quiver-bench batch`: a batch of top-k queries on one column through the engine
//! (`CollectionSnapshot::search`, ids read out as strings) in a rayon pool, timed
//! whole: the Rust side of the Python bindings' `Collection.search_batch` comparison
//! (`scripts/bench/python_batch.sh` runs both on the same database).
//!
//! The database is `quiver-bench fused`'s (collection `items`, column `a` = the
//! dataset's base vectors, HNSW), built on first use.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use quiver::SearchOptions;
use rayon::prelude::*;

use crate::fused::open_or_load;

/// Queries per second of each repetition.
pub fn run(
    data: &Path,
    dir: &Path,
    ef: usize,
    k: usize,
    threads: usize,
    reps: usize,
) -> Result<Vec<f64>> {
    let (ds, _db, c) = open_or_load(data, dir)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let options = SearchOptions::default().ef(ef);
    let n = ds.query.rows;
    let mut qps = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        // As search_batch: a fresh snapshot per batch, ids copied out as strings.
        let found = pool.install(|| -> quiver::Result<Vec<Vec<(String, f32)>>> {
            let snap = c.snapshot()?;
            (0..n)
                .into_par_iter()
                .map(|i| {
                    snap.search("a", ds.query.row(i), k, &options)?
                        .iter()
                        .map(|h| Ok((h.item.id()?.to_string(), h.distance)))
                        .collect()
                })
                .collect()
        })?;
        qps.push(n as f64 / t.elapsed().as_secs_f64());
        std::hint::black_box(found);
    }
    Ok(qps)
}
