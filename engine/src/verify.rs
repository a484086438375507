//! VERIFY: every checksum and structural invariant of a database folder, each check
//! reported on its own (one damaged file never hides another). Reads only: it works
//! on a folder that does not open, and beside an open writer.
//!
//! Checked: the manifest; for each collection's segments, the file's structure (what
//! opening it checks), its row count against the manifest, every region's CRC, that
//! each row's id is found again by the id lookup, each vector index's structure (HNSW
//! graph sizes, entry point and links in range; IVF-PQ lists) and the deletion file;
//! every WAL file's records (a torn tail is reported, and is an error only in a WAL
//! file that is not the newest).

use quiver_index::SegmentIndex;
use quiver_storage::segment::segment_file_name;
use quiver_storage::wal::{parse_wal_file_name, read_wal_file};
use quiver_storage::{
    CollectionEntry, Directory, Error, Lsn, Manifest, Result, RowId, Segment, SegmentEntry,
};

use crate::database::Database;
use crate::recovery::load_tombstones;

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The collection it belongs to (`None`: the manifest and the WAL).
    pub collection: Option<String>,
    /// The file checked, relative to the database folder.
    pub file: String,
    /// What was checked (`checksums`, `index text_vec`, `records`, ...).
    pub what: String,
    /// `None` when it holds; else what is wrong and where.
    pub problem: Option<String>,
    /// What was seen when it holds (`3 regions`, `120 records`), for the report.
    pub detail: String,
}

/// Everything VERIFY checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Every check, in the order they ran.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// The checks that failed.
    pub fn problems(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.problem.is_some())
    }

    /// True when every check held.
    pub fn is_ok(&self) -> bool {
        self.problems().next().is_none()
    }

    fn record(
        &mut self,
        collection: Option<&str>,
        file: &str,
        what: &str,
        outcome: Result<String>,
    ) {
        let (problem, detail) = match outcome {
            Ok(detail) => (None, detail),
            Err(e) => (Some(e.to_string()), String::new()),
        };
        self.checks.push(Check {
            collection: collection.map(str::to_string),
            file: file.to_string(),
            what: what.to_string(),
            problem,
            detail,
        });
    }
}

impl Database {
    /// VERIFY on this database's folder (see [`verify`]).
    pub fn verify(&self) -> Result<VerifyReport> {
        verify(self.shared.dir.as_ref())
    }
}

/// [`verify`] on the database folder at `path` (which must exist).
pub fn verify_path(path: impl AsRef<std::path::Path>) -> Result<VerifyReport> {
    verify(&quiver_storage::FsDirectory::open_existing(path)?)
}

/// Checks the database folder `dir` (see the module's notes). An error only when the
/// folder cannot be listed; everything found wrong is in the report.
pub fn verify(dir: &dyn Directory) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let names = dir.list()?;
    match Manifest::load(dir) {
        Ok(Some(manifest)) => {
            let detail = format!("{} collections", manifest.collections.len());
            report.record(None, "MANIFEST", "checksum and format", Ok(detail));
            for entry in &manifest.collections {
                verify_collection(dir, entry, &mut report);
            }
        }
        Ok(None) => report.record(
            None,
            "MANIFEST",
            "present",
            Err(Error::InvalidArgument(format!(
                "{} has no MANIFEST",
                dir.root().display()
            ))),
        ),
        Err(e) => report.record(None, "MANIFEST", "checksum and format", Err(e)),
    }
    verify_wal(dir, &names, &mut report);
    Ok(report)
}

fn verify_collection(dir: &dyn Directory, entry: &CollectionEntry, report: &mut VerifyReport) {
    let name = Some(entry.name.as_str());
    for seg in &entry.segments {
        let file = segment_file_name(seg.id);
        let segment = match Segment::open(dir, seg.id, &entry.schema) {
            Ok(s) => s,
            Err(e) => {
                report.record(name, &file, "structure", Err(e));
                continue;
            }
        };
        report.record(
            name,
            &file,
            "structure",
            Ok(format!("{} rows", segment.rows())),
        );
        let rows = if segment.rows() == seg.rows {
            Ok(format!("{} rows, as the manifest says", seg.rows))
        } else {
            Err(Error::corrupted(
                segment.path(),
                0,
                format!("{} rows, the manifest says {}", segment.rows(), seg.rows),
            ))
        };
        report.record(name, &file, "row count", rows);
        let checksums = match segment.damaged_regions().as_slice() {
            [] => Ok("every region's CRC32 matches".to_string()),
            [one] => Err(segment.damaged_region_error(one)),
            [first, rest @ ..] => Err(Error::corrupted(
                segment.path(),
                first.offset,
                format!(
                    "{} regions fail their checksums: {}",
                    rest.len() + 1,
                    std::iter::once(first)
                        .chain(rest)
                        .map(|r| format!(
                            "{:?} of column {} at byte {}",
                            r.kind, r.column, r.offset
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
        report.record(name, &file, "checksums", checksums);
        report.record(name, &file, "ids", check_ids(&segment));
        for column in entry.schema.columns() {
            if column.vector_shape().is_some() || column.index.is_some_and(|s| s.is_text()) {
                let what = format!("index {}", column.name);
                match check_index(&segment, column) {
                    Ok(None) => {}
                    Ok(Some(detail)) => report.record(name, &file, &what, Ok(detail)),
                    Err(e) => report.record(name, &file, &what, Err(e)),
                }
            }
        }
        if let Some(tombstones) = &seg.tombstones {
            report.record(
                name,
                tombstones,
                "deletions",
                check_tombstones(dir, seg, tombstones, &segment),
            );
        }
    }
}

/// Every row's id is readable and the id lookup finds that row again.
pub(crate) fn check_ids(segment: &Segment) -> Result<String> {
    for row in 0..segment.rows() {
        let id = segment.id_at(RowId(row))?;
        if segment.find(id)? != Some(RowId(row)) {
            return Err(Error::corrupted(
                segment.path(),
                0,
                format!("the id lookup does not find row {row} ({id:?})"),
            ));
        }
    }
    Ok(format!("{} ids found by lookup", segment.rows()))
}

/// The column's index structure; `None` when the segment has no index on it.
pub(crate) fn check_index(
    segment: &Segment,
    column: &quiver_storage::Column,
) -> Result<Option<String>> {
    SegmentIndex::load(segment, column)?
        .map(|index| index.check(segment, column))
        .transpose()
}

fn check_tombstones(
    dir: &dyn Directory,
    seg: &SegmentEntry,
    name: &str,
    segment: &Segment,
) -> Result<String> {
    let t = load_tombstones(dir, seg, name, segment.rows())?;
    Ok(format!("{} deleted rows", t.count()))
}

/// Every WAL file's records, oldest file first.
fn verify_wal(dir: &dyn Directory, names: &[String], report: &mut VerifyReport) {
    let mut wal: Vec<(Lsn, &String)> = names
        .iter()
        .filter_map(|n| parse_wal_file_name(n).map(|lsn| (lsn, n)))
        .collect();
    wal.sort();
    for (i, (_, name)) in wal.iter().enumerate() {
        let newest = i + 1 == wal.len();
        let outcome = dir
            .read(name)
            .and_then(|bytes| read_wal_file(dir.path_of(name), bytes, Lsn(0)))
            .and_then(|file| {
                let records = file.records.len();
                match (file.torn_tail, newest) {
                    (false, _) => Ok(format!("{records} records")),
                    (true, true) => Ok(format!(
                        "{records} records, then a torn tail after byte {} (dropped when the database opens)",
                        file.valid_len
                    )),
                    (true, false) => Err(Error::corrupted(
                        file.path,
                        file.valid_len,
                        "incomplete record in a WAL file that is not the newest",
                    )),
                }
            });
        report.record(None, name, "records", outcome);
    }
}
