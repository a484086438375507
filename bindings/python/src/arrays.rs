//! Vectors between numpy and the engine.
//!
//! In: a contiguous `float32` array is read in place (its buffer as one `&[f32]`, no
//! per-element conversion); a strided `float32` view is read element by element; a
//! list of numbers is converted. Any other dtype raises `TypeMismatchError` (a
//! `float64` array is refused rather than silently rounded: say `.astype("float32")`),
//! a wrong number of dimensions raises `InvalidArgumentError`. Dimensions and NaN are
//! the engine's to check (`DimensionMismatchError`, `NonFiniteVectorError`), so every
//! path reports them the same way.
//!
//! Query vectors are copied out of the array before the GIL is released: while the
//! engine searches, another Python thread may write to that array.
//!
//! Out: `float32` arrays the caller owns.

use numpy::ndarray::Array2;
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray2, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::{InvalidArgumentError, TypeMismatchError};

/// Refuses a numpy array of another dtype than float32 or another number of
/// dimensions than `ndim`; `what` names the argument in the message.
fn check_array(array: &Bound<'_, PyUntypedArray>, ndim: usize, what: &str) -> PyResult<()> {
    let dtype = array.dtype();
    if !dtype.is_equiv_to(&numpy::dtype::<f32>(array.py())) {
        return Err(TypeMismatchError::new_err(format!(
            "{what} must be float32, got a {} array (use .astype(\"float32\"))",
            dtype.str().map_or_else(|_| "?".into(), |s| s.to_string())
        )));
    }
    if array.ndim() != ndim {
        return Err(InvalidArgumentError::new_err(format!(
            "{what} must be a {ndim}-D array, got shape {:?}",
            array.shape()
        )));
    }
    Ok(())
}

/// One vector: a 1-D float32 array or a sequence of numbers.
pub fn read_vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f32>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        check_array(array, 1, what)?;
        let array = obj.cast::<PyArray1<f32>>()?.readonly();
        let view = array.as_array();
        // ndarray's `as_slice` is `Some` only for row-major (C) order; `iter` walks
        // the logical order whatever the strides.
        return Ok(match view.as_slice() {
            Some(slice) => slice.to_vec(),
            None => view.iter().copied().collect(),
        });
    }
    // A str is a sequence too; never read one as a vector.
    if obj.is_instance_of::<PyString>() {
        return Err(TypeMismatchError::new_err(format!(
            "{what} must be a sequence of floats, not str"
        )));
    }
    obj.extract::<Vec<f32>>().map_err(|_| {
        let got = obj
            .get_type()
            .name()
            .map_or_else(|_| "?".to_string(), |n| n.to_string());
        TypeMismatchError::new_err(format!("{what} must be a sequence of floats, not {got}"))
    })
}

/// `n` vectors of one dimension: a 2-D float32 array (read in place when contiguous)
/// or a sequence of vectors.
pub struct Rows<'py> {
    array: Option<PyReadonlyArray2<'py, f32>>,
    owned: Vec<f32>,
    pub n: usize,
    pub dim: usize,
}

impl<'py> Rows<'py> {
    pub fn read(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Rows<'py>> {
        if let Ok(array) = obj.cast::<PyUntypedArray>() {
            check_array(array, 2, what)?;
            let array = obj.cast::<PyArray2<f32>>()?.readonly();
            let [n, dim] = [array.shape()[0], array.shape()[1]];
            // Row-major (C) order only: numpy's "contiguous" also admits Fortran
            // order, whose memory is the transpose.
            if array.as_array().as_slice().is_some() {
                return Ok(Rows {
                    array: Some(array),
                    owned: Vec::new(),
                    n,
                    dim,
                });
            }
            let owned = array.as_array().iter().copied().collect();
            return Ok(Rows {
                array: None,
                owned,
                n,
                dim,
            });
        }
        if obj.is_instance_of::<PyString>() {
            return Err(TypeMismatchError::new_err(format!(
                "{what} must be a 2-D float32 array or a list of vectors, not str"
            )));
        }
        let mut owned = Vec::new();
        let (mut n, mut dim) = (0, None);
        for row in obj.try_iter().map_err(|_| {
            TypeMismatchError::new_err(format!(
                "{what} must be a 2-D float32 array or a list of vectors"
            ))
        })? {
            let row = read_vector(&row?, what)?;
            if *dim.get_or_insert(row.len()) != row.len() {
                return Err(InvalidArgumentError::new_err(format!(
                    "{what}: row {n} has {} components, row 0 has {}",
                    row.len(),
                    dim.unwrap_or(0)
                )));
            }
            owned.extend_from_slice(&row);
            n += 1;
        }
        Ok(Rows {
            array: None,
            owned,
            n,
            dim: dim.unwrap_or(0),
        })
    }

    /// All rows, one after another (`n * dim` values).
    pub fn data(&self) -> &[f32] {
        match &self.array {
            // `read` keeps the array only when it is in row-major order.
            Some(array) => array.as_slice().unwrap_or(&[]),
            None => &self.owned,
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data()[i * self.dim..(i + 1) * self.dim]
    }
}

/// A 1-D float32 array that owns `values`.
pub fn vector_out<'py>(py: Python<'py>, values: Vec<f32>) -> Bound<'py, PyArray1<f32>> {
    PyArray1::from_vec(py, values)
}

/// An `n x dim` float32 array from `n * dim` values in row order.
pub fn matrix_out<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    n: usize,
    dim: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let array = Array2::from_shape_vec((n, dim), values)
        .map_err(|e| InvalidArgumentError::new_err(e.to_string()))?;
    Ok(PyArray2::from_owned_array(py, array))
}
