//! Voice transcription: durable jobs, workers, the whisper.cpp engine.
//!
//! A voice message and its job are committed together (see `messages`).
//! Workers — in `serve` or in a separate `quichat-server worker` — claim
//! jobs with a lease (`jobs`), fetch the audio from the object store,
//! decode and resample it (`quichat-audio`), run Whisper (`engine`), and
//! store the transcript with a `MessageUpdated` event for every
//! participant. In-process workers publish those events to the hub;
//! standalone workers write them to an outbox that serving processes
//! poll (`outbox`).

pub mod engine;
pub mod jobs;
pub mod outbox;
pub mod segments;
pub mod worker;
