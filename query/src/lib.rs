//! `quiver-query` will own the SQL-ish language (lexer, parser, AST) and the executor:
//! plans, attribute filters, per-column ANN, fusion of several columns, exact
//! re-scoring, EXPLAIN and EVALUATE. It reads collections through the index crate's
//! [`quiver_index::VectorSource`] and never writes.
//!
//! Nothing is implemented here yet: the language and executor are the subject of the
//! fused-query issue. The crate exists so the dependency order
//! `storage -> index -> query -> engine` is fixed from the start.
#![forbid(unsafe_code)]
