//! Multi-vector columns (`VECTOR(n)[]`): `<->` (an item's nearest vector) and MAXSIM
//! against a brute force over the snapshot's live items, through upserts, deletes,
//! flushes, compactions, index builds and reopens. Components are small integers, so
//! every distance and every MAXSIM is exact in f32 and ties break by id on both
//! sides: the answers must be equal, ids, scores and matched elements.

use proptest::prelude::*;
use quiver::{
    Database, Error, Fusion, FusionChoice, IndexSpec, Item, Metric, MultiVector, Plan, Query,
    Schema, SearchOptions, Target, Value, WriteBatch,
};

const DIM: usize = 3;

fn schema() -> Schema {
    Schema::builder()
        .multi_vector("l2", DIM as u32, Metric::L2, true)
        .multi_vector("dot", DIM as u32, Metric::Dot, true)
        .nullable_vector("v", DIM as u32, Metric::L2)
        .build()
        .unwrap()
}

fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    let (a, b): (Vec<f64>, Vec<f64>) = (
        a.iter().map(|&x| x.into()).collect(),
        b.iter().map(|&x| x.into()).collect(),
    );
    match metric {
        Metric::L2 => a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Dot => -a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>(),
        Metric::Cosine => unreachable!("integer grids are exact for L2 and DOT only"),
    }
}

/// One expected hit: id, score, matched element.
type Expected = (String, f32, Option<u32>);

/// The best `k` live items from scratch: `<->` by the nearest vector (the lowest place
/// among ties), MAXSIM by Σ over the query's vectors of the best −distance.
fn brute_force(db: &Database, column: &str, query: &Target, k: usize) -> Vec<Expected> {
    let metric = if column == "l2" {
        Metric::L2
    } else {
        Metric::Dot
    };
    let snap = db.snapshot().collection("clips").unwrap();
    let mut scored: Vec<(String, f64, Option<u32>)> = snap
        .scan()
        .filter_map(|item| {
            let Value::Vectors(list) = item.value(column).unwrap() else {
                return None;
            };
            let id = item.id().unwrap().to_string();
            Some(match query {
                Target::Vector(q) => {
                    let (mut best, mut at) = (f64::INFINITY, 0);
                    for (j, v) in list.vectors().enumerate() {
                        let d = distance(metric, q, v);
                        if d < best {
                            (best, at) = (d, j as u32);
                        }
                    }
                    (id, -best, Some(at))
                }
                Target::Vectors(qs) => {
                    let total = qs
                        .vectors()
                        .map(|q| {
                            list.vectors()
                                .map(|v| -distance(metric, q, v))
                                .fold(f64::NEG_INFINITY, f64::max)
                        })
                        .sum();
                    (id, total, None)
                }
                other => unreachable!("{other:?}"),
            })
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
        .into_iter()
        .map(|(id, s, e)| (id, s as f32, e))
        .collect()
}

fn searched(db: &Database, column: &str, target: &Target, k: usize, exact: bool) -> Vec<Expected> {
    let snap = db.snapshot().collection("clips").unwrap();
    let query =
        Query::nearest(column, target.clone(), k).options(SearchOptions::default().exact(exact));
    let hits = db.query(&snap, &query).unwrap();
    hits.hits
        .iter()
        .map(|h| (h.item.id().unwrap().to_string(), h.score, h.element))
        .collect()
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Option<Vec<Vec<f32>>>),
    Delete(u8),
    Flush,
    Compact,
    Index,
    Reopen,
}

fn grid_vector() -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec((-3i8..=3).prop_map(f32::from), DIM)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), proptest::option::weighted(0.85, proptest::collection::vec(grid_vector(), 0..5)))
            .prop_map(|(id, list)| Op::Put(id % 30, list)),
        2 => any::<u8>().prop_map(|id| Op::Delete(id % 30)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Index),
        1 => Just(Op::Reopen),
    ]
}

fn put(db: &Database, id: &str, list: Option<&Vec<Vec<f32>>>) {
    let mut item = Item::new(id);
    if let Some(list) = list {
        let value = MultiVector::new(list.clone()).unwrap();
        // The DOT column holds the same vectors in reverse order.
        let reversed = MultiVector::new(list.iter().rev().cloned().collect()).unwrap();
        item = item.set("l2", value).set("dot", reversed);
    }
    let mut batch = WriteBatch::new();
    batch.upsert(item);
    db.collection("clips").unwrap().commit(batch).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Exact search equals the brute force; a search through the index returns exact
    /// scores and elements for what it returns, best first.
    #[test]
    fn multi_vector_search_equals_brute_force(
        ops in proptest::collection::vec(op(), 1..40),
        nearest in grid_vector(),
        maxsim in proptest::collection::vec(grid_vector(), 1..4),
        k in 1usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path()).unwrap();
        db.create_collection("clips", schema()).unwrap();
        for op in &ops {
            let clips = db.collection("clips").unwrap();
            match op {
                Op::Put(id, list) => put(&db, &format!("c{id:02}"), list.as_ref()),
                Op::Delete(id) => {
                    clips.delete(&format!("c{id:02}")).unwrap();
                }
                Op::Flush => clips.flush().unwrap(),
                Op::Compact => clips.compact().unwrap(),
                Op::Index => clips.create_index("l2", IndexSpec::hnsw().m(4)).unwrap(),
                Op::Reopen => {
                    drop(clips);
                    drop(db);
                    db = Database::open(dir.path()).unwrap();
                }
            }
        }
        let targets = [
            Target::Vector(nearest.clone()),
            Target::Vectors(MultiVector::new(maxsim.clone()).unwrap()),
        ];
        for column in ["l2", "dot"] {
            for target in &targets {
                let expected = brute_force(&db, column, target, k);
                prop_assert_eq!(
                    searched(&db, column, target, k, true), expected.clone(),
                    "{} {:?}", column, target
                );
                let all = brute_force(&db, column, target, usize::MAX);
                let through_index = searched(&db, column, target, k, false);
                prop_assert!(through_index.len() <= k);
                for (i, hit) in through_index.iter().enumerate() {
                    prop_assert!(all.contains(hit), "{:?} is not an exact hit", hit);
                    if i > 0 {
                        prop_assert!(through_index[i - 1].1 >= hit.1);
                    }
                }
            }
        }
    }
}

/// Items of a few vectors each, drawn around per-item centres.
fn clustered(n: usize, seed: u64) -> Vec<(String, Vec<Vec<f32>>)> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    };
    (0..n)
        .map(|i| {
            let centre: Vec<f32> = (0..16).map(|_| next()).collect();
            let count = 1 + i % 6;
            let list = (0..count)
                .map(|_| centre.iter().map(|c| c + 0.2 * next()).collect())
                .collect();
            (format!("item{i:05}"), list)
        })
        .collect()
}

/// Through an HNSW or IVF-PQ index over the elements, the top 10 of 2,000 items
/// (7,000 vectors) is found with recall ≥ 0.95 against the exact answer, for `<->`
/// and MAXSIM, with a recall target too; EXPLAIN says how many items were re-scored.
#[test]
fn the_element_index_finds_the_exact_top_items() {
    let items = clustered(2000, 7);
    for spec in [IndexSpec::hnsw(), IndexSpec::ivf_pq().nlist(32).refine(4)] {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let schema = Schema::builder()
            .multi_vector("frames", 16, Metric::Cosine, false)
            .build()
            .unwrap();
        let clips = db.create_collection("clips", schema).unwrap();
        clips.create_index("frames", spec).unwrap();
        let mut batch = WriteBatch::new();
        for (id, list) in &items {
            batch.insert(Item::new(id).set("frames", MultiVector::new(list.clone()).unwrap()));
        }
        clips.commit(batch).unwrap();
        clips.flush().unwrap();
        let snap = clips.snapshot().unwrap();
        let (mut found, mut total) = (0, 0);
        for (i, (_, list)) in items.iter().step_by(100).enumerate() {
            let probe: Vec<f32> = list[0].iter().map(|x| x + 0.05).collect();
            let pair = vec![probe.clone(), list[list.len() - 1].clone()];
            let targets = [
                Target::Vector(probe.clone()),
                Target::Vectors(MultiVector::new(pair).unwrap()),
            ];
            for target in targets {
                let query = |options: SearchOptions| {
                    let q = Query::nearest("frames", target.clone(), 10).options(options);
                    db.query(&snap, &q.explain(true)).unwrap()
                };
                let exact = query(SearchOptions::default().exact(true));
                let ids = |h: &quiver::Hits<'_>| {
                    h.hits
                        .iter()
                        .map(|h| h.item.id().unwrap().to_string())
                        .collect::<Vec<_>>()
                };
                let want = ids(&exact);
                // A recall target beyond the index's measured curve scans exactly.
                for (indexed, target) in [
                    (query(SearchOptions::default()), false),
                    (query(SearchOptions::default().recall(0.9)), true),
                ] {
                    let got = ids(&indexed);
                    found += got.iter().filter(|id| want.contains(id)).count();
                    total += want.len();
                    let Some(Plan::Nearest { stats, .. }) = &indexed.plan else {
                        panic!("no plan");
                    };
                    let part = &stats.parts[0];
                    let through_index = part.to_string().contains("items re-scored");
                    let scanned = part.strategy == quiver::Strategy::Exact;
                    assert!(
                        through_index || (target && scanned),
                        "{spec:?} query {i}: {part}"
                    );
                }
            }
        }
        let recall = found as f64 / total as f64;
        assert!(recall >= 0.95, "{spec:?}: recall@10 {recall}");
    }
}

#[test]
fn bad_multi_vector_input_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .multi_vector("frames", 2, Metric::L2, false)
        .vector("v", 2, Metric::L2)
        .build()
        .unwrap();
    let clips = db.create_collection("clips", schema).unwrap();
    let ok = || Item::new("ok").set("v", vec![0.0f32, 0.0]);
    let two = |a: Vec<f32>, b: Vec<f32>| MultiVector::new(vec![a, b]).unwrap();
    let commit = |item: Item| {
        let mut batch = WriteBatch::new();
        batch.insert(ok().set("frames", two(vec![1.0, 1.0], vec![2.0, 2.0])));
        batch.insert(item);
        clips.commit(batch)
    };
    type Check = fn(&Error) -> bool;
    let cases: Vec<(Item, Check)> = vec![
        (
            Item::new("a")
                .set("v", vec![0.0f32, 0.0])
                .set("frames", two(vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0])),
            |e| matches!(e, Error::BadElement { element: 0, id, .. } if id == "a"),
        ),
        (
            Item::new("b")
                .set("v", vec![0.0f32, 0.0])
                .set("frames", two(vec![1.0, 2.0], vec![f32::NAN, 0.0])),
            |e| matches!(e, Error::BadElement { element: 1, id, .. } if id == "b"),
        ),
        (
            Item::new("c")
                .set("v", vec![0.0f32, 0.0])
                .set("frames", MultiVector::default()),
            |e| matches!(e, Error::MissingValue { id, .. } if id == "c"),
        ),
        (
            Item::new("d")
                .set("v", vec![0.0f32, 0.0])
                .set("frames", vec![1.0f32, 2.0]),
            |e| matches!(e, Error::TypeMismatch { .. }),
        ),
    ];
    for (item, expected) in cases {
        let err = commit(item.clone()).unwrap_err();
        assert!(expected(&err), "{item:?}: {err:?}");
    }
    assert_eq!(clips.snapshot().unwrap().count(), 0, "no batch was written");
    assert!(MultiVector::new(vec![vec![0.0]; 65_536]).is_err());

    commit(
        Item::new("x")
            .set("v", vec![0.0f32, 0.0])
            .set("frames", two(vec![0.0, 1.0], vec![5.0, 5.0])),
    )
    .unwrap();
    let snap = clips.snapshot().unwrap();
    let run = |column: &str, target: Target| db.query(&snap, &Query::nearest(column, target, 3));
    let maxsim_on_single =
        run("v", Target::Vectors(two(vec![0.0, 1.0], vec![1.0, 0.0]))).unwrap_err();
    assert!(
        maxsim_on_single
            .to_string()
            .contains("MAXSIM ranks a multi-vector column"),
        "{maxsim_on_single}"
    );
    assert!(run("v", Target::ItemVectors("x".into())).is_err());
    assert!(matches!(
        run("frames", Target::Vector(vec![1.0, 2.0, 3.0])).unwrap_err(),
        Error::DimensionMismatch { .. }
    ));
    assert!(matches!(
        run("frames", Target::Vector(vec![1.0, f32::INFINITY])).unwrap_err(),
        Error::NonFiniteVector { .. }
    ));
    // An item's own vectors rank by MAXSIM: the item itself first.
    let own = run("frames", Target::Item("x".into())).unwrap();
    assert_eq!(own.hits[0].item.id().unwrap(), "x");
    assert_eq!(own.hits[0].element, None);
    // `<->` says which vector matched.
    let near = run("frames", Target::Vector(vec![5.0, 4.0])).unwrap();
    assert_eq!(
        (near.hits[0].item.id().unwrap(), near.hits[0].element),
        ("x", Some(1))
    );
}

/// A multi-vector term fuses with a single-vector term: every hit's parts are the
/// exact distances of each term.
#[test]
fn multi_vector_terms_fuse_with_vector_terms() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let clips = db.create_collection("clips", schema()).unwrap();
    for i in 0..30 {
        let list: Vec<Vec<f32>> = (0..1 + i % 3)
            .map(|j| vec![i as f32, j as f32, (i % 5) as f32])
            .collect();
        let mut batch = WriteBatch::new();
        batch.upsert(
            Item::new(format!("c{i:02}"))
                .set("l2", MultiVector::new(list).unwrap())
                .set("v", vec![(30 - i) as f32, 0.0, 0.0]),
        );
        clips.commit(batch).unwrap();
        if i == 15 {
            clips.flush().unwrap();
        }
    }
    let snap = clips.snapshot().unwrap();
    let query = Query::fused(FusionChoice::Given(Fusion::Weighted(vec![0.5, 0.5])), 5)
        .term("l2", Target::Vector(vec![10.0, 1.0, 0.0]))
        .term("v", Target::Vector(vec![20.0, 0.0, 0.0]));
    let hits = db.query(&snap, &query).unwrap();
    assert_eq!(hits.hits.len(), 5);
    for hit in &hits.hits {
        let id = hit.item.id().unwrap().to_string();
        let l2 = brute_force(&db, "l2", &Target::Vector(vec![10.0, 1.0, 0.0]), usize::MAX);
        let exact = l2.iter().find(|e| e.0 == id).unwrap().1;
        let part = hit.parts[0].unwrap();
        assert_eq!(-part.distance, exact, "{id}");
    }
    let maxsim = Query::fused(FusionChoice::Given(Fusion::Rrf { k: 60.0 }), 5)
        .term("l2", Target::Item("c10".into()))
        .term("v", Target::Item("c10".into()));
    let hits = db.query(&snap, &maxsim).unwrap();
    assert_eq!(hits.hits[0].item.id().unwrap(), "c10");
}
