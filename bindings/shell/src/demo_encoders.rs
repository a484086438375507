//! The demo's encoder part: a small gallery whose columns real models fill — titles by
//! MiniLM through an EMBED FROM rule, pictures by EfficientNet-Lite0 through
//! EMBED_IMAGE — queried by text, by picture and by both fused, in SQL. Needs the
//! weights from `scripts/fetch-models`; without them the demo says so and goes on.

use std::path::PathBuf;

use quiver::Database;
use quiver::sql::parse_script;

use crate::sql_shell::{Format, print};

/// The pictures: the encoder tests' fixtures (photos from scikit-image's CC0 set).
fn picture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../engine/encode/tests/fixtures/images")
        .join(name);
    std::fs::canonicalize(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub fn run(db: &Database) -> anyhow::Result<()> {
    println!("\n-- encoders: MiniLM (text) and EfficientNet-Lite0 (images) --");
    for name in ["minilm", "effnet"] {
        if let Err(e) = db.encoders().get(name) {
            println!("skipped: {e}");
            return Ok(());
        }
    }
    let (cat, cup, rocket) = (
        picture("effnet_cat.jpg"),
        picture("effnet_coffee.png"),
        picture("effnet_rocket_grey.png"),
    );
    let script = format!(
        "CREATE COLLECTION gallery (title TEXT, text_vec VECTOR(384) COSINE NULL EMBED FROM title USING 'minilm', image_vec VECTOR(1280) COSINE NULL);
         INSERT INTO gallery (id, title, image_vec) VALUES
           ('cat', 'a tabby cat resting on a blanket', EMBED_IMAGE('effnet', '{cat}')),
           ('espresso', 'an espresso in a white cup on a saucer', EMBED_IMAGE('effnet', '{cup}')),
           ('rocket', 'a rocket on the launch pad before lift-off', EMBED_IMAGE('effnet', '{rocket}')),
           ('teapot', 'a ceramic teapot for green tea', NULL);
         DESCRIBE gallery;
         SELECT id, title FROM gallery ORDER BY text_vec <-> EMBED('minilm', 'something hot to drink') LIMIT 2;
         SELECT id, title FROM gallery ORDER BY image_vec <-> EMBED_IMAGE('effnet', '{cup}') LIMIT 2;
         SELECT id, _score FROM gallery ORDER BY FUSE(RRF, text_vec <-> EMBED('minilm', 'space travel'), image_vec <-> EMBED_IMAGE('effnet', '{rocket}')) LIMIT 2;"
    );
    let mut out = std::io::stdout().lock();
    for statement in parse_script(&script)? {
        let text = statement.to_string();
        let shown: String = text.chars().take(150).collect();
        println!(
            "quiver> {shown}{}",
            if text.len() > shown.len() { " ..." } else { "" }
        );
        print(&mut out, &quiver_sql::run(db, &statement)?, Format::Table)?;
    }
    Ok(())
}
