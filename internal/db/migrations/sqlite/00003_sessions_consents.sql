-- +goose Up
-- Browser sessions of logged-in users. The session ID itself is never
-- stored: id_digest is the hex SHA-256 of the 256-bit random cookie value.
CREATE TABLE sessions (
    id_digest  TEXT     PRIMARY KEY,
    user_id    INTEGER  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    last_seen  DATETIME NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Scopes a user has approved for a client on the consent page; one row per
-- (user, client) holding the canonical union of every approved scope set.
-- client_id has no foreign key: oauth_clients is created by a later migration.
CREATE TABLE oauth_consents (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT     NOT NULL,
    scopes     TEXT     NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    UNIQUE (user_id, client_id)
);
CREATE INDEX oauth_consents_client_id ON oauth_consents (client_id);

-- +goose Down
DROP TABLE oauth_consents;
DROP TABLE sessions;
