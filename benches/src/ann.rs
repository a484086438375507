//! The ANN recall/QPS suite behind `quiver-bench ann | table | plot`: the same
//! datasets, sweep, recall definition and results schema as the peer benchmark
//! (`shared/bench/peers/run.py`: hnswlib, FAISS, USearch), so Quiver's numbers and the
//! peers' land in one table and one plot.
//!
//! - `data`: fvecs/ivecs and `meta.json` into a checked [`data::Dataset`].
//! - `run` (+ `hnsw`, `ivfpq`): build an index in a rayon pool of N threads, sweep, time.
//! - `recall`: run.py's ann-benchmarks-style recall@k and id recall.
//! - `frontier`: medians, Pareto frontier, QPS at a target recall.
//! - `report`: the JSON schema and the Markdown tables; `plot`: recall/QPS curves.

mod codes;
pub mod data;
pub mod frontier;
mod hnsw;
mod ivf;
mod ivfpq;
pub mod plot;
pub mod recall;
pub mod report;
pub mod run;
mod sys;
