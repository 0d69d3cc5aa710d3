//! A chat-stream frame body (message sends).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quichat_proto::fuzzing::chat(data);
});
