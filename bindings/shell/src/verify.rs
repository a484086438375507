//! `quiver verify DIR`: VERIFY on a database folder without opening it (so it also
//! works on one that no longer opens). Prints every check that failed, then a summary;
//! exits 1 when anything is wrong.

use std::path::Path;

use crate::sql_shell::Reported;

pub fn run(dir: &Path) -> anyhow::Result<()> {
    let report = quiver::verify_path(dir)?;
    let mut problems = 0;
    for check in report.problems() {
        problems += 1;
        let collection = check.collection.as_deref().unwrap_or("-");
        let problem = check.problem.as_deref().unwrap_or_default();
        println!(
            "PROBLEM {collection} {} {}: {problem}",
            check.file, check.what
        );
    }
    println!(
        "{}: {} checks, {problems} problems",
        dir.display(),
        report.checks.len()
    );
    if problems > 0 {
        return Err(Reported.into());
    }
    Ok(())
}
