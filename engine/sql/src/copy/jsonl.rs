//! JSON lines in and out: one JSON object per line, `id` plus columns; vectors as
//! arrays of numbers, tags as arrays of text, NULL columns left out on export.

use std::io::Write;
use std::path::Path;

use quiver_storage::{AttrType, Error, Item, Result, Schema, Value};

use quiver::Collection;
use quiver::CollectionSnapshot;
use quiver::WriteBatch;

use super::{Progress, bad, read};

/// Loads items from a JSON-lines file; returns how many.
pub(super) fn items_from_jsonl(c: &Collection, path: &Path, progress: &Progress) -> Result<usize> {
    let schema = c.schema()?;
    let text = String::from_utf8(read(path)?).map_err(|_| bad(path, "not UTF-8".into()))?;
    let mut batch = WriteBatch::new();
    let mut n = 0;
    progress.begin("reading lines", text.lines().count() as u64);
    for (i, line) in text.lines().enumerate() {
        progress.advance(1);
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: String| bad(path, format!("line {}: {what}", i + 1));
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let id = object
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| at("no text \"id\"".into()))?;
        let mut item = Item::new(id);
        for (key, value) in object.iter().filter(|(k, _)| *k != "id") {
            item = item.set(
                key,
                json_value(&schema, key, value).map_err(|e| at(e.to_string()))?,
            );
        }
        batch.insert(item);
        n += 1;
    }
    progress.begin(format!("committing {n} items"), 0);
    c.commit(batch)?;
    Ok(n)
}

/// Writes one JSON object per item: `id`, then every non-NULL column (vectors in
/// their shortest round-tripping decimal form).
pub(super) fn items_to_jsonl(
    snap: &CollectionSnapshot,
    out: &mut impl Write,
    path: &Path,
    progress: &Progress,
) -> Result<usize> {
    let schema = snap.schema();
    let mut n = 0;
    let mut line: Vec<u8> = Vec::new();
    for item in snap.scan() {
        line.clear();
        line.extend_from_slice(b"{\"id\":");
        json(&mut line, item.id()?)?;
        for column in schema.columns() {
            let value = item.value(&column.name)?;
            if value.is_null() {
                continue;
            }
            line.push(b',');
            json(&mut line, &column.name)?;
            line.push(b':');
            match value {
                Value::Bool(b) => json(&mut line, &b)?,
                Value::Int(i) => json(&mut line, &i)?,
                Value::Float(x) => json(&mut line, &x)?,
                Value::Text(s) => json(&mut line, &s)?,
                Value::Tags(tags) => json(&mut line, &tags)?,
                Value::Vector(v) => json(&mut line, &v)?,
                Value::Null => line.extend_from_slice(b"null"),
            }
        }
        line.extend_from_slice(b"}\n");
        out.write_all(&line).map_err(|e| Error::io(path, e))?;
        n += 1;
        progress.advance(1);
    }
    Ok(n)
}

fn json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) -> Result<()> {
    serde_json::to_writer(out, value).map_err(|e| Error::InvalidArgument(e.to_string()))
}
fn json_value(schema: &Schema, column: &str, v: &serde_json::Value) -> Result<Value> {
    use serde_json::Value as J;
    let (_, c) = schema.column(column)?;
    let mismatch = || Error::TypeMismatch {
        column: column.to_string(),
        expected: c.type_name(),
        got: v.to_string(),
    };
    Ok(match (v, c.attr().map(|a| a.ty)) {
        (J::Null, _) => Value::Null,
        (J::Array(xs), None) => Value::Vector(
            xs.iter()
                .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(mismatch))
                .collect::<Result<_>>()?,
        ),
        (J::Array(xs), Some(AttrType::Tags)) => Value::Tags(
            xs.iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(mismatch))
                .collect::<Result<_>>()?,
        ),
        (J::String(s), Some(AttrType::Text)) => Value::Text(s.clone()),
        (J::Bool(b), Some(AttrType::Bool)) => Value::Bool(*b),
        (J::Number(x), Some(AttrType::Int)) => Value::Int(x.as_i64().ok_or_else(mismatch)?),
        (J::Number(x), Some(AttrType::Float)) => Value::Float(x.as_f64().ok_or_else(mismatch)?),
        _ => return Err(mismatch()),
    })
}
