-- Voice transcription: durable jobs and transcripts; an outbox through
-- which worker processes hand events to the serving processes.
-- Keep in step with migrations/postgres.

CREATE TABLE transcripts (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    -- pending | done | failed
    status     TEXT    NOT NULL,
    text       TEXT    NOT NULL DEFAULT '',
    language   TEXT,
    -- JSON array of {start_ms, end_ms, text}
    segments   TEXT    NOT NULL DEFAULT '[]',
    error      TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE transcription_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    media_id    TEXT    NOT NULL REFERENCES media(id),
    -- queued | running | done | failed
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_until INTEGER,
    worker      TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX transcription_jobs_ready ON transcription_jobs(state, run_after);

CREATE TABLE event_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
