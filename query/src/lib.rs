//! `quiver-query` owns the language and the arithmetic of ranking, and holds no
//! collection types: [`sql`] (the SQL-ish language's lexer, AST and parser; errors
//! point at their byte offset), [`fusion`] (the fusion step of a multi-column query:
//! exact per-column distances of the candidate union → normalized scores → fused
//! score, every part kept for EXPLAIN, and Fagin's threshold) and [`eval`] (retrieval
//! metrics of a ranked answer against graded relevance). The engine (`quiver`) runs
//! queries over its snapshots with these; `quiver-sql` executes statements. It never
//! reads or writes files.
#![forbid(unsafe_code)]

pub mod eval;
pub mod fusion;
pub mod sql;
pub mod tune;

pub use fusion::{
    ColumnPart, DistanceSpan, Fused, Fusion, FusionError, Missing, Normalization, fuse, fuse_lists,
    threshold,
};
