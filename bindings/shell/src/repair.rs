//! `quiver repair DIR [--drop-damaged-segments]`: REPAIR on a database folder, also one
//! that no longer opens. Prints what it did to each damaged segment and every item
//! lost; exits 1 when a damaged segment was left in place.

use std::path::Path;

use quiver::{LostItems, RepairOptions, RepairOutcome};

use crate::sql_shell::Reported;

pub fn run(dir: &Path, options: RepairOptions) -> anyhow::Result<()> {
    let report = quiver::repair_path(dir, options)?;
    for r in &report.repairs {
        println!("{} {}: {}", r.collection, r.file, r.problem);
        match &r.outcome {
            RepairOutcome::Rebuilt {
                file: Some(f),
                rows,
            } => {
                println!("  rebuilt as {f}: {rows} rows, indexes built afresh")
            }
            RepairOutcome::Rebuilt { file: None, .. } => {
                println!("  removed: it held no live rows")
            }
            RepairOutcome::NeedsDrop => println!(
                "  LEFT IN PLACE: its rows are damaged; --drop-damaged-segments drops it and lists the items lost"
            ),
            RepairOutcome::Dropped { lost, kept_as } => {
                println!("  dropped; its files kept as {}", kept_as.join(", "));
                print_lost(lost);
            }
        }
    }
    println!(
        "{}: {} damaged segments, {} items lost{}",
        dir.display(),
        report.repairs.len(),
        report.lost_count(),
        if report.is_complete() {
            ""
        } else {
            ", damage left in place"
        }
    );
    if !report.is_complete() {
        return Err(Reported.into());
    }
    Ok(())
}

fn print_lost(lost: &LostItems) {
    match lost {
        LostItems::Items(ids) => {
            println!("  lost {} items:", ids.len());
            ids.iter().for_each(|id| println!("    {id}"));
        }
        LostItems::AtMost(ids) => {
            println!(
                "  lost at most these {} items (its deletion file is unreadable, so which were already deleted is unknown):",
                ids.len()
            );
            ids.iter().for_each(|id| println!("    {id}"));
        }
        LostItems::Unreadable { rows, deleted } => println!(
            "  lost {} items whose ids are unreadable ({rows} rows, {deleted} deleted, per the manifest)",
            lost.count()
        ),
    }
}
