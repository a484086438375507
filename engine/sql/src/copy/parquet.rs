//! Parquet in and out (arrow-rs). A file holds one row per item: an `id` text column
//! plus columns named like the collection's.
//!
//! Types written: TEXT → Utf8, INT → Int64, FLOAT → Float64, BOOL → Boolean,
//! TEXT[] → List<Utf8>, VECTOR(d) → FixedSizeList<Float32, d>, SPARSE →
//! Struct<indices: List<UInt32>, values: List<Float32>>; NULL stays NULL.
//! Types read (what pandas, pyarrow and polars write): any string type for TEXT, any
//! integer type for INT, floats or integers for FLOAT, lists (fixed-size or not) of
//! float32 or float64 for vectors, lists of strings for tags, a struct of `indices`
//! (any integer list) and `values` (float list) for sparse vectors.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, FixedSizeListBuilder, Float32Builder, Float64Builder, Int64Builder,
    ListBuilder, StringBuilder, UInt32Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use quiver_index::Progress;
use quiver_storage::{
    AttrType, Column, ColumnKind, Error, Item, MultiVector, Result, SparseVector, Value,
};

use quiver::Collection;
use quiver::CollectionSnapshot;
use quiver::WriteBatch;

use super::bad;

/// Rows per record batch, both ways.
const BATCH_ROWS: usize = 8192;

/// Loads every row of a Parquet file as an item; returns how many.
pub(super) fn items_from_parquet(
    c: &Collection,
    path: &Path,
    progress: &Progress,
) -> Result<usize> {
    let schema = c.schema()?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let not_parquet = |e: parquet::errors::ParquetError| bad(path, e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)?;
    let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(not_parquet)?;
    progress.begin("reading rows", total);
    let mut batch = WriteBatch::new();
    let mut n = 0;
    for record in reader {
        let record = record.map_err(|e| bad(path, e.to_string()))?;
        let ids = record
            .column_by_name("id")
            .ok_or_else(|| bad(path, "no \"id\" column".into()))?;
        let ids = strings(ids.as_ref(), "id")?;
        let mut items: Vec<Item> = Vec::with_capacity(ids.len());
        for (row, id) in ids.into_iter().enumerate() {
            let id = id.ok_or_else(|| bad(path, format!("row {}: NULL id", n + row + 1)))?;
            items.push(Item::new(id));
        }
        for (field, array) in record.schema().fields().iter().zip(record.columns()) {
            if field.name() == "id" {
                continue;
            }
            let (_, column) = schema.column(field.name())?;
            // Typed errors (TypeMismatch names the column) pass through unwrapped.
            let values = column_values(array.as_ref(), column)?;
            for (item, value) in items.iter_mut().zip(values) {
                if !value.is_null() {
                    *item = std::mem::take(item).set(field.name(), value);
                }
            }
        }
        n += items.len();
        progress.advance(items.len() as u64);
        items.into_iter().for_each(|item| {
            batch.insert(item);
        });
    }
    progress.begin(format!("committing {n} items"), 0);
    c.commit(batch)?;
    Ok(n)
}

/// Writes every item of `snap` as Parquet (snappy-compressed); returns how many.
pub(super) fn items_to_parquet(
    snap: &CollectionSnapshot,
    out: impl Write + Send,
    progress: &Progress,
) -> Result<usize> {
    let columns = snap.schema().columns();
    let failed =
        |e: parquet::errors::ParquetError| Error::InvalidArgument(format!("Parquet export: {e}"));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Some(out);
    let mut writer = None;
    let mut items = snap.scan().peekable();
    let mut n = 0;
    // An empty collection still writes a file with the schema (one empty batch).
    let mut first = true;
    while first || items.peek().is_some() {
        first = false;
        let chunk: Vec<_> = items.by_ref().take(BATCH_ROWS).collect();
        let mut arrays: Vec<(Field, ArrayRef)> = Vec::with_capacity(columns.len() + 1);
        let mut ids = StringBuilder::new();
        for item in &chunk {
            ids.append_value(item.id()?);
        }
        arrays.push((
            Field::new("id", DataType::Utf8, false),
            Arc::new(ids.finish()),
        ));
        for column in columns {
            let values = chunk
                .iter()
                .map(|item| item.value(&column.name))
                .collect::<Result<Vec<_>>>()?;
            let array = column_array(column, values);
            let field = Field::new(
                column.name.clone(),
                array.data_type().clone(),
                column.nullable,
            );
            arrays.push((field, array));
        }
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = arrays.into_iter().unzip();
        let record = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), arrays)
            .map_err(|e| Error::InvalidArgument(format!("Parquet export: {e}")))?;
        if let Some(out) = out.take() {
            writer = Some(
                ArrowWriter::try_new(out, record.schema(), Some(props.clone())).map_err(failed)?,
            );
        }
        if let Some(w) = writer.as_mut() {
            w.write(&record).map_err(failed)?;
        }
        n += chunk.len();
        progress.advance(chunk.len() as u64);
    }
    if let Some(w) = writer {
        w.close().map_err(failed)?;
    }
    Ok(n)
}

/// A scalar column: each value of the variant appended, anything else as NULL.
macro_rules! scalars {
    ($builder:expr, $values:expr, $variant:path) => {{
        let mut b = $builder;
        for value in $values {
            match value {
                $variant(x) => b.append_value(x),
                _ => b.append_null(),
            }
        }
        Arc::new(b.finish())
    }};
}

/// One column's values for a chunk of items, as an Arrow array.
fn column_array(column: &Column, values: Vec<Value>) -> ArrayRef {
    match &column.kind {
        ColumnKind::Vector(v) => {
            let mut b = FixedSizeListBuilder::new(Float32Builder::new(), v.dim as i32);
            for value in values {
                match value {
                    Value::Vector(x) => {
                        b.values().append_slice(&x);
                        b.append(true);
                    }
                    _ => {
                        b.values().append_nulls(v.dim as usize);
                        b.append(false);
                    }
                }
            }
            Arc::new(b.finish())
        }
        ColumnKind::MultiVector(v) => {
            let each = FixedSizeListBuilder::new(Float32Builder::new(), v.dim as i32);
            let mut b = ListBuilder::new(each);
            for value in values {
                match value {
                    Value::Vectors(list) => {
                        for x in list.vectors() {
                            b.values().values().append_slice(x);
                            b.values().append(true);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
        ColumnKind::Attr(a) => match a.ty {
            AttrType::Text => scalars!(StringBuilder::new(), values, Value::Text),
            AttrType::Int => scalars!(Int64Builder::new(), values, Value::Int),
            AttrType::Float => scalars!(Float64Builder::new(), values, Value::Float),
            AttrType::Bool => scalars!(BooleanBuilder::new(), values, Value::Bool),
            AttrType::Tags => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for x in &values {
                    match x {
                        Value::Tags(tags) => {
                            tags.iter().for_each(|t| b.values().append_value(t));
                            b.append(true);
                        }
                        _ => b.append(false),
                    }
                }
                Arc::new(b.finish())
            }
            AttrType::Sparse => sparse_array(&values),
        },
    }
}

/// SPARSE values as `Struct<indices: List<UInt32>, values: List<Float32>>`.
fn sparse_array(values: &[Value]) -> ArrayRef {
    let mut indices = ListBuilder::new(UInt32Builder::new());
    let mut weights = ListBuilder::new(Float32Builder::new());
    let mut valid = Vec::with_capacity(values.len());
    for x in values {
        let v = match x {
            Value::Sparse(v) => Some(v),
            _ => None,
        };
        if let Some(v) = v {
            indices.values().append_slice(v.indices());
            weights.values().append_slice(v.values());
        }
        indices.append(v.is_some());
        weights.append(v.is_some());
        valid.push(v.is_some());
    }
    let (indices, weights): (ArrayRef, ArrayRef) =
        (Arc::new(indices.finish()), Arc::new(weights.finish()));
    let fields = vec![
        Field::new("indices", indices.data_type().clone(), true),
        Field::new("values", weights.data_type().clone(), true),
    ];
    Arc::new(StructArray::new(
        fields.into(),
        vec![indices, weights],
        Some(NullBuffer::from(valid)),
    ))
}

/// Each row's sparse vector of a struct column with `indices` and `values` lists;
/// `None` if not such a column.
fn sparse_vectors(array: &dyn Array, column: &str) -> Option<Result<Vec<Value>>> {
    let s = array.as_struct_opt()?;
    let indices = lists(s.column_by_name("indices")?.as_ref())?;
    let weights = lists(s.column_by_name("values")?.as_ref())?;
    let row = |i: usize| -> Result<Value> {
        let (Some(ix), Some(ws)) = (&indices[i], &weights[i]) else {
            return Ok(Value::Null);
        };
        if s.is_null(i) {
            return Ok(Value::Null);
        }
        let bad = |what: &str| Error::InvalidArgument(format!("{column}: row {}: {what}", i + 1));
        let ix = integers(ix.as_ref()).ok_or_else(|| bad("sparse indices must be integers"))??;
        let ws = floats64(ws.as_ref()).ok_or_else(|| bad("sparse values must be floats"))?;
        let pairs = ix
            .into_iter()
            .zip(ws)
            .map(|p| match p {
                (Some(i), Some(w)) => Ok((i, w)),
                _ => Err(bad("a NULL inside a sparse vector")),
            })
            .collect::<Result<Vec<_>>>()?;
        if pairs.len() != ix_len(&indices[i]) || pairs.len() != ix_len(&weights[i]) {
            return Err(bad("as many indices as values"));
        }
        SparseVector::from_pairs(pairs)
            .map(Value::Sparse)
            .map_err(|e| bad(&e.to_string()))
    };
    Some((0..s.len()).map(row).collect())
}

fn ix_len(list: &Option<ArrayRef>) -> usize {
    list.as_ref().map_or(0, |a| a.len())
}

/// A column of a record batch as values of `column`'s type (NULL where null).
fn column_values(array: &dyn Array, column: &Column) -> Result<Vec<Value>> {
    let name = column.name.as_str();
    let mismatch = || Error::TypeMismatch {
        column: name.to_string(),
        expected: column.type_name(),
        got: format!("Parquet {}", array.data_type()),
    };
    Ok(match &column.kind {
        ColumnKind::Vector(_) => vectors(array)
            .ok_or_else(mismatch)??
            .into_iter()
            .map(|v| v.map_or(Value::Null, Value::Vector))
            .collect(),
        ColumnKind::MultiVector(_) => lists(array)
            .ok_or_else(mismatch)?
            .into_iter()
            .map(|list| {
                let Some(child) = list else {
                    return Ok(Value::Null);
                };
                let vectors = vectors(child.as_ref()).ok_or_else(mismatch)??;
                let vectors = vectors
                    .into_iter()
                    .enumerate()
                    .map(|(j, v)| {
                        v.ok_or_else(|| {
                            Error::InvalidArgument(format!("{name}: vector {j} of a list is NULL"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                MultiVector::new(vectors)
                    .map(Value::Vectors)
                    .map_err(|e| Error::InvalidArgument(format!("{name}: {e}")))
            })
            .collect::<Result<_>>()?,
        ColumnKind::Attr(a) => match a.ty {
            AttrType::Text => wrap(strings(array, name)?, |s| Value::Text(s.to_string())),
            AttrType::Int => wrap(integers(array).ok_or_else(mismatch)??, Value::Int),
            AttrType::Float => {
                let floats = match floats64(array) {
                    Some(f) => f,
                    None => integers(array)
                        .ok_or_else(mismatch)??
                        .into_iter()
                        .map(|i| i.map(|i| i as f64))
                        .collect(),
                };
                wrap(floats, Value::Float)
            }
            AttrType::Bool => {
                let b = array.as_boolean_opt().ok_or_else(mismatch)?;
                (0..b.len())
                    .map(|i| match b.is_null(i) {
                        true => Value::Null,
                        false => Value::Bool(b.value(i)),
                    })
                    .collect()
            }
            AttrType::Tags => lists(array)
                .ok_or_else(mismatch)?
                .into_iter()
                .map(|list| match list {
                    None => Ok(Value::Null),
                    Some(child) => Ok(Value::Tags(
                        strings(child.as_ref(), name)?
                            .into_iter()
                            .map(|t| t.unwrap_or_default().to_string())
                            .collect(),
                    )),
                })
                .collect::<Result<_>>()?,
            AttrType::Sparse => sparse_vectors(array, name).ok_or_else(mismatch)??,
        },
    })
}

fn wrap<T>(values: Vec<Option<T>>, f: impl Fn(T) -> Value) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| v.map_or(Value::Null, &f))
        .collect()
}

/// Text of any Arrow string type.
fn strings<'a>(array: &'a dyn Array, column: &str) -> Result<Vec<Option<&'a str>>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Ok(a.iter().collect());
    }
    if let Some(a) = array.as_string_opt::<i64>() {
        return Ok(a.iter().collect());
    }
    if let Some(a) = array.as_string_view_opt() {
        return Ok(a.iter().collect());
    }
    Err(Error::TypeMismatch {
        column: column.to_string(),
        expected: "TEXT".into(),
        got: format!("Parquet {}", array.data_type()),
    })
}

fn primitive<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Option<T::Native>>> {
    Some(array.as_primitive_opt::<T>()?.iter().collect())
}

/// Any integer type as i64; `Some(Err)` for an unsigned value past `i64::MAX`.
fn integers(array: &dyn Array) -> Option<Result<Vec<Option<i64>>>> {
    fn widen<T>(array: &dyn Array) -> Option<Result<Vec<Option<i64>>>>
    where
        T: ArrowPrimitiveType,
        T::Native: TryInto<i64>,
    {
        let values = primitive::<T>(array)?;
        Some(
            values
                .into_iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(v) => v.try_into().map(Some).map_err(|_| {
                        Error::InvalidArgument("an unsigned value past the INT range".into())
                    }),
                })
                .collect(),
        )
    }
    widen::<Int64Type>(array)
        .or_else(|| widen::<Int32Type>(array))
        .or_else(|| widen::<Int16Type>(array))
        .or_else(|| widen::<Int8Type>(array))
        .or_else(|| widen::<UInt64Type>(array))
        .or_else(|| widen::<UInt32Type>(array))
        .or_else(|| widen::<UInt16Type>(array))
        .or_else(|| widen::<UInt8Type>(array))
}

fn floats64(array: &dyn Array) -> Option<Vec<Option<f64>>> {
    primitive::<Float64Type>(array).or_else(|| {
        primitive::<Float32Type>(array).map(|v| v.into_iter().map(|x| x.map(f64::from)).collect())
    })
}

/// Each row's child array of a list column (any list type); `None` if not a list.
fn lists(array: &dyn Array) -> Option<Vec<Option<ArrayRef>>> {
    let rows = |is_null: &dyn Fn(usize) -> bool, value: &dyn Fn(usize) -> ArrayRef| {
        (0..array.len())
            .map(|i| (!is_null(i)).then(|| value(i)))
            .collect()
    };
    if let Some(a) = array.as_list_opt::<i32>() {
        return Some(rows(&|i| a.is_null(i), &|i| a.value(i)));
    }
    if let Some(a) = array.as_list_opt::<i64>() {
        return Some(rows(&|i| a.is_null(i), &|i| a.value(i)));
    }
    let a = array.as_fixed_size_list_opt()?;
    Some(rows(&|i| a.is_null(i), &|i| a.value(i)))
}

/// Each row's vector of a list-of-floats column; `None` if not such a column,
/// `Some(Err)` for a NULL inside a vector.
fn vectors(array: &dyn Array) -> Option<Result<Vec<Option<Vec<f32>>>>> {
    let rows = lists(array)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(child) = row else {
            out.push(None);
            continue;
        };
        if child.null_count() > 0 {
            return Some(Err(Error::InvalidArgument(
                "a vector holds a NULL component".into(),
            )));
        }
        let values: Vec<f32> = if let Some(f) = child.as_primitive_opt::<Float32Type>() {
            f.values().to_vec()
        } else if let Some(f) = child.as_primitive_opt::<Float64Type>() {
            f.values().iter().map(|&x| x as f32).collect()
        } else {
            return None;
        };
        out.push(Some(values));
    }
    Some(Ok(out))
}
