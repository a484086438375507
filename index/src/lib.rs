//! `quiver-index` owns distance computation and vector indexes. Indexes never own
//! vectors: they read them through [`VectorSource`] (a memory-mapped segment column, or
//! anything else that can hand out `&[f32]` rows). It never touches the WAL.
//!
//! It holds the distance kernels (scalar references, AVX2 and simsimd), the one
//! distance-to-score conversion, exact (flat) top-k search, quantized codes (8-bit
//! and RaBitQ, `codes`) scanned by a FLAT index or walked by HNSW, and IVF-PQ. Each index family also owns its bytes in a segment (`hnsw/storage.rs`,
//! `ivf/storage.rs`); [`stored`] is the one dispatch the engine calls to build,
//! write, view, search and check them. `unsafe` is denied everywhere but
//! `kernels::simd`.
#![deny(unsafe_code)]

pub mod bm25;
pub mod calibration;
pub mod codes;
pub mod flat;
pub mod hnsw;
pub mod ivf;
pub mod kernels;
pub mod multi;
pub mod progress;
pub mod rabitq;
pub mod scan;
pub mod source;
pub mod sparse;
pub mod sq8;
pub mod stored;

pub use calibration::Calibration;
pub use flat::{Hit, exact_top_k};
pub use hnsw::{Hnsw, HnswParams};
pub use ivf::{IvfPq, IvfPqParams, IvfPqView, IvfSearch, IvfStats};
pub use kernels::{DistanceFn, distance, distance_fn, score};
pub use progress::{Progress, ProgressNow};
pub use source::{SliceSource, VectorSource};
pub use stored::{BuiltIndex, SearchOptions, SegmentColumn, SegmentIndex, Strategy};
