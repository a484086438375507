//! TUNE WEIGHTS and fusion profiles end to end, on a toy collection whose best weights
//! are known by hand: twelve items in four groups of three on column `a`, and in three
//! groups of four (crossing the first) on column `b`; column `c` is noise. Queries
//! labelled "A" want the item's `a` group, "B" its `b` group, so "A" is answered by
//! `a` alone, "B" by `b` alone, and no one weighting answers both (see the argument
//! in `per_label_weights_are_the_columns_each_label_needs`).

use crate::sql_helpers::run;

use quiver::{Database, Value};
use quiver_sql::Output;

fn rows(out: &Output) -> (&Vec<String>, &Vec<Vec<Value>>) {
    match out {
        Output::Rows { columns, rows } => (columns, rows),
        Output::Done(d) => panic!("{d}"),
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Float(x) => *x,
        v => panic!("{v:?}"),
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(t) => t,
        v => panic!("{v:?}"),
    }
}

/// The line of `label` in a report.
fn line<'a>(out: &'a Output, label: &str) -> &'a Vec<Value> {
    rows(out)
        .1
        .iter()
        .find(|r| text(&r[0]) == label)
        .unwrap_or_else(|| panic!("no line {label}"))
}

const ITEMS: usize = 12;

fn setup() -> (tempfile::TempDir, Database, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let mut values = Vec::new();
    for i in 0..ITEMS {
        let a = (i / 3) as f32 * 10.0 + (i % 3) as f32 * 0.1;
        let b = (i % 4) as f32 * 10.0 + (i / 4) as f32 * 0.1;
        let c = ((i * 7) % ITEMS) as f32;
        values.push(format!("('i{i:02}', [{a:?}, 0], [{b:?}, 0], [{c:?}, 1])"));
    }
    run(
        &db,
        &format!(
            "CREATE COLLECTION t (a VECTOR(2) L2, b VECTOR(2) L2, c VECTOR(2) L2, title TEXT);
             INSERT INTO t (id, a, b, c) VALUES {};",
            values.join(", ")
        ),
    )
    .unwrap();
    let mut lines = Vec::new();
    for q in 0..ITEMS {
        for (label, group) in [("A", (|i| i / 3) as fn(usize) -> usize), ("B", |i| i % 4)] {
            let qrels: Vec<String> = (0..ITEMS)
                .filter(|&j| j != q && group(j) == group(q))
                .map(|j| format!("\"i{j:02}\": 1"))
                .collect();
            lines.push(format!(
                "{{\"qid\": \"{label}{q}\", \"query_item\": \"i{q:02}\", \"qrels\": {{{}}}, \"label\": \"{label}\"}}",
                qrels.join(", ")
            ));
        }
    }
    let path = dir.path().join("queries.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let path = path.display().to_string();
    (dir, db, path)
}

const FUSED: &str = "FUSE(WEIGHTED(1, 1, 1), a <-> QUERY, b <-> QUERY, c <-> QUERY)";

fn weights(fusion: &str) -> Vec<f64> {
    let inner = fusion
        .strip_prefix("WEIGHTED(")
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not weighted: {fusion}"));
    inner.split(", ").map(|w| w.parse().unwrap()).collect()
}

#[test]
fn per_label_weights_are_the_columns_each_label_needs() {
    // One weighting cannot serve both labels: with weights (α on a, 1 − α on b), an A
    // query's group mates are 10 to 30 away on b and a B query's 10 to 20 away on a;
    // A needs α > 0.75 and B needs α < 1/3 (c only adds noise).
    let (_dir, db, path) = setup();
    let out = run(
        &db,
        &format!("EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS FOLDS 3 SAVE AS g"),
    )
    .unwrap();
    let (columns, _) = rows(&out[0]);
    assert_eq!(
        columns,
        &[
            "label",
            "queries",
            "skipped",
            "fusion",
            "normalize",
            "ndcg@2 written",
            "ndcg@2 in-sample",
            "ndcg@2 held-out",
            "profile"
        ]
    );
    let all = line(&out[0], "*");
    assert_eq!(all[1], Value::Int(24));
    assert!(float(&all[6]) < 1.0, "{all:?}");
    assert!(
        float(&all[6]) >= float(&all[5]),
        "tuning never loses to as written in-sample"
    );
    assert_eq!(all[8], Value::Text("g".into()));
    let global_in_sample = float(&all[6]);

    let out = run(
        &db,
        &format!(
            "EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS PER LABEL FOLDS 3 SAVE AS modes"
        ),
    )
    .unwrap();
    let all = line(&out[0], "*");
    assert_eq!(text(&all[3]), "per label");
    assert_eq!((float(&all[6]), float(&all[7])), (1.0, 1.0), "{all:?}");
    assert!(global_in_sample < 1.0);
    let a = weights(text(&line(&out[0], "A")[3]));
    let b = weights(text(&line(&out[0], "B")[3]));
    assert!(a[0] > a[1] && a[0] > a[2], "A: {a:?}");
    assert!(b[1] > b[0] && b[1] > b[2], "B: {b:?}");
    assert_eq!(line(&out[0], "A")[8], Value::Text("modes/A".into()));

    let out = run(&db, "SHOW FUSION PROFILES ON t").unwrap();
    let names: Vec<&str> = rows(&out[0]).1.iter().map(|r| text(&r[1])).collect();
    assert_eq!(names, ["g", "modes", "modes/A", "modes/B"]);
    let origin = text(&rows(&out[0]).1[2][5]);
    assert!(
        origin.contains("12 queries labelled 'A'") && origin.contains("held out"),
        "{origin}"
    );
}

#[test]
fn a_tuned_profile_ranks_exactly_as_the_tuner_scored_it() {
    let (_dir, db, path) = setup();
    let tuned = run(
        &db,
        &format!(
            "EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS PER LABEL FOLDS 2 SAVE AS p"
        ),
    )
    .unwrap();
    let terms = "a <-> QUERY, b <-> QUERY, c <-> QUERY";
    // The profile for all queries, through EVALUATE: its NDCG is the tuner's in-sample
    // NDCG of the setting for all queries, which a global run reports.
    let global = run(
        &db,
        &format!("EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS FOLDS 2"),
    )
    .unwrap();
    let evaluated = run(
        &db,
        &format!("EVALUATE t USING '{path}' ORDER BY FUSE(PROFILE p, {terms}) AT 2"),
    )
    .unwrap();
    let ndcg = |out: &Output, label: &str| {
        let (columns, _) = rows(out);
        let at = columns.iter().position(|c| c == "ndcg@2").unwrap();
        float(&line(out, label)[at])
    };
    assert!((ndcg(&evaluated[0], "*") - float(&line(&global[0], "*")[6])).abs() < 1e-12);
    // Each label's profile, on that label's queries.
    for label in ["A", "B"] {
        let evaluated = run(
            &db,
            &format!(
                "EVALUATE t USING '{path}' ORDER BY FUSE(PROFILE p FOR '{label}', {terms}) AT 2"
            ),
        )
        .unwrap();
        let in_sample = float(&line(&tuned[0], label)[6]);
        assert!(
            (ndcg(&evaluated[0], label) - in_sample).abs() < 1e-12,
            "{label}"
        );
    }
    // A SELECT through a profile equals one through its fusion written out.
    let shown = run(&db, "SHOW FUSION PROFILES ON t").unwrap();
    let row = rows(&shown[0])
        .1
        .iter()
        .find(|r| text(&r[1]) == "p/B")
        .unwrap();
    let (fusion, normalize) = (text(&row[2]), row[3].clone());
    let normalize = match normalize {
        Value::Text(n) => format!(" NORMALIZE {n}"),
        _ => String::new(),
    };
    let ids = |order: &str| {
        let out = run(&db, &format!("SELECT id FROM t ORDER BY {order} LIMIT 5")).unwrap();
        rows(&out[0]).1.clone()
    };
    let q = "a <-> [10.1, 0], b <-> [10.1, 0], c <-> [3, 1]";
    assert_eq!(
        ids(&format!("FUSE(PROFILE p FOR 'B', {q})")),
        ids(&format!("FUSE({fusion}{normalize}, {q})"))
    );
}

#[test]
fn profiles_by_hand_are_checked_used_marked_stale_and_kept() {
    let (dir, db, path) = setup();
    run(
        &db,
        "CREATE FUSION PROFILE vision ON t AS FUSE(WEIGHTED(0.2, 0.8) NORMALIZE MINMAX, a, b);
         CREATE FUSION PROFILE mode FOR 'x' ON t AS FUSE(RRF(k = 10), a, c)",
    )
    .unwrap();
    let q = "a <-> [10.1, 0], b <-> [20, 0]";
    let by_profile = run(
        &db,
        &format!("SELECT id FROM t ORDER BY FUSE(PROFILE vision, {q}) LIMIT 4"),
    )
    .unwrap();
    let written = run(
        &db,
        &format!(
            "SELECT id FROM t ORDER BY FUSE(WEIGHTED(0.2, 0.8) NORMALIZE MINMAX, {q}) LIMIT 4"
        ),
    )
    .unwrap();
    assert_eq!(by_profile, written);
    let other = run(
        &db,
        &format!(
            "SELECT id FROM t ORDER BY FUSE(WEIGHTED(0.8, 0.2) NORMALIZE MINMAX, {q}) LIMIT 4"
        ),
    )
    .unwrap();
    assert_ne!(by_profile, other, "the weights matter in this query");
    let plan = run(
        &db,
        &format!("EXPLAIN SELECT id FROM t ORDER BY FUSE(PROFILE vision, {q}) LIMIT 4"),
    )
    .unwrap();
    let first = text(&rows(&plan[0]).1[0][0]).to_string();
    assert!(
        first.starts_with("FUSE(WEIGHTED(0.2, 0.8) from profile vision)"),
        "{first}"
    );

    // Bad input: typed errors, nothing saved.
    let before = run(&db, "SHOW FUSION PROFILES").unwrap();
    for (sql, says) in [
        (
            "CREATE FUSION PROFILE p ON t AS FUSE(WEIGHTED(1, 2, 3), a, b)",
            "2 finite",
        ),
        (
            "CREATE FUSION PROFILE p ON t AS FUSE(WEIGHTED(0, 0), a, b)",
            "not all 0",
        ),
        (
            "CREATE FUSION PROFILE p ON t AS FUSE(RRF, a, elsewhere)",
            "elsewhere",
        ),
        (
            "CREATE FUSION PROFILE p ON nowhere AS FUSE(RRF, a, b)",
            "nowhere",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE vision, a <-> [1, 0], b <-> [1, 0], c <-> [1, 0])",
            "fuses 2 terms",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE vision, b <-> [1, 0], a <-> [1, 0])",
            "(a, b)",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE vision NORMALIZE ZSCORE, a <-> [1, 0], b <-> [1, 0])",
            "NORMALIZE MINMAX",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE mode FOR 'y', a <-> [1, 0], c <-> [1, 0])",
            "no label 'y'",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE mode, a <-> [1, 0], c <-> [1, 0])",
            "per label",
        ),
        (
            "SELECT id FROM t ORDER BY FUSE(PROFILE nope, a <-> [1, 0], c <-> [1, 0])",
            "vision, mode/x",
        ),
        ("DROP FUSION PROFILE nope ON t", "no fusion profile nope"),
    ] {
        let e = run(&db, sql).unwrap_err().to_string();
        assert!(e.contains(says), "{sql}: {e}");
    }
    let tune = |tail: &str| {
        run(
            &db,
            &format!("EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS {tail}"),
        )
    };
    for (tail, says) in [
        ("FOLDS 25 SAVE AS x", "FOLDS 25"),
        ("FOLDS 1 SAVE AS x", "FOLDS 1"),
    ] {
        let e = tune(tail).unwrap_err().to_string();
        assert!(e.contains(says), "{tail}: {e}");
    }
    let e = run(
        &db,
        &format!("EVALUATE t USING '{path}' ORDER BY a <-> QUERY TUNE WEIGHTS SAVE AS x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("two terms"), "{e}");
    let e = run(
        &db,
        &format!("EVALUATE t USING '{path}' ORDER BY FUSE(PROFILE vision, a <-> QUERY, b <-> QUERY) TUNE WEIGHTS"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("fits the fusion itself"), "{e}");
    // A label with one query cannot be held out per label.
    let lonely = format!("{path}.lonely");
    let mut text_ = std::fs::read_to_string(&path).unwrap();
    text_.push_str(
        "\n{\"qid\": \"z\", \"query_item\": \"i00\", \"qrels\": {\"i01\": 1}, \"label\": \"Z\"}",
    );
    std::fs::write(&lonely, text_).unwrap();
    let e = run(
        &db,
        &format!("EVALUATE t USING '{lonely}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS PER LABEL FOLDS 2 SAVE AS x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("label 'Z'"), "{e}");
    assert_eq!(run(&db, "SHOW FUSION PROFILES").unwrap(), before);

    // A dropped column leaves its profiles listed, stale, and refused by queries.
    run(&db, "ALTER COLLECTION t DROP COLUMN c").unwrap();
    let shown = run(&db, "SHOW FUSION PROFILES ON t").unwrap();
    let stale: Vec<(&str, &Value)> = rows(&shown[0])
        .1
        .iter()
        .map(|r| (text(&r[1]), &r[6]))
        .collect();
    assert_eq!(stale[0], ("vision", &Value::Null));
    assert_eq!(
        stale[1],
        ("mode/x", &Value::Text("column c was dropped".into()))
    );
    run(&db, "ALTER COLLECTION t ADD COLUMN c VECTOR(2) L2 NULL").unwrap();
    let e = run(
        &db,
        "SELECT id FROM t ORDER BY FUSE(PROFILE mode FOR 'x', a <-> [1, 0], c <-> [1, 0])",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no longer applies: column c was dropped"),
        "{e}"
    );

    // Kept across a reopen; dropped by name.
    drop(db);
    let db = Database::open(dir.path().join("db")).unwrap();
    let again = run(
        &db,
        &format!("SELECT id FROM t ORDER BY FUSE(PROFILE vision, {q}) LIMIT 4"),
    )
    .unwrap();
    assert_eq!(again, by_profile);
    run(&db, "DROP FUSION PROFILE mode ON t").unwrap();
    let shown = run(&db, "SHOW FUSION PROFILES").unwrap();
    assert_eq!(rows(&shown[0]).1.len(), 1);
    assert_eq!(text(&rows(&shown[0]).1[0][0]), "t");
}

#[test]
fn the_tuning_plot_is_drawn() {
    let (dir, db, path) = setup();
    let png = dir.path().join("tuned.png");
    run(
        &db,
        &format!(
            "EVALUATE t USING '{path}' ORDER BY {FUSED} AT 2 TUNE WEIGHTS PER LABEL FOLDS 2 PLOT '{}'",
            png.display()
        ),
    )
    .unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
