-- @mentions in group messages (server/src/mentions.rs): who a message
-- mentions, by name or through @all. Written with the message; the
-- mentioned user also gets a Mention event (kind 5, JSON payload). Keep
-- in step with migrations/sqlite.
CREATE TABLE mentions (
    message_id BIGINT NOT NULL REFERENCES messages(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    -- 1 when through @all, 0 by name.
    via_all    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user ON mentions(user_id, message_id);
