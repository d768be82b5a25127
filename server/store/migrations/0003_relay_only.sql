-- Conferences whose media must go through a TURN relay (ICE transport
-- policy "relay"), whatever the server-wide setting.
ALTER TABLE conferences ADD COLUMN relay_only INTEGER NOT NULL DEFAULT 0;
