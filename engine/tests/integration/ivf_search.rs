//! IVF-PQ indexes through the public API (built at compaction and flush, mapped back
//! from segments, deletions and filters honoured) and recall-targeted search on both
//! index kinds.

use quiver::{
    Database, Error, IndexSpec, Item, Metric, Schema, SearchOptions, Strategy, WriteBatch,
};

const DIM: usize = 16;

/// Deterministic clustered vectors.
fn vector(i: usize) -> Vec<f32> {
    let mut s = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let cluster = (i % 11) as f32;
    (0..DIM)
        .map(|d| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            cluster * ((d % 4) as f32 - 1.5) + (s % 1000) as f32 / 500.0
        })
        .collect()
}

fn open_filled(dir: &std::path::Path, n: usize) -> Database {
    let db = Database::open(dir).unwrap();
    let schema = Schema::builder()
        .vector("v", DIM as u32, Metric::L2)
        .attr("group", quiver::AttrType::Int)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut b = WriteBatch::new();
        for &i in chunk {
            b.insert(
                Item::new(format!("i{i:05}"))
                    .set("v", vector(i))
                    .set("group", (i % 10) as i64),
            );
        }
        c.commit(b).unwrap();
    }
    db
}

fn ids(hits: &[quiver::SearchHit<'_>]) -> Vec<String> {
    hits.iter()
        .map(|h| h.item.id().unwrap().to_string())
        .collect()
}

/// Mean recall@10 of `options` against exact search over 30 fresh queries, and the
/// strategies used.
fn measure(c: &quiver::Collection, options: &SearchOptions) -> (f64, Vec<Strategy>) {
    let snap = c.snapshot().unwrap();
    let mut total = 0.0;
    let mut strategies = Vec::new();
    for q in 0..30 {
        let query = vector(50_000 + q);
        let (got, stats) = snap.search_where("v", &query, 10, options, None).unwrap();
        let exact = snap
            .search("v", &query, 10, &SearchOptions::default().exact(true))
            .unwrap();
        let (got, exact) = (ids(&got), ids(&exact));
        total += got.iter().filter(|x| exact.contains(x)).count() as f64 / 10.0;
        strategies.extend(stats.parts.iter().map(|p| p.strategy));
        for p in &stats.parts {
            // EXPLAIN's count: IVF-PQ scans some lists' codes plus the refined
            // candidates, never more codes than the segment's rows (deleted ones are
            // still coded: at most one here); an exact scan compares every live row.
            match p.strategy {
                Strategy::IvfPq { refine, .. } => {
                    assert!(
                        p.visited > 10 && p.visited <= p.rows + 1 + 10 * refine,
                        "{p}"
                    )
                }
                Strategy::Exact | Strategy::ExactUntrained { .. } => {
                    assert_eq!(p.visited, p.rows, "{p}")
                }
                Strategy::Hnsw { .. }
                | Strategy::Ivf { .. }
                | Strategy::Scan { .. }
                | Strategy::Bm25
                | Strategy::SparsePostings { .. } => {}
            }
        }
    }
    (total / 30.0, strategies)
}

#[test]
fn ivf_pq_index_answers_from_segments_and_honours_deletes_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_filled(dir.path(), 6000);
    let c = db.collection("c").unwrap();
    assert!(matches!(
        c.create_index("v", IndexSpec::ivf_pq().nlist(64).m(5)),
        Err(Error::InvalidArgument(_))
    ));
    c.create_index("v", IndexSpec::ivf_pq().nlist(64).m(4).refine(8))
        .unwrap();
    c.delete("i00007").unwrap();

    let (recall, strategies) = measure(&c, &SearchOptions::default().nprobe(64));
    assert!(recall >= 0.95, "all lists + refine: recall {recall}");
    assert!(
        strategies.contains(&Strategy::IvfPq {
            nprobe: 64,
            refine: 8
        }),
        "{strategies:?}"
    );
    let (few, _) = measure(&c, &SearchOptions::default().nprobe(1).refine(0));
    assert!(few < recall, "1 list, no refine: {few} vs {recall}");

    let snap = c.snapshot().unwrap();
    let near7 = snap
        .search("v", &vector(7), 10, &SearchOptions::default())
        .unwrap();
    assert!(!ids(&near7).contains(&"i00007".to_string()), "deleted");
    let only_3 =
        |item: &quiver::ItemRef<'_>| matches!(item.value("group"), Ok(quiver::Value::Int(3)));
    let (hits, _) = snap
        .search_where(
            "v",
            &vector(3),
            10,
            &SearchOptions::default(),
            Some(&only_3),
        )
        .unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| only_3(&h.item)));
    let before = ids(&near7);
    drop((snap, c, db));

    let db = Database::open(dir.path()).unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    let again = snap
        .search("v", &vector(7), 10, &SearchOptions::default())
        .unwrap();
    assert_eq!(ids(&again), before, "mapped back from the segment alike");
}

#[test]
fn recall_targets_pick_parameters_from_each_index_curve() {
    for spec in [
        IndexSpec::hnsw().m(8).ef_construction(64),
        IndexSpec::ivf_pq().nlist(48).m(4),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = open_filled(dir.path(), 5000);
        let c = db.collection("c").unwrap();
        c.create_index("v", spec).unwrap();
        let (recall, strategies) = measure(&c, &SearchOptions::default().recall(0.9));
        assert!(recall >= 0.85, "{spec:?}: target 0.9, got {recall}");
        assert!(
            strategies
                .iter()
                .any(|s| matches!(s, Strategy::Hnsw { .. } | Strategy::IvfPq { .. })),
            "{spec:?}: {strategies:?}"
        );
        // Beyond every measured point: exact scans (recall 1).
        let (full, strategies) = measure(&c, &SearchOptions::default().recall(1.0));
        assert!(full == 1.0 || strategies.iter().any(|s| *s != Strategy::Exact));
        let snap = c.snapshot().unwrap();
        for bad in [0.0, 1.5, f32::NAN] {
            let r = snap.search("v", &vector(1), 5, &SearchOptions::default().recall(bad));
            assert!(matches!(r, Err(Error::InvalidArgument(_))), "{bad}");
        }
    }
}
