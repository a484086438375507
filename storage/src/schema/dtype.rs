//! The element type a vector column stores: `f32`, or half precision (`F16`, `BF16`)
//! at 2 bytes per value, and the one rounding every write goes through.

use serde::{Deserialize, Serialize};

/// Element type of a stored vector: `f32`, or half precision at 2 bytes per value
/// (`F16`: IEEE binary16, 11 significant bits, range ±65,504; `BF16`: bfloat16, 8
/// significant bits, the range of `f32`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    #[default]
    F32,
    F16,
    Bf16,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
        }
    }

    /// The SQL name (`VECTOR(d) F16 COSINE`).
    pub fn sql_name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::Bf16 => "BF16",
        }
    }

    /// The largest magnitude this type stores (`f32::MAX` for `F32` and `BF16`,
    /// whose finite range rounding can still leave: `BF16` refuses what rounds to
    /// infinity).
    pub fn max_value(self) -> f32 {
        match self {
            DType::F32 => f32::MAX,
            DType::F16 => 65_504.0,
            DType::Bf16 => half::bf16::MAX.to_f32(),
        }
    }

    /// Rounds finite `x` in place to this type's precision (nearest, ties to even),
    /// as it will be stored. A component beyond the type's range is refused: its
    /// index and value (nothing saturates silently).
    pub fn round(self, x: &mut [f32]) -> std::result::Result<(), (usize, f32)> {
        let max = self.max_value();
        if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| v.abs() > max) {
            return Err((i, *v));
        }
        match self {
            DType::F32 => {}
            DType::F16 => x
                .iter_mut()
                .for_each(|v| *v = half::f16::from_f32(*v).to_f32()),
            DType::Bf16 => {
                for (i, v) in x.iter_mut().enumerate() {
                    let r = half::bf16::from_f32(*v).to_f32();
                    if !r.is_finite() {
                        return Err((i, *v));
                    }
                    *v = r;
                }
            }
        }
        Ok(())
    }
}
