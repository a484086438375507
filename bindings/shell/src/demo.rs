//! `quiver demo`: a product catalogue with a text and an image vector column, written in
//! atomic batches, sealed into segments, partly deleted and updated, reopened from disk,
//! then read back and queried by exact nearest neighbours.

use std::path::Path;

use anyhow::Context;
use quiver::{AttrType, Database, Item, Metric, Schema, Value, WriteBatch};
use quiver_index::{SliceSource, exact_top_k};

const ITEMS: u32 = 2_000;
const TEXT_DIM: usize = 32;
const IMAGE_DIM: usize = 48;
const CATEGORIES: [&str; 5] = ["shoes", "hats", "bags", "shirts", "watches"];

/// Deterministic pseudo-random numbers (splitmix64), so every run builds the same data.
fn noise(seed: u64) -> f32 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// Items of one category cluster around a category centre, so neighbours make sense.
fn embedding(i: u32, dim: usize, salt: u64) -> Vec<f32> {
    let category = (i % CATEGORIES.len() as u32) as u64;
    (0..dim as u64)
        .map(|d| {
            2.0 * noise(salt + category * 1000 + d) + 0.6 * noise(((salt + i as u64) << 20) | d)
        })
        .collect()
}

fn product(i: u32) -> Item {
    let category = CATEGORIES[i as usize % CATEGORIES.len()];
    let image = if i.is_multiple_of(10) {
        Value::Null
    } else {
        Value::Vector(embedding(i, IMAGE_DIM, 7))
    };
    Item::new(format!("p{i:05}"))
        .set("title", format!("{category} #{i}"))
        .set("category", category)
        .set("price", 5.0 + (i % 200) as f64)
        .set(
            "tags",
            vec![category.to_string(), format!("batch-{}", i / 250)],
        )
        .set("text_vec", embedding(i, TEXT_DIM, 1))
        .set("image_vec", image)
}

pub fn run(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    build(dir)?;
    println!("\n-- reopened from disk --");
    let db = Database::open(dir)?;
    crate::info::describe(&db)?;
    query(&db)
}

fn build(dir: &Path) -> anyhow::Result<()> {
    let db = Database::open(dir)?;
    let schema = Schema::builder()
        .attr("title", AttrType::Text)
        .attr("category", AttrType::Text)
        .attr("price", AttrType::Float)
        .attr("tags", AttrType::Tags)
        .vector("text_vec", TEXT_DIM as u32, Metric::Cosine)
        .nullable_vector("image_vec", IMAGE_DIM as u32, Metric::Cosine)
        .build()?;
    let products = db.create_collection("products", schema)?;
    for chunk in (0..ITEMS).collect::<Vec<_>>().chunks(500) {
        let mut batch = WriteBatch::new();
        chunk.iter().for_each(|&i| {
            batch.insert(product(i));
        });
        let info = products.commit(batch)?;
        println!("committed {} items as commit #{}", info.written, info.lsn);
    }
    products.flush()?;
    let mut batch = WriteBatch::new();
    for i in (0..ITEMS).step_by(97) {
        batch.delete(format!("p{i:05}"));
    }
    batch.update(Item::new("p00042").set("price", 19.99));
    let info = products.commit(batch)?;
    println!(
        "deleted {} items, updated 1 (commit #{})",
        info.deleted, info.lsn
    );
    let bad = products.insert(product(1).set("text_vec", vec![0.5; 3]));
    println!(
        "a 3-d vector for a {TEXT_DIM}-d column is refused: {}",
        bad.err().map(|e| e.to_string()).unwrap_or_default()
    );
    products.flush()?;
    products.compact()?;
    Ok(())
}

fn query(db: &Database) -> anyhow::Result<()> {
    let products = db.snapshot().collection("products")?;
    let p42 = products.get("p00042")?.context("p00042 is missing")?;
    println!(
        "\nget p00042: {} | {} | price {} | tags {}",
        p42.id()?,
        p42.value("title")?,
        p42.value("price")?,
        p42.value("tags")?
    );
    // Exact nearest neighbours on text_vec over a scan (ANN indexes come next).
    let (mut ids, mut vectors) = (Vec::new(), Vec::new());
    for item in products.scan() {
        ids.push(item.id()?);
        vectors.extend_from_slice(item.vector("text_vec")?.context("text_vec is NOT NULL")?);
    }
    let source = SliceSource::new(&vectors, TEXT_DIM).context("vectors")?;
    let query = p42.vector("text_vec")?.context("p00042 has text_vec")?;
    println!("5 nearest to p00042 by text_vec (cosine):");
    for hit in exact_top_k(&source, Metric::Cosine, query, 5, &|_| true) {
        let id = ids[hit.row.0 as usize];
        let title = products.get(id)?.map(|i| i.value("title")).transpose()?;
        println!(
            "  {id}  distance {:.4}  {}",
            hit.distance,
            title.as_ref().and_then(Value::text).unwrap_or("?")
        );
    }
    Ok(())
}
