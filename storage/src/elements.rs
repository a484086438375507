//! Vector elements as stored: `f32`, or half precision (`f16`, `bf16`) for columns
//! declared `VECTOR(d) F16` / `BF16`. Inputs are always `f32`; a half-precision column
//! rounds them once, when they are written ([`DType::round`]), so what is read back,
//! searched and re-scored is the stored value, before and after a flush alike.

use std::borrow::Cow;

use half::slice::HalfFloatSliceExt;

pub use half::{bf16, f16};

use crate::schema::DType;

/// A run of stored elements (a whole column, a row, or a multi-vector cell), viewed
/// in place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Vectors<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

impl<'a> Vectors<'a> {
    /// Elements (not rows).
    pub fn len(&self) -> usize {
        match self {
            Vectors::F32(x) => x.len(),
            Vectors::F16(x) => x.len(),
            Vectors::Bf16(x) => x.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Vectors::F32(_) => DType::F32,
            Vectors::F16(_) => DType::F16,
            Vectors::Bf16(_) => DType::Bf16,
        }
    }

    /// Elements `range`, or `None` when out of bounds.
    pub fn get(&self, range: std::ops::Range<usize>) -> Option<Vectors<'a>> {
        Some(match self {
            Vectors::F32(x) => Vectors::F32(x.get(range)?),
            Vectors::F16(x) => Vectors::F16(x.get(range)?),
            Vectors::Bf16(x) => Vectors::Bf16(x.get(range)?),
        })
    }

    /// The `f32` slice itself when stored as `f32`.
    pub fn as_f32(&self) -> Option<&'a [f32]> {
        match self {
            Vectors::F32(x) => Some(x),
            _ => None,
        }
    }

    /// The elements as `f32`: borrowed when stored so, widened (exactly) otherwise.
    pub fn to_f32(&self) -> Cow<'a, [f32]> {
        match self {
            Vectors::F32(x) => Cow::Borrowed(x),
            Vectors::F16(x) => Cow::Owned(x.to_f32_vec()),
            Vectors::Bf16(x) => Cow::Owned(x.to_f32_vec()),
        }
    }

    /// The elements as an owned `f32` vector.
    pub fn to_vec(&self) -> Vec<f32> {
        self.to_f32().into_owned()
    }

    /// The stored bytes, little-endian, as a segment holds them.
    pub fn bytes(&self) -> &'a [u8] {
        match self {
            Vectors::F32(x) => bytemuck::cast_slice(x),
            Vectors::F16(x) => bytemuck::cast_slice(x),
            Vectors::Bf16(x) => bytemuck::cast_slice(x),
        }
    }
}
