//! REPAIR on an open database: each collection is sealed, then its damaged segments
//! are rewritten or dropped and one manifest naming the result is stored, all under
//! the writer lock (writers wait; readers keep the snapshot they hold). Compaction is
//! held off meanwhile: it must not publish a merge of segments REPAIR replaced.

use quiver_storage::segment::{RowSource, segment_file_name};
use quiver_storage::{Result, RowId, SegmentId};

use super::{Damage, LostItems, Repair, RepairOptions, RepairOutcome, RepairReport, diagnose};
use crate::compaction::MergeSource;
use crate::database::Database;
use crate::flush::{files_of_segment, segment_entries};
use crate::shared::Shared;
use crate::state::SegmentView;
use crate::writer::Writer;

impl Database {
    /// REPAIR on this open database (see the [`repair`](crate::repair) module).
    pub fn repair(&self, options: RepairOptions) -> Result<RepairReport> {
        self.shared.repair(options)
    }
}

/// Files to remove (rebuilt segments' old files) and to keep renamed (dropped ones').
#[derive(Default)]
struct FileChanges {
    remove: Vec<String>,
    keep: Vec<String>,
    written: Vec<String>,
}

impl Shared {
    fn repair(&self, options: RepairOptions) -> Result<RepairReport> {
        let _no_compaction = self.compaction.lock();
        let mut report = RepairReport::default();
        let names: Vec<String> = self.state.read().collections.keys().cloned().collect();
        for name in names {
            let mut files = FileChanges::default();
            let outcome = self.with_writer(|shared, writer| {
                shared.repair_collection(writer, &name, options, &mut files, &mut report)
            });
            match outcome {
                Ok(()) => {
                    self.remove_files(files.remove);
                    for file in files.keep {
                        // Best effort: a file not renamed is removed at the next open.
                        let _ = self.dir.rename(&file, &super::kept_name(&file));
                    }
                }
                Err(e) => {
                    self.remove_files(files.written);
                    return Err(e);
                }
            }
        }
        Ok(report)
    }

    fn repair_collection(
        &self,
        writer: &mut Writer,
        name: &str,
        options: RepairOptions,
        files: &mut FileChanges,
        report: &mut RepairReport,
    ) -> Result<()> {
        self.flush_locked(writer, name)?;
        let state = self.state.read().clone();
        let current = state.collection(name)?.clone();
        let mut segments = Vec::with_capacity(current.segments.len());
        let mut changed = false;
        for view in &current.segments {
            let file = segment_file_name(view.segment.id());
            let (problem, outcome) = match diagnose(&view.segment, &current.schema) {
                Damage::None => {
                    segments.push(view.clone());
                    continue;
                }
                Damage::Derived(problem) => {
                    let id = SegmentId(writer.manifest.next_segment_id);
                    writer.manifest.next_segment_id += 1;
                    let rebuilt = self.rebuild(id, &current.schema, view, files)?;
                    let outcome = RepairOutcome::Rebuilt {
                        file: rebuilt.as_ref().map(|v| segment_file_name(v.segment.id())),
                        rows: rebuilt.as_ref().map_or(0, |v| v.segment.rows()),
                    };
                    segments.extend(rebuilt);
                    files.remove.extend(files_of_segment(view));
                    (problem, outcome)
                }
                Damage::Rows {
                    problem,
                    ids_intact,
                } if options.drop_damaged_segments => {
                    let kept = files_of_segment(view);
                    let outcome = RepairOutcome::Dropped {
                        lost: lost_items(view, ids_intact),
                        kept_as: kept.iter().map(|f| super::kept_name(f)).collect(),
                    };
                    files.keep.extend(kept);
                    (problem, outcome)
                }
                Damage::Rows { problem, .. } => {
                    segments.push(view.clone());
                    (problem, RepairOutcome::NeedsDrop)
                }
            };
            changed |= outcome != RepairOutcome::NeedsDrop;
            report.repairs.push(Repair {
                collection: name.to_string(),
                file,
                problem,
                outcome,
            });
        }
        if !changed {
            return Ok(());
        }
        let mut manifest = writer.manifest.clone();
        manifest.last_lsn = state.last_lsn;
        if let Some(entry) = manifest.collections.iter_mut().find(|c| c.id == current.id) {
            entry.segments = segment_entries(&segments);
        }
        // From here the manifest on disk may name the new files: keep them on error.
        files.written.clear();
        self.store_manifest(writer, manifest)?;
        let mut next = (*current).clone();
        next.segments = segments;
        self.publish_collection(&state, next);
        Ok(())
    }

    /// `view`'s live rows written to a new segment `id` with fresh indexes; `None`
    /// when no row is live.
    fn rebuild(
        &self,
        id: SegmentId,
        schema: &quiver_storage::Schema,
        view: &SegmentView,
        files: &mut FileChanges,
    ) -> Result<Option<SegmentView>> {
        let source = MergeSource::new(std::slice::from_ref(view))?;
        if source.is_empty() {
            return Ok(None);
        }
        let rebuilt = self.write_segment(id, schema, &source)?;
        files.written.push(segment_file_name(id));
        Ok(Some(rebuilt))
    }
}

/// The items a dropped segment takes with it: its live rows' ids, when its id
/// regions passed their checksums.
fn lost_items(view: &SegmentView, ids_intact: bool) -> LostItems {
    let live: Result<Vec<String>> = (0..view.segment.rows())
        .map(RowId)
        .filter(|&r| !view.tombstones.is_deleted(r))
        .map(|r| view.segment.id_at(r).map(str::to_string))
        .collect();
    match live {
        Ok(ids) if ids_intact => LostItems::Items(ids),
        _ => LostItems::Unreadable {
            rows: view.segment.rows(),
            deleted: view.tombstones.count(),
        },
    }
}
