//! `quiver-bench bm25`: MATCH (BM25) through the engine on a text corpus. Loads the
//! documents (JSON lines `{"id", "text"}`) into a fresh database, times declaring the
//! BM25 index (built over the sealed rows), then answers every query (one per line)
//! one at a time for `reps` repetitions, and writes each query's top k (ids and scores)
//! as JSON lines for `scripts/bench/bm25.py` to compare with the references.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::{Analyzer, AttrType, Database, IndexSpec, Item, Schema, WriteBatch};

/// What one run measured.
#[derive(Debug)]
pub struct Bm25Run {
    pub docs: usize,
    pub queries: usize,
    pub index_seconds: f64,
    /// Queries per second of each repetition.
    pub qps: Vec<f64>,
}

/// Loads `docs` into a database at `dir`, indexes with `analyzer`, answers `queries`
/// (top `k`), writes the answers to `out`.
pub fn run(
    docs: &Path,
    queries: &Path,
    dir: &Path,
    out: &Path,
    analyzer: &str,
    k: usize,
    reps: usize,
) -> Result<Bm25Run> {
    let db = Database::open(dir)?;
    let schema = Schema::builder().attr("text", AttrType::Text).build()?;
    let c = db.create_collection("docs", schema)?;
    let mut n = 0;
    let mut batch = WriteBatch::new();
    let file = std::fs::File::open(docs).with_context(|| format!("opening {}", docs.display()))?;
    for line in std::io::BufReader::new(file).lines() {
        let doc: serde_json::Value = serde_json::from_str(&line?)?;
        let id = doc["id"].as_str().context("a document without an id")?;
        let text = doc["text"].as_str().unwrap_or_default();
        batch.insert(Item::new(id).set("text", text));
        n += 1;
        if batch.len() == 10_000 {
            c.commit(std::mem::take(&mut batch))?;
        }
    }
    c.commit(batch)?;
    c.flush()?;
    let started = Instant::now();
    let spec = IndexSpec::bm25().analyzer(Analyzer::parse(analyzer)?);
    c.create_index("text", spec)?;
    let index_seconds = started.elapsed().as_secs_f64();

    let texts: Vec<String> = std::fs::read_to_string(queries)?
        .lines()
        .map(str::to_string)
        .collect();
    let snap = c.snapshot()?;
    let mut qps = Vec::with_capacity(reps);
    let mut answers = Vec::new();
    for rep in 0..reps {
        let started = Instant::now();
        let mut found = Vec::with_capacity(texts.len());
        for text in &texts {
            let hits = match snap.search_text("text", text, k, None) {
                Ok((hits, _)) => hits
                    .iter()
                    .map(|h| Ok((h.item.id()?.to_string(), h.score)))
                    .collect::<quiver::Result<Vec<_>>>()?,
                Err(quiver::Error::InvalidArgument(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            found.push(hits);
        }
        qps.push(texts.len() as f64 / started.elapsed().as_secs_f64());
        if rep == 0 {
            answers = found;
        }
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    for hits in &answers {
        let ids: Vec<&str> = hits.iter().map(|(id, _)| id.as_str()).collect();
        let scores: Vec<f32> = hits.iter().map(|(_, s)| *s).collect();
        writeln!(w, "{}", serde_json::json!({"ids": ids, "scores": scores}))?;
    }
    Ok(Bm25Run {
        docs: n,
        queries: texts.len(),
        index_seconds,
        qps,
    })
}
