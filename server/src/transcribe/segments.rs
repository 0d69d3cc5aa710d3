//! Cleaning whisper.cpp's segments before they are stored.
//!
//! On short clips whisper.cpp is known to emit a segment that starts past
//! the end of the audio and repeats the last sentence (the encoder window
//! is padded beyond the clip, and the decoder "hears" the padding). Seen
//! here: a 2.6 s note came back with its sentence twice, the second copy
//! timed 2000–4000 ms. The rules:
//! - a segment that starts at or after the end of the clip is dropped;
//! - a segment's end is clipped to the end of the clip;
//! - a segment whose words repeat the previous kept segment's is dropped.

use quichat_proto::types::TranscriptSegment;

/// Sample rate the engine is fed (Whisper's).
const SAMPLE_RATE: u64 = 16_000;

/// Length of `samples` 16 kHz samples in milliseconds.
pub fn clip_ms(samples: usize) -> u64 {
    (samples as u64).saturating_mul(1000) / SAMPLE_RATE
}

/// Applies the rules above to segments of a clip `clip_ms` long.
pub fn clean(segments: Vec<TranscriptSegment>, clip_ms: u64) -> Vec<TranscriptSegment> {
    let mut kept: Vec<TranscriptSegment> = Vec::with_capacity(segments.len());
    for mut seg in segments {
        if seg.start_ms >= clip_ms {
            continue;
        }
        seg.end_ms = seg.end_ms.min(clip_ms);
        if let Some(prev) = kept.last() {
            if words(&prev.text) == words(&seg.text) {
                continue;
            }
        }
        kept.push(seg);
    }
    kept
}

/// The joined text of the segments.
pub fn text_of(segments: &[TranscriptSegment]) -> String {
    segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lowercased words without punctuation, for comparing segments.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_ms: u64, end_ms: u64, text: &str) -> TranscriptSegment {
        TranscriptSegment {
            start_ms,
            end_ms,
            text: text.into(),
        }
    }

    #[test]
    fn the_repeat_past_the_end_of_a_short_clip_is_dropped() {
        // What was seen: 2.6 s of audio, the sentence twice.
        let got = clean(
            vec![
                seg(0, 2000, "Please call me back."),
                seg(2000, 4000, "Please call me back."),
            ],
            2600,
        );
        assert_eq!(got, vec![seg(0, 2000, "Please call me back.")]);
        assert_eq!(text_of(&got), "Please call me back.");
    }

    #[test]
    fn segments_past_the_end_go_and_ends_are_clipped() {
        let got = clean(
            vec![
                seg(0, 1500, "One."),
                seg(1500, 3200, "Two."),
                seg(3000, 3500, "Three."),
            ],
            3000,
        );
        assert_eq!(got, vec![seg(0, 1500, "One."), seg(1500, 3000, "Two.")]);
    }

    #[test]
    fn a_repeat_inside_the_clip_differing_only_in_case_and_punctuation_goes() {
        let got = clean(
            vec![
                seg(0, 1000, "Call me back"),
                seg(1000, 2000, "call me back!"),
            ],
            5000,
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn different_sentences_and_a_later_repeat_stay() {
        let input = vec![
            seg(0, 1000, "Yes."),
            seg(1000, 2000, "No."),
            seg(2000, 3000, "Yes."),
        ];
        assert_eq!(clean(input.clone(), 3000), input);
    }

    #[test]
    fn clip_length_in_ms() {
        assert_eq!(clip_ms(16_000), 1000);
        assert_eq!(clip_ms(41_600), 2600);
        assert_eq!(clip_ms(0), 0);
    }
}
