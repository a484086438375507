//! The SQL-ish language: `lexer` (tokens with byte offsets), `ast` (statements and
//! their canonical text), `parser` (recursive descent). Errors carry the byte offset of
//! the offending token and render as the statement with a caret under it. The grammar
//! is in `docs/SQL.md`.

pub mod ast;
pub mod exercise;
mod lexer;
mod parser;

pub use ast::*;
pub use parser::{parse_filter, parse_fusion, parse_script, parse_statement};

/// A syntax error at a byte offset of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(at: usize, message: String) -> Self {
        ParseError { at, message }
    }

    /// The error as `line:column: message`, then the offending line and a caret under
    /// the position (columns count characters, from 1).
    pub fn render(&self, sql: &str) -> String {
        let at = self.at.min(sql.len());
        let line_start = sql[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = sql[at..].find('\n').map_or(sql.len(), |i| at + i);
        let line_no = sql[..at].matches('\n').count() + 1;
        let col = sql[line_start..at].chars().count();
        format!(
            "{line_no}:{}: {}\n{}\n{}^",
            col + 1,
            self.message,
            &sql[line_start..line_end],
            " ".repeat(col)
        )
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests;
