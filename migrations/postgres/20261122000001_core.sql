-- Core schema: accounts, devices, 1:1 conversations, messages, per-user event log.
-- Timestamps are Unix milliseconds. Keep in step with migrations/sqlite.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    -- Highest seq in this user's event log; bumped under the row lock.
    event_seq     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE devices (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    -- SHA-256 of the device token, hex. The token itself is never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE conversations (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    -- "<low user id>:<high user id>" for direct chats; NULL otherwise.
    direct_key      TEXT    UNIQUE,
    -- Highest message seq; bumped under the row lock.
    last_seq        BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    user_id         BIGINT NOT NULL REFERENCES users(id),
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members(user_id);

CREATE TABLE messages (
    id               BIGSERIAL PRIMARY KEY,
    conversation_id  BIGINT NOT NULL REFERENCES conversations(id),
    seq              BIGINT NOT NULL,
    sender_id        BIGINT NOT NULL REFERENCES users(id),
    sender_device_id BIGINT NOT NULL REFERENCES devices(id),
    to_user_id       BIGINT REFERENCES users(id),
    client_id        TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);

CREATE TABLE events (
    user_id         BIGINT NOT NULL REFERENCES users(id),
    seq             BIGINT NOT NULL,
    -- 1 message, 2 receipt, 3 read position
    kind            BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    message_id      BIGINT REFERENCES messages(id),
    actor_id        BIGINT REFERENCES users(id),
    -- 1 delivered, 2 read
    receipt_kind    BIGINT,
    up_to_seq       BIGINT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
