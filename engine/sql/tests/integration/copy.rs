//! COPY TO and FROM through `Database::run`: Parquet and JSON lines round trips,
//! Parquet files with the types other writers use, and failures that change nothing.

use std::fs::File;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int32Builder, LargeStringBuilder, ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use quiver::sql::parse_script;
use quiver::{Database, Error, Item, Result, Value};
use quiver_sql::Output;

fn run(db: &Database, sql: &str) -> Result<Output> {
    let statements = parse_script(sql).unwrap();
    let mut last = None;
    for s in &statements {
        last = Some(quiver_sql::run(db, s)?);
    }
    Ok(last.expect("one statement"))
}

/// Every item of a collection, in id order.
fn items(db: &Database, collection: &str) -> Vec<Item> {
    let snap = db.snapshot().collection(collection).unwrap();
    let mut items: Vec<Item> = snap.scan().map(|i| i.to_item().unwrap()).collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    items
}

const SCHEMA: &str = "(title TEXT, n INT, price FLOAT, ok BOOL, tags TEXT[],
    v VECTOR(3) L2, w VECTOR(2) DOT NULL, s SPARSE, f VECTOR(2)[] COSINE NULL)";

fn filled(db: &Database) {
    run(
        db,
        &format!(
            "CREATE COLLECTION src {SCHEMA};
             INSERT INTO src (id, title, n, price, ok, tags, v, w, s, f) VALUES
               ('a', 'first \"quoted\"', 1, 2.5, TRUE, 'x, y', [0.1, 0.2, 0.3], [1, 2], {{4294967295: 0.1, 3: 0}}, [[0.1, 0.2], [3, -4]]),
               ('b', NULL, -7, 1e-3, FALSE, '', [1, 2, 3], NULL, {{}}, [[1e-7, 5]]),
               ('c', 'ü unicode', NULL, NULL, NULL, NULL, [-1.5, 0, 1e6], [0.5, -0.5], NULL, NULL);"
        ),
    )
    .unwrap();
}

#[test]
fn parquet_and_jsonl_round_trip_every_type_and_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    filled(&db);
    // Half the items sealed in a segment, half in the memtable: both are exported.
    run(
        &db,
        "FLUSH src; INSERT INTO src (id, v) VALUES ('d', [4, 5, 6])",
    )
    .unwrap();
    let original = items(&db, "src");
    assert_eq!(original.len(), 4);
    for ext in ["parquet", "jsonl"] {
        let file = dir.path().join(format!("export.{ext}"));
        let out = run(&db, &format!("COPY src TO '{}'", file.display())).unwrap();
        assert_eq!(
            out,
            Output::Done(format!("copied 4 rows from src to {}", file.display()))
        );
        let copy = format!("copy_{ext}");
        run(
            &db,
            &format!(
                "CREATE COLLECTION {copy} {SCHEMA}; COPY {copy} FROM '{}'",
                file.display()
            ),
        )
        .unwrap();
        assert_eq!(items(&db, &copy), original, "{ext} round trip");
    }
}

/// Sparse vectors in JSON lines: both forms load, and a bad one (an index twice, in
/// either form; a negative weight; an index beyond u32; a non-integer index) loads
/// nothing, with the line and the reason in the error; so does a bad list of vectors.
#[test]
fn jsonl_sparse_vectors_load_in_both_forms_and_bad_ones_load_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    run(
        &db,
        "CREATE COLLECTION d (s SPARSE, v VECTOR(1) L2, f VECTOR(2)[] L2 NULL)",
    )
    .unwrap();
    let good = dir.path().join("good.jsonl");
    std::fs::write(
        &good,
        concat!(
            "{\"id\": \"a\", \"v\": [0], \"s\": {\"indices\": [9, 2], \"values\": [0.5, 1.5]}}\n",
            "{\"id\": \"b\", \"v\": [0], \"s\": {\"2\": 2.0, \"7\": 1}}\n",
            "{\"id\": \"c\", \"v\": [0], \"s\": null}\n",
        ),
    )
    .unwrap();
    run(&db, &format!("COPY d FROM '{}'", good.display())).unwrap();
    let got = items(&db, "d");
    let sparse = |pairs: &[(u32, f32)]| {
        let (i, w) = pairs.iter().copied().unzip();
        Value::Sparse(quiver::SparseVector::new(i, w).unwrap())
    };
    assert_eq!(
        got[0].values[0],
        ("s".to_string(), sparse(&[(2, 1.5), (9, 0.5)]))
    );
    assert_eq!(
        got[1].values[0],
        ("s".to_string(), sparse(&[(2, 2.0), (7, 1.0)]))
    );
    assert!(got[2].values.iter().all(|(c, _)| c != "s"));
    for (line, reason) in [
        (
            r#"{"id": "x", "v": [0], "s": {"2": 1, "2": 3}}"#,
            "index 2 appears twice",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"2": 1, "02": 3}}"#,
            "index 2 appears twice",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"indices": [4, 4], "values": [1, 1]}}"#,
            "index 4 appears twice",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"indices": [4], "values": [-1]}}"#,
            "weights must be finite",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"4294967296": 1}}"#,
            "outside",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"one": 1}}"#,
            "not an integer",
        ),
        (
            r#"{"id": "x", "v": [0], "s": {"indices": [1, 2], "values": [1]}}"#,
            "2 indices but 1 values",
        ),
        (r#"{"id": "x", "v": [0], "s": [1, 2]}"#, "a JSON object"),
        (
            r#"{"id": "x", "v": [0], "f": [[1, 2], [3]]}"#,
            "vector 1 has 1 values",
        ),
        (
            r#"{"id": "x", "v": [0], "f": [[1, 2, 3]]}"#,
            "vector 0: 3 values",
        ),
        (r#"{"id": "x", "v": [0], "f": [1, 2]}"#, "VECTOR(2)[]"),
        (r#"{"id": "x", "v": [0], "v": [1]}"#, "appears twice"),
    ] {
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, format!("{{\"id\": \"ok\", \"v\": [0]}}\n{line}\n")).unwrap();
        let err = run(&db, &format!("COPY d FROM '{}'", bad.display())).unwrap_err();
        let message = err.to_string();
        // The line, or (for a value checked against the column) the item.
        let located = message.contains("line 2") || message.contains("item \"x\"");
        assert!(located && message.contains(reason), "{line}: {message}");
        assert_eq!(items(&db, "d").len(), 3, "nothing loaded from {line}");
    }
}

#[test]
fn an_empty_collection_exports_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    run(&db, &format!("CREATE COLLECTION src {SCHEMA}")).unwrap();
    let file = dir.path().join("empty.parquet");
    run(&db, &format!("COPY src TO '{}'", file.display())).unwrap();
    let out = run(&db, &format!("COPY src FROM '{}'", file.display())).unwrap();
    assert_eq!(out, Output::Done("copied 0 rows into src".into()));
}

/// A file as pandas / pyarrow write one: large strings, int32, float64 lists.
fn foreign_parquet(path: &std::path::Path, bad_vector: bool) {
    let mut ids = LargeStringBuilder::new();
    let mut n = Int32Builder::new();
    let mut v = ListBuilder::new(Float64Builder::new());
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in 0..3 {
        ids.append_value(format!("item{i}"));
        n.append_value(i * 10);
        let values: &[f64] = if bad_vector && i == 2 {
            &[1.0, 2.0]
        } else {
            &[i as f64, 0.5, -0.25]
        };
        v.values().append_slice(values);
        v.append(true);
        tags.values().append_value("t");
        tags.append(true);
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(n.finish()),
        Arc::new(v.finish()),
        Arc::new(tags.finish()),
    ];
    let fields: Vec<Field> = ["id", "n", "v", "tags"]
        .iter()
        .zip(&arrays)
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_from_other_writers_loads_with_widened_types() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    run(&db, &format!("CREATE COLLECTION c {SCHEMA}")).unwrap();
    let file = dir.path().join("pandas.parquet");
    foreign_parquet(&file, false);
    run(&db, &format!("COPY c FROM '{}'", file.display())).unwrap();
    let got = items(&db, "c");
    assert_eq!(got.len(), 3);
    let item2 = &got[2];
    assert_eq!(item2.id, "item2");
    let value = |name: &str| {
        item2
            .values
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("n"), Some(Value::Int(20)));
    assert_eq!(value("v"), Some(Value::Vector(vec![2.0, 0.5, -0.25])));
    assert_eq!(value("tags"), Some(Value::Tags(vec!["t".into()])));
}

#[test]
fn a_bad_parquet_file_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    run(&db, &format!("CREATE COLLECTION c {SCHEMA}")).unwrap();
    let copy = |file: &std::path::Path| run(&db, &format!("COPY c FROM '{}'", file.display()));

    let short = dir.path().join("short.parquet");
    foreign_parquet(&short, true);
    let err = copy(&short).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { .. }), "{err}");

    let truncated = dir.path().join("truncated.parquet");
    foreign_parquet(&truncated, false);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = copy(&truncated).unwrap_err();
    assert!(err.to_string().contains("truncated.parquet"), "{err}");

    // A column whose type does not fit the collection's.
    run(&db, "CREATE COLLECTION other (n TEXT, v VECTOR(3) L2)").unwrap();
    let good = dir.path().join("good.parquet");
    foreign_parquet(&good, false);
    let err = run(&db, &format!("COPY other FROM '{}'", good.display())).unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
    // `tags` is not a column of `other`.
    run(&db, "CREATE COLLECTION third (n INT, v VECTOR(3) L2)").unwrap();
    let err = run(&db, &format!("COPY third FROM '{}'", good.display())).unwrap_err();
    assert!(matches!(err, Error::UnknownColumn { .. }), "{err}");

    for name in ["c", "other", "third"] {
        assert!(items(&db, name).is_empty(), "{name} loaded nothing");
    }
}

#[test]
fn a_failed_export_leaves_no_file_and_keeps_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    filled(&db);
    let missing_dir = dir.path().join("no/such/dir/out.parquet");
    let err = run(&db, &format!("COPY src TO '{}'", missing_dir.display())).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    let old = dir.path().join("out.csv");
    std::fs::write(&old, "keep me").unwrap();
    let err = run(&db, &format!("COPY src TO '{}'", old.display())).unwrap_err();
    assert!(err.to_string().contains(".jsonl or .parquet"), "{err}");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "keep me");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("quiver-tmp")),
        "temporary files left: {names:?}"
    );
}

#[test]
fn index_builds_and_copy_report_progress_while_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let lines: String = (0..3000)
        .map(|i| {
            let v: Vec<f32> = (0..16).map(|d| ((i * 31 + d * 7) % 97) as f32).collect();
            format!("{{\"id\": \"i{i:05}\", \"v\": {v:?}}}\n")
        })
        .collect();
    let file = dir.path().join("items.jsonl");
    std::fs::write(&file, lines).unwrap();
    run(&db, "CREATE COLLECTION c (v VECTOR(16) L2)").unwrap();
    let progress = db.progress();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut seen: Vec<quiver::ProgressNow> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(now) = progress.now() {
                    seen.push(now);
                }
            }
            seen
        });
        run(
            &db,
            &format!(
                "COPY c FROM '{}'; CREATE INDEX ON c (v) USING HNSW",
                file.display()
            ),
        )
        .unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.join().unwrap()
    });
    let stages: Vec<&str> = seen.iter().map(|n| n.stage.as_str()).collect();
    assert!(stages.contains(&"COPY c: reading lines"), "{stages:?}");
    assert!(
        stages.contains(&"index on v: HNSW: inserting 3000 vectors"),
        "{stages:?}"
    );
    assert!(seen.iter().all(|n| n.total == 0 || n.done <= n.total));
    assert_eq!(progress.now(), None, "every stage ended");
}
