//! Encoder calls in statements: `EMBED('minilm', 'text')` and
//! `EMBED_IMAGE('effnet', 'path')` as INSERT values and as query vectors. Each column
//! records the encoder that first filled it ([`EncoderTag`] in the schema); an INSERT or
//! query that would embed with another encoder is refused with both names, since
//! vectors of two models are not comparable.

use std::path::Path;

use quiver_encode::{EncodeError, Encoder, Registry};
use quiver_query::sql::Embed;
use quiver_storage::{EncoderTag, Error, Result, Schema};

use crate::database::Database;

fn encode_error(e: EncodeError) -> Error {
    Error::InvalidArgument(e.to_string())
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
    pub(crate) fn embed_for_column(
        &self,
        schema: &Schema,
        column: &str,
        calls: &[&Embed],
    ) -> Result<(Vec<Vec<f32>>, EncoderTag)> {
        let (_, col) = schema.column(column)?;
        let shape = col.expect_vector()?;
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

    /// Records `tag` on `column` of `collection` unless it is there already.
    pub(crate) fn record_encoder(
        &self,
        collection: &str,
        column: &str,
        tag: &EncoderTag,
    ) -> Result<()> {
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
