//! `quiver-query` will own the SQL-ish language (lexer, parser, AST) and the executor:
//! plans, attribute filters, per-column ANN, fusion of several columns, exact
//! re-scoring, EXPLAIN and EVALUATE. It reads collections through the index crate's
//! [`quiver_index::VectorSource`] and never writes.
//!
//! So far: [`fusion`], the fusion step of a multi-column query (exact per-column
//! distances of the candidate union → normalized scores → fused score, with every part
//! kept for EXPLAIN), and [`sql`], the language's lexer, AST and parser (errors point at
//! their byte offset). Executing statements, EXPLAIN output and EVALUATE are to come
//! (fused-query issue).
#![forbid(unsafe_code)]

pub mod eval;
pub mod fusion;
pub mod sql;

pub use fusion::{
    ColumnPart, DistanceSpan, Fused, Fusion, FusionError, Missing, Normalization, fuse, threshold,
};
