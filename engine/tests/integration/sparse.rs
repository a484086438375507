//! SPARSE columns: `terms <-> {..}` against a brute-force dot product over the
//! snapshot's live items (random vectors with upserts, deletes, flushes, compactions and
//! reopens; the top k, ids and scores, must be the same), freshness, bad input, filters,
//! `VECTOR OF` and fusion with a dense column.

use std::collections::BTreeMap;

use proptest::prelude::*;
use quiver::{
    AttrType, Database, Error, Fusion, FusionChoice, Item, Normalization, Plan, Query, Schema,
    SparseVector, Target, Value, WriteBatch,
};

fn sparse(pairs: &[(u32, f32)]) -> SparseVector {
    let (i, w) = pairs.iter().copied().unzip();
    SparseVector::new(i, w).unwrap()
}

/// The best `k` live items by dot product with `query`, from scratch: items sharing
/// no index are left out, ties by id.
fn brute_force(db: &Database, query: &SparseVector, k: usize) -> Vec<(String, f32)> {
    let snap = db.snapshot().collection("docs").unwrap();
    let q: BTreeMap<u32, f32> = query.entries().collect();
    let mut scored: Vec<(String, f64)> = snap
        .scan()
        .filter_map(|item| {
            let Value::Sparse(v) = item.value("terms").unwrap() else {
                return None;
            };
            let shared: Vec<(u32, f32)> = v.entries().filter(|(i, _)| q.contains_key(i)).collect();
            let dot = shared
                .iter()
                .map(|(i, w)| f64::from(*w) * f64::from(q[i]))
                .sum();
            (!shared.is_empty()).then(|| (item.id().unwrap().to_string(), dot))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(k);
    scored.into_iter().map(|(id, s)| (id, s as f32)).collect()
}

fn searched(db: &Database, query: &SparseVector, k: usize) -> Vec<(String, f32)> {
    let snap = db.snapshot().collection("docs").unwrap();
    let hits = db
        .query(
            &snap,
            &Query::nearest("terms", Target::Sparse(query.clone()), k),
        )
        .unwrap();
    hits.hits
        .iter()
        .map(|h| (h.item.id().unwrap().to_string(), h.score))
        .collect()
}

fn schema() -> Schema {
    Schema::builder()
        .attr("terms", AttrType::Sparse)
        .attr("kind", AttrType::Text)
        .vector("v", 2, quiver::Metric::L2)
        .build()
        .unwrap()
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Option<BTreeMap<u32, f32>>),
    Delete(u8),
    Flush,
    Compact,
    Reopen,
}

fn entries() -> impl Strategy<Value = BTreeMap<u32, f32>> {
    // A small index space so that rows share indices often; weights include zeros.
    proptest::collection::btree_map(0u32..24, prop_oneof![Just(0.0f32), 0f32..4.0], 0..8)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), proptest::option::weighted(0.9, entries()))
            .prop_map(|(id, e)| Op::Put(id % 40, e)),
        2 => any::<u8>().prop_map(|id| Op::Delete(id % 40)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn put(db: &Database, id: &str, terms: Option<SparseVector>) {
    let mut item = Item::new(id).set("v", vec![0.0f32, 0.0]);
    if let Some(t) = terms {
        item = item.set("terms", t);
    }
    let mut batch = WriteBatch::new();
    batch.upsert(item);
    db.collection("docs").unwrap().commit(batch).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sparse_search_equals_brute_force_dot_product(
        ops in proptest::collection::vec(op(), 1..40),
        queries in proptest::collection::vec(
            proptest::collection::btree_map(0u32..24, 0.01f32..3.0, 1..5), 3),
        k in 1usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path()).unwrap();
        db.create_collection("docs", schema()).unwrap();
        for op in &ops {
            match op {
                Op::Put(id, e) => put(&db, &format!("d{id:02}"), e.as_ref().map(|e| {
                    sparse(&e.iter().map(|(&i, &w)| (i, w)).collect::<Vec<_>>())
                })),
                Op::Delete(id) => {
                    db.collection("docs").unwrap().delete(&format!("d{id:02}")).unwrap();
                }
                Op::Flush => db.collection("docs").unwrap().flush().unwrap(),
                Op::Compact => db.collection("docs").unwrap().compact().unwrap(),
                Op::Reopen => {
                    drop(db);
                    db = Database::open(dir.path()).unwrap();
                }
            }
        }
        for q in &queries {
            let query = sparse(&q.iter().map(|(&i, &w)| (i, w)).collect::<Vec<_>>());
            let expected = brute_force(&db, &query, k);
            let got = searched(&db, &query, k);
            prop_assert_eq!(got, expected, "query {}", query);
        }
    }
}

#[test]
fn sparse_columns_are_fresh_filtered_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let docs = db.create_collection("docs", schema()).unwrap();
    let mut batch = WriteBatch::new();
    for (id, kind, terms) in [
        ("a", "x", sparse(&[(1, 1.0), (7, 2.0)])),
        ("b", "y", sparse(&[(7, 3.0)])),
        ("c", "x", sparse(&[(2, 5.0)])),
    ] {
        batch.insert(
            Item::new(id)
                .set("terms", terms)
                .set("kind", kind)
                .set("v", vec![0.0f32, 1.0]),
        );
    }
    docs.commit(batch).unwrap();
    // Found at once (memtable), in dot-product order; "c" shares no index.
    let q = sparse(&[(7, 1.0), (1, 0.5)]);
    assert_eq!(
        searched(&db, &q, 5),
        vec![("b".to_string(), 3.0), ("a".to_string(), 2.5)]
    );
    docs.flush().unwrap();
    assert_eq!(searched(&db, &q, 5), brute_force(&db, &q, 5));
    // VECTOR OF an item means its own sparse vector.
    let snap = db.snapshot().collection("docs").unwrap();
    let like = db
        .query(&snap, &Query::nearest("terms", Target::Item("a".into()), 5))
        .unwrap();
    let ids: Vec<&str> = like.hits.iter().map(|h| h.item.id().unwrap()).collect();
    assert_eq!(ids, ["b", "a"]);
    // A filter applies inside the scan.
    let filter = quiver::Filter::new(
        snap.schema(),
        quiver::sql::parse_filter("kind = 'x'").unwrap(),
    )
    .unwrap();
    let filtered = db
        .query(
            &snap,
            &Query::nearest("terms", Target::Sparse(q.clone()), 5).filter(filter),
        )
        .unwrap();
    assert_eq!(filtered.hits.len(), 1);
    assert_eq!(filtered.hits[0].item.id().unwrap(), "a");
    // Values read back exactly.
    assert_eq!(
        snap.get("a").unwrap().unwrap().value("terms").unwrap(),
        Value::Sparse(sparse(&[(1, 1.0), (7, 2.0)]))
    );

    // Bad input: typed errors, nothing written.
    let before = snap.count();
    type Check = fn(&Error) -> bool;
    let cases: Vec<(Query, Check)> = vec![
        (
            Query::nearest("terms", Target::Sparse(SparseVector::default()), 5),
            |e| matches!(e, Error::InvalidArgument(m) if m.contains("no entries")),
        ),
        (Query::nearest("v", Target::Sparse(q.clone()), 5), |e| {
            matches!(e, Error::TypeMismatch { .. })
        }),
        (
            Query::nearest("terms", Target::Vector(vec![1.0, 0.0]), 5),
            |e| matches!(e, Error::TypeMismatch { .. }),
        ),
        (Query::nearest("kind", Target::Sparse(q.clone()), 5), |e| {
            matches!(e, Error::TypeMismatch { .. })
        }),
    ];
    for (query, expected) in cases {
        let err = db.query(&snap, &query).unwrap_err();
        assert!(expected(&err), "{err:?}");
    }
    let filter = quiver::sql::parse_filter("terms = 1").unwrap();
    assert!(matches!(
        quiver::Filter::new(snap.schema(), filter),
        Err(Error::TypeMismatch { .. })
    ));
    let mut batch = WriteBatch::new();
    batch.insert(
        Item::new("bad")
            .set("terms", vec![1.0f32, 2.0])
            .set("v", vec![0.0f32, 1.0]),
    );
    assert!(matches!(
        docs.commit(batch),
        Err(Error::TypeMismatch { .. })
    ));
    assert_eq!(db.snapshot().collection("docs").unwrap().count(), before);
    for bad in [
        SparseVector::new(vec![1, 1], vec![1.0, 2.0]),
        SparseVector::new(vec![1], vec![-1.0]),
        SparseVector::new(vec![1], vec![f32::NAN]),
        SparseVector::from_pairs([(1i64 << 32, 1.0)]),
    ] {
        assert!(matches!(bad, Err(Error::InvalidArgument(_))));
    }
    let report = db.verify().unwrap();
    assert!(report.is_ok());
}

/// A sparse term fused with a dense one: candidates from the sparse scan, every union
/// member re-scored exactly on both (dot product, distance), min-max by default.
#[test]
fn a_sparse_term_fuses_with_a_vector_term() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let docs = db.create_collection("docs", schema()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..30u32 {
        let terms = sparse(&[(i % 5, 1.0 + i as f32 / 10.0), (10 + i % 3, 0.5)]);
        let v = vec![i as f32 / 30.0, ((i * 13) % 30) as f32 / 30.0];
        batch.insert(
            Item::new(format!("d{i:02}"))
                .set("terms", terms)
                .set("kind", "x")
                .set("v", v),
        );
    }
    docs.commit(batch).unwrap();
    docs.flush().unwrap();
    docs.delete("d03").unwrap();
    let query_terms = sparse(&[(0, 1.0), (11, 2.0)]);
    let snap = db.snapshot().collection("docs").unwrap();
    let query = Query::fused(FusionChoice::Given(Fusion::Weighted(vec![0.5, 0.5])), 40)
        .term("terms", Target::Sparse(query_terms.clone()))
        .term("v", Target::Vector(vec![1.0, 0.0]))
        .explain(true);
    let hits = db.query(&snap, &query).unwrap();
    let dots: BTreeMap<String, f32> = brute_force(&db, &query_terms, 100).into_iter().collect();
    // Every live item is a candidate of the vector column, so all 29 come back; one
    // sharing no index with the query scores a dot product of 0.
    assert_eq!(hits.hits.len(), 29);
    for h in &hits.hits {
        let id = h.item.id().unwrap();
        let dot = dots.get(id).copied().unwrap_or(0.0);
        let p = h.parts[0].expect("every item has terms");
        assert!(
            (-p.distance - dot).abs() < 1e-6,
            "{id}: {} vs {dot}",
            -p.distance
        );
        let v = h.item.vector("v").unwrap().unwrap();
        let d = (v[0] - 1.0).powi(2) + v[1].powi(2);
        assert!((h.parts[1].unwrap().distance - d).abs() < 1e-5);
    }
    assert!(hits.hits.windows(2).all(|w| w[0].score >= w[1].score));
    let Some(Plan::Fused { explain, .. }) = &hits.plan else {
        panic!("a fused plan")
    };
    assert_eq!(explain.normalization, Normalization::MinMax);
    // RRF over the two lists works too.
    let rrf = Query::fused(FusionChoice::Given(Fusion::RrfLists { k: 60.0 }), 5)
        .term("terms", Target::Sparse(query_terms))
        .term("v", Target::Vector(vec![1.0, 0.0]));
    assert_eq!(db.query(&snap, &rrf).unwrap().hits.len(), 5);
}

/// A collection big enough for the postings' pruning to cut in (3,000 rows, Zipf-like
/// indices: a few in most rows), with deletes in a sealed segment and rows in the
/// memtable: every query's top 10 equals brute force, ids and scores, and EXPLAIN shows
/// that fewer entries were read than the query's lists hold on the common queries.
#[test]
fn pruned_sparse_search_equals_brute_force_on_a_skewed_collection() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let docs = db.create_collection("docs", schema()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let draw = |rng: &mut rand::rngs::StdRng| -> SparseVector {
        let mut m = BTreeMap::new();
        for _ in 0..rng.random_range(1..12) {
            // Skewed: index i with probability about 1/(i+1).
            let i = (rng.random::<f64>().powi(3) * 400.0) as u32;
            m.insert(i, rng.random_range(0.0f32..2.0));
        }
        sparse(&m.into_iter().collect::<Vec<_>>())
    };
    for chunk in 0..3 {
        let mut batch = WriteBatch::new();
        for i in 0..1000 {
            batch.insert(
                Item::new(format!("d{chunk}-{i:04}"))
                    .set("terms", draw(&mut rng))
                    .set("v", vec![0.0f32, 0.0]),
            );
        }
        docs.commit(batch).unwrap();
        if chunk < 2 {
            docs.flush().unwrap();
        }
    }
    for i in (0..1000).step_by(7) {
        docs.delete(&format!("d0-{i:04}")).unwrap();
    }
    let mut pruned = 0;
    for _ in 0..60 {
        let q = draw(&mut rng);
        assert_eq!(searched(&db, &q, 10), brute_force(&db, &q, 10), "query {q}");
        let snap = db.snapshot().collection("docs").unwrap();
        let (_, stats) = snap.search_sparse("terms", &q, 10, None).unwrap();
        for part in &stats.parts {
            if let quiver::Strategy::SparsePostings { read, listed } = part.strategy
                && read < listed
            {
                pruned += 1;
            }
        }
    }
    assert!(pruned > 0, "pruning never cut a list");
}
