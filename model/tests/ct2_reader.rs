//! The CTranslate2 `model.bin` reader, on small synthetic files.

#![allow(clippy::unwrap_used)]

mod common;

use common::{put_str, Ct2Builder, Data};
use quichat_model::ct2::{Ct2Model, DType};
use quichat_model::ImportError;

fn open(bytes: &[u8]) -> (tempfile::TempDir, Result<Ct2Model, ImportError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    std::fs::write(&path, bytes).unwrap();
    let model = Ct2Model::open(&path);
    (dir, model)
}

fn sample() -> Ct2Builder {
    let mut b = Ct2Builder::new("WhisperSpec");
    b.var(
        "a/f32",
        &[2, 3],
        Data::F32(vec![1.0, -2.0, 3.5, 0.0, 1e-3, 7.25]),
    )
    .var(
        "a/f16",
        &[4],
        Data::F16(vec![0.5, -1.0, 65504.0, 0.000_061_035_156]),
    )
    .var("a/bf16", &[2], Data::Raw(5, vec![0x80, 0x3f, 0x00, 0xc0]))
    .var("heads", &[], Data::I16(vec![6]))
    .var("flag", &[], Data::I8(vec![-1]))
    .alias("b/tied", "a/f16");
    b
}

#[test]
fn reads_header_index_and_values() {
    let (_dir, model) = open(&sample().bytes());
    let model = model.unwrap();
    assert_eq!(model.binary_version, 6);
    assert_eq!(model.spec, "WhisperSpec");
    assert_eq!(model.revision, 3);
    assert_eq!(model.variables().count(), 5);

    let v = model.get("a/f32").unwrap();
    assert_eq!(v.shape, vec![2, 3]);
    assert_eq!(v.dtype, DType::F32);
    assert_eq!(v.n_bytes, 24);
    assert_eq!(
        model.read_f32("a/f32").unwrap(),
        vec![1.0, -2.0, 3.5, 0.0, 1e-3, 7.25]
    );
    assert_eq!(
        model.read_f32("a/f16").unwrap(),
        vec![0.5, -1.0, 65504.0, 0.000_061_035_156]
    );
    assert_eq!(model.read_f32("a/bf16").unwrap(), vec![1.0, -2.0]);
    assert_eq!(model.get("heads").unwrap().shape, Vec::<usize>::new());
    assert_eq!(model.read_int_scalar("heads").unwrap(), Some(6));
    assert_eq!(model.read_int_scalar("flag").unwrap(), Some(-1));
    assert_eq!(model.read_int_scalar("absent").unwrap(), None);
}

#[test]
fn aliases_resolve_to_their_target() {
    let (_dir, model) = open(&sample().bytes());
    let model = model.unwrap();
    assert_eq!(
        model.aliases().collect::<Vec<_>>(),
        vec![("b/tied", "a/f16")]
    );
    assert_eq!(model.get("b/tied").unwrap().name, "a/f16");
    assert_eq!(
        model.read_f32("b/tied").unwrap(),
        model.read_f32("a/f16").unwrap()
    );
}

#[test]
fn missing_variable_and_integer_reads_are_errors() {
    let (_dir, model) = open(&sample().bytes());
    let model = model.unwrap();
    let err = model.read_f32("nope").unwrap_err();
    assert!(matches!(err, ImportError::MissingVariable { ref name } if name == "nope"));
    assert_eq!(err.to_string(), "missing variable nope in model.bin");
    let err = model.read_f32("heads").unwrap_err();
    assert!(matches!(err, ImportError::UnsupportedDtype { .. }), "{err}");
}

#[test]
fn strings_count_their_trailing_nul() {
    let mut out = Vec::new();
    put_str(&mut out, "ab");
    assert_eq!(out, vec![3, 0, b'a', b'b', 0]);

    // A string whose length does not include a NUL is rejected.
    let mut bad = Vec::new();
    bad.extend(6u32.to_le_bytes());
    bad.extend(2u16.to_le_bytes());
    bad.extend(b"ab");
    let (_dir, err) = open(&bad);
    let err = err.unwrap_err();
    assert!(matches!(err, ImportError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("not NUL-terminated"), "{err}");
}

#[test]
fn rejects_other_binary_versions() {
    let mut b = sample();
    b.version = 5;
    let (_dir, err) = open(&b.bytes());
    let err = err.unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::UnsupportedVersion {
                found: 5,
                supported: 6
            }
        ),
        "{err}"
    );
}

#[test]
fn rejects_truncated_files() {
    let bytes = sample().bytes();
    for cut in [2, 9, 30, bytes.len() - 20, bytes.len() - 1] {
        let (_dir, err) = open(&bytes[..cut]);
        let err = err.unwrap_err();
        assert!(
            matches!(err, ImportError::Malformed { .. }),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn rejects_inconsistent_byte_counts_and_dtypes() {
    let mut b = Ct2Builder::new("WhisperSpec");
    b.var("x", &[3], Data::Raw(0, vec![0; 8]));
    let (_dir, err) = open(&b.bytes());
    let err = err.unwrap_err();
    assert!(err.to_string().contains("do not hold"), "{err}");

    let mut b = Ct2Builder::new("WhisperSpec");
    b.var("x", &[1], Data::Raw(9, vec![0; 4]));
    let (_dir, err) = open(&b.bytes());
    let err = err.unwrap_err();
    assert!(matches!(err, ImportError::UnsupportedDtype { .. }), "{err}");
}

#[test]
fn rejects_dangling_aliases() {
    let mut b = sample();
    b.alias("c", "does/not/exist");
    let (_dir, err) = open(&b.bytes());
    let err = err.unwrap_err();
    assert!(err.to_string().contains("unknown variable"), "{err}");
}
