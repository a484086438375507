//! REPAIR: rewrites every segment whose damage is confined to what can be recomputed
//! (index, calibration, a dropped column's bytes) from its rows, with fresh indexes;
//! and, only when asked, drops a segment whose rows themselves are damaged (ids,
//! vectors, attributes, the file's structure, its deletion file), reporting exactly
//! which items were lost. A dropped segment's files are kept beside the database as
//! `<name>.damaged` for salvage by hand.
//!
//! Two stages. [`repair_path`] first works on the folder without opening it (a segment
//! that does not even open keeps the database from opening), then opens it and runs
//! [`Database::repair`], which works under the writer lock on the open database (what
//! the SQL statement runs).

mod live;
mod offline;

pub use offline::{repair, repair_path};

use quiver_storage::segment::RegionKind;
use quiver_storage::{Schema, Segment};

use crate::verify::{check_ids, check_index};

/// What REPAIR may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepairOptions {
    /// Drop segments whose rows are damaged (losing their items). Off: such segments
    /// are reported and left alone.
    pub drop_damaged_segments: bool,
}

/// The items a dropped segment held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LostItems {
    /// Exactly these items (the segment's live rows) were lost.
    Items(Vec<String>),
    /// The deletion file was unreadable: these are the segment's ids, and which of
    /// them had already been deleted (and so were not lost) cannot be known.
    AtMost(Vec<String>),
    /// Even the ids were unreadable: the segment held `rows` rows, `deleted` of them
    /// deleted, per the manifest.
    Unreadable {
        /// Rows the segment held.
        rows: u32,
        /// Rows of it already deleted.
        deleted: u32,
    },
}

impl LostItems {
    /// How many items (at most, for [`LostItems::AtMost`]).
    pub fn count(&self) -> u64 {
        match self {
            LostItems::Items(ids) | LostItems::AtMost(ids) => ids.len() as u64,
            LostItems::Unreadable { rows, deleted } => u64::from(rows.saturating_sub(*deleted)),
        }
    }
}

/// What REPAIR did about one damaged segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepairOutcome {
    /// Its live rows were rewritten into `file` (`None`: none were live) with indexes
    /// built afresh from the column data.
    Rebuilt {
        /// The new segment file.
        file: Option<String>,
        /// Live rows rewritten.
        rows: u32,
    },
    /// Dropped: its items are gone; its files were renamed to `kept_as`.
    Dropped {
        /// The items lost with it.
        lost: LostItems,
        /// Its files, renamed aside.
        kept_as: Vec<String>,
    },
    /// Its rows are damaged and dropping it was not asked for: left as it is.
    NeedsDrop,
}

/// One damaged segment: where, what was wrong, what REPAIR did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// The collection the segment belongs to.
    pub collection: String,
    /// The segment file, relative to the database folder.
    pub file: String,
    /// What VERIFY found wrong.
    pub problem: String,
    /// What REPAIR did about it.
    pub outcome: RepairOutcome,
}

/// Everything REPAIR found and did; empty when nothing was damaged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// One per damaged segment.
    pub repairs: Vec<Repair>,
}

impl RepairReport {
    /// True when nothing damaged was left in place.
    pub fn is_complete(&self) -> bool {
        !self
            .repairs
            .iter()
            .any(|r| r.outcome == RepairOutcome::NeedsDrop)
    }

    /// Every item known lost, in report order.
    pub fn lost_items(&self) -> Vec<&str> {
        let mut lost = Vec::new();
        for r in &self.repairs {
            if let RepairOutcome::Dropped {
                lost: LostItems::Items(ids) | LostItems::AtMost(ids),
                ..
            } = &r.outcome
            {
                lost.extend(ids.iter().map(String::as_str));
            }
        }
        lost
    }

    /// How many items were lost, also counting those whose ids were unreadable (for
    /// an unreadable deletion file: at most this many).
    pub fn lost_count(&self) -> u64 {
        self.repairs
            .iter()
            .map(|r| match &r.outcome {
                RepairOutcome::Dropped { lost, .. } => lost.count(),
                _ => 0,
            })
            .sum()
    }
}

impl RepairOutcome {
    /// What was done and what was lost, as a report row says them.
    pub fn describe(&self) -> (String, String) {
        match self {
            RepairOutcome::Rebuilt {
                file: Some(f),
                rows,
            } => (format!("rebuilt as {f} ({rows} rows)"), "none".into()),
            RepairOutcome::Rebuilt { file: None, .. } => {
                ("removed (no live rows)".into(), "none".into())
            }
            RepairOutcome::NeedsDrop => (
                "left as is: its rows are damaged; REPAIR DROP DAMAGED SEGMENTS drops it".into(),
                "-".into(),
            ),
            RepairOutcome::Dropped { lost, kept_as } => {
                let action = format!("dropped (kept as {})", kept_as.join(", "));
                let lost = match lost {
                    LostItems::Items(ids) => format!("{} items: {}", ids.len(), ids.join(", ")),
                    LostItems::AtMost(ids) => format!(
                        "at most {} items (which were already deleted is unknown): {}",
                        ids.len(),
                        ids.join(", ")
                    ),
                    LostItems::Unreadable { .. } => {
                        format!("{} items, ids unreadable", lost.count())
                    }
                };
                (action, lost)
            }
        }
    }
}

/// What is wrong with a segment that opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Damage {
    None,
    /// Only derived data (indexes, calibration, dropped columns' bytes): a rewrite
    /// from the rows repairs it.
    Derived(String),
    /// The rows themselves; `ids_intact` when the id regions pass their checksums.
    Rows {
        problem: String,
        ids_intact: bool,
    },
}

/// Every checksum of `segment`, its id lookup and each index's structure, sorted into
/// [`Damage`] by what a rewrite could recompute.
pub(crate) fn diagnose(segment: &Segment, schema: &Schema) -> Damage {
    let mut rows = Vec::new();
    let mut derived = Vec::new();
    let mut ids_intact = true;
    for region in segment.damaged_regions() {
        let holds_ids = matches!(region.kind, RegionKind::IdOffsets | RegionKind::IdBytes);
        ids_intact &= !holds_ids;
        let live_column = holds_ids || schema.position_of(region.column).is_some();
        let problem = format!(
            "{:?} region of column {} fails its checksum",
            region.kind, region.column
        );
        if region.kind.holds_rows() && live_column {
            rows.push(problem);
        } else {
            derived.push(problem);
        }
    }
    if rows.is_empty()
        && let Err(e) = check_ids(segment)
    {
        rows.push(e.to_string());
        ids_intact = false;
    }
    if !rows.is_empty() {
        return Damage::Rows {
            problem: rows.join("; "),
            ids_intact,
        };
    }
    for column in schema
        .columns()
        .iter()
        .filter(|c| c.vector_shape().is_some())
    {
        if let Err(e) = check_index(segment, column) {
            derived.push(e.to_string());
        }
    }
    if derived.is_empty() {
        Damage::None
    } else {
        Damage::Derived(derived.join("; "))
    }
}

/// The name a dropped segment's file is kept under.
pub(crate) fn kept_name(file: &str) -> String {
    format!("{file}.damaged")
}
