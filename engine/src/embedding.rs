//! Encoder calls in statements: `EMBED('minilm', 'text')` and
//! `EMBED_IMAGE('effnet', 'path')` as INSERT values and as query vectors. Each column
//! records the encoder that first filled it ([`EncoderTag`] in the schema); an INSERT or
//! query that would embed with another encoder is refused with both names, since
//! vectors of two models are not comparable.

use std::path::Path;

use quiver_encode::{EncodeError, Encoder, Modality, Registry};
use quiver_query::sql::Embed;
use quiver_storage::{EncoderTag, Error, Result, Schema, Value};

use crate::batch::WriteBatch;
use crate::database::Database;

/// Texts per encoder call when a rule fills a column (one progress step each).
const RULE_CHUNK: usize = 256;

/// An encoder's error as the engine's (`Error::Encoder`).
pub fn encode_error(e: EncodeError) -> Error {
    Error::Encoder(e.to_string())
}

/// The tag an encoder leaves on the columns it fills.
pub fn tag_of(encoder: &dyn Encoder) -> EncoderTag {
    let info = encoder.info();
    EncoderTag {
        name: info.name.clone(),
        model_id: info.model_id.clone(),
        version: info.version.clone(),
        preprocessing: info.preprocessing.clone(),
    }
}

impl Database {
    /// The encoders `EMBED(...)` calls by name (loaded on first use from the models
    /// folder; see `quiver_encode::models_dir`).
    pub fn encoders(&self) -> &Registry {
        &self.shared.encoders
    }

    /// The vectors of `calls` (all naming one encoder) for vector column `column`, and
    /// the encoder's tag; refused when the column records another encoder.
    pub fn embed_for_column(
        &self,
        schema: &Schema,
        column: &str,
        calls: &[&Embed],
    ) -> Result<(Vec<Vec<f32>>, EncoderTag)> {
        let (_, col) = schema.column(column)?;
        let shape = col.expect_vector_shape()?;
        let Some(first) = calls.first() else {
            return Err(Error::InvalidArgument("no EMBED call".into()));
        };
        if let Some(other) = calls.iter().find(|c| c.encoder != first.encoder) {
            return Err(Error::InvalidArgument(format!(
                "column {column}: one statement embeds with {} and {}",
                first.encoder, other.encoder
            )));
        }
        let encoder = self.encoders().get(&first.encoder).map_err(encode_error)?;
        let tag = tag_of(encoder.as_ref());
        if let Some(recorded) = &col.encoder
            && (recorded.name != tag.name
                || recorded.model_id != tag.model_id
                || recorded.version != tag.version)
        {
            return Err(Error::InvalidArgument(format!(
                "column {column} holds vectors of {recorded}; {tag} would give vectors of another model"
            )));
        }
        let texts: Vec<&str> = calls
            .iter()
            .filter(|c| !c.image)
            .map(|c| c.input.as_str())
            .collect();
        let paths: Vec<&Path> = calls
            .iter()
            .filter(|c| c.image)
            .map(|c| Path::new(c.input.as_str()))
            .collect();
        let (texts_v, images_v) = (
            match texts.is_empty() {
                true => Vec::new(),
                false => encoder.encode_texts(&texts).map_err(encode_error)?,
            },
            match paths.is_empty() {
                true => Vec::new(),
                false => encoder.encode_images(&paths).map_err(encode_error)?,
            },
        );
        if let Some(v) = texts_v
            .iter()
            .chain(&images_v)
            .find(|v| v.len() != shape.dim as usize)
        {
            return Err(Error::DimensionMismatch {
                column: column.to_string(),
                expected: shape.dim as usize,
                got: v.len(),
            });
        }
        // Back in call order.
        let (mut t, mut i) = (texts_v.into_iter(), images_v.into_iter());
        let vectors = calls
            .iter()
            .map(|c| if c.image { i.next() } else { t.next() })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{} returned too few vectors", tag.name))
            })?;
        Ok((vectors, tag))
    }

    /// Checks at CREATE time that `encoder` exists, reads text and gives vectors of
    /// `column`'s dimension (loading it once).
    pub fn check_embed_rule(&self, schema: &Schema, column: &str, encoder: &str) -> Result<()> {
        let (_, col) = schema.column(column)?;
        let shape = col.expect_vector()?;
        let e = self.encoders().get(encoder).map_err(encode_error)?;
        let info = e.info();
        if !info.modality.reads(Modality::Text) {
            return Err(Error::InvalidArgument(format!(
                "EMBED FROM needs a text encoder; {encoder} reads {}",
                info.modality
            )));
        }
        if info.dim != shape.dim as usize {
            return Err(Error::DimensionMismatch {
                column: column.to_string(),
                expected: shape.dim as usize,
                got: info.dim,
            });
        }
        Ok(())
    }

    /// Fills the vector columns that have an embed rule on every insert, upsert and
    /// update of `batch` that gives the rule's text but not the vector (in chunks of
    /// [`RULE_CHUNK`] texts, reported to the database's progress).
    pub(crate) fn apply_embed_rules(
        &self,
        collection: &str,
        mut batch: WriteBatch,
    ) -> Result<WriteBatch> {
        let schema = self.collection(collection)?.schema()?;
        for column in schema.columns() {
            let Some(rule) = &column.embed else {
                continue;
            };
            let need: Vec<(usize, String)> = batch
                .ops
                .iter()
                .enumerate()
                .filter_map(|(i, op)| {
                    let item = op.item()?;
                    let sets_vector = item.values.iter().any(|(n, _)| *n == column.name);
                    let text = item.values.iter().find_map(|(n, v)| match v {
                        Value::Text(t) if *n == rule.from => Some(t.clone()),
                        _ => None,
                    })?;
                    (!sets_vector).then_some((i, text))
                })
                .collect();
            if need.is_empty() {
                continue;
            }
            let mut filled = Vec::with_capacity(need.len());
            self.embed_in_chunks(
                format!("{collection}.{}", column.name),
                format!("embedding {} with {}", rule.from, rule.encoder),
                (&schema, &column.name, &rule.encoder),
                &need,
                |chunk, vectors| {
                    filled.extend(chunk.iter().map(|(i, _)| *i).zip(vectors));
                    Ok(())
                },
            )?;
            let encoder = self.encoders().get(&rule.encoder).map_err(encode_error)?;
            self.record_encoder(collection, &column.name, &tag_of(encoder.as_ref()))?;
            for (i, vector) in filled {
                if let Some(item) = batch.ops[i].item_mut() {
                    item.values
                        .push((column.name.clone(), Value::Vector(vector)));
                }
            }
        }
        Ok(batch)
    }

    /// Embeds the texts of `todo` (each with a key) for vector column `target.1` of
    /// schema `target.0` with encoder `target.2`, [`RULE_CHUNK`] texts per encoder call,
    /// reported to the database's progress as `stage` under `context`; `each` gets
    /// every chunk with its vectors, in order, on this thread while the next chunk
    /// encodes on another (a backfill commits one chunk while encoding the next).
    pub fn embed_in_chunks<K: Sync>(
        &self,
        context: String,
        stage: String,
        (schema, column, encoder): (&Schema, &str, &str),
        todo: &[(K, String)],
        mut each: impl FnMut(&[(K, String)], Vec<Vec<f32>>) -> Result<()>,
    ) -> Result<()> {
        let progress = &self.shared.progress;
        progress.set_context(context);
        progress.begin(stage, todo.len() as u64);
        let chunks: Vec<&[(K, String)]> = todo.chunks(RULE_CHUNK).collect();
        let encode = |chunk: &[(K, String)]| {
            let calls: Vec<Embed> = chunk
                .iter()
                .map(|(_, text)| Embed {
                    encoder: encoder.to_string(),
                    input: text.clone(),
                    image: false,
                })
                .collect();
            let refs: Vec<&Embed> = calls.iter().collect();
            Ok(self.embed_for_column(schema, column, &refs)?.0)
        };
        let result = one_ahead(&chunks, encode, |chunk, vectors| {
            each(chunk, vectors)?;
            progress.advance(chunk.len() as u64);
            Ok(())
        });
        progress.end();
        progress.set_context("");
        result
    }

    /// Records `tag` on `column` of `collection` unless it is there already.
    pub fn record_encoder(&self, collection: &str, column: &str, tag: &EncoderTag) -> Result<()> {
        let schema = self.collection(collection)?.schema()?;
        let (_, col) = schema.column(column)?;
        if col.encoder.as_ref() == Some(tag) {
            return Ok(());
        }
        self.alter(collection, |schema, _| {
            schema.with_encoder(column, Some(tag.clone()))
        })
    }
}

/// Runs `produce` on each chunk on a scoped thread, one chunk ahead of `consume`,
/// which gets the results in order on this thread: `produce(i + 1)` overlaps
/// `consume(i)`. The rendezvous channel holds no result, so at most one chunk's
/// result waits. The first error of either side is returned and stops both (the
/// producer's next hand-over fails once the receiver is gone).
fn one_ahead<C: Sync + ?Sized, T: Send>(
    chunks: &[&C],
    produce: impl Fn(&C) -> Result<T> + Sync,
    mut consume: impl FnMut(&C, T) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (results, received) = std::sync::mpsc::sync_channel(0);
        let produce = &produce;
        scope.spawn(move || {
            for chunk in chunks {
                let result = produce(chunk);
                let failed = result.is_err();
                if results.send(result).is_err() || failed {
                    return;
                }
            }
        });
        for chunk in chunks {
            // A closed channel means the producer panicked; the scope re-raises it.
            let Ok(result) = received.recv() else {
                break;
            };
            consume(chunk, result?)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

    use super::one_ahead;
    use quiver_storage::{Error, Result};

    fn wait(signal: &Mutex<Receiver<()>>, what: &str) -> Result<()> {
        let got = signal.lock().unwrap().recv_timeout(Duration::from_secs(20));
        got.map_err(|_| Error::InvalidArgument(format!("timed out waiting for {what}")))
    }

    /// Chunk 1's consumer waits until chunk 2's producer has started: run one after
    /// the other, this would time out.
    #[test]
    fn the_next_chunk_is_produced_while_one_is_consumed() {
        let (started, second_started): (Sender<()>, Receiver<()>) = channel();
        let started = Mutex::new(started);
        let second_started = Mutex::new(second_started);
        let chunks: Vec<&[u32]> = vec![&[1, 2], &[3], &[4, 5, 6]];
        let mut seen = Vec::new();
        one_ahead(
            &chunks,
            |c: &[u32]| {
                if c[0] == 3 {
                    started.lock().unwrap().send(()).unwrap();
                }
                Ok(c.iter().sum::<u32>())
            },
            |c, sum| {
                if c[0] == 1 {
                    wait(&second_started, "the second chunk's producer")?;
                }
                seen.push(sum);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, [3, 3, 15]);
    }

    /// An error on either side is returned and nothing after it runs.
    #[test]
    fn the_first_error_stops_both_sides() {
        let chunks: Vec<&[u32]> = vec![&[1], &[2], &[3], &[4]];
        let produced = Mutex::new(Vec::new());
        let mut consumed = Vec::new();
        let err = one_ahead(
            &chunks,
            |c: &[u32]| {
                produced.lock().unwrap().push(c[0]);
                match c[0] {
                    3 => Err(Error::InvalidArgument("bad chunk".into())),
                    n => Ok(n),
                }
            },
            |_, n| {
                consumed.push(n);
                Ok(())
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad chunk"));
        assert_eq!(consumed, [1, 2]);
        assert_eq!(*produced.lock().unwrap(), [1, 2, 3]);

        let mut consumed = Vec::new();
        let err = one_ahead(
            &chunks,
            |c: &[u32]| Ok(c[0]),
            |_, n| {
                consumed.push(n);
                match n {
                    2 => Err(Error::InvalidArgument("commit failed".into())),
                    _ => Ok(()),
                }
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("commit failed"));
        assert_eq!(consumed, [1, 2]);
    }
}
