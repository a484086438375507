//! `quiver-bench` holds what Quiver's benchmark binaries share: seeded random vectors,
//! stable item ids, sizes read from the environment, and throwaway databases in
//! temporary folders filled through the public `quiver` API. It measures nothing
//! itself (the criterion binaries under `benches/` do) and must use only `quiver`'s
//! public API, so that the numbers are the ones a user of the crate would see.
//!
//! Two exceptions time `quiver-index` directly: `benches/kernels.rs` (the distance
//! kernels) and [`ann`], the recall/QPS suite behind the `quiver-bench` binary, which
//! benchmarks the indexes over in-memory datasets (as the peer libraries are
//! benchmarked) and writes results the peer script's tools can read.

pub mod ann;
pub mod batch;
pub mod bm25;
pub mod encode;
pub mod fused;
pub mod remote;

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context;
use quiver::{Collection, Database, Item, Metric, Schema, WriteBatch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

/// Dimension of the benchmark vectors (a typical sentence-embedding size).
pub const DIM: u32 = 384;

/// Name of the one vector column of [`vector_schema`].
pub const VECTOR_COLUMN: &str = "v";

/// The id of the `i`-th benchmark item: zero-padded so id order is insertion order.
pub fn item_id(i: u64) -> String {
    format!("item{i:010}")
}

/// A schema with a single cosine vector column [`VECTOR_COLUMN`] of `dim` floats.
pub fn vector_schema(dim: u32) -> anyhow::Result<Schema> {
    Ok(Schema::builder()
        .vector(VECTOR_COLUMN, dim, Metric::Cosine)
        .build()?)
}

/// Reproducible random vectors with components uniform in `[-1, 1)`.
#[derive(Debug)]
pub struct VectorGen {
    rng: StdRng,
    dim: usize,
}

impl VectorGen {
    pub fn new(seed: u64, dim: u32) -> Self {
        VectorGen {
            rng: StdRng::seed_from_u64(seed),
            dim: dim as usize,
        }
    }

    pub fn vector(&mut self) -> Vec<f32> {
        (0..self.dim)
            .map(|_| self.rng.random::<f32>() * 2.0 - 1.0)
            .collect()
    }

    /// Item `i` ([`item_id`]) with a fresh random vector in [`VECTOR_COLUMN`].
    pub fn item(&mut self, i: u64) -> Item {
        Item::new(item_id(i)).set(VECTOR_COLUMN, self.vector())
    }

    /// One batch inserting items `range`.
    pub fn insert_batch(&mut self, range: Range<u64>) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for i in range {
            batch.insert(self.item(i));
        }
        batch
    }

    /// Inserts of items `range`, `batch_size` per batch.
    pub fn insert_batches(&mut self, range: Range<u64>, batch_size: u64) -> Vec<WriteBatch> {
        chunks(range, batch_size)
            .map(|chunk| self.insert_batch(chunk))
            .collect()
    }
}

/// Inserts items `0..rows` into `collection`, `batch_size` per commit, generating each
/// batch just before committing it (memory stays at one batch).
pub fn fill(
    collection: &Collection,
    vectors: &mut VectorGen,
    rows: u64,
    batch_size: u64,
) -> anyhow::Result<()> {
    for chunk in chunks(0..rows, batch_size) {
        let (start, end) = (chunk.start, chunk.end);
        collection
            .commit(vectors.insert_batch(chunk))
            .with_context(|| format!("inserting items {start}..{end}"))?;
    }
    Ok(())
}

/// `range` cut into consecutive pieces of `size` (the last may be shorter).
fn chunks(range: Range<u64>, size: u64) -> impl Iterator<Item = Range<u64>> {
    assert!(size > 0, "chunk size must be positive");
    (range.start..range.end)
        .step_by(size as usize)
        .map(move |start| start..(start + size).min(range.end))
}

/// `count` ids drawn uniformly (with repeats) from items `0..rows`.
pub fn random_ids(rows: u64, count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| item_id(rng.random_range(0..rows)))
        .collect()
}

/// A database folder inside a fresh temporary directory; both are deleted on drop.
/// Open it with [`Database::open`] or [`quiver::OpenOptions::open`] on [`TempDb::path`].
#[derive(Debug)]
pub struct TempDb {
    dir: TempDir,
}

impl TempDb {
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("quiver-bench-")
            .tempdir()
            .context("creating a temporary directory")?;
        Ok(TempDb { dir })
    }

    /// The database folder (not created until a database is opened there).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// The temporary directory holding the database folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates collection `name` with [`vector_schema`] in `db`.
pub fn create_vector_collection(db: &Database, name: &str, dim: u32) -> anyhow::Result<Collection> {
    db.create_collection(name, vector_schema(dim)?)
        .with_context(|| format!("creating collection {name}"))
}

/// A size from environment variable `var` (digits, `_` allowed), else `default`.
pub fn size_from_env(var: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(var) {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .with_context(|| format!("{var}={text:?} is not a whole number")),
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(e) => Err(e).with_context(|| format!("reading {var}")),
    }
}
