//! Values between Python and the engine. Out: TEXT -> str, INT -> int, FLOAT -> float,
//! BOOL -> bool, TEXT[] -> list[str], VECTOR -> float32 numpy array, VECTOR[] ->
//! `(n, d)` float32 numpy array, SPARSE -> dict[int, float], NULL -> None. In: the column's declared type decides, so `[1, 2]`
//! is a vector for a VECTOR column and an error for a TEXT[] one; a SPARSE value is a
//! `{index: weight}` dict or a one-row scipy.sparse matrix or array; a Python value that does not fit raises `TypeMismatchError`
//! naming the column (never a panic).

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use quiver::MAX_MULTI_VECTORS;
use quiver::{
    AttrType, Column, ColumnKind, Error, Item, MultiVector, Schema, SparseVector, Target, Value,
};

use crate::arrays::{Rows, matrix_out, read_vector, vector_out};
use crate::errors::to_py;

/// A Python object for an engine value.
pub fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => f.into_pyobject(py)?.into_any(),
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Tags(tags) => PyList::new(py, tags)?.into_any(),
        Value::Vector(v) => vector_out(py, v.clone()).into_any(),
        Value::Vectors(v) => matrix_out(py, v.as_flat().to_vec(), v.len(), v.dim())?.into_any(),
        Value::Sparse(v) => {
            let dict = PyDict::new(py);
            for (i, w) in v.entries() {
                dict.set_item(i, w)?;
            }
            dict.into_any()
        }
    })
}

/// A sparse vector from a `{index: weight}` dict or a one-row scipy.sparse matrix or
/// array (its duplicate entries summed, as scipy defines them); `None` when `obj` is
/// neither. Bad indices or weights raise `InvalidArgumentError` naming `what`.
pub fn read_sparse(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<SparseVector>> {
    let bad = |e: Error| to_py(Error::InvalidArgument(format!("{what}: {e}")));
    let pairs: Vec<(i64, f64)> = if let Ok(dict) = obj.cast::<PyDict>() {
        dict.iter()
            .map(|(i, w)| {
                let index = i.extract::<i64>().map_err(|_| {
                    bad(Error::InvalidArgument(format!(
                        "sparse index {i} is not an int"
                    )))
                })?;
                let weight = w.extract::<f64>().map_err(|_| {
                    bad(Error::InvalidArgument(format!(
                        "index {index}: weight {w} is not a number"
                    )))
                })?;
                Ok((index, weight))
            })
            .collect::<PyResult<_>>()?
    } else if obj.hasattr("tocoo")? && obj.hasattr("nnz")? {
        let coo = obj.call_method0("tocoo")?;
        coo.call_method0("sum_duplicates")?;
        let shape: Vec<usize> = coo.getattr("shape")?.extract()?;
        let indices = match shape.as_slice() {
            [1, _] => coo.getattr("col")?,
            [_] => coo.getattr("coords")?.get_item(0)?,
            _ => {
                return Err(bad(Error::InvalidArgument(format!(
                    "a scipy.sparse query or value must have one row, not shape {shape:?}"
                ))));
            }
        };
        let indices: Vec<i64> = indices.call_method0("tolist")?.extract()?;
        let weights: Vec<f64> = coo.getattr("data")?.call_method0("tolist")?.extract()?;
        indices.into_iter().zip(weights).collect()
    } else {
        return Ok(None);
    };
    SparseVector::from_pairs(pairs).map(Some).map_err(bad)
}

/// A list of vectors: an `(n, d)` float32 array or a sequence of vectors of one
/// length (`n` may be 0).
pub fn read_vectors(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<MultiVector> {
    let rows = Rows::read(obj, what)?;
    MultiVector::from_flat(rows.dim, rows.data().to_vec()).ok_or_else(|| {
        to_py(Error::InvalidArgument(format!(
            "{what}: {} vectors; at most {MAX_MULTI_VECTORS} are stored per item",
            rows.n
        )))
    })
}

/// A query target from Python: a sparse vector for a dict or a scipy.sparse row,
/// several vectors (MAXSIM, on a multi-vector column) for a 2-D array or a sequence
/// of sequences, else a dense vector.
pub fn read_target(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Target> {
    if let Some(v) = read_sparse(obj, what)? {
        return Ok(Target::Sparse(v));
    }
    let two_d = match obj.cast::<PyUntypedArray>() {
        Ok(array) => array.ndim() == 2,
        Err(_) => {
            !obj.is_instance_of::<PyString>()
                && obj
                    .get_item(0)
                    .is_ok_and(|first| first.hasattr("__len__").unwrap_or(false))
        }
    };
    Ok(match two_d {
        true => Target::Vectors(read_vectors(obj, what)?),
        false => Target::Vector(read_vector(obj, what)?),
    })
}

/// A dict `{name: value}` from parallel names and values.
pub fn row_to_dict<'py>(
    py: Python<'py>,
    names: &[String],
    values: &[Value],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in names.iter().zip(values) {
        dict.set_item(name, value_to_py(py, value)?)?;
    }
    Ok(dict)
}

/// The engine value for `obj` stored in `column`.
pub fn py_to_value(column: &Column, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    let mismatch = |expected: &str| {
        let got = obj
            .get_type()
            .name()
            .map_or_else(|_| "?".to_string(), |n| n.to_string());
        to_py(Error::TypeMismatch {
            column: column.name.clone(),
            expected: expected.to_string(),
            got,
        })
    };
    // Python's bool and numpy's bool_ (pyo3 extracts only those as bool, never an int).
    let is_bool = obj.extract::<bool>().is_ok();
    match &column.kind {
        ColumnKind::Vector(_) => {
            read_vector(obj, &format!("column {}", column.name)).map(Value::Vector)
        }
        ColumnKind::MultiVector(_) => {
            read_vectors(obj, &format!("column {}", column.name)).map(Value::Vectors)
        }
        ColumnKind::Attr(attr) => match attr.ty {
            AttrType::Text => obj
                .extract::<String>()
                .map(Value::Text)
                .map_err(|_| mismatch("TEXT (str)")),
            // bool is a subclass of int in Python; refuse it for INT and FLOAT.
            AttrType::Int if !is_bool => obj
                .extract::<i64>()
                .map(Value::Int)
                .map_err(|_| mismatch("INT (int)")),
            AttrType::Int => Err(mismatch("INT (int)")),
            AttrType::Float if !is_bool => obj
                .extract::<f64>()
                .map(Value::Float)
                .map_err(|_| mismatch("FLOAT (float)")),
            AttrType::Float => Err(mismatch("FLOAT (float)")),
            AttrType::Bool if is_bool => Ok(Value::Bool(obj.extract::<bool>()?)),
            AttrType::Bool => Err(mismatch("BOOL (bool)")),
            AttrType::Tags if obj.is_instance_of::<PyString>() => {
                Err(mismatch("TEXT[] (list[str])"))
            }
            AttrType::Tags => obj
                .extract::<Vec<String>>()
                .map(Value::Tags)
                .map_err(|_| mismatch("TEXT[] (list[str])")),
            AttrType::Sparse => read_sparse(obj, &format!("column {}", column.name))?
                .map(Value::Sparse)
                .ok_or_else(|| mismatch("SPARSE (dict[int, float] or a scipy.sparse row)")),
        },
    }
}

/// An [`Item`] from an id and keyword arguments, typed by `schema`. A name the schema
/// lacks raises `UnknownColumnError`.
pub fn item_from_kwargs(
    schema: &Schema,
    id: String,
    values: Option<&Bound<'_, PyDict>>,
) -> PyResult<Item> {
    let mut item = Item::new(id);
    if let Some(values) = values {
        for (name, obj) in values.iter() {
            let name: String = name.extract()?;
            let (_, column) = schema.column(&name).map_err(to_py)?;
            let value = py_to_value(column, &obj)?;
            item = item.set(name, value);
        }
    }
    Ok(item)
}

/// An [`Item`] from a row dict: `{"id": "p1", "title": ..., "text_vec": ...}`.
pub fn item_from_row(schema: &Schema, row: &Bound<'_, PyAny>) -> PyResult<Item> {
    let row = row.cast::<PyDict>().map_err(|_| {
        to_py(Error::InvalidArgument(
            "each row must be a dict with an \"id\" key".into(),
        ))
    })?;
    let id = match row.get_item("id")? {
        Some(id) => id.extract::<String>().map_err(|_| {
            to_py(Error::InvalidArgument(
                "a row's \"id\" must be a str".into(),
            ))
        })?,
        None => {
            return Err(to_py(Error::InvalidArgument(
                "a row has no \"id\" key".into(),
            )));
        }
    };
    let values = row.copy()?;
    values.del_item("id")?;
    item_from_kwargs(schema, id, Some(&values))
}
