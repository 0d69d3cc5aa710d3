//! A control-stream frame body (hello, authentication, requests).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quichat_proto::fuzzing::control(data);
});
