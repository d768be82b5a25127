-- Conferences, who is invited to them, each time they ran, and their chat.

CREATE TABLE conferences (
    id                  INTEGER PRIMARY KEY,
    cid                 TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name                TEXT    NOT NULL,
    owner_id            INTEGER NOT NULL REFERENCES users (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('room', 'scheduled', 'instant')),
    access              TEXT    NOT NULL CHECK (access IN ('internal', 'public')),
    mode                TEXT    NOT NULL DEFAULT 'meeting' CHECK (mode IN ('meeting', 'webinar')),
    pin                 TEXT    NOT NULL DEFAULT '',
    lobby               TEXT    NOT NULL DEFAULT 'off' CHECK (lobby IN ('off', 'guests', 'uninvited', 'everyone')),
    max_participants    INTEGER NOT NULL,
    -- Scheduled conferences: first start, length, and a weekly repeat as a
    -- bit set of weekdays (bit 0 Sunday .. bit 6 Saturday) in time_zone.
    starts_at           INTEGER NOT NULL DEFAULT 0,
    duration_minutes    INTEGER NOT NULL DEFAULT 0,
    time_zone           TEXT    NOT NULL DEFAULT 'UTC',
    weekdays            INTEGER NOT NULL DEFAULT 0,
    join_before_minutes INTEGER NOT NULL DEFAULT 10,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    ended_at            INTEGER NOT NULL DEFAULT 0, -- an instant meeting that has ended
    deleted_at          INTEGER NOT NULL DEFAULT 0  -- kept for its history; the ID stays taken
);
CREATE INDEX conferences_by_owner ON conferences (owner_id);

CREATE TABLE conference_invitees (
    conference_id INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL CHECK (role IN ('moderator', 'participant', 'speaker')),
    PRIMARY KEY (conference_id, user_id)
) WITHOUT ROWID;

-- One row each time a conference runs, from first join to end.
CREATE TABLE conference_sessions (
    id                INTEGER PRIMARY KEY,
    conference_id     INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER NOT NULL DEFAULT 0,
    end_reason        TEXT    NOT NULL DEFAULT '',
    peak_participants INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conference_sessions_by_conference ON conference_sessions (conference_id, started_at);

CREATE TABLE chat_messages (
    id               INTEGER PRIMARY KEY,
    conference_id    INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    session_id       INTEGER REFERENCES conference_sessions (id),
    from_participant TEXT    NOT NULL,
    from_user_id     INTEGER REFERENCES users (id),
    from_name        TEXT    NOT NULL,
    to_participant   TEXT    NOT NULL DEFAULT '',
    to_user_id       INTEGER REFERENCES users (id),
    text             TEXT    NOT NULL,
    at               INTEGER NOT NULL,
    edited_at        INTEGER NOT NULL DEFAULT 0,
    deleted_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chat_messages_by_conference ON chat_messages (conference_id, id);
