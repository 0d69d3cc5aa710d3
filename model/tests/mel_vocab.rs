//! The mel filterbank and the byte-level vocabulary.

#![allow(clippy::unwrap_used)]

use quichat_model::mel::{hz_to_mel, mel_to_hz, whisper_mel_filters};
use quichat_model::vocab::{byte_to_char, ggml_tokens, read_vocabulary, token_bytes};
use quichat_model::ImportError;

/// Values of OpenAI Whisper's `assets/mel_filters.npz` (`mel_80`, which is
/// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`), as `(mel, bin, weight)`.
const REFERENCE: &[(usize, usize, f32)] = &[
    (0, 1, 0.024_862_595),
    (1, 1, 0.001_990_822),
    (1, 2, 0.022_871_772),
    (10, 10, 0.019_908_218),
    (10, 11, 0.004_954_375),
    (40, 42, 0.005_411_105),
    (40, 43, 0.014_735_566),
    (40, 44, 0.006_518_19),
    (79, 186, 0.000_366_741_67),
    (79, 192, 0.003_164_711_9),
    (79, 199, 0.000_448_759),
];

#[test]
fn mel_filterbank_shape_and_reference_values() {
    let f = whisper_mel_filters(80);
    assert_eq!((f.n_mels, f.n_freqs, f.data.len()), (80, 201, 80 * 201));
    assert!(f.data.iter().all(|&w| w >= 0.0 && w.is_finite()));

    for &(m, k, want) in REFERENCE {
        let got = f.row(m)[k];
        assert!(
            (got - want).abs() <= want * 1e-5,
            "filter {m} bin {k}: {got} vs {want}"
        );
    }
    // Filter 0 only touches bin 1 (40 Hz); filter 79 covers bins 186..=199.
    let support = |m: usize| -> Vec<usize> { (0..201).filter(|&k| f.row(m)[k] > 0.0).collect() };
    assert_eq!(support(0), vec![1]);
    assert_eq!(support(79), (186..=199).collect::<Vec<_>>());

    // Largest weight and total mass of the reference table.
    let max = f.data.iter().copied().fold(0.0f32, f32::max);
    assert!((max - 0.025_880_683).abs() < 1e-8, "{max}");
    let sum: f64 = f.data.iter().map(|&w| f64::from(w)).sum();
    assert!((sum - 1.999_024_092).abs() < 1e-6, "{sum}");
    // Slaney normalisation makes each triangle's area (in Hz) about 1:
    // 80 filters × 1 ≈ sum × 40 Hz per bin.
    assert!((sum * 40.0 - 80.0).abs() < 0.5);
}

#[test]
fn mel_filter_peaks_move_up_in_frequency() {
    let f = whisper_mel_filters(80);
    let mut last_peak = 0;
    let mut last_centroid = -1.0f64;
    for m in 0..80 {
        let row = f.row(m);
        let peak = (0..201).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert!(
            peak >= last_peak,
            "filter {m} peaks at {peak} < {last_peak}"
        );
        let mass: f64 = row.iter().map(|&w| f64::from(w)).sum();
        assert!(mass > 0.0, "filter {m} is empty");
        let centroid: f64 = row
            .iter()
            .enumerate()
            .map(|(k, &w)| k as f64 * f64::from(w))
            .sum::<f64>()
            / mass;
        assert!(centroid > last_centroid, "filter {m}");
        last_peak = peak;
        last_centroid = centroid;
    }
    assert!(last_peak >= 190);
}

#[test]
fn mel_128_for_large_v3() {
    let f = whisper_mel_filters(128);
    assert_eq!((f.n_mels, f.n_freqs), (128, 201));
    assert!(f.data.iter().all(|&w| w >= 0.0));
}

#[test]
fn slaney_mel_scale() {
    assert_eq!(hz_to_mel(0.0), 0.0);
    assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
    assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9);
    assert!((mel_to_hz(42.0) - 6400.0).abs() < 1e-6);
}

#[test]
fn gpt2_byte_mapping_reverses() {
    assert_eq!(token_bytes("Ġhello").unwrap(), b" hello");
    assert_eq!(token_bytes("hello").unwrap(), b"hello");
    assert_eq!(token_bytes("ĊĊ").unwrap(), b"\n\n");
    assert_eq!(token_bytes("ĉ").unwrap(), b"\t");
    // "é" is UTF-8 C3 A9, which GPT-2 prints as "Ã©".
    assert_eq!(token_bytes("Ã©").unwrap(), "é".as_bytes());
    // A lone UTF-8 lead byte is a valid token.
    assert_eq!(token_bytes("â").unwrap(), vec![0xE2]);
    assert_eq!(token_bytes("<|endoftext|>").unwrap(), b"<|endoftext|>");
    // Characters outside the mapping are not byte-level tokens.
    assert_eq!(token_bytes("€"), None);
    assert_eq!(token_bytes(" "), None);
    assert_eq!(byte_to_char()[0], 'Ā');
    assert_eq!(byte_to_char()[0xAD], 'Ń');
}

#[test]
fn vocabulary_file_to_ggml_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocabulary.txt");
    std::fs::write(
        &path,
        "!\nĠhello\nĊ\n<|endoftext|>\n<|startoftranscript|>\n",
    )
    .unwrap();
    let tokens = read_vocabulary(&path).unwrap();
    assert_eq!(tokens.len(), 5);
    let bytes = ggml_tokens(&tokens, &path).unwrap();
    assert_eq!(
        bytes,
        vec![
            b"!".to_vec(),
            b" hello".to_vec(),
            b"\n".to_vec(),
            b"<|endoftext|>".to_vec()
        ]
    );

    std::fs::write(&path, "a\nb\n").unwrap();
    let tokens = read_vocabulary(&path).unwrap();
    let err = ggml_tokens(&tokens, &path).unwrap_err();
    assert!(matches!(err, ImportError::Vocabulary { .. }), "{err}");
    assert!(err.to_string().contains("no <|endoftext|>"), "{err}");

    std::fs::write(&path, "a b\n<|endoftext|>\n").unwrap();
    let tokens = read_vocabulary(&path).unwrap();
    let err = ggml_tokens(&tokens, &path).unwrap_err();
    assert!(err.to_string().contains("token 0"), "{err}");
}
