-- The event log holds any event, not only conversation ones: a friend
-- request or a profile change has no conversation. conversation_id becomes
-- nullable and `payload` carries a typed JSON body for kinds without a
-- message row. SQLite cannot drop NOT NULL in place: rebuild the table.
-- Keep in step with migrations/postgres.

CREATE TABLE events_new (
    user_id         INTEGER NOT NULL REFERENCES users(id),
    seq             INTEGER NOT NULL,
    -- 1 message, 2 receipt, 3 read position, 4 message updated;
    -- see server/src/events.rs (EventKind)
    kind            INTEGER NOT NULL,
    conversation_id INTEGER REFERENCES conversations(id),
    message_id      INTEGER REFERENCES messages(id),
    actor_id        INTEGER REFERENCES users(id),
    -- 1 delivered, 2 read
    receipt_kind    INTEGER,
    up_to_seq       INTEGER,
    -- JSON body for kinds that carry no message (EventPayload)
    payload         TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);
INSERT INTO events_new (user_id, seq, kind, conversation_id, message_id, actor_id,
                        receipt_kind, up_to_seq, created_at)
    SELECT user_id, seq, kind, conversation_id, message_id, actor_id,
           receipt_kind, up_to_seq, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
