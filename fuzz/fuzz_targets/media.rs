//! A media-stream frame body (upload/download request, proof).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quichat_proto::fuzzing::media(data);
});
