//! A voice note as the server's transcription worker decodes it (quichat_audio::to_whisper).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quichat_audio::fuzzing::decode(data);
});
