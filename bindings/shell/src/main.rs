//! The `quiver` command. Today: `quiver demo [DIR]` builds and queries a small demo
//! database, `quiver info DIR` describes one. The SQL-ish REPL arrives with the query
//! language.
#![forbid(unsafe_code)]

mod demo;
mod info;

use std::path::PathBuf;

const USAGE: &str = "usage:
  quiver demo [DIR]   build a demo catalogue in DIR (default ./quiver-demo), reopen it and query it
  quiver info DIR     list the collections, schemas and counts of a database (read-only)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["demo"] => demo::run(&PathBuf::from("quiver-demo")),
        ["demo", dir] => demo::run(&PathBuf::from(dir)),
        ["info", dir] => info::run(&PathBuf::from(dir)),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
