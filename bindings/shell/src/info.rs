//! `quiver info DIR`: a read-only description of a database.

use std::path::Path;

use quiver::{Database, OpenOptions};

pub fn run(dir: &Path) -> anyhow::Result<()> {
    let db = OpenOptions::new().read_only(true).open(dir)?;
    describe(&db)
}

/// Prints every collection with its columns and counts.
pub fn describe(db: &Database) -> anyhow::Result<()> {
    let info = db.info();
    println!(
        "database {} ({} collections, {} segments, last commit #{})",
        info.path.display(),
        info.collections,
        info.segments,
        info.last_lsn
    );
    println!("distance kernels: {}", info.kernels);
    let snapshot = db.snapshot();
    for name in db.collection_names() {
        let c = snapshot.collection(&name)?;
        let footprint = c.footprint();
        println!(
            "  {name}: {} items ({} segments: {}, ids {}; {} items in the memtable: {})",
            c.count(),
            c.segment_count(),
            size(footprint.segment_bytes()),
            size(footprint.ids),
            c.memtable_len(),
            size(footprint.memtable),
        );
        for (column, bytes) in c.schema().columns().iter().zip(&footprint.columns) {
            let null = if column.nullable { " NULL" } else { "" };
            let mut used = format!("{} rows", size(bytes.rows));
            if bytes.index > 0 {
                used += &format!(", index {}", size(bytes.index));
            }
            if bytes.codes > 0 {
                used += &format!(" (codes {})", size(bytes.codes));
            }
            let kind = format!("{}{null}", column.type_name());
            println!("    {:<12} {kind:<28} {used}", column.name);
        }
    }
    Ok(())
}

/// Bytes for people: `512 B`, `1.5 KiB`, `20.3 MiB`, `1.9 GiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
