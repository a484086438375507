//! Fault injection through the public API: for every write, fsync and rename a scripted
//! workload performs, fail exactly that one (or that one and all later ones), then
//! reopen on the plain file system and check that nothing acknowledged was lost, no
//! batch is half there and deletions stayed deleted.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use quiver::{
    Collection, Database, Error, FaultKind, FaultyDirectory, FsDirectory, Item, Metric,
    OpenOptions, Schema, WriteBatch,
};

const COLLECTION: &str = "c";
const ITEMS_PER_BATCH: usize = 4;
const DIM: usize = 3;

/// Items by id, vectors compared bit for bit.
type Contents = BTreeMap<String, Vec<u32>>;

fn vector(batch: usize, item: usize, version: u32) -> Vec<f32> {
    (0..DIM)
        .map(|d| (batch * 100 + item * 10 + d) as f32 + version as f32 * 0.5)
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// One logged change of a batch.
#[derive(Clone, Debug)]
enum Op {
    Put(String, Vec<f32>),
    Delete(String),
}

fn inserts(batch: usize) -> Vec<Op> {
    (0..ITEMS_PER_BATCH)
        .map(|j| Op::Put(format!("b{batch}-{j}"), vector(batch, j, 0)))
        .collect()
}

/// The batches of the workload, by number.
fn batches() -> Vec<Vec<Op>> {
    let mut b: Vec<Vec<Op>> = (0..5).map(inserts).collect();
    // 5: overwrite every item of batch 0 (sealed in the first segment).
    b.push(
        (0..ITEMS_PER_BATCH)
            .map(|j| Op::Put(format!("b0-{j}"), vector(0, j, 1)))
            .collect(),
    );
    // 6: delete all of batch 1 (sealed) and all of batch 3 (in the memtable).
    b.push(
        [1, 3]
            .iter()
            .flat_map(|k| (0..ITEMS_PER_BATCH).map(move |j| Op::Delete(format!("b{k}-{j}"))))
            .collect(),
    );
    // 7: delete half of batch 4 (sealed by the flush after batch 6) plus new items.
    let mut seven: Vec<Op> = (0..2).map(|j| Op::Delete(format!("b4-{j}"))).collect();
    seven.extend(inserts(7));
    b.push(seven);
    b.push(inserts(8));
    b
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Create,
    Commit(usize),
    Flush,
    Compact,
}

const WORKLOAD: &[Step] = &[
    Step::Create,
    Step::Commit(0),
    Step::Commit(1),
    Step::Commit(2),
    Step::Flush,
    Step::Commit(3),
    Step::Commit(4),
    Step::Commit(5),
    Step::Commit(6),
    Step::Flush,
    Step::Commit(7),
    Step::Compact,
    Step::Commit(8),
];

fn schema() -> Schema {
    Schema::builder()
        .vector("v", DIM as u32, Metric::L2)
        .build()
        .unwrap()
}

fn to_batch(ops: &[Op]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for op in ops {
        match op {
            Op::Put(id, v) => b.upsert(Item::new(id.clone()).set("v", v.clone())),
            Op::Delete(id) => b.delete(id.clone()),
        };
    }
    b
}

fn apply(contents: &mut Contents, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(id, v) => contents.insert(id.clone(), bits(v)),
            Op::Delete(id) => contents.remove(id),
        };
    }
}

/// What the live handle or a reopened database shows (`None`: no such collection).
fn contents(db: &Database) -> Result<Option<Contents>, Error> {
    let coll = match db.snapshot().collection(COLLECTION) {
        Ok(c) => c,
        Err(Error::UnknownCollection { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Contents::new();
    for item in coll.scan() {
        let v = item.vector("v")?.expect("v is NOT NULL");
        out.insert(item.id()?.to_string(), bits(&v));
    }
    if out.len() as u64 != coll.count() {
        panic!("scan gave {} items, count says {}", out.len(), coll.count());
    }
    Ok(Some(out))
}

/// What happened while the workload ran on the faulty directory.
#[derive(Debug, Default)]
struct Outcome {
    /// Acknowledged batches, in commit order.
    acked: Vec<Vec<Op>>,
    /// A batch whose commit failed after an fsync failure: it may or may not be there.
    doubtful: Option<Vec<Op>>,
    created: bool,
    first_error: Option<String>,
}

fn is_injected(e: &Error) -> bool {
    matches!(e, Error::Io { .. } | Error::Poisoned { .. })
}

/// True when the handle refuses writes until reopened (an empty batch writes nothing).
fn is_poisoned(c: &Collection) -> bool {
    matches!(c.commit(WriteBatch::new()), Err(Error::Poisoned { .. }))
}

/// Commits `ops`. An acknowledged batch joins `acked`; a failed one is in doubt only
/// when its fsync failed (which poisons the writer): a rolled-back append leaves nothing.
fn commit(c: &Collection, ops: &[Op], out: &mut Outcome) -> Result<(), Error> {
    match c.commit(to_batch(ops)) {
        Ok(_) => {
            out.acked.push(ops.to_vec());
            Ok(())
        }
        Err(e) => {
            if matches!(e, Error::Io { .. }) && is_poisoned(c) {
                assert!(out.doubtful.is_none(), "two failed fsyncs of commits");
                out.doubtful = Some(ops.to_vec());
            }
            Err(e)
        }
    }
}

/// Runs the workload on `dir` until the first error, then probes the same handle.
fn run_faulty(dir: &Path, kind: FaultKind, n: u64, sticky: bool) -> Result<Outcome, String> {
    let fs = Arc::new(FsDirectory::open(dir).unwrap());
    let faulty = FaultyDirectory::new(fs, kind, n, sticky);
    let mut out = Outcome::default();
    let db = match Database::open_in(Arc::new(faulty.clone()), OpenOptions::default()) {
        Ok(db) => db,
        Err(e) if is_injected(&e) => {
            out.first_error = Some(format!("open: {e}"));
            return Ok(out);
        }
        Err(e) => return Err(format!("open failed with a non-I/O error: {e:?}")),
    };
    let all = batches();
    let mut coll: Option<Collection> = None;
    for step in WORKLOAD {
        let result = match (*step, &coll) {
            (Step::Create, _) => db
                .create_collection(COLLECTION, schema())
                .map(|c| coll = Some(c)),
            (Step::Commit(b), Some(c)) => commit(c, &all[b], &mut out),
            (Step::Flush, Some(c)) => c.flush(),
            (Step::Compact, Some(c)) => c.compact(),
            (_, None) => unreachable!("the workload creates the collection first"),
        };
        if let Err(e) = result {
            if !is_injected(&e) {
                return Err(format!("{step:?} failed with a non-I/O error: {e:?}"));
            }
            out.first_error = Some(format!("{step:?}: {e}"));
            break;
        }
    }
    out.created = coll.is_some();
    if faulty.failures() > 0 && out.first_error.is_none() {
        return Err("an injected failure was swallowed: every step returned Ok".into());
    }

    // The same handle after the failure: errors (or success), never a panic.
    if out.first_error.is_some()
        && let Some(c) = &coll
    {
        let before = out.acked.len();
        match commit(c, &inserts(100), &mut out) {
            Ok(()) | Err(Error::Poisoned { .. } | Error::Io { .. }) => {}
            Err(e) => return Err(format!("probe commit: unexpected error {e:?}")),
        }
        if out.acked.len() > before && sticky && kind != FaultKind::Rename {
            return Err("a commit succeeded although every write/fsync fails".into());
        }
        match c.flush() {
            Ok(()) => {}
            Err(e) if is_injected(&e) => {}
            Err(e) => return Err(format!("probe flush: unexpected error {e:?}")),
        }
    }

    // The live handle never shows a failed commit.
    let mut expected = Contents::new();
    for b in &out.acked {
        apply(&mut expected, b);
    }
    let live = contents(&db).map_err(|e| format!("reading the live handle: {e}"))?;
    if out.created && live.as_ref() != Some(&expected) {
        return Err(format!(
            "live handle shows {}",
            describe(live.as_ref(), &expected)
        ));
    }
    Ok(out)
}

fn describe(actual: Option<&Contents>, expected: &Contents) -> String {
    let Some(actual) = actual else {
        return "no collection".into();
    };
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    format!("missing {missing:?}, unexpected {extra:?}, wrong vectors {wrong:?}")
}

/// Reopens on the plain file system and checks the outcome; then writes once more.
fn verify(dir: &Path, out: &Outcome) -> Result<(), String> {
    let db = Database::open(dir).map_err(|e| format!("reopen failed: {e}"))?;
    let actual = contents(&db).map_err(|e| format!("reading after reopen: {e}"))?;
    let mut without = Contents::new();
    for b in &out.acked {
        apply(&mut without, b);
    }
    let mut with = without.clone();
    if let Some(b) = &out.doubtful {
        apply(&mut with, b);
    }
    let mut ok = match &actual {
        Some(a) => *a == without || *a == with,
        // The collection may be missing only if its creation was never acknowledged.
        None => !out.created,
    };
    if !out.created && actual.as_ref().is_some_and(|a| !a.is_empty()) {
        ok = false;
    }
    if !ok {
        return Err(format!(
            "after reopen: {} (doubtful batch: {})",
            describe(actual.as_ref(), &without),
            out.doubtful.is_some()
        ));
    }

    // The recovered database accepts writes, and they survive another reopen.
    let coll = match actual {
        Some(_) => db.collection(COLLECTION),
        None => db.create_collection(COLLECTION, schema()),
    }
    .map_err(|e| format!("collection after reopen: {e}"))?;
    let after = inserts(200);
    coll.commit(to_batch(&after))
        .map_err(|e| format!("commit after reopen: {e}"))?;
    let expected = contents(&db).unwrap().unwrap();
    drop((coll, db));
    let db = Database::open(dir).map_err(|e| format!("second reopen failed: {e}"))?;
    let again = contents(&db).map_err(|e| format!("reading after second reopen: {e}"))?;
    if again.as_ref() != Some(&expected) {
        return Err(format!(
            "after a write and a second reopen: {}",
            describe(again.as_ref(), &expected)
        ));
    }
    Ok(())
}

/// How many operations of `kind` the whole workload performs (open included).
fn operations(kind: FaultKind) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsDirectory::open(dir.path()).unwrap());
    let faulty = FaultyDirectory::new(fs, kind, u64::MAX, false);
    let db = Database::open_in(Arc::new(faulty.clone()), OpenOptions::default()).unwrap();
    let all = batches();
    let coll = db.create_collection(COLLECTION, schema()).unwrap();
    for step in &WORKLOAD[1..] {
        match *step {
            Step::Create => unreachable!(),
            Step::Commit(b) => drop(coll.commit(to_batch(&all[b])).unwrap()),
            Step::Flush => coll.flush().unwrap(),
            Step::Compact => coll.compact().unwrap(),
        }
    }
    faulty.attempts()
}

fn run_case(kind: FaultKind, n: u64, sticky: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let out = run_faulty(dir.path(), kind, n, sticky)?;
        verify(dir.path(), &out).map_err(|e| format!("{e}; first error: {:?}", out.first_error))
    }));
    match caught {
        Ok(r) => r,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

fn every_fault_of(kind: FaultKind) {
    let total = operations(kind);
    eprintln!("the workload performs {total} {kind:?} operations");
    assert!(total >= 3, "the workload performs only {total} {kind:?}s");
    let mut failures = Vec::new();
    for sticky in [false, true] {
        for n in 1..=total + 1 {
            if let Err(e) = run_case(kind, n, sticky) {
                failures.push(format!("{kind:?} #{n} (sticky: {sticky}): {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        2 * (total + 1),
        failures.join("\n")
    );
}

#[test]
fn every_failed_write_keeps_acknowledged_batches_whole() {
    every_fault_of(FaultKind::Write);
}

#[test]
fn every_failed_fsync_keeps_acknowledged_batches_whole() {
    every_fault_of(FaultKind::Sync);
}

#[test]
fn every_failed_rename_keeps_acknowledged_batches_whole() {
    every_fault_of(FaultKind::Rename);
}

#[test]
fn a_poisoned_handle_keeps_refusing_writes() {
    let dir = tempfile::tempdir().unwrap();
    // Count the fsyncs of open + create, then fail the next one: the first commit's.
    let before = {
        let scratch = tempfile::tempdir().unwrap();
        let fs = Arc::new(FsDirectory::open(scratch.path()).unwrap());
        let counting = FaultyDirectory::new(fs, FaultKind::Sync, u64::MAX, false);
        let db = Database::open_in(Arc::new(counting.clone()), OpenOptions::default()).unwrap();
        db.create_collection(COLLECTION, schema()).unwrap();
        counting.attempts()
    };
    let fs = Arc::new(FsDirectory::open(dir.path()).unwrap());
    let faulty = FaultyDirectory::new(fs, FaultKind::Sync, before + 1, false);
    let db = Database::open_in(Arc::new(faulty.clone()), OpenOptions::default()).unwrap();
    let coll = db.create_collection(COLLECTION, schema()).unwrap();
    assert!(matches!(
        coll.commit(to_batch(&inserts(0))),
        Err(Error::Io { .. })
    ));
    assert_eq!(faulty.failures(), 1);
    for _ in 0..3 {
        assert!(matches!(
            coll.commit(to_batch(&inserts(1))),
            Err(Error::Poisoned { .. })
        ));
        assert!(matches!(coll.flush(), Err(Error::Poisoned { .. })));
        assert!(matches!(coll.compact(), Err(Error::Poisoned { .. })));
        assert!(matches!(
            db.create_collection("d", schema()),
            Err(Error::Poisoned { .. })
        ));
    }
    // Reads still work and never show the failed batch.
    assert_eq!(coll.count().unwrap(), 0);
    drop((coll, db));
    let db = Database::open(dir.path()).unwrap();
    let n = db.snapshot().collection(COLLECTION).unwrap().count();
    assert!(n == 0 || n == ITEMS_PER_BATCH as u64, "half a batch: {n}");
}
