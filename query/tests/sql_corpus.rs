//! The `sql_parse` fuzz target's body over its committed seed corpus
//! (`fuzz/corpus/sql_parse/seed-*`), on the stable toolchain: every seed parses, and
//! prints back to text that parses to the same statements.

use quiver_query::sql::exercise::parse_and_reprint;
use quiver_query::sql::parse_script;

#[test]
fn seed_corpus_parses_and_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sql_parse");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("seed-") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&data).unwrap();
        // Seeds are valid scripts, so the round trip below is exercised.
        assert!(
            parse_script(text).is_ok(),
            "{name}: {:?}",
            parse_script(text).err()
        );
        parse_and_reprint(&data);
        seeds += 1;
    }
    assert!(seeds >= 10, "{seeds} seeds in {}", dir.display());
}

#[test]
fn hostile_text_is_an_error_not_a_panic() {
    for text in [
        "",
        ";;;",
        "SELECT",
        "SELECT * FROM",
        "'unterminated",
        "[1, 2",
        "\u{0}",
        "SELECT * FROM p LIMIT 99999999999999999999",
        "VECTOR(9999999999999)",
        "\"\"\"",
        "FUSE((((((((",
    ] {
        parse_and_reprint(text.as_bytes());
    }
    parse_and_reprint(&[0xff, 0xfe, 0x00]);
}
