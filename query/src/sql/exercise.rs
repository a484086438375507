//! The body of the `sql_parse` fuzz target (`fuzz/`), also run over its seed corpus by
//! `tests/sql_corpus.rs`: any text parses to statements or a `ParseError` (never a
//! panic), and every statement prints as text that parses back to the same statement.

use super::{parse_script, parse_statement};

/// Parses `data` (when UTF-8) and checks that each statement's printed form parses
/// back to it. Panics only on a broken round trip: that is the finding.
pub fn parse_and_reprint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(statements) = parse_script(text) else {
        return;
    };
    for statement in statements {
        let printed = statement.to_string();
        match parse_statement(&printed) {
            Ok(again) => assert_eq!(again, statement, "printed as {printed:?}"),
            Err(e) => panic!("{printed:?} (printed from {text:?}) does not parse: {e}"),
        }
    }
}
