//! The statements that define and load data: CREATE COLLECTION (column definitions,
//! EMBED FROM rules), ALTER COLLECTION, REEMBED, CREATE INDEX, INSERT and COPY.

use super::super::ast::*;
use super::super::lexer::Tok;
use super::{ParseError, Parser};
use quiver_storage::DType;

impl Parser {
    pub(super) fn create_collection(&mut self) -> Result<Statement, ParseError> {
        let name = self.name("a collection name")?;
        self.punct(Tok::LParen, "'(' and the column list")?;
        let mut columns = Vec::new();
        loop {
            columns.push(self.column_def()?);
            if self.eat(&Tok::RParen) {
                break;
            }
            self.punct(Tok::Comma, "',' or ')'")?;
        }
        Ok(Statement::CreateCollection { name, columns })
    }

    pub(super) fn alter(&mut self) -> Result<Statement, ParseError> {
        self.word("collection")?;
        let collection = self.name("a collection name")?;
        let action = if self.eat_word("add") {
            self.word("column")?;
            AlterAction::AddColumn(self.column_def()?)
        } else if self.eat_word("drop") {
            self.word("column")?;
            AlterAction::DropColumn(self.name("a column name")?)
        } else if self.eat_word("rename") {
            self.word("column")?;
            let from = self.name("a column name")?;
            self.word("to")?;
            let to = self.name("the new column name")?;
            AlterAction::RenameColumn { from, to }
        } else if self.eat_word("replace") {
            self.word("column")?;
            let column = self.name("the column to replace")?;
            self.word("with")?;
            let with = self.name("the column that replaces it")?;
            AlterAction::ReplaceColumn { column, with }
        } else {
            return Err(self.expected("ADD COLUMN, DROP COLUMN, RENAME COLUMN or REPLACE COLUMN"));
        };
        Ok(Statement::Alter { collection, action })
    }

    pub(super) fn reembed(&mut self) -> Result<Statement, ParseError> {
        let collection = self.name("a collection name")?;
        self.punct(Tok::LParen, "'(' and a column")?;
        let column = self.name("a vector column with an EMBED rule")?;
        self.punct(Tok::RParen, "')'")?;
        Ok(Statement::Reembed { collection, column })
    }

    fn column_def(&mut self) -> Result<ColumnDef, ParseError> {
        let name = self.name("a column name")?;
        let ty = if self.eat_word("text") {
            if self.eat(&Tok::LBracket) {
                self.punct(Tok::RBracket, "']'")?;
                ColumnType::Tags
            } else {
                ColumnType::Text
            }
        } else if self.eat_word("int") {
            ColumnType::Int
        } else if self.eat_word("float") {
            ColumnType::Float
        } else if self.eat_word("bool") {
            ColumnType::Bool
        } else if self.eat_word("sparse") {
            ColumnType::Sparse
        } else if self.eat_word("vector") {
            self.punct(Tok::LParen, "'(' and a dimension")?;
            let dim = self.count("a dimension")? as u32;
            self.punct(Tok::RParen, "')'")?;
            let multi = self.eat(&Tok::LBracket);
            if multi {
                self.punct(Tok::RBracket, "']' (VECTOR(n)[] is a list of vectors)")?;
            }
            let dtype = [
                ("f32", DType::F32),
                ("f16", DType::F16),
                ("bf16", DType::Bf16),
            ]
            .into_iter()
            .find(|(name, _)| self.eat_word(name))
            .map_or(DType::F32, |(_, dtype)| dtype);
            let metric = ["cosine", "dot", "l2"]
                .into_iter()
                .find(|m| self.eat_word(m))
                .ok_or_else(|| self.expected("a metric (COSINE, DOT or L2)"))?
                .to_ascii_uppercase();
            match multi {
                true => ColumnType::MultiVector(dim, dtype, metric),
                false => ColumnType::Vector(dim, dtype, metric),
            }
        } else {
            return Err(self.expected(
                "a column type (TEXT, TEXT[], INT, FLOAT, BOOL, SPARSE, VECTOR(n) [F16|BF16] metric, VECTOR(n)[] metric)",
            ));
        };
        let nullable = if self.eat_word("not") {
            self.word("null")?;
            Some(false)
        } else if self.eat_word("null") {
            Some(true)
        } else {
            None
        };
        let embed = if self.eat_word("embed") {
            self.word("from")?;
            let from = self.name("the attribute to embed")?;
            self.word("using")?;
            let encoder = self.string("an encoder name in quotes, e.g. 'minilm'")?;
            Some(EmbedRuleDef { from, encoder })
        } else {
            None
        };
        Ok(ColumnDef {
            name,
            ty,
            nullable,
            embed,
        })
    }

    pub(super) fn create_index(&mut self) -> Result<Statement, ParseError> {
        self.word("on")?;
        let collection = self.name("a collection name")?;
        self.punct(Tok::LParen, "'(' and a column")?;
        let column = self.name("a column")?;
        self.punct(Tok::RParen, "')'")?;
        self.word("using")?;
        let kind = ["hnsw", "ivf_pq", "ivf", "flat", "bm25"]
            .into_iter()
            .find(|k| self.eat_word(k))
            .ok_or_else(|| self.expected("an index kind (HNSW, IVF_PQ, IVF, FLAT or BM25)"))?
            .to_ascii_uppercase();
        let mut with = Vec::new();
        if self.eat_word("with") {
            self.punct(Tok::LParen, "'('")?;
            loop {
                let key = self.name("a parameter name")?;
                self.punct(Tok::Eq, "'='")?;
                let at = self.at();
                let value = match self.literal()? {
                    v @ (Literal::Number(_) | Literal::Str(_)) => v,
                    _ => return Err(ParseError::new(at, "expected a number or a string".into())),
                };
                with.push((key, value));
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.punct(Tok::Comma, "',' or ')'")?;
            }
        }
        Ok(Statement::CreateIndex {
            collection,
            column,
            kind,
            with,
        })
    }

    pub(super) fn insert(&mut self) -> Result<Statement, ParseError> {
        self.word("into")?;
        let collection = self.name("a collection name")?;
        self.punct(Tok::LParen, "'(' and the column list")?;
        let mut columns = vec![self.name("a column name")?];
        while self.eat(&Tok::Comma) {
            columns.push(self.name("a column name")?);
        }
        self.punct(Tok::RParen, "')'")?;
        self.word("values")?;
        let mut rows = Vec::new();
        loop {
            let at = self.at();
            self.punct(Tok::LParen, "'(' and a row of values")?;
            let mut row = vec![self.literal()?];
            while self.eat(&Tok::Comma) {
                row.push(self.literal()?);
            }
            self.punct(Tok::RParen, "')'")?;
            if row.len() != columns.len() {
                return Err(ParseError::new(
                    at,
                    format!("{} values for {} columns", row.len(), columns.len()),
                ));
            }
            rows.push(row);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(Statement::Insert {
            collection,
            columns,
            rows,
        })
    }

    pub(super) fn copy(&mut self) -> Result<Statement, ParseError> {
        let collection = self.name("a collection name")?;
        if self.eat_word("to") {
            let path = self.string("a file path in quotes")?;
            return Ok(Statement::CopyTo { collection, path });
        }
        let column = if self.eat(&Tok::LParen) {
            let c = self.name("a column name")?;
            self.punct(Tok::RParen, "')'")?;
            Some(c)
        } else {
            None
        };
        self.word("from")?;
        let path = self.string("a file path in quotes")?;
        Ok(Statement::CopyFrom {
            collection,
            column,
            path,
        })
    }
}
