//! Helpers shared by the SQL-level engine tests: running a script, and the identity of
//! a toy encoder.

use quiver::encode::{EncoderInfo, Modality};
use quiver::sql::parse_script;
use quiver::{Database, Error};
use quiver_sql::Output;

/// Runs every statement of `sql` (which must parse), stopping at the first error.
pub fn run(db: &Database, sql: &str) -> Result<Vec<Output>, Error> {
    parse_script(sql)
        .unwrap()
        .iter()
        .map(|s| quiver_sql::run(db, s))
        .collect()
}

/// A test encoder's info: `test/NAME` version 1.
#[allow(dead_code)]
pub fn toy_info(name: &str, modality: Modality, dim: usize, preprocessing: &str) -> EncoderInfo {
    EncoderInfo {
        name: name.into(),
        model_id: format!("test/{name}"),
        version: "1".into(),
        modality,
        dim,
        preprocessing: preprocessing.into(),
    }
}
