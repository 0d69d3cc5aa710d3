-- Groups: a group is a conversation of kind 'group' with a name, roles,
-- settings, an announcement and invite codes. Keep in step with
-- migrations/sqlite.

ALTER TABLE conversations ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN avatar_media_id TEXT REFERENCES media(id);
-- Bit flags (server/src/groups.rs): 1 members edit info, 2 members invite.
ALTER TABLE conversations ADD COLUMN settings BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN announcement TEXT;
ALTER TABLE conversations ADD COLUMN announcement_by BIGINT REFERENCES users(id);
ALTER TABLE conversations ADD COLUMN announcement_at BIGINT;
-- Groups only: current members, kept in the same transactions that add
-- and remove them (the size limit is checked against it).
ALTER TABLE conversations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN dissolved_at BIGINT;
-- Groups: who created it (for the per-user creation limit).
ALTER TABLE conversations ADD COLUMN created_by BIGINT REFERENCES users(id);

-- 0 member, 1 admin, 2 owner (exactly one owner per live group).
ALTER TABLE conversation_members ADD COLUMN role BIGINT NOT NULL DEFAULT 0;
-- The member sees messages with seq > joined_seq (0 for direct chats).
ALTER TABLE conversation_members ADD COLUMN joined_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE group_invites (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    -- SHA-256 of the code, hex. The code itself is shown once.
    code_hash       TEXT    NOT NULL UNIQUE,
    created_by      BIGINT NOT NULL REFERENCES users(id),
    expires_at      BIGINT,
    max_uses        BIGINT,
    uses            BIGINT NOT NULL DEFAULT 0,
    revoked_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX group_invites_conversation ON group_invites(conversation_id);
