//! A voice note as the client probes it before sending (quichat_audio::probe).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quichat_audio::fuzzing::probe(data);
});
