-- API tokens (tokens package) and the append-only audit log.
-- Only a SHA-256 digest of each token and a short display prefix are stored,
-- never the token itself (DESIGN §3, §6).

-- +goose Up
CREATE TABLE api_tokens (
    id                 INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_digest       TEXT     NOT NULL CHECK (length(token_digest) = 64),
    token_prefix       TEXT     NOT NULL DEFAULT '',
    token_generator_id TEXT     NOT NULL DEFAULT '',
    time_added         DATETIME NOT NULL,
    last_updated       DATETIME NOT NULL,
    last_used          DATETIME,
    expires            DATETIME,
    valid              INTEGER  NOT NULL DEFAULT 1,
    invalid_date       DATETIME,
    invalid_reason     TEXT     NOT NULL DEFAULT '',
    note               TEXT     NOT NULL DEFAULT '',
    policy             TEXT     NOT NULL DEFAULT '{}',
    extra_data         TEXT     NOT NULL DEFAULT '{}',
    expired_event_sent INTEGER  NOT NULL DEFAULT 0,
    CONSTRAINT api_tokens_token_digest_key UNIQUE (token_digest)
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE audit_events (
    id            INTEGER  PRIMARY KEY AUTOINCREMENT,
    at            DATETIME NOT NULL,
    kind          TEXT     NOT NULL,
    actor_user_id INTEGER,              -- no FK: the log outlives its users
    subject_type  TEXT     NOT NULL,
    subject_id    TEXT     NOT NULL,
    data          TEXT     NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_type, subject_id, id);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, id);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_events;
DROP TABLE api_tokens;
