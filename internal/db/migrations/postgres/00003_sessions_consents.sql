-- +goose Up
-- Browser sessions of logged-in users. The session ID itself is never
-- stored: id_digest is the hex SHA-256 of the 256-bit random cookie value.
CREATE TABLE sessions (
    id_digest  TEXT        PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Scopes a user has approved for a client on the consent page; one row per
-- (user, client) holding the canonical union of every approved scope set.
-- client_id has no foreign key: oauth_clients is created by a later migration.
CREATE TABLE oauth_consents (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT        NOT NULL,
    scopes     TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, client_id)
);
CREATE INDEX oauth_consents_client_id ON oauth_consents (client_id);

-- +goose Down
DROP TABLE oauth_consents;
DROP TABLE sessions;
