//! `quiver-index` owns distance computation and vector indexes. Indexes never own
//! vectors: they read them through [`VectorSource`] (a memory-mapped segment column, or
//! anything else that can hand out `&[f32]` rows). It never touches the WAL or files.
//!
//! Today it holds the scalar reference kernels, the one distance-to-score conversion
//! and exact (flat) top-k search; SIMD kernels, HNSW and IVF-PQ build on these.
#![forbid(unsafe_code)]

pub mod flat;
pub mod hnsw;
pub mod kernels;
pub mod source;

pub use flat::{Hit, exact_top_k};
pub use hnsw::{Hnsw, HnswParams};
pub use kernels::{distance, score};
pub use source::{SliceSource, VectorSource};
