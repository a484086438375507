//! Retrieval quality: the metrics of a ranked answer against graded relevance
//! judgements (qrels), per query and averaged, the way IR evaluations report them.
//!
//! Conventions (each one a choice evaluations differ on; tested by hand in
//! `eval/tests.rs`):
//! - a judgement's grade is an integer ≥ 0; grade 0 (or no judgement) is not relevant;
//! - the answer is ranked by score, best first; equal scores are ordered by item id
//!   (ascending), so a tie never depends on the index's visiting order;
//! - `K` cuts the answer; an answer shorter than `K` is not padded: Precision@K still
//!   divides by `K` (missing results count as not relevant, as trec_eval does);
//! - NDCG@K uses the grades as gains (`g / log2(rank + 1)`, trec_eval's and scikit-learn's
//!   linear gains) over the ideal ordering of all judged grades;
//! - AP@K sums Precision@i at every relevant rank i ≤ K and divides by the number of
//!   relevant items (capped at K), so a perfect top-K scores 1;
//! - a query with no relevant judgement has no defined Recall, NDCG or AP: it is left
//!   out of every mean and counted apart ([`Summary::without_relevant`]).

mod metrics;
#[cfg(test)]
mod tests;

pub use metrics::{Metrics, Qrels, Summary, rank, score_query, summarize};
