//! The importer's error type.

use std::io;
use std::path::PathBuf;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file could not be read or written.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A file every CTranslate2 Whisper directory has is absent.
    #[error("not a CTranslate2 model directory: {} is missing", path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },

    /// `model.bin` is truncated or inconsistent.
    #[error("malformed CTranslate2 model {}: {reason}", path.display())]
    Malformed {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// `model.bin` uses a binary layout this importer does not know.
    #[error("unsupported CTranslate2 binary version {found} (supported: {supported})")]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// Version(s) this importer reads.
        supported: u32,
    },

    /// The model is a CTranslate2 model, but not a Whisper one.
    #[error("not a Whisper model: CTranslate2 spec is {spec:?}, expected \"WhisperSpec\"")]
    NotWhisper {
        /// The spec name found in `model.bin`.
        spec: String,
    },

    /// The weights are integer-quantized; whisper.cpp's ggml f16 format
    /// cannot be produced from them without dequantization.
    #[error("unsupported: {dtype} quantized model; convert with --quantization float16")]
    Quantized {
        /// Storage type of the quantized weights (`int8`, `int16`).
        dtype: &'static str,
    },

    /// A tensor has a storage type that cannot be converted.
    #[error("unsupported dtype {dtype} for variable {name}")]
    UnsupportedDtype {
        /// CTranslate2 variable name.
        name: String,
        /// Its storage type.
        dtype: String,
    },

    /// A variable a Whisper model needs is absent.
    #[error("missing variable {name} in model.bin")]
    MissingVariable {
        /// CTranslate2 variable name.
        name: String,
    },

    /// A variable does not have the shape the model's dimensions imply.
    #[error("unexpected shape for {name}: expected {expected:?}, found {found:?}")]
    UnexpectedShape {
        /// CTranslate2 variable name.
        name: String,
        /// Shape implied by the detected hyper-parameters.
        expected: Vec<usize>,
        /// Shape stored in the file.
        found: Vec<usize>,
    },

    /// The detected hyper-parameters are inconsistent.
    #[error("inconsistent model dimensions: {0}")]
    Dimensions(String),

    /// `config.json` is unreadable or disagrees with the weights.
    #[error("bad config {}: {reason}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// `vocabulary.txt` is unreadable or disagrees with the weights.
    #[error("bad vocabulary {}: {reason}", path.display())]
    Vocabulary {
        /// The vocabulary file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ImportError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
