//! Power-loss simulation shared by `tests/integration/power_loss.rs` (a short run) and
//! `examples/power_loss_soak.rs` (1,000+ losses): a seeded workload of commits,
//! deletes, updates, flushes, compactions and an index build runs on a
//! `PowerLossDirectory` until the power is cut at a random operation; the folder is
//! reduced to what was fsynced; the database must reopen holding every acknowledged
//! commit (the one in flight: all or nothing), and must then take and keep a new commit.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quiver::{
    Database, FsDirectory, IndexSpec, Item, Metric, OpenOptions, PowerLossDirectory, Schema,
    WriteBatch,
};

/// What the database must hold: id → (vector, n).
type Expected = BTreeMap<String, (Vec<f32>, i64)>;

/// A small xorshift generator (deterministic per seed).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn vector(id: u64, version: i64) -> Vec<f32> {
    (0..4)
        .map(|d| ((id * 31 + d * 7) as i64 + version) as f32 / 16.0)
        .collect()
}

/// The batch in flight when the power went: the state before and after it.
struct InFlight {
    before: Expected,
    after: Expected,
}

/// Runs the workload of `seed` on `dir` until it finishes or an operation fails.
/// Returns the acknowledged state and the commit in flight at the failure, if any.
fn workload(dir: &PowerLossDirectory, seed: u64) -> (Expected, Option<InFlight>) {
    let mut rng = Rng::new(seed);
    let mut expected = Expected::new();
    let Ok(db) = Database::open_in(Arc::new(dir.clone()), OpenOptions::new()) else {
        return (expected, None);
    };
    let schema = Schema::builder()
        .vector("v", 4, Metric::L2)
        .attr("n", quiver::AttrType::Int)
        .build()
        .expect("schema");
    let Ok(c) = db.create_collection("c", schema) else {
        return (expected, None);
    };
    let mut next_id = 0u64;
    let mut indexed = false;
    for _ in 0..40 {
        let roll = rng.below(100);
        let step = if roll < 80 {
            let mut after = expected.clone();
            let mut batch = WriteBatch::new();
            for _ in 0..1 + rng.below(4) {
                let live: Vec<String> = after.keys().cloned().collect();
                let pick = rng.below(10);
                if pick < 6 || live.is_empty() {
                    let id = format!("i{next_id:05}");
                    let v = vector(next_id, 0);
                    next_id += 1;
                    batch.insert(Item::new(id.clone()).set("v", v.clone()).set("n", 0i64));
                    after.insert(id, (v, 0));
                } else {
                    let id = live[rng.below(live.len() as u64) as usize].clone();
                    if pick < 8 {
                        batch.delete(id.clone());
                        after.remove(&id);
                    } else {
                        let n = after[&id].1 + 1;
                        let num: u64 = id[1..].parse().expect("id number");
                        let v = vector(num, n);
                        batch.upsert(Item::new(id.clone()).set("v", v.clone()).set("n", n));
                        after.insert(id, (v, n));
                    }
                }
                if !batch.is_empty() && rng.below(3) == 0 {
                    break;
                }
            }
            match c.commit(batch) {
                Ok(_) => {
                    expected = after;
                    Ok(())
                }
                Err(_) => {
                    let before = expected.clone();
                    return (expected, Some(InFlight { before, after }));
                }
            }
        } else if roll < 90 {
            c.flush()
        } else if roll < 96 || indexed {
            c.compact()
        } else {
            indexed = true;
            c.create_index("v", IndexSpec::hnsw().m(4).ef_construction(16))
        };
        if step.is_err() {
            return (expected, None);
        }
    }
    (expected, None)
}

/// What the reopened database holds.
fn contents(db: &Database) -> Result<Expected, String> {
    let Ok(c) = db.collection("c") else {
        return Ok(Expected::new());
    };
    let snap = c.snapshot().map_err(|e| e.to_string())?;
    let mut out = Expected::new();
    for item in snap.scan() {
        let id = item.id().map_err(|e| e.to_string())?.to_string();
        let v = item
            .vector("v")
            .map_err(|e| e.to_string())?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        let n = match item.value("n").map_err(|e| e.to_string())? {
            quiver::Value::Int(n) => n,
            other => return Err(format!("{id}: n is {other:?}")),
        };
        out.insert(id, (v, n));
    }
    Ok(out)
}

/// Operations a full run of `seed` performs (no power cut).
pub fn ops_of(root: &Path, seed: u64) -> u64 {
    let dir =
        PowerLossDirectory::new(Arc::new(FsDirectory::open(root).expect("folder"))).expect("wrap");
    let _ = workload(&dir, seed);
    dir.ops()
}

/// One simulated loss: the workload of `seed` with the power cut at operation `cut`.
pub fn one_loss(root: &Path, seed: u64, cut: u64) -> Result<(), String> {
    let fs = Arc::new(FsDirectory::open(root).map_err(|e| e.to_string())?);
    let dir = PowerLossDirectory::new(fs).map_err(|e| e.to_string())?;
    dir.cut_power_after(cut);
    let (expected, in_flight) = workload(&dir, seed);
    dir.lose_power()
        .map_err(|e| format!("rewriting the folder: {e}"))?;
    let db = Database::open(root).map_err(|e| format!("reopen after the loss: {e}"))?;
    let got = contents(&db)?;
    let ok = got == expected
        || in_flight
            .as_ref()
            .is_some_and(|f| got == f.after || got == f.before);
    if !ok {
        let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
        let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
        return Err(format!(
            "seed {seed} cut {cut}: {} items acknowledged, {} after reopening; missing {missing:?}, unexpected {extra:?}",
            expected.len(),
            got.len()
        ));
    }
    // The recovered database takes a new commit and keeps it.
    let c = match db.collection("c") {
        Ok(c) => c,
        Err(_) => return Ok(()),
    };
    c.insert(Item::new("after").set("v", vector(9, 9)).set("n", 9i64))
        .map_err(|e| format!("seed {seed} cut {cut}: commit after recovery: {e}"))?;
    drop(c);
    drop(db);
    let db = Database::open(root).map_err(|e| format!("second reopen: {e}"))?;
    let c = db.collection("c").map_err(|e| e.to_string())?;
    match c.snapshot().map_err(|e| e.to_string())?.get("after") {
        Ok(Some(_)) => Ok(()),
        _ => Err(format!(
            "seed {seed} cut {cut}: the commit after recovery is lost"
        )),
    }
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Summary {
    pub losses: u64,
    pub failures: Vec<String>,
    pub ops_cut: u64,
}

/// `losses` simulated losses from `seed` on, each in a fresh folder under `base`.
pub fn run(base: &Path, losses: u64, seed: u64) -> Summary {
    let mut summary = Summary::default();
    let mut rng = Rng::new(seed);
    for i in 0..losses {
        let trial_seed = seed.wrapping_mul(1_000_003).wrapping_add(i);
        let full = ops_of(&base.join(format!("full-{i}")), trial_seed);
        let cut = 1 + rng.below(full);
        summary.ops_cut += cut;
        let root = base.join(format!("loss-{i}"));
        if let Err(e) = one_loss(&root, trial_seed, cut) {
            summary.failures.push(e);
        }
        summary.losses += 1;
        let _ = std::fs::remove_dir_all(base.join(format!("full-{i}")));
        let _ = std::fs::remove_dir_all(&root);
    }
    summary
}
