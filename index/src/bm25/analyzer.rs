//! Text into BM25 terms. `simple`: the text's maximal runs of Unicode alphanumeric
//! characters (`char::is_alphanumeric`), each lower-cased with Unicode rules
//! (`str::to_lowercase`); no stemming, no stop words. `english`: `simple`'s terms
//! without Lucene's 33 English stop words, each reduced by the Snowball English
//! (Porter2) stemmer of `rust-stemmers` (its version is pinned: stems are stored).
//! Runs are cut before lower-casing, so a letter whose lower case is two characters
//! never splits a term.

use std::sync::OnceLock;

use quiver_storage::Analyzer;
use rust_stemmers::{Algorithm, Stemmer};

/// Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`.
pub const ENGLISH_STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// The terms of `text`, in order, repeats kept.
pub fn terms(analyzer: Analyzer, text: &str) -> Vec<String> {
    let simple = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(str::to_lowercase);
    match analyzer {
        Analyzer::Simple => simple.collect(),
        Analyzer::English => {
            let stemmer = english_stemmer();
            simple
                .filter(|t| !ENGLISH_STOP_WORDS.contains(&t.as_str()))
                .map(|t| stemmer.stem(&t).into_owned())
                .collect()
        }
    }
}

fn english_stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_cuts_alphanumeric_runs_and_lower_cases() {
        assert_eq!(
            terms(Analyzer::Simple, "Red-running SHOE, size 42½ (Ünïcode) x_y"),
            ["red", "running", "shoe", "size", "42½", "ünïcode", "x", "y"]
        );
        assert_eq!(terms(Analyzer::Simple, "  ,;  "), Vec::<String>::new());
        // The Turkish dotted capital lower-cases to two characters, the second a
        // combining mark: it stays one term.
        assert_eq!(terms(Analyzer::Simple, "İstanbul"), ["i̇stanbul"]);
        assert_eq!(terms(Analyzer::Simple, "東京 タワー"), ["東京", "タワー"]);
    }

    #[test]
    fn english_drops_stop_words_and_stems() {
        assert_eq!(
            terms(Analyzer::English, "The runners were running to the races"),
            ["runner", "were", "run", "race"]
        );
        assert_eq!(
            terms(Analyzer::English, "Generously generous"),
            ["generous", "generous"]
        );
        assert_eq!(terms(Analyzer::English, "the of and"), Vec::<String>::new());
    }
}
