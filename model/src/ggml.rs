//! whisper.cpp's legacy ggml model file: writer, and a reader for checks.
//!
//! Layout (little-endian, no padding), as read by `whisper_model_load`:
//!
//! ```text
//! u32 magic = 0x67676d6c ("ggml")
//! i32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//!     n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
//! i32 n_mel, n_fft;  f32 filters[n_mel * n_fft]
//! i32 n_tokens;      n_tokens × { u32 len, u8 bytes[len] }
//! tensors until EOF: i32 n_dims, i32 name_len, i32 ttype,
//!                    i32 ne[n_dims] (innermost first), name, data
//! ```
//!
//! `ne` lists dimensions innermost first, i.e. the reverse of the row-major
//! (PyTorch) shape; this module takes row-major shapes and reverses them.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use half::f16;

use crate::error::ImportError;
use crate::mel::MelFilters;

/// `"ggml"` read as a little-endian `u32`.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// Element type of a ggml tensor (the subset whisper.cpp's f16 files use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// `GGML_TYPE_F32`.
    F32,
    /// `GGML_TYPE_F16`.
    F16,
}

impl GgmlType {
    /// The `ggml_type` value.
    pub fn code(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
        }
    }

    /// Decodes a `ggml_type` value.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
        }
    }
}

/// The `ftype` whisper.cpp derives weight types from: 1 = `GGML_FTYPE_MOSTLY_F16`
/// (matrices and conv kernels f16; biases, norms, positional embeddings f32).
pub const FTYPE_MOSTLY_F16: i32 = 1;

/// whisper.cpp's hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WhisperHparams {
    /// Vocabulary size (rows of the token embedding).
    pub n_vocab: i32,
    /// Encoder positions (1500).
    pub n_audio_ctx: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder attention heads.
    pub n_audio_head: i32,
    /// Encoder blocks.
    pub n_audio_layer: i32,
    /// Decoder positions (448).
    pub n_text_ctx: i32,
    /// Decoder width.
    pub n_text_state: i32,
    /// Decoder attention heads.
    pub n_text_head: i32,
    /// Decoder blocks.
    pub n_text_layer: i32,
    /// Mel bands of the input (80, or 128 for large-v3).
    pub n_mels: i32,
    /// Weight storage type, see [`FTYPE_MOSTLY_F16`].
    pub ftype: i32,
}

impl WhisperHparams {
    fn fields(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_fields(f: [i32; 11]) -> Self {
        Self {
            n_vocab: f[0],
            n_audio_ctx: f[1],
            n_audio_state: f[2],
            n_audio_head: f[3],
            n_audio_layer: f[4],
            n_text_ctx: f[5],
            n_text_state: f[6],
            n_text_head: f[7],
            n_text_layer: f[8],
            n_mels: f[9],
            ftype: f[10],
        }
    }
}

/// Streams a ggml file: header, filters and vocabulary on creation, then
/// tensors one at a time.
#[derive(Debug)]
pub struct GgmlWriter<W: Write> {
    w: W,
    tensors: usize,
}

fn to_i32(value: usize, what: &str) -> std::io::Result<i32> {
    i32::try_from(value).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} {value} does not fit the ggml header"),
        )
    })
}

impl<W: Write> GgmlWriter<W> {
    /// Writes magic, hyper-parameters, mel filters and vocabulary.
    pub fn new(
        mut w: W,
        hparams: &WhisperHparams,
        filters: &MelFilters,
        tokens: &[Vec<u8>],
    ) -> std::io::Result<Self> {
        w.write_all(&GGML_MAGIC.to_le_bytes())?;
        for v in hparams.fields() {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(&to_i32(filters.n_mels, "n_mel")?.to_le_bytes())?;
        w.write_all(&to_i32(filters.n_freqs, "n_fft")?.to_le_bytes())?;
        write_f32s(&mut w, &filters.data)?;
        w.write_all(&to_i32(tokens.len(), "token count")?.to_le_bytes())?;
        for t in tokens {
            w.write_all(&to_i32(t.len(), "token length")?.to_le_bytes())?;
            w.write_all(t)?;
        }
        Ok(Self { w, tensors: 0 })
    }

    /// Appends a tensor. `shape` is row-major (outermost first); `data` has
    /// `shape.iter().product()` values and is stored as `ty`.
    pub fn write_tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: GgmlType,
        data: &[f32],
    ) -> std::io::Result<()> {
        let n: usize = shape.iter().product();
        if n != data.len() || shape.is_empty() || shape.len() > 4 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name}: {} values for shape {shape:?}", data.len()),
            ));
        }
        let w = &mut self.w;
        w.write_all(&to_i32(shape.len(), "rank")?.to_le_bytes())?;
        w.write_all(&to_i32(name.len(), "name length")?.to_le_bytes())?;
        w.write_all(&ty.code().to_le_bytes())?;
        for &d in shape.iter().rev() {
            w.write_all(&to_i32(d, "dimension")?.to_le_bytes())?;
        }
        w.write_all(name.as_bytes())?;
        match ty {
            GgmlType::F32 => write_f32s(w, data)?,
            GgmlType::F16 => write_f16s(w, data)?,
        }
        self.tensors += 1;
        Ok(())
    }

    /// Number of tensors written so far.
    pub fn tensors(&self) -> usize {
        self.tensors
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

const CHUNK: usize = 16 * 1024;

fn write_f32s(w: &mut impl Write, data: &[f32]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK * 4);
    for chunk in data.chunks(CHUNK) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        w.write_all(&buf)?;
    }
    Ok(())
}

fn write_f16s(w: &mut impl Write, data: &[f32]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK * 2);
    for chunk in data.chunks(CHUNK) {
        buf.clear();
        buf.extend(
            chunk
                .iter()
                .flat_map(|&v| f16::from_f32(v).to_bits().to_le_bytes()),
        );
        w.write_all(&buf)?;
    }
    Ok(())
}

/// A tensor's entry in a ggml file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgmlTensorInfo {
    /// Tensor name.
    pub name: String,
    /// Row-major shape (the file's `ne`, reversed).
    pub shape: Vec<usize>,
    /// Element type.
    pub ty: GgmlType,
    /// Offset of the data.
    pub offset: u64,
}

/// A ggml Whisper file, parsed (header, filters, vocabulary, tensor index).
#[derive(Debug, Clone)]
pub struct GgmlFile {
    /// Path it was read from.
    pub path: PathBuf,
    /// Hyper-parameters.
    pub hparams: WhisperHparams,
    /// Mel filterbank.
    pub filters: MelFilters,
    /// Vocabulary as raw bytes.
    pub tokens: Vec<Vec<u8>>,
    /// Tensors in file order.
    pub tensors: Vec<GgmlTensorInfo>,
}

impl GgmlFile {
    /// Parses `path` (tensor data is skipped, not loaded).
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let len = file.metadata().map_err(|e| ImportError::io(path, e))?.len();
        let mut r = BufReader::new(file);
        let bad = |reason: String| ImportError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let io = |e: std::io::Error| ImportError::io(path, e);
        let i32_ = |r: &mut BufReader<File>| -> Result<i32, ImportError> {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(io)?;
            Ok(i32::from_le_bytes(b))
        };
        let count = |v: i32, what: &str| {
            usize::try_from(v).map_err(|_| bad(format!("negative {what} {v}")))
        };

        let magic = i32_(&mut r)? as u32;
        if magic != GGML_MAGIC {
            return Err(bad(format!("bad magic {magic:#x}")));
        }
        let mut fields = [0i32; 11];
        for f in &mut fields {
            *f = i32_(&mut r)?;
        }
        let hparams = WhisperHparams::from_fields(fields);

        let n_mels = count(i32_(&mut r)?, "n_mel")?;
        let n_freqs = count(i32_(&mut r)?, "n_fft")?;
        let mut raw = vec![0u8; n_mels * n_freqs * 4];
        r.read_exact(&mut raw).map_err(io)?;
        let filters = MelFilters {
            n_mels,
            n_freqs,
            data: raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        };

        let n_tokens = count(i32_(&mut r)?, "token count")?;
        let mut tokens = Vec::with_capacity(n_tokens);
        for _ in 0..n_tokens {
            let n = count(i32_(&mut r)?, "token length")?;
            let mut t = vec![0u8; n];
            r.read_exact(&mut t).map_err(io)?;
            tokens.push(t);
        }

        let mut tensors = Vec::new();
        while r.stream_position().map_err(io)? < len {
            let n_dims = count(i32_(&mut r)?, "n_dims")?;
            let name_len = count(i32_(&mut r)?, "name length")?;
            let code = i32_(&mut r)?;
            let ty = GgmlType::from_code(code).ok_or_else(|| bad(format!("tensor type {code}")))?;
            let mut shape = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                shape.push(count(i32_(&mut r)?, "dimension")?);
            }
            shape.reverse();
            let mut name = vec![0u8; name_len];
            r.read_exact(&mut name).map_err(io)?;
            let name = String::from_utf8(name).map_err(|_| bad("tensor name".to_owned()))?;
            let offset = r.stream_position().map_err(io)?;
            let n_bytes = shape.iter().product::<usize>() * ty.size();
            if offset + n_bytes as u64 > len {
                return Err(bad(format!("tensor {name} runs past the end")));
            }
            r.seek_relative(n_bytes as i64).map_err(io)?;
            tensors.push(GgmlTensorInfo {
                name,
                shape,
                ty,
                offset,
            });
        }

        Ok(Self {
            path: path.to_path_buf(),
            hparams,
            filters,
            tokens,
            tensors,
        })
    }

    /// Looks up a tensor by name.
    pub fn tensor(&self, name: &str) -> Option<&GgmlTensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Reads a tensor's values as `f32`.
    pub fn read_f32(&self, name: &str) -> Result<Vec<f32>, ImportError> {
        let info = self
            .tensor(name)
            .ok_or_else(|| ImportError::MissingVariable {
                name: name.to_owned(),
            })?;
        let n: usize = info.shape.iter().product();
        let mut f = File::open(&self.path).map_err(|e| ImportError::io(&self.path, e))?;
        f.seek(SeekFrom::Start(info.offset))
            .map_err(|e| ImportError::io(&self.path, e))?;
        let mut raw = vec![0u8; n * info.ty.size()];
        f.read_exact(&mut raw)
            .map_err(|e| ImportError::io(&self.path, e))?;
        Ok(match info.ty {
            GgmlType::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            GgmlType::F16 => raw
                .chunks_exact(2)
                .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
                .collect(),
        })
    }
}
