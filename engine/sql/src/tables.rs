//! The core's reports as result tables: what VERIFY and REPAIR print in the shell and
//! return to Python. Rendering lives here, beside the statements, so that the core
//! never depends on the statement layer's `Output`.

use quiver::{Check, RepairReport, Value, VerifyReport};

use crate::statements::Output;

/// A report as a result table.
pub trait ToTable {
    fn table(&self) -> Output;
}

/// One row per check (collection, file, check, status, detail or problem), problems
/// first.
impl ToTable for VerifyReport {
    fn table(&self) -> Output {
        let mut checks: Vec<&Check> = self.checks.iter().collect();
        checks.sort_by_key(|c| c.problem.is_none());
        let text = |s: &str| Value::Text(s.to_string());
        Output::Rows {
            columns: ["collection", "file", "check", "status", "detail"]
                .map(String::from)
                .to_vec(),
            rows: checks
                .into_iter()
                .map(|c| {
                    vec![
                        c.collection.as_deref().map_or(Value::Null, text),
                        text(&c.file),
                        text(&c.what),
                        text(if c.problem.is_some() { "PROBLEM" } else { "ok" }),
                        text(c.problem.as_deref().unwrap_or(&c.detail)),
                    ]
                })
                .collect(),
        }
    }
}

/// One row per damaged segment (collection, file, problem, action, lost).
impl ToTable for RepairReport {
    fn table(&self) -> Output {
        let text = |s: String| Value::Text(s);
        Output::Rows {
            columns: ["collection", "file", "problem", "action", "lost"]
                .map(String::from)
                .to_vec(),
            rows: self
                .repairs
                .iter()
                .map(|r| {
                    let (action, lost) = r.outcome.describe();
                    vec![
                        text(r.collection.clone()),
                        text(r.file.clone()),
                        text(r.problem.clone()),
                        text(action),
                        text(lost),
                    ]
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use quiver::{Check, Repair, RepairOutcome, RepairReport, Value, VerifyReport};

    use super::ToTable;
    use crate::Output;

    fn check(file: &str, problem: Option<&str>) -> Check {
        Check {
            collection: Some("c".into()),
            file: file.into(),
            what: "checksums".into(),
            problem: problem.map(String::from),
            detail: "3 regions".into(),
        }
    }

    #[test]
    fn verify_lists_problems_first() {
        let report = VerifyReport {
            checks: vec![
                check("a.qseg", None),
                check("b.qseg", Some("region 2: bad crc")),
            ],
        };
        let Output::Rows { columns, rows } = report.table() else {
            panic!("VERIFY returns rows")
        };
        assert_eq!(columns, ["collection", "file", "check", "status", "detail"]);
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(
            rows[0],
            [
                text("c"),
                text("b.qseg"),
                text("checksums"),
                text("PROBLEM"),
                text("region 2: bad crc")
            ]
        );
        assert_eq!(rows[1][3], text("ok"));
        assert_eq!(rows[1][4], text("3 regions"));
    }

    #[test]
    fn repair_has_a_row_per_damaged_segment() {
        let report = RepairReport {
            repairs: vec![Repair {
                collection: "c".into(),
                file: "seg-0000000002.qseg".into(),
                problem: "index v: bad crc".into(),
                outcome: RepairOutcome::Rebuilt {
                    file: Some("seg-0000000007.qseg".into()),
                    rows: 200,
                },
            }],
        };
        let Output::Rows { columns, rows } = report.table() else {
            panic!("REPAIR returns rows")
        };
        assert_eq!(columns, ["collection", "file", "problem", "action", "lost"]);
        let (action, lost) = report.repairs[0].outcome.describe();
        assert!(action.starts_with("rebuilt as seg-0000000007"), "{action}");
        assert_eq!(
            rows,
            [[
                Value::Text("c".into()),
                Value::Text("seg-0000000002.qseg".into()),
                Value::Text("index v: bad crc".into()),
                Value::Text(action),
                Value::Text(lost),
            ]]
        );
    }
}
