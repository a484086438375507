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
        println!(
            "  {name}: {} items ({} segments, {} items in the memtable)",
            c.count(),
            c.segment_count(),
            c.memtable_len()
        );
        for column in c.schema().columns() {
            let null = if column.nullable { " NULL" } else { "" };
            println!("    {:<12} {}{null}", column.name, column.type_name());
        }
    }
    Ok(())
}
