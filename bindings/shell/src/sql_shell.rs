//! `quiver DB`: the language on a database. Statements come from `-c`, `-f`, piped
//! stdin, or the interactive prompt (a terminal). Non-interactive runs stop at the first
//! error with a one-line message (with its line and column) on stderr and exit 1; a
//! script with a syntax error runs nothing.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver::sql::{ParseError, parse_script};
use quiver::{Database, Value};
use quiver_sql::Output;

use crate::progress_bar::with_progress;

/// How result rows are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" => Some(Format::Table),
            "jsonl" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Where the statements come from.
#[derive(Debug)]
pub enum Source {
    Command(String),
    File(std::path::PathBuf),
    Stdin,
}

/// A failure already reported on stderr: the process should exit 1.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported")
    }
}
impl std::error::Error for Reported {}

pub fn run(db_path: &Path, source: Source, format: Format, read_only: bool) -> Result<()> {
    let db = open(db_path, read_only).with_context(|| format!("opening {}", db_path.display()))?;
    let script = match source {
        Source::Command(s) => s,
        Source::File(p) => {
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?
        }
        Source::Stdin if std::io::stdin().is_terminal() => return repl(&db, format),
        Source::Stdin => std::io::read_to_string(std::io::stdin()).context("reading stdin")?,
    };
    let statements = match parse_script(&script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", one_line(&e, &script));
            return Err(Reported.into());
        }
    };
    let mut out = std::io::stdout().lock();
    for statement in &statements {
        match with_progress(&db, || quiver_sql::run(&db, statement)) {
            Ok(output) => print(&mut out, &output, format)?,
            Err(e) => {
                eprintln!("error: {} (in: {statement})", describe(&e));
                return Err(Reported.into());
            }
        }
    }
    Ok(())
}

/// A folder (read-only when asked), or a database published at an `s3://` URL, read
/// through its cache folder (`$QUIVER_CACHE_DIR/<bucket>/<prefix>`, else under
/// `~/.cache/quiver/remote`), at most `$QUIVER_CACHE_BYTES` bytes when that is set.
fn open(db_path: &Path, read_only: bool) -> anyhow::Result<Database> {
    let mut options = quiver::OpenOptions::new().read_only(read_only);
    if let Some(bytes) = std::env::var_os("QUIVER_CACHE_BYTES") {
        let text = bytes.to_string_lossy();
        let bound = text
            .replace('_', "")
            .parse()
            .map_err(|_| anyhow::anyhow!("QUIVER_CACHE_BYTES={text:?} is not a whole number"))?;
        options = options.cache_bytes(bound);
    }
    Ok(options.open(db_path)?)
}

/// An engine error with its causes (an I/O error names the file, its source says why).
fn describe(e: &quiver::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// `line L, column C: message`.
fn one_line(e: &ParseError, sql: &str) -> String {
    let at = e.at.min(sql.len());
    let line = sql[..at].matches('\n').count() + 1;
    let col = sql[sql[..at].rfind('\n').map_or(0, |i| i + 1)..at]
        .chars()
        .count()
        + 1;
    format!("line {line}, column {col}: {}", e.message)
}

const HELP: &str = "Statements end with ';' and may span lines. Dot commands:
  .help                this text
  .tables              the collections and their item counts
  .mode table|jsonl|csv  how rows are printed
  .timer on|off        print each statement's time
  .quit                leave (or Ctrl-D)";

/// Where the prompt keeps its history between sessions.
fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".quiver_history"))
}

/// The interactive prompt: line editing and history (rustyline), multi-line statements
/// ending in `;`, dot commands; errors are shown with a caret and the prompt goes on.
fn repl(db: &Database, mut format: Format) -> Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().context("starting line editing")?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h); // no history yet is fine
    }
    let mut out = std::io::stdout();
    let mut timer = false;
    let mut pending = String::new();
    println!("quiver shell: .help for help, statements end with ';'");
    loop {
        let prompt = if pending.is_empty() {
            "quiver> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear(); // Ctrl-C drops the statement being typed
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('.') {
            let _ = editor.add_history_entry(trimmed);
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            match words.as_slice() {
                [".help"] => println!("{HELP}"),
                [".quit" | ".exit"] => break,
                [".tables"] => pending.push_str("SHOW COLLECTIONS;"),
                [".mode", m] => match Format::parse(m) {
                    Some(f) => format = f,
                    None => eprintln!("unknown mode {m}: table, jsonl or csv"),
                },
                [".timer", "on"] => timer = true,
                [".timer", "off"] => timer = false,
                _ => eprintln!("unknown command {trimmed}; .help lists them"),
            }
            if pending.is_empty() {
                continue;
            }
        } else {
            pending.push_str(&line);
            pending.push('\n');
        }
        if !pending.trim_end().ends_with(';') {
            continue;
        }
        let script = std::mem::take(&mut pending);
        let _ = editor.add_history_entry(script.trim_end());
        match parse_script(&script) {
            Err(e) => eprintln!("error: {}", e.render(script.trim_end())),
            Ok(statements) => {
                for s in &statements {
                    let started = Instant::now();
                    match with_progress(db, || quiver_sql::run(db, s)) {
                        Ok(output) => print(&mut out.lock(), &output, format)?,
                        Err(e) => {
                            eprintln!("error: {}", describe(&e));
                            break;
                        }
                    }
                    if timer {
                        println!("({:.3} ms)", started.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn print(out: &mut impl Write, output: &Output, format: Format) -> Result<()> {
    let (columns, rows) = match output {
        Output::Done(text) => {
            writeln!(out, "{text}")?;
            return Ok(());
        }
        Output::Rows { columns, rows } => (columns, rows),
    };
    match format {
        Format::Jsonl => {
            for row in rows {
                let object: serde_json::Map<String, serde_json::Value> =
                    columns.iter().cloned().zip(row.iter().map(json)).collect();
                writeln!(out, "{}", serde_json::Value::Object(object))?;
            }
        }
        Format::Csv => {
            writeln!(
                out,
                "{}",
                columns.iter().map(|c| csv(c)).collect::<Vec<_>>().join(",")
            )?;
            for row in rows {
                let cells: Vec<String> = row.iter().map(|v| csv(&text(v))).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
        Format::Table => {
            let cells: Vec<Vec<String>> =
                rows.iter().map(|r| r.iter().map(text).collect()).collect();
            let widths: Vec<usize> = (0..columns.len())
                .map(|i| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([columns[i].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |values: &[String]| -> String {
                values
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect::<Vec<_>>()
                    .join(" | ")
                    .trim_end()
                    .to_string()
            };
            writeln!(out, "{}", line(columns))?;
            writeln!(
                out,
                "{}",
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("-+-")
            )?;
            for r in &cells {
                writeln!(out, "{}", line(r))?;
            }
            writeln!(
                out,
                "({} row{})",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        Value::Float(f) => format!("{f:.4}"),
        other => other.to_string(),
    }
}

fn json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s.clone()),
        Value::Tags(t) => J::Array(t.iter().cloned().map(J::String).collect()),
        Value::Vector(v) => J::Array(
            v.iter()
                .map(|x| serde_json::Number::from_f64(*x as f64).map_or(J::Null, J::Number))
                .collect(),
        ),
        Value::Vectors(v) => serde_json::to_value(v).unwrap_or(J::Null),
        Value::Sparse(v) => serde_json::to_value(v).unwrap_or(J::Null),
    }
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
