//! Collection schemas: named vector columns (dimension, element type, metric) and scalar
//! attribute columns, each nullable or not. Schemas are stored in the manifest as JSON.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::ColumnId;

mod dtype;
mod index_spec;
mod profiles;
pub use dtype::DType;
pub use index_spec::{Analyzer, IndexSpec, Quantize};
pub use profiles::{DEFAULT_PROFILE, FusionProfile, MAX_PROFILES};

/// Largest vector dimension accepted.
pub const MAX_DIM: u32 = 8192;
/// Longest column name accepted.
pub const MAX_COLUMN_NAME: usize = 64;

/// How two vectors of a column are compared. Higher score is better everywhere; the
/// conversion from distance to score lives with the index kernels.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    Dot,
    L2,
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        })
    }
}

/// A vector column's shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct VectorColumn {
    pub dim: u32,
    pub dtype: DType,
    pub metric: Metric,
}

impl VectorColumn {
    /// ` F16` / ` BF16` in the type's name; nothing for `F32` (the default).
    fn dtype_suffix(&self) -> String {
        match self.dtype {
            DType::F32 => String::new(),
            other => format!(" {}", other.sql_name()),
        }
    }
}

/// Scalar attribute types.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttrType {
    Text,
    Int,
    Float,
    Bool,
    /// A list of text values (tags).
    Tags,
    /// A sparse vector (u32 index → f32 weight), ranked by dot product (`<->`). Stored
    /// like the other variable-length cells.
    Sparse,
}

impl std::fmt::Display for AttrType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttrType::Text => "TEXT",
            AttrType::Int => "INT",
            AttrType::Float => "FLOAT",
            AttrType::Bool => "BOOL",
            AttrType::Tags => "TEXT[]",
            AttrType::Sparse => "SPARSE",
        })
    }
}

/// A scalar attribute column's shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AttrColumn {
    pub ty: AttrType,
}

/// What a column holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Vector(VectorColumn),
    /// Each item holds a list of vectors of the shape (`VECTOR(d)[]`), 0..=65,535 of
    /// them; NULL and the empty list are the same value.
    #[serde(rename = "multi_vector")]
    MultiVector(VectorColumn),
    Attr(AttrColumn),
}

/// One named column of a collection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Column {
    pub id: ColumnId,
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// The ANN index declared on a vector column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexSpec>,
    /// The encoder that filled a vector column (recorded the first time an encoder
    /// writes it); queries embedded by another encoder are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderTag>,
    /// A vector column filled from a text attribute by an encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<EmbedRule>,
}

/// "This vector column is embedded from attribute `from` by encoder `encoder`":
/// writes that give the text but not the vector get the vector from the encoder.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EmbedRule {
    pub from: String,
    pub encoder: String,
}

/// Which model filled a vector column: enough to refuse a query embedded by another.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EncoderTag {
    /// The registry name (`minilm`).
    pub name: String,
    pub model_id: String,
    pub version: String,
    pub preprocessing: String,
}

impl std::fmt::Display for EncoderTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.name, self.model_id, self.version)
    }
}

impl Column {
    /// The shape of a single-vector column.
    pub fn vector(&self) -> Option<&VectorColumn> {
        match &self.kind {
            ColumnKind::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The shape of a multi-vector column.
    pub fn multi(&self) -> Option<&VectorColumn> {
        match &self.kind {
            ColumnKind::MultiVector(v) => Some(v),
            _ => None,
        }
    }

    /// The vector shape of a single- or multi-vector column (what an index over its
    /// vectors, or its encoder, needs).
    pub fn vector_shape(&self) -> Option<&VectorColumn> {
        match &self.kind {
            ColumnKind::Vector(v) | ColumnKind::MultiVector(v) => Some(v),
            ColumnKind::Attr(_) => None,
        }
    }

    /// The multi-vector shape, or `TypeMismatch` naming the column.
    pub fn expect_multi(&self) -> Result<&VectorColumn> {
        self.multi().ok_or_else(|| Error::TypeMismatch {
            column: self.name.clone(),
            expected: "VECTOR[] (a multi-vector column)".into(),
            got: self.type_name(),
        })
    }

    /// The vector shape of a single- or multi-vector column, or `TypeMismatch`.
    pub fn expect_vector_shape(&self) -> Result<&VectorColumn> {
        self.vector_shape().ok_or_else(|| Error::TypeMismatch {
            column: self.name.clone(),
            expected: "VECTOR".into(),
            got: self.type_name(),
        })
    }

    /// The vector shape, or `TypeMismatch` naming the column.
    pub fn expect_vector(&self) -> Result<&VectorColumn> {
        self.vector().ok_or_else(|| Error::TypeMismatch {
            column: self.name.clone(),
            expected: "VECTOR".into(),
            got: self.type_name(),
        })
    }

    /// Whether this is a SPARSE column.
    pub fn is_sparse(&self) -> bool {
        self.attr().is_some_and(|a| a.ty == AttrType::Sparse)
    }

    /// `TypeMismatch` naming the column unless it is SPARSE.
    pub fn expect_sparse(&self) -> Result<()> {
        if self.is_sparse() {
            return Ok(());
        }
        Err(Error::TypeMismatch {
            column: self.name.clone(),
            expected: "SPARSE".into(),
            got: self.type_name(),
        })
    }

    pub fn attr(&self) -> Option<&AttrColumn> {
        match &self.kind {
            ColumnKind::Attr(a) => Some(a),
            _ => None,
        }
    }

    /// Human-readable type, e.g. `VECTOR(384) COSINE` or `TEXT`.
    pub fn type_name(&self) -> String {
        match &self.kind {
            ColumnKind::Vector(v) => {
                format!(
                    "VECTOR({}){} {}",
                    v.dim,
                    v.dtype_suffix(),
                    v.metric.to_string().to_uppercase()
                )
            }
            ColumnKind::MultiVector(v) => {
                format!(
                    "VECTOR({})[]{} {}",
                    v.dim,
                    v.dtype_suffix(),
                    v.metric.to_string().to_uppercase()
                )
            }
            ColumnKind::Attr(a) => a.ty.to_string(),
        }
    }
}

/// The columns of a collection, in declaration order (the item id is implicit), and
/// its fusion profiles.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
#[serde(from = "SchemaOnDisk")]
pub struct Schema {
    columns: Vec<Column>,
    next_column_id: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<FusionProfile>,
}

/// A schema as manifests hold it, older ones included (their one `default_fusion`
/// becomes the profile `default`).
#[derive(Deserialize)]
struct SchemaOnDisk {
    columns: Vec<Column>,
    next_column_id: u32,
    #[serde(default)]
    profiles: Vec<FusionProfile>,
    #[serde(default)]
    default_fusion: Option<profiles::LegacyDefaultFusion>,
}

impl From<SchemaOnDisk> for Schema {
    fn from(disk: SchemaOnDisk) -> Self {
        let mut profiles = disk.profiles;
        if let Some(old) = disk.default_fusion
            && !profiles.iter().any(|p| p.name == DEFAULT_PROFILE)
        {
            profiles.push(old.into());
        }
        Schema {
            columns: disk.columns,
            next_column_id: disk.next_column_id,
            profiles,
        }
    }
}

impl Schema {
    /// Starts an empty schema.
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Position and definition of a column by name.
    pub fn column(&self, name: &str) -> Result<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| Error::UnknownColumn {
                column: name.to_string(),
            })
    }

    /// Position of a column by its stable id.
    pub fn position_of(&self, id: ColumnId) -> Option<usize> {
        self.columns.iter().position(|c| c.id == id)
    }

    /// A copy with one more column. The new column gets a fresh id.
    pub fn with_column(&self, name: &str, kind: ColumnKind, nullable: bool) -> Result<Schema> {
        let mut next = self.clone();
        next.push(name, kind, nullable)?;
        Ok(next)
    }

    /// A copy with `index` declared (or removed) on a vector column.
    pub fn with_index(&self, name: &str, index: Option<IndexSpec>) -> Result<Schema> {
        let (pos, column) = self.column(name)?;
        match &index {
            Some(spec) if spec.is_text() => {
                spec.check()?;
                if column.attr().map(|a| a.ty) != Some(AttrType::Text) {
                    return Err(Error::TypeMismatch {
                        column: name.to_string(),
                        expected: "TEXT (a BM25 index)".into(),
                        got: column.type_name(),
                    });
                }
            }
            Some(spec) => spec.check_for(column.expect_vector_shape()?.dim)?,
            None => {}
        }
        let mut next = self.clone();
        next.columns[pos].index = index;
        Ok(next)
    }

    /// A copy with `encoder` recorded on vector column `name`.
    pub fn with_encoder(&self, name: &str, encoder: Option<EncoderTag>) -> Result<Schema> {
        let (pos, column) = self.column(name)?;
        column.expect_vector_shape()?;
        let mut next = self.clone();
        next.columns[pos].encoder = encoder;
        Ok(next)
    }

    /// A copy with `rule` on vector column `name`; its source must be a TEXT column.
    pub fn with_embed_rule(&self, name: &str, rule: Option<EmbedRule>) -> Result<Schema> {
        let (pos, column) = self.column(name)?;
        column.expect_vector()?;
        if let Some(r) = &rule {
            let (_, source) = self.column(&r.from)?;
            if source.attr().map(|a| a.ty) != Some(AttrType::Text) {
                return Err(Error::TypeMismatch {
                    column: r.from.clone(),
                    expected: "TEXT (the source of an EMBED rule)".into(),
                    got: source.type_name(),
                });
            }
        }
        let mut next = self.clone();
        next.columns[pos].embed = rule;
        Ok(next)
    }

    /// A copy without the named column.
    pub fn without_column(&self, name: &str) -> Result<Schema> {
        let (pos, _) = self.column(name)?;
        if let Some(reader) = self
            .columns
            .iter()
            .find(|c| c.embed.as_ref().is_some_and(|r| r.from == name))
        {
            return Err(Error::InvalidArgument(format!(
                "column {name} is the source of {}'s EMBED rule: drop or replace {} first",
                reader.name, reader.name
            )));
        }
        let mut next = self.clone();
        next.columns.remove(pos);
        next.mark_profiles_stale(name, &format!("column {name} was dropped"));
        Ok(next)
    }

    /// A copy with column `from` called `to`. Its data, index, encoder and rule stay
    /// (segments find columns by id, so nothing is rewritten); EMBED rules reading
    /// `from` read `to`.
    pub fn with_renamed_column(&self, from: &str, to: &str) -> Result<Schema> {
        let (pos, _) = self.column(from)?;
        check_column_name(to)?;
        if self.columns.iter().any(|c| c.name == to) {
            return Err(Error::DuplicateColumn {
                column: to.to_string(),
            });
        }
        let mut next = self.clone();
        next.columns[pos].name = to.to_string();
        for c in &mut next.columns {
            if let Some(rule) = c.embed.as_mut().filter(|r| r.from == from) {
                rule.from = to.to_string();
            }
        }
        next.rename_in_profiles(from, to);
        Ok(next)
    }

    /// A copy where `replacement` takes the place of `name`: `name` is dropped and
    /// `replacement` renamed to it, in one schema change, so queries naming `name`
    /// move from the old vectors to the new ones at one commit. Both must be vector
    /// columns, both single or both multi-vector, of the same metric (queries written
    /// for one must mean the same on the other); the dimensions may differ (another
    /// model).
    pub fn with_column_replaced(&self, name: &str, replacement: &str) -> Result<Schema> {
        let (_, old) = self.column(name)?;
        let (_, new) = self.column(replacement)?;
        let (old_shape, new_shape) = (old.expect_vector_shape()?, new.expect_vector_shape()?);
        if old.multi().is_some() != new.multi().is_some() {
            return Err(Error::InvalidArgument(format!(
                "{replacement} ({}) cannot replace {name} ({}): one vector and a list of vectors rank differently",
                new.type_name(),
                old.type_name()
            )));
        }
        if old_shape.metric != new_shape.metric {
            return Err(Error::InvalidArgument(format!(
                "{replacement} ({:?}) cannot replace {name} ({:?}): another metric",
                new_shape.metric, old_shape.metric
            )));
        }
        if name == replacement {
            return Err(Error::InvalidArgument(format!(
                "{name} cannot replace itself"
            )));
        }
        let mut without = self.clone();
        let (pos, _) = without.column(name)?;
        without.columns.remove(pos);
        // Weights tuned on the old vectors do not carry over to another model's.
        let why = format!("column {name} was replaced by {replacement}");
        without.mark_profiles_stale(name, &why);
        without.mark_profiles_stale(replacement, &why);
        without.with_renamed_column(replacement, name)
    }

    /// Checks invariants of a schema read from disk.
    pub fn check(&self) -> Result<()> {
        let mut rebuilt = SchemaBuilder::default();
        let mut ids: Vec<u32> = self.columns.iter().map(|c| c.id.0).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::InvalidArgument(
                "two columns share one column id".into(),
            ));
        }
        for c in &self.columns {
            if c.id.0 >= self.next_column_id {
                return Err(Error::InvalidArgument(format!(
                    "column {} has id {} beyond next id {}",
                    c.name, c.id, self.next_column_id
                )));
            }
            rebuilt.schema.push(&c.name, c.kind, c.nullable)?;
            if let Some(spec) = &c.index {
                spec.check()?;
                let fits = match spec.is_text() {
                    true => c.attr().map(|a| a.ty) == Some(AttrType::Text),
                    false => c.vector_shape().is_some(),
                };
                if !fits {
                    return Err(Error::InvalidArgument(format!(
                        "index declared on column {} of type {}",
                        c.name,
                        c.type_name()
                    )));
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, name: &str, kind: ColumnKind, nullable: bool) -> Result<()> {
        check_column_name(name)?;
        if self.columns.iter().any(|c| c.name == name) {
            return Err(Error::DuplicateColumn {
                column: name.to_string(),
            });
        }
        if let ColumnKind::Vector(v) | ColumnKind::MultiVector(v) = kind
            && !(1..=MAX_DIM).contains(&v.dim)
        {
            return Err(Error::InvalidArgument(format!(
                "column {name}: dimension must be 1..={MAX_DIM}, got {}",
                v.dim
            )));
        }
        if let ColumnKind::MultiVector(v) = kind
            && v.dtype != DType::F32
        {
            return Err(Error::InvalidArgument(format!(
                "column {name}: a list of vectors (VECTOR(n)[]) is stored as F32 only, not {}",
                v.dtype.sql_name()
            )));
        }
        self.columns.push(Column {
            id: ColumnId(self.next_column_id),
            name: name.to_string(),
            kind,
            nullable,
            index: None,
            encoder: None,
            embed: None,
        });
        self.next_column_id += 1;
        Ok(())
    }
}

fn check_column_name(name: &str) -> Result<()> {
    let valid_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let valid_rest = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_start || !valid_rest || name.len() > MAX_COLUMN_NAME {
        return Err(Error::InvalidArgument(format!(
            "column name {name:?} must be 1..={MAX_COLUMN_NAME} ASCII letters, digits or '_', not starting with a digit"
        )));
    }
    if name.eq_ignore_ascii_case("id") || name.starts_with('_') {
        return Err(Error::InvalidArgument(format!(
            "column name {name:?} is reserved (the item id is `id`; names starting with '_' are the engine's)"
        )));
    }
    Ok(())
}

/// Builds a [`Schema`]; errors (duplicates, bad names, bad dimensions) surface in `build`.
#[derive(Debug, Default)]
pub struct SchemaBuilder {
    schema: Schema,
    error: Option<Error>,
}

impl SchemaBuilder {
    fn add(mut self, name: &str, kind: ColumnKind, nullable: bool) -> Self {
        if self.error.is_none()
            && let Err(e) = self.schema.push(name, kind, nullable)
        {
            self.error = Some(e);
        }
        self
    }

    /// A NOT NULL f32 vector column.
    pub fn vector(self, name: &str, dim: u32, metric: Metric) -> Self {
        let kind = ColumnKind::Vector(VectorColumn {
            dim,
            dtype: DType::F32,
            metric,
        });
        self.add(name, kind, false)
    }

    /// A NOT NULL vector column stored as `dtype` (`F16`/`BF16`: 2 bytes per value,
    /// inputs rounded once at write).
    pub fn typed_vector(self, name: &str, dim: u32, dtype: DType, metric: Metric) -> Self {
        let kind = ColumnKind::Vector(VectorColumn { dim, dtype, metric });
        self.add(name, kind, false)
    }

    /// A nullable f32 vector column (an item may lack it, e.g. no image yet).
    pub fn nullable_vector(self, name: &str, dim: u32, metric: Metric) -> Self {
        let kind = ColumnKind::Vector(VectorColumn {
            dim,
            dtype: DType::F32,
            metric,
        });
        self.add(name, kind, true)
    }

    /// A multi-vector column (`VECTOR(dim)[]`): a list of f32 vectors per item.
    pub fn multi_vector(self, name: &str, dim: u32, metric: Metric, nullable: bool) -> Self {
        let kind = ColumnKind::MultiVector(VectorColumn {
            dim,
            dtype: DType::F32,
            metric,
        });
        self.add(name, kind, nullable)
    }

    /// A nullable attribute column.
    pub fn attr(self, name: &str, ty: AttrType) -> Self {
        self.add(name, ColumnKind::Attr(AttrColumn { ty }), true)
    }

    /// A NOT NULL attribute column.
    pub fn required_attr(self, name: &str, ty: AttrType) -> Self {
        self.add(name, ColumnKind::Attr(AttrColumn { ty }), false)
    }

    pub fn build(self) -> Result<Schema> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.schema),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_and_bad_dimensions_are_rejected() {
        let dup = Schema::builder()
            .vector("v", 3, Metric::L2)
            .attr("v", AttrType::Text)
            .build();
        assert!(matches!(dup, Err(Error::DuplicateColumn { .. })));
        let zero = Schema::builder().vector("v", 0, Metric::L2).build();
        assert!(matches!(zero, Err(Error::InvalidArgument(_))));
        let huge = Schema::builder()
            .vector("v", MAX_DIM + 1, Metric::L2)
            .build();
        assert!(matches!(huge, Err(Error::InvalidArgument(_))));
        let reserved = Schema::builder().attr("id", AttrType::Text).build();
        assert!(matches!(reserved, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn dropped_and_readded_column_gets_a_new_id() {
        let s = Schema::builder()
            .vector("v", 4096, Metric::Cosine)
            .build()
            .unwrap();
        let old = s.column("v").unwrap().1.id;
        let s = s.without_column("v").unwrap();
        let s = s
            .with_column(
                "v",
                ColumnKind::Attr(AttrColumn { ty: AttrType::Int }),
                true,
            )
            .unwrap();
        assert_ne!(s.column("v").unwrap().1.id, old);
        s.check().unwrap();
    }
}
