//! EVALUATE end to end on a tiny collection whose rankings are known by hand: two
//! columns filled by toy encoders (a text one and an image one), text and item
//! queries, ties, a query with nothing relevant, queries not applicable to a column.

use crate::sql_helpers::{run, toy_info};
use std::sync::{Arc, Mutex};

use quiver::encode::{Encoder, EncoderInfo, Modality};
use quiver::{Database, Value};
use quiver_sql::Output;

/// Words as compass directions: north (0,1), east (1,0), south (0,−1), west (−1,0),
/// summed. Reads text (`compass`) or image file stems (`pics`). Logs the texts it is
/// given.
#[derive(Debug)]
struct Compass(EncoderInfo, Mutex<Vec<String>>);

fn compass(words: &str) -> Vec<f32> {
    let mut v = vec![0.0, 0.0];
    for w in words.split_whitespace() {
        match w {
            "north" => v[1] += 1.0,
            "east" => v[0] += 1.0,
            "south" => v[1] -= 1.0,
            "west" => v[0] -= 1.0,
            _ => {}
        }
    }
    v
}

impl Compass {
    fn new(name: &str, modality: Modality) -> Arc<Compass> {
        Arc::new(Compass(
            toy_info(name, modality, 2, "compass words"),
            Mutex::new(Vec::new()),
        ))
    }

    /// The texts embedded since the last call, sorted.
    fn embedded(&self) -> Vec<String> {
        let mut texts = std::mem::take(&mut *self.1.lock().unwrap());
        texts.sort();
        texts
    }
}

impl Encoder for Compass {
    fn info(&self) -> &EncoderInfo {
        &self.0
    }
    fn encode_texts(&self, texts: &[&str]) -> quiver::encode::Result<Vec<Vec<f32>>> {
        assert_eq!(self.0.modality, Modality::Text);
        let mut log = self.1.lock().unwrap();
        log.extend(texts.iter().map(|t| t.to_string()));
        Ok(texts.iter().map(|t| compass(t)).collect())
    }
    fn encode_images(&self, paths: &[&std::path::Path]) -> quiver::encode::Result<Vec<Vec<f32>>> {
        assert_eq!(self.0.modality, Modality::Image);
        Ok(paths
            .iter()
            .map(|p| compass(&p.file_stem().unwrap().to_string_lossy()))
            .collect())
    }
}

fn rows(out: &Output) -> &Vec<Vec<Value>> {
    match out {
        Output::Rows { rows, .. } => rows,
        Output::Done(d) => panic!("{d}"),
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Float(x) => *x,
        v => panic!("{v:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

const QUERIES: &str = r#"{"qid": "q1", "kind": "text", "text": "north", "qrels": {"n1": 2, "n2": 1, "w1": 1, "s1": 0}}
{"qid": "q2", "kind": "text", "text": "west", "qrels": {"w1": 1}}
{"qid": 3, "kind": "item", "query_item": "n1", "qrels": {"n2": 1, "e1": 1}}
{"qid": "q4", "kind": "text", "text": "north", "qrels": {"s1": 0}}
"#;

fn setup() -> (tempfile::TempDir, Database, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    db.encoders()
        .register(Compass::new("compass", Modality::Text));
    db.encoders()
        .register(Compass::new("pics", Modality::Image));
    run(
        &db,
        "CREATE COLLECTION docs (title TEXT, t VECTOR(2) COSINE, img VECTOR(2) COSINE);
         INSERT INTO docs (id, title, t, img) VALUES
           ('n1', 'north', EMBED('compass', 'north'), EMBED_IMAGE('pics', 'north.png')),
           ('n2', 'north north east', EMBED('compass', 'north north east'), EMBED_IMAGE('pics', 'east.png')),
           ('e1', 'east', EMBED('compass', 'east'), EMBED_IMAGE('pics', 'north east.png')),
           ('s1', 'south', EMBED('compass', 'south'), EMBED_IMAGE('pics', 'south.png')),
           ('w1', 'west', EMBED('compass', 'west'), EMBED_IMAGE('pics', 'west.png'));",
    )
    .unwrap();
    let path = dir.path().join("queries.jsonl");
    std::fs::write(&path, QUERIES).unwrap();
    let path = path.display().to_string();
    (dir, db, path)
}

#[test]
fn text_column_by_hand() {
    let (_dir, db, path) = setup();
    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY t <-> QUERY AT 3"),
    )
    .unwrap();
    let Output::Rows { columns, rows } = &out[0] else {
        panic!()
    };
    assert_eq!(
        columns,
        &[
            "label",
            "queries",
            "skipped",
            "recall@3",
            "precision@3",
            "ndcg@3",
            "mrr@3",
            "map@3",
            "hit@3",
            "qps"
        ]
    );
    // q1: answer n1 n2 e1 (e1 and w1 tie at distance 1: by id). recall 2/3, P 2/3,
    // NDCG (2 + 1/log2 3) / (2 + 1/log2 3 + 1/2), RR 1, AP (1 + 1)/3.
    // q2: answer w1 n1 s1: recall 1, P 1/3, NDCG 1, RR 1, AP 1.
    // q3 (item n1, itself left out): answer n2 e1 w1: recall 1, P 2/3, NDCG 1, AP 1.
    // q4: nothing relevant, skipped.
    let l3 = 3f64.log2();
    let q1 = [
        2.0 / 3.0,
        2.0 / 3.0,
        (2.0 + 1.0 / l3) / (2.5 + 1.0 / l3),
        1.0,
        2.0 / 3.0,
        1.0,
    ];
    let q2 = [1.0, 1.0 / 3.0, 1.0, 1.0, 1.0, 1.0];
    let q3 = [1.0, 2.0 / 3.0, 1.0, 1.0, 1.0, 1.0];
    let all = &rows[0];
    assert_eq!(all[0], Value::Text("*".into()));
    assert_eq!((&all[1], &all[2]), (&Value::Int(3), &Value::Int(1)));
    for m in 0..6 {
        let want = (q1[m] + q2[m] + q3[m]) / 3.0;
        assert!(
            close(float(&all[3 + m]), want),
            "metric {m}: {:?} vs {want}",
            all[3 + m]
        );
    }
    // Per label: item (q3), then text (q1, q2; q4 skipped).
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], Value::Text("item".into()));
    assert!(close(float(&rows[1][5]), 1.0));
    assert_eq!((&rows[2][1], &rows[2][2]), (&Value::Int(2), &Value::Int(1)));
    assert!(close(float(&rows[2][5]), (q1[2] + q2[2]) / 2.0));

    // PER QUERY: worst NDCG first (q1), with its answer.
    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY t <-> QUERY AT 3 PER QUERY"),
    )
    .unwrap();
    let Output::Rows { rows: per, .. } = &out[0] else {
        panic!()
    };
    assert_eq!(per.len(), 3);
    assert_eq!(per[0][0], Value::Text("q1".into()));
    assert_eq!(per[0][8], Value::Text("n1 n2 e1".into()));
    assert_eq!(per[2][0], Value::Text("q2".into()));
}

#[test]
fn image_only_and_fused_rankings_skip_what_they_cannot_answer() {
    let (_dir, db, path) = setup();
    // Text queries cannot search the image column (pics reads images): only q3 runs.
    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY img <-> QUERY AT 3"),
    )
    .unwrap();
    let r = rows(&out[0]);
    assert_eq!((&r[0][1], &r[0][2]), (&Value::Int(1), &Value::Int(3)));
    // q3 on images: e1 (north east) nearest, then n2 and w1 tie: answer e1 n2 w1.
    for (m, value) in r[0][3..9].iter().enumerate() {
        let want = if m == 1 { 2.0 / 3.0 } else { 1.0 };
        assert!(close(float(value), want), "{m}: {value:?}");
    }
    // The text label: nothing could run, so no means (NULL, not 0).
    let text = r
        .iter()
        .find(|row| row[0] == Value::Text("text".into()))
        .unwrap();
    assert_eq!(
        (&text[1], &text[2], &text[5]),
        (&Value::Int(0), &Value::Int(3), &Value::Null)
    );
    // Fused: the same query applies; K larger than the collection.
    let out = run(
        &db,
        &format!(
            "EVALUATE docs USING '{path}' ORDER BY FUSE(RRF, t <-> QUERY, img <-> QUERY) AT 10"
        ),
    )
    .unwrap();
    let r = rows(&out[0]);
    assert_eq!(r[0][1], Value::Int(1));
    assert!(close(float(&r[0][3]), 1.0)); // recall@10
    assert!(close(float(&r[0][4]), 0.2)); // two relevant of K = 10
}

#[test]
fn bad_query_files_are_errors() {
    let (dir, db, _) = setup();
    let cases = [
        (
            "{\"qid\": 1, \"text\": \"x\", \"qrels\": {}}\nnot json",
            "line 2",
        ),
        (
            "{\"qid\": 1, \"text\": \"x\", \"query_item\": \"n1\", \"qrels\": {}}",
            "exactly one",
        ),
        (
            "{\"qid\": 1, \"text\": \"x\", \"qrels\": {\"n1\": -1}}",
            "integer",
        ),
    ];
    for (i, (body, says)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.jsonl"));
        std::fs::write(&path, body).unwrap();
        let err = run(
            &db,
            &format!(
                "EVALUATE docs USING '{}' ORDER BY t <-> QUERY",
                path.display()
            ),
        )
        .unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    let err = run(
        &db,
        "EVALUATE docs USING 'no/such.jsonl' ORDER BY t <-> QUERY",
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such.jsonl"), "{err}");
    let err = run(&db, "SELECT id FROM docs ORDER BY t <-> QUERY").unwrap_err();
    assert!(err.to_string().contains("EVALUATE"), "{err}");
}

#[test]
fn sweeps_compare_settings_in_one_table() {
    let (dir, db, path) = setup();
    let fused = "FUSE(WEIGHTED(1, 1), t <-> QUERY, img <-> QUERY)";
    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY {fused} AT 3 SWEEP ALPHA STEP 0.5"),
    )
    .unwrap();
    let Output::Rows {
        columns,
        rows: alpha,
    } = &out[0]
    else {
        panic!()
    };
    assert_eq!(columns[0], "setting");
    // Three alphas, each: all queries, then the labels (item, text).
    assert_eq!(alpha.len(), 9);
    let settings: Vec<&Value> = alpha.iter().step_by(3).map(|r| &r[0]).collect();
    assert_eq!(
        settings,
        [
            &Value::Text("alpha=0.00 (t weight)".into()),
            &Value::Text("alpha=0.50 (t weight)".into()),
            &Value::Text("alpha=1.00 (t weight)".into())
        ]
    );
    // Only the item query applies to a fusion with the image column; at every alpha
    // its answer holds both relevant items in the top 2.
    for r in alpha.iter().step_by(3) {
        assert_eq!((&r[2], &r[3]), (&Value::Int(1), &Value::Int(3)));
        assert!(close(float(&r[4]), 1.0) && close(float(&r[5]), 2.0 / 3.0));
    }

    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY {fused} AT 3 SWEEP COLUMNS"),
    )
    .unwrap();
    let overall: Vec<(Value, Value)> = rows(&out[0])
        .iter()
        .filter(|r| r[1] == Value::Text("*".into()))
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        overall,
        [
            (Value::Text("only t".into()), Value::Int(3)),
            (Value::Text("only img".into()), Value::Int(1)),
            (Value::Text("all".into()), Value::Int(1)),
        ]
    );

    let out = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY {fused} SWEEP RRF K (1, 60)"),
    )
    .unwrap();
    assert_eq!(rows(&out[0]).len(), 6);
    let err = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY t <-> QUERY SWEEP ALPHA"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("FUSE"), "{err}");

    // The plot: a PNG where a font is installed, else an error naming the fix.
    let png = dir.path().join("alpha.png");
    let sql = format!(
        "EVALUATE docs USING '{path}' ORDER BY {fused} SWEEP ALPHA STEP 0.25 PLOT '{}'",
        png.display()
    );
    match quiver_sql::load_plot_font() {
        Ok(()) => {
            run(&db, &sql).unwrap();
            assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
        }
        Err(_) => {
            let err = run(&db, &sql).unwrap_err();
            assert!(err.to_string().contains("fonts-dejavu-core"), "{err}");
        }
    }
}

#[test]
fn sweeps_embed_each_distinct_text_once_per_column_and_only_where_usable() {
    let (_dir, db, path) = setup();
    // Two text columns with their own encoders (logged), and the image column.
    let (a, b) = (
        Compass::new("compass_a", Modality::Text),
        Compass::new("compass_b", Modality::Text),
    );
    db.encoders().register(a.clone());
    db.encoders().register(b.clone());
    db.encoders()
        .register(Compass::new("pics", Modality::Image));
    run(
        &db,
        "CREATE COLLECTION pair (a VECTOR(2) COSINE, b VECTOR(2) COSINE, img VECTOR(2) COSINE);
         INSERT INTO pair (id, a, b, img) VALUES
           ('n1', EMBED('compass_a', 'north'), EMBED('compass_b', 'north'), EMBED_IMAGE('pics', 'north.png')),
           ('n2', EMBED('compass_a', 'north east'), EMBED('compass_b', 'east'), EMBED_IMAGE('pics', 'east.png')),
           ('w1', EMBED('compass_a', 'west'), EMBED('compass_b', 'west'), EMBED_IMAGE('pics', 'west.png'));",
    )
    .unwrap();
    a.embedded();
    b.embedded();
    let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let sweep = |order: &str, sweep: &str| {
        run(
            &db,
            &format!("EVALUATE pair USING '{path}' ORDER BY {order} AT 3 SWEEP {sweep}"),
        )
        .unwrap()
    };

    // Five settings over two text columns: "north" (q1, q4) and "west" (q2), once per
    // column, not once per setting and query.
    let out = sweep(
        "FUSE(WEIGHTED(1, 1), a <-> QUERY, b <-> QUERY)",
        "ALPHA STEP 0.25",
    );
    assert_eq!(rows(&out[0]).len(), 5 * 3);
    assert_eq!(a.embedded(), texts(&["north", "west"]));
    assert_eq!(b.embedded(), texts(&["north", "west"]));
    let out = sweep("FUSE(RRF, a <-> QUERY, b <-> QUERY)", "RRF K (1, 10, 60)");
    assert_eq!(rows(&out[0]).len(), 3 * 3);
    assert_eq!(a.embedded(), texts(&["north", "west"]));
    assert_eq!(b.embedded(), texts(&["north", "west"]));

    // Fused with the image column, no setting can use a text query: none is embedded,
    // and each setting still counts them not applicable (q1, q2, q4).
    let out = sweep(
        "FUSE(WEIGHTED(1, 1), a <-> QUERY, img <-> QUERY)",
        "ALPHA STEP 0.25",
    );
    assert!(a.embedded().is_empty());
    for r in rows(&out[0])
        .iter()
        .filter(|r| r[1] == Value::Text("*".into()))
    {
        assert_eq!((&r[2], &r[3]), (&Value::Int(1), &Value::Int(3)), "{r:?}");
    }
    // An ablation: only "only a" can use the texts, so column a embeds them once.
    sweep("FUSE(RRF, a <-> QUERY, img <-> QUERY)", "COLUMNS");
    assert_eq!(a.embedded(), texts(&["north", "west"]));
    // A plain EVALUATE: once per distinct text too.
    run(
        &db,
        &format!("EVALUATE pair USING '{path}' ORDER BY b <-> QUERY AT 3"),
    )
    .unwrap();
    assert_eq!(b.embedded(), texts(&["north", "west"]));
    run(
        &db,
        &format!("EVALUATE pair USING '{path}' ORDER BY img <-> QUERY AT 3"),
    )
    .unwrap();
    assert!(a.embedded().is_empty() && b.embedded().is_empty());
}

#[test]
fn evaluate_recall_measures_an_index_against_exact_search() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    run(&db, "CREATE COLLECTION pts (v VECTOR(16) L2)").unwrap();
    let pts = db.collection("pts").unwrap();
    let mut state = 42u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let mut batch = quiver::WriteBatch::new();
    for i in 0..3000 {
        let v: Vec<f32> = (0..16).map(|_| next()).collect();
        batch.insert(quiver::Item::new(format!("p{i}")).set("v", v));
    }
    pts.commit(batch).unwrap();
    pts.flush().unwrap();
    // Without an index every setting is an exact scan.
    let out = run(&db, "EVALUATE RECALL pts (v) AT 10 SAMPLE 50").unwrap();
    let r = rows(&out[0]);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (&r[0][0], &r[0][1]),
        (&Value::Text("default".into()), &Value::Int(50))
    );
    assert!(close(float(&r[0][2]), 1.0));
    assert_eq!(r[1][0], Value::Text("exact".into()));

    run(
        &db,
        "CREATE INDEX ON pts (v) USING HNSW WITH (m = 4, ef_construction = 16)",
    )
    .unwrap();
    let out = run(&db, "EVALUATE RECALL pts (v) AT 10 SAMPLE 100 EF (10, 200)").unwrap();
    let r = rows(&out[0]);
    let (low, high) = (float(&r[0][2]), float(&r[1][2]));
    assert!(high >= low && high > 0.9, "ef=10 {low}, ef=200 {high}");
    assert!(
        low < 1.0,
        "a sparse graph at ef 10 should miss something: {low}"
    );
    let err = run(&db, "EVALUATE RECALL pts (nope)").unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn trec_qrels_replace_the_queries_judgements() {
    let (dir, db, path) = setup();
    // q2 ("west", answer w1 n1 s1): judged by TREC as n1 relevant, w1 not (-1).
    let qrels = dir.path().join("qrels.tsv");
    std::fs::write(&qrels, "# qid iter item grade\nq2 0 n1 1\nq2 0 w1 -1\n").unwrap();
    let out = run(
        &db,
        &format!(
            "EVALUATE docs USING '{path}' QRELS '{}' ORDER BY t <-> QUERY AT 3 PER QUERY",
            qrels.display()
        ),
    )
    .unwrap();
    let q2 = rows(&out[0])
        .iter()
        .find(|r| r[0] == Value::Text("q2".into()))
        .unwrap()
        .clone();
    assert!(close(float(&q2[6]), 0.5), "{q2:?}"); // reciprocal rank: n1 at rank 2
    std::fs::write(&qrels, "q2 0 n1\n").unwrap();
    let err = run(
        &db,
        &format!(
            "EVALUATE docs USING '{path}' QRELS '{}' ORDER BY t <-> QUERY",
            qrels.display()
        ),
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn the_best_setting_becomes_the_default_fusion() {
    let (dir, db, path) = setup();
    let query = "SELECT id FROM docs ORDER BY FUSE(DEFAULT, t <-> [0, 1], img <-> [0, 1]) LIMIT 2";
    let err = run(&db, query).unwrap_err();
    assert!(
        err.to_string().contains("no fusion profile default"),
        "{err}"
    );
    let fused = "FUSE(WEIGHTED(1, 1), t <-> QUERY, img <-> QUERY)";
    let out = run(
        &db,
        &format!(
            "EVALUATE docs USING '{path}' ORDER BY {fused} AT 3 SWEEP RRF K (1, 60) SAVE BEST"
        ),
    )
    .unwrap();
    let saved: Vec<&Value> = rows(&out[0])
        .iter()
        .map(|r| &r[0])
        .filter(|s| matches!(s, Value::Text(t) if t.ends_with("[saved as default]")))
        .collect();
    // One setting (its three rows: all queries, the item and text labels) is marked.
    assert_eq!(saved.len(), 3, "{saved:?}");
    assert_eq!(saved[0], &Value::Text("rrf k=1 [saved as default]".into()));
    let out = run(&db, query).unwrap();
    assert_eq!(rows(&out[0]).len(), 2);
    // The saved fusion is for (t, img) in that order.
    let err = run(
        &db,
        "SELECT id FROM docs ORDER BY FUSE(DEFAULT, img <-> [0, 1], t <-> [0, 1])",
    )
    .unwrap_err();
    assert!(err.to_string().contains("(t, img)"), "{err}");
    let err = run(
        &db,
        &format!("EVALUATE docs USING '{path}' ORDER BY {fused} SWEEP COLUMNS SAVE BEST"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("SWEEP ALPHA"), "{err}");
    // Kept in the manifest across a reopen.
    drop(db);
    let db = Database::open(dir.path().join("db")).unwrap();
    let schema = db.collection("docs").unwrap().schema().unwrap();
    let saved = schema
        .profile(quiver_storage::DEFAULT_PROFILE, None)
        .unwrap();
    assert_eq!(saved.fusion, "RRF(k = 1.0)");
}
