//! The language end to end through `Database::run`: DDL, writes, filtered and ordered
//! selects, fused selects, EXPLAIN, and failing statements that change nothing.

use quiver::sql::parse_script;
use quiver::{Database, Error, Value};
use quiver_sql::Output;

pub(crate) fn run(db: &Database, sql: &str) -> Vec<Output> {
    parse_script(sql)
        .unwrap()
        .iter()
        .map(|s| quiver_sql::run(db, s).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

pub(crate) fn rows(out: &Output) -> &Vec<Vec<Value>> {
    match out {
        Output::Rows { rows, .. } => rows,
        Output::Done(d) => panic!("no rows: {d}"),
    }
}

fn setup(db: &Database) {
    run(
        db,
        "CREATE COLLECTION products (title TEXT, category TEXT, price FLOAT, tags TEXT[],
           text_vec VECTOR(3) COSINE, image_vec VECTOR(3) COSINE NULL);
         INSERT INTO products (id, title, category, price, tags, text_vec, image_vec) VALUES
           ('p1', 'red shoe', 'shoes', 59.5, 'red, sale', [1, 0, 0], [0, 1, 0]),
           ('p2', 'blue shoe', 'shoes', 120, 'blue', [0.9, 0.1, 0], [0, 0, 1]),
           ('p3', 'red hat', 'hats', 20, 'red', [0, 1, 0], [0.7, 0.7, 0]),
           ('p4', 'green sock', 'socks', 5, '', [0.6, 0.6, 0.1], NULL);",
    );
}

#[test]
fn a_whole_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    setup(&db);
    let out = run(
        &db,
        "SELECT COUNT(*) FROM products;
         SELECT id, title, _score FROM products WHERE category = 'shoes' AND price < 100
           ORDER BY text_vec <-> [1, 0, 0] LIMIT 10;
         SELECT id FROM products WHERE tags CONTAINS 'red' OR price >= 100;
         SELECT id, _score FROM products
           ORDER BY FUSE(WEIGHTED(0.5, 0.5), text_vec <-> [1, 0, 0], image_vec <-> VECTOR OF 'p3') LIMIT 2;
         EXPLAIN SELECT id FROM products ORDER BY FUSE(RRF(k = 60), text_vec <-> [1, 0, 0], image_vec <-> [0, 1, 0]) LIMIT 2;
         SHOW COLLECTIONS; DESCRIBE products;",
    );
    assert_eq!(rows(&out[0]), &vec![vec![Value::Int(4)]]);
    let shoes = rows(&out[1]);
    assert_eq!(shoes.len(), 1, "p2 costs 120");
    assert_eq!(shoes[0][0], Value::Text("p1".into()));
    assert!(
        matches!(shoes[0][2], Value::Float(s) if (s - 0.0).abs() < 1e-6),
        "{shoes:?}"
    );
    let ids: Vec<&Value> = rows(&out[2]).iter().map(|r| &r[0]).collect();
    assert_eq!(
        ids,
        [
            &Value::Text("p1".into()),
            &Value::Text("p2".into()),
            &Value::Text("p3".into())
        ]
    );
    let fused = rows(&out[3]);
    assert_eq!(fused.len(), 2);
    assert_eq!(fused[0][0], Value::Text("p1".into()), "{fused:?}");
    let plan: Vec<String> = rows(&out[4])
        .iter()
        .map(|r| format!("{:?}", r[0]))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("union")) && plan.iter().any(|l| l.contains("rank")),
        "{plan:?}"
    );
    assert_eq!(
        rows(&out[5]),
        &vec![vec![Value::Text("products".into()), Value::Int(4)]]
    );
    assert_eq!(rows(&out[6]).len(), 6);

    let out = run(
        &db,
        "CREATE INDEX ON products (text_vec) USING HNSW WITH (m = 8, ef_construction = 32, quantize = 'none');
         DELETE FROM products WHERE id = 'p1';
         FLUSH products; COMPACT products;
         SELECT COUNT(*) FROM products WHERE price > 1;
         DROP COLLECTION products; SHOW COLLECTIONS;",
    );
    assert_eq!(out[1], Output::Done("deleted 1 items".into()));
    assert_eq!(rows(&out[4]), &vec![vec![Value::Int(3)]]);
    assert!(rows(&out[6]).is_empty());
}

#[test]
fn failing_statements_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    setup(&db);
    let bad = [
        "INSERT INTO products (id, price) VALUES ('p9', 1), ('p10', 'cheap')",
        "INSERT INTO products (id, text_vec) VALUES ('p9', [1, 2])",
        "INSERT INTO products (title) VALUES ('no id')",
        "SELECT id FROM products WHERE colour = 'red'",
        "SELECT id FROM products WHERE text_vec = 1",
        "SELECT nope FROM products",
        "SELECT id FROM products ORDER BY text_vec <-> [1, 0]",
        "SELECT id FROM products ORDER BY FUSE(WEIGHTED(1), text_vec <-> [1, 0, 0], image_vec <-> [1, 0, 0])",
        "SELECT id FROM products ORDER BY image_vec <-> VECTOR OF 'p4'",
        "CREATE INDEX ON products (text_vec) USING HNSW WITH (nlist = 4)",
        "CREATE INDEX ON products (text_vec) USING HNSW WITH (quantize = 'pq4')",
        "CREATE INDEX ON products (text_vec) USING HNSW WITH (quantize = 8)",
        "CREATE INDEX ON products (text_vec) USING HNSW WITH (m = 'eight')",
        "CREATE INDEX ON products (image_vec) USING IVF_PQ WITH (quantize = 'sq8')",
        "CREATE INDEX ON products (image_vec) USING FLAT WITH (quantize = 'rabitq3')",
        "CREATE INDEX ON products (image_vec) USING FLAT WITH (m = 8)",
        "CREATE INDEX ON products (image_vec) USING FLAT WITH (refine = 5000)",
        "CREATE INDEX ON products (image_vec) USING IVF WITH (quantize = 'sq8')",
        "CREATE INDEX ON products (image_vec) USING IVF WITH (m = 8)",
        "DELETE FROM products WHERE missing = 1",
        "COPY products FROM 'does-not-exist.jsonl'",
        "SELECT id FROM nowhere",
    ];
    for sql in bad {
        let statement = parse_script(sql).unwrap().remove(0);
        let err = quiver_sql::run(&db, &statement).unwrap_err();
        assert!(
            !matches!(err, Error::Poisoned { .. } | Error::Io { .. }),
            "{sql}: {err:?}"
        );
    }
    let count = quiver_sql::run(
        &db,
        &parse_script("SELECT COUNT(*) FROM products").unwrap()[0],
    )
    .unwrap();
    assert_eq!(rows(&count), &vec![vec![Value::Int(4)]]);
}

#[test]
fn copy_loads_json_lines_and_vector_files_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    run(
        &db,
        "CREATE COLLECTION c (title TEXT, n INT, tags TEXT[], v VECTOR(2) L2, w VECTOR(2) DOT NULL)",
    );
    let good = dir.path().join("items.jsonl");
    std::fs::write(
        &good,
        "{\"id\": \"a\", \"title\": \"x\", \"n\": 1, \"tags\": [\"t\"], \"v\": [1, 2]}\n\n{\"id\": \"b\", \"v\": [3, 4], \"n\": null}\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"c\", \"v\": [1, 2]}\n{\"id\": \"d\", \"v\": \"oops\"}\n",
    )
    .unwrap();
    let copy = |sql: String| quiver_sql::run(&db, &parse_script(&sql).unwrap()[0]);
    assert_eq!(
        copy(format!("COPY c FROM '{}'", good.display())).unwrap(),
        Output::Done("copied 2 rows into c".into())
    );
    let err = copy(format!("COPY c FROM '{}'", bad.display())).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    let count = run(&db, "SELECT COUNT(*) FROM c");
    assert_eq!(
        rows(&count[0]),
        &vec![vec![Value::Int(2)]],
        "the bad file loaded nothing"
    );

    // w of items a, b (id order) from fvecs, then from npy.
    let fvecs = dir.path().join("w.fvecs");
    let mut bytes = Vec::new();
    for row in [[0.5f32, 1.5], [2.5, 3.5]] {
        bytes.extend(2i32.to_le_bytes());
        row.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
    }
    std::fs::write(&fvecs, &bytes).unwrap();
    copy(format!("COPY c (w) FROM '{}'", fvecs.display())).unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(
        snap.get("b")
            .unwrap()
            .unwrap()
            .vector("w")
            .unwrap()
            .map(|v| v.to_vec()),
        Some(vec![2.5f32, 3.5])
    );

    let npy = dir.path().join("w.npy");
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for x in [9.0f32, 8.0, 7.0, 6.0] {
        bytes.extend(x.to_le_bytes());
    }
    std::fs::write(&npy, &bytes).unwrap();
    copy(format!("COPY c (w) FROM '{}'", npy.display())).unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(
        snap.get("a")
            .unwrap()
            .unwrap()
            .vector("w")
            .unwrap()
            .map(|v| v.to_vec()),
        Some(vec![9.0f32, 8.0])
    );
    bytes.truncate(bytes.len() - 4);
    std::fs::write(&npy, &bytes).unwrap();
    assert!(
        copy(format!("COPY c (w) FROM '{}'", npy.display())).is_err(),
        "truncated npy"
    );
    assert!(
        copy(format!(
            "COPY c FROM '{}'",
            dir.path().join("missing.jsonl").display()
        ))
        .is_err()
    );
}

#[test]
fn fuse_options_and_explain_say_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    setup(&db);
    let ids = |out: &Output| -> Vec<String> {
        rows(out)
            .iter()
            .map(|r| match &r[0] {
                Value::Text(s) => s.clone(),
                v => panic!("{v:?}"),
            })
            .collect()
    };
    let fused = |options: &str| {
        format!(
            "SELECT id FROM products ORDER BY FUSE(AVG{options}, text_vec <-> [0.6, 0.6, 0.1], image_vec <-> [0, 1, 0]) LIMIT 10"
        )
    };
    // p4 has no image: left out by default and by MISSING SKIP, scored on its text
    // column alone with MISSING PARTIAL (where it is the best text match).
    let skip = run(&db, &fused(""));
    assert!(!ids(&skip[0]).contains(&"p4".to_string()));
    assert_eq!(ids(&run(&db, &fused(" MISSING SKIP"))[0]), ids(&skip[0]));
    let partial = run(&db, &fused(" NORMALIZE MINMAX MISSING PARTIAL"));
    assert!(ids(&partial[0]).contains(&"p4".to_string()), "{partial:?}");
    // Four items have no index, hence no measured span.
    let err = quiver_sql::run(
        &db,
        &parse_script(&fused(" NORMALIZE CALIBRATED")).unwrap()[0],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no measured distance span"),
        "{err}"
    );

    let plan = |sql: &str| -> Vec<String> {
        rows(&run(&db, sql)[0])
            .iter()
            .map(|r| match &r[0] {
                Value::Text(s) => s.clone(),
                v => panic!("{v:?}"),
            })
            .collect()
    };
    let single = plan(
        "EXPLAIN SELECT id FROM products WHERE category = 'shoes' ORDER BY text_vec <-> [1, 0, 0] LIMIT 2",
    );
    assert!(
        single[0].starts_with("nearest 2 on text_vec: "),
        "{single:?}"
    );
    assert!(
        single[1].starts_with("  memtable: exact scan, filter first, passing rows scanned, 2 rows, 2 vectors compared, "),
        "{single:?}"
    );
    assert!(
        single[2].starts_with("result 1: p1 text_vec distance 0.0000"),
        "{single:?}"
    );
    let fused_plan = plan(&format!("EXPLAIN {}", fused(" NORMALIZE ZSCORE")));
    let text = fused_plan.join("\n");
    for needle in [
        "FUSE(AVG) top 10 over text_vec, image_vec: ",
        "column text_vec: 4 candidates, ",
        "column image_vec: 3 candidates, ",
        "union: 4 items; exact re-scoring: 0 distances read from the columns, ",
        "fusion: normalization z-score over the candidates, ",
        "result 1: ",
        "text_vec distance ",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn match_ranks_by_bm25_and_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    setup(&db);
    let created = run(
        &db,
        "CREATE INDEX ON products (title) USING BM25 WITH (k1 = 1.2, b = 0.75, analyzer = 'english')",
    );
    assert_eq!(
        created[0],
        Output::Done("built BM25 index on products.title".into())
    );
    let out = run(
        &db,
        "SELECT id, _score FROM products WHERE price < 100 ORDER BY MATCH(title, 'Shoes') LIMIT 5",
    );
    let found = rows(&out[0]);
    // 'shoes' stems to 'shoe'; p2 (a shoe, price 120) is filtered out; rows without the
    // term are not returned.
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0][0], Value::Text("p1".into()));
    let Value::Float(score) = found[0][1] else {
        panic!("{found:?}")
    };
    assert!(score > 0.0);
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM products ORDER BY MATCH(title, 'red shoe') LIMIT 2",
    );
    let lines: Vec<String> = rows(&plan[0])
        .iter()
        .map(|r| match &r[0] {
            Value::Text(t) => t.clone(),
            v => panic!("{v:?}"),
        })
        .collect();
    assert!(lines.iter().any(|l| l.contains("exact scan")), "{lines:?}");
    run(&db, "FLUSH products");
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM products ORDER BY MATCH(title, 'red shoe') LIMIT 2",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(text.contains("BM25 postings"), "{text}");
    // As a term of FUSE, beside a vector term.
    let fused = run(
        &db,
        "SELECT id, _score FROM products ORDER BY FUSE(RRF, MATCH(title, 'red shoes'), text_vec <-> [1, 0, 0]) LIMIT 2",
    );
    assert_eq!(rows(&fused[0])[0][0], Value::Text("p1".into()));
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM products ORDER BY FUSE(WEIGHTED(0.5, 0.5), MATCH(title, 'red'), text_vec <-> [1, 0, 0]) LIMIT 2",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(
        text.contains("column title") && text.contains("normalization min-max"),
        "{text}"
    );
    // RRF over the lists: an item the MATCH list lacks gets nothing from it.
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM products ORDER BY FUSE(RRF(LISTS), MATCH(title, 'red'), text_vec <-> [1, 0, 0]) LIMIT 4",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(text.contains("FUSE(RRF(k = 60.0, LISTS))"), "{text}");
    assert!(
        text.contains("title distance -0.0000 score") && text.contains("not in its list"),
        "{text}"
    );
    for (sql, what) in [
        ("CREATE INDEX ON products (price) USING BM25", "TEXT"),
        (
            "CREATE INDEX ON products (title) USING BM25 WITH (m = 8)",
            "no parameter m",
        ),
        (
            "CREATE INDEX ON products (title) USING BM25 WITH (analyzer = 'klingon')",
            "analyzer",
        ),
        (
            "SELECT id FROM products ORDER BY MATCH(category, 'shoes')",
            "BM25 index",
        ),
        (
            "SELECT id FROM products ORDER BY MATCH(title, '...')",
            "no terms",
        ),
    ] {
        let statement = &parse_script(sql).unwrap()[0];
        let err = quiver_sql::run(&db, statement).unwrap_err().to_string();
        assert!(err.contains(what), "{sql}: {err}");
    }
}

#[test]
fn evaluate_matches_each_query_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    setup(&db);
    run(&db, "CREATE INDEX ON products (title) USING BM25");
    let queries = dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        [
            r#"{"qid": "1", "text": "green sock", "qrels": {"p4": 1}, "label": "text"}"#,
            r#"{"qid": "2", "text": "hat", "qrels": {"p3": 1}, "label": "text"}"#,
            // An item query: matched by its own title, itself left out.
            r#"{"qid": "3", "query_item": "p1", "qrels": {"p2": 1}, "label": "item"}"#,
            r#"{"qid": "4", "text": "...", "qrels": {"p1": 1}, "label": "text"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let sql = format!(
        "EVALUATE products USING '{}' ORDER BY MATCH(title, QUERY) AT 3 PER QUERY",
        queries.display()
    );
    let statement = &parse_script(&sql).unwrap()[0];
    // A query text without terms is an error, as in SELECT.
    let err = quiver_sql::run(&db, statement).unwrap_err().to_string();
    assert!(err.contains("no terms"), "{err}");
    let lines: Vec<&str> = std::fs::read_to_string(&queries)
        .unwrap()
        .leak()
        .lines()
        .take(3)
        .collect();
    std::fs::write(&queries, lines.join("\n")).unwrap();
    let out = run(&db, &sql);
    // Every query finds its relevant item first (the item query's own item left out).
    let firsts: Vec<(String, String)> = rows(&out[0])
        .iter()
        .map(|r| match (&r[0], r.last()) {
            (Value::Text(q), Some(Value::Text(a))) => {
                (q.clone(), a.split(' ').next().unwrap().to_string())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let mut firsts = firsts;
    firsts.sort();
    let want = [("1", "p4"), ("2", "p3"), ("3", "p2")];
    assert_eq!(
        firsts,
        want.map(|(q, a)| (q.to_string(), a.to_string())).to_vec()
    );
    let fused = format!(
        "EVALUATE products USING '{}' ORDER BY FUSE(RRF, MATCH(title, QUERY), text_vec <-> [1, 0, 0]) AT 3",
        queries.display()
    );
    let out = run(&db, &fused);
    assert!(!rows(&out[0]).is_empty());
    let bad = format!(
        "EVALUATE products USING '{}' ORDER BY title <-> QUERY AT 3",
        queries.display()
    );
    assert!(quiver_sql::run(&db, &parse_script(&bad).unwrap()[0]).is_err());
}

/// SPARSE columns through the language: literals in, `<->` by descending dot
/// product (alone, fused, explained), DESCRIBE, bad literals and types refused with
/// nothing written, and EVALUATE with each item query's own sparse vector.
#[test]
fn sparse_columns_rank_by_dot_product_through_the_language() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    run(
        &db,
        "CREATE COLLECTION docs (terms SPARSE, v VECTOR(2) L2);
         INSERT INTO docs (id, terms, v) VALUES
           ('a', {12: 0.5, 99: 1.25}, [1, 0]),
           ('b', {12: 2}, [0, 1]),
           ('c', {7: 1}, [1, 1]),
           ('d', NULL, [0, 0]);",
    );
    let out = run(
        &db,
        "SELECT id, terms, _score FROM docs ORDER BY terms <-> {12: 1, 99: 2} LIMIT 5",
    );
    let found = rows(&out[0]);
    // b: 2·1 = 2, a: 0.5 + 2.5 = 3; c shares no index, d has none.
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0][0], Value::Text("a".into()));
    assert_eq!(found[0][1].to_string(), "{12: 0.5, 99: 1.25}");
    assert_eq!(found[0][2], Value::Float(3.0));
    assert_eq!(found[1][2], Value::Float(2.0));
    let describe = format!("{:?}", rows(&run(&db, "DESCRIBE docs")[0]));
    assert!(describe.contains("SPARSE"), "{describe}");
    // Sealed rows answer from the segment's postings, memtable rows by a scan; the
    // answer is the same.
    run(
        &db,
        "FLUSH docs; INSERT INTO docs (id, terms, v) VALUES ('e', {99: 0.25}, [0, 0])",
    );
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM docs ORDER BY terms <-> {12: 1, 99: 2} LIMIT 5",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(
        text.contains("sparse postings, 3 of 3 entries read"),
        "{text}"
    );
    let again = run(
        &db,
        "SELECT id, _score FROM docs ORDER BY terms <-> {12: 1, 99: 2} LIMIT 5",
    );
    let ids: Vec<&Value> = rows(&again[0]).iter().map(|r| &r[0]).collect();
    assert_eq!(
        ids,
        [
            &Value::Text("a".into()),
            &Value::Text("b".into()),
            &Value::Text("e".into())
        ]
    );
    run(&db, "DELETE FROM docs WHERE id = 'e'");
    let plan = run(
        &db,
        "EXPLAIN SELECT id FROM docs ORDER BY FUSE(WEIGHTED(0.5, 0.5), terms <-> {12: 1}, v <-> [1, 0]) LIMIT 3",
    );
    let text = format!("{:?}", rows(&plan[0]));
    assert!(
        text.contains("column terms") && text.contains("normalization min-max"),
        "{text}"
    );
    let fused = run(
        &db,
        "SELECT id FROM docs ORDER BY FUSE(RRF, terms <-> VECTOR OF 'b', v <-> [0, 1]) LIMIT 1",
    );
    assert_eq!(rows(&fused[0])[0][0], Value::Text("b".into()));
    for (sql, what) in [
        (
            "INSERT INTO docs (id, terms, v) VALUES ('x', [1, 2], [0, 0])",
            "SPARSE",
        ),
        ("INSERT INTO docs (id, v) VALUES ('x', {1: 1})", "VECTOR"),
        ("SELECT id FROM docs ORDER BY v <-> {1: 1}", "SPARSE"),
        ("SELECT id FROM docs ORDER BY terms <-> [1, 0]", "VECTOR"),
        ("SELECT id FROM docs ORDER BY terms <-> {}", "no entries"),
        ("SELECT id FROM docs WHERE terms = 1", "attribute"),
    ] {
        let statement = &parse_script(sql).unwrap()[0];
        let err = quiver_sql::run(&db, statement).unwrap_err().to_string();
        assert!(err.contains(what), "{sql}: {err}");
    }
    for sql in [
        "INSERT INTO docs (id, terms, v) VALUES ('x', {1: 1, 1: 2}, [0, 0])",
        "INSERT INTO docs (id, terms, v) VALUES ('x', {1: -0.5}, [0, 0])",
        "INSERT INTO docs (id, terms, v) VALUES ('x', {4294967296: 1}, [0, 0])",
    ] {
        assert!(parse_script(sql).is_err(), "{sql}");
    }
    let count = run(&db, "SELECT COUNT(*) FROM docs");
    assert_eq!(rows(&count[0])[0][0], Value::Int(4));

    // EVALUATE: each item query's own sparse vector, the item itself left out.
    let queries = dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        r#"{"qid": "1", "query_item": "a", "qrels": {"b": 1}}"#,
    )
    .unwrap();
    let out = run(
        &db,
        &format!(
            "EVALUATE docs USING '{}' ORDER BY terms <-> QUERY AT 2 PER QUERY",
            queries.display()
        ),
    );
    let text = format!("{:?}", rows(&out[0]));
    assert!(text.contains("\"b"), "{text}");
}

#[test]
fn describe_shows_each_columns_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let out = run(
        &db,
        "CREATE COLLECTION t (title TEXT, v VECTOR(2) L2);
         INSERT INTO t (id, title, v) VALUES ('a', 'one', [1, 0]), ('b', 'two', [0, 1]),
           ('c', 'three', [1, 1]);
         FLUSH t;
         CREATE INDEX ON t (v) USING HNSW;
         DESCRIBE t",
    );
    let Output::Rows { columns, rows } = out.last().unwrap() else {
        panic!("{out:?}")
    };
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let v = rows
        .iter()
        .find(|r| r[0] == Value::Text("v".into()))
        .unwrap();
    // Three rows of two f32s; the index is HNSW over 8-bit codes.
    assert_eq!(v[at("bytes")], Value::Int(24));
    let (Value::Int(index), Value::Int(codes)) = (&v[at("index_bytes")], &v[at("code_bytes")])
    else {
        panic!("{v:?}")
    };
    assert!(*index > *codes && *codes >= 6, "{v:?}");
    let title = rows
        .iter()
        .find(|r| r[0] == Value::Text("title".into()))
        .unwrap();
    assert_eq!(title[at("index_bytes")], Value::Int(0));
}

/// `USING FLAT WITH (quantize, refine)` declares a scan of codes: DESCRIBE shows it,
/// EXPLAIN says what ran (an exact scan while the segment is too small to train the
/// codes on), and the answer is the exact one either way.
#[test]
fn flat_indexes_on_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let out = run(
        &db,
        "CREATE COLLECTION t (v VECTOR(2) L2);
         INSERT INTO t (id, v) VALUES ('a', [1, 0]), ('b', [0, 1]), ('c', [1, 1]);
         FLUSH t;
         CREATE INDEX ON t (v) USING FLAT WITH (quantize = 'RaBitQ2', refine = 4);
         DESCRIBE t;
         EXPLAIN SELECT id FROM t ORDER BY v <-> [1, 0.9] LIMIT 1;
         SELECT id FROM t ORDER BY v <-> [1, 0.9] LIMIT 1",
    );
    let described = format!("{:?}", out[4]);
    assert!(
        described.contains("Flat { quantize: Rabitq2, refine: 4 }"),
        "{described}"
    );
    let explained = format!("{:?}", out[5]);
    assert!(
        explained.contains("too few to train rabitq2 codes"),
        "{explained}"
    );
    assert_eq!(rows(&out[6]), &vec![vec![Value::Text("c".into())]]);
}
