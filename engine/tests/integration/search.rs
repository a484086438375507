//! Vector search through the public API: HNSW graphs built at flush and compaction and
//! read back from the memory map, exact scans of the memtable, deletions, NULLs, and
//! filtered search that switches to exact scans when few rows pass.

use quiver::{
    Database, Error, IndexSpec, Item, Metric, Quantize, Schema, SearchOptions, Strategy, Value,
    WriteBatch,
};

const DIM: usize = 12;

/// Deterministic clustered vectors.
fn vector(i: usize) -> Vec<f32> {
    let mut s = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let cluster = (i % 7) as f32;
    (0..DIM)
        .map(|d| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            cluster * ((d % 3) as f32 - 1.0) + (s % 1000) as f32 / 1000.0
        })
        .collect()
}

fn schema() -> Schema {
    Schema::builder()
        .vector("v", DIM as u32, Metric::L2)
        .nullable_vector("img", 2, Metric::Cosine)
        .attr("group", quiver::AttrType::Int)
        .build()
        .unwrap()
}

fn fill(db: &Database, n: usize) {
    let c = db.create_collection("c", schema()).unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut b = WriteBatch::new();
        for &i in chunk {
            b.insert(
                Item::new(format!("i{i:05}"))
                    .set("v", vector(i))
                    .set("group", (i % 100) as i64),
            );
        }
        c.commit(b).unwrap();
    }
}

fn ids(hits: &[quiver::SearchHit<'_>]) -> Vec<String> {
    hits.iter()
        .map(|h| h.item.id().unwrap().to_string())
        .collect()
}

fn overlap(a: &[String], b: &[String]) -> f64 {
    a.iter().filter(|x| b.contains(x)).count() as f64 / b.len().max(1) as f64
}

#[test]
fn hnsw_search_matches_exact_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, 3000);
    let c = db.collection("c").unwrap();
    c.create_index("v", IndexSpec::hnsw().m(12).ef_construction(100))
        .unwrap();
    // Fresh writes after the index: a second segment at flush, plus memtable rows.
    let mut b = WriteBatch::new();
    for i in 3000..3400 {
        b.insert(
            Item::new(format!("i{i:05}"))
                .set("v", vector(i))
                .set("group", 1),
        );
    }
    c.commit(b).unwrap();
    c.flush().unwrap();
    c.insert(Item::new("fresh").set("v", vector(5))).unwrap();
    c.delete("i00012").unwrap();

    let snap = c.snapshot().unwrap();
    let mut total = 0.0;
    for q in 0..20 {
        let query = vector(10_000 + q);
        let (approx, stats) = snap
            .search_where("v", &query, 10, &SearchOptions::default().ef(80), None)
            .unwrap();
        let exact = snap
            .search("v", &query, 10, &SearchOptions::default().exact(true))
            .unwrap();
        assert!(
            stats
                .parts
                .iter()
                .any(|p| matches!(p.strategy, Strategy::Hnsw { .. })),
            "{stats:?}"
        );
        assert_eq!(approx.len(), 10);
        total += overlap(&ids(&approx), &ids(&exact));
        assert!(approx.windows(2).all(|w| w[0].distance <= w[1].distance));
        assert!(approx.iter().all(|h| h.score == -h.distance));
    }
    assert!(total / 20.0 >= 0.95, "recall@10 {}", total / 20.0);

    // The deleted item never comes back; the memtable item is found.
    let near12 = snap
        .search("v", &vector(12), 5, &SearchOptions::default())
        .unwrap();
    assert!(!ids(&near12).contains(&"i00012".to_string()));
    let near5 = ids(&snap
        .search("v", &vector(5), 2, &SearchOptions::default())
        .unwrap());
    assert!(near5.contains(&"fresh".to_string()) && near5.contains(&"i00005".to_string()));

    drop((snap, c, db));
    let db = Database::open(dir.path()).unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    let again = snap
        .search("v", &vector(5), 2, &SearchOptions::default())
        .unwrap();
    assert_eq!(
        ids(&again),
        near5,
        "graphs mapped back from the segments answer alike"
    );
}

#[test]
fn filtered_search_returns_k_rows_at_one_percent_selectivity() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, 3000);
    let c = db.collection("c").unwrap();
    c.create_index("v", IndexSpec::hnsw()).unwrap();
    let snap = c.snapshot().unwrap();
    let in_group =
        |g: i64| move |item: &quiver::ItemRef<'_>| item.value("group").unwrap() == Value::Int(g);
    let mut recall = 0.0;
    for q in 0..10 {
        let query = vector(20_000 + q);
        let keep = in_group(q as i64); // 30 of 3000 rows pass: 1 %
        let (hits, stats) = snap
            .search_where("v", &query, 10, &SearchOptions::default(), Some(&keep))
            .unwrap();
        assert_eq!(hits.len(), 10, "k rows come back when k rows pass");
        assert!(hits.iter().all(|h| keep(&h.item)));
        assert!(
            stats.parts.iter().all(|p| p.strategy == Strategy::Exact),
            "1 % selectivity scans exactly: {stats:?}"
        );
        let (truth, _) = snap
            .search_where(
                "v",
                &query,
                10,
                &SearchOptions::default().exact(true),
                Some(&keep),
            )
            .unwrap();
        recall += overlap(&ids(&hits), &ids(&truth));
    }
    assert!(recall / 10.0 >= 0.95);
    // A loose filter (50 %) goes through the graph and still returns k passing rows.
    let half = |item: &quiver::ItemRef<'_>| matches!(item.value("group").unwrap(), Value::Int(g) if g % 2 == 0);
    let (hits, stats) = snap
        .search_where("v", &vector(3), 10, &SearchOptions::default(), Some(&half))
        .unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| half(&h.item)));
    assert!(
        stats
            .parts
            .iter()
            .any(|p| matches!(p.strategy, Strategy::Hnsw { .. }))
    );
}

#[test]
fn nulls_bad_queries_and_non_vector_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("c", schema()).unwrap();
    c.insert(
        Item::new("with")
            .set("v", vector(1))
            .set("img", vec![1.0, 0.0]),
    )
    .unwrap();
    c.insert(Item::new("without").set("v", vector(2))).unwrap();
    c.flush().unwrap();
    c.create_index("img", IndexSpec::hnsw()).unwrap();
    let snap = c.snapshot().unwrap();
    let hits = snap
        .search("img", &[1.0, 0.1], 5, &SearchOptions::default())
        .unwrap();
    assert_eq!(
        ids(&hits),
        vec!["with"],
        "an item without the column is never returned"
    );
    let bad = snap.search("v", &[1.0; 3], 5, &SearchOptions::default());
    assert!(
        matches!(
            bad,
            Err(Error::DimensionMismatch {
                expected: 12,
                got: 3,
                ..
            })
        ),
        "{bad:?}"
    );
    let nan = snap.search("img", &[f32::NAN, 0.0], 5, &SearchOptions::default());
    assert!(matches!(nan, Err(Error::NonFiniteVector { .. })));
    assert!(matches!(
        snap.search("group", &[1.0], 5, &SearchOptions::default()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(
        snap.search("nope", &[1.0], 5, &SearchOptions::default()),
        Err(Error::UnknownColumn { .. })
    ));
    assert!(matches!(
        c.create_index("group", IndexSpec::hnsw()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(
        c.create_index("v", IndexSpec::hnsw().m(1)),
        Err(Error::InvalidArgument(_))
    ));
}

/// An index declared with `quantize = 'sq8'` (the default) walks its graph on 8-bit
/// codes and re-ranks the best 2k exactly, `rabitq4` on RaBitQ codes re-ranking 3k;
/// one declared with `none` walks the vectors. All answer alike, EXPLAIN says which,
/// and only segments holding codes are written as version 2 (8-bit) or 4 (RaBitQ), so
/// older builds refuse exactly those.
#[test]
fn coded_and_f32_graphs_answer_alike_and_say_which_they_walked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    fill(&db, 3000);
    let c = db.collection("c").unwrap();
    let mut answers = Vec::new();
    for quantize in [Quantize::None, Quantize::Sq8, Quantize::Rabitq4] {
        c.create_index("v", IndexSpec::hnsw().quantize(quantize))
            .unwrap();
        let versions: Vec<u32> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                (path.extension()? == "qseg").then(|| {
                    let head = std::fs::read(&path).unwrap();
                    u32::from_le_bytes(head[8..12].try_into().unwrap())
                })
            })
            .collect();
        let want = match quantize {
            Quantize::None => 1,
            Quantize::Sq8 => 2,
            _ => 4,
        };
        let report = db.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.checks);
        let index = report.checks.iter().find(|c| c.what == "index v").unwrap();
        assert_eq!(
            index
                .detail
                .ends_with(&format!("{} codes of every row", quantize.name())),
            !quantize.is_none(),
            "{}",
            index.detail
        );
        assert!(
            !versions.is_empty() && versions.iter().all(|&v| v == want),
            "{versions:?}"
        );

        let snap = c.snapshot().unwrap();
        let mut recall = 0.0;
        let mut ours = Vec::new();
        for q in 0..20 {
            let query = vector(20_000 + q);
            let (hits, stats) = snap
                .search_where("v", &query, 10, &SearchOptions::default().ef(64), None)
                .unwrap();
            let exact = snap
                .search("v", &query, 10, &SearchOptions::default().exact(true))
                .unwrap();
            let segment = stats.parts.iter().find(|p| p.segment.is_some()).unwrap();
            let rerank = (!quantize.is_none()).then_some(10 * quantize.default_refine() as usize);
            let strategy = Strategy::Hnsw {
                ef: 64,
                codes: quantize,
                rerank,
            };
            assert_eq!(segment.strategy, strategy);
            let said = segment.strategy.to_string();
            let on_codes = format!(
                "{} codes, best {} re-ranked",
                quantize.name(),
                rerank.unwrap_or(0)
            );
            assert_eq!(said.contains(&on_codes), rerank.is_some(), "{said}");
            // Exact distances either way: the codes only choose whom to re-rank.
            for h in &hits {
                let v = h.item.vector("v").unwrap().unwrap();
                let d: f32 = v.iter().zip(&query).map(|(a, b)| (a - b) * (a - b)).sum();
                assert!((d - h.distance).abs() <= 1e-4 * d.max(1.0));
            }
            recall += overlap(&ids(&hits), &ids(&exact));
            ours.push(ids(&hits));
        }
        assert!(
            recall / 20.0 >= 0.95,
            "{quantize:?}: recall@10 {}",
            recall / 20.0
        );
        answers.push(ours);
    }
    let same: f64 = answers[0]
        .iter()
        .zip(&answers[1])
        .map(|(a, b)| overlap(a, b))
        .sum::<f64>()
        / 20.0;
    assert!(same >= 0.95, "the two walks agree on {same}");
}

/// Declaring an index on a second column builds that index only: the segments are
/// rewritten one by one (not merged), the first column's graphs and codes are copied
/// as they were (its answers stay identical, distances included), deletions stay.
#[test]
fn a_second_index_builds_only_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .vector("a", DIM as u32, Metric::L2)
        .vector("b", DIM as u32, Metric::Cosine)
        .build()
        .unwrap();
    let c = db.create_collection("two", schema).unwrap();
    for part in 0..3 {
        let mut batch = WriteBatch::new();
        for i in part * 600..(part + 1) * 600 {
            let mut b = vector(i + 7);
            b.reverse();
            batch.insert(
                Item::new(format!("i{i:05}"))
                    .set("a", vector(i))
                    .set("b", b),
            );
        }
        c.commit(batch).unwrap();
        c.flush().unwrap();
    }
    c.create_index("a", IndexSpec::hnsw()).unwrap();
    c.delete("i00010").unwrap();
    c.delete("i00700").unwrap();
    let answers = |c: &quiver::Collection, column: &str| {
        let snap = c.snapshot().unwrap();
        let mut out = Vec::new();
        let mut strategies = Vec::new();
        for q in 0..15 {
            let (hits, stats) = snap
                .search_where(
                    column,
                    &vector(10 + q * 50),
                    10,
                    &SearchOptions::default().ef(32),
                    None,
                )
                .unwrap();
            out.push(
                hits.iter()
                    .map(|h| (h.item.id().unwrap().to_string(), h.distance))
                    .collect::<Vec<_>>(),
            );
            strategies.extend(
                stats
                    .parts
                    .iter()
                    .filter(|p| p.segment.is_some())
                    .map(|p| p.strategy),
            );
        }
        (out, strategies)
    };
    let (before, strategies) = answers(&c, "a");
    assert_eq!(strategies.len(), 15 * 3, "three segments, each searched");

    c.create_index("b", IndexSpec::hnsw().quantize(Quantize::None))
        .unwrap();
    let (after, strategies) = answers(&c, "a");
    assert_eq!(
        strategies.len(),
        15 * 3,
        "still three segments: nothing merged"
    );
    assert_eq!(
        after, before,
        "the first column's indexes were copied, not rebuilt"
    );
    let (on_b, strategies) = answers(&c, "b");
    assert!(
        strategies.iter().all(|s| *s
            == Strategy::Hnsw {
                ef: 32,
                codes: Quantize::None,
                rerank: None
            }),
        "{strategies:?}"
    );
    for hits in before.iter().chain(&on_b) {
        assert!(hits.iter().all(|(id, _)| id != "i00010" && id != "i00700"));
    }

    drop(c);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("two").unwrap();
    assert_eq!(answers(&c, "a").0, before, "the same after reopening");
    assert_eq!(answers(&c, "b").0, on_b);
}
