//! Millions of tiny items: `cargo run --release -p quiver --example tiny_items -- [N] [DIR]`
//! commits N items (default 2,000,000; ids of 9 bytes, a 2-d vector) in batches of
//! 10,000, deletes every tenth, flushes, compacts into one segment, reopens, checks
//! the count and a few items, runs an exact search, and prints one line per phase with
//! its time, the folder's size and the process's peak resident memory (VmHWM), so the
//! memory a database of tiny items needs can be read off. Exit 1 on a wrong answer.

use std::process::ExitCode;
use std::time::Instant;

use quiver::{Database, Item, Metric, Schema, SearchOptions, WriteBatch};

const BATCH: usize = 10_000;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next().map(|a| a.parse()) {
        None => 2_000_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: tiny_items [N] [DIR]");
            return ExitCode::from(2);
        }
    };
    let scratch = tempfile::tempdir().expect("temporary folder");
    let path = args.next().map_or(scratch.path().join("tiny"), Into::into);
    match run(n, &path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn vector(i: usize) -> Vec<f32> {
    vec![(i % 1000) as f32, (i / 1000) as f32]
}

fn run(n: usize, path: &std::path::Path) -> Result<(), String> {
    let err = |e: quiver::Error| e.to_string();
    let started = Instant::now();
    let report = |phase: &str| {
        println!(
            "{phase:<28} {:>7.1}s  folder {:>8.1} MiB  peak RSS {:>7.1} MiB",
            started.elapsed().as_secs_f64(),
            folder_bytes(path) as f64 / (1 << 20) as f64,
            peak_rss_kib() as f64 / 1024.0
        )
    };
    {
        let db = Database::open(path).map_err(err)?;
        let schema = Schema::builder()
            .vector("v", 2, Metric::L2)
            .build()
            .map_err(err)?;
        let c = db.create_collection("tiny", schema).map_err(err)?;
        for start in (0..n).step_by(BATCH) {
            let mut batch = WriteBatch::new();
            for i in start..(start + BATCH).min(n) {
                batch.insert(Item::new(format!("i{i:08}")).set("v", vector(i)));
            }
            c.commit(batch).map_err(err)?;
        }
        report(&format!("committed {n} items"));
        for start in (0..n).step_by(BATCH * 10) {
            let mut batch = WriteBatch::new();
            for i in (start..(start + BATCH * 10).min(n)).step_by(10) {
                batch.delete(format!("i{i:08}"));
            }
            c.commit(batch).map_err(err)?;
        }
        c.flush().map_err(err)?;
        report("deleted every tenth, flushed");
        c.compact().map_err(err)?;
        report("compacted");
    }
    let db = Database::open(path).map_err(err)?;
    report("reopened");
    let snap = db.snapshot().collection("tiny").map_err(err)?;
    let expected = n - n.div_ceil(10);
    if snap.count() != expected as u64 || snap.segment_count() != 1 {
        return Err(format!(
            "{} items in {} segments, expected {expected} in 1",
            snap.count(),
            snap.segment_count()
        ));
    }
    // Ids ending in 1 (every tenth, ending in 0, was deleted).
    for i in [1, n / 2 / 10 * 10 + 1, (n - 1) / 10 * 10 + 1] {
        let got = snap.get(&format!("i{i:08}")).map_err(err)?;
        let v = got
            .ok_or(format!("i{i:08} missing"))?
            .vector("v")
            .map_err(err)?;
        if v.as_deref() != Some(vector(i).as_slice()) {
            return Err(format!("i{i:08} has {v:?}"));
        }
    }
    if snap.get("i00000000").map_err(err)?.is_some() {
        return Err("a deleted item is back".into());
    }
    let q = vector(n / 3 + 1);
    let hits = snap
        .search("v", &q, 5, &SearchOptions::default().exact(true))
        .map_err(err)?;
    if hits.first().map(|h| h.distance) != Some(0.0) {
        return Err(format!("exact search for {q:?} missed its item"));
    }
    report("checked count, gets, search");
    Ok(())
}

fn folder_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The process's peak resident set (Linux `VmHWM`), 0 where unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
