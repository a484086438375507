//! Recursive descent over the tokens. Every error names what was expected and the
//! byte offset of the token that was found instead.

use super::ParseError;
use super::ast::*;
use super::lexer::{Tok, Token, lex};

mod ddl;
mod evaluate;
mod literal;

/// Words that cannot be bare column or collection names (quote them to use them).
const RESERVED: &[&str] = &[
    "select",
    "from",
    "where",
    "order",
    "by",
    "limit",
    "and",
    "or",
    "not",
    "in",
    "contains",
    "fuse",
    "vector",
    "of",
    "true",
    "false",
    "null",
    "create",
    "collection",
    "index",
    "on",
    "using",
    "with",
    "insert",
    "into",
    "values",
    "copy",
    "to",
    "delete",
    "explain",
    "show",
    "collections",
    "verify",
    "repair",
    "describe",
    "flush",
    "compact",
    "drop",
];

pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Parses a fusion as `FUSE(...)` writes it (`WEIGHTED(0.4, 0.6)`, `RRF(k = 60)`, ...),
/// e.g. a collection's saved default.
pub fn parse_fusion(text: &str) -> Result<FusionSpec, ParseError> {
    parse_whole(text, Parser::fusion, "the end of the fusion")
}

/// Parses a WHERE clause's condition on its own (`price < 50 AND brand = 'acme'`), as
/// programs pass filters to a search.
pub fn parse_filter(text: &str) -> Result<Expr, ParseError> {
    parse_whole(text, Parser::expr, "AND, OR or the end of the condition")
}

/// `text` parsed by `part`, which must take all of it (`after`: what may follow).
fn parse_whole<T>(
    text: &str,
    part: fn(&mut Parser) -> Result<T, ParseError>,
    after: &str,
) -> Result<T, ParseError> {
    let mut p = Parser {
        tokens: lex(text)?,
        pos: 0,
    };
    let value = part(&mut p)?;
    if p.peek() != &Tok::Eof {
        return Err(p.expected(after));
    }
    Ok(value)
}

/// Parses one or more statements separated by `;` (a trailing `;` is optional).
pub fn parse_script(sql: &str) -> Result<Vec<Statement>, ParseError> {
    let mut p = Parser {
        tokens: lex(sql)?,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        while p.eat(&Tok::Semicolon) {}
        if p.peek() == &Tok::Eof {
            return Ok(out);
        }
        out.push(p.statement()?);
        if !p.eat(&Tok::Semicolon) && p.peek() != &Tok::Eof {
            return Err(p.expected("';' or the end of the statement"));
        }
    }
}

/// Parses exactly one statement.
pub fn parse_statement(sql: &str) -> Result<Statement, ParseError> {
    let mut all = parse_script(sql)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        0 => Err(ParseError::new(0, "expected a statement".into())),
        _ => Err(ParseError::new(
            0,
            "expected one statement, found several".into(),
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn at(&self) -> usize {
        self.tokens[self.pos].at
    }

    fn bump(&mut self) -> Tok {
        let tok = self.tokens[self.pos].tok.clone();
        if tok != Tok::Eof {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        let found = match self.peek() {
            Tok::Eof => "the end of input".to_string(),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("\"{s}\""),
            Tok::Str(s) => format!("'{s}' (text)"),
            Tok::Number(n) => format!("{n}"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::Colon => "':'".into(),
            Tok::Comma => "','".into(),
            Tok::Semicolon => "';'".into(),
            Tok::Star => "'*'".into(),
            Tok::Eq => "'='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Distance => "'<->'".into(),
        };
        ParseError::new(self.at(), format!("expected {what}, found {found}"))
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn word(&mut self, word: &str) -> Result<(), ParseError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.expected(&word.to_ascii_uppercase()))
        }
    }

    fn punct(&mut self, tok: Tok, shown: &str) -> Result<(), ParseError> {
        if self.eat(&tok) {
            Ok(())
        } else {
            Err(self.expected(shown))
        }
    }

    /// A column or collection name: a non-reserved word or a quoted identifier.
    fn name(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek().clone() {
            Tok::Ident(s) if !is_reserved(&s) => {
                self.bump();
                Ok(s)
            }
            Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn number(&mut self, what: &str) -> Result<f64, ParseError> {
        match self.peek() {
            &Tok::Number(n) => {
                self.bump();
                Ok(n)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn count(&mut self, what: &str) -> Result<u64, ParseError> {
        let at = self.at();
        let n = self.number(what)?;
        if n < 0.0 || n.fract() != 0.0 || n > u32::MAX as f64 {
            return Err(ParseError::new(at, format!("expected {what}, found {n}")));
        }
        Ok(n as u64)
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        if self.eat_word("select") {
            return Ok(Statement::Select(self.select()?));
        }
        if self.eat_word("explain") {
            self.word("select")?;
            return Ok(Statement::Explain(self.select()?));
        }
        if self.eat_word("create") {
            if self.eat_word("collection") {
                return self.create_collection();
            }
            if self.eat_word("index") {
                return self.create_index();
            }
            if self.eat_word("fusion") {
                return self.create_fusion_profile();
            }
            return Err(self.expected("COLLECTION, INDEX or FUSION PROFILE"));
        }
        if self.eat_word("insert") {
            return self.insert();
        }
        if self.eat_word("copy") {
            return self.copy();
        }
        if self.eat_word("delete") {
            self.word("from")?;
            let collection = self.name("a collection name")?;
            self.word("where")?;
            let filter = self.expr()?;
            return Ok(Statement::Delete { collection, filter });
        }
        if self.eat_word("verify") {
            return Ok(Statement::Verify);
        }
        if self.eat_word("repair") {
            let drop_damaged_segments = self.eat_word("drop");
            if drop_damaged_segments {
                self.word("damaged")?;
                self.word("segments")?;
            }
            return Ok(Statement::Repair {
                drop_damaged_segments,
            });
        }
        if self.eat_word("show") {
            if self.eat_word("fusion") {
                self.word("profiles")?;
                let on = match self.eat_word("on") {
                    true => Some(self.name("a collection name")?),
                    false => None,
                };
                return Ok(Statement::ShowFusionProfiles(on));
            }
            self.word("collections")?;
            return Ok(Statement::ShowCollections);
        }
        if self.eat_word("describe") {
            return Ok(Statement::Describe(self.name("a collection name")?));
        }
        if self.eat_word("flush") {
            return Ok(Statement::Flush(self.name("a collection name")?));
        }
        if self.eat_word("compact") {
            return Ok(Statement::Compact(self.name("a collection name")?));
        }
        if self.eat_word("drop") {
            if self.eat_word("fusion") {
                self.word("profile")?;
                let name = self.name("a fusion profile name")?;
                self.word("on")?;
                let collection = self.name("a collection name")?;
                return Ok(Statement::DropFusionProfile { collection, name });
            }
            self.word("collection")?;
            return Ok(Statement::DropCollection(self.name("a collection name")?));
        }
        if self.eat_word("alter") {
            return self.alter();
        }
        if self.eat_word("reembed") {
            return self.reembed();
        }
        if self.eat_word("evaluate") {
            return self.evaluate();
        }
        Err(self.expected("a statement (SELECT, EXPLAIN, CREATE, INSERT, COPY, DELETE, SHOW, DESCRIBE, FLUSH, COMPACT, DROP, ALTER, REEMBED, EVALUATE)"))
    }

    fn select(&mut self) -> Result<Select, ParseError> {
        let what = if self.eat(&Tok::Star) {
            Projection::Star
        } else if self.is_word("count")
            && self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen)
        {
            self.bump();
            self.punct(Tok::LParen, "'('")?;
            self.punct(Tok::Star, "'*'")?;
            self.punct(Tok::RParen, "')'")?;
            Projection::Count
        } else {
            let mut cols = vec![self.name("a column name, '*' or COUNT(*)")?];
            while self.eat(&Tok::Comma) {
                cols.push(self.name("a column name")?);
            }
            Projection::Columns(cols)
        };
        self.word("from")?;
        let from = self.name("a collection name")?;
        let filter = if self.eat_word("where") {
            Some(self.expr()?)
        } else {
            None
        };
        let order = if self.eat_word("order") {
            self.word("by")?;
            Some(self.order()?)
        } else {
            None
        };
        let limit = if self.eat_word("limit") {
            Some(self.count("a row count")?)
        } else {
            None
        };
        Ok(Select {
            what,
            from,
            filter,
            order,
            limit,
        })
    }

    fn order(&mut self) -> Result<Order, ParseError> {
        if self.eat_word("fuse") {
            self.punct(Tok::LParen, "'(' after FUSE")?;
            let spec = self.fusion()?;
            let options = self.fuse_options()?;
            let mut nearest = Vec::new();
            while self.eat(&Tok::Comma) {
                nearest.push(self.nearest()?);
            }
            if nearest.is_empty() {
                return Err(self.expected("',' and a 'column <-> vector' term"));
            }
            self.punct(Tok::RParen, "')' closing FUSE")?;
            return Ok(Order::Fuse(spec, nearest, options));
        }
        Ok(Order::Distance(self.nearest()?))
    }

    /// `[NORMALIZE (NONE | MINMAX | ZSCORE | CALIBRATED)] [MISSING (SKIP | PARTIAL)]`.
    fn fuse_options(&mut self) -> Result<FuseOptions, ParseError> {
        let mut options = FuseOptions::default();
        if self.eat_word("normalize") {
            let choices = [
                ("none", NormalizeSpec::None),
                ("minmax", NormalizeSpec::MinMax),
                ("zscore", NormalizeSpec::ZScore),
                ("calibrated", NormalizeSpec::Calibrated),
            ];
            let found = choices.into_iter().find(|(w, _)| self.eat_word(w));
            options.normalize = Some(
                found
                    .ok_or_else(|| self.expected("NONE, MINMAX, ZSCORE or CALIBRATED"))?
                    .1,
            );
        }
        if self.eat_word("missing") {
            let choices = [
                ("skip", MissingSpec::Skip),
                ("partial", MissingSpec::Partial),
            ];
            let found = choices.into_iter().find(|(w, _)| self.eat_word(w));
            options.missing = Some(found.ok_or_else(|| self.expected("SKIP or PARTIAL"))?.1);
        }
        Ok(options)
    }

    fn fusion(&mut self) -> Result<FusionSpec, ParseError> {
        if self.eat_word("weighted") {
            self.punct(Tok::LParen, "'(' after WEIGHTED")?;
            let mut w = vec![self.number("a weight")?];
            while self.eat(&Tok::Comma) {
                w.push(self.number("a weight")?);
            }
            self.punct(Tok::RParen, "')'")?;
            return Ok(FusionSpec::Weighted(w));
        }
        if self.eat_word("rrf") {
            // RRF [( [k = number] [,] [LISTS] )]
            let (mut k, mut lists) = (60.0, false);
            if self.eat(&Tok::LParen) {
                if self.eat_word("k") {
                    self.punct(Tok::Eq, "'='")?;
                    k = self.number("the RRF constant k")?;
                    if self.eat(&Tok::Comma) {
                        self.word("lists")?;
                        lists = true;
                    }
                } else if self.eat_word("lists") {
                    lists = true;
                } else {
                    return Err(self.expected("k = number or LISTS"));
                }
                self.punct(Tok::RParen, "')'")?;
            }
            return Ok(match lists {
                true => FusionSpec::RrfLists(k),
                false => FusionSpec::Rrf(k),
            });
        }
        if self.eat_word("profile") {
            let name = self.name("a fusion profile name")?;
            let label = match self.eat_word("for") {
                true => Some(self.string("the query label in quotes")?),
                false => None,
            };
            return Ok(FusionSpec::Profile { name, label });
        }
        let default = FusionSpec::Profile {
            name: quiver_storage::DEFAULT_PROFILE.into(),
            label: None,
        };
        for (word, spec) in [
            ("min", FusionSpec::Min),
            ("max", FusionSpec::Max),
            ("avg", FusionSpec::Avg),
            ("default", default),
        ] {
            if self.eat_word(word) {
                return Ok(spec);
            }
        }
        Err(self.expected(
            "a fusion: WEIGHTED(...), RRF(k = ...), MIN, MAX, AVG, DEFAULT or PROFILE name",
        ))
    }

    fn nearest(&mut self) -> Result<Nearest, ParseError> {
        let call = self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen);
        if call && self.eat_word("match") {
            self.bump();
            let column = self.name("a TEXT column")?;
            self.punct(Tok::Comma, "','")?;
            let text = if self.eat_word("query") {
                None
            } else {
                Some(self.string("the text to match, in quotes, or QUERY")?)
            };
            self.punct(Tok::RParen, "')' closing MATCH")?;
            let query = QueryVector::Match(text);
            return Ok(Nearest { column, query });
        }
        if call && self.eat_word("maxsim") {
            self.bump();
            let column = self.name("a multi-vector column")?;
            self.punct(Tok::Comma, "','")?;
            let query = if self.eat_word("vector") {
                self.word("of")?;
                MaxSimQuery::Of(self.string("an item id in quotes")?)
            } else if self.eat_word("query") {
                MaxSimQuery::Query
            } else {
                MaxSimQuery::Literal(self.vectors()?)
            };
            self.punct(Tok::RParen, "')' closing MAXSIM")?;
            let query = QueryVector::MaxSim(query);
            return Ok(Nearest { column, query });
        }
        let column = self.name("a vector column")?;
        self.punct(Tok::Distance, "'<->'")?;
        let query = if self.eat_word("vector") {
            self.word("of")?;
            QueryVector::Of(self.string("an item id in quotes")?)
        } else if self.eat_word("query") {
            QueryVector::Query
        } else if let Some(embed) = self.embed()? {
            QueryVector::Embed(embed)
        } else if self.peek() == &Tok::LBrace {
            QueryVector::Sparse(self.sparse()?)
        } else {
            QueryVector::Literal(self.vector()?)
        };
        Ok(Nearest { column, query })
    }

    /// `or := and (OR and)*`, `and := not (AND not)*`, `not := NOT not | atom`.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.eat(&Tok::LParen) {
            let e = self.expr()?;
            self.punct(Tok::RParen, "')'")?;
            return Ok(e);
        }
        let column = self.name("a column name or '('")?;
        if self.eat_word("in") {
            self.punct(Tok::LParen, "'(' after IN")?;
            let mut vs = vec![self.literal()?];
            while self.eat(&Tok::Comma) {
                vs.push(self.literal()?);
            }
            self.punct(Tok::RParen, "')'")?;
            return Ok(Expr::In(column, vs));
        }
        if self.eat_word("contains") {
            return Ok(Expr::Contains(column, self.literal()?));
        }
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return Err(self.expected("a comparison (=, !=, <, <=, >, >=, IN, CONTAINS)")),
        };
        self.bump();
        Ok(Expr::Cmp(column, op, self.literal()?))
    }
}
