-- Voice transcription: durable jobs and transcripts; an outbox through
-- which worker processes hand events to the serving processes.
-- Keep in step with migrations/sqlite.

CREATE TABLE transcripts (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id),
    -- pending | done | failed
    status     TEXT    NOT NULL,
    text       TEXT    NOT NULL DEFAULT '',
    language   TEXT,
    -- JSON array of {start_ms, end_ms, text}
    segments   TEXT    NOT NULL DEFAULT '[]',
    error      TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE transcription_jobs (
    id          BIGSERIAL PRIMARY KEY,
    message_id  BIGINT NOT NULL UNIQUE REFERENCES messages(id),
    media_id    TEXT    NOT NULL REFERENCES media(id),
    -- queued | running | done | failed
    state       TEXT    NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_after   BIGINT NOT NULL,
    lease_until BIGINT,
    worker      TEXT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX transcription_jobs_ready ON transcription_jobs(state, run_after);

CREATE TABLE event_outbox (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
