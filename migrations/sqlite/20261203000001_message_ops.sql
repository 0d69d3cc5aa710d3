-- Message operations: edit, recall (delete for everyone), delete for me,
-- reactions, replies.
-- Keep in step with migrations/postgres.

-- Set when the author last edited the text (the body holds the latest).
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- A recalled message keeps its row (seq, sender, time) as a placeholder:
-- kind 'recalled', empty body, no media, no transcript.
ALTER TABLE messages ADD COLUMN recalled_at INTEGER;
-- A reply (kind 'reply') names the seq it answers in the same
-- conversation; the quote is read from that row when the reply is read.
ALTER TABLE messages ADD COLUMN reply_to_seq INTEGER;
ALTER TABLE messages ADD COLUMN recalled_by INTEGER REFERENCES users(id);

-- "Delete for me": hidden from this user's history on all their devices.
CREATE TABLE hidden_messages (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    message_id INTEGER NOT NULL REFERENCES messages(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

-- Reactions: one row per (message, user, emoji).
CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    emoji      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);
