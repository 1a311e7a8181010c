-- API tokens (tokens package) and the append-only audit log.
-- Only a SHA-256 digest of each token and a short display prefix are stored,
-- never the token itself (DESIGN §3, §6).

-- +goose Up
CREATE TABLE api_tokens (
    id                 BIGSERIAL   PRIMARY KEY,
    user_id            BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_digest       TEXT        NOT NULL CHECK (length(token_digest) = 64),
    token_prefix       TEXT        NOT NULL DEFAULT '',
    token_generator_id TEXT        NOT NULL DEFAULT '',
    time_added         TIMESTAMPTZ NOT NULL,
    last_updated       TIMESTAMPTZ NOT NULL,
    last_used          TIMESTAMPTZ,
    expires            TIMESTAMPTZ,
    valid              BOOLEAN     NOT NULL DEFAULT TRUE,
    invalid_date       TIMESTAMPTZ,
    invalid_reason     TEXT        NOT NULL DEFAULT '',
    note               TEXT        NOT NULL DEFAULT '',
    policy             TEXT        NOT NULL DEFAULT '{}',
    extra_data         TEXT        NOT NULL DEFAULT '{}',
    expired_event_sent BOOLEAN     NOT NULL DEFAULT FALSE,
    CONSTRAINT api_tokens_token_digest_key UNIQUE (token_digest)
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE audit_events (
    id            BIGSERIAL   PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    kind          TEXT        NOT NULL,
    actor_user_id BIGINT,               -- no FK: the log outlives its users
    subject_type  TEXT        NOT NULL,
    subject_id    TEXT        NOT NULL,
    data          TEXT        NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_type, subject_id, id);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, id);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE api_tokens;
