//! CREATE FUSION PROFILE and SHOW FUSION PROFILES: named fusion settings written by
//! hand, and every profile with where it came from (TUNE WEIGHTS saves them too).

use quiver::sql::{FusionProfileDef, NormalizeSpec};
use quiver::{Database, Error, Normalization, Result};
use quiver_storage::{FusionProfile, Value};

use crate::statements::Output;

/// Saves `def`: its fusion must suit its number of columns (WEIGHTED: one weight per
/// column, non-negative, not all 0), and its columns be this collection's.
pub fn create(db: &Database, def: &FusionProfileDef) -> Result<()> {
    let fusion = def.fusion.to_fusion().map_err(|(other, _)| {
        Error::InvalidArgument(format!(
            "a fusion profile holds a fusion, not another profile ({other})"
        ))
    })?;
    quiver_query::fusion::check(def.columns.len(), &fusion, &Normalization::MinMax)
        .map_err(|e| Error::InvalidArgument(format!("fusion profile {}: {e}", def.name)))?;
    let normalize = def.options.normalize.map(|n| match n {
        NormalizeSpec::None => "NONE",
        NormalizeSpec::MinMax => "MINMAX",
        NormalizeSpec::ZScore => "ZSCORE",
        NormalizeSpec::Calibrated => "CALIBRATED",
    });
    let profile = FusionProfile {
        name: def.name.clone(),
        label: def.label.clone(),
        fusion: fusion.to_string(),
        normalize: normalize.map(str::to_string),
        columns: def.columns.clone(),
        origin: Some("CREATE FUSION PROFILE".into()),
        stale: None,
    };
    db.collection(&def.collection)?.save_profiles(&[profile])
}

/// `collection | profile | fusion | normalize | columns | origin | stale`, for one
/// collection or all.
pub fn show(db: &Database, on: Option<&str>) -> Result<Output> {
    let names = match on {
        Some(c) => {
            db.collection(c)?;
            vec![c.to_string()]
        }
        None => db.collection_names(),
    };
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
    let mut rows = Vec::new();
    for name in names {
        for p in db.collection(&name)?.schema()?.profiles() {
            rows.push(vec![
                Value::Text(name.clone()),
                Value::Text(p.full_name()),
                Value::Text(p.fusion.clone()),
                text(&p.normalize),
                Value::Text(p.columns.join(", ")),
                text(&p.origin),
                text(&p.stale),
            ]);
        }
    }
    let columns = [
        "collection",
        "profile",
        "fusion",
        "normalize",
        "columns",
        "origin",
        "stale",
    ];
    Ok(Output::Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    })
}
