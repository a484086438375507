//! REPAIR's report as Python dicts: one per damaged segment, with the lost items as a
//! list (not the table's text) so a caller can act on them.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use quiver::{LostItems, RepairOutcome, RepairReport};

/// `[{collection, file, problem, action, lost, lost_exact, lost_count}, ...]`:
/// `action` is "rebuilt", "dropped" or "needs_drop"; `lost` the ids known lost (for a
/// dropped segment whose deletion file was unreadable, the ids that may have been;
/// `lost_exact` is then False); `lost_count` also counts items whose ids were
/// unreadable.
pub fn report_to_py<'py>(py: Python<'py>, report: &RepairReport) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for r in &report.repairs {
        let d = PyDict::new(py);
        d.set_item("collection", &r.collection)?;
        d.set_item("file", &r.file)?;
        d.set_item("problem", &r.problem)?;
        let (action, lost, exact, count): (&str, &[String], bool, u64) = match &r.outcome {
            RepairOutcome::Rebuilt { .. } => ("rebuilt", &[], true, 0),
            RepairOutcome::NeedsDrop => ("needs_drop", &[], true, 0),
            RepairOutcome::Dropped { lost, .. } => match lost {
                LostItems::Items(ids) => ("dropped", ids, true, lost.count()),
                LostItems::AtMost(ids) => ("dropped", ids, false, lost.count()),
                LostItems::Unreadable { .. } => ("dropped", &[], false, lost.count()),
            },
        };
        d.set_item("action", action)?;
        d.set_item("lost", lost)?;
        d.set_item("lost_exact", exact)?;
        d.set_item("lost_count", count)?;
        list.append(d)?;
    }
    Ok(list)
}
