//! The body of the `ops_model` fuzz target (`fuzz/`), also run by
//! `tests/integration/ops_model.rs` over the committed seed corpus and seeded random inputs on the
//! stable toolchain: the input bytes are decoded into a sequence of operations on one
//! collection (inserts, upserts, deletes, batches, flushes, compactions, index builds
//! and drops, searches, reads, VERIFY and REPAIR, clean reopens, power cuts at once or
//! after a chosen number of file operations) and the database is checked after each
//! against a plain map: every read equals the model, exact search equals brute-force
//! kNN over it, the HNSW search returns only live items in distance order, VERIFY
//! finds nothing wrong and REPAIR nothing to do, and after a power cut the reopened
//! database holds every acknowledged commit (the one in flight: all or nothing). Any
//! divergence panics, which is what a fuzzer reports.

mod model;

use std::path::Path;
use std::sync::Arc;

use quiver_storage::{FsDirectory, PowerLossDirectory};

use crate::{Database, Error, IndexSpec, Item, OpenOptions, SearchOptions, WriteBatch};
use model::{Model, Version, read_all};

/// At most this many operations per input (bounds the time one input takes).
const MAX_OPS: usize = 48;
/// Item ids are drawn from this many names, so operations meet the same items.
const IDS: u8 = 24;

/// Runs the operations `data` encodes in the empty folder `scratch`; panics when the
/// database and the model disagree.
pub fn ops_model(data: &[u8], scratch: &Path) {
    let mut bytes = data.iter().copied();
    let mut run = Run::start(scratch);
    for _ in 0..MAX_OPS {
        let Some(op) = bytes.next() else { break };
        let mut arg = || bytes.next().unwrap_or(0);
        run.step(op, &mut arg);
    }
    run.reopen();
    run.check();
}

/// The database under test, the folder's power-loss model and the expected contents.
struct Run<'a> {
    path: &'a Path,
    dir: PowerLossDirectory,
    db: Option<Database>,
    model: Model,
    /// Bumped on every write so each stored version is distinct.
    version: i64,
}

impl<'a> Run<'a> {
    fn start(path: &'a Path) -> Self {
        let (dir, db) = open(path);
        db.create_collection("c", model::schema())
            .expect("creating the collection");
        Run {
            path,
            dir,
            db: Some(db),
            model: Model::new(),
            version: 0,
        }
    }

    fn db(&self) -> &Database {
        self.db.as_ref().expect("the database is open")
    }

    fn step(&mut self, op: u8, arg: &mut dyn FnMut() -> u8) {
        // An operation can meet the cut and still succeed (a commit whose record was
        // synced before a later step failed): the machine is dead all the same, and
        // nothing runs on it any more (arming a new cut must not bring the power back).
        if self.dir.power_lost() {
            self.crash(None);
        }
        match op % 14 {
            0 | 1 => {
                let (id, v) = (key(arg()), model::vector([arg(), arg(), arg(), arg()]));
                let mut batch = WriteBatch::new();
                batch.upsert(self.item(&id, &v));
                self.commit(batch, |m, n| {
                    m.insert(id, (v, n));
                });
            }
            2 => self.insert(key(arg()), model::vector([arg(), arg(), arg(), arg()])),
            3 => {
                let id = key(arg());
                let mut batch = WriteBatch::new();
                batch.delete(id.clone());
                self.commit(batch, |m, _| {
                    m.remove(&id);
                });
            }
            4 => self.batch(arg),
            5 => self.outcome("flush", |db| db.collection("c")?.flush()),
            6 => self.outcome("compact", |db| db.collection("c")?.compact()),
            7 => self.toggle_index(arg()),
            8 => self.search(arg),
            9 => self.check(),
            10 => self.crash(None),
            11 => self.dir.cut_power_after(u64::from(arg() % 48) + 1),
            12 => self.reopen(),
            _ => self.verify_and_repair(),
        }
    }

    fn item(&mut self, id: &str, v: &[f32]) -> Item {
        self.version += 1;
        Item::new(id).set("v", v.to_vec()).set("n", self.version)
    }

    /// INSERT: refused with `DuplicateId` exactly when the model holds the id.
    fn insert(&mut self, id: String, v: Vec<f32>) {
        let item = self.item(&id, &v);
        let n = self.version;
        let result = self.db().collection("c").and_then(|c| c.insert(item));
        match result {
            Ok(_) => {
                assert!(!self.model.contains_key(&id), "inserted a live id {id}");
                self.model.insert(id, (v, n));
            }
            Err(Error::DuplicateId { .. }) if self.model.contains_key(&id) => {}
            Err(_) if self.dir.power_lost() => {
                let mut after = self.model.clone();
                after.insert(id, (v, n));
                self.crash(Some(after));
            }
            Err(e) => panic!("insert {id}: {e}"),
        }
    }

    /// Several upserts and deletes in one atomic batch.
    fn batch(&mut self, arg: &mut dyn FnMut() -> u8) {
        let mut batch = WriteBatch::new();
        let mut changes: Vec<(String, Option<Version>)> = Vec::new();
        for _ in 0..1 + arg() % 5 {
            let id = key(arg());
            if arg().is_multiple_of(3) {
                batch.delete(id.clone());
                changes.push((id, None));
            } else {
                let v = model::vector([arg(), arg(), arg(), arg()]);
                batch.upsert(self.item(&id, &v));
                changes.push((id, Some((v, self.version))));
            }
        }
        self.commit(batch, move |m, _| {
            for (id, change) in changes {
                match change {
                    Some(version) => m.insert(id, version),
                    None => m.remove(&id),
                };
            }
        });
    }

    /// Commits `batch`; on success `apply` brings the model along.
    fn commit(&mut self, batch: WriteBatch, apply: impl FnOnce(&mut Model, i64)) {
        let result = self.db().collection("c").and_then(|c| c.commit(batch));
        let mut after = self.model.clone();
        apply(&mut after, self.version);
        match result {
            Ok(_) => self.model = after,
            Err(_) if self.dir.power_lost() => self.crash(Some(after)),
            Err(e) => panic!("commit: {e}"),
        }
    }

    /// An operation that changes no item: it succeeds unless the power went.
    fn outcome(&mut self, what: &str, f: impl FnOnce(&Database) -> crate::Result<()>) {
        match f(self.db()) {
            Ok(()) => {}
            Err(_) if self.dir.power_lost() => self.crash(None),
            Err(e) => panic!("{what}: {e}"),
        }
    }

    fn toggle_index(&mut self, m: u8) {
        let indexed = self
            .db()
            .collection("c")
            .and_then(|c| c.schema())
            .expect("schema")
            .column("v")
            .expect("column v")
            .1
            .index
            .is_some();
        if indexed {
            self.outcome("drop index", |db| db.collection("c")?.drop_index("v"));
        } else {
            let spec = IndexSpec::hnsw()
                .m(2 + u32::from(m % 8))
                .ef_construction(16);
            self.outcome("create index", |db| {
                db.collection("c")?.create_index("v", spec)
            });
        }
    }

    /// Exact search equals brute force over the model; the index's search returns
    /// only live items, nearest first. Searches read: the power state is irrelevant.
    fn search(&mut self, arg: &mut dyn FnMut() -> u8) {
        let q = model::vector([arg(), arg(), arg(), arg()]);
        let k = 1 + usize::from(arg() % 8);
        let snap = self
            .db()
            .collection("c")
            .and_then(|c| c.snapshot())
            .expect("snapshot");
        let exact = snap
            .search("v", &q, k, &SearchOptions::default().exact(true))
            .expect("exact search");
        let ids: Vec<String> = exact.iter().map(|h| id_of(&h.item)).collect();
        model::assert_exact_knn(&self.model, &q, k, &ids);
        let approximate = snap
            .search("v", &q, k, &SearchOptions::default())
            .expect("search");
        let ids: Vec<String> = approximate.iter().map(|h| id_of(&h.item)).collect();
        model::assert_live_and_ordered(&self.model, &q, k, &ids);
    }

    /// Every item as the model says, by scan and by id.
    fn check(&self) {
        let got = read_all(self.db());
        assert_eq!(got, self.model, "the database differs from the model");
        let snap = self.db().collection("c").and_then(|c| c.snapshot());
        let snap = snap.expect("snapshot");
        for i in 0..IDS {
            let id = key(i);
            let present = snap.get(&id).expect("get").is_some();
            assert_eq!(present, self.model.contains_key(&id), "get {id}");
        }
    }

    /// A healthy database checks clean, and REPAIR finds nothing to do. (Reads and
    /// seals: a cut armed for this moment counts as a crash.)
    fn verify_and_repair(&mut self) {
        let report = self.db().verify().expect("verify");
        assert!(
            report.is_ok(),
            "VERIFY: {:?}",
            report.problems().collect::<Vec<_>>()
        );
        match self.db().repair(crate::RepairOptions::default()) {
            Ok(repair) => assert!(repair.repairs.is_empty(), "REPAIR: {repair:?}"),
            Err(_) if self.dir.power_lost() => self.crash(None),
            Err(e) => panic!("repair: {e}"),
        }
    }

    /// The power goes now (or went during the last operation): everything not fsynced
    /// is dropped and the database reopened. It must hold the model, or `in_flight`
    /// (the state had the failed commit applied), which then becomes the model.
    fn crash(&mut self, in_flight: Option<Model>) {
        if !self.dir.power_lost() {
            self.dir.cut_power_after(1);
        }
        self.db = None; // a dead machine: closing writes nothing
        self.dir.lose_power().expect("losing power");
        let (dir, db) = open(self.path);
        let got = read_all(&db);
        if got != self.model {
            match in_flight {
                Some(after) if got == after => self.model = after,
                _ => panic!(
                    "after a power cut the database holds {got:?}, acknowledged: {:?}",
                    self.model
                ),
            }
        }
        self.dir = dir;
        self.db = Some(db);
    }

    /// A clean close and open (an armed power cut is disarmed: a fresh directory).
    fn reopen(&mut self) {
        self.db = None;
        if self.dir.power_lost() {
            return self.crash(None);
        }
        let (dir, db) = open(self.path);
        self.dir = dir;
        self.db = Some(db);
        self.check();
    }
}

fn open(path: &Path) -> (PowerLossDirectory, Database) {
    let fs = FsDirectory::open(path).expect("the scratch folder");
    let dir = PowerLossDirectory::new(Arc::new(fs)).expect("a power-loss directory");
    // A small memtable makes commits flush on their own too.
    let options = OpenOptions::new().memtable_bytes(2048);
    let db = Database::open_in(Arc::new(dir.clone()), options)
        .unwrap_or_else(|e| panic!("opening the database: {e}"));
    (dir, db)
}

fn key(b: u8) -> String {
    format!("k{:02}", b % IDS)
}

fn id_of(item: &crate::ItemRef<'_>) -> String {
    item.id().expect("a hit's id").to_string()
}
