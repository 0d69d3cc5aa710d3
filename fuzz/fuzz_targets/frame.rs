//! A whole stream: length-delimited framing, stream header, then the frames of its kind.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = quichat_proto::fuzzing::frame(data);
});
