//! FLAT and HNSW indexes on quantized codes (`quantize = 'sq8' | 'rabitq4' | 'rabitq2'
//! | 'rabitq1'`) through the public API: exact distances for what they return, recall
//! against exact search, EXPLAIN saying what ran (and that a segment too small to train
//! codes on was scanned exactly), recall targets picking the oversampling, memory
//! accounting, reopening and compaction.

use quiver::{
    Database, IndexSpec, Item, Metric, Quantize, Schema, SearchOptions, Strategy, WriteBatch,
};

const DIM: usize = 128;

/// Rows around 16 centres, with dimensions of unequal spread.
fn vector(i: usize) -> Vec<f32> {
    let mut s = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 10_000) as f32 / 10_000.0 - 0.5
    };
    let centre = i % 16;
    (0..DIM)
        .map(|d| ((centre * 7 + d) % 11) as f32 * 0.3 + next() * (1.0 + (d % 4) as f32))
        .collect()
}

fn collection(db: &Database, rows: usize, metric: Metric) -> quiver::Collection {
    let schema = Schema::builder()
        .vector("v", DIM as u32, metric)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..rows {
        batch.insert(Item::new(format!("r{i:05}")).set("v", vector(i)));
    }
    c.commit(batch).unwrap();
    c.flush().unwrap();
    c
}

fn ids(hits: &[quiver::SearchHit<'_>]) -> Vec<String> {
    hits.iter()
        .map(|h| h.item.id().unwrap().to_string())
        .collect()
}

/// Mean recall@10 of `options` against exact search over 20 queries, and the segment
/// part's strategy of the last one.
fn recall(c: &quiver::Collection, options: &SearchOptions) -> (f64, Strategy) {
    let snap = c.snapshot().unwrap();
    let (mut total, mut strategy) = (0.0, Strategy::Exact);
    for q in 0..20 {
        let query = vector(50_000 + q);
        let (hits, stats) = snap.search_where("v", &query, 10, options, None).unwrap();
        let exact = snap
            .search("v", &query, 10, &SearchOptions::default().exact(true))
            .unwrap();
        for (h, e) in hits.iter().zip(&exact) {
            if h.item.id().unwrap() == e.item.id().unwrap() {
                assert_eq!(h.distance, e.distance, "re-scored exactly");
            }
        }
        let truth = ids(&exact);
        total += ids(&hits).iter().filter(|id| truth.contains(id)).count() as f64 / 10.0;
        strategy = stats
            .parts
            .iter()
            .find(|p| p.segment.is_some())
            .unwrap()
            .strategy;
    }
    (total / 20.0, strategy)
}

#[test]
fn flat_scans_every_kind_of_codes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = collection(&db, 3000, Metric::L2);
    let vector_bytes = (3000 * DIM * 4) as u64;
    for (quantize, floor, smaller) in [
        (Quantize::Sq8, 0.97, 3.5),
        (Quantize::Rabitq4, 0.95, 6.0),
        (Quantize::Rabitq2, 0.9, 10.0),
        (Quantize::Rabitq1, 0.85, 10.0),
    ] {
        c.create_index("v", IndexSpec::flat().quantize(quantize))
            .unwrap();
        let (got, strategy) = recall(&c, &SearchOptions::default());
        let rerank = 10 * quantize.default_refine() as usize;
        assert_eq!(
            strategy,
            Strategy::Scan {
                codes: quantize,
                rerank
            }
        );
        assert_eq!(
            strategy.to_string(),
            format!("scan of {} codes, best {rerank} re-scored", quantize.name())
        );
        assert!(got >= floor, "{quantize:?}: recall {got}");

        let footprint = c.snapshot().unwrap().footprint();
        let codes = footprint.columns[0].codes;
        assert!(
            codes > 0 && (vector_bytes as f64 / codes as f64) >= smaller,
            "{quantize:?}: {codes} bytes of codes for {vector_bytes} of vectors"
        );
        let report = db.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.checks);
        let check = report.checks.iter().find(|c| c.what == "index v").unwrap();
        assert_eq!(
            check.detail,
            format!("FLAT, {} codes of 3000 rows", quantize.name())
        );
    }
}

/// More oversampling, higher recall; a recall target picks the oversampling off the
/// curve the build measured, and answers survive reopening.
#[test]
fn refine_and_recall_targets_choose_the_oversampling() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let db = Database::open(dir.path()).unwrap();
        let c = collection(&db, 3000, Metric::Cosine);
        c.create_index("v", IndexSpec::flat().quantize(Quantize::Rabitq1).refine(2))
            .unwrap();
        let (low, s) = recall(&c, &SearchOptions::default());
        assert_eq!(
            s,
            Strategy::Scan {
                codes: Quantize::Rabitq1,
                rerank: 20
            },
            "the spec's refine"
        );
        let (high, s) = recall(&c, &SearchOptions::default().refine(16));
        assert_eq!(
            s,
            Strategy::Scan {
                codes: Quantize::Rabitq1,
                rerank: 160
            }
        );
        assert!(high > low && high >= 0.95, "refine 2: {low}, 16: {high}");
        let (hit, s) = recall(&c, &SearchOptions::default().recall(0.97));
        let Strategy::Scan { rerank, .. } = s else {
            panic!("{s:?}")
        };
        assert!(
            hit >= 0.9 && rerank > 20,
            "target 0.97: recall {hit} re-scoring {rerank}"
        );
        let snap = c.snapshot().unwrap();
        ids(&snap
            .search("v", &vector(7), 10, &SearchOptions::default())
            .unwrap())
    };
    let db = Database::open(dir.path()).unwrap();
    let snap = db.collection("c").unwrap().snapshot().unwrap();
    let after = ids(&snap
        .search("v", &vector(7), 10, &SearchOptions::default())
        .unwrap());
    assert_eq!(before, after);
}

/// A segment with fewer rows than codes are trained on is scanned exactly, EXPLAIN says
/// why, and compaction does not keep rewriting it for want of codes.
#[test]
fn too_few_rows_to_train_scan_exactly_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = collection(&db, 300, Metric::Dot);
    c.create_index("v", IndexSpec::flat().quantize(Quantize::Rabitq4))
        .unwrap();
    let snap = c.snapshot().unwrap();
    let (hits, stats) = snap
        .search_where("v", &vector(1), 5, &SearchOptions::default(), None)
        .unwrap();
    assert_eq!(hits.len(), 5);
    let part = stats.parts.iter().find(|p| p.segment.is_some()).unwrap();
    assert_eq!(
        part.strategy,
        Strategy::ExactUntrained {
            codes: Quantize::Rabitq4
        }
    );
    assert!(
        part.strategy
            .to_string()
            .contains("too few to train rabitq4 codes"),
        "{}",
        part.strategy
    );
    assert_eq!(part.visited, 300);
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    let before = files();
    c.compact().unwrap();
    assert_eq!(files(), before, "nothing to rebuild");
}

/// HNSW walks RaBitQ codes as it walks 8-bit ones: the default re-ranking depth per
/// kind, a beam at least that wide, and recall close to the walk on the vectors.
#[test]
fn hnsw_walks_rabitq_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = collection(&db, 3000, Metric::L2);
    for quantize in [Quantize::Rabitq4, Quantize::Rabitq1] {
        c.create_index("v", IndexSpec::hnsw().quantize(quantize))
            .unwrap();
        let (got, strategy) = recall(&c, &SearchOptions::default().ef(64));
        let rerank = 10 * quantize.default_refine() as usize;
        let ef = rerank.max(64);
        assert_eq!(
            strategy,
            Strategy::Hnsw {
                ef,
                codes: quantize,
                rerank: Some(rerank)
            }
        );
        assert!(got >= 0.9, "{quantize:?}: recall {got}");
    }
}

/// IVF on RaBitQ codes: lists probed, the best `k · refine` re-scored exactly, EXPLAIN
/// and VERIFY say what it is, the same answers after reopening; other codes refused.
#[test]
fn ivf_on_rabitq_codes() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let db = Database::open(dir.path()).unwrap();
        let c = collection(&db, 3000, Metric::Cosine);
        assert!(matches!(
            c.create_index("v", IndexSpec::ivf().quantize(Quantize::Sq8)),
            Err(quiver::Error::InvalidArgument(_))
        ));
        c.create_index("v", IndexSpec::ivf().nlist(32)).unwrap();
        let (got, strategy) = recall(&c, &SearchOptions::default().nprobe(8));
        let codes = Quantize::Rabitq4;
        assert_eq!(
            strategy,
            Strategy::Ivf {
                nprobe: 8,
                codes,
                rerank: 30
            }
        );
        assert_eq!(
            strategy.to_string(),
            "IVF nprobe=8 on rabitq4 codes, best 30 re-scored"
        );
        assert!(got >= 0.9, "recall {got}");
        let (all, _) = recall(&c, &SearchOptions::default().nprobe(32).refine(10));
        assert!(all >= 0.99 && all >= got, "every list: {all}");
        let report = db.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.checks);
        let check = report.checks.iter().find(|c| c.what == "index v").unwrap();
        assert_eq!(check.detail, "IVF, 32 lists of rabitq4 codes");
        let snap = c.snapshot().unwrap();
        ids(&snap
            .search("v", &vector(3), 10, &SearchOptions::default())
            .unwrap())
    };
    let db = Database::open(dir.path()).unwrap();
    let snap = db.collection("c").unwrap().snapshot().unwrap();
    let after = ids(&snap
        .search("v", &vector(3), 10, &SearchOptions::default())
        .unwrap());
    assert_eq!(before, after);
}
