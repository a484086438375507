//! Arbitrary text as a script of the SQL-ish language: a parse error or statements,
//! never a panic; and every statement prints as text that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_query::sql::exercise::parse_and_reprint;

fuzz_target!(|data: &[u8]| parse_and_reprint(data));
