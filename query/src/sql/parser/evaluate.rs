//! EVALUATE (labelled queries, sweeps, tuning, plots, saving the best fusion),
//! EVALUATE RECALL, and CREATE FUSION PROFILE (what tuning saves, written by hand).

use super::super::ast::*;
use super::super::lexer::Tok;
use super::{ParseError, Parser};

impl Parser {
    /// `EVALUATE name USING 'file' ORDER BY order [AT k] [PER QUERY]`.
    pub(super) fn evaluate(&mut self) -> Result<Statement, ParseError> {
        if self.eat_word("recall") {
            return self.evaluate_recall();
        }
        let collection = self.name("a collection name")?;
        self.word("using")?;
        let queries = self.string("the labelled queries' file in quotes")?;
        let qrels = if self.eat_word("qrels") {
            Some(self.string("a TREC qrels file in quotes")?)
        } else {
            None
        };
        self.word("order")?;
        self.word("by")?;
        let order = self.order()?;
        let k = if self.eat_word("at") {
            self.count("the cut-off K")?
        } else {
            10
        };
        let per_query = self.eat_word("per");
        if per_query {
            self.word("query")?;
        }
        let sweep = if self.eat_word("sweep") {
            Some(self.sweep()?)
        } else {
            None
        };
        let mut tune = match sweep.is_none() && self.eat_word("tune") {
            true => Some(self.tune()?),
            false => None,
        };
        let plot = if (sweep.is_some() || tune.is_some()) && self.eat_word("plot") {
            Some(self.string("the plot's file name in quotes, e.g. 'alpha.png'")?)
        } else {
            None
        };
        let mut save_best = false;
        if sweep.is_some() && self.eat_word("save") {
            self.word("best")?;
            save_best = true;
        }
        if let Some(t) = tune.as_mut()
            && self.eat_word("save")
        {
            self.word("as")?;
            t.save_as = Some(self.name("the fusion profile's name")?);
        }
        Ok(Statement::Evaluate(Evaluate {
            collection,
            queries,
            qrels,
            order,
            k,
            per_query,
            sweep,
            tune,
            plot,
            save_best,
        }))
    }

    /// `WEIGHTS [PER LABEL] [FOLDS n]` after TUNE (SAVE AS comes after PLOT).
    fn tune(&mut self) -> Result<Tune, ParseError> {
        self.word("weights")?;
        let per_label = self.eat_word("per");
        if per_label {
            self.word("label")?;
        }
        let folds = match self.eat_word("folds") {
            true => self.count("the number of folds")?,
            false => 5,
        };
        Ok(Tune {
            per_label,
            folds,
            save_as: None,
        })
    }

    /// `EVALUATE RECALL c (column) [AT k] [SAMPLE n] [EF (..) | NPROBE (..) | TARGET (..)]`.
    fn evaluate_recall(&mut self) -> Result<Statement, ParseError> {
        let collection = self.name("a collection name")?;
        self.punct(Tok::LParen, "'(' and a vector column")?;
        let column = self.name("a vector column")?;
        self.punct(Tok::RParen, "')'")?;
        let k = if self.eat_word("at") {
            self.count("the cut-off K")?
        } else {
            10
        };
        let sample = if self.eat_word("sample") {
            self.count("the number of sample queries")?
        } else {
            200
        };
        let list = |p: &mut Self, what: &str| -> Result<Vec<f64>, ParseError> {
            p.punct(Tok::LParen, "'(' and values")?;
            let mut v = vec![p.number(what)?];
            while p.eat(&Tok::Comma) {
                v.push(p.number(what)?);
            }
            p.punct(Tok::RParen, "')'")?;
            Ok(v)
        };
        let counts = |v: Vec<f64>| v.into_iter().map(|x| x.max(1.0) as u64).collect();
        let settings = if self.eat_word("ef") {
            RecallSettings::Ef(counts(list(self, "an ef")?))
        } else if self.eat_word("nprobe") {
            RecallSettings::Nprobe(counts(list(self, "an nprobe")?))
        } else if self.eat_word("target") {
            RecallSettings::Target(list(self, "a recall target")?)
        } else {
            RecallSettings::Default
        };
        Ok(Statement::EvaluateRecall(EvaluateRecall {
            collection,
            column,
            k,
            sample,
            settings,
        }))
    }

    /// `ALPHA [STEP s] | RRF K (k, ...) | COLUMNS` after SWEEP.
    fn sweep(&mut self) -> Result<Sweep, ParseError> {
        if self.eat_word("alpha") {
            let step = if self.eat_word("step") {
                let at = self.at();
                let s = self.number("the alpha step")?;
                if !(s > 0.0 && s <= 1.0) {
                    return Err(ParseError::new(
                        at,
                        format!("the alpha step must be in (0, 1], not {s}"),
                    ));
                }
                s
            } else {
                0.1
            };
            return Ok(Sweep::Alpha { step });
        }
        if self.eat_word("rrf") {
            self.word("k")?;
            self.punct(Tok::LParen, "'(' and the k values")?;
            let mut ks = vec![self.number("an RRF k")?];
            while self.eat(&Tok::Comma) {
                ks.push(self.number("an RRF k")?);
            }
            self.punct(Tok::RParen, "')'")?;
            return Ok(Sweep::RrfK(ks));
        }
        if self.eat_word("columns") {
            return Ok(Sweep::Columns);
        }
        Err(self.expected("ALPHA, RRF K (...) or COLUMNS after SWEEP"))
    }

    /// `PROFILE name [FOR 'label'] ON c AS FUSE(fusion [NORMALIZE ...], column, ...)`
    /// after CREATE FUSION.
    pub(super) fn create_fusion_profile(&mut self) -> Result<Statement, ParseError> {
        self.word("profile")?;
        let name = self.name("the fusion profile's name")?;
        let label = match self.eat_word("for") {
            true => Some(self.string("the query label in quotes")?),
            false => None,
        };
        self.word("on")?;
        let collection = self.name("a collection name")?;
        self.word("as")?;
        self.word("fuse")?;
        self.punct(Tok::LParen, "'(' after FUSE")?;
        let at = self.at();
        let fusion = self.fusion()?;
        if matches!(fusion, FusionSpec::Profile { .. }) {
            return Err(ParseError::new(
                at,
                "a fusion profile holds a fusion (WEIGHTED, RRF, MIN, MAX, AVG), not another profile"
                    .into(),
            ));
        }
        let at = self.at();
        let options = self.fuse_options()?;
        if options.missing.is_some() {
            return Err(ParseError::new(
                at,
                "a fusion profile keeps NORMALIZE only; MISSING belongs to each query".into(),
            ));
        }
        let mut columns = Vec::new();
        while self.eat(&Tok::Comma) {
            columns.push(self.name("a column name")?);
        }
        if columns.is_empty() {
            return Err(self.expected("',' and the columns the fusion is for"));
        }
        self.punct(Tok::RParen, "')' closing FUSE")?;
        Ok(Statement::CreateFusionProfile(FusionProfileDef {
            collection,
            name,
            label,
            fusion,
            columns,
            options,
        }))
    }
}
