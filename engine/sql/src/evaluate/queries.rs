//! Labelled queries from a JSON-lines file: `{"qid": "q1", "text": "bold serif" |
//! "query_item": "item-id", "qrels": {"item-id": 2, ...}, "label": "..." | "kind": "..."}`.
//! A malformed line is an error naming its line number. Judgements may instead come
//! from a TREC qrels file (`qid iteration item grade` per line, whitespace-separated),
//! which replaces the JSON ones of the queries it names.

use std::path::Path;

use quiver_query::eval::Qrels;
use quiver_storage::{Error, Result};

/// What a query searches with.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryInput {
    /// Text, embedded by each column's encoder.
    Text(String),
    /// An item of the collection: its own vectors.
    Item(String),
}

/// One labelled query.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledQuery {
    pub qid: String,
    /// The group it is reported in (`label`, else `kind`, else empty).
    pub label: String,
    pub input: QueryInput,
    pub qrels: Qrels,
}

#[derive(serde::Deserialize)]
struct Line {
    qid: serde_json::Value,
    text: Option<String>,
    query_item: Option<String>,
    #[serde(default)]
    qrels: std::collections::HashMap<String, serde_json::Value>,
    label: Option<String>,
    kind: Option<String>,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Replaces the judgements of every query that the TREC qrels file `path` names.
pub fn apply_trec_qrels(queries: &mut [LabelledQuery], path: &Path) -> Result<()> {
    let mut by_qid: std::collections::HashMap<String, Qrels> = std::collections::HashMap::new();
    for (n, line) in read(path)?.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            Error::InvalidArgument(format!(
                "{} line {}: {why} (want: qid iteration item grade)",
                path.display(),
                n + 1
            ))
        };
        let [qid, _, item, grade] = fields[..] else {
            return Err(bad("not 4 fields"));
        };
        let grade: i64 = grade
            .parse()
            .map_err(|_| bad("the grade is not an integer"))?;
        // TREC uses negative grades for "judged, not relevant".
        let grade = u32::try_from(grade.max(0)).map_err(|_| bad("grade out of range"))?;
        by_qid
            .entry(qid.to_string())
            .or_default()
            .insert(item.to_string(), grade);
    }
    for q in queries {
        if let Some(qrels) = by_qid.remove(&q.qid) {
            q.qrels = qrels;
        }
    }
    Ok(())
}

/// Reads the queries of `path`.
pub fn read_queries(path: &Path) -> Result<Vec<LabelledQuery>> {
    parse_queries(&read(path)?, &path.display().to_string())
}

/// The queries of `text`, in the queries file's JSON-lines format; errors name `source`
/// and the line.
pub fn parse_queries(text: &str, source: &str) -> Result<Vec<LabelledQuery>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::InvalidArgument(format!("{source} line {}: {why}", n + 1));
        let line: Line = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let qid = match line.qid {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(bad(format!(
                    "qid must be a string or a number, not {other}"
                )));
            }
        };
        let input = match (line.text, line.query_item) {
            (Some(t), None) => QueryInput::Text(t),
            (None, Some(id)) => QueryInput::Item(id),
            _ => return Err(bad("give exactly one of \"text\" and \"query_item\"".into())),
        };
        let mut qrels = Qrels::new();
        for (id, grade) in line.qrels {
            let g = grade
                .as_u64()
                .and_then(|g| u32::try_from(g).ok())
                .ok_or_else(|| bad(format!("grade of {id} must be an integer ≥ 0, not {grade}")))?;
            qrels.insert(id, g);
        }
        out.push(LabelledQuery {
            qid,
            label: line.label.or(line.kind).unwrap_or_default(),
            input,
            qrels,
        });
    }
    Ok(out)
}
