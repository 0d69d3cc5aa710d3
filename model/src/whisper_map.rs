//! Which CTranslate2 variable becomes which whisper.cpp tensor, with what
//! shape and type, and the hyper-parameters read off the weights.
//!
//! CTranslate2 names (per block `N`):
//!
//! | CTranslate2 | whisper.cpp |
//! | --- | --- |
//! | `encoder/conv{1,2}/{weight,bias}` | `encoder.conv{1,2}.{weight,bias}` (bias as `[n, 1]`) |
//! | `encoder/position_encodings/encodings` | `encoder.positional_embedding` |
//! | `encoder/layer_norm/{gamma,beta}` | `encoder.ln_post.{weight,bias}` |
//! | `{enc,dec}/layer_N/self_attention/layer_norm` | `…blocks.N.attn_ln` |
//! | `{enc,dec}/layer_N/self_attention/linear_0` (q‖k‖v) | `…blocks.N.attn.{query,key,value}` |
//! | `{enc,dec}/layer_N/self_attention/linear_1` | `…blocks.N.attn.out` |
//! | `{enc,dec}/layer_N/ffn/layer_norm` | `…blocks.N.mlp_ln` |
//! | `{enc,dec}/layer_N/ffn/linear_{0,1}` | `…blocks.N.mlp.{0,2}` |
//! | `decoder/layer_N/attention/layer_norm` | `decoder.blocks.N.cross_attn_ln` |
//! | `decoder/layer_N/attention/linear_0` | `decoder.blocks.N.cross_attn.query` |
//! | `decoder/layer_N/attention/linear_1` (k‖v) | `decoder.blocks.N.cross_attn.{key,value}` |
//! | `decoder/layer_N/attention/linear_2` | `decoder.blocks.N.cross_attn.out` |
//! | `decoder/embeddings/weight` | `decoder.token_embedding.weight` |
//! | `decoder/position_encodings/encodings` | `decoder.positional_embedding` |
//! | `decoder/layer_norm/{gamma,beta}` | `decoder.ln.{weight,bias}` |
//!
//! Whisper's key projections have no bias; CTranslate2 stores zeros in that
//! slice of the fused bias. It is dropped: a bias on keys adds the same
//! constant to every attention logit of a query, which softmax cancels, so
//! dropping it is exact whatever it holds. `decoder/projection/weight` is an
//! alias of the token embedding (tied weights), which whisper.cpp assumes.

use crate::ct2::Ct2Model;
use crate::error::ImportError;
use crate::ggml::{GgmlType, WhisperHparams, FTYPE_MOSTLY_F16};

/// Whisper's attention head width, used when `num_heads` is not stored.
pub const HEAD_DIM: usize = 64;

/// A slice of a variable's outermost dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// First row.
    pub start: usize,
    /// One past the last row.
    pub end: usize,
}

/// How to produce one whisper.cpp tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorPlan {
    /// whisper.cpp tensor name.
    pub name: String,
    /// CTranslate2 variable it comes from.
    pub source: String,
    /// Shape the source must have (row-major).
    pub source_shape: Vec<usize>,
    /// Rows of the source to take (`None`: all of it).
    pub rows: Option<Rows>,
    /// Row-major shape written to the ggml file.
    pub shape: Vec<usize>,
    /// Storage type whisper.cpp expects for it with ftype 1.
    pub ty: GgmlType,
}

/// Whisper size name for an encoder depth, as whisper.cpp names it.
pub fn model_type(n_audio_layer: i32) -> &'static str {
    match n_audio_layer {
        4 => "tiny",
        6 => "base",
        12 => "small",
        24 => "medium",
        32 => "large",
        _ => "unknown",
    }
}

fn dim(model: &Ct2Model, name: &str, rank: usize) -> Result<Vec<usize>, ImportError> {
    let var = model.require(name)?;
    if var.shape.len() != rank {
        return Err(ImportError::UnexpectedShape {
            name: name.to_owned(),
            expected: vec![0; rank],
            found: var.shape.clone(),
        });
    }
    Ok(var.shape.clone())
}

/// Counts `prefix/layer_0`, `prefix/layer_1`, ... up to the first gap.
fn count_layers(model: &Ct2Model, prefix: &str) -> usize {
    let mut n = 0;
    loop {
        let p = format!("{prefix}/layer_{n}/");
        if !model.variables().any(|v| v.name.starts_with(&p)) {
            return n;
        }
        n += 1;
    }
}

fn heads(model: &Ct2Model, prefix: &str, state: usize) -> Result<usize, ImportError> {
    let name = format!("{prefix}/num_heads");
    let heads = match model.read_int_scalar(&name)? {
        Some(h) => usize::try_from(h)
            .ok()
            .filter(|&h| h > 0)
            .ok_or_else(|| ImportError::Dimensions(format!("{name} is {h}")))?,
        None => state / HEAD_DIM,
    };
    if heads == 0 || !state.is_multiple_of(heads) {
        return Err(ImportError::Dimensions(format!(
            "{prefix}: width {state} is not divisible into {heads} heads"
        )));
    }
    Ok(heads)
}

fn to_i32(v: usize, what: &str) -> Result<i32, ImportError> {
    i32::try_from(v).map_err(|_| ImportError::Dimensions(format!("{what} = {v} is too large")))
}

/// Reads whisper.cpp's hyper-parameters off the weights' shapes.
pub fn detect_hparams(model: &Ct2Model) -> Result<WhisperHparams, ImportError> {
    let emb = dim(model, "decoder/embeddings/weight", 2)?;
    let (n_vocab, n_text_state) = (emb[0], emb[1]);
    let enc_pos = dim(model, "encoder/position_encodings/encodings", 2)?;
    let (n_audio_ctx, n_audio_state) = (enc_pos[0], enc_pos[1]);
    let dec_pos = dim(model, "decoder/position_encodings/encodings", 2)?;
    let n_text_ctx = dec_pos[0];
    if dec_pos[1] != n_text_state {
        return Err(ImportError::UnexpectedShape {
            name: "decoder/position_encodings/encodings".to_owned(),
            expected: vec![n_text_ctx, n_text_state],
            found: dec_pos,
        });
    }
    let conv1 = dim(model, "encoder/conv1/weight", 3)?;
    let n_mels = conv1[1];
    if n_audio_state != n_text_state {
        // whisper.cpp asserts n_text_state == n_audio_state.
        return Err(ImportError::Dimensions(format!(
            "encoder width {n_audio_state} differs from decoder width {n_text_state}"
        )));
    }
    let n_audio_layer = count_layers(model, "encoder");
    let n_text_layer = count_layers(model, "decoder");
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(ImportError::Dimensions(format!(
            "{n_audio_layer} encoder and {n_text_layer} decoder layers"
        )));
    }
    let n_audio_head = heads(model, "encoder", n_audio_state)?;
    let n_text_head = heads(model, "decoder", n_text_state)?;

    Ok(WhisperHparams {
        n_vocab: to_i32(n_vocab, "n_vocab")?,
        n_audio_ctx: to_i32(n_audio_ctx, "n_audio_ctx")?,
        n_audio_state: to_i32(n_audio_state, "n_audio_state")?,
        n_audio_head: to_i32(n_audio_head, "n_audio_head")?,
        n_audio_layer: to_i32(n_audio_layer, "n_audio_layer")?,
        n_text_ctx: to_i32(n_text_ctx, "n_text_ctx")?,
        n_text_state: to_i32(n_text_state, "n_text_state")?,
        n_text_head: to_i32(n_text_head, "n_text_head")?,
        n_text_layer: to_i32(n_text_layer, "n_text_layer")?,
        n_mels: to_i32(n_mels, "n_mels")?,
        ftype: FTYPE_MOSTLY_F16,
    })
}

struct Planner {
    out: Vec<TensorPlan>,
}

impl Planner {
    /// A tensor copied whole.
    fn whole(&mut self, name: String, source: String, shape: Vec<usize>, ty: GgmlType) {
        self.out.push(TensorPlan {
            name,
            source,
            source_shape: shape.clone(),
            rows: None,
            shape,
            ty,
        });
    }

    /// A LayerNorm: gamma/beta to weight/bias, both f32.
    fn norm(&mut self, ggml: &str, ct2: &str, n: usize) {
        self.whole(
            format!("{ggml}.weight"),
            format!("{ct2}/gamma"),
            vec![n],
            GgmlType::F32,
        );
        self.whole(
            format!("{ggml}.bias"),
            format!("{ct2}/beta"),
            vec![n],
            GgmlType::F32,
        );
    }

    /// A linear layer: `[out, in]` f16 weight and `[out]` f32 bias.
    fn linear(&mut self, ggml: &str, ct2: &str, out: usize, inp: usize) {
        self.whole(
            format!("{ggml}.weight"),
            format!("{ct2}/weight"),
            vec![out, inp],
            GgmlType::F16,
        );
        self.whole(
            format!("{ggml}.bias"),
            format!("{ct2}/bias"),
            vec![out],
            GgmlType::F32,
        );
    }

    /// Part `part` of `parts` equal row blocks of a fused `[parts·n, n]`
    /// linear layer; `bias` says whether whisper.cpp has a bias for it.
    fn fused(&mut self, ggml: &str, ct2: &str, n: usize, parts: usize, part: usize, bias: bool) {
        let rows = Rows {
            start: part * n,
            end: (part + 1) * n,
        };
        self.out.push(TensorPlan {
            name: format!("{ggml}.weight"),
            source: format!("{ct2}/weight"),
            source_shape: vec![parts * n, n],
            rows: Some(rows),
            shape: vec![n, n],
            ty: GgmlType::F16,
        });
        if bias {
            self.out.push(TensorPlan {
                name: format!("{ggml}.bias"),
                source: format!("{ct2}/bias"),
                source_shape: vec![parts * n],
                rows: Some(rows),
                shape: vec![n],
                ty: GgmlType::F32,
            });
        }
    }

    /// Self-attention (and its norm) of one block.
    fn self_attention(&mut self, ggml: &str, ct2: &str, n: usize) {
        let fused = format!("{ct2}/self_attention/linear_0");
        self.fused(&format!("{ggml}.attn.query"), &fused, n, 3, 0, true);
        self.fused(&format!("{ggml}.attn.key"), &fused, n, 3, 1, false);
        self.fused(&format!("{ggml}.attn.value"), &fused, n, 3, 2, true);
        self.linear(
            &format!("{ggml}.attn.out"),
            &format!("{ct2}/self_attention/linear_1"),
            n,
            n,
        );
        self.norm(
            &format!("{ggml}.attn_ln"),
            &format!("{ct2}/self_attention/layer_norm"),
            n,
        );
    }

    /// Cross-attention (and its norm) of one decoder block.
    fn cross_attention(&mut self, ggml: &str, ct2: &str, n: usize) {
        self.linear(
            &format!("{ggml}.cross_attn.query"),
            &format!("{ct2}/attention/linear_0"),
            n,
            n,
        );
        let kv = format!("{ct2}/attention/linear_1");
        self.fused(&format!("{ggml}.cross_attn.key"), &kv, n, 2, 0, false);
        self.fused(&format!("{ggml}.cross_attn.value"), &kv, n, 2, 1, true);
        self.linear(
            &format!("{ggml}.cross_attn.out"),
            &format!("{ct2}/attention/linear_2"),
            n,
            n,
        );
        self.norm(
            &format!("{ggml}.cross_attn_ln"),
            &format!("{ct2}/attention/layer_norm"),
            n,
        );
    }

    /// Feed-forward (and its norm) of one block.
    fn mlp(&mut self, ggml: &str, ct2: &str, n: usize) {
        self.linear(
            &format!("{ggml}.mlp.0"),
            &format!("{ct2}/ffn/linear_0"),
            4 * n,
            n,
        );
        self.linear(
            &format!("{ggml}.mlp.2"),
            &format!("{ct2}/ffn/linear_1"),
            n,
            4 * n,
        );
        self.norm(
            &format!("{ggml}.mlp_ln"),
            &format!("{ct2}/ffn/layer_norm"),
            n,
        );
    }
}

/// Every tensor whisper.cpp's loader creates for these hyper-parameters
/// (`11 + 15·n_audio_layer + 24·n_text_layer` of them, 167 for tiny), in the
/// order of OpenAI's PyTorch `state_dict` that `convert-pt-to-ggml.py` follows.
/// whisper.cpp looks tensors up by name, so the order only eases comparing files.
pub fn tensor_plan(h: &WhisperHparams) -> Vec<TensorPlan> {
    // Hyper-parameters come from `detect_hparams`, so they are positive.
    let u = |v: i32| usize::try_from(v).unwrap_or(0);
    let n = u(h.n_audio_state);
    let mut p = Planner { out: Vec::new() };

    p.whole(
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings".into(),
        vec![u(h.n_audio_ctx), n],
        GgmlType::F32,
    );
    for (i, n_in) in [(1, u(h.n_mels)), (2, n)] {
        p.whole(
            format!("encoder.conv{i}.weight"),
            format!("encoder/conv{i}/weight"),
            vec![n, n_in, 3],
            GgmlType::F16,
        );
        p.out.push(TensorPlan {
            name: format!("encoder.conv{i}.bias"),
            source: format!("encoder/conv{i}/bias"),
            source_shape: vec![n],
            rows: None,
            shape: vec![n, 1],
            ty: GgmlType::F32,
        });
    }
    for i in 0..u(h.n_audio_layer) {
        let (g, c) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        p.self_attention(&g, &c, n);
        p.mlp(&g, &c, n);
    }
    p.norm("encoder.ln_post", "encoder/layer_norm", n);

    p.whole(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings".into(),
        vec![u(h.n_text_ctx), n],
        GgmlType::F32,
    );
    p.whole(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight".into(),
        vec![u(h.n_vocab), n],
        GgmlType::F16,
    );
    for i in 0..u(h.n_text_layer) {
        let (g, c) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        p.self_attention(&g, &c, n);
        p.cross_attention(&g, &c, n);
        p.mlp(&g, &c, n);
    }
    p.norm("decoder.ln", "decoder/layer_norm", n);
    p.out
}

/// Checks every source variable exists with the planned shape and a
/// floating-point type.
pub fn validate_plan(model: &Ct2Model, plan: &[TensorPlan]) -> Result<(), ImportError> {
    for t in plan {
        let var = model.require(&t.source)?;
        if var.shape != t.source_shape {
            return Err(ImportError::UnexpectedShape {
                name: t.source.clone(),
                expected: t.source_shape.clone(),
                found: var.shape.clone(),
            });
        }
        if !var.dtype.is_float() {
            return Err(ImportError::UnsupportedDtype {
                name: t.source.clone(),
                dtype: var.dtype.name().to_owned(),
            });
        }
    }
    Ok(())
}

/// Extracts a planned tensor's values from the full source data.
pub fn take_rows(plan: &TensorPlan, source: Vec<f32>) -> Vec<f32> {
    match plan.rows {
        None => source,
        Some(Rows { start, end }) => {
            let outer = plan.source_shape.first().copied().unwrap_or(1).max(1);
            let row = source.len() / outer;
            source[start * row..end * row].to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_plan_has_167_tensors_with_loader_types() {
        let h = WhisperHparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        let plan = tensor_plan(&h);
        assert_eq!(plan.len(), 11 + 15 * 4 + 24 * 4);
        assert_eq!(plan.len(), 167);
        let names: std::collections::HashSet<_> = plan.iter().map(|t| &t.name).collect();
        assert_eq!(names.len(), plan.len(), "names are unique");
        for t in &plan {
            let f32_expected = t.name.ends_with(".bias")
                || t.name.contains("ln")
                || t.name.contains("positional_embedding");
            let want = if f32_expected {
                GgmlType::F32
            } else {
                GgmlType::F16
            };
            assert_eq!(t.ty, want, "{}", t.name);
            assert!(!t.name.ends_with("key.bias"), "{}", t.name);
        }
        let conv_b = plan
            .iter()
            .find(|t| t.name == "encoder.conv1.bias")
            .unwrap();
        assert_eq!(conv_b.shape, vec![384, 1]);
    }
}
