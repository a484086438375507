//! EMBED in statements: MiniLM fills a column in INSERT and embeds queries; the
//! column records its encoder (kept across reopen) and refuses another model's
//! vectors; bad calls write nothing. Needs `scripts/fetch-models` (CI runs it).

use crate::sql_helpers::run;
use std::sync::Arc;

use quiver::encode::{Encoder, EncoderInfo, Modality};
use quiver::{Database, Error, Value};
use quiver_sql::Output;

fn ids(out: &Output) -> Vec<String> {
    match out {
        Output::Rows { rows, .. } => rows
            .iter()
            .map(|r| match &r[0] {
                Value::Text(s) => s.clone(),
                v => panic!("{v:?}"),
            })
            .collect(),
        Output::Done(d) => panic!("{d}"),
    }
}

/// A 384-d text encoder that is not MiniLM (bytes hashed into buckets).
#[derive(Debug)]
struct Hashing(EncoderInfo);

impl Encoder for Hashing {
    fn info(&self) -> &EncoderInfo {
        &self.0
    }
    fn encode_texts(&self, texts: &[&str]) -> quiver::encode::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0; 384];
                t.bytes().for_each(|b| v[b as usize % 384] += 1.0);
                v[0] += 1.0;
                v
            })
            .collect())
    }
}

fn count(db: &Database, collection: &str) -> u64 {
    db.collection(collection).unwrap().count().unwrap()
}

/// A fresh database in a temporary folder with `sql` run in it.
fn database_with(sql: &str) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    run(&db, sql).unwrap();
    (dir, db)
}

#[test]
fn embed_fills_columns_answers_queries_and_guards_the_model() {
    let (dir, db) = database_with(
        "CREATE COLLECTION docs (title TEXT, text_vec VECTOR(384) COSINE, small VECTOR(8) COSINE NULL);
         INSERT INTO docs (id, title, text_vec) VALUES
           ('shoe', 'shoe', EMBED('minilm', 'a lightweight running shoe for marathon training')),
           ('font', 'font', EMBED('minilm', 'a serif typeface with high contrast for book covers')),
           ('soup', 'soup', EMBED('minilm', 'a recipe for tomato soup with basil')),
           ('card', 'card', EMBED('minilm', 'a rare holographic trading card'));",
    );
    let nearest = |q: &str| {
        let out = run(
            &db,
            &format!("SELECT id FROM docs ORDER BY text_vec <-> EMBED('minilm', '{q}') LIMIT 1"),
        )
        .unwrap();
        ids(&out[0])
    };
    assert_eq!(nearest("sneakers for jogging"), ["shoe"]);
    assert_eq!(nearest("fonts for printing books"), ["font"]);
    assert_eq!(nearest("what to cook for dinner"), ["soup"]);

    let schema = db.collection("docs").unwrap().schema().unwrap();
    let tag = schema
        .column("text_vec")
        .unwrap()
        .1
        .encoder
        .clone()
        .unwrap();
    assert_eq!(tag.name, "minilm");
    assert!(schema.column("small").unwrap().1.encoder.is_none());

    let refused = |sql: &str| run(&db, sql).unwrap_err();
    // Another model's vectors are refused, in queries and in inserts.
    db.encoders().register(Arc::new(Hashing(EncoderInfo {
        name: "hashing".into(),
        model_id: "test/hashing".into(),
        version: "1".into(),
        modality: Modality::Text,
        dim: 384,
        preprocessing: "bytes mod 384".into(),
    })));
    let err = refused("SELECT id FROM docs ORDER BY text_vec <-> EMBED('hashing', 'shoe') LIMIT 1");
    assert!(err.to_string().contains("holds vectors of minilm"), "{err}");
    let err = refused("INSERT INTO docs (id, text_vec) VALUES ('x', EMBED('hashing', 'shoe'))");
    assert!(err.to_string().contains("holds vectors of minilm"), "{err}");
    // A wrong dimension, an unknown encoder, an image call on a text model: nothing
    // written, no tag recorded.
    let err = refused(
        "INSERT INTO docs (id, text_vec, small) VALUES ('y', EMBED('minilm', 'a'), EMBED('minilm', 'b'))",
    );
    assert!(matches!(err, Error::DimensionMismatch { .. }), "{err}");
    let err = refused("INSERT INTO docs (id, text_vec) VALUES ('z', EMBED('nope', 'a'))");
    assert!(
        matches!(&err, Error::Encoder(m) if m.contains("minilm")),
        "{err}"
    );
    let err =
        refused("INSERT INTO docs (id, text_vec) VALUES ('w', EMBED_IMAGE('minilm', 'x.png'))");
    assert!(
        matches!(&err, Error::Encoder(m) if m.contains("reads text, not image")),
        "{err}"
    );
    assert_eq!(count(&db, "docs"), 4);
    let schema = db.collection("docs").unwrap().schema().unwrap();
    assert!(schema.column("small").unwrap().1.encoder.is_none());

    // The tag survives reopening.
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let schema = db.collection("docs").unwrap().schema().unwrap();
    assert_eq!(
        schema.column("text_vec").unwrap().1.encoder.as_ref(),
        Some(&tag)
    );
}

#[test]
fn an_embed_rule_fills_the_column_on_insert_update_and_copy() {
    let (dir, db) = database_with(
        "CREATE COLLECTION p (title TEXT, n INT,
           text_vec VECTOR(384) COSINE NULL EMBED FROM title USING 'minilm');
         INSERT INTO p (id, title) VALUES
           ('shoe', 'a lightweight running shoe'), ('soup', 'tomato soup with basil'),
           ('none', NULL);",
    );
    let snap = || db.collection("p").unwrap().snapshot().unwrap();
    let vector = |id: &str| {
        snap()
            .get(id)
            .unwrap()
            .unwrap()
            .vector("text_vec")
            .unwrap()
            .map(|v| v.to_vec())
    };
    assert_eq!(vector("shoe").map(|v| v.len()), Some(384));
    assert_eq!(vector("none"), None, "no text, no vector");
    let nearest = |q: &str| {
        ids(&run(
            &db,
            &format!("SELECT id FROM p ORDER BY text_vec <-> EMBED('minilm', '{q}') LIMIT 1"),
        )
        .unwrap()[0])
    };
    assert_eq!(nearest("sneakers"), ["shoe"]);
    // An update of the text re-embeds; a given vector is kept as given.
    let before = vector("soup").unwrap();
    let c = db.collection("p").unwrap();
    c.update(quiver::Item::new("soup").set("title", "a rare holographic trading card"))
        .unwrap();
    assert_ne!(vector("soup").unwrap(), before);
    assert_eq!(nearest("collectible cards"), ["soup"]);
    let given = vec![0.5f32; 384];
    c.upsert(
        quiver::Item::new("given")
            .set("title", "x")
            .set("text_vec", given.clone()),
    )
    .unwrap();
    assert_eq!(vector("given"), Some(given));
    // COPY fills it too.
    let file = dir.path().join("items.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"boot\", \"title\": \"waterproof hiking boots\"}\n",
    )
    .unwrap();
    run(&db, &format!("COPY p FROM '{}'", file.display())).unwrap();
    assert_eq!(vector("boot").map(|v| v.len()), Some(384));
    let schema = c.schema().unwrap();
    assert_eq!(
        schema
            .column("text_vec")
            .unwrap()
            .1
            .encoder
            .as_ref()
            .unwrap()
            .name,
        "minilm"
    );

    // Bad rules are refused at CREATE.
    for (sql, want) in [
        (
            "CREATE COLLECTION a (n INT, v VECTOR(384) COSINE EMBED FROM n USING 'minilm')",
            "TEXT",
        ),
        (
            "CREATE COLLECTION b (t TEXT, v VECTOR(384) COSINE EMBED FROM t USING 'nope')",
            "minilm",
        ),
        (
            "CREATE COLLECTION c (t TEXT, v VECTOR(8) COSINE EMBED FROM t USING 'minilm')",
            "dimension",
        ),
    ] {
        let err = run(&db, sql).unwrap_err();
        assert!(err.to_string().contains(want), "{sql}: {err}");
    }
    assert_eq!(db.collection_names(), ["p"]);
}

#[test]
fn embed_image_fills_image_columns_and_answers_image_queries() {
    let images =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../encode/tests/fixtures/images");
    let path = |name: &str| images.join(name).display().to_string();
    let (_dir, db) = database_with(&format!(
        "CREATE COLLECTION pics (title TEXT, image_vec VECTOR(1280) COSINE);
         INSERT INTO pics (id, title, image_vec) VALUES
           ('cat', 'a cat', EMBED_IMAGE('effnet', '{}')),
           ('cup', 'a cup', EMBED_IMAGE('effnet', '{}')),
           ('rocket', 'a rocket', EMBED_IMAGE('effnet', '{}'));",
        path("effnet_cat.jpg"),
        path("effnet_coffee.png"),
        path("effnet_rocket_grey.png"),
    ));
    assert_eq!(count(&db, "pics"), 3);
    // The same picture is its own nearest neighbour, queried by file.
    for (id, file) in [("cat", "effnet_cat.jpg"), ("cup", "effnet_coffee.png")] {
        let out = run(
            &db,
            &format!(
                "SELECT id FROM pics ORDER BY image_vec <-> EMBED_IMAGE('effnet', '{}') LIMIT 1",
                path(file)
            ),
        )
        .unwrap();
        assert_eq!(ids(&out[0]), [id]);
    }
    // A text query against the image column: another model, refused.
    let err = run(
        &db,
        "SELECT id FROM pics ORDER BY image_vec <-> EMBED('minilm', 'a cat') LIMIT 1",
    )
    .unwrap_err();
    assert!(err.to_string().contains("effnet"), "{err}");
    // A missing file writes nothing and names the file.
    let err = run(
        &db,
        "INSERT INTO pics (id, title, image_vec) VALUES ('x', 'x', EMBED_IMAGE('effnet', 'no/such.png'))",
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such.png"), "{err}");
    assert_eq!(count(&db, "pics"), 3);
    // An image encoder cannot fill a column from text.
    let err = run(
        &db,
        "CREATE COLLECTION bad (t TEXT, v VECTOR(1280) COSINE NULL EMBED FROM t USING 'effnet')",
    )
    .unwrap_err();
    assert!(err.to_string().contains("text encoder"), "{err}");
}

/// EMBED_IMAGES fills one item's multi-vector column from several image files in
/// one encoder batch; an item is found by any of its pictures (`_element` says which).
#[test]
fn embed_images_fills_a_multi_vector_column() {
    let images =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../encode/tests/fixtures/images");
    let path = |name: &str| images.join(name).display().to_string();
    let (_dir, db) = database_with(&format!(
        "CREATE COLLECTION clips (frames VECTOR(1280)[] COSINE);
         INSERT INTO clips (id, frames) VALUES
           ('pets', EMBED_IMAGES('effnet', ['{}', '{}'])),
           ('space', EMBED_IMAGES('effnet', ['{}']));",
        path("effnet_coffee.png"),
        path("effnet_cat.jpg"),
        path("effnet_rocket_grey.png"),
    ));
    let out = run(
        &db,
        &format!(
            "SELECT id, _element FROM clips ORDER BY frames <-> EMBED_IMAGE('effnet', '{}') LIMIT 1",
            path("effnet_cat.jpg")
        ),
    )
    .unwrap();
    let Output::Rows { rows, .. } = &out[0] else {
        panic!("no rows")
    };
    assert_eq!(rows[0], [Value::Text("pets".into()), Value::Int(1)]);
    let err = run(
        &db,
        "INSERT INTO clips (id, frames) VALUES ('x', EMBED_IMAGES('effnet', []))",
    )
    .unwrap_err();
    assert!(matches!(err, Error::MissingValue { .. }), "{err}");
    assert_eq!(count(&db, "clips"), 2);
}
