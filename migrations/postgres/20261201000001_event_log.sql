-- The event log holds any event, not only conversation ones: a friend
-- request or a profile change has no conversation. conversation_id becomes
-- nullable and `payload` carries a typed JSON body for kinds without a
-- message row. Keep in step with migrations/sqlite.

ALTER TABLE events ALTER COLUMN conversation_id DROP NOT NULL;
ALTER TABLE events ADD COLUMN payload TEXT;
