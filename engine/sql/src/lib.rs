//! `quiver-sql` is Quiver's statement layer: it runs the statements `quiver_query::sql`
//! parses (CREATE, INSERT, SELECT, EXPLAIN, DELETE, ALTER, COPY, EVALUATE, VERIFY,
//! REPAIR, ...) on the core's public API (`quiver`), compiling each ORDER BY into a
//! [`quiver::Query`], and renders what they return as tables and plots. The shell and
//! the Python module use it; the core never imports it.
#![forbid(unsafe_code)]

mod alter;
mod copy;
mod evaluate;
mod explain;
mod order;
mod plot_style;
mod profiles;
mod statements;
mod tables;

pub use evaluate::plot::tune as plot_tuning;
pub use evaluate::tune::{NamedNormalization, Tuning, run as tune};
pub use evaluate::{
    Evaluation, LabelledQuery, QueryInput, QueryOutcome, RecallPoint, apply_trec_qrels, evaluate,
    evaluate_each, evaluate_recall, parse_queries, read_queries,
};
pub use explain::lines as plan_lines;
pub use order::{compile, fusion};
pub use plot_style::{PLOT_COLOURS, load_plot_font};
pub use statements::{DEFAULT_LIMIT, Output, index_spec, run};
pub use tables::ToTable;
