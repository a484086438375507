//! Fusion profiles: named fusion settings of a collection (`CREATE FUSION PROFILE`,
//! `EVALUATE ... TUNE WEIGHTS ... SAVE AS`, `SAVE BEST` as the profile `default`),
//! picked by `FUSE(PROFILE name [FOR 'label'], ...)`. Each is for queries over exactly
//! its columns, in its order (weights are positional). A profile whose column is
//! dropped or replaced stays listed, marked stale with the reason, and queries naming
//! it are refused: weights tuned on one model's vectors do not carry over to another's.

use serde::{Deserialize, Serialize};

use super::{Column, ColumnKind, Schema};
use crate::error::{Error, Result};

/// The profile `FUSE(DEFAULT, ...)` and `SAVE BEST` use.
pub const DEFAULT_PROFILE: &str = "default";
/// Most profiles (all names and labels together) one collection keeps.
pub const MAX_PROFILES: usize = 1024;
/// Longest profile name or label.
pub const MAX_PROFILE_NAME: usize = 64;

/// One named fusion setting.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FusionProfile {
    pub name: String,
    /// A per-label profile's query label (`name/label`); `None` for the profile that
    /// serves every query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The fusion as the language writes it (`WEIGHTED(0.2, 0.8)`, `RRF(k = 60.0)`).
    pub fusion: String,
    /// `NORMALIZE`'s keyword (`MINMAX`, `ZSCORE`, `NONE`, `CALIBRATED`); `None`: the
    /// engine's default for the columns at query time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<String>,
    /// The columns the weights are for, in order.
    pub columns: Vec<String>,
    /// Where it came from (tuning: on how many queries, with which NDCG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Why it no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

impl FusionProfile {
    /// `name` or `name/label`.
    pub fn full_name(&self) -> String {
        match &self.label {
            Some(l) => format!("{}/{l}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Schemas saved before profiles existed kept one default fusion.
#[derive(Deserialize)]
pub(super) struct LegacyDefaultFusion {
    fusion: String,
    columns: Vec<String>,
}

impl From<LegacyDefaultFusion> for FusionProfile {
    fn from(old: LegacyDefaultFusion) -> Self {
        FusionProfile {
            name: DEFAULT_PROFILE.into(),
            label: None,
            fusion: old.fusion,
            normalize: None,
            columns: old.columns,
            origin: None,
            stale: None,
        }
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    match ok {
        true => Ok(()),
        false => Err(Error::InvalidArgument(format!(
            "fusion profile {what} {name:?} must be 1..={MAX_PROFILE_NAME} letters, digits, spaces or '_-.'"
        ))),
    }
}

/// A column a fused query can rank by: a (multi-)vector, SPARSE or TEXT column.
fn rankable(column: &Column) -> bool {
    match &column.kind {
        ColumnKind::Vector(_) | ColumnKind::MultiVector(_) => true,
        ColumnKind::Attr(_) => {
            column.is_sparse() || column.attr().is_some_and(|a| a.ty == super::AttrType::Text)
        }
    }
}

impl Schema {
    /// Every profile, in the order saved.
    pub fn profiles(&self) -> &[FusionProfile] {
        &self.profiles
    }

    /// The profile `name` (for `label`, when given), usable: not stale.
    pub fn profile(&self, name: &str, label: Option<&str>) -> Result<&FusionProfile> {
        let named: Vec<&FusionProfile> = self.profiles.iter().filter(|p| p.name == name).collect();
        if named.is_empty() {
            let known: Vec<String> = self.profiles.iter().map(|p| p.full_name()).collect();
            let hint = match name {
                DEFAULT_PROFILE => " (EVALUATE ... SWEEP ... SAVE BEST saves one)",
                _ => "",
            };
            return Err(Error::InvalidArgument(format!(
                "no fusion profile {name}{hint}; this collection has: {}",
                list_or_none(&known)
            )));
        }
        let found = named
            .iter()
            .find(|p| p.label.as_deref() == label)
            .ok_or_else(|| {
                let labels: Vec<String> = named.iter().filter_map(|p| p.label.clone()).collect();
                Error::InvalidArgument(match label {
                    Some(l) => format!(
                        "fusion profile {name} has no label '{l}'; its labels: {}",
                        list_or_none(&labels)
                    ),
                    None => format!(
                        "fusion profile {name} is per label: say FOR one of {}",
                        list_or_none(&labels)
                    ),
                })
            })?;
        if let Some(why) = &found.stale {
            return Err(Error::InvalidArgument(format!(
                "fusion profile {} no longer applies: {why}; tune or create it again",
                found.full_name()
            )));
        }
        Ok(found)
    }

    /// A copy with `profiles` saved, each replacing any of the same name and label.
    /// All or none: every name and column is checked first.
    pub fn with_profiles(&self, profiles: &[FusionProfile]) -> Result<Schema> {
        let mut next = self.clone();
        for p in profiles {
            check_name("name", &p.name)?;
            if let Some(l) = &p.label {
                check_name("label", l)?;
            }
            if p.columns.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "fusion profile {} names no column",
                    p.full_name()
                )));
            }
            for c in &p.columns {
                let (_, column) = self.column(c)?;
                if !rankable(column) {
                    return Err(Error::TypeMismatch {
                        column: c.clone(),
                        expected: "a vector, SPARSE or TEXT column (something a query ranks by)"
                            .into(),
                        got: column.type_name(),
                    });
                }
            }
            next.profiles
                .retain(|q| !(q.name == p.name && q.label == p.label));
            next.profiles.push(p.clone());
        }
        if next.profiles.len() > MAX_PROFILES {
            return Err(Error::InvalidArgument(format!(
                "a collection keeps at most {MAX_PROFILES} fusion profiles"
            )));
        }
        Ok(next)
    }

    /// A copy without profile `name` (every label of it).
    pub fn without_profile(&self, name: &str) -> Result<Schema> {
        if !self.profiles.iter().any(|p| p.name == name) {
            return Err(Error::InvalidArgument(format!("no fusion profile {name}")));
        }
        let mut next = self.clone();
        next.profiles.retain(|p| p.name != name);
        Ok(next)
    }

    /// Marks the profiles fusing `column` stale, for `why`.
    pub(super) fn mark_profiles_stale(&mut self, column: &str, why: &str) {
        for p in self
            .profiles
            .iter_mut()
            .filter(|p| p.stale.is_none() && p.columns.iter().any(|c| c == column))
        {
            p.stale = Some(why.to_string());
        }
    }

    /// Profiles follow a renamed column.
    pub(super) fn rename_in_profiles(&mut self, from: &str, to: &str) {
        for p in &mut self.profiles {
            for c in p.columns.iter_mut().filter(|c| *c == from) {
                *c = to.to_string();
            }
        }
    }
}

fn list_or_none(names: &[String]) -> String {
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, Metric};

    fn schema() -> Schema {
        Schema::builder()
            .vector("text_vec", 4, Metric::Cosine)
            .vector("image_vec", 4, Metric::Cosine)
            .vector("new_vec", 4, Metric::Cosine)
            .attr("title", AttrType::Text)
            .attr("year", AttrType::Int)
            .build()
            .unwrap()
    }

    fn profile(name: &str, label: Option<&str>, columns: &[&str]) -> FusionProfile {
        FusionProfile {
            name: name.into(),
            label: label.map(str::to_string),
            fusion: "WEIGHTED(0.2, 0.8)".into(),
            normalize: Some("MINMAX".into()),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            origin: None,
            stale: None,
        }
    }

    #[test]
    fn profiles_are_saved_replaced_looked_up_and_dropped() {
        let s = schema()
            .with_profiles(&[
                profile("vision", None, &["text_vec", "image_vec"]),
                profile("modes", Some("family"), &["text_vec", "title"]),
                profile("modes", Some("style"), &["image_vec", "title"]),
            ])
            .unwrap();
        assert_eq!(s.profiles().len(), 3);
        let mut again = profile("vision", None, &["image_vec", "text_vec"]);
        again.fusion = "RRF(k = 60.0)".into();
        let s = s.with_profiles(&[again.clone()]).unwrap();
        assert_eq!(s.profiles().len(), 3);
        assert_eq!(s.profile("vision", None).unwrap(), &again);
        assert_eq!(
            s.profile("modes", Some("style")).unwrap().columns,
            ["image_vec", "title"]
        );
        let e = s.profile("modes", Some("serif")).unwrap_err().to_string();
        assert!(
            e.contains("no label 'serif'") && e.contains("family, style"),
            "{e}"
        );
        let e = s.profile("modes", None).unwrap_err().to_string();
        assert!(e.contains("per label"), "{e}");
        let e = s.profile("nope", None).unwrap_err().to_string();
        assert!(e.contains("modes/family, modes/style, vision"), "{e}");
        let s = s.without_profile("modes").unwrap();
        assert_eq!(s.profiles().len(), 1);
        assert!(s.without_profile("modes").is_err());
    }

    #[test]
    fn bad_profiles_save_nothing() {
        let s = schema();
        for bad in [
            profile("p", None, &["text_vec", "elsewhere"]),
            profile("p", None, &["year"]),
            profile("p", None, &[]),
            profile("p/q", None, &["text_vec"]),
            profile("p", Some(""), &["text_vec"]),
        ] {
            let ok = profile("fine", None, &["text_vec"]);
            assert!(s.with_profiles(&[ok, bad.clone()]).is_err(), "{bad:?}");
        }
        assert!(s.profiles().is_empty());
    }

    #[test]
    fn dropping_or_replacing_a_column_marks_its_profiles_stale_and_renames_follow() {
        let s = schema()
            .with_profiles(&[
                profile("both", None, &["text_vec", "image_vec"]),
                profile("text", None, &["text_vec", "title"]),
            ])
            .unwrap();
        let renamed = s.with_renamed_column("title", "name").unwrap();
        assert_eq!(
            renamed.profile("text", None).unwrap().columns,
            ["text_vec", "name"]
        );
        let dropped = s.without_column("image_vec").unwrap();
        let e = dropped.profile("both", None).unwrap_err().to_string();
        assert!(e.contains("column image_vec was dropped"), "{e}");
        assert!(dropped.profile("text", None).is_ok());
        let replaced = s.with_column_replaced("text_vec", "new_vec").unwrap();
        for name in ["both", "text"] {
            let e = replaced.profile(name, None).unwrap_err().to_string();
            assert!(e.contains("replaced by new_vec"), "{e}");
        }
        // Saving it again clears the mark.
        let fresh = replaced
            .with_profiles(&[profile("both", None, &["text_vec", "image_vec"])])
            .unwrap();
        assert!(fresh.profile("both", None).is_ok());
    }

    #[test]
    fn a_manifest_written_before_profiles_keeps_its_default_fusion() {
        let mut json = serde_json::to_value(schema()).unwrap();
        json["default_fusion"] = serde_json::json!({
            "fusion": "WEIGHTED(0.4, 0.6)",
            "columns": ["text_vec", "image_vec"],
        });
        let old: Schema = serde_json::from_value(json).unwrap();
        let p = old.profile(DEFAULT_PROFILE, None).unwrap();
        assert_eq!(p.fusion, "WEIGHTED(0.4, 0.6)");
        assert_eq!(p.columns, ["text_vec", "image_vec"]);
        let round: Schema = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(round, old);
        assert!(
            !serde_json::to_string(&schema())
                .unwrap()
                .contains("profiles")
        );
    }
}
