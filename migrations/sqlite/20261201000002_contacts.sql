-- Profiles, presence settings, friend requests, friendships, categories
-- and blocks. Keep in step with migrations/postgres.

ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_line TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_media_id TEXT REFERENCES media(id);
-- 1: others see "offline, last seen hidden"
ALTER TABLE users ADD COLUMN hide_presence INTEGER NOT NULL DEFAULT 0;
-- When the user's last device disconnected (NULL: never, or online since)
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
-- For the display-name half of the directory search (ASCII lower-case).
ALTER TABLE users ADD COLUMN display_name_lower TEXT NOT NULL DEFAULT '';
CREATE INDEX users_display_name_lower ON users(display_name_lower);

CREATE TABLE friend_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id    INTEGER NOT NULL REFERENCES users(id),
    to_id      INTEGER NOT NULL REFERENCES users(id),
    note       TEXT    NOT NULL DEFAULT '',
    -- pending | accepted | declined | cancelled
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- At most one pending request per direction.
CREATE UNIQUE INDEX friend_requests_one_pending ON friend_requests(from_id, to_id)
    WHERE state = 'pending';
CREATE INDEX friend_requests_to ON friend_requests(to_id, state);

CREATE TABLE friend_categories (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

-- One row per direction: (user, friend) and (friend, user).
CREATE TABLE friendships (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    friend_id   INTEGER NOT NULL REFERENCES users(id),
    category_id INTEGER REFERENCES friend_categories(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);

CREATE TABLE blocks (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    blocked_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks(blocked_id);
