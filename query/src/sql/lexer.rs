//! Tokens with their byte positions, so every error can point at its place.

use super::ParseError;

/// One token kind. Keywords are plain identifiers; the parser matches them
/// case-insensitively, so a column may still be called `count` or `key`.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A quoted identifier (`"two words"`): never a keyword.
    Quoted(String),
    Str(String),
    Number(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `{` and `}` around a sparse vector, whose entries are `index: weight`.
    LBrace,
    RBrace,
    Colon,
    Comma,
    Semicolon,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `<->`: distance under the column's metric.
    Distance,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset of the token's first character.
    pub at: usize,
}

/// Splits `sql` into tokens, ending with [`Tok::Eof`]. `--` comments run to the end of
/// the line.
pub fn lex(sql: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        let single = |tok| Token { tok, at };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => out.push(single(Tok::LParen)),
            b')' => out.push(single(Tok::RParen)),
            b'[' => out.push(single(Tok::LBracket)),
            b']' => out.push(single(Tok::RBracket)),
            b'{' => out.push(single(Tok::LBrace)),
            b'}' => out.push(single(Tok::RBrace)),
            b':' => out.push(single(Tok::Colon)),
            b',' => out.push(single(Tok::Comma)),
            b';' => out.push(single(Tok::Semicolon)),
            b'*' => out.push(single(Tok::Star)),
            b'=' => out.push(single(Tok::Eq)),
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(single(Tok::Ne));
                i += 1;
            }
            b'<' => {
                if sql[i..].starts_with("<->") {
                    out.push(single(Tok::Distance));
                    i += 2;
                } else if bytes.get(i + 1) == Some(&b'-') {
                    return Err(ParseError::new(
                        at,
                        "'<-' is not an operator; did you mean '<->'?".into(),
                    ));
                } else if bytes.get(i + 1) == Some(&b'=') {
                    out.push(single(Tok::Le));
                    i += 1;
                } else if bytes.get(i + 1) == Some(&b'>') {
                    out.push(single(Tok::Ne));
                    i += 1;
                } else {
                    out.push(single(Tok::Lt));
                }
            }
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    out.push(single(Tok::Ge));
                    i += 1;
                } else {
                    out.push(single(Tok::Gt));
                }
            }
            b'\'' | b'"' => {
                let (text, end) = quoted(sql, i, c)?;
                let tok = if c == b'\'' {
                    Tok::Str(text)
                } else {
                    Tok::Quoted(text)
                };
                out.push(Token { tok, at });
                i = end;
                continue;
            }
            b'0'..=b'9' | b'.' | b'-' | b'+' => {
                let end = number_end(bytes, i);
                let text = &sql[i..end];
                let value: f64 = text
                    .parse()
                    .map_err(|_| ParseError::new(at, format!("'{text}' is not a number")))?;
                if !value.is_finite() {
                    return Err(ParseError::new(at, format!("'{text}' is out of range")));
                }
                out.push(Token {
                    tok: Tok::Number(value),
                    at,
                });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(sql[i..end].to_string()),
                    at,
                });
                i = end;
                continue;
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(at, format!("unexpected character '{ch}'")));
            }
        }
        i += 1;
    }
    out.push(Token {
        tok: Tok::Eof,
        at: sql.len(),
    });
    Ok(out)
}

/// A quoted run starting at `start` (the quote), doubled quotes standing for one;
/// returns the text and the offset after the closing quote.
fn quoted(sql: &str, start: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let bytes = sql.as_bytes();
    let mut text = String::new();
    let mut i = start + 1;
    let mut run = i;
    loop {
        match bytes.get(i) {
            None => return Err(ParseError::new(start, "unterminated quoted text".into())),
            Some(&b) if b == quote => {
                text.push_str(&sql[run..i]);
                if bytes.get(i + 1) == Some(&quote) {
                    text.push(quote as char);
                    i += 2;
                    run = i;
                } else {
                    return Ok((text, i + 1));
                }
            }
            Some(_) => i += 1,
        }
    }
}

/// End of a number literal: optional sign, digits, fraction, exponent.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if matches!(bytes.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}
