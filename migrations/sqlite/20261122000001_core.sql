-- Core schema: accounts, devices, 1:1 conversations, messages, per-user event log.
-- Timestamps are Unix milliseconds. Keep in step with migrations/postgres.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    -- Highest seq in this user's event log; bumped under the row lock.
    event_seq     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    -- SHA-256 of the device token, hex. The token itself is never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    -- "<low user id>:<high user id>" for direct chats; NULL otherwise.
    direct_key      TEXT    UNIQUE,
    -- Highest message seq; bumped under the row lock.
    last_seq        INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    delivered_seq   INTEGER NOT NULL DEFAULT 0,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members(user_id);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    seq              INTEGER NOT NULL,
    sender_id        INTEGER NOT NULL REFERENCES users(id),
    sender_device_id INTEGER NOT NULL REFERENCES devices(id),
    to_user_id       INTEGER REFERENCES users(id),
    client_id        TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);

CREATE TABLE events (
    user_id         INTEGER NOT NULL REFERENCES users(id),
    seq             INTEGER NOT NULL,
    -- 1 message, 2 receipt, 3 read position
    kind            INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    message_id      INTEGER REFERENCES messages(id),
    actor_id        INTEGER REFERENCES users(id),
    -- 1 delivered, 2 read
    receipt_kind    INTEGER,
    up_to_seq       INTEGER,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);
