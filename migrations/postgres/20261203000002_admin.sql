-- Server administration: disabled accounts, and kicks that an admin
-- command (another process) hands to the serving processes. Keep in step
-- with migrations/sqlite.

-- Set while the account is disabled: no login, no authentication.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- "Close every connection of this user": written by `quichat-server
-- admin`, polled by every serving process (transcribe/outbox.rs).
CREATE TABLE kick_outbox (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    reason     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
