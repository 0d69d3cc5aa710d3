-- Server administrators and their broadcasts. Keep in step with
-- migrations/sqlite.

-- Set while the user is a server administrator (`quichat-server admin
-- grant`): they may send broadcasts.
ALTER TABLE users ADD COLUMN admin_since BIGINT;

-- A broadcast is stored once. Serving processes deliver it in batches
-- (server/src/broadcasts.rs): each batch appends a kind-8 event that
-- points here to the logs of the users with ids in
-- (delivered_through, last_user_id], and moves delivered_through in the
-- same transaction, so a restart resumes where it stopped and no user
-- gets it twice.
CREATE TABLE broadcasts (
    id                BIGSERIAL PRIMARY KEY,
    -- NULL: sent by the operator from the command line.
    sender_id         BIGINT REFERENCES users(id),
    text              TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    -- Users who existed when it was sent: ids up to this one.
    last_user_id      BIGINT NOT NULL,
    delivered_through BIGINT NOT NULL DEFAULT 0,
    done_at           BIGINT
);
CREATE INDEX broadcasts_pending ON broadcasts (id) WHERE done_at IS NULL;

ALTER TABLE events ADD COLUMN broadcast_id BIGINT REFERENCES broadcasts(id);
