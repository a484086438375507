//! REPAIR's first stage, on a folder that is not open: a segment that does not open
//! (missing, structure damaged, row count not the manifest's, deletion file
//! unreadable) keeps the whole database from opening, so it is dropped here, when
//! asked, by storing a manifest without it. Then the database is opened and the rest
//! is the live REPAIR's.

use std::sync::Arc;

use quiver_storage::lock::WriterLock;
use quiver_storage::segment::{RegionKind, segment_file_name};
use quiver_storage::{
    Directory, Error, FsDirectory, Manifest, Result, RowId, Schema, Segment, SegmentEntry,
};

use super::{LostItems, Repair, RepairOptions, RepairOutcome, RepairReport, kept_name};
use crate::database::Database;
use crate::options::OpenOptions;
use crate::recovery::load_tombstones;
use crate::verify::check_ids;

/// [`repair`] on the database folder at `path` (which must exist).
pub fn repair_path(
    path: impl AsRef<std::path::Path>,
    options: RepairOptions,
) -> Result<RepairReport> {
    repair(Arc::new(FsDirectory::open_existing(path)?), options)
}

/// REPAIR on a database folder that need not open (see the module's notes). Takes the
/// writer lock: fails with [`Error::Locked`] while the database is open elsewhere.
/// When a segment that keeps the database from opening is left in place (dropping it
/// was not asked for), the report says so and nothing else is done.
pub fn repair(dir: Arc<dyn Directory>, options: RepairOptions) -> Result<RepairReport> {
    let mut report = {
        let _lock = WriterLock::acquire(dir.root())?;
        drop_unopenable_segments(dir.as_ref(), options)?
    };
    if !report.is_complete() {
        return Ok(report);
    }
    let db = Database::open_in(dir, OpenOptions::default())?;
    report.repairs.extend(db.repair(options)?.repairs);
    Ok(report)
}

fn drop_unopenable_segments(dir: &dyn Directory, options: RepairOptions) -> Result<RepairReport> {
    let Some(mut manifest) = Manifest::load(dir)? else {
        return Err(Error::InvalidArgument(format!(
            "{} is not a Quiver database (no MANIFEST)",
            dir.root().display()
        )));
    };
    let mut report = RepairReport::default();
    let mut kept_files = Vec::new();
    for entry in &mut manifest.collections {
        let mut segments = Vec::with_capacity(entry.segments.len());
        for seg in std::mem::take(&mut entry.segments) {
            let Some((problem, lost)) = open_problem(dir, &seg, &entry.schema) else {
                segments.push(seg);
                continue;
            };
            let outcome = if options.drop_damaged_segments {
                let mut files = vec![segment_file_name(seg.id)];
                files.extend(seg.tombstones.clone());
                files.retain(|f| dir.exists(f));
                let kept_as = files.iter().map(|f| kept_name(f)).collect();
                kept_files.extend(files);
                RepairOutcome::Dropped { lost, kept_as }
            } else {
                segments.push(seg.clone());
                RepairOutcome::NeedsDrop
            };
            report.repairs.push(Repair {
                collection: entry.name.clone(),
                file: segment_file_name(seg.id),
                problem,
                outcome,
            });
        }
        entry.segments = segments;
    }
    if report.repairs.iter().any(is_dropped) {
        manifest.store(dir)?;
        for file in kept_files {
            dir.rename(&file, &kept_name(&file))?;
        }
    }
    Ok(report)
}

fn is_dropped(r: &Repair) -> bool {
    matches!(r.outcome, RepairOutcome::Dropped { .. })
}

/// Why segment `seg` keeps the database from opening, and the items dropping it would
/// lose; `None` when it opens.
fn open_problem(
    dir: &dyn Directory,
    seg: &SegmentEntry,
    schema: &Schema,
) -> Option<(String, LostItems)> {
    let unreadable = LostItems::Unreadable {
        rows: seg.rows,
        deleted: seg.deleted,
    };
    let segment = match Segment::open(dir, seg.id, schema) {
        Ok(s) => s,
        Err(e) => return Some((e.to_string(), unreadable)),
    };
    let problem = if segment.rows() != seg.rows {
        format!(
            "the segment has {} rows, the manifest says {}",
            segment.rows(),
            seg.rows
        )
    } else {
        let name = seg.tombstones.as_ref()?;
        load_tombstones(dir, seg, name, segment.rows())
            .err()?
            .to_string()
    };
    // Which rows were deleted is unknown: every id it holds may have been live.
    let lost = readable_ids(&segment).map_or(unreadable, LostItems::AtMost);
    Some((problem, lost))
}

/// Every id of `segment`, when its id regions pass their checksums and lookups.
fn readable_ids(segment: &Segment) -> Option<Vec<String>> {
    let damaged = segment
        .damaged_regions()
        .iter()
        .any(|r| matches!(r.kind, RegionKind::IdOffsets | RegionKind::IdBytes));
    if damaged || check_ids(segment).is_err() {
        return None;
    }
    (0..segment.rows())
        .map(|r| segment.id_at(RowId(r)).map(str::to_string).ok())
        .collect()
}
