//! Values a user writes and reads, and the [`Item`] a write carries.

use serde::{Deserialize, Serialize};

use crate::multi::MultiVector;
use crate::sparse::SparseVector;

/// One cell: a scalar attribute, a vector, or null.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Tags(Vec<String>),
    Vector(Vec<f32>),
    /// A multi-vector column's value (`VECTOR(d)[]`); serialized as an array of arrays.
    Vectors(MultiVector),
    /// A `SPARSE` column's value; serialized as `{"indices": [...], "values": [...]}`.
    Sparse(SparseVector),
}

impl Value {
    /// Short type name for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "BOOL",
            Value::Int(_) => "INT",
            Value::Float(_) => "FLOAT",
            Value::Text(_) => "TEXT",
            Value::Tags(_) => "TEXT[]",
            Value::Vector(_) => "VECTOR",
            Value::Vectors(_) => "VECTOR[]",
            Value::Sparse(_) => "SPARSE",
        }
    }

    /// The text, if this is a TEXT value.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// SQL-ish rendering: `NULL`, `true`, `42`, `1.5`, `'text'`, `['a', 'b']`, `[0.1, 0.2]`,
/// `[[0.1, 0.2], [0.3, 0.4]]`, `{12: 0.5}`.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Tags(tags) => {
                let quoted: Vec<String> = tags
                    .iter()
                    .map(|t| Value::Text(t.clone()).to_string())
                    .collect();
                write!(f, "[{}]", quoted.join(", "))
            }
            Value::Vector(v) => {
                let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Value::Vectors(v) => write!(f, "{v}"),
            Value::Sparse(v) => write!(f, "{v}"),
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::Tags(v)
    }
}
impl From<Vec<f32>> for Value {
    fn from(v: Vec<f32>) -> Self {
        Value::Vector(v)
    }
}
impl From<&[f32]> for Value {
    fn from(v: &[f32]) -> Self {
        Value::Vector(v.to_vec())
    }
}
impl From<MultiVector> for Value {
    fn from(v: MultiVector) -> Self {
        Value::Vectors(v)
    }
}
impl From<SparseVector> for Value {
    fn from(v: SparseVector) -> Self {
        Value::Sparse(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// What a write carries: the user's id and some named values. Columns left out are
/// NULL on insert/upsert and unchanged on update.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Item {
    pub id: String,
    pub values: Vec<(String, Value)>,
}

impl Item {
    pub fn new(id: impl Into<String>) -> Self {
        Item {
            id: id.into(),
            values: Vec::new(),
        }
    }

    /// Sets a column's value (builder style), replacing an earlier value of that column.
    pub fn set(mut self, column: impl Into<String>, value: impl Into<Value>) -> Self {
        let (column, value) = (column.into(), value.into());
        match self.values.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => self.values.push((column, value)),
        }
        self
    }
}
