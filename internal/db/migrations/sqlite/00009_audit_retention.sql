-- +goose Up
-- Audit retention (see docs/operations.md, "Retention and garbage
-- collection"). The audit log stays append-only: UPDATE is always refused,
-- and DELETE only inside the purge's own transaction, which opens this
-- one-row gate, deletes a batch older than the cutoff and closes it again
-- before committing, so no other connection ever sees it open.
CREATE TABLE audit_purge_gate (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    open INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_purge_gate (id, open) VALUES (1, 0);

-- The purge deletes the oldest rows first, a batch at a time.
CREATE INDEX audit_events_at_idx ON audit_events (at);

DROP TRIGGER audit_events_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT COALESCE((SELECT open FROM audit_purge_gate WHERE id = 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_events_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
DROP INDEX audit_events_at_idx;
DROP TABLE audit_purge_gate;
