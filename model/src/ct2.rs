//! Reader for CTranslate2's `model.bin` (binary version 6).
//!
//! Layout (little-endian throughout):
//!
//! ```text
//! u32 binary_version            (6)
//! str spec_name                 ("WhisperSpec")
//! u32 spec_revision
//! u32 n_variables
//! n_variables × {
//!     str name
//!     u8  rank
//!     u32 dims[rank]
//!     u8  dtype                 (index into [f32, i8, i16, i32, f16, bf16])
//!     u32 n_bytes
//!     u8  data[n_bytes]
//! }
//! u32 n_aliases
//! n_aliases × { str alias, str target }
//! ```
//!
//! A `str` is a `u16` byte length (counting a trailing NUL) followed by the
//! bytes, NUL included.
//!
//! [`Ct2Model::open`] reads only the index (names, shapes, dtypes, offsets);
//! tensor data is read on demand, so memory use stays at one tensor at a time.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use half::{bf16, f16};

use crate::error::ImportError;

/// The only `model.bin` layout this reader understands.
pub const SUPPORTED_BINARY_VERSION: u32 = 6;

/// Storage type of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// Signed 8-bit integer (quantized weights, flags).
    I8,
    /// Signed 16-bit integer (quantized weights, small scalars).
    I16,
    /// Signed 32-bit integer.
    I32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16.
    BF16,
}

impl DType {
    /// Decodes the on-disk dtype index.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    /// The on-disk dtype index.
    pub fn code(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 => 3,
            Self::F16 => 4,
            Self::BF16 => 5,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    /// CTranslate2's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }

    /// Whether values of this type can be converted to `f32` losslessly.
    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16)
    }
}

/// One variable of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Full name, e.g. `encoder/conv1/weight`.
    pub name: String,
    /// Dimensions, outermost first (row-major). Empty for a scalar.
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: DType,
    /// Byte offset of the data in `model.bin`.
    pub offset: u64,
    /// Byte length of the data.
    pub n_bytes: usize,
}

impl Variable {
    /// Number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the variable holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An opened `model.bin`: its header, variable index and aliases.
#[derive(Debug)]
pub struct Ct2Model {
    path: PathBuf,
    file: File,
    /// Binary layout version.
    pub binary_version: u32,
    /// Spec name, `WhisperSpec` for Whisper models.
    pub spec: String,
    /// Spec revision.
    pub revision: u32,
    variables: BTreeMap<String, Variable>,
    aliases: BTreeMap<String, String>,
}

impl Ct2Model {
    /// Opens `path` and reads its index.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| ImportError::io(path, e))?.len();
        let mut parser = Parser {
            path,
            r: BufReader::with_capacity(1 << 16, &file),
            file_len,
        };

        let binary_version = parser.u32("binary version")?;
        if binary_version != SUPPORTED_BINARY_VERSION {
            return Err(ImportError::UnsupportedVersion {
                found: binary_version,
                supported: SUPPORTED_BINARY_VERSION,
            });
        }
        let spec = parser.string("spec name")?;
        let revision = parser.u32("spec revision")?;

        let count = parser.u32("variable count")?;
        let mut variables = BTreeMap::new();
        for index in 0..count {
            let var = parser.variable(index)?;
            if variables.contains_key(&var.name) {
                return Err(parser.malformed(format!("variable {} appears twice", var.name)));
            }
            variables.insert(var.name.clone(), var);
        }

        let n_aliases = parser.u32("alias count")?;
        let mut aliases = BTreeMap::new();
        for _ in 0..n_aliases {
            let alias = parser.string("alias name")?;
            let target = parser.string("alias target")?;
            aliases.insert(alias, target);
        }
        for (alias, target) in &aliases {
            if !variables.contains_key(target) {
                return Err(
                    parser.malformed(format!("alias {alias} points to unknown variable {target}"))
                );
            }
        }

        Ok(Self {
            path: path.to_path_buf(),
            file,
            binary_version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// Path of the opened file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All stored variables, by name (aliases not included).
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables.values()
    }

    /// All aliases as `(alias, target)` pairs.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases.iter().map(|(a, t)| (a.as_str(), t.as_str()))
    }

    /// Looks up a variable by name, following an alias if needed.
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.variables.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|target| self.variables.get(target))
        })
    }

    /// Like [`get`](Self::get), but a missing variable is an error.
    pub fn require(&self, name: &str) -> Result<&Variable, ImportError> {
        self.get(name).ok_or_else(|| ImportError::MissingVariable {
            name: name.to_owned(),
        })
    }

    /// Reads a variable's raw bytes.
    pub fn read_bytes(&self, name: &str) -> Result<Vec<u8>, ImportError> {
        let var = self.require(name)?;
        let mut f = &self.file;
        f.seek(SeekFrom::Start(var.offset))
            .map_err(|e| ImportError::io(&self.path, e))?;
        let mut buf = vec![0u8; var.n_bytes];
        f.read_exact(&mut buf)
            .map_err(|e| ImportError::io(&self.path, e))?;
        Ok(buf)
    }

    /// Reads a floating-point variable (f32, f16 or bf16) as `f32` values.
    pub fn read_f32(&self, name: &str) -> Result<Vec<f32>, ImportError> {
        let var = self.require(name)?;
        if !var.dtype.is_float() {
            return Err(ImportError::UnsupportedDtype {
                name: name.to_owned(),
                dtype: var.dtype.name().to_owned(),
            });
        }
        let dtype = var.dtype;
        let bytes = self.read_bytes(name)?;
        Ok(decode_floats(dtype, &bytes))
    }

    /// Reads an integer scalar (i8, i16 or i32), or `None` if absent.
    pub fn read_int_scalar(&self, name: &str) -> Result<Option<i64>, ImportError> {
        let Some(var) = self.get(name) else {
            return Ok(None);
        };
        if var.len() != 1 {
            return Err(ImportError::UnexpectedShape {
                name: name.to_owned(),
                expected: vec![],
                found: var.shape.clone(),
            });
        }
        let dtype = var.dtype;
        let b = self.read_bytes(name)?;
        let value = match dtype {
            DType::I8 => i64::from(i8::from_le_bytes([b[0]])),
            DType::I16 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            other => {
                return Err(ImportError::UnsupportedDtype {
                    name: name.to_owned(),
                    dtype: other.name().to_owned(),
                })
            }
        };
        Ok(Some(value))
    }
}

/// Converts little-endian float storage to `f32`.
fn decode_floats(dtype: DType, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect(),
        DType::BF16 => bytes
            .chunks_exact(2)
            .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect(),
        DType::I8 | DType::I16 | DType::I32 => Vec::new(),
    }
}

/// Sequential index parser.
struct Parser<'a, R> {
    path: &'a Path,
    r: R,
    file_len: u64,
}

impl<R: Read + Seek> Parser<'_, R> {
    fn malformed(&self, reason: String) -> ImportError {
        ImportError::Malformed {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    fn exact<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ImportError> {
        let mut buf = [0u8; N];
        self.r.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.malformed(format!("file ends while reading {what}"))
            } else {
                ImportError::io(self.path, e)
            }
        })?;
        Ok(buf)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ImportError> {
        Ok(self.exact::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, ImportError> {
        Ok(u16::from_le_bytes(self.exact(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32, ImportError> {
        Ok(u32::from_le_bytes(self.exact(what)?))
    }

    fn position(&mut self) -> Result<u64, ImportError> {
        self.r
            .stream_position()
            .map_err(|e| ImportError::io(self.path, e))
    }

    /// A `u16`-length string whose length counts a trailing NUL.
    fn string(&mut self, what: &str) -> Result<String, ImportError> {
        let len = usize::from(self.u16(what)?);
        let mut buf = vec![0u8; len];
        self.r.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.malformed(format!("file ends inside {what}"))
            } else {
                ImportError::io(self.path, e)
            }
        })?;
        if buf.pop() != Some(0) {
            return Err(self.malformed(format!("{what} is not NUL-terminated")));
        }
        String::from_utf8(buf).map_err(|_| self.malformed(format!("{what} is not valid UTF-8")))
    }

    fn variable(&mut self, index: u32) -> Result<Variable, ImportError> {
        let name = self.string(&format!("name of variable #{index}"))?;
        let rank = self.u8("variable rank")?;
        let mut shape = Vec::with_capacity(usize::from(rank));
        for _ in 0..rank {
            shape.push(self.u32("variable dimension")? as usize);
        }
        let code = self.u8("variable dtype")?;
        let dtype = DType::from_code(code).ok_or_else(|| ImportError::UnsupportedDtype {
            name: name.clone(),
            dtype: format!("code {code}"),
        })?;
        let n_bytes = self.u32("variable byte count")? as usize;
        let elements = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.malformed(format!("{name}: shape {shape:?} overflows")))?;
        if elements.checked_mul(dtype.size()) != Some(n_bytes) {
            return Err(self.malformed(format!(
                "{name}: {n_bytes} bytes do not hold {shape:?} {}",
                dtype.name()
            )));
        }
        let offset = self.position()?;
        let end = offset + n_bytes as u64;
        if end > self.file_len {
            return Err(self.malformed(format!("{name}: data runs past the end of the file")));
        }
        self.r
            .seek(SeekFrom::Start(end))
            .map_err(|e| ImportError::io(self.path, e))?;
        Ok(Variable {
            name,
            shape,
            dtype,
            offset,
            n_bytes,
        })
    }
}
