//! `quiver demo`: a product catalogue with a text and an image vector column, written in
//! atomic batches, sealed into segments, partly deleted and updated, reopened from disk,
//! indexed with HNSW, then read back and queried: nearest neighbours on one column, and
//! a filtered search on the other, fused search, lexical search (BM25 on the titles) and
//! a sparse "bought together" column; then real encoders fill a small gallery
//! (`demo_encoders.rs`).

use std::path::Path;

use anyhow::Context;
use quiver::{
    AttrType, CollectionSnapshot, Database, FusedQuery, Fusion, IndexSpec, Item, ItemRef, Metric,
    Schema, SearchHit, SearchOptions, SearchStats, SparseVector, Value, WriteBatch,
};

const ITEMS: u32 = 2_000;
const TEXT_DIM: usize = 32;
const IMAGE_DIM: usize = 48;
const CATEGORIES: [&str; 5] = ["shoes", "hats", "bags", "shirts", "watches"];
const COLOURS: [&str; 6] = ["red", "blue", "black", "green", "white", "brown"];

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
    let colour = COLOURS[(i / 5) as usize % COLOURS.len()];
    // "Bought together" counts over 50 product lines: a sparse vector.
    let line = |j: u32| (i * 7 + j * 13) % 50;
    let together = SparseVector::new(
        vec![line(0), line(1), line(2)],
        vec![3.0, 1.0 + (i % 3) as f32, 0.5],
    )
    .expect("three distinct lines, positive counts");
    Item::new(format!("p{i:05}"))
        .set("title", format!("{colour} {category} #{i}"))
        .set("together", together)
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
    query(&db)?;
    crate::demo_encoders::run(&db)
}

fn build(dir: &Path) -> anyhow::Result<()> {
    let db = Database::open(dir)?;
    let schema = Schema::builder()
        .attr("title", AttrType::Text)
        .attr("category", AttrType::Text)
        .attr("price", AttrType::Float)
        .attr("tags", AttrType::Tags)
        .attr("together", AttrType::Sparse)
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
    products.create_index("text_vec", IndexSpec::hnsw().m(16).ef_construction(100))?;
    products.create_index("image_vec", IndexSpec::ivf_pq().nlist(32).m(12).refine(10))?;
    products.create_index("title", IndexSpec::bm25())?;
    println!(
        "built an HNSW index on text_vec and an IVF-PQ index (32 lists, 12-byte codes) on image_vec, each with its measured recall curve, and a BM25 index on title"
    );
    Ok(())
}

/// MATCH alone and fused with a vector column, and the sparse column by dot product.
fn lexical_and_sparse(products: &CollectionSnapshot, text: &[f32]) -> anyhow::Result<()> {
    let show = |hits: &[SearchHit<'_>]| -> anyhow::Result<()> {
        for hit in hits {
            let title = hit.item.value("title")?;
            let title = title.text().unwrap_or_default();
            println!("  {}  score {:.4}  {title}", hit.item.id()?, hit.score);
        }
        Ok(())
    };
    let (hits, stats) = products.search_text("title", "red hats", 3, None)?;
    println!("3 best by MATCH(title, 'red hats') (BM25, higher is better):");
    show(&hits)?;
    println!("  plan: {}", plan(&stats));
    let query = FusedQuery::new(Fusion::Weighted(vec![0.5, 0.5]))
        .text("title", "red hats")
        .column("text_vec", text);
    let (hits, explain) = products.fused_search(&query, 3, None)?;
    println!(
        "3 best by FUSE(WEIGHTED(0.5, 0.5), MATCH(title, 'red hats'), text_vec <-> p00042's text), normalization {}:",
        explain.normalization
    );
    for hit in &hits {
        println!("  {}  score {:.3}", hit.item.id()?, hit.score);
    }
    let lines = SparseVector::new(vec![7, 20], vec![1.0, 0.5])?;
    let (hits, stats) = products.search_sparse("together", &lines, 3, None)?;
    println!("3 best by together <-> {lines} (sparse, dot product):");
    show(&hits)?;
    println!("  plan: {}", plan(&stats));
    Ok(())
}

fn print_hits(hits: &[SearchHit<'_>]) -> anyhow::Result<()> {
    for hit in hits {
        let title = hit.item.value("title")?;
        println!(
            "  {}  distance {:.4}  {}",
            hit.item.id()?,
            hit.distance,
            title.text().unwrap_or("?")
        );
    }
    Ok(())
}

fn plan(stats: &SearchStats) -> String {
    let parts: Vec<String> = stats.parts.iter().map(|part| part.to_string()).collect();
    parts.join("; ")
}

fn query_image(products: &quiver::CollectionSnapshot) -> anyhow::Result<Vec<f32>> {
    let item = products.get("p00007")?.context("p00007 is missing")?;
    Ok(item
        .vector("image_vec")?
        .context("p00007 has an image")?
        .to_vec())
}

/// A fused query over both vector columns, each result explained column by column.
fn fused(products: &quiver::CollectionSnapshot, text: &[f32], image: &[f32]) -> anyhow::Result<()> {
    let query = FusedQuery::new(Fusion::Weighted(vec![0.7, 0.3]))
        .column("text_vec", text)
        .column("image_vec", image);
    let (hits, explain) = products.fused_search(&query, 5, None)?;
    println!(
        "5 best by FUSE(WEIGHTED(0.7, 0.3), text_vec <-> p00042's text, image_vec <-> p00007's image), normalization {}:",
        explain.normalization
    );
    for hit in &hits {
        let parts: Vec<String> = hit
            .parts
            .iter()
            .zip(["text", "image"])
            .map(|(part, name)| match part {
                Some(p) => format!(
                    "{name}: distance {:.3} rank {} +{:.3}",
                    p.distance, p.rank, p.contribution
                ),
                None => format!("{name}: none"),
            })
            .collect();
        println!(
            "  {}  score {:.3}  [{}]",
            hit.item.id()?,
            hit.score,
            parts.join("; ")
        );
    }
    let stages: Vec<String> = explain
        .columns
        .iter()
        .map(|c| {
            format!(
                "{}: {} candidates in {} us",
                c.column, c.candidates, c.micros
            )
        })
        .collect();
    println!(
        "  plan: {}; union {} items re-scored exactly in {} us",
        stages.join(", "),
        explain.union,
        explain.rescore_micros
    );
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
    let query = &p42
        .vector("text_vec")?
        .context("p00042 has text_vec")?
        .to_vec()[..];
    let options = SearchOptions::default().ef(64);
    let (hits, stats) = products.search_where("text_vec", query, 5, &options, None)?;
    println!("5 nearest to p00042 by text_vec (cosine, HNSW):");
    print_hits(&hits)?;
    println!("  plan: {}", plan(&stats));
    let exact = products.search("text_vec", query, 5, &options.exact(true))?;
    let same = hits
        .iter()
        .zip(&exact)
        .filter(|(a, b)| a.item.id().ok() == b.item.id().ok())
        .count();
    println!("  exact scan agrees on {same} of 5");

    let hats = |item: &ItemRef<'_>| {
        item.value("category")
            .is_ok_and(|c| c.text() == Some("hats"))
    };
    let (hits, stats) = products.search_where(
        "image_vec",
        &query_image(&products)?,
        3,
        &options,
        Some(&hats),
    )?;
    println!("3 nearest hats to p00007's image (cosine, filter category = 'hats'):");
    print_hits(&hits)?;
    println!("  plan: {}", plan(&stats));

    fused(&products, query, &query_image(&products)?)?;
    lexical_and_sparse(&products, query)?;

    let target = SearchOptions::default().recall(0.95);
    let (hits, stats) =
        products.search_where("image_vec", &query_image(&products)?, 3, &target, None)?;
    println!(
        "3 nearest to p00007's image at a recall@10 target of 0.95 (nprobe read off the curve):"
    );
    print_hits(&hits)?;
    println!("  plan: {}", plan(&stats));
    Ok(())
}
