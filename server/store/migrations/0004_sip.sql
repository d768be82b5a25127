-- SIP credentials: the digest hash MD5(login ":parley:" password) that a
-- SIP phone registering as the user proves it knows (RFC 2617 HA1); the
-- SIP password itself is never stored. '' = no SIP password.
ALTER TABLE users ADD COLUMN sip_ha1 TEXT NOT NULL DEFAULT '';
