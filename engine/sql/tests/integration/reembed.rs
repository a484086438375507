//! Switching a column to another model while it serves: ALTER ... ADD COLUMN with an
//! EMBED rule, REEMBED (the old column answers queries throughout, concurrent writers
//! are not undone), REPLACE COLUMN, and the guards around them. Cheap registered
//! encoders stand in for real models (the path is the same).

use crate::sql_helpers::{run, toy_info};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quiver::encode::{Encoder, EncoderInfo, Modality};
use quiver::{Database, Value};
use quiver_sql::Output;

/// A toy text encoder: word hashes into `dim` buckets, plus a constant component.
#[derive(Debug)]
struct Buckets(EncoderInfo);

impl Buckets {
    fn new(name: &str, dim: usize) -> Arc<Buckets> {
        Arc::new(Buckets(toy_info(name, Modality::Text, dim, "words hashed")))
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0; self.0.dim];
        for w in text.split_whitespace() {
            let h = w
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            v[h as usize % self.0.dim] += 1.0;
        }
        v[0] += 1.0;
        v
    }
}

impl Encoder for Buckets {
    fn info(&self) -> &EncoderInfo {
        &self.0
    }
    fn encode_texts(&self, texts: &[&str]) -> quiver::encode::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed(t)).collect())
    }
}

fn first_id(out: &Output) -> String {
    match out {
        Output::Rows { rows, .. } => match &rows[0][0] {
            Value::Text(s) => s.clone(),
            v => panic!("{v:?}"),
        },
        Output::Done(d) => panic!("{d}"),
    }
}

fn title(i: usize) -> String {
    format!("item {i} colour {} size {}", i % 7, i % 5)
}

#[test]
fn a_column_switches_models_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let (old, new) = (Buckets::new("old8", 8), Buckets::new("new16", 16));
    db.encoders().register(old.clone());
    db.encoders().register(new.clone());
    run(
        &db,
        "CREATE COLLECTION docs (title TEXT, v VECTOR(8) COSINE NULL EMBED FROM title USING 'old8')",
    )
    .unwrap();
    let docs = db.collection("docs").unwrap();
    // 700 items over two segments and the memtable.
    for part in [0..300, 300..600, 600..700] {
        let rows: Vec<String> = part.map(|i| format!("('d{i}', '{}')", title(i))).collect();
        run(
            &db,
            &format!("INSERT INTO docs (id, title) VALUES {}", rows.join(", ")),
        )
        .unwrap();
        docs.flush().unwrap();
    }
    run(
        &db,
        "INSERT INTO docs (id, title) VALUES ('late', 'item late')",
    )
    .unwrap();
    run(&db, "CREATE INDEX ON docs (v) USING HNSW").unwrap();

    let out = run(
        &db,
        "ALTER COLLECTION docs ADD COLUMN v2 VECTOR(16) COSINE NULL EMBED FROM title USING 'new16'",
    )
    .unwrap();
    assert!(
        matches!(&out[0], Output::Done(d) if d.contains("REEMBED docs (v2)")),
        "{out:?}"
    );

    // Readers query the old column and a writer changes titles and adds items while
    // REEMBED runs.
    let stop = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) {
                let out = run(
                    &db,
                    "SELECT id FROM docs ORDER BY v <-> EMBED('old8', 'item 5 colour 5 size 0') LIMIT 3",
                )
                .unwrap();
                assert!(matches!(&out[0], Output::Rows { rows, .. } if rows.len() == 3));
                answered += 1;
            }
            answered
        });
        let writer = s.spawn(|| {
            for i in (0..700).step_by(50) {
                let mut b = quiver::WriteBatch::new();
                b.update(quiver::Item::new(format!("d{i}")).set("title", format!("renamed {i}")));
                docs.commit(b).unwrap();
                docs.insert(
                    quiver::Item::new(format!("new{i}")).set("title", format!("fresh {i}")),
                )
                .unwrap();
            }
        });
        let out = run(&db, "REEMBED docs (v2)").unwrap();
        writer.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        out
    });
    let Output::Done(report) = &report[0] else {
        panic!()
    };
    assert!(report.contains("filled"), "{report}");

    // Every item's new vector is the new model's embedding of its CURRENT title.
    let snap = docs.snapshot().unwrap();
    assert_eq!(snap.count(), 701 + 14);
    for item in snap.scan() {
        let id = item.id().unwrap().to_string();
        let Value::Text(t) = item.value("title").unwrap() else {
            panic!("{id}")
        };
        let got = item
            .vector("v2")
            .unwrap()
            .unwrap_or_else(|| panic!("{id}: no v2"));
        assert_eq!(got.to_vec(), new.embed(&t), "{id}");
    }
    drop(snap);

    // The switch: `v` now answers from the new vectors, with the new model.
    run(&db, "ALTER COLLECTION docs REPLACE COLUMN v WITH v2").unwrap();
    let out = run(
        &db,
        "SELECT id FROM docs ORDER BY v <-> EMBED('new16', 'renamed 100') LIMIT 1",
    )
    .unwrap();
    assert_eq!(first_id(&out[0]), "d100");
    let err = run(
        &db,
        "SELECT id FROM docs ORDER BY v <-> EMBED('old8', 'x') LIMIT 1",
    )
    .unwrap_err();
    assert!(err.to_string().contains("new16"), "{err}");
    // New writes fill the switched column through its rule; the old name is gone.
    run(
        &db,
        "INSERT INTO docs (id, title) VALUES ('after', 'after the switch')",
    )
    .unwrap();
    assert!(
        run(
            &db,
            "SELECT id FROM docs ORDER BY v2 <-> EMBED('new16', 'x') LIMIT 1"
        )
        .is_err()
    );
    drop(docs);
    drop(db);

    // All of it survives a reopen (before and after compaction).
    let db = Database::open(dir.path()).unwrap();
    db.encoders().register(new.clone());
    let docs = db.collection("docs").unwrap();
    docs.compact().unwrap();
    let snap = docs.snapshot().unwrap();
    let after = snap.get("after").unwrap().unwrap();
    assert_eq!(
        after.vector("v").unwrap().unwrap().to_vec(),
        new.embed("after the switch")
    );
    assert_eq!(snap.schema().columns().len(), 2);
}

#[test]
fn schema_changes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.encoders().register(Buckets::new("b8", 8));
    run(
        &db,
        "CREATE COLLECTION c (title TEXT, v VECTOR(8) COSINE NULL EMBED FROM title USING 'b8', w VECTOR(8) L2 NULL);
         INSERT INTO c (id, title) VALUES ('a', 'one two')",
    )
    .unwrap();
    let fails = |sql: &str, says: &str| {
        let err = run(&db, sql).unwrap_err().to_string();
        assert!(err.contains(says), "{sql}: {err}");
    };
    fails("REEMBED c (w)", "no EMBED rule");
    fails(
        "ALTER COLLECTION c REPLACE COLUMN v WITH w",
        "another metric",
    );
    fails(
        "ALTER COLLECTION c DROP COLUMN title",
        "source of v's EMBED rule",
    );
    fails(
        "ALTER COLLECTION c ADD COLUMN x INT NOT NULL",
        "cannot be NOT NULL",
    );
    fails("ALTER COLLECTION c ADD COLUMN v TEXT", "v");
    fails(
        "ALTER COLLECTION c ADD COLUMN z VECTOR(9) COSINE EMBED FROM title USING 'b8'",
        "dimension",
    );
    fails("ALTER COLLECTION c RENAME COLUMN w TO v", "v");
    // A rename carries the rule's source along.
    run(&db, "ALTER COLLECTION c RENAME COLUMN title TO name").unwrap();
    run(&db, "INSERT INTO c (id, name) VALUES ('b', 'three four')").unwrap();
    let snap = db.collection("c").unwrap().snapshot().unwrap();
    assert!(
        snap.get("b")
            .unwrap()
            .unwrap()
            .vector("v")
            .unwrap()
            .is_some()
    );
    assert_eq!(snap.count(), 2);
}
