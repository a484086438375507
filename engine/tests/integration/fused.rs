//! Fused multi-column search through the public API: the plan finds an item that is
//! second on two columns but first on neither, equals brute-force fusion when every
//! item is a candidate, keeps filters, explains itself, and refuses bad queries.

use quiver::{
    Database, Error, FusedQuery, Fusion, IndexSpec, Item, Metric, Missing, Normalization, Schema,
    SearchOptions, Strategy, Value, WriteBatch,
};

const DIM: usize = 8;

fn vector(i: usize, salt: u64) -> Vec<f32> {
    let mut s = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIM)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    1.0 - dot / (na * nb)
}

/// 1,500 items with two cosine columns (b nullable: every 10th item has none) and a
/// group attribute; HNSW on both columns.
fn open(dir: &std::path::Path) -> Database {
    let db = Database::open(dir).unwrap();
    let schema = Schema::builder()
        .vector("a", DIM as u32, Metric::Cosine)
        .nullable_vector("b", DIM as u32, Metric::Cosine)
        .attr("group", quiver::AttrType::Int)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..1500 {
        let mut item = Item::new(format!("i{i:05}"))
            .set("a", vector(i, 1))
            .set("group", (i % 4) as i64);
        if i % 10 != 0 {
            item = item.set("b", vector(i, 2));
        }
        batch.insert(item);
    }
    c.commit(batch).unwrap();
    c.create_index("a", IndexSpec::hnsw().m(8).ef_construction(64))
        .unwrap();
    c.create_index("b", IndexSpec::hnsw().m(8).ef_construction(64))
        .unwrap();
    db
}

#[test]
fn second_on_both_columns_first_on_neither_is_found_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let c = db.collection("c").unwrap();
    let (qa, qb) = (vec![1.0; DIM], {
        let mut v = vec![1.0; DIM];
        v[0] = -1.0;
        v
    });
    let near =
        |x: &[f32], t: f32| -> Vec<f32> { x.iter().map(|v| v * (1.0 - t) + t * 0.3).collect() };
    let mut batch = WriteBatch::new();
    batch.insert(
        Item::new("first-on-a")
            .set("a", qa.clone())
            .set("b", vec![-1.0; DIM])
            .set("group", 0i64),
    );
    batch.insert(
        Item::new("first-on-b")
            .set("a", vec![-1.0; DIM])
            .set("b", qb.clone())
            .set("group", 0i64),
    );
    batch.insert(
        Item::new("second-on-both")
            .set("a", near(&qa, 0.05))
            .set("b", near(&qb, 0.05))
            .set("group", 0i64),
    );
    c.commit(batch).unwrap();
    let snap = c.snapshot().unwrap();
    let query = FusedQuery::new(Fusion::Weighted(vec![0.5, 0.5]))
        .column("a", &qa)
        .column("b", &qb);
    let (hits, explain) = snap.fused_search(&query, 3, None).unwrap();
    let id = |h: &quiver::Hit<'_>| h.item.id().unwrap().to_string();
    assert_eq!(id(&hits[0]), "second-on-both");
    let parts: Vec<_> = hits[0].parts.iter().map(|p| p.unwrap()).collect();
    assert_eq!((parts[0].rank, parts[1].rank), (2, 2));
    assert!((hits[0].score - (parts[0].contribution + parts[1].contribution)).abs() < 1e-6);
    // Both columns are indexed over 1,500 rows: their measured spans set the scores.
    let Normalization::Calibrated(spans) = &explain.normalization else {
        panic!("{:?}", explain.normalization);
    };
    for (span, column) in spans.iter().zip(["a", "b"]) {
        assert_eq!(Some(*span), snap.distance_span(column).unwrap());
        assert!(
            0.0 <= span.near && span.near < span.far && span.far <= 2.0,
            "{span:?}"
        );
    }
    assert_eq!(explain.columns.len(), 2);
    assert!(explain.union >= 3 && explain.columns.iter().all(|e| e.candidates == 40));
    let segment = explain.columns[0].stats.parts[0];
    assert!(
        segment.visited >= 40 && segment.visited < segment.rows,
        "the graph compares some rows, not all: {segment}"
    );
    let segment_strategy = segment.strategy;
    assert!(
        matches!(segment_strategy, Strategy::Hnsw { .. }),
        "{explain:?}"
    );
}

#[test]
fn with_every_item_a_candidate_fusion_equals_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let snap = db.snapshot().collection("c").unwrap();
    let (qa, qb) = (vector(7, 9), vector(8, 9));
    let spans = [
        snap.distance_span("a").unwrap().unwrap(),
        snap.distance_span("b").unwrap().unwrap(),
    ];
    let cases = [
        (Fusion::Weighted(vec![0.7, 0.3]), Missing::Skip, true),
        (Fusion::Avg, Missing::ScorePresent, true),
        (Fusion::Min, Missing::Skip, true),
        (Fusion::Weighted(vec![0.7, 0.3]), Missing::Skip, false),
        (Fusion::Min, Missing::Skip, false),
    ];
    for (fusion, missing, calibrated) in cases {
        // The score of cosine distance `d` on column `c`, as the normalization says.
        let normalized = |c: usize, d: f32| match calibrated {
            true => (spans[c].far - d) / (spans[c].far - spans[c].near),
            false => 1.0 - d / 2.0,
        };
        let mut query = FusedQuery::new(fusion.clone())
            .column("a", &qa)
            .column("b", &qb);
        query.normalization = Some(match calibrated {
            true => Normalization::Calibrated(spans.to_vec()),
            false => Normalization::Fixed(vec![2.0, 2.0]),
        });
        query.missing = missing;
        query.candidates = Some(1500);
        query.options = SearchOptions::default().exact(true);
        let (hits, _) = snap.fused_search(&query, 10, None).unwrap();
        // Brute force over a full scan, written independently.
        let mut all: Vec<(f32, String)> = snap
            .scan()
            .filter_map(|item| {
                let sa = normalized(0, cosine(&qa, &item.vector("a").unwrap().unwrap()));
                let sb = item
                    .vector("b")
                    .unwrap()
                    .map(|b| normalized(1, cosine(&qb, &b)));
                let score = match (&fusion, sb) {
                    (Fusion::Weighted(w), Some(sb)) => w[0] * sa + w[1] * sb,
                    (Fusion::Avg, Some(sb)) => (sa + sb) / 2.0,
                    (Fusion::Avg, None) => sa,
                    (Fusion::Min, Some(sb)) => sa.min(sb),
                    _ => return None,
                };
                Some((score, item.id().unwrap().to_string()))
            })
            .collect();
        all.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let want: Vec<&str> = all.iter().take(10).map(|x| x.1.as_str()).collect();
        let got: Vec<String> = hits
            .iter()
            .map(|h| h.item.id().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{fusion:?} calibrated: {calibrated}");
        // The default candidate count, widened until the threshold proves the answer
        // (no bound exists when partial items are scored on fewer columns).
        query.candidates = None;
        query.widen = true;
        let (hits, explain) = snap.fused_search(&query, 10, None).unwrap();
        if missing == Missing::ScorePresent {
            assert_eq!(explain.threshold, None);
            continue;
        }
        assert_eq!(explain.proven, Some(true), "{explain:?}");
        let got: Vec<String> = hits
            .iter()
            .map(|h| h.item.id().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{fusion:?} calibrated: {calibrated}, widened");
    }
}

#[test]
fn filters_hold_and_bad_queries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let snap = db.snapshot().collection("c").unwrap();
    let (qa, qb) = (vector(1, 5), vector(2, 5));
    let group3 = |item: &quiver::ItemRef<'_>| item.value("group").unwrap() == Value::Int(3);
    let query = FusedQuery::new(Fusion::Rrf { k: 60.0 })
        .column("a", &qa)
        .column("b", &qb);
    let (hits, _) = snap.fused_search(&query, 10, Some(&group3)).unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| group3(&h.item)));

    let short = vec![0.5; 3];
    let bad = [
        FusedQuery::new(Fusion::Avg).column("nope", &qa),
        FusedQuery::new(Fusion::Avg).column("a", &short),
        FusedQuery::new(Fusion::Avg).column("group", &qa),
        FusedQuery::new(Fusion::Weighted(vec![1.0]))
            .column("a", &qa)
            .column("b", &qb),
        FusedQuery::new(Fusion::Avg),
    ];
    for q in bad {
        let err = snap.fused_search(&q, 5, None).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument(_)
                    | Error::UnknownColumn { .. }
                    | Error::DimensionMismatch { .. }
                    | Error::TypeMismatch { .. }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn without_measured_spans_cosine_falls_back_to_fixed_and_l2_to_min_max() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .vector("a", DIM as u32, Metric::Cosine)
        .vector("b", DIM as u32, Metric::Cosine)
        .vector("l", DIM as u32, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..50 {
        batch.insert(
            Item::new(format!("i{i:03}"))
                .set("a", vector(i, 1))
                .set("b", vector(i, 2))
                .set("l", vector(i, 3)),
        );
    }
    c.commit(batch).unwrap();
    let snap = c.snapshot().unwrap();
    assert_eq!(snap.distance_span("a").unwrap(), None, "memtable only");
    let q = vector(1, 1);
    let cosine_only = FusedQuery::new(Fusion::Avg).column("a", &q).column("b", &q);
    let (_, explain) = snap.fused_search(&cosine_only, 5, None).unwrap();
    assert_eq!(explain.normalization, Normalization::Fixed(vec![2.0, 2.0]));
    let with_l2 = FusedQuery::new(Fusion::Avg).column("a", &q).column("l", &q);
    let (_, explain) = snap.fused_search(&with_l2, 5, None).unwrap();
    assert_eq!(explain.normalization, Normalization::MinMax);
}

/// `Database::query` (what SQL, Python and EVALUATE rank through): a parsed `Filter`
/// holds, each column's part is reported, the requested attributes come with each hit,
/// the plan is kept when asked; one column's query ranks like `search`; an item target
/// takes the item's vector; a filter naming a vector or unknown column is refused.
#[test]
fn a_query_with_a_parsed_filter_reports_each_columns_part() {
    use quiver::sql::parse_filter;
    use quiver::{Filter, FusionChoice, Plan, Query, Target};
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let snap = db.snapshot().collection("c").unwrap();
    let (qa, qb) = (vector(7, 1), vector(7, 2));
    let filter = Filter::new(
        snap.schema(),
        parse_filter("group = 3 OR id = 'i00007'").unwrap(),
    )
    .unwrap();
    let query = Query::fused(FusionChoice::Given(Fusion::Weighted(vec![0.5, 0.5])), 5)
        .term("a", Target::Vector(qa.clone()))
        .term("b", Target::Vector(qb.clone()))
        .filter(filter)
        .attributes(&["group", "id"])
        .explain(true);
    let hits = db.query(&snap, &query).unwrap();
    assert_eq!(hits.hits.len(), 5);
    assert_eq!(hits.columns, ["a", "b"]);
    assert_eq!(hits.hits[0].item.id().unwrap(), "i00007");
    for h in &hits.hits {
        let group = h.item.value("group").unwrap();
        assert!(group == Value::Int(3) || h.item.id().unwrap() == "i00007");
        assert_eq!(
            h.attributes,
            [group, Value::Text(h.item.id().unwrap().to_string())]
        );
        assert_eq!(h.parts.len(), 2);
        let a = h.parts[0].expect("every item has column a");
        let d = cosine(&h.item.vector("a").unwrap().unwrap(), &qa);
        assert!((a.distance - d).abs() < 1e-4, "{} vs {d}", a.distance);
    }
    let Some(Plan::Fused {
        fusion, explain, ..
    }) = &hits.plan
    else {
        panic!("a fused plan: {:?}", hits.plan)
    };
    assert_eq!(fusion.to_string(), "WEIGHTED(0.5, 0.5)");
    assert_eq!(explain.columns.len(), 2);

    let opts = SearchOptions::default();
    let single = db
        .query(&snap, &Query::nearest("a", Target::Vector(qa.clone()), 4))
        .unwrap();
    let plain = snap.search("a", &qa, 4, &opts).unwrap();
    let ids = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        ids(single.hits.iter().map(|h| h.item.id().unwrap()).collect()),
        ids(plain.iter().map(|h| h.item.id().unwrap()).collect())
    );
    assert!(single.plan.is_none());
    assert_eq!(single.hits[0].parts[0].unwrap().rank, 1);
    let by_item = db
        .query(
            &snap,
            &Query::nearest("a", Target::Item("i00007".into()), 1),
        )
        .unwrap();
    assert_eq!(by_item.hits[0].item.id().unwrap(), "i00007");
    assert!(matches!(
        db.query(&snap, &Query::nearest("a", Target::Item("nope".into()), 1)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.query(&snap, &Query::nearest("a", Target::Labelled, 1)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.query(
            &snap,
            &Query::nearest("a", Target::Vector(qa.clone()), 1).attributes(&["colour"])
        ),
        Err(Error::UnknownColumn { .. })
    ));

    let schema = snap.schema();
    assert!(matches!(
        Filter::new(schema, parse_filter("a = 1").unwrap()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(
        Filter::new(schema, parse_filter("colour = 'red'").unwrap()),
        Err(Error::UnknownColumn { .. })
    ));
}

/// Fusions that share their columns and query vectors (a SWEEP's settings) answer from
/// one candidate search exactly as each would alone; other columns are refused.
#[test]
fn fused_search_each_equals_one_search_per_fusion() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let snap = db.collection("c").unwrap().snapshot().unwrap();
    let fusions = [
        (Fusion::Weighted(vec![0.0, 1.0]), None),
        (Fusion::Weighted(vec![0.3, 0.7]), None),
        (
            Fusion::Weighted(vec![1.0, 0.0]),
            Some(Normalization::MinMax),
        ),
        (Fusion::Rrf { k: 60.0 }, None),
        (Fusion::Max, Some(Normalization::ZScore)),
    ];
    for q in [3, 77, 901] {
        let (qa, qb) = (vector(q, 11), vector(q, 12));
        let queries: Vec<FusedQuery> = fusions
            .iter()
            .map(|(f, n)| {
                let mut query = FusedQuery::new(f.clone()).column("a", &qa).column("b", &qb);
                query.normalization = n.clone();
                query
            })
            .collect();
        let shared = snap.fused_search_each(&queries, 10, None).unwrap();
        assert_eq!(shared.len(), queries.len());
        for (query, (hits, _)) in queries.iter().zip(&shared) {
            let (alone, _) = snap.fused_search(query, 10, None).unwrap();
            let ids = |h: &[quiver::Hit]| -> Vec<(String, f32)> {
                h.iter()
                    .map(|h| (h.item.id().unwrap().to_string(), h.score))
                    .collect()
            };
            assert_eq!(hits.len(), 10);
            assert_eq!(ids(hits), ids(&alone), "{:?}", query.fusion);
        }
    }
    let (qa, qb) = (vector(1, 11), vector(1, 12));
    let other = vector(2, 12);
    let mixed = [
        FusedQuery::new(Fusion::Avg)
            .column("a", &qa)
            .column("b", &qb),
        FusedQuery::new(Fusion::Avg)
            .column("a", &qa)
            .column("b", &other),
    ];
    assert!(matches!(
        snap.fused_search_each(&mixed, 10, None),
        Err(Error::InvalidArgument(_))
    ));
}
