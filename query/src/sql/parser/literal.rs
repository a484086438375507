//! Values: literals (`'text'`, numbers, booleans, NULL, vectors, lists of vectors,
//! sparse vectors, encoder calls), each checked as it is parsed.

use quiver_storage::{MultiVector, SparseVector};

use super::super::ast::*;
use super::super::lexer::Tok;
use super::{ParseError, Parser};

impl Parser {
    /// `EMBED('encoder', 'text')` or `EMBED_IMAGE('encoder', 'path')`, if next.
    pub(super) fn embed(&mut self) -> Result<Option<Embed>, ParseError> {
        let image = if self.eat_word("embed") {
            false
        } else if self.eat_word("embed_image") {
            true
        } else {
            return Ok(None);
        };
        self.punct(Tok::LParen, "'(' after EMBED")?;
        let encoder = self.string("an encoder name in quotes, e.g. 'minilm'")?;
        self.punct(Tok::Comma, "','")?;
        let input = self.string(if image {
            "an image path in quotes"
        } else {
            "the text to embed, in quotes"
        })?;
        self.punct(Tok::RParen, "')'")?;
        Ok(Some(Embed {
            encoder,
            input,
            image,
        }))
    }

    pub(super) fn vector(&mut self) -> Result<Vec<f32>, ParseError> {
        self.punct(
            Tok::LBracket,
            "a vector '[...]', VECTOR OF 'id' or EMBED(...)",
        )?;
        let mut v = Vec::new();
        if !self.eat(&Tok::RBracket) {
            loop {
                let at = self.at();
                let x = self.number("a number")?;
                let x32 = x as f32;
                if !x32.is_finite() {
                    return Err(ParseError::new(
                        at,
                        format!("{x} does not fit a 32-bit float"),
                    ));
                }
                v.push(x32);
                if self.eat(&Tok::RBracket) {
                    break;
                }
                self.punct(Tok::Comma, "',' or ']'")?;
            }
        }
        Ok(v)
    }

    /// `[[...], [...]]`: a list of vectors of one length, checked here.
    pub(super) fn vectors(&mut self) -> Result<MultiVector, ParseError> {
        let at = self.at();
        self.punct(
            Tok::LBracket,
            "a list of vectors '[[...], ...]', VECTOR OF 'id' or QUERY",
        )?;
        let mut list = Vec::new();
        if !self.eat(&Tok::RBracket) {
            loop {
                if self.peek() != &Tok::LBracket {
                    return Err(self.expected("a vector '[...]': this is a list of vectors"));
                }
                list.push(self.vector()?);
                if self.eat(&Tok::RBracket) {
                    break;
                }
                self.punct(Tok::Comma, "',' or ']'")?;
            }
        }
        MultiVector::new(list).map_err(|e| ParseError::new(at, e.to_string()))
    }

    /// `{index: weight, ...}`: a sparse vector, checked here (an index outside u32, an
    /// index twice, a negative or non-finite weight point at the literal).
    pub(super) fn sparse(&mut self) -> Result<SparseVector, ParseError> {
        let at = self.at();
        self.punct(Tok::LBrace, "a sparse vector '{index: weight, ...}'")?;
        let mut pairs = Vec::new();
        if !self.eat(&Tok::RBrace) {
            loop {
                let index_at = self.at();
                let index = self.number("an index (an integer from 0 to 4294967295)")?;
                if index.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&index) {
                    return Err(ParseError::new(
                        index_at,
                        format!(
                            "sparse index {index} is not an integer from 0 to {}",
                            u32::MAX
                        ),
                    ));
                }
                self.punct(Tok::Colon, "':' and a weight")?;
                let weight = self.number("a weight")?;
                pairs.push((index as i64, weight));
                if self.eat(&Tok::RBrace) {
                    break;
                }
                self.punct(Tok::Comma, "',' or '}'")?;
            }
        }
        SparseVector::from_pairs(pairs).map_err(|e| ParseError::new(at, e.to_string()))
    }

    pub(super) fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(Literal::Str(s))
            }
            Tok::Number(n) => {
                self.bump();
                Ok(Literal::Number(n))
            }
            Tok::LBracket
                if self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LBracket) =>
            {
                Ok(Literal::Vectors(self.vectors()?))
            }
            Tok::LBracket => Ok(Literal::Vector(self.vector()?)),
            Tok::LBrace => Ok(Literal::Sparse(self.sparse()?)),
            Tok::Ident(w) if w.eq_ignore_ascii_case("embed_images") => {
                self.bump();
                self.punct(Tok::LParen, "'(' after EMBED_IMAGES")?;
                let encoder = self.string("an encoder name in quotes, e.g. 'effnet'")?;
                self.punct(Tok::Comma, "','")?;
                self.punct(Tok::LBracket, "a list of image paths '['a.png', ...]'")?;
                let mut paths = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        paths.push(self.string("an image path in quotes")?);
                        if self.eat(&Tok::RBracket) {
                            break;
                        }
                        self.punct(Tok::Comma, "',' or ']'")?;
                    }
                }
                self.punct(Tok::RParen, "')'")?;
                Ok(Literal::EmbedImages { encoder, paths })
            }
            Tok::Ident(w)
                if w.eq_ignore_ascii_case("embed") || w.eq_ignore_ascii_case("embed_image") =>
            {
                match self.embed()? {
                    Some(e) => Ok(Literal::Embed(e)),
                    None => Err(self.expected("EMBED(...)")),
                }
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => {
                self.bump();
                Ok(Literal::Bool(true))
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => {
                self.bump();
                Ok(Literal::Bool(false))
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => {
                self.bump();
                Ok(Literal::Null)
            }
            _ => {
                Err(self
                    .expected("a value (text in quotes, a number, TRUE, FALSE, NULL or a vector)"))
            }
        }
    }
}
