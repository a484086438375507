//! `quiver-bench fused`: a two-column fused query against a one-column query through
//! the engine, at the same per-column search settings (so the same per-column recall).
//! The dataset's base vectors are column `a`; column `b` gives item i the base vector of
//! row `(i * 7919 + 13) % n` (another embedding with different neighbours, same
//! distribution). Query i asks `a` for query row i and `b` for query row i + 1.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::{Database, FusedQuery, Fusion, IndexSpec, Item, Schema, SearchOptions, WriteBatch};

use crate::ann::data::Dataset;

/// Creates the collection, loads both columns and builds HNSW on each.
fn load(db: &Database, ds: &Dataset) -> Result<quiver::Collection> {
    let n = ds.base.rows;
    let dim = ds.base.dim as u32;
    let schema = Schema::builder()
        .vector("a", dim, ds.metric)
        .vector("b", dim, ds.metric)
        .build()?;
    let c = db.create_collection("items", schema)?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let mut batch = WriteBatch::new();
        for &i in chunk {
            batch.insert(
                Item::new(format!("{i:07}"))
                    .set("a", ds.base.row(i).to_vec())
                    .set("b", ds.base.row((i * 7919 + 13) % n).to_vec()),
            );
        }
        c.commit(batch)?;
    }
    c.flush()?;
    let t = Instant::now();
    c.create_index("a", IndexSpec::hnsw())?;
    let first = t.elapsed().as_secs_f64();
    c.create_index("b", IndexSpec::hnsw())?;
    let both = t.elapsed().as_secs_f64();
    eprintln!(
        "loaded {n} items, built two HNSW indexes in {both:.1}s (on a: {first:.1}s, then on b: {:.1}s)",
        both - first
    );
    Ok(c)
}

/// The dataset, and the bench database under `dir` holding it as collection `items`
/// (columns `a` and `b`, HNSW on each). A folder that already holds it is reused (the
/// load and the two index builds take minutes).
pub fn open_or_load(data: &Path, dir: &Path) -> Result<(Dataset, Database, quiver::Collection)> {
    let ds = Dataset::load(data)?;
    let db = Database::open(dir).context("opening the bench database")?;
    let c = match db.collection("items") {
        Ok(c) if c.count()? == ds.base.rows as u64 => c,
        _ => load(&db, &ds)?,
    };
    Ok((ds, db, c))
}

/// What one run measured.
#[derive(Debug)]
pub struct FusedReport {
    pub rows: usize,
    pub queries: usize,
    pub single_qps: f64,
    /// Default plan: 40 candidates per column, widened until the threshold holds.
    pub fused_qps: f64,
    /// 40 candidates per column, never widened.
    pub fused_fixed_qps: f64,
    /// Mean rounds of the default plan, and the share of queries it proved.
    pub mean_rounds: f64,
    pub proven: f64,
}

/// Loads `data` into a fresh database under `dir`, builds HNSW on both columns, then
/// times `queries` single-column and fused (weighted 0.5/0.5) top-10 queries with `ef`.
pub fn run(data: &Path, dir: &Path, queries: usize, ef: usize) -> Result<FusedReport> {
    let (ds, _db, c) = open_or_load(data, dir)?;
    let snap = c.snapshot()?;
    let options = SearchOptions::default().ef(ef);
    let queries = queries.min(ds.query.rows.saturating_sub(1));

    let t = Instant::now();
    for i in 0..queries {
        let hits = snap.search("a", ds.query.row(i), 10, &options)?;
        std::hint::black_box(hits);
    }
    let single_qps = queries as f64 / t.elapsed().as_secs_f64();

    let fused = |widen: bool| -> Result<(f64, f64, f64)> {
        let (mut search_us, mut rescore_us, mut rounds, mut proven) = (0u128, 0u128, 0, 0);
        let t = Instant::now();
        for i in 0..queries {
            let mut q = FusedQuery::new(Fusion::Weighted(vec![0.5, 0.5]))
                .column("a", ds.query.row(i))
                .column("b", ds.query.row(i + 1));
            q.options = options;
            q.widen = widen;
            let (hits, explain) = snap.fused_search(&q, 10, None)?;
            search_us += explain.columns.iter().map(|c| c.micros).sum::<u128>();
            rescore_us += explain.rescore_micros;
            rounds += explain.rounds;
            proven += usize::from(explain.proven == Some(true));
            std::hint::black_box(hits);
            if i == 0 {
                eprintln!("normalization: {:?}", explain.normalization);
            }
        }
        let qps = queries as f64 / t.elapsed().as_secs_f64();
        let per = queries.max(1);
        eprintln!(
            "fused (widen: {widen}) per query: column searches {} us, union re-scoring and fusion {} us, {:.2} rounds, {proven} of {queries} proven",
            search_us / per as u128,
            rescore_us / per as u128,
            rounds as f64 / per as f64
        );
        Ok((qps, rounds as f64 / per as f64, proven as f64 / per as f64))
    };
    let (fused_fixed_qps, _, _) = fused(false)?;
    let (fused_qps, mean_rounds, proven) = fused(true)?;
    Ok(FusedReport {
        rows: ds.base.rows,
        queries,
        single_qps,
        fused_qps,
        fused_fixed_qps,
        mean_rounds,
        proven,
    })
}
