//! Model-based test: random sequences of inserts, upserts, updates, deletes, batches
//! with a bad item, flushes, compactions and reopens, checked after every step against
//! a plain in-memory map.

use std::collections::BTreeMap;

use proptest::prelude::*;
use quiver::{
    AttrType, Database, Durability, Error, Item, Metric, OpenOptions, Schema, Value, WriteBatch,
};

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, f32),
    Upsert(u8, f32),
    Update(u8, i64),
    Delete(u8),
    /// Several upserts and a delete, poisoned by an item of the wrong dimension when set.
    Batch(Vec<(u8, f32)>, u8, bool),
    Flush,
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u8..16;
    prop_oneof![
        4 => (id.clone(), -100f32..100.0).prop_map(|(i, x)| Op::Insert(i, x)),
        4 => (id.clone(), -100f32..100.0).prop_map(|(i, x)| Op::Upsert(i, x)),
        2 => (id.clone(), any::<i64>()).prop_map(|(i, n)| Op::Update(i, n)),
        3 => id.clone().prop_map(Op::Delete),
        2 => (prop::collection::vec((id.clone(), -1f32..1.0), 1..6), id, any::<bool>())
            .prop_map(|(puts, del, bad)| Op::Batch(puts, del, bad)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

/// What an item should look like: its vector and its optional `n` attribute.
type Model = BTreeMap<String, (Vec<f32>, Option<i64>)>;

fn key(i: u8) -> String {
    format!("item-{i:02}")
}

fn vector(x: f32) -> Vec<f32> {
    vec![x, x * 2.0, -x]
}

fn open(path: &std::path::Path) -> Database {
    // A tiny memtable makes commits trigger automatic flushes too.
    OpenOptions::new()
        .durability(Durability::Never)
        .memtable_bytes(1500)
        .open(path)
        .unwrap()
}

fn check(db: &Database, model: &Model) -> Result<(), TestCaseError> {
    let snap = db.snapshot().collection("c").unwrap();
    prop_assert_eq!(snap.count(), model.len() as u64);
    let mut scanned = BTreeMap::new();
    for item in snap.scan() {
        let id = item.id().unwrap().to_string();
        let v = item.vector("v").unwrap().unwrap().to_vec();
        let n = match item.value("n").unwrap() {
            Value::Int(n) => Some(n),
            _ => None,
        };
        prop_assert!(
            scanned.insert(id, (v, n)).is_none(),
            "scan returned an id twice"
        );
    }
    prop_assert_eq!(&scanned, model);
    for (id, (v, _)) in model {
        let got = snap.get(id).unwrap();
        prop_assert!(got.is_some(), "{} missing from get", id);
        prop_assert_eq!(got.unwrap().vector("v").unwrap().unwrap(), &v[..]);
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::builder()
        .vector("v", 3, Metric::L2)
        .attr("n", AttrType::Int)
        .build()
        .unwrap();
    let mut db = open(dir.path());
    db.create_collection("c", schema).unwrap();
    let mut model = Model::new();
    for op in ops {
        let c = db.collection("c").unwrap();
        match op {
            Op::Insert(i, x) => {
                let r = c.insert(Item::new(key(i)).set("v", vector(x)));
                if let std::collections::btree_map::Entry::Vacant(e) = model.entry(key(i)) {
                    r.unwrap();
                    e.insert((vector(x), None));
                } else {
                    prop_assert!(
                        matches!(r, Err(Error::DuplicateId { .. })),
                        "unexpected {:?}",
                        r
                    );
                }
            }
            Op::Upsert(i, x) => {
                c.upsert(Item::new(key(i)).set("v", vector(x))).unwrap();
                model.insert(key(i), (vector(x), None));
            }
            Op::Update(i, n) => {
                let r = c.update(Item::new(key(i)).set("n", n));
                match model.get_mut(&key(i)) {
                    Some(entry) => {
                        r.unwrap();
                        entry.1 = Some(n);
                    }
                    None => prop_assert!(
                        matches!(r, Err(Error::NotFound { .. })),
                        "unexpected {:?}",
                        r
                    ),
                }
            }
            Op::Delete(i) => {
                c.delete(&key(i)).unwrap();
                model.remove(&key(i));
            }
            Op::Batch(puts, del, bad) => {
                let mut batch = WriteBatch::new();
                for (i, x) in &puts {
                    batch.upsert(Item::new(key(*i)).set("v", vector(*x)));
                }
                batch.delete(key(del));
                if bad {
                    batch.upsert(Item::new("bad").set("v", vec![1.0]));
                }
                let r = c.commit(batch);
                if bad {
                    prop_assert!(
                        matches!(r, Err(Error::DimensionMismatch { .. })),
                        "unexpected {:?}",
                        r
                    );
                } else {
                    r.unwrap();
                    for (i, x) in puts {
                        model.insert(key(i), (vector(x), None));
                    }
                    model.remove(&key(del));
                }
            }
            Op::Flush => c.flush().unwrap(),
            Op::Compact => c.compact().unwrap(),
            Op::Reopen => {
                drop(c);
                drop(db);
                db = open(dir.path());
            }
        }
        check(&db, &model)?;
    }
    drop(db);
    check(&open(dir.path()), &model)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
