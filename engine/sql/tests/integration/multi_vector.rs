//! Multi-vector columns (`VECTOR(n)[]`) through the language.

use quiver::sql::parse_script;
use quiver::{Database, Value};

use crate::statements::{rows, run};

/// Multi-vector columns through the language: `VECTOR(n)[]` in DDL, `[[...], ...]`
/// literals, `<->` by the nearest vector with `_element`, MAXSIM (literal and
/// `VECTOR OF`), EXPLAIN over an index of the elements, fusion, bad input refused with
/// nothing written, and EVALUATE with each item query's own vectors.
#[test]
fn multi_vector_columns_through_the_language() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    run(
        &db,
        "CREATE COLLECTION clips (title TEXT, frames VECTOR(2)[] L2 NULL, v VECTOR(2) L2);
         INSERT INTO clips (id, title, frames, v) VALUES
           ('a', 'cats', [[0, 0], [10, 10]], [1, 0]),
           ('b', 'dogs', [[5, 5]], [0, 1]),
           ('c', 'none', NULL, [1, 1]),
           ('d', 'empty', [], [0, 0]);",
    );
    let describe = format!("{:?}", rows(&run(&db, "DESCRIBE clips")[0]));
    assert!(describe.contains("VECTOR(2)[] L2"), "{describe}");
    let near = run(
        &db,
        "SELECT id, _element, _score, frames FROM clips ORDER BY frames <-> [9, 9] LIMIT 5",
    );
    let found = rows(&near[0]);
    // a's second vector is 2 away, b's only vector 32: items without vectors are out.
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[0][..3],
        [Value::Text("a".into()), Value::Int(1), Value::Float(-2.0)]
    );
    assert_eq!(found[0][3].to_string(), "[[0, 0], [10, 10]]");
    assert_eq!(found[1][..2], [Value::Text("b".into()), Value::Int(0)]);
    // MAXSIM (L2: Σ of −distance): a = −0 + −0 = 0 for [[0, 0], [10, 10]]; b = −50 − 50.
    let maxsim = run(
        &db,
        "SELECT id, _score, _element FROM clips ORDER BY MAXSIM(frames, [[0, 0], [10, 10]]) LIMIT 5",
    );
    let found = rows(&maxsim[0]);
    assert_eq!(
        found[0],
        [Value::Text("a".into()), Value::Float(0.0), Value::Null]
    );
    assert_eq!(
        found[1],
        [Value::Text("b".into()), Value::Float(-100.0), Value::Null]
    );
    let own = run(
        &db,
        "SELECT id FROM clips ORDER BY MAXSIM(frames, VECTOR OF 'b') LIMIT 1;
         SELECT id FROM clips ORDER BY frames <-> VECTOR OF 'b' LIMIT 1",
    );
    assert_eq!(rows(&own[0])[0][0], Value::Text("b".into()));
    assert_eq!(rows(&own[1])[0][0], Value::Text("b".into()));
    let fused = run(
        &db,
        "SELECT id FROM clips ORDER BY FUSE(RRF, frames <-> [0, 1], v <-> [1, 0]) LIMIT 1",
    );
    assert_eq!(rows(&fused[0])[0][0], Value::Text("a".into()));

    // Sealed with an index over the elements: EXPLAIN says what it did.
    run(
        &db,
        "CREATE INDEX ON clips (frames) USING HNSW; FLUSH clips;
         INSERT INTO clips (id, title, frames, v) VALUES ('e', 'fresh', [[9, 8]], [0, 0])",
    );
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM clips ORDER BY frames <-> [9, 9] LIMIT 2",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(
        text.contains("HNSW") && text.contains("items re-scored"),
        "{text}"
    );
    let again = run(
        &db,
        "SELECT id, _element FROM clips ORDER BY frames <-> [9, 9] LIMIT 2",
    );
    assert_eq!(rows(&again[0])[0], [Value::Text("e".into()), Value::Int(0)]);
    assert_eq!(rows(&again[0])[1], [Value::Text("a".into()), Value::Int(1)]);

    for (sql, what) in [
        (
            "INSERT INTO clips (id, frames, v) VALUES ('x', [[1, 2, 3]], [0, 0])",
            "vector 0",
        ),
        (
            "INSERT INTO clips (id, frames, v) VALUES ('x', [1, 2], [0, 0])",
            "VECTOR(2)[]",
        ),
        (
            "INSERT INTO clips (id, v) VALUES ('x', [[1, 2]])",
            "VECTOR(2) L2",
        ),
        (
            "SELECT id FROM clips ORDER BY MAXSIM(v, [[1, 0]])",
            "multi-vector",
        ),
        (
            "SELECT id FROM clips ORDER BY MAXSIM(v, VECTOR OF 'a')",
            "multi-vector",
        ),
        (
            "SELECT id FROM clips ORDER BY frames <-> [1, 0, 0]",
            "dimension",
        ),
        (
            "SELECT id FROM clips ORDER BY MAXSIM(frames, [[1, 0, 0]])",
            "2 values",
        ),
        ("SELECT id FROM clips WHERE frames = 1", "attribute"),
    ] {
        let statement = &parse_script(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))[0];
        let err = quiver_sql::run(&db, statement).unwrap_err().to_string();
        assert!(err.contains(what), "{sql}: {err}");
    }
    for sql in [
        "INSERT INTO clips (id, frames) VALUES ('x', [[1, 2], [3]])",
        "INSERT INTO clips (id, frames) VALUES ('x', [[1, 2], [1, 1e40]])",
        "SELECT id FROM clips ORDER BY MAXSIM(frames, [[1, 2], [3]])",
    ] {
        assert!(parse_script(sql).is_err(), "{sql}");
    }
    let count = run(&db, "SELECT COUNT(*) FROM clips");
    assert_eq!(rows(&count[0])[0][0], Value::Int(5));

    // EVALUATE: each item query's own vectors, ranked by MAXSIM, the item left out.
    let queries = dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        r#"{"qid": "1", "query_item": "e", "qrels": {"a": 1}}"#,
    )
    .unwrap();
    let out = run(
        &db,
        &format!(
            "EVALUATE clips USING '{}' ORDER BY frames <-> QUERY AT 2 PER QUERY",
            queries.display()
        ),
    );
    let text = format!("{:?}", rows(&out[0]));
    assert!(text.contains("\"a"), "{text}");
    let maxsim_on_single = format!(
        "EVALUATE clips USING '{}' ORDER BY MAXSIM(v, QUERY) AT 2",
        queries.display()
    );
    let statement = &parse_script(&maxsim_on_single).unwrap()[0];
    let err = quiver_sql::run(&db, statement).unwrap_err().to_string();
    assert!(err.contains("multi-vector"), "{err}");
}
