//! The `quiver` command: `quiver DB` runs the SQL-ish language on a database (from
//! `-c`, `-f`, piped stdin or an interactive prompt), `quiver demo [DIR]` builds and
//! queries a small demo database, `quiver info DIR` describes one.
#![forbid(unsafe_code)]

mod demo;
mod demo_encoders;
mod info;
mod progress_bar;
mod repair;
mod sql_shell;
mod verify;

use std::path::PathBuf;

use sql_shell::{Format, Reported, Source};

const USAGE: &str = "usage:
  quiver DB [-c 'SQL; ...' | -f FILE] [--format table|jsonl|csv] [--read-only]
                      run statements on the database in folder DB (created if missing):
                      from -c, from a file, from piped stdin, or at an interactive prompt;
                      --read-only: no lock, no writes, each statement sees what the
                      database's writer (another process) committed
  quiver s3://BUCKET/PREFIX [-c ... | -f ...]
                      the same on a database published there, read-only, moving to
                      newer published versions (cached under $QUIVER_CACHE_DIR, else
                      ~/.cache/quiver/remote; at most $QUIVER_CACHE_BYTES bytes when
                      set; AWS_* variables give the credentials, region and endpoint)
  quiver publish DIR s3://BUCKET/PREFIX
                      upload the database in DIR (flushed; only new files) and make it
                      the newest published version
  quiver demo [DIR]   build a demo catalogue in DIR (default ./quiver-demo), reopen it and query it
  quiver info DIR     list the collections, schemas and counts of a database (read-only)
  quiver verify DIR   check every checksum and structural invariant of a database's files
                      (read-only; works on one that does not open); exit 1 on a problem
  quiver repair DIR [--drop-damaged-segments]
                      rebuild damaged indexes from the column data; with the flag, also
                      drop segments whose rows are damaged and list the items lost;
                      exit 1 when damage is left in place";

fn usage_error(message: &str) -> ! {
    eprintln!("error: {message}\n{USAGE}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["demo"] => demo::run(&PathBuf::from("quiver-demo")),
        ["demo", dir] => demo::run(&PathBuf::from(dir)),
        ["info", dir] => info::run(&PathBuf::from(dir)),
        ["publish", dir, url] => publish(dir, url),
        ["verify", dir] => verify::run(&PathBuf::from(dir)),
        ["repair", dir] => repair::run(&PathBuf::from(dir), quiver::RepairOptions::default()),
        ["repair", dir, "--drop-damaged-segments"] => repair::run(
            &PathBuf::from(dir),
            quiver::RepairOptions {
                drop_damaged_segments: true,
            },
        ),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        [] => usage_error("name a database folder"),
        _ => shell(&words),
    };
    if let Err(e) = result {
        if e.downcast_ref::<Reported>().is_none() {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}

/// `quiver publish DIR URL`.
fn publish(dir: &str, url: &str) -> anyhow::Result<()> {
    let db = quiver::Database::open(dir)?;
    let p = db.publish(url)?;
    println!(
        "published {dir} to {url} as version {}: {} files uploaded ({} bytes)",
        p.version, p.uploaded, p.bytes
    );
    Ok(())
}

/// `quiver DB [options]`.
fn shell(words: &[&str]) -> anyhow::Result<()> {
    let mut db: Option<PathBuf> = None;
    let mut source = Source::Stdin;
    let mut format = Format::Table;
    let mut read_only = false;
    let mut i = 0;
    while i < words.len() {
        let value = |i: usize| -> &str {
            words
                .get(i + 1)
                .copied()
                .unwrap_or_else(|| usage_error(&format!("{} needs a value", words[i])))
        };
        match words[i] {
            "-c" => {
                source = Source::Command(value(i).to_string());
                i += 1;
            }
            "-f" => {
                source = Source::File(PathBuf::from(value(i)));
                i += 1;
            }
            "--format" => {
                format = Format::parse(value(i))
                    .unwrap_or_else(|| usage_error("--format is table, jsonl or csv"));
                i += 1;
            }
            "--read-only" => read_only = true,
            flag if flag.starts_with('-') => usage_error(&format!("unknown option {flag}")),
            path if db.is_none() => db = Some(PathBuf::from(path)),
            extra => usage_error(&format!("unexpected argument {extra}")),
        }
        i += 1;
    }
    let db = db.unwrap_or_else(|| usage_error("name a database folder"));
    sql_shell::run(&db, source, format, read_only)
}
