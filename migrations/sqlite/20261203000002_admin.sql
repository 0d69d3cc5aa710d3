-- Server administration: disabled accounts, and kicks that an admin
-- command (another process) hands to the serving processes. Keep in step
-- with migrations/postgres.

-- Set while the account is disabled: no login, no authentication.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- "Close every connection of this user": written by `quichat-server
-- admin`, polled by every serving process (transcribe/outbox.rs).
CREATE TABLE kick_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
