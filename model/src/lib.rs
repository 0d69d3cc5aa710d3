//! Converts Whisper models into whisper.cpp's ggml format.
//!
//! [`import_ct2`] reads a CTranslate2 Whisper directory (as produced by
//! `ct2-transformers-converter` / shipped for faster-whisper: `model.bin`,
//! `vocabulary.txt`, `config.json`) and writes the single-file ggml model
//! whisper.cpp loads (ftype 1: f16 matrices and conv kernels, f32 biases,
//! norms and positional embeddings), including the mel filterbank and the
//! byte-level vocabulary.
//!
//! Modules, one job each:
//! - [`ct2`]: reads `model.bin`'s index and tensors;
//! - [`whisper_map`]: hyper-parameters and the CTranslate2 → whisper.cpp
//!   tensor mapping (names, fused q/k/v splits, shapes, types);
//! - [`mel`]: the Slaney mel filterbank;
//! - [`vocab`]: `vocabulary.txt` to raw token bytes;
//! - [`config`]: `config.json` checks;
//! - [`ggml`]: the ggml file writer (and a reader for verification).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub mod config;
pub mod ct2;
mod error;
pub mod ggml;
pub mod mel;
pub mod vocab;
pub mod whisper_map;

pub use error::ImportError;
pub use ggml::WhisperHparams;

use ct2::{Ct2Model, DType};
use ggml::GgmlWriter;

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The written ggml file.
    pub output: PathBuf,
    /// Number of tensors written.
    pub tensors: usize,
    /// Vocabulary size (rows of the token embedding, special tokens included).
    pub vocab: usize,
    /// Hyper-parameters written to the header.
    pub hparams: WhisperHparams,
    /// Size name whisper.cpp will report (`tiny`, `base`, ..., or `unknown`).
    pub model_type: &'static str,
    /// Whether the model is multilingual (whisper.cpp: `n_vocab >= 51865`).
    pub multilingual: bool,
    /// Size of the written file in bytes.
    pub bytes: u64,
}

/// whisper.cpp treats vocabularies this large as multilingual.
const MULTILINGUAL_MIN_VOCAB: i32 = 51865;

/// Converts a CTranslate2 Whisper directory (`model.bin`, `vocabulary.txt`,
/// optionally `config.json`) into a ggml file at `output`.
///
/// The file is written to a temporary sibling and renamed into place, so
/// `output` is either the complete model or untouched. Its parent directory
/// is created if needed.
pub fn import_ct2(dir: &Path, output: &Path) -> Result<ImportReport, ImportError> {
    let model_path = dir.join("model.bin");
    let vocab_path = dir.join("vocabulary.txt");
    for p in [&model_path, &vocab_path] {
        if !p.is_file() {
            return Err(ImportError::MissingFile { path: p.clone() });
        }
    }

    let model = Ct2Model::open(&model_path)?;
    if model.spec != "WhisperSpec" {
        return Err(ImportError::NotWhisper {
            spec: model.spec.clone(),
        });
    }
    reject_quantized(&model)?;

    let hparams = whisper_map::detect_hparams(&model)?;
    let plan = whisper_map::tensor_plan(&hparams);
    whisper_map::validate_plan(&model, &plan)?;

    let config_path = dir.join("config.json");
    if let Some(cfg) = config::read_config(&config_path)? {
        config::validate_config(&cfg, &hparams, &config_path)?;
    }

    let tokens = vocab::read_vocabulary(&vocab_path)?;
    check_vocab_size(&tokens, &hparams, &vocab_path)?;
    let ggml_tokens = vocab::ggml_tokens(&tokens, &vocab_path)?;

    let filters = mel::whisper_mel_filters(usize::try_from(hparams.n_mels).unwrap_or(0));

    let tmp = temp_sibling(output)?;
    let written = write_ggml(&model, &hparams, &plan, &filters, &ggml_tokens, &tmp).and_then(|n| {
        std::fs::rename(&tmp, output).map_err(|e| ImportError::io(output, e))?;
        Ok(n)
    });
    let tensors = match written {
        Ok(n) => n,
        Err(e) => {
            // Best effort: the temporary file is garbage now.
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let bytes = std::fs::metadata(output)
        .map_err(|e| ImportError::io(output, e))?
        .len();

    Ok(ImportReport {
        output: output.to_path_buf(),
        tensors,
        vocab: tokens.len(),
        hparams,
        model_type: whisper_map::model_type(hparams.n_audio_layer),
        multilingual: hparams.n_vocab >= MULTILINGUAL_MIN_VOCAB,
        bytes,
    })
}

/// Integer-quantized weights (`--quantization int8`, `int8_float16`,
/// `int16`, ...) come with `weight_scale` variables and integer matrices.
fn reject_quantized(model: &Ct2Model) -> Result<(), ImportError> {
    let quantized = model
        .variables()
        .find(|v| v.name.ends_with("/weight") && matches!(v.dtype, DType::I8 | DType::I16));
    if let Some(v) = quantized {
        return Err(ImportError::Quantized {
            dtype: v.dtype.name(),
        });
    }
    if model.variables().any(|v| v.name.ends_with("/weight_scale")) {
        return Err(ImportError::Quantized { dtype: "int8" });
    }
    Ok(())
}

fn check_vocab_size(tokens: &[String], h: &WhisperHparams, path: &Path) -> Result<(), ImportError> {
    let bad = |reason: String| ImportError::Vocabulary {
        path: path.to_path_buf(),
        reason,
    };
    if i32::try_from(tokens.len()).ok() != Some(h.n_vocab) {
        return Err(bad(format!(
            "{} tokens, but the token embedding has {} rows",
            tokens.len(),
            h.n_vocab
        )));
    }
    // whisper.cpp hard-codes the special token ids of OpenAI's vocabularies.
    if tokens.len() > 50_257 {
        let expected = if h.n_vocab >= MULTILINGUAL_MIN_VOCAB {
            50_257
        } else {
            50_256
        };
        let found = tokens.iter().position(|t| t == vocab::END_OF_TEXT);
        if found != Some(expected) {
            return Err(bad(format!(
                "whisper.cpp expects {} at id {expected}, found at {found:?}",
                vocab::END_OF_TEXT
            )));
        }
    }
    Ok(())
}

/// `dir/.name.tmp-PID`, next to `output` so the final rename is atomic.
fn temp_sibling(output: &Path) -> Result<PathBuf, ImportError> {
    let name = output.file_name().ok_or_else(|| {
        ImportError::io(
            output,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "output has no file name"),
        )
    })?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ImportError::io(&parent, e))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(parent.join(tmp_name))
}

fn write_ggml(
    model: &Ct2Model,
    hparams: &WhisperHparams,
    plan: &[whisper_map::TensorPlan],
    filters: &mel::MelFilters,
    tokens: &[Vec<u8>],
    path: &Path,
) -> Result<usize, ImportError> {
    let io = |e: std::io::Error| ImportError::io(path, e);
    let file = File::create(path).map_err(io)?;
    let mut w = GgmlWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        hparams,
        filters,
        tokens,
    )
    .map_err(io)?;
    for t in plan {
        let data = whisper_map::take_rows(t, model.read_f32(&t.source)?);
        w.write_tensor(&t.name, &t.shape, t.ty, &data).map_err(io)?;
    }
    let n = w.tensors();
    let file = w
        .finish()
        .map_err(io)?
        .into_inner()
        .map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(n)
}
