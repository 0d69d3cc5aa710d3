-- Media: content-addressed objects, per-upload metadata, message references.
-- Keep in step with migrations/sqlite.

CREATE TABLE media_objects (
    -- SHA-256 of the content, hex; the object key is derived from it.
    sha256     TEXT    PRIMARY KEY,
    size       BIGINT NOT NULL,
    object_key TEXT    NOT NULL,
    -- Thumbnail object (images), and what the server found in the content.
    thumb_key  TEXT,
    width      BIGINT,
    height     BIGINT,
    sniffed_mime TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE media (
    -- UUID, text form.
    id          TEXT    PRIMARY KEY,
    uploader_id BIGINT NOT NULL REFERENCES users(id),
    sha256      TEXT    NOT NULL REFERENCES media_objects(sha256),
    kind        TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    filename    TEXT    NOT NULL,
    size        BIGINT NOT NULL,
    duration_ms BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX media_uploader ON media(uploader_id, sha256);

ALTER TABLE messages ADD COLUMN media_id TEXT REFERENCES media(id);
CREATE INDEX messages_media ON messages(media_id);
