//! `import_ct2` on a synthetic one-layer Whisper: tensor mapping, fused
//! q/k/v splits, header, vocabulary, errors, and whisper.cpp's loader.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{synthetic_whisper, write_model_dir, Ct2Builder, Data, HEADS, MELS, STATE, VOCAB};
use quichat_model::ct2::Ct2Model;
use quichat_model::ggml::{GgmlFile, GgmlType};
use quichat_model::{import_ct2, ImportError};

fn convert(
    model: &Ct2Builder,
    vocab: &[&str],
) -> (tempfile::TempDir, Result<GgmlFile, ImportError>) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ct2");
    write_model_dir(&src, model, vocab);
    let out = dir.path().join("out/ggml-test.bin");
    let result = import_ct2(&src, &out).map(|report| {
        assert_eq!(report.output, out);
        assert_eq!(report.tensors, 11 + 15 + 24);
        assert_eq!(report.vocab, vocab.len());
        assert_eq!(report.bytes, std::fs::metadata(&out).unwrap().len());
        assert_eq!(report.model_type, "unknown");
        assert!(!report.multilingual);
        GgmlFile::open(&out).unwrap()
    });
    (dir, result)
}

/// The importer writes `.NAME.tmp-PID` next to the output, then renames it.
fn no_temp_files_left(dir: &Path) {
    let out = dir.join("out");
    if out.exists() {
        let temps: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(temps.is_empty(), "left behind: {temps:?}");
    }
}

#[test]
fn converts_synthetic_whisper() {
    let (dir, ggml) = convert(&synthetic_whisper(), VOCAB);
    let ggml = ggml.unwrap();
    let n = STATE as i32;
    let h = ggml.hparams;
    assert_eq!(
        (
            h.n_vocab,
            h.n_audio_ctx,
            h.n_audio_state,
            h.n_audio_head,
            h.n_audio_layer
        ),
        (VOCAB.len() as i32, 6, n, i32::from(HEADS), 1)
    );
    assert_eq!(
        (
            h.n_text_ctx,
            h.n_text_state,
            h.n_text_head,
            h.n_text_layer,
            h.n_mels,
            h.ftype
        ),
        (4, n, i32::from(HEADS), 1, MELS as i32, 1)
    );
    assert_eq!((ggml.filters.n_mels, ggml.filters.n_freqs), (80, 201));
    assert_eq!(
        ggml.tokens,
        vec![
            b" hello".to_vec(),
            b"a".to_vec(),
            "é".as_bytes().to_vec(),
            b"<|endoftext|>".to_vec()
        ]
    );
    assert_eq!(ggml.tensors.len(), 50);

    let info = |name: &str| {
        ggml.tensor(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let s = STATE as usize;
    assert_eq!(info("encoder.conv1.weight").shape, vec![s, 80, 3]);
    assert_eq!(info("encoder.conv1.weight").ty, GgmlType::F16);
    assert_eq!(info("encoder.conv1.bias").shape, vec![s, 1]);
    assert_eq!(info("encoder.conv1.bias").ty, GgmlType::F32);
    assert_eq!(info("encoder.positional_embedding").ty, GgmlType::F32);
    assert_eq!(
        info("decoder.token_embedding.weight").shape,
        vec![VOCAB.len(), s]
    );
    assert_eq!(info("decoder.token_embedding.weight").ty, GgmlType::F16);
    assert_eq!(info("decoder.blocks.0.mlp.0.weight").shape, vec![4 * s, s]);
    assert_eq!(info("decoder.blocks.0.mlp.2.weight").shape, vec![s, 4 * s]);
    assert_eq!(info("encoder.ln_post.bias").ty, GgmlType::F32);
    assert!(ggml.tensor("encoder.blocks.0.attn.key.bias").is_none());
    assert!(ggml
        .tensor("decoder.blocks.0.cross_attn.key.bias")
        .is_none());

    // Fused projections are split into row blocks.
    let src = Ct2Model::open(&dir.path().join("ct2/model.bin")).unwrap();
    let sq = s * s;
    for side in ["encoder", "decoder"] {
        let w = src
            .read_f32(&format!("{side}/layer_0/self_attention/linear_0/weight"))
            .unwrap();
        let b = src
            .read_f32(&format!("{side}/layer_0/self_attention/linear_0/bias"))
            .unwrap();
        let g = |n: &str| ggml.read_f32(&format!("{side}.blocks.0.attn.{n}")).unwrap();
        assert_eq!(g("query.weight"), w[..sq]);
        assert_eq!(g("key.weight"), w[sq..2 * sq]);
        assert_eq!(g("value.weight"), w[2 * sq..]);
        assert_eq!(g("query.bias"), b[..s]);
        assert_eq!(g("value.bias"), b[2 * s..]);
    }
    let w = src
        .read_f32("decoder/layer_0/attention/linear_1/weight")
        .unwrap();
    let b = src
        .read_f32("decoder/layer_0/attention/linear_1/bias")
        .unwrap();
    let g = |n: &str| {
        ggml.read_f32(&format!("decoder.blocks.0.cross_attn.{n}"))
            .unwrap()
    };
    assert_eq!(g("key.weight"), w[..sq]);
    assert_eq!(g("value.weight"), w[sq..]);
    assert_eq!(g("value.bias"), b[s..]);
    assert_eq!(
        g("query.weight"),
        src.read_f32("decoder/layer_0/attention/linear_0/weight")
            .unwrap()
    );
    // Whole tensors are copied, f16 → f32 where whisper.cpp wants f32.
    assert_eq!(
        ggml.read_f32("encoder.conv2.bias").unwrap(),
        src.read_f32("encoder/conv2/bias").unwrap()
    );
    assert_eq!(
        ggml.read_f32("decoder.ln.bias").unwrap(),
        src.read_f32("decoder/layer_norm/beta").unwrap()
    );
    assert_eq!(
        ggml.read_f32("decoder.token_embedding.weight").unwrap(),
        src.read_f32("decoder/embeddings/weight").unwrap()
    );
    no_temp_files_left(dir.path());
}

#[test]
fn float32_sources_are_accepted() {
    let mut m = synthetic_whisper();
    for (_, _, data) in &mut m.vars {
        if let Data::F16(v) = data {
            *data = Data::F32(v.clone());
        }
    }
    let (_dir, ggml) = convert(&m, VOCAB);
    let ggml = ggml.unwrap();
    assert_eq!(
        ggml.tensor("encoder.conv1.weight").unwrap().ty,
        GgmlType::F16
    );
    assert_eq!(ggml.tensor("encoder.conv1.bias").unwrap().ty, GgmlType::F32);
}

#[test]
fn whisper_cpp_loader_accepts_the_file() {
    let (dir, ggml) = convert(&synthetic_whisper(), VOCAB);
    let path = ggml.unwrap().path;
    let ctx = whisper_rs::WhisperContext::new_with_params(
        &path,
        whisper_rs::WhisperContextParameters::default(),
    )
    .expect("whisper.cpp rejected the converted file");
    assert_eq!(ctx.model_n_audio_state(), STATE as i32);
    assert_eq!(ctx.model_n_text_layer(), 1);
    assert_eq!(ctx.model_n_vocab(), VOCAB.len() as i32);
    assert_eq!(ctx.model_ftype(), 1);
    drop(dir);
}

#[test]
fn int8_models_are_rejected_with_advice() {
    let mut m = synthetic_whisper();
    let name = "encoder/layer_0/ffn/linear_0/weight";
    m.remove(name)
        .var(
            name,
            &[4 * STATE, STATE],
            Data::I8(vec![1; (4 * STATE * STATE) as usize]),
        )
        .var(
            "encoder/layer_0/ffn/linear_0/weight_scale",
            &[4 * STATE],
            Data::F32(vec![0.1; (4 * STATE) as usize]),
        );
    let (dir, err) = convert(&m, VOCAB);
    let err = err.unwrap_err();
    assert!(
        matches!(err, ImportError::Quantized { dtype: "int8" }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "unsupported: int8 quantized model; convert with --quantization float16"
    );
    no_temp_files_left(dir.path());
}

#[test]
fn missing_variables_are_named() {
    let mut m = synthetic_whisper();
    m.remove("decoder/layer_0/attention/linear_2/bias");
    let (_dir, err) = convert(&m, VOCAB);
    let err = err.unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing variable decoder/layer_0/attention/linear_2/bias in model.bin"
    );
}

#[test]
fn wrong_shapes_are_reported() {
    let mut m = synthetic_whisper();
    let name = "encoder/layer_0/self_attention/linear_0/weight";
    m.remove(name).var(
        name,
        &[2 * STATE, STATE],
        Data::F16(vec![0.0; (2 * STATE * STATE) as usize]),
    );
    let (_dir, err) = convert(&m, VOCAB);
    let err = err.unwrap_err();
    assert!(
        matches!(&err, ImportError::UnexpectedShape { name: n, expected, found }
            if n == name && expected == &vec![24, 8] && found == &vec![16, 8]),
        "{err}"
    );
}

#[test]
fn other_specs_are_not_whisper() {
    let mut m = synthetic_whisper();
    m.spec = "TransformerSpec".to_owned();
    let (_dir, err) = convert(&m, VOCAB);
    let err = err.unwrap_err();
    assert!(matches!(err, ImportError::NotWhisper { .. }), "{err}");
    assert!(err.to_string().starts_with("not a Whisper model"), "{err}");
}

#[test]
fn vocabulary_must_match_the_embedding() {
    let (_dir, err) = convert(&synthetic_whisper(), &VOCAB[..5]);
    let err = err.unwrap_err();
    assert!(matches!(err, ImportError::Vocabulary { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("5 tokens, but the token embedding has 6 rows"),
        "{err}"
    );
}

#[test]
fn config_ids_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ct2");
    write_model_dir(&src, &synthetic_whisper(), VOCAB);
    std::fs::write(src.join("config.json"), r#"{"suppress_ids": [1, 99]}"#).unwrap();
    let err = import_ct2(&src, &dir.path().join("x.bin")).unwrap_err();
    assert!(matches!(err, ImportError::Config { .. }), "{err}");
    assert!(err.to_string().contains("token id 99"), "{err}");

    std::fs::write(src.join("config.json"), r#"{"alignment_heads": [[3, 0]]}"#).unwrap();
    let err = import_ct2(&src, &dir.path().join("x.bin")).unwrap_err();
    assert!(err.to_string().contains("alignment head (3, 0)"), "{err}");

    std::fs::write(src.join("config.json"), "{not json").unwrap();
    let err = import_ct2(&src, &dir.path().join("x.bin")).unwrap_err();
    assert!(matches!(err, ImportError::Config { .. }), "{err}");

    // config.json is optional.
    std::fs::remove_file(src.join("config.json")).unwrap();
    import_ct2(&src, &dir.path().join("x.bin")).unwrap();
    assert!(!dir.path().join("x.bin.tmp").exists());
}

#[test]
fn missing_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let err = import_ct2(dir.path(), &dir.path().join("x.bin")).unwrap_err();
    assert!(matches!(err, ImportError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("model.bin is missing"), "{err}");
}

#[test]
fn failed_import_keeps_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ct2");
    let mut m = synthetic_whisper();
    m.remove("encoder/conv2/bias");
    write_model_dir(&src, &m, VOCAB);
    let out = dir.path().join("model.bin.out");
    std::fs::write(&out, b"previous").unwrap();
    import_ct2(&src, &out).unwrap_err();
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
