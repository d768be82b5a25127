-- Accounts, groups, sessions, first-run setup, settings and the event log.
-- Every row that users see is keyed on an internal integer id, so renaming
-- a user or the server never detaches history from them.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'security_admin', 'user')),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Failed sign-ins inside the lockout window; cleared on success or unlock.
CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    source  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX login_failures_by_user ON login_failures (user_id, at);

CREATE TABLE access_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    builtin    TEXT    NOT NULL DEFAULT '',  -- '' for admin-made groups, else a fixed key
    rights     TEXT    NOT NULL DEFAULT '[]', -- JSON array of right names
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX access_groups_builtin ON access_groups (builtin) WHERE builtin <> '';

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES access_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members (user_id);

-- Browser cookies and API bearer tokens. Only a SHA-256 of the token is kept.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    label        TEXT    NOT NULL DEFAULT '',
    source       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time links that let the first visitor create the owner account.
CREATE TABLE setup_tokens (
    token_hash BLOB    PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    used_by    INTEGER REFERENCES users (id)
);

-- Server settings, one JSON value per key.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    actor_user_id   INTEGER REFERENCES users (id),
    actor           TEXT    NOT NULL DEFAULT '',  -- who acted when not a user: 'system', 'host'
    source          TEXT    NOT NULL DEFAULT '',  -- network address of the request
    subject_user_id INTEGER REFERENCES users (id),
    subject         TEXT    NOT NULL DEFAULT '',  -- what was acted on when not a user
    details         TEXT    NOT NULL DEFAULT '{}' -- JSON: reason, before/after
);
CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_kind ON events (kind, at);

-- The built-in groups: users in no group take the rights of 'ungrouped';
-- people who join by link without an account take those of 'guests'.
INSERT INTO access_groups (name, builtin, rights, created_at, updated_at) VALUES
    ('Users without group', 'ungrouped',
     '["create_conferences","call_users","share_screen","send_files","receive_files","record","create_polls","edit_address_book"]',
     CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    ('Guests', 'guests',
     '["share_screen","send_files","receive_files"]',
     CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));
