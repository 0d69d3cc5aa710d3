//! Shared helpers: a writer for synthetic CTranslate2 `model.bin` files and
//! a tiny synthetic Whisper model directory.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use half::f16;

/// Storage of one synthetic variable.
#[derive(Debug, Clone)]
pub enum Data {
    F32(Vec<f32>),
    F16(Vec<f32>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    /// Raw bytes with an explicit dtype code (for malformed files).
    Raw(u8, Vec<u8>),
}

impl Data {
    fn code_and_bytes(&self) -> (u8, Vec<u8>) {
        match self {
            Data::F32(v) => (0, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Data::I8(v) => (1, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Data::I16(v) => (2, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Data::F16(v) => (
                4,
                v.iter()
                    .flat_map(|&x| f16::from_f32(x).to_bits().to_le_bytes())
                    .collect(),
            ),
            Data::Raw(code, b) => (*code, b.clone()),
        }
    }
}

/// Appends a CTranslate2 string: u16 length counting a trailing NUL.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend(u16::try_from(s.len() + 1).unwrap().to_le_bytes());
    out.extend(s.as_bytes());
    out.push(0);
}

/// Builds a complete `model.bin` image.
#[derive(Debug, Clone)]
pub struct Ct2Builder {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub vars: Vec<(String, Vec<u32>, Data)>,
    pub aliases: Vec<(String, String)>,
}

impl Ct2Builder {
    pub fn new(spec: &str) -> Self {
        Self {
            version: 6,
            spec: spec.to_owned(),
            revision: 3,
            vars: Vec::new(),
            aliases: Vec::new(),
        }
    }

    pub fn var(&mut self, name: &str, shape: &[u32], data: Data) -> &mut Self {
        self.vars.push((name.to_owned(), shape.to_vec(), data));
        self
    }

    pub fn alias(&mut self, alias: &str, target: &str) -> &mut Self {
        self.aliases.push((alias.to_owned(), target.to_owned()));
        self
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.vars.retain(|(n, _, _)| n != name);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(self.version.to_le_bytes());
        put_str(&mut out, &self.spec);
        out.extend(self.revision.to_le_bytes());
        out.extend(u32::try_from(self.vars.len()).unwrap().to_le_bytes());
        for (name, shape, data) in &self.vars {
            put_str(&mut out, name);
            out.push(u8::try_from(shape.len()).unwrap());
            for d in shape {
                out.extend(d.to_le_bytes());
            }
            let (code, bytes) = data.code_and_bytes();
            out.push(code);
            out.extend(u32::try_from(bytes.len()).unwrap().to_le_bytes());
            out.extend(bytes);
        }
        out.extend(u32::try_from(self.aliases.len()).unwrap().to_le_bytes());
        for (a, t) in &self.aliases {
            put_str(&mut out, a);
            put_str(&mut out, t);
        }
        out
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.bytes()).unwrap();
    }
}

/// Dimensions of the synthetic Whisper model.
pub const STATE: u32 = 8;
pub const HEADS: i16 = 2;
pub const MELS: u32 = 80;
pub const AUDIO_CTX: u32 = 6;
pub const TEXT_CTX: u32 = 4;
pub const VOCAB: &[&str] = &[
    "Ġhello",
    "a",
    "Ã©",
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|notimestamps|>",
];

/// Deterministic values `((i + 37·seed) mod 1024) / 1024`: exactly
/// representable in f16, distinct within any 1024 consecutive elements.
pub fn ramp(seed: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i + seed as usize * 37) % 1024) as f32 / 1024.0)
        .collect()
}

/// A CTranslate2 WhisperSpec with one encoder and one decoder layer, all
/// weights f16, laid out like ct2-transformers-converter output.
pub fn synthetic_whisper() -> Ct2Builder {
    let n = STATE;
    let nu = n as usize;
    let mut b = Ct2Builder::new("WhisperSpec");
    let mut k = 10u32;
    let mut next = || {
        k += 1;
        k
    };
    let mut lin = |b: &mut Ct2Builder, name: &str, out: u32, inp: u32| {
        let base = next();
        b.var(
            &format!("{name}/weight"),
            &[out, inp],
            Data::F16(ramp(base, (out * inp) as usize)),
        );
        b.var(
            &format!("{name}/bias"),
            &[out],
            Data::F16(ramp(base + 100, out as usize).iter().map(|v| -v).collect()),
        );
    };
    let norm = |b: &mut Ct2Builder, name: &str| {
        b.var(&format!("{name}/gamma"), &[n], Data::F32(vec![1.0; nu]));
        b.var(&format!("{name}/beta"), &[n], Data::F32(vec![0.5; nu]));
    };

    b.var("decoder/activation", &[], Data::I8(vec![1]));
    b.var("decoder/num_heads", &[], Data::I16(vec![HEADS]));
    b.var("encoder/num_heads", &[], Data::I16(vec![HEADS]));
    b.var(
        "decoder/embeddings/weight",
        &[VOCAB.len() as u32, n],
        Data::F16(ramp(1, VOCAB.len() * nu)),
    );
    b.var(
        "decoder/position_encodings/encodings",
        &[TEXT_CTX, n],
        Data::F32(ramp(2, (TEXT_CTX * n) as usize)),
    );
    b.var(
        "encoder/position_encodings/encodings",
        &[AUDIO_CTX, n],
        Data::F32(ramp(3, (AUDIO_CTX * n) as usize)),
    );
    b.var(
        "encoder/conv1/weight",
        &[n, MELS, 3],
        Data::F16(ramp(4, (n * MELS * 3) as usize)),
    );
    b.var("encoder/conv1/bias", &[n], Data::F16(ramp(5, nu)));
    b.var(
        "encoder/conv2/weight",
        &[n, n, 3],
        Data::F16(ramp(6, (n * n * 3) as usize)),
    );
    b.var("encoder/conv2/bias", &[n], Data::F16(ramp(7, nu)));
    norm(&mut b, "encoder/layer_norm");
    norm(&mut b, "decoder/layer_norm");
    for side in ["encoder", "decoder"] {
        let l = format!("{side}/layer_0");
        norm(&mut b, &format!("{l}/self_attention/layer_norm"));
        lin(&mut b, &format!("{l}/self_attention/linear_0"), 3 * n, n);
        lin(&mut b, &format!("{l}/self_attention/linear_1"), n, n);
        norm(&mut b, &format!("{l}/ffn/layer_norm"));
        lin(&mut b, &format!("{l}/ffn/linear_0"), 4 * n, n);
        lin(&mut b, &format!("{l}/ffn/linear_1"), n, 4 * n);
    }
    let l = "decoder/layer_0/attention";
    norm(&mut b, &format!("{l}/layer_norm"));
    lin(&mut b, &format!("{l}/linear_0"), n, n);
    lin(&mut b, &format!("{l}/linear_1"), 2 * n, n);
    lin(&mut b, &format!("{l}/linear_2"), n, n);
    b.alias("decoder/projection/weight", "decoder/embeddings/weight");
    b
}

/// Writes a synthetic model directory: `model.bin`, `vocabulary.txt`, `config.json`.
pub fn write_model_dir(dir: &Path, model: &Ct2Builder, vocab: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    model.write(&dir.join("model.bin"));
    let mut v = vocab.join("\n");
    v.push('\n');
    std::fs::write(dir.join("vocabulary.txt"), v).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"alignment_heads": [[0, 1]], "lang_ids": [], "suppress_ids": [1, 2],
            "suppress_ids_begin": [0, 3]}"#,
    )
    .unwrap();
}
