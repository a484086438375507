//! JSON lines in and out: one JSON object per line, `id` plus columns; vectors as
//! arrays of numbers, tags as arrays of text, sparse vectors as `{"indices": [...],
//! "values": [...]}` (also read as an `{"index": weight}` object), NULL columns left
//! out on export. A key written twice (a column, or an index of a sparse object) is
//! an error, never a silent "last one wins".

use std::io::Write;
use std::path::Path;

use quiver_storage::{AttrType, Error, Item, MultiVector, Result, Schema, SparseVector, Value};

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
        let object: Entries<&serde_json::value::RawValue> =
            serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let mut id = None;
        let mut values: Vec<(String, Value)> = Vec::new();
        for (key, raw) in object.0 {
            if values.iter().any(|(k, _)| *k == key) || (key == "id" && id.is_some()) {
                return Err(at(format!("\"{key}\" appears twice")));
            }
            if key == "id" {
                let text: serde_json::Value =
                    serde_json::from_str(raw.get()).map_err(|e| at(e.to_string()))?;
                id = Some(
                    text.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| at("no text \"id\"".into()))?,
                );
                continue;
            }
            let value = json_value(&schema, &key, raw.get()).map_err(|e| at(e.to_string()))?;
            values.push((key, value));
        }
        let id = id.ok_or_else(|| at("no text \"id\"".into()))?;
        let item = Item { id, values };
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
                Value::Vectors(v) => json(&mut line, &v)?,
                Value::Sparse(v) => json(&mut line, &v)?,
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
/// A column's value from its JSON text.
fn json_value(schema: &Schema, column: &str, raw: &str) -> Result<Value> {
    use serde_json::Value as J;
    let (_, c) = schema.column(column)?;
    let parse_error = |e: serde_json::Error| Error::InvalidArgument(format!("{column}: {e}"));
    let ty = c.attr().map(|a| a.ty);
    if ty == Some(AttrType::Sparse) && raw.trim() != "null" {
        let entries: Entries<J> = serde_json::from_str(raw).map_err(parse_error)?;
        return sparse_value(column, entries).map(Value::Sparse);
    }
    let v: J = serde_json::from_str(raw).map_err(parse_error)?;
    let mismatch = || Error::TypeMismatch {
        column: column.to_string(),
        expected: c.type_name(),
        got: v.to_string(),
    };
    let numbers = |xs: &Vec<J>| -> Result<Vec<f32>> {
        xs.iter()
            .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(mismatch))
            .collect()
    };
    if c.multi().is_some()
        && let J::Array(list) = &v
    {
        let vectors = list
            .iter()
            .map(|x| match x {
                J::Array(xs) => numbers(xs),
                _ => Err(mismatch()),
            })
            .collect::<Result<Vec<_>>>()?;
        return MultiVector::new(vectors)
            .map(Value::Vectors)
            .map_err(|e| Error::InvalidArgument(format!("{column}: {e}")));
    }
    Ok(match (&v, ty) {
        (J::Null, _) => Value::Null,
        (J::Array(xs), None) => Value::Vector(numbers(xs)?),
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

/// A sparse vector from `{"indices": [...], "values": [...]}` or `{"12": 0.5, ...}`.
fn sparse_value(column: &str, entries: Entries<serde_json::Value>) -> Result<SparseVector> {
    let bad = |what: String| Error::InvalidArgument(format!("{column}: {what}"));
    let keys: Vec<&str> = entries.0.iter().map(|(k, _)| k.as_str()).collect();
    if keys.contains(&"indices") || keys.contains(&"values") {
        let field = |name: &str| {
            let found: Vec<&serde_json::Value> = entries
                .0
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v)
                .collect();
            match found.as_slice() {
                [serde_json::Value::Array(xs)] => Ok(xs),
                _ => Err(bad(format!(
                    "a sparse vector is {{\"indices\": [...], \"values\": [...]}}: \"{name}\" must be one array"
                ))),
            }
        };
        let (indices, values) = (field("indices")?, field("values")?);
        if keys.len() != 2 {
            return Err(bad(
                "a sparse vector has only \"indices\" and \"values\"".into()
            ));
        }
        if indices.len() != values.len() {
            return Err(bad(format!(
                "{} indices but {} values",
                indices.len(),
                values.len()
            )));
        }
        let pairs = indices
            .iter()
            .zip(values)
            .map(|(i, w)| match (i.as_i64(), w.as_f64()) {
                (Some(i), Some(w)) => Ok((i, w)),
                _ => Err(bad(format!(
                    "index {i} or weight {w} is not a number of its kind"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        return SparseVector::from_pairs(pairs).map_err(|e| bad(e.to_string()));
    }
    let pairs = entries
        .0
        .iter()
        .map(|(k, w)| match (k.parse::<i64>(), w.as_f64()) {
            (Ok(i), Some(w)) => Ok((i, w)),
            (Err(_), _) => Err(bad(format!("sparse index \"{k}\" is not an integer"))),
            (_, None) => Err(bad(format!("index {k}: weight {w} is not a number"))),
        })
        .collect::<Result<Vec<_>>>()?;
    SparseVector::from_pairs(pairs).map_err(|e| bad(e.to_string()))
}

/// A JSON object's entries in file order, a key written twice kept twice (a map would
/// keep only the last).
struct Entries<T>(Vec<(String, T)>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}
