//! MATCH (BM25 on a TEXT column) against a brute-force BM25 over the snapshot's live
//! items: random corpora, with inserts, updates, deletes, flushes, compactions and an
//! index declared after data exists; the top k (ids and scores) must be the same.

use proptest::prelude::*;
use quiver::{AttrType, Database, Error, IndexSpec, Item, Schema, WriteBatch};
use quiver_index::bm25::{idf, term_score, terms};
use quiver_storage::Analyzer;

const VOCABULARY: [&str; 10] = [
    "red", "blue", "shoe", "running", "runner", "runs", "hat", "the", "a", "Shoe",
];

/// The best `k` of every live item by BM25, computed from scratch: (id, score).
fn brute_force(
    db: &Database,
    text: &str,
    k: usize,
    (k1, b, analyzer): (f32, f32, Analyzer),
) -> Vec<(String, f32)> {
    let snap = db.snapshot().collection("docs").unwrap();
    let rows: Vec<(String, Vec<String>)> = snap
        .scan()
        .map(|item| {
            let found = match item.value("title").unwrap() {
                quiver::Value::Text(t) => terms(analyzer, &t),
                _ => Vec::new(),
            };
            (item.id().unwrap().to_string(), found)
        })
        .collect();
    let query = terms(analyzer, text);
    let mut distinct: Vec<(String, u32)> = Vec::new();
    for t in query {
        match distinct.iter_mut().find(|(d, _)| *d == t) {
            Some((_, n)) => *n += 1,
            None => distinct.push((t, 1)),
        }
    }
    let docs = rows.iter().filter(|(_, t)| !t.is_empty()).count() as u64;
    let total: u64 = rows.iter().map(|(_, t)| t.len() as u64).sum();
    let avgdl = if docs == 0 {
        1.0
    } else {
        total as f64 / docs as f64
    };
    let df = |term: &str| {
        rows.iter()
            .filter(|(_, t)| t.iter().any(|x| x == term))
            .count() as u64
    };
    // Summed in the engine's order: by multiplicity · idf, highest first.
    distinct.sort_by(|a, b| {
        let bound = |(t, n): &(String, u32)| f64::from(*n) * idf(docs, df(t));
        bound(b).total_cmp(&bound(a))
    });
    let mut scored: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|(id, row)| {
            let mut score = 0.0;
            let mut any = false;
            for (term, times) in &distinct {
                let tf = row.iter().filter(|x| *x == term).count() as u32;
                if tf > 0 {
                    any = true;
                    let s = term_score(idf(docs, df(term)), tf, row.len() as u32, avgdl, k1, b);
                    score += f64::from(*times) * s;
                }
            }
            any.then(|| (id.clone(), score))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(k);
    scored.into_iter().map(|(id, s)| (id, s as f32)).collect()
}

fn matched(db: &Database, text: &str, k: usize) -> Vec<(String, f32)> {
    let snap = db.snapshot().collection("docs").unwrap();
    let (hits, _) = snap.search_text("title", text, k, None).unwrap();
    hits.iter()
        .map(|h| (h.item.id().unwrap().to_string(), h.score))
        .collect()
}

fn title(words: &[usize]) -> String {
    words
        .iter()
        .map(|&w| VOCABULARY[w % VOCABULARY.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Option<Vec<usize>>),
    Delete(u8),
    Flush,
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), proptest::option::weighted(0.9, proptest::collection::vec(0usize..10, 0..7)))
            .prop_map(|(id, words)| Op::Put(id % 40, words)),
        2 => any::<u8>().prop_map(|id| Op::Delete(id % 40)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn match_equals_brute_force_bm25(
        ops in proptest::collection::vec(op(), 1..40),
        index_after in 0usize..40,
        english in any::<bool>(),
        queries in proptest::collection::vec(proptest::collection::vec(0usize..10, 1..4), 3),
        k in 1usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let schema = Schema::builder().attr("title", AttrType::Text).build().unwrap();
        let docs = db.create_collection("docs", schema).unwrap();
        let analyzer = if english { Analyzer::English } else { Analyzer::Simple };
        let spec = IndexSpec::bm25().k1(1.5).b(0.6).analyzer(analyzer);
        let mut indexed = false;
        for (i, op) in ops.iter().enumerate() {
            if i == index_after {
                docs.create_index("title", spec).unwrap();
                indexed = true;
            }
            match op {
                Op::Put(id, words) => {
                    let mut item = Item::new(format!("d{id:02}"));
                    if let Some(w) = words {
                        item = item.set("title", title(w));
                    }
                    let mut batch = WriteBatch::new();
                    batch.upsert(item);
                    docs.commit(batch).unwrap();
                }
                Op::Delete(id) => {
                    docs.delete(&format!("d{id:02}")).unwrap();
                }
                Op::Flush => docs.flush().unwrap(),
                Op::Compact => docs.compact().unwrap(),
            }
        }
        if !indexed {
            docs.create_index("title", spec).unwrap();
        }
        for q in &queries {
            let text = title(q);
            let expected = brute_force(&db, &text, k, (1.5, 0.6, analyzer));
            let got = match_or_no_terms(&db, &text, k);
            match got {
                None => prop_assert!(terms(analyzer, &text).is_empty()),
                Some(got) => {
                    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
                    let want: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
                    prop_assert_eq!(ids, want, "query {:?}", text);
                    for ((_, a), (_, b)) in got.iter().zip(&expected) {
                        prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{} vs {}", a, b);
                    }
                }
            }
        }
    }
}

/// `matched`, or `None` where the query text has no terms (an error by design).
fn match_or_no_terms(db: &Database, text: &str, k: usize) -> Option<Vec<(String, f32)>> {
    let snap = db.snapshot().collection("docs").unwrap();
    match snap.search_text("title", text, k, None) {
        Ok(_) => Some(matched(db, text, k)),
        Err(Error::InvalidArgument(m)) if m.contains("has no terms") => None,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn match_is_fresh_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .attr("title", AttrType::Text)
        .attr("price", AttrType::Float)
        .vector("v", 2, quiver::Metric::L2)
        .build()
        .unwrap();
    let docs = db.create_collection("docs", schema).unwrap();
    let snap = db.snapshot().collection("docs").unwrap();
    assert!(matches!(
        snap.search_text("title", "shoe", 5, None),
        Err(Error::InvalidArgument(m)) if m.contains("needs a BM25 index")
    ));
    assert!(matches!(
        docs.create_index("price", IndexSpec::bm25()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(matches!(
        docs.create_index("v", IndexSpec::bm25()),
        Err(Error::TypeMismatch { .. })
    ));
    assert!(docs.create_index("title", IndexSpec::hnsw()).is_err());
    assert!(matches!(
        docs.create_index("title", IndexSpec::bm25().b(1.5)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        docs.create_index("title", IndexSpec::bm25().k1(f32::NAN)),
        Err(Error::InvalidArgument(_))
    ));
    docs.create_index("title", IndexSpec::bm25()).unwrap();
    let mut batch = WriteBatch::new();
    batch.insert(
        Item::new("a")
            .set("title", "red running shoe")
            .set("v", vec![0.0f32, 1.0]),
    );
    docs.commit(batch).unwrap();
    // Found at once, from the memtable.
    assert_eq!(matched(&db, "shoe", 5)[0].0, "a");
    docs.flush().unwrap();
    assert_eq!(matched(&db, "SHOE", 5)[0].0, "a");
    assert!(matched(&db, "hat", 5).is_empty(), "no row holds the term");
    let snap = db.snapshot().collection("docs").unwrap();
    assert!(matches!(
        snap.search_text("title", " ,; ", 5, None),
        Err(Error::InvalidArgument(m)) if m.contains("no terms")
    ));
    let long = "word ".repeat(10_000);
    assert!(matches!(
        snap.search_text("title", &long, 5, None),
        Err(Error::InvalidArgument(m)) if m.contains("at most")
    ));
    assert!(matches!(
        snap.search_text("price", "x", 5, None),
        Err(Error::InvalidArgument(_))
    ));
    // VERIFY checks the postings.
    let report = db.verify().unwrap();
    assert!(
        report.is_ok(),
        "{:?}",
        report.problems().collect::<Vec<_>>()
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.detail.starts_with("BM25 (simple)")),
        "{:?}",
        report.checks
    );
}

/// MATCH as a term of a fused query: candidates from the BM25 index, every union
/// member re-scored exactly on both terms (BM25 from the collection's statistics,
/// distance from the vectors), min-max normalization by default.
#[test]
fn match_fuses_with_a_vector_term() {
    use quiver::{Fusion, FusionChoice, Normalization, Plan, Query, Target};
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .attr("title", AttrType::Text)
        .vector("v", 2, quiver::Metric::L2)
        .build()
        .unwrap();
    let docs = db.create_collection("docs", schema).unwrap();
    docs.create_index("title", IndexSpec::bm25()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..30usize {
        let words: Vec<usize> = (0..(i % 5) + 1).map(|j| (i * 7 + j * 3) % 10).collect();
        let v = vec![i as f32 / 30.0, ((i * 13) % 30) as f32 / 30.0];
        batch.insert(
            Item::new(format!("d{i:02}"))
                .set("title", title(&words))
                .set("v", v),
        );
    }
    docs.commit(batch).unwrap();
    docs.flush().unwrap();
    docs.delete("d03").unwrap();
    let mut batch = WriteBatch::new();
    batch.insert(
        Item::new("fresh")
            .set("title", "red red shoe")
            .set("v", vec![1.0f32, 0.0]),
    );
    docs.commit(batch).unwrap();

    let snap = db.snapshot().collection("docs").unwrap();
    let query = Query::fused(FusionChoice::Given(Fusion::Weighted(vec![0.5, 0.5])), 40)
        .term("title", Target::Match("red shoe".into()))
        .term("v", Target::Vector(vec![1.0, 0.0]))
        .explain(true);
    let hits = db.query(&snap, &query).unwrap();
    let bm25: std::collections::HashMap<String, f32> =
        brute_force(&db, "red shoe", 100, (1.2, 0.75, Analyzer::Simple))
            .into_iter()
            .collect();
    // Every live item is a candidate of the vector column, so all 30 come back.
    assert_eq!(hits.hits.len(), 30);
    for h in &hits.hits {
        let id = h.item.id().unwrap();
        let text = h.parts[0].expect("every item has a title");
        let want = bm25.get(id).copied().unwrap_or(0.0);
        assert!(
            (-text.distance - want).abs() <= 1e-5 * want.max(1.0),
            "{id}: {} vs {want}",
            -text.distance
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
    assert_eq!(hits.hits[0].item.id().unwrap(), "fresh");
}

/// A corpus big enough for MATCH's pruning to cut in (2,000 rows over a skewed
/// vocabulary, common words in most rows), with deletes in a sealed segment and rows in
/// the memtable: every query's top 10 equals brute force, ids and scores.
#[test]
fn pruned_match_equals_brute_force_on_a_skewed_corpus() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    // Word i with weight 1 / (i + 1): a few words everywhere, most rare.
    let pick = |rng: &mut rand::rngs::StdRng| -> &str {
        let total: f64 = (1..=200).map(|i| 1.0 / i as f64).sum();
        let mut x = rng.random::<f64>() * total;
        for (i, w) in words.iter().enumerate() {
            x -= 1.0 / (i + 1) as f64;
            if x <= 0.0 {
                return w;
            }
        }
        &words[199]
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .attr("title", AttrType::Text)
        .build()
        .unwrap();
    let docs = db.create_collection("docs", schema).unwrap();
    docs.create_index("title", IndexSpec::bm25()).unwrap();
    for part in 0..3 {
        let mut batch = WriteBatch::new();
        for i in 0..700 {
            let n = rng.random_range(1..25);
            let text: Vec<&str> = (0..n).map(|_| pick(&mut rng)).collect();
            batch.insert(Item::new(format!("d{part}-{i:04}")).set("title", text.join(" ")));
        }
        docs.commit(batch).unwrap();
        if part < 2 {
            docs.flush().unwrap();
        }
    }
    for i in (0..700).step_by(7) {
        docs.delete(&format!("d0-{i:04}")).unwrap();
    }
    for _ in 0..30 {
        let n = rng.random_range(1..7);
        let q: Vec<&str> = (0..n).map(|_| pick(&mut rng)).collect();
        let text = q.join(" ");
        let got = matched(&db, &text, 10);
        let want = brute_force(&db, &text, 10, (1.2, 0.75, Analyzer::Simple));
        let ids = |v: &[(String, f32)]| v.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{text}");
        for ((_, a), (_, b)) in got.iter().zip(&want) {
            assert_eq!(a, b, "{text}");
        }
    }
}
