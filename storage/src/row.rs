//! A [`Row`] is an [`Item`] checked against a schema: one cell per column, in schema
//! order, every vector of the right dimension and finite, every NOT NULL column filled.
//! Rows are what the WAL logs and what segments store.

use crate::codec::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::ids::{ColumnId, ItemId};
use crate::multi::MultiVector;
use crate::schema::{AttrType, Column, ColumnKind, DType, Schema};
use crate::sparse::{SparseCell, SparseVector};
use crate::value::{Item, Value};

/// A validated item: `cells[i]` belongs to `schema.columns()[i]`.
#[derive(Clone, PartialEq, Debug)]
pub struct Row {
    pub id: ItemId,
    pub cells: Vec<Value>,
}

impl Row {
    /// Validates a full item (insert/upsert): columns left out become NULL.
    pub fn from_item(schema: &Schema, item: &Item) -> Result<Row> {
        let id = ItemId::new(item.id.clone())?;
        let cells = vec![Value::Null; schema.columns().len()];
        Row { id, cells }.patched(schema, item)
    }

    /// A copy of this row with the item's values written over it (update). The item's
    /// id must equal the row's.
    pub fn patched(mut self, schema: &Schema, item: &Item) -> Result<Row> {
        let mut seen = vec![false; self.cells.len()];
        for (name, value) in &item.values {
            let (pos, column) = schema.column(name)?;
            if std::mem::replace(&mut seen[pos], true) {
                return Err(Error::DuplicateColumn {
                    column: name.clone(),
                });
            }
            self.cells[pos] = coerce(column, value.clone()).map_err(|e| match e {
                Error::BadElement {
                    column,
                    element,
                    reason,
                    ..
                } => Error::BadElement {
                    column,
                    id: item.id.clone(),
                    element,
                    reason,
                },
                Error::MissingValue { column, .. } => Error::MissingValue {
                    column,
                    id: item.id.clone(),
                },
                e => e,
            })?;
        }
        for (column, cell) in schema.columns().iter().zip(&self.cells) {
            if cell.is_null() && !column.nullable {
                return Err(Error::MissingValue {
                    column: column.name.clone(),
                    id: item.id.clone(),
                });
            }
        }
        Ok(self)
    }

    /// Approximate heap footprint, for memtable sizing.
    pub fn mem_size(&self) -> usize {
        let cells: usize = self
            .cells
            .iter()
            .map(|c| match c {
                Value::Text(s) => s.len(),
                Value::Tags(t) => t.iter().map(|s| s.len() + 24).sum(),
                Value::Vector(v) => v.len() * 4,
                Value::Vectors(v) => v.as_flat().len() * 4,
                Value::Sparse(v) => v.len() * 8,
                _ => 0,
            } + std::mem::size_of::<Value>())
            .sum();
        cells + self.id.as_str().len() + 64
    }

    /// Appends the WAL form: id, then (column id, value) for each non-null cell.
    pub fn encode(&self, schema: &Schema, w: &mut ByteWriter) {
        w.str(self.id.as_str());
        let present = self.cells.iter().filter(|c| !c.is_null()).count();
        w.u32(present as u32);
        for (column, cell) in schema.columns().iter().zip(&self.cells) {
            if !cell.is_null() {
                w.u32(column.id.0);
                encode_value(cell, w);
            }
        }
    }

    /// Reads the WAL form back, re-validating every cell against the schema.
    pub fn decode(schema: &Schema, r: &mut ByteReader<'_>) -> Result<Row> {
        let id = r.str()?;
        let id = ItemId::new(id).map_err(|e| r.error(e.to_string()))?;
        let mut cells = vec![Value::Null; schema.columns().len()];
        let present = r.u32()?;
        for _ in 0..present {
            let column_id = ColumnId(r.u32()?);
            let pos = schema
                .position_of(column_id)
                .ok_or_else(|| r.error(format!("unknown column id {column_id}")))?;
            let value = decode_value(r)?;
            let column = &schema.columns()[pos];
            cells[pos] = coerce(column, value).map_err(|e| r.error(e.to_string()))?;
        }
        for (column, cell) in schema.columns().iter().zip(&cells) {
            if cell.is_null() && !column.nullable {
                return Err(r.error(format!("NOT NULL column {} is missing", column.name)));
            }
        }
        Ok(Row { id, cells })
    }
}

/// Checks a value against a column, converting where the conversion is lossless in
/// meaning (an INT written to a FLOAT column).
pub fn coerce(column: &Column, value: Value) -> Result<Value> {
    let mismatch = |value: &Value| Error::TypeMismatch {
        column: column.name.clone(),
        expected: column.type_name(),
        got: value.type_name().to_string(),
    };
    match (&column.kind, value) {
        (_, Value::Null) if column.nullable => Ok(Value::Null),
        (_, Value::Null) => Err(Error::MissingValue {
            column: column.name.clone(),
            id: String::new(),
        }),
        (ColumnKind::Vector(v), Value::Vector(mut x)) => {
            check_vector(&column.name, v.dim as usize, &x)?;
            round_to(&column.name, v.dtype, &mut x)?;
            Ok(Value::Vector(x))
        }
        (ColumnKind::MultiVector(v), Value::Vectors(x)) => {
            if x.is_empty() {
                return coerce(column, Value::Null);
            }
            check_multi(&column.name, v.dim as usize, &x)?;
            Ok(Value::Vectors(x))
        }
        // `[]` has no element to tell a list of vectors from a list of tags or numbers.
        (ColumnKind::MultiVector(_), Value::Tags(x)) if x.is_empty() => coerce(column, Value::Null),
        (ColumnKind::MultiVector(_), Value::Vector(x)) if x.is_empty() => {
            coerce(column, Value::Null)
        }
        (ColumnKind::Attr(a), value) => match (a.ty, value) {
            (AttrType::Text, v @ Value::Text(_))
            | (AttrType::Int, v @ Value::Int(_))
            | (AttrType::Bool, v @ Value::Bool(_))
            | (AttrType::Tags, v @ Value::Tags(_))
            | (AttrType::Sparse, v @ Value::Sparse(_)) => Ok(v),
            (AttrType::Float, Value::Float(f)) if f.is_finite() => Ok(Value::Float(f)),
            (AttrType::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
            (AttrType::Float, Value::Float(f)) => Err(Error::InvalidArgument(format!(
                "column {}: {f} is not a finite number",
                column.name
            ))),
            (_, v) => Err(mismatch(&v)),
        },
        (ColumnKind::Vector(_) | ColumnKind::MultiVector(_), v) => Err(mismatch(&v)),
    }
}

/// Every vector of a multi-vector value for column `column` must have `dim` finite
/// components; the error names the first vector that does not.
pub fn check_multi(column: &str, dim: usize, x: &MultiVector) -> Result<()> {
    for (element, v) in x.vectors().enumerate() {
        check_vector(column, dim, v).map_err(|e| Error::BadElement {
            column: column.to_string(),
            id: String::new(),
            element,
            reason: match e {
                Error::DimensionMismatch { expected, got, .. } => {
                    format!("{got} values, the column's dimension is {expected}")
                }
                Error::NonFiniteVector { index, value, .. } => {
                    format!("component {index} is {value}, only finite values are stored")
                }
                e => e.to_string(),
            },
        })?;
    }
    Ok(())
}

/// Rounds a checked vector to the column's element type, as it will be stored;
/// `OutOfRange` for a component the type cannot hold.
pub fn round_to(column: &str, dtype: DType, x: &mut [f32]) -> Result<()> {
    dtype.round(x).map_err(|(index, value)| Error::OutOfRange {
        column: column.to_string(),
        index,
        value,
        dtype: dtype.sql_name(),
        max: dtype.max_value(),
    })
}

/// A vector for column `column` must have `dim` finite components.
pub fn check_vector(column: &str, dim: usize, x: &[f32]) -> Result<()> {
    if x.len() != dim {
        return Err(Error::DimensionMismatch {
            column: column.to_string(),
            expected: dim,
            got: x.len(),
        });
    }
    if let Some((index, value)) = x.iter().enumerate().find(|(_, c)| !c.is_finite()) {
        return Err(Error::NonFiniteVector {
            column: column.to_string(),
            index,
            value: *value,
        });
    }
    Ok(())
}

const TAG_NULL: u8 = 0;
const TAG_BOOL: u8 = 1;
const TAG_INT: u8 = 2;
const TAG_FLOAT: u8 = 3;
const TAG_TEXT: u8 = 4;
const TAG_TAGS: u8 = 5;
const TAG_VECTOR: u8 = 6;
const TAG_SPARSE: u8 = 7;
const TAG_VECTORS: u8 = 8;

/// Self-describing value encoding: a tag byte, then the payload.
pub fn encode_value(value: &Value, w: &mut ByteWriter) {
    match value {
        Value::Null => w.u8(TAG_NULL),
        Value::Bool(b) => {
            w.u8(TAG_BOOL);
            w.u8(*b as u8);
        }
        Value::Int(i) => {
            w.u8(TAG_INT);
            w.i64(*i);
        }
        Value::Float(f) => {
            w.u8(TAG_FLOAT);
            w.f64(*f);
        }
        Value::Text(s) => {
            w.u8(TAG_TEXT);
            w.str(s);
        }
        Value::Tags(tags) => {
            w.u8(TAG_TAGS);
            w.u32(tags.len() as u32);
            for t in tags {
                w.str(t);
            }
        }
        Value::Vector(v) => {
            w.u8(TAG_VECTOR);
            w.u32(v.len() as u32);
            w.f32s(v);
        }
        Value::Vectors(v) => {
            w.u8(TAG_VECTORS);
            w.u32(v.len() as u32);
            w.u32(v.dim() as u32);
            w.f32s(v.as_flat());
        }
        Value::Sparse(v) => {
            w.u8(TAG_SPARSE);
            w.u32(v.len() as u32);
            for &i in v.indices() {
                w.u32(i);
            }
            w.f32s(v.values());
        }
    }
}

/// Reads a value written by [`encode_value`].
pub fn decode_value(r: &mut ByteReader<'_>) -> Result<Value> {
    Ok(match r.u8()? {
        TAG_NULL => Value::Null,
        TAG_BOOL => match r.u8()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(r.error(format!("bool byte {b}"))),
        },
        TAG_INT => Value::Int(r.i64()?),
        TAG_FLOAT => Value::Float(r.f64()?),
        TAG_TEXT => Value::Text(r.str()?.to_string()),
        TAG_TAGS => {
            let n = r.u32()? as usize;
            // Each tag needs at least its 4-byte length: bound the allocation by the input.
            if n > r.remaining() / 4 {
                return Err(r.error(format!("{n} tags cannot fit in the record")));
            }
            let mut tags = Vec::with_capacity(n);
            for _ in 0..n {
                tags.push(r.str()?.to_string());
            }
            Value::Tags(tags)
        }
        TAG_VECTOR => {
            let n = r.u32()? as usize;
            Value::Vector(r.f32s(n)?)
        }
        TAG_SPARSE => {
            let n = r.u32()? as usize;
            // 8 bytes an entry: bound the allocation by the input.
            if n > r.remaining() / 8 {
                return Err(r.error(format!("{n} sparse entries cannot fit in the record")));
            }
            let indices = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
            let values = r.f32s(n)?;
            Value::Sparse(SparseVector::new(indices, values).map_err(|e| r.error(e.to_string()))?)
        }
        TAG_VECTORS => {
            let (n, dim) = (r.u32()? as usize, r.u32()? as usize);
            let floats = n
                .checked_mul(dim)
                .filter(|&f| f <= r.remaining() / 4)
                .ok_or_else(|| r.error(format!("{n} vectors of {dim} cannot fit in the record")))?;
            let flat = r.f32s(floats)?;
            let value = MultiVector::from_flat(dim, flat)
                .filter(|m| m.len() == n)
                .ok_or_else(|| {
                    r.error(format!(
                        "{n} vectors of dimension {dim} are not a valid list"
                    ))
                })?;
            Value::Vectors(value)
        }
        tag => return Err(r.error(format!("unknown value tag {tag}"))),
    })
}

/// A SPARSE cell's encoded bytes ([`encode_value`]) read in place; `None` when they are
/// not a valid sparse value.
pub fn sparse_cell(encoded: &[u8]) -> Option<SparseCell<'_>> {
    let (&tag, rest) = encoded.split_first()?;
    if tag != TAG_SPARSE || rest.len() < 4 {
        return None;
    }
    let (count, payload) = rest.split_at(4);
    let n = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
    SparseCell::parse(n, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Metric;
    use std::path::Path;

    fn schema() -> Schema {
        Schema::builder()
            .vector("v", 3, Metric::L2)
            .nullable_vector("img", 2, Metric::Cosine)
            .attr("title", AttrType::Text)
            .attr("price", AttrType::Float)
            .attr("tags", AttrType::Tags)
            .attr("terms", AttrType::Sparse)
            .multi_vector("frames", 2, Metric::Cosine, true)
            .build()
            .unwrap()
    }

    #[test]
    fn bad_items_give_typed_errors() {
        let s = schema();
        let ok = Item::new("a").set("v", vec![1.0, 2.0, 3.0]);
        assert!(Row::from_item(&s, &ok).is_ok());
        type Check = fn(&Error) -> bool;
        let cases: Vec<(Item, Check)> = vec![
            (Item::new("a").set("v", vec![1.0, 2.0]), |e| {
                matches!(
                    e,
                    Error::DimensionMismatch {
                        expected: 3,
                        got: 2,
                        ..
                    }
                )
            }),
            (Item::new("a").set("v", vec![1.0, f32::NAN, 3.0]), |e| {
                matches!(e, Error::NonFiniteVector { index: 1, .. })
            }),
            (
                Item::new("a").set("v", vec![1.0, 2.0, f32::INFINITY]),
                |e| matches!(e, Error::NonFiniteVector { index: 2, .. }),
            ),
            (Item::new("a").set("nope", 1), |e| {
                matches!(e, Error::UnknownColumn { .. })
            }),
            (Item::new("a").set("title", "x"), |e| {
                matches!(e, Error::MissingValue { .. })
            }),
            (Item::new("a").set("v", vec![0.0; 3]).set("title", 5), |e| {
                matches!(e, Error::TypeMismatch { .. })
            }),
            (
                Item {
                    id: "a".into(),
                    values: vec![
                        ("v".into(), vec![0.0; 3].into()),
                        ("v".into(), vec![0.0; 3].into()),
                    ],
                },
                |e| matches!(e, Error::DuplicateColumn { .. }),
            ),
            (Item::new("").set("v", vec![0.0; 3]), |e| {
                matches!(e, Error::InvalidId { .. })
            }),
        ];
        for (item, expected) in cases {
            let err = Row::from_item(&s, &item).unwrap_err();
            assert!(expected(&err), "{item:?} gave {err:?}");
        }
    }

    #[test]
    fn wal_form_round_trips_and_int_coerces_to_float() {
        let s = schema();
        let item = Item::new("p1")
            .set("v", vec![1.0, -2.0, 3.5])
            .set("title", "red shoe")
            .set("price", 59)
            .set("tags", vec!["a".to_string(), "b".to_string()])
            .set(
                "terms",
                SparseVector::new(vec![7, 3], vec![0.5, 2.0]).unwrap(),
            )
            .set(
                "frames",
                MultiVector::new(vec![vec![1.0, 2.0], vec![-3.0, 0.5]]).unwrap(),
            );
        let row = Row::from_item(&s, &item).unwrap();
        assert_eq!(row.cells[3], Value::Float(59.0));
        let mut w = ByteWriter::default();
        row.encode(&s, &mut w);
        let mut r = ByteReader::new(&w.buf, Path::new("wal"), 0);
        assert_eq!(Row::decode(&s, &mut r).unwrap(), row);
        assert!(r.is_done());
    }

    #[test]
    fn a_sparse_cell_breaking_the_invariants_is_refused_on_decode() {
        // Tag, 2 entries, indices 5 and 5 (a duplicate), weights 1 and 1.
        let mut w = ByteWriter::default();
        w.u8(TAG_SPARSE);
        w.u32(2);
        w.u32(5);
        w.u32(5);
        w.f32s(&[1.0, 1.0]);
        let err = decode_value(&mut ByteReader::new(&w.buf, Path::new("seg"), 0)).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
        // A length far beyond the record.
        let mut w = ByteWriter::default();
        w.u8(TAG_SPARSE);
        w.u32(u32::MAX);
        let err = decode_value(&mut ByteReader::new(&w.buf, Path::new("seg"), 0)).unwrap_err();
        assert!(err.to_string().contains("cannot fit"), "{err}");
        // A sparse value for a TEXT column is a type mismatch.
        let s = schema();
        let item = Item::new("a")
            .set("v", vec![0.0; 3])
            .set("title", SparseVector::default());
        let err = Row::from_item(&s, &item).unwrap_err();
        assert!(matches!(err, Error::TypeMismatch { .. }), "{err:?}");
    }

    #[test]
    fn multi_vector_cells_are_checked_per_element() {
        let s = schema();
        let base = || Item::new("clip").set("v", vec![0.0; 3]);
        let two = |a: Vec<f32>, b: Vec<f32>| MultiVector::new(vec![a, b]).unwrap();
        let err = Row::from_item(
            &s,
            &base().set("frames", two(vec![1.0, 2.0], vec![1.0, f32::NAN])),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::BadElement { element: 1, id, .. } if id == "clip"),
            "{err:?}"
        );
        let err = Row::from_item(
            &s,
            &base().set("frames", two(vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0])),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::BadElement { element: 0, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("3 values, the column's dimension is 2"),
            "{err}"
        );
        // An empty list is NULL; a single vector is not a list.
        let empty = Row::from_item(&s, &base().set("frames", MultiVector::default())).unwrap();
        assert!(empty.cells[6].is_null());
        let err = Row::from_item(&s, &base().set("frames", vec![1.0, 2.0])).unwrap_err();
        assert!(matches!(err, Error::TypeMismatch { .. }), "{err:?}");
        // A NOT NULL multi-vector column refuses the empty list, naming the item.
        let strict = Schema::builder()
            .multi_vector("frames", 2, Metric::L2, false)
            .build()
            .unwrap();
        let err = Row::from_item(
            &strict,
            &Item::new("x").set("frames", MultiVector::default()),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::MissingValue { id, .. } if id == "x"),
            "{err:?}"
        );
        // A record claiming more vectors than it holds.
        let mut w = ByteWriter::default();
        w.u8(TAG_VECTORS);
        w.u32(u32::MAX);
        w.u32(u32::MAX);
        let err = decode_value(&mut ByteReader::new(&w.buf, Path::new("wal"), 0)).unwrap_err();
        assert!(err.to_string().contains("cannot fit"), "{err}");
    }
}
