//! A Hugging Face `CLIPModel` config.json mapped onto candle's CLIP configs. Fields a
//! config leaves out take transformers' defaults (those of openai/clip-vit-base-patch32);
//! older configs' `text_config_dict` / `vision_config_dict` override the plain ones, as
//! transformers does. What candle's CLIP cannot run (another activation, another layer
//! norm epsilon, another vocabulary) is refused here rather than run wrongly.

use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::clip::vision_model::ClipVisionConfig;
use serde::Deserialize;
use serde_json::Value;

use super::bpe::{MAX_TOKENS, VOCAB_SIZE};

/// The towers' shapes, and what identifies the model.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub text: ClipTextConfig,
    pub vision: ClipVisionConfig,
    /// The shared output dimension.
    pub projection_dim: usize,
    /// `_name_or_path`, when the config records one.
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct Top {
    #[serde(rename = "_name_or_path", default)]
    name: Option<String>,
    #[serde(default = "d512")]
    projection_dim: usize,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default = "vocab")]
    vocab_size: usize,
    #[serde(default = "d512")]
    hidden_size: usize,
    #[serde(default = "d2048")]
    intermediate_size: usize,
    #[serde(default = "d12")]
    num_hidden_layers: usize,
    #[serde(default = "d8")]
    num_attention_heads: usize,
    #[serde(default = "d77")]
    max_position_embeddings: usize,
    #[serde(default = "quick_gelu")]
    hidden_act: String,
    #[serde(default = "eps")]
    layer_norm_eps: f64,
}

#[derive(Deserialize)]
struct Vision {
    #[serde(default = "d768")]
    hidden_size: usize,
    #[serde(default = "d3072")]
    intermediate_size: usize,
    #[serde(default = "d12")]
    num_hidden_layers: usize,
    #[serde(default = "d12")]
    num_attention_heads: usize,
    #[serde(default = "d3")]
    num_channels: usize,
    #[serde(default = "d224")]
    image_size: usize,
    #[serde(default = "d32")]
    patch_size: usize,
    #[serde(default = "quick_gelu")]
    hidden_act: String,
    #[serde(default = "eps")]
    layer_norm_eps: f64,
}

macro_rules! defaults {
    ($($f:ident = $v:expr;)*) => { $(fn $f() -> usize { $v })* };
}
defaults! {
    d3 = 3; d8 = 8; d12 = 12; d32 = 32; d77 = 77; d224 = 224; d512 = 512; d768 = 768;
    d2048 = 2048; d3072 = 3072; vocab = VOCAB_SIZE;
}
fn quick_gelu() -> String {
    "quick_gelu".into()
}
fn eps() -> f64 {
    1e-5
}

/// The sub-config `key`, with `key_dict`'s fields over it.
fn section(json: &Value, key: &str) -> Value {
    let mut merged = json.get(key).cloned().unwrap_or(Value::Null);
    if !merged.is_object() {
        merged = Value::Object(Default::default());
    }
    if let (Some(over), Some(into)) = (
        json.get(format!("{key}_dict")).and_then(Value::as_object),
        merged.as_object_mut(),
    ) {
        into.extend(over.clone());
    }
    merged
}

/// Why `act` / `eps` / head counts cannot run on candle's CLIP, if they cannot.
fn check_layer(
    tower: &str,
    hidden: usize,
    heads: usize,
    act: &str,
    eps: f64,
) -> Result<(), String> {
    if act != "quick_gelu" {
        return Err(format!(
            "{tower}: hidden_act {act:?} (candle's CLIP runs quick_gelu only)"
        ));
    }
    if (eps - 1e-5).abs() > 1e-12 {
        return Err(format!(
            "{tower}: layer_norm_eps {eps} (candle's CLIP uses 1e-5)"
        ));
    }
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(format!(
            "{tower}: hidden_size {hidden} is not a multiple of {heads} heads"
        ));
    }
    Ok(())
}

impl Config {
    /// Reads config.json's bytes; the error says which field is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let json: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let top: Top = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
        let text: Text = serde_json::from_value(section(&json, "text_config"))
            .map_err(|e| format!("text_config: {e}"))?;
        let vision: Vision = serde_json::from_value(section(&json, "vision_config"))
            .map_err(|e| format!("vision_config: {e}"))?;
        check_layer(
            "text_config",
            text.hidden_size,
            text.num_attention_heads,
            &text.hidden_act,
            text.layer_norm_eps,
        )?;
        check_layer(
            "vision_config",
            vision.hidden_size,
            vision.num_attention_heads,
            &vision.hidden_act,
            vision.layer_norm_eps,
        )?;
        if text.vocab_size != VOCAB_SIZE {
            return Err(format!(
                "text_config: vocab_size {} (CLIP's tokenizer has {VOCAB_SIZE})",
                text.vocab_size
            ));
        }
        if text.max_position_embeddings < MAX_TOKENS {
            return Err(format!(
                "text_config: max_position_embeddings {} (CLIP's texts take {MAX_TOKENS})",
                text.max_position_embeddings
            ));
        }
        if vision.num_channels != 3
            || vision.patch_size == 0
            || vision.image_size == 0
            || !vision.image_size.is_multiple_of(vision.patch_size)
        {
            return Err(format!(
                "vision_config: {} channels, image_size {}, patch_size {} (needs 3 channels and whole patches)",
                vision.num_channels, vision.image_size, vision.patch_size
            ));
        }
        if top.projection_dim == 0 {
            return Err("projection_dim 0".into());
        }
        Ok(Config {
            text: ClipTextConfig {
                vocab_size: text.vocab_size,
                embed_dim: text.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: text.intermediate_size,
                max_position_embeddings: text.max_position_embeddings,
                pad_with: None,
                num_hidden_layers: text.num_hidden_layers,
                num_attention_heads: text.num_attention_heads,
                projection_dim: top.projection_dim,
            },
            vision: ClipVisionConfig {
                embed_dim: vision.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: vision.intermediate_size,
                num_hidden_layers: vision.num_hidden_layers,
                num_attention_heads: vision.num_attention_heads,
                projection_dim: top.projection_dim,
                num_channels: vision.num_channels,
                image_size: vision.image_size,
                patch_size: vision.patch_size,
            },
            projection_dim: top.projection_dim,
            name: top.name.filter(|n| !n.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_is_vit_b_32() {
        let c = Config::parse(b"{}").unwrap();
        assert_eq!((c.text.embed_dim, c.text.num_hidden_layers), (512, 12));
        assert_eq!((c.vision.embed_dim, c.vision.patch_size), (768, 32));
        assert_eq!(c.projection_dim, 512);
    }

    #[test]
    fn dict_sections_override_and_unsupported_ones_are_refused() {
        let c = Config::parse(
            br#"{"text_config": {"hidden_size": 64}, "text_config_dict": {"hidden_size": 32, "num_attention_heads": 2}, "projection_dim": 16}"#,
        )
        .unwrap();
        assert_eq!((c.text.embed_dim, c.projection_dim), (32, 16));
        for bad in [
            r#"{"vision_config": {"hidden_act": "gelu"}}"#,
            r#"{"text_config": {"layer_norm_eps": 1e-6}}"#,
            r#"{"text_config": {"vocab_size": 100}}"#,
            r#"{"vision_config": {"patch_size": 30}}"#,
            r#"{"vision_config": {"num_attention_heads": 0}}"#,
            r#"{"projection_dim": "x"}"#,
            "[",
        ] {
            assert!(Config::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
