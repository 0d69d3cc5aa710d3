//! CTranslate2's `config.json` for Whisper models, checked against the weights.

use std::path::Path;

use serde::Deserialize;

use crate::error::ImportError;
use crate::ggml::WhisperHparams;

/// The parts of `config.json` that can be checked against the weights.
/// Unknown keys are ignored; every key is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Ct2WhisperConfig {
    /// `(decoder layer, head)` pairs used for word timestamps.
    pub alignment_heads: Vec<(i64, i64)>,
    /// Token ids of the language tokens.
    pub lang_ids: Vec<i64>,
    /// Token ids suppressed during decoding.
    pub suppress_ids: Vec<i64>,
    /// Token ids suppressed at the first decoding step.
    pub suppress_ids_begin: Vec<i64>,
}

/// Reads `path`, or returns `None` if it does not exist.
pub fn read_config(path: &Path) -> Result<Option<Ct2WhisperConfig>, ImportError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ImportError::io(path, e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| ImportError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Checks that every token id and alignment head in the config fits the
/// dimensions read off the weights.
pub fn validate_config(
    config: &Ct2WhisperConfig,
    h: &WhisperHparams,
    path: &Path,
) -> Result<(), ImportError> {
    let bad = |reason: String| ImportError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let n_vocab = i64::from(h.n_vocab);
    for (key, ids) in [
        ("lang_ids", &config.lang_ids),
        ("suppress_ids", &config.suppress_ids),
        ("suppress_ids_begin", &config.suppress_ids_begin),
    ] {
        if let Some(id) = ids.iter().find(|&&id| !(0..n_vocab).contains(&id)) {
            return Err(bad(format!(
                "{key} has token id {id}, outside the model's vocabulary of {n_vocab}"
            )));
        }
    }
    for &(layer, head) in &config.alignment_heads {
        if !(0..i64::from(h.n_text_layer)).contains(&layer)
            || !(0..i64::from(h.n_text_head)).contains(&head)
        {
            return Err(bad(format!(
                "alignment head ({layer}, {head}) outside {} decoder layers × {} heads",
                h.n_text_layer, h.n_text_head
            )));
        }
    }
    Ok(())
}
