//! `quiver-index` owns distance computation and vector indexes. Indexes never own
//! vectors: they read them through [`VectorSource`] (a memory-mapped segment column, or
//! anything else that can hand out `&[f32]` rows). It never touches the WAL or files.
//!
//! Today it holds the distance kernels (scalar references and simsimd), the one
//! distance-to-score conversion, exact (flat) top-k search and HNSW; IVF-PQ builds on
//! these. `unsafe` is denied everywhere but `kernels::simd`.
#![deny(unsafe_code)]

pub mod calibration;
pub mod flat;
pub mod hnsw;
pub mod ivf;
pub mod kernels;
pub mod progress;
pub mod source;
pub mod sq8;

pub use calibration::Calibration;
pub use flat::{Hit, exact_top_k};
pub use hnsw::{Hnsw, HnswParams};
pub use ivf::{IvfPq, IvfPqParams, IvfPqView, IvfSearch, IvfStats};
pub use kernels::{DistanceFn, distance, distance_fn, score};
pub use progress::{Progress, ProgressNow};
pub use source::{SliceSource, VectorSource};
