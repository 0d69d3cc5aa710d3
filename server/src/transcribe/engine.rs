//! The speech-to-text engine: whisper.cpp through whisper-rs (cargo
//! feature `transcribe`, on by default). Without the feature, loading
//! fails with a clear "transcription is disabled in this build" error.

use std::path::Path;

use quichat_proto::types::Transcript;

use crate::config::TranscriptionConfig;

/// Why the engine could not load or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The model file could not be loaded.
    #[error("cannot load Whisper model {path}: {reason}")]
    Load {
        /// Model path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Inference failed.
    #[error("whisper failed: {0}")]
    Run(String),
    /// Built without the `transcribe` feature.
    #[error("transcription is disabled in this build (compiled without the `transcribe` feature)")]
    Disabled,
}

/// Whisper's encoder window in frames for a clip of `samples` at 16 kHz:
/// whisper.cpp pads every clip to 30 s (1500 frames); a 5 s voice note
/// needs ~250. 50 frames per second plus a margin of 64 keeps accuracy
/// (checked by the WER tests) while cutting the encoder cost of short
/// clips several times.
pub fn audio_ctx_for(samples: usize) -> i32 {
    let seconds = samples as f64 / 16_000.0;
    let frames = (seconds * 50.0).ceil() as i64 + 64;
    i32::try_from(frames.clamp(64, 1500)).unwrap_or(1500)
}

#[cfg(feature = "transcribe")]
mod imp {
    use super::*;
    use crate::transcribe::segments::{clean, clip_ms, text_of};
    use quichat_proto::types::{TranscriptSegment, TranscriptStatus};
    use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

    /// A loaded model, shared by workers (each run makes its own state).
    pub struct Engine {
        ctx: WhisperContext,
        config: TranscriptionConfig,
    }

    impl std::fmt::Debug for Engine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Engine")
                .field("config", &self.config)
                .finish()
        }
    }

    impl Engine {
        /// Loads a ggml model (blocking; call on the blocking pool).
        pub fn load(path: &Path, config: &TranscriptionConfig) -> Result<Engine, EngineError> {
            whisper_rs::install_logging_hooks();
            let path_str = path.to_str().ok_or_else(|| EngineError::Load {
                path: path.display().to_string(),
                reason: "path is not UTF-8".into(),
            })?;
            let ctx =
                WhisperContext::new_with_params(path_str, WhisperContextParameters::default())
                    .map_err(|e| EngineError::Load {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?;
            Ok(Engine {
                ctx,
                config: config.clone(),
            })
        }

        /// Transcribes 16 kHz mono samples (blocking).
        pub fn transcribe(&self, samples: &[f32]) -> Result<Transcript, EngineError> {
            let run = |e: whisper_rs::WhisperError| EngineError::Run(e.to_string());
            let mut state = self.ctx.create_state().map_err(run)?;
            let strategy = if self.config.decoding == "beam" {
                SamplingStrategy::BeamSearch {
                    beam_size: i32::try_from(self.config.beam_size.max(1)).unwrap_or(5),
                    patience: -1.0,
                }
            } else {
                SamplingStrategy::Greedy { best_of: 1 }
            };
            let mut params = FullParams::new(strategy);
            let multilingual = self.ctx.is_multilingual();
            let language = if !multilingual {
                Some("en")
            } else if self.config.language == "auto" {
                Some("auto")
            } else {
                Some(self.config.language.as_str())
            };
            params.set_language(language);
            params.set_n_threads(i32::try_from(self.config.threads.max(1)).unwrap_or(1));
            params.set_print_progress(false);
            params.set_print_realtime(false);
            params.set_print_timestamps(false);
            params.set_print_special(false);
            params.set_audio_ctx(audio_ctx_for(samples.len()));
            state.full(params, samples).map_err(run)?;
            let mut segments = Vec::new();
            let n = state.full_n_segments();
            for i in 0..n {
                let Some(seg) = state.get_segment(i) else {
                    continue;
                };
                let piece = seg.to_str_lossy().map_err(run)?.trim().to_string();
                if piece.is_empty() {
                    continue;
                }
                segments.push(TranscriptSegment {
                    start_ms: u64::try_from(seg.start_timestamp()).unwrap_or(0) * 10,
                    end_ms: u64::try_from(seg.end_timestamp()).unwrap_or(0) * 10,
                    text: piece,
                });
            }
            // Whisper's repeat past the end of a short clip goes here.
            let segments = clean(segments, clip_ms(samples.len()));
            let text = text_of(&segments);
            let language = if multilingual {
                whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_string)
            } else {
                Some("en".to_string())
            };
            Ok(Transcript {
                status: TranscriptStatus::Done,
                text,
                language,
                segments,
            })
        }
    }
}

#[cfg(not(feature = "transcribe"))]
mod imp {
    use super::*;

    /// Placeholder: this build cannot transcribe.
    #[derive(Debug)]
    pub struct Engine;

    impl Engine {
        /// Always fails: the `transcribe` feature is off.
        pub fn load(_path: &Path, _config: &TranscriptionConfig) -> Result<Engine, EngineError> {
            Err(EngineError::Disabled)
        }

        /// Never called.
        pub fn transcribe(&self, _samples: &[f32]) -> Result<Transcript, EngineError> {
            Err(EngineError::Disabled)
        }
    }
}

pub use imp::Engine;
