-- Notification settings (server/src/notify.rs). Keep in step with
-- migrations/postgres.
-- A muted conversation: until this time (Unix ms); NULL: not muted. A mute
-- "until unmuted" is stored as the largest BIGINT.
ALTER TABLE conversation_members ADD COLUMN muted_until BIGINT;
-- Do-not-disturb: mode 0 off, 1 on, 2 scheduled from dnd_start_min to
-- dnd_end_min (minutes after midnight in dnd_time_zone, an IANA name).
ALTER TABLE users ADD COLUMN dnd_mode BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN dnd_start_min BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN dnd_end_min BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN dnd_time_zone TEXT NOT NULL DEFAULT 'UTC';
-- 1: mentions and replies still alert during do-not-disturb.
ALTER TABLE users ADD COLUMN dnd_allow_mentions BIGINT NOT NULL DEFAULT 0;
-- Bumped by every change of the settings above, so a node never replaces
-- newer settings in its cache with older ones it read earlier.
ALTER TABLE users ADD COLUMN notify_version BIGINT NOT NULL DEFAULT 0;
