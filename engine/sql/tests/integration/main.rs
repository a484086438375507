//! The statement layer's integration tests, one binary (each module a former test
//! file of the engine).

mod copy;
mod embed;
mod evaluate;
mod multi_vector;
mod reembed;
mod sql_helpers;
mod statements;
mod tune;
